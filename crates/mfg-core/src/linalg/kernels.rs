//! Vector kernels of the Krylov methods, in a fixed order of operations: the same bits for any
//! number of rayon threads.
//!
//! A dot product sums fixed blocks of [`BLOCK`] elements (each with eight interleaved
//! accumulators, so the loop vectorises), then the block sums in block order; only the
//! distribution of blocks over threads depends on the pool. Element-wise updates are split
//! into blocks as well. Below [`PARALLEL_MIN`] elements everything runs on the calling
//! thread (a fork would cost more than it saves).

use rayon::prelude::*;

/// Elements per block of a reduction or an update.
pub const BLOCK: usize = 4096;

/// The smallest vector (and grid) whose work is split across threads. Measured on the
/// 2-core machine (`mfg-cli solve`, `iteration.threads` 2 against 1): crowd-2d at 200²
/// (40,000 points) 2.55 s on two threads against 3.6 s on one, stable over three runs each;
/// at 100² (10,000) two threads were bimodal, 656 ms or 1,070 ms from one run to the next
/// (one thread 750 ms, the kernels serial 700 ms): below 2^14 points a fork's wait for the
/// other core costs as much as its share of the work, so those grids stay serial.
pub const PARALLEL_MIN: usize = 1 << 14;

/// Scratch for the block sums of a reduction over `n` elements.
pub fn partials_for(n: usize) -> Vec<f64> {
    vec![0.0; n.div_ceil(BLOCK).max(1)]
}

