//! Exits and obstacles (`Grid::with_geometry`): a manufactured solution with an exit (Dirichlet
//! `u`, absorbed `m`) converging at order ≥ 0.8 in u and m, the mass balance
//! `in the domain + exited = 1` on every level, positivity, the symmetry of a symmetric room,
//! and Newton, Anderson and Picard on one fixed point.

mod common;

use std::f64::consts::PI;

use mfg_rs::core::{
    Boundary, Coupling, Forcing, Grid, IterationMethod, IterationSettings, MfgSolution, PointKind,
    Problem, TimeGrid,
};
use ndarray::Array2;

/// A corridor [0, 1] with a wall at 0 and an exit at 1, `n` intervals.
fn corridor(n: usize) -> Grid {
    let g = Grid::line(0.0, 1.0, n, Boundary::NoFlux).unwrap();
    let mut kinds = vec![PointKind::Open; g.len()];
    kinds[n] = PointKind::Exit;
    g.with_geometry(kinds).unwrap()
}

/// The manufactured solution on the corridor, T = 1, σ = 0.6, H = p²/2, F = m:
/// `u* = (2 − t) cos(πx/2)` (0 at the exit, ∂x u* = 0 at the wall),
/// `m* = (1 + t) (π/2) cos(πx/2)` (unit mass at t = 0) (0 at the exit: absorbed; no flux at the wall). The sources make
/// them exact: `f_hjb = −∂t u* − ν u*_xx + |u*_x|²/2 − m*`, `f_fp = ∂t m* − ν m*_xx − (m* u*_x)_x`.
struct Manufactured {
    nu: f64,
}

impl Manufactured {
    const T: f64 = 1.0;
    const K: f64 = PI / 2.0;

    fn u(&self, t: f64, x: f64) -> f64 {
        (2.0 - t) * (Self::K * x).cos()
    }

    fn m(&self, t: f64, x: f64) -> f64 {
        (1.0 + t) * Self::K * (Self::K * x).cos()
    }

    fn hjb_source(&self, t: f64, x: f64) -> f64 {
        let (c, s, k) = ((Self::K * x).cos(), (Self::K * x).sin(), Self::K);
        let ux = -(2.0 - t) * k * s;
        let uxx = -(2.0 - t) * k * k * c;
        c - self.nu * uxx + 0.5 * ux * ux - self.m(t, x)
    }

    fn fp_source(&self, t: f64, x: f64) -> f64 {
        let (c, k) = ((Self::K * x).cos(), Self::K);
        let (a, b) = (2.0 - t, (1.0 + t) * k);
        // m u_x = −a b k c s = −(a b k / 2) sin(2kx); its x-derivative −a b k² cos(2kx).
        let flux_x = -a * b * k * k * (2.0 * k * x).cos();
        k * c + self.nu * b * k * k * c - flux_x
    }

    fn problem(&self, n: usize, nt: usize) -> Problem {
        let grid = corridor(n);
        let time = TimeGrid::new(Self::T, nt).unwrap();
        let levels = time.levels();
        let xs: Vec<f64> = grid.coordinates().map(|x| x[0]).collect();
        let field = |f: &dyn Fn(f64, f64) -> f64| {
            Array2::from_shape_fn((levels, xs.len()), |(k, i)| f(time.t(k), xs[i]))
        };
        Problem::builder(grid, time)
            .sigma((2.0 * self.nu).sqrt())
            .coupling(Coupling::Linear { strength: 1.0 })
            .terminal_cost_fn(|x| self.u(Self::T, x[0]))
            .initial_density_fn(|x| self.m(0.0, x[0]))
            .forcing(Forcing {
                hjb: field(&|t, x| self.hjb_source(t, x)),
                fp: field(&|t, x| self.fp_source(t, x)),
            })
            .build()
            .unwrap()
    }
}

/// Max-norm errors over every level and point of the domain.
fn errors(p: &Problem, sol: &MfgSolution, ex: &Manufactured) -> [f64; 2] {
    let g = p.grid();
    let (mut eu, mut em) = (0.0_f64, 0.0_f64);
    for k in 0..p.time().levels() {
        let t = p.time().t(k);
        for i in 0..g.len() {
            let x = g.point(i)[0];
            eu = eu.max((sol.u[[k, i]] - ex.u(t, x)).abs());
            em = em.max((sol.m[[k, i]] - ex.m(t, x)).abs());
        }
    }
    [eu, em]
}

