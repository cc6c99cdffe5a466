//! # mfg-cli
//!
//! The command line of mfg-rs, as a library the binary (and the end-to-end benches) call:
//! config files and presets ([`config`], [`presets`]), the expressions of the model keys
//! ([`expr`]) and the running cost written as one ([`cost`]), the solve ([`run`]), the result files ([`output`]) and pictures ([`plot`]).
//! Every config key lives here: the library crates name parameters, and [`config`] maps them
//! to keys.
//!
//! It solves the Mean Field Game system
//!
//! ```text
//! −∂t u − ν Δu + H(∇u) = f(t, x, m),      u(T) = g
//!  ∂t m − ν Δm − div(m ∂pH(∇u)) = 0,      m(0) = m0
//! ```
//!
//! with `H` quadratic `|p|²/(2λ)`, `power` or `bounded` (`model.hamiltonian`) and
//! `f = V(x) + F(m)` (`model.potential`, `model.coupling`) or any expression
//! (`model.running_cost`), on an interval, a rectangle or a box (1D, 2D, 3D), as configured in TOML (DESIGN.md §5), and writes `u.npy`, `m.npy`, `x.npy`, `t.npy`,
//! `summary.json` and `config.toml`, each atomically.
//!
//! ```
//! let c = mfg_cli::config::resolve(None, &["preset=lq-gaussian".into(), "grid.nx=50".into()])
//!     .unwrap();
//! let p = c.problem().unwrap();
//! assert_eq!(p.grid().len(), 51);
//! ```
//!
//! Exit codes: 0 converged; 3 finished without converging (files written); 2 invalid config or
//! arguments (nothing written); 1 numerical failure (nothing written).

pub mod config;
pub mod cost;
pub mod error;
pub mod expr;
pub mod output;
pub mod plot;
pub mod presets;
pub mod run;

pub use error::CliError;
