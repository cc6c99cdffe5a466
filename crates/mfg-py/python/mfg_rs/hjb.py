"""The HJB solve alone: the value function for a given density, on NumPy arrays.

``u = mfg_rs.hjb.solve(problem, m)`` with the config's ``hjb.method`` (``fdm`` implicit upwind
with Newton, or the WENO5 schemes), ``m`` of shape ``(nt + 1, *shape)`` (or ``(nt + 1,
points)``), ``u`` of shape ``(nt + 1, *shape)``:
``−∂t u − ν Δu + H(x, ∇u) = f(x, m)``, ``u(T) = g``.
"""

from __future__ import annotations

import numpy as np

from . import Problem, _core


def solve(problem: Problem, m: np.ndarray) -> np.ndarray:
    """The value function ``u`` on all time levels for the density ``m`` on all levels."""
    return _core.hjb_solve(problem.config_toml, np.ascontiguousarray(m, dtype=np.float64))
