//! Aggregation multigrid for the implicit upwind systems, as a preconditioner.
//!
//! The hierarchy is geometric: every coarse point is an aggregate of up to `2^d` fine points
//! (pairs along every axis; an odd last point of a walled axis is an aggregate of its own, an
//! odd periodic axis pairs all but its last point), down to a grid of at most
//! [`COARSEST_POINTS`] points. The transfers are piecewise constant (`P` the aggregation, `R =
//! Pᵀ`) and the coarse operators Galerkin products `A_c = Pᵀ A P`: with piecewise-constant `P`
//! this is the sum of the fine entries between two aggregates, so it keeps the sign pattern
//! and the column sums of `I − dt L` and `I − dt Lᵀ` (an M-matrix, a conservative transport
//! operator on the coarse cells) whatever the upwind drift does, and stays on the `(2d + 1)`-
//! point pattern. Each setup (after every assembly) is one gather-add per fine entry through a
//! slot table built once.
//!
//! One application is a V-cycle from a zero guess: one forward Gauss–Seidel sweep before the
//! coarse correction, one backward sweep after it (so the upwind direction is swept both
//! ways), the coarse correction scaled by [`OVER_CORRECTION`] (piecewise-constant
//! interpolation under-estimates smooth errors), and [`COARSEST_SWEEPS`] symmetric sweeps on
//! the coarsest grid. The cycle is a fixed linear map, as BiCGSTAB requires of a
//! preconditioner, and involves no reduction, so it does not depend on the thread count.
//!
//! # References
//! Y. Notay, *An aggregation-based algebraic multigrid method*, ETNA 37 (2010) 123–146;
//! W. L. Briggs, V. E. Henson, S. F. McCormick, *A Multigrid Tutorial*, 2nd ed., SIAM 2000.

use std::cell::RefCell;

use crate::linalg::grid_matrix::GridMatrix;
use crate::linalg::operator::Preconditioner;

/// Coarsen until a level has at most this many points.
pub const COARSEST_POINTS: usize = 64;

/// Symmetric Gauss–Seidel sweeps on the coarsest grid.
pub const COARSEST_SWEEPS: usize = 4;

/// Gauss–Seidel sweeps before and after the coarse correction.
pub const SMOOTHING_SWEEPS: usize = 2;

/// The factor on the coarse-grid correction.
pub const OVER_CORRECTION: f64 = 1.0;

/// One level's operator on a padded pattern (`width` entries per row, padding = the row's own
/// column with value 0).
#[derive(Debug, Clone)]
struct Operator {
    width: usize,
    cols: Vec<u32>,
    vals: Vec<f64>,
    inv_diag: Vec<f64>,
}

impl Operator {
    fn len(&self) -> usize {
        self.inv_diag.len()
    }

    /// `(A x)_i`.
    #[inline]
    fn row_times(&self, i: usize, x: &[f64]) -> f64 {
        let row = i * self.width..(i + 1) * self.width;
        let mut s = 0.0;
        for (&c, &v) in self.cols[row.clone()].iter().zip(&self.vals[row]) {
            s += v * x[c as usize];
        }
        s
    }

    fn invert_diagonal(&mut self) {
        let w = self.width;
        for (i, d) in self.inv_diag.iter_mut().enumerate() {
            let row = i * w..(i + 1) * w;
            let diag: f64 = self.cols[row.clone()]
                .iter()
                .zip(&self.vals[row])
                .filter(|(&c, _)| c as usize == i)
                .map(|(_, v)| v)
                .sum();
            *d = 1.0 / diag;
        }
    }

    /// One Gauss–Seidel sweep on `A x = b`, forward or backward.
    fn sweep(&self, b: &[f64], x: &mut [f64], forward: bool) {
        let relax = |x: &mut [f64], i: usize| {
            let s = self.row_times(i, x);
            x[i] += (b[i] - s) * self.inv_diag[i];
        };
        if forward {
            (0..self.len()).for_each(|i| relax(x, i));
        } else {
            (0..self.len()).rev().for_each(|i| relax(x, i));
        }
    }
}

/// From one level to the next coarser: every point's aggregate and every matrix slot's slot.
#[derive(Debug, Clone)]
struct Transfer {
    aggregate: Vec<u32>,
    slot_of: Vec<u32>,
}

/// Per level: right-hand side and solution.
#[derive(Debug, Clone)]
struct Scratch {
    rhs: Vec<Vec<f64>>,
    sol: Vec<Vec<f64>>,
}

/// The aggregation-multigrid preconditioner of a [`GridMatrix`]'s pattern.
#[derive(Debug, Clone)]
pub struct Multigrid {
    /// `ops[0]`: a copy of the fine matrix; `ops[l + 1] = Pᵀ ops[l] P` by `transfers[l]`.
    ops: Vec<Operator>,
    transfers: Vec<Transfer>,
    scratch: RefCell<Scratch>,
}

