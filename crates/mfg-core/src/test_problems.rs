//! Problems with known solutions, shared by tests, benches and examples.
//!
//! * [`LqGaussian`]: the linear–quadratic game without coupling, whose value function is a
//!   quadratic with a Riccati coefficient and whose density stays Gaussian.
//! * [`Manufactured`]: a fully coupled periodic problem with linear coupling, made to have a
//!   chosen smooth solution `(u*, m*)` by adding the source terms it needs ([`Forcing`]).
//! * [`StationaryLog`]: a stationary (ergodic) game on the periodic unit cube with the log
//!   coupling, whose `u*`, `m* ∝ exp(−u*/ν)` and `λ` are known in closed form.
//! * [`LqErgodic`]: the stationary linear–quadratic game, the long-horizon limit of
//!   [`LqGaussian`]: quadratic `u`, Gaussian `m`, `λ = ν √q`.
//! * [`StationaryWave`]: an exact stationary pair for any Hamiltonian of `|p|` (and any
//!   coupling) on the periodic unit cube, also the exact solution of the time-dependent game
//!   started from it: the convergence tests of the Hamiltonian families.

use std::f64::consts::PI;

use ndarray::Array2;

use crate::grid::{Axis, Boundary, Grid, TimeGrid, MAX_DIM};
use crate::hamiltonian::Hamiltonian;
use crate::nonlocal::Nonlocal;
use crate::problem::{Coupling, Forcing, Problem, RunningCost};

/// The linear–quadratic Gaussian game (no coupling, λ = 1):
/// `f = (q/2)(x − z)²`, `g = (c/2)(x − z)²`, `m0 = N(μ0, Σ0)`, `ν = σ²/2`.
///
/// With `r = √q`, `τ = T − t` and `φ(τ) = cosh(rτ) + (c/r) sinh(rτ)`:
///
/// ```text
/// P(t) = r (c + r tanh rτ) / (r + c tanh rτ) = φ'(τ)/φ(τ)
/// u(t, x) = ½ P(t) (x − z)² + ν ln φ(τ)
/// m(t) = N(μ(t), Σ(t)),  μ = z + (μ0 − z) φ(τ)/φ(T),
/// Σ = φ(τ)² [Σ0/φ(T)² + (2ν/r)(sinh(rT)/φ(T) − sinh(rτ)/φ(τ))]
/// ```
///
/// The default is the case of the foundation issue: `ν = 0.3`, `q = 2`, `c = 0.5`, `z = 0.7`,
/// `μ0 = −0.4`, `Σ0 = 0.05`, `T = 1`, on `[−4, 4]` with no-flux walls (the Gaussians are
/// negligible there).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LqGaussian {
    /// ν = σ²/2.
    pub nu: f64,
    /// Running cost weight.
    pub q: f64,
    /// Terminal cost weight.
    pub c: f64,
    /// Target.
    pub z: f64,
    /// Initial mean.
    pub mu0: f64,
    /// Initial variance.
    pub var0: f64,
    /// Horizon.
    pub t_final: f64,
    /// Domain.
    pub domain: [f64; 2],
}

impl Default for LqGaussian {
    fn default() -> Self {
        Self {
            nu: 0.3,
            q: 2.0,
            c: 0.5,
            z: 0.7,
            mu0: -0.4,
            var0: 0.05,
            t_final: 1.0,
            domain: [-4.0, 4.0],
        }
    }
}

impl LqGaussian {
    fn r(&self) -> f64 {
        self.q.sqrt()
    }

    fn phi(&self, tau: f64) -> f64 {
        let r = self.r();
        (r * tau).cosh() + self.c / r * (r * tau).sinh()
    }

    /// σ = √(2ν).
    pub fn sigma(&self) -> f64 {
        (2.0 * self.nu).sqrt()
    }

