//! Preconditioners of the implicit upwind systems, factored from a [`GridMatrix`].
//!
//! * [`Jacobi`]: diagonal scaling.
//! * [`Ilu0`]: incomplete LU with the matrix's own pattern.
//! * [`Adi`]: alternating-direction line solves (approximate factorisation):
//!   `P = Π_d (I − dt L_d)`, one tridiagonal solve per grid line and axis, batched across the
//!   lines (the Thomas recurrences of all lines of an axis advance together, so the inner loop
//!   has no dependency chain). Periodic lines drop their wrap-around entry.
//!
//! [`PreconditionerKind::for_grid`] is the measured winner (docs/PERFORMANCE.md): ADI with
//! no-flux walls, ILU(0) when periodic.

use crate::grid::{Boundary, Grid};
use crate::linalg::grid_matrix::{GridMatrix, LineSet};
use crate::linalg::operator::Preconditioner;

/// Which preconditioner to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PreconditionerKind {
    /// Diagonal scaling.
    Jacobi,
    /// Incomplete LU with the matrix's own pattern.
    #[default]
    Ilu0,
    /// Alternating-direction line solves.
    Adi,
}

impl PreconditionerKind {
    /// The measured winner for the grid's walls (docs/PERFORMANCE.md): ADI line solves with
    /// no-flux walls, ILU(0) with periodic ones (the ADI lines drop their wrap-around entry).
    pub fn for_grid(grid: &Grid) -> Self {
        match grid.boundary() {
            Boundary::Periodic => PreconditionerKind::Ilu0,
            Boundary::NoFlux => PreconditionerKind::Adi,
        }
    }

    /// Storage for this preconditioner of `a` (call [`GridPreconditioner::factor`] after
    /// every assembly).
    pub fn build(self, a: &GridMatrix) -> GridPreconditioner {
        let n = a.len();
        match self {
            PreconditionerKind::Jacobi => GridPreconditioner::Jacobi(Jacobi {
                inv_diag: vec![0.0; n],
            }),
            PreconditionerKind::Ilu0 => GridPreconditioner::Ilu0(Ilu0 {
                lu: vec![0.0; a.nnz()],
                inv_udiag: vec![0.0; n],
                indptr: a.pattern().0.to_vec(),
                indices: a.pattern().1.to_vec(),
                diag: (0..n)
                    .map(|i| {
                        let (indptr, indices) = a.pattern();
                        let row = &indices[indptr[i]..indptr[i + 1]];
                        indptr[i] + row.binary_search(&i).expect("diagonal in pattern")
                    })
                    .collect(),
            }),
            PreconditionerKind::Adi => GridPreconditioner::Adi(Adi {
                factors: (0..a.axis_count())
                    .map(|_| [vec![0.0; n], vec![0.0; n], vec![0.0; n]])
                    .collect(),
                lines: (0..a.axis_count())
                    .map(|d| a.axis_lines(d).clone())
                    .collect(),
            }),
        }
    }
}

/// One of the preconditioners, factored from a [`GridMatrix`].
#[derive(Debug, Clone)]
pub enum GridPreconditioner {
    /// See [`Jacobi`].
    Jacobi(Jacobi),
    /// See [`Ilu0`].
    Ilu0(Ilu0),
    /// See [`Adi`].
    Adi(Adi),
}

impl GridPreconditioner {
    /// Which one it is.
    pub fn kind(&self) -> PreconditionerKind {
        match self {
            GridPreconditioner::Jacobi(_) => PreconditionerKind::Jacobi,
            GridPreconditioner::Ilu0(_) => PreconditionerKind::Ilu0,
            GridPreconditioner::Adi(_) => PreconditionerKind::Adi,
        }
    }

    /// Factor from the assembled `a` (same pattern as at [`PreconditionerKind::build`]).
    pub fn factor(&mut self, a: &GridMatrix) {
        match self {
            GridPreconditioner::Jacobi(p) => p.factor(a),
            GridPreconditioner::Ilu0(p) => p.factor(a),
            GridPreconditioner::Adi(p) => p.factor(a),
        }
    }
}

impl Preconditioner for GridPreconditioner {
    fn apply(&self, x: &[f64], out: &mut [f64]) {
        match self {
            GridPreconditioner::Jacobi(p) => p.apply(x, out),
            GridPreconditioner::Ilu0(p) => p.apply(x, out),
            GridPreconditioner::Adi(p) => p.apply(x, out),
        }
    }
}

/// Diagonal scaling.
#[derive(Debug, Clone)]
pub struct Jacobi {
    inv_diag: Vec<f64>,
}

impl Jacobi {
    fn factor(&mut self, a: &GridMatrix) {
        for (i, d) in self.inv_diag.iter_mut().enumerate() {
            *d = 1.0 / a.diagonal(i);
        }
    }
}

