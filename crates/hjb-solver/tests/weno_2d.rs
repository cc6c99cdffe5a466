//! `WenoHjb` on a 2D grid: the separable LQ game, whose value function is `u(t, x) + u(t, y)`
//! with the 1D closed form, and agreement with the 1D solver line by line.

use hjb_solver::{WenoHjb, WenoSettings};
use mfg_core::HjbSolver;
use mfg_test_problems::LqGaussian;
use ndarray::Array2;

#[test]
fn separable_lq_value_function_in_2d_matches_the_closed_form_and_the_1d_solver() {
    let lq = LqGaussian::default();
    let (nx, nt) = (80, 40);
    let p2 = lq.problem_2d(nx, nt);
    let p1 = lq.problem(nx, nt);
    let n = nx + 1;
    let m2 = Array2::<f64>::zeros((nt + 1, n * n)); // uncoupled: m does not matter
    let mut u2 = Array2::<f64>::zeros((nt + 1, n * n));
    let m1 = Array2::<f64>::zeros((nt + 1, n));
    let mut u1 = Array2::<f64>::zeros((nt + 1, n));
    let stats = WenoHjb::new(WenoSettings::default())
        .unwrap()
        .solve_into(&p2, m2.view(), u2.view_mut())
        .unwrap();
    WenoHjb::new(WenoSettings::default())
        .unwrap()
        .solve_into(&p1, m1.view(), u1.view_mut())
        .unwrap();
    assert!(stats.newton_iterations >= nt, "sub-steps {stats:?}");
    let g = p2.grid();
    let (mut err, mut split) = (0.0_f64, 0.0_f64);
    for k in 0..=nt {
        let t = p2.time().t(k);
        for c in 0..g.len() {
            let q = g.point(c);
            if lq.m_2d(t, q[0], q[1]) > 1e-3 {
                err = err.max((u2[[k, c]] - lq.u_2d(t, q[0], q[1])).abs());
            }
            // The 2D solution is the sum of two 1D solutions, up to the different sub-steps
            // (2D has twice the diffusion rate), which matter only in the corners where the
            // reflected quadratic has a kink and u is large.
            let (i, j) = (g.axis_index(c, 0), g.axis_index(c, 1));
            let d = (u2[[k, c]] - u1[[k, i]] - u1[[k, j]]).abs();
            split = split.max(d / (1.0 + u2[[k, c]].abs()));
        }
    }
    eprintln!("max |u − u*| where m > 1e-3: {err:e}; max |u2 − u1 ⊕ u1|/(1 + |u|): {split:e}");
    // Measured: 9.9e-9 and 3.6e-5.
    assert!(err < 1e-7, "error {err:e}");
    assert!(split < 1e-4, "split {split:e}");
}
