//! The particle FP on the LQ Gaussian game: moments of m(T) against the closed form.

use mfg_rs::core::{FixedPointIterator, IterationSettings, MfgSolution, Problem};
use mfg_rs::fp::{ParticleFp, ParticleSettings};
use mfg_rs::hjb::FdmHjb;
use mfg_test_problems::LqGaussian;

/// FDM HJB and 10⁵ particles, Anderson depth 5; asserts convergence. Returns the particle
/// solver too (its particles at T).
fn solve_with_particles(p: &Problem) -> (MfgSolution, ParticleFp) {
    let mut fp = ParticleFp::new(ParticleSettings {
        particles: 100_000,
        ..Default::default()
    })
    .unwrap();
    let settings = IterationSettings {
        anderson_depth: 5,
        ..Default::default()
    };
    let sol = FixedPointIterator::new(settings)
        .unwrap()
        .solve(p, &mut FdmHjb::default(), &mut fp)
        .unwrap();
    assert!(sol.converged(), "{sol}");
    (sol, fp)
}

#[test]
fn lq_gaussian_with_1e5_particles_matches_the_exact_moments() {
    let lq = LqGaussian::default();
    let (nx, nt) = (200, 100);
    let p = lq.problem(nx, nt);
    let (sol, fp) = solve_with_particles(&p);
    let g = p.grid();
    let w = g.weights();
    let x: Vec<f64> = (0..g.len()).map(|i| g.point(i)[0]).collect();
    let m_t = sol.m.row(nt);
    let mass: f64 = (0..g.len()).map(|i| w[i] * m_t[i]).sum();
    let mean: f64 = (0..g.len()).map(|i| w[i] * m_t[i] * x[i]).sum();
    let var: f64 = (0..g.len())
        .map(|i| w[i] * m_t[i] * (x[i] - mean).powi(2))
        .sum();
    eprintln!(
        "mean {mean} (exact {}), variance {var} (exact {})",
        lq.mean(1.0),
        lq.variance(1.0)
    );
    assert!((mass - 1.0).abs() < 1e-12);
    assert!((mean - lq.mean(1.0)).abs() < 0.01);
    assert!((var - lq.variance(1.0)).abs() < 0.02);
    // The particle mean also checks the drift: without it the mean would stay at −0.4.
    let xs = fp.positions();
    let pmean = xs.iter().sum::<f64>() / xs.len() as f64;
    assert!((pmean - lq.mean(1.0)).abs() < 0.01, "particle mean {pmean}");
}

#[test]
fn separable_2d_lq_game_with_1e5_particles_matches_the_exact_moments() {
    // The 1D LQ data in each coordinate on [−3, 3.5]² (the Gaussians stay > 4 standard
    // deviations from the walls): m(T) is the product of the 1D densities.
    let lq = LqGaussian {
        domain: [-3.0, 3.5],
        ..Default::default()
    };
    let (nx, nt) = (104, 50);
    let p = lq.problem_2d(nx, nt);
    let (sol, _) = solve_with_particles(&p);
    let g = p.grid();
    let w = g.weights();
    let m_t = sol.m.row(nt);
    let mass: f64 = (0..g.len()).map(|i| w[i] * m_t[i]).sum();
    assert!((mass - 1.0).abs() < 1e-12, "mass {mass}");
    assert!(m_t.iter().all(|&v| v >= 0.0));
    for d in 0..2 {
        let mean: f64 = (0..g.len()).map(|i| w[i] * m_t[i] * g.point(i)[d]).sum();
        let var: f64 = (0..g.len())
            .map(|i| w[i] * m_t[i] * (g.point(i)[d] - mean).powi(2))
            .sum();
        eprintln!(
            "axis {d}: mean {mean} (exact {}), variance {var} (exact {})",
            lq.mean(1.0),
            lq.variance(1.0)
        );
        assert!((mean - lq.mean(1.0)).abs() < 0.02, "axis {d}: mean {mean}");
        assert!(
            (var - lq.variance(1.0)).abs() < 0.02,
            "axis {d}: variance {var}"
        );
    }
}
