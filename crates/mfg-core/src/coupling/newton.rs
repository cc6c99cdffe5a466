//! Newton's method for the coupled discrete system, the step of [`crate::IterationMethod::Newton`].
//!
//! The finite-difference scheme couples, for `k = 0 … nt − 1`,
//!
//! ```text
//! HJB   u^k − u^{k+1} − dt (ν Δ_h u^k − H_h(u^k) + f(x, m^{k+1})) = 0,   u^{nt} = g,
//! FP    (I − dt L(u^k)ᵀ) μ^{k+1} − μ^k = 0,                            μ^0 = w m_0,
//! ```
//!
//! (`μ = w m` the masses, `L(u)` the upwind generator). Its Jacobian has four blocks: HJB with
//! respect to `u` (`I − dt L(u^k)` on the diagonal, `−I` above), HJB with respect to `m`
//! (`−dt ∂_m f`), FP with respect to `m` (`I − dt L(u^k)ᵀ`, `−I` below) and FP with respect
//! to `u` (`−dt ∂_u(L(u)ᵀ μ)`, [`crate::Hamiltonian::transpose_generator_derivative`]).
//!
//! Newton is applied with both equations eliminated exactly (nonlinear elimination): at the
//! iterate `m`, the HJB solve gives `u = U(m)` and the FP solve the masses `Φ(m)`, and Newton's
//! correction solves the Schur complement of the Jacobian,
//!
//! ```text
//! (I − Φ'(m)) δ = Φ(m) − m,    Φ'(m) v = W⁻¹ D⁻¹ (dt N A⁻¹ (dt ∂_m f v)),
//! ```
//!
//! by GMRES: every product is a backward sweep of the per-level HJB Jacobians (`A`) and a
//! forward sweep of the per-level FP systems (`D`), solved by the grid's
//! [`crate::linalg::LinearBackend`] (Thomas in 1D, preconditioned BiCGSTAB in 2D and 3D). The
//! fixed point is the discrete system's solution, the same as Picard's; near it the
//! convergence is quadratic. A backtracking line search on the residual `‖Φ(m) − m‖` globalises
//! it, and a correction that GMRES cannot find falls back to a damped Picard step.

use ndarray::Array2;
use tracing::debug;

use crate::coupling::anderson::StepKind;
use crate::coupling::settings::IterationSettings;
use crate::coupling::solution::IterationRecord;
use crate::error::{MfgError, SolveError};
use crate::linalg::{
    backend_for, Gmres, KrylovParams, LinearBackend, LinearError, LinearInfo, Tridiagonal,
    TridiagonalFactors,
};
use crate::model::Problem;

/// When a full Newton step fails at a relative residual above this, damped Picard steps
/// take over until the residual is below it. Measured on the tutorial (evaluations to 1e-8):
/// 13 at 0.1, 11 at 0.15 and 0.2, 70 at 0.3 (Newton cannot take over); the cold-start hard
/// cases of tests/newton.rs converge at 0.1, 0.15 and 0.2 alike.
const SWITCH: f64 = 0.15;
/// Restart length of the outer GMRES.
const RESTART: usize = 60;
/// Its iteration cap per Newton step: near the fixed point, and far from it (where a rough
/// direction is all the line search can use, and a hard system means Picard should lead).
const MAX_KRYLOV: usize = 300;
const MAX_KRYLOV_FAR: usize = 5;
/// Relative accuracy of the per-level solves inside a product (iterative backends): this
/// factor times GMRES's own tolerance, within [`LEVEL_TOL_MIN`, `LEVEL_TOL_MAX`] (measured on
/// crowd-2d, criterion: 0.1 and 1e-2 take it to 1e-6 in 2.38 s, 0.01 and 1e-4 in 3.46 s, with
/// the same evaluations).
const LEVEL_TOL_FACTOR: f64 = 1e-1;
const LEVEL_TOL_MIN: f64 = 1e-11;
const LEVEL_TOL_MAX: f64 = 1e-2;
/// Armijo's sufficient decrease.
const ARMIJO: f64 = 1e-4;
/// The smallest step length tried before the line search gives up on the direction.
const MIN_STEP: f64 = 1e-2;

