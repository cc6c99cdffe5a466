//! # mfg-cli
//!
//! The command line of mfg-rs, as a library the binary (and the end-to-end benches) call:
//! config files and presets ([`config`], [`presets`]), the expressions of the model keys
//! ([`expr`]), the solve ([`run`]), the result files ([`output`]) and pictures ([`plot`]).
//! Every config key lives here: the library crates name parameters, and [`config`] maps them
//! to keys.
//!
//! It solves the Mean Field Game system
//!
//! ```text
//! −∂t u − ν Δu + |∇u|²/(2λ) = V(x) + F(m),   u(T) = g
//!  ∂t m − ν Δm − div(m ∇u/λ) = 0,            m(0) = m0
//! ```
//!
//! on an interval, a rectangle or a box (1D, 2D, 3D)
//!
//! as configured in TOML (DESIGN.md §5), and writes `u.npy`, `m.npy`, `x.npy`, `t.npy`,
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
pub mod error;
pub mod expr;
pub mod output;
pub mod plot;
pub mod presets;
pub mod run;

pub use error::CliError;
