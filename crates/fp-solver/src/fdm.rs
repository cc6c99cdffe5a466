//! `FdmFp`: implicit Euler with the transpose of the linearised upwind HJB operator.

use ndarray::{ArrayView2, ArrayViewMut2};

use mfg_core::linalg::Tridiagonal;
use mfg_core::solver::check_shape;
use mfg_core::sparse::Preconditioner;
use mfg_core::upwind::{assemble_implicit, upwind_rates};
use mfg_core::{Boundary, FpSolver, FpStats, Problem, SolveError};

#[derive(Debug, Clone)]
struct Work {
    to_prev: Vec<f64>,
    to_next: Vec<f64>,
    mass: Vec<f64>,
    inv_weights: Vec<f64>,
    matrix: Tridiagonal,
}

impl Work {
    fn new(weights: &[f64], cyclic: bool) -> Self {
        let n = weights.len();
        Self {
            to_prev: vec![0.0; n],
            to_next: vec![0.0; n],
            mass: vec![0.0; n],
            inv_weights: weights.iter().map(|w| 1.0 / w).collect(),
            matrix: Tridiagonal::new(n, cyclic),
        }
    }

    fn fits(&self, weights: &[f64], cyclic: bool) -> bool {
        self.matrix.is_cyclic() == cyclic
            && self.inv_weights.len() == weights.len()
            && self
                .inv_weights
                .iter()
                .zip(weights)
                .all(|(iw, w)| *iw == 1.0 / w)
    }
}

/// The implicit finite-difference FP solver (1D), the discrete adjoint of [`hjb-solver`'s
/// `FdmHjb`](https://docs.rs/hjb-solver).
///
/// Forward in time, level `k + 1` from level `k`, in the mass variables `μ_i = w_i m_i`
/// (`w` the grid's quadrature weights):
///
/// ```text
/// (I − dt L(u^k)ᵀ) μ^{k+1} = μ^k
/// ```
///
/// where `L(u)` is the upwind generator of [`mfg_core::upwind`], the linearisation of the HJB
/// scheme. The columns of `I − dt Lᵀ` sum to one and it is an M-matrix, so the mass
/// `Σ w_i m_i` is conserved to round-off and `m ≥ 0` on every level, for any `dt`.
///
/// ```
/// use fp_solver::FdmFp;
/// use mfg_core::{FpSolver, test_problems::LqGaussian};
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
#[derive(Debug, Clone, Default)]
pub struct FdmFp {
    work: Option<Work>,
    nd: Option<crate::fdm_nd::NdWork>,
    /// The coupling iteration's requested accuracy (used by the multi-dimensional path).
    accuracy: Option<f64>,
    /// `None`: [`Preconditioner::for_grid`].
    preconditioner: Option<Preconditioner>,
}

impl FdmFp {
    /// A new solver (work arrays are allocated on the first solve).
    pub fn new() -> Self {
        Self::default()
    }

    /// The preconditioner of the BiCGSTAB solves in two and more dimensions. By default
    /// the measured winner (docs/PERFORMANCE.md): ADI line solves with no-flux walls, ILU(0)
    /// with periodic ones (the ADI lines drop their wrap-around entry and lose there).
    pub fn with_preconditioner(mut self, preconditioner: Preconditioner) -> Self {
        self.preconditioner = Some(preconditioner);
        self
    }

    /// Forget the previous solve (in 2D the next solve starts every level's linear solve from
    /// the previous level instead of the previous solve's same level).
    pub fn reset(&mut self) {
        if let Some(w) = self.nd.as_mut() {
            w.warm = false;
        }
    }
}

impl FpSolver for FdmFp {
    fn name(&self) -> &'static str {
        "fdm"
    }

    /// In two and more dimensions the BiCGSTAB solves stop at a relative residual of
    /// `max(1e-11, relative)` (mass and positivity are then restored exactly by the
    /// projection); the 1D path solves directly and ignores it.
    fn set_accuracy(&mut self, relative: f64) {
        self.accuracy = Some(relative);
    }

    fn solve_into(
        &mut self,
        problem: &Problem,
        u: ArrayView2<'_, f64>,
        mut m: ArrayViewMut2<'_, f64>,
    ) -> Result<FpStats, SolveError> {
        check_shape(problem, u.shape(), "u");
        check_shape(problem, m.shape(), "m");
        let grid = problem.grid();
        if grid.dim() != 1 {
            let pc = self
                .preconditioner
                .unwrap_or_else(|| Preconditioner::for_grid(grid));
            if !self.nd.as_ref().is_some_and(|w| w.fits(problem, pc)) {
                self.nd = Some(crate::fdm_nd::NdWork::new(problem, pc));
            }
            let w = self.nd.as_mut().expect("allocated above");
            return crate::fdm_nd::solve(w, problem, u, m, self.accuracy);
        }
        let axis = grid.axis(0);
        let weights = grid.weights();
        let cyclic = grid.boundary() == Boundary::Periodic;
        if !self.work.as_ref().is_some_and(|w| w.fits(weights, cyclic)) {
            self.work = Some(Work::new(weights, cyclic));
        }
        let w = self.work.as_mut().expect("work allocated above");
        let nt = problem.time().nt();
        let dt = problem.time().dt();
        let nu = problem.nu();
        let h = problem.hamiltonian();
        let forcing = problem.forcing();

        m.row_mut(0)
            .as_slice_mut()
            .expect("contiguous row")
            .copy_from_slice(problem.initial_density());
        let mass0 = grid.integrate(problem.initial_density());
        let mut stats = FpStats::default();
        for k in 0..nt {
            let uk = u.row(k);
            let uk = uk.as_slice().expect("contiguous row");
            upwind_rates(axis, nu, h, uk, &mut w.to_prev, &mut w.to_next, None);
            assemble_implicit(axis, dt, &w.to_prev, &w.to_next, true, &mut w.matrix);
            {
                let mk = m.row(k);
                for ((mu, mi), wi) in w.mass.iter_mut().zip(mk.iter()).zip(weights) {
                    *mu = wi * mi;
                }
            }
            if let Some(fc) = forcing {
                for ((mu, s), wi) in w.mass.iter_mut().zip(fc.fp.row(k + 1)).zip(weights) {
                    *mu += dt * wi * s;
                }
            }
            w.matrix.solve_in_place(&mut w.mass);
            let mut next = m.row_mut(k + 1);
            let next = next.as_slice_mut().expect("contiguous row");
            let mut mass = 0.0;
            for ((mi, mu), iw) in next.iter_mut().zip(&w.mass).zip(&w.inv_weights) {
                *mi = mu * iw;
                mass += mu;
            }
            if !mass.is_finite() {
                let index = next.iter().position(|v| !v.is_finite()).unwrap_or(0);
                return Err(SolveError::NonFinite {
                    field: "m",
                    time_level: k + 1,
                    index,
                });
            }
            stats.max_mass_drift = stats.max_mass_drift.max((mass - mass0).abs() / mass0);
        }
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mfg_core::{Grid, TimeGrid};
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
