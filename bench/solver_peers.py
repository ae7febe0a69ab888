"""The exact solver against the tools a user would otherwise pick, for d in 100..4000 at N = 2000.

Two problems on signal-plus-noise data (``mu_f = 1``, ``sigma_f = 0.5``, ``sigma_n = 1``):

* **logit-penalised** (``alpha = 0.4``, ``f = z**2``, no weight penalty): ``fit(method=
  "newton")`` against cvxpy + Clarabel (``fit(method="cvxpy")``, run once per cell, and only
  for ``d <= --cvxpy-max-d``: it takes minutes at d = 1400) and against the closed-form
  Fisher solve :func:`logitreg.fisher_direction` (a direction, the floor of any solver).
* **weight-penalised logistic regression** (``alpha = 0``, ``l2 > 0``): ``fit(method=
  "newton", l2=l2)`` (and ``method="lbfgs"``) against scikit-learn's ``LogisticRegression``
  (``solver="lbfgs"`` and ``"newton-cholesky"``, ``fit_intercept=False``, tight ``tol``).
  Our objective is the mean ``N^-1 sum_i CE_i + (l2/2)|w|^2``; sklearn's is the sum
  ``C sum_i CE_i + |w|^2/2``, which is ours divided by ``l2`` when ``C = 1/(N l2)``. Before
  any timing, each solution is scored by both objectives and the run stops unless they
  agree to 1e-9 relative (:func:`check_same_problem`).

Every method runs under ``threadpoolctl.threadpool_limits`` at each of ``--threads`` (BLAS
and OpenMP), interleaved: each round runs every (threads, method) pair of a cell back to
back in a rotating order, so that load drifting on a shared machine hits them alike. Wall
time is ``time.perf_counter`` around the whole public call. A method whose warm-up takes
more than ``--slow-s`` is timed once (its warm-up), not repeated.

    python bench/solver_peers.py                    # d in 100, 400, 1400, 4000 (~15 min)
    python bench/solver_peers.py --quick            # d in 100, 400 (~1 min)
    python bench/solver_peers.py --smoke            # tiny, for the tests (seconds)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

import logitreg
from logitreg import LinearObjective, make_loss
from logitreg.io import atomic_write

DATA = dict(mu_f=1.0, sigma_f=0.5, sigma_n=1.0)
SAME_OBJECTIVE_RTOL = 1e-9  # the bar for "both solve the same problem"
PLOT = Path(__file__).resolve().parents[1] / "docs" / "figures" / "bench" / "solver_peers.png"
PENALISED = ("newton", "fisher", "cvxpy")
RIDGE = ("newton_l2", "lbfgs_l2", "sklearn_lbfgs", "sklearn_newton_cholesky")


def machine() -> dict:
    """CPU model, cores, BLAS and the load average (``lscpu`` where present)."""
    model = "unknown"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    from threadpoolctl import threadpool_info

    blas = [f"{p['internal_api']} {p.get('version')}" for p in threadpool_info()
            if p["user_api"] == "blas"]
    return {"cpu": model, "cores": os.cpu_count(), "blas": blas,
            "loadavg": list(os.getloadavg())}


def sklearn_C(n: int, l2: float) -> float:
    """sklearn's ``C`` for our ``l2``: ``C sum CE + |w|^2/2 = (mean CE + l2/2 |w|^2) / l2``."""
    return 1.0 / (n * l2)


def our_objective(X, y, l2, w) -> float:
    """``N^-1 sum_i CE(y_i x_i w) + (l2/2)|w|^2`` (logitreg's convention)."""
    obj = LinearObjective(X, y, make_loss(0.0, "quadratic"))
    return obj.value(w) + 0.5 * l2 * float(w @ w)


def sklearn_objective(X, y, C, w) -> float:
    """``C sum_i log(1 + exp(-y_i x_i w)) + |w|^2/2`` (scikit-learn's convention)."""
    return C * float(np.sum(np.logaddexp(0.0, -y * (X @ w)))) + 0.5 * float(w @ w)


def sklearn_fit(X, y, C, solver, tol=1e-12):
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=C, fit_intercept=False, solver=solver, tol=tol, max_iter=10_000)
    return clf.fit(X, y).coef_.ravel()


