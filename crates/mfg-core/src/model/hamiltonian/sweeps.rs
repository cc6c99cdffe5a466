//! The whole-grid loops of the Hamiltonian's provided methods, generic over the dimension so
//! that the per-point calls see fixed-length arrays (unrolled, inlined): each implementation of
//! the trait gets its own compiled copy.

use rayon::prelude::*;

use super::Hamiltonian;
use crate::grid::Grid;
use crate::linalg::kernels::{BLOCK, PARALLEL_MIN};

/// See [`Hamiltonian::upwind_rates`].
#[inline(always)]
pub(super) fn rates<H: Hamiltonian + ?Sized, const D: usize>(
    h: &H,
    grid: &Grid,
    nu: f64,
    u: &[f64],
    to_prev: &mut [Vec<f64>],
    to_next: &mut [Vec<f64>],
    hamiltonian: Option<&mut [f64]>,
) {
    let inv_dx: [f64; D] = std::array::from_fn(|d| 1.0 / grid.axis(d).dx());
    let diff: [f64; D] = std::array::from_fn(|d| nu * inv_dx[d] * inv_dx[d]);
    let tables: [&[[usize; 2]]; D] = std::array::from_fn(|d| grid.neighbour_table(d));
    let n = grid.len();
    // Every point on its own: blocks of points, on the pool for large grids (the same
    // bits on any number of threads).
    let block = |(b, (tp, tn, mut hv)): (usize, Rates<'_, D>)| {
        let (mut back, mut fwd) = ([0.0; D], [0.0; D]);
        let (mut sp, mut sn) = ([0.0; D], [0.0; D]);
        let first = b * BLOCK;
        for k in 0..tp[0].len() {
            let i = first + k;
            for d in 0..D {
                let [l, r] = tables[d][i];
                back[d] = (u[i] - u[l]) * inv_dx[d];
                fwd[d] = (u[r] - u[i]) * inv_dx[d];
            }
            let value = h.upwind(grid.point(i), &back, &fwd, &mut sp, &mut sn);
            for d in 0..D {
                tp[d][k] = diff[d] + sp[d] * inv_dx[d];
                tn[d][k] = diff[d] + sn[d] * inv_dx[d];
            }
            if let Some(hv) = hv.as_deref_mut() {
                hv[k] = value;
            }
        }
    };
    let mut tps: Vec<_> = to_prev
        .iter_mut()
        .map(|v| v[..n].chunks_mut(BLOCK))
        .collect();
    let mut tns: Vec<_> = to_next
        .iter_mut()
        .map(|v| v[..n].chunks_mut(BLOCK))
        .collect();
    let mut hvs = hamiltonian.map(|v| v[..n].chunks_mut(BLOCK));
    let parts: Vec<Rates<'_, D>> = (0..n.div_ceil(BLOCK))
        .map(|_| {
            (
                std::array::from_fn(|d| tps[d].next().expect("a block")),
                std::array::from_fn(|d| tns[d].next().expect("a block")),
                hvs.as_mut().map(|c| c.next().expect("a block")),
            )
        })
        .collect();
    if n >= PARALLEL_MIN {
        parts.into_par_iter().enumerate().for_each(block);
    } else {
        parts.into_iter().enumerate().for_each(block);
    }
}

/// One block's rates to the previous and next neighbour per axis, and `H_h`.
type Rates<'a, const D: usize> = (
    [&'a mut [f64]; D],
    [&'a mut [f64]; D],
    Option<&'a mut [f64]>,
);

/// See [`Hamiltonian::transpose_generator_derivative`].
#[inline(always)]
pub(super) fn transpose_derivative<H: Hamiltonian + ?Sized, const D: usize>(
    h: &H,
    grid: &Grid,
    u: &[f64],
    mu: &[f64],
    du: &[f64],
    out: &mut [f64],
) {
    out.iter_mut().for_each(|v| *v = 0.0);
    let inv_dx: [f64; D] = std::array::from_fn(|d| 1.0 / grid.axis(d).dx());
    let tables: [&[[usize; 2]]; D] = std::array::from_fn(|d| grid.neighbour_table(d));
    let (mut back, mut fwd) = ([0.0; D], [0.0; D]);
    let (mut dback, mut dfwd) = ([0.0; D], [0.0; D]);
    // 2D × 2D, at most 6 × 6.
    let mut jac = [0.0; 36];
    let n = 2 * D;
    for (i, x) in grid.coordinates().enumerate() {
        if mu[i] == 0.0 {
            continue;
        }
        for d in 0..D {
            let [l, r] = tables[d][i];
            back[d] = (u[i] - u[l]) * inv_dx[d];
            fwd[d] = (u[r] - u[i]) * inv_dx[d];
            dback[d] = (du[i] - du[l]) * inv_dx[d];
            dfwd[d] = (du[r] - du[i]) * inv_dx[d];
        }
        h.upwind_speed_jacobian(x, &back, &fwd, &mut jac[..n * n]);
        for d in 0..D {
            let (mut dsp, mut dsn) = (0.0, 0.0);
            for e in 0..D {
                dsp += jac[d * n + e] * dback[e] + jac[d * n + D + e] * dfwd[e];
                dsn += jac[(D + d) * n + e] * dback[e] + jac[(D + d) * n + D + e] * dfwd[e];
            }
            let [l, r] = tables[d][i];
            let (cp, cn) = (mu[i] * dsp * inv_dx[d], mu[i] * dsn * inv_dx[d]);
            out[l] += cp;
            out[r] += cn;
            out[i] -= cp + cn;
        }
    }
}

/// `out_i = h(x_i, φ⁻_i, φ⁺_i, alpha)` at every point.
#[inline(always)]
pub(super) fn one_sided<const D: usize>(
    grid: &Grid,
    minus: &[Vec<f64>],
    plus: &[Vec<f64>],
    alpha: &[f64],
    out: &mut [f64],
    h: impl Fn(&[f64], &[f64], &[f64], &[f64]) -> f64,
) {
    let minus: [&[f64]; D] = std::array::from_fn(|d| &minus[d][..out.len()]);
    let plus: [&[f64]; D] = std::array::from_fn(|d| &plus[d][..out.len()]);
    let (mut a, mut b) = ([0.0; D], [0.0; D]);
    for (i, (o, x)) in out.iter_mut().zip(grid.coordinates()).enumerate() {
        for d in 0..D {
            a[d] = minus[d][i];
            b[d] = plus[d][i];
        }
        *o = h(x, &a, &b, alpha);
    }
}
