//! Tridiagonal and cyclic tridiagonal systems, solved in place with preallocated scratch.

/// A (possibly cyclic) tridiagonal matrix with its solve scratch.
///
/// Row `i` holds `sub[i]` at column `i − 1`, `diag[i]` at `i` and `sup[i]` at `i + 1`. When
/// cyclic, `sub[0]` is the corner entry at column `n − 1` and `sup[n − 1]` the corner at column
/// `0`; otherwise those two entries must be zero.
///
/// The solves use no pivoting: they are meant for M-matrices that are diagonally dominant by
/// rows or by columns (the implicit upwind operators of this workspace), for which the pivots
/// are positive and the elimination is stable.
#[derive(Debug, Clone)]
pub struct Tridiagonal {
    /// Sub-diagonal (and the top-right corner when cyclic).
    pub sub: Vec<f64>,
    /// Diagonal.
    pub diag: Vec<f64>,
    /// Super-diagonal (and the bottom-left corner when cyclic).
    pub sup: Vec<f64>,
    cyclic: bool,
    c: Vec<f64>,
    z: Vec<f64>,
    bb: Vec<f64>,
}

impl Tridiagonal {
    /// A zero `n × n` matrix (`n ≥ 3`).
    pub fn new(n: usize, cyclic: bool) -> Self {
        assert!(n >= 3, "Tridiagonal needs n >= 3, got {n}");
        Self {
            sub: vec![0.0; n],
            diag: vec![0.0; n],
            sup: vec![0.0; n],
            cyclic,
            c: vec![0.0; n],
            z: if cyclic { vec![0.0; n] } else { Vec::new() },
            bb: if cyclic { vec![0.0; n] } else { Vec::new() },
        }
    }

    /// Order of the matrix.
    pub fn len(&self) -> usize {
        self.diag.len()
    }

    /// Always false (`n ≥ 3`).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Whether the corner entries are in use.
    pub fn is_cyclic(&self) -> bool {
        self.cyclic
    }

    /// Replace the matrix by its transpose, in place.
    pub fn transpose(&mut self) {
        // (Aᵀ)[i][i−1] = A[i−1][i] = sup[i−1], (Aᵀ)[i][i+1] = A[i+1][i] = sub[i+1], cyclically.
        std::mem::swap(&mut self.sub, &mut self.sup);
        self.sub.rotate_right(1);
        self.sup.rotate_left(1);
    }

    /// `y = A x`.
    pub fn matvec(&self, x: &[f64], y: &mut [f64]) {
        let n = self.len();
        assert!(x.len() == n && y.len() == n, "matvec: wrong lengths");
        for i in 0..n {
            let prev = if i == 0 { n - 1 } else { i - 1 };
            let next = if i + 1 == n { 0 } else { i + 1 };
            y[i] = self.sub[i] * x[prev] + self.diag[i] * x[i] + self.sup[i] * x[next];
        }
    }

    /// The factorisation of this matrix, for many solves ([`TridiagonalFactors`]).
    pub fn factor(&self) -> TridiagonalFactors {
        let n = self.len();
        let mut f = TridiagonalFactors {
            sub: vec![0.0; n],
            c: vec![0.0; n],
            inv_den: vec![0.0; n],
            cyclic: None,
        };
        self.factor_into(&mut f);
        f
    }

