//! The Mean Field Game to solve: grid, horizon, σ, H, the running cost `f = V + F(x, m)`, the
//! terminal cost `g` and the initial density `m0`, validated once at construction.
//!
//! The model enters through two traits: the [`Hamiltonian`] and the density-dependent running
//! cost [`RunningCost`]. [`Quadratic`] and the built-in [`Coupling`]s implement them; a user
//! crate can bring its own.

use std::fmt;
use std::sync::Arc;

use ndarray::Array2;

use crate::error::ProblemError;
use crate::grid::{Grid, TimeGrid};
use crate::model::hamiltonian::{Hamiltonian, Quadratic};
use crate::model::running_cost::{Coupling, RunningCost, Scaled};

/// Source terms added to the equations, on every time level (shape `(nt + 1, n_space)`):
/// `hjb` is added to the running cost `f`, `fp` to the right-hand side of FP. Mostly for
/// manufactured solutions; an FP source whose integral is not zero changes the mass.
#[derive(Debug, Clone, PartialEq)]
pub struct Forcing {
    /// Added to `f` (HJB right-hand side).
    pub hjb: Array2<f64>,
    /// Added to `∂t m − ν Δm − div(m ∂pH)` (FP right-hand side).
    pub fp: Array2<f64>,
}

/// A validated Mean Field Game on a grid. Cheap to clone (the model is shared).
///
/// ```
/// use mfg_core::{Boundary, Coupling, Grid, Problem, TimeGrid};
/// let grid = Grid::line(0.0, 1.0, 50, Boundary::NoFlux).unwrap();
/// let p = Problem::builder(grid, TimeGrid::new(1.0, 20).unwrap())
///     .sigma(0.3)
///     .coupling(Coupling::Linear { strength: 1.0 })
///     .terminal_cost_fn(|x| (x[0] - 0.5).powi(2))
///     .initial_density_fn(|x| (-50.0 * (x[0] - 0.5).powi(2)).exp())
///     .build()
///     .unwrap();
/// assert!((p.grid().integrate(p.initial_density()) - 1.0).abs() < 1e-14);
/// ```
#[derive(Debug, Clone)]
pub struct Problem {
    grid: Grid,
    time: TimeGrid,
    sigma: f64,
    hamiltonian: Arc<dyn Hamiltonian>,
    coupling: Arc<dyn RunningCost>,
    potential: Vec<f64>,
    terminal_cost: Vec<f64>,
    initial_density: Vec<f64>,
    initial_mass_raw: f64,
    forcing: Option<Forcing>,
}

impl Problem {
    /// Start building a problem on `grid` over `time`.
    pub fn builder(grid: Grid, time: TimeGrid) -> ProblemBuilder {
        let n = grid.len();
        ProblemBuilder {
            grid,
            time,
            sigma: 0.3,
            hamiltonian: Arc::new(Quadratic::new(1.0)),
            control_cost: None,
            coupling: Arc::new(Coupling::None),
            potential: vec![0.0; n],
            terminal_cost: vec![0.0; n],
            initial_density: vec![1.0; n],
            forcing: None,
        }
    }

    /// The space grid.
    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    /// The time grid.
    pub fn time(&self) -> &TimeGrid {
        &self.time
    }

    /// σ.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// ν = σ²/2, the diffusion coefficient.
    pub fn nu(&self) -> f64 {
        0.5 * self.sigma * self.sigma
    }

    /// The Hamiltonian.
    pub fn hamiltonian(&self) -> &dyn Hamiltonian {
        &*self.hamiltonian
    }

    /// The density-dependent running cost `F(x, m)`.
    pub fn coupling(&self) -> &dyn RunningCost {
        &*self.coupling
    }

    /// V at the grid points.
    pub fn potential(&self) -> &[f64] {
        &self.potential
    }

    /// g at the grid points.
    pub fn terminal_cost(&self) -> &[f64] {
        &self.terminal_cost
    }

    /// m0 at the grid points, normalised to unit mass in the grid's quadrature.
    pub fn initial_density(&self) -> &[f64] {
        &self.initial_density
    }

