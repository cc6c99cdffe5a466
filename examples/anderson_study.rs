//! Damped Picard against Anderson acceleration on the built-in presets: iterations to
//! tolerance 1e-8 and the agreement of the solutions; then, per preset, the fewest iterations
//! any Anderson variant can need (the Krylov bound below).
//!
//! Run with `cargo run --release --example anderson_study` (extra `key=value` arguments are
//! config overrides applied to every preset).
//!
//! **The Krylov bound.** On a linear map, Anderson with unlimited depth is equivalent to GMRES
//! (Walker & Ni 2011): its iterate after k + 1 map evaluations is the map applied to the k-th
//! GMRES iterate, and a finite depth or a safeguard restart only loses ground. So the number
//! of matrix–vector products GMRES needs on the linearised fixed-point equation
//! `(I − DΦ(m*)) e = Φ(m⁰) − m⁰` to bring the residual below `tolerance · ‖Φ(m*)‖`, plus one,
//! bounds from below the iterations of every Anderson variant (depth, mixing, target) started
//! from m⁰, up to the nonlinearity of Φ. The products are central differences of Φ at the
//! converged m*; the largest eigenvalue of `I − DΦ` comes from a power iteration.

use mfg_rs::core::{
    AndersonTarget, FixedPointIterator, FpSolver, HjbSolver, IterationSettings, MfgSolution,
    Problem,
};
use mfg_rs::fp::FdmFp;
use mfg_rs::hjb::FdmHjb;
use ndarray::Array2;

fn run(p: &Problem, settings: IterationSettings) -> MfgSolution {
    FixedPointIterator::new(settings)
        .unwrap()
        .solve(p, &mut FdmHjb::default(), &mut FdmFp::new())
        .expect("solve")
}

fn rel_l2(a: &ndarray::Array2<f64>, b: &ndarray::Array2<f64>) -> f64 {
    let num: f64 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum();
    let den: f64 = b.iter().map(|y| y * y).sum();
    (num / den).sqrt()
}

/// The preset's problem and settings, with `key=value` overrides.
fn load(name: &str, extra: &[String]) -> (Problem, IterationSettings) {
    let mut sets = vec![format!("preset={name}")];
    sets.extend(extra.iter().cloned());
    let config = mfg_cli::config::resolve(None, &sets).unwrap();
    // The fixed-point iteration is studied here (the 1D default is Newton).
    let settings = IterationSettings {
        method: mfg_rs::core::IterationMethod::FixedPoint,
        ..config.settings().unwrap()
    };
    (config.problem().unwrap(), settings)
}

fn main() {
    let extra: Vec<String> = std::env::args().skip(1).collect();
    println!("preset | Picard its | depth | target | its | accelerated/fallback | ratio | rel L2 u | rel L2 m | ms");
    for name in ["mfg-pde-tutorial", "crowd", "lq-gaussian"] {
        let (p, base) = load(name, &extra);
        let picard = run(&p, base.clone());
        for depth in [2, 3, 5, 8, 20] {
            for target in [AndersonTarget::Density, AndersonTarget::ValueAndDensity] {
                let s = IterationSettings {
                    anderson_depth: depth,
                    anderson_target: target,
                    ..base.clone()
                };
                let acc = run(&p, s);
                let count = |k: &str| {
                    acc.history
                        .iter()
                        .filter(|r| r.step.is_some_and(|s| s.name() == k))
                        .count()
                };
                println!(
                    "{name} | {} ({}) | {depth} | {target:?} | {} ({}) | {}/{} | {:.3} | {:.1e} | {:.1e} | {:.1}",
                    picard.iterations(),
                    picard.termination.name(),
                    acc.iterations(),
                    acc.termination.name(),
                    count("accelerated"),
                    count("fallback"),
                    acc.iterations() as f64 / picard.iterations() as f64,
                    rel_l2(&acc.u, &picard.u),
                    rel_l2(&acc.m, &picard.m),
                    1e3 * acc.timings.total
                );
            }
        }
    }
    println!();
    println!(
        "preset | Picard its | Krylov bound (GMRES products + 1) | largest eigenvalue of I - DPhi"
    );
    for name in ["mfg-pde-tutorial", "crowd", "lq-gaussian"] {
        let (p, base) = load(name, &extra);
        let picard = run(&p, base.clone());
        let (bound, lambda) = krylov_bound(&p, &base);
        println!(
            "{name} | {} | {} | {lambda:.2}",
            picard.iterations(),
            bound.map_or("> 60".to_string(), |k| (k + 1).to_string())
        );
    }
}

/// The map Φ(m) (HJB with m, then FP with the resulting u) on flat vectors.
struct Map<'a> {
    p: &'a Problem,
    hjb: FdmHjb,
    fp: FdmFp,
    m: Array2<f64>,
    u: Array2<f64>,
    out: Array2<f64>,
}