    /// [`Tridiagonal::factor`] into the storage of an earlier factorisation of this order.
    pub fn factor_into(&self, f: &mut TridiagonalFactors) {
        let n = self.len();
        f.sub.resize(n, 0.0);
        f.c.resize(n, 0.0);
        f.inv_den.resize(n, 0.0);
        f.sub.copy_from_slice(&self.sub);
        if !self.cyclic {
            TridiagonalFactors::thomas(&self.sub, &self.diag, &self.sup, &mut f.c, &mut f.inv_den);
            f.cyclic = None;
            return;
        }
        // As in `solve_in_place`: the modified diagonal, then z = T⁻¹ w once.
        let alpha = self.sup[n - 1];
        let beta = self.sub[0];
        let gamma = -self.diag[0];
        let (mut z, _, _) = f.cyclic.take().unwrap_or_else(|| (vec![0.0; n], 0.0, 0.0));
        z.resize(n, 0.0);
        // z doubles as the modified diagonal's scratch before it holds T⁻¹ w.
        z.copy_from_slice(&self.diag);
        z[0] -= gamma;
        z[n - 1] -= alpha * beta / gamma;
        TridiagonalFactors::thomas(&self.sub, &z, &self.sup, &mut f.c, &mut f.inv_den);
        z.iter_mut().for_each(|v| *v = 0.0);
        z[0] = gamma;
        z[n - 1] = alpha;
        f.solve_plain(&mut z);
        let inv_denominator = 1.0 / (1.0 + z[0] + beta * z[n - 1] / gamma);
        f.cyclic = Some((z, beta / gamma, inv_denominator));
    }

    /// Solve `A x = b`; `x` holds `b` on entry and the solution on return.
    pub fn solve_in_place(&mut self, x: &mut [f64]) {
        let n = self.len();
        assert_eq!(x.len(), n, "solve_in_place: wrong length");
        if !self.cyclic {
            thomas(&self.sub, &self.diag, &self.sup, x, &mut self.c);
            return;
        }
        // Sherman–Morrison: A = T + w vᵀ with T tridiagonal (modified first and last
        // diagonal entries), w = (γ, 0, …, 0, α)ᵀ, v = (1, 0, …, 0, β/γ)ᵀ, where
        // α = A[n−1][0], β = A[0][n−1] and γ = −A[0][0].
        let alpha = self.sup[n - 1];
        let beta = self.sub[0];
        let gamma = -self.diag[0];
        self.bb.copy_from_slice(&self.diag);
        self.bb[0] -= gamma;
        self.bb[n - 1] -= alpha * beta / gamma;
        thomas(&self.sub, &self.bb, &self.sup, x, &mut self.c);
        self.z.iter_mut().for_each(|v| *v = 0.0);
        self.z[0] = gamma;
        self.z[n - 1] = alpha;
        thomas(&self.sub, &self.bb, &self.sup, &mut self.z, &mut self.c);
        let fact =
            (x[0] + beta * x[n - 1] / gamma) / (1.0 + self.z[0] + beta * self.z[n - 1] / gamma);
        for (xi, zi) in x.iter_mut().zip(&self.z) {
            *xi -= fact * zi;
        }
    }
}

/// The Thomas algorithm on the non-cyclic part (ignores `sub[0]` and `sup[n−1]`).
/// The Thomas factorisation of a (cyclic) tridiagonal matrix, for many solves with one matrix:
/// every division is done once, a solve is multiplications and subtractions only.
#[derive(Debug, Clone)]
pub struct TridiagonalFactors {
    sub: Vec<f64>,
    /// `c[i] = sup[i] / den[i]`.
    c: Vec<f64>,
    /// `1 / den[i]`.
    inv_den: Vec<f64>,
    /// Cyclic: Sherman–Morrison's `z = T⁻¹ (γ, 0, …, 0, α)`, `β/γ` and `1 / (1 + z₀ + β z_{n−1}/γ)`.
    cyclic: Option<(Vec<f64>, f64, f64)>,
}

impl TridiagonalFactors {
    fn thomas(sub: &[f64], diag: &[f64], sup: &[f64], c: &mut [f64], inv: &mut [f64]) {
        let n = diag.len();
        let mut den = diag[0];
        inv[0] = 1.0 / den;
        c[0] = sup[0] * inv[0];
        for i in 1..n {
            den = diag[i] - sub[i] * c[i - 1];
            inv[i] = 1.0 / den;
            c[i] = sup[i] * inv[i];
        }
    }

    fn solve_plain(&self, x: &mut [f64]) {
        let n = x.len();
        x[0] *= self.inv_den[0];
        for i in 1..n {
            x[i] = (x[i] - self.sub[i] * x[i - 1]) * self.inv_den[i];
        }
        for i in (0..n - 1).rev() {
            x[i] -= self.c[i] * x[i + 1];
        }
    }

