//! The implicit upwind operator `I − dt L` on a grid of any dimension as a sparse matrix with
//! a fixed pattern (assembled once, refilled with new values), ILU(0), and BiCGSTAB.

use crate::grid::{Grid, Line};

/// `I − dt L` (or its transpose) in CSR with sorted columns. The pattern (each point and its
/// distinct neighbours along every axis) is symmetric, so the transpose has the same pattern
/// and is a permutation of the values.
#[derive(Debug, Clone)]
pub struct GridMatrix {
    row_ptr: Vec<usize>,
    cols: Vec<usize>,
    vals: Vec<f64>,
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
    /// Per axis: the points, the stride and the first point of every line along it.
    lines: Vec<LineSet>,
    /// Per axis, per point: the entries of the axis's own factor `I − dt L_d` (or its
    /// transpose) to the previous point on the line, itself and the next point on the line
    /// (the ADI preconditioner's tridiagonals; wrap-around entries of periodic lines are left
    /// out).
    tri: Vec<[Vec<f64>; 3]>,
}

/// The lines of a tensor grid along one axis, and every point's position on its line.
#[derive(Debug, Clone)]
struct LineSet {
    len: usize,
    stride: usize,
    lines: Vec<Line>,
    position: Vec<usize>,
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
        for i in 0..n {
            for (slot, k) in (row_ptr[i]..row_ptr[i + 1]).enumerate() {
                ell_cols[i * width + slot] = cols[k] as u32;
            }
            for slot in row_ptr[i + 1] - row_ptr[i]..width {
                ell_cols[i * width + slot] = i as u32;
            }
        }
        let lines = (0..dim)
            .map(|d| LineSet {
                len: grid.axis(d).len(),
                stride: grid.stride(d),
                lines: grid.lines(d).collect(),
                position: (0..n).map(|i| grid.axis_index(i, d)).collect(),
            })
            .collect();
        Self {
            row_ptr,
            cols,
            vals: vec![0.0; nnz],
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
        self.row_ptr.len() - 1
    }

    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.cols.len()
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
            &mut self.vals
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
            for (k, &t) in self.transpose_perm.iter().enumerate() {
                self.vals[t] = self.scratch[k];
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
        let w = self.width;
        for i in 0..n {
            let (a, b) = (self.row_ptr[i], self.row_ptr[i + 1]);
            let row = &mut self.ell_vals[i * w..(i + 1) * w];
            row[..b - a].copy_from_slice(&self.vals[a..b]);
            row[b - a..].iter_mut().for_each(|v| *v = 0.0);
        }
    }

    /// `y = A x`.
    pub fn matvec(&self, x: &[f64], y: &mut [f64]) {
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

/// Preconditioner of [`BiCgStab`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Preconditioner {
    /// Diagonal scaling.
    Jacobi,
    /// Incomplete LU with the matrix's own pattern.
    #[default]
    Ilu0,
    /// Alternating-direction line solves (approximate factorisation): `P = Π_d (I − dt L_d)`,
    /// one tridiagonal solve per grid line and axis, batched across the lines (the Thomas
    /// recurrences of all lines of an axis advance together, so the inner loop has no
    /// dependency chain). Periodic lines drop their wrap-around entry.
    Adi,
}

impl Preconditioner {
    /// The measured winner for the grid's walls (docs/PERFORMANCE.md): ADI line solves with
    /// no-flux walls, ILU(0) with periodic ones (the ADI lines drop their wrap-around entry).
    pub fn for_grid(grid: &Grid) -> Self {
        match grid.boundary() {
            crate::grid::Boundary::Periodic => Preconditioner::Ilu0,
            crate::grid::Boundary::NoFlux => Preconditioner::Adi,
        }
    }
}

/// Preconditioned BiCGSTAB (van der Vorst) with its work vectors allocated once.
#[derive(Debug, Clone)]
pub struct BiCgStab {
    precond: Preconditioner,
    lu: Vec<f64>,
    inv_udiag: Vec<f64>,
    inv_diag: Vec<f64>,
    /// ADI: per axis, the Thomas factors `c'` (modified upper) and `1/denominator`.
    adi: Vec<[Vec<f64>; 2]>,
    r: Vec<f64>,
    r0: Vec<f64>,
    p: Vec<f64>,
    v: Vec<f64>,
    y: Vec<f64>,
    s: Vec<f64>,
    z: Vec<f64>,
    t: Vec<f64>,
}

/// Outcome of a linear solve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearSolve {
    /// Iterations taken.
    pub iterations: usize,
    /// Final `‖b − A x‖₂ / ‖b‖₂`.
    pub relative_residual: f64,
    /// Whether the tolerance was met.
    pub converged: bool,
}

