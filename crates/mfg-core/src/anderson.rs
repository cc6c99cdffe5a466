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
//! with mixing `β` (the damping θ of Picard). The least-squares problem is solved through its
//! normal equations `(ΔFᵀ W ΔF + λ_reg I) γ = ΔFᵀ W f_k`: the Gram matrix is kept up to date
//! (one new row per step, its inner products taken in the same pass over memory that forms the
//! new differences), scaled to unit diagonal and factored by Cholesky; when a pivot is small
//! relative to its column (the column nearly dependent on the others) the oldest columns are
//! dropped, down to a plain damped step if need be. A step costs `O(depth · n)`, a few passes
//! over memory (a QR from scratch cost `O(depth² · n)`). History lives in preallocated ring
//! buffers.
//!
//! [`Safeguard`] wraps the mixer for a coupled solve: when the residual after an accelerated
//! step has grown, it takes the damped step instead and restarts the history.
//!
//! # References
//! H. F. Walker, P. Ni, *Anderson acceleration for fixed-point iterations*, SIAM J. Numer.
//! Anal. 49 (2011) 1715–1735.

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
#[derive(Debug, Clone)]
pub struct Anderson {
    depth: usize,
    regularization: f64,
    weights: Vec<f64>,
    /// Ring buffers of ΔF and ΔG columns; logical column j is slot (start + j) % depth.
    df: Vec<Vec<f64>>,
    dg: Vec<Vec<f64>>,
    start: usize,
    count: usize,
    prev_f: Vec<f64>,
    prev_g: Vec<f64>,
    has_prev: bool,
    f: Vec<f64>,
    /// `ΔFᵀ W ΔF` by slot (depth × depth), kept up to date.
    gram: Vec<f64>,
    /// Cholesky factor of the scaled, regularised Gram matrix of the logical columns.
    chol: Vec<f64>,
    /// Column scales (1/√diagonal) and the right-hand side / coefficients γ.
    scale: Vec<f64>,
    gamma: Vec<f64>,
    /// The new Gram row and the right-hand side, accumulated in [`Anderson::record`].
    row: Vec<f64>,
    rhs: Vec<f64>,
}

/// Elements per block of the fused passes (the block of the shared vectors stays in L1 while
/// the history columns stream through).
const BLOCK: usize = 512;

/// A column whose Cholesky pivot falls below this value (in the regularised Gram matrix
/// scaled to unit diagonal: the squared sine of its angle to the older columns) is treated as
/// dependent on them.
const DEPENDENCE_TOL: f64 = 1e-14;

impl Anderson {
    /// A mixer of the given depth (≥ 1) for vectors with quadrature `weights` (all > 0).
    /// `regularization` is λ_reg relative to the largest squared column norm (e.g. 1e-12).
    pub fn new(depth: usize, weights: Vec<f64>, regularization: f64) -> Self {
        assert!(depth >= 1, "Anderson depth must be >= 1");
        let n = weights.len();
        Self {
            depth,
            regularization,
            df: vec![vec![0.0; n]; depth],
            dg: vec![vec![0.0; n]; depth],
            start: 0,
            count: 0,
            prev_f: vec![0.0; n],
            prev_g: vec![0.0; n],
            has_prev: false,
            f: vec![0.0; n],
            gram: vec![0.0; depth * depth],
            chol: vec![0.0; depth * depth],
            scale: vec![0.0; depth],
            gamma: vec![0.0; depth],
            row: vec![0.0; depth],
            rhs: vec![0.0; depth],
            weights,
        }
    }

    /// Length of the vectors.
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    /// Whether the vectors are empty.
    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    /// Forget the history (the next step is damped).
    pub fn reset(&mut self) {
        self.count = 0;
        self.start = 0;
        self.has_prev = false;
    }

    fn slot(&self, j: usize) -> usize {
        (self.start + j) % self.depth
    }

