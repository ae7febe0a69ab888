"""Converged test accuracy over the (lambda, alpha) plane: a heat map with the thresholds
lambda_c = 1/2 (alpha = 0) and lambda_c = 1 (alpha > 0) of Prop. 5.1.

Not a figure of the paper: it shows Figs. 13 and 16 as one surface. Exact GD limits
(logitreg.fit) from the start 0 (for lambda > 1 the minimum-norm minimiser; alpha = 0 on
separable data the max-margin direction), sigma_f = 0.5, sigma_n = 1, mu_f = 1, and
N = 1000 by default (half the paper's N: the surface costs 8x less, and its alpha = 0.4 row
was measured within 0.01 of Fig. 16's N = 2000 values at every lambda; --n 2000 for the
paper's).

    python simulations/lambda_alpha_map.py --jobs 2    # ~1 min on 2 cores
    python simulations/lambda_alpha_map.py --quick     # seconds

Writes <out>/lambda_alpha_map.json (config with the seed list, per-seed records, mean +- std
over seeds); interrupted runs resume from <out>/cache.
"""

import argparse
import sys

from logitreg.cli import parse_run_args, script_main
from logitreg.experiments import converged_geometry
from logitreg.io import save_results
from logitreg.sweep import grid, run_sweep, summarize

NAME = "lambda_alpha_map"
QUICK = dict(n=100, seeds=2, lams=[0.3, 0.7, 1.0, 1.3], alphas=[0.0, 0.1, 0.4])


def parse(argv):
    p = argparse.ArgumentParser(prog=f"{NAME}.py", description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1000, help="training samples N")
    p.add_argument("--seeds", type=int, default=4, help="seeds (data draws) per point")
    p.add_argument("--lams", type=float, nargs="+",
                   default=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3,
                            1.4, 1.5], help="d/N grid")
    p.add_argument("--alphas", type=float, nargs="+",
                   default=[0.0, 0.01, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8])
    p.add_argument("--sigma-f", type=float, default=0.5)
    p.add_argument("--sigma-n", type=float, default=1.0)
    a, config = parse_run_args(p, argv, QUICK)
    config["seed_list"] = list(range(a.seeds))
    return p, a, config


def run(a, config, out):
    records = run_sweep(
        lambda seed, **c: converged_geometry(**c, sigma_f=a.sigma_f, sigma_n=a.sigma_n,
                                             n=a.n, fisher=False, seed=seed),
        grid(lam=a.lams, alpha=a.alphas), config["seed_list"], out / "cache", config=config,
        restart=a.restart, n_jobs=a.jobs, desc=NAME)
    summary = summarize(records, ["lam", "alpha"], ["test_acc", "cos_e1", "separable"])
    paths = save_results(out, NAME, config=config,
                         results={"summary": summary, "records": records})
    acc = {(r["lam"], r["alpha"]): r["test_acc_mean"] for r in summary}
    print("test accuracy (mean over seeds); rows lambda, columns alpha")
    print("  lam " + " ".join(f"{al:6.2f}" for al in a.alphas))
    for lam in a.lams:
        print(f"{lam:5.2f} " + " ".join(f"{acc[(lam, al)]:6.3f}" for al in a.alphas))
    print(f"wrote {paths['json']}")


def main(argv=None) -> int:
    return script_main(NAME, argv, parse, run)


if __name__ == "__main__":
    sys.exit(main())
