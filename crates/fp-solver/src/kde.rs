//! Kernel density estimation on a 1D grid: linear binning of samples to the grid nodes, then a
//! truncated Gaussian kernel applied to the node masses, with reflected (no-flux) or periodic
//! images, and rows normalised so the quadrature mass is conserved exactly.
//!
//! In mass variables `μ_i` (the binned mass at node `i`, `Σ μ_i = 1`) the estimate is
//!
//! ```text
//! μ'_j = Σ_i μ_i P(i → j),   P(i → j) = w_j K_h(x_j; x_i) / Σ_l w_l K_h(x_l; x_i),
//! K_h(x; y) = Σ_images exp(−(x − y')² / (2h²)),   m_j = μ'_j / w_j,
//! ```
//!
//! where the images `y'` of `y` are `y`, `2a − y`, `2b − y` at no-flux walls (so there is no
//! boundary dip) or `y ± L` when periodic, and `w` are the grid's quadrature weights. Every row
//! of `P` sums to one, so `Σ w_j m_j = Σ μ_i` to round-off, and `m ≥ 0`.

/// Bandwidth choice.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bandwidth {
    /// Silverman's rule: `0.9 min(σ̂, IQR/1.34) N^(−1/5)`.
    Silverman,
    /// Scott's rule: `1.06 σ̂ N^(−1/5)`.
    Scott,
    /// A fixed bandwidth (> 0).
    Fixed(f64),
}

impl Bandwidth {
    /// The bandwidth for `n_samples` samples of spread `std` and interquartile range `iqr`;
    /// never below `floor` (the grid spacing: a narrower kernel cannot be represented).
    pub fn select(self, n_samples: usize, std: f64, iqr: f64, floor: f64) -> f64 {
        self.select_in(1, n_samples, std, iqr, floor)
    }

    /// The bandwidth along one axis of a product kernel in `dim` dimensions, from that axis's
    /// marginal spread: the normal-reference rate `N^(−1/(dim+4))` with Scott's constant
    /// `(4/(dim+2))^(1/(dim+4))` (1.06 in 1D, 1 in 2D) and Silverman's `0.85` times it with the
    /// robust spread `min(σ̂, IQR/1.34)` (0.9 in 1D).
    pub fn select_in(self, dim: usize, n_samples: usize, std: f64, iqr: f64, floor: f64) -> f64 {
        let d = dim.max(1) as f64;
        let (factor, scott) = if dim <= 1 {
            ((n_samples.max(1) as f64).powf(-0.2), 1.06)
        } else {
            (
                (n_samples.max(1) as f64).powf(-1.0 / (d + 4.0)),
                (4.0 / (d + 2.0)).powf(1.0 / (d + 4.0)),
            )
        };
        let silverman = if dim <= 1 { 0.9 } else { 0.85 * scott };
        let h = match self {
            Bandwidth::Fixed(h) => h,
            Bandwidth::Scott => scott * std * factor,
            Bandwidth::Silverman => {
                let spread = if iqr > 0.0 { std.min(iqr / 1.34) } else { std };
                silverman * spread * factor
            }
        };
        if h.is_finite() {
            h.max(floor)
        } else {
            floor
        }
    }
}

/// The cell `i = floor(s)` (clamped to `0..=last`) of a grid offset `s ≥ 0`, and the fraction
/// `s − i`. Truncation through `i64` is floor for `s ≥ 0` and compiles to one `cvttsd2si`;
/// `f64::floor` is a libm call on baseline x86-64 and `as usize` a longer saturating sequence.
#[inline(always)]
pub fn cell(s: f64, last: usize) -> (usize, f64) {
    let i = (s as i64).clamp(0, last as i64) as usize;
    (i, s - i as f64)
}

/// Linear binning of one sample at offset `s = (x − a)/dx` into `hist` (weight 1 in total).
#[inline(always)]
pub fn bin_linear(hist: &mut [f64], s: f64, periodic: bool) {
    let n = hist.len();
    let last = if periodic { n - 1 } else { n - 2 };
    let (i, f) = cell(s, last);
    let j = if i + 1 == n { 0 } else { i + 1 };
    hist[i] += 1.0 - f;
    hist[j] += f;
}

