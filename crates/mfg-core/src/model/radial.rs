//! Hamiltonians of the Euclidean norm of `p`, `H(p) = φ(|p|²)` with `φ` convex and
//! non-decreasing: [`Power`] (`|p|^β/(βλ)`) and [`Bounded`] (controls with `|a| ≤ a_max`).
//!
//! With `a_d = max(D⁻_d u, 0)` and `b_d = min(D⁺_d u, 0)`, the monotone upwind numerical
//! Hamiltonian is
//!
//! ```text
//! H_h(D⁻u, D⁺u) = φ( Σ_d a_d² + b_d² )
//! ```
//!
//! (Achdou–Capuzzo-Dolcetta 2010 for `|p|^β`): non-decreasing in every `D⁻_d u`,
//! non-increasing in every `D⁺_d u` because `φ` is non-decreasing, and consistent,
//! `H_h(p, p) = φ(|p|²)`. With `w(s) = 2φ'(s)`, `∂pH(p) = w(|p|²) p`; the upwind speeds are
//! `w(s) a_d` and `−w(s) b_d`, and their derivatives (for Newton on the coupled system) follow
//! from `w` and `w'`. The Godunov Hamiltonian of the WENO schemes is
//! `φ(Σ_d max(max(φ⁻_d, 0)², min(φ⁺_d, 0)²))`: `|p|²` is separable and `φ` monotone, so the
//! per-axis extrema of Godunov's formula pass through `φ`.
//!
//! `|p|²` is the Euclidean norm in every dimension: in 2D and 3D these Hamiltonians are not
//! separable over the axes (unless `β = 2`).
//!
//! ```
//! use mfg_core::{Hamiltonian, Power, Quadratic};
//!
//! // β = 2 is the quadratic Hamiltonian.
//! let (h, q) = (Power::new(2.0, 0.5), Quadratic::new(0.5));
//! let p = [0.3, -1.2];
//! assert!((h.value(&[0.0, 0.0], &p) - q.value(&[0.0, 0.0], &p)).abs() < 1e-15);
//! ```

use std::fmt;

use crate::error::ProblemError;
use crate::grid::MAX_DIM;
use crate::model::hamiltonian::Hamiltonian;

/// The profile `φ` of a Hamiltonian `H(p) = φ(|p|²)`, through `w(s) = 2φ'(s)`.
trait Profile {
    /// `φ(s)`, `s = |p|² ≥ 0`.
    fn phi(&self, s: f64) -> f64;
    /// `w(s) = 2φ'(s) ≥ 0` for `s > 0` (`∂pH = w(|p|²) p`).
    fn w(&self, s: f64) -> f64;
    /// `w'(s)` for `s > 0`.
    fn dw(&self, s: f64) -> f64;
}

/// `H_h` and the upwind speeds of a profile (see the module docs).
#[inline(always)]
fn upwind<P: Profile>(
    p: &P,
    back: &[f64],
    fwd: &[f64],
    speed_prev: &mut [f64],
    speed_next: &mut [f64],
) -> f64 {
    let dim = back.len();
    let (mut a, mut b) = ([0.0; MAX_DIM], [0.0; MAX_DIM]);
    let mut s = 0.0;
    for d in 0..dim {
        a[d] = back[d].max(0.0);
        b[d] = fwd[d].min(0.0);
        s += a[d] * a[d] + b[d] * b[d];
    }
    // At s = 0 every a_d and b_d is 0: no speed (also where w(0) is infinite, β < 2).
    let w = if s > 0.0 { p.w(s) } else { 0.0 };
    for d in 0..dim {
        speed_prev[d] = w * a[d];
        speed_next[d] = -w * b[d];
    }
    p.phi(s)
}