    /// The Riccati coefficient P(t).
    pub fn p(&self, t: f64) -> f64 {
        let (r, c) = (self.r(), self.c);
        let th = (r * (self.t_final - t)).tanh();
        r * (c + r * th) / (r + c * th)
    }

    /// The exact value function.
    pub fn u(&self, t: f64, x: f64) -> f64 {
        let tau = self.t_final - t;
        0.5 * self.p(t) * (x - self.z).powi(2) + self.nu * self.phi(tau).ln()
    }

    /// Mean of m(t).
    pub fn mean(&self, t: f64) -> f64 {
        let tau = self.t_final - t;
        self.z + (self.mu0 - self.z) * self.phi(tau) / self.phi(self.t_final)
    }

    /// Variance of m(t).
    pub fn variance(&self, t: f64) -> f64 {
        let r = self.r();
        let (tau, big_t) = (self.t_final - t, self.t_final);
        let (pt, pbig) = (self.phi(tau), self.phi(big_t));
        pt * pt
            * (self.var0 / (pbig * pbig)
                + 2.0 * self.nu / r * ((r * big_t).sinh() / pbig - (r * tau).sinh() / pt))
    }

    /// The exact density.
    pub fn m(&self, t: f64, x: f64) -> f64 {
        let (mu, var) = (self.mean(t), self.variance(t));
        (-(x - mu).powi(2) / (2.0 * var)).exp() / (2.0 * PI * var).sqrt()
    }

    /// The problem on `nx` intervals and `nt` time steps.
    pub fn problem(&self, nx: usize, nt: usize) -> Problem {
        self.problem_in(1, nx, nt)
    }

    /// The separable 2D game ([`LqGaussian::problem_in`] with `dim = 2`).
    pub fn problem_2d(&self, nx: usize, nt: usize) -> Problem {
        self.problem_in(2, nx, nt)
    }

    /// The separable game in `dim` dimensions on `domain^dim` with `nx` intervals per axis:
    /// `f = (q/2) Σ_d (x_d − z)²`, `g` likewise, `m0 = ⊗_d N(μ0, Σ0)`. Its solution is
    /// `Σ_d u(t, x_d)` (the 1D value function in each coordinate) and the product of the 1D
    /// densities ([`LqGaussian::u_in`], [`LqGaussian::m_in`]).
    pub fn problem_in(&self, dim: usize, nx: usize, nt: usize) -> Problem {
        let [a, b] = self.domain;
        let axes = (0..dim)
            .map(|_| Axis::new(a, b, nx, Boundary::NoFlux).expect("valid LQ axis"))
            .collect();
        let s = *self;
        let square = move |p: &[f64], centre: f64| -> f64 {
            p.iter().fold(0.0, |acc, v| acc + (v - centre).powi(2))
        };
        Problem::builder(
            Grid::new(axes),
            TimeGrid::new(self.t_final, nt).expect("valid LQ time grid"),
        )
        .sigma(self.sigma())
        .control_cost(1.0)
        .coupling(Coupling::None)
        .potential_fn(|p| 0.5 * s.q * square(p, s.z))
        .terminal_cost_fn(|p| 0.5 * s.c * square(p, s.z))
        .initial_density_fn(|p| (-square(p, s.mu0) / (2.0 * s.var0)).exp())
        .build()
        .expect("valid LQ problem")
    }

    /// The exact value function in any dimension, `Σ_d u(t, x_d)`.
    pub fn u_in(&self, t: f64, x: &[f64]) -> f64 {
        x.iter().map(|&v| self.u(t, v)).sum()
    }

    /// The exact density in any dimension, `Π_d m(t, x_d)`.
    pub fn m_in(&self, t: f64, x: &[f64]) -> f64 {
        x.iter().map(|&v| self.m(t, v)).product()
    }

    /// The exact 2D value function `u(t, x) + u(t, y)`.
    pub fn u_2d(&self, t: f64, x: f64, y: f64) -> f64 {
        self.u_in(t, &[x, y])
    }

