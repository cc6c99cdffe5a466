//! The Hamiltonian families (`power`, `bounded`) against the exact stationary wave of
//! `mfg_test_problems::StationaryWave`: measured orders in u and m (time-dependent, by
//! the FDM pair, in 1D and 2D; stationary, by Newton, in u, m and λ), mass and positivity on
//! every level. A wrong upwind speed, drift or Godunov flux breaks the order or the mass.

mod common;

use mfg_rs::core::{
    Bounded, Coupling, Hamiltonian, IterationMethod, IterationSettings, Power, Problem, Quadratic,
    StationarySettings, StationarySolver,
};
use mfg_test_problems::StationaryWave;

use common::{assert_mass_and_positivity, solve};

/// σ = 1, ε = 0.25: |∇u*| reaches 2π ε √d ≥ 1.57, past the bounded Hamiltonian's kink at
/// λ a_max = 1, so both of its pieces are exercised.
fn wave<H: Hamiltonian + Clone + 'static>(h: H, dim: usize) -> StationaryWave<H> {
    StationaryWave::new(h, Coupling::Linear { strength: 1.0 }, 0.25, 1.0, dim)
}

/// Max-norm errors in u and m over every level of a time-dependent solve.
fn time_errors<H: Hamiltonian + Clone + 'static>(w: &StationaryWave<H>, p: &Problem) -> [f64; 2] {
    exact_errors(p, |_, x| w.u(x), |x| w.m(x))
}

/// Solve `p` (Anderson to 1e-10), check mass and positivity on every level, and return the
/// max-norm errors over all levels against `u(t, x)` and `m(x)`.
fn exact_errors(
    p: &Problem,
    u: impl Fn(f64, &[f64]) -> f64,
    m: impl Fn(&[f64]) -> f64,
) -> [f64; 2] {
    let sol = solve(p, 1e-10);
    assert_mass_and_positivity(p, &sol, "exact solution");
    let g = p.grid();
    let (mut eu, mut em) = (0.0_f64, 0.0_f64);
    for k in 0..sol.u.nrows() {
        let t = p.time().t(k);
        for i in 0..g.len() {
            let x = g.point(i);
            eu = eu.max((sol.u[[k, i]] - u(t, x)).abs());
            em = em.max((sol.m[[k, i]] - m(x)).abs());
        }
    }
    [eu, em]
}

/// Newton on the coupled system to 1e-10: the solution and its residuals in m.
fn newton(p: &Problem) -> (mfg_rs::core::MfgSolution, Vec<f64>) {
    let sol = common::run(
        p,
        IterationSettings {
            method: IterationMethod::Newton,
            tolerance: 1e-10,
            ..Default::default()
        },
    );
    let r = sol.history.iter().map(|h| h.residual_m).collect();
    (sol, r)
}

fn orders<const K: usize>(errs: &[[f64; K]]) -> Vec<[f64; K]> {
    errs.windows(2)
        .map(|w| std::array::from_fn(|k| (w[0][k] / w[1][k]).log2()))
        .collect()
}

fn assert_orders<const K: usize>(label: &str, errs: &[[f64; K]]) {
    let o = orders(errs);
    eprintln!("{label}: errors {errs:?}, orders {o:.3?}");
    for row in &o {
        for &q in row {
            assert!(q >= 0.8, "{label}: orders {o:?} (errors {errs:?})");
        }
    }
}

/// `(dimension, intervals per axis) → [error in u, error in m]` of one family.
type Case = Box<dyn Fn(usize, usize) -> [f64; 2]>;

fn families() -> Vec<(&'static str, Case)> {
    fn case<H: Hamiltonian + Clone + 'static>(h: H) -> Case {
        Box::new(move |dim, n| {
            let w = wave(h.clone(), dim);
            time_errors(&w, &w.problem(n, 0.5, 20))
        })
    }
    vec![
        ("power beta = 1.5", case(Power::new(1.5, 1.0))),
        ("power beta = 3", case(Power::new(3.0, 1.0))),
        ("bounded a_max = 1", case(Bounded::new(1.0, 1.0))),
    ]
}