/// The derivatives of [`upwind`]'s speeds (the layout of
/// [`Hamiltonian::upwind_speed_jacobian`]): with `q = (a, b)`, `∂(w q_k)/∂q_l = w δ_kl +
/// 2 w'(s) q_k q_l` where the component is active (`back > 0`, `fwd < 0`), the speed to the
/// next neighbour carrying a minus sign.
#[inline(always)]
fn speed_jacobian<P: Profile>(p: &P, back: &[f64], fwd: &[f64], jac: &mut [f64]) {
    let dim = back.len();
    let n = 2 * dim;
    jac[..n * n].iter_mut().for_each(|v| *v = 0.0);
    let mut q = [0.0; 2 * MAX_DIM];
    let mut s = 0.0;
    for d in 0..dim {
        q[d] = back[d].max(0.0);
        q[dim + d] = fwd[d].min(0.0);
        s += q[d] * q[d] + q[dim + d] * q[dim + d];
    }
    if s <= 0.0 {
        return;
    }
    let (w, dw2) = (p.w(s), 2.0 * p.dw(s));
    for k in 0..n {
        if q[k] == 0.0 {
            continue;
        }
        // speed_prev = w a (sign +1), speed_next = −w b (sign −1).
        let sign = if k < dim { 1.0 } else { -1.0 };
        for l in 0..n {
            if q[l] != 0.0 {
                jac[k * n + l] = sign * dw2 * q[k] * q[l];
            }
        }
        jac[k * n + k] += sign * w;
    }
}

/// Godunov's Hamiltonian of a profile from the one-sided derivatives.
#[inline(always)]
fn godunov<P: Profile>(p: &P, minus: &[f64], plus: &[f64]) -> f64 {
    let s = minus.iter().zip(plus).fold(0.0, |s, (&a, &b)| {
        let (a, b) = (a.max(0.0), b.min(0.0));
        s + (a * a).max(b * b)
    });
    p.phi(s)
}

/// `|∂H/∂p_d| ≤ |∂pH| = w(s) √s` over the box, `s` the largest `|p|²` in it (`w(s) √s` is the
/// derivative of `H` along `|p|`, non-decreasing for a convex `H`).
#[inline(always)]
fn speed_bound<P: Profile>(p: &P, lo: &[f64], hi: &[f64]) -> f64 {
    let s: f64 = lo.iter().zip(hi).map(|(l, h)| (l * l).max(h * h)).sum();
    if s > 0.0 {
        p.w(s) * s.sqrt()
    } else {
        0.0
    }
}

/// `∂pH(p) = w(|p|²) p`.
#[inline(always)]
fn dp<P: Profile>(prof: &P, p: &[f64], out: &mut [f64]) {
    let s: f64 = p.iter().map(|q| q * q).sum();
    let w = if s > 0.0 { prof.w(s) } else { 0.0 };
    for (o, q) in out.iter_mut().zip(p) {
        *o = w * q;
    }
}

/// The [`Hamiltonian`] methods of a profile type (they are the same for every profile).
macro_rules! radial_hamiltonian {
    ($t:ty, $name:literal) => {
        impl Hamiltonian for $t {
            fn name(&self) -> &'static str {
                $name
            }

            fn parameters(&self) -> Vec<(&'static str, f64)> {
                self.parameter_list()
            }

            #[inline]
            fn value(&self, _x: &[f64], p: &[f64]) -> f64 {
                self.phi(p.iter().map(|q| q * q).sum())
            }

            #[inline]
            fn dp(&self, _x: &[f64], p: &[f64], out: &mut [f64]) {
                dp(self, p, out)
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
                upwind(self, back, fwd, speed_prev, speed_next)
            }

            #[inline(always)]
            fn upwind_speed_jacobian(
                &self,
                _x: &[f64],
                back: &[f64],
                fwd: &[f64],
                jac: &mut [f64],
            ) {
                speed_jacobian(self, back, fwd, jac)
            }

            #[inline(always)]
            fn godunov(&self, _x: &[f64], minus: &[f64], plus: &[f64]) -> f64 {
                godunov(self, minus, plus)
            }

            fn speed_bound(&self, _d: usize, lo: &[f64], hi: &[f64]) -> f64 {
                speed_bound(self, lo, hi)
            }
        }
    };
}

fn positive(field: &'static str, value: f64, hint: &'static str) -> Result<f64, ProblemError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(ProblemError::InvalidParameter { field, value, hint })
    }
}

