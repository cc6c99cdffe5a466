//! Nonlinear solves shared by the drivers: the continuation (homotopy) from an easy problem to
//! the target, its step rules and constants.

pub mod continuation;

pub use continuation::{Continuation, EASY_SIGMA};
