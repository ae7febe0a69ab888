"""Fig. 7 of Beck, Bar-Sinai & Levi (2026): multiclass clustering at the simplex vertices,
from ``fig07.json`` and ``fig07.npz``.

Train (filled) and test (open) samples of three classes projected on the plane spanned by
S_0 - S_1 and S_0 - S_2 of the final weights (after Mueller et al. 2019), alpha = 0 (left)
and alpha = 0.2 (right), first seed. With alpha > 0 each class is a tight cluster (its
logits at the simplex vertex of Eq. 21); with alpha = 0 the classes are separated with large
margins but spread out.

The paper's figure is a raster image without numbers: rows check its claims on the seed
means (verdict rule in ``paper_figs/_common.py``); the cluster ratio is the within-class RMS
spread over the mean distance between class centroids in that plane.

    python -m paper_figs.fig07 results/fig07/fig07.json [out_dir]
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from logitreg import z_star
from logitreg.io import load_npz
from paper_figs._common import claim, load, save

FIGURE = {"name": "fig07", "script": "simulations/fig07.py", "paper": ["Fig. 7"],
          "title": "Fig. 7 (multiclass clustering at the simplex vertices)"}
COLORS = ("tab:blue", "tab:orange", "tab:green")


def plot(json_path, out_dir) -> list[Path]:
    data = load(json_path)
    arr = load_npz(Path(json_path).with_suffix(".npz"))
    cfg, s = data["config"], data["summary"]
    fig, axes = plt.subplots(1, len(cfg["alphas"]), figsize=(5 * len(cfg["alphas"]), 4.6),
                             squeeze=False)
    for i, (ax, alpha) in enumerate(zip(axes[0], cfg["alphas"], strict=True)):
        for split, kw in (("test", dict(facecolors="none", s=10, lw=0.6, alpha=0.5)),
                          ("train", dict(s=8, alpha=0.8))):
            P, lab = arr[f"{split}_xy_{i}"], arr[f"{split}_labels"]
            for j, c in enumerate(np.unique(lab)):
                color = COLORS[j % 3]
                pts = P[lab == c]
                key = "edgecolors" if split == "test" else "color"
                ax.scatter(pts[:, 0], pts[:, 1], **{key: color}, **kw,
                           label=f"class {c} ({split})")
        ax.set(aspect="equal", xlabel="coordinate 1", ylabel="coordinate 2",
               title=f"α = {alpha:g}: cluster ratio train {s[f'train_ratio_{i}_mean']:.3f}, "
                     f"test {s[f'test_ratio_{i}_mean']:.3f}")
        ax.title.set_fontsize(9)
        ax.grid(alpha=0.3, lw=0.4)
    axes[0, 0].legend(fontsize=6, ncol=2)
    fig.suptitle(f"Fig. 7: K = {cfg['n_classes']}, d = {cfg['d']}, N = {cfg['n']}, σ_f = "
                 f"{cfg['sigma_f']}, {cfg['epochs']} epochs ({cfg['method']}), seed 0 "
                 f"(ratios: {len(cfg['seed_list'])} seeds)", fontsize=10)
    fig.tight_layout()
    return save(fig, out_dir, FIGURE["name"])


def reproduction(json_path) -> list[dict]:
    data = load(json_path)
    cfg, s = data["config"], data["summary"]
    n = s["n_seeds"]
    alphas = cfg["alphas"]
    rows = []
    if 0.0 in alphas and any(a > 0 for a in alphas):
        i0, i1 = alphas.index(0.0), next(i for i, a in enumerate(alphas) if a > 0)
        r0, r1 = s[f"train_ratio_{i0}_mean"], s[f"train_ratio_{i1}_mean"]
        rows.append(claim("Fig. 7", "cluster ratio α > 0 / α = 0 (train, in the plane)",
                          f"α = {alphas[i1]:g} vs 0", r1 < 0.5 * r0, mean=r1 / r0, n=n,
                          note=f"ratios {r1:.4f} vs {r0:.4f}; test {s[f'test_ratio_{i1}_mean']:.4f}"
                               f" vs {s[f'test_ratio_{i0}_mean']:.4f}"))
        rows.append(claim("Fig. 7", "test accuracy α > 0 vs α = 0", f"α = {alphas[i1]:g} vs 0",
                          s[f"test_acc_{i1}_mean"] > s[f"test_acc_{i0}_mean"],
                          mean=s[f"test_acc_{i1}_mean"], std=s[f"test_acc_{i1}_std"], n=n,
                          note=f"α = 0: {s[f'test_acc_{i0}_mean']:.4f}"))
    for i, alpha in enumerate(alphas):
        if alpha == 0:
            continue
        v = z_star(alpha, n_classes=cfg["n_classes"])
        m, sd = s[f"true_logit_mean_{i}_mean"], s[f"true_logit_std_{i}_mean"]
        rows.append(claim("Fig. 7", "true-class logit at the vertex q_high", f"α = {alpha:g}",
                          abs(m - v.q_high) < 0.05 * v.q_high, mean=m,
                          std=s[f"true_logit_mean_{i}_std"], n=n, theory=v.q_high,
                          note=f"within-seed std {sd:.4f}; other logits "
                               f"{s[f'other_logit_mean_{i}_mean']:.4f} (q_low = {v.q_low:.4f})"))
    return rows


if __name__ == "__main__":
    print(plot(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else Path(sys.argv[1]).parent))
