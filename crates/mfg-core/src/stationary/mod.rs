//! Stationary (ergodic) mean field games by Newton's method.
//!
//! Find the value `u`, the density `m` and the ergodic constant `λ` with
//!
//! ```text
//! −ν Δu + H(x, ∇u) + λ = f(x, m),      −ν Δm − div(m ∂pH(x, ∇u)) = 0,
//! ∫ m = 1,                              ∫ u = 0,
//! ```
//!
//! on the grid's domain (periodic or no-flux walls), discretised by the same monotone upwind
//! scheme as the time-dependent problem: `−L(u)`'s diffusion and `H_h` for HJB, `L(u)ᵀ μ = 0`
//! in the masses `μ = w m` for FP (its discrete adjoint), the quadrature `w` for both
//! integrals. The FP equations sum to zero, so one of them is replaced by `Σ μ = 1`; `∫ u = 0`
//! fixes the constant in `u` and is paired with the unknown `λ`.
//!
//! Newton's Jacobian is assembled as a sparse matrix of order `2N + 1` from the model traits
//! ([`crate::Hamiltonian::upwind_speed_jacobian`], [`crate::RunningCost::dm`]) and factorised
//! by faer's sparse LU (fill-reducing ordering, the symbolic factorisation once per solve). A
//! backtracking line search on the residual keeps `m > 0` (no step removes more than 90 % of a
//! point's mass); when Newton does not converge from the initial guess, a continuation in the
//! coupling's scale and σ (as [`crate::Continuation`]) solves a sequence of easier problems.

use std::time::Instant;

use faer::linalg::solvers::Solve;
use faer::sparse::linalg::solvers::{Lu, SymbolicLu};
use faer::sparse::{SparseColMat, Triplet};
use faer::Mat;
use tracing::debug;

use crate::coupling::solution::TerminationReason;
use crate::error::{MfgError, ProblemError, SolveError};
use crate::grid::MAX_DIM;
use crate::model::Problem;
use crate::nonlinear::continuation::{EASY_SIGMA, MIN_HOMOTOPY_STEP};
use crate::scheme::apply_laplacian;

/// Settings of [`StationarySolver`].
#[derive(Debug, Clone, PartialEq)]
pub struct StationarySettings {
    /// Converged when the scaled residual (see [`StationaryRecord`]) is below this. Default
    /// 1e-10.
    pub tolerance: f64,
    /// Newton iterations per problem. Default 50.
    pub max_iterations: usize,
    /// Go along the homotopy when Newton fails from the initial guess. Default true.
    pub continuation: bool,
}

impl Default for StationarySettings {
    fn default() -> Self {
        Self {
            tolerance: 1e-10,
            max_iterations: 50,
            continuation: true,
        }
    }
}

impl StationarySettings {
    /// Check every value; the error names the field.
    pub fn validate(&self) -> Result<(), ProblemError> {
        if !(self.tolerance > 0.0 && self.tolerance < 1.0) {
            return Err(ProblemError::InvalidParameter {
                field: "tolerance",
                value: self.tolerance,
                hint: "must be in (0, 1)",
            });
        }
        if self.max_iterations < 1 {
            return Err(ProblemError::InvalidParameter {
                field: "max_iterations",
                value: self.max_iterations as f64,
                hint: "must be >= 1",
            });
        }
        Ok(())
    }
}

/// One Newton iteration.
#[derive(Debug, Clone, PartialEq)]
pub struct StationaryRecord {
    /// 1-based, counted over the whole solve.
    pub iteration: usize,
    /// `‖HJB residual‖∞ / (1 + ‖f‖∞)` before the step.
    pub residual_hjb: f64,
    /// `‖FP residual‖₁ / max total jump rate` before the step (`Σ |L(u)ᵀ μ|` in masses).
    pub residual_fp: f64,
    /// The step length the line search took (0 after the last evaluation).
    pub step: f64,
}

