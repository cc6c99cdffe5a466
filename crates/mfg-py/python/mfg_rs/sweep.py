"""Parameter sweeps: one solve per point of a grid of parameters, locally or on Dask.

``mfg_rs.sweep(base, {"model.sigma": [0.2, 0.3], "model.coupling_strength": [0.1, 0.5]})``
solves the 4 points of the product, each as ``mfg_rs.solve(base, **point)``: in a local
process pool (``processes`` workers, default the machine's cores), or, with ``client=`` a
Dask ``distributed.Client``, as one task per point on its cluster (the scheduler re-runs the
tasks of a worker that dies). With ``warm_start="model.sigma"`` the points are solved in order
of that key, each from the density of its neighbour (one task per chain along the key: a
continuation). With ``out=DIR`` every point also writes the command line's files into
``DIR/point-000``, ``point-001``, ...
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence

from . import Solution, solve


@dataclass
class Sweep:
    """The points of a sweep (dicts of config keys) and their solutions, in the same order."""

    points: List[Dict[str, Any]]
    solutions: List[Solution]

    def __len__(self) -> int:
        return len(self.points)

    def __iter__(self) -> Iterator[Solution]:
        return iter(self.solutions)

    def __getitem__(self, i: int) -> Solution:
        return self.solutions[i]

    def to_xarray(self) -> Any:
        """An ``xarray.Dataset`` with ``u`` and ``m`` over the swept keys and the grid
        (needs ``xarray``; every point must share the grid)."""
        import numpy as np
        import xarray as xr

        keys = list(self.points[0])
        values = {k: sorted({p[k] for p in self.points}) for k in keys}
        first = self.solutions[0]
        dims = (["t"] if first.t is not None else []) + ["x", "y", "z"][: _dim(first)]
        shape = [len(values[k]) for k in keys] + list(first.u.shape)
        u = np.full(shape, np.nan)
        m = np.full(shape, np.nan)
        for p, s in zip(self.points, self.solutions):
            index = tuple(values[k].index(p[k]) for k in keys)
            u[index] = s.u
            m[index] = s.m
        coords: Dict[str, Any] = {k.replace(".", "_"): values[k] for k in keys}
        coords["x"] = first.x
        if first.t is not None:
            coords["t"] = first.t
        if first.y is not None:
            coords["y"] = first.y
        if first.z is not None:
            coords["z"] = first.z
        names = [k.replace(".", "_") for k in keys] + dims
        return xr.Dataset({"u": (names, u), "m": (names, m)}, coords=coords)


def _dim(s: Solution) -> int:
    return 1 + (s.y is not None) + (s.z is not None)


def _points(params: Mapping[str, Sequence[Any]]) -> List[Dict[str, Any]]:
    keys = list(params)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(params[k] for k in keys))]


def _solve_chain(base: Any, preset: Optional[str], chain: List[Dict[str, Any]],
                 outs: List[Optional[str]]) -> List[Solution]:
    """Solve the points of one chain in order, each warm-started from the previous one's
    density (through its output directory, a temporary one when none is asked for)."""
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        previous: Optional[str] = None
        for i, (point, out) in enumerate(zip(chain, outs)):
            target = out or os.path.join(scratch, f"chain-{i}")
            extra = dict(point)
            if previous is not None:
                extra["iteration.warm_start"] = previous
            results.append(solve(base, preset=preset, out=target, **extra))
            previous = target
    return results


def _solve_point(base: Any, preset: Optional[str], point: Dict[str, Any],
                 out: Optional[str]) -> Solution:
    return solve(base, preset=preset, out=out, **point)


def sweep(
    base: Any = None,
    params: Optional[Mapping[str, Sequence[Any]]] = None,
    client: Any = None,
    *,
    preset: Optional[str] = None,
    warm_start: Optional[str] = None,
    out: Optional[str] = None,
    processes: Optional[int] = None,
) -> Sweep:
    """Solve ``base`` (a config as :func:`mfg_rs.solve` takes it) at every point of the
    product of ``params`` (config key -> values); see the module docs."""
    if not params:
        raise ValueError("params: give at least one key with a list of values")
    points = _points(params)
    outs: List[Optional[str]] = [
        None if out is None else os.path.join(os.fspath(out), f"point-{i:03d}")
        for i in range(len(points))
    ]
    if warm_start is not None:
        if warm_start not in params:
            raise ValueError(f"warm_start: {warm_start!r} is not one of the swept keys")
        # Chains: the points that differ only in the warm-start key, in its order.
        others = [k for k in params if k != warm_start]
        chains: Dict[tuple, List[int]] = {}
        for i, p in enumerate(points):
            chains.setdefault(tuple(p[k] for k in others), []).append(i)
        order = {v: j for j, v in enumerate(params[warm_start])}
        tasks = [sorted(ix, key=lambda i: order[points[i][warm_start]]) for ix in chains.values()]
        run_task = _solve_chain
        args = [(base, preset, [points[i] for i in ix], [outs[i] for i in ix]) for ix in tasks]
    else:
        tasks = [[i] for i in range(len(points))]
        run_task = _solve_point
        args = [(base, preset, points[i], outs[i]) for i in range(len(points))]

    if client is not None:
        futures = [client.submit(run_task, *a, pure=False) for a in args]
        results = client.gather(futures)
    else:
        workers = processes or os.cpu_count() or 1
        # Spawned, not forked: a forked child would inherit the parent's thread pools without
        # their threads.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(workers, len(args)), mp_context=context) as pool:
            results = list(pool.map(run_task, *zip(*args)))

    solutions: List[Optional[Solution]] = [None] * len(points)
    for ix, result in zip(tasks, results):
        if warm_start is None:
            solutions[ix[0]] = result
        else:
            for i, s in zip(ix, result):
                solutions[i] = s
    return Sweep(points=points, solutions=[s for s in solutions if s is not None])
