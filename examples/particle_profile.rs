//! One particle FP solve repeated, for profilers: `cargo run --release --example particle_profile`.
use mfg_rs::core::{FixedPointIterator, FpSolver};
use mfg_rs::fp::{FdmFp, ParticleFp, ParticleSettings};
use mfg_rs::hjb::FdmHjb;
use ndarray::Array2;

fn main() {
    let c = mfg_cli::config::resolve(None, &["preset=mfg-pde-tutorial".into()]).unwrap();
    let p = c.problem().unwrap();
    let sol = FixedPointIterator::new(c.settings().unwrap())
        .unwrap()
        .solve(&p, &mut FdmHjb::default(), &mut FdmFp::new())
        .unwrap();
    let mut m = Array2::zeros(sol.u.raw_dim());
    let mut fp = ParticleFp::new(ParticleSettings {
        particles: 50_000,
        ..Default::default()
    })
    .unwrap();
    let reps: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let t = std::time::Instant::now();
    for _ in 0..reps {
        fp.solve_into(&p, sol.u.view(), m.view_mut()).unwrap();
    }
    println!(
        "{:.2} ms per solve",
        t.elapsed().as_secs_f64() * 1e3 / reps as f64
    );
}
