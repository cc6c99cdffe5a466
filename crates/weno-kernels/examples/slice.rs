//! `weno-kernels` on its own, on plain slices: WENO5 interface values of a smooth profile and
//! of a step, and the HJ-WENO one-sided derivatives of a periodic function, with their errors.
//!
//! Run with `cargo run --release -p weno-kernels --example slice`.

use weno_kernels::{reconstruct, Ghosts, HjWeno, Weights};

fn main() {
    // Cell averages of sin(2πx) on n cells of [0, 1]; `reconstruct` writes the left-biased
    // value at every interface with a full 5-cell stencil (n − 4 of them).
    for n in [40, 80, 160] {
        let h = 1.0 / n as f64;
        let two_pi = 2.0 * std::f64::consts::PI;
        let averages: Vec<f64> = (0..n)
            .map(|i| {
                ((two_pi * i as f64 * h).cos() - (two_pi * (i + 1) as f64 * h).cos()) / (two_pi * h)
            })
            .collect();
        let mut interface = vec![0.0; n - 4];
        reconstruct(Weights::Z, &averages, &mut interface);
        // Interface j sits at x = (j + 3) h.
        let err = interface
            .iter()
            .enumerate()
            .map(|(j, v)| (v - (two_pi * (j + 3) as f64 * h).sin()).abs())
            .fold(0.0, f64::max);
        println!("WENO-Z, n = {n:3}: max interface error {err:.2e}");
    }

    // A step: the weights switch off the stencils that cross it, so no overshoot.
    let step: Vec<f64> = (0..20).map(|i| if i < 10 { 0.0 } else { 1.0 }).collect();
    let mut interface = vec![0.0; 16];
    reconstruct(Weights::Js, &step, &mut interface);
    let (lo, hi) = interface
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    println!("step: interface values in [{lo:.2e}, {hi:.6}] (within [0, 1] up to round-off)");

    // HJ-WENO5 one-sided derivatives of sin(πx + 1), periodic on [−1, 1].
    let n = 64;
    let h = 2.0 / n as f64;
    let phi: Vec<f64> = (0..n)
        .map(|i| (std::f64::consts::PI * (-1.0 + i as f64 * h) + 1.0).sin())
        .collect();
    let (mut minus, mut plus) = (vec![0.0; n], vec![0.0; n]);
    HjWeno::new(n, Weights::M, Ghosts::Periodic).derivatives(&phi, h, &mut minus, &mut plus);
    let exact = |i: usize| {
        std::f64::consts::PI * (std::f64::consts::PI * (-1.0 + i as f64 * h) + 1.0).cos()
    };
    let err = (0..n)
        .map(|i| (minus[i] - exact(i)).abs().max((plus[i] - exact(i)).abs()))
        .fold(0.0, f64::max);
    println!("HJ-WENO5 (M weights), n = {n}: max derivative error {err:.2e}");
}
