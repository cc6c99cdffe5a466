//! The multi-dimensional branch of `FdmHjb`: the same scheme, with the Newton systems on the
//! grid's sparse 5-point pattern solved by BiCGSTAB, preconditioned by ADI line solves
//! (no-flux walls) or ILU(0) (periodic), see `FdmHjb::with_preconditioner`.

use ndarray::{ArrayView2, ArrayViewMut2};
use tracing::trace;

use mfg_core::sparse::{BiCgStab, GridMatrix, Preconditioner};
use mfg_core::upwind::upwind_rates_grid;
use mfg_core::{HjbStats, Problem, SolveError};

use crate::fdm::NewtonSettings;

/// Bounds of the relative tolerance of the Newton linear solves. Inexact Newton: each solve
/// only needs to bring the linearised residual 10× under the Newton target, so the tolerance is
/// `0.1 · target / ‖G‖`, clamped to these bounds; the nonlinear residual decides convergence.
const LINEAR_TOL_MIN: f64 = 1e-12;
const LINEAR_TOL_MAX: f64 = 1e-2;
const LINEAR_MAX_ITER: usize = 1000;

#[derive(Debug, Clone)]
pub(crate) struct NdWork {
    n: usize,
    to_prev: Vec<Vec<f64>>,
    to_next: Vec<Vec<f64>>,
    ham: Vec<f64>,
    cost: Vec<f64>,
    u_next: Vec<f64>,
    rhs: Vec<f64>,
    step: Vec<f64>,
    matrix: GridMatrix,
    solver: BiCgStab,
    previous: Vec<f64>,
    pub(crate) warm: bool,
}

impl NdWork {
    pub(crate) fn new(problem: &Problem, precond: Preconditioner) -> Self {
        let grid = problem.grid();
        let n = grid.len();
        let matrix = GridMatrix::new(grid);
        let nnz = matrix.nnz();
        Self {
            n,
            to_prev: vec![vec![0.0; n]; grid.dim()],
            to_next: vec![vec![0.0; n]; grid.dim()],
            ham: vec![0.0; n],
            cost: vec![0.0; n],
            u_next: vec![0.0; n],
            rhs: vec![0.0; n],
            step: vec![0.0; n],
            solver: BiCgStab::new(n, precond, nnz),
            matrix,
            previous: vec![0.0; problem.time().levels() * n],
            warm: false,
        }
    }

    pub(crate) fn fits(&self, problem: &Problem, precond: Preconditioner) -> bool {
        self.solver.preconditioner() == precond && self.fits_problem(problem)
    }

    fn fits_problem(&self, problem: &Problem) -> bool {
        self.n == problem.grid().len()
            && self.to_prev.len() == problem.grid().dim()
            && self.previous.len() == problem.time().levels() * self.n
    }
}

pub(crate) fn solve(
    settings: &NewtonSettings,
    w: &mut NdWork,
    problem: &Problem,
    m: ArrayView2<'_, f64>,
    mut u: ArrayViewMut2<'_, f64>,
) -> Result<HjbStats, SolveError> {
    let grid = problem.grid();
    let n = grid.len();
    let nt = problem.time().nt();
    let dt = problem.time().dt();
    let nu = problem.nu();
    let h = problem.hamiltonian();
    let mut stats = HjbStats::default();
    u.row_mut(nt)
        .as_slice_mut()
        .expect("contiguous row")
        .copy_from_slice(problem.terminal_cost());
    for k in (0..nt).rev() {
        let previous = w.warm.then_some(&w.previous[k * n..(k + 1) * n]);
        crate::fdm::start_level(problem, k, m, &mut u, previous, &mut w.cost, &mut w.u_next);
        let mut row = u.row_mut(k);
        let uk = row.as_slice_mut().expect("contiguous row");
        let mut iterations = 0;
        loop {
            upwind_rates_grid(
                grid,
                nu,
                h,
                uk,
                &mut w.to_prev,
                &mut w.to_next,
                Some(&mut w.ham),
            );
            // −G(u) with ν Δu − H = Σ_d Σ_± rate (u_nb − u) + H.
            let (mut gmax, mut umax) = (0.0_f64, 0.0_f64);
            for i in 0..n {
                let mut lu = 0.0;
                for d in 0..grid.dim() {
                    let (l, r) = grid.neighbours(i, d);
                    lu += w.to_prev[d][i] * (uk[l] - uk[i]) + w.to_next[d][i] * (uk[r] - uk[i]);
                }
                let g = uk[i] - w.u_next[i] - dt * (lu + w.ham[i] + w.cost[i]);
                w.rhs[i] = -g;
                gmax = gmax.max(g.abs());
                umax = umax.max(uk[i].abs());
            }
            let Some(target) = settings.check(k, iterations, gmax, umax, uk)? else {
                break;
            };
            let linear_tol = (0.1 * target / gmax).clamp(LINEAR_TOL_MIN, LINEAR_TOL_MAX);
            iterations += 1;
            w.matrix.assemble(dt, &w.to_prev, &w.to_next, false);
            w.solver.prepare(&w.matrix);
            w.step.iter_mut().for_each(|v| *v = 0.0);
            let out = w
                .solver
                .solve(&w.matrix, &w.rhs, &mut w.step, linear_tol, LINEAR_MAX_ITER);
            if !out.converged {
                return Err(SolveError::LinearSolve {
                    time_level: k,
                    iterations: out.iterations,
                    residual: out.relative_residual,
                });
            }
            stats.linear_iterations += out.iterations;
            for (ui, di) in uk.iter_mut().zip(&w.step) {
                *ui += di;
            }
        }
        trace!(level = k, newton = iterations);
        stats.newton_iterations += iterations;
        stats.max_newton_per_level = stats.max_newton_per_level.max(iterations);
    }
    for (k, row) in u.rows().into_iter().enumerate() {
        w.previous[k * n..(k + 1) * n].copy_from_slice(row.as_slice().expect("contiguous row"));
    }
    w.warm = true;
    Ok(stats)
}
