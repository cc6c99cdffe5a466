//! One axis of a tensor grid and its walls.

use crate::error::ProblemError;

/// Boundary condition on every wall of the domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Boundary {
    /// Reflecting walls: `∂n u = 0` for HJB and zero total flux for FP.
    NoFlux,
    /// Periodic in every direction.
    Periodic,
}

impl Boundary {
    /// The name used in config files.
    pub fn name(self) -> &'static str {
        match self {
            Boundary::NoFlux => "no-flux",
            Boundary::Periodic => "periodic",
        }
    }
}

/// One axis of a tensor grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    lo: f64,
    hi: f64,
    intervals: usize,
    boundary: Boundary,
}

impl Axis {
    /// An axis over `[lo, hi]` with `intervals` intervals. Its errors say axis 0; the grid
    /// constructors put in the axis they build.
    pub fn new(
        lo: f64,
        hi: f64,
        intervals: usize,
        boundary: Boundary,
    ) -> Result<Self, ProblemError> {
        if !(lo.is_finite() && hi.is_finite() && hi > lo && (hi - lo).is_finite()) {
            return Err(ProblemError::InvalidBounds { axis: 0, lo, hi });
        }
        let min = match boundary {
            Boundary::NoFlux => 2,
            Boundary::Periodic => 3,
        };
        if intervals < min {
            return Err(ProblemError::InvalidAxis {
                axis: 0,
                parameter: "intervals",
                value: intervals as f64,
                hint: "need at least 2 intervals (3 when periodic)",
            });
        }
        Ok(Self {
            lo,
            hi,
            intervals,
            boundary,
        })
    }

    /// Lower bound.
    pub fn lo(&self) -> f64 {
        self.lo
    }

    /// Upper bound.
    pub fn hi(&self) -> f64 {
        self.hi
    }

    /// Number of intervals.
    pub fn intervals(&self) -> usize {
        self.intervals
    }

    /// Boundary condition of this axis.
    pub fn boundary(&self) -> Boundary {
        self.boundary
    }

    /// Number of grid points on this axis.
    pub fn len(&self) -> usize {
        match self.boundary {
            Boundary::NoFlux => self.intervals + 1,
            Boundary::Periodic => self.intervals,
        }
    }

    /// Always false: an axis has at least three points.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Spacing.
    pub fn dx(&self) -> f64 {
        (self.hi - self.lo) / self.intervals as f64
    }

    /// Coordinate of point `i`.
    pub fn coord(&self, i: usize) -> f64 {
        self.lo + i as f64 * self.dx()
    }

    /// All coordinates.
    pub fn coords(&self) -> Vec<f64> {
        (0..self.len()).map(|i| self.coord(i)).collect()
    }

    /// The one-dimensional quadrature weight of point `i`.
    pub fn weight(&self, i: usize) -> f64 {
        let dx = self.dx();
        match self.boundary {
            Boundary::NoFlux if i == 0 || i + 1 == self.len() => 0.5 * dx,
            _ => dx,
        }
    }

    /// The neighbours `(previous, next)` of point `i` along this axis.
    ///
    /// Periodic axes wrap. No-flux axes reflect: the ghost value beyond a wall equals the value
    /// one point inside (`u_{-1} = u_1`), so the previous neighbour of point 0 is point 1 and
    /// the next neighbour of the last point is the one before it. With this reflection the
    /// upwind operator is the finite-volume scheme on half cells at the walls.
    #[inline]
    pub fn neighbours(&self, i: usize) -> (usize, usize) {
        let n = self.len();
        match self.boundary {
            Boundary::Periodic => ((i + n - 1) % n, (i + 1) % n),
            Boundary::NoFlux => {
                let prev = if i == 0 { 1 } else { i - 1 };
                let next = if i + 1 == n { n - 2 } else { i + 1 };
                (prev, next)
            }
        }
    }
}

/// Axis `d` of a grid, its errors naming `d`.
pub(super) fn axis(
    d: usize,
    [lo, hi]: [f64; 2],
    n: usize,
    boundary: Boundary,
) -> Result<Axis, ProblemError> {
    Axis::new(lo, hi, n, boundary).map_err(|e| match e {
        ProblemError::InvalidBounds { lo, hi, .. } => {
            ProblemError::InvalidBounds { axis: d, lo, hi }
        }
        ProblemError::InvalidAxis {
            parameter,
            value,
            hint,
            ..
        } => ProblemError::InvalidAxis {
            axis: d,
            parameter,
            value,
            hint,
        },
        other => other,
    })
}
