//! `WenoHjb`: HJ-WENO5 derivatives, a monotone numerical Hamiltonian, central diffusion and
//! TVD-RK3 with stable sub-steps.

use ndarray::{ArrayView2, ArrayViewMut2};
use tracing::trace;

use mfg_core::solver::check_shape;
use mfg_core::{Boundary, Hamiltonian, HjbSolver, HjbStats, Problem, ProblemError, SolveError};
use weno_kernels::{Ghosts, HjWeno, Weights};

/// The numerical Hamiltonian built from the one-sided derivatives `a = φx⁻`, `b = φx⁺`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NumericalHamiltonian {
    /// Godunov: `min_{p∈[a,b]} H` if `a ≤ b`, else `max_{p∈[b,a]} H`; for convex `H` with
    /// minimiser `p*`: `max(H(max(a, p*)), H(min(b, p*)))`.
    Godunov,
    /// Global Lax–Friedrichs: `H((a + b)/2) − α (b − a)/2`, `α = max |H'|` over the data.
    LaxFriedrichs,
}

/// A convex one-dimensional Hamiltonian, as the HJ-WENO stepper needs it.
pub trait ConvexHamiltonian {
    /// `H(p)`.
    fn value(&self, p: f64) -> f64;
    /// The minimiser `p*`.
    fn argmin(&self) -> f64;
    /// `max |H'(p)|` over `p ∈ [lo, hi]`.
    fn speed_bound(&self, lo: f64, hi: f64) -> f64;
}

impl ConvexHamiltonian for Hamiltonian {
    #[inline]
    fn value(&self, p: f64) -> f64 {
        Hamiltonian::value(self, p)
    }
    #[inline]
    fn argmin(&self) -> f64 {
        0.0
    }
    #[inline]
    fn speed_bound(&self, lo: f64, hi: f64) -> f64 {
        self.dp(lo).abs().max(self.dp(hi).abs())
    }
}

/// Settings of [`WenoHjb`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WenoSettings {
    /// Nonlinear weights (`weno5` = JS, `weno-z`, `weno-m`). Default JS.
    pub weights: Weights,
    /// Default Godunov.
    pub hamiltonian: NumericalHamiltonian,
    /// CFL number in (0, 1]: sub-steps satisfy `dt (a/dx + 2ν/dx²) ≤ cfl`, `a = max |H'|`.
    /// Default 0.5.
    pub cfl: f64,
    /// Give up (an error) when one time level needs more sub-steps. Default 100 000.
    pub max_substeps: usize,
}

impl Default for WenoSettings {
    fn default() -> Self {
        Self {
            weights: Weights::Js,
            hamiltonian: NumericalHamiltonian::Godunov,
            cfl: 0.5,
            max_substeps: 100_000,
        }
    }
}

impl WenoSettings {
    /// Check the CFL number: above 1 the TVD-RK3 step is not stable for this operator.
    pub fn validate(&self) -> Result<(), ProblemError> {
        if !(self.cfl > 0.0 && self.cfl <= 1.0) {
            return Err(ProblemError::InvalidParameter {
                field: "hjb.cfl",
                value: self.cfl,
                hint:
                    "TVD-RK3 with HJ-WENO5 is stable for a CFL number in (0, 1]; 0.5 is the default",
            });
        }
        Ok(())
    }
}

/// Fewest points the WENO stencils accept (the 7-point stencil plus ghosts).
pub const MIN_POINTS: usize = 8;

/// HJ-WENO5 + TVD-RK3 integration of `φ_τ = −H_h(∇φ⁻, ∇φ⁺) + ν Δ_h φ + s(τ)` on a line or,
/// dimension by dimension, on a 2D tensor grid (values flattened row-major, the first axis
/// slowest). In 2D the Hamiltonian must be separable, `H(p) = Σ_d H₁(p_d)` (true of
/// `|p|²/(2λ)`), and the numerical Hamiltonian is the sum of the 1D ones built from each
/// axis's one-sided derivatives; sub-steps satisfy `dt Σ_d (a_d/dx_d + 2ν/dx_d²) ≤ cfl`.
#[derive(Debug, Clone)]
pub struct HjEvolver {
    settings: WenoSettings,
    ghosts: Ghosts,
    dx: f64,
    nu: f64,
    hj: HjWeno,
    minus: Vec<f64>,
    plus: Vec<f64>,
    k: Vec<f64>,
    stage: Vec<f64>,
    start: Vec<f64>,
    source: Vec<f64>,
    /// The second axis (2D only).
    y: Option<SecondAxis>,
}