impl BiCgStab {
    /// Work vectors for systems of order `n`.
    pub fn new(n: usize, precond: Preconditioner, nnz: usize) -> Self {
        Self {
            precond,
            lu: vec![
                0.0;
                if precond == Preconditioner::Ilu0 {
                    nnz
                } else {
                    0
                }
            ],
            inv_udiag: vec![0.0; n],
            inv_diag: vec![0.0; n],
            adi: Vec::new(),
            r: vec![0.0; n],
            r0: vec![0.0; n],
            p: vec![0.0; n],
            v: vec![0.0; n],
            y: vec![0.0; n],
            s: vec![0.0; n],
            z: vec![0.0; n],
            t: vec![0.0; n],
        }
    }

    /// The preconditioner.
    pub fn preconditioner(&self) -> Preconditioner {
        self.precond
    }

    /// Factor the preconditioner for `a` (call after every new assembly).
    pub fn prepare(&mut self, a: &GridMatrix) {
        for (i, d) in self.inv_diag.iter_mut().enumerate() {
            *d = 1.0 / a.vals[a.diag_slot[i]];
        }
        if self.precond == Preconditioner::Ilu0 {
            self.lu.copy_from_slice(&a.vals);
            let n = a.len();
            for i in 0..n {
                let (ra, rb) = (a.row_ptr[i], a.row_ptr[i + 1]);
                for k in ra..rb {
                    let p = a.cols[k];
                    if p >= i {
                        break;
                    }
                    self.lu[k] /= self.lu[a.diag_slot[p]];
                    let lik = self.lu[k];
                    // Row i -= l_ip · (row p of U), on the pattern of row i.
                    let (pa, pb) = (a.row_ptr[p], a.row_ptr[p + 1]);
                    for j in k + 1..rb {
                        let c = a.cols[j];
                        if let Ok(q) = a.cols[pa..pb].binary_search(&c) {
                            self.lu[j] -= lik * self.lu[pa + q];
                        }
                    }
                }
            }
            for (i, d) in self.inv_udiag.iter_mut().enumerate() {
                *d = 1.0 / self.lu[a.diag_slot[i]];
            }
        }
        if self.precond == Preconditioner::Adi {
            let n = a.len();
            if self.adi.len() != a.tri.len() {
                self.adi = a.tri.iter().map(|_| [vec![0.0; n], vec![0.0; n]]).collect();
            }
            for ((fac, [lo, di, up]), ls) in self.adi.iter_mut().zip(&a.tri).zip(&a.lines) {
                let [cp, inv] = fac;
                for line in &ls.lines {
                    let mut prev_c = 0.0;
                    for k in 0..ls.len {
                        let i = line.index(k);
                        let den = di[i] - lo[i] * prev_c;
                        inv[i] = 1.0 / den;
                        cp[i] = up[i] * inv[i];
                        prev_c = cp[i];
                    }
                }
            }
        }
    }

