//! # mfg-core
//!
//! The shared core of mfg-rs: grids, the validated [`Problem`], the [`HjbSolver`] and
//! [`FpSolver`] traits, the coupling iteration [`FixedPointIterator`], results
//! ([`MfgSolution`]) and errors, in layers (see the crate's folders).
//!
//! ## The equations
//!
//! On a domain Ω, time `t ∈ [0, T]`, `ν = σ²/2`, a Mean Field Game couples
//!
//! ```text
//! HJB (backward):  −∂t u − ν Δu + H(x, ∇u) = f(x, m(t, x)),     u(T, x) = g(x)
//! FP  (forward):    ∂t m − ν Δm − div(m ∂pH(x, ∇u)) = 0,         m(0, x) = m0(x)
//! ```
//!
//! with a [`Hamiltonian`] (by default [`Quadratic`], `H(x, p) = |p|²/(2λ)`, optimal drift
//! `−∇u/λ`; built in also [`Power`], `|p|^β/(βλ)`, and [`Bounded`], controls `|a| ≤ a_max`;
//! or your own) and `f(x, m) = V(x) + F(x, m)`, `F` a [`RunningCost`] (the built-in [`Coupling`]s
//! or your own). Walls are no-flux (reflecting) or periodic. `m0` is normalised
//! to unit mass in the grid's quadrature ([`Grid::weights`]: trapezoid at no-flux walls).
//!
//! The coupling iteration ([`FixedPointIterator`]) forms its iterates by damped Picard,
//! Anderson acceleration, or Newton's method on the coupled discrete system
//! ([`IterationMethod::Newton`], see [`newton`]: quadratic convergence, GMRES on the Schur
//! complement of the analytic Jacobian).
//!
//! Stationary (ergodic) games, `−ν Δu + H(x, ∇u) + λ = f(x, m)` with the stationary FP
//! equation, `∫ m = 1` and `∫ u = 0`, are solved by Newton with a sparse LU
//! ([`StationarySolver`], see [`stationary`]).
//!
//! ## Example
//!
//! ```
//! use mfg_core::{Boundary, Coupling, Grid, Problem, TimeGrid};
//! let grid = Grid::line(0.0, 1.0, 80, Boundary::NoFlux).unwrap();
//! let p = Problem::builder(grid, TimeGrid::new(1.0, 10).unwrap())
//!     .sigma(0.3)
//!     .coupling(Coupling::Linear { strength: 1.0 })
//!     .initial_density_fn(|x| (-50.0 * (x[0] - 0.3).powi(2)).exp())
//!     .build()
//!     .unwrap();
//! assert_eq!(p.grid().len(), 81);
//! assert!((p.grid().integrate(p.initial_density()) - 1.0).abs() < 1e-14);
//! ```
//!
//! The concrete solvers live in `hjb-solver` and `fp-solver`; the command line in `mfg-cli`.
//!
//! # References
//! Y. Achdou, I. Capuzzo-Dolcetta, *Mean field games: numerical methods*, SIAM J. Numer.
//! Anal. 48 (2010) 1136–1162.

pub mod coupling;
pub mod error;
pub mod grid;
pub mod linalg;
pub mod model;
pub mod nonlinear;
pub mod scheme;
pub mod solver;
pub mod stationary;

pub use coupling::{
    Anderson, AndersonTarget, CoarseSolve, ContinuationStep, FixedPointIterator, IterationMethod,
    IterationRecord, IterationSettings, MfgSolution, Run, Safeguard, StepKind, TerminationReason,
    Timings,
};
pub use error::{MfgError, ProblemError, SolveError};
pub use grid::{Axis, Boundary, Grid, Line, PointKind, TimeGrid, MAX_DIM};
pub use linalg::{backend_for, backend_name, LinearBackend, PreconditionerKind};
pub use model::{
    Bounded, Congestion, Coupling, Forcing, Hamiltonian, Nonlocal, Power, Problem, ProblemBuilder,
    Quadratic, RunningCost, LOG_DENSITY_FLOOR,
};
pub use nonlinear::{Continuation, EASY_SIGMA};
pub use solver::{
    Description, Discretisation, FpSolver, FpStats, HjbSolver, HjbStats, Setting, Stop,
};
pub use stationary::{StationaryRecord, StationarySettings, StationarySolution, StationarySolver};
