//! Vertex-centred tensor grids in space and the uniform time grid.
//!
//! An axis with bounds `[a, b]` and `n` intervals has `dx = (b - a) / n` and points
//! `x_i = a + i dx`: `i = 0..=n` for [`Boundary::NoFlux`] and `i = 0..n` for
//! [`Boundary::Periodic`] (the point `b ≡ a` is not repeated). In several dimensions the flat
//! index is row-major (the first axis slowest), as NumPy's C order.
//!
//! Mass quadrature: trapezoid weights for no-flux axes (`dx / 2` at the two walls, `dx`
//! inside) and `dx` for periodic axes; in several dimensions the product. These are the
//! weights in which the finite-difference Fokker–Planck scheme conserves mass exactly.

mod axis;
mod geometry;
mod time;
mod transfer;

pub use axis::{Axis, Boundary};
pub use geometry::PointKind;
pub use time::TimeGrid;

use crate::error::ProblemError;
use axis::axis;
use geometry::Geometry;

/// Most space dimensions a [`Grid`] has.
pub const MAX_DIM: usize = 3;

/// A vertex-centred tensor grid in one, two or three space dimensions.
///
/// The grid is the only place that turns per-axis indices into flat ones: solvers walk its
/// neighbour tables ([`Grid::neighbour_table`]), its lines along an axis ([`Grid::lines`]) and
/// the corners of a cell ([`Grid::corners`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    axes: Vec<Axis>,
    boundary: Boundary,
    weights: Vec<f64>,
    points: Vec<f64>,
    /// Per axis, the flat indices `(previous, next)` of every point (wrapped or reflected).
    neighbours: Vec<Vec<[usize; 2]>>,
    /// Per axis, the flat-index distance between neighbours along it.
    strides: Vec<usize>,
    /// Exits and obstacles, if any.
    geometry: Option<Box<Geometry>>,
}

/// The corners of the cells of a grid of `D` dimensions ([`Grid::corners`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corners<const D: usize> {
    strides: [usize; D],
}

impl<const D: usize> Corners<D> {
    /// Visit the `2^D` corners of a cell: `cell[d]` is `(lower node, upper node, fraction)`
    /// along axis `d` (the upper node wrapped when periodic); `visit(flat index, weight)` gets
    /// the weights `Π_d (1 − f_d or f_d)`, which sum to one.
    #[inline(always)]
    pub fn for_each(&self, cell: &[(usize, usize, f64); D], mut visit: impl FnMut(usize, f64)) {
        if D == 1 {
            // A line: its points are consecutive flat indices (stride 1).
            let (lo, hi, f) = cell[0];
            visit(lo, 1.0 - f);
            visit(hi, f);
            return;
        }
        for corner in 0..1usize << D {
            let (mut flat, mut weight) = (0, 1.0);
            for (d, &(lo, hi, f)) in cell.iter().enumerate() {
                if corner >> (D - 1 - d) & 1 == 1 {
                    flat += hi * self.strides[d];
                    weight *= f;
                } else {
                    flat += lo * self.strides[d];
                    weight *= 1.0 - f;
                }
            }
            visit(flat, weight);
        }
    }

    /// The multilinear interpolant at a point of `cell` of a field with `D` components per
    /// node (`values[i]` at flat index `i`).
    #[inline(always)]
    pub fn interpolate(&self, cell: &[(usize, usize, f64); D], values: &[[f64; D]]) -> [f64; D] {
        if D == 1 {
            // A line: v_lo + f (v_hi − v_lo).
            let (lo, hi, f) = cell[0];
            let (a, b) = (values[lo], values[hi]);
            return std::array::from_fn(|d| a[d] + f * (b[d] - a[d]));
        }
        let mut out = [0.0; D];
        self.for_each(cell, |i, w| {
            for d in 0..D {
                out[d] += w * values[i][d];
            }
        });
        out
    }
}

/// One grid line along an axis: the flat indices `start + k · stride`, `k = 0..len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    /// Flat index of the first point.
    pub start: usize,
    /// Flat-index distance between successive points.
    pub stride: usize,
    /// Number of points.
    pub len: usize,
}

