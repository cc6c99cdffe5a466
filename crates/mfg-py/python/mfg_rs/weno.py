"""WENO5 kernels on NumPy arrays (the ``weno-kernels`` crate).

Whole arrays or single stencils: ``smoothness`` takes stencils of shape ``(..., 5)`` (one
stencil: 5 values) and returns the Jiang-Shu indicators ``(..., 3)``; ``weights`` maps
indicators ``(..., 3)`` to nonlinear weights (``kind`` ``"js"``, ``"z"`` or ``"m"``);
``reconstruct`` is the left-biased interface reconstruction of a 1D array (length ``n - 4``);
``hj_derivatives`` the one-sided Hamilton-Jacobi derivatives ``(phi_x^-, phi_x^+)``.
"""

from __future__ import annotations

from typing import Tuple

import numpy as np

from . import _core


def _f64(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64)


def smoothness(stencils: np.ndarray) -> np.ndarray:
    """Smoothness indicators (beta0, beta1, beta2) of stencils ``(..., 5)``."""
    return _core.weno_smoothness(_f64(stencils))


def weights(betas: np.ndarray, kind: str = "js") -> np.ndarray:
    """Nonlinear weights (omega0, omega1, omega2) from indicators ``(..., 3)``."""
    return _core.weno_weights(_f64(betas), kind)


def reconstruct(v: np.ndarray, kind: str = "js") -> np.ndarray:
    """``out[j]`` at the interface between ``v[j + 2]`` and ``v[j + 3]``; length ``len(v) - 4``."""
    return _core.weno_reconstruct(_f64(v), kind)


def hj_derivatives(
    phi: np.ndarray, h: float, kind: str = "js", ghosts: str = "periodic"
) -> Tuple[np.ndarray, np.ndarray]:
    """One-sided derivatives of ``phi`` (step ``h``); ghosts ``periodic`` or ``reflect``."""
    return _core.weno_hj_derivatives(_f64(phi), float(h), kind, ghosts)
