"""The Python package: NumPy results, the CLI's config layer, errors, GIL and Ctrl-C."""

import json
import os
import signal
import threading
import time
import warnings

import numpy as np
import pytest

import mfg_rs


def trapezoid_weights(x):
    w = np.full(x.shape, x[1] - x[0])
    w[0] *= 0.5
    w[-1] *= 0.5
    return w


def test_default_solve_returns_numpy_arrays_of_the_file_shapes():
    sol = mfg_rs.solve()
    assert sol.converged and sol.termination == "converged"
    nt = sol.summary["grid"]["nt"]
    assert sol.u.shape == sol.m.shape == (nt + 1, sol.x.size)
    assert sol.t.shape == (nt + 1,)
    for a in (sol.u, sol.m, sol.x, sol.t):
        assert a.dtype == np.float64 and a.flags["C_CONTIGUOUS"]
    # Mass one on every level, in the grid's quadrature; m >= 0.
    mass = sol.m @ trapezoid_weights(sol.x)
    assert np.max(np.abs(mass - 1.0)) < 1e-12
    assert sol.m.min() >= 0.0
    assert sol.summary["preset"] == "crowd"


def test_config_as_dict_toml_text_or_path_and_overrides_by_key(tmp_path):
    by_dict = mfg_rs.solve({"grid": {"nx": 60}, "model": {"sigma": 0.4}})
    by_text = mfg_rs.solve("[grid]\nnx = 60\n[model]\nsigma = 0.4\n")
    by_kwargs = mfg_rs.solve(grid__nx=60, model__sigma=0.4)
    by_dotted = mfg_rs.solve(**{"grid.nx": 60, "model.sigma": 0.4})
    for sol in (by_text, by_kwargs, by_dotted):
        assert sol.x.size == 61
        np.testing.assert_array_equal(sol.m, by_dict.m)
    # A file, and the overrides after it (defaults < preset < file < overrides).
    path = tmp_path / "small.toml"
    path.write_text('preset = "mfg-pde-tutorial"\n[grid]\nnx = 40\nnt = 20\n')
    sol = mfg_rs.solve(path, grid__nt=30)
    assert mfg_rs.solve(str(path), grid__nt=30).u.shape == (31, 41)
    assert sol.summary["preset"] == "mfg-pde-tutorial"
    assert sol.u.shape == (31, 41)


def test_presets_and_two_dimensional_shapes():
    names = [name for name, _ in mfg_rs.presets()]
    assert "crowd" in names and "stationary-torus" in names
    sol = mfg_rs.solve(preset="crowd-2d", grid__nx=16, grid__ny=12, grid__nt=10)
    assert sol.u.shape == (11, 17, 13)
    assert sol.y.shape == (13,)
    assert sol.converged


def test_the_hamiltonian_families_are_reachable_by_key_and_checked():
    for preset, family in (
        ("crowd-power", "power"),
        ("crowd-speed-limit", "bounded"),
        ("corridor-congestion", "congestion"),
        ("torus-nonlocal", "nonlocal"),
    ):
        sol = mfg_rs.solve(preset=preset)
        assert sol.converged and (sol.m >= 0).all()
        assert family in json.dumps(sol.summary)
    # The same family by keys: bitwise the preset's.
    by_keys = mfg_rs.solve(preset="crowd", model__hamiltonian="bounded", model__control_bound=0.5)
    assert by_keys.m.tobytes() == mfg_rs.solve(preset="crowd-speed-limit").m.tobytes()
    with pytest.raises(mfg_rs.ConfigError) as e:
        mfg_rs.solve(model__hamiltonian="power", model__hamiltonian_exponent=1.0)
    assert e.value.key == "model.hamiltonian_exponent"


def test_the_thread_count_changes_no_bit():
    # 130 x 130 points: above the size from which the kernels split their work.
    sets = dict(preset="crowd-2d", grid__nx=129, grid__ny=129, grid__nt=4)
    sets["iteration.max_iterations"] = 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mfg_rs.NotConvergedWarning)
        one = mfg_rs.solve(iteration__threads=1, **sets)
        two = mfg_rs.solve(iteration__threads=2, **sets)
    assert one.u.tobytes() == two.u.tobytes()
    assert one.m.tobytes() == two.m.tobytes()
    with pytest.raises(mfg_rs.ConfigError) as e:
        mfg_rs.solve(iteration__threads=5000)
    assert e.value.key == "iteration.threads"


