//! The modified Bessel function of the first kind, order zero.

/// The modified Bessel function `I₀(z) = Σ_k (z/2)^{2k} / (k!)²` (the series, to round-off).
pub fn bessel_i0(z: f64) -> f64 {
    let q = 0.25 * z * z;
    let (mut term, mut sum) = (1.0_f64, 1.0_f64);
    for k in 1..500 {
        term *= q / (k as f64 * k as f64);
        sum += term;
        if term < 1e-17 * sum {
            break;
        }
    }
    sum
}
