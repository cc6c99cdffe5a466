//! A parameter sweep with warm starts (`FixedPointIterator::run(..).initial_guess(..)`): every solve of the
//! sweep starts from the density of the previous one; each is compared with a cold solve (from
//! `m0` on every level) of the same problem: iterations, time, and the relative L2 difference
//! of the two densities (a large one means the two starts found different equilibria, which
//! attractive couplings allow).
//!
//! ```text
//! cargo run --release --example continuation -- [PRESET KEY VALUE1 VALUE2 ...]
//! ```
//!
//! Default: `crowd model.coupling_strength 0.1 0.2 0.3 0.4 0.5`; Anderson depth 5 throughout.

use std::time::Instant;

use mfg_rs::core::{FixedPointIterator, MfgSolution};
use mfg_rs::fp::FdmFp;
use mfg_rs::hjb::FdmHjb;

fn rel_l2(a: &ndarray::Array2<f64>, b: &ndarray::Array2<f64>) -> f64 {
    let num: f64 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum();
    let den: f64 = b.iter().map(|y| y * y).sum();
    (num / den).sqrt()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (preset, key, values) = if args.len() >= 3 {
        (args[0].clone(), args[1].clone(), args[2..].to_vec())
    } else {
        let v = ["0.1", "0.2", "0.3", "0.4", "0.5"];
        (
            "crowd".to_string(),
            "model.coupling_strength".to_string(),
            v.iter().map(|s| s.to_string()).collect(),
        )
    };
    println!("{preset}, sweeping {key} (Anderson depth 5, tolerance from the preset)");
    println!("value | cold: its, ms | warm: its, ms | rel. L2 difference of m");
    let (mut cold_its, mut warm_its, mut cold_s, mut warm_s) = (0, 0, 0.0, 0.0);
    let mut previous: Option<MfgSolution> = None;
    for value in &values {
        let sets = [
            format!("preset={preset}"),
            format!("{key}={value}"),
            "iteration.anderson_depth=5".to_string(),
        ];
        let config = mfg_cli::config::resolve(None, &sets).expect("config");
        let p = config.problem().expect("problem");
        let it = FixedPointIterator::new(config.settings().expect("settings")).unwrap();

        let t = Instant::now();
        let cold = it
            .solve(&p, &mut FdmHjb::default(), &mut FdmFp::new())
            .expect("cold solve");
        let t_cold = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let warm = match &previous {
            None => cold.clone(),
            Some(prev) => it
                .run(&p, &mut FdmHjb::default(), &mut FdmFp::new())
                .initial_guess(prev.m.view())
                .solve()
                .expect("warm solve"),
        };
        let t_warm = if previous.is_none() {
            t_cold
        } else {
            t.elapsed().as_secs_f64()
        };
        println!(
            "{value} | {} ({}), {:.1} | {} ({}), {:.1} | {:.1e}",
            cold.iterations(),
            cold.termination.name(),
            1e3 * t_cold,
            warm.iterations(),
            warm.termination.name(),
            1e3 * t_warm,
            rel_l2(&warm.m, &cold.m)
        );
        cold_its += cold.iterations();
        warm_its += warm.iterations();
        cold_s += t_cold;
        warm_s += t_warm;
        previous = Some(warm);
    }
    println!(
        "sweep total: cold {cold_its} iterations, {:.1} ms; warm {warm_its} iterations, {:.1} ms",
        1e3 * cold_s,
        1e3 * warm_s
    );
}
