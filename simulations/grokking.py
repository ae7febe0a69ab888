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
seed), grokking.png, and checkpoints/seed<s>.npz. Each configuration has its own default
folder (results/grokking for Fig. 5, results/grokking-quick, ...; a changed flag adds a
hash of the configuration). Rerunning a command resumes it (or reprints a finished run);
--restart discards unfinished checkpoints, and overwrites a finished run of another
configuration only in a folder named with --out. Exit status: 2 bad input, 1 divergence,
130 interrupted.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
from pathlib import Path

from logitreg.cli import run_command
from logitreg.grokking import (
    ACC_ONE,
    GrokkingConfig,
    default_out_dir,
    grokking_table,
    run_grokking,
)
from logitreg.io import check_finished_result, save_results
from paper_figs.grokking import plot_grokking


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="grokking.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small, seconds-long smoke run")
    p.add_argument("--multiclass", action="store_true", help="Fig. 8: K=10, alpha=0.04")
    p.add_argument("--out", default=None,
                   help="output directory (default: one per configuration under results/)")
    p.add_argument("--restart", action="store_true",
                   help="discard checkpoints of another configuration (and, with an explicit "
                   "--out, a finished run of one)")
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
    return p


def config_from(args, parser) -> GrokkingConfig:
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
        parser.error(f"--seeds={n_seeds} is not valid: expected at least 1 seed")
    config = GrokkingConfig.preset(preset, seeds=tuple(range(args.seed, args.seed + n_seeds)),
                                   **overrides)
    out = args.out or default_out_dir(config, preset)
    return config, Path(out)


def run(args, config, out) -> int:
    explicit = args.out is not None
    hint = ("use another --out" if explicit else "use --out to name a new folder") + \
        (", or pass --restart with this --out to overwrite it" if explicit else "")
    check_finished_result(out / "grokking.json", config.to_dict(),
                                     overwrite=args.restart and explicit, hint=hint)
    result = run_grokking(config, checkpoint_dir=out / "checkpoints",
                          restart=args.restart,
                          stop_at_epoch=args.stop_at_epoch, threads=args.threads,
                          progress=not args.no_progress)
    if not result.complete:
        print(f"stopped at epoch {args.stop_at_epoch}; checkpoints in {out / 'checkpoints'}; "
              "rerun the same command to resume")
        return 0
    paths = save_results(
        out, "grokking", config=config.to_dict(), arrays=result.arrays(),
        results={"runs": result.runs, "acc_one_threshold": ACC_ONE,
                 "wall_time_s": result.wall_time_s}, overwrite=args.restart and explicit,
    )
    plot_grokking(paths["json"], out / "grokking.png")
    print(grokking_table(result.runs, config))
    print(f"wall time {result.wall_time_s:.1f} s; wrote {paths['json']}, {paths['npz']}, "
          f"{out / 'grokking.png'}")
    return 0


def main(argv=None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    config, out = config_from(args, parser)
    return run_command(
        parser.prog, lambda: run(args, config, out), diverged_flag="--eta",
        failed_flag="--rtol, --method gd or a smaller --eta",
        resume=f"python simulations/grokking.py {shlex.join(argv)} (checkpoints in "
        f"{out / 'checkpoints'})")


if __name__ == "__main__":
    sys.exit(main())
