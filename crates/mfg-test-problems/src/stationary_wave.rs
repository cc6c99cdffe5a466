//! An exact stationary pair for any Hamiltonian of `|p|`.

use std::f64::consts::PI;

use mfg_core::{
    Axis, Boundary, Coupling, Grid, Hamiltonian, Nonlocal, Problem, RunningCost, TimeGrid, MAX_DIM,
};

/// An exact stationary solution for any Hamiltonian `H` whose `∂pH(q 𝟙)` is parallel to
/// `𝟙 = (1, …, 1)` (every `H` of `|p|`, every symmetric separable `H`), any coupling `F`, on
/// the periodic `[0, 1]^d`: with `s = x_1 + … + x_d` (a plane wave along the diagonal, so that
/// in 2D and 3D every axis is active and `|p|` mixes them),
///
/// ```text
/// u*(x) = ε cos 2πs,         g(s) = ∂p_1 H(∇u*) = ∂p_1 H(−2πε sin(2πs) 𝟙),
/// φ(s) = (1/ν) ∫₀ˢ g,        m*(x) = exp(−φ(s)) / Z,  Z = ∫₀¹ exp(−φ),
/// V(x) = −ν Δu* + H(∇u*) − F(m*)
/// ```
///
/// The flux `ν ∇m* + m* ∂pH(∇u*) = m* (−ν φ' + g) 𝟙` vanishes, and HJB holds with `λ = 0` by
/// the choice of `V`: `(u*, m*, 0)` solves the stationary game (`∫ u* = 0`, `∫ m* = 1`), and
/// `u(t) = u*`, `m(t) = m*` the time-dependent one with `g = u*`, `m0 = m*`. `g` is odd about
/// `s = 1/2`, so `φ` is periodic. `φ` and `Z` come from composite Gauss–Legendre integrals
/// (4096 cells of 5 nodes: round-off for smooth `H`, below `10⁻¹⁰` across a kink of `∂pH` or
/// where it is only Hölder, `|p|^{β−1}` with `β < 2`).
#[derive(Debug, Clone)]
pub struct StationaryWave<H> {
    pub(crate) hamiltonian: H,
    coupling: Coupling,
    /// `(c, w)` of a nonlocal Gaussian coupling [`mfg_core::Nonlocal`], replacing `coupling`.
    nonlocal: Option<(f64, f64)>,
    epsilon: f64,
    sigma: f64,
    dim: usize,
    /// `φ` at the cell edges `j / CELLS`, `j = 0..=CELLS`.
    phi: Vec<f64>,
    /// `ln Z`.
    log_z: f64,
}