#[test]
fn every_family_converges_at_first_order_in_1d() {
    for (label, run) in families() {
        let errs: Vec<[f64; 2]> = [64, 128, 256].iter().map(|&n| run(1, n)).collect();
        assert_orders(&format!("1D {label} (u, m)"), &errs);
    }
}

#[test]
fn every_family_converges_at_first_order_in_2d() {
    for (label, run) in families() {
        let errs: Vec<[f64; 2]> = [40, 80, 160].iter().map(|&n| run(2, n)).collect();
        assert_orders(&format!("2D {label} (u, m)"), &errs);
    }
}

/// The stationary solver (Newton with the exact speed Jacobians) on the same pair, λ = 0.
#[test]
fn the_stationary_solver_converges_at_first_order_for_every_family() {
    fn run<H: Hamiltonian + Clone + 'static>(label: &str, h: H) {
        let w = wave(h, 1);
        let errs: Vec<[f64; 3]> = [64, 128, 256]
            .iter()
            .map(|&n| {
                let p = w.problem(n, 1.0, 1);
                let sol = StationarySolver::new(StationarySettings::default())
                    .unwrap()
                    .solve(&p)
                    .unwrap();
                assert!(sol.converged(), "{label}: {:?}", sol.history);
                let g = p.grid();
                let mass = g.integrate(&sol.m);
                assert!((mass - 1.0).abs() < 1e-12 && sol.m.iter().all(|&v| v >= 0.0));
                let (mut eu, mut em) = (0.0_f64, 0.0_f64);
                for i in 0..g.len() {
                    eu = eu.max((sol.u[i] - w.u(g.point(i))).abs());
                    em = em.max((sol.m[i] - w.m(g.point(i))).abs());
                }
                [eu, em, sol.lambda.abs()]
            })
            .collect();
        assert_orders(&format!("stationary {label} (u, m, lambda)"), &errs);
    }
    run("power beta = 1.5", Power::new(1.5, 1.0));
    run("power beta = 3", Power::new(3.0, 1.0));
    run("bounded a_max = 1", Bounded::new(1.0, 1.0));
}

/// The nonlocal coupling `F[m] = K ∗ m` (Gaussian of width 0.08, by FFT) on the same wave
/// with the quadratic Hamiltonian, in 1D and 2D.
#[test]
fn the_nonlocal_coupling_converges_at_first_order_in_1d_and_2d() {
    for (dim, ns) in [(1, [64, 128, 256]), (2, [40, 80, 160])] {
        let w = wave(Quadratic::new(1.0), dim).with_nonlocal(1.0, 0.08);
        let errs: Vec<[f64; 2]> = ns
            .iter()
            .map(|&n| time_errors(&w, &w.problem(n, 0.5, 20)))
            .collect();
        assert_orders(&format!("{dim}D nonlocal (u, m)"), &errs);
    }
}

/// Newton on the coupled system applies the convolution in its products: it converges fast
/// (superlinearly) and to the fixed point Anderson finds.
#[test]
fn newton_handles_the_nonlocal_coupling() {
    let w = wave(Quadratic::new(1.0), 1).with_nonlocal(2.0, 0.08);
    let p = w.problem(128, 0.5, 20);
    let (newton, r) = newton(&p);
    assert!(newton.converged(), "{newton}");
    let anderson = solve(&p, 1e-10);
    eprintln!("Newton residuals {r:?}");
    assert!(r.len() <= 10, "{r:?}");
    assert!(common::rel_l2(&newton.m, &anderson.m) < 1e-8);
}

