//! # fp-solver
//!
//! Solvers of the forward Fokker–Planck equation of a Mean Field Game,
//!
//! ```text
//! ∂t m − ν Δm − div(m ∂pH(x, ∇u)) = 0,   m(0, x) = m0(x),
//! ```
//!
//! for a given value function `u` on a grid of one, two or three dimensions, implementing
//! [`mfg_core::FpSolver`]. The drift `−∂pH` is always derived from the problem's
//! [`mfg_core::Hamiltonian`], the same as the HJB equation's (for `|p|²/(2λ)`: `−∇u/λ`).
//!
//! * [`FdmFp`] (`fdm.rs`): implicit Euler whose matrix is the transpose of the linearised
//!   upwind HJB operator (the discrete adjoint): mass conserved to round-off, `m ≥ 0`; solved
//!   by the grid's [`mfg_core::LinearBackend`] (Thomas in 1D; BiCGSTAB with ADI line-solve or
//!   ILU(0) preconditioner in 2D/3D, with an exact mass projection).
//! * [`ParticleFp`] (`particle.rs`): particles in stochastic Heun sub-steps, the drift interpolated
//!   multilinearly, density by multilinear binning and a reflected Gaussian KDE ([`kde`],
//!   separable along the axes) with exact quadrature mass; rayon across particle chunks with
//!   per-chunk random streams, so results do not depend on the thread count.
//!
//! ```
//! use fp_solver::FdmFp;
//! use mfg_core::{FpSolver, Grid, Problem, TimeGrid, Boundary};
//! use ndarray::Array2;
//! let grid = Grid::line(0.0, 1.0, 20, Boundary::Periodic).unwrap();
//! let p = Problem::builder(grid, TimeGrid::new(1.0, 10).unwrap()).build().unwrap();
//! let u = Array2::from_shape_fn((11, 20), |(_, i)| (i as f64 * 0.3).sin());
//! let mut m = Array2::zeros((11, 20));
//! let stats = FdmFp::new().solve_into(&p, u.view(), m.view_mut()).unwrap();
//! assert!(stats.max_mass_drift < 1e-13);
//! ```
//!
//! # References
//! Y. Achdou, I. Capuzzo-Dolcetta, *Mean field games: numerical methods*, SIAM J. Numer.
//! Anal. 48 (2010) 1136–1162.

mod fdm;
pub mod kde;
mod particle;

pub use fdm::FdmFp;
pub use kde::Bandwidth;
pub use particle::{ParticleFp, ParticleSettings, CHUNK, MAX_SUBSTEPS};

// What a user of this crate needs without naming `mfg-core` or `ndarray` themselves.
pub use mfg_core::{
    Boundary, FpSolver, FpStats, Grid, Hamiltonian, Problem, ProblemError, Quadratic, SolveError,
    TimeGrid,
};
pub use ndarray;
