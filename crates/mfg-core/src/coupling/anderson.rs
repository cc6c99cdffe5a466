//! Anderson acceleration (type II) of a fixed-point iteration `x ← G(x)`, with a safeguard.
//!
//! With residuals `f_k = G(x_k) − x_k` and the differences of the last `depth` iterations
//! `ΔF = [f_{j+1} − f_j]`, `ΔG = [G(x_{j+1}) − G(x_j)]`, the coefficients
//!
//! ```text
//! γ = argmin ‖f_k − ΔF γ‖²_W + λ_reg ‖γ‖²
//! ```
//!
//! (weighted by the quadrature weights `W`, Tikhonov-regularised) give the next iterate
//!
//! ```text
//! x_{k+1} = x_k + β f_k − (ΔG − (1 − β) ΔF) γ
//! ```
//!
//! with mixing `β` (the damping θ of Picard). Since `ΔG − (1 − β) ΔF = ΔH` with the damped
//! iterates `H_j = x_j + β f_j`, the next iterate is a combination of the stored `H_j`, and
//! the normal equations `(ΔFᵀ W ΔF + λ_reg I) γ = ΔFᵀ W f_k` follow from the Gram matrix of
//! the stored residuals, kept up to date (one new row per step, taken in the same pass that
//! forms `f_k` and `H_k`). The normal equations are scaled to unit diagonal and factored by
//! Cholesky; when a pivot is small (a difference nearly dependent on the others) the oldest
//! iterates are dropped, down to a plain damped step if need be. A step is two passes over
//! memory, `O(depth · n)` (a QR from scratch cost `O(depth² · n)`); the passes run by blocks
//! (on the rayon pool for long vectors) with block sums added in block order, so the result
//! does not depend on the number of threads. History lives in preallocated ring buffers.

//! [`Safeguard`] wraps the mixer for a coupled solve: when the residual after an accelerated
//! step has grown, it takes the damped step instead and restarts the history.
//!
//! # References
//! H. F. Walker, P. Ni, *Anderson acceleration for fixed-point iterations*, SIAM J. Numer.
//! Anal. 49 (2011) 1715–1735.

use rayon::prelude::*;

use crate::linalg::kernels;

/// How the next iterate was formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepKind {
    /// `x + β f`.
    Damped,
    /// The Anderson extrapolation.
    Accelerated,
    /// The damped step, because the accelerated one made the residual grow (history
    /// restarted), or because no Newton correction was found.
    Fallback,
    /// A Newton correction ([`crate::IterationMethod::Newton`]).
    Newton,
    /// Half the last Newton step, because the full one did not lower the residual enough.
    LineSearch,
}

impl StepKind {
    /// The name written to `summary.json`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Damped => "damped",
            Self::Accelerated => "accelerated",
            Self::Fallback => "fallback",
            Self::Newton => "newton",
            Self::LineSearch => "line-search",
        }
    }
}

/// The Anderson mixer for vectors of a fixed length.
///
/// It keeps, for the last `depth + 1` iterates `x_j`, the residual `F_j = G(x_j) − x_j` and
/// the damped iterate `H_j = x_j + β F_j` (ring buffers), and the Gram matrix `F_jᵀ W F_k`.
/// Since `ΔG − (1 − β) ΔF = ΔH`, the next iterate is the combination
/// `x_{k+1} = H_k − Σ_j γ_j (H_{j+1} − H_j)` of the stored damped iterates, and the normal
/// equations of γ follow from the Gram matrix of the `F_j`: one step is one pass that forms
/// `F_k`, `H_k` and the new Gram row, and one pass that combines the `H_j` (`2 depth + 6`
/// vector passes over memory).
#[derive(Debug, Clone)]
pub struct Anderson {
    depth: usize,
    regularization: f64,
    /// The quadrature weights, repeated over the vectors (period `weights.len()`).
    weights: Vec<f64>,
    /// Length of the vectors.
    len: usize,
    /// Rings of `depth + 1` residuals and damped iterates; logical iterate j (oldest first) is
    /// slot (start + j) % (depth + 1).
    f: Vec<Vec<f64>>,
    h: Vec<Vec<f64>>,
    start: usize,
    stored: usize,
    /// The β the stored damped iterates were formed with.
    beta: f64,
    /// `F_sᵀ W F_t` by slot ((depth + 1)²), kept up to date.
    gram: Vec<f64>,
    /// The Gram matrix of the differences, its scaled Cholesky factor, the scales, the
    /// right-hand side / coefficients γ (depth² and depth each), the weights of the damped
    /// iterates (depth + 1).
    dgram: Vec<f64>,
    chol: Vec<f64>,
    scale: Vec<f64>,
    gamma: Vec<f64>,
    coef: Vec<f64>,
    /// Block partial sums of the new Gram row: blocks × (depth + 1).
    partials: Vec<f64>,
}