    /// The mass of m0 before normalisation.
    pub fn initial_mass_unnormalised(&self) -> f64 {
        self.initial_mass_raw
    }

    /// Source terms, if any.
    pub fn forcing(&self) -> Option<&Forcing> {
        self.forcing.as_ref()
    }

    /// The same problem with diffusion `sigma` (a continuation step).
    pub fn with_sigma(&self, sigma: f64) -> Result<Problem, ProblemError> {
        if !(sigma.is_finite() && sigma >= 0.0) {
            return Err(ProblemError::InvalidParameter {
                field: "sigma",
                value: sigma,
                hint: "sigma must be finite and >= 0",
            });
        }
        Ok(Problem {
            sigma,
            ..self.clone()
        })
    }

    /// The same problem on `grid` (the same box, e.g. [`Grid::coarsened`]): the potential,
    /// terminal cost, initial density and sources resampled (multilinear), the model shared.
    /// The first problem of a nested iteration ([`crate::coupling::Run::coarse_start`]).
    pub fn on_grid(&self, grid: Grid) -> Result<Problem, ProblemError> {
        let from = &self.grid;
        let resample = |v: &[f64]| grid.resample(from, v);
        let forcing = self.forcing.as_ref().map(|f| {
            let rows = |a: &Array2<f64>| {
                let levels: Vec<Vec<f64>> = a
                    .rows()
                    .into_iter()
                    .map(|r| resample(r.as_slice().expect("contiguous row")))
                    .collect();
                Array2::from_shape_fn((levels.len(), grid.len()), |(k, i)| levels[k][i])
            };
            Forcing {
                hjb: rows(&f.hjb),
                fp: rows(&f.fp),
            }
        });
        let mut builder = Problem::builder(grid.clone(), self.time)
            .sigma(self.sigma)
            .potential(resample(&self.potential))
            .terminal_cost(resample(&self.terminal_cost))
            .initial_density(resample(&self.initial_density));
        builder.hamiltonian = self.hamiltonian.clone();
        builder.coupling = self.coupling.clone();
        if let Some(f) = forcing {
            builder = builder.forcing(f);
        }
        // Exit values: the fine terminal cost at the nearest fine point (no interpolation
        // across an exit's edge).
        if !grid.exit_points().is_empty() {
            let mut g = builder.terminal_values().to_vec();
            for &i in grid.exit_points() {
                g[i] = self.terminal_cost[from.nearest(grid.point(i))];
            }
            builder = builder.terminal_cost(g);
        }
        builder.build()
    }

    /// The same problem with the density-dependent cost `F` multiplied by `scale` (a
    /// continuation step; `0` decouples the equations).
    pub fn with_coupling_scale(&self, scale: f64) -> Problem {
        Problem {
            coupling: Arc::new(Scaled {
                inner: self.coupling.clone(),
                scale,
                scratch: std::sync::Mutex::new(Vec::new()),
            }),
            ..self.clone()
        }
    }

    /// The running cost `f = V + F(x, m) (+ HJB forcing)` at time level `level`, written into
    /// `out`.
    #[inline]
    pub fn running_cost_into(&self, level: usize, m: &[f64], out: &mut [f64]) {
        assert!(m.len() == out.len() && out.len() == self.potential.len());
        out.copy_from_slice(&self.potential);
        self.coupling
            .add_into(&self.grid, self.time.t(level), m, out);
        if let Some(fc) = &self.forcing {
            let row = fc.hjb.row(level);
            for (o, s) in out.iter_mut().zip(row) {
                *o += s;
            }
        }
        // Exits and obstacles: u does not move there.
        self.grid.zero_fixed(out);
    }
}

/// Builder for [`Problem`]; `build` validates everything.
#[derive(Debug, Clone)]
pub struct ProblemBuilder {
    grid: Grid,
    time: TimeGrid,
    sigma: f64,
    hamiltonian: Arc<dyn Hamiltonian>,
    control_cost: Option<f64>,
    coupling: Arc<dyn RunningCost>,
    potential: Vec<f64>,
    terminal_cost: Vec<f64>,
    initial_density: Vec<f64>,
    forcing: Option<Forcing>,
}

