//! The [`Hamiltonian`] trait, its monotone upwind discretisation, and the quadratic
//! Hamiltonian `H(x, p) = |p|² / (2λ)`.
//!
//! A model enters the solvers through this trait: the HJB schemes need `H` and its monotone
//! numerical Hamiltonians, Newton needs their derivatives, and the FP schemes need the optimal
//! drift `−∂pH`, always from the same `H`.
//!
//! The numerical Hamiltonian of Achdou–Capuzzo-Dolcetta (2010) is a function of the backward
//! and forward differences `D⁻_d u_i = (u_i − u_{i−e_d})/dx_d` and `D⁺_d u_i = (u_{i+e_d} −
//! u_i)/dx_d` along every axis `d`; for the quadratic Hamiltonian
//!
//! ```text
//! H_h(D⁻u_i, D⁺u_i) = Σ_d ( max(D⁻_d u_i, 0)² + min(D⁺_d u_i, 0)² ) / (2λ)
//! ```
//!
//! It must be non-decreasing in every `D⁻_d u`, non-increasing in every `D⁺_d u` (monotone) and
//! consistent, `H_h(p, p) = H(p)`. Its derivatives with respect to the neighbour values are the
//! upwind jump rates used both by Newton's method in HJB and, transposed, by the FP scheme.
//!
//! The whole-grid loops ([`Hamiltonian::upwind_rates`], [`Hamiltonian::godunov_into`],
//! [`Hamiltonian::drift`]) are provided methods: each implementation gets its own compiled copy
//! with the per-point functions inlined, so calling them through `dyn Hamiltonian` costs one
//! dynamic dispatch per sweep, not per point.
//!
//! # Bringing your own Hamiltonian
//!
//! ```
//! use mfg_core::{Grid, Boundary, Hamiltonian};
//!
//! /// H(p) = (p + 1)²/2 in one dimension: a drift to the right.
//! #[derive(Debug)]
//! struct Shifted;
//!
//! impl Hamiltonian for Shifted {
//!     fn name(&self) -> &'static str { "shifted" }
//!     fn value(&self, _x: &[f64], p: &[f64]) -> f64 { 0.5 * (p[0] + 1.0).powi(2) }
//!     fn dp(&self, _x: &[f64], p: &[f64], out: &mut [f64]) { out[0] = p[0] + 1.0 }
//!     fn upwind(&self, _x: &[f64], back: &[f64], fwd: &[f64], sp: &mut [f64], sn: &mut [f64]) -> f64 {
//!         // Convex with minimiser −1: upwind around it.
//!         let (a, b) = ((back[0] + 1.0).max(0.0), (fwd[0] + 1.0).min(0.0));
//!         sp[0] = a;
//!         sn[0] = -b;
//!         0.5 * (a * a + b * b)
//!     }
//!     fn godunov(&self, x: &[f64], minus: &[f64], plus: &[f64]) -> f64 {
//!         let (a, b) = ((minus[0] + 1.0).max(0.0), (plus[0] + 1.0).min(0.0));
//!         0.5 * (a * a).max(b * b)
//!     }
//!     fn speed_bound(&self, d: usize, lo: &[f64], hi: &[f64]) -> f64 {
//!         (lo[d] + 1.0).abs().max((hi[d] + 1.0).abs())
//!     }
//! }
//!
//! let grid = Grid::line(0.0, 1.0, 10, Boundary::Periodic).unwrap();
//! let u = grid.sample(|x| x[0]);
//! let (mut tp, mut tn) = (vec![vec![0.0; 10]], vec![vec![0.0; 10]]);
//! Shifted.upwind_rates(&grid, 0.0, &u, &mut tp, &mut tn, None);
//! assert!(tn[0][3] == 0.0 && tp[0][3] > 0.0);
//! ```
//!
//! # References
//! Y. Achdou, I. Capuzzo-Dolcetta, *Mean field games: numerical methods*, SIAM J. Numer.
//! Anal. 48 (2010) 1136–1162.

use std::fmt;

use crate::grid::{Grid, MAX_DIM};

mod quadratic;
mod sweeps;

