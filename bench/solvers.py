"""Benchmark of the exact solvers of :func:`logitreg.solvers.fit` (binary, ``f = z**2``).

Two experiments, on signal-plus-noise data (``mu_f = 1``, ``sigma_f = 0.5``, ``sigma_n = 1``):

1. **Head-to-head** at ``N = 2000``, ``d = 1400``, ``alpha = 0.4``: damped Newton vs
   L-BFGS-B vs cvxpy + Clarabel vs the closed-form Fisher solve
   (:func:`logitreg.fisher_direction`), on the same data in the same run. cvxpy runs once
   (it takes minutes); the others ``--repeats`` times, interleaved round by round (the
   order rotates every round, and the cvxpy run sits in the middle round), so that load
   drifts on a shared machine hit every method alike. Every objective is evaluated by the
   same :class:`logitreg.LinearObjective` on the original data; the Fisher direction, which
   is a direction and not a minimiser, is given its loss-optimal scale (a 1-D search, not
   timed). Targets: Newton >= 300x faster than cvxpy *at equal objective* (both within
   1e-9 relative of the best objective found), and Newton <= 3x the Fisher solve.
2. **Scaling in d** at ``N = 2000`` through ``d > N``: Newton vs Fisher vs L-BFGS. For
   ``d > N`` :func:`fit` works in the N-dim row space (thin QR of ``X^T``); the Fisher
   solve factors the d x d centred covariance, which has rank ``N - 1`` once ``d >= N``: the
   table says whether its Cholesky went through (on a numerically singular matrix) or it
   fell back to ``lstsq``. A method whose first run takes longer than ``--slow-s`` seconds
   is not repeated (its ``n`` column says so).

Wall times are ``time.perf_counter`` around the whole public call (input checks, QR and
all); the JSON (``--out``) keeps every raw timing, CPU time and the machine description.

Usage::

    python bench/solvers.py                          # full run (cvxpy: ~5 min)
    python bench/solvers.py --quick                  # smoke run, seconds
    python bench/solvers.py --skip-cvxpy --repeats 9 --out timings.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import time
import warnings

import numpy as np
import scipy
from scipy import linalg, optimize

import logitreg
from logitreg.losses import LinearObjective, make_loss
from logitreg.solvers import fit

DATA = dict(mu_f=1.0, sigma_f=0.5, sigma_n=1.0)
EQUAL_OBJECTIVE_RTOL = 1e-9
TARGET_SPEEDUP_VS_CVXPY = 300.0
TARGET_RATIO_TO_FISHER = 3.0


# ------------------------------------------------------------------------ machine


def machine_info() -> dict:
    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    info = {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "logitreg": logitreg.__version__,
        "blas": "threadpoolctl not installed",
        "loadavg_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }
    try:
        import cvxpy

        info["cvxpy"] = cvxpy.__version__
        import clarabel

        info["clarabel"] = getattr(clarabel, "__version__", "?")
    except ImportError:
        info.setdefault("cvxpy", "not installed")
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [
            {k: p.get(k) for k in ("internal_api", "version", "num_threads", "architecture",
                                   "filepath")}
            for p in threadpool_info() if p.get("user_api") == "blas"
        ]
    except ImportError:
        pass
    return info


def describe_machine(info: dict) -> str:
    blas = info["blas"]
    if isinstance(blas, list):
        blas = "; ".join(f"{b['internal_api']} {b['version']} ({b['architecture']}), "
                         f"{b['num_threads']} threads" for b in blas) or "none found"
    load = info["loadavg_start"]
    load = "n/a" if load is None else ", ".join(f"{x:.2f}" for x in load)
    return (f"CPU: {info['cpu']} | {info['usable_cpus']} usable of {info['logical_cpus']} "
            f"logical CPUs | load average at start: {load}\n"
            f"BLAS: {blas}\n"
            f"python {info['python']}, numpy {info['numpy']}, scipy {info['scipy']}, "
            f"cvxpy {info.get('cvxpy', '-')}, clarabel {info.get('clarabel', '-')}, "
            f"logitreg {info['logitreg']}")


# ------------------------------------------------------------------------ helpers


class Evaluator:
    """The mean loss on the original data, shared by every method."""

    def __init__(self, X, y, alpha):
        self.obj = LinearObjective(X, np.where(y > 0, 1.0, -1.0), make_loss(alpha, "quadratic"))

    def loss(self, w) -> float:
        return self.obj.value(w)

    def grad_norm(self, w) -> float:
        return float(np.linalg.norm(self.obj.grad(w)))

    def best_scale(self, v) -> tuple[float, np.ndarray]:
        """``min_s L(s v)`` over ``s >= 0`` (1-D, convex): the loss of the direction ``v``."""
        t = self.obj.A @ v
        rms = float(np.sqrt(np.mean(t * t)))
        if not np.isfinite(rms) or rms == 0.0:
            return self.loss(np.zeros_like(v)), np.zeros_like(v)
        t = t / rms
        res = optimize.minimize_scalar(
            lambda s: float(np.mean(self.obj.loss.value(s * t))), bounds=(0.0, 1e3),
            method="bounded", options={"xatol": 1e-12})
        w = (res.x / rms) * v
        return self.loss(w), w


def timed(fn):
    """Run ``fn()`` once; return (wall s, process CPU s, result, warning messages)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        t1, c1 = time.perf_counter(), time.process_time()
    return t1 - t0, c1 - c0, out, [f"{w.category.__name__}: {w.message}" for w in caught]