/// Work of the second axis of a 2D evolver: the grid is `nx × ny`, `dx` is the first axis's
/// spacing; the first axis's derivatives are taken on gathered lines.
#[derive(Debug, Clone)]
struct SecondAxis {
    nx: usize,
    ny: usize,
    dy: f64,
    hj_x: HjWeno,
    minus_y: Vec<f64>,
    plus_y: Vec<f64>,
    line: Vec<f64>,
    line_minus: Vec<f64>,
    line_plus: Vec<f64>,
}

impl HjEvolver {
    /// An evolver for `n` points with spacing `dx`, diffusion `ν ≥ 0`.
    pub fn new(n: usize, dx: f64, nu: f64, ghosts: Ghosts, settings: WenoSettings) -> Self {
        assert!(
            n >= MIN_POINTS,
            "HjEvolver needs at least {MIN_POINTS} points"
        );
        Self {
            settings,
            ghosts,
            dx,
            nu,
            hj: HjWeno::new(n, settings.weights, ghosts),
            minus: vec![0.0; n],
            plus: vec![0.0; n],
            k: vec![0.0; n],
            stage: vec![0.0; n],
            start: vec![0.0; n],
            source: vec![0.0; n],
            y: None,
        }
    }

    /// An evolver for an `nx × ny` tensor grid with spacings `(dx, dy)`, diffusion `ν ≥ 0`.
    pub fn new_2d(
        [nx, ny]: [usize; 2],
        [dx, dy]: [f64; 2],
        nu: f64,
        ghosts: Ghosts,
        settings: WenoSettings,
    ) -> Self {
        assert!(
            nx >= MIN_POINTS && ny >= MIN_POINTS,
            "HjEvolver needs at least {MIN_POINTS} points per axis"
        );
        let n = nx * ny;
        let mut ev = Self::new(ny, dy, nu, ghosts, settings);
        ev.dx = dx;
        for v in [
            &mut ev.minus,
            &mut ev.plus,
            &mut ev.k,
            &mut ev.stage,
            &mut ev.start,
            &mut ev.source,
        ] {
            *v = vec![0.0; n];
        }
        ev.y = Some(SecondAxis {
            nx,
            ny,
            dy,
            hj_x: HjWeno::new(nx, settings.weights, ghosts),
            minus_y: vec![0.0; n],
            plus_y: vec![0.0; n],
            line: vec![0.0; nx],
            line_minus: vec![0.0; nx],
            line_plus: vec![0.0; nx],
        });
        ev
    }

    /// The number of values the evolver advances.
    pub fn len(&self) -> usize {
        self.minus.len()
    }

    /// Never true (an evolver has at least [`MIN_POINTS`] points).
    pub fn is_empty(&self) -> bool {
        self.minus.is_empty()
    }

