//! The model: the validated [`Problem`] and the traits a model enters through — the
//! [`Hamiltonian`] `H(x, p)` and the density-dependent [`RunningCost`] `F(t, x, m)` — with the
//! built-in families (quadratic, power, bounded, congestion; local and nonlocal costs).

pub mod congestion;
pub mod hamiltonian;
pub mod nonlocal;
pub mod problem;
pub mod radial;
pub mod running_cost;

pub use congestion::Congestion;
pub use hamiltonian::{Hamiltonian, Quadratic};
pub use nonlocal::Nonlocal;
pub use problem::{Forcing, Problem, ProblemBuilder};
pub use radial::{Bounded, Power};
pub use running_cost::{Coupling, RunningCost, LOG_DENSITY_FLOOR};