    /// The exact 2D density `m(t, x) m(t, y)`.
    pub fn m_2d(&self, t: f64, x: f64, y: f64) -> f64 {
        self.m_in(t, &[x, y])
    }
}

/// A manufactured solution of the fully coupled system on the periodic `[0, 1]`:
///
/// ```text
/// u*(t, x) = a (1 + ½ cos t) cos 2πx
/// m*(t, x) = 1 + b cos(πt/2) sin 2πx          (unit mass, m* ≥ 1 − b > 0)
/// ```
///
/// with linear coupling `F = c m`, λ and σ given, `V = 0`, and the sources
///
/// ```text
/// S_u = −∂t u* − ν ∂xx u* + (∂x u*)²/(2λ) − c m*      (added to f)
/// S_m = ∂t m* − ν ∂xx m* − ∂x(m* ∂x u*/λ)            (added to the FP right-hand side)
/// ```
///
/// `∫ S_m dx = 0`, so the mass stays one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Manufactured {
    /// Amplitude of u*.
    pub a: f64,
    /// Amplitude of m* − 1 (< 1).
    pub b: f64,
    /// Coupling strength c.
    pub strength: f64,
    /// σ.
    pub sigma: f64,
    /// λ.
    pub control_cost: f64,
    /// Horizon.
    pub t_final: f64,
}

impl Default for Manufactured {
    fn default() -> Self {
        Self {
            a: 0.2,
            b: 0.5,
            strength: 1.0,
            sigma: 0.5,
            control_cost: 1.0,
            t_final: 1.0,
        }
    }
}

const K: f64 = 2.0 * PI;

impl Manufactured {
    /// u*.
    pub fn u(&self, t: f64, x: f64) -> f64 {
        self.a * (1.0 + 0.5 * t.cos()) * (K * x).cos()
    }

    /// m*.
    pub fn m(&self, t: f64, x: f64) -> f64 {
        1.0 + self.b * (0.5 * PI * t).cos() * (K * x).sin()
    }

    /// The HJB source S_u.
    pub fn source_u(&self, t: f64, x: f64) -> f64 {
        let nu = 0.5 * self.sigma * self.sigma;
        let amp = self.a * (1.0 + 0.5 * t.cos());
        let u_t = -0.5 * self.a * t.sin() * (K * x).cos();
        let u_x = -amp * K * (K * x).sin();
        let u_xx = -amp * K * K * (K * x).cos();
        -u_t - nu * u_xx + u_x * u_x / (2.0 * self.control_cost) - self.strength * self.m(t, x)
    }

    /// The FP source S_m.
    pub fn source_m(&self, t: f64, x: f64) -> f64 {
        let nu = 0.5 * self.sigma * self.sigma;
        let amp = self.a * (1.0 + 0.5 * t.cos());
        let bt = self.b * (0.5 * PI * t).cos();
        let m_t = -0.5 * PI * self.b * (0.5 * PI * t).sin() * (K * x).sin();
        let m_x = bt * K * (K * x).cos();
        let m_xx = -bt * K * K * (K * x).sin();
        let u_x = -amp * K * (K * x).sin();
        let u_xx = -amp * K * K * (K * x).cos();
        m_t - nu * m_xx - (m_x * u_x + self.m(t, x) * u_xx) / self.control_cost
    }

    /// The forced problem on `nx` intervals and `nt` time steps.
    pub fn problem(&self, nx: usize, nt: usize) -> Problem {
        let grid = Grid::line(0.0, 1.0, nx, Boundary::Periodic).expect("valid grid");
        let time = TimeGrid::new(self.t_final, nt).expect("valid time grid");
        let n = grid.len();
        let mut hjb = Array2::zeros((time.levels(), n));
        let mut fp = Array2::zeros((time.levels(), n));
        for k in 0..time.levels() {
            for i in 0..n {
                let x = grid.point(i)[0];
                hjb[[k, i]] = self.source_u(time.t(k), x);
                fp[[k, i]] = self.source_m(time.t(k), x);
            }
        }
        let s = *self;
        Problem::builder(grid, time)
            .sigma(self.sigma)
            .control_cost(self.control_cost)
            .coupling(Coupling::Linear {
                strength: self.strength,
            })
            .terminal_cost_fn(|x| s.u(s.t_final, x[0]))
            .initial_density_fn(|x| s.m(0.0, x[0]))
            .forcing(Forcing { hjb, fp })
            .build()
            .expect("valid manufactured problem")
    }
}

