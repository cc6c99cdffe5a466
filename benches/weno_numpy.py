"""NumPy baseline for the WENO5-JS reconstruction benchmark (crates/weno-kernels/benches).

Times, on the same data as the Rust bench (sin(2 pi x) + tanh(40 (x - 0.5))):
  * per-call: one Python function call per stencil on a 5-element NumPy array (how
    MFG_PDE-style code calls its WENO kernel);
  * vectorised: the same formulas on whole NumPy arrays.
Prints ns per point for both. Run: python3 benches/weno_numpy.py (needs numpy).
"""
import sys
import time

import numpy as np

EPS = 1e-6
D = np.array([0.1, 0.6, 0.3])


def data(n):
    x = np.arange(n + 4) / n
    return np.sin(2 * np.pi * x) + np.tanh(40 * (x - 0.5))


def weno5_point(v):
    """One stencil v[0..5] -> the left-biased value at the right interface of v[2]."""
    b = np.array([
        13 / 12 * (v[0] - 2 * v[1] + v[2]) ** 2 + 0.25 * (v[0] - 4 * v[1] + 3 * v[2]) ** 2,
        13 / 12 * (v[1] - 2 * v[2] + v[3]) ** 2 + 0.25 * (v[1] - v[3]) ** 2,
        13 / 12 * (v[2] - 2 * v[3] + v[4]) ** 2 + 0.25 * (3 * v[2] - 4 * v[3] + v[4]) ** 2,
    ])
    a = D / (EPS + b) ** 2
    w = a / a.sum()
    q = np.array([
        (2 * v[0] - 7 * v[1] + 11 * v[2]) / 6,
        (-v[1] + 5 * v[2] + 2 * v[3]) / 6,
        (2 * v[2] + 5 * v[3] - v[4]) / 6,
    ])
    return float(w @ q)


def weno5_vectorised(v):
    a, b, c, d, e = v[:-4], v[1:-3], v[2:-2], v[3:-1], v[4:]
    b0 = 13 / 12 * (a - 2 * b + c) ** 2 + 0.25 * (a - 4 * b + 3 * c) ** 2
    b1 = 13 / 12 * (b - 2 * c + d) ** 2 + 0.25 * (b - d) ** 2
    b2 = 13 / 12 * (c - 2 * d + e) ** 2 + 0.25 * (3 * c - 4 * d + e) ** 2
    a0, a1, a2 = 0.1 / (EPS + b0) ** 2, 0.6 / (EPS + b1) ** 2, 0.3 / (EPS + b2) ** 2
    s = a0 + a1 + a2
    return (a0 * (2 * a - 7 * b + 11 * c) + a1 * (-b + 5 * c + 2 * d) + a2 * (2 * c + 5 * d - e)) / (6 * s)


def best_of(f, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    n_call, n_vec = 4096, 65536
    v = data(n_call)
    stencils = [v[i:i + 5] for i in range(n_call)]
    ref = weno5_vectorised(v)
    assert np.allclose([weno5_point(s) for s in stencils[:50]], ref[:50], rtol=1e-12)
    per_call = best_of(lambda: [weno5_point(s) for s in stencils], 3) / n_call
    w = data(n_vec)
    vec = best_of(lambda: weno5_vectorised(w), 20) / n_vec
    print(f"numpy per-call   n={n_call}: {per_call * 1e9:10.1f} ns/point")
    print(f"numpy vectorised n={n_vec}: {vec * 1e9:10.1f} ns/point")
    print(f"numpy {np.__version__}, python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
