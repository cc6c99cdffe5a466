//! Stationary (ergodic) games by Newton: measured convergence orders in u, m and λ against
//! exact solutions, mass, positivity, and the turnpike property.

use mfg_rs::core::{Problem, StationarySettings, StationarySolution, StationarySolver};
use mfg_test_problems::{LqErgodic, StationaryLog};

fn solve(p: &Problem) -> StationarySolution {
    let sol = StationarySolver::new(StationarySettings::default())
        .unwrap()
        .solve(p)
        .unwrap();
    assert!(sol.converged(), "{:?}", sol.history);
    sol
}

/// Max-norm errors in u (up to a constant when `shift`, over the points `keep` selects), m and
/// λ.
fn errors(
    p: &Problem,
    sol: &StationarySolution,
    u: impl Fn(&[f64]) -> f64,
    m: impl Fn(&[f64]) -> f64,
    lambda: f64,
    keep: impl Fn(&[f64]) -> bool,
    shift: bool,
) -> [f64; 3] {
    let g = p.grid();
    let points: Vec<usize> = (0..g.len()).filter(|&i| keep(g.point(i))).collect();
    // Remove the constant: compare u − mean(u) over the kept points.
    let mean =
        |f: &dyn Fn(usize) -> f64| points.iter().map(|&i| f(i)).sum::<f64>() / points.len() as f64;
    let (cs, ce) = if shift {
        (mean(&|i| sol.u[i]), mean(&|i| u(g.point(i))))
    } else {
        (0.0, 0.0)
    };
    let eu = points
        .iter()
        .map(|&i| ((sol.u[i] - cs) - (u(g.point(i)) - ce)).abs())
        .fold(0.0, f64::max);
    let em = (0..g.len())
        .map(|i| (sol.m[i] - m(g.point(i))).abs())
        .fold(0.0, f64::max);
    [eu, em, (sol.lambda - lambda).abs()]
}

/// The measured orders in u, m and λ between successive halvings of h: the last ones (the
/// asymptotic range) in [0.8, 1.3] (the upwind scheme's first order).
fn assert_first_order(label: &str, errs: &[[f64; 3]]) {
    let orders: Vec<[f64; 3]> = errs
        .windows(2)
        .map(|w| std::array::from_fn(|k| (w[0][k] / w[1][k]).log2()))
        .collect();
    eprintln!("{label} orders (u, m, lambda): {orders:?}");
    for o in orders.last().unwrap() {
        assert!(*o >= 0.8 && *o <= 1.3, "{label}: orders {orders:?}");
    }
}

fn check_basics(p: &Problem, sol: &StationarySolution) {
    let g = p.grid();
    let mass = g.integrate(&sol.m);
    assert!((mass - 1.0).abs() < 1e-12, "mass {mass}");
    assert!(sol.m.iter().all(|&v| v >= 0.0));
    assert!(g.integrate(&sol.u).abs() < 1e-12);
}

#[test]
fn the_periodic_log_coupling_solution_converges_at_first_order_in_1d_and_2d() {
    let s = StationaryLog::default();
    for (dim, sizes) in [(1, vec![32, 64, 128, 256]), (2, vec![16, 32, 64])] {
        let errs: Vec<[f64; 3]> = sizes
            .iter()
            .map(|&n| {
                let p = s.problem(dim, n);
                let sol = solve(&p);
                check_basics(&p, &sol);
                let e = errors(
                    &p,
                    &sol,
                    |x| s.u(x),
                    |x| s.m(x),
                    s.lambda(dim),
                    |_| true,
                    false,
                );
                eprintln!(
                    "{dim}D n = {n}: u {:.3e}, m {:.3e}, lambda {:.3e} ({} Newton steps, {:.1} ms)",
                    e[0],
                    e[1],
                    e[2],
                    sol.history.len(),
                    1e3 * sol.time_s
                );
                e
            })
            .collect();
        assert_first_order(&format!("{dim}D"), &errs);
    }
}

#[test]
fn the_linear_quadratic_ergodic_solution_converges_at_first_order() {
    let s = LqErgodic::default();
    let errs: Vec<[f64; 3]> = [40, 80, 160, 320]
        .iter()
        .map(|&n| {
            let p = s.problem(1, n);
            let sol = solve(&p);
            check_basics(&p, &sol);
            // u up to a constant, away from the walls' layer.
            let e = errors(
                &p,
                &sol,
                |x| s.u(x),
                |x| s.m(x),
                s.lambda(1),
                |x| x[0].abs() <= 2.5,
                true,
            );
            eprintln!(
                "n = {n}: u {:.3e}, m {:.3e}, lambda {:.3e}",
                e[0], e[1], e[2]
            );
            e
        })
        .collect();
    assert_first_order("LQ", &errs);
}

/// The turnpike: a long-horizon time-dependent solve spends its middle near the stationary
/// solution. The LQ game over T = 12 on the same grid as the ergodic one: at t = T/2 its
/// density is the stationary one to within the scheme's error (and far closer than either is
/// to the exact Gaussian), and its λ-free part of u has the same shape.
#[test]
fn the_stationary_solution_is_the_middle_of_a_long_horizon_solve() {
    use mfg_rs::core::{FixedPointIterator, IterationSettings};
    use mfg_rs::fp::FdmFp;
    use mfg_rs::hjb::FdmHjb;
    use mfg_test_problems::LqGaussian;
    let n = 160;
    let lq = LqGaussian {
        t_final: 12.0,
        ..Default::default()
    };
    let p = lq.problem(n, 480);
    let td = FixedPointIterator::new(IterationSettings::default())
        .unwrap()
        .solve(&p, &mut FdmHjb::default(), &mut FdmFp::new())
        .unwrap();
    assert!(td.converged());
    let ergodic = LqErgodic::default();
    let ps = ergodic.problem(1, n);
    let st = solve(&ps);
    let g = ps.grid();
    let mid = td.m.row(240);
    let diff = (0..g.len())
        .map(|i| (mid[i] - st.m[i]).abs())
        .fold(0.0, f64::max);
    let err = (0..g.len())
        .map(|i| (st.m[i] - ergodic.m(g.point(i))).abs())
        .fold(0.0, f64::max);
    eprintln!("turnpike: |m(T/2) - m_stationary| = {diff:.3e}, |m_stationary - exact| = {err:.3e}");
    assert!(
        diff < 0.1 * err,
        "{diff:e} vs the discretisation error {err:e}"
    );
    // u up to a constant, where the crowd is.
    let urow = td.u.row(240);
    let (c_td, c_st) = (urow[n / 2], st.u[n / 2]);
    let du = (0..g.len())
        .filter(|&i| g.point(i)[0].abs() <= 2.5)
        .map(|i| ((urow[i] - c_td) - (st.u[i] - c_st)).abs())
        .fold(0.0, f64::max);
    eprintln!("turnpike: |u(T/2) - u_stationary| (up to a constant, |x| <= 2.5) = {du:.3e}");
    assert!(du < 1e-3, "{du:e}");
}