impl ProblemBuilder {
    /// σ ≥ 0 (default 0.3).
    pub fn sigma(mut self, sigma: f64) -> Self {
        self.sigma = sigma;
        self
    }

    /// The quadratic Hamiltonian `H = |p|²/(2λ)` with this λ > 0 (the default, with λ = 1).
    pub fn control_cost(mut self, lambda: f64) -> Self {
        self.control_cost = Some(lambda);
        self.hamiltonian = Arc::new(Quadratic::new(lambda));
        self
    }

    /// Any [`Hamiltonian`] (default [`Quadratic`] with λ = 1).
    pub fn hamiltonian(mut self, hamiltonian: impl Hamiltonian + 'static) -> Self {
        self.control_cost = None;
        self.hamiltonian = Arc::new(hamiltonian);
        self
    }

    /// The density-dependent running cost `F(x, m)`: a built-in [`Coupling`] or any
    /// [`RunningCost`] (default none).
    pub fn coupling(mut self, coupling: impl RunningCost + 'static) -> Self {
        self.coupling = Arc::new(coupling);
        self
    }

    /// V from a function of the coordinates (default 0).
    pub fn potential_fn(mut self, f: impl Fn(&[f64]) -> f64) -> Self {
        self.potential = self.grid.sample(f);
        self
    }

    /// g from a function of the coordinates (default 0).
    pub fn terminal_cost_fn(mut self, f: impl Fn(&[f64]) -> f64) -> Self {
        self.terminal_cost = self.grid.sample(f);
        self
    }

    /// m0 (before normalisation) from a function of the coordinates (default uniform).
    pub fn initial_density_fn(mut self, f: impl Fn(&[f64]) -> f64) -> Self {
        self.initial_density = self.grid.sample(f);
        self
    }

    /// V from values at the grid points.
    pub fn potential(mut self, values: Vec<f64>) -> Self {
        self.potential = values;
        self
    }

    /// g from values at the grid points.
    pub fn terminal_cost(mut self, values: Vec<f64>) -> Self {
        self.terminal_cost = values;
        self
    }

    /// m0 (before normalisation) from values at the grid points.
    pub fn initial_density(mut self, values: Vec<f64>) -> Self {
        self.initial_density = values;
        self
    }

    /// The grid the problem is built on.
    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    /// The terminal cost given so far (zeros if none).
    pub fn terminal_values(&self) -> &[f64] {
        &self.terminal_cost
    }

    /// Source terms (see [`Forcing`]).
    pub fn forcing(mut self, forcing: Forcing) -> Self {
        self.forcing = Some(forcing);
        self
    }