    /// Given `x = x_k` and `g = G(x_k)`, write `x_{k+1}` into `out`.
    pub fn step(&mut self, x: &[f64], g: &[f64], beta: f64, out: &mut [f64]) -> StepKind {
        let n = self.len();
        assert!(
            x.len() == n && g.len() == n && out.len() == n,
            "Anderson::step: wrong lengths"
        );
        let new_slot = self.has_prev.then(|| {
            if self.count < self.depth {
                self.count += 1;
                self.slot(self.count - 1)
            } else {
                let s = self.start;
                self.start = (self.start + 1) % self.depth;
                s
            }
        });
        self.record(x, g, new_slot);
        self.has_prev = true;

        let mut dropped = 0;
        while self.count > 0 && !self.factorize() {
            // Nearly dependent: drop the oldest column and try again.
            self.start = (self.start + 1) % self.depth;
            self.count -= 1;
            dropped += 1;
        }
        let m = self.count;
        let d = self.depth;
        // γ = S (S G S + λ S²)⁻¹ S ΔFᵀ W f by the Cholesky factor (S the column scales); the
        // right-hand side of logical column j is rhs[j + dropped].
        for j in 0..m {
            let mut v = self.rhs[j + dropped] * self.scale[j];
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
        // out = x + β f − Σ_j γ_j (ΔG_j − (1 − β) ΔF_j), block by block.
        for (b, ob) in out.chunks_mut(BLOCK).enumerate() {
            let r = b * BLOCK..b * BLOCK + ob.len();
            for ((o, xi), fi) in ob.iter_mut().zip(&x[r.clone()]).zip(&self.f[r.clone()]) {
                *o = xi + beta * fi;
            }
            for j in 0..m {
                let (s, gj) = (self.slot(j), self.gamma[j]);
                let (dg, df) = (&self.dg[s][r.clone()], &self.df[s][r.clone()]);
                for ((o, dgi), dfi) in ob.iter_mut().zip(dg).zip(df) {
                    *o -= gj * (dgi - (1.0 - beta) * dfi);
                }
            }
        }
        if m == 0 {
            StepKind::Damped
        } else {
            StepKind::Accelerated
        }
    }

    /// One pass over memory: `f = g − x`; into the `new` slot (if any) the differences
    /// `ΔF = f − f_prev`, `ΔG = g − g_prev`, and their row of the Gram matrix; the right-hand
    /// side `ΔFᵀ W f` of every logical column (in `rhs`); `f_prev`, `g_prev` updated.
    fn record(&mut self, x: &[f64], g: &[f64], new: Option<usize>) {
        let (d, m, n) = (self.depth, self.count, self.len());
        self.row.fill(0.0);
        self.rhs.fill(0.0);
        for start in (0..n).step_by(BLOCK) {
            let r = start..(start + BLOCK).min(n);
            for k in r.clone() {
                let fi = g[k] - x[k];
                self.f[k] = fi;
                if let Some(s) = new {
                    self.df[s][k] = fi - self.prev_f[k];
                    self.dg[s][k] = g[k] - self.prev_g[k];
                }
                self.prev_f[k] = fi;
                self.prev_g[k] = g[k];
            }
            let (w, f) = (&self.weights[r.clone()], &self.f[r.clone()]);
            let dot = |a: &[f64], b: &[f64]| -> f64 {
                w.iter().zip(a).zip(b).map(|((w, a), b)| w * a * b).sum()
            };
            for j in 0..m {
                let col = &self.df[(self.start + j) % d][r.clone()];
                self.rhs[j] += dot(col, f);
                if let Some(s) = new {
                    self.row[j] += dot(col, &self.df[s][r.clone()]);
                }
            }
        }
        if let Some(s) = new {
            for j in 0..m {
                let t = self.slot(j);
                self.gram[s * d + t] = self.row[j];
                self.gram[t * d + s] = self.row[j];
            }
        }
    }

    /// Cholesky factorisation of the regularised Gram matrix of the logical columns, scaled to
    /// unit diagonal; false if a column is nearly dependent on the older ones (or the matrix
    /// is not finite).
    fn factorize(&mut self) -> bool {
        let (m, d) = (self.count, self.depth);
        let (start, gram) = (self.start, &self.gram);
        let g = |j: usize, k: usize| gram[((start + j) % d) * d + (start + k) % d];
        let max_norm2 = (0..m).map(|j| g(j, j)).fold(0.0, f64::max);
        if max_norm2 == 0.0 || !max_norm2.is_finite() {
            return false;
        }
        let reg = self.regularization * max_norm2;
        for j in 0..m {
            self.scale[j] = 1.0 / (g(j, j) + reg).sqrt();
        }
        for j in 0..m {
            for k in 0..=j {
                let mut v = g(j, k) * self.scale[j] * self.scale[k];
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
        let grew =
            self.last_kind == StepKind::Accelerated && residual_norm > self.growth * self.last_norm;
        let kind = if grew {
            // Restart: with an empty history the mixer takes the damped step from x, and the
            // new history begins at this iterate.
            self.mixer.reset();
            let kind = self.mixer.step(x, g, beta, out);
            debug_assert_eq!(kind, StepKind::Damped);
            StepKind::Fallback
        } else {
            self.mixer.step(x, g, beta, out)
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
        assert_eq!(mixer.count, 0);
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
