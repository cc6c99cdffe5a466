//! Grid-refinement study of the finite-difference MFG solver on the problems with known
//! solutions (`mfg_test_problems`): prints errors and observed orders.
//!
//! Run with `cargo run --release --example convergence_study`.

use mfg_rs::core::{FixedPointIterator, IterationSettings, MfgSolution, Problem};
use mfg_rs::fp::FdmFp;
use mfg_rs::hjb::FdmHjb;
use mfg_test_problems::{LqGaussian, Manufactured};

fn solve(p: &Problem) -> MfgSolution {
    let settings = IterationSettings {
        tolerance: 1e-10,
        ..Default::default()
    };
    FixedPointIterator::new(settings)
        .unwrap()
        .solve(p, &mut FdmHjb::default(), &mut FdmFp::new())
        .expect("solve")
}

fn order(e: &[f64]) -> Vec<f64> {
    e.windows(2).map(|w| (w[0] / w[1]).log2()).collect()
}

fn main() {
    let lq = LqGaussian::default();
    println!("LQ Gaussian: nx, nt, |mean err|, |var err|, max u err where m > 1e-3");
    let (mut em, mut ev, mut eu) = (vec![], vec![], vec![]);
    for &(nx, nt) in &[(100, 25), (200, 50), (400, 100), (800, 200), (1600, 400)] {
        let p = lq.problem(nx, nt);
        let sol = solve(&p);
        let g = p.grid();
        let last = sol.m.row(nt);
        let w = g.weights();
        let xs: Vec<f64> = (0..g.len()).map(|i| g.point(i)[0]).collect();
        let mean: f64 = (0..g.len()).map(|i| w[i] * last[i] * xs[i]).sum();
        let var: f64 = (0..g.len())
            .map(|i| w[i] * last[i] * (xs[i] - mean).powi(2))
            .sum();
        let mut umax: f64 = 0.0;
        for k in 0..=nt {
            let t = p.time().t(k);
            for (i, &x) in xs.iter().enumerate() {
                if lq.m(t, x) > 1e-3 {
                    umax = umax.max((sol.u[[k, i]] - lq.u(t, x)).abs());
                }
            }
        }
        let (a, b) = ((mean - lq.mean(1.0)).abs(), (var - lq.variance(1.0)).abs());
        println!(
            "{nx:5} {nt:4} {a:.3e} {b:.3e} {umax:.3e}  ({} its)",
            sol.iterations()
        );
        em.push(a);
        ev.push(b);
        eu.push(umax);
    }
    println!(
        "orders mean {:?}\norders var {:?}\norders u {:?}",
        order(&em),
        order(&ev),
        order(&eu)
    );

    let mfd = Manufactured::default();
    println!("Manufactured: nx, nt, max |u - u*|, max |m - m*|");
    let (mut e_u, mut e_m) = (vec![], vec![]);
    for &(nx, nt) in &[(25, 25), (50, 50), (100, 100), (200, 200), (400, 400)] {
        let p = mfd.problem(nx, nt);
        let sol = solve(&p);
        let g = p.grid();
        let (mut a, mut b) = (0.0_f64, 0.0_f64);
        for k in 0..=nt {
            let t = p.time().t(k);
            for i in 0..g.len() {
                let x = g.point(i)[0];
                a = a.max((sol.u[[k, i]] - mfd.u(t, x)).abs());
                b = b.max((sol.m[[k, i]] - mfd.m(t, x)).abs());
            }
        }
        println!(
            "{nx:5} {nt:4} {a:.3e} {b:.3e}  ({} its, {})",
            sol.iterations(),
            sol.termination.name()
        );
        e_u.push(a);
        e_m.push(b);
    }
    println!("orders u {:?}\norders m {:?}", order(&e_u), order(&e_m));
}
