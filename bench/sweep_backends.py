"""A figure grid through :func:`logitreg.sweep.run_sweep` on joblib processes vs a Dask cluster.

The grid is Fig. 13's exact cells (``simulations/fig13.py``): ``converged_geometry`` (the
exact minimiser on fresh signal-plus-noise data, ``sigma_f = 0.5``, ``sigma_n = 1``, its
test accuracy, cosines and norm) over ``lam x alpha x seeds``, here at ``N = --n``. The same
grid runs on

* ``loky-1``: ``n_jobs=1``, in this process (under a one-thread BLAS limit, as every worker
  below has);
* ``loky-2``: ``n_jobs=2``, joblib's local processes (one BLAS thread each: joblib's own
  limit for 2 jobs on 2 cores);
* ``dask-1`` / ``dask-2``: ``backend="dask"`` on a ``distributed.LocalCluster`` of 1 or 2
  worker processes with one thread each (Dask's nanny sets one BLAS thread per worker).

Every timed sweep starts from an empty cache (a fresh temporary folder), so every point is
computed; the Dask clusters and joblib's worker pool are started and warmed up once, before
the timed rounds (the cluster start-up is reported apart). The backends run in interleaved
rounds in a rotating order. The records of every backend are checked to be identical.

    python bench/sweep_backends.py            # 2 lam x 6 alpha x 3 seeds at N = 1000
    python bench/sweep_backends.py --quick    # 2 x 2 x 2 at N = 500
    python bench/sweep_backends.py --smoke    # tiny, for the tests
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

from logitreg.experiments import converged_geometry
from logitreg.io import atomic_write
from logitreg.sweep import grid, run_sweep

PLOT = Path(__file__).resolve().parents[1] / "docs" / "figures" / "bench" / "sweep_backends.png"


# One of Fig. 13's exact points, ``point(lam=, alpha=, n=, seed=)``. A partial of a library
# function pickles by reference, so the workers need no code from this script.
point = functools.partial(converged_geometry, sigma_f=0.5, sigma_n=1.0)


def dask_missing() -> str | None:
    """Why the Dask backend cannot be measured here, or None."""
    import logitreg.sweep as sweep

    if "dask" not in getattr(sweep, "BACKENDS", ()):
        return "logitreg.sweep has no backend='dask'"
    if importlib.util.find_spec("distributed") is None:
        return "dask.distributed is not installed (pip install 'logitreg[dask]')"
    return None


def sweep_once(cells, seeds, backend, workers, scheduler) -> tuple[float, list[dict]]:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        if backend == "loky":
            with threadpool_limits(limits=1) if workers == 1 else _null():
                recs = run_sweep(point, cells, seeds, tmp, config={"bench": 1},
                                 n_jobs=workers, progress=False)
        else:
            recs = run_sweep(point, cells, seeds, tmp, config={"bench": 1}, backend="dask",
                             scheduler=scheduler, progress=False)
        return time.perf_counter() - t0, recs


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def plot(summary, path: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.8))
    for i, b in enumerate(("loky", "dask")):
        pts = sorted((s["workers"], s["median_s"]) for s in summary.values() if s["backend"] == b)
        if pts:
            ax.plot(*zip(*pts, strict=True), marker="o", color=f"C{i}",
                    label="joblib (n_jobs)" if b == "loky" else "Dask LocalCluster")
    ax.set(xlabel="workers (processes, 1 thread each)", ylabel="median wall time (s)",
           xticks=[1, 2], title="Fig. 13 exact grid through run_sweep")
    ax.set_ylim(bottom=0)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1000, help="samples N per point")
    p.add_argument("--lams", type=float, nargs="+", default=[0.1, 0.7])
    p.add_argument("--alphas", type=float, nargs="+", default=[0.02, 0.2, 0.4, 0.6, 0.8, 0.98])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--repeats", type=int, default=3, help="interleaved rounds")
    p.add_argument("--no-dask", action="store_true", help="joblib only")
    p.add_argument("--quick", action="store_true", help="N = 500, 2 x 2 x 2 points, 2 rounds")
    p.add_argument("--smoke", action="store_true", help="N = 100, 1 x 2 x 1 points, 1 round")
    p.add_argument("--out", type=Path, help="write the JSON here")
    p.add_argument("--plot", type=Path, default=PLOT, help="PNG ('' for none)")
    a = p.parse_args(argv)
    if a.quick:
        a.n, a.lams, a.alphas, a.seeds, a.repeats = 500, [0.1, 0.7], [0.2, 0.8], 2, 2
    if a.smoke:
        a.n, a.lams, a.alphas, a.seeds, a.repeats = 100, [0.5], [0.2, 0.8], 1, 1
    return a


def main(argv=None) -> dict:
    a = parse(argv)
    cells = [{**c, "n": a.n} for c in grid(lam=a.lams, alpha=a.alphas)]
    seeds = list(range(a.seeds))
    why = "--no-dask" if a.no_dask else dask_missing()
    configs = [("loky", 1), ("loky", 2)] + ([] if why else [("dask", 1), ("dask", 2)])
    info = {"cpu_count": os.cpu_count(), "loadavg": list(os.getloadavg()),
            "points": len(cells) * len(seeds)}
    clusters, schedulers, startup = [], {}, {}
    try:
        if not why:
            from distributed import LocalCluster

            for k in (1, 2):
                t0 = time.perf_counter()
                c = LocalCluster(n_workers=k, threads_per_worker=1, processes=True,
                                 dashboard_address=":0", host="127.0.0.1",
                                 silence_logs=logging.ERROR)
                startup[f"dask-{k}"] = time.perf_counter() - t0
                clusters.append(c)
                schedulers[k] = c.scheduler_address
        ref = None
        for b, k in configs:  # warm-up: worker pools, imports in the workers (two points:
            # run_sweep evaluates a single point in this process)
            sweep_once(cells[:2], seeds[:1], b, k, schedulers.get(k))
        runs = []
        for r in range(a.repeats):
            order = configs[r % len(configs):] + configs[:r % len(configs)]
            for b, k in order:
                wall, recs = sweep_once(cells, seeds, b, k, schedulers.get(k))
                ref = recs if ref is None else ref
                if recs != ref:
                    raise RuntimeError(f"{b}-{k} gave other records than the first backend")
                runs.append({"backend": b, "workers": k, "round": r, "wall_s": wall})
                print(f"round {r}: {b}-{k} {wall:7.2f} s", flush=True)
    finally:
        for c in clusters:
            c.close()
    summary = {}
    by = {(x["backend"], x["workers"], x["round"]): x["wall_s"] for x in runs}
    for b, k in configs:
        ws = [by[b, k, r] for r in range(a.repeats)]
        summary[f"{b}-{k}"] = {
            "backend": b, "workers": k, "n": len(ws), "median_s": statistics.median(ws),
            "min_s": min(ws), "max_s": max(ws),
            # paired, same round: > 1 means faster than loky n_jobs=1
            "speedup_vs_loky1": statistics.median(by["loky", 1, r] / by[b, k, r]
                                                  for r in range(a.repeats))}
        s = summary[f"{b}-{k}"]
        print(f"{b}-{k}: median {s['median_s']:.2f} s ({s['min_s']:.2f}-{s['max_s']:.2f}), "
              f"speed-up vs loky-1 {s['speedup_vs_loky1']:.2f}x")
    info["loadavg_end"] = list(os.getloadavg())
    result = {"benchmark": "sweep_backends", "argv": {k: str(v) for k, v in vars(a).items()},
              "grid": {"lams": a.lams, "alphas": a.alphas, "seeds": seeds, "n": a.n},
              "machine": info, "dask_startup_s": startup, "runs": runs, "summary": summary,
              "records_identical": True,
              "not_measured": {"dask": why} if why else {}}
    if a.plot and str(a.plot) not in ("", "."):
        plot(summary, a.plot)
        result["plot"] = str(a.plot)
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(a.out, lambda fh: fh.write(json.dumps(result, indent=1).encode()))
    return result


if __name__ == "__main__":
    main()
