//! Damped Picard against Anderson acceleration on the built-in presets: iterations to
//! tolerance 1e-8 and the agreement of the solutions.
//!
//! Run with `cargo run --release --example anderson_study`.

use mfg_rs::core::{AndersonTarget, FixedPointIterator, IterationSettings, MfgSolution, Problem};
use mfg_rs::fp::FdmFp;
use mfg_rs::hjb::FdmHjb;

fn run(p: &Problem, settings: IterationSettings) -> MfgSolution {
    FixedPointIterator::new(settings)
        .solve(p, &mut FdmHjb::default(), &mut FdmFp::new())
        .expect("solve")
}

fn rel_l2(a: &ndarray::Array2<f64>, b: &ndarray::Array2<f64>) -> f64 {
    let num: f64 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum();
    let den: f64 = b.iter().map(|y| y * y).sum();
    (num / den).sqrt()
}

fn main() {
    let extra: Vec<String> = std::env::args().skip(1).collect();
    println!("preset | Picard its | depth | target | its | accelerated/fallback | ratio | rel L2 u | rel L2 m | ms");
    for name in ["mfg-pde-tutorial", "crowd", "lq-gaussian"] {
        let mut sets = vec![format!("preset={name}")];
        sets.extend(extra.iter().cloned());
        let config = mfg_cli::config::resolve(None, &sets).unwrap();
        let p = config.problem().unwrap();
        let base = config.settings().unwrap();
        let picard = run(&p, base.clone());
        for depth in [2, 3, 5, 8] {
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
}
