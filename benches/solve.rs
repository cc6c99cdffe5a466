//! End-to-end benchmarks of whole solves, and of one HJB and one FP solve per grid point.
//!
//! `cargo bench --bench solve`. Figures and decisions: docs/PERFORMANCE.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ndarray::Array2;

use mfg_rs::core::linalg::GridMatrix;
use mfg_rs::core::PreconditionerKind;
use mfg_rs::core::{FixedPointIterator, FpSolver, HjbSolver};
use mfg_rs::fp::FdmFp;
use mfg_rs::hjb::{FdmHjb, WenoHjb, WenoSettings};

/// The config's problem, its converged FDM solution, and two space–time fields for the
/// components' outputs.
fn converged(
    config: &mfg_cli::config::Config,
) -> (
    mfg_rs::core::Problem,
    mfg_rs::core::MfgSolution,
    Array2<f64>,
    Array2<f64>,
) {
    let p = config.problem().unwrap();
    let (levels, n) = (p.time().levels(), p.grid().len());
    let sol = FixedPointIterator::new(config.settings().unwrap())
        .unwrap()
        .solve(&p, &mut FdmHjb::default(), &mut FdmFp::new())
        .unwrap();
    (
        p,
        sol,
        Array2::zeros((levels, n)),
        Array2::zeros((levels, n)),
    )
}

/// The CLI's whole job in-process for each preset: resolve, solve, write the files.
fn bench_presets(c: &mut Criterion, group: &str, names: &[&str], samples: usize, secs: u64) {
    let mut g = c.benchmark_group(group);
    g.sample_size(samples)
        .measurement_time(Duration::from_secs(secs));
    let out = tempfile::tempdir().unwrap();
    for name in names {
        let opts = mfg_cli::run::SolveOptions {
            cancel: None,
            max_memory: None,
            config: None,
            out: out.path().to_owned(),
            sets: vec![format!("preset={name}")],
            format: Default::default(),
        };
        g.bench_function(*name, |b| {
            b.iter(|| {
                let o = mfg_cli::run::solve(&opts, &mut |_| {}).unwrap();
                assert!(o.solution.converged());
                black_box(o.solution.iterations())
            })
        });
    }
    g.finish();
}

/// The 1D presets.
fn presets(c: &mut Criterion) {
    bench_presets(
        c,
        "preset",
        &["mfg-pde-tutorial", "crowd", "lq-gaussian"],
        20,
        4,
    );
}

/// The 2D presets (`crowd-2d`: 100 × 100 points, nt = 50, to 1e-6; the target is
/// ≤ 5 s on the 2-core machine).
fn presets_2d(c: &mut Criterion) {
    bench_presets(c, "preset-2d", &["crowd-2d", "torus-2d"], 10, 30);
}

/// Rooms with exits and obstacles (issue 15): `evacuation-2d` (100 × 100 points, two doors, a
/// pillar, nt = 50, to 1e-6; the target is ≤ 5 s) and `exit-1d`, with `crowd-2d` in the same
/// run for the ratio (the same grid without geometry).
fn geometry(c: &mut Criterion) {
    bench_presets(
        c,
        "geometry",
        &["exit-1d", "evacuation-2d", "crowd-2d"],
        10,
        20,
    );
}

