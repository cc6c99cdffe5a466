//! A manufactured solution of the fully coupled periodic system.

use std::f64::consts::PI;

use mfg_core::{Boundary, Coupling, Forcing, Grid, Problem, TimeGrid};
use ndarray::Array2;

/// A manufactured solution of the fully coupled system on the periodic `[0, 1]`:
///
/// ```text
/// u*(t, x) = a (1 + ½ cos t) cos 2πx
/// m*(t, x) = 1 + b cos(πt/2) sin 2πx          (unit mass, m* ≥ 1 − b > 0)
/// ```
///
/// with linear coupling `F = c m`, λ and σ given, `V = 0`, and the sources
///
/// ```text
/// S_u = −∂t u* − ν ∂xx u* + (∂x u*)²/(2λ) − c m*      (added to f)
/// S_m = ∂t m* − ν ∂xx m* − ∂x(m* ∂x u*/λ)            (added to the FP right-hand side)
/// ```
///
/// `∫ S_m dx = 0`, so the mass stays one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Manufactured {
    /// Amplitude of u*.
    pub a: f64,
    /// Amplitude of m* − 1 (< 1).
    pub b: f64,
    /// Coupling strength c.
    pub strength: f64,
    /// σ.
    pub sigma: f64,
    /// λ.
    pub control_cost: f64,
    /// Horizon.
    pub t_final: f64,
}

impl Default for Manufactured {
    fn default() -> Self {
        Self {
            a: 0.2,
            b: 0.5,
            strength: 1.0,
            sigma: 0.5,
            control_cost: 1.0,
            t_final: 1.0,
        }
    }
}

const K: f64 = 2.0 * PI;

impl Manufactured {
    /// u*.
    pub fn u(&self, t: f64, x: f64) -> f64 {
        self.a * (1.0 + 0.5 * t.cos()) * (K * x).cos()
    }

    /// m*.
    pub fn m(&self, t: f64, x: f64) -> f64 {
        1.0 + self.b * (0.5 * PI * t).cos() * (K * x).sin()
    }

    /// The HJB source S_u.
    pub fn source_u(&self, t: f64, x: f64) -> f64 {
        let nu = 0.5 * self.sigma * self.sigma;
        let amp = self.a * (1.0 + 0.5 * t.cos());
        let u_t = -0.5 * self.a * t.sin() * (K * x).cos();
        let u_x = -amp * K * (K * x).sin();
        let u_xx = -amp * K * K * (K * x).cos();
        -u_t - nu * u_xx + u_x * u_x / (2.0 * self.control_cost) - self.strength * self.m(t, x)
    }

    /// The FP source S_m.
    pub fn source_m(&self, t: f64, x: f64) -> f64 {
        let nu = 0.5 * self.sigma * self.sigma;
        let amp = self.a * (1.0 + 0.5 * t.cos());
        let bt = self.b * (0.5 * PI * t).cos();
        let m_t = -0.5 * PI * self.b * (0.5 * PI * t).sin() * (K * x).sin();
        let m_x = bt * K * (K * x).cos();
        let m_xx = -bt * K * K * (K * x).sin();
        let u_x = -amp * K * (K * x).sin();
        let u_xx = -amp * K * K * (K * x).cos();
        m_t - nu * m_xx - (m_x * u_x + self.m(t, x) * u_xx) / self.control_cost
    }

    /// The forced problem on `nx` intervals and `nt` time steps.
    pub fn problem(&self, nx: usize, nt: usize) -> Problem {
        let grid = Grid::line(0.0, 1.0, nx, Boundary::Periodic).expect("valid grid");
        let time = TimeGrid::new(self.t_final, nt).expect("valid time grid");
        let n = grid.len();
        let mut hjb = Array2::zeros((time.levels(), n));
        let mut fp = Array2::zeros((time.levels(), n));
        for k in 0..time.levels() {
            for i in 0..n {
                let x = grid.point(i)[0];
                hjb[[k, i]] = self.source_u(time.t(k), x);
                fp[[k, i]] = self.source_m(time.t(k), x);
            }
        }
        let s = *self;
        Problem::builder(grid, time)
            .sigma(self.sigma)
            .control_cost(self.control_cost)
            .coupling(Coupling::Linear {
                strength: self.strength,
            })
            .terminal_cost_fn(|x| s.u(s.t_final, x[0]))
            .initial_density_fn(|x| s.m(0.0, x[0]))
            .forcing(Forcing { hjb, fp })
            .build()
            .expect("valid manufactured problem")
    }
}
