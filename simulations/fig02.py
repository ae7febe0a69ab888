"""Fig. 2: the converged direction cos(S, e1) against alpha under Student-t noise.

Exact minimisers (logitreg.fit) of (1 - alpha) CE + alpha z^2 on signal-plus-noise data
whose every noise coordinate is Student-t with nu degrees of freedom, nu in {2.1, 3, 20},
d = 1000, N = 1500, mu_f = sigma_f = sigma_n = 1, on the paper's alpha grid; beside the
alpha = 0 direction (max margin: the data are separable) and the empirical LDA direction.
--unit-variance-seeds adds runs with the noise rescaled to unit variance, another reading
of the setting.

    python simulations/fig02.py --jobs 2   # ~3 min on 2 cores
    python simulations/fig02.py --quick    # seconds

Writes <out>/fig02.json; interrupted runs resume from <out>/cache.
Plot: python -m paper_figs.fig02 <out>/fig02.json.
"""

import argparse
import sys

from logitreg import paper
from logitreg.cli import parse_run_args, script_main
from logitreg.io import save_results
from logitreg.laws import heavy_tail_point
from logitreg.sweep import grid, run_sweep, summarize

NAME = "fig02"
QUICK = dict(d=100, n=150, seeds=3, unit_variance_seeds=2, alphas=[0.01, 0.2, 0.8])


def parse(argv):
    p = argparse.ArgumentParser(prog=f"{NAME}.py", description=__doc__.splitlines()[0])
    p.add_argument("--d", type=int, default=1000, help="input dimension")
    p.add_argument("--n", type=int, default=1500, help="training samples N")
    p.add_argument("--nus", type=float, nargs="+", default=[2.1, 3.0, 20.0],
                   help="Student-t degrees of freedom")
    p.add_argument("--alphas", type=float, nargs="+", default=list(paper.FIG2_ALPHAS))
    p.add_argument("--seeds", type=int, default=20, help="seeds (data draws)")
    p.add_argument("--unit-variance-seeds", type=int, default=20,
                   help="seeds of the unit-variance reading (0: none)")
    a, config = parse_run_args(p, argv, QUICK)
    config["seed_list"] = list(range(a.seeds))
    config["unit_variance_seed_list"] = list(range(a.unit_variance_seeds))
    return p, a, config


def run(a, config, out):
    sweep = dict(config=config, restart=a.restart, n_jobs=a.jobs)
    fn = lambda seed, **c: heavy_tail_point(**c, seed=seed, d=a.d, n=a.n)  # noqa: E731
    alphas = [0.0, *a.alphas]  # alpha = 0: the max-margin direction (separable data)
    raw = run_sweep(fn, grid(nu=a.nus, alpha=alphas, unit_variance=[False]),
                    config["seed_list"], out / "cache", desc="fig02", **sweep)
    unit = run_sweep(fn, grid(nu=a.nus, alpha=alphas, unit_variance=[True]),
                     config["unit_variance_seed_list"], out / "cache", desc="fig02 unit var",
                     **sweep)
    metrics = ["cos_e1", "norm", "cos_lda", "cos_e1_lda", "separable"]
    results = {"curves": summarize(raw + unit, ["unit_variance", "nu", "alpha"], metrics),
               "records": raw + unit}
    paths = save_results(out, NAME, config=config, overwrite=a.restart, results=results)
    print(f"{'nu':>4} {'alpha':>5}  {'cos(S, e1)':>15}  {'paper':>5}  {'cos(S, LDA)':>11}  "
          f"{'LDA cos(e1)':>11}")
    for r in results["curves"]:
        ref = dict(zip(paper.FIG2_ALPHAS, paper.FIG2_COS.get(r["nu"], ()), strict=False))
        print(f"{r['nu']:4.1f} {r['alpha']:5.2f}  {r['cos_e1_mean']:.4f}+-{r['cos_e1_std']:.4f}"
              f"  {ref.get(r['alpha'], float('nan')):5.3f}  {r['cos_lda_mean']:11.4f}  "
              f"{r['cos_e1_lda_mean']:11.4f}" + ("  (unit variance)" if r["unit_variance"]
                                                  else ""))
    print(f"wrote {paths['json']}")


def main(argv=None) -> int:
    return script_main(NAME, argv, parse, run)


if __name__ == "__main__":
    sys.exit(main())
