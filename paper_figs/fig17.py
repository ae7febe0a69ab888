"""Fig. 17 of Beck, Bar-Sinai & Levi (2026): test accuracy and cos(w, e1) against sigma_n,
below (lambda = 0.3) and above (lambda = 0.7) the unregularized threshold 1/2, from
``fig17.json``.

Solid: alpha = 0 (max-margin direction where separable); dashed: alpha = 0.4; mean +- std
over seeds (error bars). Dotted: the [DERIVED] asymptotes of alpha > 0, the accuracy
(``asymptotic_accuracy``, flat in sigma_n) and the cosine law (``asymptotic_cosine``, Eq. 4).

The paper's Fig. 17 gives no numbers and no parameters (ours are the script's options), so
each reproduction row checks a claim of its caption on the seed means. Verdict rule:
"reproduced" when the claimed inequality holds with a margin of at least 2 std of the
compared seed means (for "constant": the spread over sigma_n is at most 2 std + 0.003),
else "differs (k.k std)".

    python -m paper_figs.fig17 results/fig17/fig17.json [out_dir]
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from logitreg import asymptotic_accuracy, asymptotic_cosine  # noqa: E402
from paper_figs._common import load, save  # noqa: E402

FIGURE = {"name": "fig17", "script": "simulations/fig17.py", "paper": ["Fig. 17"],
          "title": "Fig. 17 (accuracy and direction vs sigma_n)"}
COLORS = ("tab:blue", "tab:red", "tab:green", "tab:purple")




def _curve(data, lam, alpha, key):
    rows = sorted((r for r in data["summary"] if (r["lam"], r["alpha"]) == (lam, alpha)),
                  key=lambda r: r["sigma_n"])
    return (np.array([r["sigma_n"] for r in rows]), np.array([r[f"{key}_mean"] for r in rows]),
            np.array([r[f"{key}_std"] or 0.0 for r in rows]), rows)


def plot(json_path, out_dir) -> list[Path]:
    data = load(json_path)
    cfg = data["config"]
    fig, (ax_acc, ax_cos) = plt.subplots(1, 2, figsize=(10, 4))
    for i, lam in enumerate(cfg["lams"]):
        c = COLORS[i % len(COLORS)]
        for alpha in cfg["alphas"]:
            ls = "-" if alpha == 0 else "--"
            for ax, key in ((ax_acc, "test_acc"), (ax_cos, "cos_e1")):
                s, m, sd, _ = _curve(data, lam, alpha, key)
                ax.errorbar(s, m, sd, color=c, ls=ls, marker=".", capsize=2,
                            label=f"λ = {lam:g}, α = {alpha:g}")
            if alpha > 0 and lam < 1 and cfg["sigma_f"] > 0:
                s = np.geomspace(min(cfg["sigma_ns"]), max(cfg["sigma_ns"]), 100)
                ax_acc.axhline(asymptotic_accuracy(lam, mu_f=1.0, sigma_f=cfg["sigma_f"]),
                               color=c, ls=":", lw=1)
                ax_cos.plot(s, asymptotic_cosine(lam, mu_f=1.0, sigma_f=cfg["sigma_f"],
                                                 sigma_n=s), color=c, ls=":", lw=1)
    for ax, ylabel in ((ax_acc, "test accuracy"), (ax_cos, "cos(w, e₁)")):
        ax.set(xscale="log", xlabel="σ_n", ylabel=ylabel)
        ax.grid(alpha=0.3, lw=0.4, which="both")
    ax_acc.plot([], [], "k:", label="[DERIVED] asymptote, α > 0")
    ax_acc.legend(fontsize=7)
    fig.suptitle(f"Fig. 17: N = {cfg['n']}, σ_f = {cfg['sigma_f']}, exact limits, "
                 f"{len(cfg['seed_list'])} seeds", fontsize=10)
    fig.tight_layout()
    return save(fig, out_dir, FIGURE["name"])


def _claim(quantity, setting, gap, std, n, note):
    """Row for the claim ``gap > 0`` (a difference of two seed means, ``std`` the larger
    of their stds): reproduced when ``gap >= 2 std``."""
    gap, std = float(gap), float(std)
    verdict = "reproduced" if gap >= 2 * std else \
        f"differs ({(2 * std - gap) / max(std, 1e-12):.1f} std)"
    if verdict != "reproduced":
        note += "; cause unknown"
    return {"figure": "Fig. 17", "quantity": quantity, "setting": setting, "paper": None,
            "ours_mean": gap, "ours_std": std, "n_seeds": n, "theory": None,
            "verdict": verdict, "note": note}


def reproduction(json_path) -> list[dict]:
    data = load(json_path)
    cfg = data["config"]
    n = len(cfg["seed_list"])
    rows = []
    for lam in cfg["lams"]:
        for alpha in cfg["alphas"]:
            s, acc, acc_sd, _ = _curve(data, lam, alpha, "test_acc")
            _, cos, cos_sd, _ = _curve(data, lam, alpha, "cos_e1")
            where = f"λ = {lam:g}, α = {alpha:g}, σ_n {s[0]:g} → {s[-1]:g}"
            rise = (cos[-1] - cos[0], max(cos_sd[0], cos_sd[-1]))
            if alpha > 0:
                spread, sd = float(acc.max() - acc.min()), float(acc_sd.max())
                rows.append({"figure": "Fig. 17", "quantity": "accuracy spread over σ_n",
                             "setting": where, "paper": 0.0, "ours_mean": spread,
                             "ours_std": sd, "n_seeds": n, "theory": 0.0 if lam < 1 else None,
                             "verdict": "reproduced" if spread <= 2 * sd + 0.003 else
                             f"differs ({(spread - 0.003) / max(sd, 1e-12):.1f} std)",
                             "note": "claim: regularized accuracy is constant in σ_n (Prop. "
                                     "6.1; exact for one seed, which rescales one draw)"})
                rows.append(_claim("cos(w, e1) at the last σ_n minus the first", where, *rise,
                                   n, "claim: the cosine stays σ_n-dependent; Eq. 4: it rises"))
            elif lam < 0.5:
                rows.append(_claim("cos(w, e1) at the last σ_n minus the first", where, *rise,
                                   n, "claim: below λ = 1/2 alignment improves with σ_n (→ 1);"
                                      f" monotone on our grid: {bool(np.all(np.diff(cos) > 0))}"))
            else:
                k = int(np.argmax(cos))
                rows.append(_claim(
                    "cos(w, e1): its maximum minus the last σ_n", where, cos[k] - cos[-1],
                    max(cos_sd[k], cos_sd[-1]), n,
                    f"claim: above λ = 1/2 alignment degrades with σ_n; ours rises from "
                    f"{cos[0]:.3f} (σ_n = {s[0]:g}) to a maximum {cos[k]:.3f} at σ_n = {s[k]:g}, "
                    f"then falls to {cos[-1]:.3f}"))
    return rows


if __name__ == "__main__":
    print(plot(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else Path(sys.argv[1]).parent))
