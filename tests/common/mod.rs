//! Helpers shared by the integration tests of every dimension.

#![allow(dead_code)] // each test file uses the helpers it needs

use mfg_rs::core::{FixedPointIterator, IterationSettings, MfgSolution, Problem};
use mfg_rs::fp::FdmFp;
use mfg_rs::hjb::FdmHjb;

/// The FDM pair with `settings` (no convergence check).
pub fn run(p: &Problem, settings: IterationSettings) -> MfgSolution {
    FixedPointIterator::new(settings)
        .unwrap()
        .solve(p, &mut FdmHjb::default(), &mut FdmFp::new())
        .unwrap()
}

/// `‖a − b‖₂ / ‖b‖₂` over all entries.
pub fn rel_l2(a: &ndarray::Array2<f64>, b: &ndarray::Array2<f64>) -> f64 {
    let num: f64 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum();
    let den: f64 = b.iter().map(|y| y * y).sum();
    (num / den).sqrt()
}

/// The FDM pair with Anderson depth 5 to `tol`; asserts convergence.
pub fn solve(p: &Problem, tol: f64) -> MfgSolution {
    let settings = IterationSettings {
        tolerance: tol,
        anderson_depth: 5,
        ..Default::default()
    };
    let sol = FixedPointIterator::new(settings)
        .unwrap()
        .solve(p, &mut FdmHjb::default(), &mut FdmFp::new())
        .unwrap();
    assert!(sol.converged(), "{sol}");
    sol
}

/// Unit mass within 1e-12 and `m ≥ 0` on every level.
pub fn assert_mass_and_positivity(p: &Problem, sol: &MfgSolution, label: &str) {
    for row in sol.m.rows() {
        let mass = p.grid().integrate(row.as_slice().unwrap());
        assert!((mass - 1.0).abs() < 1e-12, "{label}: mass {mass}");
        assert!(row.iter().all(|&v| v >= 0.0), "{label}: m < 0");
    }
}

/// `u` and `m` equal at every point and its image under `perm` (per-axis indices), to 1e-8
/// relative to their largest values.
pub fn assert_symmetric(p: &Problem, sol: &MfgSolution, perm: impl Fn(&[usize]) -> Vec<usize>) {
    let g = p.grid();
    let su = sol.u.iter().fold(0.0_f64, |a, v| a.max(v.abs()));
    let sm = sol.m.iter().fold(0.0_f64, |a, v| a.max(v.abs()));
    for a in 0..g.len() {
        let idx: Vec<usize> = (0..g.dim()).map(|d| g.axis_index(a, d)).collect();
        let b = g.flat_index(&perm(&idx));
        for k in 0..p.time().levels() {
            assert!(
                (sol.u[[k, a]] - sol.u[[k, b]]).abs() <= 1e-8 * su,
                "u at level {k}, {idx:?}"
            );
            assert!(
                (sol.m[[k, a]] - sol.m[[k, b]]).abs() <= 1e-8 * sm,
                "m at level {k}, {idx:?}"
            );
        }
    }
}

/// Run `f` on a rayon pool of `threads` threads.
pub fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

/// Solve the problem `problem(b)` for no-flux and periodic walls to 1e-8 and check unit mass
/// and `m ≥ 0` on every level.
pub fn assert_mass_and_positivity_for_both_walls(
    problem: impl Fn(mfg_rs::core::Boundary) -> Problem,
) {
    use mfg_rs::core::Boundary;
    for b in [Boundary::NoFlux, Boundary::Periodic] {
        let p = problem(b);
        assert_mass_and_positivity(&p, &solve(&p, 1e-8), &format!("{b:?}"));
    }
}
