//! The implicit upwind operator shared by the finite-difference HJB and FP solvers.
//!
//! Linearising the upwind HJB scheme at `u` gives the generator `L(u)` of a Markov chain on
//! the grid: from point `i` the chain jumps to its previous neighbour with rate
//! `ν/dx² + max(D⁻u_i, 0)/(λ dx)` and to its next neighbour with rate
//! `ν/dx² + max(−D⁺u_i, 0)/(λ dx)`. Rows of `L` sum to zero and off-diagonal entries are
//! non-negative, so `I − dt L` is an M-matrix.
//!
//! * HJB (Newton at each level): the Jacobian of the implicit step is `I − dt L(u)`.
//! * FP: the step is `(I − dt L(u)ᵀ) μ^{n+1} = μ^n` in the mass variables `μ_i = w_i m_i`
//!   (`w` the grid's quadrature weights), whose columns sum to one: the mass `Σ w_i m_i` is
//!   conserved to round-off and `m ≥ 0`. This is the discrete adjoint of the HJB operator in
//!   the `w`-weighted inner product (Achdou–Capuzzo-Dolcetta 2010).
//!
//! At a no-flux wall the ghost value is the reflection (`u_{−1} = u_1`), so both rates of a wall
//! point lead to its single inner neighbour: this is the finite-volume scheme on the half cell
//! `[x_0, x_0 + dx/2]` whose weight is the trapezoid `dx/2`.

use crate::grid::{Axis, Boundary};
use crate::hamiltonian::Hamiltonian;
use crate::linalg::Tridiagonal;

/// Jump rates of `L(u)` along one axis, and `H_h` at every point if `hamiltonian` is given.
pub fn upwind_rates(
    axis: &Axis,
    nu: f64,
    h: &Hamiltonian,
    u: &[f64],
    to_prev: &mut [f64],
    to_next: &mut [f64],
    mut hamiltonian: Option<&mut [f64]>,
) {
    let n = axis.len();
    assert!(
        u.len() == n && to_prev.len() == n && to_next.len() == n,
        "upwind_rates: wrong lengths"
    );
    let inv_dx = 1.0 / axis.dx();
    let diff = nu * inv_dx * inv_dx;
    for_each_stencil(axis, |i, l, r| {
        let back = (u[i] - u[l]) * inv_dx;
        let fwd = (u[r] - u[i]) * inv_dx;
        let (sp, sn) = h.upwind_speeds(back, fwd);
        to_prev[i] = diff + sp * inv_dx;
        to_next[i] = diff + sn * inv_dx;
        if let Some(hv) = hamiltonian.as_deref_mut() {
            hv[i] = h.upwind(back, fwd);
        }
    });
}

/// Call `f(i, previous, next)` for every point of `axis`: the interior in a branch-free loop,
/// the two end points with their wrapped or reflected neighbours ([`Axis::neighbours`]).
#[inline(always)]
pub fn for_each_stencil(axis: &Axis, mut f: impl FnMut(usize, usize, usize)) {
    let n = axis.len();
    let (l, r) = axis.neighbours(0);
    f(0, l, r);
    for i in 1..n - 1 {
        f(i, i - 1, i + 1);
    }
    let (l, r) = axis.neighbours(n - 1);
    f(n - 1, l, r);
}

/// Fill `a` with `I − dt L` (or its transpose) from the rates of [`upwind_rates`].
pub fn assemble_implicit(
    axis: &Axis,
    dt: f64,
    to_prev: &[f64],
    to_next: &[f64],
    transpose: bool,
    a: &mut Tridiagonal,
) {
    let n = axis.len();
    assert_eq!(a.len(), n, "assemble_implicit: wrong matrix size");
    assert_eq!(
        a.is_cyclic(),
        axis.boundary() == Boundary::Periodic,
        "assemble_implicit: cyclic matrix iff periodic axis"
    );
    for i in 0..n {
        a.sub[i] = -dt * to_prev[i];
        a.sup[i] = -dt * to_next[i];
        a.diag[i] = 1.0 + dt * (to_prev[i] + to_next[i]);
    }
    if axis.boundary() == Boundary::NoFlux {
        // Reflection: both rates of a wall point lead to its inner neighbour.
        a.sup[0] += a.sub[0];
        a.sub[0] = 0.0;
        a.sub[n - 1] += a.sup[n - 1];
        a.sup[n - 1] = 0.0;
    }
    if transpose {
        a.transpose();
    }
}

