//! The implicit upwind operator shared by the finite-difference HJB and FP solvers, in any
//! dimension.
//!
//! Linearising the upwind HJB scheme at `u` gives the generator `L(u)` of a Markov chain on
//! the grid: from point `i` the chain jumps to its previous neighbour along axis `d` with rate
//! `ν/dx_d² + ∂H_h/∂D⁻_d u / dx_d` and to its next neighbour with rate
//! `ν/dx_d² − ∂H_h/∂D⁺_d u / dx_d` (for `H = |p|²/(2λ)`: `max(D⁻_d u_i, 0)/(λ dx_d)` and
//! `max(−D⁺_d u_i, 0)/(λ dx_d)`); the rates come from [`crate::Hamiltonian::upwind_rates`]. Rows of `L` sum to zero and off-diagonal entries are
//! non-negative, so `I − dt L` is an M-matrix.
//!
//! * HJB (Newton at each level): the Jacobian of the implicit step is `I − dt L(u)`.
//! * FP: the step is `(I − dt L(u)ᵀ) μ^{n+1} = μ^n` in the mass variables `μ_i = w_i m_i`
//!   (`w` the grid's quadrature weights), whose columns sum to one: the mass `Σ w_i m_i` is
//!   conserved to round-off and `m ≥ 0`. This is the discrete adjoint of the HJB operator in
//!   the `w`-weighted inner product (Achdou–Capuzzo-Dolcetta 2010).
//!
//! The systems are solved by a [`crate::linalg::LinearBackend`]. At a no-flux wall the ghost
//! value is the reflection (`u_{−1} = u_1`), so both rates of a wall
//! point lead to its single inner neighbour: this is the finite-volume scheme on the half cell
//! `[x_0, x_0 + dx/2]` whose weight is the trapezoid `dx/2`.

use crate::grid::Grid;
use crate::linalg::kernels;
use crate::linalg::{backend_for, LinearBackend, LinearError, LinearInfo, PreconditionerKind};
use crate::model::hamiltonian::Hamiltonian;
use crate::scheme::laplacian::apply_generator;

/// The linearised upwind operator `L(u)` of one grid, its implicit systems and their
/// [`LinearBackend`]: the shared machinery of the finite-difference HJB (Newton) and FP
/// solvers, storage allocated once.
#[derive(Debug)]
pub struct UpwindOperator {
    to_prev: Vec<Vec<f64>>,
    to_next: Vec<Vec<f64>>,
    backend: Box<dyn LinearBackend>,
    key: (usize, usize, u8, Option<PreconditionerKind>, u64),
}

impl UpwindOperator {
    /// For `grid`, with the backend of [`backend_for`].
    pub fn new(
        grid: &Grid,
        preconditioner: Option<PreconditionerKind>,
        max_iterations: usize,
    ) -> Self {
        let (n, dim) = (grid.len(), grid.dim());
        Self {
            to_prev: vec![vec![0.0; n]; dim],
            to_next: vec![vec![0.0; n]; dim],
            backend: backend_for(grid, preconditioner, max_iterations),
            key: (
                n,
                dim,
                grid.periodic_axes(),
                preconditioner,
                grid.geometry_id(),
            ),
        }
    }

    /// Whether this operator was built for a grid of this size and walls, and this
    /// preconditioner.
    pub fn fits(&self, grid: &Grid, preconditioner: Option<PreconditionerKind>) -> bool {
        self.key
            == (
                grid.len(),
                grid.dim(),
                grid.periodic_axes(),
                preconditioner,
                grid.geometry_id(),
            )
    }

    /// Whether the backend solves exactly (see [`LinearBackend::is_direct`]).
    pub fn is_direct(&self) -> bool {
        self.backend.is_direct()
    }