impl Preconditioner for Jacobi {
    fn apply(&self, x: &[f64], out: &mut [f64]) {
        for ((o, xi), d) in out.iter_mut().zip(x).zip(&self.inv_diag) {
            *o = xi * d;
        }
    }
}

/// Incomplete LU with the matrix's own pattern (L with unit diagonal and U in one array).
#[derive(Debug, Clone)]
pub struct Ilu0 {
    lu: Vec<f64>,
    /// The reciprocal of U's diagonal: a division would sit in the backward sweep's chain.
    inv_udiag: Vec<f64>,
    indptr: Vec<usize>,
    indices: Vec<usize>,
    diag: Vec<usize>,
}

impl Ilu0 {
    fn factor(&mut self, a: &GridMatrix) {
        a.csr_values_into(&mut self.lu);
        let (indptr, cols, diag) = (&self.indptr, &self.indices, &self.diag);
        for i in 0..self.inv_udiag.len() {
            let (ra, rb) = (indptr[i], indptr[i + 1]);
            for k in ra..rb {
                let p = cols[k];
                if p >= i {
                    break;
                }
                self.lu[k] /= self.lu[diag[p]];
                let lik = self.lu[k];
                // Row i −= l_ip · (row p of U), on the pattern of row i.
                let (pa, pb) = (indptr[p], indptr[p + 1]);
                for j in k + 1..rb {
                    if let Ok(q) = cols[pa..pb].binary_search(&cols[j]) {
                        self.lu[j] -= lik * self.lu[pa + q];
                    }
                }
            }
        }
        for (d, &slot) in self.inv_udiag.iter_mut().zip(diag) {
            *d = 1.0 / self.lu[slot];
        }
    }
}

impl Preconditioner for Ilu0 {
    fn apply(&self, x: &[f64], out: &mut [f64]) {
        let (indptr, cols, diag) = (&self.indptr, &self.indices, &self.diag);
        let n = self.inv_udiag.len();
        // L (unit diagonal) forward, then U backward.
        for i in 0..n {
            let mut v = x[i];
            for k in indptr[i]..diag[i] {
                v -= self.lu[k] * out[cols[k]];
            }
            out[i] = v;
        }
        for i in (0..n).rev() {
            let mut v = out[i];
            for k in diag[i] + 1..indptr[i + 1] {
                v -= self.lu[k] * out[cols[k]];
            }
            out[i] = v * self.inv_udiag[i];
        }
    }
}

/// Alternating-direction line solves: per axis, the lower entries of
/// [`GridMatrix::axis_factor`] and the Thomas factors `c'` (modified upper) and
/// `1/denominator` of every line along it.
#[derive(Debug, Clone)]
pub struct Adi {
    /// Per axis: `[lower, c', 1/denominator]` at every point.
    factors: Vec<[Vec<f64>; 3]>,
    lines: Vec<LineSet>,
}

impl Adi {
    fn factor(&mut self, a: &GridMatrix) {
        for (d, [lo, cp, inv]) in self.factors.iter_mut().enumerate() {
            let [lower, di, up] = a.axis_factor(d);
            lo.copy_from_slice(lower);
            let ls = &self.lines[d];
            let s = ls.stride;
            for b in &ls.batches {
                if b.lane_step == 1 {
                    // A slab: each point of the lines is one contiguous row.
                    let w = b.lanes;
                    for k in 0..ls.len {
                        let r = b.base + k * s;
                        let (before, rest) = cp.split_at_mut(r);
                        let prev = (k > 0).then(|| &before[r - s..r - s + w]);
                        let (cp, inv) = (&mut rest[..w], &mut inv[r..r + w]);
                        let (lo, di, up) = (&lo[r..r + w], &di[r..r + w], &up[r..r + w]);
                        for j in 0..w {
                            let prev_c = prev.map_or(0.0, |p| p[j]);
                            let den = di[j] - lo[j] * prev_c;
                            inv[j] = 1.0 / den;
                            cp[j] = up[j] * inv[j];
                        }
                    }
                    continue;
                }
                for k in 0..ls.len {
                    let row = b.base + k * s;
                    for i in (0..b.lanes).map(|j| row + j * b.lane_step) {
                        // The first point of a line has no lower entry (c' of "before" = 0).
                        let prev_c = if k == 0 { 0.0 } else { cp[i - s] };
                        let den = di[i] - lo[i] * prev_c;
                        inv[i] = 1.0 / den;
                        cp[i] = up[i] * inv[i];
                    }
                }
            }
        }
    }
}