#[test]
fn an_exit_with_dirichlet_data_converges_at_first_order_in_u_and_m() {
    let ex = Manufactured { nu: 0.18 };
    let errs: Vec<[f64; 2]> = [40, 80, 160]
        .iter()
        .map(|&n| {
            let p = ex.problem(n, n);
            let sol = common::solve(&p, 1e-11);
            errors(&p, &sol, &ex)
        })
        .collect();
    let orders: Vec<[f64; 2]> = errs
        .windows(2)
        .map(|w| [(w[0][0] / w[1][0]).log2(), (w[0][1] / w[1][1]).log2()])
        .collect();
    eprintln!("exit manufactured: errors {errs:?}, orders {orders:.3?}");
    for o in orders.iter().flatten() {
        assert!(*o >= 0.8, "orders {orders:?}, errors {errs:?}");
    }
}

/// A room [0, 1]² with walls, two doors in its top wall (|x − 1/2| in (0.19, 0.34))
/// and a round obstacle (centre (0.5, 0.62), radius 0.13) between the crowd (around
/// (0.5, 0.3)) and the doors: symmetric about x = 1/2. Running cost 1 (time spent inside) +
/// 2 m (aversion), terminal cost 3 (still inside at T), exits u = 0.
fn room(n: usize, nt: usize) -> Problem {
    let g = Grid::rectangle([0.0, 1.0], n, [0.0, 1.0], n, Boundary::NoFlux).unwrap();
    // The distance to the middle from the indices, so that mirror points see the same bits.
    let kinds = (0..g.len())
        .map(|a| {
            let (i, j) = (g.axis_index(a, 0), g.axis_index(a, 1));
            let r = (i as f64 - 0.5 * n as f64).abs() / n as f64;
            let y = j as f64 / n as f64;
            if j == n && r > 0.19 && r < 0.34 {
                PointKind::Exit
            } else if r * r + (y - 0.62).powi(2) < 0.13f64.powi(2) {
                PointKind::Solid
            } else {
                PointKind::Open
            }
        })
        .collect();
    let grid = g.with_geometry(kinds).unwrap();
    Problem::builder(grid, TimeGrid::new(1.0, nt).unwrap())
        .sigma(0.3)
        .coupling(Coupling::Linear { strength: 2.0 })
        .potential_fn(|_| 1.0)
        .terminal_cost_fn(|_| 3.0)
        .initial_density_fn(|x| (-40.0 * ((x[0] - 0.5).powi(2) + (x[1] - 0.3).powi(2))).exp())
        .build()
        .unwrap()
}

/// In the domain plus exited is 1 to 1e-12 on every level, m ≥ 0, m = 0 at exits and
/// obstacles, and the exited mass never decreases.
fn assert_mass_balance(p: &Problem, sol: &MfgSolution, label: &str) {
    let g = p.grid();
    assert_eq!(sol.mass_exited.len(), p.time().levels(), "{label}");
    for (k, row) in sol.m.rows().into_iter().enumerate() {
        let inside = g.integrate(row.as_slice().unwrap());
        let total = inside + sol.mass_exited[k];
        assert!((total - 1.0).abs() < 1e-12, "{label}: level {k}: {total}");
        assert!(row.iter().all(|&v| v >= 0.0), "{label}: m < 0 at level {k}");
        for &i in g.fixed_points() {
            assert_eq!(row[i], 0.0, "{label}: m at a fixed point");
        }
    }
    assert_eq!(sol.mass_exited[0], 0.0);
    assert!(
        sol.mass_exited.windows(2).all(|w| w[1] >= w[0] - 1e-15),
        "{label}: exited mass decreases"
    );
}

/// The corridor without sources, `n` intervals and `n / 2` steps to T = 1: a crowd around
/// `start` pays 1 per unit of time inside, m for crowding and 2 if still inside at T.
fn leaving_crowd(n: usize, sigma: f64, start: f64) -> Problem {
    Problem::builder(corridor(n), TimeGrid::new(1.0, n / 2).unwrap())
        .sigma(sigma)
        .coupling(Coupling::Linear { strength: 1.0 })
        .potential_fn(|_| 1.0)
        .terminal_cost_fn(|_| 2.0)
        .initial_density_fn(|x| (-50.0 * (x[0] - start).powi(2)).exp())
        .build()
        .unwrap()
}

#[test]
fn the_mass_that_left_and_the_mass_inside_add_up_to_one_on_every_level() {
    let p = leaving_crowd(100, 0.2, 0.3);
    let sol = common::solve(&p, 1e-10);
    assert_mass_balance(&p, &sol, "corridor");
    let left = *sol.mass_exited.last().unwrap();
    assert!(left > 0.5, "most of the crowd leaves: {left}");
    // The room, 2D (BiCGSTAB and the projection of inexact solves).
    let p = room(30, 20);
    let sol = common::solve(&p, 1e-8);
    assert_mass_balance(&p, &sol, "room");
    assert!(
        *sol.mass_exited.last().unwrap() > 0.3,
        "{:?}",
        sol.mass_exited
    );
}

