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

//! * [`CongestionWave`]: an exact stationary pair with congestion, `H = s(m)|p|²/(2λ)`.
//!
//! A crate of its own (not part of `mfg-core`'s API): one problem per file, used by the
//! workspace's tests, benches and examples as a dev-dependency.
//!
//! ```
//! use mfg_test_problems::LqGaussian;
//! let lq = LqGaussian::default();
//! let p = lq.problem(80, 10);
//! assert_eq!(p.grid().len(), 81);
//! assert!((lq.mean(1.0) - 0.315698).abs() < 1e-6);
//! ```

mod bessel;
mod congestion_wave;
mod lq_ergodic;
mod lq_gaussian;
mod manufactured;
mod stationary_log;
mod stationary_wave;
#[cfg(test)]
mod tests;

pub use bessel::bessel_i0;
pub use congestion_wave::CongestionWave;
pub use lq_ergodic::LqErgodic;
pub use lq_gaussian::LqGaussian;
pub use manufactured::Manufactured;
pub use stationary_log::StationaryLog;
pub use stationary_wave::StationaryWave;