/// Per axis: the coarse length and the aggregate of every fine index.
fn coarsen_axis(n: usize, periodic: bool) -> (usize, Vec<usize>) {
    // Pairs (2j, 2j + 1); an odd last point of a walled axis is an aggregate of its own, an
    // odd periodic axis joins its last point to the last pair (so the first and the last
    // aggregate stay neighbours only across the wrap).
    let nc = if periodic { n / 2 } else { n.div_ceil(2) };
    (nc, (0..n).map(|i| (i / 2).min(nc - 1)).collect())
}

impl Multigrid {
    /// The hierarchy of `a`'s grid (the pattern only; [`Multigrid::factor`] fills the values).
    pub fn new(a: &GridMatrix) -> Self {
        let (width, cols, _) = a.ell();
        let periodic = a.periodic().to_vec();
        let mut shape = a.shape().to_vec();
        let mut ops = vec![Operator {
            width,
            cols: cols.to_vec(),
            vals: vec![0.0; cols.len()],
            inv_diag: vec![0.0; a.len()],
        }];
        let mut transfers = Vec::new();
        while shape.iter().product::<usize>() > COARSEST_POINTS {
            // A periodic axis keeps at least three aggregates (with two, each would be the
            // other's both neighbours); a walled one at least two.
            let axes: Vec<(usize, Vec<usize>)> = shape
                .iter()
                .zip(&periodic)
                .map(|(&n, &periodic)| {
                    if n >= if periodic { 6 } else { 3 } {
                        coarsen_axis(n, periodic)
                    } else {
                        (n, (0..n).collect())
                    }
                })
                .collect();
            let cshape: Vec<usize> = axes.iter().map(|(nc, _)| *nc).collect();
            if cshape == shape {
                break;
            }
            let fine = ops.last().expect("the finest level");
            let (nf, nc) = (fine.len(), cshape.iter().product::<usize>());
            // Flat fine index → flat coarse index (row-major, axis 0 slowest).
            let aggregate: Vec<u32> = (0..nf)
                .map(|i| {
                    let (mut rest, mut flat, mut cstride) = (i, 0, 1);
                    for d in (0..shape.len()).rev() {
                        flat += axes[d].1[rest % shape[d]] * cstride;
                        rest /= shape[d];
                        cstride *= cshape[d];
                    }
                    u32::try_from(flat).expect("fewer than 2^32 points")
                })
                .collect();
            // The coarse pattern: the aggregates an aggregate's points connect to. Aggregates
            // of a tensor grid connect face to face, so the width does not grow.
            let mut rows: Vec<Vec<u32>> = vec![Vec::with_capacity(width); nc];
            for i in 0..nf {
                let row = &mut rows[aggregate[i] as usize];
                for &c in &fine.cols[i * width..(i + 1) * width] {
                    let cc = aggregate[c as usize];
                    if !row.contains(&cc) {
                        row.push(cc);
                    }
                }
            }
            let mut ccols = vec![0u32; nc * width];
            for (j, row) in rows.iter_mut().enumerate() {
                assert!(row.len() <= width, "aggregates connect face to face");
                row.sort_unstable();
                let dst = &mut ccols[j * width..(j + 1) * width];
                dst.fill(j as u32);
                dst[..row.len()].copy_from_slice(row);
            }
            let slot_of = (0..nf * width)
                .map(|t| {
                    let j = aggregate[t / width] as usize;
                    let c = aggregate[fine.cols[t] as usize];
                    let pos = rows[j].binary_search(&c).expect("in the coarse pattern");
                    (j * width + pos) as u32
                })
                .collect();
            transfers.push(Transfer { aggregate, slot_of });
            ops.push(Operator {
                width,
                cols: ccols,
                vals: vec![0.0; nc * width],
                inv_diag: vec![0.0; nc],
            });
            shape = cshape;
        }
        let scratch = Scratch {
            rhs: ops.iter().map(|o| vec![0.0; o.len()]).collect(),
            sol: ops.iter().map(|o| vec![0.0; o.len()]).collect(),
        };
        Self {
            ops,
            transfers,
            scratch: RefCell::new(scratch),
        }
    }

    /// Number of levels, the finest included.
    pub fn depth(&self) -> usize {
        self.ops.len()
    }

    /// The Galerkin hierarchy of the assembled `a`.
    pub fn factor(&mut self, a: &GridMatrix) {
        self.ops[0].vals.copy_from_slice(a.ell().2);
        self.ops[0].invert_diagonal();
        for (l, t) in self.transfers.iter().enumerate() {
            let (fine, coarse) = self.ops.split_at_mut(l + 1);
            let (fine, coarse) = (&fine[l], &mut coarse[0]);
            coarse.vals.fill(0.0);
            for (&v, &s) in fine.vals.iter().zip(&t.slot_of) {
                coarse.vals[s as usize] += v;
            }
            coarse.invert_diagonal();
        }
    }

