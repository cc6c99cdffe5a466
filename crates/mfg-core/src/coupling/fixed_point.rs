//! The coupling iteration's entry points: [`FixedPointIterator`] (validated settings) and
//! [`Run`] (one configured solve: initial guess, observer, time limit, cancel flag,
//! continuation), which hands the work to the driver.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use ndarray::ArrayView2;
use tracing::{info, info_span};

use super::driver::Driver;
use super::settings::{IterationMethod, IterationSettings};
use super::solution::{ContinuationStep, IterationRecord, MfgSolution, TerminationReason};
use crate::error::{MfgError, ProblemError};
use crate::linalg;
use crate::model::problem::Problem;
use crate::nonlinear::continuation::Continuation;
use crate::solver::{Discretisation, FpSolver, HjbSolver, Stop};

/// Runs the coupling iteration with a given pair of solvers.
///
/// ```
/// # use mfg_core::*;
/// # use mfg_core::solver::{HjbStats, FpStats};
/// # use ndarray::{ArrayView2, ArrayViewMut2};
/// // A toy pair: "HJB" writes u = m, "FP" copies m0 everywhere, so Φ is constant.
/// struct Copy;
/// impl HjbSolver for Copy {
///     fn name(&self) -> &'static str { "copy" }
///     fn solve_into(&mut self, _: &Problem, m: ArrayView2<f64>, mut u: ArrayViewMut2<f64>)
///         -> Result<HjbStats, SolveError> { u.assign(&m); Ok(HjbStats::default()) }
/// }
/// struct Still;
/// impl FpSolver for Still {
///     fn name(&self) -> &'static str { "still" }
///     fn solve_into(&mut self, p: &Problem, _: ArrayView2<f64>, mut m: ArrayViewMut2<f64>)
///         -> Result<FpStats, SolveError> {
///         for mut row in m.rows_mut() {
///             row.assign(&ndarray::aview1(p.initial_density()));
///         }
///         Ok(FpStats::default())
///     }
/// }
/// let grid = Grid::line(0.0, 1.0, 10, Boundary::Periodic).unwrap();
/// let p = Problem::builder(grid, TimeGrid::new(1.0, 4).unwrap()).build().unwrap();
/// let it = FixedPointIterator::new(IterationSettings::default()).unwrap();
/// let sol = it.solve(&p, &mut Copy, &mut Still).unwrap();
/// assert!(sol.converged());
/// assert_eq!(sol.iterations(), 2);
///
/// // The builder: a warm start from the fixed point itself needs the fewest iterations there
/// // are (the first one's `residual_u` is 1 by convention, so the second confirms), and the
/// // observer sees every record.
/// let mut seen = 0;
/// let again = it
///     .run(&p, &mut Copy, &mut Still)
///     .initial_guess(sol.m.view())
///     .observer(&mut |_| seen += 1)
///     .solve()
///     .unwrap();
/// assert!(again.converged());
/// assert_eq!((again.iterations(), seen), (2, 2));
/// // A wrong shape is an error, not a panic.
/// let wrong = ndarray::Array2::<f64>::zeros((3, 11));
/// assert!(matches!(
///     it.run(&p, &mut Copy, &mut Still).initial_guess(wrong.view()).solve(),
///     Err(MfgError::InitialGuess { .. })
/// ));
/// ```
#[derive(Debug, Clone)]
pub struct FixedPointIterator {
    settings: IterationSettings,
}

impl FixedPointIterator {
    /// An iterator with the given settings, validated here ([`IterationSettings::validate`]).
    pub fn new(settings: IterationSettings) -> Result<Self, ProblemError> {
        settings.validate()?;
        Ok(Self { settings })
    }

    /// The settings.
    pub fn settings(&self) -> &IterationSettings {
        &self.settings
    }

    /// Whether the method can be used with these solvers: Newton on the coupled system
    /// differentiates the implicit upwind scheme, so both solvers must compute it
    /// ([`Discretisation::ImplicitUpwind`]); with another scheme the Jacobian would not be
    /// the map's, and the iteration would be silently inconsistent. [`Run::solve`] checks this
    /// before any work.
    ///
    /// ```
    /// # use mfg_core::*;
    /// # use mfg_core::solver::{HjbStats, FpStats};
    /// # use ndarray::{ArrayView2, ArrayViewMut2};
    /// struct Explicit;
    /// impl HjbSolver for Explicit {
    ///     fn name(&self) -> &'static str { "explicit" }
    ///     fn solve_into(&mut self, _: &Problem, _: ArrayView2<f64>, _: ArrayViewMut2<f64>)
    ///         -> Result<HjbStats, SolveError> { Ok(HjbStats::default()) }
    /// }
    /// # struct Still;
    /// # impl FpSolver for Still {
    /// #     fn name(&self) -> &'static str { "still" }
    /// #     fn discretisation(&self) -> Discretisation { Discretisation::ImplicitUpwind }
    /// #     fn solve_into(&mut self, _: &Problem, _: ArrayView2<f64>, _: ArrayViewMut2<f64>)
    /// #         -> Result<FpStats, SolveError> { Ok(FpStats::default()) }
    /// # }
    /// let newton = IterationSettings { method: IterationMethod::Newton, ..Default::default() };
    /// let it = FixedPointIterator::new(newton).unwrap();
    /// assert!(matches!(
    ///     it.check(&Explicit, &Still),
    ///     Err(MfgError::Incompatible { method: "newton", solver: "explicit", .. })
    /// ));
    /// ```
    pub fn check(&self, hjb: &dyn HjbSolver, fp: &dyn FpSolver) -> Result<(), MfgError> {
        Self::supports(self.settings.method, hjb, fp)
    }

