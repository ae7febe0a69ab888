"""Analysed runs, grouped by setting and reduced over seeds: the numbers the claims judge.

Runs (the ``analysis.json`` of :func:`deep.analysis.analyze_run`) are read and grouped by
setting (:func:`collect`, :func:`group_runs`); :func:`stat` reduces a measurement over the
seeds of a group (mean ± sample std, ddof = 1); :func:`compare` and :func:`verdict_all` turn
numbers into "held", "did not hold" or "mixed". :mod:`deep.claims` states the claims on
top of them; :mod:`deep.report` writes both out.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Stat", "collect", "compare", "group_runs", "label", "stat", "verdict_all"]

MIXING = ("mixup", "cutmix", "varmixup")


# ----------------------------------------------------------------------------- reading


def _expand(paths) -> list[Path]:
    out = []
    for p in map(Path, paths):
        if (p / "config.json").exists():
            out.append(p)
        elif p.is_dir():
            out += sorted(q.parent for q in p.rglob("config.json")
                          if (q.parent / "checkpoint.pt").exists()
                          and not (q.parent / "vae.pt").exists())
        else:
            raise ValueError(f"{p} is neither a run directory (config.json) nor a folder of "
                             "them: expected the run directories of python -m deep.train")
    return out


def collect(paths) -> list[dict]:
    """The ``analysis.json`` of every run directory under ``paths``."""
    from logitreg.io import load_json

    runs = []
    for run in _expand(paths):
        path = run / "analysis.json"
        if not path.exists():
            raise ValueError(f"{path} is missing: run deep.analysis.analyze_run on {run} first "
                             "(python -m deep.experiment does)")
        a = load_json(path)
        a["_dir"] = str(run)
        runs.append(a)
    if not runs:
        raise ValueError(f"no run directories under {', '.join(map(str, paths))}")
    return runs


def label(setting: dict) -> str:
    """A setting's row name, e.g. ``mixup (clean 0.5)``, ``ls 2-d``, ``none sigma_n=1``."""
    reg = setting["reg"]
    name = reg
    if reg == "ls":
        name += f" (eps {setting['ls_eps']:g})"
    elif reg == "logit_penalty":
        name += f" ({setting['logit_penalty']}, alpha {setting['logit_alpha']:g})"
    if reg in MIXING:
        name += f" (clean {setting.get('mix_clean_frac') or 0:g})"
    if setting.get("feature_dim"):
        name += f" {setting['feature_dim']}-d"
    if setting.get("dataset") == "synthetic":
        name += f" sigma_n={setting['synthetic_sigma_n']:g}"
    return name


REG_ORDER = ("none", "ls", "logit_penalty", "mixup", "cutmix", "varmixup")


def _order(setting: dict) -> tuple:
    reg = setting["reg"]
    return (setting.get("synthetic_sigma_n") or 0.0 if setting.get("dataset") == "synthetic"
            else 0.0, bool(setting.get("feature_dim")),
            REG_ORDER.index(reg) if reg in REG_ORDER else len(REG_ORDER),
            setting.get("mix_clean_frac") or 0.0)


def group_runs(runs: list[dict]) -> dict[str, list[dict]]:
    """Runs grouped by setting (:func:`label`), in a fixed order (none, ls, logit_penalty,
    mixup, cutmix, varmixup; 2-d models last), each group sorted by seed."""
    groups = defaultdict(list)
    for a in runs:
        groups[label(a["setting"])].append(a)
    keys = sorted(groups, key=lambda k: _order(groups[k][0]["setting"]))
    return {k: sorted(groups[k], key=lambda a: a["seed"]) for k in keys}


# ----------------------------------------------------------------------------- numbers


@dataclass(frozen=True)
class Stat:
    """Mean and sample std (ddof = 1; NaN for one seed) of one quantity over seeds."""

    mean: float
    std: float
    n: int

    @classmethod
    def of(cls, values) -> Stat:
        from logitreg.io import mean_std

        v = [np.nan if x is None else float(x) for x in values]
        if not v:
            return cls(np.nan, np.nan, 0)
        m, s = mean_std(v)
        return cls(m, s, len(v))

    def spread(self) -> float:
        return 0.0 if not np.isfinite(self.std) else self.std

    def fmt(self, digits: int = 3) -> str:
        if not np.isfinite(self.mean):
            return "n/a"
        if self.n < 2:
            return f"{self.mean:.{digits}f} (n=1)"
        return f"{self.mean:.{digits}f} ± {self.std:.{digits}f}"


def _get(a, path: str):
    """``a["x"]["y"][0]`` for ``path="x.y.0"``; a key may itself hold dots (``"0.02"``)."""
    if path == "":
        return a
    parts = path.split(".")
    for i in range(len(parts), 0, -1):  # the longest key first
        key, rest = ".".join(parts[:i]), ".".join(parts[i:])
        if isinstance(a, dict) and key in a:
            found = _get(a[key], rest)
            if found is not None:
                return found
        elif isinstance(a, list) and i == 1 and key.isdigit() and int(key) < len(a):
            return _get(a[int(key)], rest)
    return None


def stat(group: list[dict], path: str | Callable) -> Stat:
    vals = [path(a) if callable(path) else _get(a, path) for a in group]
    return Stat.of([v for v in vals if v is not None] if any(v is not None for v in vals)
                   else [])


def compare(a: Stat, b: Stat, direction: str) -> str:
    """``"held"`` if ``a`` is below (``direction="<"``) or above (``">"``) ``b`` by more than
    the combined std ``sqrt(s_a^2 + s_b^2)``, else ``"did not hold"``."""
    if not (np.isfinite(a.mean) and np.isfinite(b.mean)):
        return "not tested"
    margin = math.hypot(a.spread(), b.spread())
    diff = b.mean - a.mean if direction == "<" else a.mean - b.mean
    return "held" if diff > margin else "did not hold"


def verdict_all(verdicts: list[str]) -> str:
    """All held -> held; none held -> did not hold; otherwise mixed (untested parts ignored)."""
    v = [x for x in verdicts if x != "not tested"]
    if not v:
        return "not tested"
    if all(x == "held" for x in v):
        return "held"
    if all(x == "did not hold" for x in v):
        return "did not hold"
    return "mixed"