def check_same_problem(X, y, l2, w_ours, w_sk, C=None) -> dict:
    """Score both solutions by both objectives; raise unless they are one problem's optimum.

    Checks, each to ``SAME_OBJECTIVE_RTOL`` relative: our objective at sklearn's solution
    equals ours at our solution, and sklearn's objective (computed with ``C``, default
    :func:`sklearn_C`) at our solution equals sklearn's at its own. A wrong ``C`` makes
    sklearn solve another problem and fails both.
    """
    C = sklearn_C(len(y), l2) if C is None else C
    ours = [our_objective(X, y, l2, w) for w in (w_ours, w_sk)]
    sk = [sklearn_objective(X, y, C, w) for w in (w_ours, w_sk)]
    gaps = {"ours_at_sklearn": (ours[1] - ours[0]) / abs(ours[0]),
            "sklearn_at_ours": (sk[0] - sk[1]) / abs(sk[1])}
    out = {"objective_ours": ours[0], "objective_sklearn": sk[1], "C": C, **gaps}
    bad = {k: v for k, v in gaps.items() if not abs(v) <= SAME_OBJECTIVE_RTOL}
    if bad:
        raise RuntimeError(f"sklearn (C={C:.6g}) and logitreg (l2={l2:g}) do not solve the same "
                           f"problem: relative objective gaps {bad} exceed "
                           f"{SAME_OBJECTIVE_RTOL:g}")
    return out


def make_calls(X, y, alpha, l2):
    C = sklearn_C(len(y), l2)
    return {
        "newton": lambda: logitreg.fit(X, y, alpha).w,
        "fisher": lambda: logitreg.fisher_direction(X, y),
        "cvxpy": lambda: logitreg.fit(X, y, alpha, method="cvxpy").w,
        "newton_l2": lambda: logitreg.fit(X, y, 0.0, l2=l2).w,
        "lbfgs_l2": lambda: logitreg.fit(X, y, 0.0, l2=l2, method="lbfgs").w,
        "sklearn_lbfgs": lambda: sklearn_fit(X, y, C, "lbfgs"),
        "sklearn_newton_cholesky": lambda: sklearn_fit(X, y, C, "newton-cholesky"),
    }


def timed(fn, threads):
    with threadpool_limits(limits=threads), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        out = fn()
        wall = time.perf_counter() - t0
    return wall, out, sorted({f"{w.category.__name__}: {w.message}"[:160] for w in caught})


def bench_cell(d, args) -> dict:
    """All methods at one ``d``, every thread count, interleaved rounds."""
    X, y = logitreg.signal_plus_noise(args.n, d, rng=args.seed, **DATA)
    calls = make_calls(X, y, args.alpha, args.l2)
    methods = [m for m in (*PENALISED, *RIDGE) if m != "cvxpy"]
    cvx = "cvxpy" in args.methods and d <= args.cvxpy_max_d
    methods = [m for m in methods if m in args.methods]
    cell = {"d": d, "runs": [], "warnings": {}, "not_measured": {}}
    if "cvxpy" in args.methods and not cvx:
        cell["not_measured"]["cvxpy"] = f"d = {d} > --cvxpy-max-d {args.cvxpy_max_d}"
    sols, single = {}, set()
    for th in args.threads:  # warm-up (untimed unless slow), and the solutions to compare
        for m in methods:
            wall, sols[m, th], warns = timed(calls[m], th)
            cell["warnings"].setdefault(m, warns)
            if wall > args.slow_s:
                single.add((th, m))
                cell["runs"].append({"method": m, "threads": th, "round": 0, "wall_s": wall})
    if "newton_l2" in methods:
        for m in ("sklearn_lbfgs", "sklearn_newton_cholesky"):
            if m in methods:
                th = args.threads[0]
                cell[f"check_{m}"] = check_same_problem(X, y, args.l2, sols["newton_l2", th],
                                                        sols[m, th])
    pairs = [(th, m) for th in args.threads for m in methods if (th, m) not in single]
    for r in range(args.repeats):
        k = r % max(len(pairs), 1)
        for th, m in pairs[k:] + pairs[:k]:
            wall, _, _ = timed(calls[m], th)
            cell["runs"].append({"method": m, "threads": th, "round": r, "wall_s": wall})
        if cvx and r == args.repeats // 2:  # once per thread count, mid-run
            for th in args.threads:
                wall, w, warns = timed(calls["cvxpy"], th)
                cell["warnings"].setdefault("cvxpy", warns)
                cell["runs"].append({"method": "cvxpy", "threads": th, "round": r,
                                     "wall_s": wall})
                ev = LinearObjective(X, y, make_loss(args.alpha, "quadratic"))
                w_n = sols["newton", th] if "newton" in methods else \
                    logitreg.fit(X, y, args.alpha).w
                cell[f"cvxpy_rel_gap_{th}"] = (ev.value(w) - ev.value(w_n)) / ev.value(w_n)
    cell["summary"] = summarise(cell["runs"])
    return cell


