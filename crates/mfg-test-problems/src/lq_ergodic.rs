//! The stationary linear–quadratic game.

use std::f64::consts::PI;

use crate::*;
use mfg_core::{Axis, Boundary, Coupling, Grid, Problem, TimeGrid};

/// The stationary linear–quadratic game (`H = |p|²/2`, no coupling, `f = (q/2)|x − z|²`) on
/// `[−4, 4]^d` with no-flux walls: `u = (r/2)|x − z|² + c` with `r = √q`, `m = N(z, ν/r)` in
/// every coordinate, `λ = d ν r`. It is [`LqGaussian`]'s long-horizon limit (the turnpike).
/// The walls bend `u` in a layer where `m` is below `10⁻⁷`, which also moves its mean:
/// compare `u` up to a constant, away from the walls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LqErgodic {
    /// `q`.
    pub q: f64,
    /// The target `z`.
    pub z: f64,
    /// σ.
    pub sigma: f64,
}

impl Default for LqErgodic {
    fn default() -> Self {
        let lq = LqGaussian::default();
        Self {
            q: lq.q,
            z: lq.z,
            sigma: lq.sigma(),
        }
    }
}

impl LqErgodic {
    fn nu(&self) -> f64 {
        0.5 * self.sigma * self.sigma
    }

    /// `u − u(z)`.
    pub fn u(&self, x: &[f64]) -> f64 {
        0.5 * self.q.sqrt() * x.iter().map(|v| (v - self.z).powi(2)).sum::<f64>()
    }

    /// m.
    pub fn m(&self, x: &[f64]) -> f64 {
        let var = self.nu() / self.q.sqrt();
        x.iter()
            .map(|v| (-(v - self.z).powi(2) / (2.0 * var)).exp() / (2.0 * PI * var).sqrt())
            .product()
    }

    /// λ in `dim` dimensions.
    pub fn lambda(&self, dim: usize) -> f64 {
        dim as f64 * self.nu() * self.q.sqrt()
    }

    /// The problem on `[−4, 4]^dim` with `n` intervals per axis.
    pub fn problem(&self, dim: usize, n: usize) -> Problem {
        let axes = (0..dim)
            .map(|_| Axis::new(-4.0, 4.0, n, Boundary::NoFlux).expect("valid axis"))
            .collect();
        let s = *self;
        Problem::builder(Grid::new(axes), TimeGrid::new(1.0, 1).expect("valid time"))
            .sigma(self.sigma)
            .control_cost(1.0)
            .coupling(Coupling::None)
            .potential_fn(move |x| 0.5 * s.q * x.iter().map(|v| (v - s.z).powi(2)).sum::<f64>())
            .initial_density_fn(|_| 1.0)
            .build()
            .expect("valid stationary problem")
    }
}
