"""Fig. 10 of Beck, Bar-Sinai & Levi (2026): the finite-sample alpha-plateau, from
``fig10.json``.

tan(theta) between the minimiser of (1 - alpha) CE + alpha z^2 and the quadratic-loss
minimiser (a = b = 1: the empirical Fisher direction) against alpha, one curve per N
(mean +- std over seeds, log axes); the dotted line is the plateau tolerance.

The paper gives no numbers. Its claims are checked on the seed means: small N deviates at
small alpha (tan theta at the smallest alpha decreases with N) and larger N reaches the
plateau (tan theta <= 0.01 from there on, :func:`logitreg.toys.plateau_onset`) at smaller
alpha. Verdict rule in ``paper_figs/_common.py``.

    python -m paper_figs.fig10 results/fig10/fig10.json [out_dir]
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from logitreg.toys import plateau_onset
from paper_figs._common import claim, load, save

FIGURE = {"name": "fig10", "script": "simulations/fig10.py", "paper": ["Fig. 10"],
          "title": "Fig. 10 (finite-sample alpha-plateau)"}
EPS = 0.01  # plateau tolerance on tan(theta), about 0.6 degrees


def _curves(data):
    alphas = np.array(data["config"]["alphas"])
    out = {}
    for r in sorted(data["summary"], key=lambda r: r["n"]):
        m = np.array([r[f"tan_theta_{j}_mean"] for j in range(alphas.size)])
        s = np.array([r[f"tan_theta_{j}_std"] or 0.0 for j in range(alphas.size)])
        out[r["n"]] = (m, s, r)
    return alphas, out


def plot(json_path, out_dir) -> list[Path]:
    data = load(json_path)
    cfg = data["config"]
    alphas, curves = _curves(data)
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for n, (m, s, _) in curves.items():
        line, = ax.plot(alphas, m, marker=".", label=f"N = {n}")
        ax.fill_between(alphas, np.maximum(m - s, 1e-6), m + s, color=line.get_color(),
                        alpha=0.15, lw=0)
    ax.axhline(EPS, color="k", ls=":", lw=1, label=f"plateau: tan θ ≤ {EPS}")
    ax.set(xscale="log", yscale="log", xlabel="α", ylabel="tan θ(S_min(α), S_quad)",
           ylim=(1e-5, None), title=f"Fig. 10: 2-D Gaussian data, {len(cfg['seed_list'])} seeds")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, lw=0.4, which="both")
    fig.tight_layout()
    return save(fig, out_dir, FIGURE["name"])


def reproduction(json_path) -> list[dict]:
    data = load(json_path)
    alphas, curves = _curves(data)
    ns = list(curves)
    first = [curves[n][0][0] for n in ns]
    onset = [plateau_onset(alphas, curves[n][0], EPS) for n in ns]
    seeds = len(data["config"]["seed_list"])
    ok_onset = [o for o in onset if np.isfinite(o)]
    return [
        claim("Fig. 10", f"tan θ at α = {alphas[0]:.0e} decreases with N", "N = "
              + ", ".join(map(str, ns)), bool(np.all(np.diff(first) < 0)), n=seeds,
              note="tan θ = " + ", ".join(f"{v:.4f}" for v in first)),
        claim("Fig. 10", f"plateau onset α (tan θ ≤ {EPS}) decreases with N", "N = "
              + ", ".join(map(str, ns)),
              len(ok_onset) == len(onset) and bool(np.all(np.diff(onset) <= 0)), n=seeds,
              note="onset α = " + ", ".join(f"{v:.2g}" for v in onset)
                   + f" (the smallest α, {alphas[0]:.0e}, means: already on the plateau)"),
    ]


if __name__ == "__main__":
    print(plot(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else Path(sys.argv[1]).parent))
