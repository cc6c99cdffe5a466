//! The damped Picard iteration on the density, optionally Anderson-accelerated.
//!
//! `m^{k+1} = (1 − θ) m^k + θ Φ(m^k)`, where `Φ(m)` solves HJB with `m` and FP with the
//! resulting `u`; the initial guess is `m^0(t) = m0` on every level, or a density the caller
//! hands to [`Run::initial_guess`] (a warm start, e.g. the solution of a nearby problem in a
//! parameter continuation). With
//! `anderson_depth > 0` the next iterate is the safeguarded Anderson extrapolation
//! ([`crate::anderson`]) of the same map, with mixing θ; after an accelerated step every time
//! level is projected back to `m ≥ 0` with its mass unchanged (negative values are cut and the
//! level rescaled to the mass it had before the cut). Residuals are relative
//! quadrature-weighted L2 norms over space–time (weights `w_i dt` on every level), undamped:
//! `residual_m = ‖Φ(m^k) − m^k‖ / ‖Φ(m^k)‖` and `residual_u = ‖u^{k+1} − u^k‖ / ‖u^{k+1}‖`
//! (1 at the first iteration). The iteration has converged when both are below the tolerance.
//!
//! Termination: converged; `max_iterations` reached; stagnation (the larger residual has not
//! improved on its best by 0.1 % over `stagnation_window` iterations); `time_limit_s` reached.
//! Non-finite or exploding residuals are an error ([`MfgError::Diverged`]).
//!
//! The code follows argmin's executor: [`FixedPointIterator`] holds the validated settings;
//! [`FixedPointIterator::run`] returns a [`Run`] builder (initial guess, observer, time limit);
//! [`Run::solve`] drives the loop over an `IterationState` — `evaluate` (one map evaluation
//! `Φ(m^k)` and its residuals, with the HJB/FP statistics and times), `termination` (a pure
//! function of the record and the state) and `advance` (the damped or accelerated next
//! iterate) — and the observer sees every record.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use ndarray::{Array2, ArrayView2, Zip};
use rayon::prelude::*;
use tracing::{debug, info, info_span, warn};

use crate::anderson::{Anderson, Safeguard, StepKind};
use crate::error::{MfgError, ProblemError, SolveError};
use crate::grid::Grid;
use crate::linalg::{self, kernels};
use crate::newton::NewtonStepper;
use crate::problem::Problem;
use crate::settings::{AndersonTarget, IterationMethod, IterationSettings};
use crate::solution::{
    CoarseSolve, ContinuationStep, IterationRecord, MfgSolution, TerminationReason, Timings,
};
use crate::solver::{FpSolver, HjbSolver, Stop};

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

/// A continuation: solve a sequence of problems from an easy one (no coupling, σ at least
/// [`EASY_SIGMA`]) to the target, each warm-started from the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Continuation {
    /// Solve the target directly (the library's default).
    #[default]
    Off,
    /// Solve the target directly; when that does not converge (max iterations, stagnation,
    /// divergence, a solver failure), solve along the homotopy (the command line's default).
    Auto,
    /// Always along the homotopy.
    Always,
}

impl Continuation {
    /// The name in config files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Auto => "auto",
            Self::Always => "always",
        }
    }
}

/// The homotopy starts at σ = max(σ_target, this).
pub const EASY_SIGMA: f64 = 0.5;
/// Intermediate problems are solved to this tolerance (or the target's, if coarser).
const CONTINUATION_TOLERANCE: f64 = 1e-5;
/// The stagnation window of the solves along the path.
const CONTINUATION_WINDOW: usize = 10;
/// The smallest homotopy step before the continuation gives up.
const MIN_HOMOTOPY_STEP: f64 = 1.0 / 256.0;

/// The nested iteration stops coarsening below this many points per level.
pub const COARSE_MIN_POINTS: usize = 4096;
/// The coarse problems of a nested iteration are solved to this tolerance (or the target's,
/// if coarser): their densities differ from the fine one by their discretisation error.
const COARSE_TOLERANCE: f64 = 1e-3;

/// The borrowed solvers and reporting of one [`Run::solve`], shared by its solves.
struct Driver<'a, 'o> {
    hjb: &'a mut dyn HjbSolver,
    fp: &'a mut dyn FpSolver,
    observer: &'o mut (dyn FnMut(&IterationRecord) + Send),
    stop: Stop,
    limit_s: Option<f64>,
}

