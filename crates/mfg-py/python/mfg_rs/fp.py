"""The Fokker-Planck solve alone: the density for a given value function, on NumPy arrays.

``m = mfg_rs.fp.solve(problem, u)`` with the config's ``fp.method`` (``fdm`` implicit upwind,
mass-conservative, or ``particle``), ``u`` of shape ``(nt + 1, *shape)`` (or ``(nt + 1,
points)``): ``∂t m − ν Δm − div(m ∂pH(x, ∇u)) = 0``, ``m(0) = m0``.
"""

from __future__ import annotations

import numpy as np

from . import Problem, _core


def solve(problem: Problem, u: np.ndarray) -> np.ndarray:
    """The density ``m`` on all time levels (row 0 is ``m0``) for the value ``u`` on all levels."""
    return _core.fp_solve(problem.config_toml, np.ascontiguousarray(u, dtype=np.float64))