def summarise(runs) -> dict:
    """Median s per (method, threads), and ratios to our Newton of the same problem."""
    out = {}
    for key in sorted({(r["method"], r["threads"]) for r in runs}):
        ws = [r["wall_s"] for r in runs if (r["method"], r["threads"]) == key]
        out[f"{key[0]}@{key[1]}"] = {"method": key[0], "threads": key[1], "n": len(ws),
                                     "median_s": statistics.median(ws)}
    by = {(r["method"], r["threads"], r["round"]): r["wall_s"] for r in runs}
    for s in out.values():
        ref = "newton" if s["method"] in PENALISED else "newton_l2"
        base = out.get(f"{ref}@{s['threads']}")
        if base is None:
            continue
        s["ratio_to_newton"] = s["median_s"] / base["median_s"]  # > 1: Newton is faster
        paired = [by[k] / by[ref, k[1], k[2]] for k in by
                  if k[0] == s["method"] and k[1] == s["threads"] and (ref, k[1], k[2]) in by]
        s["paired_ratio_to_newton"] = statistics.median(paired) if paired else None
    return out


def plot(cells, path: Path, threads, n):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    groups = (("logit-penalised (alpha = 0.4, f = z^2)", PENALISED),
              ("weight-penalised LR (alpha = 0, l2)", RIDGE))
    for ax, (title, methods) in zip(axes, groups, strict=True):
        for i, m in enumerate(methods):
            for th, style in zip(threads, ("-", "--", ":"), strict=False):
                pts = [(c["d"], c["summary"][f"{m}@{th}"]["median_s"]) for c in cells
                       if f"{m}@{th}" in c["summary"]]
                if pts:
                    ax.plot(*zip(*pts, strict=True), style, marker="o", color=f"C{i}",
                            label=f"{m}, {th} thread{'s' * (th > 1)}")
        ax.set(xscale="log", yscale="log", xlabel=f"d (N = {n})", title=title)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("median wall time per fit (s)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ds", type=int, nargs="+", default=[100, 400, 1400, 4000])
    p.add_argument("--n", type=int, default=2000, help="samples N")
    p.add_argument("--alpha", type=float, default=0.4, help="alpha of the penalised problem")
    p.add_argument("--l2", type=float, default=1e-2, help="weight penalty of the LR problem")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="BLAS threads")
    p.add_argument("--repeats", type=int, default=5, help="interleaved rounds")
    p.add_argument("--slow-s", type=float, default=20.0, help="time once above this (s)")
    p.add_argument("--cvxpy-max-d", type=int, default=400, help="run cvxpy up to this d")
    p.add_argument("--methods", nargs="+", default=[*PENALISED, *RIDGE])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="d in 100, 400; 3 rounds")
    p.add_argument("--smoke", action="store_true", help="N = 200, d in 20, 50; 1 round")
    p.add_argument("--out", type=Path, help="write the JSON here")
    p.add_argument("--plot", type=Path, default=PLOT, help="PNG ('' for none)")
    args = p.parse_args(argv)
    if args.quick:
        args.ds, args.repeats = [100, 400], 3
    if args.smoke:
        args.n, args.ds, args.repeats = 200, [20, 50], 1
    return args


def main(argv=None) -> dict:
    args = parse(argv)
    info = machine()
    print(f"# {info['cpu']}, {info['cores']} cores, BLAS {info['blas']}, load {info['loadavg']}")
    if "cvxpy" in args.methods:
        import cvxpy  # noqa: F401  (import time is not solve time)
    cells = []
    result = {"benchmark": "solver_peers", "argv": vars(args) | {
        "out": str(args.out), "plot": str(args.plot)}, "machine": info, "cells": cells}
    for d in args.ds:
        cell = bench_cell(d, args)
        cell["loadavg"] = list(os.getloadavg())  # 1, 5, 15 min, at the end of the cell
        cells.append(cell)
        for s in cell["summary"].values():
            r = s.get("paired_ratio_to_newton")
            print(f"d={d:5d} {s['method']:>24s} {s['threads']} thr  n={s['n']}  "
                  f"{s['median_s']:9.4f} s  x{s.get('ratio_to_newton', float('nan')):.3g} "
                  f"(paired {'-' if r is None else f'{r:.3g}'})", flush=True)
        info["loadavg_end"] = list(os.getloadavg())
        if args.out:  # after every cell: a long run killed midway keeps what it measured
            args.out.parent.mkdir(parents=True, exist_ok=True)
            text = json.dumps(result, indent=1, default=str).encode()
            atomic_write(args.out, lambda fh, t=text: fh.write(t))
    if args.plot and str(args.plot) not in ("", "."):
        plot(cells, args.plot, args.threads, args.n)
        result["plot"] = str(args.plot)
        if args.out:
            text = json.dumps(result, indent=1, default=str).encode()
            atomic_write(args.out, lambda fh, t=text: fh.write(t))
    return result


if __name__ == "__main__":
    main()