/// The jump rates of `L(u^k)` of one level, per axis.
struct LevelRates {
    to_prev: Vec<Vec<f64>>,
    to_next: Vec<Vec<f64>>,
}

/// The linearisation of the coupled system at an iterate, and the work storage of its products
/// `v ↦ (I − Φ'(m)) v` (allocated once per solve).
struct Linearisation {
    n: usize,
    nt: usize,
    dt: f64,
    /// Jump rates of `L(u^k)` per level `k < nt` (to previous, to next; per axis).
    rates: Vec<LevelRates>,
    backend: Box<dyn LinearBackend>,
    /// With a direct backend: the factorisations of `I − dt L(u^k)` and its transpose per
    /// level, kept for all the products of one Newton step (empty otherwise).
    factors: Vec<(TridiagonalFactors, TridiagonalFactors)>,
    /// `dt ∂_m f(x, m^{k+1})` per level `k < nt`.
    coupling: Vec<f64>,
    /// A nonlocal running cost: `coupling` then holds `m^{k+1}` of every level, and the
    /// products apply [`crate::RunningCost::derivative_into`] (a convolution) instead.
    nonlocal: bool,
    /// A density-dependent Hamiltonian (congestion): its extra Jacobian terms.
    congestion: Option<Congested>,
    /// `u` at the iterate, flat (levels × n).
    u: Vec<f64>,
    /// `μ = w Φ(m)`, flat (levels × n).
    mu: Vec<f64>,
    inv_weights: Vec<f64>,
    /// Work: `δu` on all levels, one level's `δμ`, right-hand side and product.
    du: Vec<f64>,
    dmu: Vec<f64>,
    rhs: Vec<f64>,
    level: Vec<f64>,
}

/// The Jacobian terms of a density-dependent Hamiltonian `s(m) H₀` ([`Hamiltonian::density_factor`]):
/// the HJB at level `k` sees `s(m^{k+1})` of the iterate, the FP step `k → k+1` `s(m^k)` of its
/// own solution, so the levels' HJB and FP systems have their own rates, the HJB rows a term in
/// `m^{k+1}` (`−dt s'(m) H₀_h(u^k)`), and the FP rows one in their own density (the rates' `m`
/// derivative `s'(m_i) × speed`).
struct Congested {
    /// The FP step's rates per level (`rates` holds the HJB's).
    fp_rates: Vec<LevelRates>,
    /// The unscaled speed parts `rate − ν/dx²` per level and axis.
    speed: Vec<LevelRates>,
    /// `dt s'(m^{k+1}) H₀_h(u^k)` per level (flat, nt × n).
    hjb_m: Vec<f64>,
    /// `s(m^k)` and `s'(m^k)` of the FP's own density per level (flat, nt × n).
    s_own: Vec<f64>,
    ds_own: Vec<f64>,
    /// Work: one level's `H₀_h`, and `μ^{k+1} s(m^k)`.
    h0: Vec<f64>,
    mu_scaled: Vec<f64>,
}

impl Congested {
    fn new(nt: usize, n: usize, dim: usize) -> Self {
        let rates = || {
            (0..nt)
                .map(|_| LevelRates {
                    to_prev: vec![vec![0.0; n]; dim],
                    to_next: vec![vec![0.0; n]; dim],
                })
                .collect()
        };
        Self {
            fp_rates: rates(),
            speed: rates(),
            hjb_m: vec![0.0; nt * n],
            s_own: vec![0.0; nt * n],
            ds_own: vec![0.0; nt * n],
            h0: vec![0.0; n],
            mu_scaled: vec![0.0; n],
        }
    }
}

/// The Newton step's storage, allocated once per solve.
pub(crate) struct NewtonStepper {
    lin: Linearisation,
    gmres: Gmres,
    /// The Newton system's right-hand side and correction (flat, levels × n).
    b: Vec<f64>,
    delta: Vec<f64>,
    /// The line search: the iterate the direction was computed at, its Φ, its residual, the
    /// step length.
    base: Vec<f64>,
    base_phi: Vec<f64>,
    base_residual: f64,
    alpha: f64,
    has_base: bool,
    /// Damped Picard steps until the residual is below [`SWITCH`].
    picard_phase: bool,
}

