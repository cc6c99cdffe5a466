//! The particle FP in two dimensions: exact mass and positivity for both walls, a drift that
//! moves the crowd, the initial sampling against m0, and bitwise independence of the thread
//! count.

mod common;

use fp_solver::{ParticleFp, ParticleSettings};
use mfg_core::{Boundary, FpSolver, Grid, Problem, TimeGrid};
use ndarray::Array2;

/// A crowd at (0.3, 0.4) with no-flux walls; at (0.05, 0.05), across the seams, when periodic.
fn problem(b: Boundary) -> Problem {
    let grid = Grid::rectangle([0.0, 1.0], 40, [0.0, 1.0], 30, b).unwrap();
    let c = if b == Boundary::NoFlux {
        [0.3, 0.4]
    } else {
        [0.05, 0.05]
    };
    Problem::builder(grid, TimeGrid::new(0.5, 25).unwrap())
        .sigma(0.2)
        .initial_density_fn(move |p| {
            let wrap = |d: f64| {
                if b == Boundary::Periodic {
                    d - d.round()
                } else {
                    d
                }
            };
            (-60.0 * (wrap(p[0] - c[0]).powi(2) + wrap(p[1] - c[1]).powi(2))).exp()
        })
        .build()
        .unwrap()
}

/// With no-flux walls u = −0.6 (x + y/2): the optimal drift −∇u = (0.6, 0.3) pushes the crowd
/// up and right. Periodic: u = 0 (a linear u is not periodic), pure diffusion.
fn drift_u(p: &Problem) -> Array2<f64> {
    let g = p.grid();
    let levels = p.time().levels();
    let slope = if g.boundary() == Boundary::NoFlux {
        0.6
    } else {
        0.0
    };
    Array2::from_shape_fn((levels, g.len()), |(_, i)| {
        let q = g.point(i);
        -slope * (q[0] + 0.5 * q[1])
    })
}

fn moments(p: &Problem, row: &[f64]) -> [f64; 5] {
    let g = p.grid();
    let w = g.weights();
    let (mut mass, mut mx, mut my) = (0.0, 0.0, 0.0);
    for i in 0..g.len() {
        mass += w[i] * row[i];
        mx += w[i] * row[i] * g.point(i)[0];
        my += w[i] * row[i] * g.point(i)[1];
    }
    let (mut vx, mut vy) = (0.0, 0.0);
    for i in 0..g.len() {
        vx += w[i] * row[i] * (g.point(i)[0] - mx).powi(2);
        vy += w[i] * row[i] * (g.point(i)[1] - my).powi(2);
    }
    [mass, mx, my, vx, vy]
}

#[test]
fn mass_is_exact_density_nonnegative_and_the_drift_moves_the_crowd() {
    for (b, p, m) in common::densities_for_both_walls(problem, drift_u, 20_000) {
        // No-flux: drift (0.6, 0.3) for T = 0.5 moves the centre from (0.3, 0.4) to
        // (0.6, 0.55). Periodic: the crowd at (0.05, 0.05) spreads across both seams and its
        // circular mean stays put.
        let g = p.grid();
        let row = m.row(25);
        let centre = |d: usize| {
            let (mut s, mut c) = (0.0, 0.0);
            for i in 0..g.len() {
                let a = 2.0 * std::f64::consts::PI * g.point(i)[d];
                s += g.weights()[i] * row[i] * a.sin();
                c += g.weights()[i] * row[i] * a.cos();
            }
            s.atan2(c).rem_euclid(2.0 * std::f64::consts::PI) / (2.0 * std::f64::consts::PI)
        };
        let (mx, my) = if b == Boundary::NoFlux {
            let [_, mx, my, ..] = moments(&p, row.as_slice().unwrap());
            (mx, my)
        } else {
            (centre(0), centre(1))
        };
        let want = if b == Boundary::NoFlux {
            [0.6, 0.55]
        } else {
            [0.05, 0.05]
        };
        assert!(
            (mx - want[0]).abs() < 0.01 && (my - want[1]).abs() < 0.01,
            "{b:?}: ({mx}, {my}) vs {want:?}"
        );
    }
}

#[test]
fn initial_sampling_reproduces_the_moments_of_m0() {
    // With no drift and a tiny time step, the first level's KDE is m0's sample: its mean
    // matches m0's, and its variance m0's plus the hat jitter dx²/6 and the kernel h².
    let grid = Grid::rectangle([0.0, 1.0], 50, [0.0, 1.0], 50, Boundary::NoFlux).unwrap();
    let p = Problem::builder(grid, TimeGrid::new(1e-8, 1).unwrap())
        .sigma(0.0)
        .initial_density_fn(|q| (-40.0 * ((q[0] - 0.45).powi(2) + (q[1] - 0.6).powi(2))).exp())
        .build()
        .unwrap();
    let u = Array2::zeros((2, p.grid().len()));
    let mut m = Array2::zeros((2, p.grid().len()));
    let mut fp = ParticleFp::new(ParticleSettings {
        particles: 200_000,
        bandwidth: fp_solver::Bandwidth::Fixed(0.02),
        ..Default::default()
    })
    .unwrap();
    fp.solve_into(&p, u.view(), m.view_mut()).unwrap();
    let exact = moments(&p, m.row(0).as_slice().unwrap());
    let got = moments(&p, m.row(1).as_slice().unwrap());
    let extra = 0.02f64 * 0.02 + 0.02 * 0.02 / 6.0 + 0.02 * 0.02 / 6.0;
    for d in 1..3 {
        assert!(
            (got[d] - exact[d]).abs() < 2e-3,
            "mean {d}: {got:?} vs {exact:?}"
        );
    }
    for d in 3..5 {
        let want = exact[d] + extra;
        assert!(
            (got[d] - want).abs() < 0.05 * want,
            "variance {d}: {} vs {want}",
            got[d]
        );
    }
    // The particles themselves: interleaved (x, y) with the same mean.
    let xs = fp.positions();
    assert_eq!(xs.len(), 400_000);
    let mx = xs.iter().step_by(2).sum::<f64>() / 200_000.0;
    assert!((mx - exact[1]).abs() < 2e-3, "particle mean {mx}");
}

#[test]
fn same_seed_same_output_for_one_and_two_threads() {
    let p = problem(Boundary::NoFlux);
    common::assert_seed_determines_output(&p, &drift_u(&p), 7);
}
