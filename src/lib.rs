//! # mfg-rs
//!
//! A facade over the mfg-rs workspace: [`core`] (grid, problem, coupling iteration),
//! [`hjb`] and [`fp`] (the solvers). The command line is the `mfg-cli` binary.
//!
//! ```
//! use mfg_rs::{core::{FixedPointIterator, IterationSettings}, hjb::FdmHjb, fp::FdmFp};
//! use mfg_test_problems::LqGaussian;
//! let p = LqGaussian::default().problem(100, 20);
//! let sol = FixedPointIterator::new(IterationSettings::default()).unwrap()
//!     .solve(&p, &mut FdmHjb::default(), &mut FdmFp::new())
//!     .unwrap();
//! assert!(sol.converged());
//! ```

pub use fp_solver as fp;
pub use hjb_solver as hjb;
pub use mfg_core as core;
pub use weno_kernels as weno;