/// A stationary solution.
#[derive(Debug, Clone)]
pub struct StationarySolution {
    /// `u` at the grid points, `Σ w u = 0`.
    pub u: Vec<f64>,
    /// `m` at the grid points, `Σ w m = 1`, `m ≥ 0`.
    pub m: Vec<f64>,
    /// The ergodic constant `λ`.
    pub lambda: f64,
    /// `converged` or `max-iterations`.
    pub termination: TerminationReason,
    /// The Newton iterations of the last problem solved.
    pub history: Vec<StationaryRecord>,
    /// The continuation path (coupling scale, σ, iterations, converged), if one was taken.
    pub continuation: Vec<(f64, f64, usize, bool)>,
    /// Wall-clock seconds.
    pub time_s: f64,
}

impl StationarySolution {
    /// Whether Newton converged.
    pub fn converged(&self) -> bool {
        self.termination == TerminationReason::Converged
    }
}

impl std::fmt::Display for StationarySolution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let last = self.history.last();
        write!(
            f,
            "stationary: {} after {} Newton iterations (residual_hjb {:.2e}, residual_fp {:.2e}); ergodic constant lambda = {:.12}; {:.1} ms",
            self.termination.name(),
            self.history.len(),
            last.map_or(f64::NAN, |r| r.residual_hjb),
            last.map_or(f64::NAN, |r| r.residual_fp),
            self.lambda,
            1e3 * self.time_s,
        )
    }
}

/// Newton's method for the stationary system (see the module docs).
#[derive(Debug, Clone)]
pub struct StationarySolver {
    settings: StationarySettings,
}

/// Newton stops (stagnation) when its residual has not improved by 0.1 % in this many steps.
const STAGNATION: usize = 6;
/// A line search never takes a step shorter than this.
const MIN_STEP: f64 = 1.0 / 128.0;

impl StationarySolver {
    /// A solver with validated settings.
    pub fn new(settings: StationarySettings) -> Result<Self, ProblemError> {
        settings.validate()?;
        Ok(Self { settings })
    }

    /// The settings.
    pub fn settings(&self) -> &StationarySettings {
        &self.settings
    }

    /// Solve `problem`'s stationary system (its time grid, terminal cost and forcing are not
    /// read; its initial density is Newton's first guess for `m`, with `u = 0`, `λ = 0`).
    pub fn solve(&self, problem: &Problem) -> Result<StationarySolution, MfgError> {
        let refuse = |what| MfgError::Iteration {
            iteration: 0,
            solver: "stationary",
            source: SolveError::Unsupported {
                solver: "the stationary Newton solver",
                what,
            },
        };
        if problem.hamiltonian().depends_on_density() {
            return Err(refuse("a Hamiltonian that depends on the density (congestion): its Jacobian terms in m are not built; solve a long horizon time-dependent problem instead"));
        }
        if problem.grid().has_geometry() {
            return Err(refuse("exits and obstacles (an exit drains the mass a stationary density must keep); solve a time-dependent problem instead"));
        }
        if !problem.coupling().is_local() {
            return Err(refuse("a nonlocal running cost (its Jacobian block is dense: the sparse LU cannot hold it); solve a long horizon time-dependent problem instead"));
        }
        let start = Instant::now();
        let n = problem.grid().len();
        let mut state = State {
            u: vec![0.0; n],
            mu: problem
                .initial_density()
                .iter()
                .zip(problem.grid().weights())
                .map(|(m, w)| m * w)
                .collect(),
            lambda: 0.0,
        };
        let mut newton = Newton::new(problem);
        let initial = state.clone();
        let (mut history, mut termination) = newton.run(problem, &mut state, &self.settings, 0)?;
        let mut path = Vec::new();
        if termination != TerminationReason::Converged && self.settings.continuation {
            path.push((1.0, problem.sigma(), history.len(), false));
            state = initial;
            let target_sigma = problem.sigma();
            let easy = target_sigma.max(EASY_SIGMA);
            let at = |lambda: f64| -> Result<Problem, MfgError> {
                if lambda >= 1.0 {
                    return Ok(problem.clone());
                }
                let sigma = target_sigma + (1.0 - lambda) * (easy - target_sigma);
                Ok(problem
                    .with_sigma(sigma)
                    .map_err(MfgError::Settings)?
                    .with_coupling_scale(lambda))
            };
            let (mut lambda, mut step) = (0.0_f64, 1.0_f64);
            let p0 = at(0.0)?;
            let (h, t) = newton.run(&p0, &mut state, &self.settings, 0)?;
            path.push((0.0, p0.sigma(), h.len(), t == TerminationReason::Converged));
            (history, termination) = (h, t);
            while termination == TerminationReason::Converged && lambda < 1.0 {
                let next = (lambda + step).min(1.0);
                let p = at(next)?;
                let saved = state.clone();
                let (h, t) = newton.run(&p, &mut state, &self.settings, 0)?;
                let ok = t == TerminationReason::Converged;
                path.push((next, p.sigma(), h.len(), ok));
                if ok {
                    lambda = next;
                    step = (2.0 * step).min(1.0 - lambda).max(f64::MIN_POSITIVE);
                    (history, termination) = (h, t);
                } else {
                    state = saved;
                    step *= 0.5;
                    if step < MIN_HOMOTOPY_STEP {
                        (history, termination) = (h, t);
                        break;
                    }
                }
            }
        }
        let grid = problem.grid();
        let mean_u = grid.integrate(&state.u) / grid.weights().iter().sum::<f64>();
        state.u.iter_mut().for_each(|v| *v -= mean_u);
        let m: Vec<f64> = state
            .mu
            .iter()
            .zip(grid.weights())
            .map(|(mu, w)| mu / w)
            .collect();
        Ok(StationarySolution {
            u: state.u,
            m,
            lambda: state.lambda,
            termination,
            history,
            continuation: path,
            time_s: start.elapsed().as_secs_f64(),
        })
    }
}