/// The modified Bessel function `I₀(z) = Σ_k (z/2)^{2k} / (k!)²` (the series, to round-off).
pub fn bessel_i0(z: f64) -> f64 {
    let q = 0.25 * z * z;
    let (mut term, mut sum) = (1.0_f64, 1.0_f64);
    for k in 1..500 {
        term *= q / (k as f64 * k as f64);
        sum += term;
        if term < 1e-17 * sum {
            break;
        }
    }
    sum
}

/// A stationary game with an exact solution on the periodic `[0, 1]^d`: `H = |p|²/2`, the log
/// coupling `F = ln m`, and
///
/// ```text
/// u*(x) = ε Σ_d cos 2π x_d,     m*(x) = exp(−u*(x)/ν) / I₀(ε/ν)^d,     λ = −d ln I₀(ε/ν),
/// V(x)  = −ν Δu* + |∇u*|²/2 + u*/ν
/// ```
///
/// (zero flux: `ν ∇m* + m* ∇u* = 0`; HJB `−ν Δu* + |∇u*|²/2 + λ = V + ln m*` holds with this
/// `λ`; `∫ u* = 0`, `∫ m* = 1`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StationaryLog {
    /// ε.
    pub epsilon: f64,
    /// σ (`ν = σ²/2`).
    pub sigma: f64,
}

impl Default for StationaryLog {
    fn default() -> Self {
        Self {
            epsilon: 0.5,
            sigma: 1.0,
        }
    }
}

impl StationaryLog {
    fn nu(&self) -> f64 {
        0.5 * self.sigma * self.sigma
    }

    /// u*.
    pub fn u(&self, x: &[f64]) -> f64 {
        self.epsilon * x.iter().map(|v| (2.0 * PI * v).cos()).sum::<f64>()
    }

    /// m*.
    pub fn m(&self, x: &[f64]) -> f64 {
        let z = bessel_i0(self.epsilon / self.nu()).powi(x.len() as i32);
        (-self.u(x) / self.nu()).exp() / z
    }

    /// λ in `dim` dimensions.
    pub fn lambda(&self, dim: usize) -> f64 {
        -(dim as f64) * bessel_i0(self.epsilon / self.nu()).ln()
    }

    /// The problem on `[0, 1]^dim` with `n` intervals per axis (one time step: the stationary
    /// solver reads no time data; `m0 = 1` is Newton's first guess).
    pub fn problem(&self, dim: usize, n: usize) -> Problem {
        let axes = (0..dim)
            .map(|_| Axis::new(0.0, 1.0, n, Boundary::Periodic).expect("valid axis"))
            .collect();
        let (eps, nu) = (self.epsilon, self.nu());
        let k = 2.0 * PI;
        let potential = move |x: &[f64]| {
            let mut v = 0.0;
            for &xd in x {
                let (c, s) = ((k * xd).cos(), (k * xd).sin());
                // −ν u'' + u'²/2 + u/ν along this axis.
                v += nu * eps * k * k * c + 0.5 * (eps * k * s).powi(2) + eps * c / nu;
            }
            v
        };
        Problem::builder(Grid::new(axes), TimeGrid::new(1.0, 1).expect("valid time"))
            .sigma(self.sigma)
            .control_cost(1.0)
            .coupling(Coupling::Log { strength: 1.0 })
            .potential_fn(potential)
            .initial_density_fn(|_| 1.0)
            .build()
            .expect("valid stationary problem")
    }
}

