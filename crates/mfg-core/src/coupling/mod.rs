//! The coupling iteration: the state, steps and termination of the iteration on the coupled
//! HJB–FP system, the nested iteration, and the solution it returns.
//!
//! `m^{k+1} = (1 − θ) m^k + θ Φ(m^k)`, where `Φ(m)` solves HJB with `m` and FP with the
//! resulting `u`; the initial guess is `m^0(t) = m0` on every level, or a density the caller
//! hands to [`Run::initial_guess`] (a warm start, e.g. the solution of a nearby problem in a
//! parameter continuation). With
//! `anderson_depth > 0` the next iterate is the safeguarded Anderson extrapolation
//! ([`anderson`]) of the same map, with mixing θ; after an accelerated step every time
//! level is projected back to `m ≥ 0` with its mass unchanged (negative values are cut and the
//! level rescaled to the mass it had before the cut). With [`IterationMethod::Newton`] the next
//! iterate is a Newton step on the coupled discrete system ([`newton`]). Residuals are relative
//! quadrature-weighted L2 norms over space–time (weights `w_i dt` on every level), undamped:
//! `residual_m = ‖Φ(m^k) − m^k‖ / ‖Φ(m^k)‖` and `residual_u = ‖u^{k+1} − u^k‖ / ‖u^{k+1}‖`
//! (1 at the first iteration). The iteration has converged when both are below the tolerance.
//!
//! Termination: converged; `max_iterations` reached; stagnation (the larger residual has not
//! improved on its best by 0.1 % over `stagnation_window` iterations); `time_limit_s` reached.
//! Non-finite or exploding residuals are an error ([`MfgError::Diverged`]).
//!
//! The code follows argmin's executor: [`FixedPointIterator`] holds the validated settings
//! (`fixed_point.rs`); [`FixedPointIterator::run`] returns a [`Run`] builder (initial guess,
//! observer, time limit); [`Run::solve`] hands the loop to the driver (`driver.rs`: the loop
//! and the homotopy of [`crate::nonlinear::continuation`]; `nested.rs`: the coarse start) over
//! an `IterationState` (`state.rs`) — `evaluate` (one map evaluation `Φ(m^k)` and its
//! residuals, with the HJB/FP statistics and times), `termination` (a pure function of the
//! record and the state) and `advance` (the damped, accelerated or Newton next iterate) — and
//! the observer sees every record.
//!
//! [`MfgError::Diverged`]: crate::MfgError::Diverged

pub mod anderson;
mod driver;
mod fixed_point;
mod nested;
pub mod newton;
mod norms;
pub mod settings;
pub mod solution;
mod state;
#[cfg(test)]
mod tests;

pub use anderson::{Anderson, Safeguard, StepKind};
pub use fixed_point::{FixedPointIterator, Run};
pub use nested::COARSE_MIN_POINTS;
pub use settings::{AndersonTarget, IterationMethod, IterationSettings};
pub use solution::{
    CoarseSolve, ContinuationStep, IterationRecord, MfgSolution, TerminationReason, Timings,
};