/// The interquartile range of node masses `mu` (summing to `total`) at nodes `a + i dx`.
pub fn iqr_of_masses(mu: &[f64], a: f64, dx: f64) -> f64 {
    let total: f64 = mu.iter().sum();
    let quantile = |q: f64| {
        let target = q * total;
        let mut acc = 0.0;
        for (i, m) in mu.iter().enumerate() {
            if acc + m >= target && *m > 0.0 {
                let f = (target - acc) / m;
                return a + (i as f64 - 0.5 + f) * dx;
            }
            acc += m;
        }
        a + (mu.len() as f64 - 1.0) * dx
    };
    quantile(0.75) - quantile(0.25)
}

/// The smoothing step, with its kernel table sized once.
#[derive(Debug, Clone)]
pub struct GridKde {
    n: usize,
    dx: f64,
    periodic: bool,
    weights: Vec<f64>,
    table: Vec<f64>,
    row: Vec<f64>,
}

impl GridKde {
    /// For a grid of `n` nodes, spacing `dx`, quadrature `weights`.
    pub fn new(weights: &[f64], dx: f64, periodic: bool) -> Self {
        let n = weights.len();
        Self {
            n,
            dx,
            periodic,
            weights: weights.to_vec(),
            table: vec![0.0; 2 * n + 1],
            row: vec![0.0; 2 * n + 1],
        }
    }

    /// Smooth the node masses `mu` with bandwidth `h` into the density `m` (see the module docs).
    pub fn smooth(&mut self, mu: &[f64], h: f64, m: &mut [f64]) {
        let n = self.n;
        assert!(
            mu.len() == n && m.len() == n,
            "GridKde::smooth: wrong lengths"
        );
        // Kernel values by distance in grid steps, truncated at 5 h.
        let reach = ((5.0 * h / self.dx).ceil() as usize).min(2 * n);
        let c = self.dx * self.dx / (2.0 * h * h);
        for (d, t) in self.table.iter_mut().enumerate() {
            *t = if d <= reach {
                (-((d * d) as f64) * c).exp()
            } else {
                0.0
            };
        }
        m.iter_mut().for_each(|v| *v = 0.0);
        let s = reach.min(n);
        for (i, &mass) in mu.iter().enumerate() {
            if mass == 0.0 {
                continue;
            }
            if self.periodic && 2 * s + 1 < n {
                // Offsets −s..=s around i, wrapped.
                let mut z = 0.0;
                for off in 0..=2 * s {
                    let j = (i + n + off - s) % n;
                    let v = self.weights[j] * self.kernel(i, j);
                    self.row[off] = v;
                    z += v;
                }
                let scale = mass / z;
                for off in 0..=2 * s {
                    m[(i + n + off - s) % n] += scale * self.row[off];
                }
                continue;
            }
            let (lo, hi) = if self.periodic {
                (0, n)
            } else {
                (i.saturating_sub(s), (i + s + 1).min(n))
            };
            let mut z = 0.0;
            for j in lo..hi {
                let v = self.weights[j] * self.kernel(i, j);
                self.row[j] = v;
                z += v;
            }
            let scale = mass / z;
            for (mj, r) in m[lo..hi].iter_mut().zip(&self.row[lo..hi]) {
                *mj += scale * r;
            }
        }
        for (mj, w) in m.iter_mut().zip(&self.weights) {
            *mj /= w;
        }
    }

    /// `K_h(x_j; x_i)` with its images, from the table.
    #[inline]
    fn kernel(&self, i: usize, j: usize) -> f64 {
        let n = self.n;
        let t = &self.table;
        if self.periodic {
            let d = i.abs_diff(j);
            t[d] + t[n - d] + if d == 0 { t[n] } else { 0.0 }
        } else {
            // Images at 2a − x_i (distance (i + j) dx) and 2b − x_i (distance (2(n−1) − i − j) dx).
            t[i.abs_diff(j)] + t[i + j] + t[2 * (n - 1) - i - j]
        }
    }
}

