"""Fig. 14: mean and std of the train and test logits against sigma_f at lambda = 0.7.

Exact minimisers (logitreg.fit) of (1 - alpha) CE + alpha z^2 (alpha = 0.2 by default; the
paper does not state its alpha), N = 2000, d = 1400, mu_f = sigma_n = 1, on fresh data per
seed. The test moments are exact (the test logit is Gaussian, App. E.1); the claim is
train std < sigma_f S_1 (the signal noise alone) < test std.

    python simulations/fig14.py --jobs 2   # ~1 min on 2 cores
    python simulations/fig14.py --quick    # seconds

Writes <out>/fig14.json; interrupted runs resume from <out>/cache.
Plot: python -m paper_figs.fig14 <out>/fig14.json.
"""

import argparse
import sys

from logitreg.cli import parse_run_args, script_main
from logitreg.io import save_results
from logitreg.laws import logit_moments
from logitreg.sweep import grid, run_sweep, summarize

NAME = "fig14"
QUICK = dict(n=200, seeds=3, sigma_fs=[0.0, 0.3, 1.0])
METRICS = ["train_mean", "train_std", "test_mean", "test_std", "intrinsic_std", "S1",
           "test_acc"]


def parse(argv):
    p = argparse.ArgumentParser(prog=f"{NAME}.py", description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000, help="training samples N")
    p.add_argument("--lam", type=float, default=0.7, help="lambda = d/N")
    p.add_argument("--alpha", type=float, default=0.2, help="regularization amplitude")
    p.add_argument("--sigma-fs", type=float, nargs="+",
                   default=[0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    p.add_argument("--seeds", type=int, default=10, help="seeds (data draws)")
    a, config = parse_run_args(p, argv, QUICK)
    config["seed_list"] = list(range(a.seeds))
    return p, a, config


def run(a, config, out):
    records = run_sweep(
        lambda seed, **c: logit_moments(**c, seed=seed, alpha=a.alpha, lam=a.lam, n=a.n),
        grid(sigma_f=a.sigma_fs), config["seed_list"], out / "cache", config=config,
        restart=a.restart, n_jobs=a.jobs, desc="fig14")
    summary = summarize(records, ["sigma_f"], METRICS)
    paths = save_results(out, NAME, config=config, overwrite=a.restart,
                         results={"summary": summary, "records": records})
    print(f"{'sigma_f':>7}  {'train mean':>10} {'train std':>9} {'sigma_f S1':>10} "
          f"{'test std':>9} {'test mean':>9}")
    for r in summary:
        print(f"{r['sigma_f']:7.2f}  {r['train_mean_mean']:10.4f} {r['train_std_mean']:9.4f} "
              f"{r['intrinsic_std_mean']:10.4f} {r['test_std_mean']:9.4f} "
              f"{r['test_mean_mean']:9.4f}")
    print(f"wrote {paths['json']}")


def main(argv=None) -> int:
    return script_main(NAME, argv, parse, run)


if __name__ == "__main__":
    sys.exit(main())
