//! The uniform time grid.

use crate::error::ProblemError;

/// Uniform time grid: `nt` intervals on `[0, t_final]`, levels `t_k = k dt`, `k = 0..=nt`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeGrid {
    t_final: f64,
    nt: usize,
}

impl TimeGrid {
    /// `nt` intervals on `[0, t_final]`.
    pub fn new(t_final: f64, nt: usize) -> Result<Self, ProblemError> {
        if !(t_final.is_finite() && t_final > 0.0) {
            return Err(ProblemError::InvalidParameter {
                field: "t_final",
                value: t_final,
                hint: "the horizon must be finite and > 0",
            });
        }
        if nt < 1 {
            return Err(ProblemError::InvalidParameter {
                field: "nt",
                value: nt as f64,
                hint: "need at least 1 time interval",
            });
        }
        Ok(Self { t_final, nt })
    }

    /// Horizon T.
    pub fn t_final(&self) -> f64 {
        self.t_final
    }

    /// Number of intervals.
    pub fn nt(&self) -> usize {
        self.nt
    }

    /// Number of levels, `nt + 1`.
    pub fn levels(&self) -> usize {
        self.nt + 1
    }

    /// Time step.
    pub fn dt(&self) -> f64 {
        self.t_final / self.nt as f64
    }

    /// Time of level `k`.
    pub fn t(&self, k: usize) -> f64 {
        k as f64 * self.dt()
    }

    /// All levels.
    pub fn times(&self) -> Vec<f64> {
        (0..self.levels()).map(|k| self.t(k)).collect()
    }
}
