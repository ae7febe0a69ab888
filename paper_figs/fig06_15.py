"""Figs. 6 (lambda = 0.7) and 15 (lambda = 0.4) of Beck, Bar-Sinai & Levi (2026): where
logit regularization helps, from ``fig06_15.json``.

One row per lambda. Left: test accuracy against sigma_n, alpha = 0 (solid, the max-margin
direction where separable) and alpha = 0.4 (dashed, flat: solved at a few sigma_n), per
sigma_f, mean +- std over seeds; open circles: GD at the paper's 20k epochs, alpha = 0, a few
seeds (the compared value where present); crosses: the paper's digitized values (alpha = 0 at
sigma_n = 0.1 and 6, the flat alpha = 0.4 level, the crossing sigma_n*); dotted: the
[DERIVED] asymptotic level of alpha > 0. Right: the boundary sigma_n*(sigma_f), the paper's
digitized line against ours (seed-mean curves; error bars: std of the per-seed crossings).

Verdict rule (``logitreg.experiments.paper_verdict``): "reproduced" when
|ours - paper| <= 2 std + e, with std over seeds and e the digitization error, 0.003 for
accuracies and 0.02 for sigma_n* (read on an axis of range 2); else "differs (k.k std)",
with the reason in the note.

    python -m paper_figs.fig06_15 results/fig06_15/fig06_15.json [out_dir]
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from logitreg import asymptotic_accuracy, paper  # noqa: E402
from logitreg.experiments import paper_verdict  # noqa: E402
from paper_figs._common import load, save  # noqa: E402

FIGURE = {"name": "fig06_15", "script": "simulations/fig06_15.py", "paper": ["Fig. 6", "Fig. 15"],
          "title": "Figs. 6 and 15 (where logit regularization helps)"}
PAPER = {0.7: ("Fig. 6", paper.FIG6), 0.4: ("Fig. 15", paper.FIG15)}
COLORS = ("tab:orange", "tab:purple", "tab:green", "tab:blue")




def _curve(data, lam, sf, alpha):
    rows = sorted((r for r in data["summary"] if (r["lam"], r["sigma_f"], r["alpha"]) ==
                   (lam, sf, alpha)), key=lambda r: r["sigma_n"])
    return rows


def plot(json_path, out_dir) -> list[Path]:
    data = load(json_path)
    cfg = data["config"]
    lams = cfg["lams"]
    fig, axes = plt.subplots(len(lams), 2, figsize=(10, 4 * len(lams)), squeeze=False)
    for i, lam in enumerate(lams):
        ax, ax_b = axes[i]
        label, ref = PAPER.get(lam, (None, None))
        for k, sf in enumerate(cfg["sigma_fs"]):
            c = COLORS[k % len(COLORS)]
            for alpha, ls in ((0.0, "-"), (cfg["alpha"], "--")):
                rows = _curve(data, lam, sf, alpha)
                ax.errorbar([r["sigma_n"] for r in rows], [r["test_acc_mean"] for r in rows],
                            [r["test_acc_std"] or 0 for r in rows], color=c, ls=ls, marker=".",
                            capsize=2, label=f"σ_f = {sf:g}, α = {alpha:g}")
            b = next(r for r in data["boundary"] if (r["lam"], r["sigma_f"]) == (lam, sf))
            ax.axhline(b["reg_level"], color=c, ls="--", lw=0.6)
            if lam < 1 and sf > 0:
                ax.axhline(asymptotic_accuracy(lam, mu_f=1.0, sigma_f=sf), color=c, ls=":", lw=1)
            ax_b.errorbar([sf], [b["sigma_n_star"]], [b["sigma_n_star_seed_std"] or 0], color=c,
                          marker="o", capsize=3)
            gd = [r for r in data.get("gd", []) if (r["lam"], r["sigma_f"]) == (lam, sf)]
            ax.errorbar([r["sigma_n"] for r in gd], [r["test_acc_mean"] for r in gd],
                        [r["test_acc_std"] or 0 for r in gd], color=c, marker="o", mfc="none",
                        ms=8, ls="none", capsize=2)
            cur = (ref or {}).get("curves", {}).get(sf)
            if cur:
                ax.plot([0.1, 6.0, cur["crossing"]], [cur["alpha0_at_0.1"], cur["alpha0_at_6"],
                                                      cur["alpha04_flat"]], "x", color=c, ms=8)
                ax.axhline(cur["alpha04_flat"], color=c, ls=(0, (1, 4)), lw=0.8)
        if ref:
            sfs, sns = zip(*sorted(ref["boundary"].items()), strict=True)
            ax_b.plot(sfs, sns, "k-x", ms=4, lw=1, label=f"paper ({label}, digitized)")
        ax.set(xscale="log", xlabel="σ_n", ylabel="test accuracy",
               title=f"{label or ''} λ = {lam:g}: accuracy vs orthogonal noise")
        ax_b.set(xlabel="σ_f", ylabel="σ_n*", title="helps above σ_n*, hurts below")
        ax_b.plot([], [], "o", color="gray", label="ours (seed-mean curves)")
        ax.legend(fontsize=7)
        ax_b.legend(fontsize=7)
        for a in (ax, ax_b):
            a.grid(alpha=0.3, lw=0.4, which="both")
    fig.suptitle(f"Figs. 6 and 15: N = {cfg['n']}, exact limits, {len(cfg['seed_list'])} seeds;"
                 " crosses: paper", fontsize=10)
    fig.tight_layout()
    return save(fig, out_dir, FIGURE["name"])


def _row(fig, quantity, setting, ref, mean, std, n, theory, note, digitization=0.003):
    verdict = paper_verdict(ref, mean, std, digitization=digitization)
    return {"figure": fig, "quantity": quantity, "setting": setting, "paper": ref,
            "ours_mean": mean, "ours_std": std, "n_seeds": n, "theory": theory,
            "verdict": verdict, "note": note}


def _level_note(lam, sf, alpha, ref, verdict):
    if not verdict.startswith("differs"):
        return "exact minimiser, flat in σ_n"
    grid = np.linspace(0.01, 0.99, 981)
    at = grid[np.argmin(np.abs(asymptotic_accuracy(grid, mu_f=1.0, sigma_f=sf) - ref))]
    note = (f"ours sits on the [DERIVED] asymptote of λ = {lam:g}; the paper's level is the "
            f"asymptote's at λ = {at:.2f}")
    inside = paper.FIG16_ACC.get((alpha, sf, 1.0))
    if inside is not None and 0.3 < lam < 0.5:  # the paper's own Fig. 16 around lambda
        mid = (inside[1] + inside[2]) / 2
        note += (f", and its own Fig. 16 gives {mid:.3f} at λ = 0.4 (mean of its λ = 0.3 and "
                 "0.5 points): the figure's level is inconsistent with its stated λ")
    return note + "; cause unknown"


def reproduction(json_path) -> list[dict]:
    data = load(json_path)
    cfg = data["config"]
    n = len(cfg["seed_list"])
    rows = []
    for b in data["boundary"]:
        lam, sf = b["lam"], b["sigma_f"]
        label, ref = PAPER.get(lam, (None, {}))
        cur = ref.get("curves", {}).get(sf) if ref else None
        if cur is None:
            continue
        where = f"λ = {lam:g}, σ_f = {sf:g}"
        reg = _curve(data, lam, sf, cfg["alpha"])
        reg_std = max(r["test_acc_std"] or 0.0 for r in reg)
        theory = float(asymptotic_accuracy(lam, mu_f=1.0, sigma_f=sf))
        row = _row(label, f"accuracy, α = {cfg['alpha']:g} (flat level)", where,
                   cur["alpha04_flat"], b["reg_level"], reg_std, n, theory, "")
        row["note"] = _level_note(lam, sf, cfg["alpha"], cur["alpha04_flat"], row["verdict"])
        rows.append(row)
        unreg = {r["sigma_n"]: r for r in _curve(data, lam, sf, 0.0)}
        gd = {r["sigma_n"]: r for r in data.get("gd", [])
              if (r["lam"], r["sigma_f"], r["alpha"]) == (lam, sf, 0.0)}
        for sn, key in ((0.1, "alpha0_at_0.1"), (6.0, "alpha0_at_6")):
            r, g = unreg.get(sn), gd.get(sn)
            if r is None:
                continue
            limit = _row(label, "accuracy, α = 0 (exact limit)", f"{where}, σ_n = {sn:g}",
                         cur[key], r["test_acc_mean"], r["test_acc_std"], n, None,
                         f"max-margin direction on {r['separable_mean']:.0%} of seeds")
            rows.append(limit)
            if g is None:
                continue
            run = _row(label, f"accuracy, α = 0 (GD {cfg['epochs']} epochs)",
                       f"{where}, σ_n = {sn:g}", cur[key], g["test_acc_mean"],
                       g["test_acc_std"], g["n_seeds"], None,
                       f"from U(±1/√d), the paper's protocol; cos(GD, its limit) = "
                       f"{g['cos_to_limit_mean']:.4f}")
            rows.append(run)
            for row, other in ((limit, run), (run, limit)):
                if row["verdict"].startswith("differs"):
                    row["note"] += ("; the other protocol reproduces it" if
                                    other["verdict"] == "reproduced" else "; cause unknown")
                    if lam == 0.4:
                        row["note"] += (" (this figure's values all lie above ours at its "
                                        "stated λ, as its α = 0.4 level does)")
        row = _row(label, "crossing σ_n*", where, cur["crossing"], b["sigma_n_star"],
                   b["sigma_n_star_seed_std"], b["n_crossing_seeds"], None,
                   "crossing of the seed-mean curves; std over the per-seed crossings",
                   digitization=0.02)
        if row["verdict"].startswith("differs"):
            row["note"] += "; follows from the level and α = 0 rows above"
        rows.append(row)
    return rows


if __name__ == "__main__":
    print(plot(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else Path(sys.argv[1]).parent))
