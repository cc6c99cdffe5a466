//! `FdmHjb`: implicit Euler, monotone upwind Hamiltonian, Newton at every time level, in any
//! dimension.

use ndarray::{ArrayView2, ArrayViewMut2, Axis};
use tracing::trace;

use mfg_core::linalg::kernels;
use mfg_core::scheme::{apply_laplacian, UpwindOperator};
use mfg_core::solver::{check_shape, work_for, Discretisation, Stop};
use mfg_core::PreconditionerKind;
use mfg_core::{
    backend_name, Description, Grid, HjbSolver, HjbStats, Problem, Setting, SolveError,
};

/// Newton settings of [`FdmHjb`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NewtonSettings {
    /// Stop when the scaled residual satisfies `‖G(u)‖∞ ≤ tolerance · (1 + ‖u‖∞)`, where
    /// `G(u) = u − u^{k+1} − dt (ν Δu − H + f)`. Since `‖(I − dt L)⁻¹‖∞ ≤ 1` (an M-matrix with
    /// unit row sums of the identity part), the next Newton update would be no larger. Default
    /// 1e-11.
    ///
    /// On fine grids the residual cannot be evaluated that accurately: its terms are of size
    /// `dt ν |u| / dx²`, so its round-off is `ε (‖u‖∞ (1 + dt ‖L‖∞) + dt (‖H_h‖∞ + ‖f‖∞))`
    /// (`ε` the machine epsilon, `‖L‖∞` the largest total jump rate). Newton also stops once
    /// the residual is within 32 times that floor: the answer is then exact to round-off.
    pub tolerance: f64,
    /// Give up (an error) after this many iterations at one time level. Default 50.
    pub max_iterations: usize,
}

impl NewtonSettings {
    /// The stopping rule after a residual evaluation at time level `k`: `Ok(None)` when
    /// `‖G‖∞ = gmax` is within the tolerance or within the round-off floor (`floor()`, computed
    /// only when the tolerance is not met), `Ok(Some(target))` (the bound to reach) when another
    /// Newton step is due, an error when `u` is not finite or the iterations are used up.
    pub(crate) fn check(
        &self,
        k: usize,
        iterations: usize,
        (gmax, umax): (f64, f64),
        uk: &[f64],
        floor: impl FnOnce() -> f64,
    ) -> Result<Option<f64>, SolveError> {
        if !(gmax.is_finite() && umax.is_finite()) {
            let index = uk.iter().position(|v| !v.is_finite()).unwrap_or(0);
            return Err(SolveError::NonFinite {
                field: "u",
                time_level: k,
                index,
            });
        }
        let mut target = self.tolerance * (1.0 + umax);
        if gmax <= target {
            return Ok(None);
        }
        target = target.max(ROUND_OFF_FACTOR * f64::EPSILON * floor());
        if gmax <= target {
            return Ok(None);
        }
        if iterations == self.max_iterations {
            return Err(SolveError::NewtonFailed {
                time_level: k,
                iterations,
                last_update: gmax,
            });
        }
        Ok(Some(target))
    }
}

impl Default for NewtonSettings {
    fn default() -> Self {
        Self {
            tolerance: 1e-11,
            max_iterations: 50,
        }
    }
}

/// Newton accepts a residual within this many machine epsilons of its round-off scale (see
/// [`NewtonSettings::tolerance`]).
const ROUND_OFF_FACTOR: f64 = 32.0;

/// Bounds of the relative tolerance of the Newton linear solves of iterative backends. Inexact
/// Newton: each solve only needs to bring the linearised residual 10× under the Newton target,
/// so the tolerance is `0.1 · target / ‖G‖`, clamped to these bounds; the nonlinear residual
/// decides convergence.
const LINEAR_TOL_MIN: f64 = 1e-12;
const LINEAR_TOL_MAX: f64 = 1e-2;
const LINEAR_MAX_ITER: usize = 1000;

