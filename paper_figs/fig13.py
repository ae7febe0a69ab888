"""Fig. 13 of Beck, Bar-Sinai & Levi (2026): cos(w, e1) and |w| of the converged classifier
against alpha, at lambda in {0.1, 0.7, 0.9} (sigma_f = 0.5, sigma_n = 1), from ``fig13.json``.

Lines: exact minimisers, mean +- std over seeds (error bars); open circles: GD at the paper's
20k epochs on a few seeds; crosses: the paper's digitized values (flat in alpha, the middle
of the digitized range); dotted: the [DERIVED] asymptotic cosine (``asymptotic_cosine``).

Verdict rule (``logitreg.experiments.paper_verdict``): "reproduced" when
|ours - paper| <= 2 std + 0.003 (std: over seeds; 0.003: the digitization error), else
"differs (k.k std)" with the reason in the note.

    python -m paper_figs.fig13 results/fig13/fig13.json [out_dir]
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from logitreg import asymptotic_cosine, paper  # noqa: E402
from logitreg.experiments import paper_verdict  # noqa: E402
from paper_figs._common import load, save  # noqa: E402

FIGURE = {"name": "fig13", "script": "simulations/fig13.py", "paper": ["Fig. 13"],
          "title": "Fig. 13 (direction and norm vs alpha)"}
COLORS = {0.1: "tab:blue", 0.7: "tab:orange", 0.9: "tab:green"}




def _paper_cos(lam):
    lo_hi = paper.FIG13_COS.get(lam)
    return None if lo_hi is None else (lo_hi[0] + lo_hi[1]) / 2


def plot(json_path, out_dir) -> list[Path]:
    data = load(json_path)
    cfg = data["config"]
    fig, (ax_cos, ax_norm) = plt.subplots(1, 2, figsize=(10, 4))
    for lam in cfg["lams"]:
        rows = [r for r in data["exact"] if r["lam"] == lam]
        c = COLORS.get(lam)
        al = [r["alpha"] for r in rows]
        ax_cos.errorbar(al, [r["cos_e1_mean"] for r in rows], [r["cos_e1_std"] or 0 for r in rows],
                        color=c, marker="o", ms=3, capsize=2, label=f"λ = {lam:g}")
        ax_norm.errorbar(al, [r["norm_mean"] for r in rows], [r["norm_std"] or 0 for r in rows],
                         color=c, marker="o", ms=3, capsize=2, label=f"λ = {lam:g}")
        if 0 < lam < 1 and cfg["sigma_f"] > 0:
            ax_cos.axhline(asymptotic_cosine(lam, mu_f=1.0, sigma_f=cfg["sigma_f"],
                                             sigma_n=cfg["sigma_n"]), color=c, ls=":", lw=1)
        if _paper_cos(lam) is not None and cfg["sigma_f"] == 0.5 and cfg["sigma_n"] == 1.0:
            ax_cos.plot(al, [_paper_cos(lam)] * len(al), "x", color=c, ms=7)
        gd = [r for r in data["gd"] if r["lam"] == lam]
        if gd:
            ax_cos.errorbar([r["alpha"] for r in gd], [r["cos_e1_mean"] for r in gd],
                            [r["cos_e1_std"] or 0 for r in gd], color=c, marker="o", mfc="none",
                            ms=8, ls="none", capsize=2)
            ax_norm.plot([r["alpha"] for r in gd], [r["norm_mean"] for r in gd], "o", mfc="none",
                         color=c, ms=8)
    ax_cos.set(xlabel="α", ylabel="cos(w, e₁)", title="direction (flat in α)")
    ax_norm.set(xlabel="α", ylabel="|w|", yscale="log", title="norm (set by α)")
    ax_cos.plot([], [], "kx", label="paper (digitized)")
    ax_cos.plot([], [], "ko", mfc="none", label=f"GD {cfg['epochs']} epochs")
    ax_cos.plot([], [], "k:", label="[DERIVED] asymptote")
    ax_cos.legend(fontsize=7)
    fig.suptitle(f"Fig. 13: N = {cfg['n']}, σ_f = {cfg['sigma_f']}, σ_n = {cfg['sigma_n']}, "
                 f"exact minimisers, {len(cfg['seed_list'])} seeds", fontsize=10)
    for ax in (ax_cos, ax_norm):
        ax.grid(alpha=0.3, lw=0.4)
    fig.tight_layout()
    return save(fig, out_dir, FIGURE["name"])




def reproduction(json_path) -> list[dict]:
    data = load(json_path)
    cfg = data["config"]
    paper_setting = cfg["sigma_f"] == 0.5 and cfg["sigma_n"] == 1.0
    gd = {(r["lam"], r["alpha"]): r for r in data["gd"]}
    rows = []
    for r in data["exact"]:
        lam, alpha = r["lam"], r["alpha"]
        ref = _paper_cos(lam) if paper_setting else None
        theory = (float(asymptotic_cosine(lam, mu_f=1.0, sigma_f=cfg["sigma_f"],
                                          sigma_n=cfg["sigma_n"]))
                  if 0 < lam < 1 and cfg["sigma_f"] > 0 else None)
        verdict = paper_verdict(ref, r["cos_e1_mean"], r["cos_e1_std"])
        note = "exact minimiser" + ("" if cfg["n"] == 2000 else f", N = {cfg['n']} (paper 2000)")
        g = gd.get((lam, alpha))
        if g is not None:
            note += (f"; GD {cfg['epochs']} epochs on {g['n_seeds']} seeds: "
                     f"{g['cos_e1_mean']:.4f} vs its own limit {g['limit_cos_e1_mean']:.4f}")
        if verdict.startswith("differs"):
            note += "; cause unknown"
        rows.append({"figure": "Fig. 13", "quantity": "cos(w, e1)",
                     "setting": f"λ = {lam:g}, α = {alpha:g}", "paper": ref,
                     "ours_mean": r["cos_e1_mean"], "ours_std": r["cos_e1_std"],
                     "n_seeds": r["n_seeds"], "theory": theory, "verdict": verdict,
                     "note": note})
    return rows


if __name__ == "__main__":
    print(plot(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else Path(sys.argv[1]).parent))
