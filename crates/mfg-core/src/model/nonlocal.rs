//! Nonlocal couplings `F[m](x) = c ∫ K(x − y) m(y) dy`, evaluated by FFT.
//!
//! On the grid, with the quadrature weights `w_j` of [`Grid::weights`],
//!
//! ```text
//! F_i = c Σ_j K(x_i − x_j) w_j m_j
//! ```
//!
//! a discrete convolution: circulant on a periodic grid (the displacement `x_i − x_j` taken to
//! its nearest periodic image on every periodic axis, so that the sum is exactly a cyclic
//! convolution), Toeplitz on a walled one (no interaction through the walls; embedded in a
//! cyclic convolution of twice the length, zero-padded). Both are computed exactly (to
//! round-off) by FFTs along every axis: `O(N log N)` per time level, against `O(N²)` for the
//! sum. The kernel's transform is computed once per grid; the FFT plans and buffers live in the
//! coupling, allocated on the first call for a grid and reused after.
//!
//! The derivative `∂F/∂m · v = c K ∗ (w v)` is the same convolution
//! ([`RunningCost::derivative_into`]): Newton on the coupled system applies it in its products.
//!
//! ```
//! use mfg_core::{Boundary, Grid, Nonlocal, RunningCost};
//!
//! let grid = Grid::line(0.0, 1.0, 64, Boundary::Periodic).unwrap();
//! let gauss = Nonlocal::gaussian(2.0, 0.05).unwrap();
//! // Against the uniform density the convolution is c ∫ K = c (the kernel has unit mass).
//! let mut f = vec![0.0; grid.len()];
//! gauss.add_into(&grid, 0.0, &vec![1.0; grid.len()], &mut f);
//! assert!(f.iter().all(|v| (v - 2.0).abs() < 1e-9));
//! ```

use std::f64::consts::PI;
use std::fmt;
use std::sync::{Arc, Mutex};

use rustfft::num_complex::Complex64;
use rustfft::{Fft, FftPlanner};

use crate::error::ProblemError;
use crate::grid::{Boundary, Grid, MAX_DIM};
use crate::model::RunningCost;

/// `F[m] = c K ∗ m` with the normalised Gaussian kernel
/// `K(z) = exp(−|z|²/(2 w²)) / (2π w²)^{d/2}` of width `w` (unit mass in `R^d`).
pub struct Nonlocal {
    strength: f64,
    width: f64,
    work: Mutex<Option<Work>>,
}

impl fmt::Debug for Nonlocal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Nonlocal")
            .field("strength", &self.strength)
            .field("width", &self.width)
            .finish()
    }
}

impl Clone for Nonlocal {
    fn clone(&self) -> Self {
        Self {
            strength: self.strength,
            width: self.width,
            work: Mutex::new(None),
        }
    }
}

impl Nonlocal {
    /// The Gaussian kernel of width `w > 0` with strength `c` (finite; `c > 0` is aversion), or
    /// an error naming the parameter.
    pub fn gaussian(strength: f64, width: f64) -> Result<Self, ProblemError> {
        if !strength.is_finite() {
            return Err(ProblemError::InvalidParameter {
                field: "coupling strength",
                value: strength,
                hint: "the coupling strength must be finite",
            });
        }
        if !(width.is_finite() && width > 0.0) {
            return Err(ProblemError::InvalidParameter {
                field: "coupling_width",
                value: width,
                hint: "the width of the Gaussian kernel must be finite and > 0 (a length, as x)",
            });
        }
        Ok(Self {
            strength,
            width,
            work: Mutex::new(None),
        })
    }

    /// `c`.
    pub fn strength(&self) -> f64 {
        self.strength
    }

    /// `w`.
    pub fn width(&self) -> f64 {
        self.width
    }

    /// `K(z)` in `z.len()` dimensions.
    pub fn kernel(&self, z: &[f64]) -> f64 {
        let w2 = self.width * self.width;
        let r2: f64 = z.iter().map(|v| v * v).sum();
        (-0.5 * r2 / w2).exp() / (2.0 * PI * w2).powf(0.5 * z.len() as f64)
    }

    /// `out_i = c Σ_j K(x_i − x_j) w_j v_j` (nearest periodic images on periodic axes) by the
    /// double sum, `O(N²)`: the reference the FFT is tested against.
    pub fn convolve_direct(&self, grid: &Grid, v: &[f64], out: &mut [f64]) {
        let dim = grid.dim();
        let mut z = [0.0; MAX_DIM];
        for (i, o) in out.iter_mut().enumerate() {
            let xi = grid.point(i);
            let mut sum = 0.0;
            for (j, (vj, wj)) in v.iter().zip(grid.weights()).enumerate() {
                let xj = grid.point(j);
                for d in 0..dim {
                    z[d] = displacement(grid, d, xi[d] - xj[d]);
                }
                sum += self.kernel(&z[..dim]) * wj * vj;
            }
            *o = self.strength * sum;
        }
    }

