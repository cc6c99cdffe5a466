//! Anderson acceleration of the coupling iteration, measured against damped Picard (θ = 0.5) on
//! the built-in presets, plus the termination reasons.

mod common;

use mfg_rs::core::{
    Continuation, FixedPointIterator, IterationMethod, IterationSettings, MfgError, Problem,
    StepKind, TerminationReason,
};
use mfg_rs::fp::FdmFp;
use mfg_rs::hjb::FdmHjb;

use common::{rel_l2, run};

fn preset(sets: &[&str]) -> (Problem, IterationSettings) {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let c = mfg_cli::config::resolve(None, &sets).unwrap();
    // The iteration itself is studied here: no continuation behind a failure.
    let s = IterationSettings {
        method: IterationMethod::FixedPoint,
        continuation: Continuation::Off,
        ..c.settings().unwrap()
    };
    (c.problem().unwrap(), s)
}

/// (Picard iterations, Anderson(5) iterations), after checking both converged to the same pair.
fn compare(sets: &[&str]) -> (usize, usize) {
    let (p, s) = preset(sets);
    let picard = run(&p, s.clone());
    let anderson = run(
        &p,
        IterationSettings {
            anderson_depth: 5,
            ..s
        },
    );
    assert!(picard.converged() && anderson.converged(), "{sets:?}");
    assert!(rel_l2(&anderson.u, &picard.u) < 1e-6, "{sets:?}: u differs");
    assert!(rel_l2(&anderson.m, &picard.m) < 1e-6, "{sets:?}: m differs");
    assert!(anderson
        .history
        .iter()
        .any(|r| r.step == Some(StepKind::Accelerated)));
    eprintln!(
        "{sets:?}: Picard {} iterations, Anderson(5) {}",
        picard.iterations(),
        anderson.iterations()
    );
    (picard.iterations(), anderson.iterations())
}

#[test]
fn anderson_needs_a_third_of_the_picard_iterations_on_the_tutorial_and_lq_presets() {
    let (p, a) = compare(&["preset=mfg-pde-tutorial"]);
    assert!(3 * a <= p, "tutorial: {a} vs {p}");
    assert_eq!((p, a), (70, 21), "pinned: a change in behaviour, review it");
    let (p, a) = compare(&["preset=lq-gaussian"]);
    assert!(3 * a <= p, "lq-gaussian: {a} vs {p}");
    assert_eq!((p, a), (28, 3), "pinned");
}

#[test]
fn anderson_on_the_crowd_preset_is_pinned() {
    // Crowd aversion gives DΦ eigenvalues down to about −2.3 (θ = 0.6 needs 101 Picard
    // iterations, θ = 1 oscillates): Anderson then gains less than 3× (docs/PERFORMANCE.md).
    let (p, a) = compare(&["preset=crowd"]);
    assert_eq!((p, a), (28, 17), "pinned");
}

#[test]
fn collapsing_attraction_ends_cleanly_with_finite_output() {
    // MFG_PDE's own default: attraction c = −0.5 with σ = 0.1, where the density collapses.
    for depth in [0, 5] {
        let (p, s) = preset(&["preset=mfg-pde-tutorial", "model.sigma=0.1"]);
        let sol = run(
            &p,
            IterationSettings {
                anderson_depth: depth,
                ..s
            },
        );
        assert!(
            sol.u.iter().chain(sol.m.iter()).all(|v| v.is_finite()),
            "depth {depth}: non-finite output"
        );
        assert!(sol.m.iter().all(|&v| v >= 0.0));
        assert!((sol.mass_final - 1.0).abs() < 1e-12);
        assert_eq!(
            sol.termination,
            TerminationReason::Converged,
            "depth {depth}"
        );
        assert!(
            sol.m.iter().cloned().fold(0.0, f64::max) > 50.0,
            "the density collapses"
        );
    }
}

#[test]
fn an_oscillating_iteration_is_reported_as_stagnation() {
    // Undamped Picard on the crowd preset settles into a period-two oscillation.
    let (p, s) = preset(&["preset=crowd", "iteration.damping=1"]);
    let sol = run(&p, s);
    assert_eq!(sol.termination, TerminationReason::Stagnation);
    assert!(sol.iterations() < 100);
}

#[test]
fn a_time_limit_inside_the_first_iteration_is_an_error() {
    // The solvers check the deadline at every time level: 1 ns passes before the first
    // iteration is complete, and there is no iterate to return.
    let (p, s) = preset(&["preset=mfg-pde-tutorial"]);
    let err = FixedPointIterator::new(IterationSettings {
        time_limit_s: Some(1e-9),
        ..s
    })
    .unwrap()
    .solve(&p, &mut FdmHjb::default(), &mut FdmFp::new())
    .unwrap_err();
    assert!(matches!(err, MfgError::TimeLimit { .. }), "{err}");
}
