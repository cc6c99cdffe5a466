//! The iterate, the work arrays and the bookkeeping of one solve: the map evaluation
//! `Φ(m^k)`, the termination test and the next iterate (damped, Anderson or Newton).

use std::time::Instant;

use ndarray::{Array2, ArrayView2, Zip};
use rayon::prelude::*;
use tracing::debug;

use super::anderson::{Anderson, Safeguard, StepKind};
use super::newton::NewtonStepper;
use super::norms::{change, weighted_distance};
use super::settings::{AndersonTarget, IterationMethod, IterationSettings};
use super::solution::{IterationRecord, MfgSolution, TerminationReason, Timings};
use crate::error::MfgError;
use crate::grid::Grid;
use crate::linalg::kernels;
use crate::model::problem::Problem;
use crate::solver::{FpSolver, HjbSolver};

/// The iterate, the work arrays and the bookkeeping of one solve (allocated once).
pub(super) struct IterationState {
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
    pub(super) history: Vec<IterationRecord>,
    pub(super) timings: Timings,
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
    pub(super) fn new(
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
    pub(super) fn evaluate(
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
    pub(super) fn diverged(
        &self,
        s: &IterationSettings,
        r: &IterationRecord,
    ) -> Result<(), MfgError> {
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
    pub(super) fn termination(
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
    pub(super) fn advance(
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
    pub(super) fn restore_last_complete(&mut self) -> bool {
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
    pub(super) fn finish(mut self, grid: &Grid, termination: TerminationReason) -> MfgSolution {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::Boundary;

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
