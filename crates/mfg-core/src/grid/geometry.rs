//! Exits and obstacles: what each point of a grid is, and the masks the schemes read.

use super::{Boundary, Grid};
use crate::error::ProblemError;

/// What a grid point is, on a grid with exits and obstacles ([`Grid::with_geometry`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PointKind {
    /// An unknown of both equations.
    Open,
    /// An exit (or a point of a Dirichlet wall): `u` is given there (the terminal cost holds
    /// its value at every time) and the density that reaches it has left the domain: the
    /// Markov chain of the upwind scheme is absorbed there.
    Exit,
    /// Inside an obstacle: not an unknown (`u = 0`, `m = 0`); its open neighbours see a
    /// no-flux wall (the reflected ghost value, as at the walls of the box).
    Solid,
}

/// The exits and obstacles of a grid (see [`Grid::with_geometry`]).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Geometry {
    pub(super) kinds: Vec<PointKind>,
    /// The exit and solid points, in increasing order: their rows of `L` are zero.
    pub(super) fixed: Vec<usize>,
    /// The exit points, in increasing order.
    pub(super) exits: Vec<usize>,
    /// The solid points, in increasing order.
    pub(super) solid: Vec<usize>,
    /// `(axis, point, side)` of open points whose neighbour on that side is the point itself
    /// (an obstacle or wall on both sides along the axis): such a rate is dropped.
    pub(super) self_rates: Vec<(usize, usize, usize)>,
    /// The quadrature weights with zeros at the fixed points (the norms of the iteration).
    pub(super) norm_weights: Vec<f64>,
    /// A hash of `kinds` (solvers check that their storage was built for this geometry).
    pub(super) id: u64,
}

impl Grid {
    /// This grid with exits and obstacles: `kinds[i]` for every point (see [`PointKind`]).
    ///
    /// An open point whose neighbour along an axis is solid takes the point on its other side
    /// instead (the reflection of a no-flux wall; itself when both are solid), and its
    /// quadrature weight along that axis is halved (the half cell of a wall), so the upwind
    /// scheme is the finite-volume scheme of a domain whose walls pass through the last open
    /// points. Exit and solid points have no neighbours (their rows of the generator are
    /// zero). The exits and Dirichlet walls of a box are points of its walled faces marked
    /// [`PointKind::Exit`]; a periodic line (1D) takes no geometry.
    pub fn with_geometry(mut self, kinds: Vec<PointKind>) -> Result<Self, ProblemError> {
        let n = self.len();
        if kinds.len() != n {
            return Err(ProblemError::Length {
                field: "point kinds",
                got: kinds.len(),
                expected: n,
            });
        }
        if self.dim() == 1 && self.boundary == Boundary::Periodic {
            return Err(ProblemError::Geometry {
                hint: "exits and obstacles on a periodic line are not supported: give it no-flux walls".into(),
            });
        }
        if !kinds.contains(&PointKind::Open) {
            return Err(ProblemError::Geometry {
                hint: "every point is an exit or inside an obstacle: leave some of the domain open"
                    .into(),
            });
        }
        let plain = std::mem::take(&mut self.neighbours);
        let mut neighbours = plain.clone();
        let mut self_rates = Vec::new();
        for i in 0..n {
            let mut weight = 1.0;
            for d in 0..self.dim() {
                let [p, q] = plain[d][i];
                let nb = &mut neighbours[d][i];
                if kinds[i] != PointKind::Open {
                    *nb = [i, i];
                    continue;
                }
                let (ps, qs) = (kinds[p] == PointKind::Solid, kinds[q] == PointKind::Solid);
                let pick = |blocked: bool, own: usize, other: usize, other_blocked: bool| match (
                    blocked,
                    other_blocked,
                ) {
                    (false, _) => own,
                    (true, false) => other,
                    (true, true) => i,
                };
                *nb = [pick(ps, p, q, qs), pick(qs, q, p, ps)];
                for (side, &j) in nb.iter().enumerate() {
                    if j == i {
                        self_rates.push((d, i, side));
                    }
                }
                let axis = &self.axes[d];
                let idx = self.axis_index(i, d);
                weight *= if ps || qs {
                    0.5 * axis.dx()
                } else {
                    axis.weight(idx)
                };
            }
            if kinds[i] == PointKind::Open {
                self.weights[i] = weight;
            }
        }
        self.neighbours = neighbours;
        let of = |k: PointKind| (0..n).filter(|&i| kinds[i] == k).collect::<Vec<_>>();
        let (exits, solid) = (of(PointKind::Exit), of(PointKind::Solid));
        let fixed: Vec<usize> = (0..n).filter(|&i| kinds[i] != PointKind::Open).collect();
        let mut norm_weights = self.weights.clone();
        for &i in &fixed {
            norm_weights[i] = 0.0;
        }
        let id = {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            kinds.hash(&mut hasher);
            hasher.finish() | 1
        };
        self.geometry = Some(Box::new(Geometry {
            id,
            kinds,
            fixed,
            exits,
            solid,
            self_rates,
            norm_weights,
        }));
        Ok(self)
    }

