//! WENO5 kernels: whole-slice (fused and structure-of-arrays) against per-stencil calls, and
//! the HJ-WENO derivatives. Throughput is in points. Figures: docs/PERFORMANCE.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use weno_kernels::reconstruct::{candidates, nonlinear_weights, smoothness};
use weno_kernels::{reconstruct, weno5, Ghosts, HjWeno, Weights};

/// Scratch of [`reconstruct_soa`].
#[derive(Debug, Clone, Default)]
struct SoaScratch {
    beta: [Vec<f64>; 3],
}

/// The same result as [`reconstruct`], computed structure-of-arrays from the library's
/// per-stencil pieces: one pass for the three smoothness indicators, one for weights and
/// candidates. The layout the fused `reconstruct` was measured against (docs/PERFORMANCE.md).
fn reconstruct_soa(w: Weights, v: &[f64], out: &mut [f64], scratch: &mut SoaScratch) {
    let n = out.len();
    for b in scratch.beta.iter_mut() {
        b.resize(n, 0.0);
    }
    let [b0, b1, b2] = &mut scratch.beta;
    for (i, s) in v.windows(5).take(n).enumerate() {
        [b0[i], b1[i], b2[i]] = smoothness(s[0], s[1], s[2], s[3], s[4]);
    }
    for (i, (o, s)) in out.iter_mut().zip(v.windows(5)).enumerate() {
        let om = nonlinear_weights(w, [b0[i], b1[i], b2[i]]);
        let q = candidates(s[0], s[1], s[2], s[3], s[4]);
        *o = om[0] * q[0] + om[1] * q[1] + om[2] * q[2];
    }
}

/// The data of `benches/weno_numpy.py` (same formula): smooth with a few steep fronts.
fn data(n: usize) -> Vec<f64> {
    (0..n + 4)
        .map(|i| {
            let x = i as f64 / n as f64;
            (2.0 * std::f64::consts::PI * x).sin() + (40.0 * (x - 0.5)).tanh()
        })
        .collect()
}

const SIZES: [usize; 2] = [128, 65536];

fn slice(c: &mut Criterion) {
    let mut g = c.benchmark_group("reconstruct");
    g.measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    for n in SIZES {
        let v = data(n);
        let mut out = vec![0.0; n];
        g.throughput(Throughput::Elements(n as u64));
        for w in Weights::ALL {
            g.bench_with_input(BenchmarkId::new(w.name(), n), &n, |b, _| {
                b.iter(|| reconstruct(w, black_box(&v), &mut out))
            });
        }
    }
    g.finish();
}

fn soa(c: &mut Criterion) {
    let mut g = c.benchmark_group("reconstruct-soa");
    g.measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    for n in SIZES {
        let v = data(n);
        let mut out = vec![0.0; n];
        let mut scratch = SoaScratch::default();
        let mut fused = vec![0.0; n];
        for w in Weights::ALL {
            reconstruct(w, &v, &mut fused);
            reconstruct_soa(w, &v, &mut out, &mut scratch);
            assert!(out
                .iter()
                .zip(&fused)
                .all(|(a, b)| (a - b).abs() <= 1e-15 * b.abs().max(1.0)));
        }
        g.throughput(Throughput::Elements(n as u64));
        for w in Weights::ALL {
            g.bench_with_input(BenchmarkId::new(w.name(), n), &n, |b, _| {
                b.iter(|| reconstruct_soa(w, black_box(&v), &mut out, &mut scratch))
            });
        }
    }
    g.finish();
}

/// One call per stencil, as a caller looping over points would write it (inputs and result
/// pass through `black_box`, so nothing is fused or vectorised across points).
fn per_stencil(c: &mut Criterion) {
    let mut g = c.benchmark_group("per-stencil");
    g.measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    for n in SIZES {
        let v = data(n);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("js", n), &n, |b, _| {
            b.iter(|| {
                for s in v.windows(5) {
                    let s = black_box(s);
                    black_box(weno5(Weights::Js, s[0], s[1], s[2], s[3], s[4]));
                }
            })
        });
    }
    g.finish();
}

fn hj(c: &mut Criterion) {
    let mut g = c.benchmark_group("hj-derivatives");
    g.measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    for n in SIZES {
        let phi = data(n - 4);
        let (mut m, mut p) = (vec![0.0; n], vec![0.0; n]);
        g.throughput(Throughput::Elements(n as u64));
        for w in Weights::ALL {
            let mut hj = HjWeno::new(n, w, Ghosts::Periodic);
            g.bench_with_input(BenchmarkId::new(w.name(), n), &n, |b, _| {
                b.iter(|| hj.derivatives(black_box(&phi), 0.01, &mut m, &mut p))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, slice, soa, per_stencil, hj);
criterion_main!(benches);
