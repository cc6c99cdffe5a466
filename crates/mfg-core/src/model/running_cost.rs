//! The density-dependent running cost `F(t, x, m)`: the trait and the built-in local costs.

use std::fmt;
use std::sync::Arc;

use crate::error::ProblemError;
use crate::grid::Grid;

/// Floor applied to the density inside `ln` for [`Coupling::Log`]: `F(m) = c ln(max(m, floor))`.
pub const LOG_DENSITY_FLOOR: f64 = 1e-12;

/// The density-dependent part `F(x, m)` of the running cost `f(x, m) = V(x) + F(x, m)`.
///
/// `F` non-decreasing in `m` is crowd aversion (monotone coupling: a unique solution).
///
/// ```
/// use mfg_core::{Boundary, Grid, Problem, RunningCost, TimeGrid};
///
/// /// F(x, m) = x m: aversion that grows to the right.
/// #[derive(Debug)]
/// struct Graded;
///
/// impl RunningCost for Graded {
///     fn name(&self) -> &'static str { "graded" }
///     fn value(&self, _t: f64, x: &[f64], m: f64) -> f64 { x[0] * m }
///     fn dm(&self, _t: f64, x: &[f64], _m: f64) -> f64 { x[0] }
/// }
///
/// let grid = Grid::line(0.0, 1.0, 10, Boundary::NoFlux).unwrap();
/// let p = Problem::builder(grid, TimeGrid::new(1.0, 5).unwrap())
///     .coupling(Graded)
///     .build()
///     .unwrap();
/// let mut f = vec![0.0; 11];
/// p.running_cost_into(0, &[2.0; 11], &mut f);
/// assert!((f[5] - 1.0).abs() < 1e-15);
/// ```
pub trait RunningCost: fmt::Debug + Send + Sync {
    /// A short name (`linear`, ...), as in config files.
    fn name(&self) -> &'static str;

    /// The parameters, for reports.
    fn parameters(&self) -> Vec<(&'static str, f64)> {
        Vec::new()
    }

    /// `F(t, x, m)`.
    fn value(&self, t: f64, x: &[f64], m: f64) -> f64;

    /// `∂F/∂m (t, x, m)`.
    fn dm(&self, t: f64, x: &[f64], m: f64) -> f64;

    /// Check the parameters (called once, when the problem is built).
    fn validate(&self) -> Result<(), ProblemError> {
        Ok(())
    }

    /// Whether `F(x, m)` depends on the density at `x` only (the default). A nonlocal cost
    /// (such as [`crate::Nonlocal`]) returns false and overrides [`RunningCost::add_into`] and
    /// [`RunningCost::derivative_into`], which the solvers then call instead of the per-point
    /// `value` and `dm`; the stationary solver (a sparse factorisation) refuses it.
    fn is_local(&self) -> bool {
        true
    }

    /// `out_i += F(t, x_i, m_i)` at every grid point (for a nonlocal cost `F[m](x_i)`).
    fn add_into(&self, grid: &Grid, t: f64, m: &[f64], out: &mut [f64]) {
        for (i, (o, mi)) in out.iter_mut().zip(m).enumerate() {
            *o += self.value(t, grid.point(i), *mi);
        }
    }

    /// `out = (∂F/∂m at m) v`, the derivative applied to a direction (Newton's products): for a
    /// local cost `out_i = ∂F/∂m(x_i, m_i) v_i`.
    fn derivative_into(&self, grid: &Grid, t: f64, m: &[f64], v: &[f64], out: &mut [f64]) {
        for (i, ((o, mi), vi)) in out.iter_mut().zip(m).zip(v).enumerate() {
            *o = self.dm(t, grid.point(i), *mi) * vi;
        }
    }
}

/// `scale · F`: a running cost scaled along a continuation.
#[derive(Debug)]
pub(crate) struct Scaled {
    pub(crate) inner: Arc<dyn RunningCost>,
    pub(crate) scale: f64,
    /// The inner cost's values, for a nonlocal one (allocated on first use).
    pub(crate) scratch: std::sync::Mutex<Vec<f64>>,
}

impl RunningCost for Scaled {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn parameters(&self) -> Vec<(&'static str, f64)> {
        let mut p = self.inner.parameters();
        p.push(("continuation_scale", self.scale));
        p
    }

    fn value(&self, t: f64, x: &[f64], m: f64) -> f64 {
        self.scale * self.inner.value(t, x, m)
    }

    fn dm(&self, t: f64, x: &[f64], m: f64) -> f64 {
        self.scale * self.inner.dm(t, x, m)
    }

