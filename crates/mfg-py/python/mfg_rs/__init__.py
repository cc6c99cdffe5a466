"""mfg_rs: Mean Field Games (HJB + Fokker-Planck) solved in Rust, NumPy in and out.

The solve is ``mfg-cli solve`` in-process: the same config keys, presets, validation and
results. A config is resolved as defaults < preset < ``config`` < overrides::

    import mfg_rs
    sol = mfg_rs.solve(preset="crowd", grid__nx=200)          # overrides as keyword arguments
    sol = mfg_rs.solve({"grid": {"nx": 200}}, **{"model.sigma": 0.2})
    sol.u.shape, sol.m.shape, sol.x, sol.t, sol.summary["iterations"]

Errors are exceptions: :class:`ConfigError` (a ``ValueError`` naming the config key) for bad
input, :class:`SolveError` for numerical failures. A solve that ends without converging
returns its :class:`Solution` with ``converged = False`` and warns
(:class:`NotConvergedWarning`). The GIL is released while solving; Ctrl-C stops the solve
(``KeyboardInterrupt``) at its next time level.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np

from . import _core

__all__ = [
    "solve",
    "presets",
    "plot",
    "Problem",
    "hjb",
    "fp",
    "weno",
    "sweep",
    "Sweep",
    "Solution",
    "ConfigError",
    "SolveError",
    "NotConvergedWarning",
    "__version__",
]

__version__: str = _core.__version__


class ConfigError(ValueError):
    """Invalid config or arguments. ``key`` names the config key at fault (``grid.nx``)."""

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key


class SolveError(RuntimeError):
    """A numerical failure (divergence, a failed inner solve) or a failed write."""


class NotConvergedWarning(RuntimeWarning):
    """The solve ended without converging (max iterations, stagnation, time limit)."""


@dataclass
class Solution:
    """A solved Mean Field Game.

    Time-dependent: ``u`` and ``m`` have shape ``(nt + 1, nx_pts[, ny_pts[, nz_pts]])``
    (float64, C order), ``t`` the time levels. Stationary (``problem = "stationary"``): ``u``
    and ``m`` have the grid's shape, ``t`` is None and ``ergodic_constant`` holds λ.
    """

    u: np.ndarray
    m: np.ndarray
    x: np.ndarray
    t: Optional[np.ndarray]
    summary: Dict[str, Any]
    config_toml: str
    y: Optional[np.ndarray] = None
    z: Optional[np.ndarray] = None
    files: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    geometry: Optional[np.ndarray] = None
    """With exits or obstacles: per grid point 0 open, 1 exit (or Dirichlet face), 2 inside an
    obstacle (the grid's shape)."""

    @property
    def mass_exited(self) -> Optional[np.ndarray]:
        """With exits: the mass that has left by each time level (``m``'s mass inside the
        domain plus this is 1 on every level); None without exits."""
        values = self.summary.get("mass_exited")
        return None if values is None else np.asarray(values, dtype=float)

    @property
    def evacuation(self) -> Optional[Dict[str, Any]]:
        """With exits: ``t_50``, ``t_90``, ``t_99`` (the first time level by which that share
        has left, None if not by T) and ``exited_at_t_final``."""
        return self.summary.get("evacuation")

    @property
    def converged(self) -> bool:
        """Whether the solve converged."""
        return bool(self.summary.get("converged"))

    @property
    def termination(self) -> str:
        """``converged``, ``max-iterations``, ``stagnation`` or ``time-limit``."""
        return str(self.summary.get("termination"))

    @property
    def stationary(self) -> bool:
        """Whether this is a stationary (ergodic) solution."""
        return self.summary.get("problem") == "stationary"

    @property
    def ergodic_constant(self) -> Optional[float]:
        """λ of a stationary solution (None otherwise)."""
        value = self.summary.get("ergodic_constant")
        return None if value is None else float(value)

    def plot(self, which: str = "m", ax: Any = None) -> Any:
        """Draw ``m`` (or ``u``) with matplotlib (``pip install matplotlib``): 1D time-dependent
        as a heat map over (x, t), 1D stationary as a profile, 2D as the last level (or the
        stationary map). Returns the matplotlib axes."""
        try:
            import matplotlib.pyplot as plt
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("Solution.plot needs matplotlib: pip install matplotlib") from e
        values = {"m": self.m, "u": self.u}[which]
        if ax is None:
            _, ax = plt.subplots()
        if self.stationary and self.y is None:
            ax.plot(self.x, values)
            ax.set_xlabel("x")
            ax.set_ylabel(which)
        elif self.y is None:
            mesh = ax.pcolormesh(self.x, self.t, values, shading="auto")
            ax.set_xlabel("x")
            ax.set_ylabel("t")
            ax.figure.colorbar(mesh, ax=ax, label=which)
        else:
            plane = values if self.stationary else values[-1]
            if self.z is not None:
                plane = plane[..., plane.shape[-1] // 2]
            mesh = ax.pcolormesh(self.x, self.y, plane.T, shading="auto")
            ax.set_xlabel("x")
            ax.set_ylabel("y")
            ax.figure.colorbar(mesh, ax=ax, label=which)
        return ax


ConfigLike = Union[None, Mapping[str, Any], str, "os.PathLike[str]"]


def solve(
    config: ConfigLike = None,
    *,
    preset: Optional[str] = None,
    out: Union[None, str, "os.PathLike[str]"] = None,
    format: str = "npy",
    progress: Optional[Callable[[int, float, float], Any]] = None,
    max_memory: Optional[int] = None,
    **overrides: Any,
) -> Solution:
    """Solve a Mean Field Game as ``mfg-cli solve`` would.

    Parameters
    ----------
    config:
        A dict of config sections (``{"grid": {"nx": 200}}``), TOML text, or the path of a
        TOML file; None for the defaults (the ``crowd`` preset).
    preset:
        A built-in problem to start from (see :func:`presets`).
    out:
        Also write the command line's files (``u.npy``, ``m.npy``, ..., ``summary.json``) into
        this directory, as one set.
    format:
        ``"npy"`` or ``"csv"`` for the files of ``out``.
    progress:
        Called after every coupling iteration as ``progress(iteration, residual_u, residual_m)``;
        an exception in it stops the solve.
    max_memory:
        Refuse a run whose estimated peak memory is larger (bytes); default half the machine's.
    **overrides:
        Config keys with ``__`` for the dot (``grid__nx=200``), or dotted names through a dict
        (``**{"grid.nx": 200}``).
    """
    result = _core.solve(
        **_call_args(config, preset, overrides),
        out=None if out is None else os.fspath(out),
        format=format,
        progress=progress,
        max_memory=max_memory,
    )
    _raise_error(result)
    for w in result["warnings"]:
        warnings.warn(w, UserWarning, stacklevel=2)
    summary = json.loads(result["summary_json"])
    solution = Solution(
        u=result["u"],
        m=result["m"],
        x=result["x"],
        t=result.get("t"),
        y=result.get("y"),
        z=result.get("z"),
        summary=summary,
        config_toml=result["config_toml"],
        files=list(result["files"]),
        warnings=list(result["warnings"]),
        geometry=result.get("geometry"),
    )
    if not solution.converged:
        warnings.warn(
            f"not converged ({solution.termination}); the solution is returned and flagged",
            NotConvergedWarning,
            stacklevel=2,
        )
    return solution


def _call_args(
    config: ConfigLike, preset: Optional[str], overrides: Mapping[str, Any]
) -> Dict[str, Any]:
    """The config arguments of ``_core.solve`` / ``_core.resolve`` (shared by both)."""
    path = None
    if isinstance(config, os.PathLike) or (
        isinstance(config, str) and "\n" not in config and os.path.isfile(config)
    ):
        path, config = os.fspath(config), None
    sets: List[str] = []
    if preset is not None:
        sets.append(f'preset="{preset}"')
    dotted = {key.replace("__", "."): value for key, value in overrides.items()}
    return dict(config=config, path=path, sets=sets, overrides=dotted)


def plot(out: Union[str, "os.PathLike[str]"], animate: bool = False) -> List[str]:
    """Draw the command line's pictures of a result directory written by :func:`solve` with
    ``out`` (or by ``mfg-cli solve``): ``density.png``, ``value.png``, ``convergence.png``,
    with exits ``exited.png`` (the mass that has left over time), and with ``animate``
    ``density.gif`` (the density over time, obstacles and doors drawn). Returns the paths."""
    result = _core.plot(os.fspath(out), bool(animate))
    _raise_error(result)
    return list(result["files"])


def _raise_error(result: Mapping[str, Any]) -> None:
    kind = result.get("error")
    if kind == "config":
        raise ConfigError(result["message"], result["key"])
    if kind == "interrupted":
        raise KeyboardInterrupt(result["message"])
    if kind is not None:
        raise SolveError(result["message"])


class Problem:
    """A resolved config (defaults < preset < ``config`` < overrides, as :func:`solve`), for
    the component solvers :func:`mfg_rs.hjb.solve` and :func:`mfg_rs.fp.solve`.

    ``shape`` is the grid's, ``nt`` the number of time steps: fields are arrays of shape
    ``(nt + 1, *shape)``.
    """

    def __init__(self, config: ConfigLike = None, *, preset: Optional[str] = None, **overrides: Any):
        result = _core.resolve(**_call_args(config, preset, overrides))
        _raise_error(result)
        self.config_toml: str = result["config_toml"]
        self.shape: Tuple[int, ...] = tuple(result["shape"])
        self.nt: int = int(result["nt"])
        for w in result["warnings"]:
            warnings.warn(w, UserWarning, stacklevel=2)

    @property
    def field_shape(self) -> Tuple[int, ...]:
        """``(nt + 1, *shape)``."""
        return (self.nt + 1,) + self.shape

    def __repr__(self) -> str:
        return f"Problem(shape={self.shape}, nt={self.nt})"


def presets() -> List[Tuple[str, str]]:
    """The built-in problems as ``(name, description)`` pairs."""
    return list(_core.presets())


from . import fp, hjb, weno  # noqa: E402  (they use Problem)
from .sweep import Sweep, sweep  # noqa: E402  (it uses solve)