impl Driver<'_, '_> {
    /// The first guess of a nested iteration: `problem` on [`Grid::coarsened`] (itself from
    /// its own coarser guess), solved to [`COARSE_TOLERANCE`] without reports, its density
    /// interpolated to `problem`'s grid; `None` when the grid is too small to coarsen or the
    /// coarse solve fails (the fine solve then starts from m0). Each coarse solve is recorded
    /// in `done`, coarsest first.
    fn coarse_guess(
        &mut self,
        s: &IterationSettings,
        problem: &Problem,
        done: &mut Vec<CoarseSolve>,
    ) -> Result<Option<Array2<f64>>, MfgError> {
        let Some(grid) = problem.grid().coarsened() else {
            return Ok(None);
        };
        if grid.len() < COARSE_MIN_POINTS {
            return Ok(None);
        }
        let Ok(coarse) = problem.on_grid(grid) else {
            return Ok(None);
        };
        let inner = self.coarse_guess(s, &coarse, done)?;
        let settings = IterationSettings {
            tolerance: s.tolerance.max(COARSE_TOLERANCE),
            ..s.clone()
        };
        let start = Instant::now();
        let mut quiet = |_: &IterationRecord| {};
        let mut driver = Driver {
            hjb: &mut *self.hjb,
            fp: &mut *self.fp,
            observer: &mut quiet,
            stop: self.stop.clone(),
            limit_s: self.limit_s,
        };
        let sol = match driver.solve(&settings, &coarse, inner.as_ref().map(|g| g.view())) {
            Ok(sol) => sol,
            Err(e @ (MfgError::Interrupted { .. } | MfgError::TimeLimit { .. })) => return Err(e),
            Err(e) => {
                info!(error = %e, "the coarse solve failed: starting from m0");
                return Ok(None);
            }
        };
        done.push(CoarseSolve {
            shape: coarse.grid().shape(),
            iterations: sol.iterations(),
            outcome: sol.termination.name(),
            time_s: start.elapsed().as_secs_f64(),
        });
        let fine = problem.grid();
        let mut guess = Array2::zeros((sol.m.nrows(), fine.len()));
        for (mut to, from) in guess.rows_mut().into_iter().zip(sol.m.rows()) {
            let values = fine.resample(coarse.grid(), from.as_slice().expect("contiguous"));
            to.as_slice_mut()
                .expect("contiguous")
                .copy_from_slice(&values);
        }
        // Exits and obstacles hold no density in a guess.
        for mut row in guess.rows_mut() {
            fine.zero_fixed(row.as_slice_mut().expect("contiguous"));
        }
        Ok(Some(guess))
    }