pub use quadratic::Quadratic;

/// A Hamiltonian `H(x, p)`, convex in `p`, with the discretisations the solvers need.
///
/// `x` is a grid point's coordinates and `p`, `back`, `fwd`, `minus`, `plus`, `out` have one
/// entry per space dimension.
pub trait Hamiltonian: fmt::Debug + Send + Sync {
    /// A short name (`quadratic`, ...), as in config files.
    fn name(&self) -> &'static str;

    /// The parameters, for reports (`[("control_cost", 1.0)]`).
    fn parameters(&self) -> Vec<(&'static str, f64)> {
        Vec::new()
    }

    /// `H(x, p)`.
    fn value(&self, x: &[f64], p: &[f64]) -> f64;

    /// `∂pH(x, p)` into `out`; the optimal drift is `−∂pH`.
    fn dp(&self, x: &[f64], p: &[f64], out: &mut [f64]);

    /// The monotone upwind numerical Hamiltonian `H_h(x, D⁻u, D⁺u)` from the backward and
    /// forward differences along every axis. Also writes its derivatives as non-negative
    /// speeds: `speed_prev[d] = ∂H_h/∂D⁻_d u ≥ 0` and `speed_next[d] = −∂H_h/∂D⁺_d u ≥ 0`.
    fn upwind(
        &self,
        x: &[f64],
        back: &[f64],
        fwd: &[f64],
        speed_prev: &mut [f64],
        speed_next: &mut [f64],
    ) -> f64;

    /// The derivatives of [`Hamiltonian::upwind`]'s speeds with respect to its differences
    /// (second derivatives of `H_h`, for the Jacobian of the coupled system, see
    /// [`crate::scheme::apply_transpose_derivative`]): `jac` is `2D × 2D`, row-major, rows
    /// `speed_prev[0..D], speed_next[0..D]`, columns `back[0..D], fwd[0..D]`.
    ///
    /// The default differentiates `upwind` by central differences (step `1e-6 (1 + |q|)`): an
    /// exact override keeps Newton's convergence quadratic; with the default it is fast but
    /// may be slower than quadratic near the kinks of `H_h`.
    fn upwind_speed_jacobian(&self, x: &[f64], back: &[f64], fwd: &[f64], jac: &mut [f64]) {
        let dim = back.len();
        let n = 2 * dim;
        let (mut b, mut f) = ([0.0; MAX_DIM], [0.0; MAX_DIM]);
        let (mut sp_hi, mut sn_hi) = ([0.0; MAX_DIM], [0.0; MAX_DIM]);
        let (mut sp_lo, mut sn_lo) = ([0.0; MAX_DIM], [0.0; MAX_DIM]);
        for col in 0..n {
            b[..dim].copy_from_slice(back);
            f[..dim].copy_from_slice(fwd);
            let q = if col < dim {
                &mut b[col]
            } else {
                &mut f[col - dim]
            };
            let step = 1e-6 * (1.0 + q.abs());
            let q0 = *q;
            *q = q0 + step;
            self.upwind(
                x,
                &b[..dim],
                &f[..dim],
                &mut sp_hi[..dim],
                &mut sn_hi[..dim],
            );
            let q = if col < dim {
                &mut b[col]
            } else {
                &mut f[col - dim]
            };
            *q = q0 - step;
            self.upwind(
                x,
                &b[..dim],
                &f[..dim],
                &mut sp_lo[..dim],
                &mut sn_lo[..dim],
            );
            for d in 0..dim {
                jac[d * n + col] = (sp_hi[d] - sp_lo[d]) / (2.0 * step);
                jac[(dim + d) * n + col] = (sn_hi[d] - sn_lo[d]) / (2.0 * step);
            }
        }
    }

    /// The Godunov numerical Hamiltonian from the one-sided derivatives `minus` (`φ⁻`) and
    /// `plus` (`φ⁺`) of a high-order reconstruction (the WENO scheme).
    fn godunov(&self, x: &[f64], minus: &[f64], plus: &[f64]) -> f64;

