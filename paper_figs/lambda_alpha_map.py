"""The converged test accuracy over the (lambda, alpha) plane, from ``lambda_alpha_map.json``.

Not a figure of Beck, Bar-Sinai & Levi (2026): Figs. 13 and 16 as one surface (sigma_f = 0.5,
sigma_n = 1, exact GD limits from the start 0, mean over seeds). White lines: the critical
ratios of Prop. 5.1 (``critical_ratio``), lambda_c = 1/2 for alpha = 0 and 1 for alpha > 0
(sharp for sigma_f = 0; here they mark where the accuracy drops).

Reproduction rows: the paper has no such figure; the alpha = 0.4 row is compared with the
paper's Fig. 16 (sigma_f = 0.5, sigma_n = 1) at the lambda both have, and with the
[DERIVED] asymptote. Verdict rule (``logitreg.experiments.paper_verdict``): "reproduced"
when |ours - paper| <= 2 std + 0.003, else "differs (k.k std)" with the reason in the note.

    python -m paper_figs.lambda_alpha_map results/lambda_alpha_map/lambda_alpha_map.json
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from logitreg import asymptotic_accuracy, critical_ratio, paper  # noqa: E402
from logitreg.experiments import paper_verdict  # noqa: E402
from paper_figs._common import load, save  # noqa: E402

FIGURE = {"name": "lambda_alpha_map", "script": "simulations/lambda_alpha_map.py",
          "paper": ["Figs. 13 and 16 (as a map)"],
          "title": "Converged accuracy over (lambda, alpha)"}




def _edges(x):
    x = np.asarray(x, dtype=float)
    mid = (x[1:] + x[:-1]) / 2
    return np.r_[x[0] - (mid[0] - x[0]), mid, x[-1] + (x[-1] - mid[-1])]


def plot(json_path, out_dir) -> list[Path]:
    data = load(json_path)
    cfg = data["config"]
    lams, alphas = cfg["lams"], cfg["alphas"]
    acc = {(r["lam"], r["alpha"]): r["test_acc_mean"] for r in data["summary"]}
    Z = np.array([[acc[(lam, al)] for lam in lams] for al in alphas])  # (n_alpha, n_lam)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    rows = np.arange(len(alphas) + 1) - 0.5  # alpha rows are categories (0 included)
    mesh = ax.pcolormesh(_edges(lams), rows, Z, cmap="viridis", shading="flat")
    fig.colorbar(mesh, ax=ax, label="test accuracy")
    for i, al in enumerate(alphas):
        lc = float(critical_ratio(al))
        ax.plot([lc, lc], [i - 0.5, i + 0.5], color="w", lw=1.5, ls="--")
        for j, lam in enumerate(lams):
            ax.text(lam, i, f"{Z[i, j]:.2f}", ha="center", va="center", fontsize=6,
                    color="w" if Z[i, j] < Z.mean() else "k")
    ax.set(yticks=range(len(alphas)), yticklabels=[f"{al:g}" for al in alphas],
           xlabel="λ = d/N", ylabel="α",
           title=f"σ_f = {cfg['sigma_f']}, σ_n = {cfg['sigma_n']}, N = {cfg['n']}, "
                 f"{len(cfg['seed_list'])} seeds; white: λ_c (Prop. 5.1)")
    fig.tight_layout()
    return save(fig, out_dir, FIGURE["name"])


def reproduction(json_path) -> list[dict]:
    data = load(json_path)
    cfg = data["config"]
    if (cfg["sigma_f"], cfg["sigma_n"]) not in ((0.5, 1.0),):
        return []
    ref = dict(zip(paper.FIG16_LAMBDAS, paper.FIG16_ACC[(0.4, 0.5, 1.0)], strict=True))
    rows = []
    for r in data["summary"]:
        lam = r["lam"]
        if r["alpha"] != 0.4 or lam not in ref:
            continue
        verdict = paper_verdict(ref[lam], r["test_acc_mean"], r["test_acc_std"])
        note = f"exact limit from 0, N = {cfg['n']} (the paper's N is 2000)"
        if verdict.startswith("differs"):
            note += ("; λ ≥ 1 depends on the start and on finite time, see Fig. 16's rows"
                     if lam >= 1 else "; cause unknown")
        rows.append({"figure": "λ-α map", "quantity": "test accuracy, α = 0.4",
                     "setting": f"λ = {lam:g} (paper: Fig. 16)", "paper": ref[lam],
                     "ours_mean": r["test_acc_mean"], "ours_std": r["test_acc_std"],
                     "n_seeds": r["n_seeds"],
                     "theory": float(asymptotic_accuracy(lam, mu_f=1.0, sigma_f=0.5))
                     if lam < 1 else None, "verdict": verdict, "note": note})
    return rows


if __name__ == "__main__":
    print(plot(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else Path(sys.argv[1]).parent))
