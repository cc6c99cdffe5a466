//! Nested iteration: the first guess of a fine solve from the same problem solved on coarser
//! grids ([`crate::grid::Grid::coarsened`]), recursively.

use std::time::Instant;

use ndarray::Array2;
use tracing::info;

use super::driver::Driver;
use super::settings::IterationSettings;
use super::solution::{CoarseSolve, IterationRecord};
use crate::error::MfgError;
use crate::model::problem::Problem;

/// The nested iteration stops coarsening below this many points per level.
pub const COARSE_MIN_POINTS: usize = 4096;
/// The coarse problems of a nested iteration are solved to this tolerance (or the target's,
/// if coarser): their densities differ from the fine one by their discretisation error.
const COARSE_TOLERANCE: f64 = 1e-3;

impl Driver<'_, '_> {
    /// The first guess of a nested iteration: `problem` on [`Grid::coarsened`] (itself from
    /// its own coarser guess), solved to [`COARSE_TOLERANCE`] without reports, its density
    /// interpolated to `problem`'s grid; `None` when the grid is too small to coarsen or the
    /// coarse solve fails (the fine solve then starts from m0). Each coarse solve is recorded
    /// in `done`, coarsest first.
    pub(super) fn coarse_guess(
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
}
