//! The two-dimensional branch of [`crate::ParticleFp`].
//!
//! The same method as in 1D, axis by axis:
//!
//! - **Initial sampling.** A node is drawn with probability `w_i m0_i` (stratified uniforms
//!   through the cumulative node masses), then moved by an independent triangular (hat)
//!   offset of one grid step on each axis, reflected at no-flux walls or wrapped. The sampled
//!   density is the hat-function interpolant of the node masses: `m0` up to `O(dx²)` (the
//!   hat adds `dx²/6` to the variance along each axis).
//! - **Step.** Euler–Maruyama `X ← X − dt ∇u(t_k, X)/λ + σ √dt ξ`, `ξ ~ N(0, I₂)`, with `∇u`
//!   from central differences at the nodes (zero normal component at reflecting walls) and
//!   bilinear interpolation; one reflection per wall and axis, or wrapping.
//! - **Density.** Bilinear binning of every particle to the four nodes of its cell (mass
//!   `1/N` each in total), then the separable Gaussian kernel: the 1D [`GridKde`] along x on
//!   every line of constant y and then along y on every line of constant x, in mass variables,
//!   so the quadrature mass is exactly the binned mass (1) and `m ≥ 0`. Bandwidths per axis
//!   from that axis's marginal spread ([`Bandwidth::select_in`] with `dim = 2`).
//!
//! Randomness as in 1D: chunks of [`CHUNK`] particles with their own stream seeded from
//! `(seed, chunk, step)`, histograms combined in chunk order: bitwise the same result for any
//! number of threads, and common random numbers across Picard iterations.

use ndarray::{ArrayView2, ArrayViewMut2};
use rand_distr::{Distribution, StandardNormal, StandardUniform};
use rayon::prelude::*;

use mfg_core::{Boundary, FpStats, Problem, SolveError};

use crate::kde::{cell, iqr_of_masses, GridKde};
use crate::particle::{
    combine_chunks, splitmix, spread_of_masses, stream, ParticleSettings, CHUNK,
};

/// One axis in grid units.
#[derive(Debug, Clone, Copy, PartialEq)]
struct AxisUnits {
    /// Points on the axis.
    n: usize,
    /// Coordinate of point 0 and spacing.
    lo: f64,
    dx: f64,
    /// Length in grid steps: positions live in `[0, span]` (`[0, span)` when periodic).
    span: f64,
    /// The last cell a position can fall in.
    last: usize,
}

impl AxisUnits {
    fn new(axis: &mfg_core::Axis, periodic: bool) -> Self {
        let n = axis.len();
        Self {
            n,
            lo: axis.lo(),
            dx: axis.dx(),
            span: (axis.hi() - axis.lo()) / axis.dx(),
            last: if periodic { n - 1 } else { n - 2 },
        }
    }

    /// Back into `[0, span]`: one reflection at each wall (clamped beyond), or wrapping.
    #[inline(always)]
    fn fold(&self, y: f64, periodic: bool) -> f64 {
        let span = self.span;
        if periodic {
            let y = y.rem_euclid(span);
            if y >= span {
                0.0
            } else {
                y
            }
        } else {
            let mut y = y.abs();
            if y > span {
                y = 2.0 * span - y;
            }
            y.clamp(0.0, span)
        }
    }

    /// The cell `i`, the next node index (wrapping) and the fraction.
    #[inline(always)]
    fn locate(&self, s: f64) -> (usize, usize, f64) {
        let (i, f) = cell(s, self.last);
        let j = if i + 1 == self.n { 0 } else { i + 1 };
        (i, j, f)
    }
}

/// Work arrays of the 2D solver, kept while the key (sizes, seed, geometry, m0) is unchanged.
#[derive(Debug, Clone)]
pub(crate) struct Work2 {
    key: (usize, u64, usize, Boundary, u64, u64),
    /// Positions in grid units, interleaved `(s_x, s_y)`.
    pos: Vec<f64>,
    pos0: Vec<f64>,
    /// Drift per step at the nodes, in grid units, per axis.
    drift: [Vec<f64>; 2],
    hist: Vec<f64>,
    mu: Vec<f64>,
    line_in: Vec<f64>,
    line_out: Vec<f64>,
    marginal: [Vec<f64>; 2],
    kde: [GridKde; 2],
}

impl Work2 {
    /// Particle positions at `T` in coordinates, interleaved `(x, y)`.
    pub(crate) fn positions(&self) -> &[f64] {
        &self.pos
    }
}

