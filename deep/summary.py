r"""Mean ± std over seeds of finished runs: ``python -m deep.summary RUN_DIR ...``.

Runs are grouped by their resolved config (``config.json``) with the seed and the fields that
do not change the numbers (see :func:`deep.config.numeric_fields`: run name, output folder,
resume and progress options, thread count, compilation, ``--download``) left out, so each
group is one setting trained with several seeds. For each group the test metrics of
``results.json`` are reduced to mean and sample standard deviation by
``logitreg.io.mean_std`` (``ddof = 1``; a single seed has no spread: NaN, written as
``null`` in JSON and ``(n=1)`` in the table), with ``n`` and the seeds listed.

Example::

    for s in 0 1 2; do for r in none ls mixup; do
        python -m deep.train --dataset digits --reg $r --seed $s --no-progress
    done; done
    python -m deep.summary runs/digits-cnn-*-seed* --json runs/summary.json
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from logitreg.cli import run_command
from logitreg.io import mean_std, save_json

from ._io import read_config, read_json
from .cli import os_errors_as_bad_input
from .config import TrainConfig, numeric_fields, setting_fields

__all__ = ["METRICS", "format_table", "main", "summarize"]

#: Every run's results.json has these; the rest of METRICS came later (older runs: NaN).
REQUIRED = ("test_acc", "test_ece", "test_nll")
METRICS = ("test_acc", "test_ece", "test_mce", "test_oe", "test_nll", "test_brier",
           "test_confidence")
# The fields that make a setting: those that change a run's numbers, less the seed.
_SETTING = tuple(k for k in numeric_fields(TrainConfig) if k != "seed")


def summarize(run_dirs: list[str | Path]) -> list[dict]:
    """Group finished runs by setting and reduce their test metrics over seeds.

    Parameters
    ----------
    run_dirs : list of path
        Run directories of ``python -m deep.train``, each with ``config.json`` and
        ``results.json``.

    Returns
    -------
    list of dict
        One per setting, in order of first appearance: ``setting`` (the fields in which the
        groups differ, in :class:`~deep.config.TrainConfig`'s field order; for a single
        setting, the fields that identify it: :func:`deep.config.setting_fields`), ``n``,
        ``seeds``, ``runs`` and ``<metric>_mean``, ``<metric>_std`` for each of
        :data:`METRICS` (``ddof = 1``; NaN for a single seed).

    Raises
    ------
    FileNotFoundError
        A run directory lacks ``config.json`` or ``results.json`` (unfinished run).
    ValueError
        No run directories, a directory of another command (a VAE run), a garbled
        ``config.json`` or ``results.json`` (the message names the file), or two runs of
        one setting that share a seed.
    """
    if not run_dirs:
        raise ValueError("RUN_DIR: no run directories given: expected one or more")
    groups: dict[str, dict] = {}
    for d in map(Path, run_dirs):
        for name in ("config.json", "results.json"):
            if not (d / name).is_file():
                raise FileNotFoundError(
                    f"RUN_DIR={d} has no {name}: expected the directory of a finished "
                    "python -m deep.train run (an unfinished one continues with --resume)"
                )
        expected = f"{', '.join(REQUIRED)} in the results.json of a python -m deep.train run"
        res = read_json(d / "results.json", label=f"RUN_DIR={d}: {d / 'results.json'}",
                        expected=expected)
        if any(m not in res for m in REQUIRED):
            raise ValueError(f"RUN_DIR={d} is not a python -m deep.train run: expected "
                             f"{', '.join(REQUIRED)} in its results.json")
        if not all(isinstance(res[m], (int, float)) or res[m] is None
                   for m in METRICS if m in res):
            raise ValueError(f"RUN_DIR={d}: {d / 'results.json'} holds a non-number among "
                             f"{', '.join(METRICS)}: expected {expected}")
        cfg = read_config(d, TrainConfig, label=f"RUN_DIR={d}: ")
        setting = {k: cfg[k] for k in _SETTING}
        g = groups.setdefault(json.dumps(setting, sort_keys=True),
                              {"setting": setting, "seeds": [], "runs": [], "results": []})
        if cfg["seed"] in g["seeds"]:
            other = g["runs"][g["seeds"].index(cfg["seed"])]
            raise ValueError(f"RUN_DIR={d} repeats seed {cfg['seed']} of {other} with the same "
                             "settings: expected one run per seed")
        g["seeds"].append(cfg["seed"])
        g["runs"].append(str(d))
        g["results"].append(res)
    # Show only the fields in which the settings differ; a single setting, by the few fields
    # that identify it (data set, model, regularizer and its own options).
    settings = [g["setting"] for g in groups.values()]
    varying = [k for k in settings[0] if len({json.dumps(s.get(k)) for s in settings}) > 1]
    shown = varying or [k for k in setting_fields(settings[0]) if k in settings[0]]
    out = []
    for g in groups.values():
        row = {"setting": {k: g["setting"][k] for k in shown},
               "n": len(g["seeds"]), "seeds": g["seeds"], "runs": g["runs"]}
        for m in METRICS:
            # runs written before a metric existed lack it: NaN, not a KeyError
            values = [r.get(m, math.nan) for r in g["results"]]
            row[f"{m}_mean"], row[f"{m}_std"] = mean_std(values)
        out.append(row)
    return out


def format_table(rows: list[dict]) -> str:
    """A Markdown table of :func:`summarize`'s rows: mean ± std over n seeds, or the one
    value and ``(n=1)`` for a single seed, whose spread is unknown."""

    def cell(mean: float, std: float, n: int) -> str:
        return f"{mean:.4f} ± {std:.4f}" if math.isfinite(std) else f"{mean:.4f} (n={n})"

    keys = list(rows[0]["setting"])
    lines = ["| " + " | ".join(keys + ["n"] + list(METRICS)) + " |",
             "|" + "---|" * (len(keys) + 1 + len(METRICS))]
    for r in rows:
        cells = [str(r["setting"][k]) for k in keys] + [str(r["n"])]
        cells += [cell(r[f"{m}_mean"], r[f"{m}_std"], r["n"]) for m in METRICS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    """``python -m deep.summary``: print the table; ``--json`` also writes the rows.

    A failure prints one line on stderr and raises ``SystemExit`` (2 for a missing, garbled
    or foreign run directory; ``logitreg.cli.run_command``)."""
    parser = argparse.ArgumentParser(
        prog="python -m deep.summary",
        description="Mean ± std over seeds of finished deep.train runs, grouped by setting.")
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR",
                        help="run directories of python -m deep.train")
    parser.add_argument("--json", type=Path, help="also write the summary rows to this file "
                        "(a single seed's std as null)")
    args = parser.parse_args(argv)
    rows = []

    def job() -> None:
        if args.json is not None and args.json.is_dir():
            raise ValueError(f"--json={args.json} is a directory: expected a file name for the "
                             "summary rows")
        rows.extend(summarize(args.run_dirs))
        print(format_table(rows))
        if args.json:
            save_json(args.json, rows)

    status = run_command(parser.prog, lambda: os_errors_as_bad_input(job))
    if status:
        raise SystemExit(status)
    return rows


if __name__ == "__main__":
    main()
