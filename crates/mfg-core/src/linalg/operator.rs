//! What a Krylov method needs of a matrix and of a preconditioner, and the faer-style
//! parameters / info / error of an iterative solve.

use thiserror::Error;

/// A square linear operator `x ↦ A x`.
pub trait LinearOperator {
    /// The order of `A`.
    fn nrows(&self) -> usize;

    /// `y = A x`.
    ///
    /// # Panics
    /// If `x` or `y` does not have [`LinearOperator::nrows`] entries.
    fn apply(&self, x: &[f64], y: &mut [f64]);
}

/// An approximate inverse `x ↦ M⁻¹ x` of a [`LinearOperator`].
pub trait Preconditioner {
    /// `out = M⁻¹ x`.
    fn apply(&self, x: &[f64], out: &mut [f64]);
}

/// Parameters of an iterative solve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KrylovParams {
    /// Stop when `‖b − A x‖₂ ≤ tolerance ‖b‖₂`.
    pub tolerance: f64,
    /// Give up after this many iterations.
    pub max_iterations: usize,
}

/// What a successful linear solve did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LinearInfo {
    /// Iterations taken (0 for a direct solve).
    pub iterations: usize,
    /// The final `‖b − A x‖₂ / ‖b‖₂` (0 for a direct solve).
    pub relative_residual: f64,
}

/// Why a linear solve failed.
#[derive(Debug, Clone, Copy, PartialEq, Error)]
#[non_exhaustive]
pub enum LinearError {
    /// The tolerance was not reached within the iterations allowed.
    #[error(
        "no convergence after {iterations} iterations (relative residual {relative_residual:e})"
    )]
    NoConvergence {
        /// Iterations taken.
        iterations: usize,
        /// The relative residual reached.
        relative_residual: f64,
    },
    /// The Krylov recurrence broke down (a zero inner product) before the tolerance.
    #[error("breakdown after {iterations} iterations (relative residual {relative_residual:e})")]
    Breakdown {
        /// Iterations taken.
        iterations: usize,
        /// The relative residual reached.
        relative_residual: f64,
    },
}

impl LinearError {
    /// Iterations taken before the failure.
    pub fn iterations(&self) -> usize {
        match *self {
            Self::NoConvergence { iterations, .. } | Self::Breakdown { iterations, .. } => {
                iterations
            }
        }
    }

    /// The relative residual reached.
    pub fn relative_residual(&self) -> f64 {
        match *self {
            Self::NoConvergence {
                relative_residual, ..
            }
            | Self::Breakdown {
                relative_residual, ..
            } => relative_residual,
        }
    }
}