/// Sample the initial positions (grid units, interleaved) from the node masses of `m0`.
fn sample_initial(
    m0: &[f64],
    weights: &[f64],
    ax: [AxisUnits; 2],
    periodic: bool,
    seed: u64,
    pos: &mut [f64],
) {
    let mut cum = Vec::with_capacity(m0.len() + 1);
    cum.push(0.0);
    for (m, w) in m0.iter().zip(weights) {
        cum.push(cum.last().expect("non-empty") + m * w);
    }
    let total = *cum.last().expect("non-empty");
    let count = (pos.len() / 2) as f64;
    let ny = ax[1].n;
    pos.par_chunks_mut(2 * CHUNK)
        .enumerate()
        .for_each(|(c, xs)| {
            let mut rng = stream(seed, c, u64::MAX);
            for (k, p) in xs.chunks_exact_mut(2).enumerate() {
                let u: f64 = StandardUniform.sample(&mut rng);
                let target = ((c * CHUNK + k) as f64 + u) / count * total;
                // The node with cum[idx] <= target < cum[idx + 1], skipping empty nodes.
                let idx = cum.partition_point(|&v| v <= target).clamp(1, m0.len()) - 1;
                let node = [idx / ny, idx % ny];
                for d in 0..2 {
                    let a: f64 = StandardUniform.sample(&mut rng);
                    let b: f64 = StandardUniform.sample(&mut rng);
                    p[d] = ax[d].fold(node[d] as f64 + a + b - 1.0, periodic);
                }
            }
        });
}

