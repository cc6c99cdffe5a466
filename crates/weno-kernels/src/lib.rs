//! # weno-kernels
//!
//! Weighted essentially non-oscillatory (WENO) kernels on whole slices: WENO5 reconstruction
//! with the weights of Jiang–Shu (JS), Borges et al. (Z) and Henrick et al. (M), and the
//! Jiang–Peng HJ-WENO5 one-sided derivatives used by `hjb-solver`'s `WenoHjb`. No workspace
//! dependencies; no allocation in the slice functions.
//!
//! ## The equations
//!
//! Fifth-order reconstruction of `v_{i+1/2}` from `v_{i−2..=i+2}` as a convex combination of
//! three third-order candidates
//!
//! ```text
//! q0 = ( 2 v_{i−2} − 7 v_{i−1} + 11 v_i   ) / 6
//! q1 = (  −v_{i−1} + 5 v_i     +  2 v_{i+1}) / 6
//! q2 = ( 2 v_i     + 5 v_{i+1} −    v_{i+2}) / 6
//! ```
//!
//! with linear weights `d = (1/10, 6/10, 3/10)`, smoothness indicators
//!
//! ```text
//! β0 = 13/12 (v_{i−2} − 2 v_{i−1} + v_i)²     + 1/4 (v_{i−2} − 4 v_{i−1} + 3 v_i)²
//! β1 = 13/12 (v_{i−1} − 2 v_i     + v_{i+1})² + 1/4 (v_{i−1} − v_{i+1})²
//! β2 = 13/12 (v_i     − 2 v_{i+1} + v_{i+2})² + 1/4 (3 v_i − 4 v_{i+1} + v_{i+2})²
//! ```
//!
//! and nonlinear weights `ω_k = α_k / Σ α`:
//!
//! * JS: `α_k = d_k / (ε + β_k)²`, ε = 1e-6;
//! * Z: `α_k = d_k (1 + τ5 / (β_k + ε))`, `τ5 = |β0 − β2|`, ε = 1e-40;
//! * M: the JS weights mapped by `g_k(ω) = ω (d_k + d_k² − 3 d_k ω + ω²) / (d_k² + ω (1 − 2 d_k))`.
//!
//! The HJ-WENO derivatives `φx⁻`, `φx⁺` ([`hj`]) apply the same weights to forward differences.
//!
//! ```
//! use weno_kernels::{reconstruct, Weights};
//! // Cell averages of a line: the reconstruction is exact.
//! let v: Vec<f64> = (0..10).map(|i| 2.0 * i as f64).collect();
//! let mut out = vec![0.0; 6];
//! reconstruct(Weights::Js, &v, &mut out);
//! assert!((out[0] - 5.0).abs() < 1e-12); // interface between cells 2 and 3
//! ```
//!
//! # References
//! G.-S. Jiang, C.-W. Shu, *Efficient implementation of weighted ENO schemes*, J. Comput.
//! Phys. 126 (1996) 202–228. G.-S. Jiang, D. Peng, *Weighted ENO schemes for Hamilton–Jacobi
//! equations*, SIAM J. Sci. Comput. 21 (2000) 2126–2143. R. Borges, M. Carmona, B. Costa,
//! W. S. Don, J. Comput. Phys. 227 (2008) 3191–3211. A. K. Henrick, T. D. Aslam, J. M. Powers,
//! J. Comput. Phys. 207 (2005) 542–567.

pub mod hj;
pub mod reconstruct;

pub use hj::{Ghosts, HjWeno};
pub use reconstruct::{reconstruct, weno5, Weights};