/// The direct estimate `m_j = (1/N) Σ_p K_h(x_j; X_p)` normalised to unit quadrature mass, with
/// the same images: O(N n), for comparison with binning in the benchmark and the tests.
pub fn direct_kde(
    samples: &[f64],
    a: f64,
    dx: f64,
    weights: &[f64],
    periodic: bool,
    h: f64,
    m: &mut [f64],
) {
    let n = weights.len();
    let len = if periodic {
        n as f64 * dx
    } else {
        (n - 1) as f64 * dx
    };
    let b = a + len;
    let c = 1.0 / (2.0 * h * h);
    for (j, mj) in m.iter_mut().enumerate() {
        let x = a + j as f64 * dx;
        let mut s = 0.0;
        for &y in samples {
            let images: [f64; 3] = if periodic {
                [y, y - len, y + len]
            } else {
                [y, 2.0 * a - y, 2.0 * b - y]
            };
            for yi in images {
                s += (-(x - yi) * (x - yi) * c).exp();
            }
        }
        *mj = s;
    }
    let mass: f64 = m.iter().zip(weights).map(|(v, w)| v * w).sum();
    m.iter_mut().for_each(|v| *v /= mass);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trapezoid(n: usize, dx: f64) -> Vec<f64> {
        let mut w = vec![dx; n];
        w[0] *= 0.5;
        w[n - 1] *= 0.5;
        w
    }

    #[test]
    fn smoothing_conserves_mass_exactly_and_stays_non_negative() {
        for periodic in [false, true] {
            let n = 51;
            let dx = 0.02;
            let w = if periodic {
                vec![dx; n]
            } else {
                trapezoid(n, dx)
            };
            let mut mu = vec![0.0; n];
            for (i, v) in mu.iter_mut().enumerate() {
                *v = ((i * 7) % 5) as f64;
            }
            let total: f64 = mu.iter().sum();
            mu.iter_mut().for_each(|v| *v /= total);
            let mut kde = GridKde::new(&w, dx, periodic);
            let mut m = vec![0.0; n];
            for h in [0.01, 0.05, 0.3, 2.0] {
                kde.smooth(&mu, h, &mut m);
                let mass: f64 = m.iter().zip(&w).map(|(a, b)| a * b).sum();
                assert!(
                    (mass - 1.0).abs() < 1e-13,
                    "periodic {periodic}, h {h}: {mass}"
                );
                assert!(m.iter().all(|&v| v >= 0.0));
            }
        }
    }

    #[test]
    fn bandwidth_rules() {
        // Scott for N = 10^5, σ = 1: 1.06 · 10^-1.
        assert!((Bandwidth::Scott.select(100_000, 1.0, 1.349, 0.0) - 0.106).abs() < 1e-12);
        assert!((Bandwidth::Silverman.select(100_000, 1.0, 1.349, 0.0) - 0.09).abs() < 1e-3);
        assert_eq!(Bandwidth::Fixed(0.3).select(10, 1.0, 1.0, 0.01), 0.3);
        assert_eq!(Bandwidth::Fixed(0.001).select(10, 1.0, 1.0, 0.01), 0.01);
    }

    #[test]
    fn linear_binning_splits_the_unit_weight() {
        let mut h = vec![0.0; 4];
        bin_linear(&mut h, 1.25, false);
        assert_eq!(h, vec![0.0, 0.75, 0.25, 0.0]);
        bin_linear(&mut h, 3.0, false); // the right wall
        assert_eq!(h[3], 1.0);
        let mut p = vec![0.0; 4];
        bin_linear(&mut p, 3.5, true); // wraps to node 0
        assert_eq!(p, vec![0.5, 0.0, 0.0, 0.5]);
    }
}
