//! The Jiang–Peng test of the HJ-WENO5 + TVD-RK3 stepper: φt + (φx + 1)²/2 = 0,
//! φ(0, x) = −cos(πx), periodic on [−1, 1], at t = 0.5/π² (before the kink), against the exact
//! solution by characteristics.

use std::f64::consts::PI;

use hjb_solver::{HjEvolver, NumericalHamiltonian, Weights, WenoSettings};
use mfg_core::{Boundary, Grid, Hamiltonian};

/// H(p) = Σ_d (p_d + 1)²/2: a user-defined Hamiltonian, separable, convex with minimiser −1.
#[derive(Debug)]
struct Shifted;

impl Hamiltonian for Shifted {
    fn name(&self) -> &'static str {
        "shifted"
    }
    fn value(&self, _x: &[f64], p: &[f64]) -> f64 {
        p.iter().map(|q| 0.5 * (q + 1.0) * (q + 1.0)).sum()
    }
    fn dp(&self, _x: &[f64], p: &[f64], out: &mut [f64]) {
        for (o, q) in out.iter_mut().zip(p) {
            *o = q + 1.0;
        }
    }
    fn upwind(&self, _x: &[f64], back: &[f64], fwd: &[f64], sp: &mut [f64], sn: &mut [f64]) -> f64 {
        let mut h = 0.0;
        for d in 0..back.len() {
            let (a, b) = ((back[d] + 1.0).max(0.0), (fwd[d] + 1.0).min(0.0));
            sp[d] = a;
            sn[d] = -b;
            h += 0.5 * (a * a + b * b);
        }
        h
    }
    fn godunov(&self, _x: &[f64], minus: &[f64], plus: &[f64]) -> f64 {
        minus
            .iter()
            .zip(plus)
            .map(|(a, b)| {
                let (a, b) = ((a + 1.0).max(0.0), (b + 1.0).min(0.0));
                (0.5 * a * a).max(0.5 * b * b)
            })
            .sum()
    }
    fn speed_bound(&self, d: usize, lo: &[f64], hi: &[f64]) -> f64 {
        (lo[d] + 1.0).abs().max((hi[d] + 1.0).abs())
    }
}

/// Exact φ(t, x): x = x0 + (p0 + 1) t with p0 = π sin(π x0); φ = −cos(π x0) + t (p0² − 1)/2.
fn exact(t: f64, x: f64) -> f64 {
    let mut x0 = x;
    for _ in 0..50 {
        let f = x0 + t * (PI * (PI * x0).sin() + 1.0) - x;
        let df = 1.0 + t * PI * PI * (PI * x0).cos();
        x0 -= f / df;
    }
    let p0 = PI * (PI * x0).sin();
    -(PI * x0).cos() + 0.5 * t * (p0 * p0 - 1.0)
}

fn l1_error(n: usize, nh: NumericalHamiltonian, weights: Weights) -> f64 {
    let t_final = 0.5 / (PI * PI);
    let h = 2.0 / n as f64;
    let x = |i: usize| -1.0 + i as f64 * h;
    let mut phi: Vec<f64> = (0..n).map(|i| -(PI * x(i)).cos()).collect();
    // dt ∝ h^(5/3) so that the third-order time error stays below the fifth-order space error.
    let settings = WenoSettings {
        weights,
        hamiltonian: nh,
        cfl: 0.5 * (h / 0.05_f64).powf(2.0 / 3.0),
        ..Default::default()
    };
    let grid = Grid::line(-1.0, 1.0, n, Boundary::Periodic).unwrap();
    let mut ev = HjEvolver::new(&grid, 0.0, settings);
    ev.advance(&Shifted, &mut phi, t_final, &mut |_, s: &mut [f64]| {
        s.fill(0.0)
    })
    .unwrap();
    h * (0..n)
        .map(|i| (phi[i] - exact(t_final, x(i))).abs())
        .sum::<f64>()
}

#[test]
fn jiang_peng_smooth_case_converges_at_high_order() {
    for nh in [
        NumericalHamiltonian::Godunov,
        NumericalHamiltonian::LaxFriedrichs,
    ] {
        for w in [Weights::Js, Weights::Z] {
            let e: Vec<f64> = [40, 80, 160, 320]
                .iter()
                .map(|&n| l1_error(n, nh, w))
                .collect();
            let p: Vec<f64> = e.windows(2).map(|w| (w[0] / w[1]).log2()).collect();
            eprintln!("{nh:?} {w:?}: L1 errors {e:?}, orders {p:?}");
            assert!(p.iter().all(|&q| q >= 4.0), "{nh:?} {w:?}: orders {p:?}");
        }
    }
}

#[test]
fn a_cfl_number_above_one_is_rejected() {
    for cfl in [1.5, 0.0, -1.0, f64::NAN] {
        let s = WenoSettings {
            cfl,
            ..Default::default()
        };
        let e = s.validate().unwrap_err();
        assert!(e.to_string().contains("cfl"), "{e}");
    }
}

/// The 2D case dimension by dimension: φt + (φx + 1)²/2 + (φy + 1)²/2 = 0 with
/// φ(0) = −cos(πx) − cos(πy) on the periodic [−1, 1]² is the sum of two 1D solutions.
fn l1_error_2d(n: usize, nh: NumericalHamiltonian) -> f64 {
    let t_final = 0.5 / (PI * PI);
    let h = 2.0 / n as f64;
    let grid = Grid::rectangle([-1.0, 1.0], n, [-1.0, 1.0], n, Boundary::Periodic).unwrap();
    let mut phi = grid.sample(|q| -(PI * q[0]).cos() - (PI * q[1]).cos());
    let settings = WenoSettings {
        hamiltonian: nh,
        cfl: 0.5 * (h / 0.05_f64).powf(2.0 / 3.0),
        ..Default::default()
    };
    let mut ev = HjEvolver::new(&grid, 0.0, settings);
    ev.advance(&Shifted, &mut phi, t_final, &mut |_, s: &mut [f64]| {
        s.fill(0.0)
    })
    .unwrap();
    let ex = grid.sample(|q| exact(t_final, q[0]) + exact(t_final, q[1]));
    h * h * phi.iter().zip(&ex).map(|(p, e)| (p - e).abs()).sum::<f64>()
}

#[test]
fn jiang_peng_in_2d_dimension_by_dimension_converges_at_high_order() {
    for nh in [
        NumericalHamiltonian::Godunov,
        NumericalHamiltonian::LaxFriedrichs,
    ] {
        let e: Vec<f64> = [40, 80, 160].iter().map(|&n| l1_error_2d(n, nh)).collect();
        let p: Vec<f64> = e.windows(2).map(|w| (w[0] / w[1]).log2()).collect();
        eprintln!("2D {nh:?}: L1 errors {e:?}, orders {p:?}");
        assert!(p.iter().all(|&q| q >= 4.0), "2D {nh:?}: orders {p:?}");
    }
}