    /// A bound on `|∂H/∂p_d|` over the domain for `p` in the box `[lo, hi]` (per axis): the
    /// Lax–Friedrichs dissipation and the CFL condition of explicit schemes.
    fn speed_bound(&self, d: usize, lo: &[f64], hi: &[f64]) -> f64;

    /// `s(m) > 0` in `H(x, p, m) = s(m) H(x, p)`: a Hamiltonian that depends on the density
    /// through a factor (congestion: moving through a crowd costs more). The per-point methods
    /// above are the `m`-free part; the implicit schemes multiply the upwind speeds and `H_h`
    /// at every point by `s(m)` (see [`crate::scheme::UpwindOperator::linearise`]). Default 1.
    fn density_factor(&self, _m: f64) -> f64 {
        1.0
    }

    /// `s'(m)`, for Newton's Jacobian. Default 0.
    fn density_factor_dm(&self, _m: f64) -> f64 {
        0.0
    }

    /// Whether [`Hamiltonian::density_factor`] is not identically 1. Solvers that cannot
    /// account for it (the explicit WENO and particle schemes, the stationary solver) refuse
    /// such a Hamiltonian.
    fn depends_on_density(&self) -> bool {
        false
    }

    /// Jump rates of the linearised upwind operator `L(u)` along every axis of `grid`, and
    /// `H_h` at every point if `hamiltonian` is given (see [`crate::scheme::upwind`]): from point `i`
    /// to its previous neighbour along `d` at rate `ν/dx_d² + speed_prev[d]/dx_d`, to its next
    /// at `ν/dx_d² + speed_next[d]/dx_d`.
    fn upwind_rates(
        &self,
        grid: &Grid,
        nu: f64,
        u: &[f64],
        to_prev: &mut [Vec<f64>],
        to_next: &mut [Vec<f64>],
        hamiltonian: Option<&mut [f64]>,
    ) {
        match grid.dim() {
            1 => sweeps::rates::<Self, 1>(self, grid, nu, u, to_prev, to_next, hamiltonian),
            2 => sweeps::rates::<Self, 2>(self, grid, nu, u, to_prev, to_next, hamiltonian),
            _ => sweeps::rates::<Self, 3>(self, grid, nu, u, to_prev, to_next, hamiltonian),
        }
    }

    /// `out = ∂(L(u)ᵀ μ)/∂u · du`: the derivative of the transposed upwind generator (the FP
    /// operator, in mass variables `μ`) with respect to `u`, in the direction `du`, from
    /// [`Hamiltonian::upwind_speed_jacobian`]. The diffusion part of the rates does not depend
    /// on `u`. Every entry's sum over the grid is zero (mass is neither made nor lost).
    fn transpose_generator_derivative(
        &self,
        grid: &Grid,
        u: &[f64],
        mu: &[f64],
        du: &[f64],
        out: &mut [f64],
    ) {
        match grid.dim() {
            1 => sweeps::transpose_derivative::<Self, 1>(self, grid, u, mu, du, out),
            2 => sweeps::transpose_derivative::<Self, 2>(self, grid, u, mu, du, out),
            _ => sweeps::transpose_derivative::<Self, 3>(self, grid, u, mu, du, out),
        }
    }

    /// The Godunov Hamiltonian at every point from the one-sided derivatives `minus[d]`,
    /// `plus[d]` (whole-grid fields per axis), into `out`.
    fn godunov_into(&self, grid: &Grid, minus: &[Vec<f64>], plus: &[Vec<f64>], out: &mut [f64]) {
        let h = |x: &[f64], a: &[f64], b: &[f64], _: &[f64]| self.godunov(x, a, b);
        match grid.dim() {
            1 => sweeps::one_sided::<1>(grid, minus, plus, &[0.0], out, h),
            2 => sweeps::one_sided::<2>(grid, minus, plus, &[0.0; 2], out, h),
            _ => sweeps::one_sided::<3>(grid, minus, plus, &[0.0; 3], out, h),
        }
    }

