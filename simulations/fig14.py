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
import shlex
import sys
from pathlib import Path

from logitreg.cli import run_command
from logitreg.io import default_out_dir, save_results
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
    p.add_argument("--out", default=None, help="output folder (default: one per configuration)")
    p.add_argument("--restart", action="store_true", help="discard cached points")
    p.add_argument("--jobs", type=int, default=1, help="parallel workers (joblib)")
    p.add_argument("--quick", action="store_true", help="tiny grid for a smoke test")
    if p.parse_args(argv).quick:
        p.set_defaults(**QUICK)  # flags given explicitly still win
    a = p.parse_args(argv)
    config = {k: v for k, v in vars(a).items() if k not in ("restart", "jobs", "out")}
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
    argv = sys.argv[1:] if argv is None else list(argv)
    parser, a, config = parse(argv)
    name = NAME + ("-quick" if a.quick else "")
    out = Path(a.out or default_out_dir(name, config, parse(["--quick"] if a.quick else [])[2]))
    return run_command(parser.prog, lambda: run(a, config, out),
                       resume=f"python simulations/{NAME}.py {shlex.join(argv)}")


if __name__ == "__main__":
    sys.exit(main())
