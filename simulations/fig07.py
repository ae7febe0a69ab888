"""Fig. 7: multiclass logits cluster at the simplex vertices (alpha = 0.2) or spread (alpha = 0).

Full-batch GD (gradient flow by default) on the multiclass mean loss (Eq. 6, f = |z|^2,
z = W x + b), K = 10, d = 1400, N = 2000, mu_f = 1, sigma_f = 0.1, sigma_n = 1, eta = 0.1,
20,000 epochs; the train and test samples of classes 0-2 projected on the plane spanned by
S_0 - S_1 and S_0 - S_2 of the final weights. Class means: a regular simplex (our choice).

    python simulations/fig07.py --jobs 2   # ~1 min on 2 cores
    python simulations/fig07.py --quick    # seconds

Writes <out>/fig07.json (cluster ratios, logits and accuracies, mean +- std over seeds) and
fig07.npz (the projections of the first seed); interrupted runs resume from <out>/cache.
Plot: python -m paper_figs.fig07 <out>/fig07.json.
"""

import argparse
import sys

import numpy as np

from logitreg.cli import parse_run_args, script_main
from logitreg.io import save_results
from logitreg.snapshots import simplex_snapshot
from logitreg.sweep import run_sweep, summarize

NAME = "fig07"
QUICK = dict(d=140, n=200, n_test=200, seeds=2, epochs=3000)


def parse(argv):
    p = argparse.ArgumentParser(prog=f"{NAME}.py", description=__doc__.splitlines()[0])
    p.add_argument("--d", type=int, default=1400, help="input dimension")
    p.add_argument("--n", type=int, default=2000, help="training samples N")
    p.add_argument("--n-test", type=int, default=2000, help="test samples")
    p.add_argument("--n-classes", type=int, default=10, help="K")
    p.add_argument("--sigma-f", type=float, default=0.1, help="noise inside the signal subspace")
    p.add_argument("--alphas", type=float, nargs="+", default=[0.0, 0.2])
    p.add_argument("--epochs", type=int, default=20000, help="GD epochs")
    p.add_argument("--method", default="flow", choices=["flow", "gd"], help="GD integrator")
    p.add_argument("--seeds", type=int, default=3, help="seeds (data, start, test set)")
    a, config = parse_run_args(p, argv, QUICK)
    config["seed_list"] = list(range(a.seeds))
    return p, a, config


def run(a, config, out):
    records = run_sweep(
        lambda seed: simplex_snapshot(seed=seed, alphas=a.alphas, n_classes=a.n_classes, d=a.d,
                                      n=a.n, n_test=a.n_test, sigma_f=a.sigma_f,
                                      epochs=a.epochs, method=a.method),
        [{}], config["seed_list"], out / "cache", config=config, restart=a.restart,
        n_jobs=a.jobs, desc="fig07")
    scalars = [k for k, v in records[0].items() if isinstance(v, float)]
    summary = summarize(records, [], scalars)[0]
    arrays = {k: np.asarray(v) for k, v in records[0].items() if isinstance(v, list)}
    paths = save_results(out, NAME, config=config, overwrite=a.restart, arrays=arrays,
                         results={"summary": summary})
    for i, alpha in enumerate(a.alphas):
        s = {k[: -len(f"_{i}_mean")]: v for k, v in summary.items() if k.endswith(f"_{i}_mean")}
        print(f"alpha={alpha:g}: cluster ratio train {s['train_ratio']:.3f} test "
              f"{s['test_ratio']:.3f}; true-class logit {s['true_logit_mean']:.3f} +- "
              f"{s['true_logit_std']:.3f} (vertex {s.get('q_high', float('nan')):.3f}); "
              f"test acc {s['test_acc']:.4f}")
    print(f"wrote {paths['json']}")


def main(argv=None) -> int:
    return script_main(NAME, argv, parse, run)


if __name__ == "__main__":
    sys.exit(main())