/// Work arrays and the upwind operator, allocated on the first solve and reused while the
/// problem's size stays the same.
#[derive(Debug)]
struct Work {
    op: UpwindOperator,
    ham: Vec<f64>,
    cost: Vec<f64>,
    rhs: Vec<f64>,
    step: Vec<f64>,
    /// The previous solve's u (all levels), Newton's initial guess when `warm` is set.
    previous: Vec<f64>,
    warm: bool,
}

impl Work {
    fn new(problem: &Problem, preconditioner: Option<PreconditionerKind>) -> Self {
        let n = problem.grid().len();
        Self {
            op: UpwindOperator::new(problem.grid(), preconditioner, LINEAR_MAX_ITER),
            ham: vec![0.0; n],
            cost: vec![0.0; n],
            rhs: vec![0.0; n],
            step: vec![0.0; n],
            previous: vec![0.0; problem.time().levels() * n],
            warm: false,
        }
    }

    fn fits(&self, problem: &Problem, preconditioner: Option<PreconditionerKind>) -> bool {
        self.op.fits(problem.grid(), preconditioner)
            && self.previous.len() == problem.time().levels() * problem.grid().len()
    }
}

/// The implicit upwind finite-difference HJB solver, in one, two and three dimensions.
///
/// Backward in time, level `k` from level `k + 1`:
///
/// ```text
/// (u^k_i − u^{k+1}_i)/dt − ν (Δ_h u^k)_i + H_h(x_i, D⁻u^k_i, D⁺u^k_i) = f(x_i, m^{k+1}_i)
/// ```
///
/// solved by Newton's method, whose Jacobian `I − dt L(u)` (see [`mfg_core::scheme::upwind`]) is an
/// M-matrix, solved by the grid's [`mfg_core::LinearBackend`]: the Thomas algorithm in 1D, BiCGSTAB with
/// ADI line solves (no-flux walls) or ILU(0) (periodic) in 2D and 3D, to an inexact-Newton
/// tolerance. First order in `dt` and `dx`; unconditionally stable (no CFL restriction).
/// No-flux walls use the reflected ghost value. The Hamiltonian is the problem's
/// [`mfg_core::Hamiltonian`].
///
/// Warm start: inside a Picard loop successive solves differ little, so Newton at level `k`
/// starts from the previous solve's `u^k` (kept by the solver) instead of `u^{k+1}`; near
/// convergence one residual evaluation then suffices. The answer is the same to the Newton
/// tolerance. [`FdmHjb::reset`] forgets the previous solve.
///
/// ```
/// use hjb_solver::FdmHjb;
/// use mfg_core::HjbSolver;
/// use mfg_test_problems::LqGaussian;
/// use ndarray::Array2;
/// let lq = LqGaussian::default();
/// let p = lq.problem(200, 50);
/// let m = Array2::<f64>::zeros((51, 201)); // no coupling: m does not matter
/// let mut u = Array2::<f64>::zeros((51, 201));
/// FdmHjb::default().solve_into(&p, m.view(), u.view_mut()).unwrap();
/// // u(0, z) is ν ln φ(T) exactly; the scheme is within a few percent on this coarse grid.
/// let i = 140; // x = 0.6 (z = 0.7)
/// assert!((u[[0, i]] - lq.u(0.0, -4.0 + 0.04 * i as f64)).abs() < 0.02);
/// ```
///
/// # References
/// Y. Achdou, I. Capuzzo-Dolcetta, *Mean field games: numerical methods*, SIAM J. Numer.
/// Anal. 48 (2010) 1136–1162.
#[derive(Debug, Default)]
pub struct FdmHjb {
    settings: NewtonSettings,
    work: Option<Work>,
    /// The coupling iteration's requested accuracy (used with iterative backends).
    accuracy: Option<f64>,
    /// `None`: [`PreconditionerKind::for_grid`].
    preconditioner: Option<PreconditionerKind>,
    stop: Stop,
}

impl FdmHjb {
    /// A solver with the given Newton settings.
    pub fn new(settings: NewtonSettings) -> Self {
        Self {
            settings,
            work: None,
            accuracy: None,
            preconditioner: None,
            stop: Stop::never(),
        }
    }