impl<H: Hamiltonian + Clone + 'static> StationaryWave<H> {
    const CELLS: usize = 4096;
    /// The 5-point Gauss–Legendre nodes and weights on [−1, 1].
    pub(crate) const GL: [(f64, f64); 5] = [
        (0.0, 0.568_888_888_888_888_9),
        (-0.538_469_310_105_683, 0.478_628_670_499_366_5),
        (0.538_469_310_105_683, 0.478_628_670_499_366_5),
        (-0.906_179_845_938_664, 0.236_926_885_056_189_1),
        (0.906_179_845_938_664, 0.236_926_885_056_189_1),
    ];

    /// The wave of amplitude `ε` in `dim` dimensions for `H`, the coupling `F` and `σ > 0`.
    pub fn new(hamiltonian: H, coupling: Coupling, epsilon: f64, sigma: f64, dim: usize) -> Self {
        assert!((1..=MAX_DIM).contains(&dim) && sigma > 0.0);
        let mut w = Self {
            hamiltonian,
            coupling,
            nonlocal: None,
            epsilon,
            sigma,
            dim,
            phi: Vec::new(),
            log_z: 0.0,
        };
        let h = 1.0 / Self::CELLS as f64;
        let mut phi = Vec::with_capacity(Self::CELLS + 1);
        phi.push(0.0);
        for j in 0..Self::CELLS {
            let next = phi[j] + w.integral(j as f64 * h, (j + 1) as f64 * h);
            phi.push(next);
        }
        w.phi = phi;
        // Z by Gauss–Legendre on every cell too (φ is only C^{1,β−1} where ∇u* = 0 for β < 2:
        // the trapezoid rule would be 10⁻⁹ off).
        let z: f64 = (0..Self::CELLS)
            .map(|j| {
                let (a, b) = (j as f64 * h, (j + 1) as f64 * h);
                let (mid, half) = (0.5 * (a + b), 0.5 * h);
                half * Self::GL
                    .iter()
                    .map(|&(t, wt)| wt * (-w.phi(mid + half * t)).exp())
                    .sum::<f64>()
            })
            .sum();
        w.log_z = z.ln();
        w
    }

    fn nu(&self) -> f64 {
        0.5 * self.sigma * self.sigma
    }

    /// The same wave with the nonlocal coupling `F[m] = c K ∗ m`, `K` the Gaussian of width
    /// `w` ([`mfg_core::Nonlocal`], nearest periodic images). `F[m*]` in the potential is the
    /// convolution along the diagonal: `m*` depends on `s` only, and the `d` independent
    /// displacements of width `w` move `s` by a Gaussian of width `w √d`, so
    /// `F[m*](x) = c ∫ G_{w√d}(τ) m*(s − τ) dτ` (Gauss–Legendre on `[−1, 1]`, 2000 nodes). The
    /// nearest-image truncation of `K` at half the period is neglected: take `w ≤ 0.08`
    /// (`< 10⁻⁸` of the kernel's mass).
    pub fn with_nonlocal(mut self, strength: f64, width: f64) -> Self {
        assert!(width > 0.0 && width <= 0.08, "see the docs: w <= 0.08");
        self.nonlocal = Some((strength, width));
        self
    }

    /// `F[m*]` at `s` for the nonlocal coupling.
    fn nonlocal_cost(&self, s: f64) -> f64 {
        let (c, w) = self.nonlocal.expect("a nonlocal wave");
        let sd = w * (self.dim as f64).sqrt();
        let panels = 400;
        let h = 2.0 / panels as f64;
        let mut sum = 0.0;
        for j in 0..panels {
            let mid = -1.0 + (j as f64 + 0.5) * h;
            for &(t, wt) in &Self::GL {
                let tau = mid + 0.5 * h * t;
                let g = (-0.5 * tau * tau / (sd * sd)).exp() / (sd * (2.0 * PI).sqrt());
                sum += 0.5 * h * wt * g * (-self.phi(s - tau) - self.log_z).exp();
            }
        }
        c * sum
    }

    /// `g(s)`: the first component of `∂pH(∇u*)` on the plane `x_1 + … + x_d = s`.
    fn g(&self, s: f64) -> f64 {
        let q = -2.0 * PI * self.epsilon * (2.0 * PI * s).sin();
        let (p, mut dp) = ([q; MAX_DIM], [0.0; MAX_DIM]);
        let x = [0.0; MAX_DIM];
        self.hamiltonian
            .dp(&x[..self.dim], &p[..self.dim], &mut dp[..self.dim]);
        dp[0]
    }

    /// `(1/ν) ∫_a^b g` by Gauss–Legendre.
    fn integral(&self, a: f64, b: f64) -> f64 {
        let (mid, half) = (0.5 * (a + b), 0.5 * (b - a));
        half * Self::GL
            .iter()
            .map(|&(t, wt)| wt * self.g(mid + half * t))
            .sum::<f64>()
            / self.nu()
    }

    /// `φ(s)` for any real `s` (periodic).
    pub(crate) fn phi(&self, s: f64) -> f64 {
        let s = s.rem_euclid(1.0);
        let j = ((s * Self::CELLS as f64) as usize).min(Self::CELLS - 1);
        let a = j as f64 / Self::CELLS as f64;
        self.phi[j] + self.integral(a, s)
    }

    /// u*.
    pub fn u(&self, x: &[f64]) -> f64 {
        self.epsilon * (2.0 * PI * x.iter().sum::<f64>()).cos()
    }

    /// m*.
    pub fn m(&self, x: &[f64]) -> f64 {
        (-self.phi(x.iter().sum()) - self.log_z).exp()
    }

    /// `V = −ν Δu* + H(∇u*) − F(m*)` (`F[m*]` for a nonlocal coupling).
    pub fn potential(&self, x: &[f64]) -> f64 {
        let s: f64 = x.iter().sum();
        let k = 2.0 * PI;
        let laplacian = -k * k * self.epsilon * self.dim as f64 * (k * s).cos();
        let p = [-k * self.epsilon * (k * s).sin(); MAX_DIM];
        let f = if self.nonlocal.is_some() {
            self.nonlocal_cost(s)
        } else {
            self.coupling.value(0.0, x, self.m(x))
        };
        -self.nu() * laplacian + self.hamiltonian.value(x, &p[..self.dim]) - f
    }

    /// The time-dependent problem on `[0, 1]^dim` (periodic, `n` intervals per axis) over
    /// `[0, t_final]` in `nt` steps, started at `m*` with `g = u*`: its solution is `(u*, m*)`
    /// at every time. The stationary solver reads the same problem (no time data).
    pub fn problem(&self, n: usize, t_final: f64, nt: usize) -> Problem {
        let axes = (0..self.dim)
            .map(|_| Axis::new(0.0, 1.0, n, Boundary::Periodic).expect("valid axis"))
            .collect();
        let builder = Problem::builder(
            Grid::new(axes),
            TimeGrid::new(t_final, nt).expect("valid time"),
        )
        .sigma(self.sigma)
        .hamiltonian(self.hamiltonian.clone());
        let builder = match self.nonlocal {
            Some((c, w)) => builder.coupling(Nonlocal::gaussian(c, w).expect("valid kernel")),
            None => builder.coupling(self.coupling),
        };
        // The potential depends on s = Σ x_d only: one (costly, when nonlocal) value per s.
        let seen = std::cell::RefCell::new(std::collections::HashMap::new());
        let potential = |x: &[f64]| {
            let key = (x.iter().sum::<f64>().rem_euclid(1.0) * 1e9).round() as i64;
            *seen
                .borrow_mut()
                .entry(key)
                .or_insert_with(|| self.potential(x))
        };
        builder
            .potential_fn(potential)
            .terminal_cost_fn(|x| self.u(x))
            .initial_density_fn(|x| self.m(x))
            .build()
            .expect("valid stationary wave problem")
    }
}