    fn is_local(&self) -> bool {
        self.inner.is_local()
    }

    fn add_into(&self, grid: &Grid, t: f64, m: &[f64], out: &mut [f64]) {
        if self.inner.is_local() {
            for (i, (o, mi)) in out.iter_mut().zip(m).enumerate() {
                *o += self.value(t, grid.point(i), *mi);
            }
            return;
        }
        let mut f = self.scratch.lock().unwrap_or_else(|e| e.into_inner());
        f.clear();
        f.resize(out.len(), 0.0);
        self.inner.add_into(grid, t, m, &mut f);
        for (o, v) in out.iter_mut().zip(f.iter()) {
            *o += self.scale * v;
        }
    }

    fn derivative_into(&self, grid: &Grid, t: f64, m: &[f64], v: &[f64], out: &mut [f64]) {
        self.inner.derivative_into(grid, t, m, v, out);
        out.iter_mut().for_each(|o| *o *= self.scale);
    }
}

/// The built-in local couplings `F(m)`.
///
/// `strength > 0` is crowd aversion (monotone coupling: a unique solution); `< 0` is
/// attraction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Coupling {
    /// `F = 0`.
    None,
    /// `F = c m`.
    Linear {
        /// `c`.
        strength: f64,
    },
    /// `F = c ln(max(m, LOG_DENSITY_FLOOR))`.
    Log {
        /// `c`.
        strength: f64,
    },
    /// `F = c max(m, 0)^p`.
    Power {
        /// `c`.
        strength: f64,
        /// `p > 0`.
        exponent: f64,
    },
}

impl Coupling {
    /// `F(m)`.
    #[inline(always)]
    pub fn eval(&self, m: f64) -> f64 {
        match *self {
            Coupling::None => 0.0,
            Coupling::Linear { strength } => strength * m,
            Coupling::Log { strength } => strength * m.max(LOG_DENSITY_FLOOR).ln(),
            Coupling::Power { strength, exponent } => strength * m.max(0.0).powf(exponent),
        }
    }

    /// `F'(m)`.
    #[inline(always)]
    pub fn derivative(&self, m: f64) -> f64 {
        match *self {
            Coupling::None => 0.0,
            Coupling::Linear { strength } => strength,
            Coupling::Log { strength } if m > LOG_DENSITY_FLOOR => strength / m,
            Coupling::Log { .. } => 0.0,
            Coupling::Power { strength, exponent } if m > 0.0 => {
                strength * exponent * m.powf(exponent - 1.0)
            }
            Coupling::Power { .. } => 0.0,
        }
    }
}

impl RunningCost for Coupling {
    fn name(&self) -> &'static str {
        match self {
            Coupling::None => "none",
            Coupling::Linear { .. } => "linear",
            Coupling::Log { .. } => "log",
            Coupling::Power { .. } => "power",
        }
    }

    fn parameters(&self) -> Vec<(&'static str, f64)> {
        match *self {
            Coupling::None => vec![],
            Coupling::Linear { strength } | Coupling::Log { strength } => {
                vec![("strength", strength)]
            }
            Coupling::Power { strength, exponent } => {
                vec![("strength", strength), ("exponent", exponent)]
            }
        }
    }

    #[inline(always)]
    fn value(&self, _t: f64, _x: &[f64], m: f64) -> f64 {
        self.eval(m)
    }

    #[inline(always)]
    fn dm(&self, _t: f64, _x: &[f64], m: f64) -> f64 {
        self.derivative(m)
    }

    fn add_into(&self, _grid: &Grid, _t: f64, m: &[f64], out: &mut [f64]) {
        if let Coupling::None = self {
            return;
        }
        for (o, mi) in out.iter_mut().zip(m) {
            *o += self.eval(*mi);
        }
    }

    fn validate(&self) -> Result<(), ProblemError> {
        let strength = match *self {
            Coupling::None => return Ok(()),
            Coupling::Linear { strength } | Coupling::Log { strength } => strength,
            Coupling::Power { strength, exponent } => {
                if !(exponent.is_finite() && exponent > 0.0) {
                    return Err(ProblemError::InvalidParameter {
                        field: "coupling exponent",
                        value: exponent,
                        hint: "the exponent p must be finite and > 0",
                    });
                }
                strength
            }
        };
        if !strength.is_finite() {
            return Err(ProblemError::InvalidParameter {
                field: "coupling strength",
                value: strength,
                hint: "must be a finite number",
            });
        }
        Ok(())
    }
}
