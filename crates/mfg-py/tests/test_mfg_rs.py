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
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    start = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        mfg_rs.solve(**long_solve_args())
    timer.join()
    assert time.perf_counter() - start < 5.0


def test_plot_draws_when_matplotlib_is_installed():
    plt = pytest.importorskip("matplotlib.pyplot")
    sol = mfg_rs.solve(grid__nx=40, grid__nt=20)
    ax = sol.plot()
    assert ax is not None
    plt.close("all")
