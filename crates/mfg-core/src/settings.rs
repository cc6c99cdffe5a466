//! Settings of the coupling iteration.

use crate::error::ProblemError;

/// Settings of [`crate::FixedPointIterator`].
///
/// ```
/// use mfg_core::IterationSettings;
/// let s = IterationSettings { damping: 0.3, ..Default::default() };
/// assert!(s.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct IterationSettings {
    /// Stop after this many Picard iterations (termination `max-iterations`). Default 200.
    pub max_iterations: usize,
    /// Converged when both relative residuals are below this. Default 1e-8.
    pub tolerance: f64,
    /// θ in `m ← (1 − θ) m + θ Φ(m)`, in (0, 1]. Default 0.5.
    pub damping: f64,
    /// Anderson depth; 0 is plain damped Picard (the only choice built so far). Default 0.
    pub anderson_depth: usize,
    /// Stop (termination `time-limit`) when the solve has run this many seconds. Default none.
    pub time_limit_s: Option<f64>,
    /// A residual above this is divergence (an error). Default 1e6.
    pub divergence_threshold: f64,
}

impl Default for IterationSettings {
    fn default() -> Self {
        Self {
            max_iterations: 200,
            tolerance: 1e-8,
            damping: 0.5,
            anderson_depth: 0,
            time_limit_s: None,
            divergence_threshold: 1e6,
        }
    }
}

impl IterationSettings {
    /// Check every value; the error names the config key.
    pub fn validate(&self) -> Result<(), ProblemError> {
        if self.max_iterations < 1 {
            return Err(ProblemError::InvalidParameter {
                field: "iteration.max_iterations",
                value: 0.0,
                hint: "need at least 1 iteration",
            });
        }
        if !(self.tolerance.is_finite() && self.tolerance > 0.0) {
            return Err(ProblemError::InvalidParameter {
                field: "iteration.tolerance",
                value: self.tolerance,
                hint: "must be finite and > 0 (for example 1e-8)",
            });
        }
        if !(self.damping > 0.0 && self.damping <= 1.0) {
            return Err(ProblemError::InvalidParameter {
                field: "iteration.damping",
                value: self.damping,
                hint: "must be in (0, 1]; 0.5 is a safe start, 1 is undamped Picard",
            });
        }
        if self.anderson_depth > 0 {
            return Err(ProblemError::Unsupported {
                what: "iteration.anderson_depth > 0 (Anderson acceleration); set it to 0",
            });
        }
        if let Some(t) = self.time_limit_s {
            if !(t.is_finite() && t > 0.0) {
                return Err(ProblemError::InvalidParameter {
                    field: "iteration.time_limit_s",
                    value: t,
                    hint: "must be finite and > 0 seconds",
                });
            }
        }
        if !(self.divergence_threshold.is_finite() && self.divergence_threshold > 1.0) {
            return Err(ProblemError::InvalidParameter {
                field: "iteration.divergence_threshold",
                value: self.divergence_threshold,
                hint: "must be finite and > 1",
            });
        }
        Ok(())
    }
}