/// Newton's unknowns.
#[derive(Debug, Clone)]
struct State {
    u: Vec<f64>,
    /// Masses `w m`.
    mu: Vec<f64>,
    lambda: f64,
}

/// Newton's work storage for one grid.
struct Newton {
    n: usize,
    to_prev: Vec<Vec<f64>>,
    to_next: Vec<Vec<f64>>,
    hamiltonian: Vec<f64>,
    cost: Vec<f64>,
    lap: Vec<f64>,
    residual: Vec<f64>,
    triplets: Vec<Triplet<usize, usize, f64>>,
    symbolic: Option<SymbolicLu<usize>>,
    fp_triplets: Vec<Triplet<usize, usize, f64>>,
    fp_symbolic: Option<SymbolicLu<usize>>,
    /// The point whose FP equation is replaced by the mass condition, and where `λ` enters the
    /// sparse part: the largest mass (the stationary distribution there is far from zero, so
    /// the sparse systems are well conditioned; at a point where it is 1e-30 they would be
    /// singular to round-off).
    anchor: usize,
    /// The anchor of the last FP solve (its symbolic factorisation's pattern).
    fp_anchor: usize,
    /// The round-off floor of the scaled residuals at the last evaluation.
    floor: f64,
}

impl Newton {
    fn new(problem: &Problem) -> Self {
        let grid = problem.grid();
        let (n, dim) = (grid.len(), grid.dim());
        Self {
            n,
            to_prev: vec![vec![0.0; n]; dim],
            to_next: vec![vec![0.0; n]; dim],
            hamiltonian: vec![0.0; n],
            cost: vec![0.0; n],
            lap: vec![0.0; n],
            residual: vec![0.0; 2 * n + 1],
            triplets: Vec::new(),
            symbolic: None,
            fp_triplets: Vec::new(),
            fp_symbolic: None,
            anchor: 0,
            fp_anchor: usize::MAX,
            floor: 0.0,
        }
    }