    /// `out = −H_h + ν Δ_h φ + source` on the 2D grid; returns the stability rate
    /// `Σ_d (a_d/dx_d + 2ν/dx_d²)`.
    fn rhs_2d<H: ConvexHamiltonian>(&mut self, ham: &H, phi: &[f64], out: &mut [f64]) -> f64 {
        let y = self.y.as_mut().expect("2D evolver");
        let (nx, ny, dx, dy) = (y.nx, y.ny, self.dx, y.dy);
        // Along y: contiguous lines (self.hj has ny points). Along x: gathered lines.
        for ((p, m), q) in phi
            .chunks_exact(ny)
            .zip(y.minus_y.chunks_exact_mut(ny))
            .zip(y.plus_y.chunks_exact_mut(ny))
        {
            self.hj.derivatives(p, dy, m, q);
        }
        for j in 0..ny {
            for (i, l) in y.line.iter_mut().enumerate() {
                *l = phi[i * ny + j];
            }
            y.hj_x
                .derivatives(&y.line, dx, &mut y.line_minus, &mut y.line_plus);
            for i in 0..nx {
                self.minus[i * ny + j] = y.line_minus[i];
                self.plus[i * ny + j] = y.line_plus[i];
            }
        }
        let range = |a: &[f64], b: &[f64]| {
            a.iter()
                .zip(b)
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (p, q)| {
                    (lo.min(p.min(*q)), hi.max(p.max(*q)))
                })
        };
        let (lx, hx) = range(&self.minus, &self.plus);
        let (ly, hy) = range(&y.minus_y, &y.plus_y);
        let (sx, sy) = (ham.speed_bound(lx, hx), ham.speed_bound(ly, hy));
        let pstar = ham.argmin();
        let godunov = self.settings.hamiltonian == NumericalHamiltonian::Godunov;
        let h1 = |a: f64, b: f64, speed: f64| {
            if godunov {
                ham.value(a.max(pstar)).max(ham.value(b.min(pstar)))
            } else {
                ham.value(0.5 * (a + b)) - 0.5 * speed * (b - a)
            }
        };
        let (cx, cy) = (self.nu / (dx * dx), self.nu / (dy * dy));
        let wrap = self.ghosts == Ghosts::Periodic;
        // Neighbour along an axis of `n` points, reflected (`u_{-1} = u_1`) or wrapped.
        let prev = |i: usize, n: usize| match (i, wrap) {
            (0, true) => n - 1,
            (0, false) => 1,
            _ => i - 1,
        };
        let next = |i: usize, n: usize| match (i + 1 == n, wrap) {
            (true, true) => 0,
            (true, false) => n - 2,
            _ => i + 1,
        };
        for i in 0..nx {
            let (il, ir) = (prev(i, nx), next(i, nx));
            for j in 0..ny {
                let (jl, jr) = (prev(j, ny), next(j, ny));
                let c = i * ny + j;
                let h = h1(self.minus[c], self.plus[c], sx) + h1(y.minus_y[c], y.plus_y[c], sy);
                let lap = cx * (phi[il * ny + j] - 2.0 * phi[c] + phi[ir * ny + j])
                    + cy * (phi[i * ny + jl] - 2.0 * phi[c] + phi[i * ny + jr]);
                out[c] = -h + lap + self.source[c];
            }
        }
        sx / dx + sy / dy + 2.0 * (cx + cy)
    }

    /// `out = −H_h + ν Δ_h φ + source`; returns the stability rate `a/dx + 2ν/dx²`, `a` the
    /// largest `|H'|` over the derivative range.
    fn rhs<H: ConvexHamiltonian>(&mut self, ham: &H, phi: &[f64], out: &mut [f64]) -> f64 {
        if self.y.is_some() {
            return self.rhs_2d(ham, phi, out);
        }
        let n = phi.len();
        self.hj
            .derivatives(phi, self.dx, &mut self.minus, &mut self.plus);
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for (a, b) in self.minus.iter().zip(&self.plus) {
            lo = lo.min(a.min(*b));
            hi = hi.max(a.max(*b));
        }
        let speed = ham.speed_bound(lo, hi);
        let pstar = ham.argmin();
        let diff = self.nu / (self.dx * self.dx);
        let (first_l, last_r) = match self.ghosts {
            Ghosts::Periodic => (n - 1, 0),
            Ghosts::Reflect => (1, n - 2),
        };
        for i in 0..n {
            let (a, b) = (self.minus[i], self.plus[i]);
            let h = match self.settings.hamiltonian {
                NumericalHamiltonian::Godunov => {
                    ham.value(a.max(pstar)).max(ham.value(b.min(pstar)))
                }
                NumericalHamiltonian::LaxFriedrichs => {
                    ham.value(0.5 * (a + b)) - 0.5 * speed * (b - a)
                }
            };
            let l = if i == 0 { first_l } else { i - 1 };
            let r = if i + 1 == n { last_r } else { i + 1 };
            out[i] = -h + diff * (phi[l] - 2.0 * phi[i] + phi[r]) + self.source[i];
        }
        speed / self.dx + 2.0 * self.nu / (self.dx * self.dx)
    }

    /// Advance `phi` by `duration`; `source(s, out)` writes the source at offset `s`.
    /// Returns the number of sub-steps.
    pub fn advance<H: ConvexHamiltonian>(
        &mut self,
        ham: &H,
        phi: &mut [f64],
        duration: f64,
        source: &mut dyn FnMut(f64, &mut [f64]),
    ) -> Result<usize, SolveError> {
        let n = phi.len();
        assert_eq!(n, self.minus.len(), "HjEvolver::advance: wrong length");
        let mut s = 0.0;
        let mut steps = 0;
        let mut k = std::mem::take(&mut self.k);
        let mut stage = std::mem::take(&mut self.stage);
        let mut start = std::mem::take(&mut self.start);
        let result = (|| {
            while s < duration {
                source(s, &mut self.source);
                let rate = self.rhs(ham, phi, &mut k);
                let remaining = duration - s;
                let substeps = if rate > 0.0 {
                    (remaining * rate / self.settings.cfl).ceil().max(1.0)
                } else {
                    1.0
                };
                if substeps > self.settings.max_substeps as f64 || !substeps.is_finite() {
                    return Err(SolveError::Unsupported {
                        solver: "weno HJB",
                        what: "a time level needing more than max_substeps sub-steps (the gradient or the diffusion is too large for this grid: refine nt or use hjb.method = \"fdm\")",
                    });
                }
                let h = if substeps == 1.0 {
                    remaining
                } else {
                    remaining / substeps
                };
                // Shu–Osher TVD-RK3.
                start.copy_from_slice(phi);
                for i in 0..n {
                    stage[i] = start[i] + h * k[i];
                }
                source(s + h, &mut self.source);
                self.rhs(ham, &stage, &mut k);
                for i in 0..n {
                    stage[i] = 0.75 * start[i] + 0.25 * (stage[i] + h * k[i]);
                }
                source(s + 0.5 * h, &mut self.source);
                self.rhs(ham, &stage, &mut k);
                let mut finite = true;
                for i in 0..n {
                    phi[i] = (start[i] + 2.0 * (stage[i] + h * k[i])) / 3.0;
                    finite &= phi[i].is_finite();
                }
                if !finite {
                    let index = phi.iter().position(|v| !v.is_finite()).unwrap_or(0);
                    return Err(SolveError::NonFinite {
                        field: "u",
                        time_level: usize::MAX,
                        index,
                    });
                }
                s = if substeps == 1.0 { duration } else { s + h };
                steps += 1;
            }
            Ok(steps)
        })();
        self.k = k;
        self.stage = stage;
        self.start = start;
        result
    }
}