impl Line {
    /// Flat index of the `k`-th point of the line.
    #[inline(always)]
    pub fn index(&self, k: usize) -> usize {
        self.start + k * self.stride
    }

    /// The flat indices of the line as a range, when they are contiguous (`stride == 1`).
    #[inline]
    pub fn contiguous(&self) -> Option<std::ops::Range<usize>> {
        (self.stride == 1).then_some(self.start..self.start + self.len)
    }

    /// Copy the line's values out of a whole-grid field.
    #[inline]
    pub fn gather(&self, field: &[f64], out: &mut [f64]) {
        for (k, o) in out[..self.len].iter_mut().enumerate() {
            *o = field[self.index(k)];
        }
    }

    /// Write the line's values into a whole-grid field.
    #[inline]
    pub fn scatter(&self, values: &[f64], field: &mut [f64]) {
        for (k, v) in values[..self.len].iter().enumerate() {
            field[self.index(k)] = *v;
        }
    }
}

impl Grid {
    /// A one-dimensional grid on `[lo, hi]` with `nx` intervals.
    pub fn line(lo: f64, hi: f64, nx: usize, boundary: Boundary) -> Result<Self, ProblemError> {
        Ok(Self::from_axes(vec![axis(0, [lo, hi], nx, boundary)?]))
    }

    /// A two-dimensional grid on `[x0, x1] × [y0, y1]`.
    pub fn rectangle(
        x: [f64; 2],
        nx: usize,
        y: [f64; 2],
        ny: usize,
        boundary: Boundary,
    ) -> Result<Self, ProblemError> {
        Ok(Self::from_axes(vec![
            axis(0, x, nx, boundary)?,
            axis(1, y, ny, boundary)?,
        ]))
    }

    /// A three-dimensional grid on `[x0, x1] × [y0, y1] × [z0, z1]`.
    pub fn cuboid(
        x: [f64; 2],
        nx: usize,
        y: [f64; 2],
        ny: usize,
        z: [f64; 2],
        nz: usize,
        boundary: Boundary,
    ) -> Result<Self, ProblemError> {
        Ok(Self::from_axes(vec![
            axis(0, x, nx, boundary)?,
            axis(1, y, ny, boundary)?,
            axis(2, z, nz, boundary)?,
        ]))
    }

