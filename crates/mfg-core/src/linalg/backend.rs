//! The linear solves of the implicit upwind schemes behind one trait, [`LinearBackend`]:
//! `(I − dt L) x = b` for Newton's step in HJB and `(I − dt Lᵀ) μ = b` for the FP step, with
//! `L` the upwind generator of [`crate::scheme::upwind`] assembled from its per-axis jump rates.
//!
//! * [`TridiagonalBackend`] (one dimension): the (cyclic) tridiagonal matrix solved directly by
//!   the Thomas algorithm (Sherman–Morrison when periodic), O(n).
//! * [`KrylovBackend`] (two and three dimensions): the sparse matrix on the grid's
//!   `(2d + 1)`-point pattern, BiCGSTAB with the measured-best preconditioner
//!   ([`PreconditionerKind::for_grid`]: the shifted ADI line solves).
//!
//! [`backend_for`] picks one for a grid; the solvers are written once against the trait.

use std::fmt;

use crate::grid::{Boundary, Grid};
use crate::linalg::bicgstab::BiCgStab;
use crate::linalg::grid_matrix::GridMatrix;
use crate::linalg::operator::{KrylovParams, LinearError, LinearInfo};
use crate::linalg::precond::{GridPreconditioner, PreconditionerKind};
use crate::linalg::tridiagonal::{Tridiagonal, TridiagonalFactors};

/// A solver of the implicit upwind systems on one grid, with its storage allocated once.
pub trait LinearBackend: fmt::Debug + Send {
    /// A short name for reports (`thomas`, `bicgstab+adi`, ...).
    fn name(&self) -> &'static str;

    /// Whether solves are exact (direct): such a backend ignores tolerances, and its solutions
    /// conserve mass to round-off without a projection.
    fn is_direct(&self) -> bool;

    /// Fill the matrix with `I − dt L` (or its transpose) from the jump rates of every axis
    /// (`to_prev[d][i]`, `to_next[d][i]`: from point `i` to its previous / next neighbour along
    /// axis `d`).
    fn assemble(&mut self, dt: f64, to_prev: &[Vec<f64>], to_next: &[Vec<f64>], transpose: bool);

    /// Solve `A x = b` for the last assembled `A`, from the initial guess in `x` (iterative
    /// backends), to a relative residual `tol` (ignored by direct backends).
    fn solve(&mut self, b: &[f64], x: &mut [f64], tol: f64) -> Result<LinearInfo, LinearError>;

    /// Factorise the last assembled `A` into `into` (its storage reused), to keep for many
    /// exact solves (Newton's products on the coupled system); false when the backend is
    /// iterative (and `into` untouched).
    fn factorise_into(&self, into: &mut TridiagonalFactors) -> bool {
        let _ = into;
        false
    }
}

/// The name of the backend [`backend_for`] picks for `grid`.
pub fn backend_name(grid: &Grid, preconditioner: Option<PreconditionerKind>) -> &'static str {
    if grid.dim() == 1 {
        "thomas"
    } else {
        krylov_name(preconditioner.unwrap_or_else(|| PreconditionerKind::for_grid(grid)))
    }
}

fn krylov_name(pc: PreconditionerKind) -> &'static str {
    match pc {
        PreconditionerKind::Jacobi => "bicgstab+jacobi",
        PreconditionerKind::Ilu0 => "bicgstab+ilu0",
        PreconditionerKind::Adi => "bicgstab+adi",
        PreconditionerKind::Multigrid => "bicgstab+multigrid",
    }
}

/// The backend for `grid`: [`TridiagonalBackend`] in one dimension, else [`KrylovBackend`]
/// with `preconditioner` (default [`PreconditionerKind::for_grid`]) and at most `max_iterations`
/// iterations per solve.
pub fn backend_for(
    grid: &Grid,
    preconditioner: Option<PreconditionerKind>,
    max_iterations: usize,
) -> Box<dyn LinearBackend> {
    if grid.dim() == 1 {
        Box::new(TridiagonalBackend::new(grid))
    } else {
        let pc = preconditioner.unwrap_or_else(|| PreconditionerKind::for_grid(grid));
        Box::new(KrylovBackend::new(grid, pc, max_iterations))
    }
}

/// One dimension: `I − dt L` is (cyclic) tridiagonal; the Thomas algorithm solves it exactly.
#[derive(Debug, Clone)]
pub struct TridiagonalBackend {
    matrix: Tridiagonal,
    no_flux: bool,
    /// With exits or obstacles: the grid's neighbour table (reflections at obstacles).
    neighbours: Option<Vec<[usize; 2]>>,
}

impl TridiagonalBackend {
    /// For a one-dimensional grid.
    ///
    /// # Panics
    /// If the grid is not one-dimensional.
    pub fn new(grid: &Grid) -> Self {
        assert_eq!(grid.dim(), 1, "TridiagonalBackend is for 1D grids");
        let periodic = grid.boundary() == Boundary::Periodic;
        Self {
            matrix: Tridiagonal::new(grid.len(), periodic),
            no_flux: !periodic,
            neighbours: grid
                .has_geometry()
                .then(|| grid.neighbour_table(0).to_vec()),
        }
    }
}

