//! The implicit upwind operator `I − dt L` on a grid of any dimension as a sparse matrix with
//! a fixed pattern (built once, refilled with new values at every assembly).

use sprs::CsMat;

use crate::grid::Grid;
use crate::linalg::operator::LinearOperator;

/// `I − dt L` (or its transpose) as a [`sprs::CsMat`] in CSR with sorted columns. The pattern
/// (each point and its distinct neighbours along every axis) is symmetric, so the transpose
/// has the same pattern and is a permutation of the values.
///
/// The matrix-vector product ([`LinearOperator::apply`]) runs on a copy padded to a fixed row
/// width (ELLPACK): measured against sprs's CSR product in the same run, it wins
/// (docs/PERFORMANCE.md, `cargo bench --bench solve -- linear-kernels`); [`GridMatrix::apply_csr`]
/// is sprs's product, kept for that comparison and the tests.
#[derive(Debug, Clone)]
pub struct GridMatrix {
    csr: CsMat<f64>,
    scratch: Vec<f64>,
    diag_slot: Vec<usize>,
    /// Per axis, per row: the slots of the previous and next neighbour.
    nb_slot: Vec<Vec<[usize; 2]>>,
    transpose_perm: Vec<usize>,
    /// The same matrix with every row padded to `width` entries (column = the row, value 0):
    /// a fixed trip count for the matvec, which the compiler unrolls.
    width: usize,
    ell_cols: Vec<u32>,
    ell_vals: Vec<f64>,
    /// Per axis: the flat indices `(previous, next)` of every point (the grid's tables).
    nbr: Vec<Vec<[usize; 2]>>,
    /// Per axis: the lines along it and every point's position on its line.
    lines: Vec<LineSet>,
    /// Per axis, per point: the entries of the axis's own factor `I − dt L_d` (or its
    /// transpose) to the previous point on the line, itself and the next point on the line
    /// (the ADI preconditioner's tridiagonals; wrap-around entries of periodic lines are left
    /// out).
    tri: Vec<[Vec<f64>; 3]>,
}

/// The lines of a tensor grid along one axis, and every point's position on its line.
#[derive(Debug, Clone)]
pub(crate) struct LineSet {
    /// Points per line.
    pub(crate) len: usize,
    /// Flat-index distance between neighbours on a line.
    pub(crate) stride: usize,
    /// The lines, in batches whose recurrences advance together.
    pub(crate) batches: Vec<LineBatch>,
    /// Every point's position on its line.
    pub(crate) position: Vec<usize>,
}

/// Lines along one axis that a line solver sweeps together, point `k` of every lane before
/// point `k + 1` of any: the recurrences of different lanes are independent, so the inner
/// loop over lanes has no dependency chain (and is contiguous when `lane_step == 1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineBatch {
    /// Flat index of the first point of the first lane.
    pub(crate) base: usize,
    /// Number of lines.
    pub(crate) lanes: usize,
    /// Flat-index distance between the first points of successive lanes.
    pub(crate) lane_step: usize,
}

/// Lanes per batch along the contiguous axis (eight independent chains hide the latency of a
/// division or a multiply-add).
const CONTIGUOUS_LANES: usize = 8;

impl LineSet {
    fn new(grid: &Grid, d: usize) -> Self {
        let (len, stride) = (grid.axis(d).len(), grid.stride(d));
        let block = len * stride;
        let blocks = grid.len() / block;
        let batches = if stride > 1 {
            // Every block of `len · stride` points is a (len × stride) row-major slab whose
            // rows are the lines' successive points.
            (0..blocks)
                .map(|b| LineBatch {
                    base: b * block,
                    lanes: stride,
                    lane_step: 1,
                })
                .collect()
        } else {
            (0..blocks)
                .step_by(CONTIGUOUS_LANES)
                .map(|b| LineBatch {
                    base: b * len,
                    lanes: CONTIGUOUS_LANES.min(blocks - b),
                    lane_step: len,
                })
                .collect()
        };
        Self {
            len,
            stride,
            batches,
            position: (0..grid.len()).map(|i| grid.axis_index(i, d)).collect(),
        }
    }
}

