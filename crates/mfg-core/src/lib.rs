//! # mfg-core
//!
//! The shared core of mfg-rs: grids, the validated [`Problem`], the [`HjbSolver`] and
//! [`FpSolver`] traits, the coupling iteration [`FixedPointIterator`], results
//! ([`MfgSolution`]), errors, and [`test_problems`] with exact solutions.
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
//! use mfg_core::{Boundary, Grid, Problem, TimeGrid, test_problems::LqGaussian};
//! let lq = LqGaussian::default();
//! let p: Problem = lq.problem(80, 10);
//! assert_eq!(p.grid().len(), 81);
//! assert!((lq.mean(1.0) - 0.315698).abs() < 1e-6);
//! ```
//!
//! The concrete solvers live in `hjb-solver` and `fp-solver`; the command line in `mfg-cli`.
//!
//! # References
//! Y. Achdou, I. Capuzzo-Dolcetta, *Mean field games: numerical methods*, SIAM J. Numer.
//! Anal. 48 (2010) 1136–1162.

pub mod anderson;
pub mod congestion;
pub mod error;
pub mod grid;
pub mod hamiltonian;
pub mod linalg;
pub mod newton;
pub mod nonlocal;
pub mod picard;
pub mod problem;
pub mod radial;
pub mod settings;
pub mod solution;
pub mod solver;
pub mod stationary;
pub mod test_problems;
pub mod upwind;

pub use anderson::{Anderson, Safeguard, StepKind};
pub use congestion::Congestion;
pub use error::{MfgError, ProblemError, SolveError};
pub use grid::{Axis, Boundary, Grid, Line, PointKind, TimeGrid, MAX_DIM};
pub use hamiltonian::{Hamiltonian, Quadratic};
pub use linalg::{backend_for, backend_name, LinearBackend, PreconditionerKind};
pub use nonlocal::Nonlocal;
pub use picard::{Continuation, FixedPointIterator, Run, EASY_SIGMA};
pub use problem::{Coupling, Forcing, Problem, ProblemBuilder, RunningCost, LOG_DENSITY_FLOOR};
pub use radial::{Bounded, Power};
pub use settings::{AndersonTarget, IterationMethod, IterationSettings};
pub use solution::{
    CoarseSolve, ContinuationStep, IterationRecord, MfgSolution, TerminationReason, Timings,
};
pub use solver::{Description, FpSolver, FpStats, HjbSolver, HjbStats, Setting, Stop};
pub use stationary::{StationaryRecord, StationarySettings, StationarySolution, StationarySolver};
