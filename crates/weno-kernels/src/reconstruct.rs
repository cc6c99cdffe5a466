//! WENO5 reconstruction: the per-stencil pieces and the whole-slice functions.

/// Which nonlinear weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Weights {
    /// Jiang–Shu (1996): `α_k = d_k / (ε + β_k)²`, ε = 1e-6.
    Js,
    /// Borges et al. (2008): `α_k = d_k (1 + τ5 / (β_k + ε))`, `τ5 = |β0 − β2|`, ε = 1e-40.
    Z,
    /// Henrick et al. (2005): the JS weights mapped by `g_k(ω)`, then renormalised.
    M,
}

impl Weights {
    /// All three, for loops in tests and benches.
    pub const ALL: [Weights; 3] = [Weights::Js, Weights::Z, Weights::M];

    /// The name used in configs and benches (`js`, `z`, `m`).
    pub fn name(self) -> &'static str {
        match self {
            Weights::Js => "js",
            Weights::Z => "z",
            Weights::M => "m",
        }
    }
}

/// ε of WENO5-JS.
pub const EPS_JS: f64 = 1e-6;
/// ε of WENO-Z.
pub const EPS_Z: f64 = 1e-40;
/// The linear (optimal) weights `d0, d1, d2`.
pub const LINEAR_WEIGHTS: [f64; 3] = [0.1, 0.6, 0.3];

/// The three third-order candidates `q0, q1, q2` for `v_{i+1/2}` from `v_{i−2..=i+2}`.
#[inline(always)]
pub fn candidates(a: f64, b: f64, c: f64, d: f64, e: f64) -> [f64; 3] {
    const S: f64 = 1.0 / 6.0;
    [
        S * (2.0 * a - 7.0 * b + 11.0 * c),
        S * (-b + 5.0 * c + 2.0 * d),
        S * (2.0 * c + 5.0 * d - e),
    ]
}

/// The Jiang–Shu smoothness indicators `β0, β1, β2`.
#[inline(always)]
pub fn smoothness(a: f64, b: f64, c: f64, d: f64, e: f64) -> [f64; 3] {
    const K: f64 = 13.0 / 12.0;
    let t0 = a - 2.0 * b + c;
    let s0 = a - 4.0 * b + 3.0 * c;
    let t1 = b - 2.0 * c + d;
    let s1 = b - d;
    let t2 = c - 2.0 * d + e;
    let s2 = 3.0 * c - 4.0 * d + e;
    [
        K * t0 * t0 + 0.25 * s0 * s0,
        K * t1 * t1 + 0.25 * s1 * s1,
        K * t2 * t2 + 0.25 * s2 * s2,
    ]
}

/// Normalised nonlinear weights `ω0, ω1, ω2` from the smoothness indicators.
#[inline(always)]
pub fn nonlinear_weights(w: Weights, beta: [f64; 3]) -> [f64; 3] {
    match w {
        Weights::Js => js_weights(beta),
        Weights::Z => z_weights(beta),
        Weights::M => m_weights(beta),
    }
}

// Three separate, non-recursive functions: a recursive one (M calling JS through the
// dispatcher) cannot be inlined, and the call then costs more than the arithmetic.
#[inline(always)]
fn js_weights(beta: [f64; 3]) -> [f64; 3] {
    let [d0, d1, d2] = LINEAR_WEIGHTS;
    // α_k = d_k / s_k with s_k = (ε + β_k)²; multiplying all three by s0 s1 s2 leaves the
    // normalised weights unchanged and needs one division instead of four.
    let s0 = (EPS_JS + beta[0]) * (EPS_JS + beta[0]);
    let s1 = (EPS_JS + beta[1]) * (EPS_JS + beta[1]);
    let s2 = (EPS_JS + beta[2]) * (EPS_JS + beta[2]);
    let a0 = d0 * s1 * s2;
    let a1 = d1 * s0 * s2;
    let a2 = d2 * s0 * s1;
    let s = 1.0 / (a0 + a1 + a2);
    [a0 * s, a1 * s, a2 * s]
}

#[inline(always)]
fn z_weights(beta: [f64; 3]) -> [f64; 3] {
    let [d0, d1, d2] = LINEAR_WEIGHTS;
    // α_k = d_k (β_k + ε + τ) / (β_k + ε), over the common denominator Π (β_j + ε).
    let tau = (beta[0] - beta[2]).abs();
    let (e0, e1, e2) = (beta[0] + EPS_Z, beta[1] + EPS_Z, beta[2] + EPS_Z);
    let a0 = d0 * (e0 + tau) * e1 * e2;
    let a1 = d1 * (e1 + tau) * e0 * e2;
    let a2 = d2 * (e2 + tau) * e0 * e1;
    let s = 1.0 / (a0 + a1 + a2);
    [a0 * s, a1 * s, a2 * s]
}

#[inline(always)]
fn m_weights(beta: [f64; 3]) -> [f64; 3] {
    let [d0, d1, d2] = LINEAR_WEIGHTS;
    let [w0, w1, w2] = js_weights(beta);
    let g0 = henrick(w0, d0);
    let g1 = henrick(w1, d1);
    let g2 = henrick(w2, d2);
    let s = 1.0 / (g0 + g1 + g2);
    [g0 * s, g1 * s, g2 * s]
}

