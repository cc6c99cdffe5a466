//! The result of a coupled solve.

use std::fmt;

use ndarray::Array2;

use crate::coupling::anderson::StepKind;
use crate::solver::{FpStats, HjbStats};

/// Why the coupling iteration stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TerminationReason {
    /// Both residuals fell below the tolerance.
    Converged,
    /// `max_iterations` was reached first.
    MaxIterations,
    /// No progress over a window of iterations.
    Stagnation,
    /// `time_limit_s` was reached first.
    TimeLimit,
}

impl TerminationReason {
    /// The name written to `summary.json`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Converged => "converged",
            Self::MaxIterations => "max-iterations",
            Self::Stagnation => "stagnation",
            Self::TimeLimit => "time-limit",
        }
    }
}

/// One Picard iteration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IterationRecord {
    /// 1-based.
    pub iteration: usize,
    /// `‖u^{k+1} − u^k‖ / ‖u^{k+1}‖` (1 at the first iteration).
    pub residual_u: f64,
    /// `‖Φ(m^k) − m^k‖ / ‖Φ(m^k)‖`.
    pub residual_m: f64,
    /// Mass of `Φ(m^k)` at the final time level.
    pub mass: f64,
    /// How the next iterate was formed from this one (`None` after the last iteration).
    pub step: Option<StepKind>,
    /// GMRES iterations of the Newton correction formed after this iteration (0 otherwise).
    pub krylov_iterations: usize,
    /// What the HJB solve of this iteration did (Newton and linear iterations).
    pub hjb: HjbStats,
    /// What the FP solve of this iteration did (linear iterations, mass drift).
    pub fp: FpStats,
    /// Wall-clock seconds of this iteration's HJB solve.
    pub hjb_s: f64,
    /// Wall-clock seconds of this iteration's FP solve.
    pub fp_s: f64,
}

/// Wall-clock time split of a solve, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timings {
    /// The whole coupled solve.
    pub total: f64,
    /// All HJB solves.
    pub hjb: f64,
    /// All FP solves.
    pub fp: f64,
}

/// The result of [`crate::FixedPointIterator::solve`] and [`crate::coupling::Run::solve`].
#[derive(Debug, Clone, PartialEq)]
pub struct MfgSolution {
    /// u from the last HJB solve, shape `(nt + 1, n_space)`.
    pub u: Array2<f64>,
    /// m = Φ of the last iterate: the FP solution driven by `u` (so the pair satisfies FP).
    pub m: Array2<f64>,
    /// Why the iteration stopped.
    pub termination: TerminationReason,
    /// One record per iteration.
    pub history: Vec<IterationRecord>,
    /// Time split.
    pub timings: Timings,
    /// Mass of m at t = 0.
    pub mass_initial: f64,
    /// Mass of m at t = T (in the domain: without what has left through exits).
    pub mass_final: f64,
    /// With exits ([`crate::PointKind::Exit`]): the mass that has left by each time level
    /// (`mass in the domain + mass_exited = 1` at every level); empty without exits.
    pub mass_exited: Vec<f64>,
    /// The continuation path, when the solve went along one ([`crate::Continuation`]): every
    /// problem tried, in order (`history` is the last one's). Empty otherwise.
    pub continuation: Vec<ContinuationStep>,
    /// The coarse solves of a nested iteration
    /// ([`crate::IterationSettings::coarse_start`]), coarsest first. Empty otherwise.
    pub coarse: Vec<CoarseSolve>,
}

/// One coarse solve of a nested iteration.
#[derive(Debug, Clone, PartialEq)]
pub struct CoarseSolve {
    /// Points per axis.
    pub shape: Vec<usize>,
    /// Its coupling iterations.
    pub iterations: usize,
    /// How it ended (`converged`, ...).
    pub outcome: &'static str,
    /// Wall-clock seconds.
    pub time_s: f64,
}

/// One problem of a continuation path.
#[derive(Debug, Clone, PartialEq)]
pub struct ContinuationStep {
    /// The homotopy parameter: the coupling's scale (1: the target problem).
    pub lambda: f64,
    /// σ of this problem.
    pub sigma: f64,
    /// Coupling iterations spent on it.
    pub iterations: usize,
    /// How it ended (`converged`, `stagnation`, ..., or `failed` for an error).
    pub outcome: &'static str,
    /// Wall-clock seconds.
    pub time_s: f64,
}

impl ContinuationStep {
    /// The record of a solve of `problem` at `lambda` started at `start`.
    pub(crate) fn of(
        problem: &crate::Problem,
        lambda: f64,
        sol: &MfgSolution,
        start: std::time::Instant,
    ) -> Self {
        Self {
            lambda,
            sigma: problem.sigma(),
            iterations: sol.iterations(),
            outcome: sol.termination.name(),
            time_s: start.elapsed().as_secs_f64(),
        }
    }

    /// The record of a solve that ended in `error`.
    pub(crate) fn failed(
        problem: &crate::Problem,
        lambda: f64,
        error: &crate::MfgError,
        start: std::time::Instant,
    ) -> Self {
        let iterations = match error {
            crate::MfgError::Diverged { iteration, .. }
            | crate::MfgError::Iteration { iteration, .. } => *iteration,
            _ => 0,
        };
        Self {
            lambda,
            sigma: problem.sigma(),
            iterations,
            outcome: "failed",
            time_s: start.elapsed().as_secs_f64(),
        }
    }
}

impl MfgSolution {
    /// Whether the iteration converged.
    pub fn converged(&self) -> bool {
        self.termination == TerminationReason::Converged
    }

    /// Number of Picard iterations done.
    pub fn iterations(&self) -> usize {
        self.history.len()
    }
}

impl fmt::Display for MfgSolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let last = self.history.last();
        write!(
            f,
            "{} after {} iterations (residual_u {:.2e}, residual_m {:.2e}); mass {:.15} -> {:.15}; {:.1} ms (hjb {:.1}, fp {:.1})",
            self.termination.name(),
            self.iterations(),
            last.map_or(f64::NAN, |r| r.residual_u),
            last.map_or(f64::NAN, |r| r.residual_m),
            self.mass_initial,
            self.mass_final,
            1e3 * self.timings.total,
            1e3 * self.timings.hjb,
            1e3 * self.timings.fp,
        )
    }
}
