//! Error types of the core crate.
//!
//! Two families: [`ProblemError`] for input a user can get wrong when building a grid or a
//! problem (it names the parameter, as this library spells it, and what to change; the command
//! line maps parameters to its config keys), and [`SolveError`] for a numerical
//! breakdown inside a solver (it names the time level and, where known, the grid index).
//! The coupling iteration wraps a [`SolveError`] in [`MfgError::Iteration`] with the Picard
//! iteration it happened in.

use thiserror::Error;

/// A grid, problem or settings value that cannot be used.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ProblemError {
    /// A scalar parameter is out of range or not finite.
    #[error("invalid {field} = {value}: {hint}")]
    InvalidParameter {
        /// The parameter, as the library names it (`sigma`, `tolerance`, `particles`, ...).
        field: &'static str,
        /// The value given.
        value: f64,
        /// What a valid value looks like.
        hint: &'static str,
    },
    /// The bounds of an axis are not finite, not increasing, or too far apart to represent.
    #[error("invalid bounds [{lo:?}, {hi:?}] of axis {axis}: give finite bounds with lower < upper (and upper − lower finite)")]
    InvalidBounds {
        /// The axis (0 is x, 1 is y, 2 is z).
        axis: usize,
        /// Lower bound given.
        lo: f64,
        /// Upper bound given.
        hi: f64,
    },
    /// An axis of a grid is out of range.
    #[error("invalid {parameter} = {value} of axis {axis}: {hint}")]
    InvalidAxis {
        /// The axis (0 is x, 1 is y, 2 is z).
        axis: usize,
        /// `intervals`.
        parameter: &'static str,
        /// The value given.
        value: f64,
        /// What a valid value looks like.
        hint: &'static str,
    },
    /// A sampled function (potential, terminal cost, initial density) is not finite somewhere.
    #[error("{field} is not finite at x = {point:?} (value {value}): check the expression there")]
    NonFiniteData {
        /// Which function.
        field: &'static str,
        /// Coordinates of the first offending grid point.
        point: Vec<f64>,
        /// The value computed there.
        value: f64,
    },
    /// The initial density is negative somewhere.
    #[error("the initial density is negative ({value}) at x = {point:?}: a density must be >= 0 everywhere")]
    NegativeDensity {
        /// Coordinates of the first offending grid point.
        point: Vec<f64>,
        /// The value computed there.
        value: f64,
    },
    /// The initial density integrates to zero (or less).
    #[error("the initial density has zero (or negligible, below 1e-290) mass on the grid: make it positive somewhere inside the domain, of a normal size (it is normalised to unit mass)")]
    ZeroMass,
    /// Exits or obstacles that cannot be used.
    #[error("invalid geometry: {hint}")]
    Geometry {
        /// What is wrong and what to change.
        hint: String,
    },
    /// An array handed in has the wrong length.
    #[error("{field} has {got} values but the grid has {expected} points")]
    Length {
        /// Which array.
        field: &'static str,
        /// Its length.
        got: usize,
        /// The number of grid points.
        expected: usize,
    },
}