/// Jump rates of `L(u)` along every axis of a grid of any dimension, and `H_h = Σ_d H_h^d` at
/// every point if `hamiltonian` is given (the quadratic H separates over the axes, so the
/// upwind scheme is the 1D one per axis).
pub fn upwind_rates_grid(
    grid: &crate::grid::Grid,
    nu: f64,
    h: &Hamiltonian,
    u: &[f64],
    to_prev: &mut [Vec<f64>],
    to_next: &mut [Vec<f64>],
    mut hamiltonian: Option<&mut [f64]>,
) {
    if let Some(hv) = hamiltonian.as_deref_mut() {
        hv.iter_mut().for_each(|v| *v = 0.0);
    }
    for d in 0..grid.dim() {
        let inv_dx = 1.0 / grid.axis(d).dx();
        let diff = nu * inv_dx * inv_dx;
        let (tp, tn) = (&mut to_prev[d], &mut to_next[d]);
        for (i, &[l, r]) in grid.neighbour_table(d).iter().enumerate() {
            let back = (u[i] - u[l]) * inv_dx;
            let fwd = (u[r] - u[i]) * inv_dx;
            let (sp, sn) = h.upwind_speeds(back, fwd);
            tp[i] = diff + sp * inv_dx;
            tn[i] = diff + sn * inv_dx;
            if let Some(hv) = hamiltonian.as_deref_mut() {
                hv[i] += h.upwind(back, fwd);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::Grid;

    fn setup(boundary: Boundary) -> (Grid, Vec<f64>) {
        let g = Grid::line(0.0, 1.0, 12, boundary).unwrap();
        let u = g.sample(|x| (3.0 * x[0]).sin() + 0.5 * x[0] * x[0]);
        (g, u)
    }

    #[test]
    fn columns_of_the_fp_matrix_sum_to_one_in_mass_variables() {
        for b in [Boundary::NoFlux, Boundary::Periodic] {
            let (g, u) = setup(b);
            let n = g.len();
            let (mut tp, mut tn) = (vec![0.0; n], vec![0.0; n]);
            upwind_rates(
                g.axis(0),
                0.1,
                &Hamiltonian::quadratic(1.0),
                &u,
                &mut tp,
                &mut tn,
                None,
            );
            let mut a = Tridiagonal::new(n, b == Boundary::Periodic);
            assemble_implicit(g.axis(0), 0.05, &tp, &tn, true, &mut a);
            // 1ᵀ A = 1ᵀ  <=>  Aᵀ 1 = 1.
            a.transpose();
            let mut y = vec![0.0; n];
            a.matvec(&vec![1.0; n], &mut y);
            for v in y {
                assert!((v - 1.0).abs() < 1e-13, "{b:?}: {v}");
            }
        }
    }

    #[test]
    fn the_operator_applied_to_u_gives_diffusion_minus_twice_h() {
        // Σ_j rate_ij (u_j − u_i) = ν Δ_h u_i − 2 H_h(u)_i: the identity behind the Newton step.
        for b in [Boundary::NoFlux, Boundary::Periodic] {
            let (g, u) = setup(b);
            let n = g.len();
            let ax = g.axis(0);
            let (mut tp, mut tn, mut hv) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
            let nu = 0.1;
            let dx = ax.dx();
            upwind_rates(
                ax,
                nu,
                &Hamiltonian::quadratic(0.5),
                &u,
                &mut tp,
                &mut tn,
                Some(&mut hv),
            );
            for i in 0..n {
                let (l, r) = ax.neighbours(i);
                let lu = tp[i] * (u[l] - u[i]) + tn[i] * (u[r] - u[i]);
                let lap = nu * (u[l] - 2.0 * u[i] + u[r]) / (dx * dx);
                assert!((lu - (lap - 2.0 * hv[i])).abs() < 1e-10, "{b:?} at {i}");
            }
        }
    }
}
