//! Measured convergence orders of the WENO5 reconstruction and the HJ-WENO derivatives.

use std::f64::consts::PI;

use weno_kernels::{reconstruct, Ghosts, HjWeno, Weights};

/// Cell averages of `f` over `n` periodic cells of `[a, b]`, padded with 2 ghosts on the left
/// and 3 on the right, by 5-point Gauss–Legendre (error ~h^10).
fn padded_averages(f: &dyn Fn(f64) -> f64, a: f64, b: f64, n: usize) -> Vec<f64> {
    const X: [f64; 5] = [
        -0.906_179_845_938_664,
        -0.538_469_310_105_683,
        0.0,
        0.538_469_310_105_683,
        0.906_179_845_938_664,
    ];
    const W: [f64; 5] = [
        0.236_926_885_056_189,
        0.478_628_670_499_366,
        0.568_888_888_888_889,
        0.478_628_670_499_366,
        0.236_926_885_056_189,
    ];
    let h = (b - a) / n as f64;
    (0..n + 5)
        .map(|j| {
            let i = (j + n - 2) % n; // cell index with periodic wrap
            let c = a + (i as f64 + 0.5) * h;
            0.5 * X.iter().zip(W).map(|(x, w)| w * f(c + 0.5 * h * x)).sum::<f64>()
        })
        .collect()
}

/// L∞ error of the reconstructed right-interface values of the `n` cells.
fn reconstruction_error(w: Weights, f: &dyn Fn(f64) -> f64, a: f64, b: f64, n: usize) -> f64 {
    let v = padded_averages(f, a, b, n);
    let mut out = vec![0.0; n + 1];
    reconstruct(w, &v, &mut out);
    let h = (b - a) / n as f64;
    (0..n)
        .map(|i| (out[i] - f(a + (i + 1) as f64 * h)).abs())
        .fold(0.0, f64::max)
}

fn orders(e: &[f64]) -> Vec<f64> {
    e.windows(2).map(|w| (w[0] / w[1]).log2()).collect()
}

#[test]
fn explore() {
    let f1 = |x: f64| (2.0 * PI * x).sin();
    let f2 = |x: f64| (PI * x - (PI * x).sin() / PI).sin();
    for w in Weights::ALL {
        for (name, f, a, b) in [("sin", &f1 as &dyn Fn(f64) -> f64, 0.0, 1.0), ("henrick", &f2, -1.0, 1.0)] {
            let e: Vec<f64> = [10, 20, 40, 80, 160, 320, 640].iter().map(|&n| reconstruction_error(w, f, a, b, n)).collect();
            eprintln!("{w:?} {name}: {:?}\n   orders {:?}", e.iter().map(|x| format!("{x:.2e}")).collect::<Vec<_>>(), orders(&e).iter().map(|x| format!("{x:.2}")).collect::<Vec<_>>());
        }
        let ehj: Vec<f64> = [10, 20, 40, 80, 160, 320].iter().map(|&n| {
            let h = 2.0 / n as f64;
            let phi: Vec<f64> = (0..n).map(|i| (PI * (-1.0 + i as f64 * h) + 1.0).sin()).collect();
            let (mut m, mut p) = (vec![0.0; n], vec![0.0; n]);
            HjWeno::new(n, w, Ghosts::Periodic).derivatives(&phi, h, &mut m, &mut p);
            (0..n).map(|i| { let ex = PI * (PI * (-1.0 + i as f64 * h) + 1.0).cos(); (m[i]-ex).abs().max((p[i]-ex).abs()) }).fold(0.0, f64::max)
        }).collect();
        eprintln!("{w:?} hj: {:?}\n   orders {:?}", ehj.iter().map(|x| format!("{x:.2e}")).collect::<Vec<_>>(), orders(&ehj).iter().map(|x| format!("{x:.2}")).collect::<Vec<_>>());
    }
}