/// The preconditioners of BiCGSTAB, per dimension and wall type: `crowd-2d` (100 × 100,
/// no-flux, nt = 50), `torus-2d` (64 × 64, periodic) and `crowd-3d` (25³, no-flux): one cold
/// HJB solve (Newton from u^{k+1} at every level) and one FP solve at the converged solution,
/// with ADI line solves, ILU(0), Jacobi or an aggregation-multigrid V-cycle. The winner per
/// dimension and wall type is `PreconditionerKind::for_grid` (docs/PERFORMANCE.md).
fn linear_solvers(c: &mut Criterion) {
    let mut g = c.benchmark_group("linear");
    g.sample_size(10).measurement_time(Duration::from_secs(6));
    for preset in ["crowd-2d", "torus-2d", "crowd-3d"] {
        let config = mfg_cli::config::resolve(None, &[format!("preset={preset}")]).unwrap();
        let (p, sol, mut u, mut m) = converged(&config);
        for (name, pc) in [
            ("adi", PreconditionerKind::Adi),
            ("ilu0", PreconditionerKind::Ilu0),
            ("jacobi", PreconditionerKind::Jacobi),
            ("multigrid", PreconditionerKind::Multigrid),
        ] {
            g.bench_function(BenchmarkId::new(format!("hjb-cold/{preset}"), name), |b| {
                let mut hjb = FdmHjb::default().with_preconditioner(pc);
                b.iter(|| {
                    hjb.reset();
                    hjb.solve_into(&p, sol.m.view(), u.view_mut()).unwrap()
                })
            });
            g.bench_function(BenchmarkId::new(format!("fp/{preset}"), name), |b| {
                let mut fp = FdmFp::new().with_preconditioner(pc);
                b.iter(|| {
                    fp.reset();
                    fp.solve_into(&p, sol.u.view(), m.view_mut()).unwrap()
                })
            });
        }
    }
    g.finish();
}

/// How the cost grows with the grid (issue 18): crowd-2d at 50², 100², 200² and crowd-3d at
/// 32³, 64³, all with nt = 50, to 1e-6 (the presets' Anderson 5). The library solve (no
/// files; the library moves it onto a pool thread, as for the CLI). The acceptance ratios are taken within this
/// group's one run: 200² against 100², and 64³ against the 30 s target.
fn scale(c: &mut Criterion) {
    let mut g = c.benchmark_group("scale");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    let cases: [(&str, &[&str]); 5] = [
        (
            "crowd-2d-50",
            &["preset=crowd-2d", "grid.nx=49", "grid.ny=49"],
        ),
        ("crowd-2d-100", &["preset=crowd-2d"]),
        (
            "crowd-2d-200",
            &["preset=crowd-2d", "grid.nx=199", "grid.ny=199"],
        ),
        (
            "crowd-3d-32",
            &[
                "preset=crowd-3d",
                "grid.nx=31",
                "grid.ny=31",
                "grid.nz=31",
                "grid.nt=50",
            ],
        ),
        (
            "crowd-3d-64",
            &[
                "preset=crowd-3d",
                "grid.nx=63",
                "grid.ny=63",
                "grid.nz=63",
                "grid.nt=50",
            ],
        ),
    ];
    for (name, sets) in cases {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        let config = mfg_cli::config::resolve(None, &sets).unwrap();
        let p = config.problem().unwrap();
        let it = FixedPointIterator::new(config.settings().unwrap()).unwrap();
        if name == "crowd-3d-64" {
            g.measurement_time(Duration::from_secs(60));
        }
        g.bench_function(name, |b| {
            b.iter(|| {
                let sol = it
                    .solve(&p, &mut FdmHjb::default(), &mut FdmFp::new())
                    .unwrap();
                assert!(sol.converged(), "{name}");
                black_box(sol.iterations())
            })
        });
    }
    g.finish();
}

