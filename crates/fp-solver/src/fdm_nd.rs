//! The multi-dimensional branch of `FdmFp`: `(I − dt L(u^k)ᵀ) μ^{k+1} = μ^k` on the grid's
//! sparse pattern, solved by BiCGSTAB (ADI line solves or ILU(0) as the preconditioner, see
//! `FdmFp::with_preconditioner`) to a relative residual of 1e-11
//! (or the coarser accuracy the coupling iteration asks for), each level's solve starting from
//! the same level of the previous solve.
//!
//! An iterative solve conserves mass only up to its residual, so each step ends with a
//! projection: values below zero (round-off where m is ~0) are cut and the level is rescaled to
//! the mass the exact solve conserves (`Σ μ^k`, plus the source's mass when forced). The
//! correction is of the order of the solver tolerance; mass then holds to round-off and
//! `m ≥ 0`.

use ndarray::{ArrayView2, ArrayViewMut2};

use mfg_core::sparse::{BiCgStab, GridMatrix, Preconditioner};
use mfg_core::upwind::upwind_rates_grid;
use mfg_core::{FpStats, Problem, SolveError};

const LINEAR_TOL: f64 = 1e-11;
const LINEAR_MAX_ITER: usize = 2000;

#[derive(Debug, Clone)]
pub(crate) struct NdWork {
    n: usize,
    dim: usize,
    to_prev: Vec<Vec<f64>>,
    to_next: Vec<Vec<f64>>,
    rhs: Vec<f64>,
    mass: Vec<f64>,
    inv_weights: Vec<f64>,
    matrix: GridMatrix,
    solver: BiCgStab,
    /// The previous solve's μ on every level: the initial guess of the next solve's
    /// BiCGSTAB at the same level (successive Picard solves differ little).
    previous: Vec<f64>,
    pub(crate) warm: bool,
}

impl NdWork {
    pub(crate) fn new(problem: &Problem, precond: Preconditioner) -> Self {
        let grid = problem.grid();
        let n = grid.len();
        let dim = grid.dim();
        let matrix = GridMatrix::new(grid);
        Self {
            n,
            dim,
            to_prev: vec![vec![0.0; n]; dim],
            to_next: vec![vec![0.0; n]; dim],
            rhs: vec![0.0; n],
            mass: vec![0.0; n],
            inv_weights: grid.weights().iter().map(|w| 1.0 / w).collect(),
            solver: BiCgStab::new(n, precond, matrix.nnz()),
            matrix,
            previous: vec![0.0; problem.time().levels() * n],
            warm: false,
        }
    }

    pub(crate) fn fits(&self, problem: &Problem, precond: Preconditioner) -> bool {
        self.solver.preconditioner() == precond && self.fits_problem(problem)
    }

    fn fits_problem(&self, problem: &Problem) -> bool {
        let g = problem.grid();
        self.n == g.len()
            && self.dim == g.dim()
            && self.previous.len() == problem.time().levels() * self.n
            && self
                .inv_weights
                .iter()
                .zip(g.weights())
                .all(|(a, w)| *a == 1.0 / w)
    }
}

pub(crate) fn solve(
    w: &mut NdWork,
    problem: &Problem,
    u: ArrayView2<'_, f64>,
    mut m: ArrayViewMut2<'_, f64>,
    accuracy: Option<f64>,
) -> Result<FpStats, SolveError> {
    let n = w.n;
    let tol = LINEAR_TOL.max(accuracy.unwrap_or(0.0));
    let grid = problem.grid();
    let weights = grid.weights();
    let nt = problem.time().nt();
    let dt = problem.time().dt();
    let nu = problem.nu();
    let h = problem.hamiltonian();
    m.row_mut(0)
        .as_slice_mut()
        .expect("contiguous row")
        .copy_from_slice(problem.initial_density());
    let mass0 = grid.integrate(problem.initial_density());
    for (mu, (mi, wi)) in w
        .mass
        .iter_mut()
        .zip(problem.initial_density().iter().zip(weights))
    {
        *mu = mi * wi;
    }
    let mut stats = FpStats::default();
    for k in 0..nt {
        let uk = u.row(k);
        upwind_rates_grid(
            grid,
            nu,
            h,
            uk.as_slice().expect("contiguous row"),
            &mut w.to_prev,
            &mut w.to_next,
            None,
        );
        w.matrix.assemble(dt, &w.to_prev, &w.to_next, true);
        w.solver.prepare(&w.matrix);
        w.rhs.copy_from_slice(&w.mass);
        if let Some(fc) = problem.forcing() {
            for ((r, s), wi) in w.rhs.iter_mut().zip(fc.fp.row(k + 1)).zip(weights) {
                *r += dt * wi * s;
            }
        }
        let expected: f64 = w.rhs.iter().sum();
        // The initial guess: this level from the previous solve, else the previous level.
        if w.warm {
            w.mass
                .copy_from_slice(&w.previous[(k + 1) * n..(k + 2) * n]);
        }
        let out = w
            .solver
            .solve(&w.matrix, &w.rhs, &mut w.mass, tol, LINEAR_MAX_ITER);
        if !out.converged {
            return Err(SolveError::LinearSolve {
                time_level: k + 1,
                iterations: out.iterations,
                residual: out.relative_residual,
            });
        }
        stats.linear_iterations += out.iterations;
        w.mass.iter_mut().for_each(|v| *v = v.max(0.0));
        let got: f64 = w.mass.iter().sum();
        if !(got.is_finite()) {
            return Err(SolveError::NonFinite {
                field: "m",
                time_level: k + 1,
                index: w.mass.iter().position(|v| !v.is_finite()).unwrap_or(0),
            });
        }
        if got > 0.0 {
            let scale = expected / got;
            w.mass.iter_mut().for_each(|v| *v *= scale);
        }
        let mut next = m.row_mut(k + 1);
        let next = next.as_slice_mut().expect("contiguous row");
        let mut mass = 0.0;
        for ((mi, mu), iw) in next.iter_mut().zip(&w.mass).zip(&w.inv_weights) {
            *mi = mu * iw;
            mass += mu;
        }
        stats.max_mass_drift = stats.max_mass_drift.max((mass - mass0).abs() / mass0);
        w.previous[(k + 1) * n..(k + 2) * n].copy_from_slice(&w.mass);
    }
    w.warm = true;
    Ok(stats)
}
