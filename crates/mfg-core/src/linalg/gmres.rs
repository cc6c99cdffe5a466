//! Restarted GMRES (Saad–Schultz 1986) for operators given as a closure (the Jacobian of the
//! coupled system is never assembled: its products are sweeps of per-level solves), with
//! modified Gram–Schmidt, Givens rotations and its work storage allocated once.

use crate::linalg::operator::{KrylovParams, LinearError, LinearInfo};

/// GMRES(`restart`)'s Krylov basis and Hessenberg matrix for systems of one order.
#[derive(Debug, Clone)]
pub struct Gmres {
    restart: usize,
    /// Up to `restart + 1` basis vectors, allocated as the iteration first needs them (a
    /// system that converges in a few iterations does not pay for the whole basis).
    basis: Vec<Vec<f64>>,
    /// The Hessenberg matrix, column `j` at `h[j * (restart + 1)..]`.
    h: Vec<f64>,
    cs: Vec<f64>,
    sn: Vec<f64>,
    g: Vec<f64>,
    y: Vec<f64>,
    w: Vec<f64>,
}

fn dot(u: &[f64], v: &[f64]) -> f64 {
    u.iter().zip(v).map(|(p, q)| p * q).sum::<f64>()
}

fn norm(u: &[f64]) -> f64 {
    dot(u, u).sqrt()
}

impl Gmres {
    /// Work storage for systems of order `n`, restarting every `restart` (≥ 1) iterations.
    pub fn new(n: usize, restart: usize) -> Self {
        let restart = restart.max(1);
        Self {
            restart,
            basis: vec![vec![0.0; n]],
            h: vec![0.0; (restart + 1) * restart],
            cs: vec![0.0; restart],
            sn: vec![0.0; restart],
            g: vec![0.0; restart + 1],
            y: vec![0.0; restart],
            w: vec![0.0; n],
        }
    }

    /// The order of the systems this storage is for.
    pub fn order(&self) -> usize {
        self.w.len()
    }

