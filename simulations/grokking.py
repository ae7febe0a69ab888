"""Grokking with weak logit regularization: Fig. 5 (binary) or Fig. 8 (``--multiclass``).

Full-batch GD on the mean loss (1 - alpha) CE + alpha z^2 of a linear classifier on
signal-plus-noise data (sigma_f = 0, lambda = d/N = 0.7), recorded at log-spaced epochs.

    python simulations/grokking.py               # Fig. 5: d=1400, N=2000, 2e5 epochs, 3 seeds
    python simulations/grokking.py --method gd   # exact GD instead of the flow (15 min/seed)
    python simulations/grokking.py --quick       # seconds: d=140, N=200, 3e4 epochs, 1 seed
    python simulations/grokking.py --multiclass  # Fig. 8: K=10, mu_f=1, alpha=0.04

The default integrates the gradient flow (RKC, logitreg.dynamics.gd), which matches exact
GD's threshold epochs to 2e-4 at full scale (docs/dynamics.md). Writes <out>/grokking.json
(config + seeds + per-alpha curves and summary), grokking.npz (every recorded array, per
seed), grokking.png, and checkpoints/seed<s>.npz. Rerunning the same command with the same
--out resumes an interrupted run (or reprints a finished one); a different configuration
is refused unless --restart is given.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from logitreg.dynamics import ACC_ONE, GrokkingConfig, grokking_table, run_grokking
from logitreg.io import save_results

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # paper_figs is not installed
from paper_figs.grokking import plot_grokking  # noqa: E402


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small, seconds-long smoke run")
    p.add_argument("--multiclass", action="store_true", help="Fig. 8: K=10, alpha=0.04")
    p.add_argument("--out", default="results/grokking", help="output directory (%(default)s)")
    p.add_argument("--restart", action="store_true",
                   help="discard checkpoints written for another configuration")
    p.add_argument("--stop-at-epoch", type=int, default=None,
                   help="debug: stop at this epoch leaving a checkpoint (resume by rerunning)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads for the matrix products (default: 1 at this size)")
    p.add_argument("--seeds", type=int, default=None,
                   help="number of seeds (default: 3; 1 with --quick)")
    p.add_argument("--seed", type=int, default=0, help="first seed (default: 0)")
    for f in dataclasses.fields(GrokkingConfig):
        if f.name == "seeds":
            continue
        flag = "--" + f.name.replace("_", "-")
        if isinstance(f.default, tuple):
            p.add_argument(flag, type=float, nargs="+", default=None,
                           help=f"default: preset value (Fig. 5: {' '.join(map(str, f.default))})")
        else:
            p.add_argument(flag, type=type(f.default), default=None,
                           help=f"default: preset value (Fig. 5: {f.default})")
    return p.parse_args(argv)


def config_from(args) -> GrokkingConfig:
    preset = ("multiclass-" if args.multiclass else "") + ("quick" if args.quick else "")
    preset = preset.rstrip("-") or "fig5"
    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(GrokkingConfig)
                 if f.name != "seeds" and getattr(args, f.name) is not None}
    if "alphas" in overrides:
        overrides["alphas"] = tuple(overrides["alphas"])
    if overrides.get("device", "cpu") != "cpu":
        overrides.setdefault("backend", "torch")  # --device cuda means the torch backend
    n_seeds = len(GrokkingConfig.preset(preset).seeds) if args.seeds is None else args.seeds
    if n_seeds < 1:
        raise SystemExit(f"--seeds must be >= 1; got --seeds {n_seeds}")
    return GrokkingConfig.preset(preset, seeds=tuple(range(args.seed, args.seed + n_seeds)),
                                 **overrides)


def main(argv=None) -> int:
    args = parse(argv)
    config = config_from(args)
    out = Path(args.out)
    result = run_grokking(config, checkpoint_dir=out / "checkpoints", restart=args.restart,
                          stop_at_epoch=args.stop_at_epoch, threads=args.threads,
                          progress=not args.no_progress)
    if not result.complete:
        print(f"stopped at epoch {args.stop_at_epoch}; checkpoints in {out / 'checkpoints'}; "
              "rerun the same command to resume")
        return 0
    paths = save_results(
        out, "grokking", config=config.to_dict(), arrays=result.arrays(),
        results={"runs": result.runs, "acc_one_threshold": ACC_ONE,
                 "wall_time_s": result.wall_time_s},
    )
    plot_grokking(paths["json"], out / "grokking.png")
    print(grokking_table(result.runs, config))
    print(f"wall time {result.wall_time_s:.1f} s; wrote {paths['json']}, {paths['npz']}, "
          f"{out / 'grokking.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
