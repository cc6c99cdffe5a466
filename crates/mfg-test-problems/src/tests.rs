//! The test problems' closed forms against their equations.

use super::*;
use mfg_core::{Coupling, Hamiltonian};

#[test]
fn bessel_i0_matches_reference_values() {
    // Abramowitz–Stegun table 9.8: I0(1) = 1.266065878, I0(2) = 2.279585302.
    assert!((bessel_i0(0.0) - 1.0).abs() < 1e-15);
    assert!((bessel_i0(1.0) - 1.266_065_877_752_008).abs() < 1e-14);
    assert!((bessel_i0(2.0) - 2.279_585_302_336_067).abs() < 1e-13);
}

#[test]
fn the_stationary_log_solution_has_unit_mass_and_zero_mean_value() {
    let s = StationaryLog::default();
    let n = 4000;
    let h = 1.0 / n as f64;
    let mass: f64 = (0..n).map(|i| h * s.m(&[i as f64 * h])).sum();
    assert!((mass - 1.0).abs() < 1e-12, "{mass}");
    let mean_u: f64 = (0..n).map(|i| h * s.u(&[i as f64 * h])).sum();
    assert!(mean_u.abs() < 1e-12);
}

/// The wave's pair has zero flux, unit mass and zero mean value, and balances HJB, for a
/// non-quadratic H in 2D (checked by central differences of the formulas).
#[test]
fn the_stationary_wave_is_a_stationary_solution() {
    let w = StationaryWave::new(
        mfg_core::Power::new(1.5, 0.8),
        Coupling::Linear { strength: 1.0 },
        0.2,
        0.8,
        2,
    );
    let nu = 0.32;
    let h = 1e-4;
    for &(x, y) in &[(0.1, 0.3), (0.45, 0.2), (0.7, 0.9)] {
        let mx = (w.m(&[x + h, y]) - w.m(&[x - h, y])) / (2.0 * h);
        let ux = (w.u(&[x + h, y]) - w.u(&[x - h, y])) / (2.0 * h);
        let mut dp = [0.0; 2];
        w.hamiltonian.dp(&[x, y], &[ux, ux], &mut dp);
        let flux = nu * mx + w.m(&[x, y]) * dp[0];
        assert!(flux.abs() < 1e-6, "flux {flux}");
        let lap = (w.u(&[x + h, y]) + w.u(&[x - h, y]) + w.u(&[x, y + h]) + w.u(&[x, y - h])
            - 4.0 * w.u(&[x, y]))
            / (h * h);
        let hjb = -nu * lap + w.hamiltonian.value(&[x, y], &[ux, ux])
            - w.potential(&[x, y])
            - w.m(&[x, y]);
        assert!(hjb.abs() < 1e-5, "HJB residual {hjb}");
    }
    let n = 400;
    let d = 1.0 / n as f64;
    let (mut mass, mut mean) = (0.0, 0.0);
    for i in 0..n {
        for j in 0..n {
            let x = [i as f64 * d, j as f64 * d];
            mass += d * d * w.m(&x);
            mean += d * d * w.u(&x);
        }
    }
    // The rectangle rule is 1e-7 off here: m* is only C^{1,1/2} where ∇u* = 0 (β = 1.5).
    assert!(
        (mass - 1.0).abs() < 1e-6 && mean.abs() < 1e-12,
        "{mass} {mean}"
    );
    // Z independently: the rectangle rule on 10⁵ points in 1D (error ~ h^2.5).
    let w1 = StationaryWave::new(mfg_core::Power::new(1.5, 0.8), Coupling::None, 0.2, 0.8, 1);
    let n = 100_000;
    let mass: f64 = (0..n).map(|i| w1.m(&[i as f64 / n as f64])).sum::<f64>() / n as f64;
    assert!((mass - 1.0).abs() < 1e-10, "{mass}");
    // Periodic: φ(1) = φ(0).
    assert!(w.phi(1.0 - 1e-12).abs() < 1e-10);
}

#[test]
fn lq_closed_form_matches_the_check_values() {
    let lq = LqGaussian::default();
    assert!((lq.p(0.0) - 1.336563).abs() < 5e-7, "{}", lq.p(0.0));
    assert!((lq.mean(1.0) - 0.315698).abs() < 5e-7, "{}", lq.mean(1.0));
    assert!(
        (lq.variance(1.0) - 0.292925).abs() < 5e-7,
        "{}",
        lq.variance(1.0)
    );
    assert!((lq.variance(0.0) - lq.var0).abs() < 1e-15);
    assert!((lq.p(1.0) - lq.c).abs() < 1e-15);
}

#[test]
fn lq_value_function_solves_the_hjb_equation() {
    // −u_t − ν u_xx + u_x²/2 = (q/2)(x − z)², checked by central differences.
    let lq = LqGaussian::default();
    let h = 1e-4;
    for (t, x) in [(0.2, -0.3), (0.5, 0.9), (0.9, 1.7)] {
        let u_t = (lq.u(t + h, x) - lq.u(t - h, x)) / (2.0 * h);
        let u_x = (lq.u(t, x + h) - lq.u(t, x - h)) / (2.0 * h);
        let u_xx = (lq.u(t, x + h) - 2.0 * lq.u(t, x) + lq.u(t, x - h)) / (h * h);
        let lhs = -u_t - lq.nu * u_xx + 0.5 * u_x * u_x;
        assert!((lhs - 0.5 * lq.q * (x - lq.z).powi(2)).abs() < 1e-5);
    }
}

#[test]
fn lq_density_solves_the_fp_equation() {
    // m_t − ν m_xx − (m u_x)_x = 0, checked by central differences.
    let lq = LqGaussian::default();
    let h = 1e-3;
    let flux = |t: f64, x: f64| {
        let u_x = (lq.u(t, x + h) - lq.u(t, x - h)) / (2.0 * h);
        lq.m(t, x) * u_x
    };
    for (t, x) in [(0.2, -0.3), (0.5, 0.2), (0.9, 0.5)] {
        let m_t = (lq.m(t + h, x) - lq.m(t - h, x)) / (2.0 * h);
        let m_xx = (lq.m(t, x + h) - 2.0 * lq.m(t, x) + lq.m(t, x - h)) / (h * h);
        let div = (flux(t, x + h) - flux(t, x - h)) / (2.0 * h);
        let r = m_t - lq.nu * m_xx - div;
        assert!(
            r.abs() < 1e-4 * (1.0 + m_t.abs()),
            "residual {r} at ({t}, {x})"
        );
    }
}

#[test]
fn manufactured_sources_have_zero_mean() {
    let mfd = Manufactured::default();
    let n = 64;
    for t in [0.0, 0.3, 1.0] {
        let s: f64 = (0..n).map(|i| mfd.source_m(t, i as f64 / n as f64)).sum();
        assert!(s.abs() / (n as f64) < 1e-12);
    }
}
