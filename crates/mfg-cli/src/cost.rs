//! The running cost of `model.running_cost`: an expression `f(t, x, m)` (with `y`, `z` on 2D
//! and 3D grids) and its derivative in `m`, taken symbolically ([`Expr::derivative`]), for
//! Newton's Jacobian and the stationary solver.
//!
//! ```
//! use mfg_cli::cost::ExprCost;
//! use mfg_core::RunningCost;
//! let f = ExprCost::parse("(x - 0.5)^2 * (1 + t) + 0.3 * m^2", 1).unwrap();
//! assert!((f.value(1.0, &[0.0], 2.0) - (0.5 + 1.2)).abs() < 1e-15);
//! assert!((f.dm(0.0, &[0.0], 2.0) - 1.2).abs() < 1e-15);
//! ```

use mfg_core::RunningCost;

use crate::expr::{Expr, ExprError};

/// `f(t, x, m)` and `∂f/∂m` from one expression; the whole running cost (it replaces
/// `model.potential` and `model.coupling`).
#[derive(Debug, Clone)]
pub struct ExprCost {
    f: Expr,
    dfdm: Expr,
    dim: usize,
}

/// The variables of a `dim`-dimensional running cost, in the order [`ExprCost`] evaluates.
fn variables(dim: usize) -> &'static [&'static str] {
    match dim {
        1 => &["x", "t", "m"],
        2 => &["x", "y", "t", "m"],
        _ => &["x", "y", "z", "t", "m"],
    }
}

impl ExprCost {
    /// Parse `source` in `x` (`y`, `z` up to `dim`), `t` and `m`.
    pub fn parse(source: &str, dim: usize) -> Result<Self, ExprError> {
        let f = Expr::parse(source, variables(dim))?;
        let dfdm = f.derivative("m").expect("m is a variable");
        Ok(Self { f, dfdm, dim })
    }

    /// Whether `f` depends on `t` (a stationary problem has no time).
    pub fn depends_on_time(&self) -> bool {
        self.f.depends_on("t")
    }

    /// Whether `f` depends on `m` (the coupling).
    pub fn depends_on_density(&self) -> bool {
        self.f.depends_on("m")
    }

    #[inline]
    fn args(&self, t: f64, x: &[f64], m: f64) -> ([f64; 5], usize) {
        let mut a = [0.0; 5];
        a[..self.dim].copy_from_slice(&x[..self.dim]);
        a[self.dim] = t;
        a[self.dim + 1] = m;
        (a, self.dim + 2)
    }
}

impl RunningCost for ExprCost {
    fn name(&self) -> &'static str {
        "expression"
    }

    #[inline]
    fn value(&self, t: f64, x: &[f64], m: f64) -> f64 {
        let (a, n) = self.args(t, x, m);
        self.f.eval(&a[..n])
    }

    #[inline]
    fn dm(&self, t: f64, x: &[f64], m: f64) -> f64 {
        let (a, n) = self.args(t, x, m);
        self.dfdm.eval(&a[..n])
    }
}
