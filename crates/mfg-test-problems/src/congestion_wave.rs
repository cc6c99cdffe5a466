//! An exact stationary pair with congestion.

use std::f64::consts::PI;

use crate::*;
use mfg_core::{Axis, Boundary, Coupling, Grid, Problem, RunningCost, TimeGrid, MAX_DIM};

/// An exact stationary solution with congestion, `H = s(m) |p|²/(2λ)`,
/// `s(m) = (c₀ + m)^{−α}` ([`mfg_core::Congestion`]), on the periodic `[0, 1]^d`, along the
/// diagonal `s = x_1 + … + x_d`:
///
/// ```text
/// m*(x) = exp(−ε cos 2πs) / I₀(ε),      u*'(s) = −λ ν (c₀ + m*)^α (ln m*)'  (zero flux),
/// V(x)  = −ν d u*'' + s(m*) d u*'² / (2λ) − F(m*)                         (HJB, λ_erg = 0)
/// ```
///
/// `u*` by Gauss–Legendre from a table (as [`StationaryWave`]); `(ln m*)' = 2πε sin 2πs` is odd
/// about `s = 1/2` and so is `u*'`: `u*` is periodic. The time-dependent game started from
/// `m*` with `g = u*` keeps `(u*, m*)`.
#[derive(Debug, Clone)]
pub struct CongestionWave {
    /// λ.
    pub control_cost: f64,
    /// c₀.
    pub offset: f64,
    /// α.
    pub exponent: f64,
    /// ε.
    pub epsilon: f64,
    /// σ.
    pub sigma: f64,
    /// The local coupling `F`.
    pub coupling: Coupling,
    /// d.
    pub dim: usize,
    /// `u*` at the cell edges `j / 4096`.
    table: Vec<f64>,
}

impl CongestionWave {
    const CELLS: usize = 4096;

    /// The wave for these parameters (`c₀ > 0`, `α ∈ [0, 2]`, `σ > 0`, `dim` 1 to 3).
    pub fn new(
        control_cost: f64,
        offset: f64,
        exponent: f64,
        epsilon: f64,
        sigma: f64,
        coupling: Coupling,
        dim: usize,
    ) -> Self {
        assert!((1..=MAX_DIM).contains(&dim) && sigma > 0.0 && offset > 0.0);
        let mut w = Self {
            control_cost,
            offset,
            exponent,
            epsilon,
            sigma,
            coupling,
            dim,
            table: Vec::new(),
        };
        let h = 1.0 / Self::CELLS as f64;
        let mut table = vec![0.0];
        for j in 0..Self::CELLS {
            let next = table[j] + w.integral(j as f64 * h, (j + 1) as f64 * h);
            table.push(next);
        }
        w.table = table;
        w
    }

    fn nu(&self) -> f64 {
        0.5 * self.sigma * self.sigma
    }

    /// `m*` on the plane `Σ x = s`.
    fn m_of(&self, s: f64) -> f64 {
        (-self.epsilon * (2.0 * PI * s).cos()).exp() / bessel_i0(self.epsilon)
    }

    /// `u*'(s)`.
    fn du(&self, s: f64) -> f64 {
        let dlog_m = 2.0 * PI * self.epsilon * (2.0 * PI * s).sin();
        -self.control_cost * self.nu() * (self.offset + self.m_of(s)).powf(self.exponent) * dlog_m
    }

    /// `u*''(s)`.
    fn ddu(&self, s: f64) -> f64 {
        let k = 2.0 * PI;
        let m = self.m_of(s);
        let dlog_m = k * self.epsilon * (k * s).sin();
        let ddlog_m = k * k * self.epsilon * (k * s).cos();
        let c = self.offset + m;
        let a = self.exponent;
        -self.control_cost
            * self.nu()
            * (a * c.powf(a - 1.0) * m * dlog_m * dlog_m + c.powf(a) * ddlog_m)
    }

    fn integral(&self, a: f64, b: f64) -> f64 {
        let (mid, half) = (0.5 * (a + b), 0.5 * (b - a));
        half * StationaryWave::<mfg_core::Quadratic>::GL
            .iter()
            .map(|&(t, wt)| wt * self.du(mid + half * t))
            .sum::<f64>()
    }

    /// u*.
    pub fn u(&self, x: &[f64]) -> f64 {
        let s = x.iter().sum::<f64>().rem_euclid(1.0);
        let j = ((s * Self::CELLS as f64) as usize).min(Self::CELLS - 1);
        self.table[j] + self.integral(j as f64 / Self::CELLS as f64, s)
    }

    /// m*.
    pub fn m(&self, x: &[f64]) -> f64 {
        self.m_of(x.iter().sum())
    }

    /// `V = −ν Δu* + s(m*) |∇u*|²/(2λ) − F(m*)`.
    pub fn potential(&self, x: &[f64]) -> f64 {
        let s: f64 = x.iter().sum();
        let (d, m) = (self.dim as f64, self.m_of(s));
        let factor = (self.offset + m).powf(-self.exponent);
        -self.nu() * d * self.ddu(s) + factor * d * self.du(s).powi(2) / (2.0 * self.control_cost)
            - self.coupling.value(0.0, x, m)
    }

    /// The time-dependent problem on `[0, 1]^dim` (periodic, `n` intervals per axis) over
    /// `[0, t_final]` in `nt` steps, started at `m*` with `g = u*`.
    pub fn problem(&self, n: usize, t_final: f64, nt: usize) -> Problem {
        let axes = (0..self.dim)
            .map(|_| Axis::new(0.0, 1.0, n, Boundary::Periodic).expect("valid axis"))
            .collect();
        let h = mfg_core::Congestion::new(self.control_cost, self.offset, self.exponent)
            .expect("valid congestion");
        Problem::builder(
            Grid::new(axes),
            TimeGrid::new(t_final, nt).expect("valid time"),
        )
        .sigma(self.sigma)
        .hamiltonian(h)
        .coupling(self.coupling)
        .potential_fn(|x| self.potential(x))
        .terminal_cost_fn(|x| self.u(x))
        .initial_density_fn(|x| self.m(x))
        .build()
        .expect("valid congestion wave problem")
    }
}
