"""Grokking time against alpha (beyond the paper: Sec. 5.2 says only that it diverges as
alpha -> 0), from ``grokking_time.json``.

Left: t_grok (first epoch with test accuracy >= 0.9) against alpha, log-log, each seed
(dots) and the mean +- std over seeds; the pooled power-law fit t = c alpha^-p (line) and
the paper's two Fig. 5 values (crosses). Right: local exponents -dlog t/dlog alpha between
neighbouring alphas (geometric mean over seeds), with the seed-level 95% interval of p.

Verdict rule: see ``paper_figs/_common.py``; the Fig. 5 epochs are digitized to about 2%.

    python -m paper_figs.grokking_time results/grokking_time/grokking_time.json [out_dir]
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from logitreg import paper
from paper_figs._common import claim, load, row, save

FIGURE = {"name": "grokking_time", "script": "simulations/grokking_time.py",
          "paper": ["Fig. 5 (beyond)"], "title": "Grokking time vs alpha (t ~ alpha^-p)"}
KEY = "epoch_test_acc_0.9"


def plot(json_path, out_dir) -> list[Path]:
    data = load(json_path)
    cfg, law, per = data["config"], data["law"], data["per_alpha"]
    al = np.array(cfg["alphas"])
    fig, (ax, ax_p) = plt.subplots(1, 2, figsize=(10, 4))
    for rec in data["records"]:
        t = np.array([np.nan if v is None else v for v in rec["t_grok"]])
        ax.plot(al, t, ".", color="tab:gray", ms=4)
    m = np.array([np.nan if r["t_grok_mean"] is None else r["t_grok_mean"] for r in per])
    sd = np.array([0.0 if r["t_grok_std"] is None else r["t_grok_std"] for r in per])
    ax.errorbar(al, m, sd, color="tab:blue", marker="o", ms=4, capsize=2, ls="none",
                label="mean ± std over seeds")
    ax.plot(al, np.exp(law["log_c_pooled"]) * al ** -law["p_pooled"], "k-", lw=1,
            label=f"fit: p = {law['p_pooled']:.3f}")
    ref = [(a, v[KEY]) for a, v in paper.FIG5.items() if v.get(KEY)]
    ax.plot(*zip(*ref, strict=True), "rx", ms=9, label="paper (Fig. 5)")
    ax.set(xscale="log", yscale="log", xlabel="α", ylabel=f"epoch of test accuracy {cfg['level']}")
    ax.legend(fontsize=8)
    if law["local_p"]:
        ax_p.plot(law["local_alpha"], law["local_p"], "o-", label="local exponent")
    if law["p_ci"] is not None:
        ax_p.axhspan(*law["p_ci"], color="tab:blue", alpha=0.2,
                     label=f"p over seeds: {law['p_mean']:.3f}, 95% CI")
    ax_p.set(xscale="log", xlabel="α", ylabel="-dlog t / dlog α")
    ax_p.legend(fontsize=8)
    for a in (ax, ax_p):
        a.grid(alpha=0.3, lw=0.4, which="both")
    fig.suptitle(f"Grokking time: d = {cfg['d']}, N = {cfg['n']}, {cfg['method']}, "
                 f"{len(cfg['seed_list'])} seeds", fontsize=10)
    fig.tight_layout()
    return save(fig, out_dir, FIGURE["name"])


def reproduction(json_path) -> list[dict]:
    data = load(json_path)
    cfg, law = data["config"], data["law"]
    n = len(cfg["seed_list"])
    fig5 = (cfg["d"], cfg["n"], cfg["level"]) == (1400, 2000, 0.9)
    rows = []
    if law["p_ci"] is not None:
        lo, hi = law["p_ci"]
        rows.append(row("Grokking time", "exponent p of t_grok ∝ α^-p (per seed)",
                        f"α in [{min(cfg['alphas']):g}, {max(cfg['alphas']):g}]",
                        mean=law["p_mean"], std=law["p_std"], n=n, verdict="no paper value",
                        note=f"95% CI over seeds [{lo:.3f}, {hi:.3f}]; pooled fit "
                             f"{law['p_pooled']:.3f} (R² {law['r2_pooled']:.4f}); the "
                             "paper's two Fig. 5 points give 0.61"))
    if law["local_p"]:
        rows.append(claim("Grokking time", "one exponent over the whole range (local p)",
                          "neighbouring alphas", max(law["local_p"]) - min(law["local_p"]) < 0.1,
                          note="local p from small to large α: "
                               + ", ".join(f"{p:.2f}" for p in law["local_p"])))
    for r in data["per_alpha"]:
        ref = paper.FIG5.get(r["alpha"], {}).get(KEY) if fig5 else None
        if ref is None and r["n_reached"] == r["n_seeds"]:
            continue
        if r["t_grok_mean"] is None or r["n_reached"] < r["n_seeds"]:
            rows.append(row("Grokking time", "t_grok (test accuracy 0.9)", f"α = {r['alpha']:g}",
                            paper=ref, n=r["n_seeds"], verdict="not reached in every seed",
                            note=f"reached in {r['n_reached']}/{r['n_seeds']} seeds by "
                                 f"{cfg['epochs']} epochs"))
            continue
        rows.append(row("Grokking time", "t_grok (test accuracy 0.9)", f"α = {r['alpha']:g}",
                        paper=ref, mean=r["t_grok_mean"], std=r["t_grok_std"], n=r["n_seeds"],
                        digitization=0.02 * ref, note="seeds 0-2 are the data of Fig. 5"))
    return rows


if __name__ == "__main__":
    print(plot(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else Path(sys.argv[1]).parent))
