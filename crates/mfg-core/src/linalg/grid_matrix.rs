//! The implicit upwind operator `I − dt L` on a grid of any dimension as a sparse matrix with
//! a fixed pattern (built once, refilled with new values at every assembly).

use rayon::prelude::*;
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
    /// `[plain, transposed]`: every row's jump-rate contributions (see [`Gather`]).
    gather: [Gather; 2],
    /// Per axis: the lines along it.
    lines: Vec<LineSet>,
    /// Per axis: the entries of the axis's own factor `I − dt L_d` (or its transpose) as
    /// `[to the previous point on the line | itself | to the next point on the line | sink]`,
    /// each a field over the grid (the ADI preconditioner's tridiagonals; wrap-around entries
    /// of periodic lines go to the one-entry sink and are left out).
    tri: Vec<Vec<f64>>,
    /// The flat-index distance between neighbours along every axis.
    strides: Vec<usize>,
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

/// The jump rates that land in each row of `I − dt L` (or of its transpose), so that the rows
/// can be assembled independently (on the pool): row `i` of the plain operator holds point
/// `i`'s own rates, row `j` of the transpose the rates of the points that jump to `j`.
///
/// Most rows are *regular*: along every axis `d` the row's neighbours are `i ∓ s_d` (`s_d` the
/// axis's stride) and nothing else lands in it, so its entries follow from the strides alone
/// (the padded row is `[i − s_0, …, i − s_{D−1}, i, i + s_{D−1}, …, i + s_0]`). The others
/// (walls, periodic wrap-around, exits and obstacles) list their contributions.
#[derive(Debug, Clone, Default)]
struct Gather {
    /// Whether each row is regular.
    regular: Vec<bool>,
    /// The contributions of row `i` are `entries[start[i]..start[i + 1]]` (none for regular
    /// rows).
    start: Vec<u32>,
    /// Sorted by (axis, source point, side) in every row: the order in which a serial pass
    /// over the rates would add them, so the sums are the same bits.
    entries: Vec<Contribution>,
}

/// One jump rate's share of a row: `−dt · rate` at an entry of the padded row and, unless it
/// is a periodic line's wrap-around, of the axis's line tridiagonal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Contribution {
    /// The point whose rate it is.
    source: u32,
    /// `2 · axis + side` (side 0: the rate to the previous point along the axis, 1: to the
    /// next).
    rate: u8,
    /// The entry's position in the padded row (low nibble) and in the axis's tridiagonal
    /// (high nibble: 0 the lower entry, 2 the upper one, 1 none).
    place: u8,
}