    /// Solve `A x = b` in place (`x` holds `b` on entry).
    ///
    /// # Panics
    /// If `x` is not of the matrix's order.
    pub fn solve_in_place(&self, x: &mut [f64]) {
        assert_eq!(x.len(), self.inv_den.len(), "solve_in_place: wrong length");
        self.solve_plain(x);
        if let Some((z, beta_over_gamma, inv_denominator)) = &self.cyclic {
            let n = x.len();
            let fact = (x[0] + beta_over_gamma * x[n - 1]) * inv_denominator;
            for (xi, zi) in x.iter_mut().zip(z) {
                *xi -= fact * zi;
            }
        }
    }
}

fn thomas(sub: &[f64], diag: &[f64], sup: &[f64], x: &mut [f64], c: &mut [f64]) {
    let n = diag.len();
    let mut den = diag[0];
    c[0] = sup[0] / den;
    x[0] /= den;
    for i in 1..n {
        den = diag[i] - sub[i] * c[i - 1];
        c[i] = sup[i] / den;
        x[i] = (x[i] - sub[i] * x[i - 1]) / den;
    }
    for i in (0..n - 1).rev() {
        x[i] -= c[i] * x[i + 1];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(n: usize, cyclic: bool) -> Tridiagonal {
        let mut a = Tridiagonal::new(n, cyclic);
        for i in 0..n {
            a.sub[i] = -0.3 - 0.01 * i as f64;
            a.sup[i] = -0.5 + 0.02 * i as f64;
            a.diag[i] = 2.0 + 0.1 * (i % 3) as f64;
        }
        if !cyclic {
            a.sub[0] = 0.0;
            a.sup[n - 1] = 0.0;
        }
        a
    }

    fn residual(a: &Tridiagonal, x: &[f64], b: &[f64]) -> f64 {
        let mut y = vec![0.0; b.len()];
        a.matvec(x, &mut y);
        y.iter()
            .zip(b)
            .map(|(p, q)| (p - q).abs())
            .fold(0.0, f64::max)
    }

    #[test]
    fn solves_plain_and_cyclic_systems() {
        for cyclic in [false, true] {
            for n in [3, 4, 17] {
                let mut a = sample(n, cyclic);
                let b: Vec<f64> = (0..n).map(|i| (i as f64 * 0.7).sin()).collect();
                let mut x = b.clone();
                a.solve_in_place(&mut x);
                assert!(residual(&a, &x, &b) < 1e-14, "cyclic {cyclic}, n {n}");
            }
        }
    }

    #[test]
    fn the_kept_factorisation_solves_as_the_one_shot_thomas() {
        for cyclic in [false, true] {
            for n in [3, 5, 33] {
                let mut a = sample(n, cyclic);
                let f = a.factor();
                for k in 0..3 {
                    let b: Vec<f64> = (0..n).map(|i| ((i + k) as f64 * 0.37).cos()).collect();
                    let (mut x, mut y) = (b.clone(), b.clone());
                    a.solve_in_place(&mut x);
                    f.solve_in_place(&mut y);
                    assert!(residual(&a, &y, &b) < 1e-14, "cyclic {cyclic}, n {n}");
                    for (p, q) in x.iter().zip(&y) {
                        assert!((p - q).abs() < 1e-14);
                    }
                }
            }
        }
    }

    #[test]
    fn transpose_matches_the_dense_transpose() {
        for cyclic in [false, true] {
            let n = 5;
            let a = sample(n, cyclic);
            let mut t = a.clone();
            t.transpose();
            // Compare e_jᵀ A e_i with e_iᵀ Aᵀ e_j.
            for i in 0..n {
                for j in 0..n {
                    let mut ei = vec![0.0; n];
                    ei[i] = 1.0;
                    let (mut ai, mut tj) = (vec![0.0; n], vec![0.0; n]);
                    a.matvec(&ei, &mut ai);
                    let mut ej = vec![0.0; n];
                    ej[j] = 1.0;
                    t.matvec(&ej, &mut tj);
                    assert_eq!(ai[j], tj[i], "entry ({j}, {i}), cyclic {cyclic}");
                }
            }
        }
    }
}
