//! Warm starts (`FixedPointIterator::run(..).initial_guess(..)`) with the real solvers: a continuation step
//! needs fewer iterations than a cold solve and reaches the same equilibrium; the fixed point
//! itself is confirmed at once; the first level is always the problem's m0.

mod common;

use mfg_rs::core::{FixedPointIterator, IterationSettings, MfgSolution, Problem};
use mfg_rs::fp::FdmFp;
use mfg_rs::hjb::FdmHjb;
use ndarray::Array2;

use common::rel_l2;

fn crowd(coupling: f64) -> (Problem, IterationSettings) {
    let sets = [
        "preset=crowd".to_string(),
        format!("model.coupling_strength={coupling}"),
        "iteration.anderson_depth=5".to_string(),
    ];
    let config = mfg_cli::config::resolve(None, &sets).unwrap();
    (config.problem().unwrap(), config.settings().unwrap())
}

fn solve(p: &Problem, s: &IterationSettings, from: Option<&Array2<f64>>) -> MfgSolution {
    let it = FixedPointIterator::new(s.clone()).unwrap();
    let (mut hjb, mut fp) = (FdmHjb::default(), FdmFp::new());
    let sol = match from {
        None => it.solve(p, &mut hjb, &mut fp),
        Some(m) => it.run(p, &mut hjb, &mut fp).initial_guess(m.view()).solve(),
    }
    .unwrap();
    assert!(sol.converged(), "{:?}", sol.termination);
    sol
}

#[test]
fn a_continuation_step_saves_iterations_and_finds_the_same_equilibrium() {
    let (p2, s2) = crowd(0.2);
    let (p3, s3) = crowd(0.3);
    let previous = solve(&p2, &s2, None);
    let cold = solve(&p3, &s3, None);
    let warm = solve(&p3, &s3, Some(&previous.m));
    // Measured: cold 17, warm 12 iterations.
    assert!(
        warm.iterations() + 3 <= cold.iterations(),
        "warm {} cold {}",
        warm.iterations(),
        cold.iterations()
    );
    assert!(rel_l2(&warm.m, &cold.m) < 1e-6);
    assert!(rel_l2(&warm.u, &cold.u) < 1e-6);
}

#[test]
fn from_the_fixed_point_two_iterations_confirm_it() {
    let (p, s) = crowd(0.3);
    let cold = solve(&p, &s, None);
    let again = solve(&p, &s, Some(&cold.m));
    // The first iteration's residual_u is 1 by convention; the second one confirms.
    assert_eq!(again.iterations(), 2);
    assert!(again.history[0].residual_m < 1e-8);
    assert!(rel_l2(&again.m, &cold.m) < 1e-8);
}

#[test]
fn the_first_level_of_a_warm_start_is_the_problem_m0() {
    let (p, s) = crowd(0.3);
    // A flat density everywhere, including level 0: the solve must still start from m0.
    let flat = Array2::from_elem((p.time().levels(), p.grid().len()), 1.0);
    let warm = solve(&p, &s, Some(&flat));
    let cold = solve(&p, &s, None);
    assert!(rel_l2(&warm.m, &cold.m) < 1e-6);
    let m0 = ndarray::aview1(p.initial_density());
    assert!((&warm.m.row(0) - &m0).iter().all(|v| v.abs() < 1e-14));
}
