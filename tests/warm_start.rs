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

/// Nested iteration (`IterationSettings::coarse_start`): crowd-2d on 128² intervals starts from
/// its solution on 64² (interpolated), reaches the same equilibrium as the cold solve (to the
/// tolerance's scale) in fewer fine iterations; with exits and obstacles too (the room of
/// `evacuation-2d`, its doors and pillar taken from the nearest fine point on the coarse grid).
#[test]
fn a_coarse_start_finds_the_same_equilibrium_in_fewer_fine_iterations() {
    for (preset, extra) in [
        ("crowd-2d", &[][..]),
        ("evacuation-2d", &["grid.nt=20"][..]),
    ] {
        let mut sets = vec![
            format!("preset={preset}"),
            "grid.nx=128".to_string(),
            "grid.ny=128".to_string(),
            "iteration.tolerance=1e-8".to_string(),
        ];
        sets.extend(extra.iter().map(|s| s.to_string()));
        let config = mfg_cli::config::resolve(None, &sets).unwrap();
        let p = config.problem().unwrap();
        let cold = config.settings().unwrap();
        assert!(!cold.coarse_start, "auto: 2D grids start cold");
        let nested = IterationSettings {
            coarse_start: true,
            ..cold.clone()
        };
        let a = solve(&p, &cold, None);
        let b = solve(&p, &nested, None);
        assert!(a.coarse.is_empty());
        assert_eq!(b.coarse.len(), 1, "{preset}: {:?}", b.coarse);
        assert_eq!(b.coarse[0].shape, vec![65, 65]);
        assert_eq!(b.coarse[0].outcome, "converged");
        let (dm, du) = (rel_l2(&b.m, &a.m), rel_l2(&b.u, &a.u));
        eprintln!(
            "{preset}: cold {} iterations, nested {} (+ {} coarse), m {dm:e}, u {du:e}",
            a.iterations(),
            b.iterations(),
            b.coarse[0].iterations
        );
        assert!(dm < 1e-6 && du < 1e-6, "{preset}: m {dm:e}, u {du:e}");
        assert!(b.iterations() < a.iterations(), "{preset}");
        if !p.grid().exit_points().is_empty() {
            let gap = (a.mass_exited.last().unwrap() - b.mass_exited.last().unwrap()).abs();
            assert!(gap < 1e-7, "{preset}: exited {gap:e}");
        }
    }
}
