"""Helpers shared by the figure modules: loading a result, saving a figure (PNG and PDF),
and building reproduction rows.

Verdict rule of numeric rows (:func:`logitreg.experiments.paper_verdict`, the project's one
rule): "reproduced" when |ours - paper| <= 2 std + the digitization error of the paper's
value (std: the seed-to-seed spread, ddof 1), else "differs (k.k std)". Rows of claims the
paper states without numbers are "reproduced" when the claim holds on our seed means,
"differs (claim fails)" otherwise; the note gives the numbers behind it.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from logitreg.experiments import paper_verdict  # noqa: E402

# Digitization errors: values read off the paper's SVG axes (logitreg.paper: about +-0.002)
# and numbers printed in a figure (half a unit of their last decimal).
DIGITIZED = 0.002
PRINTED_4 = 5e-5


def load(json_path) -> dict:
    return json.loads(Path(json_path).read_text())


def save(fig, out_dir, name) -> list[Path]:
    """Write ``<out_dir>/<name>.png`` and ``.pdf`` and close the figure."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{name}.{ext}" for ext in ("png", "pdf")]
    for p in paths:
        fig.savefig(p, dpi=130)
    plt.close(fig)
    return paths


def row(figure, quantity, setting, *, paper=None, mean=None, std=None, n=None, theory=None,
        note="", digitization=DIGITIZED, verdict=None) -> dict:
    """A reproduction row; the verdict follows the module rule unless given."""
    if verdict is None:
        verdict = paper_verdict(paper, mean, std, digitization=digitization)
    return {"figure": figure, "quantity": quantity, "setting": setting, "paper": paper,
            "ours_mean": mean, "ours_std": std, "n_seeds": n, "theory": theory,
            "verdict": verdict, "note": note}


def claim(figure, quantity, setting, holds, *, mean=None, std=None, n=None, theory=None,
          note="") -> dict:
    """A row for a claim without a paper number: reproduced when it holds."""
    return row(figure, quantity, setting, mean=mean, std=std, n=n, theory=theory, note=note,
               verdict="reproduced" if holds else "differs (claim fails)")
