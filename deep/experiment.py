"""One command per experiment: train every regularizer over seeds, analyse, report.

``python -m deep.experiment --dataset digits`` trains, in this order,

1. the data set's VAE (once; VarMixup's decoder),
2. ``none``, ``ls``, ``mixup``, ``cutmix``, ``varmixup`` and ``logit_penalty`` over
   ``--seeds`` seeds, plus ``mixup`` and ``cutmix`` at VarMixup's clean fraction
   (``--mix-clean-frac 0.5``), so that VarMixup is also compared at equal clean fraction,
3. a 2-d penultimate model (``--feature-dim 2``, signed features) for ``none`` and ``ls``,
   seed 0 only (the decision-region figure),

then runs :func:`deep.analysis.analyze_run` on every run, adds its two interventions
(:func:`add_interventions`: every run's features rescaled to the training RMS of the
``none`` runs of its setting, and Mixup Inference for ``none``, ``mixup``, ``varmixup``)
and writes the report (:mod:`deep.report`). Every training run and every analysis is one point of
:func:`logitreg.sweep.run_sweep` (cached under ``<out-dir>/sweep``), and a run killed
mid-training resumes from its own checkpoint, so a killed experiment continues where it
stopped when the same command is given again.

``--dataset synthetic --sigma-ns 0.5,1,2`` instead varies the orthogonal noise sigma_n of
the synthetic signal-plus-noise images (Beck, Bar-Sinai & Levi 2026, Eq. 8) at fixed
sigma_f, for ``none`` and ``logit_penalty``, and reports the CNN's and the linear probes'
accuracy beside the linear theory's prediction (:func:`synthetic_theory`).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["MAIN_CELLS", "TWO_D_CELLS", "add_interventions", "baseline_cell", "build_cells",
           "main", "run_experiment", "synthetic_theory"]

# (name, --reg, --mix-clean-frac or None for the default, --feature-dim or None)
MAIN_CELLS = (
    ("none", "none", None, None),
    ("ls", "ls", None, None),
    ("mixup", "mixup", None, None),
    ("cutmix", "cutmix", None, None),
    ("varmixup", "varmixup", None, None),
    ("logit_penalty", "logit_penalty", None, None),
    ("mixup-clean0.5", "mixup", 0.5, None),
    ("cutmix-clean0.5", "cutmix", 0.5, None),
)
TWO_D_CELLS = (
    ("none-2d", "none", None, 2),
    ("ls-2d", "ls", None, 2),
)
SYNTHETIC_REGS = ("none", "logit_penalty")

# Measured on digits (2-core AMD EPYC shared with other jobs, one torch thread): a 15-epoch
# CNN run takes about 25 s and its analysis (1000-image caps) about 30 s; see docs/deep.md.
DEFAULT_EPOCHS = {"digits": 15, "synthetic": 10}


def build_cells(dataset: str, *, sigma_ns=None) -> tuple[list[dict], list[dict]]:
    """The (cells run over every seed, cells run for seed 0 only) of an experiment."""
    def cell(name, reg, clean, fdim, **extra):
        return {"name": name, "reg": reg, "mix_clean_frac": clean, "feature_dim": fdim, **extra}

    if dataset == "synthetic":
        sigma_ns = sigma_ns or (0.5,)
        return [cell(f"{reg}-sn{s:g}", reg, None, None, synthetic_sigma_n=float(s))
                for s in sigma_ns for reg in SYNTHETIC_REGS], []
    return [cell(*c) for c in MAIN_CELLS], [cell(*c) for c in TWO_D_CELLS]


def _train_point(name, reg, mix_clean_frac, feature_dim, seed, *, base: dict, runs: str,
                 vae_checkpoint: str | None, synthetic_sigma_n: float | None = None) -> dict:
    """Train one (cell, seed), resuming a run a killed experiment left half done."""
    from .config import TrainConfig
    from .train import train

    run_dir = Path(runs) / f"{name}-seed{seed}"
    extra = {} if synthetic_sigma_n is None else {"synthetic_sigma_n": synthetic_sigma_n}
    if (run_dir / "results.json").exists() and (run_dir / "checkpoint.pt").exists():
        return {"run_dir": str(run_dir)}
    cfg = TrainConfig(**base, **extra, reg=reg, seed=int(seed), mix_clean_frac=mix_clean_frac,
                      feature_dim=feature_dim, out_dir=str(runs), run_name=run_dir.name,
                      vae_checkpoint=vae_checkpoint if reg == "varmixup" else None,
                      resume=(run_dir / "checkpoint.pt").exists(), progress=False)
    t0 = time.perf_counter()
    out = train(cfg)
    return {"run_dir": str(run_dir), "test_acc": out.get("test_acc"),
            "train_seconds": time.perf_counter() - t0}


def _vae_point(seed, *, base: dict, runs: str, epochs: int) -> dict:
    from .config import DataConfig, VAEConfig
    from .vae import train_vae

    data_keys = {f.name for f in dataclasses.fields(DataConfig)} | {"device", "threads"}
    run_dir = Path(runs) / f"vae-seed{seed}"
    if not (run_dir / "vae.pt").exists():
        cfg = VAEConfig(**{k: v for k, v in base.items() if k in data_keys}, seed=int(seed),
                        epochs=epochs, out_dir=str(runs), run_name=run_dir.name,
                        resume=(run_dir / "checkpoint.pt").exists(), progress=False)
        train_vae(cfg)
    return {"vae": str(run_dir / "vae.pt")}


def _analysis_point(name, reg, mix_clean_frac, feature_dim, seed, *, runs: str, options: dict,
                    synthetic_sigma_n: float | None = None) -> dict:
    from .analysis import analyze_run

    out = analyze_run(Path(runs) / f"{name}-seed{seed}", **options)
    return {"test_acc": out["accuracy"], "analysis_seconds": out["seconds"]}


def _extension_point(name, reg, mix_clean_frac, feature_dim, seed, *, runs: str,
                     options: dict, targets: dict, synthetic_sigma_n: float | None = None
                     ) -> dict:
    from .analysis import analyze_run

    out = analyze_run(Path(runs) / f"{name}-seed{seed}", rescale_target_rms=targets[name],
                      **options)
    return {"section_seconds": out.get("section_seconds", {})}


def baseline_cell(cell: dict, cells: list[dict]) -> dict | None:
    """The ``none`` cell of the same setting (penultimate size, synthetic sigma_n)."""
    for c in cells:
        if (c["reg"] == "none" and c.get("feature_dim") == cell.get("feature_dim")
                and c.get("synthetic_sigma_n") == cell.get("synthetic_sigma_n")):
            return c
    return None


def add_interventions(groups: list[tuple[list[dict], list[int]]], *, runs, options: dict,
                      config: dict, sweep: dict) -> list[dict]:
    """The ``rescale`` and ``mixup_inference`` sections of every analysed run.

    ``groups``: (cells, seeds) pairs, each cell analysed at its seeds. The rescale target of
    a cell is :func:`deep.analysis.baseline_rms` of its :func:`baseline_cell` over that
    group's seeds (Park, Kim & Lee 2024, claim 16: the hard-label baseline's magnitude);
    cells without a baseline get no rescale section. Cached per point like the analysis
    (and, inside ``analysis.json``, per section).
    """
    from logitreg.sweep import run_sweep

    from .analysis import baseline_rms

    out = []
    for cells, seeds in groups:
        targets = {}
        for c in cells:
            b = baseline_cell(c, cells)
            targets[c["name"]] = None if b is None else baseline_rms(
                [Path(runs) / f"{b['name']}-seed{s}" for s in seeds])
        fn = functools.partial(_extension_point, runs=str(runs), options=options,
                               targets=targets)
        out += run_sweep(fn, cells, seeds, config={**config, "targets": targets},
                         desc="interventions", **sweep)
    return out


def synthetic_theory(sigma_f: float, mu_f: float, n_classes: int, n_train: int, dim: int, *,
                     rng: np.random.Generator, n_mc: int = 200_000) -> dict:
    """The linear theory's prediction for the synthetic images (Eq. 8), independent of sigma_n.

    * ``bayes``: the accuracy of the nearest-template rule, the population optimum; the
      noise orthogonal to the template subspace carries no information, so it does not
      depend on sigma_n (Monte Carlo over ``n_mc`` draws of the (K-1)-dim signal noise).
    * ``pairwise_asymptotic``: :func:`logitreg.theory.asymptotic_accuracy` (**[DERIVED]**,
      binary) for one pair of classes, whose means lie ``D/2`` either side of the boundary
      (D the vertex distance), at ``lam = dim / n_train``: the proportional-limit accuracy of
      the empirical Fisher direction, also independent of sigma_n. It is a binary formula,
      a reference for one pair, not the K-class accuracy; ``nan`` when ``lam >= 1``.

    Beck, Bar-Sinai & Levi (2026), Sec. 4.1 and claim "sigma_n invariance" (for alpha > 0 and
    lam < 1 the converged linear classifier does not depend on sigma_n).
    """
    from logitreg.data import simplex_means
    from logitreg.theory import asymptotic_accuracy

    means = simplex_means(n_classes, n_classes - 1, mu_f)  # (K, K-1)
    y = rng.integers(0, n_classes, n_mc)
    x = means[y] + sigma_f * rng.standard_normal((n_mc, n_classes - 1))
    d2 = ((x[:, None, :] - means[None]) ** 2).sum(-1)  # (n_mc, K)
    bayes = float(np.mean(d2.argmin(1) == y))
    lam = dim / n_train
    half = float(np.linalg.norm(means[0] - means[1])) / 2
    pair = (float(asymptotic_accuracy(lam, mu_f=half, sigma_f=sigma_f)) if 0 < lam < 1
            else float("nan"))
    return {"bayes": bayes, "pairwise_asymptotic": pair, "lam": lam, "vertex_distance": 2 * half}


def run_experiment(args: argparse.Namespace) -> dict:
    """Train, analyse and report (see the module docstring); returns the run directories."""
    from logitreg.io import save_json
    from logitreg.sweep import run_sweep

    from .config import DataConfig

    out = Path(args.out_dir)
    runs = out / "runs"
    epochs = args.epochs or DEFAULT_EPOCHS.get(args.dataset, 30)
    base = dict(dataset=args.dataset, model=args.model, epochs=epochs, device=args.device,
                threads=args.threads)
    if args.data_root:
        base["data_root"] = args.data_root
    for key in ("batch_size", "lr", "width"):
        if getattr(args, key) is not None:
            base[key] = getattr(args, key)
    if args.digits_size is not None:
        base["digits_size"] = args.digits_size
    if args.dataset == "synthetic" and args.synthetic_train:
        base["synthetic_train"] = args.synthetic_train
    if args.quick:
        base.update(epochs=min(epochs, 2))
    seeds = list(range(args.seeds))
    cells, two_d = build_cells(args.dataset, sigma_ns=args.sigma_ns)
    if args.regs:
        cells = [c for c in cells if c["reg"] in args.regs]
        two_d = [c for c in two_d if c["reg"] in args.regs]
    if args.quick:
        cells = [c for c in cells if c["reg"] in ("none", "ls", "varmixup")] or cells[:2]
        two_d = two_d[:1]
    if not cells:
        raise ValueError(f"--regs={','.join(args.regs)} selects no run: expected some of "
                         + ", ".join(sorted({c['reg'] for c in build_cells(args.dataset)[0]})))
    sweep = dict(n_jobs=args.jobs, progress=not args.no_progress, cache_dir=out / "sweep")
    t0 = time.perf_counter()

    vae = None
    if any(c["reg"] == "varmixup" for c in cells):
        vae_epochs = 2 if args.quick else args.vae_epochs
        [rec] = run_sweep(functools.partial(_vae_point, base=base, runs=str(runs),
                                            epochs=vae_epochs),
                          [{}], [0], config={"base": base, "vae_epochs": vae_epochs},
                          desc="vae", **sweep)
        vae = rec["vae"]
    train_cfg = {"base": base, "vae": vae}
    fn = functools.partial(_train_point, base=base, runs=str(runs), vae_checkpoint=vae)
    trained = run_sweep(fn, cells, seeds, config=train_cfg, desc="train", **sweep)
    if two_d:
        trained += run_sweep(fn, two_d, seeds[:1], config=train_cfg, desc="train 2-d", **sweep)
    t_train = time.perf_counter() - t0

    options = dict(device=args.device, max_attack_images=args.attack_images,
                   quick=args.quick, data_root=args.data_root or None)
    afn = functools.partial(_analysis_point, runs=str(runs), options=options)
    analysed = run_sweep(afn, cells, seeds, config={"train": train_cfg, "analysis": options},
                         desc="analyse", **sweep)
    if two_d:
        analysed += run_sweep(afn, two_d, seeds[:1], config={"train": train_cfg,
                                                             "analysis": options},
                              desc="analyse 2-d", **sweep)
    t_ext = time.perf_counter()
    ext_opts = {k: v for k, v in options.items() if k != "device"}
    add_interventions([(cells, seeds)] + ([(two_d, seeds[:1])] if two_d else []),
                      runs=runs, options=options,
                      config={"train": train_cfg, "analysis": ext_opts,
                              "extras": "deep.analysis/interventions-1"}, sweep=sweep)
    t_ext = time.perf_counter() - t_ext
    run_dirs = [r["run_dir"] for r in trained]
    extra = {}
    if args.dataset == "synthetic":
        dc = DataConfig()
        n_train = round(base.get("synthetic_train", dc.synthetic_train) * (1 - dc.val_fraction))
        extra["theory"] = synthetic_theory(
            dc.synthetic_sigma_f, dc.synthetic_mu_f, dc.synthetic_classes, n_train,
            int(np.prod(dc.synthetic_shape)), rng=np.random.default_rng(0))
    timing = {"train_seconds": t_train, "total_seconds": time.perf_counter() - t0,
              "interventions_seconds": t_ext,
              "n_runs": len(run_dirs), "epochs": base["epochs"], **extra}
    timing = _accumulate(out / "experiment.json", sys.argv, timing)
    save_json(out / "experiment.json", {"argv": sys.argv, "runs": run_dirs, **timing})
    if not args.no_report:
        from .report import write_report

        report = args.report or str(out / "report.md")
        write_report(run_dirs, report, experiment=out / "experiment.json")
        print(f"report: {report}")
    print(f"{len(run_dirs)} runs in {out} ({timing['total_seconds']:.0f} s, training "
          f"{t_train:.0f} s)")
    return {"runs": run_dirs, **timing}


def _accumulate(path: Path, argv: list[str], timing: dict) -> dict:
    """Add the times of an earlier invocation of the same command (same arguments) in the
    same folder, so that a resumed experiment reports all the compute it took; the
    seconds of this invocation alone go to ``last_seconds``."""
    from logitreg.io import load_json

    timing = dict(timing, last_seconds=timing["total_seconds"], invocations=1)
    try:
        prev = load_json(path)
    except (OSError, ValueError):
        return timing
    if list(prev.get("argv", []))[1:] != list(argv)[1:]:
        return timing
    for key in ("train_seconds", "total_seconds", "interventions_seconds"):
        timing[key] += float(prev.get(key) or 0.0)
    timing["invocations"] += int(prev.get("invocations") or 1)
    return timing


def _floats(text: str) -> tuple[float, ...]:
    try:
        vals = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated numbers, "
                                         "e.g. 0.5,1,2") from None
    if not vals or min(vals) < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected non-negative numbers")
    return vals


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m deep.experiment", description=__doc__.split(
        "\n")[0])
    p.add_argument("--dataset", default="digits", help="data set (digits, synthetic, cifar10, ...)")
    p.add_argument("--data-root", default="", help="folder of the torchvision data sets and "
                   "of CIFAR-10-C (used for corruptions when present)")
    p.add_argument("--model", default="cnn", help="architecture (cnn, resnet18, preact_resnet18)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N")
    p.add_argument("--seeds", type=int, default=3, help="training seeds 0..N-1 per cell (>= 1)")
    p.add_argument("--epochs", type=int, default=None,
                   help="training epochs (default: digits 15, synthetic 10, else 30)")
    p.add_argument("--vae-epochs", type=int, default=30, help="epochs of the VarMixup VAE")
    p.add_argument("--batch-size", type=int, default=None, help="training batch (default: "
                   "deep.train's)")
    p.add_argument("--lr", type=float, default=None, help="peak learning rate (default: "
                   "deep.train's)")
    p.add_argument("--width", type=int, default=None, help="base channel width")
    p.add_argument("--regs", type=lambda t: tuple(t.split(",")), default=None,
                   help="only these regularizers, e.g. none,ls (default: all)")
    p.add_argument("--digits-size", type=int, default=None, help="digits image side (8, 16, "
                   "32; default deep.train's 16)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads per run")
    p.add_argument("--jobs", type=int, default=1, help="runs in parallel (joblib processes)")
    p.add_argument("--attack-images", type=int, default=1000,
                   help="test images attacked (PGD, FGSM, local linearity) per run")
    p.add_argument("--sigma-ns", type=_floats, default=None,
                   help="synthetic: orthogonal noise levels sigma_n, e.g. 0.5,1,2")
    p.add_argument("--synthetic-train", type=int, default=None,
                   help="synthetic: training images (default: deep.config's)")
    p.add_argument("--out-dir", default=None,
                   help="experiment folder (default: runs/experiment-<dataset>)")
    p.add_argument("--report", default=None, help="Markdown report path (default: "
                   "<out-dir>/report.md)")
    p.add_argument("--no-report", action="store_true", help="train and analyse only")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: 2 epochs, none/ls/varmixup only, small analysis")
    return p


def main(argv: list[str] | None = None) -> dict:
    from logitreg.cli import run_command

    args = parser().parse_args(argv)
    if args.seeds < 1:
        parser().error(f"--seeds={args.seeds}: expected at least 1")
    args.out_dir = args.out_dir or f"runs/experiment-{args.dataset}"
    result = {}

    def job():
        result.update(run_experiment(args))

    status = run_command("python -m deep.experiment", job,
                         resume="the same command (finished runs and analyses are cached)")
    if status:
        raise SystemExit(status)
    return result


if __name__ == "__main__":
    main()
