//! The driver of one solve: the iteration loop to its termination (evaluate, terminate,
//! advance) and the homotopy along the continuation.

use std::time::Instant;

use ndarray::ArrayView2;
use tracing::{debug, warn};

use super::settings::IterationSettings;
use super::solution::{ContinuationStep, IterationRecord, MfgSolution, TerminationReason};
use super::state::IterationState;
use crate::error::{MfgError, SolveError};
use crate::model::problem::Problem;
use crate::nonlinear::continuation::{
    CONTINUATION_TOLERANCE, CONTINUATION_WINDOW, EASY_SIGMA, MIN_HOMOTOPY_STEP,
};
use crate::solver::{FpSolver, HjbSolver, Stop};

/// The borrowed solvers and reporting of one [`Run::solve`], shared by its solves.
pub(super) struct Driver<'a, 'o> {
    pub(super) hjb: &'a mut dyn HjbSolver,
    pub(super) fp: &'a mut dyn FpSolver,
    pub(super) observer: &'o mut (dyn FnMut(&IterationRecord) + Send),
    pub(super) stop: Stop,
    pub(super) limit_s: Option<f64>,
}

impl Driver<'_, '_> {
    /// One coupling iteration on `problem` to its termination.
    pub(super) fn solve(
        &mut self,
        s: &IterationSettings,
        problem: &Problem,
        initial: Option<ArrayView2<'_, f64>>,
    ) -> Result<MfgSolution, MfgError> {
        let start = Instant::now();
        let (hjb, fp) = (&mut *self.hjb, &mut *self.fp);
        let observer = &mut *self.observer;
        let stop = &self.stop;
        let deadline = stop.deadline();
        let mut state = IterationState::new(s, problem, initial, deadline.is_some())?;
        let mut termination = TerminationReason::MaxIterations;
        for iteration in 1..=s.max_iterations {
            if stop.cancelled() {
                return Err(MfgError::Interrupted { iteration });
            }
            let record = match state.evaluate(s, problem, hjb, fp, iteration) {
                Err(MfgError::Iteration {
                    source: SolveError::Interrupted { .. },
                    ..
                }) => return Err(MfgError::Interrupted { iteration }),
                Err(MfgError::Iteration {
                    source: SolveError::TimeLimit { time_level },
                    ..
                }) => {
                    if state.restore_last_complete() {
                        termination = TerminationReason::TimeLimit;
                        break;
                    }
                    return Err(MfgError::TimeLimit {
                        limit_s: self.limit_s.unwrap_or(0.0),
                        time_level,
                    });
                }
                other => other?,
            };
            if let Err(e) = state.diverged(s, &record) {
                observer(&record);
                return Err(e);
            }
            if let Some(reason) = state.termination(s, &record, deadline) {
                termination = reason;
                observer(&record);
                state.history.push(record);
                break;
            }
            let (step, krylov_iterations) = state.advance(s, problem, &record)?;
            let record = IterationRecord {
                step: Some(step),
                krylov_iterations,
                ..record
            };
            observer(&record);
            state.history.push(record);
        }
        state.timings.total = start.elapsed().as_secs_f64();
        Ok(state.finish(problem.grid(), termination))
    }

    /// Solve along the homotopy `λ ∈ [0, 1]`: coupling scaled by `λ`, σ from
    /// `max(σ, EASY_SIGMA)` to σ; adaptive steps, halved after a failure, doubled after a
    /// success. `first` is the failed direct attempt, if there was one.
    pub(super) fn homotopy(
        &mut self,
        s: &IterationSettings,
        problem: &Problem,
        initial: Option<ArrayView2<'_, f64>>,
        first: Option<ContinuationStep>,
    ) -> Result<MfgSolution, MfgError> {
        let mut path: Vec<ContinuationStep> = first.into_iter().collect();
        let target_sigma = problem.sigma();
        let easy_sigma = target_sigma.max(EASY_SIGMA);
        let at = |lambda: f64| -> Result<Problem, MfgError> {
            if lambda >= 1.0 {
                return Ok(problem.clone());
            }
            let sigma = target_sigma + (1.0 - lambda) * (easy_sigma - target_sigma);
            Ok(problem
                .with_sigma(sigma)
                .map_err(MfgError::Settings)?
                .with_coupling_scale(lambda))
        };
        // A step too long shows itself early: a short stagnation window on the way.
        let attempt = IterationSettings {
            stagnation_window: s.stagnation_window.min(CONTINUATION_WINDOW),
            ..s.clone()
        };
        let intermediate = IterationSettings {
            tolerance: s.tolerance.max(CONTINUATION_TOLERANCE),
            ..attempt.clone()
        };
        let started = Instant::now();
        let p0 = at(0.0)?;
        let mut last = self.solve(&intermediate, &p0, initial)?;
        path.push(ContinuationStep::of(&p0, 0.0, &last, started));
        if !last.converged() {
            warn!("continuation: the easiest problem did not converge");
            last.continuation = path;
            return Ok(last);
        }
        let (mut lambda, mut step) = (0.0_f64, 1.0_f64);
        let mut total_hjb = last.timings.hjb;
        let mut total_fp = last.timings.fp;
        loop {
            let next = (lambda + step).min(1.0);
            let p = at(next)?;
            let settings = if next >= 1.0 { &attempt } else { &intermediate };
            let t = Instant::now();
            let warm = last.m.clone();
            let attempt = self.solve(settings, &p, Some(warm.view()));
            match attempt {
                Ok(sol) => {
                    total_hjb += sol.timings.hjb;
                    total_fp += sol.timings.fp;
                    path.push(ContinuationStep::of(&p, next, &sol, t));
                    if sol.converged() {
                        debug!(
                            lambda = next,
                            iterations = sol.iterations(),
                            "continuation step"
                        );
                        last = sol;
                        lambda = next;
                        if lambda >= 1.0 {
                            break;
                        }
                        step = (2.0 * step).min(1.0 - lambda);
                        continue;
                    }
                    if sol.termination == TerminationReason::TimeLimit || step <= MIN_HOMOTOPY_STEP
                    {
                        last = sol;
                        break;
                    }
                }
                Err(e) if e.is_recoverable() => {
                    path.push(ContinuationStep::failed(&p, next, &e, t));
                    if step <= MIN_HOMOTOPY_STEP {
                        last.continuation = path;
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            }
            step *= 0.5;
        }
        last.timings.hjb = total_hjb;
        last.timings.fp = total_fp;
        last.continuation = path;
        Ok(last)
    }
}
