//! # weno-kernels
//!
//! Weighted essentially non-oscillatory (WENO) kernels on whole slices, for the WENO
//! Hamilton–Jacobi solver of `hjb-solver`. This crate has no workspace dependencies.
//!
//! **Status: not built yet** (the WENO issue). This page fixes what it will hold.
//!
//! ## The equations
//!
//! Fifth-order reconstruction of `v_{i+1/2}` from the five cell values `v_{i−2..i+2}` as a
//! convex combination of three third-order candidates
//!
//! ```text
//! q0 = ( 2 v_{i−2} − 7 v_{i−1} + 11 v_i   ) / 6
//! q1 = (  −v_{i−1} + 5 v_i     +  2 v_{i+1}) / 6
//! q2 = ( 2 v_i     + 5 v_{i+1} −    v_{i+2}) / 6
//! ```
//!
//! with linear weights `(1/10, 6/10, 3/10)`, smoothness indicators
//!
//! ```text
//! β0 = 13/12 (v_{i−2} − 2 v_{i−1} + v_i)²     + 1/4 (v_{i−2} − 4 v_{i−1} + 3 v_i)²
//! β1 = 13/12 (v_{i−1} − 2 v_i     + v_{i+1})² + 1/4 (v_{i−1} − v_{i+1})²
//! β2 = 13/12 (v_i     − 2 v_{i+1} + v_{i+2})² + 1/4 (3 v_i − 4 v_{i+1} + v_{i+2})²
//! ```
//!
//! and nonlinear weights `α_k = d_k / (ε + β_k)²` (WENO5-JS), `α_k = d_k (1 + (τ5/(ε + β_k))²)`
//! with `τ5 = |β0 − β2|` (WENO-Z), or the Henrick mapping of the JS weights (WENO-M).
//! The Jiang–Peng HJ-WENO derivatives `φx⁻`, `φx⁺` apply the same weights to divided differences.
//!
//! # References
//! G.-S. Jiang, C.-W. Shu, J. Comput. Phys. 126 (1996); G.-S. Jiang, D. Peng, SIAM J. Sci.
//! Comput. 21 (2000); R. Borges et al., J. Comput. Phys. 227 (2008); A. K. Henrick et al.,
//! J. Comput. Phys. 207 (2005).
