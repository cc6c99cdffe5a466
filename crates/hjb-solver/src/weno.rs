//! `WenoHjb`: HJ-WENO5 derivatives, a monotone numerical Hamiltonian, central diffusion and
//! TVD-RK3 with stable sub-steps.

use ndarray::{ArrayView2, ArrayViewMut2};
use tracing::trace;

use mfg_core::scheme::apply_laplacian;
use mfg_core::solver::{check_shape, Stop};
use mfg_core::{
    Boundary, Description, Grid, Hamiltonian, HjbSolver, HjbStats, Problem, ProblemError, Setting,
    SolveError, MAX_DIM,
};
use weno_kernels::{Ghosts, HjWeno, Weights};

/// The numerical Hamiltonian built from the one-sided derivatives `a = φ⁻`, `b = φ⁺`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NumericalHamiltonian {
    /// Godunov ([`Hamiltonian::godunov`]): for a convex one-dimensional `H` with minimiser `p*`,
    /// `min_{p∈[a,b]} H` if `a ≤ b`, else `max_{p∈[b,a]} H`, i.e. `max(H(max(a, p*)),
    /// H(min(b, p*)))`; summed over the axes for a separable `H`.
    Godunov,
    /// Global Lax–Friedrichs: `H((a + b)/2) − Σ_d α_d (b_d − a_d)/2`, `α_d` a bound on
    /// `|∂H/∂p_d|` over the data ([`Hamiltonian::speed_bound`]).
    LaxFriedrichs,
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
                field: "cfl",
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

/// HJ-WENO5 + TVD-RK3 integration of `φ_τ = −H_h(∇φ⁻, ∇φ⁺) + ν Δ_h φ + s(τ)` on a grid of
/// any dimension, dimension by dimension: the WENO one-sided derivatives along every line of
/// every axis, the numerical Hamiltonian of the per-axis derivatives ([`NumericalHamiltonian`]),
/// the `(2d + 1)`-point Laplacian; sub-steps satisfy `dt Σ_d (a_d/dx_d + 2ν/dx_d²) ≤ cfl`,
/// `a_d` the largest `|∂H/∂p_d|` over the derivative ranges. Periodic grids wrap, no-flux walls
/// reflect `φ` evenly.
///
/// ```
/// use hjb_solver::{HjEvolver, WenoSettings};
/// use mfg_core::{Boundary, Grid, Quadratic};
/// // φ_τ = −φ_x²/2 + 1 from a constant φ: φ grows at rate 1 everywhere.
/// let grid = Grid::line(0.0, 1.0, 16, Boundary::NoFlux).unwrap();
/// let mut phi = vec![0.3; grid.len()];
/// let mut ev = HjEvolver::new(&grid, 0.0, WenoSettings::default());
/// ev.advance(&Quadratic::new(1.0), &mut phi, 0.5, &mut |_, s: &mut [f64]| s.fill(1.0)).unwrap();
/// assert!(phi.iter().all(|v| (v - 0.8).abs() < 1e-12));
/// ```
#[derive(Debug, Clone)]
pub struct HjEvolver {
    settings: WenoSettings,
    grid: Grid,
    nu: f64,
    /// Per axis: the WENO derivative kernel for lines of that axis's length.
    hj: Vec<HjWeno>,
    /// Per axis: the one-sided derivatives at every point.
    minus: Vec<Vec<f64>>,
    plus: Vec<Vec<f64>>,
    /// A strided line gathered, and its derivatives.
    line: Vec<f64>,
    line_minus: Vec<f64>,
    line_plus: Vec<f64>,
    ham: Vec<f64>,
    k: Vec<f64>,
    stage: Vec<f64>,
    start: Vec<f64>,
    source: Vec<f64>,
    stop: Stop,
}

impl HjEvolver {
    /// An evolver on `grid` with diffusion `ν ≥ 0`.
    ///
    /// # Panics
    /// If an axis has fewer than [`MIN_POINTS`] points.
    pub fn new(grid: &Grid, nu: f64, settings: WenoSettings) -> Self {
        assert!(
            grid.axes().iter().all(|a| a.len() >= MIN_POINTS),
            "HjEvolver needs at least {MIN_POINTS} points per axis"
        );
        // Each axis its own ghosts (a channel: periodic along one, walls along another).
        let ghosts = |a: &mfg_core::Axis| match a.boundary() {
            Boundary::Periodic => Ghosts::Periodic,
            Boundary::NoFlux => Ghosts::Reflect,
        };
        let n = grid.len();
        let dim = grid.dim();
        let longest = grid.shape().into_iter().max().unwrap_or(0);
        Self {
            settings,
            grid: grid.clone(),
            nu,
            hj: grid
                .axes()
                .iter()
                .map(|a| HjWeno::new(a.len(), settings.weights, ghosts(a)))
                .collect(),
            minus: vec![vec![0.0; n]; dim],
            plus: vec![vec![0.0; n]; dim],
            line: vec![0.0; longest],
            line_minus: vec![0.0; longest],
            line_plus: vec![0.0; longest],
            ham: vec![0.0; n],
            k: vec![0.0; n],
            stage: vec![0.0; n],
            start: vec![0.0; n],
            source: vec![0.0; n],
            stop: Stop::never(),
        }
    }

