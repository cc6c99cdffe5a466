//! `FdmFp`: implicit Euler with the transpose of the linearised upwind HJB operator, in any
//! dimension.

use ndarray::{ArrayView2, ArrayViewMut2};

use mfg_core::linalg::kernels;
use mfg_core::scheme::UpwindOperator;
use mfg_core::solver::{check_shape, work_for, Discretisation, Stop};
use mfg_core::PreconditionerKind;
use mfg_core::{backend_name, Description, FpSolver, FpStats, Grid, Problem, Setting, SolveError};

/// Relative residual of the iterative linear solves (2D, 3D), unless the coupling iteration
/// asks for less.
const LINEAR_TOL: f64 = 1e-11;
const LINEAR_MAX_ITER: usize = 2000;

#[derive(Debug)]
struct Work {
    op: UpwindOperator,
    rhs: Vec<f64>,
    mass: Vec<f64>,
    inv_weights: Vec<f64>,
    /// Block sums of the mass sums.
    partials: Vec<f64>,
    /// The previous solve's μ on every level: the initial guess of the next solve's iterative
    /// linear solve at the same level (successive Picard solves differ little).
    previous: Vec<f64>,
    warm: bool,
}

impl Work {
    fn new(problem: &Problem, preconditioner: Option<PreconditionerKind>) -> Self {
        let grid = problem.grid();
        let n = grid.len();
        Self {
            op: UpwindOperator::new(grid, preconditioner, LINEAR_MAX_ITER),
            rhs: vec![0.0; n],
            mass: vec![0.0; n],
            inv_weights: grid.weights().iter().map(|w| 1.0 / w).collect(),
            partials: kernels::partials_for(n),
            previous: vec![0.0; problem.time().levels() * n],
            warm: false,
        }
    }

    fn fits(&self, problem: &Problem, preconditioner: Option<PreconditionerKind>) -> bool {
        let g = problem.grid();
        self.op.fits(g, preconditioner)
            && self.previous.len() == problem.time().levels() * g.len()
            && self
                .inv_weights
                .iter()
                .zip(g.weights())
                .all(|(a, w)| *a == 1.0 / w)
    }
}

/// The implicit finite-difference FP solver, the discrete adjoint of [`hjb-solver`'s
/// `FdmHjb`](https://docs.rs/hjb-solver), in one, two and three dimensions.
///
/// Forward in time, level `k + 1` from level `k`, in the mass variables `μ_i = w_i m_i`
/// (`w` the grid's quadrature weights):
///
/// ```text
/// (I − dt L(u^k)ᵀ) μ^{k+1} = μ^k
/// ```
///
/// where `L(u)` is the upwind generator of [`mfg_core::scheme::upwind`], the linearisation of the HJB
/// scheme with the problem's Hamiltonian. The columns of `I − dt Lᵀ` sum to one and it is an
/// M-matrix, so the mass `Σ w_i m_i` is conserved and `m ≥ 0` on every level, for any `dt`.
///
/// The system is solved by the grid's [`mfg_core::LinearBackend`]: directly in 1D, by
/// BiCGSTAB in 2D and 3D to a relative residual of 1e-11 (or the coarser accuracy the coupling
/// iteration asks for), each level's solve starting from the same level of the previous solve.
/// An iterative solve conserves mass only up to its residual, and even the direct one only up
/// to its round-off, which can drift one way (measured: 6e-14 a step at 257 points, 1.3e-12
/// after 20 steps); so every step ends with a projection: values below zero (round-off where m
/// is ~0) are cut and the level is rescaled to the mass the exact solve conserves (`Σ μ^k`,
/// plus the source's mass when forced); mass then holds to round-off at every level, without
/// drift, and `m ≥ 0`.
///
/// ```
/// use fp_solver::FdmFp;
/// use mfg_core::FpSolver;
/// use mfg_test_problems::LqGaussian;
/// use ndarray::Array2;
/// let lq = LqGaussian::default();
/// let p = lq.problem(200, 40);
/// // Drive the density with the exact optimal control u.
/// let u = Array2::from_shape_fn((41, 201), |(k, i)| lq.u(k as f64 / 40.0, -4.0 + 0.04 * i as f64));
/// let mut m = Array2::zeros((41, 201));
/// let stats = FdmFp::default().solve_into(&p, u.view(), m.view_mut()).unwrap();
/// assert!(stats.max_mass_drift < 1e-12);
/// assert!(m.iter().all(|&v| v >= 0.0));
/// ```
///
/// # References
/// Y. Achdou, I. Capuzzo-Dolcetta, *Mean field games: numerical methods*, SIAM J. Numer.
/// Anal. 48 (2010) 1136–1162.
#[derive(Debug, Default)]
pub struct FdmFp {
    work: Option<Work>,
    /// The coupling iteration's requested accuracy (used with iterative backends).
    accuracy: Option<f64>,
    /// `None`: [`PreconditionerKind::for_grid`].
    preconditioner: Option<PreconditionerKind>,
    stop: Stop,
}