    /// The residual at `s` into `self.residual` (and the rates of `L(u)`, μ = μ(u), and the
    /// round-off floor of the scaled residuals); returns the scaled HJB and FP norms.
    fn evaluate(&mut self, problem: &Problem, s: &mut State) -> Result<(f64, f64), ()> {
        let grid = problem.grid();
        let n = self.n;
        let nu = problem.nu();
        problem.hamiltonian().upwind_rates(
            grid,
            nu,
            &s.u,
            &mut self.to_prev,
            &mut self.to_next,
            Some(&mut self.hamiltonian),
        );
        self.stationary_masses(grid, &s.u, &mut s.mu)?;
        let m: Vec<f64> =
            s.mu.iter()
                .zip(grid.weights())
                .map(|(mu, w)| mu / w)
                .collect();
        problem.running_cost_into(0, &m, &mut self.cost);
        apply_laplacian(grid, nu, &s.u, &mut self.lap);
        let (r_u, r_rest) = self.residual.split_at_mut(n);
        let mut hjb = 0.0_f64;
        for (i, r) in r_u.iter_mut().enumerate() {
            *r = -self.lap[i] + self.hamiltonian[i] + s.lambda - self.cost[i];
            hjb = hjb.max(r.abs());
        }
        let fmax = self.cost.iter().fold(0.0_f64, |a, v| a.max(v.abs()));
        let (r_m, r_norm) = r_rest.split_at_mut(n);
        r_m.iter_mut().for_each(|v| *v = 0.0);
        let mut max_rate = 0.0_f64;
        let mut total = vec![0.0; n];
        for d in 0..grid.dim() {
            for (i, &[l, r]) in grid.neighbour_table(d).iter().enumerate() {
                let (a, b) = (self.to_prev[d][i], self.to_next[d][i]);
                r_m[l] += a * s.mu[i];
                r_m[r] += b * s.mu[i];
                r_m[i] -= (a + b) * s.mu[i];
                total[i] += a + b;
            }
        }
        for t in &total {
            max_rate = max_rate.max(*t);
        }
        let a = self.anchor;
        r_m[a] = 0.0;
        let fp = r_m.iter().map(|v| v.abs()).sum::<f64>() / max_rate.max(1e-300);
        r_m[a] = s.mu.iter().sum::<f64>() - 1.0;
        // u is defined up to a constant (the equations see its differences): pinned at the
        // first point during Newton (a sparse row), shifted to ∫ u = 0 at the end.
        r_norm[0] = s.u[0];
        let norms = r_m[a].abs().max(r_norm[0].abs());
        // Round-off of −νΔu + H_h + λ − f (terms up to max_rate |u|) and of L(u)ᵀ μ.
        let umax = s.u.iter().fold(0.0_f64, |a, v| a.max(v.abs()));
        let hmax = self.hamiltonian.iter().fold(0.0_f64, |a, v| a.max(v.abs()));
        let eps = 64.0 * f64::EPSILON;
        self.floor = (eps * (max_rate * umax + hmax + fmax + s.lambda.abs()) / (1.0 + fmax))
            .max(eps * 2.0 * grid.dim() as f64);
        Ok((hjb / (1.0 + fmax), fp.max(norms)))
    }

    /// The FP equations solved exactly for the current rates: `L(u)ᵀ μ = 0`, `Σ μ = 1`, the
    /// stationary distribution of the upwind Markov chain (positive: `−L(u)ᵀ` is a singular
    /// M-matrix of an irreducible chain). The anchor's equation is replaced by `μ_anchor = 1`
    /// (a sparse row), then `μ` is normalised. Newton's step then only moves `u` and `λ`, and
    /// its `μ` is this one: Newton on the system with FP eliminated, where `m > 0` always.
    fn stationary_masses(
        &mut self,
        grid: &crate::grid::Grid,
        u: &[f64],
        mu: &mut [f64],
    ) -> Result<(), ()> {
        // The replaced equation's point must carry mass, or the system is singular to
        // round-off: first guess the minimum of u (the drift −∂pH(∇u) carries the crowd
        // there; for H = |p|²/2 the continuous density is ∝ exp(−u/ν)), then, if the solution
        // says otherwise, its largest mass.
        let mut anchor = (0..self.n)
            .min_by(|&a, &b| u[a].total_cmp(&u[b]))
            .unwrap_or(0);
        for _ in 0..2 {
            let x = self.solve_masses(grid, anchor)?;
            let heaviest = (0..self.n)
                .max_by(|&a, &b| x[a].total_cmp(&x[b]))
                .unwrap_or(anchor);
            if x[heaviest] <= 1e3 * x[anchor] {
                let total: f64 = x.iter().sum();
                if !(total.is_finite() && total > 0.0) {
                    return Err(());
                }
                for (v, xi) in mu.iter_mut().zip(&x) {
                    // Round-off can leave −1e-17 where the density is 1e-16: never below 0.
                    *v = (xi / total).max(0.0);
                }
                return Ok(());
            }
            anchor = heaviest;
        }
        Err(())
    }