/// A numerical breakdown inside an HJB or FP solve.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum SolveError {
    /// A non-finite value appeared.
    #[error("{field} became non-finite at time level {time_level}, grid index {index}: reduce the time step or the coupling strength")]
    NonFinite {
        /// `u` or `m`.
        field: &'static str,
        /// The time level being computed.
        time_level: usize,
        /// The first grid index with a non-finite value.
        index: usize,
    },
    /// Newton's method did not reach its tolerance.
    #[error("Newton did not converge at time level {time_level} after {iterations} iterations (residual {last_update:e}): the data are too steep for this time step (a larger number of time steps helps) or not finite")]
    NewtonFailed {
        /// The time level being computed.
        time_level: usize,
        /// Iterations taken.
        iterations: usize,
        /// Sup norm of the last scaled residual.
        last_update: f64,
    },
    /// An iterative linear solve did not reach its tolerance.
    #[error("the linear solve at time level {time_level} stopped at relative residual {residual:e} after {iterations} iterations: reduce the time step")]
    LinearSolve {
        /// The time level being computed.
        time_level: usize,
        /// Iterations taken.
        iterations: usize,
        /// Final relative residual.
        residual: f64,
    },
    /// The drift changes too fast for the time step: `rate · dt` beyond what the sub-steps
    /// resolve (particles).
    #[error("the drift changes too fast for the time step at time level {time_level} (drift rate × dt = {rate_dt:.3e}, sub-steps resolve at most {max})")]
    UnresolvedDrift {
        /// The time level being computed.
        time_level: usize,
        /// The drift's rate of change times the time step.
        rate_dt: f64,
        /// What the sub-steps resolve.
        max: f64,
    },
    /// The deadline handed to the solver ([`crate::HjbSolver::set_stop`]) passed during
    /// the solve.
    #[error("the time limit was reached at time level {time_level}: raise the time limit, or use fewer grid points")]
    TimeLimit {
        /// The time level being computed.
        time_level: usize,
    },
    /// The cancel flag handed to the solver ([`crate::HjbSolver::set_stop`]) was set during
    /// the solve (Ctrl-C, SIGTERM, a caller's request).
    #[error("interrupted at time level {time_level}")]
    Interrupted {
        /// The time level being computed.
        time_level: usize,
    },
    /// The solver cannot handle this problem (for example a grid dimension it was not built for).
    #[error("{solver} cannot solve this problem: {what}")]
    Unsupported {
        /// The solver's name.
        solver: &'static str,
        /// What it does not support.
        what: &'static str,
    },
}

impl MfgError {
    /// Whether a continuation may still succeed where this failed: divergence or a solver's
    /// numerical failure, not bad settings, a time limit or an interruption.
    pub fn is_recoverable(&self) -> bool {
        match self {
            MfgError::Diverged { .. } => true,
            MfgError::Iteration { source, .. } => !matches!(
                source,
                SolveError::TimeLimit { .. }
                    | SolveError::Interrupted { .. }
                    | SolveError::Unsupported { .. }
            ),
            _ => false,
        }
    }
}

/// An error of the coupled solve.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum MfgError {
    /// The iteration settings are invalid.
    #[error(transparent)]
    Settings(#[from] ProblemError),
    /// The initial guess handed to [`crate::coupling::Run::initial_guess`] cannot be used.
    #[error("the initial guess {problem}: pass a density on all time levels, shape (nt + 1, grid points), finite and >= 0 (for example the m of an earlier solve of the same grid)")]
    InitialGuess {
        /// What is wrong with it.
        problem: String,
    },
    /// A solver broke down in a Picard iteration.
    #[error("{solver} failed in Picard iteration {iteration}: {source}")]
    Iteration {
        /// The Picard iteration (1-based).
        iteration: usize,
        /// Which solver (`hjb` name or `fp` name).
        solver: &'static str,
        /// What went wrong.
        #[source]
        source: SolveError,
    },
    /// The time limit passed during the first iteration, before any complete iterate (later
    /// iterations end as [`crate::TerminationReason::TimeLimit`] with the last complete one).
    #[error("the time limit of {limit_s} s was reached in the first coupling iteration (time level {time_level}), before a complete iterate existed: raise time_limit_s, or use fewer grid points")]
    TimeLimit {
        /// The limit in seconds.
        limit_s: f64,
        /// The time level being computed when it passed.
        time_level: usize,
    },
    /// The cancel flag ([`crate::coupling::Run::cancel_on`]) was set: the solve stopped and
    /// returned nothing.
    #[error("interrupted in coupling iteration {iteration}")]
    Interrupted {
        /// The iteration being computed (1-based).
        iteration: usize,
    },
    /// The coupling method cannot be used with these solvers (see
    /// [`crate::FixedPointIterator::check`]).
    #[error("{method} cannot be used with the {solver} solver: {why}")]
    Incompatible {
        /// The coupling method's name (`newton`).
        method: &'static str,
        /// The solver it cannot be used with.
        solver: &'static str,
        /// Why, and what to use instead.
        why: &'static str,
    },
    /// The residual became non-finite or exploded.
    #[error("the coupling iteration diverged at iteration {iteration} (residual_u = {residual_u:e}, residual_m = {residual_m:e}): lower the damping")]
    Diverged {
        /// The Picard iteration (1-based).
        iteration: usize,
        /// Relative change of u.
        residual_u: f64,
        /// Relative change of m.
        residual_m: f64,
    },
}