/// Whether a local running cost decreases in `m` at some point of the iterate `m` (all
/// levels): attraction, a game that is not monotone.
fn attracts(problem: &Problem, m: &[f64]) -> bool {
    let (coupling, grid) = (problem.coupling(), problem.grid());
    if !coupling.is_local() {
        return false;
    }
    let n = grid.len();
    m.chunks_exact(n).enumerate().skip(1).any(|(k, level)| {
        let t = problem.time().t(k);
        level
            .iter()
            .zip(grid.coordinates())
            .any(|(mi, x)| coupling.dm(t, x, *mi) < 0.0)
    })
}

/// `m ← m + θ (Φ(m) − m)`: a damped Picard step from `m`, whose map value is `phi`.
fn relax(m: &mut [f64], phi: &[f64], theta: f64) {
    for (mi, p) in m.iter_mut().zip(phi) {
        *mi += theta * (p - *mi);
    }
}

impl NewtonStepper {
    pub(crate) fn new(problem: &Problem) -> Self {
        let flat = (problem.time().nt() + 1) * problem.grid().len();
        Self {
            lin: Linearisation::new(problem),
            gmres: Gmres::new(flat, RESTART),
            b: vec![0.0; flat],
            delta: vec![0.0; flat],
            base: vec![0.0; flat],
            base_phi: vec![0.0; flat],
            base_residual: f64::INFINITY,
            alpha: 1.0,
            has_base: false,
            picard_phase: false,
        }
    }