#[test]
fn a_symmetric_room_with_symmetric_doors_has_a_symmetric_solution() {
    let p = room(40, 20);
    // To 1e-10: below that the coupling residual sits at the inner solves' own accuracy
    // (Newton 1e-11, BiCGSTAB 1e-11), and whether the iteration creeps under 1e-11 depends on
    // round-off.
    let sol = common::solve(&p, 1e-10);
    let n = p.grid().axis(0).intervals();
    common::assert_symmetric(&p, &sol, |idx| vec![n - idx[0], idx[1]]);
    // Not trivially symmetric: the crowd moves, and it has left by both doors.
    assert!(*sol.mass_exited.last().unwrap() > 0.3);
}

#[test]
fn newton_anderson_and_picard_find_the_same_fixed_point_with_an_exit() {
    let p = leaving_crowd(80, 0.3, 0.4);
    let run = |method, anderson_depth| {
        let s = IterationSettings {
            method,
            anderson_depth,
            tolerance: 1e-10,
            max_iterations: 500,
            ..Default::default()
        };
        let sol = common::run(&p, s);
        assert!(sol.converged(), "{method:?}: {sol}");
        sol
    };
    let newton = run(IterationMethod::Newton, 0);
    let anderson = run(IterationMethod::FixedPoint, 5);
    let picard = run(IterationMethod::FixedPoint, 0);
    for other in [&anderson, &picard] {
        assert!(common::rel_l2(&other.m, &newton.m) < 1e-7);
        assert!(common::rel_l2(&other.u, &newton.u) < 1e-7);
        let gap = (other.mass_exited[40] - newton.mass_exited[40]).abs();
        assert!(gap < 1e-8, "{gap}");
    }
    assert!(
        newton.iterations() < anderson.iterations(),
        "{newton}\n{anderson}"
    );
}

#[test]
fn particles_never_enter_an_obstacle_and_leave_through_the_doors() {
    use mfg_rs::core::FpSolver;
    use mfg_rs::fp::{ParticleFp, ParticleSettings};
    let p = room(30, 20);
    let fdm = common::solve(&p, 1e-8);
    let mut fp = ParticleFp::new(ParticleSettings {
        particles: 20_000,
        ..Default::default()
    })
    .unwrap()
    .record_positions();
    let mut m = Array2::zeros(fdm.u.raw_dim());
    fp.solve_into(&p, fdm.u.view(), m.view_mut()).unwrap();
    let g = p.grid();
    let levels = fp.recorded_positions();
    assert_eq!(levels.len(), p.time().levels());
    let dx = g.axis(0).dx();
    for (k, pos) in levels.iter().enumerate() {
        let mut gone = 0;
        for q in pos.chunks_exact(2) {
            if q[0].is_nan() {
                gone += 1;
                continue;
            }
            // The nearest node of every particle inside is not in an obstacle (whose cell is
            // the half step around its solid nodes).
            let idx: Vec<usize> = q.iter().map(|x| (x / dx + 0.5).floor() as usize).collect();
            let kind = g.kind(g.flat_index(&idx));
            assert_ne!(kind, PointKind::Solid, "level {k}: a particle at {q:?}");
        }
        // The density: inside + exited (held at the exit nodes during the solve) is 1.
        let total = g.integrate(m.row(k).as_slice().unwrap());
        assert!((total - 1.0).abs() < 1e-12, "level {k}: {total}");
        // What has left: at least the particles wholly gone (the others may have lost part
        // of their weight where their paths may have crossed a door).
        let held = g.exit_mass(m.row(k).as_slice().unwrap());
        assert!(held >= gone as f64 / 20_000.0 - 1e-12, "level {k}: {held}");
    }
    // Through both doors, as many as the finite-difference solution lets out.
    let share = g.exit_mass(m.row(p.time().nt()).as_slice().unwrap());
    let fdm_share = fdm.mass_exited.last().unwrap();
    assert!((share - fdm_share).abs() < 0.05, "{share} vs {fdm_share}");
    let held = |left: bool| -> f64 {
        let row = m.row(p.time().nt());
        g.exit_points()
            .iter()
            .filter(|&&i| (g.point(i)[0] < 0.5) == left)
            .map(|&i| g.weights()[i] * row[i])
            .sum()
    };
    let (left, right) = (held(true), held(false));
    assert!(
        (left - right).abs() < 0.2 * (left + right),
        "{left} vs {right}"
    );
}

