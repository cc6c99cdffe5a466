//! The diffusion part of the schemes, `ν Δ_h u`, and the action of the upwind generator
//! `L(u) u` from given jump rates, in any dimension.

use rayon::prelude::*;

use crate::grid::{Boundary, Grid};
use crate::linalg::kernels;

/// `out_i = ν (Δ_h u)_i = Σ_d ν (u_prev − 2 u_i + u_next)/dx_d²`, with the grid's wrapped or
/// reflected neighbours (the diffusion part of the HJB residual).
///
/// Computed along the grid's lines: contiguous lines by a branch-free sweep over the interior,
/// the two ends of every line with their wrapped or reflected neighbour; strided axes a slab
/// row at a time (contiguous). Lines and rows on the pool for large grids (each output entry
/// is written by one task in a fixed order: the same bits on any number of threads).
pub fn apply_laplacian(grid: &Grid, nu: f64, u: &[f64], out: &mut [f64]) {
    kernels::update(out, |_, o| o.fill(0.0));
    if grid.has_geometry() {
        // Exits and obstacles: the neighbour tables (reflections at the obstacles), zero at
        // the fixed points.
        for d in 0..grid.dim() {
            let dx = grid.axis(d).dx();
            let c = nu / (dx * dx);
            for (i, (o, &[l, r])) in out.iter_mut().zip(grid.neighbour_table(d)).enumerate() {
                *o += c * (u[l] - 2.0 * u[i] + u[r]);
            }
        }
        grid.zero_fixed(out);
        return;
    }
    let parallel = u.len() >= kernels::PARALLEL_MIN;
    for d in 0..grid.dim() {
        let periodic = grid.axis(d).boundary() == Boundary::Periodic;
        let dx = grid.axis(d).dx();
        let c = nu / (dx * dx);
        let (n, s) = (grid.axis(d).len(), grid.stride(d));
        // The neighbours of the two ends: wrapped, or the reflected inner point.
        let (first_prev, last_next) = if periodic { (n - 1, 0) } else { (1, n - 2) };
        if s == 1 {
            // Contiguous lines: a branch-free sweep over the interior, then the two ends.
            let line = |(u, o): (&[f64], &mut [f64])| {
                o[0] += c * (u[first_prev] - 2.0 * u[0] + u[1]);
                for (o, w) in o[1..n - 1].iter_mut().zip(u.windows(3)) {
                    *o += c * (w[0] - 2.0 * w[1] + w[2]);
                }
                o[n - 1] += c * (u[n - 2] - 2.0 * u[n - 1] + u[last_next]);
            };
            if parallel {
                u.par_chunks_exact(n)
                    .zip(out.par_chunks_exact_mut(n))
                    .for_each(line);
            } else {
                u.chunks_exact(n)
                    .zip(out.chunks_exact_mut(n))
                    .for_each(line);
            }
            continue;
        }
        // A strided axis: every block of `len · stride` points is a (len × stride) slab whose
        // rows are the lines' successive points; a row at a time, contiguous.
        let row = |(r, o): (usize, &mut [f64])| {
            let (b, k) = (r / n, r % n);
            let kp = if k == 0 { first_prev } else { k - 1 };
            let kn = if k + 1 == n { last_next } else { k + 1 };
            let at = |j: usize| &u[(b * n + j) * s..(b * n + j + 1) * s];
            for (((o, a), m), e) in o.iter_mut().zip(at(kp)).zip(at(k)).zip(at(kn)) {
                *o += c * (a - 2.0 * m + e);
            }
        };
        if parallel {
            out.par_chunks_exact_mut(s).enumerate().for_each(row);
        } else {
            out.chunks_exact_mut(s).enumerate().for_each(row);
        }
    }
}

/// `out_i = Σ_d [to_prev_d,i (u_prev − u_i) + to_next_d,i (u_next − u_i)] = (L u)_i` for the
/// jump rates of [`crate::Hamiltonian::upwind_rates`]. For the rates of a numerical Hamiltonian
/// that is quadratic in the differences (the quadratic `H`), `L(u) u = ν Δ_h u − 2 H_h(u)`;
/// for `|p|^β/β` the factor is β.
pub fn apply_generator(
    grid: &Grid,
    to_prev: &[Vec<f64>],
    to_next: &[Vec<f64>],
    u: &[f64],
    out: &mut [f64],
) {
    out.iter_mut().for_each(|v| *v = 0.0);
    for d in 0..grid.dim() {
        let (tp, tn) = (&to_prev[d], &to_next[d]);
        for (i, (o, &[l, r])) in out.iter_mut().zip(grid.neighbour_table(d)).enumerate() {
            *o += tp[i] * (u[l] - u[i]) + tn[i] * (u[r] - u[i]);
        }
    }
}
