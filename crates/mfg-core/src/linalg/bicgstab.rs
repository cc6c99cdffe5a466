//! Preconditioned BiCGSTAB (van der Vorst 1992), written once against [`LinearOperator`] and
//! [`Preconditioner`], with its work vectors allocated once.

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
}

fn dot(u: &[f64], v: &[f64]) -> f64 {
    u.iter().zip(v).map(|(p, q)| p * q).sum::<f64>()
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
        let bnorm = dot(b, b).sqrt();
        if bnorm == 0.0 {
            x.iter_mut().for_each(|v| *v = 0.0);
            return Ok(LinearInfo::default());
        }
        a.apply(x, &mut self.r);
        for (r, bi) in self.r.iter_mut().zip(b) {
            *r = bi - *r;
        }
        self.r0.copy_from_slice(&self.r);
        self.p.iter_mut().for_each(|v| *v = 0.0);
        self.v.iter_mut().for_each(|v| *v = 0.0);
        let (mut rho, mut alpha, mut omega) = (1.0, 1.0, 1.0);
        let mut res = dot(&self.r, &self.r).sqrt() / bnorm;
        let mut it = 0;
        let mut breakdown = false;
        while res > tol && it < params.max_iterations {
            it += 1;
            let rho_new = dot(&self.r0, &self.r);
            if rho_new == 0.0 || omega == 0.0 {
                breakdown = true;
                break;
            }
            let beta = (rho_new / rho) * (alpha / omega);
            rho = rho_new;
            for ((p, r), v) in self.p.iter_mut().zip(&self.r).zip(&self.v) {
                *p = r + beta * (*p - omega * v);
            }
            pc.apply(&self.p, &mut self.y);
            a.apply(&self.y, &mut self.v);
            alpha = rho / dot(&self.r0, &self.v);
            for ((s, r), v) in self.s.iter_mut().zip(&self.r).zip(&self.v) {
                *s = r - alpha * v;
            }
            let snorm = dot(&self.s, &self.s).sqrt() / bnorm;
            if snorm <= tol {
                for (xi, yi) in x.iter_mut().zip(&self.y) {
                    *xi += alpha * yi;
                }
                res = snorm;
                break;
            }
            pc.apply(&self.s, &mut self.z);
            a.apply(&self.z, &mut self.t);
            omega = dot(&self.t, &self.s) / dot(&self.t, &self.t);
            for ((xi, yi), zi) in x.iter_mut().zip(&self.y).zip(&self.z) {
                *xi += alpha * yi + omega * zi;
            }
            for ((r, s), t) in self.r.iter_mut().zip(&self.s).zip(&self.t) {
                *r = s - omega * t;
            }
            res = dot(&self.r, &self.r).sqrt() / bnorm;
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
