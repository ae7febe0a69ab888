"""Fig. 16: test accuracy and cos(w, e1) against lambda = d/N, alpha = 0 vs 0.4.

Protocol (sigma_f in {0, 0.5, 1}, sigma_n in {1, 2}, mu_f = 1, N = 2000, fresh data per
seed):
* exact GD limits (logitreg.fit): alpha = 0.4 the minimiser; alpha = 0 the max-margin
  direction on separable data (else the finite minimiser). For lambda > 1 the limit depends
  on the start (the null space of X): the minimum-norm one (start 0), and the limits from
  PyTorch's default start U(+-1/sqrt d) and from N(0, I/d), on the same data;
* the paper's finite-time protocol, GD for 20k epochs at eta = 0.1 from --gd-init (the
  gradient flow of logitreg.gd), on the first --gd-seeds seeds at --gd-lams, beside its
  exact limit from the same start.

One unit of work (one cached point) is one data draw, (lam, sigma_f, sigma_n, seed): it
evaluates every alpha and every start on it (converged_geometry with a sequence of alphas;
for GD, gd_endpoint with the alphas run at that lam), so the draw, the starts and, for
lambda > 1, the row-space factorisation are made once, not once per alpha. Seeds stay one
point each (not batched): seeds share no data, so neither a solve nor a GD step of one
helps another (a BatchedProblem batches runs on one design), a point is then a few seconds
at most, an interrupted run loses little, and --jobs spreads the draws over the cores. The
records are still one per (alpha, cell, seed), as the summaries and the plot expect.

    python simulations/fig16.py --jobs 2    # 20 exact seeds, 5 GD seeds
    python simulations/fig16.py --quick     # seconds

Writes <out>/fig16.json (config with the seed lists, per-seed records, mean +- std over
seeds); interrupted runs resume from <out>/cache. Plot: python -m paper_figs.fig16.
"""

import argparse
import sys

from logitreg.cli import parse_run_args, script_main
from logitreg.experiments import converged_geometry, gd_endpoint
from logitreg.io import save_results
from logitreg.sweep import grid, run_sweep, summarize

NAME = "fig16"
INITS = ("uniform", "normal")
QUICK = dict(n=100, seeds=3, lams=[0.3, 0.7, 1.0, 1.3], sigma_fs=[0.0, 0.5], gd_seeds=2,
             gd_lams=[1.0], gd_reg_lams=[1.0], epochs=2000)


def parse(argv):
    p = argparse.ArgumentParser(prog=f"{NAME}.py", description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000, help="training samples N")
    p.add_argument("--seeds", type=int, default=20, help="seeds (data draws) per exact point")
    p.add_argument("--lams", type=float, nargs="+",
                   default=[0.1, 0.3, 0.5, 0.7, 0.9, 1.0, 1.1, 1.3, 1.5], help="d/N grid")
    p.add_argument("--alphas", type=float, nargs="+", default=[0.0, 0.4])
    p.add_argument("--sigma-fs", type=float, nargs="+", default=[0.0, 0.5, 1.0])
    p.add_argument("--sigma-ns", type=float, nargs="+", default=[1.0, 2.0])
    p.add_argument("--gd-seeds", type=int, default=5, help="seeds of the GD runs (0: none)")
    p.add_argument("--gd-lams", type=float, nargs="+", default=[0.7, 1.0, 1.3],
                   help="lambdas of the GD runs at alpha = 0")
    p.add_argument("--gd-reg-lams", type=float, nargs="+", default=[1.0, 1.1],
                   help="lambdas of the GD runs at the alphas > 0")
    p.add_argument("--epochs", type=int, default=20000, help="GD epochs")
    p.add_argument("--eta", type=float, default=0.1, help="GD step")
    p.add_argument("--gd-init", default="uniform", choices=INITS,
                   help="GD start: U(+-1/sqrt d) (PyTorch nn.Linear) or N(0, I/d)")
    a, config = parse_run_args(p, argv, QUICK)
    config["seed_list"] = list(range(a.seeds))
    config["gd_seed_list"] = list(range(a.gd_seeds))
    return p, a, config


def _per_alpha(points, alphas_of):
    """One record per (alpha, cell, seed) from points holding a list ``by_alpha``."""
    return [{**{k: v for k, v in p.items() if k not in ("by_alpha", "alphas")}, "alpha": al,
             **r} for p in points for al, r in zip(alphas_of(p), p["by_alpha"], strict=True)]


def run(a, config, out):
    axes = dict(sigma_f=a.sigma_fs, sigma_n=a.sigma_ns)
    exact = _per_alpha(run_sweep(
        lambda seed, kind, **c: {"by_alpha": converged_geometry(
            **c, alpha=a.alphas, n=a.n, inits=INITS, fisher=False, seed=seed)},
        grid(lam=a.lams, **axes, kind=["exact"]), config["seed_list"], out / "cache",
        config=config, restart=a.restart, n_jobs=a.jobs, desc="fig16 exact"),
        lambda p: a.alphas)
    reg = [al for al in a.alphas if al > 0]
    gd_cells = []
    for lam in sorted(set(a.gd_lams) | set(a.gd_reg_lams)):
        alphas = ([0.0] if lam in a.gd_lams and 0.0 in a.alphas else []) + \
            (reg if lam in a.gd_reg_lams else [])
        gd_cells += grid(lam=[lam], **axes, alphas=[alphas], kind=["gd"]) if alphas else []
    gd_runs = _per_alpha(run_sweep(
        lambda seed, kind, alphas, **c: {"by_alpha": gd_endpoint(
            **c, alpha=alphas, n=a.n, epochs=a.epochs, eta=a.eta, init=a.gd_init,
            seed=seed)},
        gd_cells, config["gd_seed_list"], out / "cache", config=config, n_jobs=a.jobs,
        desc="fig16 GD"), lambda p: p["alphas"])
    by = ["alpha", "sigma_f", "sigma_n", "lam"]
    metrics = ["test_acc", "cos_e1", "separable"] + [f"{m}_{i}" for i in INITS
                                                     for m in ("test_acc", "cos_e1")]
    results = {
        "exact": summarize(exact, by, metrics),
        "gd": summarize(gd_runs, by, ["test_acc", "cos_e1", "norm", "limit_test_acc",
                                      "limit_cos_e1", "cos_to_limit"]) if gd_runs else [],
        "records": exact + gd_runs}
    paths = save_results(out, NAME, config=config, results=results)
    gd = {tuple(r[k] for k in by): r for r in results["gd"]}
    print(f"{'alpha':>5} {'s_f':>4} {'s_n':>4} {'lam':>4}  {'acc (start 0)':>15}  "
          f"{'acc U(+-1/sqrt d)':>17}  {'GD 20k':>15}")
    for r in results["exact"]:
        g = gd.get(tuple(r[k] for k in by))
        print(f"{r['alpha']:5.2f} {r['sigma_f']:4.1f} {r['sigma_n']:4.1f} {r['lam']:4.1f}  "
              f"{r['test_acc_mean']:.4f}+-{r['test_acc_std']:.4f}  "
              f"{r['test_acc_uniform_mean']:.4f}+-{r['test_acc_uniform_std']:.4f}  "
              + (f"{g['test_acc_mean']:.4f}+-{g['test_acc_std']:.4f}" if g else ""))
    print(f"wrote {paths['json']}")


def main(argv=None) -> int:
    return script_main(NAME, argv, parse, run)


if __name__ == "__main__":
    sys.exit(main())