    /// `L(u)ᵀ x = 0` with the equation of `anchor` replaced by `x_anchor = 1`.
    fn solve_masses(&mut self, grid: &crate::grid::Grid, anchor: usize) -> Result<Vec<f64>, ()> {
        let n = self.n;
        if anchor != self.fp_anchor {
            self.fp_anchor = anchor;
            self.fp_symbolic = None;
        }
        let t = &mut self.fp_triplets;
        t.clear();
        for d in 0..grid.dim() {
            for (i, &[l, r]) in grid.neighbour_table(d).iter().enumerate() {
                let (a, b) = (self.to_prev[d][i], self.to_next[d][i]);
                for (row, val) in [(l, a), (r, b), (i, -(a + b))] {
                    if row != anchor {
                        t.push(Triplet::new(row, i, val));
                    }
                }
            }
        }
        t.push(Triplet::new(anchor, anchor, 1.0));
        let matrix = SparseColMat::<usize, f64>::try_new_from_triplets(n, n, t).map_err(|_| ())?;
        if self.fp_symbolic.is_none() {
            self.fp_symbolic = Some(SymbolicLu::try_new(matrix.symbolic()).map_err(|_| ())?);
        }
        let symbolic = self.fp_symbolic.clone().expect("set above");
        let lu = Lu::try_new_with_symbolic(symbolic, matrix.as_ref()).map_err(|_| ())?;
        let mut x = Mat::<f64>::zeros(n, 1);
        x[(anchor, 0)] = 1.0;
        lu.solve_in_place(x.as_mut());
        let x: Vec<f64> = (0..n).map(|i| x[(i, 0)]).collect();
        if x.iter().all(|v| v.is_finite()) {
            Ok(x)
        } else {
            Err(())
        }
    }

