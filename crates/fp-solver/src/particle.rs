//! `ParticleFp`: Euler–Maruyama particles with kernel density estimation.

use ndarray::{ArrayView2, ArrayViewMut2};
use rand_distr::{Distribution, StandardNormal, StandardUniform};
use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use mfg_core::solver::check_shape;
use mfg_core::{Boundary, FpSolver, FpStats, Problem, ProblemError, SolveError};

use crate::kde::{bin_linear, cell, iqr_of_masses, Bandwidth, GridKde};

/// Particles per chunk: the unit of parallel work and of random streams. Fixed, so the result
/// does not depend on the number of threads.
pub const CHUNK: usize = 8192;

/// Settings of [`ParticleFp`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParticleSettings {
    /// Number of particles (≥ 1). Default 50 000.
    pub particles: usize,
    /// Seed of all random streams. Default 0.
    pub seed: u64,
    /// KDE bandwidth. Default Silverman.
    pub bandwidth: Bandwidth,
}

impl Default for ParticleSettings {
    fn default() -> Self {
        Self {
            particles: 50_000,
            seed: 0,
            bandwidth: Bandwidth::Silverman,
        }
    }
}

impl ParticleSettings {
    /// Check the values; the error names the config key.
    pub fn validate(&self) -> Result<(), ProblemError> {
        if self.particles == 0 {
            return Err(ProblemError::InvalidParameter {
                field: "fp.particles",
                value: 0.0,
                hint: "need at least 1 particle (10^4 to 10^6 is typical)",
            });
        }
        if let Bandwidth::Fixed(h) = self.bandwidth {
            if !(h.is_finite() && h > 0.0) {
                return Err(ProblemError::InvalidParameter {
                    field: "fp.bandwidth",
                    value: h,
                    hint: "a fixed bandwidth must be finite and > 0, or use \"silverman\" or \"scott\"",
                });
            }
        }
        Ok(())
    }
}

/// SplitMix64: decorrelates the stream seeds of neighbouring (seed, chunk, step) triples.
#[inline]
pub(crate) fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The node masses: the chunks' histograms summed in chunk order (deterministic whatever the
/// thread count), divided by the number of particles.
pub(crate) fn combine_chunks(hist: &[f64], particles: usize, mu: &mut [f64]) {
    mu.iter_mut().for_each(|v| *v = 0.0);
    for h in hist.chunks(mu.len()) {
        for (m, v) in mu.iter_mut().zip(h) {
            *m += v;
        }
    }
    let inv = 1.0 / particles as f64;
    mu.iter_mut().for_each(|v| *v *= inv);
}

/// The standard deviation of node masses `mu` (summing to 1) at nodes spaced `dx`.
pub(crate) fn spread_of_masses(mu: &[f64], dx: f64) -> f64 {
    let (mut s1, mut s2) = (0.0, 0.0);
    for (i, m) in mu.iter().enumerate() {
        let x = i as f64 * dx;
        s1 += m * x;
        s2 += m * x * x;
    }
    (s2 - s1 * s1).max(0.0).sqrt()
}

/// The random stream of one chunk at one time step (`u64::MAX` for the initial sampling).
pub(crate) fn stream(seed: u64, chunk: usize, step: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(splitmix(
        splitmix(seed) ^ splitmix(chunk as u64).rotate_left(17) ^ splitmix(step).rotate_left(41),
    ))
}

#[derive(Debug, Clone)]
struct Work {
    key: (usize, u64, usize, Boundary, u64, u64),
    x: Vec<f64>,
    x0: Vec<f64>,
    /// Drift per step at the nodes, in grid units, and its slope to the next node.
    drift: Vec<f64>,
    slope: Vec<f64>,
    hist: Vec<f64>,
    mu: Vec<f64>,
    kde: GridKde,
}

