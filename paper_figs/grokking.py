"""Fig. 5 / Fig. 8 of Beck, Bar-Sinai & Levi (2026): grokking curves from ``grokking.json``.

Two panels against epochs (log x): loss (log y) and accuracy. Train in blue, test in red
(the test loss is plain CE, the train loss the full regularized mean, as in the paper);
one line style per alpha, in the paper's order (solid, dashed, dash-dot, dotted). With
several seeds the band is mean +- std.

    python -m paper_figs.grokking results/grokking/grokking.json [out.png]

``reproduction`` compares with the digitized Fig. 5 (``logitreg.paper.FIG5``). Verdict rule:
"reproduced" when |ours - paper| <= 2 std (over seeds) + the digitization error (2 % of an
epoch, 0.003 in accuracy, 3 % of a loss); otherwise "differs (k std)".
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

FIGURE = {"name": "grokking", "script": "simulations/grokking.py", "paper": ["Fig. 5"],
          "title": "Grokking with weak logit regularization", "jobs": False}
STYLES = ("-", "--", "-.", ":")
COLORS = {"train": "tab:blue", "test": "tab:red"}


def _curve(ax, run, name, color, ls):
    e = np.asarray(run["epochs"], dtype=float)
    y = np.asarray(run[name], dtype=float)
    keep = e >= 1  # log x axis: epoch 0 cannot be drawn
    ax.plot(e[keep], y[keep], color=color, ls=ls, lw=1.4)
    if run.get(f"{name}_std") is not None:
        sd = np.asarray(run[f"{name}_std"], dtype=float)
        ax.fill_between(e[keep], (y - sd)[keep], (y + sd)[keep], color=color, alpha=0.15, lw=0)


def _start(cfg) -> str:
    """The start of W (``--init``); results written before the flag used N(0, I/d)."""
    init, scale = cfg.get("init", "normal"), cfg.get("init_scale", 1.0)
    law = {"normal": f"N(0, {scale:g}²I/d)", "uniform": f"U(±{scale:g}/√d)", "zero": "0"}
    return law.get(init, init)


def plot_grokking(json_path, png_path=None) -> Path:
    """Draw the two-panel grokking figure from a ``grokking.json``; returns the PNG path."""
    json_path = Path(json_path)
    data = json.loads(json_path.read_text())
    cfg, runs = data["config"], data["runs"]
    png_path = Path(png_path) if png_path else json_path.with_suffix(".png")
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4.2))
    for i, run in enumerate(runs):
        ls = STYLES[i % len(STYLES)]
        for split in ("train", "test"):
            _curve(ax_loss, run, f"{split}_loss", COLORS[split], ls)
            _curve(ax_acc, run, f"{split}_acc", COLORS[split], ls)
    ax_loss.set(xscale="log", yscale="log", xlabel="epoch", ylabel="loss")
    ax_acc.set(xscale="log", xlabel="epoch", ylabel="accuracy", ylim=(0.45, 1.02))
    handles = [Line2D([], [], color="k", ls=STYLES[i % len(STYLES)], label=f"α = {r['alpha']:g}")
               for i, r in enumerate(runs)]
    handles += [Line2D([], [], color=c, label=s) for s, c in COLORS.items()]
    ax_acc.legend(handles=handles, loc="upper left", fontsize=8)
    kind = "binary" if cfg["n_classes"] == 2 else f"K = {cfg['n_classes']}"
    fig.suptitle(
        f"Grokking ({kind}): d = {cfg['d']}, N = {cfg['n']}, μ_f = {cfg['mu_f']}, "
        f"σ_f = {cfg['sigma_f']}, σ_n = {cfg['sigma_n']}, η = {cfg['eta']}, "
        f"{cfg['method']}, {len(cfg['seeds'])} seed(s), start {_start(cfg)}", fontsize=10)
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3, which="both", lw=0.4)
    fig.tight_layout()
    png_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png_path, dpi=130)
    plt.close(fig)
    return png_path


def plot(json_path, out_dir) -> list[Path]:
    """The figure as ``<out_dir>/grokking.png`` and ``.pdf``."""
    png = plot_grokking(json_path, Path(out_dir) / "grokking.png")
    data = json.loads(Path(json_path).read_text())
    pdf = plot_grokking(json_path, Path(out_dir) / "grokking.pdf") if data["runs"] else None
    return [png] + ([pdf] if pdf else [])


_QUANTITIES = (("epoch_test_acc_0.9", "epoch test acc 0.9", 0.02, True),
               ("epoch_test_acc_1.0", "epoch test acc 1.0", 0.02, True),
               ("final_train_loss", "final train loss", 0.03, True),
               ("final_test_acc", "final test acc", 0.003, False))


def reproduction(json_path) -> list[dict]:
    """Rows paper vs ours per alpha (binary runs only: Fig. 8 has no numbers)."""
    data = json.loads(Path(json_path).read_text())
    cfg, rows = data["config"], []
    if cfg["n_classes"] != 2:
        return rows
    setting = (f"d = {cfg['d']}, N = {cfg['n']}, mu_f = {cfg['mu_f']}, {cfg['method']}, "
               f"{cfg['epochs']} epochs")
    for run in data["runs"]:
        paper = run.get("paper") or {}
        for key, label, err, relative in _QUANTITIES:
            ours, std, ref = run.get(key), run.get(f"{key}_std"), paper.get(key)
            theory = run.get("loss_floor") if key == "final_train_loss" else None
            if ref is None or ours is None:
                verdict = "reproduced" if ref is None and ours is None else (
                    "differs (never reached in the paper)" if ref is None else
                    "differs (not reached by some seed)")
            else:
                tol = 2 * (std or 0.0) + (err * abs(ref) if relative else err)
                verdict = "reproduced" if abs(ours - ref) <= tol else (
                    f"differs ({abs(ours - ref) / std:.1f} std)" if std else
                    "differs (one seed: no std)")
            rows.append({"figure": "Fig. 5 (grokking)", "quantity": f"{label}, alpha = "
                         f"{run['alpha']:g}", "setting": setting, "paper": ref,
                         "ours_mean": ours, "ours_std": std, "n_seeds": run["n_seeds"],
                         "theory": theory, "verdict": verdict,
                         "note": "1.0 = test acc >= 0.9995; see docs/dynamics.md"
                         if key == "epoch_test_acc_1.0" else ""})
    return rows


if __name__ == "__main__":
    print(plot_grokking(*sys.argv[1:3]))
