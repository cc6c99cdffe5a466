//! The traits every HJB and FP solver implements.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use ndarray::{ArrayView2, ArrayViewMut2};

use crate::error::SolveError;
use crate::grid::Grid;
use crate::model::Problem;

/// One setting in a solver's self-description.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Setting {
    /// A whole number.
    Integer(i64),
    /// A real number.
    Real(f64),
    /// A flag.
    Flag(bool),
    /// A name or a phrase.
    Text(String),
}

/// What a solver is, for reports (`summary.json`): its method name, the scheme in words, and
/// its settings by name.
#[derive(Debug, Clone, PartialEq)]
pub struct Description {
    /// The method's short name (`fdm`, `weno5`, `particle`).
    pub method: &'static str,
    /// The scheme in words.
    pub scheme: String,
    /// The settings, by name.
    pub settings: Vec<(&'static str, Setting)>,
}

impl Description {
    /// A description with only the method's name (no scheme text, no settings).
    pub fn named(method: &'static str) -> Self {
        Self {
            method,
            scheme: String::new(),
            settings: Vec::new(),
        }
    }
}

/// The discrete scheme a solver computes, as far as a method that differentiates it needs to
/// know: the coupled Newton ([`crate::IterationMethod::Newton`]) builds its Jacobian from the
/// implicit upwind scheme of [`crate::scheme`], so it is consistent only with solvers whose
/// map `Φ` is that scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Discretisation {
    /// The implicit monotone upwind finite-difference scheme of [`crate::scheme::upwind`]
    /// (HJB: `I − dt L(u)` with Newton per level; FP: its exact discrete adjoint).
    ImplicitUpwind,
    /// Any other scheme (WENO, particles, a user's solver): no Jacobian is available.
    Other,
}

/// What an HJB solve did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HjbStats {
    /// Newton iterations summed over all time levels (0 for explicit schemes).
    pub newton_iterations: usize,
    /// The most Newton iterations one time level needed.
    pub max_newton_per_level: usize,
    /// Iterations of iterative linear solves, summed (0 for direct solves).
    pub linear_iterations: usize,
}

/// What an FP solve did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FpStats {
    /// Largest relative deviation of the quadrature mass from its initial value over the levels.
    pub max_mass_drift: f64,
    /// Iterations of iterative linear solves, summed (0 for direct solves).
    pub linear_iterations: usize,
    /// The most sub-steps one time step needed (particles; 0 for other methods).
    pub substeps: usize,
    /// Particles: the largest drift rate × time step that even the most sub-steps could not
    /// bring under the method's bound (0 when every step was resolved). A result with a
    /// non-zero value is biased: more time steps are needed.
    pub unresolved_rate_dt: f64,
}

/// A solver of the backward HJB equation for a given density.
///
/// Solvers own their work buffers: they are allocated on the first solve (or when the problem
/// size changes) and reused by every later call, so a Picard iteration allocates nothing.
pub trait HjbSolver: Send {
    /// A short name (`fdm`, `weno5`, ...).
    fn name(&self) -> &'static str;

    /// What the solver does on `grid` (the linear solver may depend on the dimension).
    fn describe(&self, grid: &Grid) -> Description {
        let _ = grid;
        Description::named(self.name())
    }

    /// The scheme this solver computes ([`Discretisation::Other`] unless it says otherwise):
    /// methods that differentiate the scheme refuse solvers whose scheme they do not have.
    fn discretisation(&self) -> Discretisation {
        Discretisation::Other
    }

    /// The coupling iteration's request for the accuracy of the next solve: a relative
    /// accuracy (of the order of the current fixed-point residual times a safety factor, see
    /// [`crate::IterationSettings::inner_accuracy`]). Solvers with iterative inner solves may
    /// stop those earlier, down to this accuracy; a solver without any ignores it (the default).
    fn set_accuracy(&mut self, _relative: f64) {}

    /// Whether [`Self::set_accuracy`] loosens this solver's solves on `grid` (false: they are
    /// exact whatever is asked, as direct solves are). The coupling iteration trusts a
    /// converged verdict from loosened solves only when they were asked for the tolerance.
    fn inexact_on(&self, _grid: &Grid) -> bool {
        false
    }

    /// When to stop the next solves early: a wall-clock deadline and a cancel flag (see
    /// [`Stop`]). A solver that supports it calls [`Stop::check`] inside its time loop and
    /// returns [`SolveError::TimeLimit`] or [`SolveError::Interrupted`]. The default ignores it
    /// (the coupling iteration then checks between iterations only).
    fn set_stop(&mut self, _stop: Stop) {}