impl GridMatrix {
    /// The pattern of the grid's upwind operator.
    pub fn new(grid: &Grid) -> Self {
        let n = grid.len();
        let dim = grid.dim();
        let mut row_ptr = Vec::with_capacity(n + 1);
        let mut cols = Vec::with_capacity(n * (2 * dim + 1));
        row_ptr.push(0);
        for i in 0..n {
            let start = cols.len();
            cols.push(i);
            for d in 0..dim {
                let (p, q) = grid.neighbours(i, d);
                for c in [p, q] {
                    if !cols[start..].contains(&c) {
                        cols.push(c);
                    }
                }
            }
            cols[start..].sort_unstable();
            row_ptr.push(cols.len());
        }
        let slot = |i: usize, c: usize| {
            row_ptr[i]
                + cols[row_ptr[i]..row_ptr[i + 1]]
                    .binary_search(&c)
                    .expect("in pattern")
        };
        let diag_slot = (0..n).map(|i| slot(i, i)).collect();
        let nb_slot = (0..dim)
            .map(|d| {
                (0..n)
                    .map(|i| {
                        let (p, q) = grid.neighbours(i, d);
                        [slot(i, p), slot(i, q)]
                    })
                    .collect()
            })
            .collect();
        let mut transpose_perm = vec![0; cols.len()];
        for i in 0..n {
            for k in row_ptr[i]..row_ptr[i + 1] {
                transpose_perm[k] = slot(cols[k], i);
            }
        }
        let nnz = cols.len();
        let width = 2 * dim + 1;
        let mut ell_cols = vec![0u32; n * width];
        for (i, row) in ell_cols.chunks_exact_mut(width).enumerate() {
            // The row's columns, then padding that points at the diagonal (value 0).
            row.fill(i as u32);
            for (e, &c) in row.iter_mut().zip(&cols[row_ptr[i]..row_ptr[i + 1]]) {
                *e = c as u32;
            }
        }
        let lines = (0..dim).map(|d| LineSet::new(grid, d)).collect();
        Self {
            csr: CsMat::new((n, n), row_ptr, cols, vec![0.0; nnz]),
            scratch: vec![0.0; nnz],
            diag_slot,
            nb_slot,
            transpose_perm,
            width,
            ell_cols,
            ell_vals: vec![0.0; n * width],
            nbr: (0..dim).map(|d| grid.neighbour_table(d).to_vec()).collect(),
            lines,
            tri: (0..dim)
                .map(|_| [vec![0.0; n], vec![0.0; n], vec![0.0; n]])
                .collect(),
        }
    }

    /// Order.
    pub fn len(&self) -> usize {
        self.csr.rows()
    }

    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.csr.nnz()
    }

    /// The assembled matrix.
    pub fn csr(&self) -> &CsMat<f64> {
        &self.csr
    }

    /// The storage slot of every diagonal entry in [`GridMatrix::csr`]'s data.
    pub fn diagonal_slots(&self) -> &[usize] {
        &self.diag_slot
    }

    /// Axis `d`'s own factor `I − dt L_d` (or its transpose) as three fields over the grid:
    /// every point's entry to the previous point on its line, itself and the next point on its
    /// line (periodic lines leave the wrap-around entry out). The ADI preconditioner factors
    /// these.
    pub fn axis_factor(&self, d: usize) -> &[Vec<f64>; 3] {
        &self.tri[d]
    }

    /// Number of axes of the grid.
    pub fn axis_count(&self) -> usize {
        self.tri.len()
    }

    /// The lines along axis `d`.
    pub(crate) fn axis_lines(&self, d: usize) -> &LineSet {
        &self.lines[d]
    }

    /// `y = A x` by sprs's CSR product.
    pub fn apply_csr(&self, x: &[f64], y: &mut [f64]) {
        y.iter_mut().for_each(|v| *v = 0.0);
        sprs::prod::mul_acc_mat_vec_csr(self.csr.view(), x, y);
    }

    /// Always false for a grid.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fill with `I − dt L` (or its transpose) from the jump rates of every axis.
    pub fn assemble(
        &mut self,
        dt: f64,
        to_prev: &[Vec<f64>],
        to_next: &[Vec<f64>],
        transpose: bool,
    ) {
        let n = self.len();
        let target = if transpose {
            &mut self.scratch
        } else {
            self.csr.data_mut()
        };
        target.iter_mut().for_each(|v| *v = 0.0);
        for i in 0..n {
            target[self.diag_slot[i]] = 1.0;
        }
        for (d, slots) in self.nb_slot.iter().enumerate() {
            let (tp, tn) = (&to_prev[d], &to_next[d]);
            for i in 0..n {
                let [sp, sn] = slots[i];
                target[sp] -= dt * tp[i];
                target[sn] -= dt * tn[i];
                target[self.diag_slot[i]] += dt * (tp[i] + tn[i]);
            }
        }
        if transpose {
            let vals = self.csr.data_mut();
            for (k, &t) in self.transpose_perm.iter().enumerate() {
                vals[t] = self.scratch[k];
            }
        }
        for (d, tri) in self.tri.iter_mut().enumerate() {
            let ls = &self.lines[d];
            let [lo, di, up] = tri;
            lo.iter_mut().for_each(|v| *v = 0.0);
            up.iter_mut().for_each(|v| *v = 0.0);
            di.iter_mut().for_each(|v| *v = 1.0);
            let (tp, tn) = (&to_prev[d], &to_next[d]);
            // Entry (a, b) += v of I − dt L_d, b a neighbour of a along d, placed as a's
            // previous or next on its line (a wrap-around neighbour is neither).
            let pos = &ls.position;
            let mut put = |a: usize, b: usize, v: f64| {
                if pos[b] == pos[a] + 1 {
                    up[a] += v;
                } else if pos[b] + 1 == pos[a] {
                    lo[a] += v;
                }
            };
            for i in 0..n {
                let [l, r] = self.nbr[d][i];
                let (vp, vn) = (-dt * tp[i], -dt * tn[i]);
                if transpose {
                    put(l, i, vp);
                    put(r, i, vn);
                } else {
                    put(i, l, vp);
                    put(i, r, vn);
                }
            }
            for i in 0..n {
                di[i] += dt * (tp[i] + tn[i]);
            }
        }
        let (indptr, vals) = (self.csr.indptr(), self.csr.data());
        let indptr = indptr.raw_storage();
        for (i, row) in self.ell_vals.chunks_exact_mut(self.width).enumerate() {
            let (a, b) = (indptr[i], indptr[i + 1]);
            row[..b - a].copy_from_slice(&vals[a..b]);
            row[b - a..].iter_mut().for_each(|v| *v = 0.0);
        }
    }

    /// `y = A x` on the padded copy (the kernel [`LinearOperator::apply`] uses).
    pub fn apply_ell(&self, x: &[f64], y: &mut [f64]) {
        assert!(
            x.len() == self.len() && y.len() == self.len(),
            "GridMatrix::apply: wrong lengths"
        );
        match self.width {
            3 => self.matvec_fixed::<3>(x, y),
            5 => self.matvec_fixed::<5>(x, y),
            7 => self.matvec_fixed::<7>(x, y),
            _ => unreachable!("grids have 1 to 3 dimensions"),
        }
    }

    fn matvec_fixed<const W: usize>(&self, x: &[f64], y: &mut [f64]) {
        for ((yi, cols), vals) in y
            .iter_mut()
            .zip(self.ell_cols.chunks_exact(W))
            .zip(self.ell_vals.chunks_exact(W))
        {
            let mut s = 0.0;
            for k in 0..W {
                s += vals[k] * x[cols[k] as usize];
            }
            *yi = s;
        }
    }
}