    /// A grid from per-axis `(bounds, intervals, walls)`, 1 to [`MAX_DIM`] of them, the first
    /// the slowest in the flat index; errors name the axis. Each axis has its own walls (a
    /// channel: periodic along x, walls along y).
    pub fn tensor(axes: &[([f64; 2], usize, Boundary)]) -> Result<Self, ProblemError> {
        if !(1..=MAX_DIM).contains(&axes.len()) {
            return Err(ProblemError::InvalidParameter {
                field: "axes",
                value: axes.len() as f64,
                hint: "a grid has 1 to 3 axes",
            });
        }
        let axes = axes
            .iter()
            .enumerate()
            .map(|(d, &(bounds, n, b))| axis(d, bounds, n, b))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::from_axes(axes))
    }

    /// A grid from 1 to [`MAX_DIM`] axes, the first the slowest in the flat index.
    ///
    /// Each axis has its own walls: periodic along some axes and no-flux along the others (a
    /// channel) is allowed.
    ///
    /// # Panics
    /// With no axis or more than [`MAX_DIM`].
    pub fn new(axes: Vec<Axis>) -> Self {
        assert!(
            (1..=MAX_DIM).contains(&axes.len()),
            "a grid has 1 to {MAX_DIM} axes, got {}",
            axes.len()
        );
        Self::from_axes(axes)
    }

    fn from_axes(axes: Vec<Axis>) -> Self {
        // Periodic only when every axis is.
        let boundary = if axes.iter().all(|a| a.boundary() == Boundary::Periodic) {
            Boundary::Periodic
        } else {
            Boundary::NoFlux
        };
        let len: usize = axes.iter().map(Axis::len).product();
        let dim = axes.len();
        let mut weights = vec![1.0; len];
        let mut points = vec![0.0; len * dim];
        for flat in 0..len {
            let mut rest = flat;
            // Row-major: the last axis is the fastest.
            for (d, axis) in axes.iter().enumerate().rev() {
                let i = rest % axis.len();
                rest /= axis.len();
                weights[flat] *= axis.weight(i);
                points[flat * dim + d] = axis.coord(i);
            }
        }
        let mut neighbours = vec![vec![[0usize; 2]; len]; dim];
        for (d, axis) in axes.iter().enumerate() {
            let stride: usize = axes[d + 1..].iter().map(Axis::len).product();
            for (flat, nb) in neighbours[d].iter_mut().enumerate() {
                let i = (flat / stride) % axis.len();
                let (p, q) = axis.neighbours(i);
                let base = flat - i * stride;
                *nb = [base + p * stride, base + q * stride];
            }
        }
        let strides = (0..dim)
            .map(|d| axes[d + 1..].iter().map(Axis::len).product())
            .collect();
        Self {
            axes,
            boundary,
            weights,
            points,
            neighbours,
            strides,
            geometry: None,
        }
    }

    /// The lines of the grid along axis `d`, in increasing order of their first point.
    pub fn lines(&self, d: usize) -> impl Iterator<Item = Line> + '_ {
        let (stride, len) = (self.strides[d], self.axes[d].len());
        // The first points of the lines: every offset below the stride in every block of
        // `stride · len` points.
        let block = stride * len;
        (0..self.len() / block).flat_map(move |b| {
            (0..stride).map(move |j| Line {
                start: b * block + j,
                stride,
                len,
            })
        })
    }

    /// The flat-index distance between neighbours along axis `d`.
    pub fn stride(&self, d: usize) -> usize {
        self.strides[d]
    }

    /// The flat index of the point with per-axis indices `idx`.
    #[inline]
    pub fn flat_index(&self, idx: &[usize]) -> usize {
        idx.iter().zip(&self.strides).map(|(i, s)| i * s).sum()
    }

    /// The per-axis index of flat point `flat` along axis `d`.
    #[inline]
    pub fn axis_index(&self, flat: usize, d: usize) -> usize {
        (flat / self.strides[d]) % self.axes[d].len()
    }

    /// The corners of the cells of this grid, for multilinear interpolation and binning, with
    /// the dimension `D` known at compile time.
    ///
    /// # Panics
    /// If `D` is not the grid's dimension.
    pub fn corners<const D: usize>(&self) -> Corners<D> {
        assert_eq!(
            D,
            self.dim(),
            "Grid::corners: the grid has {} axes",
            self.dim()
        );
        Corners {
            strides: std::array::from_fn(|d| self.strides[d]),
        }
    }

    /// The flat indices `(previous, next)` of point `idx` along axis `d` (wrapped when
    /// periodic, reflected at no-flux walls: see [`Axis::neighbours`]).
    #[inline]
    pub fn neighbours(&self, idx: usize, d: usize) -> (usize, usize) {
        let [p, q] = self.neighbours[d][idx];
        (p, q)
    }

    /// The neighbour table of axis `d`: `[previous, next]` for every flat index.
    pub fn neighbour_table(&self, d: usize) -> &[[usize; 2]] {
        &self.neighbours[d]
    }

    /// Points per axis, first (slowest) first: the shape of one time level.
    pub fn shape(&self) -> Vec<usize> {
        self.axes.iter().map(Axis::len).collect()
    }

    /// Number of space dimensions.
    pub fn dim(&self) -> usize {
        self.axes.len()
    }

    /// The axes, first (slowest) first.
    pub fn axes(&self) -> &[Axis] {
        &self.axes
    }

    /// Axis `d`.
    pub fn axis(&self, d: usize) -> &Axis {
        &self.axes[d]
    }

    /// [`Boundary::Periodic`] when every axis is periodic, else [`Boundary::NoFlux`] (some axis
    /// has walls; see [`Grid::is_mixed`] and each [`Axis::boundary`]).
    pub fn boundary(&self) -> Boundary {
        self.boundary
    }

    /// Whether some axes are periodic and others have walls.
    pub fn is_mixed(&self) -> bool {
        let first = self.axes[0].boundary();
        self.axes.iter().any(|a| a.boundary() != first)
    }

    /// Bit `d` set when axis `d` is periodic (a key for storage built for a grid's walls).
    pub fn periodic_axes(&self) -> u8 {
        self.axes
            .iter()
            .enumerate()
            .filter(|(_, a)| a.boundary() == Boundary::Periodic)
            .fold(0, |bits, (d, _)| bits | 1 << d)
    }

    /// Total number of grid points.
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    /// Always false: a grid has points.
    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    /// Quadrature weights (see the module docs).
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Coordinates of the point with flat index `idx`.
    pub fn point(&self, idx: usize) -> &[f64] {
        let dim = self.dim();
        &self.points[idx * dim..(idx + 1) * dim]
    }

    /// The coordinates of every point, in flat-index order.
    pub fn coordinates(&self) -> std::slice::ChunksExact<'_, f64> {
        self.points.chunks_exact(self.dim())
    }

    /// Sample a function of the coordinates at every grid point.
    pub fn sample(&self, f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
        (0..self.len()).map(|i| f(self.point(i))).collect()
    }

    /// The quadrature `Σ w_i v_i` (the mass when `v` is a density).
    pub fn integrate(&self, v: &[f64]) -> f64 {
        assert_eq!(v.len(), self.len(), "integrate: wrong length");
        self.weights.iter().zip(v).map(|(w, x)| w * x).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_flux_axis_has_end_points_and_trapezoid_weights() {
        let g = Grid::line(0.0, 1.0, 4, Boundary::NoFlux).unwrap();
        assert_eq!(g.len(), 5);
        assert_eq!(g.point(4), &[1.0]);
        assert_eq!(g.weights(), &[0.125, 0.25, 0.25, 0.25, 0.125]);
        assert!((g.integrate(&[1.0; 5]) - 1.0).abs() < 1e-15);
        assert_eq!(g.axis(0).neighbours(0), (1, 1));
        assert_eq!(g.axis(0).neighbours(4), (3, 3));
        assert_eq!(g.axis(0).neighbours(2), (1, 3));
    }

    #[test]
    fn periodic_axis_does_not_repeat_the_end_point() {
        let g = Grid::line(0.0, 1.0, 4, Boundary::Periodic).unwrap();
        assert_eq!(g.len(), 4);
        assert_eq!(g.point(3), &[0.75]);
        assert_eq!(g.axis(0).neighbours(0), (3, 1));
        assert_eq!(g.axis(0).neighbours(3), (2, 0));
        assert!((g.integrate(&[1.0; 4]) - 1.0).abs() < 1e-15);
    }

    #[test]
    fn two_dimensional_flat_index_is_row_major() {
        let g = Grid::rectangle([0.0, 1.0], 2, [0.0, 2.0], 4, Boundary::NoFlux).unwrap();
        assert_eq!(g.len(), 15);
        // Index (i, j) = (1, 3) is flat 1 * 5 + 3 = 8.
        assert_eq!(g.point(8), &[0.5, 1.5]);
        assert!((g.integrate(&[1.0; 15]) - 2.0).abs() < 1e-14);
        // Neighbours of (1, 3) = 8: along x (1 ± 1, 3) = 3, 13; along y (1, 3 ± 1) = 7, 9.
        assert_eq!(g.neighbours(8, 0), (3, 13));
        assert_eq!(g.neighbours(8, 1), (7, 9));
        // Reflection at the walls: (0, 0) has x-neighbours (1, 0) twice.
        assert_eq!(g.neighbours(0, 0), (5, 5));
        assert_eq!(g.neighbours(14, 1), (13, 13));
        assert_eq!(g.shape(), vec![3, 5]);
        let p = Grid::rectangle([0.0, 1.0], 3, [0.0, 1.0], 4, Boundary::Periodic).unwrap();
        // (0, 0) wraps to (2, 0) = 8 and (0, 3) = 3.
        assert_eq!(p.neighbours(0, 0), (8, 4));
        assert_eq!(p.neighbours(0, 1), (3, 1));
    }

    #[test]
    fn three_dimensional_lines_indices_and_corners() {
        let g = Grid::cuboid(
            [0.0, 1.0],
            2,
            [0.0, 1.0],
            3,
            [0.0, 2.0],
            4,
            Boundary::NoFlux,
        )
        .unwrap();
        assert_eq!(g.shape(), vec![3, 4, 5]);
        assert_eq!((g.stride(0), g.stride(1), g.stride(2)), (20, 5, 1));
        let flat = g.flat_index(&[2, 1, 3]);
        assert_eq!(g.point(flat), &[1.0, 1.0 / 3.0, 1.5]);
        assert_eq!(
            (0..3).map(|d| g.axis_index(flat, d)).collect::<Vec<_>>(),
            vec![2, 1, 3]
        );
        assert!((g.integrate(&vec![1.0; g.len()]) - 2.0).abs() < 1e-14);
        // Every point lies on exactly one line of each axis, at its own axis index.
        for d in 0..3 {
            let mut seen = vec![0; g.len()];
            for line in g.lines(d) {
                assert_eq!(line.len, g.axis(d).len());
                for k in 0..line.len {
                    let i = line.index(k);
                    seen[i] += 1;
                    assert_eq!(g.axis_index(i, d), k);
                }
            }
            assert!(seen.iter().all(|&c| c == 1), "axis {d}");
        }
        // Trilinear weights sum to one and reproduce a linear function.
        let cell = [(1, 2, 0.25), (0, 1, 0.5), (3, 4, 0.75)];
        let (mut wsum, mut value) = (0.0, 0.0);
        g.corners::<3>().for_each(&cell, |i, w| {
            wsum += w;
            value += w * (g.point(i)[0] + 2.0 * g.point(i)[1] - g.point(i)[2]);
        });
        let exact = (0.5 + 0.25 * 0.5) + 2.0 * (0.5 / 3.0) - (1.5 + 0.75 * 0.5);
        assert!((wsum - 1.0).abs() < 1e-15 && (value - exact).abs() < 1e-14);
        // The interpolant of a linear field is exact, in 3D and on a line.
        let field: Vec<[f64; 3]> = g
            .coordinates()
            .map(|x| [x[0] + 2.0 * x[1] - x[2], 1.0, x[2]])
            .collect();
        let v = g.corners::<3>().interpolate(&cell, &field);
        assert!((v[0] - exact).abs() < 1e-14 && (v[1] - 1.0).abs() < 1e-15);
        let line = Grid::line(0.0, 2.0, 4, Boundary::NoFlux).unwrap();
        let field: Vec<[f64; 1]> = line.coordinates().map(|x| [3.0 * x[0] - 1.0]).collect();
        let v = line.corners::<1>().interpolate(&[(1, 2, 0.25)], &field);
        assert!((v[0] - (3.0 * 0.625 - 1.0)).abs() < 1e-15, "{v:?}");
    }

    #[test]
    fn too_few_intervals_is_an_error_naming_the_parameter_and_axis() {
        let e = Grid::line(0.0, 1.0, 1, Boundary::NoFlux).unwrap_err();
        assert!(e.to_string().contains("intervals = 1 of axis 0"), "{e}");
        let e = Grid::cuboid(
            [0.0, 1.0],
            4,
            [0.0, 1.0],
            4,
            [1.0, 0.0],
            4,
            Boundary::NoFlux,
        )
        .unwrap_err();
        assert!(e.to_string().contains("[1.0, 0.0] of axis 2"), "{e}");
        let e = Grid::line(-1e308, 1e308, 4, Boundary::NoFlux).unwrap_err();
        assert!(e.to_string().contains("of axis 0"), "{e}");
        let e = TimeGrid::new(1.0, 0).unwrap_err();
        assert!(e.to_string().contains("nt"), "{e}");
    }
}