impl<'a> Map<'a> {
    fn new(p: &'a Problem) -> Self {
        let shape = (p.time().levels(), p.grid().len());
        Self {
            p,
            hjb: FdmHjb::default(),
            fp: FdmFp::new(),
            m: Array2::zeros(shape),
            u: Array2::zeros(shape),
            out: Array2::zeros(shape),
        }
    }

    fn eval(&mut self, x: &[f64], y: &mut [f64]) {
        self.m.as_slice_mut().unwrap().copy_from_slice(x);
        self.hjb
            .solve_into(self.p, self.m.view(), self.u.view_mut())
            .expect("HJB");
        self.fp
            .solve_into(self.p, self.u.view(), self.out.view_mut())
            .expect("FP");
        y.copy_from_slice(self.out.as_slice().unwrap());
    }
}

/// GMRES products to tolerance on the linearised map at the solution (`None` beyond 60), and
/// the largest eigenvalue of `I − DΦ(m*)` (30 power-iteration steps).
fn krylov_bound(p: &Problem, base: &IterationSettings) -> (Option<usize>, f64) {
    let tight = IterationSettings {
        anderson_depth: 5,
        tolerance: 1e-12,
        stagnation_window: 0,
        ..base.clone()
    };
    let star = run(p, tight).m;
    let (levels, n) = star.dim();
    let len = levels * n;
    let weights: Vec<f64> = p
        .grid()
        .weights()
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect();
    let dot = |a: &[f64], b: &[f64]| -> f64 {
        a.iter()
            .zip(b)
            .zip(&weights)
            .map(|((x, y), w)| w * x * y)
            .sum()
    };
    let norm = |a: &[f64]| dot(a, a).sqrt();
    let mut map = Map::new(p);
    let xs = star.as_slice().unwrap().to_vec();
    let mut phi_star = vec![0.0; len];
    map.eval(&xs, &mut phi_star);
    let scale = norm(&phi_star);
    // (I − DΦ) v by central differences.
    let (mut plus, mut minus, mut xp) = (vec![0.0; len], vec![0.0; len], vec![0.0; len]);
    let mut apply = |v: &[f64], av: &mut [f64]| {
        let h = 1e-4 * scale / norm(v);
        for sign in [1.0, -1.0] {
            xp.iter_mut()
                .zip(&xs)
                .zip(v)
                .for_each(|((y, x), d)| *y = x + sign * h * d);
            map.eval(&xp, if sign > 0.0 { &mut plus } else { &mut minus });
        }
        for i in 0..len {
            av[i] = v[i] - (plus[i] - minus[i]) / (2.0 * h);
        }
    };

    // The first residual of the iteration: Φ(m⁰) − m⁰ with m⁰ = m0 on every level.
    let x0: Vec<f64> = p
        .initial_density()
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect();
    let mut b = vec![0.0; len];
    Map::new(p).eval(&x0, &mut b);
    b.iter_mut().zip(&x0).for_each(|(r, x)| *r -= x);

    // GMRES (modified Gram–Schmidt Arnoldi, Givens rotations) in the weighted inner product.
    let max_k = 60;
    let beta = norm(&b);
    let mut basis: Vec<Vec<f64>> = vec![b.iter().map(|x| x / beta).collect()];
    let mut h = vec![vec![0.0; max_k + 1]; max_k];
    let (mut cs, mut sn) = (vec![0.0; max_k], vec![0.0; max_k]);
    let mut g = vec![0.0; max_k + 1];
    g[0] = beta;
    let mut products = None;
    let mut w = vec![0.0; len];
    for k in 0..max_k {
        apply(&basis[k], &mut w);
        for (j, q) in basis.iter().enumerate() {
            let c = dot(&w, q);
            h[k][j] = c;
            w.iter_mut().zip(q).for_each(|(x, y)| *x -= c * y);
        }
        let hn = norm(&w);
        h[k][k + 1] = hn;
        for j in 0..k {
            let t = cs[j] * h[k][j] + sn[j] * h[k][j + 1];
            h[k][j + 1] = -sn[j] * h[k][j] + cs[j] * h[k][j + 1];
            h[k][j] = t;
        }
        let r = h[k][k].hypot(h[k][k + 1]);
        cs[k] = h[k][k] / r;
        sn[k] = h[k][k + 1] / r;
        h[k][k] = r;
        g[k + 1] = -sn[k] * g[k];
        g[k] *= cs[k];
        if g[k + 1].abs() <= base.tolerance * scale {
            products = Some(k + 1);
            break;
        }
        basis.push(w.iter().map(|x| x / hn).collect());
    }

    // Power iteration for the largest eigenvalue of I − DΦ.
    let mut v: Vec<f64> = b.iter().map(|x| x / beta).collect();
    let mut lambda = 0.0;
    for _ in 0..30 {
        apply(&v, &mut w);
        lambda = dot(&w, &v);
        let nw = norm(&w);
        v.iter_mut().zip(&w).for_each(|(x, y)| *x = y / nw);
    }
    (products, lambda)
}