/// The HJ-WENO5 HJB solver (1D and 2D).
///
/// Backward in time (`τ = T − t`), each level `k` from `k + 1`:
///
/// ```text
/// ∂τ u = −H_h(ux⁻, ux⁺) + ν Δ_h u + f(x, m(t)),   H = |p|²/(2λ),
/// ```
///
/// (in 2D dimension by dimension: `H_h = H_h(ux⁻, ux⁺) + H_h(uy⁻, uy⁺)`, exact for this
/// separable `H`, see [`HjEvolver`])
///
/// with Jiang–Peng HJ-WENO5 one-sided derivatives (JS, Z or M weights), a Godunov or
/// Lax–Friedrichs numerical Hamiltonian, second-order central diffusion, and Shu–Osher TVD-RK3
/// in sub-steps that satisfy `dt (max|H'|/dx + 2ν/dx²) ≤ cfl`, chosen anew for every sub-step so
/// the whole horizon is integrated stably. `f` is interpolated linearly in time between the
/// levels (`m^{k+1}` at the start, `m^k` at the end). No-flux walls reflect `u` evenly.
///
/// ```
/// use hjb_solver::{WenoHjb, WenoSettings};
/// use mfg_core::{HjbSolver, test_problems::LqGaussian};
/// use ndarray::Array2;
/// let lq = LqGaussian::default();
/// let p = lq.problem(200, 50);
/// let m = Array2::<f64>::zeros((51, 201));
/// let mut u = Array2::<f64>::zeros((51, 201));
/// WenoHjb::new(WenoSettings::default()).solve_into(&p, m.view(), u.view_mut()).unwrap();
/// let i = 115; // x = -4 + 115 * 0.04 = 0.6
/// // u is quadratic in x: WENO5 and the central diffusion reproduce it, RK3 integrates in time.
/// assert!((u[[0, i]] - lq.u(0.0, 0.6)).abs() < 1e-6);
/// ```
///
/// # References
/// G.-S. Jiang, D. Peng, SIAM J. Sci. Comput. 21 (2000) 2126–2143; C.-W. Shu, S. Osher,
/// J. Comput. Phys. 77 (1988) 439–471.
#[derive(Debug, Clone)]
pub struct WenoHjb {
    settings: WenoSettings,
    evolver: Option<HjEvolver>,
    /// What the evolver was built for: points and spacing per axis, ν, walls.
    key: Option<EvolverKey>,
    f_hi: Vec<f64>,
    f_lo: Vec<f64>,
}

