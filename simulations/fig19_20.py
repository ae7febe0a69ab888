"""Figs. 19-20: the cosine law 1/cos^2 = 1 + C^2/sigma_n^2 and C against sigma_f.

Fig. 19: exact minimisers (alpha = 0.2, sigma_f = 0.5, lambda = 0.7, N = 2000) at the
paper's 13 sigma_n, with fresh data per sigma_n and with common random numbers (the same
draws rescaled), the law fitted per seed; plus the paper's protocol, 2,000 epochs of GD
(gradient flow by default) on the first --gd-seeds seeds, beside the minimiser on the same
data. Fig. 20: C = sigma_n |S_perp|/S_1 against sigma_f (alpha = 0.4, sigma_n = 1).

    python simulations/fig19_20.py --jobs 2   # ~4 min on 2 cores
    python simulations/fig19_20.py --quick    # seconds

Writes <out>/fig19_20.json; interrupted runs resume from <out>/cache.
Plot: python -m paper_figs.fig19_20 <out>/fig19_20.json.
"""

import argparse
import sys

from logitreg import paper
from logitreg.cli import parse_run_args, script_main
from logitreg.io import save_results
from logitreg.laws import cosine_law_by_seed, cosine_law_point, gd_cosine_point
from logitreg.sweep import grid, run_sweep, summarize

NAME = "fig19_20"
QUICK = dict(n=200, seeds=3, gd_seeds=2, sigma_ns=[0.5, 1.0, 2.0, 3.0],
             sigma_fs=[0.0, 0.25, 0.5])


def parse(argv):
    p = argparse.ArgumentParser(prog=f"{NAME}.py", description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000, help="training samples N")
    p.add_argument("--lam", type=float, default=0.7, help="lambda = d/N")
    p.add_argument("--seeds", type=int, default=20, help="seeds (data draws) per exact point")
    p.add_argument("--sigma-ns", type=float, nargs="+", default=list(paper.FIG19["sigma_n"]))
    p.add_argument("--sigma-f", type=float, default=0.5, help="Fig. 19 sigma_f")
    p.add_argument("--alpha", type=float, default=0.2, help="Fig. 19 alpha")
    p.add_argument("--gd-seeds", type=int, default=5, help="seeds of the GD runs (0: none)")
    p.add_argument("--epochs", type=int, default=2000, help="GD epochs (the paper's 2,000)")
    p.add_argument("--method", default="flow", choices=["flow", "gd"], help="GD integrator")
    p.add_argument("--sigma-fs", type=float, nargs="+", default=[0, 0.1, 0.2, 0.3, 0.4, 0.5],
                   help="Fig. 20 sigma_f grid")
    p.add_argument("--alpha20", type=float, default=0.4, help="Fig. 20 alpha")
    a, config = parse_run_args(p, argv, QUICK)
    config["seed_list"] = list(range(a.seeds))
    config["gd_seed_list"] = list(range(a.gd_seeds))
    return p, a, config


def run(a, config, out):
    sweep = dict(config=config, restart=a.restart, n_jobs=a.jobs)
    common = dict(lam=a.lam, n=a.n, sigma_f=a.sigma_f, alpha=a.alpha)
    exact = run_sweep(lambda seed, **c: cosine_law_point(**c, **common, seed=seed),
                      grid(fresh=[True, False], sigma_n=a.sigma_ns), config["seed_list"],
                      out / "cache" / "exact", desc="fig19 exact", **sweep)
    gd = run_sweep(lambda seed, **c: gd_cosine_point(**c, **common, seed=seed, epochs=a.epochs,
                                                     method=a.method),
                   grid(sigma_n=a.sigma_ns), config["gd_seed_list"], out / "cache" / "gd",
                   desc="fig19 GD", **sweep)
    c20 = run_sweep(lambda seed, **c: cosine_law_point(**c, sigma_n=1.0, fresh=True, lam=a.lam,
                                                       n=a.n, alpha=a.alpha20, seed=seed),
                    grid(sigma_f=a.sigma_fs), config["seed_list"], out / "cache" / "fig20",
                    desc="fig20", **sweep)
    law = {kind: cosine_law_by_seed([r for r in exact if r["fresh"] == (kind == "fresh")])
           for kind in ("fresh", "crn")}
    if gd:
        law["gd"] = cosine_law_by_seed(gd, "cos_gd")
        law["gd_exact"] = cosine_law_by_seed(gd, "cos_exact")
    results = {
        "law": law,
        "fig19": summarize(exact, ["fresh", "sigma_n"], ["cos_e1", "inv_cos2", "C", "test_acc"]),
        "fig19_gd": summarize(gd, ["sigma_n"], ["cos_gd", "cos_exact", "inv_cos2_gd",
                                                "test_acc_gd", "test_acc_exact"]) if gd else [],
        "fig20": summarize(c20, ["sigma_f"], ["C", "cos_e1", "test_acc"]),
        "records": {"exact": exact, "gd": gd, "fig20": c20}}
    paths = save_results(out, NAME, config=config, overwrite=a.restart, results=results)
    print(f"{'fit':>9}  {'C^2 (mean+-std over seeds)':>26}  {'R^2':>8}  {'intercept':>9}")
    for kind, r in law.items():
        print(f"{kind:>9}  {r['C2_mean']:.4f} +- {r['C2_std']:.4f} (n={r['n_seeds']}){'':5}"
              f"{r['r2_mean']:8.5f}  {r['intercept_mean']:9.4f}")
    print(f"paper C^2 = {paper.FIG19['C2']}; Fig. 20 C vs sigma_f:")
    for r in results["fig20"]:
        print(f"  sigma_f={r['sigma_f']:.2f}  C={r['C_mean']:.4f}+-{r['C_std']:.4f}")
    print(f"wrote {paths['json']}")


def main(argv=None) -> int:
    return script_main(NAME, argv, parse, run)


if __name__ == "__main__":
    sys.exit(main())