    /// `out_i (+)= c (K ∗ (w v))_i` by FFT (`add`: accumulate into `out`).
    fn convolve(&self, grid: &Grid, v: &[f64], out: &mut [f64], add: bool) {
        let mut guard = self.work.lock().unwrap_or_else(|e| e.into_inner());
        if !guard.as_ref().is_some_and(|w| w.fits(grid)) {
            *guard = Some(Work::new(self, grid));
        }
        let w = guard.as_mut().expect("just built");
        w.convolve(grid, v, out, self.strength, add);
    }
}

/// `z` along axis `d`, moved to its nearest periodic image on a periodic axis.
fn displacement(grid: &Grid, d: usize, z: f64) -> f64 {
    let axis = grid.axis(d);
    if axis.boundary() == Boundary::Periodic {
        let l = axis.hi() - axis.lo();
        z - l * (z / l).round()
    } else {
        z
    }
}

impl RunningCost for Nonlocal {
    fn name(&self) -> &'static str {
        "nonlocal"
    }

    fn parameters(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("coupling_strength", self.strength),
            ("coupling_width", self.width),
        ]
    }

    /// Not a function of `m(x)`: the solvers call [`RunningCost::add_into`]. This is the
    /// local part `c K(0) w m` a point contributes to itself, for reports only.
    fn value(&self, _t: f64, x: &[f64], m: f64) -> f64 {
        let zero = [0.0; MAX_DIM];
        self.strength * self.kernel(&zero[..x.len()]) * m
    }

    /// See [`Nonlocal::value`]; the solvers call [`RunningCost::derivative_into`].
    fn dm(&self, _t: f64, x: &[f64], _m: f64) -> f64 {
        let zero = [0.0; MAX_DIM];
        self.strength * self.kernel(&zero[..x.len()])
    }

    fn is_local(&self) -> bool {
        false
    }

    fn add_into(&self, grid: &Grid, _t: f64, m: &[f64], out: &mut [f64]) {
        self.convolve(grid, m, out, true);
    }

    fn derivative_into(&self, grid: &Grid, _t: f64, _m: &[f64], v: &[f64], out: &mut [f64]) {
        self.convolve(grid, v, out, false);
    }
}

/// The FFT plans, the kernel's transform and the buffers of one grid.
struct Work {
    /// Grid points per axis.
    shape: Vec<usize>,
    /// Spacing and periodicity per axis (the key of the kernel).
    axes: Vec<(f64, bool)>,
    /// FFT length per axis: the points (periodic), the first 5-smooth length from `2 len − 1`
    /// (walled).
    padded: Vec<usize>,
    forward: Vec<Arc<dyn Fft<f64>>>,
    inverse: Vec<Arc<dyn Fft<f64>>>,
    /// `FFT(K)` on the padded array, divided by its length (the inverse's normalisation).
    kernel_hat: Vec<Complex64>,
    data: Vec<Complex64>,
    line: Vec<Complex64>,
    scratch: Vec<Complex64>,
}

impl Work {
    fn new(coupling: &Nonlocal, grid: &Grid) -> Self {
        let dim = grid.dim();
        let shape = grid.shape();
        let axes: Vec<(f64, bool)> = grid
            .axes()
            .iter()
            .map(|a| (a.dx(), a.boundary() == Boundary::Periodic))
            .collect();
        let padded: Vec<usize> = shape
            .iter()
            .zip(&axes)
            .map(|(&n, &(_, periodic))| if periodic { n } else { fast_length(2 * n - 1) })
            .collect();
        let mut planner = FftPlanner::new();
        let forward: Vec<_> = padded
            .iter()
            .map(|&p| planner.plan_fft_forward(p))
            .collect();
        let inverse: Vec<_> = padded
            .iter()
            .map(|&p| planner.plan_fft_inverse(p))
            .collect();
        let total: usize = padded.iter().product();
        let longest = padded.iter().copied().max().unwrap_or(1);
        let scratch_len = forward
            .iter()
            .chain(&inverse)
            .map(|f| f.get_inplace_scratch_len())
            .max()
            .unwrap_or(0);
        let mut w = Self {
            shape,
            axes,
            padded,
            forward,
            inverse,
            kernel_hat: vec![Complex64::new(0.0, 0.0); total],
            data: vec![Complex64::new(0.0, 0.0); total],
            line: vec![Complex64::new(0.0, 0.0); longest],
            scratch: vec![Complex64::new(0.0, 0.0); scratch_len],
        };
        // K at every padded index: displacement j dx for j < P/2, (j − P) dx above (the
        // negative displacements of the cyclic embedding; with P ≥ 2 len − 1 every
        // displacement between two grid points, −(len − 1) … len − 1, has its own index).
        let mut idx = [0usize; MAX_DIM];
        let mut z = [0.0; MAX_DIM];
        let scale = 1.0 / total as f64;
        for (flat, k) in w.kernel_hat.iter_mut().enumerate() {
            unflatten(flat, &w.padded, &mut idx[..dim]);
            for d in 0..dim {
                let (p, j) = (w.padded[d] as isize, idx[d] as isize);
                let j = if 2 * j < p { j } else { j - p };
                z[d] = j as f64 * w.axes[d].0;
            }
            *k = Complex64::new(coupling.kernel(&z[..dim]) * scale, 0.0);
        }
        let mut kernel = std::mem::take(&mut w.kernel_hat);
        w.transform(&mut kernel, true);
        w.kernel_hat = kernel;
        w
    }