/// `model.running_cost` as an expression in t, x and m (through the command line's config
/// layer): the quadratic wave with `F = m` written out, plus `sin 2πt`, whose exact solution
/// is `u = u* + (cos 2πt − cos 2πT)/(2π)`, `m = m*`. First order in u and m as dx and dt
/// shrink together; Newton (the symbolic `∂f/∂m` in its Jacobian) converges fast.
#[test]
fn a_running_cost_expression_in_t_x_and_m_converges_at_first_order() {
    let w = wave(Quadratic::new(1.0), 1);
    let (eps, nu) = (0.25, 0.5);
    let z = mfg_test_problems::bessel_i0(eps / nu);
    let u_star = format!("{eps}*cos(2*pi*x)");
    let m_star = format!("exp(-{eps}*cos(2*pi*x)/{nu})");
    // V = −ν u*'' + u*'²/2 − m*: HJB holds with F = m.
    let v = format!("{nu}*4*pi^2*{u_star} + 0.5*(2*pi*{eps}*sin(2*pi*x))^2 - {m_star}/{z}");
    let cost = format!("{v} + m + sin(2*pi*t)");
    let problem = |n: usize| {
        let sets = [
            "grid.x=[0.0, 1.0]".to_string(),
            format!("grid.nx={n}"),
            format!("grid.nt={}", n / 2),
            "grid.t_final=1.0".into(),
            "grid.boundary=\"periodic\"".into(),
            "model.sigma=1.0".into(),
            format!("model.running_cost=\"{cost}\""),
            format!("model.terminal_cost=\"{u_star}\""),
            format!("model.initial_density=\"{m_star}\""),
        ];
        mfg_cli::config::resolve(None, &sets)
            .unwrap()
            .problem()
            .unwrap()
    };
    let exact_u = |t: f64, x: &[f64]| {
        use std::f64::consts::PI;
        w.u(x) + ((2.0 * PI * t).cos() - 1.0) / (2.0 * PI)
    };
    let errs: Vec<[f64; 2]> = [64, 128, 256]
        .iter()
        .map(|&n| exact_errors(&problem(n), exact_u, |x| w.m(x)))
        .collect();
    assert_orders("running cost f(t, x, m) (u, m)", &errs);
    let (newton, r) = newton(&problem(128));
    eprintln!("Newton residuals {r:?}");
    assert!(newton.converged() && r.len() <= 8, "{r:?}");
}

/// The congestion wave of the tests: λ = 1, c₀ = 0.5, α = 1, ε = 0.5, σ = 1, `F = m`.
fn congestion_wave(dim: usize) -> mfg_test_problems::CongestionWave {
    mfg_test_problems::CongestionWave::new(
        1.0,
        0.5,
        1.0,
        0.5,
        1.0,
        Coupling::Linear { strength: 1.0 },
        dim,
    )
}

/// Congestion `H = |p|²/(2λ (c₀ + m)^α)` on its exact wave (`mfg_test_problems::CongestionWave`):
/// first order in u and m in 1D and 2D, mass and positivity on every level.
#[test]
fn congestion_converges_at_first_order_in_1d_and_2d() {
    for (dim, ns) in [(1, [64, 128, 256]), (2, [50, 100, 200])] {
        let w = congestion_wave(dim);
        let errs: Vec<[f64; 2]> = ns
            .iter()
            .map(|&n| exact_errors(&w.problem(n, 0.5, 20), |_, x| w.u(x), |x| w.m(x)))
            .collect();
        assert_orders(&format!("{dim}D congestion (u, m)"), &errs);
    }
}

/// Newton on the coupled system with congestion: the density factor's Jacobian terms (the
/// HJB's `−dt s'(m) H₀_h`, the FP's own-density term, the two systems' own rates) make it
/// converge fast, to the fixed point Anderson finds, in 1D (direct level solves) and 2D
/// (BiCGSTAB).
#[test]
fn newton_handles_congestion_in_1d_and_2d() {
    for (dim, n) in [(1, 128), (2, 40)] {
        let w = congestion_wave(dim);
        let p = w.problem(n, 0.5, 20);
        let (newton, r) = newton(&p);
        eprintln!("{dim}D congestion: Newton residuals {r:?}");
        assert!(newton.converged() && r.len() <= 10, "{dim}D: {r:?}");
        let anderson = solve(&p, 1e-10);
        let diff = common::rel_l2(&newton.m, &anderson.m);
        assert!(diff < 1e-8, "{dim}D: {diff}");
    }
}
