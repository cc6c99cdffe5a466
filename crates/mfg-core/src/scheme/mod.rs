//! The finite-difference scheme shared by the HJB and FP solvers: the monotone upwind
//! operator `L(u)` and its implicit systems ([`upwind`]), the Laplacian and the generator's
//! action ([`laplacian`]). The per-point numerical Hamiltonians and their loops are the
//! provided methods of [`crate::Hamiltonian`] (compiled once per implementation).

pub mod laplacian;
pub mod upwind;

pub use laplacian::{apply_generator, apply_laplacian};
pub use upwind::UpwindOperator;