    fn apply(&self, a: &GridMatrix, x: &[f64], out: &mut [f64]) {
        match self.precond {
            Preconditioner::Jacobi => {
                for ((o, xi), d) in out.iter_mut().zip(x).zip(&self.inv_diag) {
                    *o = xi * d;
                }
            }
            Preconditioner::Ilu0 => {
                let n = a.len();
                // L (unit diagonal) forward, then U backward.
                for i in 0..n {
                    let mut v = x[i];
                    for k in a.row_ptr[i]..a.diag_slot[i] {
                        v -= self.lu[k] * out[a.cols[k]];
                    }
                    out[i] = v;
                }
                // The reciprocal of U's diagonal: a division would sit in the sweep's chain.
                for i in (0..n).rev() {
                    let mut v = out[i];
                    for k in a.diag_slot[i] + 1..a.row_ptr[i + 1] {
                        v -= self.lu[k] * out[a.cols[k]];
                    }
                    out[i] = v * self.inv_udiag[i];
                }
            }
            Preconditioner::Adi => {
                out.copy_from_slice(x);
                for (([cp, inv], [lo, ..]), ls) in self.adi.iter().zip(&a.tri).zip(&a.lines) {
                    let s = ls.stride;
                    if s == 1 {
                        // Contiguous lines: one Thomas solve after the other.
                        for line in &ls.lines {
                            let b = line.start;
                            let z = &mut out[b..b + ls.len];
                            let (lo, inv, cp) = (&lo[b..], &inv[b..], &cp[b..]);
                            z[0] *= inv[0];
                            for k in 1..z.len() {
                                z[k] = (z[k] - lo[k] * z[k - 1]) * inv[k];
                            }
                            for k in (0..z.len() - 1).rev() {
                                z[k] -= cp[k] * z[k + 1];
                            }
                        }
                        continue;
                    }
                    // Strided lines: advance all lines of the axis together. The lines of
                    // the outermost axis start at 0..s, so each step is a contiguous block.
                    let outer =
                        ls.lines.len() == s && ls.lines.last().map(|l| l.start) == Some(s - 1);
                    if outer {
                        for (z, iv) in out[..s].iter_mut().zip(&inv[..s]) {
                            *z *= iv;
                        }
                        for k in 1..ls.len {
                            let (done, rest) = out.split_at_mut(k * s);
                            let prev = &done[(k - 1) * s..];
                            let (l, iv) = (&lo[k * s..(k + 1) * s], &inv[k * s..(k + 1) * s]);
                            for (((z, p), l), iv) in rest[..s].iter_mut().zip(prev).zip(l).zip(iv) {
                                *z = (*z - l * p) * iv;
                            }
                        }
                        for k in (0..ls.len - 1).rev() {
                            let (head, tail) = out.split_at_mut((k + 1) * s);
                            let c = &cp[k * s..(k + 1) * s];
                            for ((z, nx), c) in head[k * s..].iter_mut().zip(&tail[..s]).zip(c) {
                                *z -= c * nx;
                            }
                        }
                    } else {
                        for line in &ls.lines {
                            let b = line.start;
                            out[b] *= inv[b];
                            for k in 1..ls.len {
                                let (i, p) = (line.index(k), line.index(k - 1));
                                out[i] = (out[i] - lo[i] * out[p]) * inv[i];
                            }
                            for k in (0..ls.len - 1).rev() {
                                let (i, q) = (line.index(k), line.index(k + 1));
                                out[i] -= cp[i] * out[q];
                            }
                        }
                    }
                }
            }
        }
    }

