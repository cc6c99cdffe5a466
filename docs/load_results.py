"""Load an mfg-cli result directory with NumPy and plot it with matplotlib.

    python3 docs/load_results.py [DIR]        (default DIR: mfg-out)

Needs numpy and matplotlib (pip install numpy matplotlib). Reads .npy or, after
`mfg-cli solve --format csv`, .csv files.
"""
import json
import os
import sys

import numpy as np


def load(directory, name):
    npy = os.path.join(directory, name + ".npy")
    if os.path.exists(npy):
        return np.load(npy)
    return np.loadtxt(os.path.join(directory, name + ".csv"), delimiter=",")


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "mfg-out"
    u, m, x, t = (load(d, n) for n in ("u", "m", "x", "t"))  # u, m: (nt+1, nx_pts)
    summary = json.load(open(os.path.join(d, "summary.json")))

    # Quadrature weights of the mass (trapezoid at no-flux walls, uniform when periodic).
    w = np.full_like(x, x[1] - x[0])
    if summary["grid"]["boundary"] == "no-flux":
        w[0] /= 2
        w[-1] /= 2
    print(f"{summary['termination']} after {summary['iterations']} iterations; "
          f"mass at t=0: {w @ m[0]:.15f}, at T: {w @ m[-1]:.15f}; "
          f"mean at T: {(w * x) @ m[-1]:.6f}")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(15, 4))
    pc = ax[0].pcolormesh(x, t, m, shading="auto")
    fig.colorbar(pc, ax=ax[0], label="m")
    ax[0].set(xlabel="x", ylabel="t", title="density m(t, x)")
    pc = ax[1].pcolormesh(x, t, u, shading="auto")
    fig.colorbar(pc, ax=ax[1], label="u")
    ax[1].set(xlabel="x", ylabel="t", title="value u(t, x)")
    h = summary["history"]
    ax[2].semilogy([r["residual_u"] for r in h], label="residual_u")
    ax[2].semilogy([r["residual_m"] for r in h], label="residual_m")
    ax[2].set(xlabel="iteration", title="convergence")
    ax[2].legend()
    fig.tight_layout()
    out = os.path.join(d, "overview.png")
    fig.savefig(out, dpi=100)
    print("wrote", out)


if __name__ == "__main__":
    main()