    /// Given `m` on all time levels (shape `(nt + 1, n_space)`), overwrite `u` on all levels.
    ///
    /// # Panics
    /// If the array shapes do not match the problem (a contract violation, not a user error).
    fn solve_into(
        &mut self,
        problem: &Problem,
        m: ArrayView2<'_, f64>,
        u: ArrayViewMut2<'_, f64>,
    ) -> Result<HjbStats, SolveError>;
}

/// A solver of the forward FP equation for a given value function.
pub trait FpSolver: Send {
    /// A short name (`fdm`, `particle`, ...).
    fn name(&self) -> &'static str;

    /// What the solver does on `grid` (the linear solver may depend on the dimension).
    fn describe(&self, grid: &Grid) -> Description {
        let _ = grid;
        Description::named(self.name())
    }

    /// The scheme this solver computes ([`Discretisation::Other`] unless it says otherwise):
    /// methods that differentiate the scheme refuse solvers whose scheme they do not have.
    fn discretisation(&self) -> Discretisation {
        Discretisation::Other
    }

    /// The coupling iteration's request for the accuracy of the next solve: a relative
    /// accuracy (of the order of the current fixed-point residual times a safety factor, see
    /// [`crate::IterationSettings::inner_accuracy`]). Solvers with iterative inner solves may
    /// stop those earlier, down to this accuracy; a solver without any ignores it (the default).
    fn set_accuracy(&mut self, _relative: f64) {}

    /// Whether [`Self::set_accuracy`] loosens this solver's solves on `grid` (false: they are
    /// exact whatever is asked, as direct solves are). The coupling iteration trusts a
    /// converged verdict from loosened solves only when they were asked for the tolerance.
    fn inexact_on(&self, _grid: &Grid) -> bool {
        false
    }

    /// When to stop the next solves early: a wall-clock deadline and a cancel flag (see
    /// [`Stop`]). A solver that supports it calls [`Stop::check`] inside its time loop and
    /// returns [`SolveError::TimeLimit`] or [`SolveError::Interrupted`]. The default ignores it
    /// (the coupling iteration then checks between iterations only).
    fn set_stop(&mut self, _stop: Stop) {}

    /// Given `u` on all time levels, overwrite `m` on all levels (row 0 is `m0`).
    ///
    /// # Panics
    /// If the array shapes do not match the problem.
    fn solve_into(
        &mut self,
        problem: &Problem,
        u: ArrayView2<'_, f64>,
        m: ArrayViewMut2<'_, f64>,
    ) -> Result<FpStats, SolveError>;
}

/// When a solve should stop early: a wall-clock deadline, a flag another thread sets (a
/// signal handler, a Python `KeyboardInterrupt`), both or neither (the default). Cheap to
/// clone; solvers keep one and call [`Stop::check`] in their time loops.
#[derive(Debug, Clone, Default)]
pub struct Stop {
    deadline: Option<Instant>,
    cancel: Option<Arc<AtomicBool>>,
}

impl Stop {
    /// No early stop.
    pub fn never() -> Self {
        Self::default()
    }

    /// Stop once `deadline` has passed (`None`: no deadline), keeping the cancel flag.
    pub fn with_deadline(mut self, deadline: Option<Instant>) -> Self {
        self.deadline = deadline;
        self
    }

    /// Stop once `flag` is set (`None`: no flag), keeping the deadline.
    pub fn with_cancel(mut self, flag: Option<Arc<AtomicBool>>) -> Self {
        self.cancel = flag;
        self
    }

    /// The deadline, if any.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether the cancel flag is set.
    #[inline]
    pub fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::Relaxed))
    }

    /// [`SolveError::Interrupted`] once the flag is set, [`SolveError::TimeLimit`] once the
    /// deadline has passed (both at `time_level`), else `Ok`.
    #[inline]
    pub fn check(&self, time_level: usize) -> Result<(), SolveError> {
        if self.cancelled() {
            return Err(SolveError::Interrupted { time_level });
        }
        match self.deadline {
            Some(d) if Instant::now() >= d => Err(SolveError::TimeLimit { time_level }),
            _ => Ok(()),
        }
    }
}

/// A solver's work storage for this problem: the one in `slot` when `fits` says it still fits,
/// else a new one from `make` (allocated on the first solve and when the problem changes).
pub fn work_for<W>(
    slot: &mut Option<W>,
    fits: impl FnOnce(&W) -> bool,
    make: impl FnOnce() -> W,
) -> &mut W {
    if !slot.as_ref().is_some_and(fits) {
        *slot = Some(make());
    }
    slot.as_mut().expect("allocated above")
}

/// Panic unless `a` has shape `(nt + 1, n_space)` for `problem`.
pub fn check_shape(problem: &Problem, shape: &[usize], what: &str) {
    let expected = [problem.time().levels(), problem.grid().len()];
    assert_eq!(
        shape, expected,
        "{what} has shape {shape:?}, the problem needs (nt + 1, n_space) = {expected:?}"
    );
}