def test_stationary_solutions_have_the_grid_shape_and_the_ergodic_constant():
    sol = mfg_rs.solve(preset="stationary-torus", grid__nx=16, grid__ny=16)
    assert sol.stationary and sol.t is None
    assert sol.u.shape == sol.m.shape == (16, 16)
    assert sol.ergodic_constant == pytest.approx(sol.summary["ergodic_constant"])
    dx = 1.0 / 16
    assert sol.m.sum() * dx * dx == pytest.approx(1.0, abs=1e-12)


def test_bad_input_raises_config_error_naming_the_key():
    with pytest.raises(mfg_rs.ConfigError) as e:
        mfg_rs.solve(grid__nx=-3)
    assert e.value.key == "grid.nx"
    assert isinstance(e.value, ValueError)
    with pytest.raises(mfg_rs.ConfigError) as e:
        mfg_rs.solve(grid__nope=1)
    assert "nope" in str(e.value)
    with pytest.raises(mfg_rs.ConfigError) as e:
        mfg_rs.solve(iteration__method="newton", hjb__method="weno5")
    assert e.value.key == "hjb.method"
    with pytest.raises(mfg_rs.ConfigError) as e:
        mfg_rs.solve(preset="no-such-preset")
    assert e.value.key == "preset"
    with pytest.raises(mfg_rs.ConfigError):
        mfg_rs.solve(format="xlsx")
    with pytest.raises(mfg_rs.ConfigError):
        mfg_rs.solve(grid__nx=object())


def test_non_convergence_is_a_flag_and_a_warning():
    with pytest.warns(mfg_rs.NotConvergedWarning):
        sol = mfg_rs.solve(
            iteration__method="picard",
            iteration__max_iterations=3,
            iteration__continuation="off",
        )
    assert not sol.converged
    assert sol.termination == "max-iterations"


def test_out_writes_the_command_line_files(tmp_path):
    out = tmp_path / "r"
    sol = mfg_rs.solve(preset="mfg-pde-tutorial", out=out)
    assert sorted(os.listdir(out)) == sorted(
        ["u.npy", "m.npy", "x.npy", "t.npy", "config.toml", "summary.json", ".mfg-lock"]
    )
    np.testing.assert_array_equal(np.load(out / "u.npy"), sol.u)
    np.testing.assert_array_equal(np.load(out / "m.npy"), sol.m)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["iterations"] == sol.summary["iterations"]
    assert set(summary["files"]) == {"u.npy", "m.npy", "x.npy", "t.npy", "config.toml"}
    assert len(sol.files) == 6


def test_progress_sees_every_iteration_and_its_exception_stops_the_solve():
    seen = []
    sol = mfg_rs.solve(
        iteration__method="picard",
        progress=lambda k, ru, rm: seen.append((k, ru, rm)),
    )
    assert [k for k, _, _ in seen] == list(range(1, sol.summary["iterations"] + 1))
    assert seen[-1][2] == pytest.approx(sol.summary["history"][-1]["residual_m"])

    class Stop(Exception):
        pass

    def stop_at_three(k, ru, rm):
        if k == 3:
            raise Stop()

    with pytest.raises(Stop):
        mfg_rs.solve(iteration__method="picard", progress=stop_at_three)


def long_solve_args():
    # WENO5 at nx = 3000: minutes of work, stopped long before.
    return dict(hjb__method="weno5", grid__nx=3000)


def test_the_gil_is_released_while_solving():
    ticks = []
    done = threading.Event()

    def work():
        try:
            mfg_rs.solve(preset="crowd-2d", grid__nx=60, grid__ny=60)
        finally:
            done.set()

    worker = threading.Thread(target=work)
    start = time.perf_counter()
    worker.start()
    while not done.is_set():
        ticks.append(time.perf_counter())
        time.sleep(0.001)
    worker.join()
    elapsed = time.perf_counter() - start
    assert elapsed > 0.1, "the solve is too short to tell"
    # With the GIL held by the solve, this thread would not run until it ended.
    assert len(ticks) > 20, (len(ticks), elapsed)