    /// The next iterate after the evaluation at `m` (`u = U(m)`, `phi = Φ(m)`, the relative
    /// residual in `record`): a shorter step along the last direction when the residual did not
    /// fall enough, else a new Newton correction. Returns the step kind and GMRES iterations.
    pub(crate) fn advance(
        &mut self,
        problem: &Problem,
        m: &mut Array2<f64>,
        u: &Array2<f64>,
        phi: &Array2<f64>,
        record: &IterationRecord,
        settings: &IterationSettings,
    ) -> Result<(StepKind, usize), MfgError> {
        let (residual, iteration) = (record.residual_m, record.iteration);
        let damping = settings.damping;
        let flat_m = m.as_slice_mut().expect("standard layout");
        let flat_phi = phi.as_slice().expect("standard layout");
        if self.picard_phase {
            if residual > SWITCH {
                relax(flat_m, flat_phi, damping);
                return Ok((StepKind::Damped, 0));
            }
            self.picard_phase = false;
        }
        if self.has_base && residual > (1.0 - ARMIJO * self.alpha) * self.base_residual {
            if self.alpha == 1.0 && self.base_residual > SWITCH {
                // Far from the fixed point, where the full step fails, the upwind scheme's
                // switches make Newton's model poor: damped Picard steps until the residual
                // is below SWITCH.
                debug!(
                    iteration,
                    "full Newton step rejected far from the fixed point"
                );
                self.picard_phase = true;
                self.has_base = false;
                flat_m.copy_from_slice(&self.base);
                relax(flat_m, &self.base_phi, damping);
                return Ok((StepKind::Fallback, 0));
            }
            // Not enough decrease. The model φ(α) ≈ φ₀ (1 − α) + c α² through the trial
            // (exact Newton: φ'(0) = −φ₀) has its minimum at φ₀ / (2c); try that, within
            // [α/10, α/2].
            let (phi0, a) = (self.base_residual, self.alpha);
            let c = (residual - phi0 * (1.0 - a)) / (a * a);
            let next = if c > 0.0 { phi0 / (2.0 * c) } else { 0.5 * a };
            let next = next.clamp(0.1 * a, 0.5 * a);
            if next >= MIN_STEP {
                self.alpha = next;
                for ((mi, b), d) in flat_m.iter_mut().zip(&self.base).zip(&self.delta) {
                    *mi = b + next * d;
                }
                debug!(iteration, alpha = next, "Newton line search");
                return Ok((StepKind::LineSearch, 0));
            }
            // Newton's direction does not lower the residual here: a damped Picard step from
            // the point it was computed at, then a new direction.
            debug!(iteration, "Newton line search failed: damped step");
            self.has_base = false;
            flat_m.copy_from_slice(&self.base);
            relax(flat_m, &self.base_phi, damping);
            return Ok((StepKind::Fallback, 0));
        }
        if iteration == 1 && residual > SWITCH && attracts(problem, flat_m) {
            // A cold start far from the fixed point of a game with attraction (∂F/∂m < 0
            // somewhere: not monotone): the first full Newton step was measured to fail there
            // (the tutorial: r 0.29 → 2.6, then damped steps anyway), so damped steps lead
            // until the residual is below SWITCH.
            debug!(
                iteration,
                "attraction far from the fixed point: damped steps first"
            );
            self.picard_phase = true;
            relax(flat_m, flat_phi, damping);
            return Ok((StepKind::Damped, 0));
        }
        let coupled = self.lin.linearise(problem, flat_m, u, phi);
        // b = Φ(m) − m (row 0 is m0 in both).
        for ((b, p), mi) in self.b.iter_mut().zip(flat_phi).zip(flat_m.iter()) {
            *b = p - mi;
        }
        // Inexact Newton: a relative accuracy of the order of the residual (quadratic
        // convergence), but no finer than what takes the next residual below the tolerance,
        // at most 0.1.
        let tolerance = residual
            .max(0.1 * settings.tolerance / residual)
            .clamp(1e-12, 0.1);
        self.delta.iter_mut().for_each(|v| *v = 0.0);
        let mut failure: Option<SolveError> = None;
        let level_tol = (LEVEL_TOL_FACTOR * tolerance).clamp(LEVEL_TOL_MIN, LEVEL_TOL_MAX);
        let Self {
            lin,
            gmres,
            b,
            delta,
            ..
        } = self;
        let outcome = if !coupled {
            // Φ' = 0: the correction is the right-hand side itself.
            delta.copy_from_slice(b);
            Ok(LinearInfo::default())
        } else {
            gmres.solve(
                |v, out| {
                    lin.apply(problem, level_tol, v, out).map_err(|e| {
                        let err = LinearError::Breakdown {
                            iterations: 0,
                            relative_residual: f64::NAN,
                        };
                        failure = Some(e);
                        err
                    })
                },
                b,
                delta,
                KrylovParams {
                    tolerance,
                    max_iterations: if residual > SWITCH {
                        MAX_KRYLOV_FAR
                    } else {
                        MAX_KRYLOV
                    },
                },
            )
        };
        if let Some(source) = failure {
            return Err(MfgError::Iteration {
                iteration,
                solver: "newton",
                source,
            });
        }
        let (kind, krylov) = match outcome {
            Ok(info) => (StepKind::Newton, info.iterations),
            // A correction that still reduces the linear residual is a usable inexact step.
            Err(e) if e.relative_residual() < 0.5 => (StepKind::Newton, e.iterations()),
            Err(e) => {
                debug!(iteration, error = %e, "Newton correction not found: damped step");
                self.has_base = false;
                relax(flat_m, flat_phi, damping);
                return Ok((StepKind::Fallback, e.iterations()));
            }
        };
        self.base.copy_from_slice(flat_m);
        self.base_phi.copy_from_slice(flat_phi);
        self.base_residual = residual;
        self.alpha = 1.0;
        self.has_base = true;
        for (mi, d) in flat_m.iter_mut().zip(&self.delta) {
            *mi += d;
        }
        debug!(iteration, krylov, tolerance, "Newton step");
        Ok((kind, krylov))
    }
}

