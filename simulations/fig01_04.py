"""Figs. 1 and 4: train and test logit histograms at three epochs, alpha = 0 vs 0.2.

Full-batch GD on (1 - alpha) CE + alpha z^2 (gradient flow by default, which matches exact
GD to 2e-4; --method gd for exact GD), d = 1400, N = 2000, mu_f = 1, sigma_n = 1,
eta = 0.1, 20,000 epochs, w_0 ~ N(0, I/d); sigma_f = 0.5 (Fig. 1) and sigma_f = 0 (Fig. 4,
with the loss and accuracy curves). Test logits on 2,000 fresh samples, test accuracy exact.

    python simulations/fig01_04.py --jobs 2   # ~1 min on 2 cores
    python simulations/fig01_04.py --quick    # seconds

Writes <out>/fig01_04.json (per-snapshot logit moments, mean +- std over seeds, and the
seed-mean curves) and fig01_04.npz (the logits of the first seed, for the histograms);
interrupted runs resume from <out>/cache. Plot: python -m paper_figs.fig01_04 <out>/fig01_04.json.
"""

import argparse
import sys

from logitreg.cli import parse_run_args, script_main
from logitreg.io import mean_std, save_results
from logitreg.snapshots import logit_snapshots
from logitreg.sweep import grid, run_sweep, summarize

NAME = "fig01_04"
QUICK = dict(d=140, n=200, n_test=200, seeds=2, epochs=[30, 300, 10000])
CURVES = ("train_loss", "test_loss", "train_acc", "test_acc")


def parse(argv):
    p = argparse.ArgumentParser(prog=f"{NAME}.py", description=__doc__.splitlines()[0])
    p.add_argument("--d", type=int, default=1400, help="input dimension")
    p.add_argument("--n", type=int, default=2000, help="training samples N")
    p.add_argument("--n-test", type=int, default=2000, help="test samples (histograms)")
    p.add_argument("--sigma-fs", type=float, nargs="+", default=[0.5, 0.0],
                   help="noise along the signal: 0.5 (Fig. 1), 0 (Fig. 4)")
    p.add_argument("--alphas", type=float, nargs="+", default=[0.0, 0.2])
    p.add_argument("--epochs", type=int, nargs="+", default=[200, 2000, 20000],
                   help="snapshot epochs (the last is the run's length)")
    p.add_argument("--eta", type=float, default=0.1, help="GD step")
    p.add_argument("--method", default="flow", choices=["flow", "gd"], help="GD integrator")
    p.add_argument("--seeds", type=int, default=3, help="seeds (data, start, test set)")
    a, config = parse_run_args(p, argv, QUICK)
    config["seed_list"] = list(range(a.seeds))
    return p, a, config


def run(a, config, out):
    records = run_sweep(
        lambda seed, **c: logit_snapshots(**c, seed=seed, alphas=a.alphas, epochs=a.epochs,
                                          d=a.d, n=a.n, n_test=a.n_test, eta=a.eta,
                                          method=a.method),
        grid(sigma_f=a.sigma_fs), config["seed_list"], out / "cache", config=config,
        restart=a.restart, n_jobs=a.jobs, desc="fig01_04")
    scalars = [k for k, v in records[0].items() if isinstance(v, float) and k != "sigma_f"]
    summary = summarize(records, ["sigma_f"], scalars)
    arrays, curves = {}, {}
    for sf in a.sigma_fs:
        rs = [r for r in records if r["sigma_f"] == sf]
        arrays.update({f"sf{sf:g}_{k}": v for k, v in rs[0].items() if "_logits_" in k})
        curves[f"{sf:g}"] = {"epochs": rs[0]["curve_epochs"]}
        for i in range(len(a.alphas)):
            for name in CURVES:
                m, s = mean_std([r[f"curve_{name}_{i}"] for r in rs], axis=0)
                curves[f"{sf:g}"][f"{name}_{i}"], curves[f"{sf:g}"][f"{name}_{i}_std"] = m, s
    paths = save_results(out, NAME, config=config, overwrite=a.restart, arrays=arrays,
                         results={"summary": summary, "curves": curves,
                                  "snapshot_epochs": records[0]["snapshot_epochs"]})
    for r in summary:
        for i, alpha in enumerate(a.alphas):
            print(f"sigma_f={r['sigma_f']:g} alpha={alpha:g}: " + "; ".join(
                f"epoch {e}: train {r[f'train_mean_{i}_{k}_mean']:.3f}+-"
                f"{r[f'train_std_{i}_{k}_mean']:.3f}, test acc {r[f'test_acc_{i}_{k}_mean']:.4f}"
                for k, e in enumerate(records[0]["snapshot_epochs"])))
    print(f"wrote {paths['json']}")


def main(argv=None) -> int:
    return script_main(NAME, argv, parse, run)


if __name__ == "__main__":
    sys.exit(main())