    /// The cycle on level `l` for `b`, into `x` (`rhs`/`sol` of the coarser levels as
    /// scratch).
    fn cycle(
        &self,
        l: usize,
        b: &[f64],
        x: &mut [f64],
        rhs: &mut [Vec<f64>],
        sol: &mut [Vec<f64>],
    ) {
        let op = &self.ops[l];
        x.fill(0.0);
        if l + 1 == self.ops.len() {
            for _ in 0..COARSEST_SWEEPS {
                op.sweep(b, x, true);
                op.sweep(b, x, false);
            }
            return;
        }
        for _ in 0..SMOOTHING_SWEEPS {
            op.sweep(b, x, true);
        }
        let t = &self.transfers[l];
        let (crhs, rest_rhs) = rhs.split_first_mut().expect("a coarser level");
        let (csol, rest_sol) = sol.split_first_mut().expect("a coarser level");
        crhs.fill(0.0);
        for (i, &j) in t.aggregate.iter().enumerate() {
            crhs[j as usize] += b[i] - op.row_times(i, x);
        }
        self.cycle(l + 1, crhs, csol, rest_rhs, rest_sol);
        for (xi, &j) in x.iter_mut().zip(&t.aggregate) {
            *xi += OVER_CORRECTION * csol[j as usize];
        }
        for _ in 0..SMOOTHING_SWEEPS {
            op.sweep(b, x, false);
        }
    }
}

impl Preconditioner for Multigrid {
    fn apply(&self, x: &[f64], out: &mut [f64]) {
        let mut guard = self.scratch.borrow_mut();
        let Scratch { rhs, sol } = &mut *guard;
        self.cycle(0, x, out, &mut rhs[1..], &mut sol[1..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::{Boundary, Grid};
    use crate::linalg::bicgstab::BiCgStab;
    use crate::linalg::grid_matrix::tests::{max_residual, rates};
    use crate::linalg::operator::KrylovParams;

    #[test]
    fn coarse_operators_keep_the_row_sums() {
        // Rows of I − dt L sum to one; a Galerkin product with piecewise-constant P keeps the
        // row sums, weighted by the aggregates' sizes.
        for b in [Boundary::NoFlux, Boundary::Periodic] {
            let g = Grid::rectangle([0.0, 1.0], 20, [0.0, 1.0], 17, b).unwrap();
            let (tp, tn) = rates(&g);
            let mut a = GridMatrix::new(&g);
            a.assemble(0.3, &tp, &tn, false);
            let mut mg = Multigrid::new(&a);
            mg.factor(&a);
            assert!(mg.depth() >= 3, "{b:?}: depth {}", mg.depth());
            // A 1 = 1 on every level with A_c = Pᵀ A P: A_c 1 = Pᵀ A 1 = Pᵀ 1 = sizes.
            let mut sizes = vec![1.0; g.len()];
            for (l, t) in mg.transfers.iter().enumerate() {
                let op = &mg.ops[l + 1];
                let mut cs = vec![0.0; op.len()];
                for (i, &j) in t.aggregate.iter().enumerate() {
                    cs[j as usize] += sizes[i];
                }
                let ones = vec![1.0; op.len()];
                for (j, want) in cs.iter().enumerate() {
                    let got = op.row_times(j, &ones);
                    assert!(
                        (got - want).abs() < 1e-9 * want,
                        "{b:?} level {l}: {got} vs {want}"
                    );
                }
                sizes = cs;
            }
        }
    }

    #[test]
    fn bicgstab_with_multigrid_solves_2d_and_3d() {
        for b in [Boundary::NoFlux, Boundary::Periodic] {
            for g in [
                Grid::rectangle([0.0, 1.0], 40, [0.0, 1.0], 33, b).unwrap(),
                Grid::cuboid([0.0, 1.0], 12, [0.0, 1.0], 13, [0.0, 1.0], 10, b).unwrap(),
            ] {
                let (tp, tn) = rates(&g);
                let n = g.len();
                for transpose in [false, true] {
                    let mut a = GridMatrix::new(&g);
                    a.assemble(2.0, &tp, &tn, transpose);
                    let mut mg = Multigrid::new(&a);
                    mg.factor(&a);
                    let rhs: Vec<f64> = (0..n).map(|i| ((i as f64) * 0.37).sin()).collect();
                    let mut x = vec![0.0; n];
                    let params = KrylovParams {
                        tolerance: 1e-11,
                        max_iterations: 100,
                    };
                    let info = BiCgStab::new(n).solve(&a, &mg, &rhs, &mut x, params);
                    let info = info.unwrap_or_else(|e| panic!("{b:?} {}D: {e}", g.dim()));
                    let err = max_residual(&a, &x, &rhs);
                    assert!(err < 1e-9, "{b:?} {}D: {err:e}", g.dim());
                    // A multigrid preconditioner: few iterations.
                    assert!(info.iterations <= 12, "{b:?} {}D: {info:?}", g.dim());
                }
            }
        }
    }
}