/// A channel: periodic in x, walls in y. Data that depend on y only give, at every x, the
/// 1D solution with walls; data that depend on x only give, at every y, the 1D periodic one
/// (the per-axis walls of `Grid::tensor`: Laplacian, upwind rates, the sparse matrix and its
/// ADI lines, the FFT of a nonlocal cost).
#[test]
fn a_channel_reduces_to_its_one_dimensional_problems() {
    let build = |grid: Grid, f: &dyn Fn(&[f64]) -> f64, m0: &dyn Fn(&[f64]) -> f64| {
        Problem::builder(grid, TimeGrid::new(0.5, 20).unwrap())
            .sigma(0.4)
            .coupling(Coupling::Linear { strength: 1.0 })
            .terminal_cost_fn(f)
            .initial_density_fn(m0)
            .build()
            .unwrap()
    };
    let (nx, ny) = (24, 30);
    let channel = Grid::tensor(&[
        ([0.0, 1.0], nx, Boundary::Periodic),
        ([0.0, 1.0], ny, Boundary::NoFlux),
    ])
    .unwrap();
    assert!(channel.is_mixed());
    let g_y = |x: &[f64]| (x[x.len() - 1] - 0.8).powi(2);
    let m_y = |x: &[f64]| (-20.0 * (x[x.len() - 1] - 0.3).powi(2)).exp();
    let g_x = |x: &[f64]| (2.0 * PI * x[0]).sin();
    let m_x = |x: &[f64]| 1.0 + 0.5 * (2.0 * PI * x[0]).cos();
    for (label, f, m0, line) in [
        (
            "walls in y",
            &g_y as &dyn Fn(&[f64]) -> f64,
            &m_y as &dyn Fn(&[f64]) -> f64,
            Grid::line(0.0, 1.0, ny, Boundary::NoFlux).unwrap(),
        ),
        (
            "periodic in x",
            &g_x,
            &m_x,
            Grid::line(0.0, 1.0, nx, Boundary::Periodic).unwrap(),
        ),
    ] {
        let two = common::solve(&build(channel.clone(), f, m0), 1e-11);
        let one = common::solve(&build(line.clone(), f, m0), 1e-11);
        let (mut du, mut dm) = (0.0_f64, 0.0_f64);
        for k in 0..21 {
            for i in 0..channel.len() {
                let j = if label == "walls in y" {
                    channel.axis_index(i, 1)
                } else {
                    channel.axis_index(i, 0)
                };
                du = du.max((two.u[[k, i]] - one.u[[k, j]]).abs());
                dm = dm.max((two.m[[k, i]] - one.m[[k, j]]).abs());
            }
        }
        eprintln!("{label}: u {du:e}, m {dm:e}");
        assert!(du < 1e-7 && dm < 1e-7, "{label}: u {du:e}, m {dm:e}");
        // The same with WENO (each axis its own ghosts) and the FDM FP, against the same 2D
        // grid with the walls of the axis the data depend on everywhere (WENO's sub-steps
        // depend on the dimension, so not against the 1D solve).
        let weno = |p: &Problem| {
            let settings = IterationSettings {
                tolerance: 1e-10,
                anderson_depth: 5,
                ..Default::default()
            };
            let mut hjb = mfg_rs::hjb::WenoHjb::new(Default::default()).unwrap();
            mfg_rs::core::FixedPointIterator::new(settings)
                .unwrap()
                .solve(p, &mut hjb, &mut mfg_rs::fp::FdmFp::new())
                .unwrap()
        };
        let walls = if label == "walls in y" {
            Boundary::NoFlux
        } else {
            Boundary::Periodic
        };
        let uniform = Grid::tensor(&[([0.0, 1.0], nx, walls), ([0.0, 1.0], ny, walls)]).unwrap();
        let (a, b) = (
            weno(&build(channel.clone(), f, m0)),
            weno(&build(uniform.clone(), f, m0)),
        );
        // The points both grids have (a periodic axis has no last point).
        let mut du = 0.0_f64;
        for i in 0..channel.len() {
            let idx = [channel.axis_index(i, 0), channel.axis_index(i, 1)];
            if idx[1] < uniform.axis(1).len() {
                let j = uniform.flat_index(&idx);
                for k in 0..21 {
                    du = du.max((a.u[[k, i]] - b.u[[k, j]]).abs());
                }
            }
        }
        assert!(du < 1e-9, "{label}, WENO: u {du:e}");
        drop(line);
    }
}