    /// The global Lax–Friedrichs Hamiltonian `H((φ⁻ + φ⁺)/2) − Σ_d α_d (φ⁺_d − φ⁻_d)/2` at
    /// every point, with the dissipation `alpha[d]` (from [`Hamiltonian::speed_bound`]).
    fn lax_friedrichs_into(
        &self,
        grid: &Grid,
        minus: &[Vec<f64>],
        plus: &[Vec<f64>],
        alpha: &[f64],
        out: &mut [f64],
    ) {
        let h = |x: &[f64], a: &[f64], b: &[f64], alpha: &[f64]| {
            let mut p = [0.0; MAX_DIM];
            let mut dissipation = 0.0;
            for d in 0..a.len() {
                p[d] = 0.5 * (a[d] + b[d]);
                dissipation += 0.5 * alpha[d] * (b[d] - a[d]);
            }
            self.value(x, &p[..a.len()]) - dissipation
        };
        match grid.dim() {
            1 => sweeps::one_sided::<1>(grid, minus, plus, alpha, out, h),
            2 => sweeps::one_sided::<2>(grid, minus, plus, alpha, out, h),
            _ => sweeps::one_sided::<3>(grid, minus, plus, alpha, out, h),
        }
    }

    /// The optimal drift `−∂pH(x, ∇u)` at every point, `∇u` by central differences (zero
    /// across a no-flux wall, where both neighbours are the reflected inner point), into
    /// `drift[d]` per axis.
    fn drift(&self, grid: &Grid, u: &[f64], drift: &mut [Vec<f64>]) {
        let dim = grid.dim();
        let mut half_inv_dx = [0.0; MAX_DIM];
        for (d, h) in half_inv_dx[..dim].iter_mut().enumerate() {
            *h = 0.5 / grid.axis(d).dx();
        }
        let (mut p, mut dp) = ([0.0; MAX_DIM], [0.0; MAX_DIM]);
        for (i, x) in grid.coordinates().enumerate() {
            for d in 0..dim {
                let [l, r] = grid.neighbour_table(d)[i];
                p[d] = (u[r] - u[l]) * half_inv_dx[d];
            }
            self.dp(x, &p[..dim], &mut dp[..dim]);
            for (dr, v) in drift.iter_mut().zip(&dp[..dim]) {
                dr[i] = -v;
            }
        }
    }
}