@contextlib.contextmanager
def cvxpy_spy(sink: dict):
    """Record cvxpy's compile time and Clarabel's own solve time/status (read-only spy)."""
    import cvxpy as cp

    original = cp.Problem.solve

    def spy(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        st = self.solver_stats
        sink.update(status=self.status, value=self.value,
                    compilation_s=getattr(self, "compilation_time", None),
                    solver_s=getattr(st, "solve_time", None),
                    setup_s=getattr(st, "setup_time", None),
                    solver_iters=getattr(st, "num_iters", None))
        return out

    cp.Problem.solve = spy
    try:
        yield sink
    finally:
        cp.Problem.solve = original


def fisher_path(X, y) -> dict:
    """Which branch ``fisher_direction`` takes (replicates its first step; not timed)."""
    A = np.where(y > 0, 1.0, -1.0)[:, None] * X
    Ac = A - A.mean(axis=0)
    cov = Ac.T @ Ac / len(A)
    try:
        c, _ = linalg.cho_factor(cov, check_finite=False)
    except linalg.LinAlgError:
        return {"path": "lstsq", "pivot_ratio": None}
    piv = np.abs(np.diag(c)) ** 2
    # min/max squared Cholesky pivot: a cheap conditioning indicator (~ 1/cond for SPD).
    return {"path": "cholesky", "pivot_ratio": float(piv.min() / piv.max())}


def run_method(method, X, y, alpha, tol, lbfgs_max_iter, cvx_sink=None):
    if method == "fisher":
        return timed(lambda: logitreg.fisher_direction(X, y))
    if method == "cvxpy":
        with cvxpy_spy(cvx_sink if cvx_sink is not None else {}):
            return timed(lambda: fit(X, y, alpha, method="cvxpy", tol=tol))
    max_iter = lbfgs_max_iter if method == "lbfgs" else None
    return timed(lambda: fit(X, y, alpha, method=method, tol=tol, max_iter=max_iter))


def record(method, wall, cpu, out, warns, ev: Evaluator) -> dict:
    rec = {"method": method, "wall_s": wall, "cpu_s": cpu, "warnings": warns}
    if method == "fisher":
        loss, w = ev.best_scale(out)
        rec.update(loss=loss, n_iter=None, converged=None, direction_norm=float(
            np.linalg.norm(out)))
    else:
        w = out.w
        rec.update(loss=ev.loss(w), n_iter=out.n_iter, converged=out.converged,
                   reported_loss=out.loss, message=out.message, solver_time_s=out.time)
    rec["grad_norm"] = ev.grad_norm(w)
    rec["accuracy"] = float(logitreg.population_accuracy(w, **DATA))
    rec["_w"] = w
    return rec


def rotate(seq, k):
    k %= len(seq)
    return list(seq[k:]) + list(seq[:k])


def summarise(runs: list[dict], methods) -> dict:
    out = {}
    for m in methods:
        rs = [r for r in runs if r["method"] == m]
        if not rs:
            continue
        walls = [r["wall_s"] for r in rs]
        losses = [r["loss"] for r in rs]
        out[m] = {
            "n": len(rs),
            "median_s": statistics.median(walls),
            "min_s": min(walls),
            "max_s": max(walls),
            "median_cpu_s": statistics.median(r["cpu_s"] for r in rs),
            "loss": losses[0],
            "loss_spread": max(losses) - min(losses),
            "n_iter": rs[0]["n_iter"],
            "converged": rs[0]["converged"],
            "grad_norm": rs[0]["grad_norm"],
            "accuracy": rs[0]["accuracy"],
            "warnings": sorted({w for r in rs for w in r["warnings"]}),
        }
    best = min(s["loss"] for s in out.values())
    for s in out.values():
        s["rel_gap"] = (s["loss"] - best) / abs(best)
    return out


def paired_ratio(runs: list[dict], num: str, den: str) -> float | None:
    """Median over rounds of ``wall(num) / wall(den)``, the two run back to back in a round.

    Robust to load that drifts between rounds (a ratio of medians is not). ``None`` when
    the two never ran in the same round.
    """
    by = {(r["method"], r["round"]): r["wall_s"] for r in runs}
    ratios = [by[num, k] / by[den, k] for (m, k) in by if m == num and (den, k) in by]
    return statistics.median(ratios) if ratios else None


def fmt_s(x: float) -> str:
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"


def fmt_gap(g: float) -> str:
    return "0 (best)" if g == 0 else f"{g:+.1e}"


# -------------------------------------------------------------------- experiment 1


def head_to_head(args, info) -> dict:
    N, d, alpha = args.N, args.d, args.alpha
    X, y = logitreg.signal_plus_noise(N, d, rng=args.seed, **DATA)
    ev = Evaluator(X, y, alpha)
    fast = ["newton", "fisher", "lbfgs"]
    methods = fast + ([] if args.skip_cvxpy else ["cvxpy"])
    print(f"\n## 1. Head-to-head: N = {N}, d = {d}, alpha = {alpha}, f = z^2, seed {args.seed}")
    print(f"   ({args.repeats} interleaved rounds; cvxpy once, between rounds "
          f"{args.repeats // 2} and {args.repeats // 2 + 1})" if not args.skip_cvxpy else
          f"   ({args.repeats} interleaved rounds; cvxpy skipped)", flush=True)
    for m in fast:  # warm-up: imports, first-touch allocations, BLAS thread start
        run_method(m, X, y, alpha, args.tol, args.lbfgs_max_iter)
    if not args.skip_cvxpy:
        import cvxpy  # noqa: F401  (import time is not solver time)
    runs, cvx = [], {}
    # Rounds of the fast methods (rotating order); the single cvxpy run gets a slot of its
    # own half-way, so that every round's fast methods still run back to back.
    slots = [(r, rotate(fast, r)) for r in range(args.repeats)]
    if not args.skip_cvxpy:
        slots.insert(args.repeats // 2, (-1, ["cvxpy"]))
    for r, order in slots:
        for m in order:
            if m == "cvxpy":
                print("   running cvxpy + Clarabel (slow) ...", flush=True)
            wall, cpu, out, warns = run_method(m, X, y, alpha, args.tol, args.lbfgs_max_iter,
                                               cvx)
            rec = record(m, wall, cpu, out, warns, ev)
            rec["round"] = r
            runs.append(rec)
            where = "cvxpy slot" if r < 0 else f"round {r + 1}"
            print(f"   {where}: {m:7s} {wall:9.3f} s  L = {rec['loss']:.16g}", flush=True)
    S = summarise(runs, methods)
    w = {m: next(r["_w"] for r in runs if r["method"] == m) for m in methods}
    for r in runs:
        del r["_w"]
    tn = S["newton"]["median_s"]
    for m in fast:
        S[m]["paired_ratio_to_newton"] = paired_ratio(runs, m, "newton")
    S["newton"]["paired_ratio_to_fisher"] = paired_ratio(runs, "newton", "fisher")

    labels = {"newton": "Newton (PCG, Fisher warm start)", "lbfgs": "L-BFGS-B",
              "cvxpy": "cvxpy + Clarabel", "fisher": "closed-form Fisher Σ̂⁻¹μ̂ *"}
    print("\n| method | n | median wall [s] | (min-max) | time / Newton: ratio of medians "
          "(paired) | objective L | rel. gap to best | n_iter | converged |")
    print("|---|---|---|---|---|---|---|---|---|")
    for m in ["newton", "fisher", "lbfgs", "cvxpy"]:
        if m not in S:
            continue
        s = S[m]
        print(f"| {labels[m]} | {s['n']} | {fmt_s(s['median_s'])} | "
              f"({fmt_s(s['min_s'])}-{fmt_s(s['max_s'])}) | {s['median_s'] / tn:.3g}x"
              + ("" if s.get("paired_ratio_to_newton") is None
                 else f" ({s['paired_ratio_to_newton']:.3g}x)") + " | "
              f"{s['loss']:.15f} | {fmt_gap(s['rel_gap'])} | "
              f"{'-' if s['n_iter'] is None else s['n_iter']} | "
              f"{'-' if s['converged'] is None else s['converged']} |")
    print("\n\\* Fisher: a direction, not a minimiser; its objective is at the loss-optimal "
          "scale (1-D search, not timed). Paired = median over rounds of the per-round ratio "
          "(methods run back to back), robust to load drift between rounds.")
    for m in methods:
        if S[m]["warnings"]:
            print(f"   warnings ({m}): {S[m]['warnings']}")

    result = {"N": N, "d": d, "alpha": alpha, "seed": args.seed, "runs": runs, "summary": S}
    targets = {}
    ratio_f = tn / S["fisher"]["median_s"]
    ratio_fp = S["newton"]["paired_ratio_to_fisher"]
    targets["newton_vs_fisher"] = {
        "ratio_of_medians": ratio_f, "paired_median_ratio": ratio_fp,
        "target": TARGET_RATIO_TO_FISHER,
        "pass": bool(max(ratio_f, ratio_fp) <= TARGET_RATIO_TO_FISHER)}
    verdict = "PASS" if targets["newton_vs_fisher"]["pass"] else "FAIL"
    print(f"\nNewton / Fisher: {ratio_f:.3g}x (ratio of medians; median of paired per-round "
          f"ratios {ratio_fp:.3g}x), target <= {TARGET_RATIO_TO_FISHER:g}x (both) -> {verdict}")
    if "cvxpy" in S:
        sc, sn = S["cvxpy"], S["newton"]
        speedup = sc["median_s"] / tn
        speedup_worst = sc["median_s"] / S["newton"]["max_s"]  # vs Newton's slowest run
        equal = abs(sc["rel_gap"]) <= EQUAL_OBJECTIVE_RTOL and abs(sn["rel_gap"]) <= \
            EQUAL_OBJECTIVE_RTOL
        wdiff = float(np.linalg.norm(w["cvxpy"] - w["newton"]) / np.linalg.norm(w["newton"]))
        targets["newton_vs_cvxpy"] = {
            "speedup": speedup, "speedup_vs_slowest_newton": speedup_worst,
            "target": TARGET_SPEEDUP_VS_CVXPY,
            "speed_pass": bool(speedup >= TARGET_SPEEDUP_VS_CVXPY),
            "equal_objective_rtol": EQUAL_OBJECTIVE_RTOL, "equal_objective": bool(equal),
            "objective_newton_minus_cvxpy_rel": (sn["loss"] - sc["loss"]) / abs(sc["loss"]),
            "w_rel_diff": wdiff, "clarabel": cvx,
            "pass": bool(speedup >= TARGET_SPEEDUP_VS_CVXPY and equal)}
        t = targets["newton_vs_cvxpy"]
        print(f"Newton vs cvxpy: {speedup:.4g}x faster ({speedup_worst:.4g}x against Newton's "
              f"slowest run; target >= {TARGET_SPEEDUP_VS_CVXPY:g}x); "
              f"objectives: Newton gap {sn['rel_gap']:.1e}, cvxpy gap {sc['rel_gap']:.1e} "
              f"(equal within {EQUAL_OBJECTIVE_RTOL:g} relative: {equal}); "
              f"|w_cvxpy - w_newton| / |w_newton| = {wdiff:.1e} -> "
              f"{'PASS' if t['pass'] else 'FAIL'}")
        if cvx:
            print(f"   cvxpy detail: status {cvx.get('status')}, compile "
                  f"{cvx.get('compilation_s') or float('nan'):.1f} s, Clarabel solve "
                  f"{cvx.get('solver_s') or float('nan'):.1f} s, "
                  f"{cvx.get('solver_iters')} interior-point iterations")
    result["targets"] = targets
    return result


# -------------------------------------------------------------------- experiment 2


def scaling(args) -> dict:
    N, alpha = args.N, args.alpha
    methods = ["newton", "fisher", "lbfgs"]
    print(f"\n## 2. Scaling in d: N = {N}, alpha = {alpha}, f = z^2, seed {args.seed} "
          f"({args.scaling_repeats} interleaved rounds; a method whose first run exceeds "
          f"{args.slow_s:g} s runs once)", flush=True)
    floor = float(logitreg.loss_floor(alpha))
    rows = []
    for d in args.ds:
        X, y = logitreg.signal_plus_noise(N, d, rng=args.seed, **DATA)
        ev = Evaluator(X, y, alpha)
        runs, slow = [], set()
        for r in range(args.scaling_repeats):
            for m in rotate(methods, r):
                if m in slow:
                    continue
                wall, cpu, out, warns = run_method(m, X, y, alpha, args.tol, args.lbfgs_max_iter)
                rec = record(m, wall, cpu, out, warns, ev)
                del rec["_w"]
                rec["round"] = r
                runs.append(rec)
                if r == 0 and wall > args.slow_s:
                    slow.add(m)
        S = summarise(runs, methods)
        S["newton"]["paired_ratio_to_fisher"] = paired_ratio(runs, "newton", "fisher")
        S["lbfgs"]["paired_ratio_to_newton"] = paired_ratio(runs, "lbfgs", "newton")
        fp = fisher_path(X, y)
        row = {"d": d, "N": N, "summary": S, "fisher_path": fp, "runs": runs,
               "loss_floor": floor}
        rows.append(row)
        s = S
        print(f"   d = {d}: newton {s['newton']['median_s']:.3f} s, fisher "
              f"{s['fisher']['median_s']:.3f} s ({fp['path']}), lbfgs "
              f"{s['lbfgs']['median_s']:.3f} s", flush=True)

    print("\n| d | d/N | Newton [s] (n_iter) | Fisher [s] (path) | L-BFGS [s] (n_iter) "
          "| Newton / Fisher (paired) | L-BFGS / Newton (paired) | rel. gap: Fisher* / L-BFGS "
          "| test acc.: Newton / Fisher |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        s, fp = row["summary"], row["fisher_path"]
        sn, sf, sl = s["newton"], s["fisher"], s["lbfgs"]
        path = fp["path"] if fp["pivot_ratio"] is None else \
            f"chol, pivot ratio {fp['pivot_ratio']:.0e}"
        lb_note = "" if sl["converged"] else ", NOT converged"
        n_note = lambda x: "" if x["n"] == args.scaling_repeats else f", n={x['n']}"  # noqa: E731
        print(f"| {row['d']} | {row['d'] / N:.2f} | {fmt_s(sn['median_s'])} ({sn['n_iter']}"
              f"{n_note(sn)}) | {fmt_s(sf['median_s'])} ({path}{n_note(sf)}) | "
              f"{fmt_s(sl['median_s'])} ({sl['n_iter']}{lb_note}{n_note(sl)}) | "
              f"{sn['paired_ratio_to_fisher']:.3g}x | {sl['paired_ratio_to_newton']:.3g}x"
              f" | {fmt_gap(sf['rel_gap'])} / {fmt_gap(sl['rel_gap'])} | "
              f"{sn['accuracy']:.4f} / {sf['accuracy']:.4f} |")
    print("\nRatios are medians over rounds of per-round ratios (methods run back to back; a "
          "method run once pairs with round 1 only). Test acc. is the exact population "
          "accuracy of sign(w.x) (logitreg.population_accuracy).")
    print(f"\\* Fisher objective at its loss-optimal scale. For d >= N the minimum is the "
          f"interpolation floor l(z*) = {floor:.16g}; Newton's objective minus the floor per "
          "d: " + ", ".join(f"{r['d']}: {r['summary']['newton']['loss'] - floor:+.1e}"
                            for r in rows if r["d"] >= N))
    return {"rows": rows}


# --------------------------------------------------------------------------- main


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny smoke run (seconds)")
    p.add_argument("--repeats", type=int, default=7,
                   help="rounds for Newton/L-BFGS/Fisher in experiment 1 (cvxpy runs once)")
    p.add_argument("--scaling-repeats", type=int, default=5, help="rounds per d in experiment 2")
    p.add_argument("--skip-cvxpy", action="store_true")
    p.add_argument("--skip-scaling", action="store_true")
    p.add_argument("--skip-head-to-head", action="store_true")
    p.add_argument("--N", type=int, default=2000)
    p.add_argument("--d", type=int, default=1400, help="d of experiment 1")
    p.add_argument("--ds", type=int, nargs="+", default=[200, 700, 1400, 2000, 3000, 6000],
                   help="d values of experiment 2")
    p.add_argument("--alpha", type=float, default=0.4)
    p.add_argument("--tol", type=float, default=1e-10, help="fit(tol=...) for every method")
    p.add_argument("--lbfgs-max-iter", type=int, default=None,
                   help="L-BFGS iteration cap (default: fit's own, 20000)")
    p.add_argument("--slow-s", type=float, default=60.0,
                   help="experiment 2: a method slower than this on its first run runs once")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--blas-threads", type=int, default=None,
                   help="cap BLAS threads (threadpoolctl); default: the BLAS library's own. "
                        "On a shared machine 1 avoids thread oversubscription")
    p.add_argument("--out", help="write every raw timing and the summary to this JSON file")
    args = p.parse_args(argv)
    if args.quick:
        args.N, args.d, args.ds = 300, 200, [50, 200, 300, 600]
        args.repeats, args.scaling_repeats = 3, 2
    if args.repeats < 1 or args.scaling_repeats < 1:
        p.error("--repeats and --scaling-repeats must be >= 1")

    limiter = contextlib.nullcontext()
    if args.blas_threads is not None:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            p.error("--blas-threads needs threadpoolctl")
        limiter = threadpool_limits(limits=args.blas_threads, user_api="blas")
    with limiter:
        info = machine_info()  # inside the limit: reports the threads actually used
        print("# logitreg solver benchmark\n")
        print(describe_machine(info))
        print("command: " + " ".join([os.path.basename(sys.executable)] + sys.argv))
        t0 = time.perf_counter()
        out = {"machine": info, "argv": sys.argv, "args": vars(args)}
        if not args.skip_head_to_head:
            out["head_to_head"] = head_to_head(args, info)
        if not args.skip_scaling:
            out["scaling"] = scaling(args)
    out["machine"]["loadavg_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    out["total_s"] = time.perf_counter() - t0
    print(f"\nload average at end: {out['machine']['loadavg_end']}; total {out['total_s']:.0f} s")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(out, fh, indent=1, default=float)
        print(f"raw timings written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
