//! Jiang–Peng HJ-WENO5 one-sided derivatives of grid values.
//!
//! With forward differences `D⁺φ_j = (φ_{j+1} − φ_j)/h`:
//!
//! ```text
//! φx⁻_i = WENO5(D⁺φ_{i−3}, D⁺φ_{i−2}, D⁺φ_{i−1}, D⁺φ_i,     D⁺φ_{i+1})
//! φx⁺_i = WENO5(D⁺φ_{i+2}, D⁺φ_{i+1}, D⁺φ_i,     D⁺φ_{i−1}, D⁺φ_{i−2})
//! ```
//!
//! using the same candidates, smoothness indicators and weights as the reconstruction
//! ([`crate::reconstruct()`]). Three ghost values on each side come from the boundary condition.

use crate::reconstruct::{weno5, Weights};

/// How the three ghost values beyond each end are filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ghosts {
    /// `φ` has `n` distinct points of a period (the end point is not repeated).
    Periodic,
    /// Even reflection about the end points (`φ_{−k} = φ_k`): `∂n φ = 0` at vertex-centred walls.
    Reflect,
}

/// Work arrays for [`HjWeno::derivatives`], sized once for `n` points.
#[derive(Debug, Clone)]
pub struct HjWeno {
    weights: Weights,
    ghosts: Ghosts,
    padded: Vec<f64>,
    diffs: Vec<f64>,
}

/// Ghost points on each side.
pub const GHOSTS: usize = 3;

impl HjWeno {
    /// Derivatives of `n ≥ 4` values with the given weights and ghosts.
    pub fn new(n: usize, weights: Weights, ghosts: Ghosts) -> Self {
        assert!(n >= 4, "HjWeno needs at least 4 points, got {n}");
        Self {
            weights,
            ghosts,
            padded: vec![0.0; n + 2 * GHOSTS],
            diffs: vec![0.0; n + 2 * GHOSTS - 1],
        }
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.padded.len() - 2 * GHOSTS
    }

    /// Always false (`n ≥ 4`).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The weights in use.
    pub fn weights(&self) -> Weights {
        self.weights
    }

    /// `φx⁻` and `φx⁺` at every point of `phi` (spacing `h`).
    pub fn derivatives(&mut self, phi: &[f64], h: f64, minus: &mut [f64], plus: &mut [f64]) {
        let n = self.len();
        assert!(
            phi.len() == n && minus.len() == n && plus.len() == n,
            "HjWeno::derivatives: wrong lengths"
        );
        let p = &mut self.padded;
        p[GHOSTS..GHOSTS + n].copy_from_slice(phi);
        for k in 1..=GHOSTS {
            match self.ghosts {
                Ghosts::Periodic => {
                    p[GHOSTS - k] = phi[n - k];
                    p[GHOSTS + n - 1 + k] = phi[k - 1];
                }
                Ghosts::Reflect => {
                    p[GHOSTS - k] = phi[k];
                    p[GHOSTS + n - 1 + k] = phi[n - 1 - k];
                }
            }
        }
        let inv_h = 1.0 / h;
        for (d, w) in self.diffs.iter_mut().zip(p.windows(2)) {
            *d = (w[1] - w[0]) * inv_h;
        }
        match self.weights {
            Weights::Js => sweep::<0>(&self.diffs, minus, plus),
            Weights::Z => sweep::<1>(&self.diffs, minus, plus),
            Weights::M => sweep::<2>(&self.diffs, minus, plus),
        }
    }
}

#[inline(always)]
fn sweep<const K: u8>(d: &[f64], minus: &mut [f64], plus: &mut [f64]) {
    let w = match K {
        0 => Weights::Js,
        1 => Weights::Z,
        _ => Weights::M,
    };
    let n = minus.len();
    let (d0, d1, d2, d3, d4, d5) = (
        &d[..n],
        &d[1..n + 1],
        &d[2..n + 2],
        &d[3..n + 3],
        &d[4..n + 4],
        &d[5..n + 5],
    );
    for i in 0..n {
        minus[i] = weno5(w, d0[i], d1[i], d2[i], d3[i], d4[i]);
        plus[i] = weno5(w, d5[i], d4[i], d3[i], d2[i], d1[i]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_functions_have_exact_one_sided_derivatives() {
        // φ = 3x (the case the Python peer gets wrong): both derivatives are 3 inside.
        let n = 20;
        let h = 0.1;
        let phi: Vec<f64> = (0..n).map(|i| 3.0 * i as f64 * h).collect();
        let (mut m, mut p) = (vec![0.0; n], vec![0.0; n]);
        for w in Weights::ALL {
            let mut hj = HjWeno::new(n, w, Ghosts::Reflect);
            hj.derivatives(&phi, h, &mut m, &mut p);
            for i in 3..n - 3 {
                assert!(
                    (m[i] - 3.0).abs() < 1e-12 && (p[i] - 3.0).abs() < 1e-12,
                    "{w:?} at {i}"
                );
            }
        }
    }

    #[test]
    fn reflected_ghosts_make_the_wall_derivative_vanish_for_even_data() {
        // cos(πx) on [0, 1] is even about both walls: φx± at the walls are ± the same.
        let n = 41;
        let h = 1.0 / 40.0;
        let phi: Vec<f64> = (0..n)
            .map(|i| (std::f64::consts::PI * i as f64 * h).cos())
            .collect();
        let (mut m, mut p) = (vec![0.0; n], vec![0.0; n]);
        let mut hj = HjWeno::new(n, Weights::Js, Ghosts::Reflect);
        hj.derivatives(&phi, h, &mut m, &mut p);
        assert!((m[0] + p[0]).abs() < 1e-12);
        assert!(m[0].abs() < 1e-3);
    }
}
