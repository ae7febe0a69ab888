"""Figs. 6 and 15: where logit regularization helps, accuracy against sigma_n for alpha = 0
vs 0.4 at lambda = 0.7 (Fig. 6) and 0.4 (Fig. 15), and the boundary sigma_n*(sigma_f).

Exact limits (logitreg.fit) on fresh data per seed, mu_f = 1, N = 2000, sigma_f in
{0.5, 0.8}: alpha = 0 the max-margin direction on separable data (else the finite
minimiser) on the --sigma-ns grid; alpha = 0.4 the minimiser, exactly independent of sigma_n
for a seed (Prop. 6.1: one seed rescales one set of draws), so it is solved only at
--reg-sigma-ns; and the paper's protocol at alpha = 0, GD for 20k epochs at eta = 0.1 from
PyTorch's default start, at --gd-sigma-ns on --gd-seeds seeds. sigma_n* is where the
alpha = 0.4 level crosses the alpha = 0 curve (logitreg.experiments.helps_hurts_table): on
the seed-mean curves, and per seed.

    python simulations/fig06_15.py --jobs 2           # both figures, ~2 min on 2 cores
    python simulations/fig06_15.py --lam 0.7          # Fig. 6 only
    python simulations/fig06_15.py --quick            # seconds

Writes <out>/fig06_15.json (config with the seed list, per-seed records, mean +- std over
seeds, the boundaries); interrupted runs resume from <out>/cache.
"""

import argparse
import sys

from logitreg.cli import parse_run_args, script_main
from logitreg.experiments import converged_geometry, gd_endpoint, helps_hurts_table
from logitreg.io import save_results
from logitreg.sweep import grid, run_sweep, summarize

NAME = "fig06_15"
QUICK = dict(n=200, seeds=3, sigma_ns=[0.1, 0.5, 1.0, 2.0, 6.0], reg_sigma_ns=[1.0],
             gd_seeds=1, gd_sigma_ns=[0.1], epochs=2000)


def parse(argv):
    p = argparse.ArgumentParser(prog=f"{NAME}.py", description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000, help="training samples N")
    p.add_argument("--seeds", type=int, default=6, help="seeds (data draws) per point")
    p.add_argument("--lams", "--lam", type=float, nargs="+", default=[0.7, 0.4],
                   help="d/N: 0.7 is Fig. 6, 0.4 Fig. 15")
    p.add_argument("--alpha", type=float, default=0.4, help="the regularized alpha")
    p.add_argument("--sigma-fs", type=float, nargs="+", default=[0.5, 0.8])
    p.add_argument("--sigma-ns", type=float, nargs="+",
                   default=[0.1, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 6.0],
                   help="sigma_n grid of the alpha = 0 curves")
    p.add_argument("--reg-sigma-ns", type=float, nargs="+", default=[0.1, 1.0, 6.0],
                   help="sigma_n of the alpha > 0 solves (flat in sigma_n)")
    p.add_argument("--gd-seeds", type=int, default=3,
                   help="seeds of the paper's protocol at alpha = 0 (GD, 20k epochs; 0: none)")
    p.add_argument("--gd-sigma-ns", type=float, nargs="+", default=[0.1, 6.0],
                   help="sigma_n of those GD runs (the paper's digitized end points)")
    p.add_argument("--epochs", type=int, default=20000, help="GD epochs")
    a, config = parse_run_args(p, argv, QUICK)
    config["seed_list"] = list(range(a.seeds))
    config["gd_seed_list"] = list(range(a.gd_seeds))
    return p, a, config


def run(a, config, out):
    cells = grid(lam=a.lams, sigma_f=a.sigma_fs, alpha=[0.0], sigma_n=a.sigma_ns)
    cells += grid(lam=a.lams, sigma_f=a.sigma_fs, alpha=[a.alpha], sigma_n=a.reg_sigma_ns)
    records = run_sweep(
        lambda seed, **c: converged_geometry(**c, n=a.n, fisher=False, seed=seed), cells,
        config["seed_list"], out / "cache", config=config, restart=a.restart, n_jobs=a.jobs,
        desc=NAME)
    gd_runs = run_sweep(
        lambda seed, kind, **c: gd_endpoint(**c, n=a.n, epochs=a.epochs, seed=seed),
        grid(lam=a.lams, sigma_f=a.sigma_fs, alpha=[0.0], sigma_n=a.gd_sigma_ns, kind=["gd"]),
        config["gd_seed_list"], out / "cache", config=config, n_jobs=a.jobs, desc="GD")
    by = ["lam", "sigma_f", "alpha", "sigma_n"]
    summary = summarize(records, by, ["test_acc", "cos_e1", "separable"])
    bounds = helps_hurts_table(records, alpha=a.alpha)
    paths = save_results(out, NAME, config=config, results={
        "summary": summary, "boundary": bounds,
        "gd": summarize(gd_runs, by, ["test_acc", "limit_test_acc", "cos_to_limit"])
        if gd_runs else [],
        "records": records + gd_runs})
    for b in bounds:
        print(f"lambda={b['lam']} sigma_f={b['sigma_f']}: alpha={a.alpha} level "
              f"{b['reg_level']:.4f}; sigma_n* = {b['sigma_n_star']:.3f} (seed-mean curves), "
              f"{b['sigma_n_star_seed_mean']:.3f}+-{b['sigma_n_star_seed_std']:.3f} over "
              f"{b['n_crossing_seeds']} seeds")
    print(f"wrote {paths['json']}")


def main(argv=None) -> int:
    return script_main(NAME, argv, parse, run)


if __name__ == "__main__":
    sys.exit(main())