/// `H(p) = |p|^β / (β λ)`, `β > 1`, `λ > 0`: the optimal control `−|p|^{β−2} p / λ`. `β = 2`
/// is [`crate::Quadratic`]; the class for which convergence of the monotone scheme is proven
/// (Achdou–Capuzzo-Dolcetta 2010).
#[derive(Clone, Copy, PartialEq)]
pub struct Power {
    beta: f64,
    control_cost: f64,
    inv_beta_lambda: f64,
    inv_lambda: f64,
}

impl fmt::Debug for Power {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Power")
            .field("beta", &self.beta)
            .field("control_cost", &self.control_cost)
            .finish()
    }
}

impl Power {
    /// `|p|^β/(βλ)`; `β > 1` and `λ > 0` finite, or an error naming the parameter.
    pub fn try_new(beta: f64, control_cost: f64) -> Result<Self, ProblemError> {
        if !(beta.is_finite() && beta > 1.0) {
            return Err(ProblemError::InvalidParameter {
                field: "hamiltonian_exponent",
                value: beta,
                hint: "the exponent beta of |p|^beta must be finite and > 1 (2 is quadratic)",
            });
        }
        let lambda = positive(
            "control_cost",
            control_cost,
            "the control cost lambda must be finite and > 0",
        )?;
        Ok(Self {
            beta,
            control_cost: lambda,
            inv_beta_lambda: 1.0 / (beta * lambda),
            inv_lambda: 1.0 / lambda,
        })
    }

    /// [`Power::try_new`] for parameters known to be valid.
    ///
    /// # Panics
    /// If `β ≤ 1` or `λ ≤ 0` (or either is not finite).
    pub fn new(beta: f64, control_cost: f64) -> Self {
        Self::try_new(beta, control_cost).expect("valid power Hamiltonian")
    }

    /// β.
    pub fn exponent(&self) -> f64 {
        self.beta
    }

    fn parameter_list(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("hamiltonian_exponent", self.beta),
            ("control_cost", self.control_cost),
        ]
    }
}

impl Profile for Power {
    #[inline(always)]
    fn phi(&self, s: f64) -> f64 {
        s.powf(0.5 * self.beta) * self.inv_beta_lambda
    }

    #[inline(always)]
    fn w(&self, s: f64) -> f64 {
        s.powf(0.5 * self.beta - 1.0) * self.inv_lambda
    }

    #[inline(always)]
    fn dw(&self, s: f64) -> f64 {
        (0.5 * self.beta - 1.0) * s.powf(0.5 * self.beta - 2.0) * self.inv_lambda
    }
}

radial_hamiltonian!(Power, "power");

/// The Hamiltonian of controls bounded by `|a| ≤ a_max` with the quadratic cost `λ|a|²/2`:
/// `H(p) = sup_{|a| ≤ a_max} (−a·p − λ|a|²/2)`, that is
///
/// ```text
/// H(p) = |p|²/(2λ)              for |p| ≤ λ a_max      (optimal control −p/λ)
/// H(p) = a_max |p| − λ a_max²/2  for |p| > λ a_max      (optimal control −a_max p/|p|)
/// ```
///
/// (`C¹`, quadratic inside, linear growth outside): agents never move faster than `a_max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounded {
    control_cost: f64,
    bound: f64,
    /// `(λ a_max)²`: the kink in `s = |p|²`.
    s_kink: f64,
}

impl Bounded {
    /// Controls `|a| ≤ a_max` with cost `λ|a|²/2`; both finite and `> 0`, or an error naming the
    /// parameter.
    pub fn try_new(control_cost: f64, bound: f64) -> Result<Self, ProblemError> {
        let lambda = positive(
            "control_cost",
            control_cost,
            "the control cost lambda must be finite and > 0",
        )?;
        let bound = positive(
            "control_bound",
            bound,
            "the control bound a_max must be finite and > 0",
        )?;
        Ok(Self {
            control_cost: lambda,
            bound,
            s_kink: (lambda * bound).powi(2),
        })
    }

