//! The damped Picard iteration on the density.
//!
//! `m^{k+1} = (1 − θ) m^k + θ Φ(m^k)`, where `Φ(m)` solves HJB with `m` and FP with the
//! resulting `u`; the initial guess is `m^0(t) = m0` on every level. Residuals are relative
//! quadrature-weighted L2 norms over space–time (weights `w_i dt` on every level), undamped:
//! `residual_m = ‖Φ(m^k) − m^k‖ / ‖Φ(m^k)‖` and `residual_u = ‖u^{k+1} − u^k‖ / ‖u^{k+1}‖`
//! (1 at the first iteration). The iteration has converged when both are below the tolerance.

use std::time::Instant;

use ndarray::{Array2, Zip};
use tracing::{debug, info, info_span};

use crate::error::MfgError;
use crate::problem::Problem;
use crate::settings::IterationSettings;
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

    /// Solve, calling `observer` after every iteration (for progress reports).
    pub fn solve_with_observer(
        &self,
        problem: &Problem,
        hjb: &mut dyn HjbSolver,
        fp: &mut dyn FpSolver,
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
        for mut row in m.rows_mut() {
            row.as_slice_mut()
                .expect("row is contiguous")
                .copy_from_slice(problem.initial_density());
        }
        let mut u = Array2::<f64>::zeros((levels, n));
        let mut u_prev = Array2::<f64>::zeros((levels, n));
        let mut phi = Array2::<f64>::zeros((levels, n));
        let mut history = Vec::with_capacity(s.max_iterations.min(10_000));
        let mut timings = Timings::default();
        let mut termination = TerminationReason::MaxIterations;

        for iteration in 1..=s.max_iterations {
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
            let record = IterationRecord {
                iteration,
                residual_u,
                residual_m,
                mass,
            };
            debug!(iteration, residual_u, residual_m, mass);
            history.push(record);
            observer(&record);

            if !(residual_u.is_finite() && residual_m.is_finite())
                || residual_u.max(residual_m) > s.divergence_threshold
            {
                return Err(MfgError::Diverged {
                    iteration,
                    residual_u,
                    residual_m,
                });
            }
            if residual_u < s.tolerance && residual_m < s.tolerance {
                termination = TerminationReason::Converged;
                break;
            }
            if s.time_limit_s
                .is_some_and(|limit| start.elapsed().as_secs_f64() >= limit)
            {
                termination = TerminationReason::TimeLimit;
                break;
            }
            let theta = s.damping;
            Zip::from(&mut m)
                .and(&phi)
                .for_each(|mk, &p| *mk = (1.0 - theta) * *mk + theta * p);
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