/// The particle FP solver, in one and two dimensions.
///
/// Particles start from `m0` as a continuous density: stratified uniforms mapped through the
/// inverse CDF of the piecewise-linear interpolant of `m0`. Each step `k → k + 1` is
/// Euler–Maruyama with the optimal drift of the same Hamiltonian,
///
/// ```text
/// X ← X − dt ∂pH(∇u(t_k, X)) + σ √dt ξ,     ∂pH(p) = p/λ,
/// ```
///
/// `∇u` from central differences on the grid, interpolated linearly; walls reflect (no-flux) or
/// wrap (periodic). The density at `t_{k+1}` is the KDE of [`crate::kde`]: linear binning, then
/// a Gaussian kernel with reflected or periodic images, with exact quadrature mass. Level 0 is
/// `m0` itself.
///
/// In 2D the same, axis by axis: initial nodes drawn with probability `w_i m0_i` and moved by
/// an independent hat-distributed offset of one grid step per axis (the sampled density is
/// `m0` up to `O(dx²)`), `∇u` interpolated bilinearly, bilinear binning, and the separable
/// kernel (the 1D KDE along x on every line, then along y) with per-axis bandwidths from the
/// marginal spreads ([`crate::Bandwidth::select_in`]); mass stays exact.
///
/// Randomness: the particles are cut into chunks of [`CHUNK`]; chunk `c` at step `k` draws from
/// its own xoshiro256++ stream seeded from `(seed, c, k)`. So the output is bitwise the same for
/// any number of rayon threads, and every solve with the same seed uses the same random numbers
/// (common random numbers): inside the Picard loop the map `m ↦ Φ(m)` is deterministic and can
/// converge.
///
/// ```
/// use fp_solver::{ParticleFp, ParticleSettings};
/// use mfg_core::{FpSolver, Boundary, Grid, Problem, TimeGrid};
/// use ndarray::Array2;
/// let grid = Grid::line(0.0, 1.0, 50, Boundary::NoFlux).unwrap();
/// let p = Problem::builder(grid, TimeGrid::new(0.5, 10).unwrap())
///     .initial_density_fn(|x| (-50.0 * (x[0] - 0.5).powi(2)).exp())
///     .build().unwrap();
/// let u = Array2::zeros((11, 51));
/// let mut m = Array2::zeros((11, 51));
/// let mut fp = ParticleFp::new(ParticleSettings { particles: 10_000, ..Default::default() });
/// let stats = fp.solve_into(&p, u.view(), m.view_mut()).unwrap();
/// assert!(stats.max_mass_drift < 1e-12);
/// ```
#[derive(Debug, Clone)]
pub struct ParticleFp {
    settings: ParticleSettings,
    work: Option<Work>,
    work2: Option<crate::particle_nd::Work2>,
}

impl ParticleFp {
    /// A solver with the given settings (validated by `solve_into`).
    pub fn new(settings: ParticleSettings) -> Self {
        Self {
            settings,
            work: None,
            work2: None,
        }
    }

    /// The settings.
    pub fn settings(&self) -> &ParticleSettings {
        &self.settings
    }

    /// The particle positions after the last solve (at `T`); in 2D interleaved
    /// `x0, y0, x1, y1, …`.
    pub fn positions(&self) -> &[f64] {
        if let Some(w) = self.work2.as_ref() {
            return w.positions();
        }
        self.work.as_ref().map_or(&[], |w| &w.x)
    }
}

/// Inverse CDF sampling of the piecewise-linear interpolant of `m` (nodes `a + i dx`, periodic:
/// the last segment wraps to node 0), at stratified uniforms `(p + U_p)/N`.
fn sample_initial(m0: &[f64], a: f64, dx: f64, periodic: bool, seed: u64, x0: &mut [f64]) {
    let n = m0.len();
    let segments = if periodic { n } else { n - 1 };
    let mut cum = Vec::with_capacity(segments + 1);
    cum.push(0.0);
    for s in 0..segments {
        let (l, r) = (m0[s], m0[(s + 1) % n]);
        cum.push(cum[s] + 0.5 * dx * (l + r));
    }
    let total = cum[segments];
    let count = x0.len() as f64;
    let len = segments as f64 * dx;
    x0.par_chunks_mut(CHUNK).enumerate().for_each(|(c, xs)| {
        let mut rng = stream(seed, c, u64::MAX);
        for (k, x) in xs.iter_mut().enumerate() {
            let p = (c * CHUNK + k) as f64;
            let u: f64 = StandardUniform.sample(&mut rng);
            let target = (p + u) / count * total;
            // The segment s with cum[s] <= target < cum[s + 1].
            let s = cum.partition_point(|&v| v <= target).clamp(1, segments) - 1;
            let (l, r) = (m0[s], m0[(s + 1) % n]);
            let rem = (target - cum[s]).max(0.0);
            // dx (l t + (r − l) t²/2) = rem, solved stably for t in [0, 1].
            let disc = (l * l + 2.0 * (r - l) * rem / dx).max(0.0);
            let den = l + disc.sqrt();
            let t = if den > 0.0 {
                (2.0 * rem / dx / den).min(1.0)
            } else {
                0.0
            };
            *x = (a + (s as f64 + t) * dx).min(a + len);
        }
    });
}