    /// The backend's name.
    pub fn backend_name(&self) -> &'static str {
        self.backend.name()
    }

    /// Linearise at `u`: the jump rates of `L(u)` from the Hamiltonian, and `H_h(u)` into
    /// `hamiltonian` if given. With a density-dependent Hamiltonian
    /// ([`Hamiltonian::depends_on_density`]) and the density `m` at every point, the upwind
    /// speeds and `H_h` are multiplied by `s(m_i)` (the diffusion part of the rates is not).
    pub fn linearise(
        &mut self,
        h: &dyn Hamiltonian,
        grid: &Grid,
        nu: f64,
        u: &[f64],
        density: Option<&[f64]>,
        mut hamiltonian: Option<&mut [f64]>,
    ) {
        h.upwind_rates(
            grid,
            nu,
            u,
            &mut self.to_prev,
            &mut self.to_next,
            hamiltonian.as_deref_mut(),
        );
        if let Some(m) = density.filter(|_| h.depends_on_density()) {
            self.apply_density_factor(h, grid, nu, m, hamiltonian.as_deref_mut());
        }
        if grid.has_geometry() {
            grid.mask_rates(&mut self.to_prev, &mut self.to_next);
            if let Some(hv) = hamiltonian {
                grid.zero_fixed(hv);
            }
        }
    }

    /// Multiply the upwind speeds and `H_h` by the density factor `s(m_i)`.
    fn apply_density_factor(
        &mut self,
        h: &dyn Hamiltonian,
        grid: &Grid,
        nu: f64,
        m: &[f64],
        hamiltonian: Option<&mut [f64]>,
    ) {
        for d in 0..grid.dim() {
            let dx = grid.axis(d).dx();
            let diff = nu / (dx * dx);
            for ((p, q), mi) in self.to_prev[d]
                .iter_mut()
                .zip(self.to_next[d].iter_mut())
                .zip(m)
            {
                let s = h.density_factor(*mi);
                *p = diff + s * (*p - diff);
                *q = diff + s * (*q - diff);
            }
        }
        if let Some(hv) = hamiltonian {
            for (v, mi) in hv.iter_mut().zip(m) {
                *v *= h.density_factor(*mi);
            }
        }
    }

    /// `out = L u` for the last linearisation ([`apply_generator`]).
    pub fn apply(&self, grid: &Grid, u: &[f64], out: &mut [f64]) {
        apply_generator(grid, &self.to_prev, &self.to_next, u, out);
    }

    /// The largest total jump rate `max_i Σ_d (to_prev + to_next)` of the last linearisation:
    /// `‖L‖∞ / 2`, the scale of the round-off in `L u`.
    pub fn max_total_rate(&self) -> f64 {
        let n = self.to_prev.first().map_or(0, Vec::len);
        let (to_prev, to_next) = (&self.to_prev, &self.to_next);
        kernels::max_over(n, |range| {
            range
                .map(|i| {
                    to_prev
                        .iter()
                        .zip(to_next)
                        .map(|(p, q)| p[i] + q[i])
                        .sum::<f64>()
                })
                .fold(0.0, f64::max)
        })
        .max(0.0)
    }

    /// Assemble `I − dt L` (or its transpose) for the last linearisation.
    pub fn assemble(&mut self, dt: f64, transpose: bool) {
        self.backend
            .assemble(dt, &self.to_prev, &self.to_next, transpose);
    }

    /// Solve the assembled system (see [`LinearBackend::solve`]).
    pub fn solve(&mut self, b: &[f64], x: &mut [f64], tol: f64) -> Result<LinearInfo, LinearError> {
        self.backend.solve(b, x, tol)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::Boundary;
    use crate::linalg::backend_for;
    use crate::model::hamiltonian::{Hamiltonian, Quadratic};

    fn grids(b: Boundary) -> [Grid; 3] {
        [
            Grid::line(0.0, 1.0, 12, b).unwrap(),
            Grid::rectangle([0.0, 1.0], 7, [0.0, 2.0], 6, b).unwrap(),
            Grid::cuboid([0.0, 1.0], 4, [0.0, 2.0], 5, [-1.0, 0.0], 3, b).unwrap(),
        ]
    }

    fn sample_u(g: &Grid) -> Vec<f64> {
        g.sample(|x| {
            x.iter()
                .enumerate()
                .map(|(d, v)| ((3.0 + d as f64) * v).sin() + 0.5 * v * v)
                .sum()
        })
    }

    fn rates(g: &Grid, nu: f64, h: &dyn Hamiltonian, u: &[f64]) -> [Vec<Vec<f64>>; 3] {
        let n = g.len();
        let mut tp = vec![vec![0.0; n]; g.dim()];
        let mut tn = vec![vec![0.0; n]; g.dim()];
        let mut hv = vec![vec![0.0; n]];
        h.upwind_rates(g, nu, u, &mut tp, &mut tn, Some(&mut hv[0]));
        [tp, tn, hv]
    }

    #[test]
    fn the_fp_step_conserves_mass_variables_in_every_dimension() {
        // The rows of I − dt L sum to one, i.e. 1ᵀ (I − dt Lᵀ) = 1ᵀ, so 1ᵀ (I − dt Lᵀ)⁻¹ μ = 1ᵀ μ.
        for b in [Boundary::NoFlux, Boundary::Periodic] {
            for g in grids(b) {
                let u = sample_u(&g);
                let [tp, tn, _] = rates(&g, 0.1, &Quadratic::new(1.0), &u);
                let mut be = backend_for(&g, None, 1000);
                be.assemble(0.05, &tp, &tn, true);
                let mu: Vec<f64> = (0..g.len()).map(|i| 1.0 + (i % 4) as f64).collect();
                let mut next = vec![0.0; g.len()];
                assert!(be.solve(&mu, &mut next, 1e-14).is_ok());
                let (a, b2): (f64, f64) = (mu.iter().sum(), next.iter().sum());
                assert!(
                    (a - b2).abs() < 1e-11 * a,
                    "{b:?} {}D: {a} vs {b2}",
                    g.dim()
                );
                assert!(next.iter().all(|v| *v > 0.0));
            }
        }
    }

    #[test]
    fn the_operator_applied_to_u_gives_diffusion_minus_twice_h() {
        // Σ_j rate_ij (u_j − u_i) = ν Δ_h u_i − 2 H_h(u)_i: the identity behind the Newton step.
        for b in [Boundary::NoFlux, Boundary::Periodic] {
            for g in grids(b) {
                let u = sample_u(&g);
                let nu = 0.1;
                let [tp, tn, hv] = rates(&g, nu, &Quadratic::new(0.5), &u);
                let mut lu = vec![0.0; g.len()];
                apply_generator(&g, &tp, &tn, &u, &mut lu);
                for i in 0..g.len() {
                    let mut lap = 0.0;
                    for d in 0..g.dim() {
                        let (l, r) = g.neighbours(i, d);
                        let dx = g.axis(d).dx();
                        lap += nu * (u[l] - 2.0 * u[i] + u[r]) / (dx * dx);
                    }
                    assert!(
                        (lu[i] - (lap - 2.0 * hv[0][i])).abs() < 1e-9,
                        "{b:?} {}D at {i}",
                        g.dim()
                    );
                }
            }
        }
    }

    /// `(L(u)ᵀ μ)` from the rates, for the derivative test.
    fn transpose_apply(g: &Grid, tp: &[Vec<f64>], tn: &[Vec<f64>], mu: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; g.len()];
        for d in 0..g.dim() {
            for (i, &[l, r]) in g.neighbour_table(d).iter().enumerate() {
                out[l] += mu[i] * tp[d][i];
                out[r] += mu[i] * tn[d][i];
                out[i] -= mu[i] * (tp[d][i] + tn[d][i]);
            }
        }
        out
    }

    #[test]
    fn the_transpose_derivative_is_the_derivative_of_the_fp_operator() {
        // Against central differences of u ↦ L(u)ᵀ μ, in every dimension, both wall kinds.
        let h = Quadratic::new(0.8);
        for b in [Boundary::NoFlux, Boundary::Periodic] {
            for g in grids(b) {
                let n = g.len();
                let u = sample_u(&g);
                let mu: Vec<f64> = (0..n).map(|i| 1.0 + 0.5 * ((i * 7) % 5) as f64).collect();
                let du: Vec<f64> = (0..n).map(|i| ((i * 3) % 7) as f64 - 3.0).collect();
                let mut exact = vec![0.0; n];
                h.transpose_generator_derivative(&g, &u, &mu, &du, &mut exact);
                let eps = 1e-7;
                let shifted = |sign: f64| {
                    let v: Vec<f64> = u.iter().zip(&du).map(|(a, b)| a + sign * eps * b).collect();
                    let [tp, tn, _] = rates(&g, 0.1, &h, &v);
                    transpose_apply(&g, &tp, &tn, &mu)
                };
                let (hi, lo) = (shifted(1.0), shifted(-1.0));
                let scale = exact.iter().fold(0.0_f64, |a, v| a.max(v.abs()));
                assert!(scale > 1.0, "{b:?} {}D: a trivial test", g.dim());
                for i in 0..n {
                    let fd = (hi[i] - lo[i]) / (2.0 * eps);
                    assert!(
                        (fd - exact[i]).abs() < 1e-6 * scale,
                        "{b:?} {}D at {i}: {fd} vs {}",
                        g.dim(),
                        exact[i]
                    );
                }
                let total: f64 = exact.iter().sum();
                assert!(total.abs() < 1e-10 * scale, "mass made: {total}");
            }
        }
    }
}