/// The stationary linear–quadratic game (`H = |p|²/2`, no coupling, `f = (q/2)|x − z|²`) on
/// `[−4, 4]^d` with no-flux walls: `u = (r/2)|x − z|² + c` with `r = √q`, `m = N(z, ν/r)` in
/// every coordinate, `λ = d ν r`. It is [`LqGaussian`]'s long-horizon limit (the turnpike).
/// The walls bend `u` in a layer where `m` is below `10⁻⁷`, which also moves its mean:
/// compare `u` up to a constant, away from the walls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LqErgodic {
    /// `q`.
    pub q: f64,
    /// The target `z`.
    pub z: f64,
    /// σ.
    pub sigma: f64,
}

impl Default for LqErgodic {
    fn default() -> Self {
        let lq = LqGaussian::default();
        Self {
            q: lq.q,
            z: lq.z,
            sigma: lq.sigma(),
        }
    }
}

impl LqErgodic {
    fn nu(&self) -> f64 {
        0.5 * self.sigma * self.sigma
    }

    /// `u − u(z)`.
    pub fn u(&self, x: &[f64]) -> f64 {
        0.5 * self.q.sqrt() * x.iter().map(|v| (v - self.z).powi(2)).sum::<f64>()
    }

    /// m.
    pub fn m(&self, x: &[f64]) -> f64 {
        let var = self.nu() / self.q.sqrt();
        x.iter()
            .map(|v| (-(v - self.z).powi(2) / (2.0 * var)).exp() / (2.0 * PI * var).sqrt())
            .product()
    }

    /// λ in `dim` dimensions.
    pub fn lambda(&self, dim: usize) -> f64 {
        dim as f64 * self.nu() * self.q.sqrt()
    }