def test_ctrl_c_stops_a_solve_with_keyboard_interrupt():
    # Python turns SIGINT into KeyboardInterrupt only if its parent left SIGINT alone: a shell
    # that starts this run in the background without job control makes it ignored (a local
    # CI run hung here that way). Install the default handler for the test.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    start = time.perf_counter()
    try:
        with pytest.raises(KeyboardInterrupt):
            mfg_rs.solve(**long_solve_args())
    finally:
        timer.join()
        signal.signal(signal.SIGINT, previous)
    assert time.perf_counter() - start < 5.0


def test_plot_draws_when_matplotlib_is_installed():
    plt = pytest.importorskip("matplotlib.pyplot")
    sol = mfg_rs.solve(grid__nx=40, grid__nt=20)
    ax = sol.plot()
    assert ax is not None
    plt.close("all")


def cli_binary():
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
    path = os.path.join(root, "target", "release", "mfg-cli")
    return path if os.path.exists(path) else None


@pytest.mark.parametrize(
    "sets",
    [
        ["preset=mfg-pde-tutorial"],
        ["preset=crowd-2d", "grid.nx=20", "grid.ny=16", "grid.nt=10"],
        ["preset=stationary-crowd"],
    ],
)
def test_arrays_are_bitwise_those_of_the_command_line(tmp_path, sets):
    import subprocess

    binary = cli_binary()
    if binary is None:
        pytest.skip("target/release/mfg-cli is not built (cargo build --release -p mfg-cli)")
    args = [binary, "solve", "--quiet", "--out", str(tmp_path / "cli")]
    for s in sets:
        args += ["--set", s]
    subprocess.run(args, check=True)
    overrides = {}
    for s in sets:
        key, value = s.split("=", 1)
        overrides[key] = int(value) if value.isdigit() else value
    preset = overrides.pop("preset")
    sol = mfg_rs.solve(preset=preset, **overrides)
    for name in ["u", "m", "x"] + ([] if sol.stationary else ["t"]):
        cli = np.load(tmp_path / "cli" / f"{name}.npy")
        ours = getattr(sol, name)
        assert cli.shape == ours.shape and cli.dtype == ours.dtype, name
        assert cli.tobytes() == ours.tobytes(), f"{name} differs"


def test_component_solves_reproduce_the_coupled_solution():
    # At the fixed point u = HJB(m) and m = FP(u): the components applied to a converged
    # solution give it back (to the coupling tolerance).
    problem = mfg_rs.Problem(preset="mfg-pde-tutorial", iteration__tolerance=1e-10)
    assert problem.field_shape == (51, 101)
    sol = mfg_rs.solve(problem.config_toml)
    u = mfg_rs.hjb.solve(problem, sol.m)
    m = mfg_rs.fp.solve(problem, u)
    assert u.shape == m.shape == problem.field_shape
    assert np.max(np.abs(u - sol.u)) < 1e-8
    assert np.max(np.abs(m - sol.m)) < 1e-8
    # 2D fields keep the grid's shape; a flat (levels, points) array is accepted too.
    p2 = mfg_rs.Problem(preset="crowd-2d", grid__nx=10, grid__ny=8, grid__nt=5)
    m0 = np.ones(p2.field_shape)
    assert mfg_rs.hjb.solve(p2, m0).shape == (6, 11, 9)
    assert mfg_rs.hjb.solve(p2, m0.reshape(6, -1)).shape == (6, 11, 9)
    with pytest.raises(ValueError):
        mfg_rs.hjb.solve(p2, np.ones((6, 5)))
    with pytest.raises(ValueError):
        mfg_rs.fp.solve(p2, np.full(p2.field_shape, np.nan))
    with pytest.raises(mfg_rs.ConfigError):
        mfg_rs.Problem(grid__nt=0)