/// `Σ aᵢ bᵢ` of one block, eight lanes at a time.
#[inline]
pub fn block_dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    for (k, (x, y)) in ra.iter().zip(rb).enumerate() {
        acc[k] += x * y;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

/// `Σ wᵢ aᵢ bᵢ` of one block, eight lanes at a time (the same order as [`dot`]'s blocks).
#[inline]
pub fn weighted_block_dot(w: &[f64], a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; 8];
    let (cw, ca, cb) = (w.chunks_exact(8), a.chunks_exact(8), b.chunks_exact(8));
    let (rw, ra, rb) = (cw.remainder(), ca.remainder(), cb.remainder());
    for ((v, x), y) in cw.zip(ca).zip(cb) {
        for k in 0..8 {
            acc[k] += v[k] * x[k] * y[k];
        }
    }
    for (k, ((v, x), y)) in rw.iter().zip(ra).zip(rb).enumerate() {
        acc[k] += v * x * y;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

/// `Σ aᵢ bᵢ`, with `partials` from [`partials_for`] as scratch.
///
/// # Panics
/// If the lengths differ or `partials` is too short.
pub fn dot(a: &[f64], b: &[f64], partials: &mut [f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "dot: lengths differ");
    let blocks = a.len().div_ceil(BLOCK);
    let partials = &mut partials[..blocks];
    if a.len() >= PARALLEL_MIN {
        a.par_chunks(BLOCK)
            .zip(b.par_chunks(BLOCK))
            .zip(partials.par_iter_mut())
            .for_each(|((x, y), p)| *p = block_dot(x, y));
    } else {
        for ((x, y), p) in a
            .chunks(BLOCK)
            .zip(b.chunks(BLOCK))
            .zip(partials.iter_mut())
        {
            *p = block_dot(x, y);
        }
    }
    partials.iter().sum()
}

/// `Σ aᵢ` in the fixed blocks of [`dot`] (block sums in block order: the same bits on any
/// pool), with `partials` from [`partials_for`] as scratch.
pub fn sum(a: &[f64], partials: &mut [f64]) -> f64 {
    let partials = &mut partials[..a.len().div_ceil(BLOCK)];
    if a.len() >= PARALLEL_MIN {
        a.par_chunks(BLOCK)
            .zip(partials.par_iter_mut())
            .for_each(|(x, p)| *p = x.iter().sum());
    } else {
        for (x, p) in a.chunks(BLOCK).zip(partials.iter_mut()) {
            *p = x.iter().sum();
        }
    }
    partials.iter().sum()
}

/// `f(start, block)` for every block of `out` (`start` the global index of its first element).
pub fn update<F>(out: &mut [f64], f: F)
where
    F: Fn(usize, &mut [f64]) + Sync + Send,
{
    if out.len() >= PARALLEL_MIN {
        out.par_chunks_mut(BLOCK)
            .enumerate()
            .for_each(|(b, chunk)| f(b * BLOCK, chunk));
    } else {
        f(0, out);
    }
}

/// `f(start, block)` for every block of `out`, returning one number per block; the numbers
/// are summed in block order (`partials` from [`partials_for`] as scratch): the same bits on
/// any pool.
pub fn update_sum<F>(out: &mut [f64], partials: &mut [f64], f: F) -> f64
where
    F: Fn(usize, &mut [f64]) -> f64 + Sync + Send,
{
    let partials = &mut partials[..out.len().div_ceil(BLOCK)];
    if out.len() >= PARALLEL_MIN {
        out.par_chunks_mut(BLOCK)
            .zip(partials.par_iter_mut())
            .enumerate()
            .for_each(|(b, (chunk, p))| *p = f(b * BLOCK, chunk));
    } else {
        for (b, (chunk, p)) in out.chunks_mut(BLOCK).zip(partials.iter_mut()).enumerate() {
            *p = f(b * BLOCK, chunk);
        }
    }
    partials.iter().sum()
}

/// `f(start, block)` for every block of `out`, returning numbers whose elementwise maximum
/// over the blocks is returned (a maximum does not depend on the order: the same bits on any
/// pool).
pub fn update_max<const K: usize, F>(out: &mut [f64], f: F) -> [f64; K]
where
    F: Fn(usize, &mut [f64]) -> [f64; K] + Sync + Send,
{
    let max = |a: [f64; K], b: [f64; K]| std::array::from_fn(|k| a[k].max(b[k]));
    if out.len() >= PARALLEL_MIN {
        out.par_chunks_mut(BLOCK)
            .enumerate()
            .map(|(b, chunk)| f(b * BLOCK, chunk))
            .reduce(|| [f64::NEG_INFINITY; K], max)
    } else {
        out.chunks_mut(BLOCK)
            .enumerate()
            .map(|(b, chunk)| f(b * BLOCK, chunk))
            .fold([f64::NEG_INFINITY; K], max)
    }
}

/// The largest of `f(range)` over blocks of the indices `0..n` (on the pool for large `n`).
pub fn max_over<F>(n: usize, f: F) -> f64
where
    F: Fn(std::ops::Range<usize>) -> f64 + Sync + Send,
{
    let block = |b: usize| f(b * BLOCK..((b + 1) * BLOCK).min(n));
    let blocks = n.div_ceil(BLOCK);
    if n >= PARALLEL_MIN {
        (0..blocks)
            .into_par_iter()
            .map(block)
            .reduce(|| f64::NEG_INFINITY, f64::max)
    } else {
        (0..blocks).map(block).fold(f64::NEG_INFINITY, f64::max)
    }
}

/// `f(block, part)` for every block of vectors of length `n`, returning `K` numbers per block
/// (into `partials`, at least `K` per block), summed per number in block order: the same bits
/// as [`dot`] when each number is a [`block_dot`] of the block. `f` writes its own blocks of
/// any outputs through `parts` (one item per block, e.g. zipped `par_chunks_mut`); below
/// [`PARALLEL_MIN`] elements the blocks run in order on the calling thread (no fork).
pub fn blocks_sum<const K: usize, I, F>(n: usize, parts: I, partials: &mut [f64], f: F) -> [f64; K]
where
    I: IndexedParallelIterator,
    F: Fn(usize, I::Item) -> [f64; K] + Sync + Send,
{
    let blocks = n.div_ceil(BLOCK);
    debug_assert_eq!(parts.len(), blocks);
    let partials = &mut partials[..blocks * K];
    let min_len = if n >= PARALLEL_MIN { 1 } else { usize::MAX };
    parts
        .zip(partials.par_chunks_mut(K))
        .enumerate()
        .with_min_len(min_len)
        .for_each(|(b, (part, out))| out.copy_from_slice(&f(b, part)));
    std::array::from_fn(|k| partials.iter().skip(k).step_by(K).sum())
}

/// `dst = src`, by blocks on the pool for long vectors.
///
/// # Panics
/// If the lengths differ.
pub fn copy(dst: &mut [f64], src: &[f64]) {
    assert_eq!(dst.len(), src.len(), "copy: lengths differ");
    update(dst, |i, d| d.copy_from_slice(&src[i..i + d.len()]));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_is_the_same_on_any_pool_and_close_to_the_exact_sum() {
        for n in [
            0,
            7,
            100,
            BLOCK + 3,
            5 * BLOCK + 11,
            PARALLEL_MIN + 5 * BLOCK + 11,
        ] {
            let a: Vec<f64> = (0..n).map(|i| ((i as f64) * 0.37).sin()).collect();
            let b: Vec<f64> = (0..n).map(|i| ((i as f64) * 0.11).cos()).collect();
            let mut p = partials_for(n);
            let reference: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            let one = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .unwrap();
            let three = rayon::ThreadPoolBuilder::new()
                .num_threads(3)
                .build()
                .unwrap();
            let d1 = one.install(|| dot(&a, &b, &mut p));
            let d3 = three.install(|| dot(&a, &b, &mut p));
            assert_eq!(d1.to_bits(), d3.to_bits(), "n = {n}");
            assert!(
                (d1 - reference).abs() <= 1e-12 * (n as f64).max(1.0),
                "n = {n}"
            );
        }
    }
}