    /// Validate and build.
    pub fn build(self) -> Result<Problem, ProblemError> {
        let n = self.grid.len();
        if !(self.sigma.is_finite() && self.sigma >= 0.0) {
            return Err(ProblemError::InvalidParameter {
                field: "sigma",
                value: self.sigma,
                hint: "sigma must be finite and >= 0",
            });
        }
        if let Some(lambda) = self.control_cost {
            if !(lambda.is_finite() && lambda > 0.0) {
                return Err(ProblemError::InvalidParameter {
                    field: "control_cost",
                    value: lambda,
                    hint: "the control cost lambda must be finite and > 0",
                });
            }
        }
        self.coupling.validate()?;
        for (field, v) in [
            ("potential", &self.potential),
            ("terminal_cost", &self.terminal_cost),
            ("initial_density", &self.initial_density),
        ] {
            if v.len() != n {
                return Err(ProblemError::Length {
                    field,
                    got: v.len(),
                    expected: n,
                });
            }
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return Err(ProblemError::NonFiniteData {
                    field,
                    point: self.grid.point(i).to_vec(),
                    value: v[i],
                });
            }
        }
        if let Some(i) = self.initial_density.iter().position(|&x| x < 0.0) {
            return Err(ProblemError::NegativeDensity {
                point: self.grid.point(i).to_vec(),
                value: self.initial_density[i],
            });
        }
        let mut initial_density = self.initial_density;
        let mut terminal_cost = self.terminal_cost;
        // Exits and obstacles: nobody starts there; u is 0 inside obstacles, and the
        // terminal cost at an exit is the exit's value of u at every time.
        self.grid.zero_fixed(&mut initial_density);
        for &i in self.grid.solid_points() {
            terminal_cost[i] = 0.0;
        }
        let mass = self.grid.integrate(&initial_density);
        // Below 1e-290 the values are (near) subnormal and normalising them is inexact
        // (1e-320 (1 + x) came out with mass 1.00033).
        if !(mass > 1e-290 && mass.is_finite()) {
            return Err(ProblemError::ZeroMass);
        }
        let mut m0 = initial_density;
        m0.iter_mut().for_each(|v| *v /= mass);
        if let Some(fc) = &self.forcing {
            let shape = [self.time.levels(), n];
            for (field, a) in [("hjb forcing", &fc.hjb), ("fp forcing", &fc.fp)] {
                if a.shape() != shape {
                    return Err(ProblemError::Length {
                        field,
                        got: a.len(),
                        expected: shape[0] * shape[1],
                    });
                }
                if a.iter().any(|x| !x.is_finite()) {
                    return Err(ProblemError::NonFiniteData {
                        field,
                        point: vec![],
                        value: f64::NAN,
                    });
                }
            }
        }
        Ok(Problem {
            grid: self.grid,
            time: self.time,
            sigma: self.sigma,
            hamiltonian: self.hamiltonian,
            coupling: self.coupling,
            potential: self.potential,
            terminal_cost,
            initial_density: m0,
            initial_mass_raw: mass,
            forcing: self.forcing,
        })
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}D MFG: {} points, {} time steps to T = {}, sigma = {}, {} Hamiltonian{}, coupling {}, {}",
            self.grid.dim(),
            self.grid.len(),
            self.time.nt(),
            self.time.t_final(),
            self.sigma,
            self.hamiltonian.name(),
            self.hamiltonian
                .parameters()
                .iter()
                .map(|(k, v)| format!(" {k} = {v}"))
                .collect::<String>(),
            self.coupling.name(),
            self.grid.boundary().name()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::Boundary;
    use crate::model::LOG_DENSITY_FLOOR;

    fn builder() -> ProblemBuilder {
        Problem::builder(
            Grid::line(0.0, 1.0, 10, Boundary::NoFlux).unwrap(),
            TimeGrid::new(1.0, 5).unwrap(),
        )
    }

    #[test]
    fn initial_density_is_normalised_in_the_grid_quadrature() {
        let p = builder()
            .initial_density_fn(|x| 3.0 + x[0])
            .build()
            .unwrap();
        assert!((p.grid().integrate(p.initial_density()) - 1.0).abs() < 1e-15);
        assert!((p.initial_mass_unnormalised() - 3.5).abs() < 1e-14);
    }

    #[test]
    fn bad_values_name_their_field() {
        let e = builder().sigma(-1.0).build().unwrap_err();
        assert!(e.to_string().contains("sigma"), "{e}");
        let e = builder().control_cost(0.0).build().unwrap_err();
        assert!(e.to_string().contains("control_cost"), "{e}");
        let e = builder()
            .initial_density_fn(|x| x[0] - 0.5)
            .build()
            .unwrap_err();
        assert!(matches!(e, ProblemError::NegativeDensity { .. }), "{e}");
        let e = builder().initial_density_fn(|_| 0.0).build().unwrap_err();
        assert_eq!(e, ProblemError::ZeroMass);
        let e = builder()
            .potential_fn(|x| 1.0 / (x[0] - 0.5))
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("potential"), "{e}");
        let e = builder()
            .coupling(Coupling::Power {
                strength: 1.0,
                exponent: -1.0,
            })
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("coupling exponent"), "{e}");
    }

    #[test]
    fn couplings_evaluate_as_documented() {
        assert_eq!(Coupling::Linear { strength: -0.5 }.eval(2.0), -1.0);
        assert_eq!(
            Coupling::Power {
                strength: 2.0,
                exponent: 2.0
            }
            .eval(3.0),
            18.0
        );
        let log = Coupling::Log { strength: 1.0 };
        assert_eq!(log.eval(0.0), LOG_DENSITY_FLOOR.ln());
        assert_eq!(log.eval(1.0), 0.0);
    }
}