    fn fits(&self, grid: &Grid) -> bool {
        self.shape == grid.shape()
            && grid
                .axes()
                .iter()
                .zip(&self.axes)
                .all(|(a, &(dx, p))| a.dx() == dx && (a.boundary() == Boundary::Periodic) == p)
    }

    /// The multi-dimensional FFT of `data` (on the padded shape), axis by axis.
    fn transform(&mut self, data: &mut [Complex64], forward: bool) {
        let dim = self.padded.len();
        for d in 0..dim {
            let p = self.padded[d];
            let stride: usize = self.padded[d + 1..].iter().product();
            let outer: usize = self.padded[..d].iter().product();
            let fft = if forward {
                &self.forward[d]
            } else {
                &self.inverse[d]
            };
            let line = &mut self.line[..p];
            for o in 0..outer {
                for s in 0..stride {
                    let base = o * p * stride + s;
                    for (j, l) in line.iter_mut().enumerate() {
                        *l = data[base + j * stride];
                    }
                    fft.process_with_scratch(line, &mut self.scratch);
                    for (j, l) in line.iter().enumerate() {
                        data[base + j * stride] = *l;
                    }
                }
            }
        }
    }

    fn convolve(&mut self, grid: &Grid, v: &[f64], out: &mut [f64], strength: f64, add: bool) {
        let dim = self.shape.len();
        let mut data = std::mem::take(&mut self.data);
        data.iter_mut().for_each(|c| *c = Complex64::new(0.0, 0.0));
        let mut idx = [0usize; MAX_DIM];
        for (i, (vi, wi)) in v.iter().zip(grid.weights()).enumerate() {
            unflatten(i, &self.shape, &mut idx[..dim]);
            data[flatten(&idx[..dim], &self.padded)] = Complex64::new(wi * vi, 0.0);
        }
        self.transform(&mut data, true);
        for (a, k) in data.iter_mut().zip(&self.kernel_hat) {
            *a *= k;
        }
        self.transform(&mut data, false);
        for (i, o) in out.iter_mut().enumerate() {
            unflatten(i, &self.shape, &mut idx[..dim]);
            let c = strength * data[flatten(&idx[..dim], &self.padded)].re;
            if add {
                *o += c;
            } else {
                *o = c;
            }
        }
        self.data = data;
    }
}

/// The smallest `2^a 3^b 5^c ≥ n`: a length the FFT factors into small radices (a padded
/// length with a large prime factor, such as 514 = 2 · 257, measured 2–3× slower per point).
fn fast_length(n: usize) -> usize {
    (n..)
        .find(|&k| {
            let mut k = k;
            for p in [2, 3, 5] {
                while k % p == 0 {
                    k /= p;
                }
            }
            k == 1
        })
        .expect("a 5-smooth number exists above any n")
}

/// Row-major indices of `flat` in `shape`.
fn unflatten(mut flat: usize, shape: &[usize], idx: &mut [usize]) {
    for d in (0..shape.len()).rev() {
        idx[d] = flat % shape[d];
        flat /= shape[d];
    }
}

