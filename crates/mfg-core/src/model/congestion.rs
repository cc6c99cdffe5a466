//! Congestion: `H(x, p, m) = |p|² / (2λ (c₀ + m)^α)`, moving through a crowd costs more.
//!
//! The quadratic Hamiltonian times the density factor `s(m) = (c₀ + max(m, 0))^{−α}`
//! ([`Hamiltonian::density_factor`]), `c₀ > 0`, `α ∈ [0, 2]` (the pedestrian models; `α = 0`
//! is [`Quadratic`]). The optimal drift is `−s(m) ∇u / λ`: the crowd slows itself down.
//!
//! The implicit FDM schemes take the factor at every point: the HJB at level `k` at the
//! density `m^{k+1}` its running cost sees, the FP step `k → k+1` at its own `m^k`
//! (semi-implicit in the density; consistent to first order). Newton on the coupled system
//! differentiates both (`density_factor_dm`). The explicit WENO and particle schemes and the
//! stationary solver do not account for it and refuse the problem.
//!
//! ```
//! use mfg_core::{Congestion, Hamiltonian, Quadratic};
//! let c = Congestion::new(1.0, 0.5, 1.0).unwrap();
//! // The m-free part is the quadratic; the factor at m = 1.5 is 1/2.
//! assert_eq!(c.value(&[0.0], &[2.0]), Quadratic::new(1.0).value(&[0.0], &[2.0]));
//! assert!((c.density_factor(1.5) - 0.5).abs() < 1e-15);
//! ```

use crate::error::ProblemError;
use crate::model::hamiltonian::{Hamiltonian, Quadratic};

/// `|p|² / (2λ (c₀ + m)^α)` (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Congestion {
    quadratic: Quadratic,
    offset: f64,
    exponent: f64,
}

impl Congestion {
    /// `λ > 0`, `c₀ > 0` and `α ∈ [0, 2]` (all finite), or an error naming the parameter.
    pub fn new(control_cost: f64, offset: f64, exponent: f64) -> Result<Self, ProblemError> {
        if !(control_cost.is_finite() && control_cost > 0.0) {
            return Err(ProblemError::InvalidParameter {
                field: "control_cost",
                value: control_cost,
                hint: "the control cost lambda must be finite and > 0",
            });
        }
        if !(offset.is_finite() && offset > 0.0) {
            return Err(ProblemError::InvalidParameter {
                field: "congestion_offset",
                value: offset,
                hint: "c0 in (c0 + m)^alpha must be finite and > 0 (the cost of moving in an empty region)",
            });
        }
        if !(0.0..=2.0).contains(&exponent) {
            return Err(ProblemError::InvalidParameter {
                field: "congestion_exponent",
                value: exponent,
                hint: "alpha in (c0 + m)^alpha must be in [0, 2]",
            });
        }
        Ok(Self {
            quadratic: Quadratic::new(control_cost),
            offset,
            exponent,
        })
    }
}

impl Hamiltonian for Congestion {
    fn name(&self) -> &'static str {
        "congestion"
    }

    fn parameters(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("control_cost", self.quadratic.control_cost()),
            ("congestion_offset", self.offset),
            ("congestion_exponent", self.exponent),
        ]
    }

    #[inline]
    fn value(&self, x: &[f64], p: &[f64]) -> f64 {
        self.quadratic.value(x, p)
    }

    #[inline]
    fn dp(&self, x: &[f64], p: &[f64], out: &mut [f64]) {
        self.quadratic.dp(x, p, out)
    }

    #[inline(always)]
    fn upwind(
        &self,
        x: &[f64],
        back: &[f64],
        fwd: &[f64],
        speed_prev: &mut [f64],
        speed_next: &mut [f64],
    ) -> f64 {
        self.quadratic.upwind(x, back, fwd, speed_prev, speed_next)
    }

    #[inline(always)]
    fn upwind_speed_jacobian(&self, x: &[f64], back: &[f64], fwd: &[f64], jac: &mut [f64]) {
        self.quadratic.upwind_speed_jacobian(x, back, fwd, jac)
    }

    #[inline(always)]
    fn godunov(&self, x: &[f64], minus: &[f64], plus: &[f64]) -> f64 {
        self.quadratic.godunov(x, minus, plus)
    }

    fn speed_bound(&self, d: usize, lo: &[f64], hi: &[f64]) -> f64 {
        self.quadratic.speed_bound(d, lo, hi)
    }

    #[inline]
    fn density_factor(&self, m: f64) -> f64 {
        if self.exponent == 0.0 {
            1.0
        } else {
            (self.offset + m.max(0.0)).powf(-self.exponent)
        }
    }

    #[inline]
    fn density_factor_dm(&self, m: f64) -> f64 {
        if self.exponent == 0.0 || m <= 0.0 {
            0.0
        } else {
            -self.exponent * (self.offset + m).powf(-self.exponent - 1.0)
        }
    }

    fn depends_on_density(&self) -> bool {
        self.exponent != 0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The drift the FP scheme uses, `−s(m) ∂pH₀`, is `−∂p` of the full `H(p, m)`, by central
    /// differences of `H(p, m) = s(m) H₀(p)` written out.
    #[test]
    fn the_drift_is_minus_dp_of_the_full_hamiltonian() {
        let c = Congestion::new(0.7, 0.4, 1.3).unwrap();
        let full = |p: &[f64], m: f64| {
            0.5 * p.iter().map(|q| q * q).sum::<f64>() / (0.7 * (0.4 + m).powf(1.3))
        };
        let h = 1e-6;
        for (p, m) in [([0.3, -1.2], 0.5), ([2.0, 0.1], 3.0), ([-0.4, 0.9], 0.0)] {
            let mut dp = [0.0; 2];
            c.dp(&[0.0, 0.0], &p, &mut dp);
            for d in 0..2 {
                let (mut a, mut b) = (p, p);
                a[d] += h;
                b[d] -= h;
                let fd = (full(&a, m) - full(&b, m)) / (2.0 * h);
                let drift = -c.density_factor(m) * dp[d];
                assert!((drift + fd).abs() < 1e-8, "{p:?} {m}: {drift} vs {}", -fd);
            }
            assert!((c.density_factor(m) * c.value(&[0.0, 0.0], &p) - full(&p, m)).abs() < 1e-14);
            if m > 0.0 {
                let fd = (c.density_factor(m + h) - c.density_factor(m - h)) / (2.0 * h);
                assert!((fd - c.density_factor_dm(m)).abs() < 1e-8);
            }
        }
    }

    #[test]
    fn alpha_zero_does_not_depend_on_the_density_and_bad_parameters_are_named() {
        let c = Congestion::new(1.0, 0.5, 0.0).unwrap();
        assert!(!c.depends_on_density() && c.density_factor(7.0) == 1.0);
        for (r, field) in [
            (Congestion::new(1.0, 0.0, 1.0), "congestion_offset"),
            (Congestion::new(1.0, 1.0, 2.5), "congestion_exponent"),
            (Congestion::new(1.0, 1.0, f64::NAN), "congestion_exponent"),
            (Congestion::new(-1.0, 1.0, 1.0), "control_cost"),
        ] {
            match r {
                Err(ProblemError::InvalidParameter { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{other:?}"),
            }
        }
    }
}
