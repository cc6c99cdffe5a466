//! The stationary game with the log coupling and a closed-form solution.

use std::f64::consts::PI;

use crate::*;
use mfg_core::{Axis, Boundary, Coupling, Grid, Problem, TimeGrid};

/// A stationary game with an exact solution on the periodic `[0, 1]^d`: `H = |p|²/2`, the log
/// coupling `F = ln m`, and
///
/// ```text
/// u*(x) = ε Σ_d cos 2π x_d,     m*(x) = exp(−u*(x)/ν) / I₀(ε/ν)^d,     λ = −d ln I₀(ε/ν),
/// V(x)  = −ν Δu* + |∇u*|²/2 + u*/ν
/// ```
///
/// (zero flux: `ν ∇m* + m* ∇u* = 0`; HJB `−ν Δu* + |∇u*|²/2 + λ = V + ln m*` holds with this
/// `λ`; `∫ u* = 0`, `∫ m* = 1`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StationaryLog {
    /// ε.
    pub epsilon: f64,
    /// σ (`ν = σ²/2`).
    pub sigma: f64,
}

impl Default for StationaryLog {
    fn default() -> Self {
        Self {
            epsilon: 0.5,
            sigma: 1.0,
        }
    }
}

impl StationaryLog {
    fn nu(&self) -> f64 {
        0.5 * self.sigma * self.sigma
    }

    /// u*.
    pub fn u(&self, x: &[f64]) -> f64 {
        self.epsilon * x.iter().map(|v| (2.0 * PI * v).cos()).sum::<f64>()
    }

    /// m*.
    pub fn m(&self, x: &[f64]) -> f64 {
        let z = bessel_i0(self.epsilon / self.nu()).powi(x.len() as i32);
        (-self.u(x) / self.nu()).exp() / z
    }

    /// λ in `dim` dimensions.
    pub fn lambda(&self, dim: usize) -> f64 {
        -(dim as f64) * bessel_i0(self.epsilon / self.nu()).ln()
    }

    /// The problem on `[0, 1]^dim` with `n` intervals per axis (one time step: the stationary
    /// solver reads no time data; `m0 = 1` is Newton's first guess).
    pub fn problem(&self, dim: usize, n: usize) -> Problem {
        let axes = (0..dim)
            .map(|_| Axis::new(0.0, 1.0, n, Boundary::Periodic).expect("valid axis"))
            .collect();
        let (eps, nu) = (self.epsilon, self.nu());
        let k = 2.0 * PI;
        let potential = move |x: &[f64]| {
            let mut v = 0.0;
            for &xd in x {
                let (c, s) = ((k * xd).cos(), (k * xd).sin());
                // −ν u'' + u'²/2 + u/ν along this axis.
                v += nu * eps * k * k * c + 0.5 * (eps * k * s).powi(2) + eps * c / nu;
            }
            v
        };
        Problem::builder(Grid::new(axes), TimeGrid::new(1.0, 1).expect("valid time"))
            .sigma(self.sigma)
            .control_cost(1.0)
            .coupling(Coupling::Log { strength: 1.0 })
            .potential_fn(potential)
            .initial_density_fn(|_| 1.0)
            .build()
            .expect("valid stationary problem")
    }
}