/// Where a regular row's entries sit: the rate to the previous point along axis `d` (of the
/// row's point, or of the previous point itself in the transpose) at `d`, to the next at
/// `2D − d`, the diagonal at `D`.
const fn regular_places(dim: usize, d: usize) -> [u8; 2] {
    [d as u8, (2 * dim - d) as u8 | (2 << 4)]
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
        // transpose; in the axis's tridiagonal, entry (a, b) is a's lower entry if b is a's
        // previous point on the line, its upper entry if b is the next one, else (a
        // wrap-around neighbour) left out.
        let gather = [false, true].map(|transpose| {
            let mut rows: Vec<Vec<Contribution>> = vec![Vec::with_capacity(2 * dim); n];
            for d in 0..dim {
                for i in 0..n {
                    let (p, q) = grid.neighbours(i, d);
                    for (side, j) in [p, q].into_iter().enumerate() {
                        let (a, b) = if transpose { (j, i) } else { (i, j) };
                        let (pa, pb) = (grid.axis_index(a, d), grid.axis_index(b, d));
                        let tri = if pb + 1 == pa {
                            0
                        } else if pb == pa + 1 {
                            2
                        } else {
                            1
                        };
                        let offset = slot(a, b) as usize - a * width;
                        rows[a].push(Contribution {
                            source: u32_of(i),
                            rate: (2 * d + side) as u8,
                            place: offset as u8 | (tri << 4),
                        });
                    }
                }
            }
            // A regular row's contributions, in the sorted order.
            let regular = |a: usize| -> Option<Vec<Contribution>> {
                let mut out = Vec::with_capacity(2 * dim);
                for d in 0..dim {
                    let s = grid.stride(d);
                    let [lo, up] = regular_places(dim, d);
                    let (prev, next) = (a.checked_sub(s)?, a + s);
                    let (r0, r1) = ((2 * d) as u8, (2 * d + 1) as u8);
                    if transpose {
                        // From the previous point's rate to its next, the next one's to its
                        // previous.
                        out.push(Contribution {
                            source: u32::try_from(prev).ok()?,
                            rate: r1,
                            place: lo,
                        });
                        out.push(Contribution {
                            source: u32::try_from(next).ok()?,
                            rate: r0,
                            place: up,
                        });
                    } else {
                        let own = u32::try_from(a).ok()?;
                        out.push(Contribution {
                            source: own,
                            rate: r0,
                            place: lo,
                        });
                        out.push(Contribution {
                            source: own,
                            rate: r1,
                            place: up,
                        });
                    }
                }
                Some(out)
            };
            let mut g = Gather {
                regular: Vec::with_capacity(n),
                start: Vec::with_capacity(n + 1),
                entries: Vec::new(),
            };
            g.start.push(0);
            for (a, mut row) in rows.into_iter().enumerate() {
                row.sort_by_key(|c| (c.rate / 2, c.source, c.rate % 2));
                let is_regular = regular(a).is_some_and(|r| r == row);
                if !is_regular {
                    g.entries.extend(row);
                }
                g.regular.push(is_regular);
                g.start.push(u32_of(g.entries.len()));
            }
            g
        });
        Self {
            indptr,
            indices,
            width,
            ell_cols,
            ell_vals: vec![0.0; n * width],
            ell_diag,
            gather,
            lines: (0..dim).map(|d| LineSet::new(grid, d)).collect(),
            tri: (0..dim).map(|_| vec![0.0; 3 * n + 1]).collect(),
            strides: (0..dim).map(|d| grid.stride(d)).collect(),
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

    /// Fill with `I − dt L` (or its transpose) from the jump rates of every axis: row by row
    /// (on the pool from [`kernels::PARALLEL_MIN`] points), each row gathering the rates that
    /// land in it, in a fixed order (the same bits on any pool).
    pub fn assemble(
        &mut self,
        dt: f64,
        to_prev: &[Vec<f64>],
        to_next: &[Vec<f64>],
        transpose: bool,
    ) {
        match self.tri.len() {
            1 => self.assemble_fixed::<1>(dt, to_prev, to_next, transpose),
            2 => self.assemble_fixed::<2>(dt, to_prev, to_next, transpose),
            3 => self.assemble_fixed::<3>(dt, to_prev, to_next, transpose),
            _ => unreachable!("grids have 1 to 3 dimensions"),
        }
    }

    fn assemble_fixed<const D: usize>(
        &mut self,
        dt: f64,
        to_prev: &[Vec<f64>],
        to_next: &[Vec<f64>],
        transpose: bool,
    ) {
        let (n, width) = (self.len(), self.width);
        let gather = &self.gather[usize::from(transpose)];
        let diag = &self.ell_diag;
        let rates: [[&[f64]; 2]; D] = std::array::from_fn(|d| [&to_prev[d][..n], &to_next[d][..n]]);
        let flat = rates.as_flattened();
        // Every block of rows: its padded values and its share of the axes' tridiagonals
        // ([lower, diagonal, upper]).
        type TriRows<'a, const D: usize> = [[&'a mut [f64]; 3]; D];
        let mut tri_chunks: Vec<TriRows<'_, D>> = Vec::with_capacity(n.div_ceil(kernels::BLOCK));
        {
            let mut per_axis: Vec<_> = self
                .tri
                .iter_mut()
                .map(|t| {
                    let (lower, rest) = t.split_at_mut(n);
                    let (di, rest) = rest.split_at_mut(n);
                    let upper = &mut rest[..n];
                    [lower, di, upper].map(|f| f.chunks_mut(kernels::BLOCK))
                })
                .collect();
            for _ in 0..n.div_ceil(kernels::BLOCK) {
                let mut rows: TriRows<'_, D> = std::array::from_fn(|_| Default::default());
                for (r, chunks) in rows.iter_mut().zip(per_axis.iter_mut()) {
                    for (f, c) in r.iter_mut().zip(chunks.iter_mut()) {
                        *f = c.next().expect("a block of every field");
                    }
                }
                tri_chunks.push(rows);
            }
        }
        let strides: [usize; D] = std::array::from_fn(|d| self.strides[d]);
        let fill = |(b, (vals, mut tri)): (usize, (&mut [f64], TriRows<'_, D>))| {
            let start = b * kernels::BLOCK;
            // Axis d's tridiagonal has the diagonal 1 + dt (rates along d).
            for (d, [tp, tn]) in rates.iter().enumerate() {
                for ((v, p), q) in tri[d][1].iter_mut().zip(&tp[start..]).zip(&tn[start..]) {
                    *v = 1.0 + dt * (p + q);
                }
            }
            for (r, row) in vals.chunks_exact_mut(width).enumerate() {
                let i = start + r;
                // The diagonal: 1 + dt Σ_d (the point's rates along d).
                let mut v = 1.0;
                for [tp, tn] in &rates {
                    v += dt * (tp[i] + tn[i]);
                }
                if gather.regular[i] {
                    row[D] = v;
                    for d in 0..D {
                        let [lo, up] = regular_places(D, d).map(|p| usize::from(p & 15));
                        let (a, c) = if transpose {
                            (rates[d][1][i - strides[d]], rates[d][0][i + strides[d]])
                        } else {
                            (rates[d][0][i], rates[d][1][i])
                        };
                        let (a, c) = (0.0 - dt * a, 0.0 - dt * c);
                        row[lo] = a;
                        row[up] = c;
                        tri[d][0][r] = a;
                        tri[d][2][r] = c;
                    }
                } else {
                    row.fill(0.0);
                    row[diag[i] as usize - i * width] = v;
                    for t in tri.iter_mut() {
                        t[0][r] = 0.0;
                        t[2][r] = 0.0;
                    }
                    let range = gather.start[i] as usize..gather.start[i + 1] as usize;
                    for c in &gather.entries[range] {
                        let a = dt * flat[usize::from(c.rate)][c.source as usize];
                        row[usize::from(c.place & 15)] -= a;
                        let t = usize::from(c.place >> 4);
                        if t != 1 {
                            tri[usize::from(c.rate / 2)][t][r] -= a;
                        }
                    }
                }
            }
        };
        let block = kernels::BLOCK * width;
        if n >= kernels::PARALLEL_MIN {
            self.ell_vals
                .par_chunks_mut(block)
                .zip(tri_chunks)
                .enumerate()
                .for_each(fill);
        } else {
            self.ell_vals
                .chunks_mut(block)
                .zip(tri_chunks)
                .enumerate()
                .for_each(fill);
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

    /// `I − dt L` (or its transpose) by a plain scatter of every rate, and every axis's line
    /// tridiagonal (lower, diagonal, upper as full fields).
    fn reference(
        g: &Grid,
        dt: f64,
        tp: &[Vec<f64>],
        tn: &[Vec<f64>],
        transpose: bool,
    ) -> (Vec<Vec<f64>>, Vec<[Vec<f64>; 3]>) {
        let n = g.len();
        let mut a = vec![vec![0.0; n]; n];
        let mut tri: Vec<[Vec<f64>; 3]> = (0..g.dim())
            .map(|_| [vec![0.0; n], vec![1.0; n], vec![0.0; n]])
            .collect();
        for (i, row) in a.iter_mut().enumerate() {
            row[i] = 1.0;
        }
        for d in 0..g.dim() {
            for i in 0..n {
                let s = dt * (tp[d][i] + tn[d][i]);
                a[i][i] += s;
                tri[d][1][i] += s;
                let (p, q) = g.neighbours(i, d);
                for (j, rate) in [(p, tp[d][i]), (q, tn[d][i])] {
                    let (r, c) = if transpose { (j, i) } else { (i, j) };
                    a[r][c] -= dt * rate;
                    let (pr, pc) = (g.axis_index(r, d), g.axis_index(c, d));
                    if pc + 1 == pr {
                        tri[d][0][r] -= dt * rate;
                    } else if pc == pr + 1 {
                        tri[d][2][r] -= dt * rate;
                    }
                }
            }
        }
        (a, tri)
    }

    #[test]
    fn the_gathered_assembly_equals_a_scatter_of_the_rates() {
        use crate::grid::PointKind;
        let b = Boundary::NoFlux;
        let room = Grid::rectangle([0.0, 1.0], 7, [0.0, 1.0], 6, b).unwrap();
        let kinds = (0..room.len())
            .map(|i| match (room.axis_index(i, 0), room.axis_index(i, 1)) {
                (3, 2) | (3, 3) => PointKind::Solid,
                (6, 1) | (0, 4) => PointKind::Exit,
                _ => PointKind::Open,
            })
            .collect();
        let grids = [
            Grid::rectangle([0.0, 1.0], 6, [0.0, 2.0], 5, b).unwrap(),
            Grid::rectangle([0.0, 1.0], 6, [0.0, 2.0], 5, Boundary::Periodic).unwrap(),
            Grid::cuboid([0.0, 1.0], 4, [0.0, 2.0], 5, [0.0, 1.0], 6, b).unwrap(),
            Grid::cuboid(
                [0.0, 1.0],
                4,
                [0.0, 2.0],
                3,
                [0.0, 1.0],
                5,
                Boundary::Periodic,
            )
            .unwrap(),
            Grid::tensor(&[
                ([0.0, 1.0], 7, Boundary::Periodic),
                ([0.0, 1.0], 5, Boundary::NoFlux),
            ])
            .unwrap(),
            room.with_geometry(kinds).unwrap(),
        ];
        for g in grids {
            let (mut tp, mut tn) = rates(&g);
            if g.has_geometry() {
                g.mask_rates(&mut tp, &mut tn);
            }
            let n = g.len();
            let mut m = GridMatrix::new(&g);
            for transpose in [false, true] {
                m.assemble(0.3, &tp, &tn, transpose);
                let (a, tri) = reference(&g, 0.3, &tp, &tn, transpose);
                let csr = m.to_csr();
                for (i, row) in a.iter().enumerate() {
                    for (j, want) in row.iter().enumerate() {
                        let got = csr.get(i, j).copied().unwrap_or(0.0);
                        assert_eq!(got.to_bits(), (want + 0.0).to_bits(), "{g:?} ({i}, {j})");
                    }
                }
                for (d, t) in tri.iter().enumerate() {
                    for (k, field) in m.axis_factor(d).iter().enumerate() {
                        for i in 0..n {
                            assert_eq!(field[i], t[k][i], "axis {d} field {k} point {i}");
                        }
                    }
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
