"""Figs. 11-12: the N = 3 toy, (z - a)^2 + b max(0, -z), on the table's points and random ones.

Exact minimisers (logitreg.toys.hinge_toy) for (a, b) in {(2, 0), (6, 0), (2, 6)} and the
Fisher direction, on three points of our own that reproduce the paper's tables
(logitreg.toys.TABLE_POINTS; the paper does not publish its points), and on random
three-point sets (one per seed): the b = 0 direction and r do not depend on a,
mu = a/(1 + r^2), and the hinge rotates the direction.

    python simulations/fig11_12.py           # seconds
    python simulations/fig11_12.py --quick   # fewer random sets

Writes <out>/fig11_12.json. Plot: python -m paper_figs.fig11_12 <out>/fig11_12.json.
"""

import argparse
import sys

from logitreg.cli import parse_run_args, script_main
from logitreg.io import save_results
from logitreg.sweep import run_sweep, summarize
from logitreg.toys import TABLE_POINTS, random_toy_points, toy_invariances

NAME = "fig11_12"
QUICK = dict(seeds=5)
CLAIMS = ["angle_a", "r_spread", "shrinkage_err", "angle_fisher", "angle_hinge", "hinge_active"]


def parse(argv):
    p = argparse.ArgumentParser(prog=f"{NAME}.py", description=__doc__.splitlines()[0])
    p.add_argument("--a-values", type=float, nargs="+", default=[2.0, 6.0], help="targets a")
    p.add_argument("--b", type=float, default=6.0, help="hinge weight of the rotated run")
    p.add_argument("--seeds", type=int, default=200, help="random three-point sets")
    a, config = parse_run_args(p, argv, QUICK)
    config["seed_list"] = list(range(a.seeds))
    return p, a, config


def run(a, config, out):
    def unit(seed, points):
        A = TABLE_POINTS if points == "table" else random_toy_points(seed)
        return toy_invariances(A, a_values=a.a_values, b=a.b)

    sweep = dict(config=config, restart=a.restart, n_jobs=a.jobs)
    table = run_sweep(unit, [{"points": "table"}], [0], out / "cache", desc="table", **sweep)[0]
    rand = run_sweep(unit, [{"points": "random"}], config["seed_list"], out / "cache",
                     desc="random sets", **sweep)
    active = [r for r in rand if r["hinge_active"]]
    results = {"points": TABLE_POINTS.tolist(), "table": table,
               "random": summarize(rand, ["points"], CLAIMS)[0],
               "random_hinge_active": summarize(active, ["points"], CLAIMS)[0] if active else None,
               "records": rand}
    paths = save_results(out, NAME, config=config, overwrite=a.restart, results=results)
    print(f"points {TABLE_POINTS.tolist()}:")
    for k in [f"a{v:g}_b0" for v in a.a_values] + ["fisher", f"a{a.a_values[0]:g}_b{a.b:g}"]:
        print(f"  {k:>9}: S_hat = ({table[k + '_S_hat'][0]:.4f}, {table[k + '_S_hat'][1]:.4f})"
              f"  mu = {table[k + '_mu']:.4f}  sigma = {table[k + '_sigma']:.4f}  "
              f"r = {table[k + '_r']:.4f}")
    print(f"  hinge rotates the direction by {table['angle_hinge']:.2f} degrees")
    r = results["random"]
    print(f"{r['n_seeds']} random sets: max angle between a's {max(x['angle_a'] for x in rand):.1e}"
          f" deg, hinge active in {r['hinge_active_mean']:.2f}, rotation "
          f"{r['angle_hinge_mean']:.1f} +- {r['angle_hinge_std']:.1f} deg")
    print(f"wrote {paths['json']}")


def main(argv=None) -> int:
    return script_main(NAME, argv, parse, run)


if __name__ == "__main__":
    sys.exit(main())