/// A column whose Cholesky pivot falls below this value (in the regularised Gram matrix of
/// the differences scaled to unit diagonal: the squared sine of its angle to the older
/// columns) is treated as dependent on them.
const DEPENDENCE_TOL: f64 = 1e-12;

/// One block of the new residual, the new damped iterate and the block's Gram-row sums.
type BlockParts<'a> = ((&'a mut [f64], &'a mut [f64]), &'a mut [f64]);

/// Elements per block of the passes (a block's partial sums are added in block order: the
/// same bits on any number of threads).
const BLOCK: usize = kernels::BLOCK;

/// The weights of the flat range `r` of vectors whose weights repeat with period
/// `weights.len()`: a slice of `weights` when `r` lies within one period, else copied into
/// `buffer` (allocated only then).
fn repeated<'b>(
    weights: &'b [f64],
    r: std::ops::Range<usize>,
    buffer: &'b mut Vec<f64>,
) -> &'b [f64] {
    let p = weights.len();
    let start = r.start % p;
    if start + r.len() <= p {
        return &weights[start..start + r.len()];
    }
    buffer.resize(r.len(), 0.0);
    let out = &mut buffer[..];
    let (mut k, mut i) = (0, start);
    while k < out.len() {
        let take = (p - i).min(out.len() - k);
        out[k..k + take].copy_from_slice(&weights[i..i + take]);
        k += take;
        i = 0;
    }
    out
}

impl Anderson {
    /// A mixer of the given depth (≥ 1) for vectors with quadrature `weights` (all > 0).
    /// `regularization` is λ_reg relative to the largest squared column norm (e.g. 1e-12).
    pub fn new(depth: usize, weights: Vec<f64>, regularization: f64) -> Self {
        Self::repeating(depth, weights, 1, regularization)
    }

    /// As [`Anderson::new`] for vectors of `copies` consecutive parts that share the
    /// quadrature `weights` (the time levels of a space–time field): the weights are not
    /// repeated in memory (a block's share is copied into a buffer the size of a cache).
    pub fn repeating(depth: usize, weights: Vec<f64>, copies: usize, regularization: f64) -> Self {
        assert!(depth >= 1, "Anderson depth must be >= 1");
        let n = weights.len() * copies;
        let slots = depth + 1;
        Self {
            depth,
            regularization,
            // One allocation per slot (`vec![v; k]` would copy `v`, touching every page now).
            f: (0..slots).map(|_| vec![0.0; n]).collect(),
            h: (0..slots).map(|_| vec![0.0; n]).collect(),
            start: 0,
            stored: 0,
            beta: f64::NAN,
            gram: vec![0.0; slots * slots],
            dgram: vec![0.0; depth * depth],
            chol: vec![0.0; depth * depth],
            scale: vec![0.0; depth],
            gamma: vec![0.0; depth],
            coef: vec![0.0; slots],
            partials: vec![0.0; n.div_ceil(BLOCK).max(1) * slots],
            weights,
            len: n,
        }
    }

    /// Length of the vectors.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the vectors are empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forget the history (the next step is damped).
    pub fn reset(&mut self) {
        self.start = 0;
        self.stored = 0;
    }

    fn slot(&self, j: usize) -> usize {
        (self.start + j) % (self.depth + 1)
    }

    /// Given `x = x_k` and `g = G(x_k)`, write `x_{k+1}` into `out`.
    pub fn step(&mut self, x: &[f64], g: &[f64], beta: f64, out: &mut [f64]) -> StepKind {
        out.copy_from_slice(x);
        self.step_in_place(out, g, beta)
    }