def reference_smoothness(s):
    a, b, c, d, e = (s[..., k] for k in range(5))
    b0 = 13 / 12 * (a - 2 * b + c) ** 2 + 0.25 * (a - 4 * b + 3 * c) ** 2
    b1 = 13 / 12 * (b - 2 * c + d) ** 2 + 0.25 * (b - d) ** 2
    b2 = 13 / 12 * (c - 2 * d + e) ** 2 + 0.25 * (3 * c - 4 * d + e) ** 2
    return np.stack([b0, b1, b2], axis=-1)


def test_weno_kernels_match_the_jiang_shu_formulas_on_arrays_and_single_stencils():
    rng = np.random.default_rng(1)
    stencils = rng.normal(size=(1000, 5))
    beta = mfg_rs.weno.smoothness(stencils)
    np.testing.assert_allclose(beta, reference_smoothness(stencils), rtol=1e-13, atol=1e-14)
    one = mfg_rs.weno.smoothness(stencils[7])
    np.testing.assert_array_equal(one, beta[7])
    # Jiang-Shu weights: alpha_k = d_k / (1e-6 + beta_k)^2, normalised.
    alpha = np.array([0.1, 0.6, 0.3]) / (1e-6 + beta) ** 2
    np.testing.assert_allclose(
        mfg_rs.weno.weights(beta), alpha / alpha.sum(axis=-1, keepdims=True), rtol=1e-12
    )
    for kind in ("z", "m"):
        w = mfg_rs.weno.weights(beta, kind)
        np.testing.assert_allclose(w.sum(axis=-1), 1.0, rtol=1e-14)
    # Reconstruction of interface values from cell averages: fifth order on smooth data.
    x = np.linspace(0, 1, 201)
    h = x[1] - x[0]
    k = 2 * np.pi
    v = (np.cos(k * (x - h / 2)) - np.cos(k * (x + h / 2))) / (k * h)  # averages of sin
    r = mfg_rs.weno.reconstruct(v)
    interfaces = 0.5 * (x[2:-2] + x[3:-1])
    assert r.shape == (197,)
    assert np.max(np.abs(r - np.sin(2 * np.pi * interfaces))) < 1e-8
    # HJ derivatives of a periodic sine.
    n = 128
    xp = np.arange(n) / n
    minus, plus = mfg_rs.weno.hj_derivatives(np.sin(2 * np.pi * xp), 1.0 / n)
    exact = 2 * np.pi * np.cos(2 * np.pi * xp)
    assert np.max(np.abs(minus - exact)) < 1e-6 and np.max(np.abs(plus - exact)) < 1e-6
    with pytest.raises(ValueError):
        mfg_rs.weno.smoothness(np.ones((4, 4)))
    with pytest.raises(ValueError):
        mfg_rs.weno.weights(beta, "q")


SWEEP = {"model.sigma": [0.3, 0.4], "model.coupling_strength": [0.1, 0.3, 0.5, 0.7]}


def test_a_local_sweep_equals_local_solves_and_warm_starts_along_an_axis(tmp_path):
    result = mfg_rs.sweep({"grid": {"nx": 60, "nt": 30}}, SWEEP, processes=2, out=tmp_path)
    assert len(result) == 8
    for point, sol in zip(result.points, result):
        direct = mfg_rs.solve({"grid": {"nx": 60, "nt": 30}}, **point)
        assert sol.m.tobytes() == direct.m.tobytes()
    assert sorted(os.listdir(tmp_path)) == [f"point-{i:03d}" for i in range(8)]
    # Warm starts along the coupling: the same solutions to the tolerance, fewer iterations.
    warm = mfg_rs.sweep(
        {"grid": {"nx": 60, "nt": 30}, "iteration": {"method": "picard"}},
        SWEEP,
        processes=2,
        warm_start="model.coupling_strength",
    )
    cold = mfg_rs.sweep(
        {"grid": {"nx": 60, "nt": 30}, "iteration": {"method": "picard"}}, SWEEP, processes=2
    )
    assert warm.points == cold.points
    for w, c in zip(warm, cold):
        assert np.max(np.abs(w.m - c.m)) < 1e-6
    assert sum(s.summary["iterations"] for s in warm) < sum(s.summary["iterations"] for s in cold)
    xr = pytest.importorskip("xarray")
    ds = result.to_xarray()
    assert ds["m"].shape == (2, 4, 31, 61)
    assert isinstance(ds, xr.Dataset)


