//! The finite-difference solvers in two dimensions: the separable LQ game against its exact
//! solution, mass and positivity for both walls, and x ↔ y symmetry.

mod common;

use common::{assert_mass_and_positivity_for_both_walls, assert_symmetric, rel_l2, solve};
use mfg_rs::core::{
    Boundary, Coupling, FixedPointIterator, Grid, IterationSettings, Problem, TimeGrid,
};
use mfg_rs::fp::FdmFp;
use mfg_rs::hjb::FdmHjb;
use mfg_test_problems::LqGaussian;

fn orders(e: &[f64]) -> Vec<f64> {
    e.windows(2).map(|w| (w[0] / w[1]).log2()).collect()
}

#[test]
fn separable_lq_game_converges_at_first_order_in_moments_and_u() {
    // [−3, 3.5]²: the Gaussians stay > 4 standard deviations from the walls.
    let lq = LqGaussian {
        domain: [-3.0, 3.5],
        ..Default::default()
    };
    let (mut e_mean, mut e_var, mut e_u) = (vec![], vec![], vec![]);
    for nx in [52, 104, 208] {
        let nt = nx / 4;
        let p = lq.problem_2d(nx, nt);
        let sol = solve(&p, 1e-8);
        let g = p.grid();
        let w = g.weights();
        let row = sol.m.row(nt);
        let (mut mx, mut my) = (0.0, 0.0);
        for i in 0..g.len() {
            mx += w[i] * row[i] * g.point(i)[0];
            my += w[i] * row[i] * g.point(i)[1];
        }
        let vx: f64 = (0..g.len())
            .map(|i| w[i] * row[i] * (g.point(i)[0] - mx).powi(2))
            .sum();
        assert!((mx - my).abs() < 1e-12, "x and y moments differ: {mx} {my}");
        let mut eu: f64 = 0.0;
        for k in 0..=nt {
            let t = p.time().t(k);
            for i in 0..g.len() {
                let q = g.point(i);
                if lq.m_2d(t, q[0], q[1]) > 1e-3 {
                    eu = eu.max((sol.u[[k, i]] - lq.u_2d(t, q[0], q[1])).abs());
                }
            }
        }
        e_mean.push((mx - lq.mean(1.0)).abs());
        e_var.push((vx - lq.variance(1.0)).abs());
        e_u.push(eu);
    }
    eprintln!("2D LQ: mean {e_mean:?}, var {e_var:?}, u {e_u:?}");
    for (name, e) in [("mean", &e_mean), ("variance", &e_var), ("u", &e_u)] {
        let p = orders(e);
        assert!(p.iter().all(|&q| q >= 0.8), "{name}: orders {p:?} ({e:?})");
    }
}

/// Data symmetric under x ↔ y (and under each reflection), with crowd aversion.
fn symmetric(boundary: Boundary) -> Problem {
    let grid = Grid::rectangle([0.0, 1.0], 30, [0.0, 1.0], 30, boundary).unwrap();
    Problem::builder(grid, TimeGrid::new(0.5, 20).unwrap())
        .sigma(0.3)
        .coupling(Coupling::Linear { strength: 0.3 })
        .potential_fn(|p| (p[0] - 0.5).powi(2) + (p[1] - 0.5).powi(2))
        .terminal_cost_fn(|p| (p[0] - p[1]).powi(2) + (p[0] + p[1] - 1.0).powi(2))
        .initial_density_fn(|p| {
            (-40.0 * ((p[0] - 0.3).powi(2) + (p[1] - 0.3).powi(2))).exp()
                + (-40.0 * ((p[0] - 0.7).powi(2) + (p[1] - 0.7).powi(2))).exp()
        })
        .build()
        .unwrap()
}

#[test]
fn mass_and_positivity_hold_for_both_walls_in_2d() {
    assert_mass_and_positivity_for_both_walls(symmetric);
}

#[test]
fn data_symmetric_under_swapping_x_and_y_give_a_symmetric_solution() {
    let p = symmetric(Boundary::NoFlux);
    assert_symmetric(&p, &solve(&p, 1e-10), |i| vec![i[1], i[0]]);
}

#[test]
fn inexact_inner_solves_reach_the_same_solution_in_as_many_iterations() {
    // The crowd-2d preset on a coarser grid, converged to 1e-8 with inner solves to round-off
    // (inner_accuracy = 0) and with inner solves to 0.1 % of the current residual (default).
    let sets = [
        "preset=crowd-2d",
        "grid.nx=39",
        "grid.ny=39",
        "grid.nt=20",
        "iteration.tolerance=1e-8",
    ]
    .map(String::from);
    let p = mfg_cli::config::resolve(None, &sets)
        .unwrap()
        .problem()
        .unwrap();
    let run = |inner_accuracy: f64| {
        let settings = IterationSettings {
            tolerance: 1e-8,
            anderson_depth: 5,
            inner_accuracy,
            ..Default::default()
        };
        let (mut hjb, mut fp) = (FdmHjb::default(), FdmFp::new());
        let sol = FixedPointIterator::new(settings)
            .unwrap()
            .solve(&p, &mut hjb, &mut fp)
            .unwrap();
        assert!(sol.converged(), "inner_accuracy {inner_accuracy}: {sol}");
        sol
    };
    let exact = run(0.0);
    let inexact = run(1e-3);
    let (du, dm) = (rel_l2(&inexact.u, &exact.u), rel_l2(&inexact.m, &exact.m));
    // Both are within the tolerance of the fixed point (measured: 2.4e-10 and 4.6e-10).
    assert!(du < 1e-8 && dm < 1e-8, "u differs by {du:e}, m by {dm:e}");
    assert!(
        inexact.iterations() <= exact.iterations() + 1,
        "{} inexact vs {} exact iterations",
        inexact.iterations(),
        exact.iterations()
    );
}