    /// The Jacobian at `s` (after [`Newton::evaluate`] at `s`) as triplets, every structural
    /// entry in the same order at every call (one symbolic factorisation per solve).
    fn assemble(&mut self, problem: &Problem, s: &State) {
        let grid = problem.grid();
        let (n, dim) = (self.n, grid.dim());
        // The FP row of the anchor is replaced by Σ μ = 1.
        let anchor = self.anchor;
        let mass_row = n + anchor;
        let (lam, norm_row) = (2 * n, 2 * n);
        let t = &mut self.triplets;
        t.clear();
        let mut push = |row: usize, col: usize, val: f64| {
            if row != mass_row {
                t.push(Triplet::new(row, col, val));
            }
        };
        let weights = grid.weights();
        let coupling = problem.coupling();
        let h = problem.hamiltonian();
        let tables: Vec<&[[usize; 2]]> = (0..dim).map(|d| grid.neighbour_table(d)).collect();
        let inv_dx: Vec<f64> = (0..dim).map(|d| 1.0 / grid.axis(d).dx()).collect();
        let mut jac = [0.0; 4 * MAX_DIM * MAX_DIM];
        let (mut back, mut fwd) = ([0.0; MAX_DIM], [0.0; MAX_DIM]);
        for (i, x) in grid.coordinates().enumerate() {
            // HJB row i: −L(u) in u, 1 in λ, −∂_m f / w in μ.
            let mut diag = 0.0;
            for (d, table) in tables.iter().enumerate() {
                let [l, r] = table[i];
                let (a, b) = (self.to_prev[d][i], self.to_next[d][i]);
                diag += a + b;
                push(i, l, -a);
                push(i, r, -b);
            }
            push(i, i, diag);
            if i == anchor {
                // λ's column is dense (every HJB row): in K only here, the rest is Woodbury's.
                push(i, lam, 1.0);
            }
            push(
                i,
                n + i,
                -coupling.dm(0.0, x, s.mu[i] / weights[i]) / weights[i],
            );
            // FP: the column of source point i in L(u)ᵀ μ, and its derivative in u.
            for (d, table) in tables.iter().enumerate() {
                let [l, r] = table[i];
                let (a, b) = (self.to_prev[d][i], self.to_next[d][i]);
                push(n + l, n + i, a);
                push(n + r, n + i, b);
                push(n + i, n + i, -(a + b));
            }
            for (d, table) in tables.iter().enumerate() {
                let [l, r] = table[i];
                back[d] = (s.u[i] - s.u[l]) * inv_dx[d];
                fwd[d] = (s.u[r] - s.u[i]) * inv_dx[d];
            }
            let k = 2 * dim;
            h.upwind_speed_jacobian(x, &back[..dim], &fwd[..dim], &mut jac[..k * k]);
            for d in 0..dim {
                let [l_d, r_d] = tables[d][i];
                let scale = s.mu[i] * inv_dx[d];
                // δspeed_prev[d] and δspeed_next[d] in terms of δu at i, l_e, r_e.
                for (row_of_speed, target) in [(d, l_d), (dim + d, r_d)] {
                    let mut at_i = 0.0;
                    for e in 0..dim {
                        let [l_e, r_e] = tables[e][i];
                        let jb = jac[row_of_speed * k + e] * inv_dx[e];
                        let jf = jac[row_of_speed * k + dim + e] * inv_dx[e];
                        at_i += jb - jf;
                        push(n + target, l_e, -scale * jb);
                        push(n + i, l_e, scale * jb);
                        push(n + target, r_e, scale * jf);
                        push(n + i, r_e, -scale * jf);
                    }
                    push(n + target, i, scale * at_i);
                    push(n + i, i, -scale * at_i);
                }
            }
        }
        // Σ μ = 1 in the last FP row (in K only its diagonal entry, the rest is Woodbury's),
        // u pinned at the first point in the last row.
        t.push(Triplet::new(mass_row, mass_row, 1.0));
        t.push(Triplet::new(norm_row, 0, 1.0));
    }