def test_a_sweep_on_a_two_worker_local_cluster_survives_a_killed_worker():
    distributed = pytest.importorskip("distributed")
    base = {"grid": {"nx": 1000, "nt": 200}}  # ~0.5 s a point: the kill lands mid-sweep
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        pids = client.run(os.getpid)
        victim = next(iter(pids.values()))
        # SIGKILL one worker process while the sweep runs: the nanny restarts it and the
        # scheduler re-runs its tasks.
        killer = threading.Timer(0.8, lambda: os.kill(victim, signal.SIGKILL))
        killer.start()
        start = time.perf_counter()
        result = mfg_rs.sweep(base, SWEEP, client=client)
        elapsed = time.perf_counter() - start
        killer.join()
        assert elapsed > 0.8, "the sweep ended before the kill"
        with pytest.raises(ProcessLookupError):
            os.kill(victim, 0)
    assert len(result) == 8
    for point, sol in zip(result.points, result):
        direct = mfg_rs.solve(base, **point)
        assert sol.m.tobytes() == direct.m.tobytes()


def test_exits_and_obstacles_from_python():
    room = mfg_rs.solve(preset="evacuation-2d", **{"grid.nx": 39, "grid.ny": 39, "grid.nt": 20})
    assert room.converged
    assert room.geometry.shape == room.m.shape[1:]
    assert set(np.unique(room.geometry)) == {0.0, 1.0, 2.0}
    assert np.all(room.m[:, room.geometry != 0] == 0)  # no density at exits or in the pillar
    exited = room.mass_exited
    assert exited.shape == (21,) and exited[0] == 0 and exited[-1] > 0.9
    assert np.all(np.diff(exited) >= -1e-15)
    assert 0 < room.evacuation["t_50"] < room.evacuation["t_90"]
    corridor = mfg_rs.solve(preset="exit-1d")
    # The mass inside (trapezoid at the wall, the exit point holds none) plus what has left is 1.
    w = np.full(corridor.x.size, corridor.x[1] - corridor.x[0])
    w[0] *= 0.5
    w[-1] *= 0.5
    assert np.allclose(corridor.m @ w + corridor.mass_exited, 1.0, atol=1e-12)
    with pytest.raises(mfg_rs.ConfigError, match="grid.x_max"):
        mfg_rs.solve(preset="exit-1d", **{"grid.x_max": "door"})
    with pytest.raises(mfg_rs.ConfigError, match="hjb.method"):
        mfg_rs.solve(preset="exit-1d", **{"hjb.method": "weno5"})


def test_the_coarse_start_key():
    sol = mfg_rs.solve(
        preset="crowd-2d",
        **{"grid.nx": 128, "grid.ny": 128, "grid.nt": 10, "iteration.coarse_start": "on"},
    )
    assert sol.converged and sol.summary["coarse_start"][0]["shape"] == [65, 65]
    with pytest.raises(mfg_rs.ConfigError, match="iteration.coarse_start"):
        mfg_rs.solve(preset="crowd", **{"iteration.coarse_start": "maybe"})


def test_the_command_line_pictures_from_python(tmp_path):
    out = tmp_path / "room"
    mfg_rs.solve(preset="evacuation-2d", out=out, **{"grid.nx": 29, "grid.ny": 29, "grid.nt": 10})
    files = mfg_rs.plot(out, animate=True)
    names = sorted(os.path.basename(f) for f in files)
    assert names == ["convergence.png", "density.gif", "density.png", "exited.png", "value.png"]
    assert (out / "density.gif").read_bytes().startswith(b"GIF89a")
    with pytest.raises(mfg_rs.ConfigError, match="DIR"):
        mfg_rs.plot(tmp_path / "nothing")
