//! Three dimensions, through the same solvers as 1D and 2D: the separable LQ game against its
//! exact moments, mass and positivity for both walls, symmetry under permutations of the axes,
//! and particles independent of the thread count.

mod common;

use common::{assert_mass_and_positivity_for_both_walls, assert_symmetric, on_threads, solve};
use mfg_rs::core::{Boundary, Coupling, FpSolver, Grid, Problem, TimeGrid};
use mfg_rs::fp::{ParticleFp, ParticleSettings};
use mfg_test_problems::LqGaussian;
use ndarray::Array2;

/// Mean and variance of coordinate `d` of the density `row`.
fn moments(g: &Grid, row: &[f64], d: usize) -> (f64, f64) {
    let w = g.weights();
    let mean: f64 = (0..g.len()).map(|i| w[i] * row[i] * g.point(i)[d]).sum();
    let var: f64 = (0..g.len())
        .map(|i| w[i] * row[i] * (g.point(i)[d] - mean).powi(2))
        .sum();
    (mean, var)
}

#[test]
fn separable_lq_game_in_3d_converges_at_first_order_in_every_coordinate() {
    // [−2.2, 2.8]³: the Gaussians (mean −0.4 → 0.32, std ≤ 0.55) stay > 4 std from the walls.
    let lq = LqGaussian {
        domain: [-2.2, 2.8],
        ..Default::default()
    };
    let sizes = [16, 32, 64];
    let mut errors = vec![[[0.0; 2]; 3]; sizes.len()];
    for (s, &nx) in sizes.iter().enumerate() {
        let nt = nx / 4;
        let p = lq.problem_in(3, nx, nt);
        let sol = solve(&p, 1e-8);
        let g = p.grid();
        for row in sol.m.rows() {
            let mass = g.integrate(row.as_slice().unwrap());
            assert!((mass - 1.0).abs() < 1e-12, "nx {nx}: mass {mass}");
            assert!(row.iter().all(|&v| v >= 0.0), "nx {nx}: m < 0");
        }
        let row = sol.m.row(nt);
        for (d, e) in errors[s].iter_mut().enumerate() {
            let (mean, var) = moments(g, row.as_slice().unwrap(), d);
            *e = [(mean - lq.mean(1.0)).abs(), (var - lq.variance(1.0)).abs()];
        }
    }
    eprintln!("3D LQ errors [nx][axis][mean, variance]: {errors:?}");
    for d in 0..3 {
        for (q, name) in ["mean", "variance"].iter().enumerate() {
            let e: Vec<f64> = errors.iter().map(|e| e[d][q]).collect();
            let orders: Vec<f64> = e.windows(2).map(|w| (w[0] / w[1]).log2()).collect();
            assert!(
                orders.iter().all(|&p| p >= 0.8),
                "axis {d} {name}: errors {e:?}, orders {orders:?}"
            );
        }
    }
}

/// Data symmetric under every permutation of the axes, with crowd aversion.
fn symmetric(boundary: Boundary) -> Problem {
    let grid = Grid::cuboid([0.0, 1.0], 12, [0.0, 1.0], 12, [0.0, 1.0], 12, boundary).unwrap();
    Problem::builder(grid, TimeGrid::new(0.5, 10).unwrap())
        .sigma(0.3)
        .coupling(Coupling::Linear { strength: 0.3 })
        .potential_fn(|p| p.iter().map(|v| (v - 0.5).powi(2)).sum())
        .terminal_cost_fn(|p| {
            (p[0] - p[1]).powi(2)
                + (p[1] - p[2]).powi(2)
                + (p[0] - p[2]).powi(2)
                + (p[0] + p[1] + p[2] - 1.2).powi(2)
        })
        .initial_density_fn(|p| {
            (-30.0 * p.iter().map(|v| (v - 0.3).powi(2)).sum::<f64>()).exp()
                + (-30.0 * p.iter().map(|v| (v - 0.7).powi(2)).sum::<f64>()).exp()
        })
        .build()
        .unwrap()
}

#[test]
fn mass_and_positivity_hold_for_both_walls_in_3d() {
    assert_mass_and_positivity_for_both_walls(symmetric);
}

#[test]
fn data_symmetric_under_permuting_the_axes_give_a_symmetric_solution() {
    let p = symmetric(Boundary::NoFlux);
    let sol = solve(&p, 1e-10);
    // A cyclic permutation and a transposition generate all six.
    assert_symmetric(&p, &sol, |i| vec![i[1], i[2], i[0]]);
    assert_symmetric(&p, &sol, |i| vec![i[1], i[0], i[2]]);
}

#[test]
fn particles_in_3d_give_the_same_output_for_one_and_two_threads() {
    let p = symmetric(Boundary::NoFlux);
    let g = p.grid();
    // u = −0.5 (x + y + z): the drift pushes the crowd towards (1, 1, 1).
    let u = Array2::from_shape_fn((p.time().levels(), g.len()), |(_, i)| {
        -0.5 * g.point(i).iter().sum::<f64>()
    });
    let settings = ParticleSettings {
        particles: 40_000,
        seed: 7,
        ..Default::default()
    };
    let run = |threads: usize| {
        on_threads(threads, || {
            let mut m = Array2::zeros(u.raw_dim());
            let stats = ParticleFp::new(settings)
                .unwrap()
                .solve_into(&p, u.view(), m.view_mut())
                .unwrap();
            assert!(stats.max_mass_drift < 1e-12, "{stats:?}");
            m
        })
    };
    let (one, two) = (run(1), run(2));
    assert!(one
        .iter()
        .zip(&two)
        .all(|(a, b)| a.to_bits() == b.to_bits()));
    // The drift moved the crowd: the mean of every coordinate grew.
    let last = one.row(p.time().nt());
    for d in 0..3 {
        let (m0, _) = moments(g, p.initial_density(), d);
        let (m1, _) = moments(g, last.as_slice().unwrap(), d);
        assert!(m1 > m0 + 0.1, "axis {d}: mean {m0} -> {m1}");
        assert!(one.iter().all(|&v| v >= 0.0));
    }
}

#[test]
fn fdm_solves_are_the_same_bits_on_any_number_of_threads() {
    // 41³ = 68,921 points: above the size from which the kernels (dot products, matrix
    // products, ADI line batches) split their work across the pool.
    let lq = LqGaussian {
        domain: [-2.2, 2.8],
        ..Default::default()
    };
    let p = lq.problem_in(3, 40, 3);
    assert!(p.grid().len() >= mfg_rs::core::linalg::kernels::PARALLEL_MIN);
    let settings = mfg_rs::core::IterationSettings {
        max_iterations: 3,
        anderson_depth: 5,
        ..Default::default()
    };
    let run = |threads: usize| on_threads(threads, || common::run(&p, settings.clone()));
    let (one, two, three) = (run(1), run(2), run(3));
    for other in [&two, &three] {
        for (a, b) in [(&one.u, &other.u), (&one.m, &other.m)] {
            assert!(a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()));
        }
    }
    assert_eq!(one.iterations(), 3);
}
