//! `ParticleFp`: particles (stochastic Heun sub-steps) with kernel density estimation, in any
//! dimension.

use ndarray::{ArrayView2, ArrayViewMut2};
use rand_distr::{Distribution, StandardNormal, StandardUniform};
use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use mfg_core::grid::Corners;

use mfg_core::solver::{check_shape, Stop};
use mfg_core::{
    Axis, Boundary, Description, FpSolver, FpStats, Grid, PointKind, Problem, ProblemError,
    Setting, SolveError,
};

use crate::kde::{cell, iqr_of_masses, Bandwidth, GridKde};

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
    /// When a time step's drift cannot be resolved by [`MAX_SUBSTEPS`] sub-steps: stop with
    /// [`SolveError::UnresolvedDrift`] (true) or solve on and report it in
    /// [`FpStats::unresolved_rate_dt`] (false, the default).
    pub refuse_unresolved: bool,
}

impl Default for ParticleSettings {
    fn default() -> Self {
        Self {
            particles: 50_000,
            seed: 0,
            bandwidth: Bandwidth::Silverman,
            refuse_unresolved: false,
        }
    }
}

impl ParticleSettings {
    /// Check the values; the error names the field.
    pub fn validate(&self) -> Result<(), ProblemError> {
        if self.particles == 0 {
            return Err(ProblemError::InvalidParameter {
                field: "particles",
                value: 0.0,
                hint: "need at least 1 particle (10^4 to 10^6 is typical)",
            });
        }
        if let Bandwidth::Fixed(h) = self.bandwidth {
            if !(h.is_finite() && h > 0.0) {
                return Err(ProblemError::InvalidParameter {
                    field: "bandwidth",
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
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The node masses: the chunks' histograms summed in chunk order (deterministic whatever the
/// thread count), divided by the number of particles.
fn combine_chunks(hist: &[f64], particles: usize, mu: &mut [f64]) {
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
fn spread_of_masses(mu: &[f64], dx: f64) -> f64 {
    let (mut s1, mut s2) = (0.0, 0.0);
    for (i, m) in mu.iter().enumerate() {
        let x = i as f64 * dx;
        s1 += m * x;
        s2 += m * x * x;
    }
    (s2 - s1 * s1).max(0.0).sqrt()
}

/// The random stream of one chunk at one time step (`u64::MAX` for the initial sampling).
fn stream(seed: u64, chunk: usize, step: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(splitmix(
        splitmix(seed) ^ splitmix(chunk as u64).rotate_left(17) ^ splitmix(step).rotate_left(41),
    ))
}

/// One axis in grid units: positions live in `[0, span]` (`[0, span)` when periodic).
#[derive(Debug, Clone, Copy, PartialEq)]
struct AxisUnits {
    /// Points on the axis.
    n: usize,
    /// Coordinate of point 0 and spacing.
    lo: f64,
    dx: f64,
    /// Length in grid steps.
    span: f64,
    /// The last cell a position can fall in.
    last: usize,
    periodic: bool,
}

impl AxisUnits {
    fn new(axis: &Axis) -> Self {
        let n = axis.len();
        let periodic = axis.boundary() == Boundary::Periodic;
        Self {
            n,
            lo: axis.lo(),
            dx: axis.dx(),
            span: (axis.hi() - axis.lo()) / axis.dx(),
            last: if periodic { n - 1 } else { n - 2 },
            periodic,
        }
    }

    /// Back into `[0, span]`: one reflection at each wall (a step longer than the domain,
    /// never at sane time steps, is clamped), or wrapping.
    #[inline(always)]
    fn fold<const PERIODIC: bool>(&self, y: f64) -> f64 {
        let span = self.span;
        if PERIODIC {
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

    /// [`AxisUnits::fold`] by a wall mode known at compile time: 0 reflect (every axis has
    /// walls), 1 wrap (every axis is periodic), 2 this axis's own (a channel).
    #[inline(always)]
    fn fold_as<const WRAP: u8>(&self, y: f64) -> f64 {
        match WRAP {
            0 => self.fold::<false>(y),
            1 => self.fold::<true>(y),
            _ if self.periodic => self.fold::<true>(y),
            _ => self.fold::<false>(y),
        }
    }

    /// The cell's lower node, its upper node (wrapping) and the fraction.
    #[inline(always)]
    fn locate(&self, s: f64) -> (usize, usize, f64) {
        let (i, f) = cell(s, self.last);
        let j = if i + 1 == self.n { 0 } else { i + 1 };
        (i, j, f)
    }
}

/// Exits and obstacles as the particles see them: a position belongs to its nearest node's
/// dual cell (the box of half a step around it); a particle never enters the cell of a solid
/// node (it is reflected at the cell's face, or stays where it was), and one that enters the
/// cell of an exit node has left (absorbed).
#[derive(Debug, Clone, Copy)]
struct Geo<'a, const D: usize> {
    kinds: &'a [PointKind],
    /// Whether there are exits (their test draws a uniform every sub-step).
    exits: bool,
    strides: [usize; D],
    last: [f64; D],
    /// Periodic axes.
    wrap: [bool; D],
}

impl<const D: usize> Geo<'_, D> {
    /// The flat index of the node nearest to `q` (grid units).
    #[inline(always)]
    fn node(&self, q: &[f64]) -> usize {
        (0..D)
            .map(|d| {
                let k = (q[d] + 0.5).floor();
                // Past the last node of a periodic axis: the first.
                let k = if self.wrap[d] && k > self.last[d] {
                    0.0
                } else {
                    k.clamp(0.0, self.last[d])
                };
                k as usize * self.strides[d]
            })
            .sum()
    }

    #[inline(always)]
    fn solid(&self, q: &[f64]) -> bool {
        self.kinds[self.node(q)] == PointKind::Solid
    }

    /// Move coordinate `d` of `p` to `to` unless that enters an obstacle's cell: then reflect
    /// it at the face of that cell it crossed, or (still inside) keep it.
    #[inline(always)]
    fn move_axis(&self, p: &mut [f64], d: usize, to: f64) {
        let from = p[d];
        p[d] = to;
        if !self.solid(p) {
            return;
        }
        let c = (to + 0.5).floor();
        let face = if to > from { c - 0.5 } else { c + 0.5 };
        p[d] = (2.0 * face - to).clamp(0.0, self.last[d]);
        if self.solid(p) {
            p[d] = from;
        }
    }
}

impl<const D: usize> Geo<'_, D> {
    /// The part of a particle that leaves during a sub-step from `start` to `end` (inside
    /// the box): the Brownian bridge between the two ends crosses a face at distances `a`,
    /// `b` from it with probability `exp(−2ab/(σ²h))` (`σ²h = noise²` in grid units); where
    /// the face is an exit, that share of the particle's weight leaves there (a continuous
    /// function of the path: Φ stays as smooth in u as without exits, and as `end` reaches
    /// the face the share reaches 1). An exit node off the faces takes the whole particle
    /// whose nearest node it is. True when nothing is left.
    #[inline(always)]
    fn leave(
        &self,
        start: &[f64; D],
        end: &mut [f64],
        ax: &[AxisUnits; D],
        noise: &[f64; D],
        weight: &mut f64,
        exited: &mut [f64],
    ) -> bool {
        let node = self.node(end);
        if self.kinds[node] == PointKind::Exit && !self.on_face(end) {
            exited[node] += *weight;
            *weight = 0.0;
            return true;
        }
        for d in 0..D {
            let span = ax[d].span;
            for (a, b, face) in [
                (start[d], end[d], 0.0),
                (span - start[d], span - end[d], span),
            ] {
                let x = 2.0 * a * b / (noise[d] * noise[d]);
                if x >= 40.0 {
                    continue;
                }
                let keep = end[d];
                end[d] = face;
                let at = self.node(end);
                end[d] = keep;
                if self.kinds[at] == PointKind::Exit {
                    let share = *weight * (-x).exp();
                    exited[at] += share;
                    *weight -= share;
                }
            }
        }
        false
    }

    /// Whether the node nearest to `q` is on a face of the box.
    #[inline(always)]
    fn on_face(&self, q: &[f64]) -> bool {
        (0..D).any(|d| {
            let k = (q[d] + 0.5).floor().clamp(0.0, self.last[d]);
            k == 0.0 || k == self.last[d]
        })
    }
}

/// Marks an exited particle: its first coordinate is `−1 − exit node` (positions are ≥ 0).
#[inline(always)]
fn exited_at(node: usize) -> f64 {
    -1.0 - node as f64
}

/// Work arrays, kept while the key (sizes, seed, geometry, m0) is unchanged.
#[derive(Debug, Clone)]
struct Work {
    key: (usize, u64, usize, u8, u64, u64),
    /// Positions in grid units, interleaved per particle (`dim` values each).
    pos: Vec<f64>,
    pos0: Vec<f64>,
    /// The drift `−∂pH` at the nodes per axis.
    drift: Vec<Vec<f64>>,
    /// The drift per step in grid units, interleaved per node (`dim` values each).
    nodes: Vec<f64>,
    hist: Vec<f64>,
    mu: Vec<f64>,
    line_in: Vec<f64>,
    line_out: Vec<f64>,
    marginal: Vec<Vec<f64>>,
    kde: Vec<GridKde>,
    /// With exits: the mass that has left through each node so far.
    exited: Vec<f64>,
    /// With exits: every particle's weight (1 at the start, less as parts of it leave).
    weights: Vec<f64>,
    /// With exits: per chunk, the weight that left through each node this step.
    exit_hist: Vec<f64>,
}

/// The particle FP solver, in one, two and three dimensions.
///
/// - **Initial sampling.** A node is drawn with probability `w_i m0_i` (stratified uniforms
///   through the cumulative node masses), then moved by an independent triangular (hat)
///   offset of one grid step on each axis, reflected at no-flux walls or wrapped. The sampled
///   density is the multilinear (hat-function) interpolant of `m0`: exactly so inside, and at a
///   no-flux wall the reflected half hat carries the trapezoid half weight.
/// - **Step.** The optimal drift of the problem's Hamiltonian `b = −∂pH(X, ∇u(t_k, X))`,
///   evaluated at the nodes from central differences of `u` (zero normal component at
///   reflecting walls, [`mfg_core::Hamiltonian::drift`]) and interpolated multilinearly, is
///   frozen over the step. The step is cut into `s` sub-steps of length `h = dt/s` with
///   `rate · h ≤ 0.5` (`rate` the drift's largest change across a cell per unit length), each a
///   stochastic Heun step, weak order 2 for additive noise:
///
///   ```text
///   X* = X + b(X) h + σ ΔW,    X ← X + (b(X) + b(X*)) h/2 + σ ΔW,    ΔW ~ N(0, h I_d),
///   ```
///
///   one reflection per wall and axis, or wrapping. A step needing more than [`MAX_SUBSTEPS`]
///   is unresolved: reported in [`FpStats::unresolved_rate_dt`], or refused
///   ([`ParticleSettings::refuse_unresolved`]).
/// - **Density.** Multilinear binning of every particle to the `2^d` nodes of its cell (mass
///   `1/N` each in total), then the separable Gaussian kernel of [`crate::kde`]: the 1D
///   [`GridKde`] along every line of each axis in turn, in mass variables, so the quadrature
///   mass is exactly the binned mass (1) and `m ≥ 0`. Bandwidths per axis from that axis's
///   marginal spread ([`crate::Bandwidth::select_in`]). Level 0 is `m0` itself.
///
/// Randomness: the particles are cut into chunks of [`CHUNK`]; chunk `c` at step `k` draws from
/// its own xoshiro256++ stream seeded from `(seed, c, k)`, and the chunks' histograms are summed
/// in chunk order. So the output is bitwise the same for any number of rayon threads, and every
/// solve with the same seed uses the same random numbers (common random numbers): inside the
/// Picard loop the map `m ↦ Φ(m)` is deterministic and can converge.
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
/// let mut fp = ParticleFp::new(ParticleSettings { particles: 10_000, ..Default::default() }).unwrap();
/// let stats = fp.solve_into(&p, u.view(), m.view_mut()).unwrap();
/// assert!(stats.max_mass_drift < 1e-12);
/// ```
#[derive(Debug, Clone)]
pub struct ParticleFp {
    settings: ParticleSettings,
    work: Option<Work>,
    stop: Stop,
    /// With `record_positions`: the positions after every time level of the last solve.
    trace: Option<Vec<Vec<f64>>>,
}

impl ParticleFp {
    /// A solver with the given settings, validated here ([`ParticleSettings::validate`]).
    pub fn new(settings: ParticleSettings) -> Result<Self, ProblemError> {
        settings.validate()?;
        Ok(Self {
            settings,
            work: None,
            stop: Stop::never(),
            trace: None,
        })
    }

    /// Keep the positions (coordinates, as [`ParticleFp::positions`]) after every time level
    /// of each solve, for [`ParticleFp::recorded_positions`] (tests, pictures of paths).
    pub fn record_positions(mut self) -> Self {
        self.trace = Some(Vec::new());
        self
    }

    /// The positions after levels 0, 1, …, nt of the last solve, if recording
    /// ([`ParticleFp::record_positions`]); empty otherwise.
    pub fn recorded_positions(&self) -> &[Vec<f64>] {
        self.trace.as_deref().unwrap_or(&[])
    }

    /// The settings.
    pub fn settings(&self) -> &ParticleSettings {
        &self.settings
    }

    /// The particle positions after the last solve (at `T`), interleaved per particle
    /// (`x0, y0, x1, y1, …` in 2D); NaN for a particle that has left through an exit.
    pub fn positions(&self) -> &[f64] {
        self.work.as_ref().map_or(&[], |w| &w.pos)
    }
}

/// Sample the initial positions (grid units, interleaved) from the node masses of `m0`.
fn sample_initial(grid: &Grid, m0: &[f64], ax: &[AxisUnits], seed: u64, pos: &mut [f64]) {
    let dim = ax.len();
    let mut cum = Vec::with_capacity(m0.len() + 1);
    cum.push(0.0);
    for (m, w) in m0.iter().zip(grid.weights()) {
        cum.push(cum.last().expect("non-empty") + m * w);
    }
    let total = *cum.last().expect("non-empty");
    let count = (pos.len() / dim) as f64;
    pos.par_chunks_mut(dim * CHUNK)
        .enumerate()
        .for_each(|(c, xs)| {
            let mut rng = stream(seed, c, u64::MAX);
            for (k, p) in xs.chunks_exact_mut(dim).enumerate() {
                let u: f64 = StandardUniform.sample(&mut rng);
                let target = ((c * CHUNK + k) as f64 + u) / count * total;
                // The node with cum[idx] <= target < cum[idx + 1], skipping empty nodes.
                let idx = cum.partition_point(|&v| v <= target).clamp(1, m0.len()) - 1;
                for (d, (x, a)) in p.iter_mut().zip(ax).enumerate() {
                    let s: f64 = StandardUniform.sample(&mut rng);
                    let t: f64 = StandardUniform.sample(&mut rng);
                    *x = if a.periodic {
                        a.fold::<true>(grid.axis_index(idx, d) as f64 + s + t - 1.0)
                    } else {
                        a.fold::<false>(grid.axis_index(idx, d) as f64 + s + t - 1.0)
                    };
                }
                // An offset into an obstacle's or an exit's cell: the node itself instead.
                if let Some(kinds) = grid.kinds() {
                    let near: usize = p
                        .iter()
                        .enumerate()
                        .map(|(d, x)| {
                            let last = (grid.axis(d).len() - 1) as f64;
                            ((x + 0.5).floor().clamp(0.0, last) as usize) * grid.stride(d)
                        })
                        .sum();
                    if kinds[near] != PointKind::Open {
                        for (d, x) in p.iter_mut().enumerate() {
                            *x = grid.axis_index(idx, d) as f64;
                        }
                    }
                }
            }
        });
}

/// One time step (its Heun sub-steps) of the particles of chunk `c` and their multilinear binning into
/// `hist`, for `D` dimensions (compiled once per dimension): `drift[i]` is node `i`'s
/// displacement per step in grid units.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn step_chunk<const D: usize, const WRAP: u8, const GEO: bool>(
    corners: Corners<D>,
    geo: Option<Geo<'_, D>>,
    ax: &[AxisUnits; D],
    drift: &[[f64; D]],
    noise: &[f64; D],
    substeps: usize,
    mut rng: Xoshiro256PlusPlus,
    part: Chunk<'_>,
) {
    let Chunk {
        xs,
        hist,
        weights,
        exited,
    } = part;
    hist.iter_mut().for_each(|v| *v = 0.0);
    exited.iter_mut().for_each(|v| *v = 0.0);
    let mut cell = [(0usize, 0usize, 0.0f64); D];
    // With exits a particle that has left still draws its numbers (D normals a sub-step):
    // whether one particle leaves does not shift the stream of the others.
    // `GEO`: the grid has exits or obstacles (compiled apart: the plain loop has none of it).
    let geo = if GEO { geo } else { None };
    let exits = GEO && geo.is_some_and(|g| g.exits);
    let burn = |rng: &mut Xoshiro256PlusPlus, steps: usize| {
        for _ in 0..steps * D {
            let _: f64 = StandardNormal.sample(rng);
        }
    };
    'particles: for (j, p) in xs.chunks_exact_mut(D).enumerate() {
        if GEO && p[0] < 0.0 {
            // Left through an exit.
            if exits {
                burn(&mut rng, substeps);
            }
            continue;
        }
        for d in 0..D {
            cell[d] = ax[d].locate(p[d]);
        }
        for step in 0..substeps {
            // Stochastic Heun (weak order 2 for additive noise): an Euler–Maruyama predictor,
            // then the drift averaged between the start and the predicted point, with the same
            // increment of the Brownian motion.
            let b0 = corners.interpolate(&cell, drift);
            let mut z = [0.0; D];
            for zd in z.iter_mut() {
                *zd = StandardNormal.sample(&mut rng);
            }
            let rest = substeps - step - 1;
            let mut predicted = cell;
            for d in 0..D {
                predicted[d] = ax[d].locate(ax[d].fold_as::<WRAP>(p[d] + b0[d] + noise[d] * z[d]));
            }
            let b1 = corners.interpolate(&predicted, drift);
            match &geo {
                None => {
                    for d in 0..D {
                        let b = 0.5 * (b0[d] + b1[d]);
                        p[d] = ax[d].fold_as::<WRAP>(p[d] + b + noise[d] * z[d]);
                    }
                }
                Some(g) => {
                    let start: [f64; D] = std::array::from_fn(|d| p[d]);
                    for d in 0..D {
                        let raw = p[d] + 0.5 * (b0[d] + b1[d]) + noise[d] * z[d];
                        if !(0.0..=ax[d].span).contains(&raw) {
                            // Out through a face: through an exit if the face is one there.
                            let from = p[d];
                            p[d] = raw.clamp(0.0, ax[d].span);
                            let node = g.node(p);
                            if g.kinds[node] == PointKind::Exit {
                                exited[node] += weights[j];
                                weights[j] = 0.0;
                                p[0] = exited_at(node);
                                burn(&mut rng, rest);
                                continue 'particles;
                            }
                            p[d] = from;
                        }
                        // Axis by axis, so that no coordinate move enters an obstacle.
                        g.move_axis(p, d, ax[d].fold_as::<WRAP>(raw));
                    }
                    if exits && g.leave(&start, p, ax, noise, &mut weights[j], exited) {
                        p[0] = exited_at(g.node(p));
                        burn(&mut rng, rest);
                        continue 'particles;
                    }
                }
            }
            for d in 0..D {
                cell[d] = ax[d].locate(p[d]);
            }
        }
        if exits {
            let wt = weights[j];
            corners.for_each(&cell, |i, w| hist[i] += w * wt);
        } else {
            corners.for_each(&cell, |i, w| hist[i] += w);
        }
    }
}

/// One chunk's particles and outputs (see [`step_all`]).
struct Chunk<'a> {
    xs: &'a mut [f64],
    hist: &'a mut [f64],
    weights: &'a mut [f64],
    exited: &'a mut [f64],
}

/// The largest rate of change of the drift along its own axis, `max_{d, i} |b_d(x_i + e_d) −
/// b_d(x_i)| / dx_d` (one over the time in which the drift field reshapes a neighbourhood).
/// At a no-flux wall the drift's normal component is set to zero (the reflection), a jump that
/// is not a rate of the flow: pairs with a wall point are left out.
fn drift_rate(grid: &Grid, drift: &[Vec<f64>]) -> f64 {
    let mut rate = 0.0_f64;
    for (d, b) in drift.iter().enumerate() {
        let periodic = grid.axis(d).boundary() == Boundary::Periodic;
        let inv_dx = 1.0 / grid.axis(d).dx();
        for line in grid.lines(d) {
            let (first, last) = if periodic {
                (0, line.len)
            } else {
                (1, line.len - 2)
            };
            for k in first..last {
                let (i, j) = (line.index(k), line.index((k + 1) % line.len));
                // Pairs with an obstacle point are walls too (zero drift inside).
                if grid.kind(i) == PointKind::Solid || grid.kind(j) == PointKind::Solid {
                    continue;
                }
                rate = rate.max((b[j] - b[i]).abs() * inv_dx);
            }
        }
    }
    rate
}

/// The drift at an exit node on a face: its inner neighbour's (the drift there has no
/// neighbours to difference; the particles between the two nodes keep moving out).
fn drift_into_exits(grid: &Grid, drift: &mut [Vec<f64>]) {
    for &i in grid.exit_points() {
        let inner = (0..grid.dim()).find_map(|d| {
            let (k, n, s) = (grid.axis_index(i, d), grid.axis(d).len(), grid.stride(d));
            if k == 0 {
                Some(i + s)
            } else if k + 1 == n {
                Some(i - s)
            } else {
                None
            }
        });
        if let Some(j) = inner {
            for b in drift.iter_mut() {
                b[i] = b[j];
            }
        }
    }
}

/// At most this drift rate × sub-step: Heun's stationary bias on an Ornstein–Uhlenbeck process
/// is then −8 % at most (Euler–Maruyama's would be +33 %), and far smaller below the bound.
const RATE_STEP_MAX: f64 = 0.5;

/// Sub-steps per time step allowed before the drift counts as unresolved.
pub const MAX_SUBSTEPS: usize = 64;

/// The steps of all chunks for `D` dimensions: rayon across chunks when there are several.
fn step_all<const D: usize>(
    grid: &Grid,
    ax: &[AxisUnits],
    drift: &[f64],
    noise: &[f64],
    (seed, k, substeps): (u64, usize, usize),
    (pos, hist): (&mut [f64], &mut [f64]),
    (weights, exit_hist): (&mut [f64], &mut [f64]),
) {
    let corners = grid.corners::<D>();
    let geo = grid.kinds().map(|kinds| Geo::<D> {
        kinds,
        exits: !grid.exit_points().is_empty(),
        strides: std::array::from_fn(|d| grid.stride(d)),
        last: std::array::from_fn(|d| (grid.axis(d).len() - 1) as f64),
        wrap: std::array::from_fn(|d| grid.axis(d).boundary() == Boundary::Periodic),
    });
    let ax: &[AxisUnits; D] = ax.try_into().expect("one unit per axis");
    let noise: &[f64; D] = noise.try_into().expect("one noise per axis");
    let (drift, _) = drift.as_chunks::<D>();
    let n = grid.len();
    // The wall treatment as a constant, so the fold's branch leaves the particle loop: every
    // axis periodic, every axis walled, or (a channel, or exits and obstacles) the general
    // loop.
    let (periodic, general) = (
        grid.boundary() == Boundary::Periodic,
        grid.is_mixed() || geo.is_some(),
    );
    let step = |(c, part): (usize, Chunk<'_>)| {
        let rng = stream(seed, c, k as u64);
        if general {
            step_chunk::<D, 2, true>(corners, geo, ax, drift, noise, substeps, rng, part)
        } else if periodic {
            step_chunk::<D, 1, false>(corners, geo, ax, drift, noise, substeps, rng, part)
        } else {
            step_chunk::<D, 0, false>(corners, geo, ax, drift, noise, substeps, rng, part)
        }
    };
    // Per chunk: positions, histogram, and with exits the particles' weights and the mass
    // that left per node (empty slices without exits); no allocation per step.
    let chunk = |((xs, hist), (weights, exited))| Chunk {
        xs,
        hist,
        weights,
        exited,
    };
    let exits = geo.is_some_and(|g| g.exits);
    let parallel = pos.len() > D * CHUNK;
    match (exits, parallel) {
        (true, true) => pos
            .par_chunks_mut(D * CHUNK)
            .zip(hist.par_chunks_mut(n))
            .zip(
                weights
                    .par_chunks_mut(CHUNK)
                    .zip(exit_hist.par_chunks_mut(n)),
            )
            .map(chunk)
            .enumerate()
            .for_each(step),
        (true, false) => pos
            .chunks_mut(D * CHUNK)
            .zip(hist.chunks_mut(n))
            .zip(weights.chunks_mut(CHUNK).zip(exit_hist.chunks_mut(n)))
            .map(chunk)
            .enumerate()
            .for_each(step),
        (false, true) => pos
            .par_chunks_mut(D * CHUNK)
            .zip(hist.par_chunks_mut(n))
            .map(|(xs, hist)| chunk(((xs, hist), (&mut [][..], &mut [][..]))))
            .enumerate()
            .for_each(step),
        (false, false) => pos
            .chunks_mut(D * CHUNK)
            .zip(hist.chunks_mut(n))
            .map(|(xs, hist)| chunk(((xs, hist), (&mut [][..], &mut [][..]))))
            .enumerate()
            .for_each(step),
    }
}

impl FpSolver for ParticleFp {
    fn name(&self) -> &'static str {
        "particle"
    }

    fn set_stop(&mut self, stop: Stop) {
        self.stop = stop;
    }

    fn describe(&self, _grid: &Grid) -> Description {
        let s = &self.settings;
        Description {
            method: "particle",
            scheme: "particles in stochastic Heun sub-steps, multilinear binning + reflected Gaussian KDE"
                .into(),
            settings: vec![
                ("particles", Setting::Integer(s.particles as i64)),
                ("seed", Setting::Integer(s.seed as i64)),
                (
                    "bandwidth",
                    match s.bandwidth {
                        Bandwidth::Silverman => Setting::Text("silverman".into()),
                        Bandwidth::Scott => Setting::Text("scott".into()),
                        Bandwidth::Fixed(h) => Setting::Real(h),
                    },
                ),
                ("common_random_numbers", Setting::Flag(true)),
            ],
        }
    }

    fn solve_into(
        &mut self,
        problem: &Problem,
        u: ArrayView2<'_, f64>,
        mut m: ArrayViewMut2<'_, f64>,
    ) -> Result<FpStats, SolveError> {
        check_shape(problem, u.shape(), "u");
        check_shape(problem, m.shape(), "m");
        if problem.forcing().is_some() {
            return Err(SolveError::Unsupported {
                solver: "particle FP",
                what: "FP source terms (forcing)",
            });
        }
        if problem.hamiltonian().depends_on_density() {
            return Err(SolveError::Unsupported {
                solver: "particle FP",
                what: "a Hamiltonian that depends on the density (congestion): use the FDM scheme",
            });
        }
        let grid = problem.grid();
        let n = grid.len();
        let dim = grid.dim();
        let ax: Vec<AxisUnits> = grid.axes().iter().map(AxisUnits::new).collect();
        let np = self.settings.particles;
        let seed = self.settings.seed;
        let m0 = problem.initial_density();
        let weights = grid.weights();
        let key = (
            n,
            seed,
            np,
            grid.periodic_axes(),
            ax.iter().fold(splitmix(grid.geometry_id()), |h, a| {
                splitmix(h ^ a.lo.to_bits() ^ a.dx.to_bits().rotate_left(7) ^ a.n as u64)
            }),
            m0.iter().fold(0u64, |h, v| splitmix(h ^ v.to_bits())),
        );
        let exits = !grid.exit_points().is_empty();
        if self.work.as_ref().map(|w| w.key) != Some(key) {
            let mut pos0 = vec![0.0; dim * np];
            sample_initial(grid, m0, &ax, seed, &mut pos0);
            let longest = grid.shape().into_iter().max().unwrap_or(0);
            self.work = Some(Work {
                key,
                pos: vec![0.0; dim * np],
                pos0,
                drift: vec![vec![0.0; n]; dim],
                nodes: vec![0.0; n * dim],
                hist: vec![0.0; np.div_ceil(CHUNK) * n],
                mu: vec![0.0; n],
                line_in: vec![0.0; longest],
                line_out: vec![0.0; longest],
                marginal: ax.iter().map(|a| vec![0.0; a.n]).collect(),
                kde: grid
                    .axes()
                    .iter()
                    .map(|axis| {
                        let w: Vec<f64> = (0..axis.len()).map(|i| axis.weight(i)).collect();
                        GridKde::new(&w, axis.dx(), axis.boundary() == Boundary::Periodic)
                    })
                    .collect(),
                exited: vec![0.0; if exits { n } else { 0 }],
                weights: vec![0.0; if exits { np } else { 0 }],
                exit_hist: vec![0.0; if exits { np.div_ceil(CHUNK) * n } else { 0 }],
            });
        }
        let w = self.work.as_mut().expect("allocated above");
        w.pos.copy_from_slice(&w.pos0);
        w.weights.fill(1.0);
        w.exited.fill(0.0);
        let nt = problem.time().nt();
        let dt = problem.time().dt();
        let sigma = problem.sigma();
        let mut noise = vec![0.0; dim];
        let ham = problem.hamiltonian();

        m.row_mut(0)
            .as_slice_mut()
            .expect("contiguous row")
            .copy_from_slice(m0);
        let mut stats = FpStats::default();
        for k in 0..nt {
            self.stop.check(k + 1)?;
            // The drift −∂pH(∇u(t_k)) at the nodes, as a displacement per step in grid units,
            // interleaved per node.
            let uk = u.row(k);
            ham.drift(grid, uk.as_slice().expect("contiguous row"), &mut w.drift);
            // Sub-steps: Euler–Maruyama's bias grows with (drift rate) × step, the rate being
            // the change of the drift from one node to the next per unit length. Split the step
            // so that the drift changes by at most RATE_STEP_MAX of its own displacement across
            // a cell; refuse what would need more than MAX_SUBSTEPS.
            if !grid.exit_points().is_empty() {
                drift_into_exits(grid, &mut w.drift);
            }
            let rate_dt = drift_rate(grid, &w.drift) * dt;
            let mut substeps = (rate_dt / RATE_STEP_MAX).ceil().max(1.0);
            if substeps > MAX_SUBSTEPS as f64 || !substeps.is_finite() {
                // Not resolved: solve with the most sub-steps and say so in the stats (the
                // command line refuses such a run, naming grid.nt).
                substeps = MAX_SUBSTEPS as f64;
                if self.settings.refuse_unresolved {
                    return Err(SolveError::UnresolvedDrift {
                        time_level: k,
                        rate_dt,
                        max: RATE_STEP_MAX * MAX_SUBSTEPS as f64,
                    });
                }
                if rate_dt > stats.unresolved_rate_dt {
                    stats.unresolved_rate_dt = rate_dt;
                }
            }
            let sub_dt = dt / substeps;
            for (v, a) in noise.iter_mut().zip(&ax) {
                *v = sigma * sub_dt.sqrt() / a.dx;
            }
            for (i, node) in w.nodes.chunks_exact_mut(dim).enumerate() {
                for (d, (v, a)) in node.iter_mut().zip(&ax).enumerate() {
                    *v = w.drift[d][i] * (sub_dt / a.dx);
                }
            }
            let substeps = substeps as usize;
            stats.substeps = stats.substeps.max(substeps);
            let (nodes, pos, hist) = (&w.nodes, &mut w.pos, &mut w.hist);
            let out = (&mut w.weights[..], &mut w.exit_hist[..]);
            let at = (seed, k, substeps);
            match dim {
                1 => step_all::<1>(grid, &ax, nodes, &noise, at, (pos, hist), out),
                2 => step_all::<2>(grid, &ax, nodes, &noise, at, (pos, hist), out),
                _ => step_all::<3>(grid, &ax, nodes, &noise, at, (pos, hist), out),
            }
            combine_chunks(&w.hist, np, &mut w.mu);
            if exits {
                // The weight that left this step, chunk by chunk in order, as mass.
                let inv = 1.0 / np as f64;
                for h in w.exit_hist.chunks(n) {
                    for &i in grid.exit_points() {
                        w.exited[i] += h[i] * inv;
                    }
                }
            }
            // Per-axis bandwidths from the marginal node masses (binning keeps the mean and
            // adds at most dx²/4 to the variance).
            for marginal in w.marginal.iter_mut() {
                marginal.iter_mut().for_each(|v| *v = 0.0);
            }
            for (i, v) in w.mu.iter().enumerate() {
                for (d, marginal) in w.marginal.iter_mut().enumerate() {
                    marginal[grid.axis_index(i, d)] += v;
                }
            }
            let bandwidth: Vec<f64> = (0..dim)
                .map(|d| {
                    let std = spread_of_masses(&w.marginal[d], ax[d].dx);
                    let iqr = iqr_of_masses(&w.marginal[d], ax[d].lo, ax[d].dx);
                    self.settings
                        .bandwidth
                        .select_in(dim, np, std, iqr, ax[d].dx)
                })
                .collect();
            // Smooth along every axis but the last on every line (masses in, masses out), then
            // along the last axis (contiguous lines) into the density.
            for (d, &h) in bandwidth[..dim - 1].iter().enumerate() {
                let axis = grid.axis(d);
                for line in grid.lines(d) {
                    let len = line.len;
                    line.gather(&w.mu, &mut w.line_in);
                    w.kde[d].smooth(&w.line_in[..len], h, &mut w.line_out[..len]);
                    for (k, v) in w.line_out[..len].iter_mut().enumerate() {
                        *v *= axis.weight(k);
                    }
                    line.scatter(&w.line_out, &mut w.mu);
                }
            }
            let last = dim - 1;
            let mut next = m.row_mut(k + 1);
            let next = next.as_slice_mut().expect("contiguous row");
            for line in grid.lines(last) {
                let r = line.start..line.start + line.len;
                w.kde[last].smooth(&w.mu[r.clone()], bandwidth[last], &mut next[r.clone()]);
                if last > 0 {
                    // Divide by the weights of the other axes.
                    let other: f64 = (0..last)
                        .map(|d| grid.axis(d).weight(grid.axis_index(line.start, d)))
                        .product();
                    let inv = 1.0 / other;
                    next[r].iter_mut().for_each(|v| *v *= inv);
                }
            }
            if grid.has_geometry() {
                absorb_and_mask(grid, &w.exited, next);
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
            if let Some(trace) = self.trace.as_mut() {
                if k == 0 {
                    trace.clear();
                    trace.push(coordinates(&w.pos0, &ax));
                }
                trace.push(coordinates(&w.pos, &ax));
            }
        }
        // Back to coordinates for `positions()`.
        w.pos = coordinates(&w.pos, &ax);
        Ok(stats)
    }
}

/// Positions in grid units to coordinates (NaN for the particles that have left).
fn coordinates(pos: &[f64], ax: &[AxisUnits]) -> Vec<f64> {
    let mut out = pos.to_vec();
    for p in out.chunks_exact_mut(ax.len()) {
        let gone = p[0] < 0.0;
        for (x, a) in p.iter_mut().zip(ax) {
            *x = if gone { f64::NAN } else { a.lo + *x * a.dx };
        }
    }
    out
}

/// With exits and obstacles, after the density of a level: set it to zero at the exits and
/// obstacles (the kernel spreads into them), rescale the rest to the mass still inside
/// (1 − what has left, `exited` per node), and put the mass that has left at its exit nodes
/// (as the finite-difference scheme holds it during a solve, [`mfg_core::PointKind::Exit`]):
/// the level's total is 1 to round-off.
fn absorb_and_mask(grid: &Grid, exited: &[f64], next: &mut [f64]) {
    grid.zero_fixed(next);
    let inside = grid.integrate(next);
    let gone: f64 = grid.exit_points().iter().map(|&i| exited[i]).sum();
    if inside > 0.0 {
        let scale = (1.0 - gone).max(0.0) / inside;
        next.iter_mut().for_each(|v| *v *= scale);
    }
    let weights = grid.weights();
    for &i in grid.exit_points() {
        next[i] = exited[i] / weights[i];
    }
}
