//! The damped Picard iteration on the density, optionally Anderson-accelerated.
//!
//! `m^{k+1} = (1 − θ) m^k + θ Φ(m^k)`, where `Φ(m)` solves HJB with `m` and FP with the
//! resulting `u`; the initial guess is `m^0(t) = m0` on every level, or a density the caller
//! hands to [`FixedPointIterator::solve_from`] (a warm start, e.g. the solution of a nearby
//! problem in a parameter continuation). With
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

use std::time::Instant;

use ndarray::{Array2, ArrayView2, Zip};
use tracing::{debug, info, info_span};

use crate::anderson::{Anderson, Safeguard, StepKind};
use crate::error::MfgError;
use crate::problem::Problem;
use crate::settings::{AndersonTarget, IterationSettings};
use crate::solution::{IterationRecord, MfgSolution, TerminationReason, Timings};
use crate::solver::{FpSolver, HjbSolver};

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
/// let sol = FixedPointIterator::new(IterationSettings::default())
///     .solve(&p, &mut Copy, &mut Still)
///     .unwrap();
/// assert!(sol.converged());
/// assert_eq!(sol.iterations(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct FixedPointIterator {
    settings: IterationSettings,
}

impl FixedPointIterator {
    /// An iterator with the given settings (validated by `solve`).
    pub fn new(settings: IterationSettings) -> Self {
        Self { settings }
    }

    /// The settings.
    pub fn settings(&self) -> &IterationSettings {
        &self.settings
    }

    /// Solve the coupled system.
    pub fn solve(
        &self,
        problem: &Problem,
        hjb: &mut dyn HjbSolver,
        fp: &mut dyn FpSolver,
    ) -> Result<MfgSolution, MfgError> {
        self.solve_with_observer(problem, hjb, fp, &mut |_| {})
    }

    /// Solve starting from the density `initial` (shape `(nt + 1, n_space)`, finite, ≥ 0)
    /// instead of `m0` on every level: a warm start. The first row is replaced by the
    /// problem's `m0`. Typical use is a continuation: solve an easy problem, then a harder
    /// neighbour (smaller σ, stronger coupling) from its density.
    ///
    /// ```
    /// # use mfg_core::*;
    /// # use mfg_core::solver::{HjbStats, FpStats};
    /// # use ndarray::{Array2, ArrayView2, ArrayViewMut2};
    /// # struct Copy;
    /// # impl HjbSolver for Copy {
    /// #     fn name(&self) -> &'static str { "copy" }
    /// #     fn solve_into(&mut self, _: &Problem, m: ArrayView2<f64>, mut u: ArrayViewMut2<f64>)
    /// #         -> Result<HjbStats, SolveError> { u.assign(&m); Ok(HjbStats::default()) }
    /// # }
    /// # struct Still;
    /// # impl FpSolver for Still {
    /// #     fn name(&self) -> &'static str { "still" }
    /// #     fn solve_into(&mut self, p: &Problem, _: ArrayView2<f64>, mut m: ArrayViewMut2<f64>)
    /// #         -> Result<FpStats, SolveError> {
    /// #         for mut row in m.rows_mut() { row.assign(&ndarray::aview1(p.initial_density())); }
    /// #         Ok(FpStats::default())
    /// #     }
    /// # }
    /// let grid = Grid::line(0.0, 1.0, 10, Boundary::Periodic).unwrap();
    /// let p = Problem::builder(grid, TimeGrid::new(1.0, 4).unwrap()).build().unwrap();
    /// let it = FixedPointIterator::new(IterationSettings::default());
    /// let first = it.solve(&p, &mut Copy, &mut Still).unwrap();
    /// // From the fixed point itself: the fewest iterations there are (the first one's
    /// // `residual_u` is 1 by convention, so the second confirms).
    /// let again = it.solve_from(&p, &mut Copy, &mut Still, first.m.view()).unwrap();
    /// assert!(again.converged());
    /// assert_eq!(again.iterations(), 2);
    /// // A wrong shape is an error, not a panic.
    /// let wrong = Array2::<f64>::zeros((3, 11));
    /// assert!(matches!(
    ///     it.solve_from(&p, &mut Copy, &mut Still, wrong.view()),
    ///     Err(MfgError::InitialGuess { .. })
    /// ));
    /// ```
    pub fn solve_from(
        &self,
        problem: &Problem,
        hjb: &mut dyn HjbSolver,
        fp: &mut dyn FpSolver,
        initial: ArrayView2<'_, f64>,
    ) -> Result<MfgSolution, MfgError> {
        self.run(problem, hjb, fp, Some(initial), &mut |_| {})
    }