impl FpSolver for ParticleFp {
    fn name(&self) -> &'static str {
        "particle"
    }

    fn solve_into(
        &mut self,
        problem: &Problem,
        u: ArrayView2<'_, f64>,
        mut m: ArrayViewMut2<'_, f64>,
    ) -> Result<FpStats, SolveError> {
        check_shape(problem, u.shape(), "u");
        check_shape(problem, m.shape(), "m");
        if self.settings.validate().is_err() {
            return Err(SolveError::Unsupported {
                solver: "particle FP",
                what: "invalid particle settings (fp.particles = 0 or a bad fp.bandwidth)",
            });
        }
        let grid = problem.grid();
        if problem.forcing().is_some() {
            return Err(SolveError::Unsupported {
                solver: "particle FP",
                what: "FP source terms (forcing)",
            });
        }
        match grid.dim() {
            1 => self.work2 = None,
            2 => {
                self.work = None;
                return crate::particle_nd::solve(&self.settings, &mut self.work2, problem, u, m);
            }
            _ => {
                return Err(SolveError::Unsupported {
                    solver: "particle FP",
                    what: "grids of more than two dimensions",
                })
            }
        }
        let axis = grid.axis(0);
        let n = grid.len();
        let (a, dx) = (axis.lo(), axis.dx());
        let boundary = grid.boundary();
        let periodic = boundary == Boundary::Periodic;
        let len = axis.hi() - a;
        let np = self.settings.particles;
        let seed = self.settings.seed;
        let m0 = problem.initial_density();
        let key = (
            n,
            seed,
            np,
            boundary,
            a.to_bits() ^ dx.to_bits(),
            m0.iter().fold(0u64, |h, v| splitmix(h ^ v.to_bits())),
        );
        if self.work.as_ref().map(|w| w.key) != Some(key) {
            let mut x0 = vec![0.0; np];
            sample_initial(m0, a, dx, periodic, seed, &mut x0);
            let chunks = np.div_ceil(CHUNK);
            self.work = Some(Work {
                key,
                x: vec![0.0; np],
                x0,
                drift: vec![0.0; n],
                slope: vec![0.0; n],
                hist: vec![0.0; chunks * n],
                mu: vec![0.0; n],
                kde: GridKde::new(grid.weights(), dx, periodic),
            });
        }
        let w = self.work.as_mut().expect("allocated above");
        // Positions are kept in grid units, s = (x − a)/dx, in [0, span].
        let inv_dx = 1.0 / dx;
        for (s, x) in w.x.iter_mut().zip(&w.x0) {
            *s = (x - a) * inv_dx;
        }
        let span = len * inv_dx;
        let nt = problem.time().nt();
        let dt = problem.time().dt();
        let noise = problem.sigma() * dt.sqrt() * inv_dx;
        let inv_lambda = 1.0 / problem.hamiltonian().control_cost();
        let bandwidth = self.settings.bandwidth;
        let weights = grid.weights();
        let last = if periodic { n - 1 } else { n - 2 };

        m.row_mut(0)
            .as_slice_mut()
            .expect("contiguous row")
            .copy_from_slice(m0);
        let mut stats = FpStats::default();
        for k in 0..nt {
            // Drift −dt ∂pH(∇u(t_k)) in grid units at the nodes, ∇u by central differences
            // (zero at reflecting walls), and its slope for linear interpolation.
            let uk = u.row(k);
            let uk = uk.as_slice().expect("contiguous row");
            let c = -dt * inv_lambda * 0.5 * inv_dx * inv_dx;
            for i in 0..n {
                let (l, r) = axis.neighbours(i);
                w.drift[i] = c * (uk[r] - uk[l]);
            }
            for i in 0..n {
                let j = if i + 1 == n { 0 } else { i + 1 };
                w.slope[i] = w.drift[j] - w.drift[i];
            }
            let (drift, slope) = (&w.drift, &w.slope);
            let step = |(c, (xs, hist)): (usize, (&mut [f64], &mut [f64]))| {
                let mut rng = stream(seed, c, k as u64);
                hist.iter_mut().for_each(|v| *v = 0.0);
                for s in xs.iter_mut() {
                    let (i, f) = cell(*s, last);
                    let z: f64 = StandardNormal.sample(&mut rng);
                    let mut y = *s + drift[i] + f * slope[i] + noise * z;
                    if periodic {
                        y = y.rem_euclid(span);
                        if y >= span {
                            y = 0.0;
                        }
                    } else {
                        // One reflection at each wall; a step longer than the domain (never at
                        // sane time steps) is clamped.
                        y = y.abs();
                        if y > span {
                            y = 2.0 * span - y;
                        }
                        y = y.clamp(0.0, span);
                    }
                    *s = y;
                    bin_linear(hist, y, periodic);
                }
            };
            if np > CHUNK {
                w.x.par_chunks_mut(CHUNK)
                    .zip(w.hist.par_chunks_mut(n))
                    .enumerate()
                    .for_each(step);
            } else {
                w.x.chunks_mut(CHUNK)
                    .zip(w.hist.chunks_mut(n))
                    .enumerate()
                    .for_each(step);
            }
            combine_chunks(&w.hist, np, &mut w.mu);
            // Spread for the bandwidth rule from the binned masses (linear binning keeps the
            // mean and adds at most dx²/4 to the variance).
            let std = spread_of_masses(&w.mu, dx);
            let iqr = iqr_of_masses(&w.mu, a, dx);
            let h = bandwidth.select(np, std, iqr, dx);
            let mut next = m.row_mut(k + 1);
            let next = next.as_slice_mut().expect("contiguous row");
            w.kde.smooth(&w.mu, h, next);
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
        for s in w.x.iter_mut() {
            *s = a + *s * dx;
        }
        Ok(stats)
    }
}
