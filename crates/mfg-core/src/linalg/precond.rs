//! Preconditioners of the implicit upwind systems, factored from a [`GridMatrix`].
//!
//! * [`Jacobi`]: diagonal scaling.
//! * [`Ilu0`]: incomplete LU with the matrix's own pattern.
//! * [`Adi`]: alternating-direction line solves (approximate factorisation, shifted):
//!   `P ∝ Π_d (p I − dt L_d)` with `p` = [`Adi::shift_for`] the dimension (measured; `p = 1`
//!   is the plain factorisation, whose error `dt² L_x L_y` grows with `ν dt / h²`; BiCGSTAB
//!   is invariant to the scale of `P`), one tridiagonal solve per grid line and axis, batched
//!   across the lines (the Thomas recurrences of all lines of a batch advance together, so the
//!   inner loop has no dependency chain). Periodic lines drop their wrap-around entry.
//!
//! [`PreconditionerKind::for_grid`] is the measured winner (docs/PERFORMANCE.md): the shifted
//! ADI, with either wall type.

use crate::grid::Grid;
use ndarray::{ArrayView2, ArrayViewMut2, Axis, ShapeBuilder, Zip};
use rayon::prelude::*;

use crate::linalg::grid_matrix::{GridMatrix, LineBatch, LineSet};
use crate::linalg::kernels;
use crate::linalg::multigrid::Multigrid;
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
    /// An aggregation-multigrid V-cycle.
    Multigrid,
}

impl PreconditionerKind {
    /// The measured winner (docs/PERFORMANCE.md, `cargo bench --bench solve -- linear/`):
    /// the shifted ADI line solves, with no-flux and periodic walls alike (periodic lines drop
    /// their wrap-around entry, and still win over ILU(0), Jacobi and multigrid).
    pub fn for_grid(grid: &Grid) -> Self {
        let _ = grid;
        PreconditionerKind::Adi
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
                shift: Adi::shift_for(a.axis_count()),
                factors: (0..a.axis_count())
                    .map(|_| [vec![0.0; n], vec![0.0; n], vec![0.0; n]])
                    .collect(),
                lines: (0..a.axis_count())
                    .map(|d| a.axis_lines(d).clone())
                    .collect(),
            }),
            PreconditionerKind::Multigrid => GridPreconditioner::Multigrid(Multigrid::new(a)),
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
    /// See [`Multigrid`].
    Multigrid(Multigrid),
}

impl GridPreconditioner {
    /// Which one it is.
    pub fn kind(&self) -> PreconditionerKind {
        match self {
            GridPreconditioner::Jacobi(_) => PreconditionerKind::Jacobi,
            GridPreconditioner::Ilu0(_) => PreconditionerKind::Ilu0,
            GridPreconditioner::Adi(_) => PreconditionerKind::Adi,
            GridPreconditioner::Multigrid(_) => PreconditionerKind::Multigrid,
        }
    }

    /// Factor from the assembled `a` (same pattern as at [`PreconditionerKind::build`]).
    pub fn factor(&mut self, a: &GridMatrix) {
        match self {
            GridPreconditioner::Jacobi(p) => p.factor(a),
            GridPreconditioner::Ilu0(p) => p.factor(a),
            GridPreconditioner::Adi(p) => p.factor(a),
            GridPreconditioner::Multigrid(p) => p.factor(a),
        }
    }
}