impl Preconditioner for Adi {
    fn apply(&self, x: &[f64], out: &mut [f64]) {
        out.copy_from_slice(x);
        for ([lo, cp, inv], ls) in self.factors.iter().zip(&self.lines) {
            let s = ls.stride;
            for b in &ls.batches {
                if b.lane_step == 1 {
                    // A slab: each point of the lines is one contiguous row.
                    let w = b.lanes;
                    let row = |k: usize| b.base + k * s..b.base + k * s + w;
                    for (z, iv) in out[row(0)].iter_mut().zip(&inv[row(0)]) {
                        *z *= iv;
                    }
                    for k in 1..ls.len {
                        let r = row(k);
                        let (done, rest) = out.split_at_mut(r.start);
                        let prev = &done[r.start - s..r.start - s + w];
                        for (((z, p), l), iv) in rest[..w]
                            .iter_mut()
                            .zip(prev)
                            .zip(&lo[r.clone()])
                            .zip(&inv[r])
                        {
                            *z = (*z - l * p) * iv;
                        }
                    }
                    for k in (0..ls.len - 1).rev() {
                        let r = row(k);
                        let (head, tail) = out.split_at_mut(r.end);
                        let next = &tail[s - w..s];
                        for ((z, nx), c) in head[r.start..].iter_mut().zip(next).zip(&cp[r]) {
                            *z -= c * nx;
                        }
                    }
                    continue;
                }
                let lanes = |k: usize| {
                    let row = b.base + k * s;
                    (0..b.lanes).map(move |j| row + j * b.lane_step)
                };
                for i in lanes(0) {
                    out[i] *= inv[i];
                }
                for k in 1..ls.len {
                    for i in lanes(k) {
                        out[i] = (out[i] - lo[i] * out[i - s]) * inv[i];
                    }
                }
                for k in (0..ls.len - 1).rev() {
                    for i in lanes(k) {
                        out[i] -= cp[i] * out[i + s];
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::Boundary;
    use crate::linalg::bicgstab::BiCgStab;
    use crate::linalg::grid_matrix::tests::rates;
    use crate::linalg::operator::{KrylovParams, LinearOperator};

    #[test]
    fn bicgstab_solves_with_both_preconditioners() {
        for b in [Boundary::NoFlux, Boundary::Periodic] {
            let g = Grid::rectangle([0.0, 1.0], 20, [0.0, 1.0], 17, b).unwrap();
            let (tp, tn) = rates(&g);
            let mut a = GridMatrix::new(&g);
            a.assemble(2.0, &tp, &tn, true);
            let n = g.len();
            let rhs: Vec<f64> = (0..n).map(|i| ((i as f64) * 0.37).sin()).collect();
            for kind in [
                PreconditionerKind::Jacobi,
                PreconditionerKind::Ilu0,
                PreconditionerKind::Adi,
            ] {
                let mut pc = kind.build(&a);
                pc.factor(&a);
                let mut x = vec![0.0; n];
                let params = KrylovParams {
                    tolerance: 1e-12,
                    max_iterations: 500,
                };
                let out = BiCgStab::new(n).solve(&a, &pc, &rhs, &mut x, params);
                assert!(out.is_ok(), "{b:?} {kind:?}: {out:?}");
                let pc = kind;
                let mut ax = vec![0.0; n];
                a.apply(&x, &mut ax);
                let err = ax
                    .iter()
                    .zip(&rhs)
                    .map(|(p, q)| (p - q).abs())
                    .fold(0.0, f64::max);
                assert!(err < 1e-10, "{b:?} {pc:?}: {err}");
            }
        }
    }

    #[test]
    fn adi_is_exact_when_only_one_axis_moves() {
        // With the rates of one axis zero, A = I − dt L_d is one tridiagonal per line, and the
        // ADI preconditioner is A itself: one application solves A x = b (both axes, both
        // the operator and its transpose, no-flux walls).
        let g = Grid::rectangle([0.0, 1.0], 9, [0.0, 2.0], 12, Boundary::NoFlux).unwrap();
        let n = g.len();
        let rhs: Vec<f64> = (0..n).map(|i| ((i as f64) * 0.61).cos()).collect();
        for axis in 0..2 {
            for transpose in [false, true] {
                let (mut tp, mut tn) = rates(&g);
                tp[1 - axis].iter_mut().for_each(|v| *v = 0.0);
                tn[1 - axis].iter_mut().for_each(|v| *v = 0.0);
                let mut a = GridMatrix::new(&g);
                a.assemble(0.7, &tp, &tn, transpose);
                let mut pc = PreconditionerKind::Adi.build(&a);
                pc.factor(&a);
                let mut x = vec![0.0; n];
                pc.apply(&rhs, &mut x);
                let mut ax = vec![0.0; n];
                a.apply(&x, &mut ax);
                let err = ax
                    .iter()
                    .zip(&rhs)
                    .map(|(p, q)| (p - q).abs())
                    .fold(0.0, f64::max);
                assert!(err < 1e-12, "axis {axis} transpose {transpose}: {err:e}");
            }
        }
    }
}
