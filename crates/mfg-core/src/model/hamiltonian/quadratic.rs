//! The quadratic Hamiltonian `|p|²/(2λ)`.

use super::Hamiltonian;

/// `H(x, p) = |p|² / (2λ)` with `λ = control_cost`: separable over the axes, so its upwind
/// and Godunov Hamiltonians are sums of one-dimensional ones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quadratic {
    control_cost: f64,
    inv_control_cost: f64,
}

impl Quadratic {
    /// The quadratic Hamiltonian with control cost `λ > 0` (validated by [`crate::Problem`]).
    pub fn new(control_cost: f64) -> Self {
        Self {
            control_cost,
            inv_control_cost: 1.0 / control_cost,
        }
    }

    /// `λ`.
    pub fn control_cost(&self) -> f64 {
        self.control_cost
    }

    /// `H` of one component, `p² / (2λ)`.
    #[inline(always)]
    fn h1(&self, p: f64) -> f64 {
        0.5 * p * p * self.inv_control_cost
    }
}

impl Hamiltonian for Quadratic {
    fn name(&self) -> &'static str {
        "quadratic"
    }

    fn parameters(&self) -> Vec<(&'static str, f64)> {
        vec![("control_cost", self.control_cost)]
    }

    #[inline]
    fn value(&self, _x: &[f64], p: &[f64]) -> f64 {
        p.iter().fold(0.0, |s, &q| s + self.h1(q))
    }

    #[inline]
    fn dp(&self, _x: &[f64], p: &[f64], out: &mut [f64]) {
        for (o, q) in out.iter_mut().zip(p) {
            *o = q * self.inv_control_cost;
        }
    }

    #[inline(always)]
    fn upwind(
        &self,
        _x: &[f64],
        back: &[f64],
        fwd: &[f64],
        speed_prev: &mut [f64],
        speed_next: &mut [f64],
    ) -> f64 {
        let mut h = 0.0;
        for d in 0..back.len() {
            let a = back[d].max(0.0);
            let b = fwd[d].min(0.0);
            speed_prev[d] = a * self.inv_control_cost;
            speed_next[d] = -b * self.inv_control_cost;
            h += 0.5 * (a * a + b * b) * self.inv_control_cost;
        }
        h
    }

    #[inline(always)]
    fn upwind_speed_jacobian(&self, _x: &[f64], back: &[f64], fwd: &[f64], jac: &mut [f64]) {
        // speed_prev[d] = max(back[d], 0)/λ, speed_next[d] = −min(fwd[d], 0)/λ: diagonal.
        let dim = back.len();
        let n = 2 * dim;
        jac[..n * n].iter_mut().for_each(|v| *v = 0.0);
        for d in 0..dim {
            if back[d] > 0.0 {
                jac[d * n + d] = self.inv_control_cost;
            }
            if fwd[d] < 0.0 {
                jac[(dim + d) * n + dim + d] = -self.inv_control_cost;
            }
        }
    }

    #[inline(always)]
    fn godunov(&self, _x: &[f64], minus: &[f64], plus: &[f64]) -> f64 {
        // Per axis, for the convex p²/(2λ) with minimiser 0: min over [a, b] if a ≤ b, max
        // over [b, a] otherwise, i.e. max(H(max(a, 0)), H(min(b, 0))).
        minus.iter().zip(plus).fold(0.0, |s, (&a, &b)| {
            s + self.h1(a.max(0.0)).max(self.h1(b.min(0.0)))
        })
    }

    fn speed_bound(&self, d: usize, lo: &[f64], hi: &[f64]) -> f64 {
        (lo[d].abs().max(hi[d].abs())) * self.inv_control_cost
    }
}
