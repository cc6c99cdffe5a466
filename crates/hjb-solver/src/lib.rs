//! # hjb-solver
//!
//! Solvers of the backward Hamilton–Jacobi–Bellman equation of a Mean Field Game,
//!
//! ```text
//! −∂t u − ν Δu + H(x, ∇u) = f(x, m(t, x)),   u(T, x) = g(x),
//! ```
//!
//! for a given density `m` on a grid of one, two or three dimensions, implementing
//! [`mfg_core::HjbSolver`]. `H` is the problem's [`mfg_core::Hamiltonian`] (by default
//! `|p|²/(2λ)`); every scheme is written once for all dimensions.
//!
//! * [`FdmHjb`] (`fdm.rs`): implicit Euler in time, the monotone upwind numerical Hamiltonian
//!   of Achdou–Capuzzo-Dolcetta, Newton's method at every time level; the Newton systems are
//!   solved by the grid's [`mfg_core::LinearBackend`] (Thomas in 1D, preconditioned BiCGSTAB
//!   in 2D/3D). First order, unconditionally stable.
//! * [`WenoHjb`] (`weno.rs`): Jiang–Peng HJ-WENO5 derivatives (JS, Z or M weights) along the
//!   grid's lines, a Godunov or Lax–Friedrichs numerical Hamiltonian, central diffusion and
//!   TVD-RK3 in CFL-limited sub-steps. Fifth order in the Hamiltonian part, second order in the
//!   diffusion.
//!
//! ```
//! use hjb_solver::FdmHjb;
//! use mfg_core::HjbSolver;
//! use mfg_test_problems::LqGaussian;
//! use ndarray::Array2;
//! let p = LqGaussian::default().problem(100, 20);
//! let (m, mut u) = (Array2::zeros((21, 101)), Array2::zeros((21, 101)));
//! let stats = FdmHjb::default().solve_into(&p, m.view(), u.view_mut()).unwrap();
//! assert!(stats.max_newton_per_level <= 10);
//! ```
//!
//! # References
//! G.-S. Jiang, D. Peng, SIAM J. Sci. Comput. 21 (2000). C.-W. Shu, S. Osher, J. Comput. Phys.
//! 77 (1988).
//! Y. Achdou, I. Capuzzo-Dolcetta, *Mean field games: numerical methods*, SIAM J. Numer.
//! Anal. 48 (2010) 1136–1162.

mod fdm;
mod weno;

pub use fdm::{FdmHjb, NewtonSettings};
pub use weno::{HjEvolver, NumericalHamiltonian, WenoHjb, WenoSettings, MIN_POINTS};
pub use weno_kernels::{Ghosts, Weights};

// What a user of this crate needs without naming `mfg-core` or `ndarray` themselves.
pub use mfg_core::{
    Boundary, Coupling, Grid, Hamiltonian, HjbSolver, HjbStats, Problem, ProblemError, Quadratic,
    RunningCost, SolveError, TimeGrid,
};
pub use ndarray;