impl FdmFp {
    /// A new solver (work arrays are allocated on the first solve).
    pub fn new() -> Self {
        Self::default()
    }

    /// The preconditioner of the BiCGSTAB solves in two and more dimensions. By default
    /// the measured winner (docs/PERFORMANCE.md): ADI line solves with no-flux walls, ILU(0)
    /// with periodic ones (the ADI lines drop their wrap-around entry and lose there).
    pub fn with_preconditioner(mut self, preconditioner: PreconditionerKind) -> Self {
        self.preconditioner = Some(preconditioner);
        self
    }

    /// Forget the previous solve (with an iterative backend the next solve starts every
    /// level's linear solve from the previous level instead of the previous solve's same level).
    pub fn reset(&mut self) {
        if let Some(w) = self.work.as_mut() {
            w.warm = false;
        }
    }
}

impl FpSolver for FdmFp {
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
            scheme: format!("implicit Euler, transpose of the linearised HJB operator, {linear}"),
            settings: vec![("linear_solver", Setting::Text(linear.into()))],
        }
    }

    /// With an iterative backend (2D, 3D) the BiCGSTAB solves stop at a relative residual of
    /// `max(1e-11, relative)` (mass and positivity are then restored exactly by the
    /// projection); the direct 1D backend ignores it.
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
        u: ArrayView2<'_, f64>,
        mut m: ArrayViewMut2<'_, f64>,
    ) -> Result<FpStats, SolveError> {
        check_shape(problem, u.shape(), "u");
        check_shape(problem, m.shape(), "m");
        let pc = self.preconditioner;
        let w = work_for(
            &mut self.work,
            |w| w.fits(problem, pc),
            || Work::new(problem, pc),
        );
        let direct = w.op.is_direct();
        let tol = LINEAR_TOL.max(self.accuracy.unwrap_or(0.0));
        let grid = problem.grid();
        let n = grid.len();
        let weights = grid.weights();
        let nt = problem.time().nt();
        let dt = problem.time().dt();
        let nu = problem.nu();
        let h = problem.hamiltonian();
        m.row_mut(0)
            .as_slice_mut()
            .expect("contiguous row")
            .copy_from_slice(problem.initial_density());
        let mass0 = grid.integrate(problem.initial_density());
        for (mu, (mi, wi)) in w
            .mass
            .iter_mut()
            .zip(problem.initial_density().iter().zip(weights))
        {
            *mu = wi * mi;
        }
        let mut stats = FpStats::default();
        for k in 0..nt {
            self.stop.check(k + 1)?;
            let uk = u.row(k);
            let uk = uk.as_slice().expect("contiguous row");
            // A density-dependent H: its factor at this level's density (semi-implicit).
            let mk = m.row(k);
            w.op.linearise(h, grid, nu, uk, mk.as_slice(), None);
            w.op.assemble(dt, true);
            let mass = &w.mass;
            let mut expected = kernels::update_sum(&mut w.rhs, &mut w.partials, |i, r| {
                r.copy_from_slice(&mass[i..i + r.len()]);
                r.iter().sum()
            });
            if let Some(fc) = problem.forcing() {
                for ((r, s), wi) in w.rhs.iter_mut().zip(fc.fp.row(k + 1)).zip(weights) {
                    *r += dt * wi * s;
                }
                expected = kernels::sum(&w.rhs, &mut w.partials);
            }
            // The initial guess of an iterative solve: this level from the previous solve,
            // else the previous level (already in `mass`).
            if w.warm && !direct {
                kernels::copy(&mut w.mass, &w.previous[(k + 1) * n..(k + 2) * n]);
            }
            let out =
                w.op.solve(&w.rhs, &mut w.mass, tol)
                    .map_err(|e| SolveError::LinearSolve {
                        time_level: k + 1,
                        iterations: e.iterations(),
                        residual: e.relative_residual(),
                    })?;
            stats.linear_iterations += out.iterations;
            // The exact solve keeps m ≥ 0 (an M-matrix): only its round-off drift is undone.
            // After an inexact solve, values below zero are cut first. Either way the mass is
            // rescaled to the right-hand side's, which the exact solve conserves (a level that
            // is not finite is left as it is, and reported below).
            let got = if direct {
                kernels::sum(&w.mass, &mut w.partials)
            } else {
                kernels::update_sum(&mut w.mass, &mut w.partials, |_, mu| {
                    mu.iter_mut().fold(0.0, |acc, v| {
                        *v = v.max(0.0);
                        acc + *v
                    })
                })
            };
            let scale = if got.is_finite() && got > 0.0 {
                expected / got
            } else {
                1.0
            };
            let mass = kernels::update_sum(&mut w.mass, &mut w.partials, |_, mu| {
                mu.iter_mut().fold(0.0, |acc, v| {
                    *v *= scale;
                    acc + *v
                })
            });
            let mut next = m.row_mut(k + 1);
            let next = next.as_slice_mut().expect("contiguous row");
            let (mu, iw) = (&w.mass, &w.inv_weights);
            kernels::update(next, |i, out| {
                for ((mi, mu), iw) in out.iter_mut().zip(&mu[i..]).zip(&iw[i..]) {
                    *mi = mu * iw;
                }
            });
            if !mass.is_finite() {
                let index = next.iter().position(|v| !v.is_finite()).unwrap_or(0);
                return Err(SolveError::NonFinite {
                    field: "m",
                    time_level: k + 1,
                    index,
                });
            }
            stats.max_mass_drift = stats.max_mass_drift.max((mass - mass0).abs() / mass0);
            if !direct {
                kernels::copy(&mut w.previous[(k + 1) * n..(k + 2) * n], &w.mass);
            }
        }
        w.warm = true;
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mfg_core::{Boundary, Grid, TimeGrid};
    use ndarray::Array2;

    fn problem(b: Boundary) -> Problem {
        let grid = Grid::line(0.0, 1.0, 50, b).unwrap();
        Problem::builder(grid, TimeGrid::new(1.0, 200).unwrap())
            .sigma(0.2)
            .initial_density_fn(|x| (-80.0 * (x[0] - 0.3).powi(2)).exp())
            .build()
            .unwrap()
    }

    /// A rough, time-dependent value function with steep gradients.
    fn rough_u(p: &Problem) -> Array2<f64> {
        let n = p.grid().len();
        Array2::from_shape_fn((p.time().levels(), n), |(k, i)| {
            let x = p.grid().point(i)[0];
            3.0 * (9.0 * x + 0.1 * k as f64).sin() + 5.0 * (x - 0.7).abs()
        })
    }

    #[test]
    fn mass_is_conserved_to_round_off_and_m_stays_non_negative() {
        for b in [Boundary::NoFlux, Boundary::Periodic] {
            let p = problem(b);
            let u = rough_u(&p);
            let mut m = Array2::zeros(u.raw_dim());
            let stats = FdmFp::new().solve_into(&p, u.view(), m.view_mut()).unwrap();
            assert!(
                stats.max_mass_drift < 1e-12,
                "{b:?}: drift {}",
                stats.max_mass_drift
            );
            for row in m.rows() {
                let mass = p.grid().integrate(row.as_slice().unwrap());
                assert!((mass - 1.0).abs() < 1e-12, "{b:?}: mass {mass}");
                assert!(row.iter().all(|&v| v >= 0.0), "{b:?}: negative density");
            }
        }
    }

    #[test]
    fn pure_diffusion_spreads_symmetrically_and_tends_to_uniform() {
        let p = problem(Boundary::NoFlux);
        let n = p.grid().len();
        let u = Array2::zeros((p.time().levels(), n));
        let mut m = Array2::zeros(u.raw_dim());
        FdmFp::new().solve_into(&p, u.view(), m.view_mut()).unwrap();
        // Variance grows under pure diffusion.
        let var = |k: usize| {
            let row = m.row(k);
            let w = p.grid().weights();
            let mean: f64 = (0..n).map(|i| w[i] * row[i] * p.grid().point(i)[0]).sum();
            (0..n)
                .map(|i| w[i] * row[i] * (p.grid().point(i)[0] - mean).powi(2))
                .sum::<f64>()
        };
        assert!(var(10) > var(0) && var(200) > var(10));
    }
}