/// Henrick's mapping `g(ω) = ω (d + d² − 3 d ω + ω²) / (d² + ω (1 − 2d))`: `g(d) = d`,
/// `g'(d) = g''(d) = 0`.
#[inline(always)]
pub fn henrick(w: f64, d: f64) -> f64 {
    w * (d + d * d - 3.0 * d * w + w * w) / (d * d + w * (1.0 - 2.0 * d))
}

/// One WENO5 reconstruction of `v_{i+1/2}` (left-biased) from `v_{i−2..=i+2}`.
#[inline(always)]
pub fn weno5(w: Weights, a: f64, b: f64, c: f64, d: f64, e: f64) -> f64 {
    let q = candidates(a, b, c, d, e);
    let om = nonlinear_weights(w, smoothness(a, b, c, d, e));
    om[0] * q[0] + om[1] * q[1] + om[2] * q[2]
}

/// Reconstruct over a whole slice: `out[j] = weno5(v[j..j + 5])`, the value at the interface
/// between `v[j + 2]` and `v[j + 3]` (left-biased). `out.len()` must be `v.len() − 4`.
///
/// One fused pass, monomorphised per weight kind, with no allocation: the API for loops.
pub fn reconstruct(w: Weights, v: &[f64], out: &mut [f64]) {
    match w {
        Weights::Js => reconstruct_fused::<0>(v, out),
        Weights::Z => reconstruct_fused::<1>(v, out),
        Weights::M => reconstruct_fused::<2>(v, out),
    }
}

const fn kind(k: u8) -> Weights {
    match k {
        0 => Weights::Js,
        1 => Weights::Z,
        _ => Weights::M,
    }
}

#[inline(always)]
fn reconstruct_fused<const K: u8>(v: &[f64], out: &mut [f64]) {
    assert_eq!(
        out.len() + 4,
        v.len(),
        "reconstruct: out.len() must be v.len() - 4"
    );
    let n = out.len();
    let (a, b, c, d, e) = (
        &v[..n],
        &v[1..n + 1],
        &v[2..n + 2],
        &v[3..n + 3],
        &v[4..n + 4],
    );
    // Zipped iterators: no bounds checks in the loop.
    for (o, ((((a, b), c), d), e)) in out.iter_mut().zip(a.iter().zip(b).zip(c).zip(d).zip(e)) {
        *o = weno5(kind(K), *a, *b, *c, *d, *e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    #[test]
    fn weights_sum_to_one_and_are_linear_on_smooth_data() {
        for w in Weights::ALL {
            let om = nonlinear_weights(w, smoothness(1.0, 2.0, 3.0, 4.0, 5.0));
            assert!((om.iter().sum::<f64>() - 1.0).abs() < 1e-15);
            // Linear data: β equal, the weights are the linear ones.
            for (o, d) in om.iter().zip(LINEAR_WEIGHTS) {
                assert!((o - d).abs() < 1e-12, "{w:?}: {om:?}");
            }
        }
    }

    #[test]
    fn quadratics_are_reconstructed_exactly_from_cell_averages() {
        // Cell averages of x² on unit cells centred at i: i² + 1/12; the interface value at
        // i + 1/2 is (i + 1/2)². Every candidate is exact for quadratics.
        for w in Weights::ALL {
            let avg = |i: f64| i * i + 1.0 / 12.0;
            let r = weno5(w, avg(-2.0), avg(-1.0), avg(0.0), avg(1.0), avg(2.0));
            assert!((r - 0.25).abs() < 1e-12, "{w:?}: {r}");
        }
    }

    #[test]
    fn a_discontinuity_gets_the_smooth_side_stencil() {
        // Step between c and d: the left-biased value must stay at the left state (no overshoot).
        for w in Weights::ALL {
            let r = weno5(w, 1.0, 1.0, 1.0, 0.0, 0.0);
            assert!((r - 1.0).abs() < 1e-5, "{w:?}: {r}");
            let om = nonlinear_weights(w, smoothness(1.0, 1.0, 1.0, 0.0, 0.0));
            assert!(om[0] > 0.99, "{w:?}: {om:?}");
        }
    }

    #[test]
    fn henrick_mapping_fixes_the_linear_weight() {
        for d in LINEAR_WEIGHTS {
            assert!((henrick(d, d) - d).abs() < 1e-15);
            let h = 1e-4;
            let slope = (henrick(d + h, d) - henrick(d - h, d)) / (2.0 * h);
            assert!(slope.abs() < 1e-6, "g'(d) = {slope}");
        }
    }

    #[test]
    fn slice_forms_agree_with_the_stencil_form() {
        let v: Vec<f64> = (0..40)
            .map(|i| (0.3 * i as f64).sin() + (i % 7) as f64 * 0.1)
            .collect();
        let mut out = vec![0.0; 36];
        for w in Weights::ALL {
            reconstruct(w, &v, &mut out);
            for j in 0..36 {
                let r = weno5(w, v[j], v[j + 1], v[j + 2], v[j + 3], v[j + 4]);
                assert_eq!(out[j], r);
            }
        }
        let _ = PI;
    }
}
