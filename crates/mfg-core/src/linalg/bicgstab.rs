//! Preconditioned BiCGSTAB (van der Vorst 1992), written once against [`LinearOperator`] and
//! [`Preconditioner`], with its work vectors allocated once.

use rayon::prelude::*;

use crate::linalg::kernels::{self, update};
use crate::linalg::operator::{
    KrylovParams, LinearError, LinearInfo, LinearOperator, Preconditioner,
};

/// BiCGSTAB's work vectors for systems of one order.
#[derive(Debug, Clone)]
pub struct BiCgStab {
    r: Vec<f64>,
    r0: Vec<f64>,
    p: Vec<f64>,
    v: Vec<f64>,
    y: Vec<f64>,
    s: Vec<f64>,
    z: Vec<f64>,
    t: Vec<f64>,
    /// Block sums of the reductions.
    partials: Vec<f64>,
}

impl BiCgStab {
    /// Work vectors for systems of order `n`.
    pub fn new(n: usize) -> Self {
        Self {
            r: vec![0.0; n],
            r0: vec![0.0; n],
            p: vec![0.0; n],
            v: vec![0.0; n],
            y: vec![0.0; n],
            s: vec![0.0; n],
            z: vec![0.0; n],
            t: vec![0.0; n],
            partials: vec![0.0; 2 * n.div_ceil(kernels::BLOCK).max(1)],
        }
    }

    /// Solve `A x = b` from the initial guess in `x` to `‖b − A x‖₂ ≤ tolerance ‖b‖₂`, with
    /// the right preconditioner `pc`.
    ///
    /// # Panics
    /// If the lengths of `b`, `x` and the work vectors differ from `a`'s order.
    pub fn solve<A, P>(
        &mut self,
        a: &A,
        pc: &P,
        b: &[f64],
        x: &mut [f64],
        params: KrylovParams,
    ) -> Result<LinearInfo, LinearError>
    where
        A: LinearOperator + ?Sized,
        P: Preconditioner + ?Sized,
    {
        let n = a.nrows();
        assert!(
            b.len() == n && x.len() == n && self.r.len() == n,
            "BiCgStab::solve: wrong lengths"
        );
        let tol = params.tolerance;
        let partials = &mut self.partials;
        let mut dot = |u: &[f64], v: &[f64]| kernels::dot(u, v, partials);
        let bnorm = dot(b, b).sqrt();
        if bnorm == 0.0 {
            x.iter_mut().for_each(|v| *v = 0.0);
            return Ok(LinearInfo::default());
        }
        a.apply(x, &mut self.r);
        update(&mut self.r, |i, r| {
            for (r, bi) in r.iter_mut().zip(&b[i..]) {
                *r = bi - *r;
            }
        });
        kernels::copy(&mut self.r0, &self.r);
        update(&mut self.p, |_, p| p.fill(0.0));
        update(&mut self.v, |_, v| v.fill(0.0));
        let (mut rho, mut alpha, mut omega) = (1.0, 1.0, 1.0);
        let mut res = dot(&self.r, &self.r).sqrt() / bnorm;
        // r0ᵀ r for the next iteration (computed with the residual's update).
        let mut r0r = dot(&self.r0, &self.r);
        let mut it = 0;
        let mut breakdown = false;
        while res > tol && it < params.max_iterations {
            it += 1;
            let rho_new = r0r;
            if rho_new == 0.0 || omega == 0.0 {
                breakdown = true;
                break;
            }
            let beta = (rho_new / rho) * (alpha / omega);
            rho = rho_new;
            let (r, v) = (&self.r, &self.v);
            update(&mut self.p, |i, p| {
                for ((p, r), v) in p.iter_mut().zip(&r[i..]).zip(&v[i..]) {
                    *p = r + beta * (*p - omega * v);
                }
            });
            pc.apply(&self.p, &mut self.y);
            a.apply(&self.y, &mut self.v);
            alpha = rho / kernels::dot(&self.r0, &self.v, &mut self.partials);
            // s = r − α v and ‖s‖² in one pass (each block's dot while it is in cache: the
            // same bits as a separate dot).
            let (r, v) = (&self.r, &self.v);
            let [ss] = kernels::blocks_sum(
                n,
                self.s.par_chunks_mut(kernels::BLOCK),
                &mut self.partials,
                |b, s: &mut [f64]| {
                    let i = b * kernels::BLOCK;
                    for ((s, r), v) in s.iter_mut().zip(&r[i..]).zip(&v[i..]) {
                        *s = r - alpha * v;
                    }
                    [kernels::block_dot(s, s)]
                },
            );
            let snorm = ss.sqrt() / bnorm;
            if snorm <= tol {
                let y = &self.y;
                update(x, |i, x| {
                    for (xi, yi) in x.iter_mut().zip(&y[i..]) {
                        *xi += alpha * yi;
                    }
                });
                res = snorm;
                break;
            }
            pc.apply(&self.s, &mut self.z);
            a.apply(&self.z, &mut self.t);
            // tᵀs and tᵀt in one pass.
            let (s, t) = (&self.s, &self.t);
            let parts = t
                .par_chunks(kernels::BLOCK)
                .zip(s.par_chunks(kernels::BLOCK));
            let [ts, tt] = kernels::blocks_sum(n, parts, &mut self.partials, |_, (tb, sb)| {
                [kernels::block_dot(tb, sb), kernels::block_dot(tb, tb)]
            });
            omega = ts / tt;
            // x += α y + ω z, r = s − ω t, ‖r‖² and r0ᵀ r in one pass.
            let (y, z, r0) = (&self.y, &self.z, &self.r0);
            let parts = x
                .par_chunks_mut(kernels::BLOCK)
                .zip(self.r.par_chunks_mut(kernels::BLOCK));
            let [rr, rr0] = kernels::blocks_sum(
                n,
                parts,
                &mut self.partials,
                |b, (xb, rb): (&mut [f64], &mut [f64])| {
                    let i = b * kernels::BLOCK;
                    for ((xi, yi), zi) in xb.iter_mut().zip(&y[i..]).zip(&z[i..]) {
                        *xi += alpha * yi + omega * zi;
                    }
                    for ((r, s), t) in rb.iter_mut().zip(&s[i..]).zip(&t[i..]) {
                        *r = s - omega * t;
                    }
                    let r0b = &r0[i..i + rb.len()];
                    [kernels::block_dot(rb, rb), kernels::block_dot(r0b, rb)]
                },
            );
            res = rr.sqrt() / bnorm;
            r0r = rr0;
        }
        let info = LinearInfo {
            iterations: it,
            relative_residual: res,
        };
        if res <= tol {
            Ok(info)
        } else if breakdown {
            Err(LinearError::Breakdown {
                iterations: it,
                relative_residual: res,
            })
        } else {
            Err(LinearError::NoConvergence {
                iterations: it,
                relative_residual: res,
            })
        }
    }
}
