//! Helpers shared by the particle tests of every dimension.

use fp_solver::{Boundary, FpSolver, ParticleFp, ParticleSettings, Problem};
use ndarray::Array2;

/// Run `f` on a rayon pool of `threads` threads.
pub fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

/// The particle density driven by `u`, with the mass checked to 1e-12.
pub fn particle_density(p: &Problem, u: &Array2<f64>, settings: ParticleSettings) -> Array2<f64> {
    let mut m = Array2::zeros(u.raw_dim());
    let stats = ParticleFp::new(settings)
        .unwrap()
        .solve_into(p, u.view(), m.view_mut())
        .unwrap();
    assert!(stats.max_mass_drift < 1e-12, "{stats:?}");
    m
}

/// The same seed gives bitwise the same density on one and on two threads.
pub fn assert_thread_count_does_not_matter(
    p: &Problem,
    u: &Array2<f64>,
    settings: ParticleSettings,
) -> Array2<f64> {
    let m1 = on_threads(1, || particle_density(p, u, settings));
    let m2 = on_threads(2, || particle_density(p, u, settings));
    assert!(m1.iter().zip(&m2).all(|(a, b)| a.to_bits() == b.to_bits()));
    m1
}

/// Unit quadrature mass within 1e-12 and `m ≥ 0` on every level.
pub fn assert_unit_mass_and_non_negative(p: &Problem, m: &Array2<f64>, label: &str) {
    for row in m.rows() {
        let mass = p.grid().integrate(row.as_slice().unwrap());
        assert!((mass - 1.0).abs() < 1e-12, "{label}: mass {mass}");
        assert!(row.iter().all(|&v| v >= 0.0), "{label}: m < 0");
    }
}

/// For no-flux and periodic walls: the problem, and the particle density of `particles`
/// particles driven by `u`, with unit mass and `m ≥ 0` checked on every level.
pub fn densities_for_both_walls(
    problem: impl Fn(Boundary) -> Problem,
    u: impl Fn(&Problem) -> Array2<f64>,
    particles: usize,
) -> Vec<(Boundary, Problem, Array2<f64>)> {
    [Boundary::NoFlux, Boundary::Periodic]
        .into_iter()
        .map(|b| {
            let p = problem(b);
            let settings = ParticleSettings {
                particles,
                ..Default::default()
            };
            let m = particle_density(&p, &u(&p), settings);
            assert_unit_mass_and_non_negative(&p, &m, &format!("{b:?}"));
            (b, p, m)
        })
        .collect()
}

/// Reproducibility with 5·10⁴ particles (several chunks, so two threads really split the
/// work): the seed alone determines the output, bitwise for one and two threads, and another
/// seed gives another sample. Returns the settings and the density.
pub fn assert_seed_determines_output(
    p: &Problem,
    u: &Array2<f64>,
    seed: u64,
) -> (ParticleSettings, Array2<f64>) {
    let settings = ParticleSettings {
        particles: 50_000,
        seed,
        ..Default::default()
    };
    let m = assert_thread_count_does_not_matter(p, u, settings);
    let other = ParticleSettings {
        seed: seed + 1,
        ..settings
    };
    assert!(particle_density(p, u, other)
        .iter()
        .zip(&m)
        .any(|(a, b)| a != b));
    (settings, m)
}