/// The matrix-vector product of the assembled upwind operator (the inner kernel of BiCGSTAB):
/// sprs's CSR product against the padded fixed-width (ELLPACK) kernel, on 2D (crowd-2d,
/// 100 × 100) and 3D (crowd-3d, 25³ and 64³) grids. The kernel the solvers use is the winner.
/// Also the assembly of `I − dt L` and of its transpose from the jump rates (once per time
/// level in every HJB Newton step and FP step).
fn linear_kernels(c: &mut Criterion) {
    let mut g = c.benchmark_group("linear-kernels");
    g.sample_size(50).measurement_time(Duration::from_secs(3));
    let cases: [(&str, &[&str]); 3] = [
        ("crowd-2d", &[]),
        ("crowd-3d", &[]),
        ("crowd-3d-64", &["grid.nx=63", "grid.ny=63", "grid.nz=63"]),
    ];
    for (preset, extra) in cases {
        let mut sets = vec![format!("preset={}", preset.trim_end_matches("-64"))];
        sets.extend(extra.iter().map(|s| s.to_string()));
        let config = mfg_cli::config::resolve(None, &sets).unwrap();
        let p = config.problem().unwrap();
        let grid = p.grid();
        let n = grid.len();
        let rates: Vec<Vec<f64>> = (0..grid.dim())
            .map(|d| (0..n).map(|i| 1.0 + ((i * (d + 3)) % 7) as f64).collect())
            .collect();
        let mut a = GridMatrix::new(grid);
        a.assemble(0.02, &rates, &rates, true);
        let x: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
        let mut y = vec![0.0; n];
        g.throughput(Throughput::Elements(a.nnz() as u64));
        g.bench_function(BenchmarkId::new("matvec-sprs-csr", preset), |b| {
            let csr = a.to_csr();
            b.iter(|| {
                y.fill(0.0);
                sprs::prod::mul_acc_mat_vec_csr(csr.view(), &x, &mut y)
            })
        });
        g.bench_function(BenchmarkId::new("matvec-ell", preset), |b| {
            b.iter(|| a.apply_ell(&x, &mut y))
        });
        for (name, transpose) in [("assemble", false), ("assemble-transposed", true)] {
            g.bench_function(BenchmarkId::new(name, preset), |b| {
                b.iter(|| a.assemble(0.02, &rates, &rates, transpose))
            });
        }
    }
    g.finish();
}

/// The nonlocal coupling's FFT convolution (one time level, `RunningCost::add_into`) on
/// periodic and walled 2D grids of N = n² points: the cost per point should grow as log N.
/// The direct O(N²) sum on the smallest grid, for scale.
fn nonlocal(c: &mut Criterion) {
    use mfg_rs::core::{Axis, Boundary, Grid, Nonlocal, RunningCost};
    let mut g = c.benchmark_group("nonlocal");
    g.sample_size(20).measurement_time(Duration::from_secs(2));
    for boundary in [Boundary::Periodic, Boundary::NoFlux] {
        for n in [32, 64, 128, 256, 512] {
            let axis = Axis::new(0.0, 1.0, n, boundary).unwrap();
            let grid = Grid::new(vec![axis.clone(), axis]);
            let k = Nonlocal::gaussian(1.0, 0.1).unwrap();
            let m: Vec<f64> = (0..grid.len())
                .map(|i| (i as f64 * 0.37).sin().abs())
                .collect();
            let mut out = vec![0.0; grid.len()];
            k.add_into(&grid, 0.0, &m, &mut out);
            g.throughput(Throughput::Elements(grid.len() as u64));
            let name = format!("{boundary:?}-fft");
            g.bench_function(BenchmarkId::new(name, grid.len()), |b| {
                b.iter(|| k.add_into(&grid, 0.0, black_box(&m), &mut out))
            });
            if n == 32 {
                let name = format!("{boundary:?}-direct");
                g.bench_function(BenchmarkId::new(name, grid.len()), |b| {
                    b.iter(|| k.convolve_direct(&grid, black_box(&m), &mut out))
                });
            }
        }
    }
    g.finish();
}