impl LinearBackend for TridiagonalBackend {
    fn name(&self) -> &'static str {
        "thomas"
    }

    fn is_direct(&self) -> bool {
        true
    }

    fn assemble(&mut self, dt: f64, to_prev: &[Vec<f64>], to_next: &[Vec<f64>], transpose: bool) {
        let a = &mut self.matrix;
        let (tp, tn) = (&to_prev[0], &to_next[0]);
        let n = a.len();
        assert!(tp.len() == n && tn.len() == n, "assemble: wrong lengths");
        if let Some(table) = &self.neighbours {
            // Exits and obstacles: each rate to the neighbour the table names (the rates of
            // fixed points and to the point itself were dropped by `Grid::mask_rates`).
            for (i, &[p, q]) in table.iter().enumerate() {
                a.sub[i] = 0.0;
                a.sup[i] = 0.0;
                a.diag[i] = 1.0 + dt * (tp[i] + tn[i]);
                for (rate, j) in [(tp[i], p), (tn[i], q)] {
                    if j + 1 == i {
                        a.sub[i] -= dt * rate;
                    } else if j == i + 1 {
                        a.sup[i] -= dt * rate;
                    } else {
                        a.diag[i] -= dt * rate;
                    }
                }
            }
        } else {
            for i in 0..n {
                a.sub[i] = -dt * tp[i];
                a.sup[i] = -dt * tn[i];
                a.diag[i] = 1.0 + dt * (tp[i] + tn[i]);
            }
        }
        if self.no_flux && self.neighbours.is_none() {
            // Reflection: both rates of a wall point lead to its inner neighbour.
            a.sup[0] += a.sub[0];
            a.sub[0] = 0.0;
            a.sub[n - 1] += a.sup[n - 1];
            a.sup[n - 1] = 0.0;
        }
        if transpose {
            a.transpose();
        }
    }

    fn solve(&mut self, b: &[f64], x: &mut [f64], _tol: f64) -> Result<LinearInfo, LinearError> {
        x.copy_from_slice(b);
        self.matrix.solve_in_place(x);
        Ok(LinearInfo::default())
    }

    fn factorise_into(&self, into: &mut TridiagonalFactors) -> bool {
        self.matrix.factor_into(into);
        true
    }
}

/// Two and three dimensions: the sparse matrix on the grid's pattern and preconditioned
/// BiCGSTAB.
#[derive(Debug, Clone)]
pub struct KrylovBackend {
    matrix: GridMatrix,
    preconditioner: GridPreconditioner,
    solver: BiCgStab,
    max_iterations: usize,
}

impl KrylovBackend {
    /// For `grid`, with at most `max_iterations` BiCGSTAB iterations per solve.
    pub fn new(grid: &Grid, preconditioner: PreconditionerKind, max_iterations: usize) -> Self {
        let matrix = GridMatrix::new(grid);
        Self {
            preconditioner: preconditioner.build(&matrix),
            solver: BiCgStab::new(grid.len()),
            matrix,
            max_iterations,
        }
    }

    /// The preconditioner.
    pub fn preconditioner(&self) -> PreconditionerKind {
        self.preconditioner.kind()
    }
}

impl LinearBackend for KrylovBackend {
    fn name(&self) -> &'static str {
        krylov_name(self.preconditioner.kind())
    }

    fn is_direct(&self) -> bool {
        false
    }

    fn assemble(&mut self, dt: f64, to_prev: &[Vec<f64>], to_next: &[Vec<f64>], transpose: bool) {
        self.matrix.assemble(dt, to_prev, to_next, transpose);
        self.preconditioner.factor(&self.matrix);
    }

    fn solve(&mut self, b: &[f64], x: &mut [f64], tol: f64) -> Result<LinearInfo, LinearError> {
        let params = KrylovParams {
            tolerance: tol,
            max_iterations: self.max_iterations,
        };
        self.solver
            .solve(&self.matrix, &self.preconditioner, b, x, params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both backends give the same solution of the same system on a grid where both apply
    /// (a 1D grid, the Krylov backend forced).
    #[test]
    fn tridiagonal_and_krylov_backends_agree() {
        for b in [Boundary::NoFlux, Boundary::Periodic] {
            let g = Grid::line(0.0, 1.0, 30, b).unwrap();
            let n = g.len();
            let tp = vec![(0..n)
                .map(|i| 1.0 + 0.1 * (i % 5) as f64)
                .collect::<Vec<_>>()];
            let tn = vec![(0..n)
                .map(|i| 0.5 + 0.3 * (i % 3) as f64)
                .collect::<Vec<_>>()];
            let rhs: Vec<f64> = (0..n).map(|i| (i as f64 * 0.4).sin()).collect();
            for transpose in [false, true] {
                let mut direct = TridiagonalBackend::new(&g);
                let mut krylov = KrylovBackend::new(&g, PreconditionerKind::Ilu0, 500);
                let (mut x1, mut x2) = (vec![0.0; n], vec![0.0; n]);
                for (be, x) in [
                    (&mut direct as &mut dyn LinearBackend, &mut x1),
                    (&mut krylov, &mut x2),
                ] {
                    be.assemble(0.3, &tp, &tn, transpose);
                    assert!(be.solve(&rhs, x, 1e-13).is_ok());
                }
                let err = x1
                    .iter()
                    .zip(&x2)
                    .map(|(p, q)| (p - q).abs())
                    .fold(0.0, f64::max);
                assert!(err < 1e-10, "{b:?}, transpose {transpose}: {err:e}");
            }
        }
    }
}
