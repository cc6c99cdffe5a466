//! The implicit upwind operator `I − dt L` on a grid of any dimension as a sparse matrix with
//! a fixed pattern (built once, refilled with new values at every assembly).

use sprs::CsMat;

use crate::grid::Grid;
use crate::linalg::kernels;
use crate::linalg::operator::LinearOperator;

/// `I − dt L` (or its transpose) on the grid's pattern: each point and its distinct
/// neighbours along every axis, columns sorted. The pattern is symmetric, so the transpose has
/// the same pattern.
///
/// The values live in a copy padded to a fixed row width (ELLPACK): the matrix-vector product
/// ([`LinearOperator::apply`]) has a fixed trip count, and measured against sprs's CSR product
/// in the same run it wins (docs/PERFORMANCE.md, `cargo bench --bench solve --
/// linear-kernels`); [`GridMatrix::to_csr`] gives the [`sprs::CsMat`] for that comparison and
/// the tests. Every assembly scatters the jump rates straight into their slots (tables built
/// once), together with the per-axis line tridiagonals the ADI preconditioner factors.
#[derive(Debug, Clone)]
pub struct GridMatrix {
    /// The CSR pattern (row pointers, sorted columns).
    indptr: Vec<usize>,
    indices: Vec<usize>,
    /// Every row padded to `width` entries (column = the row, value 0).
    width: usize,
    ell_cols: Vec<u32>,
    ell_vals: Vec<f64>,
    /// The slot of every diagonal entry in `ell_vals`.
    ell_diag: Vec<u32>,
    /// `[plain, transposed][axis][point]`: the slots in `ell_vals` that the point's jump rates
    /// to its previous and next neighbour land in.
    rate_slots: [Vec<Vec<[u32; 2]>>; 2],
    /// Per axis: the lines along it.
    lines: Vec<LineSet>,
    /// Per axis: the entries of the axis's own factor `I − dt L_d` (or its transpose) as
    /// `[to the previous point on the line | itself | to the next point on the line | sink]`,
    /// each a field over the grid (the ADI preconditioner's tridiagonals; wrap-around entries
    /// of periodic lines go to the one-entry sink and are left out).
    tri: Vec<Vec<f64>>,
    /// `[plain, transposed][axis][point]`: where in `tri[axis]` the point's jump rates land.
    tri_slots: [Vec<Vec<[u32; 2]>>; 2],
    /// The grid's shape and which axes are periodic (for the multigrid hierarchy).
    shape: Vec<usize>,
    periodic: Vec<bool>,
}