    /// One coupling iteration on `problem` to its termination.
    fn solve(
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
    fn homotopy(
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

/// The iterate, the work arrays and the bookkeeping of one solve (allocated once).
struct IterationState {
    /// The current iterate `m^k`.
    m: Array2<f64>,
    /// `u` from the last HJB solve and the one before.
    u: Array2<f64>,
    u_prev: Array2<f64>,
    /// `Φ(m^k)`.
    phi: Array2<f64>,
    /// With a deadline: `Φ` of the last complete iteration (`u_prev` holds its `u`), restored
    /// when the deadline interrupts the next one. Empty otherwise.
    phi_last: Array2<f64>,
    accel: Option<Accelerator>,
    /// Newton's storage ([`IterationMethod::Newton`]).
    newton: Option<NewtonStepper>,
    /// Best larger residual so far and iterations since it improved (stagnation).
    best: f64,
    since_best: usize,
    /// The larger residual of the last iteration (the inner solves' accuracy request).
    last_worst: f64,
    /// The relative accuracy the last evaluation's inner solves were asked for (None: exact).
    last_accuracy: Option<f64>,
    /// `‖Φ(m) − m‖` of the last evaluation (the safeguard's residual norm).
    distance_m: f64,
    history: Vec<IterationRecord>,
    timings: Timings,
}

/// Safeguarded Anderson on flat vectors: `x = m` (and its own `u` with
/// [`AndersonTarget::ValueAndDensity`]), `G(x) = Φ(m)` (and `u`).
struct Accelerator {
    mixer: Safeguard,
    x: Vec<f64>,
    g: Vec<f64>,
    out: Vec<f64>,
    /// Anderson's own u component (ValueAndDensity only; empty otherwise).
    u_iter: Array2<f64>,
}

impl IterationState {
    fn new(
        s: &IterationSettings,
        problem: &Problem,
        initial: Option<ArrayView2<'_, f64>>,
        keep_last: bool,
    ) -> Result<Self, MfgError> {
        let grid = problem.grid();
        let levels = problem.time().levels();
        let n = grid.len();
        let mut m = Array2::<f64>::zeros((levels, n));
        if let Some(guess) = initial {
            check_initial_guess(guess, levels, n)?;
            m.assign(&guess);
        }
        for (k, mut row) in m.rows_mut().into_iter().enumerate() {
            if k == 0 || initial.is_none() {
                row.as_slice_mut()
                    .expect("row is contiguous")
                    .copy_from_slice(problem.initial_density());
            }
        }
        let both = s.anderson_target == AndersonTarget::ValueAndDensity;
        let newton = (s.method == IterationMethod::Newton).then(|| NewtonStepper::new(problem));
        let accel = (s.method == IterationMethod::FixedPoint && s.anderson_depth > 0).then(|| {
            let flat = levels * n * if both { 2 } else { 1 };
            // The quadrature weights on every level (and on u's levels); zero at exits and
            // obstacles, which are not unknowns.
            let w = grid.norm_weights().to_vec();
            Accelerator {
                mixer: Safeguard::new(
                    Anderson::repeating(s.anderson_depth, w, flat / n, s.anderson_regularization),
                    s.anderson_safeguard_growth,
                ),
                // Copies of the stacked (m, u) vectors; density-only mixing works in place.
                x: vec![0.0; if both { flat } else { 0 }],
                g: vec![0.0; if both { flat } else { 0 }],
                out: vec![0.0; if both { flat } else { 0 }],
                u_iter: if both {
                    Array2::zeros((levels, n))
                } else {
                    Array2::zeros((0, 0))
                },
            }
        });
        Ok(Self {
            m,
            u: Array2::zeros((levels, n)),
            u_prev: Array2::zeros((levels, n)),
            phi: Array2::zeros((levels, n)),
            phi_last: if keep_last {
                Array2::zeros((levels, n))
            } else {
                Array2::zeros((0, 0))
            },
            accel,
            newton,
            best: f64::INFINITY,
            since_best: 0,
            last_worst: 1.0,
            last_accuracy: None,
            distance_m: f64::INFINITY,
            history: Vec::with_capacity(s.max_iterations.min(10_000)),
            timings: Timings::default(),
        })
    }

    /// One map evaluation: `u` = HJB(`m^k`), `Φ(m^k)` = FP(`u`), and the residuals.
    fn evaluate(
        &mut self,
        s: &IterationSettings,
        problem: &Problem,
        hjb: &mut dyn HjbSolver,
        fp: &mut dyn FpSolver,
        iteration: usize,
    ) -> Result<IterationRecord, MfgError> {
        // Newton's next residual is of the order of the square of this one: so must the
        // inner solves' accuracy be, or the convergence is only linear.
        let scale = match s.method {
            IterationMethod::Newton => self.last_worst * self.last_worst,
            IterationMethod::FixedPoint => self.last_worst,
        };
        let accuracy = s.inner_accuracy_for(scale);
        if let Some(accuracy) = accuracy {
            hjb.set_accuracy(accuracy);
            fp.set_accuracy(accuracy);
        }
        let grid = problem.grid();
        self.last_accuracy = accuracy.filter(|_| hjb.inexact_on(grid) || fp.inexact_on(grid));
        // The last iteration's u becomes `u_prev` (no copy: HJB writes every entry of `u`).
        std::mem::swap(&mut self.u, &mut self.u_prev);
        let t0 = Instant::now();
        let hjb_stats = hjb
            .solve_into(problem, self.m.view(), self.u.view_mut())
            .map_err(|source| MfgError::Iteration {
                iteration,
                solver: hjb.name(),
                source,
            })?;
        let t1 = Instant::now();
        let fp_stats = fp
            .solve_into(problem, self.u.view(), self.phi.view_mut())
            .map_err(|source| MfgError::Iteration {
                iteration,
                solver: fp.name(),
                source,
            })?;
        let t2 = Instant::now();
        let (hjb_s, fp_s) = ((t1 - t0).as_secs_f64(), (t2 - t1).as_secs_f64());
        self.timings.hjb += hjb_s;
        self.timings.fp += fp_s;

        let weights = problem.grid().norm_weights();
        let (residual_m, distance_m) = change(&self.phi, &self.m, weights);
        self.distance_m = distance_m;
        let residual_u = if iteration == 1 {
            1.0
        } else {
            change(&self.u, &self.u_prev, weights).0
        };
        let last = self.phi.nrows() - 1;
        let mass = problem
            .grid()
            .integrate(self.phi.row(last).as_slice().expect("contiguous"));
        debug!(iteration, residual_u, residual_m, mass);
        Ok(IterationRecord {
            iteration,
            residual_u,
            residual_m,
            mass,
            step: None,
            krylov_iterations: 0,
            hjb: hjb_stats,
            fp: fp_stats,
            hjb_s,
            fp_s,
        })
    }

    /// Non-finite or exploding residuals.
    fn diverged(&self, s: &IterationSettings, r: &IterationRecord) -> Result<(), MfgError> {
        if !(r.residual_u.is_finite() && r.residual_m.is_finite())
            || r.residual_u.max(r.residual_m) > s.divergence_threshold
        {
            return Err(MfgError::Diverged {
                iteration: r.iteration,
                residual_u: r.residual_u,
                residual_m: r.residual_m,
            });
        }
        Ok(())
    }

    /// Whether to stop after this record: converged, stagnation or the time limit.
    fn termination(
        &mut self,
        s: &IterationSettings,
        r: &IterationRecord,
        deadline: Option<Instant>,
    ) -> Option<TerminationReason> {
        let worst = r.residual_u.max(r.residual_m);
        self.last_worst = worst;
        if worst < self.best * (1.0 - 1e-3) {
            self.best = worst;
            self.since_best = 0;
        } else {
            self.since_best += 1;
        }
        // A residual below the tolerance means convergence only when the inner solves were
        // asked for at least that accuracy: with an initial guess already within a looser
        // inner tolerance (a cold start at an exact steady state) they may skip their work
        // and report no change. Then the next evaluation, asked for the floor, decides.
        let trusted = self.last_accuracy.is_none_or(|a| a <= s.tolerance);
        if r.residual_u < s.tolerance && r.residual_m < s.tolerance && trusted {
            Some(TerminationReason::Converged)
        } else if s.stagnation_window > 0 && self.since_best >= s.stagnation_window {
            Some(TerminationReason::Stagnation)
        } else if deadline.is_some_and(|d| Instant::now() >= d) {
            Some(TerminationReason::TimeLimit)
        } else {
            None
        }
    }

    /// The next iterate from `m^k` and `Φ(m^k)`: damped, Anderson-accelerated (then
    /// projected to `m ≥ 0` with each level's mass) or Newton's; with the GMRES iterations of
    /// a Newton correction.
    fn advance(
        &mut self,
        s: &IterationSettings,
        problem: &Problem,
        record: &IterationRecord,
    ) -> Result<(StepKind, usize), MfgError> {
        let theta = s.damping;
        let grid = problem.grid();
        let iteration = record.iteration;
        let mut krylov = 0;
        let kind = match self.accel.as_mut() {
            None if self.newton.is_some() => {
                let newton = self.newton.as_mut().expect("checked");
                let (kind, iterations) =
                    newton.advance(problem, &mut self.m, &self.u, &self.phi, record, s)?;
                krylov = iterations;
                kind
            }
            None => {
                Zip::from(&mut self.m)
                    .and(&self.phi)
                    .for_each(|mk, &p| *mk = (1.0 - theta) * *mk + theta * p);
                StepKind::Damped
            }
            Some(a) if a.u_iter.is_empty() => {
                // Density only: the mixer reads Φ(m^k) and overwrites m^k in place.
                let (m, phi) = (
                    self.m.as_slice_mut().expect("standard layout"),
                    self.phi.as_slice().expect("standard layout"),
                );
                // ‖Φ(m) − m‖, from this iteration's evaluation.
                let kind = a.mixer.step_in_place(m, phi, self.distance_m, theta);
                if kind == StepKind::Accelerated {
                    project_density(&mut self.m, grid);
                }
                kind
            }
            Some(a) => {
                let mn = self.m.len();
                let both = !a.u_iter.is_empty();
                a.x[..mn].copy_from_slice(self.m.as_slice().expect("standard layout"));
                a.g[..mn].copy_from_slice(self.phi.as_slice().expect("standard layout"));
                if both {
                    if iteration == 1 {
                        a.u_iter.assign(&self.u);
                    }
                    a.x[mn..].copy_from_slice(a.u_iter.as_slice().expect("standard layout"));
                    a.g[mn..].copy_from_slice(self.u.as_slice().expect("standard layout"));
                }
                let norm = weighted_distance(&a.g, &a.x, grid.norm_weights());
                let kind = a.mixer.step(&a.x, &a.g, norm, theta, &mut a.out);
                self.m
                    .as_slice_mut()
                    .expect("standard layout")
                    .copy_from_slice(&a.out[..mn]);
                if both {
                    a.u_iter
                        .as_slice_mut()
                        .expect("standard layout")
                        .copy_from_slice(&a.out[mn..]);
                }
                if kind == StepKind::Accelerated {
                    project_density(&mut self.m, grid);
                }
                kind
            }
        };
        if !self.phi_last.is_empty() {
            self.phi_last.assign(&self.phi);
        }
        Ok((kind, krylov))
    }

    /// After a deadline interrupted an evaluation: put back `u` and `Φ` of the last complete
    /// iteration. False when there is none (the first iteration was interrupted).
    fn restore_last_complete(&mut self) -> bool {
        if self.history.is_empty() || self.phi_last.is_empty() {
            return false;
        }
        self.u.assign(&self.u_prev);
        self.phi.assign(&self.phi_last);
        true
    }

    /// The solution: u of the last HJB solve and m = Φ of the last iterate.
    ///
    /// With exits, the exit points of Φ hold the mass that has left by each level: it moves to
    /// `mass_exited` and m is zero there (the absorbing boundary).
    fn finish(mut self, grid: &Grid, termination: TerminationReason) -> MfgSolution {
        let mut mass_exited = Vec::new();
        if !grid.exit_points().is_empty() {
            for mut row in self.phi.rows_mut() {
                let row = row.as_slice_mut().expect("contiguous");
                mass_exited.push(grid.exit_mass(row));
                for &i in grid.exit_points() {
                    row[i] = 0.0;
                }
            }
        }
        let last = self.phi.nrows() - 1;
        let mass_initial = grid.integrate(self.phi.row(0).as_slice().expect("contiguous"));
        let mass_final = grid.integrate(self.phi.row(last).as_slice().expect("contiguous"));
        let Self {
            m,
            u,
            u_prev,
            phi,
            phi_last,
            accel,
            newton,
            history,
            timings,
            ..
        } = self;
        // The work arrays are returned to the allocator on a pool thread: freeing hundreds
        // of megabytes page by page need not hold up the caller (measured: 19 ms of a
        // 2.1 s solve at 200² × 51 levels).
        let work = (m, u_prev, phi_last, accel, newton);
        if u.ncols() >= kernels::PARALLEL_MIN {
            rayon::spawn(move || drop(work));
        }
        MfgSolution {
            u,
            m: phi,
            termination,
            history,
            timings,
            mass_initial,
            mass_final,
            mass_exited,
            continuation: Vec::new(),
            coarse: Vec::new(),
        }
    }
}

/// Reject an initial guess of the wrong shape, with a non-finite or a negative value.
fn check_initial_guess(
    guess: ArrayView2<'_, f64>,
    levels: usize,
    n: usize,
) -> Result<(), MfgError> {
    let problem = if guess.dim() != (levels, n) {
        format!(
            "has shape {:?}, the problem needs ({levels}, {n})",
            guess.shape()
        )
    } else if let Some(((k, i), v)) = guess.indexed_iter().find(|(_, v)| !v.is_finite()) {
        format!("is not finite ({v}) at time level {k}, grid index {i}")
    } else if let Some(((k, i), v)) = guess.indexed_iter().find(|(_, &v)| v < 0.0) {
        format!("is negative ({v}) at time level {k}, grid index {i}")
    } else {
        return Ok(());
    };
    Err(MfgError::InitialGuess { problem })
}

/// Cut negative values of every level and rescale the level to the mass it had before the cut.
fn project_density(m: &mut Array2<f64>, grid: &Grid) {
    let n = m.ncols();
    // Levels are independent: on the pool for large grids (the same bits on any).
    let level = |row: &mut [f64]| {
        // Most levels have no negative (or NaN) value: one vectorised pass, no integral.
        if !row
            .iter()
            .fold(false, |bad, &v| bad | v.is_nan() | (v < 0.0))
        {
            return;
        }
        let before = grid.integrate(row);
        row.iter_mut().for_each(|v| *v = v.max(0.0));
        let after = grid.integrate(row);
        if before > 0.0 && after > 0.0 {
            let scale = before / after;
            row.iter_mut().for_each(|v| *v *= scale);
        }
    };
    let flat = m.as_slice_mut().expect("standard layout");
    if n >= kernels::PARALLEL_MIN {
        flat.par_chunks_mut(n).for_each(level);
    } else {
        flat.chunks_mut(n).for_each(level);
    }
}

/// `‖a − b‖` in the quadrature-weighted L2 norm of flat vectors (weights repeat per level).
fn weighted_distance(a: &[f64], b: &[f64], weights: &[f64]) -> f64 {
    level_sums(a, b, weights, |w, x, y| [w * (x - y) * (x - y), 0.0])[0].sqrt()
}

/// `‖a − b‖ / ‖a‖` and `‖a − b‖` in the quadrature-weighted L2 norm over all levels (the
/// uniform `dt` cancels in the first; the second is [`weighted_distance`]'s, the same bits).
fn change(a: &Array2<f64>, b: &Array2<f64>, weights: &[f64]) -> (f64, f64) {
    let (a, b) = (
        a.as_slice().expect("standard layout"),
        b.as_slice().expect("standard layout"),
    );
    let [num, den] = level_sums(a, b, weights, |w, x, y| [w * (x - y) * (x - y), w * x * x]);
    let relative = if den == 0.0 {
        if num == 0.0 {
            0.0
        } else {
            f64::INFINITY
        }
    } else {
        (num / den).sqrt()
    };
    (relative, num.sqrt())
}

/// Two sums of `term(w, a, b)` over flat space–time vectors (the weights repeat per level):
/// each level with eight interleaved accumulators, the levels (on the pool for long vectors)
/// added in level order, so the result does not depend on the number of threads.
fn level_sums<F>(a: &[f64], b: &[f64], weights: &[f64], term: F) -> [f64; 2]
where
    F: Fn(f64, f64, f64) -> [f64; 2] + Sync,
{
    let n = weights.len();
    let level = |(ra, rb): (&[f64], &[f64])| {
        let mut acc = [[0.0_f64; 8]; 2];
        let (ca, cb, cw) = (
            ra.chunks_exact(8),
            rb.chunks_exact(8),
            weights.chunks_exact(8),
        );
        let tail = ca
            .remainder()
            .iter()
            .zip(cb.remainder())
            .zip(cw.remainder());
        for ((x, y), w) in ca.zip(cb).zip(cw) {
            for k in 0..8 {
                let t = term(w[k], x[k], y[k]);
                acc[0][k] += t[0];
                acc[1][k] += t[1];
            }
        }
        for (k, ((x, y), w)) in tail.enumerate() {
            let t = term(*w, *x, *y);
            acc[0][k] += t[0];
            acc[1][k] += t[1];
        }
        [acc[0].iter().sum(), acc[1].iter().sum()]
    };
    let rows = a.chunks_exact(n).zip(b.chunks_exact(n));
    // Levels on the pool when each is a block's worth of work.
    let sums: Vec<[f64; 2]> =
        if a.len() >= linalg::kernels::PARALLEL_MIN && n >= linalg::kernels::BLOCK {
            a.par_chunks_exact(n)
                .zip(b.par_chunks_exact(n))
                .map(level)
                .collect()
        } else {
            rows.map(level).collect()
        };
    sums.iter()
        .fold([0.0, 0.0], |s, t| [s[0] + t[0], s[1] + t[1]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::Boundary;
    use crate::{FpSolver, HjbSolver, IterationSettings};

    #[test]
    fn an_initial_guess_of_the_wrong_shape_or_with_bad_values_is_rejected() {
        let ok = Array2::<f64>::ones((3, 5));
        assert!(check_initial_guess(ok.view(), 3, 5).is_ok());
        let message = |g: &Array2<f64>| match check_initial_guess(g.view(), 3, 5) {
            Err(MfgError::InitialGuess { problem }) => problem,
            other => panic!("expected InitialGuess, got {other:?}"),
        };
        assert!(message(&Array2::ones((3, 4))).contains("shape [3, 4]"));
        assert!(message(&Array2::ones((5, 3))).contains("needs (3, 5)"));
        let mut nan = ok.clone();
        nan[[2, 1]] = f64::NAN;
        assert!(message(&nan).contains("time level 2, grid index 1"));
        let mut negative = ok.clone();
        negative[[1, 4]] = -1e-3;
        assert!(message(&negative).contains("negative"));
        assert!(message(&negative).contains("time level 1, grid index 4"));
    }

    #[test]
    fn projection_cuts_negatives_and_keeps_each_level_mass() {
        let grid = Grid::line(0.0, 1.0, 4, Boundary::NoFlux).unwrap();
        let mut m = Array2::from_shape_vec(
            (2, 5),
            vec![1.0, 1.0, 1.0, 1.0, 1.0, -0.2, 1.5, 1.0, 0.5, -0.1],
        )
        .unwrap();
        let before: Vec<f64> = m
            .rows()
            .into_iter()
            .map(|r| grid.integrate(r.as_slice().unwrap()))
            .collect();
        project_density(&mut m, &grid);
        assert!(m.iter().all(|&v| v >= 0.0));
        assert_eq!(m.row(0).to_vec(), vec![1.0; 5]);
        for (k, b) in before.iter().enumerate() {
            let after = grid.integrate(m.row(k).as_slice().unwrap());
            assert!((after - b).abs() < 1e-15, "level {k}: {after} vs {b}");
        }
    }

    /// A toy HJB solver (u = m) that runs out of time on its `fail_at`-th call, and a toy FP
    /// solver Φ(m) = (m + m0)/2 (a contraction to m0).
    struct Toy {
        calls: usize,
        fail_at: usize,
    }

    /// A toy HJB solver (u = m) that sets `flag` on its `cancel_at`-th call and then checks
    /// the [`Stop`] the iteration handed it, as a real solver's time loop does.
    struct Cancelling {
        calls: usize,
        cancel_at: usize,
        flag: Arc<AtomicBool>,
        stop: Stop,
    }

    impl HjbSolver for Cancelling {
        fn name(&self) -> &'static str {
            "cancelling"
        }
        fn set_stop(&mut self, stop: Stop) {
            self.stop = stop;
        }
        fn solve_into(
            &mut self,
            _: &Problem,
            m: ArrayView2<f64>,
            mut u: ndarray::ArrayViewMut2<f64>,
        ) -> Result<crate::HjbStats, SolveError> {
            self.calls += 1;
            if self.calls == self.cancel_at {
                self.flag.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            self.stop.check(2)?;
            u.assign(&m);
            Ok(Default::default())
        }
    }

    impl HjbSolver for Toy {
        fn name(&self) -> &'static str {
            "toy"
        }
        fn solve_into(
            &mut self,
            _: &Problem,
            m: ArrayView2<f64>,
            mut u: ndarray::ArrayViewMut2<f64>,
        ) -> Result<crate::HjbStats, SolveError> {
            self.calls += 1;
            u.assign(&m);
            if self.calls == self.fail_at {
                u.fill(f64::NAN); // half-done work that must not reach the result
                return Err(SolveError::TimeLimit { time_level: 3 });
            }
            Ok(Default::default())
        }
    }

    struct Halve;

    impl FpSolver for Halve {
        fn name(&self) -> &'static str {
            "halve"
        }
        fn solve_into(
            &mut self,
            p: &Problem,
            u: ArrayView2<f64>,
            mut m: ndarray::ArrayViewMut2<f64>,
        ) -> Result<crate::FpStats, SolveError> {
            for (mut row, urow) in m.rows_mut().into_iter().zip(u.rows()) {
                for ((v, a), b) in row.iter_mut().zip(urow).zip(p.initial_density()) {
                    *v = 0.5 * (a + b);
                }
            }
            Ok(Default::default())
        }
    }

    fn toy_problem() -> Problem {
        let grid = Grid::line(0.0, 1.0, 8, Boundary::Periodic).unwrap();
        Problem::builder(grid, crate::TimeGrid::new(1.0, 4).unwrap())
            .initial_density_fn(|x| 1.0 + 0.5 * (6.0 * x[0]).sin())
            .build()
            .unwrap()
    }

    #[test]
    fn a_deadline_inside_an_iteration_returns_the_last_complete_one() {
        let p = toy_problem();
        // Start away from the fixed point m0, so the iteration takes many steps.
        let start = Array2::from_shape_fn((p.time().levels(), p.grid().len()), |(_, i)| {
            3.0 * p.initial_density()[i]
        });
        let it = FixedPointIterator::new(IterationSettings {
            tolerance: 1e-14,
            ..Default::default()
        })
        .unwrap();
        // The reference: stop after two iterations.
        let two = FixedPointIterator::new(IterationSettings {
            max_iterations: 2,
            tolerance: 1e-14,
            ..Default::default()
        })
        .unwrap()
        .run(
            &p,
            &mut Toy {
                calls: 0,
                fail_at: 0,
            },
            &mut Halve,
        )
        .initial_guess(start.view())
        .solve()
        .unwrap();
        // The third HJB solve runs out of time: the result is the second iteration's.
        let sol = it
            .run(
                &p,
                &mut Toy {
                    calls: 0,
                    fail_at: 3,
                },
                &mut Halve,
            )
            .initial_guess(start.view())
            .time_limit(1e6)
            .solve()
            .unwrap();
        assert_eq!(sol.termination, TerminationReason::TimeLimit);
        assert_eq!(sol.iterations(), 2);
        assert_eq!(sol.u, two.u);
        assert_eq!(sol.m, two.m);
    }

    #[test]
    fn a_deadline_in_the_first_iteration_is_an_error_not_a_result() {
        let p = toy_problem();
        let it = FixedPointIterator::new(IterationSettings::default()).unwrap();
        let mut hjb = Toy {
            calls: 0,
            fail_at: 1,
        };
        let err = it
            .run(&p, &mut hjb, &mut Halve)
            .time_limit(1e6)
            .solve()
            .unwrap_err();
        assert_eq!(
            err,
            MfgError::TimeLimit {
                limit_s: 1e6,
                time_level: 3
            }
        );
        assert!(err.to_string().contains("time_limit_s"), "{err}");
    }

    #[test]
    fn a_cancel_flag_reaches_the_solvers_and_stops_the_solve() {
        let p = toy_problem();
        let start = Array2::from_shape_fn((p.time().levels(), p.grid().len()), |(_, i)| {
            3.0 * p.initial_density()[i]
        });
        let it = FixedPointIterator::new(IterationSettings {
            tolerance: 1e-14,
            ..Default::default()
        })
        .unwrap();
        for cancel_at in [1, 3] {
            let flag = Arc::new(AtomicBool::new(false));
            let mut hjb = Cancelling {
                calls: 0,
                cancel_at,
                flag: flag.clone(),
                stop: Stop::never(),
            };
            let err = it
                .run(&p, &mut hjb, &mut Halve)
                .initial_guess(start.view())
                .cancel_on(flag)
                .solve()
                .unwrap_err();
            assert_eq!(
                err,
                MfgError::Interrupted {
                    iteration: cancel_at
                }
            );
            // The solver's stop is cleared after the solve.
            assert!(!hjb.stop.cancelled());
        }
        // A flag set before the start stops before any solve.
        let flag = Arc::new(AtomicBool::new(true));
        let mut hjb = Cancelling {
            calls: 0,
            cancel_at: 0,
            flag: flag.clone(),
            stop: Stop::never(),
        };
        let err = it
            .run(&p, &mut hjb, &mut Halve)
            .cancel_on(flag)
            .solve()
            .unwrap_err();
        assert_eq!(err, MfgError::Interrupted { iteration: 1 });
        assert_eq!(hjb.calls, 0);
    }
}
