//! Settings of the coupling iteration.

use crate::error::ProblemError;

/// The vector Anderson acceleration mixes (see docs/PERFORMANCE.md for the measurement that
/// chose the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AndersonTarget {
    /// The density alone: `x = m`, `G(x) = Φ(m)`.
    Density,
    /// The pair: `x = (m, u)`, `G(x) = (Φ(m), HJB(m))`; the least squares sees both residuals.
    ValueAndDensity,
}

/// How the coupling iteration forms its next iterate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum IterationMethod {
    /// Damped Picard, `m ← (1 − θ) m + θ Φ(m)`, Anderson-accelerated when
    /// [`IterationSettings::anderson_depth`] > 0.
    #[default]
    FixedPoint,
    /// Newton's method on the coupled discrete system (see [`crate::newton`]): quadratic
    /// convergence, no damping. Needs the finite-difference HJB and FP schemes, whose discrete
    /// equations its Jacobian differentiates.
    Newton,
}

impl IterationMethod {
    /// The name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::FixedPoint => "fixed-point",
            Self::Newton => "newton",
        }
    }
}

/// Settings of [`crate::FixedPointIterator`].
///
/// ```
/// use mfg_core::IterationSettings;
/// let s = IterationSettings { damping: 0.3, ..Default::default() };
/// assert!(s.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct IterationSettings {
    /// How the next iterate is formed. Default [`IterationMethod::FixedPoint`].
    pub method: IterationMethod,
    /// When to go along a homotopy from an easy problem. Default
    /// [`crate::Continuation::Off`].
    pub continuation: crate::nonlinear::Continuation,
    /// Stop after this many Picard iterations (termination `max-iterations`). Default 200.
    pub max_iterations: usize,
    /// Converged when both relative residuals are below this. Default 1e-8.
    pub tolerance: f64,
    /// θ in `m ← (1 − θ) m + θ Φ(m)`, in (0, 1]. Default 0.5.
    pub damping: f64,
    /// Anderson depth; 0 is plain damped Picard. Default 0.
    pub anderson_depth: usize,
    /// Tikhonov regularisation of Anderson's least squares, relative to the largest squared
    /// column norm. Default 1e-12.
    pub anderson_regularization: f64,
    /// The safeguard falls back to the damped step when the residual after an accelerated
    /// step exceeds this multiple of the residual before it (≥ 1). Default 1.
    pub anderson_safeguard_growth: f64,
    /// What Anderson's least squares sees. Default [`AndersonTarget::Density`].
    pub anderson_target: AndersonTarget,
    /// Stop (termination `stagnation`) when the larger residual has not improved on its best
    /// value by 0.1 % for this many iterations; 0 disables. Default 30.
    pub stagnation_window: usize,
    /// Stop (termination `time-limit`) when the solve has run this many seconds. Default none.
    pub time_limit_s: Option<f64>,
    /// A residual above this is divergence (an error). Default 1e6.
    pub divergence_threshold: f64,
    /// Inexact inner solves: before every map evaluation the HJB and FP solvers are asked
    /// ([`crate::HjbSolver::set_accuracy`]) for a relative accuracy of this factor times the
    /// larger residual of the previous iteration, clamped to
    /// `[inner_accuracy · tolerance, 1e-3]`. Early iterations, far from the fixed point, then
    /// do not pay for inner solves to round-off; the last ones still solve 1/`inner_accuracy`
    /// times more accurately than the tolerance. Solvers with direct inner solves (all 1D ones)
    /// ignore it. 0 disables (every solver keeps its own tolerance). Default 1e-3.
    pub inner_accuracy: f64,
    /// Nested iteration: first solve the problem on the grid with half the intervals
    /// ([`crate::Grid::coarsened`], recursively down to [`crate::coupling::COARSE_MIN_POINTS`]
    /// points, each to `max(tolerance, 1e-4)`), and start from its density, interpolated.
    /// Ignored with an initial guess. Default false.
    pub coarse_start: bool,
}

impl Default for IterationSettings {
    fn default() -> Self {
        Self {
            method: IterationMethod::FixedPoint,
            continuation: crate::nonlinear::Continuation::Off,
            max_iterations: 200,
            tolerance: 1e-8,
            damping: 0.5,
            anderson_depth: 0,
            anderson_regularization: 1e-12,
            anderson_safeguard_growth: 1.0,
            anderson_target: AndersonTarget::Density,
            stagnation_window: 30,
            time_limit_s: None,
            divergence_threshold: 1e6,
            inner_accuracy: 1e-3,
            coarse_start: false,
        }
    }
}