    /// Newton on `problem` from `s`, counting iterations from `offset`.
    fn run(
        &mut self,
        problem: &Problem,
        s: &mut State,
        settings: &StationarySettings,
        offset: usize,
    ) -> Result<(Vec<StationaryRecord>, TerminationReason), MfgError> {
        let n = self.n;
        let mut history = Vec::new();
        let fp_failed = |iteration| MfgError::Iteration {
            iteration,
            solver: "stationary newton",
            source: SolveError::LinearSolve {
                time_level: 0,
                iterations: 0,
                residual: f64::NAN,
            },
        };
        let (mut hjb, mut fp) = self.evaluate(problem, s).map_err(|_| fp_failed(offset))?;
        let mut rhs = Mat::<f64>::zeros(2 * n + 1, 3);
        let (mut best, mut since_best) = (f64::INFINITY, 0);
        for it in 1..=settings.max_iterations {
            let merit = hjb.max(fp);
            if merit < best * (1.0 - 1e-3) {
                (best, since_best) = (merit, 0);
            } else {
                since_best += 1;
                if since_best >= STAGNATION {
                    return Ok((history, TerminationReason::Stagnation));
                }
            }
            if !merit.is_finite() {
                return Err(MfgError::Iteration {
                    iteration: offset + it,
                    solver: "stationary newton",
                    source: SolveError::NonFinite {
                        field: "residual",
                        time_level: 0,
                        index: 0,
                    },
                });
            }
            // The residuals cannot fall below their round-off: on fine grids (rates ν/dx²)
            // that is above a tight tolerance.
            if merit < settings.tolerance.max(self.floor) {
                history.push(StationaryRecord {
                    iteration: offset + it,
                    residual_hjb: hjb,
                    residual_fp: fp,
                    step: 0.0,
                });
                return Ok((history, TerminationReason::Converged));
            }
            let heaviest = (0..n)
                .max_by(|&a, &b| s.mu[a].total_cmp(&s.mu[b]))
                .unwrap_or(0);
            if heaviest != self.anchor {
                // The sparsity patterns move with the anchor.
                self.anchor = heaviest;
                self.symbolic = None;
            }
            self.assemble(problem, s);
            let singular = |iteration| MfgError::Iteration {
                iteration,
                solver: "stationary newton",
                source: SolveError::LinearSolve {
                    time_level: 0,
                    iterations: 0,
                    residual: f64::NAN,
                },
            };
            let matrix = SparseColMat::<usize, f64>::try_new_from_triplets(
                2 * n + 1,
                2 * n + 1,
                &self.triplets,
            )
            .map_err(|_| singular(offset + it))?;
            if self.symbolic.is_none() {
                self.symbolic = Some(
                    SymbolicLu::try_new(matrix.symbolic()).map_err(|_| singular(offset + it))?,
                );
            }
            let symbolic = self.symbolic.clone().expect("set above");
            let lu = Lu::try_new_with_symbolic(symbolic, matrix.as_ref())
                .map_err(|_| singular(offset + it))?;
            // J = K + U Vᵀ: the sparse K factorised, the two dense parts (λ's column in HJB
            // rows 1.., the mass row's ones) by Woodbury: x = K⁻¹b − Z (I + Vᵀ Z)⁻¹ Vᵀ K⁻¹b,
            // Z = K⁻¹U.
            rhs.fill(0.0);
            for (i, r) in self.residual.iter().enumerate() {
                rhs[(i, 0)] = -r;
            }
            let anchor = self.anchor;
            for i in (0..n).filter(|&i| i != anchor) {
                rhs[(i, 1)] = 1.0;
            }
            rhs[(n + anchor, 2)] = 1.0;
            lu.solve_in_place(rhs.as_mut());
            let v_dot = |col: usize| -> [f64; 2] {
                let v2: f64 = (n..2 * n)
                    .filter(|&i| i != n + anchor)
                    .map(|i| rhs[(i, col)])
                    .sum();
                [rhs[(2 * n, col)], v2]
            };
            let (y, z1, z2) = (v_dot(0), v_dot(1), v_dot(2));
            // S = I + Vᵀ Z (2 × 2), S c = y.
            let sm = [[1.0 + z1[0], z2[0]], [z1[1], 1.0 + z2[1]]];
            let det = sm[0][0] * sm[1][1] - sm[0][1] * sm[1][0];
            if !(det.is_finite() && det.abs() > 1e-300) {
                return Err(singular(offset + it));
            }
            let c = [
                (y[0] * sm[1][1] - sm[0][1] * y[1]) / det,
                (sm[0][0] * y[1] - sm[1][0] * y[0]) / det,
            ];
            for i in 0..2 * n + 1 {
                rhs[(i, 0)] -= c[0] * rhs[(i, 1)] + c[1] * rhs[(i, 2)];
            }
            // Backtracking on (u, λ); μ follows u exactly (see `stationary_masses`).
            let mut alpha = 1.0_f64;
            let base = s.clone();
            let (hjb0, fp0) = (hjb, fp);
            let accepted = loop {
                for i in 0..n {
                    s.u[i] = base.u[i] + alpha * rhs[(i, 0)];
                }
                s.lambda = base.lambda + alpha * rhs[(2 * n, 0)];
                let (h2, f2) = self
                    .evaluate(problem, s)
                    .map_err(|_| fp_failed(offset + it))?;
                if h2.max(f2) < (1.0 - 1e-4 * alpha) * merit || alpha <= MIN_STEP {
                    (hjb, fp) = (h2, f2);
                    break alpha;
                }
                alpha *= 0.5;
            };
            debug!(
                iteration = offset + it,
                hjb,
                fp,
                step = accepted,
                "stationary Newton"
            );
            history.push(StationaryRecord {
                iteration: offset + it,
                residual_hjb: hjb0,
                residual_fp: fp0,
                step: accepted,
            });
        }
        Ok((history, TerminationReason::MaxIterations))
    }
}
