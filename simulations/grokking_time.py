"""Grokking time against alpha (beyond the paper): t_grok ~ alpha^-p in the Fig. 5 setting.

Full-batch GD (gradient flow by default) on (1 - alpha) CE + alpha z^2, d = 1400, N = 2000,
mu_f = 0.1, sigma_f = 0, sigma_n = 1, eta = 0.1, alpha on a log grid from 1e-3 to 0.3,
all alphas of a seed in one batched run (seeds 0-2 are the data of Fig. 5). t_grok is the
first epoch with population test accuracy >= 0.9; the exponent p is fitted per seed
(interval over seeds) and pooled.

    python simulations/grokking_time.py --jobs 2   # ~2 min on 2 cores
    python simulations/grokking_time.py --quick    # seconds (d = 140, N = 200)

Writes <out>/grokking_time.json; interrupted runs resume from <out>/cache.
Plot: python -m paper_figs.grokking_time <out>/grokking_time.json.
"""

import argparse
import sys

from logitreg.cli import parse_run_args, script_main
from logitreg.io import mean_std, save_results
from logitreg.laws import grokking_exponent, grokking_times
from logitreg.sweep import run_sweep

NAME = "grokking_time"
ALPHAS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3]
QUICK = dict(d=140, n=200, seeds=3, alphas=[0.01, 0.03, 0.1, 0.3], epochs=100_000,
             n_record=200)


def parse(argv):
    p = argparse.ArgumentParser(prog=f"{NAME}.py", description=__doc__.splitlines()[0])
    p.add_argument("--d", type=int, default=1400, help="input dimension")
    p.add_argument("--n", type=int, default=2000, help="training samples N")
    p.add_argument("--alphas", type=float, nargs="+", default=ALPHAS, help="increasing alphas")
    p.add_argument("--epochs", type=int, default=500_000,
                   help="epoch budget (every alpha of the default grid reaches 0.9 by 2.5e5)")
    p.add_argument("--level", type=float, default=0.9, help="test accuracy that defines t_grok")
    p.add_argument("--method", default="flow", choices=["flow", "gd"], help="GD integrator")
    p.add_argument("--n-record", type=int, default=400, help="log-spaced record epochs")
    p.add_argument("--seeds", type=int, default=5, help="seeds (data + start)")
    a, config = parse_run_args(p, argv, QUICK)
    if sorted(set(a.alphas)) != a.alphas:
        p.error(f"--alphas must be strictly increasing; got {a.alphas}")
    config["seed_list"] = list(range(a.seeds))
    return p, a, config


def run(a, config, out):
    records = run_sweep(
        lambda seed: grokking_times(seed=seed, alphas=a.alphas, epochs=a.epochs, level=a.level,
                                    d=a.d, n=a.n, method=a.method, n_record=a.n_record),
        [{}], config["seed_list"], out / "cache", config=config, restart=a.restart,
        n_jobs=a.jobs, desc="grokking time")
    T = [r["t_grok"] for r in records]
    law = grokking_exponent(a.alphas, T)
    per_alpha = []
    for j, alpha in enumerate(a.alphas):
        reached = [t[j] for t in T if t[j] is not None]
        mean, std = mean_std(reached) if reached else (None, None)
        final, final_std = mean_std([r["final_test_acc"][j] for r in records])
        per_alpha.append({"alpha": alpha, "t_grok_mean": mean, "t_grok_std": std,
                          "n_reached": len(reached), "n_seeds": len(T),
                          "final_test_acc_mean": final, "final_test_acc_std": final_std})
    paths = save_results(out, NAME, config=config, overwrite=a.restart,
                         results={"law": law, "per_alpha": per_alpha, "records": records})
    print(f"{'alpha':>7}  {'t_grok (mean+-std)':>22}  reached")
    for r in per_alpha:
        t = "-" if r["t_grok_mean"] is None else f"{r['t_grok_mean']:.4g}+-{r['t_grok_std']:.2g}"
        print(f"{r['alpha']:7.4g}  {t:>22}  {r['n_reached']}/{r['n_seeds']}")
    if law["p_ci"] is not None:
        print(f"p over seeds: {law['p_mean']:.3f} +- {law['p_std']:.3f}, 95% CI "
              f"[{law['p_ci'][0]:.3f}, {law['p_ci'][1]:.3f}]")
    print(f"p pooled: {law['p_pooled']:.3f}; local exponents: "
          + " ".join(f"{p:.2f}" for p in law["local_p"]))
    print(f"wrote {paths['json']}")


def main(argv=None) -> int:
    return script_main(NAME, argv, parse, run)


if __name__ == "__main__":
    sys.exit(main())
