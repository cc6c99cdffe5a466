//! The continuation (homotopy) shared by the drivers: when to use it and its step rules.

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
pub(crate) const CONTINUATION_TOLERANCE: f64 = 1e-5;
/// The stagnation window of the solves along the path.
pub(crate) const CONTINUATION_WINDOW: usize = 10;
/// The smallest homotopy step before the continuation gives up.
pub const MIN_HOMOTOPY_STEP: f64 = 1.0 / 256.0;