    /// Whether the grid has exits or obstacles ([`Grid::with_geometry`]).
    pub fn has_geometry(&self) -> bool {
        self.geometry.is_some()
    }

    /// A fingerprint of the exits and obstacles (0 without): storage built for one grid fits
    /// another only if their fingerprints agree.
    pub fn geometry_id(&self) -> u64 {
        self.geometry.as_deref().map_or(0, |g| g.id)
    }

    /// The kind of every point, if the grid has exits or obstacles.
    pub fn kinds(&self) -> Option<&[PointKind]> {
        self.geometry.as_deref().map(|g| g.kinds.as_slice())
    }

    /// The kind of point `i` ([`PointKind::Open`] on a grid without geometry).
    #[inline]
    pub fn kind(&self, i: usize) -> PointKind {
        self.geometry
            .as_deref()
            .map_or(PointKind::Open, |g| g.kinds[i])
    }

    /// The exit and solid points (not unknowns), in increasing order; empty without geometry.
    pub fn fixed_points(&self) -> &[usize] {
        self.geometry.as_deref().map_or(&[], |g| g.fixed.as_slice())
    }

    /// The exit points, in increasing order; empty without exits.
    pub fn exit_points(&self) -> &[usize] {
        self.geometry.as_deref().map_or(&[], |g| g.exits.as_slice())
    }

    /// The points inside obstacles, in increasing order; empty without obstacles.
    pub fn solid_points(&self) -> &[usize] {
        self.geometry.as_deref().map_or(&[], |g| g.solid.as_slice())
    }

    /// Set `v` to zero at the fixed points (exits and obstacles).
    #[inline]
    pub fn zero_fixed(&self, v: &mut [f64]) {
        for &i in self.fixed_points() {
            v[i] = 0.0;
        }
    }

    /// Drop the jump rates of the fixed points and the rates of open points to themselves:
    /// the generator `L` of a grid with geometry (a no-op without).
    pub fn mask_rates(&self, to_prev: &mut [Vec<f64>], to_next: &mut [Vec<f64>]) {
        let Some(g) = self.geometry.as_deref() else {
            return;
        };
        for &i in &g.fixed {
            for d in 0..self.dim() {
                to_prev[d][i] = 0.0;
                to_next[d][i] = 0.0;
            }
        }
        for &(d, i, side) in &g.self_rates {
            if side == 0 {
                to_prev[d][i] = 0.0;
            } else {
                to_next[d][i] = 0.0;
            }
        }
    }

    /// The quadrature weights with zeros at the fixed points: the weights of the norms that
    /// measure the coupling iteration (an exit point holds the mass that has left, not a
    /// density). The quadrature weights themselves without geometry.
    pub fn norm_weights(&self) -> &[f64] {
        self.geometry
            .as_deref()
            .map_or(&self.weights, |g| g.norm_weights.as_slice())
    }

    /// `Σ_{exits} w_i v_i`: during a solve the exit points of a density hold the mass that has
    /// left through them (see [`PointKind::Exit`]).
    pub fn exit_mass(&self, v: &[f64]) -> f64 {
        self.exit_points()
            .iter()
            .map(|&i| self.weights[i] * v[i])
            .sum()
    }
}
