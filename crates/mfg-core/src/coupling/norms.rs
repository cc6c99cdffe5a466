//! The iteration's norms: quadrature-weighted L2 distances over space–time, summed in a
//! fixed order (the same bits on any number of threads).

use ndarray::Array2;
use rayon::prelude::*;

use crate::linalg;

/// `‖a − b‖` in the quadrature-weighted L2 norm of flat vectors (weights repeat per level).
pub(super) fn weighted_distance(a: &[f64], b: &[f64], weights: &[f64]) -> f64 {
    level_sums(a, b, weights, |w, x, y| [w * (x - y) * (x - y), 0.0])[0].sqrt()
}

/// `‖a − b‖ / ‖a‖` and `‖a − b‖` in the quadrature-weighted L2 norm over all levels (the
/// uniform `dt` cancels in the first; the second is [`weighted_distance`]'s, the same bits).
pub(super) fn change(a: &Array2<f64>, b: &Array2<f64>, weights: &[f64]) -> (f64, f64) {
    let (a, b) = (
        a.as_slice().expect("standard layout"),
        b.as_slice().expect("standard layout"),
    );
    let [num, den] = level_sums(a, b, weights, |w, x, y| [w * (x - y) * (x - y), w * x * x]);
    let relative = if den == 0.0 {
        if num == 0.0 {
            0.0
        } else {
            f64::INFINITY
        }
    } else {
        (num / den).sqrt()
    };
    (relative, num.sqrt())
}

/// Two sums of `term(w, a, b)` over flat space–time vectors (the weights repeat per level):
/// each level with eight interleaved accumulators, the levels (on the pool for long vectors)
/// added in level order, so the result does not depend on the number of threads.
fn level_sums<F>(a: &[f64], b: &[f64], weights: &[f64], term: F) -> [f64; 2]
where
    F: Fn(f64, f64, f64) -> [f64; 2] + Sync,
{
    let n = weights.len();
    let level = |(ra, rb): (&[f64], &[f64])| {
        let mut acc = [[0.0_f64; 8]; 2];
        let (ca, cb, cw) = (
            ra.chunks_exact(8),
            rb.chunks_exact(8),
            weights.chunks_exact(8),
        );
        let tail = ca
            .remainder()
            .iter()
            .zip(cb.remainder())
            .zip(cw.remainder());
        for ((x, y), w) in ca.zip(cb).zip(cw) {
            for k in 0..8 {
                let t = term(w[k], x[k], y[k]);
                acc[0][k] += t[0];
                acc[1][k] += t[1];
            }
        }
        for (k, ((x, y), w)) in tail.enumerate() {
            let t = term(*w, *x, *y);
            acc[0][k] += t[0];
            acc[1][k] += t[1];
        }
        [acc[0].iter().sum(), acc[1].iter().sum()]
    };
    let rows = a.chunks_exact(n).zip(b.chunks_exact(n));
    // Levels on the pool when each is a block's worth of work.
    let sums: Vec<[f64; 2]> =
        if a.len() >= linalg::kernels::PARALLEL_MIN && n >= linalg::kernels::BLOCK {
            a.par_chunks_exact(n)
                .zip(b.par_chunks_exact(n))
                .map(level)
                .collect()
        } else {
            rows.map(level).collect()
        };
    sums.iter()
        .fold([0.0, 0.0], |s, t| [s[0] + t[0], s[1] + t[1]])
}
