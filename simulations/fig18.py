"""Fig. 18: L2 weight decay (Eq. 33) at alpha = 0 does not move the threshold lambda_c = 1/2.

Test accuracy and cos(w, e1) against lambda = d/N for sigma_f in {0, 0.5, 1}, sigma_n in
{1, 2} (mu_f = 1, N = 2000) and several weight-decay strengths ``l2`` on the mean loss:
Eq. 33 is a sum, so its gamma = 0.2 is l2 = gamma/N = 1e-4; read as a mean it is l2 = 0.2;
l2 = 0 is plain logistic regression (the max-margin direction where separable). The
default --method exact fits the unique minimiser (logitreg.fit with l2 > 0); --method gd is
the paper's finite-time protocol (eta = 0.1, 2,000 epochs, start --init), ~2x dearer.

    python simulations/fig18.py --jobs 2    # full run (time: docs/benchmarks.md)
    python simulations/fig18.py --quick     # 3 s (20 s on heavily shared cores)

Writes <out>/fig18.json (config with the seed list, per-seed records, mean +- std over
seeds); interrupted runs resume from <out>/cache. Plot: python -m paper_figs.fig18.
"""

import argparse
import sys

from logitreg.cli import parse_run_args, script_main
from logitreg.experiments import INITS, WEIGHT_DECAY_METHODS, weight_decay_geometry
from logitreg.io import save_results
from logitreg.sweep import grid, run_sweep, summarize

NAME = "fig18"
QUICK = dict(n=200, seeds=3, l2s=[0.0, 1e-3, 0.2], lams=[0.2, 0.4, 0.6, 0.8, 1.0, 1.4])


def parse(argv):
    p = argparse.ArgumentParser(prog=f"{NAME}.py", description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000, help="training samples N")
    p.add_argument("--seeds", type=int, default=10, help="seeds (data draws) per point")
    p.add_argument("--lams", type=float, nargs="+",
                   default=[0.1, 0.2, 0.3, 0.4, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.5],
                   help="d/N")
    p.add_argument("--l2s", type=float, nargs="+", default=[0.0, 1e-4, 1e-2, 0.2],
                   help="weight decay on the mean loss (gamma/N for Eq. 33's gamma)")
    p.add_argument("--sigma-fs", type=float, nargs="+", default=[0.0, 0.5, 1.0])
    p.add_argument("--sigma-ns", type=float, nargs="+", default=[1.0, 2.0])
    p.add_argument("--method", choices=WEIGHT_DECAY_METHODS, default="exact",
                   help="exact minimiser, or finite-time GD (the paper's protocol)")
    p.add_argument("--epochs", type=int, default=2000, help="GD steps (--method gd)")
    p.add_argument("--eta", type=float, default=0.1, help="GD step size (--method gd)")
    p.add_argument("--init", choices=INITS, default="uniform",
                   help="GD start (--method gd): U(+-1/sqrt(d)) is PyTorch's nn.Linear default")
    p.add_argument("--solver", choices=("lbfgs", "newton"), default="lbfgs",
                   help="logitreg.fit method of the l2 > 0 minimisers (--method exact)")
    a, config = parse_run_args(p, argv, QUICK)
    if a.method == "exact":  # GD-only options do not change exact results
        for k in ("epochs", "eta", "init"):
            config.pop(k)
    else:
        config.pop("solver")
    config["seed_list"] = list(range(a.seeds))
    return p, a, config


def run(a, config, out):
    gd = dict(solver=a.solver) if a.method == "exact" else dict(epochs=a.epochs, eta=a.eta,
                                                                 init=a.init)
    # One cached point per data draw (sigma_f, sigma_n, lam, seed) holding every l2: the
    # draw (and, for d > N, the row-space factorisation) is made once, not once per l2.
    points = run_sweep(
        lambda seed, **c: {"by_l2": weight_decay_geometry(
            **c, l2=a.l2s, n=a.n, method=a.method, seed=seed, **gd)},
        grid(sigma_f=a.sigma_fs, sigma_n=a.sigma_ns, lam=a.lams),
        config["seed_list"], out / "cache", config=config, restart=a.restart, n_jobs=a.jobs,
        desc=NAME)
    records = [{**{k: v for k, v in p.items() if k != "by_l2"}, "l2": l2, **r}
               for p in points for l2, r in zip(a.l2s, p["by_l2"], strict=True)]
    summary = summarize(records, ["sigma_f", "sigma_n", "l2", "lam"],
                        ["test_acc", "cos_e1", "norm", "train_acc"])
    paths = save_results(out, NAME, config=config,
                         results={"summary": summary, "records": records})
    print(f"{'sigma_f':>7} {'sigma_n':>7} {'l2':>7} {'lam':>5}  {'test acc':>15}  "
          f"{'cos(w, e1)':>15}")
    for r in summary:
        print(f"{r['sigma_f']:7.2f} {r['sigma_n']:7.2f} {r['l2']:7.0e} {r['lam']:5.2f}  "
              f"{r['test_acc_mean']:.4f}+-{r['test_acc_std']:.4f}  "
              f"{r['cos_e1_mean']:.4f}+-{r['cos_e1_std']:.4f}")
    print(f"wrote {paths['json']}")


def main(argv=None) -> int:
    return script_main(NAME, argv, parse, run)


if __name__ == "__main__":
    sys.exit(main())
