"""Figs. 19-20 of Beck, Bar-Sinai & Levi (2026): the cosine law and C against sigma_f, from
``fig19_20.json``.

Left (Fig. 19): 1/cos^2 theta_1 against 1/sigma_n^2 for the exact minimisers, fresh data per
sigma_n (error bars: mean +- std over seeds) and common random numbers (the same draws
rescaled), GD after 2,000 epochs (open circles), the line 1 + C^2 x with our fitted C^2
(fresh data), the paper's C^2 = 0.783 (dashed) and the [DERIVED] C^2 (``asymptotic_C2``,
dotted); the cross is the paper's cos at sigma_n = 1. Right (Fig. 20): C = sigma_n |S_perp|/S_1
against sigma_f with the [DERIVED] sqrt(C^2) (dotted).

Verdict rule: see ``paper_figs/_common.py`` (|ours - paper| <= 2 std + digitization error;
0.0005 for the printed C^2 = 0.783, 0.002 for the digitized cosine).

    python -m paper_figs.fig19_20 results/fig19_20/fig19_20.json [out_dir]
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from logitreg import asymptotic_C2, paper
from paper_figs._common import claim, load, row, save

FIGURE = {"name": "fig19_20", "script": "simulations/fig19_20.py",
          "paper": ["Fig. 19", "Fig. 20"], "title": "Figs. 19-20 (cosine law, C vs sigma_f)"}


def _derived_C2(cfg, sigma_f=None):
    return float(asymptotic_C2(cfg["lam"], mu_f=1.0, sigma_f=cfg["sigma_f"] if sigma_f is None
                               else sigma_f))


def plot(json_path, out_dir) -> list[Path]:
    data = load(json_path)
    cfg, law = data["config"], data["law"]
    fig, (ax, ax20) = plt.subplots(1, 2, figsize=(10, 4))
    for fresh, style in ((True, dict(color="tab:blue", marker="o", label="exact, fresh data")),
                         (False, dict(color="tab:orange", marker="s", mfc="none",
                                      label="exact, common random numbers"))):
        rows = sorted((r for r in data["fig19"] if r["fresh"] == fresh),
                      key=lambda r: r["sigma_n"])
        x = [1 / r["sigma_n"] ** 2 for r in rows]
        ax.errorbar(x, [r["inv_cos2_mean"] for r in rows], [r["inv_cos2_std"] or 0 for r in rows],
                    ls="none", ms=4, capsize=2, **style)
    if data["fig19_gd"]:
        gd = data["fig19_gd"]
        ax.plot([1 / r["sigma_n"] ** 2 for r in gd], [r["inv_cos2_gd_mean"] for r in gd], "o",
                mfc="none", ms=8, color="tab:green", label=f"GD {cfg['epochs']} epochs")
    xs = np.linspace(0, 1 / min(cfg["sigma_ns"]) ** 2, 50)
    ax.plot(xs, 1 + law["fresh"]["C2_mean"] * xs, color="tab:blue", lw=1,
            label=f"fit: C² = {law['fresh']['C2_mean']:.3f}")
    ax.plot(xs, 1 + paper.FIG19["C2"] * xs, "k--", lw=1, label=f"paper: C² = {paper.FIG19['C2']}")
    ax.plot(xs, 1 + _derived_C2(cfg) * xs, "k:", lw=1,
            label=f"[DERIVED] C² = {_derived_C2(cfg):.3f}")
    ax.plot([1.0], [1 / paper.FIG19["cos_at_sigma_n_1"] ** 2], "kx", ms=8,
            label="paper cos at σ_n = 1")
    ax.set(xlabel="1/σ_n²", ylabel="1/cos² θ₁",
           title=f"Fig. 19: α = {cfg['alpha']}, σ_f = {cfg['sigma_f']}, λ = {cfg['lam']}")
    ax.legend(fontsize=7)
    rows = data["fig20"]
    sf = np.array([r["sigma_f"] for r in rows])
    ax20.errorbar(sf, [r["C_mean"] for r in rows], [r["C_std"] or 0 for r in rows], marker="o",
                  ms=4, capsize=2, label="exact minimiser")
    grid = np.linspace(0, max(sf), 50)
    ax20.plot(grid, [np.sqrt(_derived_C2(cfg, s)) for s in grid], "k:", label="[DERIVED] C")
    ax20.set(xlabel="σ_f", ylabel="C = σ_n |S⊥| / S₁",
             title=f"Fig. 20: α = {cfg['alpha20']}, σ_n = 1, λ = {cfg['lam']}")
    ax20.legend(fontsize=7)
    for a in (ax, ax20):
        a.grid(alpha=0.3, lw=0.4)
    fig.suptitle(f"N = {cfg['n']}, exact minimisers, {len(cfg['seed_list'])} seeds", fontsize=10)
    fig.tight_layout()
    return save(fig, out_dir, FIGURE["name"])


def reproduction(json_path) -> list[dict]:
    data = load(json_path)
    cfg, law = data["config"], data["law"]
    derived = _derived_C2(cfg)
    setting = f"α = {cfg['alpha']}, σ_f = {cfg['sigma_f']}, λ = {cfg['lam']}, N = {cfg['n']}"
    paper_setting = (cfg["alpha"], cfg["sigma_f"], cfg["lam"], cfg["n"]) == (0.2, 0.5, 0.7, 2000)
    ref = paper.FIG19["C2"] if paper_setting else None
    rows = []
    notes = {"fresh": "exact minimisers, fresh data per σ_n, the law fitted per seed",
             "crn": "exact minimisers, common random numbers (data rescaled), fitted per seed",
             "gd": f"{cfg['epochs']} epochs of GD ({cfg['method']}), fitted per seed",
             "gd_exact": "exact minimisers on the GD runs' data"}
    for kind, r in law.items():
        note = (f"{notes[kind]}; R² = {r['r2_mean']:.5f}, intercept "
                f"{r['intercept_mean']:.4f} ± {r['intercept_std'] or 0:.4f}")
        rows.append(row("Fig. 19", "C² of 1/cos² = 1 + C²/σ_n²", f"{setting}; {kind}",
                        paper=ref, mean=r["C2_mean"], std=r["C2_std"], n=r["n_seeds"],
                        theory=derived, note=note, digitization=5e-4))
    gd_row = next((r for r in rows if r["setting"].endswith("; gd")), None)
    if gd_row is not None and gd_row["verdict"].startswith("differs"):
        gd_row["note"] += (f"; our GD lies below its own minimiser on the same data (gd_exact: "
                           f"{law['gd_exact']['C2_mean']:.3f}) because 2,000 epochs are short of "
                           "convergence at small σ_n (next row); the paper's value lies above "
                           "both, and its start and exact protocol are not stated: cause unknown")
    if data["fig19_gd"]:
        gd = sorted(data["fig19_gd"], key=lambda r: r["sigma_n"])
        gap = [r["cos_gd_mean"] - r["cos_exact_mean"] for r in gd]
        done = [r["sigma_n"] for r, g in zip(gd, gap, strict=True) if abs(g) < 1e-3]
        rows.append(claim("Fig. 19", f"GD after {cfg['epochs']} epochs: cos(GD) - cos(minimiser)",
                          f"{setting}; σ_n = {gd[0]['sigma_n']:g}", True, mean=gap[0],
                          n=gd[0]["n_seeds"],
                          note=f"same data; the gap is below 1e-3 for σ_n >= "
                               f"{min(done) if done else 'none'}; at σ_n = {gd[0]['sigma_n']:g} "
                               f"GD is short of the minimiser (cos {gd[0]['cos_gd_mean']:.4f} vs "
                               f"{gd[0]['cos_exact_mean']:.4f}), which lowers its fitted C²")
                    | {"verdict": "no paper value"})
    one = [r for r in data["fig19"] if r["sigma_n"] == 1.0 and r["fresh"]]
    if one:
        o = one[0]
        rows.append(row("Fig. 19", "cos θ₁ at σ_n = 1", setting,
                        paper=paper.FIG19["cos_at_sigma_n_1"] if paper_setting else None,
                        mean=o["cos_e1_mean"], std=o["cos_e1_std"], n=o["n_seeds"],
                        theory=float(1 / np.sqrt(1 + derived)), note="exact minimiser"))
    fr = law["fresh"]
    se = (fr["intercept_std"] or 0.0) / np.sqrt(fr["n_seeds"])
    rows.append(claim("Fig. 19", "a line through (0, 1): free-fit intercept", f"{setting}; "
                      "fresh data", abs(fr["intercept_mean"] - 1) <= 2 * se,
                      mean=fr["intercept_mean"], std=fr["intercept_std"], n=fr["n_seeds"],
                      theory=1.0, note=f"holds when |intercept - 1| <= 2 std/√n; R² of the law "
                      f"per seed {fr['r2_mean']:.4f} ± {fr['r2_std'] or 0:.4f} (each σ_n its own "
                      f"data); common random numbers: R² = {law['crn']['r2_mean']:.8f}, exact by "
                      "Prop. 6.1's rescaling"))
    f20 = sorted(data["fig20"], key=lambda r: r["sigma_f"])
    small = [r for r in f20 if 0 < r["sigma_f"] <= 0.3]
    if len(small) >= 2:
        ratio = [r["C_mean"] / r["sigma_f"] for r in small]
        spread = (max(ratio) - min(ratio)) / np.mean(ratio)
        rows.append(claim("Fig. 20", "C linear in σ_f at small σ_f (C/σ_f)",
                          f"α = {cfg['alpha20']}, σ_n = 1, σ_f ≤ 0.3", spread < 0.1,
                          mean=float(np.mean(ratio)), n=small[0]["n_seeds"],
                          theory=float(np.sqrt(cfg["lam"] / (1 - cfg["lam"]))),
                          note="C/σ_f = " + ", ".join(f"{v:.3f}" for v in ratio)
                               + f" at σ_f = {', '.join(str(r['sigma_f']) for r in small)}; "
                               f"spread {spread:.1%}"))
    return rows


if __name__ == "__main__":
    print(plot(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else Path(sys.argv[1]).parent))