/// The row-major flat index of `idx` in `shape`.
fn flatten(idx: &[usize], shape: &[usize]) -> usize {
    idx.iter().zip(shape).fold(0, |f, (&i, &n)| f * n + i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::Axis;

    /// A reproducible pseudo-random field in [0, 1) (an LCG: no dependency).
    fn random(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (s >> 11) as f64 / (1u64 << 53) as f64
            })
            .collect()
    }

    fn grids() -> Vec<Grid> {
        let ax = |lo, hi, n, b| Axis::new(lo, hi, n, b).unwrap();
        vec![
            Grid::line(0.0, 1.0, 40, Boundary::Periodic).unwrap(),
            Grid::line(-1.0, 2.0, 37, Boundary::NoFlux).unwrap(),
            Grid::new(vec![
                ax(0.0, 1.0, 12, Boundary::Periodic),
                ax(0.0, 2.0, 17, Boundary::Periodic),
            ]),
            Grid::new(vec![
                ax(0.0, 1.0, 13, Boundary::NoFlux),
                ax(0.0, 0.5, 9, Boundary::NoFlux),
            ]),
            Grid::new(vec![
                ax(0.0, 1.0, 6, Boundary::NoFlux),
                ax(0.0, 1.0, 7, Boundary::NoFlux),
                ax(0.0, 1.0, 5, Boundary::NoFlux),
            ]),
            Grid::new(vec![
                ax(0.0, 1.0, 6, Boundary::Periodic),
                ax(0.0, 1.0, 4, Boundary::Periodic),
                ax(0.0, 1.0, 5, Boundary::Periodic),
            ]),
        ]
    }

    #[test]
    fn the_fft_convolution_equals_the_direct_sum_on_random_data() {
        for (g, grid) in grids().iter().enumerate() {
            let c = Nonlocal::gaussian(1.7, 0.15).unwrap();
            let m = random(grid.len(), g as u64);
            let (mut fft, mut direct) = (vec![0.5; grid.len()], vec![0.0; grid.len()]);
            c.add_into(grid, 0.0, &m, &mut fft);
            c.convolve_direct(grid, &m, &mut direct);
            let scale = direct.iter().fold(0.0_f64, |a, v| a.max(v.abs()));
            for (f, d) in fft.iter().zip(&direct) {
                assert!(
                    (f - 0.5 - d).abs() <= 1e-12 * scale,
                    "grid {g}: {f} vs {d} (scale {scale})"
                );
            }
            // The derivative is the same operator, without the accumulation.
            let mut dv = vec![9.0; grid.len()];
            c.derivative_into(grid, 0.0, &m, &m, &mut dv);
            for (a, d) in dv.iter().zip(&direct) {
                assert!((a - d).abs() <= 1e-12 * scale);
            }
        }
    }

    #[test]
    fn the_kernel_has_unit_mass_and_a_wide_one_on_a_torus_averages() {
        let c = Nonlocal::gaussian(1.0, 0.05).unwrap();
        let grid = Grid::line(0.0, 1.0, 200, Boundary::Periodic).unwrap();
        let mut f = vec![0.0; 200];
        c.add_into(&grid, 0.0, &vec![1.0; 200], &mut f);
        assert!(f.iter().all(|v| (v - 1.0).abs() < 1e-12), "{:?}", &f[..3]);
        // In 2D as well: ∫ K = 1.
        let g2 = Grid::new(vec![
            Axis::new(0.0, 1.0, 64, Boundary::Periodic).unwrap(),
            Axis::new(0.0, 1.0, 64, Boundary::Periodic).unwrap(),
        ]);
        let mut f2 = vec![0.0; g2.len()];
        c.add_into(&g2, 0.0, &vec![1.0; g2.len()], &mut f2);
        assert!(f2.iter().all(|v| (v - 1.0).abs() < 1e-10));
    }

    #[test]
    fn a_walled_grid_does_not_interact_through_its_walls() {
        // A density at the left wall only: far from it, at the right wall, F is ~0 (on the
        // periodic grid it would not be).
        let c = Nonlocal::gaussian(1.0, 0.05).unwrap();
        let walled = Grid::line(0.0, 1.0, 100, Boundary::NoFlux).unwrap();
        let m: Vec<f64> = (0..101).map(|i| if i < 3 { 1.0 } else { 0.0 }).collect();
        let mut f = vec![0.0; 101];
        c.add_into(&walled, 0.0, &m, &mut f);
        assert!(f[100].abs() < 1e-15 && f[0] > 0.1, "{} {}", f[0], f[100]);
        let periodic = Grid::line(0.0, 1.0, 100, Boundary::Periodic).unwrap();
        let mut fp = vec![0.0; 100];
        c.add_into(&periodic, 0.0, &m[..100], &mut fp);
        assert!(fp[99] > 0.1, "{}", fp[99]);
    }

    #[test]
    fn bad_parameters_are_named() {
        for (r, field) in [
            (Nonlocal::gaussian(1.0, 0.0), "coupling_width"),
            (Nonlocal::gaussian(1.0, f64::NAN), "coupling_width"),
            (Nonlocal::gaussian(f64::INFINITY, 0.1), "coupling strength"),
        ] {
            match r {
                Err(ProblemError::InvalidParameter { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{other:?}"),
            }
        }
    }
}