    /// Solve `A x = b` from the initial guess in `x` to `‖b − A x‖₂ ≤ tolerance ‖b‖₂`, where
    /// `apply(v, out)` writes `out = A v` (an error from it ends the solve).
    ///
    /// # Panics
    /// If `b` or `x` is not of the order of the storage.
    pub fn solve(
        &mut self,
        mut apply: impl FnMut(&[f64], &mut [f64]) -> Result<(), LinearError>,
        b: &[f64],
        x: &mut [f64],
        params: KrylovParams,
    ) -> Result<LinearInfo, LinearError> {
        let n = self.order();
        assert!(b.len() == n && x.len() == n, "Gmres::solve: wrong lengths");
        let m = self.restart;
        let ld = m + 1;
        let b_norm = norm(b);
        if b_norm == 0.0 {
            x.iter_mut().for_each(|v| *v = 0.0);
            return Ok(LinearInfo::default());
        }
        let target = params.tolerance * b_norm;
        let mut iterations = 0;
        let mut relative;
        // A zero initial guess needs no product for its residual.
        let mut zero_guess = x.iter().all(|&v| v == 0.0);
        loop {
            // r = b − A x into the first basis vector.
            if zero_guess {
                self.basis[0].copy_from_slice(b);
                zero_guess = false;
            } else {
                apply(x, &mut self.w)?;
                for ((v, bi), wi) in self.basis[0].iter_mut().zip(b).zip(&self.w) {
                    *v = bi - wi;
                }
            }
            let beta = norm(&self.basis[0]);
            relative = beta / b_norm;
            if beta <= target {
                return Ok(LinearInfo {
                    iterations,
                    relative_residual: relative,
                });
            }
            if iterations >= params.max_iterations {
                return Err(LinearError::NoConvergence {
                    iterations,
                    relative_residual: relative,
                });
            }
            self.basis[0].iter_mut().for_each(|v| *v /= beta);
            self.g.iter_mut().for_each(|v| *v = 0.0);
            self.g[0] = beta;
            let mut k = 0;
            while k < m && iterations < params.max_iterations {
                iterations += 1;
                apply(&self.basis[k], &mut self.w)?;
                // Modified Gram–Schmidt against the basis so far.
                for j in 0..=k {
                    let hjk = dot(&self.w, &self.basis[j]);
                    self.h[k * ld + j] = hjk;
                    for (wi, vi) in self.w.iter_mut().zip(&self.basis[j]) {
                        *wi -= hjk * vi;
                    }
                }
                let next = norm(&self.w);
                self.h[k * ld + k + 1] = next;
                if self.basis.len() < k + 2 {
                    self.basis.push(vec![0.0; n]);
                }
                if next > 0.0 {
                    for (v, wi) in self.basis[k + 1].iter_mut().zip(&self.w) {
                        *v = wi / next;
                    }
                }
                // Apply the earlier rotations to the new column, then make its own.
                for j in 0..k {
                    let (a, c) = (self.h[k * ld + j], self.h[k * ld + j + 1]);
                    self.h[k * ld + j] = self.cs[j] * a + self.sn[j] * c;
                    self.h[k * ld + j + 1] = -self.sn[j] * a + self.cs[j] * c;
                }
                let (a, c) = (self.h[k * ld + k], self.h[k * ld + k + 1]);
                let r = a.hypot(c);
                if r == 0.0 {
                    return Err(LinearError::Breakdown {
                        iterations,
                        relative_residual: relative,
                    });
                }
                self.cs[k] = a / r;
                self.sn[k] = c / r;
                self.h[k * ld + k] = r;
                self.h[k * ld + k + 1] = 0.0;
                self.g[k + 1] = -self.sn[k] * self.g[k];
                self.g[k] *= self.cs[k];
                k += 1;
                relative = self.g[k].abs() / b_norm;
                if self.g[k].abs() <= target || next == 0.0 {
                    break;
                }
            }
            // x += V y with H y = g (upper triangular, k × k).
            for i in (0..k).rev() {
                let mut s = self.g[i];
                for j in i + 1..k {
                    s -= self.h[j * ld + i] * self.y[j];
                }
                self.y[i] = s / self.h[i * ld + i];
            }
            for (j, yj) in self.y[..k].iter().enumerate() {
                for (xi, vi) in x.iter_mut().zip(&self.basis[j]) {
                    *xi += yj * vi;
                }
            }
            if !relative.is_finite() {
                return Err(LinearError::Breakdown {
                    iterations,
                    relative_residual: relative,
                });
            }
            // The Givens estimate is the residual of the least-squares solution (exact in exact
            // arithmetic): when it meets the target, done without another product; after a
            // restart the loop's head recomputes the true residual.
            if relative <= params.tolerance {
                return Ok(LinearInfo {
                    iterations,
                    relative_residual: relative,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A non-symmetric, non-normal tridiagonal matrix (convection–diffusion).
    fn apply_cd(v: &[f64], out: &mut [f64]) -> Result<(), LinearError> {
        let n = v.len();
        for i in 0..n {
            let l = if i > 0 { v[i - 1] } else { 0.0 };
            let r = if i + 1 < n { v[i + 1] } else { 0.0 };
            out[i] = 3.0 * v[i] - 2.2 * l - 0.7 * r;
        }
        Ok(())
    }

    #[test]
    fn gmres_solves_a_nonsymmetric_system_with_and_without_restarts() {
        let n = 60;
        let exact: Vec<f64> = (0..n).map(|i| ((i * 7) % 11) as f64 - 5.0).collect();
        let mut b = vec![0.0; n];
        apply_cd(&exact, &mut b).unwrap();
        for restart in [n, 10] {
            let mut x = vec![0.0; n];
            let params = KrylovParams {
                tolerance: 1e-12,
                max_iterations: 2000,
            };
            let info = Gmres::new(n, restart)
                .solve(apply_cd, &b, &mut x, params)
                .unwrap();
            let err = x
                .iter()
                .zip(&exact)
                .fold(0.0_f64, |a, (p, q)| a.max((p - q).abs()));
            assert!(err < 1e-8, "restart {restart}: error {err}, {info:?}");
            assert!(info.relative_residual <= 1e-12, "{info:?}");
            // Full GMRES terminates in at most n steps.
            if restart == n {
                assert!(info.iterations <= n, "{info:?}");
            }
        }
    }

    #[test]
    fn gmres_reports_no_convergence_and_operator_errors() {
        let n = 40;
        let b = vec![1.0; n];
        let mut x = vec![0.0; n];
        let few = KrylovParams {
            tolerance: 1e-14,
            max_iterations: 3,
        };
        let e = Gmres::new(n, 20)
            .solve(apply_cd, &b, &mut x, few)
            .unwrap_err();
        assert!(
            matches!(e, LinearError::NoConvergence { iterations: 3, .. }),
            "{e:?}"
        );
        let failing = |_: &[f64], _: &mut [f64]| {
            Err(LinearError::Breakdown {
                iterations: 7,
                relative_residual: 1.0,
            })
        };
        let e = Gmres::new(n, 20)
            .solve(failing, &b, &mut x, few)
            .unwrap_err();
        assert_eq!(e.iterations(), 7);
    }
}
