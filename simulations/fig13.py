"""Fig. 13: the converged direction cos(w, e1) and norm |w| against alpha at three lambda.

Exact minimisers (logitreg.fit) on fresh data per seed, sigma_f = 0.5, sigma_n = 1, mu_f = 1,
N = 2000, lambda in {0.1, 0.7, 0.9}, the paper's alpha grid; plus the paper's own protocol,
GD for 20k epochs at eta = 0.1 from PyTorch's default start (gradient flow, logitreg.gd),
on the first --gd-seeds seeds at --gd-lams, beside its exact limit on the same data.

    python simulations/fig13.py --jobs 2    # ~1.5 min on 2 cores
    python simulations/fig13.py --quick     # seconds

Writes <out>/fig13.json (config with the seed lists, per-seed records, mean +- std over
seeds); interrupted runs resume from <out>/cache. Plot: python -m paper_figs.fig13.
"""

import argparse
import sys

from logitreg.cli import parse_run_args, script_main
from logitreg.experiments import converged_geometry, gd_endpoint
from logitreg.io import save_results
from logitreg.sweep import grid, run_sweep, summarize

NAME = "fig13"
QUICK = dict(n=200, seeds=3, alphas=[0.2, 0.8], lams=[0.1, 0.7], gd_seeds=1, gd_lams=[0.7],
             epochs=2000)


def parse(argv):
    p = argparse.ArgumentParser(prog=f"{NAME}.py", description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000, help="training samples N")
    p.add_argument("--seeds", type=int, default=20, help="seeds (data draws) per exact point")
    p.add_argument("--alphas", type=float, nargs="+", default=[0.02, 0.2, 0.4, 0.6, 0.8, 0.98])
    p.add_argument("--lams", type=float, nargs="+", default=[0.1, 0.7, 0.9], help="d/N")
    p.add_argument("--sigma-f", type=float, default=0.5)
    p.add_argument("--sigma-n", type=float, default=1.0)
    p.add_argument("--gd-seeds", type=int, default=2, help="seeds of the GD runs (0: none)")
    p.add_argument("--gd-lams", type=float, nargs="+", default=[0.9], help="lambdas of GD")
    p.add_argument("--epochs", type=int, default=20000, help="GD epochs")
    p.add_argument("--eta", type=float, default=0.1, help="GD step")
    p.add_argument("--init", default="uniform", choices=["uniform", "normal"],
                   help="GD start: U(+-1/sqrt d) (PyTorch nn.Linear) or N(0, I/d)")
    a, config = parse_run_args(p, argv, QUICK)
    config["seed_list"] = list(range(a.seeds))
    config["gd_seed_list"] = list(range(a.gd_seeds))
    return p, a, config


def run(a, config, out):
    common = dict(sigma_f=a.sigma_f, sigma_n=a.sigma_n, n=a.n)
    exact = run_sweep(lambda seed, kind, **c: converged_geometry(**c, **common, seed=seed),
                      grid(lam=a.lams, alpha=a.alphas, kind=["exact"]), config["seed_list"],
                      out / "cache", config=config, restart=a.restart, n_jobs=a.jobs,
                      desc="fig13 exact")
    gd_runs = run_sweep(
        lambda seed, kind, **c: gd_endpoint(**c, **common, epochs=a.epochs, eta=a.eta,
                                            init=a.init, seed=seed),
        grid(lam=a.gd_lams, alpha=a.alphas, kind=["gd"]), config["gd_seed_list"],
        out / "cache", config=config, n_jobs=a.jobs, desc="fig13 GD")
    by = ["lam", "alpha"]
    results = {
        "exact": summarize(exact, by, ["test_acc", "cos_e1", "norm", "cos_fisher"]),
        "gd": summarize(gd_runs, by, ["test_acc", "cos_e1", "norm", "limit_test_acc",
                                      "limit_cos_e1", "limit_norm", "cos_to_limit"])
        if gd_runs else [],
        "records": exact + gd_runs}
    paths = save_results(out, NAME, config=config, results=results)
    print(f"{'lam':>4} {'alpha':>5}  {'cos(w, e1)':>15}  {'|w|':>8}  {'test acc':>15}")
    for r in results["exact"]:
        print(f"{r['lam']:4.1f} {r['alpha']:5.2f}  {r['cos_e1_mean']:.4f}+-{r['cos_e1_std']:.4f}"
              f"  {r['norm_mean']:8.4f}  {r['test_acc_mean']:.4f}+-{r['test_acc_std']:.4f}")
    for r in results["gd"]:
        print(f"GD {a.epochs} epochs, lam={r['lam']}, alpha={r['alpha']}: acc "
              f"{r['test_acc_mean']:.4f} (limit {r['limit_test_acc_mean']:.4f}), cos "
              f"{r['cos_e1_mean']:.4f} (limit {r['limit_cos_e1_mean']:.4f}), n={r['n_seeds']}")
    print(f"wrote {paths['json']}")


def main(argv=None) -> int:
    return script_main(NAME, argv, parse, run)


if __name__ == "__main__":
    sys.exit(main())
