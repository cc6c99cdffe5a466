//! Transfer between grids: the coarsened grid of a nested iteration and the interpolation
//! of a field from another grid of the same box.

use super::{Boundary, Grid, PointKind, MAX_DIM};

impl Grid {
    /// The same box with about half the intervals along every axis (`⌈n/2⌉`, at least the
    /// minimum of its walls), its exits and obstacles taken from the nearest fine point; `None`
    /// when no axis would shrink or nothing would be left open. The first grid of a nested
    /// iteration ([`crate::coupling::Run::coarse_start`]).
    pub fn coarsened(&self) -> Option<Grid> {
        let axes: Vec<([f64; 2], usize, Boundary)> = self
            .axes
            .iter()
            .map(|a| {
                let min = if a.boundary() == Boundary::Periodic {
                    3
                } else {
                    2
                };
                (
                    [a.lo(), a.hi()],
                    a.intervals().div_ceil(2).max(min),
                    a.boundary(),
                )
            })
            .collect();
        if axes
            .iter()
            .zip(&self.axes)
            .all(|(c, a)| c.1 == a.intervals())
        {
            return None;
        }
        let coarse = Grid::tensor(&axes).ok()?;
        match self.kinds() {
            None => Some(coarse),
            Some(kinds) => {
                let picked: Vec<PointKind> = coarse
                    .coordinates()
                    .map(|x| kinds[self.nearest(x)])
                    .collect();
                coarse.with_geometry(picked).ok()
            }
        }
    }

    /// The flat index of the grid point nearest to `x` (inside the box; wrapped on periodic
    /// axes).
    pub fn nearest(&self, x: &[f64]) -> usize {
        self.axes
            .iter()
            .enumerate()
            .map(|(d, a)| {
                let s = ((x[d] - a.lo()) / a.dx()).round();
                let k = if a.boundary() == Boundary::Periodic {
                    (s as i64).rem_euclid(a.len() as i64) as usize
                } else {
                    s.clamp(0.0, (a.len() - 1) as f64) as usize
                };
                k * self.strides[d]
            })
            .sum()
    }

    /// `values` (one per point of `from`, a grid on the same box) at this grid's points, by
    /// multilinear interpolation (wrapping on periodic axes).
    pub fn resample(&self, from: &Grid, values: &[f64]) -> Vec<f64> {
        assert_eq!(values.len(), from.len(), "resample: one value per point");
        let dim = self.dim();
        assert_eq!(dim, from.dim(), "resample: grids of one dimension");
        let mut cell = [(0usize, 0usize, 0.0f64); MAX_DIM];
        self.coordinates()
            .map(|x| {
                for (d, a) in from.axes.iter().enumerate() {
                    let s = (x[d] - a.lo()) / a.dx();
                    let n = a.len();
                    cell[d] = if a.boundary() == Boundary::Periodic {
                        let s = s.rem_euclid(n as f64);
                        let i = (s.floor() as usize).min(n - 1);
                        (i, (i + 1) % n, s - i as f64)
                    } else {
                        let i = (s.floor().max(0.0) as usize).min(n - 2);
                        (i, i + 1, (s - i as f64).clamp(0.0, 1.0))
                    };
                }
                (0..1usize << dim)
                    .map(|corner| {
                        let (mut flat, mut w) = (0, 1.0);
                        for (d, &(lo, hi, f)) in cell[..dim].iter().enumerate() {
                            if corner >> d & 1 == 1 {
                                flat += hi * from.strides[d];
                                w *= f;
                            } else {
                                flat += lo * from.strides[d];
                                w *= 1.0 - f;
                            }
                        }
                        w * values[flat]
                    })
                    .sum()
            })
            .collect()
    }
}