/// The lines of a tensor grid along one axis.
#[derive(Debug, Clone)]
pub(crate) struct LineSet {
    /// Points per line.
    pub(crate) len: usize,
    /// Flat-index distance between neighbours on a line.
    pub(crate) stride: usize,
    /// The lines, in batches whose recurrences advance together.
    pub(crate) batches: Vec<LineBatch>,
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

/// Lanes per batch of a slab, about (whole rows of 64 values vectorise, and a slab of a
/// large grid still splits into batches for several threads).
const SLAB_LANES: usize = 64;

impl LineSet {
    fn new(grid: &Grid, d: usize) -> Self {
        let (len, stride) = (grid.axis(d).len(), grid.stride(d));
        let block = len * stride;
        let blocks = grid.len() / block;
        let batches = if stride > 1 {
            // Every block of `len · stride` points is a (len × stride) row-major slab whose
            // rows are the lines' successive points; a wide slab is cut into column ranges of
            // about SLAB_LANES lanes (independent batches for the pool).
            let parts = stride.div_ceil(SLAB_LANES);
            (0..blocks)
                .flat_map(|b| {
                    (0..parts).map(move |p| {
                        let (lo, hi) = (p * stride / parts, (p + 1) * stride / parts);
                        LineBatch {
                            base: b * block + lo,
                            lanes: hi - lo,
                            lane_step: 1,
                        }
                    })
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
        }
    }
}

impl GridMatrix {
    /// The pattern of the grid's upwind operator.
    pub fn new(grid: &Grid) -> Self {
        let n = grid.len();
        let dim = grid.dim();
        let mut indptr = Vec::with_capacity(n + 1);
        let mut indices = Vec::with_capacity(n * (2 * dim + 1));
        // With exits and obstacles the neighbour relation is not symmetric (an exit has no
        // neighbours, a point next to an obstacle names its other neighbour twice): the
        // pattern holds both directions, so that the transpose fits it too. Every entry is a
        // point and its direct grid neighbours, at most 2d + 1.
        let reverse: Vec<Vec<usize>> = if grid.has_geometry() {
            let mut r = vec![Vec::new(); n];
            for i in 0..n {
                for d in 0..dim {
                    let (p, q) = grid.neighbours(i, d);
                    r[p].push(i);
                    r[q].push(i);
                }
            }
            r
        } else {
            Vec::new()
        };
        indptr.push(0);
        for i in 0..n {
            let start = indices.len();
            indices.push(i);
            let forward = (0..dim).flat_map(|d| {
                let (p, q) = grid.neighbours(i, d);
                [p, q]
            });
            let back = reverse.get(i).into_iter().flatten().copied();
            for c in forward.chain(back) {
                if !indices[start..].contains(&c) {
                    indices.push(c);
                }
            }
            indices[start..].sort_unstable();
            indptr.push(indices.len());
        }
        let width = 2 * dim + 1;
        let u32_of = |v: usize| u32::try_from(v).expect("grids have fewer than 2^32 / 7 points");
        // The padded slot of entry (i, c).
        let slot = |i: usize, c: usize| {
            let row = &indices[indptr[i]..indptr[i + 1]];
            u32_of(i * width + row.binary_search(&c).expect("in pattern"))
        };
        let mut ell_cols = vec![0u32; n * width];
        for (i, row) in ell_cols.chunks_exact_mut(width).enumerate() {
            // The row's columns, then padding that points at the diagonal (value 0).
            row.fill(u32_of(i));
            for (e, &c) in row.iter_mut().zip(&indices[indptr[i]..indptr[i + 1]]) {
                *e = u32_of(c);
            }
        }
        let ell_diag = (0..n).map(|i| slot(i, i)).collect();
        // Point i's rate to neighbour j is entry (i, j) of I − dt L, entry (j, i) of its
        // transpose.
        let rate_slots = [false, true].map(|transpose| {
            (0..dim)
                .map(|d| {
                    (0..n)
                        .map(|i| {
                            let (p, q) = grid.neighbours(i, d);
                            [p, q].map(|j| if transpose { slot(j, i) } else { slot(i, j) })
                        })
                        .collect()
                })
                .collect()
        });
        // The same in the axis's tridiagonal: entry (a, b) sits at a's lower entry if b is
        // a's previous point on the line, at its upper entry if b is the next one, else (a
        // wrap-around neighbour) in the sink.
        let tri_slots = [false, true].map(|transpose| {
            (0..dim)
                .map(|d| {
                    (0..n)
                        .map(|i| {
                            let (p, q) = grid.neighbours(i, d);
                            [p, q].map(|j| {
                                let (a, b) = if transpose { (j, i) } else { (i, j) };
                                let (pa, pb) = (grid.axis_index(a, d), grid.axis_index(b, d));
                                u32_of(if pb + 1 == pa {
                                    a
                                } else if pb == pa + 1 {
                                    2 * n + a
                                } else {
                                    3 * n
                                })
                            })
                        })
                        .collect()
                })
                .collect()
        });
        Self {
            indptr,
            indices,
            width,
            ell_cols,
            ell_vals: vec![0.0; n * width],
            ell_diag,
            rate_slots,
            lines: (0..dim).map(|d| LineSet::new(grid, d)).collect(),
            tri: (0..dim).map(|_| vec![0.0; 3 * n + 1]).collect(),
            tri_slots,
            shape: grid.shape(),
            periodic: grid
                .axes()
                .iter()
                .map(|a| a.boundary() == crate::grid::Boundary::Periodic)
                .collect(),
        }
    }

    /// Order.
    pub fn len(&self) -> usize {
        self.ell_diag.len()
    }

    /// Number of entries of the pattern.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// Always false for a grid.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The CSR pattern: row pointers and (sorted) column indices.
    pub fn pattern(&self) -> (&[usize], &[usize]) {
        (&self.indptr, &self.indices)
    }

    /// The values of the last assembly in the order of [`GridMatrix::pattern`].
    pub fn csr_values_into(&self, out: &mut [f64]) {
        assert_eq!(out.len(), self.nnz(), "csr_values_into: wrong length");
        for (i, w) in self.indptr.windows(2).enumerate() {
            let row = &self.ell_vals[i * self.width..];
            out[w[0]..w[1]].copy_from_slice(&row[..w[1] - w[0]]);
        }
    }

    /// The last assembly as a [`sprs::CsMat`] (allocates: for comparisons and tests).
    pub fn to_csr(&self) -> CsMat<f64> {
        let mut vals = vec![0.0; self.nnz()];
        self.csr_values_into(&mut vals);
        CsMat::new(
            (self.len(), self.len()),
            self.indptr.clone(),
            self.indices.clone(),
            vals,
        )
    }

    /// The padded values: row width, columns and values of the last assembly (each row its
    /// pattern's entries in order, then padding: the row's own column with value 0).
    pub fn ell(&self) -> (usize, &[u32], &[f64]) {
        (self.width, &self.ell_cols, &self.ell_vals)
    }

    /// Points per axis of the grid, first (slowest) first.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Whether each axis of the grid is periodic.
    pub fn periodic(&self) -> &[bool] {
        &self.periodic
    }

    /// The diagonal entry of row `i`.
    pub fn diagonal(&self, i: usize) -> f64 {
        self.ell_vals[self.ell_diag[i] as usize]
    }

    /// Axis `d`'s own factor `I − dt L_d` (or its transpose) as three fields over the grid:
    /// every point's entry to the previous point on its line, itself and the next point on its
    /// line (periodic lines leave the wrap-around entry out). The ADI preconditioner factors
    /// these.
    pub fn axis_factor(&self, d: usize) -> [&[f64]; 3] {
        let n = self.len();
        let t = &self.tri[d];
        [&t[..n], &t[n..2 * n], &t[2 * n..3 * n]]
    }

    /// Number of axes of the grid.
    pub fn axis_count(&self) -> usize {
        self.tri.len()
    }

    /// The lines along axis `d`.
    pub(crate) fn axis_lines(&self, d: usize) -> &LineSet {
        &self.lines[d]
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
        let o = usize::from(transpose);
        let vals = &mut self.ell_vals;
        vals.fill(0.0);
        for &k in &self.ell_diag {
            vals[k as usize] = 1.0;
        }
        for (d, tri) in self.tri.iter_mut().enumerate() {
            let (tp, tn) = (&to_prev[d][..n], &to_next[d][..n]);
            let (slots, tslots) = (&self.rate_slots[o][d][..n], &self.tri_slots[o][d][..n]);
            tri.fill(0.0);
            tri[n..2 * n].fill(1.0);
            for i in 0..n {
                let (a, b) = (dt * tp[i], dt * tn[i]);
                let [sp, sn] = slots[i];
                vals[sp as usize] -= a;
                vals[sn as usize] -= b;
                let s = dt * (tp[i] + tn[i]);
                vals[self.ell_diag[i] as usize] += s;
                tri[n + i] += s;
                let [tp_slot, tn_slot] = tslots[i];
                tri[tp_slot as usize] -= a;
                tri[tn_slot as usize] -= b;
            }
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
        // Rows are independent: blocks of rows on the pool, the same bits on any.
        kernels::update(y, |start, y| {
            let rows = start * W..(start + y.len()) * W;
            let (cols, vals) = (&self.ell_cols[rows.clone()], &self.ell_vals[rows]);
            for ((yi, cols), vals) in y
                .iter_mut()
                .zip(cols.chunks_exact(W))
                .zip(vals.chunks_exact(W))
            {
                let mut s = 0.0;
                for k in 0..W {
                    s += vals[k] * x[cols[k] as usize];
                }
                *yi = s;
            }
        });
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

    /// `max_i |(A x − b)_i|` (shared with the preconditioner tests).
    pub(crate) fn max_residual(a: &GridMatrix, x: &[f64], b: &[f64]) -> f64 {
        let mut ax = vec![0.0; b.len()];
        a.apply(x, &mut ax);
        ax.iter()
            .zip(b)
            .map(|(p, q)| (p - q).abs())
            .fold(0.0, f64::max)
    }

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
                sprs::prod::mul_acc_mat_vec_csr(a.to_csr().view(), &x, &mut y2);
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