    /// Given `x = x_k` and `g = G(x_k)`, overwrite `x` with `x_{k+1}`.
    pub fn step_in_place(&mut self, x: &mut [f64], g: &[f64], beta: f64) -> StepKind {
        let n = self.len();
        assert!(
            x.len() == n && g.len() == n,
            "Anderson::step: wrong lengths"
        );
        if beta != self.beta {
            // The stored damped iterates were formed with another β.
            self.reset();
            self.beta = beta;
        }
        let slots = self.depth + 1;
        let new = if self.stored < slots {
            self.stored += 1;
            self.slot(self.stored - 1)
        } else {
            let s = self.start;
            self.start = (self.start + 1) % slots;
            s
        };
        self.record(x, g, new);
        let mut m = self.stored - 1;
        while m > 0 && !self.factorize(m) {
            // Nearly dependent: drop the oldest iterate and try again.
            self.start = (self.start + 1) % slots;
            self.stored -= 1;
            m -= 1;
        }
        self.solve(m);
        // x_{k+1} = Σ_j c_j H_j, block by block.
        let (h, coef, start) = (&self.h, &self.coef[..=m], self.start);
        kernels::update(x, |first, xb| {
            let r = first..first + xb.len();
            for (j, &c) in coef.iter().enumerate() {
                let hj = &h[(start + j) % slots][r.clone()];
                if j == 0 {
                    for (xi, hi) in xb.iter_mut().zip(hj) {
                        *xi = c * hi;
                    }
                } else {
                    for (xi, hi) in xb.iter_mut().zip(hj) {
                        *xi += c * hi;
                    }
                }
            }
        });
        if m == 0 {
            StepKind::Damped
        } else {
            StepKind::Accelerated
        }
    }

    /// One pass: `F = g − x` and `H = x + β F` into slot `new`, and its row of the Gram
    /// matrix against every stored iterate (block sums added in block order).
    fn record(&mut self, x: &[f64], g: &[f64], new: usize) {
        let (slots, stored, beta) = (self.depth + 1, self.stored, self.beta);
        let live: Vec<usize> = (0..stored).map(|j| self.slot(j)).collect();
        let mut f_new = std::mem::take(&mut self.f[new]);
        let mut h_new = std::mem::take(&mut self.h[new]);
        let (f, w) = (&self.f, &self.weights);
        let block = |(b, ((fb, hb), pb)): (usize, BlockParts<'_>)| {
            let r = b * BLOCK..b * BLOCK + fb.len();
            for (((fi, hi), xi), gi) in fb
                .iter_mut()
                .zip(hb.iter_mut())
                .zip(&x[r.clone()])
                .zip(&g[r.clone()])
            {
                *fi = gi - xi;
                *hi = xi + beta * *fi;
            }
            let mut buffer = Vec::new();
            let wb = repeated(w, r.clone(), &mut buffer);
            for (j, &s) in live.iter().enumerate() {
                let other: &[f64] = if s == new { fb } else { &f[s][r.clone()] };
                pb[j] = kernels::weighted_block_dot(wb, fb, other);
            }
        };
        let parts = f_new
            .chunks_mut(BLOCK)
            .zip(h_new.chunks_mut(BLOCK))
            .zip(self.partials.chunks_mut(slots));
        if x.len() >= kernels::PARALLEL_MIN {
            let parts: Vec<_> = parts.enumerate().collect();
            parts.into_par_iter().for_each(block);
        } else {
            parts.enumerate().for_each(block);
        }
        for (j, &s) in live.iter().enumerate() {
            let v: f64 = self
                .partials
                .chunks(slots)
                .take(x.len().div_ceil(BLOCK))
                .map(|p| p[j])
                .sum();
            self.gram[new * slots + s] = v;
            self.gram[s * slots + new] = v;
        }
        self.f[new] = f_new;
        self.h[new] = h_new;
    }

    /// `F_j` of logical iterate j against `F_k`.
    fn g(&self, j: usize, k: usize) -> f64 {
        self.gram[self.slot(j) * (self.depth + 1) + self.slot(k)]
    }

    /// Cholesky factorisation of the regularised Gram matrix of the `m` differences
    /// `ΔF_j = F_{j+1} − F_j`, scaled to unit diagonal; false if a difference is nearly
    /// dependent on the older ones (or the matrix is not finite).
    fn factorize(&mut self, m: usize) -> bool {
        let d = self.depth;
        for j in 0..m {
            for k in 0..m {
                self.dgram[j * d + k] =
                    self.g(j + 1, k + 1) - self.g(j + 1, k) - self.g(j, k + 1) + self.g(j, k);
            }
        }
        let max_norm2 = (0..m).map(|j| self.dgram[j * d + j]).fold(0.0, f64::max);
        if max_norm2 <= 0.0 || !max_norm2.is_finite() {
            return false;
        }
        let reg = self.regularization * max_norm2;
        for j in 0..m {
            self.scale[j] = 1.0 / (self.dgram[j * d + j].max(0.0) + reg).sqrt();
        }
        for j in 0..m {
            for k in 0..=j {
                let mut v = self.dgram[j * d + k] * self.scale[j] * self.scale[k];
                if j == k {
                    v += reg * self.scale[j] * self.scale[j];
                }
                for l in 0..k {
                    v -= self.chol[j * d + l] * self.chol[k * d + l];
                }
                if k < j {
                    self.chol[j * d + k] = v / self.chol[k * d + k];
                } else if v > DEPENDENCE_TOL {
                    self.chol[j * d + j] = v.sqrt();
                } else {
                    // (Also catches a NaN pivot.)
                    return false;
                }
            }
        }
        true
    }

