//! The linear–quadratic Gaussian game.

use std::f64::consts::PI;

use mfg_core::{Axis, Boundary, Coupling, Grid, Problem, TimeGrid};

/// The linear–quadratic Gaussian game (no coupling, λ = 1):
/// `f = (q/2)(x − z)²`, `g = (c/2)(x − z)²`, `m0 = N(μ0, Σ0)`, `ν = σ²/2`.
///
/// With `r = √q`, `τ = T − t` and `φ(τ) = cosh(rτ) + (c/r) sinh(rτ)`:
///
/// ```text
/// P(t) = r (c + r tanh rτ) / (r + c tanh rτ) = φ'(τ)/φ(τ)
/// u(t, x) = ½ P(t) (x − z)² + ν ln φ(τ)
/// m(t) = N(μ(t), Σ(t)),  μ = z + (μ0 − z) φ(τ)/φ(T),
/// Σ = φ(τ)² [Σ0/φ(T)² + (2ν/r)(sinh(rT)/φ(T) − sinh(rτ)/φ(τ))]
/// ```
///
/// The default is the case of the foundation issue: `ν = 0.3`, `q = 2`, `c = 0.5`, `z = 0.7`,
/// `μ0 = −0.4`, `Σ0 = 0.05`, `T = 1`, on `[−4, 4]` with no-flux walls (the Gaussians are
/// negligible there).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LqGaussian {
    /// ν = σ²/2.
    pub nu: f64,
    /// Running cost weight.
    pub q: f64,
    /// Terminal cost weight.
    pub c: f64,
    /// Target.
    pub z: f64,
    /// Initial mean.
    pub mu0: f64,
    /// Initial variance.
    pub var0: f64,
    /// Horizon.
    pub t_final: f64,
    /// Domain.
    pub domain: [f64; 2],
}

impl Default for LqGaussian {
    fn default() -> Self {
        Self {
            nu: 0.3,
            q: 2.0,
            c: 0.5,
            z: 0.7,
            mu0: -0.4,
            var0: 0.05,
            t_final: 1.0,
            domain: [-4.0, 4.0],
        }
    }
}

impl LqGaussian {
    fn r(&self) -> f64 {
        self.q.sqrt()
    }

    fn phi(&self, tau: f64) -> f64 {
        let r = self.r();
        (r * tau).cosh() + self.c / r * (r * tau).sinh()
    }

    /// σ = √(2ν).
    pub fn sigma(&self) -> f64 {
        (2.0 * self.nu).sqrt()
    }

    /// The Riccati coefficient P(t).
    pub fn p(&self, t: f64) -> f64 {
        let (r, c) = (self.r(), self.c);
        let th = (r * (self.t_final - t)).tanh();
        r * (c + r * th) / (r + c * th)
    }

    /// The exact value function.
    pub fn u(&self, t: f64, x: f64) -> f64 {
        let tau = self.t_final - t;
        0.5 * self.p(t) * (x - self.z).powi(2) + self.nu * self.phi(tau).ln()
    }

    /// Mean of m(t).
    pub fn mean(&self, t: f64) -> f64 {
        let tau = self.t_final - t;
        self.z + (self.mu0 - self.z) * self.phi(tau) / self.phi(self.t_final)
    }

    /// Variance of m(t).
    pub fn variance(&self, t: f64) -> f64 {
        let r = self.r();
        let (tau, big_t) = (self.t_final - t, self.t_final);
        let (pt, pbig) = (self.phi(tau), self.phi(big_t));
        pt * pt
            * (self.var0 / (pbig * pbig)
                + 2.0 * self.nu / r * ((r * big_t).sinh() / pbig - (r * tau).sinh() / pt))
    }

    /// The exact density.
    pub fn m(&self, t: f64, x: f64) -> f64 {
        let (mu, var) = (self.mean(t), self.variance(t));
        (-(x - mu).powi(2) / (2.0 * var)).exp() / (2.0 * PI * var).sqrt()
    }

    /// The problem on `nx` intervals and `nt` time steps.
    pub fn problem(&self, nx: usize, nt: usize) -> Problem {
        self.problem_in(1, nx, nt)
    }

    /// The separable 2D game ([`LqGaussian::problem_in`] with `dim = 2`).
    pub fn problem_2d(&self, nx: usize, nt: usize) -> Problem {
        self.problem_in(2, nx, nt)
    }

    /// The separable game in `dim` dimensions on `domain^dim` with `nx` intervals per axis:
    /// `f = (q/2) Σ_d (x_d − z)²`, `g` likewise, `m0 = ⊗_d N(μ0, Σ0)`. Its solution is
    /// `Σ_d u(t, x_d)` (the 1D value function in each coordinate) and the product of the 1D
    /// densities ([`LqGaussian::u_in`], [`LqGaussian::m_in`]).
    pub fn problem_in(&self, dim: usize, nx: usize, nt: usize) -> Problem {
        let [a, b] = self.domain;
        let axes = (0..dim)
            .map(|_| Axis::new(a, b, nx, Boundary::NoFlux).expect("valid LQ axis"))
            .collect();
        let s = *self;
        let square = move |p: &[f64], centre: f64| -> f64 {
            p.iter().fold(0.0, |acc, v| acc + (v - centre).powi(2))
        };
        Problem::builder(
            Grid::new(axes),
            TimeGrid::new(self.t_final, nt).expect("valid LQ time grid"),
        )
        .sigma(self.sigma())
        .control_cost(1.0)
        .coupling(Coupling::None)
        .potential_fn(|p| 0.5 * s.q * square(p, s.z))
        .terminal_cost_fn(|p| 0.5 * s.c * square(p, s.z))
        .initial_density_fn(|p| (-square(p, s.mu0) / (2.0 * s.var0)).exp())
        .build()
        .expect("valid LQ problem")
    }

    /// The exact value function in any dimension, `Σ_d u(t, x_d)`.
    pub fn u_in(&self, t: f64, x: &[f64]) -> f64 {
        x.iter().map(|&v| self.u(t, v)).sum()
    }

    /// The exact density in any dimension, `Π_d m(t, x_d)`.
    pub fn m_in(&self, t: f64, x: &[f64]) -> f64 {
        x.iter().map(|&v| self.m(t, v)).product()
    }

    /// The exact 2D value function `u(t, x) + u(t, y)`.
    pub fn u_2d(&self, t: f64, x: f64, y: f64) -> f64 {
        self.u_in(t, &[x, y])
    }

    /// The exact 2D density `m(t, x) m(t, y)`.
    pub fn m_2d(&self, t: f64, x: f64, y: f64) -> f64 {
        self.m_in(t, &[x, y])
    }
}