impl Linearisation {
    fn new(problem: &Problem) -> Self {
        let grid = problem.grid();
        let (n, dim) = (grid.len(), grid.dim());
        let nt = problem.time().nt();
        let flat = (nt + 1) * n;
        Self {
            n,
            nt,
            dt: problem.time().dt(),
            rates: (0..nt)
                .map(|_| LevelRates {
                    to_prev: vec![vec![0.0; n]; dim],
                    to_next: vec![vec![0.0; n]; dim],
                })
                .collect(),
            backend: backend_for(grid, None, 10_000),
            factors: Vec::new(),
            coupling: vec![0.0; nt * n],
            nonlocal: false,
            congestion: None,
            u: vec![0.0; flat],
            mu: vec![0.0; flat],
            inv_weights: grid.weights().iter().map(|w| 1.0 / w).collect(),
            du: vec![0.0; flat],
            dmu: vec![0.0; n],
            rhs: vec![0.0; n],
            level: vec![0.0; n],
        }
    }

    /// Store `u`, `μ = w Φ(m)`, the rates of `L(u^k)` and `dt ∂_m f(m^{k+1})` of every level.
    /// Returns false when `∂_m f` vanishes on every level: then `Φ` does not depend on `m`,
    /// `Φ' = 0`, and nothing else is needed (the correction is `Φ(m) − m`).
    fn linearise(
        &mut self,
        problem: &Problem,
        m: &[f64],
        u: &Array2<f64>,
        phi: &Array2<f64>,
    ) -> bool {
        let grid = problem.grid();
        let (n, nu, dt) = (self.n, problem.nu(), self.dt);
        let coupling = problem.coupling();
        self.nonlocal = !coupling.is_local();
        let mut coupled = self.nonlocal || problem.hamiltonian().depends_on_density();
        if self.nonlocal {
            self.coupling.copy_from_slice(&m[n..]);
        } else {
            for (k, c) in self.coupling.chunks_exact_mut(n).enumerate() {
                let next = &m[(k + 1) * n..(k + 2) * n];
                let t = problem.time().t(k + 1);
                for ((ci, x), mi) in c.iter_mut().zip(grid.coordinates()).zip(next) {
                    *ci = dt * coupling.dm(t, x, *mi);
                    coupled |= *ci != 0.0;
                }
            }
        }
        if !coupled {
            return false;
        }
        self.u
            .copy_from_slice(u.as_slice().expect("standard layout"));
        for ((mu, p), w) in self
            .mu
            .iter_mut()
            .zip(phi.as_slice().expect("standard layout"))
            .zip(grid.weights().iter().cycle())
        {
            *mu = w * p;
        }
        let h = problem.hamiltonian();
        if h.depends_on_density() {
            let c = self
                .congestion
                .get_or_insert_with(|| Congested::new(self.nt, n, grid.dim()));
            let flat_phi = phi.as_slice().expect("standard layout");
            for (k, r) in self.rates.iter_mut().enumerate() {
                let uk = &self.u[k * n..(k + 1) * n];
                h.upwind_rates(
                    grid,
                    nu,
                    uk,
                    &mut r.to_prev,
                    &mut r.to_next,
                    Some(&mut c.h0),
                );
                let (next, own) = (&m[(k + 1) * n..(k + 2) * n], &flat_phi[k * n..(k + 1) * n]);
                let level = k * n..(k + 1) * n;
                for ((((hm, s), ds), h0), (mn, mo)) in c.hjb_m[level.clone()]
                    .iter_mut()
                    .zip(&mut c.s_own[level.clone()])
                    .zip(&mut c.ds_own[level])
                    .zip(&c.h0)
                    .zip(next.iter().zip(own))
                {
                    *hm = dt * h.density_factor_dm(*mn) * h0;
                    *s = h.density_factor(*mo);
                    *ds = h.density_factor_dm(*mo);
                }
                let (sp, fp) = (&mut c.speed[k], &mut c.fp_rates[k]);
                for d in 0..grid.dim() {
                    let dx = grid.axis(d).dx();
                    let diff = nu / (dx * dx);
                    let own_factors = &c.s_own[k * n..(k + 1) * n];
                    for (i, (mn, &s_own)) in next.iter().zip(own_factors).enumerate() {
                        let s_next = h.density_factor(*mn);
                        for (rate, speed, fp_rate) in [
                            (
                                &mut r.to_prev[d][i],
                                &mut sp.to_prev[d][i],
                                &mut fp.to_prev[d][i],
                            ),
                            (
                                &mut r.to_next[d][i],
                                &mut sp.to_next[d][i],
                                &mut fp.to_next[d][i],
                            ),
                        ] {
                            *speed = *rate - diff;
                            *rate = diff + s_next * *speed;
                            *fp_rate = diff + s_own * *speed;
                        }
                    }
                }
            }
        } else {
            self.congestion = None;
            for (k, r) in self.rates.iter_mut().enumerate() {
                let uk = &self.u[k * n..(k + 1) * n];
                h.upwind_rates(grid, nu, uk, &mut r.to_prev, &mut r.to_next, None);
            }
        }
        if grid.has_geometry() {
            // Exits and obstacles: their rows of L are zero (as in `UpwindOperator`).
            for r in &mut self.rates {
                grid.mask_rates(&mut r.to_prev, &mut r.to_next);
            }
            if let Some(c) = &mut self.congestion {
                for r in c.speed.iter_mut().chain(c.fp_rates.iter_mut()) {
                    grid.mask_rates(&mut r.to_prev, &mut r.to_next);
                }
            }
        }
        // A direct backend's factorisations, once per Newton step for all its products
        // (storage allocated at the first step).
        if self.backend.is_direct() {
            let levels = self.rates.len();
            if self.factors.len() != levels {
                let empty = || Tridiagonal::new(n.max(3), false).factor();
                self.factors = (0..levels).map(|_| (empty(), empty())).collect();
            }
            for (k, (r, (plain, transposed))) in
                self.rates.iter().zip(self.factors.iter_mut()).enumerate()
            {
                self.backend.assemble(dt, &r.to_prev, &r.to_next, false);
                self.backend.factorise_into(plain);
                let fp = self.congestion.as_ref().map_or(r, |c| &c.fp_rates[k]);
                self.backend.assemble(dt, &fp.to_prev, &fp.to_next, true);
                self.backend.factorise_into(transposed);
            }
        }
        true
    }

