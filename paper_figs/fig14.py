"""Fig. 14 of Beck, Bar-Sinai & Levi (2026): mean and std of the train and test logits
against sigma_f at lambda = 0.7, from ``fig14.json``.

Left: logit means (train, test) with z* (dotted). Right: logit stds in units of S_1 against
sigma_f, with the line y = x, the std sigma_f S_1 that the signal noise alone gives (App.
E.1): the train std lies below it (the minimiser exploits noise correlations of the
training set), the test std above it. Error bars: mean +- std over seeds.

The paper gives no numbers: each row checks its claim on every seed (verdict rule in
``paper_figs/_common.py``).

    python -m paper_figs.fig14 results/fig14/fig14.json [out_dir]
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from logitreg import z_star
from logitreg.io import mean_std
from paper_figs._common import claim, load, save

FIGURE = {"name": "fig14", "script": "simulations/fig14.py", "paper": ["Fig. 14"],
          "title": "Fig. 14 (train vs test logit moments vs sigma_f)"}
STYLE = {"train": dict(color="tab:blue", marker="o"), "test": dict(color="tab:red", marker="s")}


def plot(json_path, out_dir) -> list[Path]:
    data = load(json_path)
    cfg = data["config"]
    rows = sorted(data["summary"], key=lambda r: r["sigma_f"])
    sf = np.array([r["sigma_f"] for r in rows])
    fig, (ax_m, ax_s) = plt.subplots(1, 2, figsize=(10, 4))
    recs = data["records"]
    for split in ("train", "test"):
        ax_m.errorbar(sf, [r[f"{split}_mean_mean"] for r in rows],
                      [r[f"{split}_mean_std"] or 0 for r in rows], ms=4, capsize=2,
                      label=split, **STYLE[split])
        # std / S_1 per seed, then mean +- std over seeds
        ratio = [[x[f"{split}_std"] / x["S1"] for x in recs if x["sigma_f"] == s] for s in sf]
        m, sd = mean_std(np.array(ratio), axis=1)
        ax_s.errorbar(sf, m, np.nan_to_num(sd), ms=4, capsize=2, label=f"{split} std / S₁",
                      **STYLE[split])
    ax_m.axhline(float(z_star(cfg["alpha"])), color="k", ls=":", lw=1, label="z*")
    ax_s.plot(sf, sf, "k--", lw=1, label="y = x (σ_f S₁ / S₁)")
    ax_m.set(xlabel="σ_f", ylabel="mean signed logit", title="logit mean")
    ax_s.set(xlabel="σ_f", ylabel="logit std / S₁", title="logit std")
    for a in (ax_m, ax_s):
        a.legend(fontsize=8)
        a.grid(alpha=0.3, lw=0.4)
    fig.suptitle(f"Fig. 14: λ = {cfg['lam']}, α = {cfg['alpha']}, N = {cfg['n']}, exact "
                 f"minimisers, {len(cfg['seed_list'])} seeds", fontsize=10)
    fig.tight_layout()
    return save(fig, out_dir, FIGURE["name"])


def reproduction(json_path) -> list[dict]:
    data = load(json_path)
    cfg = data["config"]
    recs = [r for r in data["records"] if r["sigma_f"] > 0]
    below = [r["train_std"] < r["intrinsic_std"] for r in recs]
    above = [r["test_std"] > r["intrinsic_std"] for r in recs]
    setting = f"λ = {cfg['lam']}, α = {cfg['alpha']}, σ_f in (0, {max(cfg['sigma_fs'])}]"
    mid = min((r for r in data["summary"] if r["sigma_f"] > 0),
              key=lambda r: abs(r["sigma_f"] - 0.5))
    nums = (f"at σ_f = {mid['sigma_f']:g}: train std {mid['train_std_mean']:.4f}, σ_f S₁ "
            f"{mid['intrinsic_std_mean']:.4f}, test std {mid['test_std_mean']:.4f}")
    rows = [
        claim("Fig. 14", "train std < σ_f S₁ (fraction of runs)", setting, all(below),
              mean=float(np.mean(below)), n=len(cfg["seed_list"]),
              note=f"{sum(below)}/{len(below)} (σ_f, seed) runs; {nums}"),
        claim("Fig. 14", "test std > σ_f S₁ (fraction of runs)", setting, all(above),
              mean=float(np.mean(above)), n=len(cfg["seed_list"]),
              note=f"{sum(above)}/{len(above)} runs; test std² = σ_f² S₁² + σ_n² |S⊥|² exactly"),
    ]
    zero = [r for r in data["summary"] if r["sigma_f"] == 0]
    if zero:
        z = zero[0]
        zs = float(z_star(cfg["alpha"]))
        rows.append(claim("Fig. 14", "σ_f = 0: every logit at z*", f"λ = {cfg['lam']}",
                          abs(z["train_mean_mean"] - zs) < 1e-6 and z["test_std_mean"] < 1e-6,
                          mean=z["train_mean_mean"], std=z["train_mean_std"], n=z["n_seeds"],
                          theory=zs, note=f"train std {z['train_std_mean']:.1e}, test std "
                                          f"{z['test_std_mean']:.1e} (Prop. 5.1)"))
    return rows


if __name__ == "__main__":
    print(plot(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else Path(sys.argv[1]).parent))