type EvolverKey = (Vec<(usize, u64)>, u64, Ghosts);

impl WenoHjb {
    /// A solver with the given settings (validated by `solve_into`).
    pub fn new(settings: WenoSettings) -> Self {
        Self {
            settings,
            evolver: None,
            key: None,
            f_hi: Vec::new(),
            f_lo: Vec::new(),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &WenoSettings {
        &self.settings
    }
}

impl HjbSolver for WenoHjb {
    fn name(&self) -> &'static str {
        match self.settings.weights {
            Weights::Js => "weno5",
            Weights::Z => "weno-z",
            Weights::M => "weno-m",
        }
    }

    fn solve_into(
        &mut self,
        problem: &Problem,
        m: ArrayView2<'_, f64>,
        mut u: ArrayViewMut2<'_, f64>,
    ) -> Result<HjbStats, SolveError> {
        check_shape(problem, m.shape(), "m");
        check_shape(problem, u.shape(), "u");
        let grid = problem.grid();
        if grid.dim() > 2 {
            return Err(SolveError::Unsupported {
                solver: "weno HJB",
                what: "grids of more than two dimensions",
            });
        }
        if grid.axes().iter().any(|a| a.len() < MIN_POINTS) {
            return Err(SolveError::Unsupported {
                solver: "weno HJB",
                what: "grids with fewer than 8 points along an axis (the WENO stencils need 7)",
            });
        }
        if self.settings.validate().is_err() {
            return Err(SolveError::Unsupported {
                solver: "weno HJB",
                what: "a CFL number outside (0, 1]",
            });
        }
        let n = grid.len();
        let nu = problem.nu();
        let ghosts = match grid.boundary() {
            Boundary::Periodic => Ghosts::Periodic,
            Boundary::NoFlux => Ghosts::Reflect,
        };
        let key = (
            grid.axes()
                .iter()
                .map(|a| (a.len(), a.dx().to_bits()))
                .collect::<Vec<_>>(),
            nu.to_bits(),
            ghosts,
        );
        if self.key.as_ref() != Some(&key) {
            self.evolver = Some(if grid.dim() == 1 {
                HjEvolver::new(n, grid.axis(0).dx(), nu, ghosts, self.settings)
            } else {
                HjEvolver::new_2d(
                    [grid.axis(0).len(), grid.axis(1).len()],
                    [grid.axis(0).dx(), grid.axis(1).dx()],
                    nu,
                    ghosts,
                    self.settings,
                )
            });
            self.f_hi = vec![0.0; n];
            self.f_lo = vec![0.0; n];
            self.key = Some(key);
        }
        let ev = self.evolver.as_mut().expect("allocated above");
        let nt = problem.time().nt();
        let dt = problem.time().dt();
        let ham = *problem.hamiltonian();
        let mut stats = HjbStats::default();

        u.row_mut(nt)
            .as_slice_mut()
            .expect("contiguous row")
            .copy_from_slice(problem.terminal_cost());
        let row = |k: usize| m.row(k).to_slice().expect("contiguous row");
        problem.running_cost_into(nt, row(nt), &mut self.f_hi);
        for k in (0..nt).rev() {
            problem.running_cost_into(k, row(k), &mut self.f_lo);
            let (next, mut cur) = u.multi_slice_mut((ndarray::s![k + 1, ..], ndarray::s![k, ..]));
            let phi = cur.as_slice_mut().expect("contiguous row");
            phi.copy_from_slice(next.as_slice().expect("contiguous row"));
            let (f_hi, f_lo) = (&self.f_hi, &self.f_lo);
            let mut source = |s: f64, out: &mut [f64]| {
                let w = s / dt;
                for ((o, a), b) in out.iter_mut().zip(f_hi).zip(f_lo) {
                    *o = a + w * (b - a);
                }
            };
            let steps = ev
                .advance(&ham, phi, dt, &mut source)
                .map_err(|e| match e {
                    SolveError::NonFinite { field, index, .. } => SolveError::NonFinite {
                        field,
                        time_level: k,
                        index,
                    },
                    other => other,
                })?;
            trace!(level = k, substeps = steps);
            stats.newton_iterations += steps;
            stats.max_newton_per_level = stats.max_newton_per_level.max(steps);
            std::mem::swap(&mut self.f_hi, &mut self.f_lo);
        }
        Ok(stats)
    }
}