/// Test helpers shared by the Hamiltonians' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::Hamiltonian;

    /// A Hamiltonian with everything but the speed Jacobian from `0`: the trait's
    /// central-difference default, to compare an exact `upwind_speed_jacobian` with.
    #[derive(Debug)]
    pub(crate) struct ByDefault<'a>(pub(crate) &'a dyn Hamiltonian);

    impl Hamiltonian for ByDefault<'_> {
        fn name(&self) -> &'static str {
            "by-default"
        }
        fn value(&self, x: &[f64], p: &[f64]) -> f64 {
            self.0.value(x, p)
        }
        fn dp(&self, x: &[f64], p: &[f64], out: &mut [f64]) {
            self.0.dp(x, p, out)
        }
        fn upwind(&self, x: &[f64], b: &[f64], f: &[f64], sp: &mut [f64], sn: &mut [f64]) -> f64 {
            self.0.upwind(x, b, f, sp, sn)
        }
        fn godunov(&self, x: &[f64], a: &[f64], b: &[f64]) -> f64 {
            self.0.godunov(x, a, b)
        }
        fn speed_bound(&self, d: usize, lo: &[f64], hi: &[f64]) -> f64 {
            self.0.speed_bound(d, lo, hi)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::ByDefault;
    use super::*;

    const X: [f64; 1] = [0.0];

    #[test]
    fn dp_agrees_with_a_finite_difference() {
        let h = Quadratic::new(0.7);
        for p in [
            [-2.0, 0.5],
            [-0.3, 0.0],
            [0.0, 1.0],
            [0.4, -2.0],
            [3.0, 0.1],
        ] {
            let eps = 1e-6;
            let mut dp = [0.0; 2];
            h.dp(&X, &p, &mut dp);
            for d in 0..2 {
                let (mut hi, mut lo) = (p, p);
                hi[d] += eps;
                lo[d] -= eps;
                let fd = (h.value(&X, &hi) - h.value(&X, &lo)) / (2.0 * eps);
                assert!((fd - dp[d]).abs() < 1e-8, "p = {p:?}, axis {d}");
            }
        }
    }

    #[test]
    fn upwind_hamiltonian_is_consistent_and_monotone() {
        let h = Quadratic::new(2.0);
        let (mut sp, mut sn) = ([0.0; 2], [0.0; 2]);
        let mut hh = |back: [f64; 2], fwd: [f64; 2]| h.upwind(&X, &back, &fwd, &mut sp, &mut sn);
        for p in [[-1.5, 0.2], [0.0, 0.0], [0.8, -0.4]] {
            assert!((hh(p, p) - h.value(&X, &p)).abs() < 1e-15);
        }
        // Non-decreasing in the backward differences, non-increasing in the forward ones.
        let base = hh([0.3, 0.1], [-0.2, -0.3]);
        assert!(hh([0.4, 0.1], [-0.2, -0.3]) >= base);
        assert!(hh([0.3, 0.2], [-0.2, -0.3]) >= base);
        assert!(hh([0.3, 0.1], [-0.1, -0.3]) <= base);
        assert!(hh([0.3, 0.1], [-0.2, -0.2]) <= base);
    }

    #[test]
    fn upwind_speeds_are_the_derivatives_of_the_numerical_hamiltonian() {
        let h = Quadratic::new(1.3);
        let (dx, eps) = (0.1, 1e-7);
        let (ul, ui, ur) = (0.3, 0.5, 0.45); // a local maximum: both speeds > 0
        let (mut sp, mut sn) = ([0.0], [0.0]);
        let mut hh = |ul: f64, ui: f64, ur: f64| {
            h.upwind(&X, &[(ui - ul) / dx], &[(ur - ui) / dx], &mut sp, &mut sn)
        };
        let d_ul = (hh(ul + eps, ui, ur) - hh(ul - eps, ui, ur)) / (2.0 * eps);
        let d_ur = (hh(ul, ui, ur + eps) - hh(ul, ui, ur - eps)) / (2.0 * eps);
        let (mut to_prev, mut to_next) = ([0.0], [0.0]);
        h.upwind(
            &X,
            &[(ui - ul) / dx],
            &[(ur - ui) / dx],
            &mut to_prev,
            &mut to_next,
        );
        assert!(to_prev[0] > 0.0 && to_next[0] > 0.0);
        assert!((d_ul + to_prev[0] / dx).abs() < 1e-5, "{d_ul}");
        assert!((d_ur + to_next[0] / dx).abs() < 1e-5, "{d_ur}");
    }

    /// The quadratic's exact speed Jacobian equals the provided central-difference one away
    /// from the kinks (a user Hamiltonian gets the latter).
    #[test]
    fn the_speed_jacobian_matches_its_finite_difference_default() {
        let q = Quadratic::new(0.7);
        let by_default = ByDefault(&q);
        let (mut exact, mut fd) = ([0.0; 16], [0.0; 16]);
        for (back, fwd) in [([0.4, -0.3], [-0.2, 0.5]), ([-1.0, 2.0], [1.5, -0.1])] {
            q.upwind_speed_jacobian(&X, &back, &fwd, &mut exact);
            by_default.upwind_speed_jacobian(&X, &back, &fwd, &mut fd);
            for (e, f) in exact.iter().zip(&fd) {
                assert!((e - f).abs() < 1e-8, "{exact:?} vs {fd:?}");
            }
            assert!(exact.iter().any(|&v| v != 0.0));
        }
    }

    #[test]
    fn godunov_is_consistent_and_between_the_one_sided_values() {
        let h = Quadratic::new(0.5);
        for p in [[-1.0, 2.0], [0.3, 0.0]] {
            assert!((h.godunov(&X, &p, &p) - h.value(&X, &p)).abs() < 1e-15);
        }
        // A rarefaction through the minimum (a < 0 < b) costs nothing; a shock (a > 0 > b)
        // takes the larger side.
        assert_eq!(h.godunov(&X, &[-1.0], &[1.0]), 0.0);
        assert_eq!(h.godunov(&X, &[1.0], &[-2.0]), 4.0);
    }
}
