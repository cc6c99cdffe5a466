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
use ndarray::{ArrayViewMut1, ArrayViewMut2, Axis};
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

/// The precision the ADI factors are kept in. A preconditioner need not be exact (BiCGSTAB
/// computes its residuals with the assembled operator in double precision), and the line
/// sweeps stream the factors from memory: single precision halves those bytes.
pub type Factor = f32;

/// Alternating-direction line solves: per axis, the lower entries of
/// [`GridMatrix::axis_factor`] and the Thomas factors `c'` (modified upper) and
/// `1/denominator` of every line along it.
#[derive(Debug, Clone)]
pub struct Adi {
    /// Per axis: `[lower, c', 1/denominator]` at every point, in single precision (see
    /// [`Factor`]).
    factors: Vec<[Vec<Factor>; 3]>,
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
            let ls = &self.lines[d];
            let n = lo.len();
            let parts: Vec<_> = line_parts(cp, ls)
                .into_iter()
                .zip(line_parts(inv, ls))
                .zip(line_parts(lo, ls))
                .zip(&ls.batches)
                .collect();
            type Parts<'p> = (
                (LinePart<'p, Factor>, LinePart<'p, Factor>),
                LinePart<'p, Factor>,
            );
            let one = |(((cp, inv), lo), b): (Parts<'_>, &LineBatch)| {
                // Thomas: inv = 1 / (d − l c'_prev), c' = u · inv; the first point of a line
                // has no lower entry. The lower entries are kept for the solves.
                let at = |i: usize| (di[i] + shift, lower[i], up[i]);
                match (cp, inv, lo) {
                    (LinePart::Rows(mut cp), LinePart::Rows(mut inv), LinePart::Rows(mut lo)) => {
                        let (s, w) = (ls.stride, b.lanes);
                        let mut prev: Option<ArrayViewMut1<'_, Factor>> = None;
                        for (k, ((mut c, mut iv), mut lr)) in cp
                            .axis_iter_mut(Axis(0))
                            .zip(inv.axis_iter_mut(Axis(0)))
                            .zip(lo.axis_iter_mut(Axis(0)))
                            .enumerate()
                        {
                            let g = b.base + k * s;
                            for (l, v) in row_slice(&mut lr).iter_mut().zip(&lower[g..g + w]) {
                                *l = *v as Factor;
                            }
                            let (c_s, iv_s) = (row_slice(&mut c), row_slice(&mut iv));
                            match prev.as_ref() {
                                None => {
                                    for (j, (c, iv)) in c_s.iter_mut().zip(iv_s).enumerate() {
                                        let (dd, _, uu) = at(g + j);
                                        let v = 1.0 / dd;
                                        *iv = v as Factor;
                                        *c = (uu * v) as Factor;
                                    }
                                }
                                Some(p) => {
                                    let p = p.as_slice().expect("contiguous row");
                                    for (j, ((c, iv), pc)) in
                                        c_s.iter_mut().zip(iv_s).zip(&p[..w]).enumerate()
                                    {
                                        let (dd, l, uu) = at(g + j);
                                        let v = 1.0 / (dd - l * f64::from(*pc));
                                        *iv = v as Factor;
                                        *c = (uu * v) as Factor;
                                    }
                                }
                            }
                            prev = Some(c);
                        }
                    }
                    (LinePart::Lines(cp), LinePart::Lines(inv), LinePart::Lines(lo)) => {
                        let (len, lanes) = (ls.len, b.lanes);
                        for (l, v) in lo.iter_mut().zip(&lower[b.base..]) {
                            *l = *v as Factor;
                        }
                        for k in 0..len {
                            for j in 0..lanes {
                                let i = j * len + k;
                                let (dd, l, uu) = at(b.base + i);
                                let den = if k == 0 {
                                    dd
                                } else {
                                    dd - l * f64::from(cp[i - 1])
                                };
                                let v = 1.0 / den;
                                inv[i] = v as Factor;
                                cp[i] = (uu * v) as Factor;
                            }
                        }
                    }
                    _ => unreachable!("the parts of one axis are of one kind"),
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

/// A row of a part as a slice (the rows of a slab's column range are contiguous).
fn row_slice<'b, T>(row: &'b mut ArrayViewMut1<'_, T>) -> &'b mut [T] {
    row.as_slice_mut().expect("contiguous row")
}

/// One batch's share of a field, which its thread may write on its own.
enum LinePart<'a, T> {
    /// A batch of a slab: (point along the line × lane), every row contiguous.
    Rows(ArrayViewMut2<'a, T>),
    /// A group of whole contiguous lines, one after the other.
    Lines(&'a mut [T]),
}

/// The field cut into the batches of `ls`, in their order: the batches do not share points,
/// so each can be written on its own thread.
fn line_parts<'a, T>(field: &'a mut [T], ls: &LineSet) -> Vec<LinePart<'a, T>> {
    let (len, s) = (ls.len, ls.stride);
    let mut out = Vec::with_capacity(ls.batches.len());
    if s == 1 {
        let mut rest = field;
        for b in &ls.batches {
            let (chunk, tail) = rest.split_at_mut(b.lanes * len);
            rest = tail;
            out.push(LinePart::Lines(chunk));
        }
        return out;
    }
    // Slabs of `len · s` points, each cut into column ranges.
    let mut batches = ls.batches.iter().peekable();
    for slab in field.chunks_mut(len * s) {
        let mut view = ArrayViewMut2::from_shape((len, s), slab).expect("a slab");
        while let Some(b) = batches.next_if(|b| b.lanes <= view.ncols()) {
            let (head, tail) = view.split_at(Axis(1), b.lanes);
            out.push(LinePart::Rows(head));
            view = tail;
            if view.ncols() == 0 {
                break;
            }
        }
    }
    out
}

impl Preconditioner for Adi {
    fn apply(&self, x: &[f64], out: &mut [f64]) {
        kernels::copy(out, x);
        let n = out.len();
        for ([lo, cp, inv], ls) in self.factors.iter().zip(&self.lines) {
            let parts: Vec<_> = line_parts(out, ls).into_iter().zip(&ls.batches).collect();
            let one = |(z, b): (LinePart<'_, f64>, &LineBatch)| match z {
                LinePart::Rows(mut z) => {
                    let (s, w, len) = (ls.stride, b.lanes, ls.len);
                    let row = |k: usize| b.base + k * s..b.base + k * s + w;
                    let mut prev: Option<ArrayViewMut1<'_, f64>> = None;
                    for (k, mut cur) in z.axis_iter_mut(Axis(0)).enumerate() {
                        let zs = row_slice(&mut cur);
                        let (l, iv) = (&lo[row(k)], &inv[row(k)]);
                        match prev.as_ref() {
                            None => zs
                                .iter_mut()
                                .zip(iv)
                                .for_each(|(z, iv)| *z *= f64::from(*iv)),
                            Some(p) => {
                                let p = p.as_slice().expect("contiguous row");
                                for (((z, p), l), iv) in zs.iter_mut().zip(p).zip(l).zip(iv) {
                                    *z = (*z - f64::from(*l) * p) * f64::from(*iv);
                                }
                            }
                        }
                        prev = Some(cur);
                    }
                    let mut next: Option<ArrayViewMut1<'_, f64>> = None;
                    for (k, mut cur) in (0..len).rev().zip(z.axis_iter_mut(Axis(0)).rev()) {
                        if let Some(nx) = next.as_ref() {
                            let nx = nx.as_slice().expect("contiguous row");
                            let zs = row_slice(&mut cur);
                            for ((z, nx), c) in zs.iter_mut().zip(nx).zip(&cp[row(k)]) {
                                *z -= f64::from(*c) * nx;
                            }
                        }
                        next = Some(cur);
                    }
                }
                LinePart::Lines(z) => {
                    let (len, lanes, g) = (ls.len, b.lanes, b.base);
                    for j in 0..lanes {
                        z[j * len] *= f64::from(inv[g + j * len]);
                    }
                    for k in 1..len {
                        for j in 0..lanes {
                            let i = j * len + k;
                            z[i] = (z[i] - f64::from(lo[g + i]) * z[i - 1]) * f64::from(inv[g + i]);
                        }
                    }
                    for k in (0..len - 1).rev() {
                        for j in 0..lanes {
                            let i = j * len + k;
                            z[i] -= f64::from(cp[g + i]) * z[i + 1];
                        }
                    }
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
    use crate::linalg::grid_matrix::tests::{max_residual, rates};
    use crate::linalg::operator::KrylovParams;

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
                let err = max_residual(&a, &x, &rhs);
                assert!(err < 1e-10, "{b:?} {pc:?}: {err}");
            }
        }
    }

    #[test]
    fn adi_is_exact_when_only_one_axis_moves() {
        // With the rates of one axis zero, A = I − dt L_d is one tridiagonal per line, and the
        // ADI preconditioner is A itself: one application solves A x = b (both axes, both
        // the operator and its transpose, no-flux walls), to the single precision of the
        // stored factors (`Factor`; shifted by p = 2 it misses by 0.68).
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
                let err = max_residual(&a, &x, &rhs);
                let single = f64::from(Factor::EPSILON);
                assert!(
                    err < 4.0 * single,
                    "axis {axis} transpose {transpose}: {err:e}"
                );
            }
        }
    }
}
