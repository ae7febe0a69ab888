"""Sec. 3.4: accuracy and direction do not depend on the penalty f at matched z*.

Exact minimisers (logitreg.fit) of (1 - alpha) CE + alpha f for f = z^2, label smoothing and
a third convex even f given as a sympy expression (default sqrt(1 + z^2) - 1), each alpha
chosen so that the per-sample target z* is the same (logitreg.laws.alpha_for_z_star), on one
data set per seed: lambda = 0.7, N = 2000, mu_f = 1, sigma_f = 0.5, sigma_n = 1.

    python simulations/reg_insensitivity.py --jobs 2   # ~1 min on 2 cores
    python simulations/reg_insensitivity.py --quick    # seconds

Writes <out>/reg_insensitivity.json; interrupted runs resume from <out>/cache.
Plot: python -m paper_figs.reg_insensitivity <out>/reg_insensitivity.json.
"""

import argparse
import sys

from logitreg.cli import parse_run_args, script_main
from logitreg.io import save_results
from logitreg.laws import matched_regularizers
from logitreg.sweep import grid, run_sweep, summarize

NAME = "reg_insensitivity"
QUICK = dict(n=200, seeds=3, z_stars=[0.5, 2.0])


def parse(argv):
    p = argparse.ArgumentParser(prog=f"{NAME}.py", description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000, help="training samples N")
    p.add_argument("--lam", type=float, default=0.7, help="lambda = d/N")
    p.add_argument("--sigma-f", type=float, default=0.5, help="noise std along the signal")
    p.add_argument("--z-stars", type=float, nargs="+", default=[0.3, 0.675, 1.5, 3.0],
                   help="matched targets z* (0.675: alpha = 0.2 for z^2)")
    p.add_argument("--regs", nargs="+", default=["quadratic", "ls", "sqrt(1 + z**2) - 1"],
                   help="penalties: quadratic, ls, or a convex even sympy expression in z")
    p.add_argument("--seeds", type=int, default=10, help="seeds (data draws)")
    a, config = parse_run_args(p, argv, QUICK)
    config["seed_list"] = list(range(a.seeds))
    return p, a, config


def run(a, config, out):
    records = run_sweep(
        lambda seed, **c: matched_regularizers(**c, seed=seed, regs=a.regs, lam=a.lam, n=a.n,
                                               sigma_f=a.sigma_f),
        grid(z_target=a.z_stars), config["seed_list"], out / "cache", config=config,
        restart=a.restart, n_jobs=a.jobs, desc="regularizers")
    per_reg = [f"{k}_{j}" for j in range(len(a.regs))
               for k in ("alpha", "test_acc", "cos_e1", "logit_mean", "norm", "cos_to_0")]
    summary = summarize(records, ["z_target"], [*per_reg, "max_acc_diff", "min_cos_to_0"])
    paths = save_results(out, NAME, config=config, overwrite=a.restart,
                         results={"summary": summary, "records": records})
    for r in summary:
        print(f"z* = {r['z_target']:g}: max accuracy difference {r['max_acc_diff_mean']:.2e} "
              f"+- {r['max_acc_diff_std']:.1e}, min cos between directions "
              f"{r['min_cos_to_0_mean']:.6f}")
        for j, reg in enumerate(a.regs):
            print(f"  {reg:>20}: alpha = {r[f'alpha_{j}_mean']:.4g}, acc = "
                  f"{r[f'test_acc_{j}_mean']:.4f}+-{r[f'test_acc_{j}_std']:.4f}, cos(e1) = "
                  f"{r[f'cos_e1_{j}_mean']:.4f}, |S| = {r[f'norm_{j}_mean']:.3f}")
    print(f"wrote {paths['json']}")


def main(argv=None) -> int:
    return script_main(NAME, argv, parse, run)


if __name__ == "__main__":
    sys.exit(main())