    /// Solve, calling `observer` after every iteration (for progress reports).
    pub fn solve_with_observer(
        &self,
        problem: &Problem,
        hjb: &mut dyn HjbSolver,
        fp: &mut dyn FpSolver,
        observer: &mut dyn FnMut(&IterationRecord),
    ) -> Result<MfgSolution, MfgError> {
        self.run(problem, hjb, fp, None, observer)
    }

    /// [`Self::solve_from`] with an observer, as [`Self::solve_with_observer`].
    pub fn solve_from_with_observer(
        &self,
        problem: &Problem,
        hjb: &mut dyn HjbSolver,
        fp: &mut dyn FpSolver,
        initial: ArrayView2<'_, f64>,
        observer: &mut dyn FnMut(&IterationRecord),
    ) -> Result<MfgSolution, MfgError> {
        self.run(problem, hjb, fp, Some(initial), observer)
    }

    fn run(
        &self,
        problem: &Problem,
        hjb: &mut dyn HjbSolver,
        fp: &mut dyn FpSolver,
        initial: Option<ArrayView2<'_, f64>>,
        observer: &mut dyn FnMut(&IterationRecord),
    ) -> Result<MfgSolution, MfgError> {
        self.settings.validate()?;
        let s = &self.settings;
        let _span = info_span!("picard", hjb = hjb.name(), fp = fp.name()).entered();
        let start = Instant::now();
        let grid = problem.grid();
        let levels = problem.time().levels();
        let n = grid.len();
        let weights = grid.weights();

        let mut m = Array2::<f64>::zeros((levels, n));
        match initial {
            None => {
                for mut row in m.rows_mut() {
                    row.as_slice_mut()
                        .expect("row is contiguous")
                        .copy_from_slice(problem.initial_density());
                }
            }
            Some(guess) => {
                check_initial_guess(guess, levels, n)?;
                m.assign(&guess);
                m.row_mut(0)
                    .as_slice_mut()
                    .expect("row is contiguous")
                    .copy_from_slice(problem.initial_density());
            }
        }
        let mut u = Array2::<f64>::zeros((levels, n));
        let mut u_prev = Array2::<f64>::zeros((levels, n));
        let mut phi = Array2::<f64>::zeros((levels, n));
        let mut history: Vec<IterationRecord> = Vec::with_capacity(s.max_iterations.min(10_000));
        let mut timings = Timings::default();
        let mut termination = TerminationReason::MaxIterations;

        // Anderson works on flat vectors: x = m (and u_iter), G(x) = Φ(m) (and u).
        let both = s.anderson_target == AndersonTarget::ValueAndDensity;
        let flat = levels * n * if both { 2 } else { 1 };
        let mut accel = (s.anderson_depth > 0).then(|| {
            let w: Vec<f64> = (0..flat).map(|i| weights[i % n]).collect();
            Safeguard::new(
                Anderson::new(s.anderson_depth, w, s.anderson_regularization),
                s.anderson_safeguard_growth,
            )
        });
        let (mut xbuf, mut gbuf, mut outbuf) = if accel.is_some() {
            (vec![0.0; flat], vec![0.0; flat], vec![0.0; flat])
        } else {
            (Vec::new(), Vec::new(), Vec::new())
        };
        // Anderson's own u component (ValueAndDensity only).
        let mut u_iter = if both {
            Array2::<f64>::zeros((levels, n))
        } else {
            Array2::<f64>::zeros((0, 0))
        };
        let mut best = f64::INFINITY;
        let mut since_best = 0;

        let mut last_worst = 1.0_f64;
        for iteration in 1..=s.max_iterations {
            if let Some(accuracy) = s.inner_accuracy_for(last_worst) {
                hjb.set_accuracy(accuracy);
                fp.set_accuracy(accuracy);
            }
            let t0 = Instant::now();
            hjb.solve_into(problem, m.view(), u.view_mut())
                .map_err(|source| MfgError::Iteration {
                    iteration,
                    solver: hjb.name(),
                    source,
                })?;
            let t1 = Instant::now();
            fp.solve_into(problem, u.view(), phi.view_mut())
                .map_err(|source| MfgError::Iteration {
                    iteration,
                    solver: fp.name(),
                    source,
                })?;
            let t2 = Instant::now();
            timings.hjb += (t1 - t0).as_secs_f64();
            timings.fp += (t2 - t1).as_secs_f64();

            let residual_m = relative_change(&phi, &m, weights);
            let residual_u = if iteration == 1 {
                1.0
            } else {
                relative_change(&u, &u_prev, weights)
            };
            let mass = grid.integrate(phi.row(levels - 1).as_slice().expect("contiguous"));
            debug!(iteration, residual_u, residual_m, mass);
            history.push(IterationRecord {
                iteration,
                residual_u,
                residual_m,
                mass,
                step: None,
            });

            if !(residual_u.is_finite() && residual_m.is_finite())
                || residual_u.max(residual_m) > s.divergence_threshold
            {
                observer(history.last().expect("pushed above"));
                return Err(MfgError::Diverged {
                    iteration,
                    residual_u,
                    residual_m,
                });
            }
            let worst = residual_u.max(residual_m);
            last_worst = worst;
            if worst < best * (1.0 - 1e-3) {
                best = worst;
                since_best = 0;
            } else {
                since_best += 1;
            }
            let stop = if residual_u < s.tolerance && residual_m < s.tolerance {
                Some(TerminationReason::Converged)
            } else if s.stagnation_window > 0 && since_best >= s.stagnation_window {
                Some(TerminationReason::Stagnation)
            } else if s
                .time_limit_s
                .is_some_and(|limit| start.elapsed().as_secs_f64() >= limit)
            {
                Some(TerminationReason::TimeLimit)
            } else {
                None
            };
            if let Some(reason) = stop {
                termination = reason;
                observer(history.last().expect("pushed above"));
                break;
            }

            let theta = s.damping;
            let kind = match accel.as_mut() {
                None => {
                    Zip::from(&mut m)
                        .and(&phi)
                        .for_each(|mk, &p| *mk = (1.0 - theta) * *mk + theta * p);
                    StepKind::Damped
                }
                Some(sg) => {
                    let mn = levels * n;
                    xbuf[..mn].copy_from_slice(m.as_slice().expect("standard layout"));
                    gbuf[..mn].copy_from_slice(phi.as_slice().expect("standard layout"));
                    if both {
                        if iteration == 1 {
                            u_iter.assign(&u);
                        }
                        xbuf[mn..].copy_from_slice(u_iter.as_slice().expect("standard layout"));
                        gbuf[mn..].copy_from_slice(u.as_slice().expect("standard layout"));
                    }
                    let norm = weighted_distance(&gbuf, &xbuf, weights);
                    let kind = sg.step(&xbuf, &gbuf, norm, theta, &mut outbuf);
                    m.as_slice_mut()
                        .expect("standard layout")
                        .copy_from_slice(&outbuf[..mn]);
                    if both {
                        u_iter
                            .as_slice_mut()
                            .expect("standard layout")
                            .copy_from_slice(&outbuf[mn..]);
                    }
                    if kind == StepKind::Accelerated {
                        project_density(&mut m, grid);
                    }
                    kind
                }
            };
            history.last_mut().expect("pushed above").step = Some(kind);
            observer(history.last().expect("pushed above"));
            u_prev.assign(&u);
        }
        timings.total = start.elapsed().as_secs_f64();
        let mass_initial = grid.integrate(phi.row(0).as_slice().expect("contiguous"));
        let mass_final = grid.integrate(phi.row(levels - 1).as_slice().expect("contiguous"));
        info!(
            termination = termination.name(),
            iterations = history.len(),
            total_s = timings.total,
            "coupling iteration finished"
        );
        Ok(MfgSolution {
            u,
            m: phi,
            termination,
            history,
            timings,
            mass_initial,
            mass_final,
        })
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
fn project_density(m: &mut Array2<f64>, grid: &crate::grid::Grid) {
    for mut row in m.rows_mut() {
        let row = row.as_slice_mut().expect("contiguous row");
        let before = grid.integrate(row);
        if row.iter().all(|&v| v >= 0.0) {
            continue;
        }
        row.iter_mut().for_each(|v| *v = v.max(0.0));
        let after = grid.integrate(row);
        if before > 0.0 && after > 0.0 {
            let scale = before / after;
            row.iter_mut().for_each(|v| *v *= scale);
        }
    }
}

/// `‖a − b‖` in the quadrature-weighted L2 norm of flat vectors (weights repeat per level).
fn weighted_distance(a: &[f64], b: &[f64], weights: &[f64]) -> f64 {
    let n = weights.len();
    a.chunks_exact(n)
        .zip(b.chunks_exact(n))
        .map(|(ra, rb)| {
            ra.iter()
                .zip(rb)
                .zip(weights)
                .map(|((x, y), w)| w * (x - y) * (x - y))
                .sum::<f64>()
        })
        .sum::<f64>()
        .sqrt()
}

/// `‖a − b‖ / ‖a‖` in the quadrature-weighted L2 norm over all levels (the uniform `dt` cancels).
fn relative_change(a: &Array2<f64>, b: &Array2<f64>, weights: &[f64]) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for (ra, rb) in a.rows().into_iter().zip(b.rows()) {
        for ((x, y), w) in ra.iter().zip(rb.iter()).zip(weights) {
            num += w * (x - y) * (x - y);
            den += w * x * x;
        }
    }
    if den == 0.0 {
        if num == 0.0 {
            0.0
        } else {
            f64::INFINITY
        }
    } else {
        (num / den).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::{Boundary, Grid};

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
}