    /// [`FixedPointIterator::check`] for a method alone, before any settings are validated.
    pub fn supports(
        method: IterationMethod,
        hjb: &dyn HjbSolver,
        fp: &dyn FpSolver,
    ) -> Result<(), MfgError> {
        check_method(method, hjb, fp)
    }

    /// Solve the coupled system from `m0` on every level: `self.run(..).solve()`.
    pub fn solve(
        &self,
        problem: &Problem,
        hjb: &mut dyn HjbSolver,
        fp: &mut dyn FpSolver,
    ) -> Result<MfgSolution, MfgError> {
        self.run(problem, hjb, fp).solve()
    }

    /// A solve to configure before it starts: [`Run::initial_guess`], [`Run::observer`],
    /// [`Run::time_limit`], then [`Run::solve`].
    pub fn run<'a>(
        &'a self,
        problem: &'a Problem,
        hjb: &'a mut dyn HjbSolver,
        fp: &'a mut dyn FpSolver,
    ) -> Run<'a> {
        Run {
            settings: &self.settings,
            problem,
            hjb,
            fp,
            initial: None,
            observer: None,
            time_limit_s: self.settings.time_limit_s,
            cancel: None,
            continuation: None,
        }
    }
}

/// One configured solve of the coupling iteration (see [`FixedPointIterator::run`]).
pub struct Run<'a> {
    settings: &'a IterationSettings,
    problem: &'a Problem,
    hjb: &'a mut dyn HjbSolver,
    fp: &'a mut dyn FpSolver,
    initial: Option<ArrayView2<'a, f64>>,
    observer: Option<&'a mut (dyn FnMut(&IterationRecord) + Send)>,
    time_limit_s: Option<f64>,
    cancel: Option<Arc<AtomicBool>>,
    continuation: Option<Continuation>,
}

impl<'a> Run<'a> {
    /// Start from the density `initial` (shape `(nt + 1, n_space)`, finite, ≥ 0) instead of
    /// `m0` on every level: a warm start. The first row is replaced by the problem's `m0`.
    /// Typical use is a continuation: solve an easy problem, then a harder neighbour (smaller
    /// σ, stronger coupling) from its density. A guess that cannot be used makes
    /// [`Run::solve`] return [`MfgError::InitialGuess`].
    pub fn initial_guess(mut self, initial: ArrayView2<'a, f64>) -> Self {
        self.initial = Some(initial);
        self
    }

