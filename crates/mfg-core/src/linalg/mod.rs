//! The linear algebra of the implicit upwind schemes.
//!
//! Every FDM step solves `(I − dt L) x = b` (Newton in HJB) or `(I − dt Lᵀ) μ = b` (FP), with
//! `L` the upwind generator of [`crate::scheme::upwind`]: an M-matrix on the grid's `(2d + 1)`-point
//! pattern.
//!
//! * [`LinearOperator`] and [`Preconditioner`]: what a Krylov method needs of a matrix and of
//!   an approximate inverse; [`BiCgStab`] is written once against them.
//! * [`GridMatrix`]: the assembled operator, stored as a [`sprs::CsMat`] in CSR with the
//!   pattern fixed at construction and the values refilled at every assembly, plus the
//!   per-axis line tridiagonals the ADI preconditioner factors.
//! * Preconditioners ([`precond`]): [`Jacobi`], [`Ilu0`], [`Adi`] (line solves along every
//!   axis, batched) and [`Multigrid`] (aggregation V-cycles), chosen by [`PreconditionerKind`].
//! * [`Tridiagonal`]: the (cyclic) tridiagonal matrix of one dimension, solved directly.
//! * [`LinearBackend`] ([`backend`]): the interface the solvers use, with one direct and one
//!   Krylov implementation, picked per grid by [`backend_for`].
//!
//! Following faer, an iterative solve takes its parameters ([`KrylovParams`]) and returns
//! either its [`LinearInfo`] or a [`LinearError`] that carries the same numbers.
//!
//! ```
//! use mfg_core::linalg::{BiCgStab, GridMatrix, KrylovParams, LinearOperator, PreconditionerKind};
//! use mfg_core::{Boundary, Grid};
//! let grid = Grid::rectangle([0.0, 1.0], 10, [0.0, 1.0], 10, Boundary::NoFlux).unwrap();
//! let n = grid.len();
//! // Unit jump rates along both axes: I − dt L is an M-matrix.
//! let rates = vec![vec![1.0; n]; 2];
//! let mut a = GridMatrix::new(&grid);
//! a.assemble(0.1, &rates, &rates, false);
//! let mut pc = PreconditionerKind::Ilu0.build(&a);
//! pc.factor(&a);
//! let b = vec![1.0; n];
//! let mut x = vec![0.0; n];
//! let params = KrylovParams { tolerance: 1e-12, max_iterations: 100 };
//! let info = BiCgStab::new(n).solve(&a, &pc, &b, &mut x, params).unwrap();
//! assert!(info.relative_residual <= 1e-12);
//! // Rows of I − dt L sum to one: x = 1 solves A x = 1.
//! assert!(x.iter().all(|v| (v - 1.0).abs() < 1e-10));
//! ```

pub mod backend;
mod bicgstab;
mod gmres;
mod grid_matrix;
pub mod kernels;
mod multigrid;
mod operator;
pub mod precond;
mod tridiagonal;

pub use backend::{backend_for, backend_name, KrylovBackend, LinearBackend, TridiagonalBackend};
pub use bicgstab::BiCgStab;
pub use gmres::Gmres;
pub use grid_matrix::GridMatrix;
pub use multigrid::Multigrid;
pub use operator::{KrylovParams, LinearError, LinearInfo, LinearOperator, Preconditioner};
pub use precond::{Adi, GridPreconditioner, Ilu0, Jacobi, PreconditionerKind};
pub use tridiagonal::{Tridiagonal, TridiagonalFactors};
