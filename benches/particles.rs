//! Particle FP: one solve at 10^4, 10^5, 10^6 particles (50 steps, 101-point grid), binned KDE
//! against the direct O(N n) estimate, and 1 against 2 threads. Figures: docs/PERFORMANCE.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ndarray::Array2;

use mfg_rs::core::{FixedPointIterator, FpSolver};
use mfg_rs::fp::kde::{bin_linear, direct_kde, Bandwidth, GridKde};
use mfg_rs::fp::{FdmFp, ParticleFp, ParticleSettings};
use mfg_rs::hjb::FdmHjb;

/// The tutorial problem and its converged u (drift for the particles).
fn setup() -> (mfg_rs::core::Problem, Array2<f64>) {
    let c = mfg_cli::config::resolve(None, &["preset=mfg-pde-tutorial".into()]).unwrap();
    let p = c.problem().unwrap();
    let sol = FixedPointIterator::new(c.settings().unwrap())
        .unwrap()
        .solve(&p, &mut FdmHjb::default(), &mut FdmFp::new())
        .unwrap();
    (p, sol.u)
}

fn solve(c: &mut Criterion) {
    let (p, u) = setup();
    let mut m = Array2::zeros(u.raw_dim());
    let mut g = c.benchmark_group("particle-fp");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        for particles in [10_000, 50_000, 100_000, 1_000_000] {
            let id = format!("{threads}-thread");
            g.throughput(Throughput::Elements((particles * 50) as u64));
            let mut fp = ParticleFp::new(ParticleSettings {
                particles,
                ..Default::default()
            })
            .unwrap();
            g.bench_with_input(BenchmarkId::new(id, particles), &particles, |b, _| {
                pool.install(|| b.iter(|| fp.solve_into(&p, u.view(), m.view_mut()).unwrap()))
            });
        }
    }
    g.finish();
}

fn kde(c: &mut Criterion) {
    let n = 101;
    let dx = 0.01;
    let mut w = vec![dx; n];
    w[0] *= 0.5;
    w[n - 1] *= 0.5;
    let mut g = c.benchmark_group("kde");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    for samples in [10_000, 100_000] {
        // Deterministic pseudo-samples of a bump.
        let xs: Vec<f64> = (0..samples)
            .map(|i| {
                let t = (i as f64 + 0.5) / samples as f64;
                (0.5 + 0.1 * (2.0 * t - 1.0) * (1.0 + 3.0 * (17.0 * t).sin().abs())).clamp(0.0, 1.0)
            })
            .collect();
        let h = Bandwidth::Silverman.select(samples, 0.1, 0.13, dx);
        let mut m = vec![0.0; n];
        g.throughput(Throughput::Elements(samples as u64));
        g.bench_with_input(BenchmarkId::new("binned", samples), &samples, |b, _| {
            let mut kde = GridKde::new(&w, dx, false);
            let mut hist = vec![0.0; n];
            b.iter(|| {
                hist.iter_mut().for_each(|v| *v = 0.0);
                for &x in &xs {
                    bin_linear(&mut hist, x / dx, false);
                }
                let inv = 1.0 / samples as f64;
                hist.iter_mut().for_each(|v| *v *= inv);
                kde.smooth(&hist, h, &mut m);
                black_box(m[50])
            })
        });
        g.bench_with_input(BenchmarkId::new("direct", samples), &samples, |b, _| {
            b.iter(|| {
                direct_kde(&xs, 0.0, dx, &w, false, h, &mut m);
                black_box(m[50])
            })
        });
    }
    g.finish();
}

criterion_group!(benches, solve, kde);
criterion_main!(benches);