    /// Stop [`HjEvolver::advance`] with [`SolveError::TimeLimit`] or
    /// [`SolveError::Interrupted`] as `stop` says (checked at every sub-step).
    pub fn set_stop(&mut self, stop: Stop) {
        self.stop = stop;
    }

    /// The number of values the evolver advances.
    pub fn len(&self) -> usize {
        self.k.len()
    }

    /// Never true (an evolver has at least [`MIN_POINTS`] points).
    pub fn is_empty(&self) -> bool {
        self.k.is_empty()
    }

    /// `out = −H_h + ν Δ_h φ + source`; returns the stability rate `Σ_d (a_d/dx_d + 2ν/dx_d²)`.
    fn rhs(&mut self, ham: &dyn Hamiltonian, phi: &[f64], out: &mut [f64]) -> f64 {
        let grid = &self.grid;
        let dim = grid.dim();
        let (mut lo, mut hi) = ([0.0; MAX_DIM], [0.0; MAX_DIM]);
        for d in 0..dim {
            let dx = grid.axis(d).dx();
            let (minus, plus) = (&mut self.minus[d], &mut self.plus[d]);
            for line in grid.lines(d) {
                let len = line.len;
                if line.stride == 1 {
                    let r = line.start..line.start + len;
                    self.hj[d].derivatives(
                        &phi[r.clone()],
                        dx,
                        &mut minus[r.clone()],
                        &mut plus[r],
                    );
                } else {
                    line.gather(phi, &mut self.line);
                    self.hj[d].derivatives(
                        &self.line[..len],
                        dx,
                        &mut self.line_minus[..len],
                        &mut self.line_plus[..len],
                    );
                    line.scatter(&self.line_minus, minus);
                    line.scatter(&self.line_plus, plus);
                }
            }
            (lo[d], hi[d]) = minus
                .iter()
                .zip(plus.iter())
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), (p, q)| {
                    (l.min(p.min(*q)), h.max(p.max(*q)))
                });
        }
        let mut speed = [0.0; MAX_DIM];
        let mut diff = [0.0; MAX_DIM];
        let (mut advection, mut diffusion) = (0.0, 0.0);
        for d in 0..dim {
            let dx = grid.axis(d).dx();
            speed[d] = ham.speed_bound(d, &lo[..dim], &hi[..dim]);
            diff[d] = self.nu / (dx * dx);
            advection += speed[d] / dx;
            diffusion += diff[d];
        }
        match self.settings.hamiltonian {
            NumericalHamiltonian::Godunov => {
                ham.godunov_into(grid, &self.minus, &self.plus, &mut self.ham)
            }
            NumericalHamiltonian::LaxFriedrichs => {
                ham.lax_friedrichs_into(grid, &self.minus, &self.plus, &speed[..dim], &mut self.ham)
            }
        }
        apply_laplacian(grid, self.nu, phi, out);
        for ((o, h), s) in out.iter_mut().zip(&self.ham).zip(&self.source) {
            *o = -h + *o + s;
        }
        advection + 2.0 * diffusion
    }

    /// Advance `phi` by `duration`; `source(s, out)` writes the source at offset `s`.
    /// Returns the number of sub-steps.
    pub fn advance(
        &mut self,
        ham: &dyn Hamiltonian,
        phi: &mut [f64],
        duration: f64,
        source: &mut dyn FnMut(f64, &mut [f64]),
    ) -> Result<usize, SolveError> {
        let n = phi.len();
        assert_eq!(n, self.k.len(), "HjEvolver::advance: wrong length");
        let mut s = 0.0;
        let mut steps = 0;
        let mut k = std::mem::take(&mut self.k);
        let mut stage = std::mem::take(&mut self.stage);
        let mut start = std::mem::take(&mut self.start);
        let result = (|| {
            while s < duration {
                // Sub-steps can be many (∝ nx²): the deadline is checked at every one.
                self.stop.check(usize::MAX)?;
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
                        what: "a time level needing more than max_substeps sub-steps (the gradient or the diffusion is too large for this grid: use more time steps or the implicit FDM scheme)",
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

/// The HJ-WENO5 HJB solver, in one, two and three dimensions.
///
/// Backward in time (`τ = T − t`), each level `k` from `k + 1`:
///
/// ```text
/// ∂τ u = −H_h(∇u⁻, ∇u⁺) + ν Δ_h u + f(x, m(t)),
/// ```
///
/// (dimension by dimension, see [`HjEvolver`]; `H` the problem's [`Hamiltonian`])
///
/// with Jiang–Peng HJ-WENO5 one-sided derivatives (JS, Z or M weights), a Godunov or
/// Lax–Friedrichs numerical Hamiltonian, second-order central diffusion, and Shu–Osher TVD-RK3
/// in sub-steps that satisfy `dt (max|H'|/dx + 2ν/dx²) ≤ cfl`, chosen anew for every sub-step so
/// the whole horizon is integrated stably. `f` is interpolated linearly in time between the
/// levels (`m^{k+1}` at the start, `m^k` at the end). No-flux walls reflect `u` evenly.
///
/// ```
/// use hjb_solver::{WenoHjb, WenoSettings};
/// use mfg_core::HjbSolver;
/// use mfg_test_problems::LqGaussian;
/// use ndarray::Array2;
/// let lq = LqGaussian::default();
/// let p = lq.problem(200, 50);
/// let m = Array2::<f64>::zeros((51, 201));
/// let mut u = Array2::<f64>::zeros((51, 201));
/// WenoHjb::new(WenoSettings::default()).unwrap().solve_into(&p, m.view(), u.view_mut()).unwrap();
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
    /// What the evolver was built for: the grid and ν.
    key: Option<EvolverKey>,
    f_hi: Vec<f64>,
    f_lo: Vec<f64>,
    stop: Stop,
}

type EvolverKey = (Grid, u64);

impl WenoHjb {
    /// A solver with the given settings, validated here ([`WenoSettings::validate`]).
    pub fn new(settings: WenoSettings) -> Result<Self, ProblemError> {
        settings.validate()?;
        Ok(Self {
            settings,
            evolver: None,
            key: None,
            f_hi: Vec::new(),
            f_lo: Vec::new(),
            stop: Stop::never(),
        })
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

    fn describe(&self, _grid: &Grid) -> Description {
        let s = &self.settings;
        Description {
            method: self.name(),
            scheme: "HJ-WENO5 (Jiang-Peng) + central diffusion + TVD-RK3 sub-steps".into(),
            settings: vec![
                ("weights", Setting::Text(s.weights.name().into())),
                (
                    "hamiltonian",
                    Setting::Text(
                        match s.hamiltonian {
                            NumericalHamiltonian::Godunov => "godunov",
                            NumericalHamiltonian::LaxFriedrichs => "lax-friedrichs",
                        }
                        .into(),
                    ),
                ),
                ("cfl", Setting::Real(s.cfl)),
            ],
        }
    }

    fn set_stop(&mut self, stop: Stop) {
        self.stop = stop;
    }

    fn solve_into(
        &mut self,
        problem: &Problem,
        m: ArrayView2<'_, f64>,
        mut u: ArrayViewMut2<'_, f64>,
    ) -> Result<HjbStats, SolveError> {
        check_shape(problem, m.shape(), "m");
        check_shape(problem, u.shape(), "u");
        if problem.hamiltonian().depends_on_density() {
            return Err(SolveError::Unsupported {
                solver: "weno HJB",
                what: "a Hamiltonian that depends on the density (congestion): use the FDM scheme",
            });
        }
        let grid = problem.grid();
        if grid.has_geometry() {
            return Err(SolveError::Unsupported {
                solver: "weno HJB",
                what: "exits and obstacles (its stencils reach across them): use the FDM scheme",
            });
        }
        if grid.axes().iter().any(|a| a.len() < MIN_POINTS) {
            return Err(SolveError::Unsupported {
                solver: "weno HJB",
                what: "grids with fewer than 8 points along an axis (the WENO stencils need 7)",
            });
        }
        let n = grid.len();
        let nu = problem.nu();
        let key = (grid.clone(), nu.to_bits());
        if self.key.as_ref() != Some(&key) {
            self.evolver = Some(HjEvolver::new(grid, nu, self.settings));
            self.f_hi = vec![0.0; n];
            self.f_lo = vec![0.0; n];
            self.key = Some(key);
        }
        let ev = self.evolver.as_mut().expect("allocated above");
        ev.set_stop(self.stop.clone());
        let nt = problem.time().nt();
        let dt = problem.time().dt();
        let ham = problem.hamiltonian();
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
            let steps = ev.advance(ham, phi, dt, &mut source).map_err(|e| match e {
                SolveError::NonFinite { field, index, .. } => SolveError::NonFinite {
                    field,
                    time_level: k,
                    index,
                },
                SolveError::TimeLimit { .. } => SolveError::TimeLimit { time_level: k },
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