    /// Solve `A x = b` from the initial guess in `x`, to `‖b − A x‖₂ ≤ tol ‖b‖₂`.
    pub fn solve(
        &mut self,
        a: &GridMatrix,
        b: &[f64],
        x: &mut [f64],
        tol: f64,
        max_iter: usize,
    ) -> LinearSolve {
        let dot = |u: &[f64], v: &[f64]| u.iter().zip(v).map(|(p, q)| p * q).sum::<f64>();
        let bnorm = dot(b, b).sqrt();
        if bnorm == 0.0 {
            x.iter_mut().for_each(|v| *v = 0.0);
            return LinearSolve {
                iterations: 0,
                relative_residual: 0.0,
                converged: true,
            };
        }
        a.matvec(x, &mut self.r);
        for (r, bi) in self.r.iter_mut().zip(b) {
            *r = bi - *r;
        }
        self.r0.copy_from_slice(&self.r);
        self.p.iter_mut().for_each(|v| *v = 0.0);
        self.v.iter_mut().for_each(|v| *v = 0.0);
        let (mut rho, mut alpha, mut omega) = (1.0, 1.0, 1.0);
        let mut res = dot(&self.r, &self.r).sqrt() / bnorm;
        let mut it = 0;
        while res > tol && it < max_iter {
            it += 1;
            let rho_new = dot(&self.r0, &self.r);
            if rho_new == 0.0 || omega == 0.0 {
                break;
            }
            let beta = (rho_new / rho) * (alpha / omega);
            rho = rho_new;
            for ((p, r), v) in self.p.iter_mut().zip(&self.r).zip(&self.v) {
                *p = r + beta * (*p - omega * v);
            }
            let mut y = std::mem::take(&mut self.y);
            self.apply(a, &self.p, &mut y);
            a.matvec(&y, &mut self.v);
            alpha = rho / dot(&self.r0, &self.v);
            for ((s, r), v) in self.s.iter_mut().zip(&self.r).zip(&self.v) {
                *s = r - alpha * v;
            }
            let snorm = dot(&self.s, &self.s).sqrt() / bnorm;
            if snorm <= tol {
                for (xi, yi) in x.iter_mut().zip(&y) {
                    *xi += alpha * yi;
                }
                self.y = y;
                res = snorm;
                break;
            }
            let mut z = std::mem::take(&mut self.z);
            self.apply(a, &self.s, &mut z);
            a.matvec(&z, &mut self.t);
            omega = dot(&self.t, &self.s) / dot(&self.t, &self.t);
            for ((xi, yi), zi) in x.iter_mut().zip(&y).zip(&z) {
                *xi += alpha * yi + omega * zi;
            }
            for ((r, s), t) in self.r.iter_mut().zip(&self.s).zip(&self.t) {
                *r = s - omega * t;
            }
            self.y = y;
            self.z = z;
            res = dot(&self.r, &self.r).sqrt() / bnorm;
        }
        LinearSolve {
            iterations: it,
            relative_residual: res,
            converged: res <= tol,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::Boundary;

    fn rates(grid: &Grid) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
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
    fn columns_of_the_transposed_operator_sum_to_one() {
        for b in [Boundary::NoFlux, Boundary::Periodic] {
            let g = Grid::rectangle([0.0, 1.0], 6, [0.0, 2.0], 5, b).unwrap();
            let (tp, tn) = rates(&g);
            let mut a = GridMatrix::new(&g);
            a.assemble(0.1, &tp, &tn, false);
            // Rows of I − dt L sum to one.
            let n = g.len();
            let mut y = vec![0.0; n];
            a.matvec(&vec![1.0; n], &mut y);
            assert!(y.iter().all(|v| (v - 1.0).abs() < 1e-13), "{b:?}");
            // The transpose: column sums of Aᵀ are the row sums of A; check e_jᵀ Aᵀ e_i = e_iᵀ A e_j.
            let mut t = GridMatrix::new(&g);
            t.assemble(0.1, &tp, &tn, true);
            for i in 0..n {
                for j in 0..n {
                    let mut ej = vec![0.0; n];
                    ej[j] = 1.0;
                    let (mut aj, mut tj) = (vec![0.0; n], vec![0.0; n]);
                    a.matvec(&ej, &mut aj);
                    let mut ei = vec![0.0; n];
                    ei[i] = 1.0;
                    t.matvec(&ei, &mut tj);
                    assert_eq!(aj[i], tj[j], "{b:?} ({i}, {j})");
                }
            }
        }
    }

    #[test]
    fn bicgstab_solves_with_both_preconditioners() {
        for b in [Boundary::NoFlux, Boundary::Periodic] {
            let g = Grid::rectangle([0.0, 1.0], 20, [0.0, 1.0], 17, b).unwrap();
            let (tp, tn) = rates(&g);
            let mut a = GridMatrix::new(&g);
            a.assemble(2.0, &tp, &tn, true);
            let n = g.len();
            let rhs: Vec<f64> = (0..n).map(|i| ((i as f64) * 0.37).sin()).collect();
            for pc in [
                Preconditioner::Jacobi,
                Preconditioner::Ilu0,
                Preconditioner::Adi,
            ] {
                let mut solver = BiCgStab::new(n, pc, a.vals.len());
                solver.prepare(&a);
                let mut x = vec![0.0; n];
                let out = solver.solve(&a, &rhs, &mut x, 1e-12, 500);
                assert!(out.converged, "{b:?} {pc:?}: {out:?}");
                let mut ax = vec![0.0; n];
                a.matvec(&x, &mut ax);
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
                let mut solver = BiCgStab::new(n, Preconditioner::Adi, a.nnz());
                solver.prepare(&a);
                let mut x = vec![0.0; n];
                solver.apply(&a, &rhs, &mut x);
                let mut ax = vec![0.0; n];
                a.matvec(&x, &mut ax);
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