impl IterationSettings {
    /// Check every value; the error names the field.
    pub fn validate(&self) -> Result<(), ProblemError> {
        if self.max_iterations < 1 {
            return Err(ProblemError::InvalidParameter {
                field: "max_iterations",
                value: 0.0,
                hint: "need at least 1 iteration",
            });
        }
        if !(self.tolerance.is_finite() && self.tolerance > 0.0 && self.tolerance < 1.0) {
            return Err(ProblemError::InvalidParameter {
                field: "tolerance",
                value: self.tolerance,
                hint: "must be in (0, 1): it bounds relative residuals (for example 1e-8)",
            });
        }
        if !(self.damping > 0.0 && self.damping <= 1.0) {
            return Err(ProblemError::InvalidParameter {
                field: "damping",
                value: self.damping,
                hint: "must be in (0, 1]; 0.5 is a safe start, 1 is undamped Picard",
            });
        }
        if self.anderson_depth > 50 {
            return Err(ProblemError::InvalidParameter {
                field: "anderson_depth",
                value: self.anderson_depth as f64,
                hint: "use a depth from 0 (off) to 50; 5 is a good start",
            });
        }
        if !(self.anderson_safeguard_growth.is_finite() && self.anderson_safeguard_growth >= 1.0) {
            return Err(ProblemError::InvalidParameter {
                field: "anderson_safeguard_growth",
                value: self.anderson_safeguard_growth,
                hint: "must be finite and >= 1",
            });
        }
        if !(self.anderson_regularization.is_finite() && self.anderson_regularization >= 0.0) {
            return Err(ProblemError::InvalidParameter {
                field: "anderson_regularization",
                value: self.anderson_regularization,
                hint: "must be finite and >= 0 (for example 1e-12)",
            });
        }
        if let Some(t) = self.time_limit_s {
            if !(t.is_finite() && t > 0.0) {
                return Err(ProblemError::InvalidParameter {
                    field: "time_limit_s",
                    value: t,
                    hint: "must be finite and > 0 seconds",
                });
            }
        }
        if !(self.divergence_threshold.is_finite() && self.divergence_threshold > 1.0) {
            return Err(ProblemError::InvalidParameter {
                field: "divergence_threshold",
                value: self.divergence_threshold,
                hint: "must be finite and > 1",
            });
        }
        if !(self.inner_accuracy.is_finite() && (0.0..1.0).contains(&self.inner_accuracy)) {
            return Err(ProblemError::InvalidParameter {
                field: "inner_accuracy",
                value: self.inner_accuracy,
                hint: "must be in [0, 1): 1e-3 asks inner solves for 0.1 % of the current residual, 0 disables",
            });
        }
        Ok(())
    }

    /// The relative accuracy requested of the inner solves when the previous iteration's larger
    /// residual was `residual` (`None` when [`Self::inner_accuracy`] is 0).
    pub fn inner_accuracy_for(&self, residual: f64) -> Option<f64> {
        (self.inner_accuracy > 0.0).then(|| {
            // Never above 1e-3, never below inner_accuracy × tolerance (when that is itself
            // below 1e-3: a large inner_accuracy with a coarse tolerance asks for 1e-3).
            let floor = (self.inner_accuracy * self.tolerance).min(1e-3);
            (self.inner_accuracy * residual).clamp(floor, 1e-3)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tolerance_of_one_or_more_is_rejected_not_a_panic() {
        for tolerance in [1.0, 2.0, f64::INFINITY, 0.0, -1e-3] {
            let s = IterationSettings {
                tolerance,
                ..Default::default()
            };
            let e = s.validate().unwrap_err();
            assert!(e.to_string().contains("tolerance"), "{e}");
        }
    }

    #[test]
    fn the_inner_accuracy_request_is_defined_for_every_valid_pair() {
        // inner_accuracy 0.5 with tolerance 0.01: the floor 0.005 lies above the cap 1e-3.
        for (inner, tolerance) in [(0.5, 0.01), (0.999, 0.5), (1e-3, 1e-8), (1e-6, 1e-12)] {
            let s = IterationSettings {
                inner_accuracy: inner,
                tolerance,
                ..Default::default()
            };
            s.validate().unwrap();
            for residual in [1e3, 1.0, 1e-4, 1e-12, 0.0] {
                let a = s.inner_accuracy_for(residual).unwrap();
                assert!(a > 0.0 && a <= 1e-3, "{inner} {tolerance} {residual}: {a}");
            }
        }
    }
}