    /// γ from the factor (`m` differences), and the weights `c` of the stored damped iterates
    /// in `x_{k+1} = H_m − Σ_j γ_j (H_{j+1} − H_j) = Σ_j c_j H_j`.
    fn solve(&mut self, m: usize) {
        let d = self.depth;
        // Right-hand side ΔF_jᵀ W F_m, scaled; then L y = S rhs, Lᵀ z = y, γ = S z.
        for j in 0..m {
            let rhs = self.g(j + 1, m) - self.g(j, m);
            let mut v = rhs * self.scale[j];
            for k in 0..j {
                v -= self.chol[j * d + k] * self.gamma[k];
            }
            self.gamma[j] = v / self.chol[j * d + j];
        }
        for j in (0..m).rev() {
            let mut v = self.gamma[j];
            for k in j + 1..m {
                v -= self.chol[k * d + j] * self.gamma[k];
            }
            self.gamma[j] = v / self.chol[j * d + j];
        }
        for j in 0..m {
            self.gamma[j] *= self.scale[j];
        }
        let c = &mut self.coef[..=m];
        c.fill(0.0);
        c[m] = 1.0;
        for j in 0..m {
            c[j + 1] -= self.gamma[j];
            c[j] += self.gamma[j];
        }
    }
}

/// Anderson with the safeguard of a coupled solve: when the residual norm after an accelerated
/// step exceeds `growth` times the one before it, take the damped step from the current
/// iterate and restart the history.
#[derive(Debug, Clone)]
pub struct Safeguard {
    mixer: Anderson,
    growth: f64,
    last_norm: f64,
    last_kind: StepKind,
}

impl Safeguard {
    /// Wrap a mixer; `growth ≥ 1` is the tolerated residual growth after an accelerated step.
    pub fn new(mixer: Anderson, growth: f64) -> Self {
        Self {
            mixer,
            growth,
            last_norm: f64::INFINITY,
            last_kind: StepKind::Damped,
        }
    }

    /// Forget everything.
    pub fn reset(&mut self) {
        self.mixer.reset();
        self.last_norm = f64::INFINITY;
        self.last_kind = StepKind::Damped;
    }

    /// The next iterate from `x`, `g = G(x)` and the residual norm `‖g − x‖` (any fixed norm).
    pub fn step(
        &mut self,
        x: &[f64],
        g: &[f64],
        residual_norm: f64,
        beta: f64,
        out: &mut [f64],
    ) -> StepKind {
        out.copy_from_slice(x);
        self.step_in_place(out, g, residual_norm, beta)
    }