impl LinearOperator for GridMatrix {
    fn nrows(&self) -> usize {
        self.len()
    }

    fn apply(&self, x: &[f64], y: &mut [f64]) {
        self.apply_ell(x, y);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::grid::Boundary;

    /// Jump rates with some variation along both axes (shared with the preconditioner tests).
    pub(crate) fn rates(grid: &Grid) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let n = grid.len();
        let tp = (0..grid.dim())
            .map(|d| {
                (0..n)
                    .map(|i| 1.0 + 0.3 * ((i * (d + 3)) % 7) as f64)
                    .collect()
            })
            .collect();
        let tn = (0..grid.dim())
            .map(|d| {
                (0..n)
                    .map(|i| 0.5 + 0.2 * ((i * (d + 5)) % 4) as f64)
                    .collect()
            })
            .collect();
        (tp, tn)
    }

    #[test]
    fn the_padded_and_the_sprs_products_agree() {
        for b in [Boundary::NoFlux, Boundary::Periodic] {
            for g in [
                Grid::line(0.0, 1.0, 9, b).unwrap(),
                Grid::rectangle([0.0, 1.0], 6, [0.0, 2.0], 5, b).unwrap(),
                Grid::cuboid([0.0, 1.0], 4, [0.0, 2.0], 3, [0.0, 1.0], 5, b).unwrap(),
            ] {
                let (tp, tn) = rates(&g);
                let mut a = GridMatrix::new(&g);
                a.assemble(0.3, &tp, &tn, true);
                let x: Vec<f64> = (0..g.len()).map(|i| (i as f64 * 0.7).cos()).collect();
                let (mut y1, mut y2) = (vec![0.0; g.len()], vec![0.0; g.len()]);
                a.apply_ell(&x, &mut y1);
                a.apply_csr(&x, &mut y2);
                for (p, q) in y1.iter().zip(&y2) {
                    assert!(
                        (p - q).abs() <= 1e-14 * q.abs().max(1.0),
                        "{b:?} {}D",
                        g.dim()
                    );
                }
            }
        }
    }

    #[test]
    fn columns_of_the_transposed_operator_sum_to_one() {
        for b in [Boundary::NoFlux, Boundary::Periodic] {
            let g = Grid::rectangle([0.0, 1.0], 6, [0.0, 2.0], 5, b).unwrap();
            let (tp, tn) = rates(&g);
            let mut a = GridMatrix::new(&g);
            a.assemble(0.1, &tp, &tn, false);
            // Rows of I − dt L sum to one.
            let n = g.len();
            let mut y = vec![0.0; n];
            a.apply(&vec![1.0; n], &mut y);
            assert!(y.iter().all(|v| (v - 1.0).abs() < 1e-13), "{b:?}");
            // The transpose: column sums of Aᵀ are the row sums of A; check e_jᵀ Aᵀ e_i = e_iᵀ A e_j.
            let mut t = GridMatrix::new(&g);
            t.assemble(0.1, &tp, &tn, true);
            for i in 0..n {
                for j in 0..n {
                    let mut ej = vec![0.0; n];
                    ej[j] = 1.0;
                    let (mut aj, mut tj) = (vec![0.0; n], vec![0.0; n]);
                    a.apply(&ej, &mut aj);
                    let mut ei = vec![0.0; n];
                    ei[i] = 1.0;
                    t.apply(&ei, &mut tj);
                    assert_eq!(aj[i], tj[j], "{b:?} ({i}, {j})");
                }
            }
        }
    }
}