impl Preconditioner for GridPreconditioner {
    fn apply(&self, x: &[f64], out: &mut [f64]) {
        match self {
            GridPreconditioner::Jacobi(p) => p.apply(x, out),
            GridPreconditioner::Ilu0(p) => p.apply(x, out),
            GridPreconditioner::Adi(p) => p.apply(x, out),
            GridPreconditioner::Multigrid(p) => p.apply(x, out),
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
    /// The shift `p` of every factor `p I − dt L_d`.
    pub(crate) shift: f64,
}

impl Adi {
    /// The shift for a grid of `dim` dimensions: `p = d`, measured (docs/PERFORMANCE.md,
    /// examples/profile_2d): crowd-2d converged in 0.96 / 0.80 / 0.79 / 0.84 s with p = 1,
    /// 1.5, 2, 2.5 at 100², 4.73 / 3.84 / 4.11 s with p = 1, 2, 3 at 200²; crowd-3d at 48³
    /// (nt = 20) in 17.1 / 10.3 / 9.4 / 9.7 s with p = 1, 2, 3, 4.
    pub fn shift_for(dim: usize) -> f64 {
        dim as f64
    }

    fn factor(&mut self, a: &GridMatrix) {
        // The factors' diagonals are 1 + dt (rates along d); shifted: p + dt (rates along d).
        let shift = self.shift - 1.0;
        for (d, [lo, cp, inv]) in self.factors.iter_mut().enumerate() {
            let [lower, di, up] = a.axis_factor(d);
            lo.copy_from_slice(lower);
            let ls = &self.lines[d];
            let parts: Vec<_> = line_parts(cp, ls)
                .into_iter()
                .zip(line_parts(inv, ls))
                .zip(&ls.batches)
                .collect();
            let one = |((mut cp, mut inv), b): (
                (ArrayViewMut2<'_, f64>, ArrayViewMut2<'_, f64>),
                &LineBatch,
            )| {
                let (lo, di, up) = (part(lower, ls, b), part(di, ls, b), part(up, ls, b));
                // The first point of a line has no lower entry (c' of "before" = 0).
                Zip::from(inv.row_mut(0))
                    .and(cp.row_mut(0))
                    .and(di.row(0))
                    .and(up.row(0))
                    .for_each(|iv, c, &d, &u| {
                        *iv = 1.0 / (d + shift);
                        *c = u * *iv;
                    });
                for k in 1..ls.len {
                    let (done, mut rest) = cp.view_mut().split_at(Axis(0), k);
                    Zip::from(inv.row_mut(k))
                        .and(rest.row_mut(0))
                        .and(done.row(k - 1))
                        .and(lo.row(k))
                        .and(di.row(k))
                        .and(up.row(k))
                        .for_each(|iv, c, &pc, &l, &d, &u| {
                            let den = (d + shift) - l * pc;
                            *iv = 1.0 / den;
                            *c = u * *iv;
                        });
                }
            };
            if lo.len() >= kernels::PARALLEL_MIN {
                parts.into_par_iter().for_each(one);
            } else {
                parts.into_iter().for_each(one);
            }
        }
    }
}

/// The field's values on the lines of batch `b`, as a (point along the line × lane) view.
fn part<'a>(field: &'a [f64], ls: &LineSet, b: &LineBatch) -> ArrayView2<'a, f64> {
    let shape = (ls.len, b.lanes).strides((ls.stride, b.lane_step));
    ArrayView2::from_shape(shape, &field[b.base..]).expect("a batch lies inside the grid")
}

/// The field cut into the batches of `ls` (in their order), each a (point along the line ×
/// lane) view: the batches do not share points, so each can be written on its own thread.
fn line_parts<'a>(field: &'a mut [f64], ls: &LineSet) -> Vec<ArrayViewMut2<'a, f64>> {
    let (len, s) = (ls.len, ls.stride);
    if s == 1 {
        // Groups of whole lines, each a contiguous block (lane = line).
        let mut out = Vec::with_capacity(ls.batches.len());
        let mut rest = field;
        for b in &ls.batches {
            let (chunk, tail) = rest.split_at_mut(b.lanes * len);
            rest = tail;
            let shape = (len, b.lanes).strides((1, len));
            out.push(ArrayViewMut2::from_shape(shape, chunk).expect("a block of whole lines"));
        }
        return out;
    }
    // Slabs of `len · s` points, each cut into column ranges.
    let mut out = Vec::with_capacity(ls.batches.len());
    let mut batches = ls.batches.iter().peekable();
    for slab in field.chunks_mut(len * s) {
        let mut view = ArrayViewMut2::from_shape((len, s), slab).expect("a slab");
        while let Some(b) = batches.peek() {
            let width = b.lanes;
            if view.ncols() < width {
                break;
            }
            let (head, tail) = view.split_at(Axis(1), width);
            out.push(head);
            view = tail;
            batches.next();
            if view.ncols() == 0 {
                break;
            }
        }
    }
    out
}

impl Preconditioner for Adi {
    fn apply(&self, x: &[f64], out: &mut [f64]) {
        out.copy_from_slice(x);
        let n = out.len();
        for ([lo, cp, inv], ls) in self.factors.iter().zip(&self.lines) {
            let parts: Vec<_> = line_parts(out, ls).into_iter().zip(&ls.batches).collect();
            let one = |(mut z, b): (ArrayViewMut2<'_, f64>, &LineBatch)| {
                let (lo, cp, inv) = (part(lo, ls, b), part(cp, ls, b), part(inv, ls, b));
                Zip::from(z.row_mut(0))
                    .and(inv.row(0))
                    .for_each(|z, &iv| *z *= iv);
                for k in 1..ls.len {
                    let (done, mut rest) = z.view_mut().split_at(Axis(0), k);
                    Zip::from(rest.row_mut(0))
                        .and(done.row(k - 1))
                        .and(lo.row(k))
                        .and(inv.row(k))
                        .for_each(|z, &p, &l, &iv| *z = (*z - l * p) * iv);
                }
                for k in (0..ls.len - 1).rev() {
                    let (mut head, tail) = z.view_mut().split_at(Axis(0), k + 1);
                    Zip::from(head.row_mut(k))
                        .and(tail.row(0))
                        .and(cp.row(k))
                        .for_each(|z, &nx, &c| *z -= c * nx);
                }
            };
            if n >= kernels::PARALLEL_MIN {
                parts.into_par_iter().for_each(one);
            } else {
                parts.into_iter().for_each(one);
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
                // Unshifted, the factorisation is exact when only one axis moves.
                if let GridPreconditioner::Adi(adi) = &mut pc {
                    adi.shift = 1.0;
                }
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
