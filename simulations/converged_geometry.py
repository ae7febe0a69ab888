"""Converged direction and accuracy vs alpha and lambda (Figs. 13 and 16, regularized side).

Writes <out>/converged_geometry.json: per-seed records and mean +- std over seeds, beside the
paper's digitized values and the [DERIVED] asymptotes. Interrupted runs resume.

    python simulations/converged_geometry.py            # ~2 min on 2 cores
    python simulations/converged_geometry.py --quick    # seconds
"""

import argparse
import shlex
import sys
from pathlib import Path

import logitreg as lr
from logitreg import paper
from logitreg.cli import run_command
from logitreg.experiments import converged_geometry
from logitreg.io import default_out_dir, save_results
from logitreg.sweep import grid, run_sweep, summarize

# Digitized (logitreg.paper): Fig. 13 cos(w, e1), mid-range; Fig. 16 accuracy at alpha = 0.4.
PAPER_FIG13_COS = {lam: (lo + hi) / 2 for lam, (lo, hi) in paper.FIG13_COS.items()}  # mid-range
PAPER_FIG16_ACC = {sf: dict(zip(paper.FIG16_LAMBDAS, paper.FIG16_ACC[(0.4, sf, 1.0)], strict=True))
                   for sf in (0.5, 1.0)}


def parse(argv):
    p = argparse.ArgumentParser(prog="converged_geometry.py",
                                description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000, help="training samples N")
    p.add_argument("--seeds", type=int, default=3, help="number of seeds (data draws)")
    p.add_argument("--alphas", type=float, nargs="+", default=[0.02, 0.2, 0.4, 0.8, 0.98],
                   help="alpha grid of Fig. 13")
    p.add_argument("--lams", type=float, nargs="+", default=[0.1, 0.3, 0.5, 0.7, 0.9],
                   help="lambda = d/N grid")
    p.add_argument("--sigma-fs", type=float, nargs="+", default=[0.5, 1.0], help="sigma_f grid")
    p.add_argument("--out", default=None,
                   help="output directory (default: one per configuration under results/)")
    p.add_argument("--restart", action="store_true", help="discard earlier cached points")
    p.add_argument("--jobs", type=int, default=1, help="parallel workers (joblib)")
    p.add_argument("--quick", action="store_true", help="tiny grid for a smoke test")
    a = p.parse_args(argv)
    if a.quick:
        a.n, a.seeds, a.alphas, a.lams, a.sigma_fs = 200, 2, [0.2, 0.8], [0.1, 0.7], [0.5]
    config = {k: v for k, v in vars(a).items() if k not in ("restart", "jobs", "out")}
    config["seed_list"] = list(range(a.seeds))
    return p, a, config


def run(a, config, out):
    cells = grid(lam=a.lams, alpha=a.alphas, sigma_f=a.sigma_fs)
    records = run_sweep(lambda seed, **c: converged_geometry(**c, n=a.n, seed=seed), cells,
                        config["seed_list"], out / "cache", config=config,
                        restart=a.restart, n_jobs=a.jobs, desc="converged geometry")
    summary = summarize(records, ["lam", "alpha", "sigma_f"], ["test_acc", "cos_e1", "norm"])
    for row in summary:
        row["asymptotic_acc"] = float(lr.asymptotic_accuracy(row["lam"], mu_f=1.0,
                                                             sigma_f=row["sigma_f"]))
        row["asymptotic_cos"] = float(lr.asymptotic_cosine(row["lam"], mu_f=1.0,
                                                           sigma_f=row["sigma_f"], sigma_n=1.0))
        row["paper_fig13_cos"] = PAPER_FIG13_COS.get(row["lam"]) if row["sigma_f"] == 0.5 else None
        row["paper_fig16_acc_alpha04"] = PAPER_FIG16_ACC.get(row["sigma_f"], {}).get(row["lam"])
    paths = save_results(out, "converged_geometry", config=config,
                         results={"summary": summary, "records": records}, overwrite=a.restart)
    print(f"{'sigma_f':>7} {'lam':>4} {'alpha':>5}  {'acc (mean+-std)':>16} {'asym':>6} "
          f"{'paper16':>7}  {'cos_e1':>14} {'asym':>6} {'paper13':>7}")
    for r in summary:
        fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
        print(f"{r['sigma_f']:7.2f} {r['lam']:4.1f} {r['alpha']:5.2f}  "
              f"{r['test_acc_mean']:.4f}+-{r['test_acc_std']:.4f} {r['asymptotic_acc']:6.3f} "
              f"{fmt(r['paper_fig16_acc_alpha04'] if r['alpha'] == 0.4 else None):>7}  "
              f"{r['cos_e1_mean']:.3f}+-{r['cos_e1_std']:.3f} {r['asymptotic_cos']:6.3f} "
              f"{fmt(r['paper_fig13_cos']):>7}")
    print(f"wrote {paths['json']}")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser, a, config = parse(argv)
    name = "converged_geometry" + ("-quick" if a.quick else "")
    out = Path(a.out or default_out_dir(name, config, parse(["--quick"] if a.quick else [])[2]))
    return run_command(parser.prog, lambda: run(a, config, out),
                       resume=f"python simulations/converged_geometry.py {shlex.join(argv)}")


if __name__ == "__main__":
    sys.exit(main())