    /// As [`Safeguard::step`], overwriting `x` with the next iterate.
    pub fn step_in_place(
        &mut self,
        x: &mut [f64],
        g: &[f64],
        residual_norm: f64,
        beta: f64,
    ) -> StepKind {
        let grew =
            self.last_kind == StepKind::Accelerated && residual_norm > self.growth * self.last_norm;
        let kind = if grew {
            // Restart: with an empty history the mixer takes the damped step from x, and the
            // new history begins at this iterate.
            self.mixer.reset();
            let kind = self.mixer.step_in_place(x, g, beta);
            debug_assert_eq!(kind, StepKind::Damped);
            StepKind::Fallback
        } else {
            self.mixer.step_in_place(x, g, beta)
        };
        self.last_norm = residual_norm;
        self.last_kind = kind;
        kind
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// G(x) = A x + b with a non-symmetric contraction A.
    fn linear_map(n: usize) -> (ndarray::Array2<f64>, Vec<f64>) {
        let a = ndarray::Array2::from_shape_fn((n, n), |(i, j)| {
            0.9 / n as f64 * ((i * 7 + j * 3) % 5) as f64 / 4.0 - if i == j { 0.3 } else { 0.0 }
        });
        let b = (0..n).map(|i| 1.0 + i as f64).collect();
        (a, b)
    }

    fn apply(a: &ndarray::Array2<f64>, b: &[f64], x: &[f64]) -> Vec<f64> {
        let ax = a.dot(&ndarray::aview1(x));
        b.iter().zip(&ax).map(|(bi, v)| bi + v).collect()
    }

    fn residual(a: &ndarray::Array2<f64>, b: &[f64], x: &[f64]) -> f64 {
        apply(a, b, x)
            .iter()
            .zip(x)
            .map(|(g, x)| (g - x).powi(2))
            .sum::<f64>()
            .sqrt()
    }

    #[test]
    fn linear_contraction_converges_in_n_plus_2_iterations() {
        for n in [2, 3, 5, 8] {
            let (a, b) = linear_map(n);
            let mut mixer = Anderson::new(n, vec![1.0; n], 1e-14);
            let mut x = vec![0.0; n];
            let mut out = vec![0.0; n];
            let r0 = residual(&a, &b, &x);
            let mut iterations = 0;
            while residual(&a, &b, &x) > 1e-10 * r0 {
                iterations += 1;
                assert!(
                    iterations <= n + 2,
                    "n = {n}: not converged in n + 2 iterations"
                );
                let g = apply(&a, &b, &x);
                mixer.step(&x, &g, 1.0, &mut out);
                x.copy_from_slice(&out);
            }
            // Plain Picard is far slower on the same map.
            let mut y = vec![0.0; n];
            for _ in 0..n + 2 {
                y = apply(&a, &b, &y);
            }
            assert!(
                residual(&a, &b, &y) > 1e-6 * r0,
                "n = {n}: the test map is too easy"
            );
        }
    }

    #[test]
    fn a_constant_map_is_solved_after_one_difference() {
        // G(x) = c: the residual is linear in x, so one difference column gives the answer.
        let mut mixer = Anderson::new(3, vec![0.5; 4], 1e-14);
        let c = [1.0, -2.0, 3.0, 0.5];
        let mut x = vec![0.0; 4];
        let mut out = vec![0.0; 4];
        assert_eq!(mixer.step(&x, &c, 0.5, &mut out), StepKind::Damped);
        x.copy_from_slice(&out);
        assert_eq!(mixer.step(&x, &c, 0.5, &mut out), StepKind::Accelerated);
        for (o, ci) in out.iter().zip(&c) {
            assert!((o - ci).abs() < 1e-12);
        }
    }

    #[test]
    fn dependent_columns_are_dropped_not_divided_by() {
        // The same residual twice gives a zero difference column: no NaN, a damped step.
        let mut mixer = Anderson::new(2, vec![1.0; 2], 0.0);
        let mut out = vec![0.0; 2];
        mixer.step(&[1.0, 1.0], &[2.0, 2.0], 0.5, &mut out);
        let kind = mixer.step(&[1.0, 1.0], &[2.0, 2.0], 0.5, &mut out);
        assert_eq!(kind, StepKind::Damped);
        assert_eq!(out, [1.5, 1.5]);
        // Only the newest iterate is left: no differences.
        assert_eq!(mixer.stored, 1);
    }

    /// A piecewise-linear scalar map whose linear model on x ≥ 0 extrapolates far past the
    /// kink: G(x) = 0.9 x − 1 for x ≥ 0 (its own fixed point, −10, lies outside), G(x) = −0.5
    /// for x < 0 (the true fixed point is −0.5).
    fn kinked(x: f64) -> f64 {
        if x >= 0.0 {
            0.9 * x - 1.0
        } else {
            -0.5
        }
    }

    #[test]
    fn the_safeguard_triggers_when_acceleration_overshoots_and_still_converges() {
        let mut sg = Safeguard::new(Anderson::new(3, vec![1.0], 1e-14), 1.0);
        let mut x = [5.0];
        let mut out = [0.0];
        let mut kinds = Vec::new();
        for _ in 0..30 {
            let g = [kinked(x[0])];
            let r = (g[0] - x[0]).abs();
            if r < 1e-12 {
                break;
            }
            kinds.push(sg.step(&x, &g, r, 0.5, &mut out));
            x = out;
        }
        // The secant step from the x ≥ 0 branch jumps to −10, where the residual is 9.5.
        assert_eq!(kinds[1], StepKind::Accelerated);
        assert_eq!(kinds[2], StepKind::Fallback, "{kinds:?}");
        assert!((x[0] + 0.5).abs() < 1e-12, "x = {}", x[0]);
    }
}
