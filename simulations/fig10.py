"""Fig. 10: the finite-sample alpha-plateau, tan(theta) between S_min(alpha) and S_quad.

On 2-D Gaussian signal-plus-noise data (mu_f = 1, sigma_f = 0.5, sigma_n = 1) of N samples,
S_min(alpha) is the exact minimiser of (1 - alpha) CE + alpha z^2 and S_quad that of the
quadratic loss b (z - a)^2 with a = b = 1 (the empirical Fisher direction); theta is the
angle between them, for alpha from 1e-5 and several N, mean +- std over seeds.

    python simulations/fig10.py --jobs 2   # ~1 min on 2 cores
    python simulations/fig10.py --quick    # seconds

Writes <out>/fig10.json; interrupted runs resume from <out>/cache.
Plot: python -m paper_figs.fig10 <out>/fig10.json.
"""

import argparse
import sys

import numpy as np

from logitreg.cli import parse_run_args, script_main
from logitreg.io import save_results
from logitreg.sweep import grid, run_sweep, summarize
from logitreg.toys import alpha_plateau

NAME = "fig10"
QUICK = dict(ns=[10, 100, 1000], seeds=5, n_alphas=8)


def parse(argv):
    p = argparse.ArgumentParser(prog=f"{NAME}.py", description=__doc__.splitlines()[0])
    p.add_argument("--ns", type=int, nargs="+", default=[10, 30, 100, 1000, 10000],
                   help="sample sizes N")
    p.add_argument("--alpha-min", type=float, default=1e-5, help="smallest alpha")
    p.add_argument("--alpha-max", type=float, default=0.9, help="largest alpha")
    p.add_argument("--n-alphas", type=int, default=25, help="log-spaced alphas")
    p.add_argument("--seeds", type=int, default=50, help="seeds (data draws) per N")
    a, config = parse_run_args(p, argv, QUICK)
    config["alphas"] = np.geomspace(a.alpha_min, a.alpha_max, a.n_alphas).tolist()
    config["seed_list"] = list(range(a.seeds))
    return p, a, config


def run(a, config, out):
    alphas = config["alphas"]
    records = run_sweep(lambda seed, n: alpha_plateau(n=n, alphas=alphas, seed=seed),
                        grid(n=a.ns), config["seed_list"], out / "cache", config=config,
                        restart=a.restart, n_jobs=a.jobs, desc="fig10")
    keys = [f"tan_theta_{j}" for j in range(len(alphas))]
    summary = summarize(records, ["n"], [*keys, "separable"])
    paths = save_results(out, NAME, config=config, overwrite=a.restart,
                         results={"summary": summary, "records": records})
    show = sorted({0, len(alphas) // 2, len(alphas) - 1})
    print(f"{'N':>6} {'separable':>9}  " + "  ".join(f"tan at {alphas[j]:<9.3g}" for j in show))
    for r in summary:
        print(f"{r['n']:6d} {r['separable_mean']:9.2f}  " + "  ".join(
            f"{r[f'tan_theta_{j}_mean']:.4f}+-{r[f'tan_theta_{j}_std']:.4f}" for j in show))
    print(f"wrote {paths['json']}")


def main(argv=None) -> int:
    return script_main(NAME, argv, parse, run)


if __name__ == "__main__":
    sys.exit(main())