    /// `out = (I − Φ'(m)) v`: a backward sweep of the HJB Jacobians, a forward sweep of the
    /// FP systems (level solves of iterative backends to `level_tol`).
    fn apply(
        &mut self,
        problem: &Problem,
        level_tol: f64,
        v: &[f64],
        out: &mut [f64],
    ) -> Result<(), SolveError> {
        let (n, nt, dt) = (self.n, self.nt, self.dt);
        let grid = problem.grid();
        let h = problem.hamiltonian();
        // δu: (I − dt L(u^k)) δu^k = δu^{k+1} + dt ∂_m f · v^{k+1}, backwards, δu^{nt} = 0.
        self.du[nt * n..].iter_mut().for_each(|x| *x = 0.0);
        for k in (0..nt).rev() {
            let (head, tail) = self.du.split_at_mut((k + 1) * n);
            let vk = &v[(k + 1) * n..(k + 2) * n];
            if self.nonlocal {
                let mk = &self.coupling[k * n..(k + 1) * n];
                problem.coupling().derivative_into(
                    grid,
                    problem.time().t(k + 1),
                    mk,
                    vk,
                    &mut self.rhs,
                );
                for (r, next) in self.rhs.iter_mut().zip(&tail[..n]) {
                    *r = next + dt * *r;
                }
            } else {
                for (((r, next), c), vi) in self
                    .rhs
                    .iter_mut()
                    .zip(&tail[..n])
                    .zip(&self.coupling[k * n..(k + 1) * n])
                    .zip(vk)
                {
                    *r = next + c * vi;
                }
            }
            if let Some(c) = &self.congestion {
                // −dt s'(m^{k+1}) H₀_h(u^k) δm^{k+1}: the HJB's factor moves with the iterate.
                for ((r, hm), vi) in self
                    .rhs
                    .iter_mut()
                    .zip(&c.hjb_m[k * n..(k + 1) * n])
                    .zip(vk)
                {
                    *r -= hm * vi;
                }
            }
            // u does not move at exits and obstacles.
            grid.zero_fixed(&mut self.rhs);
            let x = &mut head[k * n..];
            if let Some((plain, _)) = self.factors.get(k) {
                x.copy_from_slice(&self.rhs);
                plain.solve_in_place(x);
                continue;
            }
            let r = &self.rates[k];
            self.backend.assemble(dt, &r.to_prev, &r.to_next, false);
            x.copy_from_slice(&tail[..n]);
            self.backend
                .solve(&self.rhs, x, level_tol)
                .map_err(|e| SolveError::LinearSolve {
                    time_level: k,
                    iterations: e.iterations(),
                    residual: e.relative_residual(),
                })?;
        }
        // δμ: (I − dt L(u^k)ᵀ) δμ^{k+1} = δμ^k + dt ∂_u(L(u^k)ᵀ μ^{k+1}) δu^k, forwards.
        out[..n].copy_from_slice(&v[..n]);
        self.dmu.iter_mut().for_each(|x| *x = 0.0);
        for k in 0..nt {
            let mu_next = &self.mu[(k + 1) * n..(k + 2) * n];
            let level = k * n..(k + 1) * n;
            // With congestion the FP step's speeds carry s(m^k) of its own density: scale μ,
            // the speeds' u-derivative is linear in it.
            let mu_used = match &mut self.congestion {
                Some(c) => {
                    for ((ms, mu), s) in c
                        .mu_scaled
                        .iter_mut()
                        .zip(mu_next)
                        .zip(&c.s_own[level.clone()])
                    {
                        *ms = mu * s;
                    }
                    &c.mu_scaled[..]
                }
                None => mu_next,
            };
            h.transpose_generator_derivative(
                grid,
                &self.u[level.clone()],
                mu_used,
                &self.du[level.clone()],
                &mut self.level,
            );
            if let Some(c) = &self.congestion {
                // ∂_{m^k}(L(u^k, m^k)ᵀ μ^{k+1}) δm^k, δm^k = δμ^k / w: the rates out of point i
                // move with s'(m_i) × their speed part.
                for d in 0..grid.dim() {
                    let (sp, sn) = (&c.speed[k].to_prev[d], &c.speed[k].to_next[d]);
                    for (i, [l, r]) in grid.neighbour_table(d).iter().enumerate() {
                        let coef =
                            mu_next[i] * c.ds_own[k * n + i] * self.dmu[i] * self.inv_weights[i];
                        if coef != 0.0 {
                            self.level[*l] += coef * sp[i];
                            self.level[*r] += coef * sn[i];
                            self.level[i] -= coef * (sp[i] + sn[i]);
                        }
                    }
                }
            }
            for ((r, d), l) in self
                .rhs
                .iter_mut()
                .zip(self.dmu.iter())
                .zip(self.level.iter())
            {
                *r = d + dt * l;
            }
            if let Some((_, transposed)) = self.factors.get(k) {
                self.dmu.copy_from_slice(&self.rhs);
                transposed.solve_in_place(&mut self.dmu);
            } else {
                let r = self
                    .congestion
                    .as_ref()
                    .map_or(&self.rates[k], |c| &c.fp_rates[k]);
                self.backend.assemble(dt, &r.to_prev, &r.to_next, true);
                self.backend
                    .solve(&self.rhs, &mut self.dmu, level_tol)
                    .map_err(|e| SolveError::LinearSolve {
                        time_level: k + 1,
                        iterations: e.iterations(),
                        residual: e.relative_residual(),
                    })?;
            }
            // out = v − Φ'(m) v on this level.
            for (((o, vi), d), iw) in out[(k + 1) * n..(k + 2) * n]
                .iter_mut()
                .zip(&v[(k + 1) * n..(k + 2) * n])
                .zip(self.dmu.iter())
                .zip(&self.inv_weights)
            {
                *o = vi - d * iw;
            }
        }
        Ok(())
    }
}