/// One HJB solve and one FP solve of the tutorial problem, at growing nx (nt = 50):
/// throughput is in grid points × time steps.
fn components(c: &mut Criterion) {
    let mut g = c.benchmark_group("component");
    g.sample_size(30).measurement_time(Duration::from_secs(3));
    for nx in [100, 400, 1600] {
        let config = mfg_cli::config::resolve(
            None,
            &["preset=mfg-pde-tutorial".into(), format!("grid.nx={nx}")],
        )
        .unwrap();
        // A realistic (u, m) pair: the converged solution.
        let (p, sol, mut u, mut m) = converged(&config);
        let (levels, n) = (p.time().levels(), p.grid().len());
        g.throughput(Throughput::Elements((n * (levels - 1)) as u64));
        // Cold: Newton starts from u^{k+1} (a first Picard iteration).
        g.bench_with_input(BenchmarkId::new("hjb-fdm-cold", nx), &nx, |b, _| {
            let mut hjb = FdmHjb::default();
            b.iter(|| {
                hjb.reset();
                hjb.solve_into(&p, sol.m.view(), u.view_mut()).unwrap()
            })
        });
        // Warm: Newton starts from the previous solve (late Picard iterations).
        g.bench_with_input(BenchmarkId::new("hjb-fdm-warm", nx), &nx, |b, _| {
            let mut hjb = FdmHjb::default();
            b.iter(|| hjb.solve_into(&p, sol.m.view(), u.view_mut()).unwrap())
        });
        if nx <= 400 {
            // Explicit: its cost per MFG time step grows with the sub-steps (∝ nx²).
            g.bench_with_input(BenchmarkId::new("hjb-weno5", nx), &nx, |b, _| {
                let mut hjb = WenoHjb::new(WenoSettings::default()).unwrap();
                b.iter(|| hjb.solve_into(&p, sol.m.view(), u.view_mut()).unwrap())
            });
        }
        g.bench_with_input(BenchmarkId::new("fp-fdm", nx), &nx, |b, _| {
            let mut fp = FdmFp::new();
            b.iter(|| fp.solve_into(&p, sol.u.view(), m.view_mut()).unwrap())
        });
    }
    g.finish();
}

/// Time to tolerance of the coupling methods in one run: damped Picard, Anderson (depth 5) and
/// Newton, from a cold start with the preset's other settings, to 1e-8 on the 1D presets and to
/// 1e-6 on crowd-2d (the library solve only: no files). The default method is chosen from
/// these figures (docs/PERFORMANCE.md).
fn coupling_methods(c: &mut Criterion) {
    use mfg_rs::core::{Continuation, IterationMethod, IterationSettings};
    let mut g = c.benchmark_group("coupling-method");
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    let cases: [(&str, f64, &[&str]); 4] = [
        ("crowd", 1e-8, &["picard", "anderson", "newton"]),
        ("mfg-pde-tutorial", 1e-8, &["picard", "anderson", "newton"]),
        ("lq-gaussian", 1e-8, &["picard", "anderson", "newton"]),
        ("crowd-2d", 1e-6, &["anderson", "newton"]),
    ];
    for (preset, tolerance, methods) in cases {
        if preset == "crowd-2d" {
            g.sample_size(10).measurement_time(Duration::from_secs(20));
        }
        let config = mfg_cli::config::resolve(None, &[format!("preset={preset}")]).unwrap();
        let p = config.problem().unwrap();
        let base = IterationSettings {
            tolerance,
            max_iterations: 1000,
            continuation: Continuation::Off,
            ..config.settings().unwrap()
        };
        for &method in methods {
            let settings = match method {
                "picard" => IterationSettings {
                    method: IterationMethod::FixedPoint,
                    anderson_depth: 0,
                    ..base.clone()
                },
                "anderson" => IterationSettings {
                    method: IterationMethod::FixedPoint,
                    anderson_depth: 5,
                    ..base.clone()
                },
                _ => IterationSettings {
                    method: IterationMethod::Newton,
                    anderson_depth: 0,
                    ..base.clone()
                },
            };
            let it = FixedPointIterator::new(settings).unwrap();
            g.bench_function(BenchmarkId::new(preset, method), |b| {
                b.iter(|| {
                    let sol = it
                        .solve(&p, &mut FdmHjb::default(), &mut FdmFp::new())
                        .unwrap();
                    assert!(sol.converged(), "{preset} {method}");
                    black_box(sol.iterations())
                })
            });
        }
    }
    g.finish();
}

criterion_group!(
    benches,
    coupling_methods,
    presets,
    presets_2d,
    linear_solvers,
    scale,
    linear_kernels,
    components,
    nonlocal,
    geometry
);
criterion_main!(benches);
