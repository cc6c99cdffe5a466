//! The Hamiltonian `H(x, p) = |p|² / (2λ)` and its monotone upwind discretisation.
//!
//! The numerical Hamiltonian of Achdou–Capuzzo-Dolcetta (2010) along one axis, with the
//! forward and backward differences `D⁺u_i = (u_{i+1} − u_i)/dx` and `D⁻u_i = (u_i − u_{i−1})/dx`:
//!
//! ```text
//! H_h(D⁻u_i, D⁺u_i) = ( max(D⁻u_i, 0)² + min(D⁺u_i, 0)² ) / (2λ)
//! ```
//!
//! It is non-decreasing in `D⁻u`, non-increasing in `D⁺u` (monotone) and consistent with
//! `H(u_x)`. Its derivative with respect to the neighbour values gives the upwind drift rates
//! used both by Newton's method in HJB and, transposed, by the FP scheme.
//!
//! # References
//! Y. Achdou, I. Capuzzo-Dolcetta, *Mean field games: numerical methods*, SIAM J. Numer.
//! Anal. 48 (2010) 1136–1162.

/// `H(p) = |p|² / (2λ)` with `λ = control_cost`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hamiltonian {
    control_cost: f64,
    inv_control_cost: f64,
}

impl Hamiltonian {
    /// The quadratic Hamiltonian with control cost `λ > 0` (validated by [`crate::Problem`]).
    pub fn quadratic(control_cost: f64) -> Self {
        Self {
            control_cost,
            inv_control_cost: 1.0 / control_cost,
        }
    }

    /// `λ`.
    pub fn control_cost(&self) -> f64 {
        self.control_cost
    }

    /// `H(p)` for a one-dimensional momentum.
    #[inline]
    pub fn value(&self, p: f64) -> f64 {
        0.5 * p * p * self.inv_control_cost
    }

    /// `∂H/∂p`; the optimal drift is `−∂H/∂p = −p/λ`.
    #[inline]
    pub fn dp(&self, p: f64) -> f64 {
        p * self.inv_control_cost
    }

    /// Upwind numerical Hamiltonian `H_h(D⁻u, D⁺u)` along one axis.
    #[inline]
    pub fn upwind(&self, back: f64, fwd: f64) -> f64 {
        let a = back.max(0.0);
        let b = fwd.min(0.0);
        0.5 * (a * a + b * b) * self.inv_control_cost
    }

    /// Upwind drift speeds `(towards the previous point, towards the next point)`, both ≥ 0:
    /// `(max(D⁻u, 0)/λ, max(−D⁺u, 0)/λ)`. The derivatives of `H_h` with respect to `u_{i−1}`
    /// and `u_{i+1}` are `−speed / dx`, and `H_h = (speed_prev² + speed_next²) λ / 2`.
    #[inline]
    pub fn upwind_speeds(&self, back: f64, fwd: f64) -> (f64, f64) {
        (
            back.max(0.0) * self.inv_control_cost,
            (-fwd).max(0.0) * self.inv_control_cost,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dp_agrees_with_a_finite_difference() {
        let h = Hamiltonian::quadratic(0.7);
        for p in [-2.0, -0.3, 0.0, 0.4, 3.0] {
            let eps = 1e-6;
            let fd = (h.value(p + eps) - h.value(p - eps)) / (2.0 * eps);
            assert!((fd - h.dp(p)).abs() < 1e-8, "p = {p}");
        }
    }

    #[test]
    fn upwind_hamiltonian_is_consistent_and_monotone() {
        let h = Hamiltonian::quadratic(2.0);
        for p in [-1.5, 0.0, 0.8] {
            assert!((h.upwind(p, p) - h.value(p)).abs() < 1e-15);
        }
        // Non-decreasing in the backward difference, non-increasing in the forward one.
        let base = h.upwind(0.3, -0.2);
        assert!(h.upwind(0.4, -0.2) >= base);
        assert!(h.upwind(0.3, -0.1) <= base);
    }

    #[test]
    fn upwind_speeds_are_the_derivatives_of_the_numerical_hamiltonian() {
        let h = Hamiltonian::quadratic(1.3);
        let (dx, eps) = (0.1, 1e-7);
        let (ul, ui, ur) = (0.3, 0.5, 0.45); // a local maximum: both speeds > 0
        let hh = |ul: f64, ui: f64, ur: f64| h.upwind((ui - ul) / dx, (ur - ui) / dx);
        let (to_prev, to_next) = h.upwind_speeds((ui - ul) / dx, (ur - ui) / dx);
        assert!(to_prev > 0.0 && to_next > 0.0);
        let d_ul = (hh(ul + eps, ui, ur) - hh(ul - eps, ui, ur)) / (2.0 * eps);
        let d_ur = (hh(ul, ui, ur + eps) - hh(ul, ui, ur - eps)) / (2.0 * eps);
        assert!(
            (d_ul + to_prev / dx).abs() < 1e-5,
            "{d_ul} vs {}",
            -to_prev / dx
        );
        assert!(
            (d_ur + to_next / dx).abs() < 1e-5,
            "{d_ur} vs {}",
            -to_next / dx
        );
    }
}