pub(crate) fn solve(
    settings: &ParticleSettings,
    slot: &mut Option<Work2>,
    problem: &Problem,
    u: ArrayView2<'_, f64>,
    mut m: ArrayViewMut2<'_, f64>,
) -> Result<FpStats, SolveError> {
    let grid = problem.grid();
    let n = grid.len();
    let periodic = grid.boundary() == Boundary::Periodic;
    let ax = [
        AxisUnits::new(grid.axis(0), periodic),
        AxisUnits::new(grid.axis(1), periodic),
    ];
    let (nx, ny) = (ax[0].n, ax[1].n);
    let np = settings.particles;
    let seed = settings.seed;
    let m0 = problem.initial_density();
    let weights = grid.weights();
    let key = (
        n,
        seed,
        np,
        grid.boundary(),
        ax.iter().fold(0u64, |h, a| {
            splitmix(h ^ a.lo.to_bits() ^ a.dx.to_bits().rotate_left(7) ^ a.n as u64)
        }),
        m0.iter().fold(0u64, |h, v| splitmix(h ^ v.to_bits())),
    );
    if slot.as_ref().map(|w| w.key) != Some(key) {
        let mut pos0 = vec![0.0; 2 * np];
        sample_initial(m0, weights, ax, periodic, seed, &mut pos0);
        let axis_weights =
            |d: usize| -> Vec<f64> { (0..ax[d].n).map(|i| grid.axis(d).weight(i)).collect() };
        *slot = Some(Work2 {
            key,
            pos: vec![0.0; 2 * np],
            pos0,
            drift: [vec![0.0; n], vec![0.0; n]],
            hist: vec![0.0; np.div_ceil(CHUNK) * n],
            mu: vec![0.0; n],
            line_in: vec![0.0; nx.max(ny)],
            line_out: vec![0.0; nx.max(ny)],
            marginal: [vec![0.0; nx], vec![0.0; ny]],
            kde: [
                GridKde::new(&axis_weights(0), ax[0].dx, periodic),
                GridKde::new(&axis_weights(1), ax[1].dx, periodic),
            ],
        });
    }
    let w = slot.as_mut().expect("allocated above");
    w.pos.copy_from_slice(&w.pos0);
    let nt = problem.time().nt();
    let dt = problem.time().dt();
    let sigma = problem.sigma();
    let noise = [sigma * dt.sqrt() / ax[0].dx, sigma * dt.sqrt() / ax[1].dx];
    let inv_lambda = 1.0 / problem.hamiltonian().control_cost();

    m.row_mut(0)
        .as_slice_mut()
        .expect("contiguous row")
        .copy_from_slice(m0);
    let mut stats = FpStats::default();
    for k in 0..nt {
        // Drift −dt ∂pH(∇u(t_k)) at the nodes in grid units, ∇u by central differences.
        let uk = u.row(k);
        let uk = uk.as_slice().expect("contiguous row");
        for (d, (drift, a)) in w.drift.iter_mut().zip(&ax).enumerate() {
            let c = -dt * inv_lambda * 0.5 / (a.dx * a.dx);
            for (i, v) in drift.iter_mut().enumerate() {
                let (l, r) = grid.neighbours(i, d);
                *v = c * (uk[r] - uk[l]);
            }
        }
        let (dx_, dy_) = (&w.drift[0], &w.drift[1]);
        let step = |(c, (xs, hist)): (usize, (&mut [f64], &mut [f64]))| {
            let mut rng = stream(seed, c, k as u64);
            hist.iter_mut().for_each(|v| *v = 0.0);
            for p in xs.chunks_exact_mut(2) {
                let (i0, i1, fx) = ax[0].locate(p[0]);
                let (j0, j1, fy) = ax[1].locate(p[1]);
                let (a00, a01, a10, a11) = (i0 * ny + j0, i0 * ny + j1, i1 * ny + j0, i1 * ny + j1);
                let (w00, w01, w10, w11) = (
                    (1.0 - fx) * (1.0 - fy),
                    (1.0 - fx) * fy,
                    fx * (1.0 - fy),
                    fx * fy,
                );
                let bx = w00 * dx_[a00] + w01 * dx_[a01] + w10 * dx_[a10] + w11 * dx_[a11];
                let by = w00 * dy_[a00] + w01 * dy_[a01] + w10 * dy_[a10] + w11 * dy_[a11];
                let zx: f64 = StandardNormal.sample(&mut rng);
                let zy: f64 = StandardNormal.sample(&mut rng);
                let sx = ax[0].fold(p[0] + bx + noise[0] * zx, periodic);
                let sy = ax[1].fold(p[1] + by + noise[1] * zy, periodic);
                p[0] = sx;
                p[1] = sy;
                // Bilinear binning at the new position.
                let (i0, i1, fx) = ax[0].locate(sx);
                let (j0, j1, fy) = ax[1].locate(sy);
                hist[i0 * ny + j0] += (1.0 - fx) * (1.0 - fy);
                hist[i0 * ny + j1] += (1.0 - fx) * fy;
                hist[i1 * ny + j0] += fx * (1.0 - fy);
                hist[i1 * ny + j1] += fx * fy;
            }
        };
        if np > CHUNK {
            w.pos
                .par_chunks_mut(2 * CHUNK)
                .zip(w.hist.par_chunks_mut(n))
                .enumerate()
                .for_each(step);
        } else {
            w.pos
                .chunks_mut(2 * CHUNK)
                .zip(w.hist.chunks_mut(n))
                .enumerate()
                .for_each(step);
        }
        combine_chunks(&w.hist, np, &mut w.mu);
        // Per-axis bandwidths from the marginal node masses.
        w.marginal[0].iter_mut().for_each(|v| *v = 0.0);
        w.marginal[1].iter_mut().for_each(|v| *v = 0.0);
        for i in 0..nx {
            for j in 0..ny {
                let v = w.mu[i * ny + j];
                w.marginal[0][i] += v;
                w.marginal[1][j] += v;
            }
        }
        let mut h = [0.0; 2];
        for d in 0..2 {
            let std = spread_of_masses(&w.marginal[d], ax[d].dx);
            let iqr = iqr_of_masses(&w.marginal[d], ax[d].lo, ax[d].dx);
            h[d] = settings.bandwidth.select_in(2, np, std, iqr, ax[d].dx);
        }
        // Smooth along x on every line j (masses in, masses out), then along y on every line i.
        for j in 0..ny {
            for i in 0..nx {
                w.line_in[i] = w.mu[i * ny + j];
            }
            w.kde[0].smooth(&w.line_in[..nx], h[0], &mut w.line_out[..nx]);
            for i in 0..nx {
                w.mu[i * ny + j] = w.line_out[i] * grid.axis(0).weight(i);
            }
        }
        let mut next = m.row_mut(k + 1);
        let next = next.as_slice_mut().expect("contiguous row");
        for i in 0..nx {
            let row = i * ny..(i + 1) * ny;
            w.kde[1].smooth(&w.mu[row.clone()], h[1], &mut next[row.clone()]);
            let inv_wx = 1.0 / grid.axis(0).weight(i);
            next[row].iter_mut().for_each(|v| *v *= inv_wx);
        }
        let mass: f64 = next.iter().zip(weights).map(|(v, q)| v * q).sum();
        if !mass.is_finite() {
            return Err(SolveError::NonFinite {
                field: "m",
                time_level: k + 1,
                index: next.iter().position(|v| !v.is_finite()).unwrap_or(0),
            });
        }
        stats.max_mass_drift = stats.max_mass_drift.max((mass - 1.0).abs());
    }
    // Back to coordinates for `positions()`.
    for p in w.pos.chunks_exact_mut(2) {
        for d in 0..2 {
            p[d] = ax[d].lo + p[d] * ax[d].dx;
        }
    }
    Ok(stats)
}