    /// [`Bounded::try_new`] for parameters known to be valid.
    ///
    /// # Panics
    /// If either parameter is not finite and `> 0`.
    pub fn new(control_cost: f64, bound: f64) -> Self {
        Self::try_new(control_cost, bound).expect("valid bounded Hamiltonian")
    }

    /// `a_max`.
    pub fn bound(&self) -> f64 {
        self.bound
    }

    fn parameter_list(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("control_cost", self.control_cost),
            ("control_bound", self.bound),
        ]
    }
}

impl Profile for Bounded {
    #[inline(always)]
    fn phi(&self, s: f64) -> f64 {
        if s <= self.s_kink {
            0.5 * s / self.control_cost
        } else {
            self.bound * s.sqrt() - 0.5 * self.control_cost * self.bound * self.bound
        }
    }

    #[inline(always)]
    fn w(&self, s: f64) -> f64 {
        if s <= self.s_kink {
            1.0 / self.control_cost
        } else {
            self.bound / s.sqrt()
        }
    }

    #[inline(always)]
    fn dw(&self, s: f64) -> f64 {
        if s <= self.s_kink {
            0.0
        } else {
            -0.5 * self.bound / (s * s.sqrt())
        }
    }
}

radial_hamiltonian!(Bounded, "bounded");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::hamiltonian::testing::ByDefault;
    use crate::model::hamiltonian::Quadratic;

    const X: [f64; 2] = [0.0, 0.0];

    fn family() -> Vec<Box<dyn Hamiltonian>> {
        vec![
            Box::new(Power::new(1.5, 0.8)),
            Box::new(Power::new(3.0, 1.3)),
            Box::new(Bounded::new(0.7, 1.1)),
        ]
    }

    /// Points in 2D on both sides of the bounded Hamiltonian's kink (|p| = 0.77).
    const PS: [[f64; 2]; 5] = [
        [-2.0, 0.5],
        [-0.3, 0.1],
        [0.2, 0.4],
        [0.4, -2.0],
        [3.0, 0.1],
    ];

    #[test]
    fn dp_is_the_gradient_of_h() {
        for h in family() {
            for p in PS {
                let eps = 1e-6;
                let mut dp = [0.0; 2];
                h.dp(&X, &p, &mut dp);
                for d in 0..2 {
                    let (mut hi, mut lo) = (p, p);
                    hi[d] += eps;
                    lo[d] -= eps;
                    let fd = (h.value(&X, &hi) - h.value(&X, &lo)) / (2.0 * eps);
                    assert!(
                        (fd - dp[d]).abs() < 1e-7,
                        "{h:?} p = {p:?} axis {d}: {fd} vs {}",
                        dp[d]
                    );
                }
            }
        }
    }

    #[test]
    fn beta_two_is_the_quadratic_and_the_bound_far_away_is_too() {
        let q = Quadratic::new(0.6);
        let (p2, b) = (Power::new(2.0, 0.6), Bounded::new(0.6, 1e6));
        let (mut s1, mut s2, mut s3, mut s4) = ([0.0; 2], [0.0; 2], [0.0; 2], [0.0; 2]);
        for (back, fwd) in [([0.4, -0.3], [-0.2, 0.5]), ([-1.0, 2.0], [1.5, -0.1])] {
            let hq = q.upwind(&X, &back, &fwd, &mut s1, &mut s2);
            for h in [&p2 as &dyn Hamiltonian, &b] {
                let hh = h.upwind(&X, &back, &fwd, &mut s3, &mut s4);
                assert!((hh - hq).abs() < 1e-14);
                for d in 0..2 {
                    assert!((s1[d] - s3[d]).abs() < 1e-14 && (s2[d] - s4[d]).abs() < 1e-14);
                }
            }
            assert!((p2.godunov(&X, &back, &fwd) - q.godunov(&X, &back, &fwd)).abs() < 1e-14);
        }
    }

    #[test]
    fn upwind_is_consistent_monotone_and_its_speeds_are_its_derivatives() {
        for h in family() {
            let (mut sp, mut sn) = ([0.0; 2], [0.0; 2]);
            for p in PS {
                let v = h.upwind(&X, &p, &p, &mut sp, &mut sn);
                assert!((v - h.value(&X, &p)).abs() < 1e-13, "{h:?}");
                assert!((h.godunov(&X, &p, &p) - h.value(&X, &p)).abs() < 1e-13);
            }
            for (back, fwd) in [([0.4, -0.3], [-0.2, 0.5]), ([1.0, 2.0], [-1.5, -0.1])] {
                let v = h.upwind(&X, &back, &fwd, &mut sp, &mut sn);
                let eps = 1e-7;
                for d in 0..2 {
                    let mut b = back;
                    b[d] += eps;
                    let up = h.upwind(&X, &b, &fwd, &mut [0.0; 2], &mut [0.0; 2]);
                    assert!(up >= v, "monotone in back");
                    assert!(
                        ((up - v) / eps - sp[d]).abs() < 1e-5,
                        "{h:?} speed_prev {d}"
                    );
                    let mut f = fwd;
                    f[d] += eps;
                    let uf = h.upwind(&X, &back, &f, &mut [0.0; 2], &mut [0.0; 2]);
                    assert!(uf <= v, "monotone in fwd");
                    assert!(
                        ((v - uf) / eps - sn[d]).abs() < 1e-5,
                        "{h:?} speed_next {d}"
                    );
                    assert!(sp[d] >= 0.0 && sn[d] >= 0.0);
                }
            }
        }
    }

    /// The exact speed Jacobian equals the trait's central-difference default.
    #[test]
    fn the_speed_jacobian_matches_finite_differences() {
        for h in family() {
            let by_default = ByDefault(h.as_ref());
            let (mut exact, mut fd) = ([0.0; 16], [0.0; 16]);
            for (back, fwd) in [([0.4, -0.3], [-0.2, 0.5]), ([1.0, 2.0], [-1.5, -0.1])] {
                h.upwind_speed_jacobian(&X, &back, &fwd, &mut exact);
                by_default.upwind_speed_jacobian(&X, &back, &fwd, &mut fd);
                for (e, f) in exact.iter().zip(&fd) {
                    assert!(
                        (e - f).abs() < 1e-6 * (1.0 + e.abs()),
                        "{h:?}: {exact:?} vs {fd:?}"
                    );
                }
                assert!(exact.iter().any(|&v| v != 0.0));
            }
        }
    }

    #[test]
    fn the_speed_bound_bounds_every_component_of_dp() {
        for h in family() {
            let (lo, hi) = ([-2.0, -0.5], [1.0, 0.7]);
            let bound = [h.speed_bound(0, &lo, &hi), h.speed_bound(1, &lo, &hi)];
            for i in 0..=20 {
                for j in 0..=20 {
                    let p = [
                        lo[0] + (hi[0] - lo[0]) * i as f64 / 20.0,
                        lo[1] + (hi[1] - lo[1]) * j as f64 / 20.0,
                    ];
                    let mut dp = [0.0; 2];
                    h.dp(&X, &p, &mut dp);
                    assert!(dp[0].abs() <= bound[0] + 1e-14 && dp[1].abs() <= bound[1] + 1e-14);
                }
            }
        }
    }

    #[test]
    fn bad_parameters_are_named() {
        for (r, field) in [
            (Power::try_new(1.0, 1.0).map(|_| ()), "hamiltonian_exponent"),
            (
                Power::try_new(f64::NAN, 1.0).map(|_| ()),
                "hamiltonian_exponent",
            ),
            (Power::try_new(2.0, 0.0).map(|_| ()), "control_cost"),
            (Bounded::try_new(1.0, -1.0).map(|_| ()), "control_bound"),
            (
                Bounded::try_new(f64::INFINITY, 1.0).map(|_| ()),
                "control_cost",
            ),
        ] {
            match r {
                Err(ProblemError::InvalidParameter { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{other:?}"),
            }
        }
    }
}