    /// Call `observer` after every iteration (for progress reports).
    pub fn observer(mut self, observer: &'a mut (dyn FnMut(&IterationRecord) + Send)) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Stop after `seconds` of wall-clock time (termination [`TerminationReason::TimeLimit`]);
    /// overrides [`IterationSettings::time_limit_s`]. Checked between iterations and, by
    /// solvers that support [`HjbSolver::set_stop`] (all of this workspace's), inside their
    /// time loops: an interrupted iteration is dropped and the last complete one is returned.
    /// When the limit passes during the first iteration there is none, and [`Run::solve`]
    /// returns [`MfgError::TimeLimit`].
    pub fn time_limit(mut self, seconds: f64) -> Self {
        self.time_limit_s = Some(seconds);
        self
    }

    /// Stop as soon as `flag` is set (by a signal handler, another thread, a Python
    /// `KeyboardInterrupt`): checked between iterations and inside the solvers' time loops;
    /// [`Run::solve`] then returns [`MfgError::Interrupted`] and no result.
    pub fn cancel_on(mut self, flag: Arc<AtomicBool>) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// When to solve along a homotopy from an easy problem (see [`Continuation`]); overrides
    /// [`IterationSettings::continuation`].
    pub fn continuation(mut self, mode: Continuation) -> Self {
        self.continuation = Some(mode);
        self
    }

    /// Run the iteration to its termination (along a homotopy when [`Continuation`] says so).
    ///
    /// A problem large enough for the kernels to split their work across the rayon pool
    /// ([`crate::linalg::kernels::PARALLEL_MIN`]) is solved on a pool thread when called from
    /// outside the pool (from any other thread every fork would wait for a worker to wake):
    /// the caller blocks until the solve ends. To choose the threads, call it inside
    /// `rayon::ThreadPool::install`; the result is the same for any number.
    pub fn solve(self) -> Result<MfgSolution, MfgError> {
        // The per-level kernels fork from a level of PARALLEL_MIN points, the space–time
        // passes (Anderson, residuals) from PARALLEL_MIN values; entering the pool (the
        // first time: spawning it) pays for them from eight times that (crowd-2d 100²: the
        // outside-the-solves time 80 -> 54 ms; lq-gaussian, 40,000 values, whole process
        // 11.1 -> 11.7 ms when it entered).
        let (n, levels) = (self.problem.grid().len(), self.problem.time().levels());
        let min = linalg::kernels::PARALLEL_MIN;
        let large = n >= min || n * levels >= 8 * min;
        if large && rayon::current_thread_index().is_none() {
            rayon::join(move || self.solve_here(), || ()).0
        } else {
            self.solve_here()
        }
    }

    fn solve_here(self) -> Result<MfgSolution, MfgError> {
        let Run {
            settings: s,
            problem,
            hjb,
            fp,
            initial,
            observer,
            time_limit_s,
            cancel,
            continuation,
        } = self;
        if let Some(t) = time_limit_s {
            if !(t.is_finite() && t > 0.0) {
                return Err(MfgError::Settings(ProblemError::InvalidParameter {
                    field: "time_limit_s",
                    value: t,
                    hint: "must be finite and > 0 seconds",
                }));
            }
        }
        check_method(s.method, hjb, fp)?;
        let mut no_observer = |_: &IterationRecord| {};
        let observer = observer.unwrap_or(&mut no_observer);
        let _span = info_span!("picard", hjb = hjb.name(), fp = fp.name()).entered();
        let start = Instant::now();
        // The solvers also check the deadline and the flag inside their time loops; an
        // iteration the deadline interrupts is dropped and the last complete one is the result.
        let deadline = time_limit_s.map(|t| start + std::time::Duration::from_secs_f64(t));
        let stop = Stop::never().with_deadline(deadline).with_cancel(cancel);
        hjb.set_stop(stop.clone());
        fp.set_stop(stop.clone());
        let mut driver = Driver {
            hjb,
            fp,
            observer,
            stop,
            limit_s: time_limit_s,
        };
        // Nested iteration: the density of the coarser problems as the first guess.
        let mut coarse = Vec::new();
        let guess = if s.coarse_start && initial.is_none() {
            driver.coarse_guess(s, problem, &mut coarse)?
        } else {
            None
        };
        let initial = initial.or(guess.as_ref().map(|g| g.view()));
        let mode = continuation.unwrap_or(s.continuation);
        let outcome = match mode {
            Continuation::Off => driver.solve(s, problem, initial),
            Continuation::Auto => {
                let attempt_start = Instant::now();
                match driver.solve(s, problem, initial) {
                    Ok(sol)
                        if matches!(
                            sol.termination,
                            TerminationReason::Converged | TerminationReason::TimeLimit
                        ) =>
                    {
                        Ok(sol)
                    }
                    Ok(sol) => {
                        let first = ContinuationStep::of(problem, 1.0, &sol, attempt_start);
                        driver.homotopy(s, problem, initial, Some(first))
                    }
                    Err(e) if e.is_recoverable() => {
                        let first = ContinuationStep::failed(problem, 1.0, &e, attempt_start);
                        driver.homotopy(s, problem, initial, Some(first))
                    }
                    Err(e) => Err(e),
                }
            }
            Continuation::Always => driver.homotopy(s, problem, initial, None),
        };
        // The solvers may be used again after this solve: no stale deadline or flag.
        driver.hjb.set_stop(Stop::never());
        driver.fp.set_stop(Stop::never());
        let mut sol = outcome?;
        sol.coarse = coarse;
        sol.timings.total = start.elapsed().as_secs_f64();
        info!(
            termination = sol.termination.name(),
            iterations = sol.history.len(),
            continuation_steps = sol.continuation.len(),
            total_s = sol.timings.total,
            "coupling iteration finished"
        );
        Ok(sol)
    }
}

/// See [`FixedPointIterator::check`].
fn check_method(
    method: IterationMethod,
    hjb: &dyn HjbSolver,
    fp: &dyn FpSolver,
) -> Result<(), MfgError> {
    if method != IterationMethod::Newton {
        return Ok(());
    }
    let why = "Newton on the coupled system differentiates the implicit upwind finite-difference scheme, and this solver computes another one";
    for (solver, scheme) in [
        (hjb.name(), hjb.discretisation()),
        (fp.name(), fp.discretisation()),
    ] {
        if scheme != Discretisation::ImplicitUpwind {
            return Err(MfgError::Incompatible {
                method: "newton",
                solver,
                why,
            });
        }
    }
    Ok(())
}
