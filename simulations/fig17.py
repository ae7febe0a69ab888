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
import shlex
import sys
from pathlib import Path

from logitreg.cli import run_command
from logitreg.experiments import converged_geometry
from logitreg.io import default_out_dir, save_results
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
    argv = sys.argv[1:] if argv is None else list(argv)
    parser, a, config = parse(argv)
    name = NAME + ("-quick" if a.quick else "")
    out = Path(a.out or default_out_dir(name, config, parse(["--quick"] if a.quick else [])[2]))
    return run_command(parser.prog, lambda: run(a, config, out),
                       resume=f"python simulations/{NAME}.py {shlex.join(argv)}")


if __name__ == "__main__":
    sys.exit(main())