    /// The preconditioner of the BiCGSTAB Newton solves in two and more dimensions. By default
    /// the measured winner (docs/PERFORMANCE.md): ADI line solves with no-flux walls, ILU(0)
    /// with periodic ones (the ADI lines drop their wrap-around entry and lose there).
    pub fn with_preconditioner(mut self, preconditioner: PreconditionerKind) -> Self {
        self.preconditioner = Some(preconditioner);
        self
    }

    /// The Newton settings.
    pub fn settings(&self) -> &NewtonSettings {
        &self.settings
    }

    /// Forget the previous solve (the next solve starts Newton from `u^{k+1}`).
    pub fn reset(&mut self) {
        if let Some(w) = self.work.as_mut() {
            w.warm = false;
        }
    }
}

impl HjbSolver for FdmHjb {
    fn name(&self) -> &'static str {
        "fdm"
    }

    fn discretisation(&self) -> Discretisation {
        Discretisation::ImplicitUpwind
    }

    fn describe(&self, grid: &Grid) -> Description {
        let linear = backend_name(grid, self.preconditioner);
        Description {
            method: "fdm",
            scheme: format!(
                "implicit Euler, upwind Hamiltonian (Achdou-Capuzzo-Dolcetta), {}Newton + {linear}",
                if grid.dim() == 1 { "" } else { "inexact " }
            ),
            settings: vec![
                ("newton_tolerance", Setting::Real(self.settings.tolerance)),
                (
                    "newton_max_iterations",
                    Setting::Integer(self.settings.max_iterations as i64),
                ),
                ("linear_solver", Setting::Text(linear.into())),
            ],
        }
    }

    /// With an iterative backend (2D, 3D) Newton stops at `max(tolerance, relative)` (its
    /// linear solves follow, see the inexact-Newton rule); with the direct 1D backend, one
    /// Thomas solve per Newton step, it always solves to the Newton tolerance.
    fn set_accuracy(&mut self, relative: f64) {
        self.accuracy = Some(relative);
    }

    /// Direct (Thomas) solves in 1D; BiCGSTAB and inexact Newton in 2D and 3D.
    fn inexact_on(&self, grid: &Grid) -> bool {
        grid.dim() > 1
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
        let pc = self.preconditioner;
        let w = work_for(
            &mut self.work,
            |w| w.fits(problem, pc),
            || Work::new(problem, pc),
        );
        let settings = if w.op.is_direct() {
            self.settings
        } else {
            NewtonSettings {
                tolerance: self.settings.tolerance.max(self.accuracy.unwrap_or(0.0)),
                ..self.settings
            }
        };
        let grid = problem.grid();
        let n = grid.len();
        let nt = problem.time().nt();
        let dt = problem.time().dt();
        let nu = problem.nu();
        let h = problem.hamiltonian();
        let mut stats = HjbStats::default();

        u.row_mut(nt)
            .as_slice_mut()
            .expect("contiguous row")
            .copy_from_slice(problem.terminal_cost());
        for k in (0..nt).rev() {
            self.stop.check(k)?;
            // The running cost f(x, m^{k+1}) (the pairing with FP's step k → k+1), u^{k+1},
            // and Newton's first guess: the previous solve's level when warm, else u^{k+1}.
            problem.running_cost_into(
                k,
                m.row(k + 1).as_slice().expect("contiguous row"),
                &mut w.cost,
            );
            let (mut now, next) = u.view_mut().split_at(Axis(0), k + 1);
            let u_next = next.row(0).to_slice().expect("contiguous row");
            let mut row = now.row_mut(k);
            let uk = row.as_slice_mut().expect("contiguous row");
            if w.warm {
                kernels::copy(uk, &w.previous[k * n..(k + 1) * n]);
            } else {
                kernels::copy(uk, u_next);
            }
            // A density-dependent H: its factor at the density f sees (m^{k+1}).
            let next_density = m.row(k + 1);
            let density = next_density.as_slice();
            let mut iterations = 0;
            // The round-off scale, computed once per level when first needed (it changes
            // little between Newton steps and costs a pass over the rates).
            let mut level_floor: Option<f64> = None;
            let mut last_residual;
            loop {
                w.op.linearise(h, grid, nu, uk, density, Some(&mut w.ham));
                // −G(u) = −(u − u^{k+1} − dt (ν Δ_h u − H_h + f)) into rhs.
                apply_laplacian(grid, nu, uk, &mut w.rhs);
                let (ham, cost, ukr) = (&w.ham, &w.cost, &*uk);
                let [gmax, umax] = kernels::update_max(&mut w.rhs, |i, rhs| {
                    let (mut gmax, mut umax) = (0.0_f64, 0.0_f64);
                    let end = i + rhs.len();
                    for ((((r, ui), un), ham), cost) in rhs
                        .iter_mut()
                        .zip(&ukr[i..end])
                        .zip(&u_next[i..end])
                        .zip(&ham[i..end])
                        .zip(&cost[i..end])
                    {
                        let g = ui - un - dt * (*r - ham + cost);
                        *r = -g;
                        gmax = gmax.max(g.abs());
                        umax = umax.max(ui.abs());
                    }
                    [gmax, umax]
                });
                last_residual = gmax;
                let floor = || {
                    *level_floor.get_or_insert_with(|| {
                        let abs_max = |v: &[f64]| {
                            kernels::max_over(v.len(), |r| {
                                v[r].iter().fold(0.0_f64, |a, x| a.max(x.abs()))
                            })
                        };
                        let (hmax, fmax) = (abs_max(&w.ham), abs_max(&w.cost));
                        umax * (1.0 + dt * w.op.max_total_rate()) + dt * (hmax + fmax)
                    })
                };
                let Some(target) = settings.check(k, iterations, (gmax, umax), uk, floor)? else {
                    break;
                };
                let linear_tol = (0.1 * target / gmax).clamp(LINEAR_TOL_MIN, LINEAR_TOL_MAX);
                iterations += 1;
                w.op.assemble(dt, false);
                if !w.op.is_direct() {
                    kernels::update(&mut w.step, |_, s| s.fill(0.0));
                }
                let out = w.op.solve(&w.rhs, &mut w.step, linear_tol).map_err(|e| {
                    SolveError::LinearSolve {
                        time_level: k,
                        iterations: e.iterations(),
                        residual: e.relative_residual(),
                    }
                })?;
                stats.linear_iterations += out.iterations;
                let step = &w.step;
                kernels::update(uk, |i, u| {
                    for (ui, di) in u.iter_mut().zip(&step[i..]) {
                        *ui += di;
                    }
                });
            }
            trace!(level = k, newton = iterations, residual = last_residual);
            stats.newton_iterations += iterations;
            stats.max_newton_per_level = stats.max_newton_per_level.max(iterations);
        }
        for (k, row) in u.rows().into_iter().enumerate() {
            kernels::copy(
                &mut w.previous[k * n..(k + 1) * n],
                row.as_slice().expect("contiguous row"),
            );
        }
        w.warm = true;
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mfg_core::{Boundary, Coupling, Grid, Hamiltonian, Quadratic, TimeGrid};
    use ndarray::Array2;

    #[test]
    fn constant_data_give_the_exact_linear_in_time_solution() {
        // g = 2, f = V = 3: u(t) = 2 + 3 (T − t), which implicit Euler reproduces exactly.
        for b in [Boundary::NoFlux, Boundary::Periodic] {
            let grid = Grid::line(0.0, 1.0, 16, b).unwrap();
            let n = grid.len();
            let p = Problem::builder(grid, TimeGrid::new(2.0, 8).unwrap())
                .potential(vec![3.0; n])
                .terminal_cost(vec![2.0; n])
                .build()
                .unwrap();
            let m = Array2::zeros((9, n));
            let mut u = Array2::zeros((9, n));
            FdmHjb::default()
                .solve_into(&p, m.view(), u.view_mut())
                .unwrap();
            for k in 0..9 {
                let exact = 2.0 + 3.0 * (2.0 - p.time().t(k));
                assert!(
                    u.row(k).iter().all(|v| (v - exact).abs() < 1e-12),
                    "{b:?} level {k}"
                );
            }
        }
    }

    /// `H(p) = |p|^β / β` in 1D, a user-defined Hamiltonian that is not quadratic.
    #[derive(Debug)]
    struct Power(f64);

    impl Hamiltonian for Power {
        fn name(&self) -> &'static str {
            "power"
        }
        fn value(&self, _x: &[f64], p: &[f64]) -> f64 {
            p[0].abs().powf(self.0) / self.0
        }
        fn dp(&self, _x: &[f64], p: &[f64], out: &mut [f64]) {
            out[0] = p[0].signum() * p[0].abs().powf(self.0 - 1.0);
        }
        fn upwind(
            &self,
            _x: &[f64],
            back: &[f64],
            fwd: &[f64],
            sp: &mut [f64],
            sn: &mut [f64],
        ) -> f64 {
            let (a, b) = (back[0].max(0.0), (-fwd[0]).max(0.0));
            sp[0] = a.powf(self.0 - 1.0);
            sn[0] = b.powf(self.0 - 1.0);
            (a.powf(self.0) + b.powf(self.0)) / self.0
        }
        fn godunov(&self, x: &[f64], minus: &[f64], plus: &[f64]) -> f64 {
            self.value(x, &[minus[0].max(0.0)])
                .max(self.value(x, &[plus[0].min(0.0)]))
        }
        fn speed_bound(&self, d: usize, lo: &[f64], hi: &[f64]) -> f64 {
            lo[d].abs().max(hi[d].abs()).powf(self.0 - 1.0)
        }
    }

    #[test]
    fn the_computed_u_satisfies_the_discrete_equation() {
        // Independent check of Newton's answer: plug u back into the scheme, for the quadratic
        // Hamiltonian (λ = 0.5) and for |p|^1.5/1.5, whose Newton step is not the quadratic one.
        type WrittenOut = fn(f64, f64) -> f64;
        let hamiltonians: [(Box<dyn Hamiltonian>, WrittenOut); 2] = [
            (Box::new(Quadratic::new(0.5)), |a, b| {
                (a * a + b * b) / (2.0 * 0.5)
            }),
            (Box::new(Power(1.5)), |a, b| {
                (a.abs().powf(1.5) + b.abs().powf(1.5)) / 1.5
            }),
        ];
        for (h, written_out) in hamiltonians {
            let grid = Grid::line(0.0, 1.0, 40, Boundary::NoFlux).unwrap();
            let n = grid.len();
            let builder = Problem::builder(grid, TimeGrid::new(1.0, 10).unwrap())
                .sigma(0.2)
                .coupling(Coupling::Linear { strength: 2.0 })
                .potential_fn(|x| (6.0 * x[0]).sin())
                .terminal_cost_fn(|x| (x[0] - 0.3).abs());
            let p = match h.name() {
                "quadratic" => builder.control_cost(0.5),
                _ => builder.hamiltonian(Power(1.5)),
            }
            .build()
            .unwrap();
            let m = Array2::from_shape_fn((11, n), |(k, i)| 1.0 + 0.1 * (k + i) as f64);
            let mut u = Array2::zeros((11, n));
            FdmHjb::default()
                .solve_into(&p, m.view(), u.view_mut())
                .unwrap();
            let ax = p.grid().axis(0);
            let (dx, dt, nu) = (ax.dx(), p.time().dt(), p.nu());
            for k in 0..10 {
                for i in 0..n {
                    let (l, r) = ax.neighbours(i);
                    let uk = |j: usize| u[[k, j]];
                    // H_h written out from the one-sided differences.
                    let (a, b) = (
                        ((uk(i) - uk(l)) / dx).max(0.0),
                        ((uk(r) - uk(i)) / dx).min(0.0),
                    );
                    let ham = written_out(a, b);
                    let lap = (uk(l) - 2.0 * uk(i) + uk(r)) / (dx * dx);
                    let f = p.potential()[i] + 2.0 * m[[k + 1, i]];
                    let res = (uk(i) - u[[k + 1, i]]) / dt - nu * lap + ham - f;
                    assert!(
                        res.abs() < 1e-8,
                        "{}: residual {res} at level {k}, point {i}",
                        h.name()
                    );
                }
            }
        }
    }
}
