"""Every figure of the paper from results: ``python paper_figs/make_all.py``.

Discovers the figure modules of ``paper_figs/`` (each has ``FIGURE``, ``plot`` and
``reproduction``), runs the simulation of each figure whose result file is missing
(``python simulations/<name>.py --out results/<name>``; a finished or partly finished one is
reused, since every simulation resumes), draws each figure (PNG and PDF) and writes
``docs/reproduction.md``: per figure, the paper's value beside ours (mean ± std over seeds)
and the asymptotic theory, with a verdict.

    python paper_figs/make_all.py                 # everything (see docs/benchmarks.md)
    python paper_figs/make_all.py --quick         # seconds per figure; writes under results/
    python paper_figs/make_all.py --only fig13 grokking --jobs 1

``--jobs`` defaults to the CPU cores this process may use (1 with ``--quick``): each
simulation then runs that many points at once (joblib processes, one BLAS thread each).
The numbers do not depend on it; on 2 cores the suite took 29 min with 2 and 58 min with 1
(the latter before sweep points ran with one BLAS thread, which halved fig02's time at 1),
and ``--quick`` 26 s with 1 and 34 s with 2 (docs/benchmarks.md).

With ``--quick`` the report goes to ``results/reproduction-quick.md``, never over
``docs/reproduction.md``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import subprocess
import sys
import time
from pathlib import Path

from tqdm.auto import tqdm

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ("figure", "quantity", "setting", "paper", "ours", "theory", "verdict", "note")


def default_jobs() -> int:
    """The CPU cores this process may use (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def figure_modules(only=None) -> list:
    """The figure modules of this package, sorted by name (``only``: a subset by name)."""
    import paper_figs

    mods = []
    for info in pkgutil.iter_modules(paper_figs.__path__):
        if info.name.startswith("_") or info.name == "make_all":
            continue
        mod = importlib.import_module(f"paper_figs.{info.name}")
        if hasattr(mod, "FIGURE"):
            mods.append(mod)
    names = {m.FIGURE["name"] for m in mods}
    unknown = sorted(set(only or ()) - names)
    if unknown:
        raise ValueError(f"--only {' '.join(unknown)}: unknown figure; expected some of "
                         f"{', '.join(sorted(names))}")
    return sorted((m for m in mods if not only or m.FIGURE["name"] in only),
                  key=lambda m: m.FIGURE["name"])


def result_path(fig: dict, quick: bool, root: Path) -> Path:
    name = fig["name"]
    return root / (name + ("-quick" if quick else "")) / f"{name}.json"


def ensure_result(fig: dict, path: Path, quick: bool, jobs: int) -> float:
    """Run the figure's simulation unless its result exists; returns the seconds spent.

    A simulation that reused cached sweep points of another library version says so on
    stderr (``logitreg.sweep.StaleCacheWarning``); those lines are passed on."""
    if path.exists():
        return 0.0
    cmd = [sys.executable, str(ROOT / fig["script"]), "--out", str(path.parent)]
    cmd += ["--quick"] if quick else []
    cmd += ["--jobs", str(jobs)] if fig.get("jobs", True) else []
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise RuntimeError(f"{fig['script']} failed (exit {proc.returncode}): {tail}")
    for line in proc.stderr.splitlines():
        if "StaleCacheWarning" in line:
            tqdm.write(f"{fig['name']}: {line.strip()}", file=sys.stderr)
    return time.perf_counter() - start


def reused_from_other_source(path: Path) -> str | None:
    """For a result file computed by another version of the library (its recorded
    ``logitreg_source`` differs from :func:`logitreg.io.source_hash`, or was not recorded),
    a short description of where it came from; None when it is this code's."""
    from logitreg.io import load_json, source_hash

    meta = load_json(path).get("meta") or {}
    source = meta.get("logitreg_source")
    if source == source_hash():
        return None
    git = (meta.get("git_hash") or "unknown")[:7] + (" dirty" if meta.get("git_dirty") else "")
    return f"library source {source or 'not recorded'}, git {git}"


def _cell(row: dict, key: str) -> str:
    if key == "ours":
        mean, std, n = row.get("ours_mean"), row.get("ours_std"), row.get("n_seeds")
        if mean is None:
            return "—"
        text = f"{mean:.4g}" if isinstance(mean, float) else str(mean)
        if isinstance(std, float) and std == std:
            text += f" ± {std:.2g}"
        return text + (f" (n = {n})" if n else "")
    value = row.get(key)
    if value is None:
        return "—"
    return f"{value:.4g}" if isinstance(value, float) else str(value).replace("|", "/")


def report(rows: list[dict], times: dict, quick: bool, origins: dict | None = None) -> str:
    """The reproduction report; ``times`` the seconds each simulation ran (0: its result was
    reused), ``origins`` where a reused result of other library code came from."""
    origins = origins or {}
    lines = ["# Reproduction of the paper's figures", "",
             "Written by `python paper_figs/make_all.py" + (" --quick" if quick else "") + "`"
             " from the result files; do not edit by hand. *ours* is the mean ± std over "
             "seeds (the seed-to-seed spread, ddof 1, not a standard error); *theory* is the "
             "[DERIVED] proportional-limit value where one applies; each figure module states "
             "its verdict rule.", ""]
    if quick:
        lines += ["**Quick mode: small problems and few seeds; not comparable to the paper.**",
                  ""]
    for fig, fig_rows in _by_figure(rows).items():
        lines += [f"## {fig}", "", "| " + " | ".join(COLUMNS[1:]) + " |",
                  "|" + "---|" * (len(COLUMNS) - 1)]
        lines += ["| " + " | ".join(_cell(r, k) for k in COLUMNS[1:]) + " |" for r in fig_rows]
        lines.append("")
    lines += ["## Simulation wall times (this call)", "", "| figure | seconds |", "|---|---|"]
    for k, v in times.items():
        reused = "result reused" + (f", computed by other code ({origins[k]})"
                                    if k in origins else "")
        lines.append(f"| {k} | {v:.0f} |" if v else f"| {k} | {reused} |")
    return "\n".join(lines) + "\n"


def _by_figure(rows):
    out: dict[str, list] = {}
    for r in rows:
        out.setdefault(str(r.get("figure", "?")), []).append(r)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="make_all.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small, fast versions of every figure")
    p.add_argument("--jobs", type=int, default=None,
                   help="parallel workers per simulation (default: the CPU cores this process "
                        f"may use, here {default_jobs()}; 1 with --quick, whose problems are "
                        "too small to pay for starting workers; the numbers do not depend on "
                        "it)")
    p.add_argument("--only", nargs="+", default=None, metavar="NAME", help="these figures only")
    p.add_argument("--results", default=str(ROOT / "results"), help="results root folder")
    p.add_argument("--figures", default=None,
                   help="output folder of the figures (default: <results>/figures[-quick])")
    p.add_argument("--report", default=None,
                   help="report file (default: docs/reproduction.md; with --quick "
                        "<results>/reproduction-quick.md)")
    a = p.parse_args(argv)
    jobs = a.jobs if a.jobs is not None else 1 if a.quick else default_jobs()
    results = Path(a.results)
    figures = Path(a.figures or results / ("figures-quick" if a.quick else "figures"))
    out = Path(a.report or (results / "reproduction-quick.md" if a.quick
                            else ROOT / "docs" / "reproduction.md"))
    try:
        mods = figure_modules(a.only)
    except ValueError as err:
        p.error(str(err))
    rows, times = [], {}
    from logitreg.io import atomic_write

    origins = {}  # reused results of other library code: where they came from
    for mod in tqdm(mods, desc="figures", unit="figure"):
        fig = mod.FIGURE
        path = result_path(fig, a.quick, results)
        try:
            times[fig["name"]] = ensure_result(fig, path, a.quick, jobs)
        except RuntimeError as err:
            print(f"make_all.py: error: {err}", file=sys.stderr)
            return 1
        if not times[fig["name"]] and (other := reused_from_other_source(path)):
            origins[fig["name"]] = other
        mod.plot(path, figures)
        rows += mod.reproduction(path)
    text = report(rows, times, a.quick, origins)
    atomic_write(out, lambda fh: fh.write(text.encode()))
    print(f"wrote {len(mods)} figures to {figures} and the report {out}")
    if origins:
        stale = ", ".join(f"{name} ({result_path({'name': name}, a.quick, results).parent})"
                          for name in origins)
        print(f"make_all.py: note: {len(origins)} result(s) were reused from another version of "
              f"the library: {stale}; delete a folder and rerun to recompute it with "
              "this code (the report's last table says where each came from)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
