"""Fig. 17: test accuracy and cos(w, e1) against sigma_n, below and above lambda = 1/2.

The paper gives no parameters for Fig. 17; ours are options: lambda in {0.3, 0.7} (one on
each side of the unregularized threshold 1/2), sigma_f = 0.5, mu_f = 1, N = 2000,
alpha in {0, 0.4}, sigma_n from 0.1 to 6. Exact limits (logitreg.fit): alpha = 0.4 the
minimiser, alpha = 0 the max-margin direction on separable data (else the finite
minimiser). One seed draws the same standard normals at every sigma_n, so the sigma_n
curves of a seed rescale one data set (the setting of Prop. 6.1).

    python simulations/fig17.py --jobs 2    # ~1 min on 2 cores
    python simulations/fig17.py --quick     # seconds

Writes <out>/fig17.json (config with the seed list, per-seed records, mean +- std over
seeds); interrupted runs resume from <out>/cache. Plot: python -m paper_figs.fig17.
"""

import argparse
import sys

from logitreg.cli import parse_run_args, script_main
from logitreg.experiments import converged_geometry
from logitreg.io import save_results
from logitreg.sweep import grid, run_sweep, summarize

NAME = "fig17"
QUICK = dict(n=200, seeds=3, sigma_ns=[0.2, 1.0, 5.0])


def parse(argv):
    p = argparse.ArgumentParser(prog=f"{NAME}.py", description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000, help="training samples N")
    p.add_argument("--seeds", type=int, default=6, help="seeds (data draws) per point")
    p.add_argument("--lams", type=float, nargs="+", default=[0.3, 0.7], help="d/N")
    p.add_argument("--alphas", type=float, nargs="+", default=[0.0, 0.4])
    p.add_argument("--sigma-f", type=float, default=0.5)
    p.add_argument("--sigma-ns", type=float, nargs="+",
                   default=[0.1, 0.2, 0.5, 1.0, 1.5, 2.0, 4.0, 6.0])
    a, config = parse_run_args(p, argv, QUICK)
    config["seed_list"] = list(range(a.seeds))
    return p, a, config


def run(a, config, out):
    records = run_sweep(
        lambda seed, **c: converged_geometry(**c, sigma_f=a.sigma_f, n=a.n, fisher=False,
                                             seed=seed),
        grid(lam=a.lams, alpha=a.alphas, sigma_n=a.sigma_ns), config["seed_list"],
        out / "cache", config=config, restart=a.restart, n_jobs=a.jobs, desc=NAME)
    summary = summarize(records, ["lam", "alpha", "sigma_n"],
                        ["test_acc", "cos_e1", "norm", "separable"])
    paths = save_results(out, NAME, config=config,
                         results={"summary": summary, "records": records})
    print(f"{'lam':>4} {'alpha':>5} {'sigma_n':>7}  {'test acc':>15}  {'cos(w, e1)':>15}  "
          "separable")
    for r in summary:
        print(f"{r['lam']:4.1f} {r['alpha']:5.2f} {r['sigma_n']:7.2f}  "
              f"{r['test_acc_mean']:.4f}+-{r['test_acc_std']:.4f}  "
              f"{r['cos_e1_mean']:.4f}+-{r['cos_e1_std']:.4f}  {r['separable_mean']:.2f}")
    print(f"wrote {paths['json']}")


def main(argv=None) -> int:
    return script_main(NAME, argv, parse, run)


if __name__ == "__main__":
    sys.exit(main())