    /// The problem on `[−4, 4]^dim` with `n` intervals per axis.
    pub fn problem(&self, dim: usize, n: usize) -> Problem {
        let axes = (0..dim)
            .map(|_| Axis::new(-4.0, 4.0, n, Boundary::NoFlux).expect("valid axis"))
            .collect();
        let s = *self;
        Problem::builder(Grid::new(axes), TimeGrid::new(1.0, 1).expect("valid time"))
            .sigma(self.sigma)
            .control_cost(1.0)
            .coupling(Coupling::None)
            .potential_fn(move |x| 0.5 * s.q * x.iter().map(|v| (v - s.z).powi(2)).sum::<f64>())
            .initial_density_fn(|_| 1.0)
            .build()
            .expect("valid stationary problem")
    }
}

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
    hamiltonian: H,
    coupling: Coupling,
    /// `(c, w)` of a nonlocal Gaussian coupling [`crate::Nonlocal`], replacing `coupling`.
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
    /// `w` ([`crate::Nonlocal`], nearest periodic images). `F[m*]` in the potential is the
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
    fn phi(&self, s: f64) -> f64 {
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

/// An exact stationary solution with congestion, `H = s(m) |p|²/(2λ)`,
/// `s(m) = (c₀ + m)^{−α}` ([`crate::Congestion`]), on the periodic `[0, 1]^d`, along the
/// diagonal `s = x_1 + … + x_d`:
///
/// ```text
/// m*(x) = exp(−ε cos 2πs) / I₀(ε),      u*'(s) = −λ ν (c₀ + m*)^α (ln m*)'  (zero flux),
/// V(x)  = −ν d u*'' + s(m*) d u*'² / (2λ) − F(m*)                         (HJB, λ_erg = 0)
/// ```
///
/// `u*` by Gauss–Legendre from a table (as [`StationaryWave`]); `(ln m*)' = 2πε sin 2πs` is odd
/// about `s = 1/2` and so is `u*'`: `u*` is periodic. The time-dependent game started from
/// `m*` with `g = u*` keeps `(u*, m*)`.
#[derive(Debug, Clone)]
pub struct CongestionWave {
    /// λ.
    pub control_cost: f64,
    /// c₀.
    pub offset: f64,
    /// α.
    pub exponent: f64,
    /// ε.
    pub epsilon: f64,
    /// σ.
    pub sigma: f64,
    /// The local coupling `F`.
    pub coupling: Coupling,
    /// d.
    pub dim: usize,
    /// `u*` at the cell edges `j / 4096`.
    table: Vec<f64>,
}

impl CongestionWave {
    const CELLS: usize = 4096;

    /// The wave for these parameters (`c₀ > 0`, `α ∈ [0, 2]`, `σ > 0`, `dim` 1 to 3).
    pub fn new(
        control_cost: f64,
        offset: f64,
        exponent: f64,
        epsilon: f64,
        sigma: f64,
        coupling: Coupling,
        dim: usize,
    ) -> Self {
        assert!((1..=MAX_DIM).contains(&dim) && sigma > 0.0 && offset > 0.0);
        let mut w = Self {
            control_cost,
            offset,
            exponent,
            epsilon,
            sigma,
            coupling,
            dim,
            table: Vec::new(),
        };
        let h = 1.0 / Self::CELLS as f64;
        let mut table = vec![0.0];
        for j in 0..Self::CELLS {
            let next = table[j] + w.integral(j as f64 * h, (j + 1) as f64 * h);
            table.push(next);
        }
        w.table = table;
        w
    }

    fn nu(&self) -> f64 {
        0.5 * self.sigma * self.sigma
    }

    /// `m*` on the plane `Σ x = s`.
    fn m_of(&self, s: f64) -> f64 {
        (-self.epsilon * (2.0 * PI * s).cos()).exp() / bessel_i0(self.epsilon)
    }

    /// `u*'(s)`.
    fn du(&self, s: f64) -> f64 {
        let dlog_m = 2.0 * PI * self.epsilon * (2.0 * PI * s).sin();
        -self.control_cost * self.nu() * (self.offset + self.m_of(s)).powf(self.exponent) * dlog_m
    }

    /// `u*''(s)`.
    fn ddu(&self, s: f64) -> f64 {
        let k = 2.0 * PI;
        let m = self.m_of(s);
        let dlog_m = k * self.epsilon * (k * s).sin();
        let ddlog_m = k * k * self.epsilon * (k * s).cos();
        let c = self.offset + m;
        let a = self.exponent;
        -self.control_cost
            * self.nu()
            * (a * c.powf(a - 1.0) * m * dlog_m * dlog_m + c.powf(a) * ddlog_m)
    }

    fn integral(&self, a: f64, b: f64) -> f64 {
        let (mid, half) = (0.5 * (a + b), 0.5 * (b - a));
        half * StationaryWave::<crate::hamiltonian::Quadratic>::GL
            .iter()
            .map(|&(t, wt)| wt * self.du(mid + half * t))
            .sum::<f64>()
    }

    /// u*.
    pub fn u(&self, x: &[f64]) -> f64 {
        let s = x.iter().sum::<f64>().rem_euclid(1.0);
        let j = ((s * Self::CELLS as f64) as usize).min(Self::CELLS - 1);
        self.table[j] + self.integral(j as f64 / Self::CELLS as f64, s)
    }

    /// m*.
    pub fn m(&self, x: &[f64]) -> f64 {
        self.m_of(x.iter().sum())
    }

    /// `V = −ν Δu* + s(m*) |∇u*|²/(2λ) − F(m*)`.
    pub fn potential(&self, x: &[f64]) -> f64 {
        let s: f64 = x.iter().sum();
        let (d, m) = (self.dim as f64, self.m_of(s));
        let factor = (self.offset + m).powf(-self.exponent);
        -self.nu() * d * self.ddu(s) + factor * d * self.du(s).powi(2) / (2.0 * self.control_cost)
            - self.coupling.value(0.0, x, m)
    }

    /// The time-dependent problem on `[0, 1]^dim` (periodic, `n` intervals per axis) over
    /// `[0, t_final]` in `nt` steps, started at `m*` with `g = u*`.
    pub fn problem(&self, n: usize, t_final: f64, nt: usize) -> Problem {
        let axes = (0..self.dim)
            .map(|_| Axis::new(0.0, 1.0, n, Boundary::Periodic).expect("valid axis"))
            .collect();
        let h = crate::congestion::Congestion::new(self.control_cost, self.offset, self.exponent)
            .expect("valid congestion");
        Problem::builder(
            Grid::new(axes),
            TimeGrid::new(t_final, nt).expect("valid time"),
        )
        .sigma(self.sigma)
        .hamiltonian(h)
        .coupling(self.coupling)
        .potential_fn(|x| self.potential(x))
        .terminal_cost_fn(|x| self.u(x))
        .initial_density_fn(|x| self.m(x))
        .build()
        .expect("valid congestion wave problem")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bessel_i0_matches_reference_values() {
        // Abramowitz–Stegun table 9.8: I0(1) = 1.266065878, I0(2) = 2.279585302.
        assert!((bessel_i0(0.0) - 1.0).abs() < 1e-15);
        assert!((bessel_i0(1.0) - 1.266_065_877_752_008).abs() < 1e-14);
        assert!((bessel_i0(2.0) - 2.279_585_302_336_067).abs() < 1e-13);
    }

    #[test]
    fn the_stationary_log_solution_has_unit_mass_and_zero_mean_value() {
        let s = StationaryLog::default();
        let n = 4000;
        let h = 1.0 / n as f64;
        let mass: f64 = (0..n).map(|i| h * s.m(&[i as f64 * h])).sum();
        assert!((mass - 1.0).abs() < 1e-12, "{mass}");
        let mean_u: f64 = (0..n).map(|i| h * s.u(&[i as f64 * h])).sum();
        assert!(mean_u.abs() < 1e-12);
    }

    /// The wave's pair has zero flux, unit mass and zero mean value, and balances HJB, for a
    /// non-quadratic H in 2D (checked by central differences of the formulas).
    #[test]
    fn the_stationary_wave_is_a_stationary_solution() {
        let w = StationaryWave::new(
            crate::radial::Power::new(1.5, 0.8),
            Coupling::Linear { strength: 1.0 },
            0.2,
            0.8,
            2,
        );
        let nu = 0.32;
        let h = 1e-4;
        for &(x, y) in &[(0.1, 0.3), (0.45, 0.2), (0.7, 0.9)] {
            let mx = (w.m(&[x + h, y]) - w.m(&[x - h, y])) / (2.0 * h);
            let ux = (w.u(&[x + h, y]) - w.u(&[x - h, y])) / (2.0 * h);
            let mut dp = [0.0; 2];
            w.hamiltonian.dp(&[x, y], &[ux, ux], &mut dp);
            let flux = nu * mx + w.m(&[x, y]) * dp[0];
            assert!(flux.abs() < 1e-6, "flux {flux}");
            let lap = (w.u(&[x + h, y]) + w.u(&[x - h, y]) + w.u(&[x, y + h]) + w.u(&[x, y - h])
                - 4.0 * w.u(&[x, y]))
                / (h * h);
            let hjb = -nu * lap + w.hamiltonian.value(&[x, y], &[ux, ux])
                - w.potential(&[x, y])
                - w.m(&[x, y]);
            assert!(hjb.abs() < 1e-5, "HJB residual {hjb}");
        }
        let n = 400;
        let d = 1.0 / n as f64;
        let (mut mass, mut mean) = (0.0, 0.0);
        for i in 0..n {
            for j in 0..n {
                let x = [i as f64 * d, j as f64 * d];
                mass += d * d * w.m(&x);
                mean += d * d * w.u(&x);
            }
        }
        // The rectangle rule is 1e-7 off here: m* is only C^{1,1/2} where ∇u* = 0 (β = 1.5).
        assert!(
            (mass - 1.0).abs() < 1e-6 && mean.abs() < 1e-12,
            "{mass} {mean}"
        );
        // Z independently: the rectangle rule on 10⁵ points in 1D (error ~ h^2.5).
        let w1 = StationaryWave::new(
            crate::radial::Power::new(1.5, 0.8),
            Coupling::None,
            0.2,
            0.8,
            1,
        );
        let n = 100_000;
        let mass: f64 = (0..n).map(|i| w1.m(&[i as f64 / n as f64])).sum::<f64>() / n as f64;
        assert!((mass - 1.0).abs() < 1e-10, "{mass}");
        // Periodic: φ(1) = φ(0).
        assert!(w.phi(1.0 - 1e-12).abs() < 1e-10);
    }

    #[test]
    fn lq_closed_form_matches_the_check_values() {
        let lq = LqGaussian::default();
        assert!((lq.p(0.0) - 1.336563).abs() < 5e-7, "{}", lq.p(0.0));
        assert!((lq.mean(1.0) - 0.315698).abs() < 5e-7, "{}", lq.mean(1.0));
        assert!(
            (lq.variance(1.0) - 0.292925).abs() < 5e-7,
            "{}",
            lq.variance(1.0)
        );
        assert!((lq.variance(0.0) - lq.var0).abs() < 1e-15);
        assert!((lq.p(1.0) - lq.c).abs() < 1e-15);
    }

    #[test]
    fn lq_value_function_solves_the_hjb_equation() {
        // −u_t − ν u_xx + u_x²/2 = (q/2)(x − z)², checked by central differences.
        let lq = LqGaussian::default();
        let h = 1e-4;
        for (t, x) in [(0.2, -0.3), (0.5, 0.9), (0.9, 1.7)] {
            let u_t = (lq.u(t + h, x) - lq.u(t - h, x)) / (2.0 * h);
            let u_x = (lq.u(t, x + h) - lq.u(t, x - h)) / (2.0 * h);
            let u_xx = (lq.u(t, x + h) - 2.0 * lq.u(t, x) + lq.u(t, x - h)) / (h * h);
            let lhs = -u_t - lq.nu * u_xx + 0.5 * u_x * u_x;
            assert!((lhs - 0.5 * lq.q * (x - lq.z).powi(2)).abs() < 1e-5);
        }
    }

    #[test]
    fn lq_density_solves_the_fp_equation() {
        // m_t − ν m_xx − (m u_x)_x = 0, checked by central differences.
        let lq = LqGaussian::default();
        let h = 1e-3;
        let flux = |t: f64, x: f64| {
            let u_x = (lq.u(t, x + h) - lq.u(t, x - h)) / (2.0 * h);
            lq.m(t, x) * u_x
        };
        for (t, x) in [(0.2, -0.3), (0.5, 0.2), (0.9, 0.5)] {
            let m_t = (lq.m(t + h, x) - lq.m(t - h, x)) / (2.0 * h);
            let m_xx = (lq.m(t, x + h) - 2.0 * lq.m(t, x) + lq.m(t, x - h)) / (h * h);
            let div = (flux(t, x + h) - flux(t, x - h)) / (2.0 * h);
            let r = m_t - lq.nu * m_xx - div;
            assert!(
                r.abs() < 1e-4 * (1.0 + m_t.abs()),
                "residual {r} at ({t}, {x})"
            );
        }
    }

    #[test]
    fn manufactured_sources_have_zero_mean() {
        let mfd = Manufactured::default();
        let n = 64;
        for t in [0.0, 0.3, 1.0] {
            let s: f64 = (0..n).map(|i| mfd.source_m(t, i as f64 / n as f64)).sum();
            assert!(s.abs() / (n as f64) < 1e-12);
        }
    }
}
