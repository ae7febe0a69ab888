r"""Park, Kim & Lee (2024) claim 13, the "architecture confound": python -m deep.architecture.

The claim (their v1 and v2 discussion): Transformers trained with their standard recipes
(DeiT, Swin: Mixup, CutMix and label smoothing together) look like *regularized* models next
to CNNs trained with hard labels (smaller features, features closer to their class centers,
lower ECE), so part of the "Transformers are better calibrated" finding reflects the recipe,
not the architecture.

The experiment trains a CNN (``--cnn-model``, default ``cnn``) and a ViT (``--vit-model``,
default ``vit``: :data:`deep.models.VIT_SPECS`), each with hard labels (``--reg none``) and
with the DeiT recipe's soft labels (``--reg deit``: Mixup or CutMix per batch on targets
smoothed with eps = 0.1, :class:`deep.mixing.DeiTMix`), over ``--seeds`` seeds, then measures
every run on the test split (:func:`measure_run`) and writes ``<out>/summary.json``: mean and
std (ddof = 1, the seed-to-seed spread) per (architecture, regularizer), the comparisons of
:func:`claim13_verdict` and its verdict.

Each architecture keeps its own optimizer (the recipe's, our choice, documented in
:data:`RECIPES`): the CNN SGD with momentum (the project's default), the ViT AdamW with
decoupled weight decay 0.05 (DeiT's optimizer and weight decay; its warm-up and the rest of
its recipe are not reproduced, see docs/architecture_confound.md). The regularizer is the
only thing that changes within an architecture.

Every training run and every measurement is one point of :func:`logitreg.sweep.run_sweep`
(cached under ``<out>/sweep``), and a run killed mid-training resumes from its checkpoint:
the same command continues a killed experiment. An ``--out`` holding another configuration
is refused (``--restart`` discards its runs).

Example (digits, 8x8, 3 seeds)::

    python -m deep.architecture --dataset digits --out runs/architecture
"""

from __future__ import annotations

import argparse
import functools
import inspect
import math
import shutil
import sys
import time
from pathlib import Path

__all__ = ["CELL_KEYS", "METRICS", "RECIPES", "VERDICT_METRICS", "build_summary",
           "claim13_verdict", "main", "measure_run", "run_architecture"]

#: Per architecture role, the optimizer options of its runs (our choice; DeiT: AdamW, weight
#: decay 0.05, Touvron et al. 2021, Table 9). ``lr`` None = deep.config's default for the
#: optimizer (sgd 0.1). The ViT's lr 2e-3 was the better of 1e-3 and 2e-3 on digits
#: (docs/architecture_confound.md).
RECIPES = {
    "cnn": {"optimizer": "sgd", "lr": None, "weight_decay": 5e-4},
    "vit": {"optimizer": "adamw", "lr": 2e-3, "weight_decay": 0.05},
}
REGS = ("none", "deit")
#: The four cells, "<role>+<reg>".
CELL_KEYS = tuple(f"{role}+{reg}" for role in RECIPES for reg in REGS)
#: Per-run measurements (:func:`measure_run`) reduced over seeds in ``summary.json``.
METRICS = ("test_acc", "ece", "ece_10", "confidence", "overconfidence", "nll", "feature_rms",
           "feature_norm", "logit_rms", "logit_margin", "cos_min_loss_pred",
           "cos_min_loss_true", "cos_class_mean_pred", "cos_class_mean_true", "radius")
#: The verdict's metrics and the direction that counts as "more regularized" (-1: lower).
VERDICT_METRICS = (("logit_rms", -1), ("cos_min_loss_pred", +1), ("ece", -1))
#: Epochs on digits: the ViT needs more steps than the CNN to reach ~90 % test accuracy on
#: 1,293 training images (10 epochs at batch 128: 36 %; 40 at batch 64: 93 %).
DEFAULT_EPOCHS = {"digits": 40}
DEFAULT_BATCH = {"digits": 64}


# ----------------------------------------------------------------------------- verdict


def _compare(summary: dict, a: str, b: str, metric: str, sign: int) -> dict:
    """Is cell ``a`` more regularized than cell ``b`` on ``metric`` beyond the combined std?"""
    ma, mb = summary["cells"][a][metric], summary["cells"][b][metric]
    sa, sb = ma["std"], mb["std"]
    diff = sign * (ma["mean"] - mb["mean"])  # > 0: a is more regularized than b
    known = sa is not None and sb is not None and not (math.isnan(sa) or math.isnan(sb))
    spread = math.hypot(sa, sb) if known else float("nan")
    return {"a": a, "b": b, "metric": metric, "a_mean": ma["mean"], "b_mean": mb["mean"],
            "combined_std": spread, "more_regularized": bool(known and diff > spread),
            "spread_known": known}


def claim13_verdict(summary: dict) -> tuple[str, str]:
    """Verdict on claim 13 (Park, Kim & Lee 2024, "architecture confound") from a summary.

    Rule. Three measures, each compared in the direction a soft-label regularizer moves it
    (the trends of their Table 2: RMS down, cosine up, ECE down): the logit scale
    ``logit_rms`` (lower), the cosine of each test feature to the min-loss center of its
    predicted class ``cos_min_loss_pred`` (higher), and ``ece`` (lower). Cell A is *more
    regularized* than cell B on a measure when the difference of their seed means, in that
    direction, exceeds the combined std
    ``sqrt(std_A^2 + std_B^2)`` (ddof = 1).

    * ``"did not hold"``: ViT+none is already more regularized than CNN+none on all three
      (the architecture alone gives the look), or ViT+deit is on none of them (the premise
      fails);
    * ``"held"``: ViT+deit is more regularized than CNN+none on all three, and ViT+none is
      not on all three (on at least one the recipe, not the architecture, carries the
      difference);
    * ``"mixed"``: anything else;
    * ``"undetermined"``: a needed std is unknown (fewer than 2 seeds).

    Why the logit scale and not the feature RMS: the paper's magnitude statistic is the
    feature RMS (their Table 2), comparable within one architecture. Across architectures
    it is not: the ViT's features leave a LayerNorm, whose gain fixes their scale, while the
    CNN's are post-ReLU averages of another width, and a head can undo any feature scale.
    What the softmax (and so confidence and calibration) reads is the logit scale; under
    Theorem 1's assumptions (zero bias, equal ``||w_c||``) it is proportional to the feature
    RMS, so it is the feature RMS in units common to every architecture. ``logit_rms`` is
    the RMS over classes of the logits minus their mean (softmax ignores the mean), averaged
    over test samples. The feature RMS, raw and relative to the same architecture's
    ``none`` run of the same seed, is reported beside it, not used here.

    The cosine compares different domains (the CNN's post-ReLU features lie in the
    non-negative orthant, where every cosine is >= 0; the ViT's are signed), which favours
    the CNN: the rule does not correct for it, and docs/architecture_confound.md says so.

    Parameters
    ----------
    summary : dict
        ``summary["cells"][key][metric] = {"mean": float, "std": float or None}`` for the
        keys ``cnn+none``, ``vit+none``, ``vit+deit`` and the metrics of
        :data:`VERDICT_METRICS` (the ``summary.json`` of :func:`run_architecture`).

    Returns
    -------
    verdict : {"held", "did not hold", "mixed", "undetermined"}
    why : str
        Every comparison with its numbers.
    """
    try:
        deit = [_compare(summary, "vit+deit", "cnn+none", m, s) for m, s in VERDICT_METRICS]
        arch = [_compare(summary, "vit+none", "cnn+none", m, s) for m, s in VERDICT_METRICS]
    except (KeyError, TypeError) as e:
        raise ValueError(f"summary lacks {e}: expected summary['cells'][key][metric] with "
                         f"'mean' and 'std' for keys cnn+none, vit+none, vit+deit and metrics "
                         f"{', '.join(m for m, _ in VERDICT_METRICS)}") from e

    def line(c):
        sign = "more" if c["more_regularized"] else "not more"
        return (f"{c['a']} {sign} regularized than {c['b']} on {c['metric']}: "
                f"{c['a_mean']:.4g} vs {c['b_mean']:.4g} (combined std {c['combined_std']:.2g})")

    why = "; ".join(line(c) for c in deit + arch)
    if not all(c["spread_known"] for c in deit + arch):
        return "undetermined", "a std is unknown (fewer than 2 seeds): " + why
    n_deit = sum(c["more_regularized"] for c in deit)
    n_arch = sum(c["more_regularized"] for c in arch)
    if n_arch == len(arch):
        return "did not hold", "ViT+none already looks regularized on all three: " + why
    if n_deit == 0:
        return "did not hold", "ViT+deit looks regularized on none of the three: " + why
    if n_deit == len(deit):
        return "held", (f"ViT+deit looks regularized on all three, ViT+none on {n_arch} of "
                        "three: " + why)
    return "mixed", (f"ViT+deit looks regularized on {n_deit} of three, ViT+none on {n_arch}: "
                     + why)


# ----------------------------------------------------------------------------- measuring


def measure_run(run_dir, *, device: str = "cpu", data_root: str | None = None,
                n_bins: int = 15) -> dict:
    """Representation and calibration measurements of one finished ``deep.train`` run.

    On the test split, with the trained head ``logits = W z + b``:

    * ``feature_rms``: mean over samples of ``||z|| / sqrt(d)`` (:func:`deep.geometry.
      feature_rms`; Park, Kim & Lee 2024, Table 2 and claim 3), ``feature_norm`` the mean
      ``||z||``;
    * ``logit_rms``: mean over samples of the RMS over classes of ``l - mean_k l_k`` (nats),
      ``logit_margin``: mean top-1 minus top-2 logit;
    * ``cos_min_loss_pred``/``_true``: mean cosine of ``z`` to the min-loss center of its
      predicted/true class, the centers restricted to the features' domain at the radius of
      the mean training-feature norm (:func:`deep.geometry.min_loss_centers`; claim 4);
      ``cos_class_mean_*``: the same to the training class means (their Table 1);
    * ``test_acc``, ``ece`` (``n_bins`` bins) and ``ece_10`` (10 bins), ``confidence``,
      ``overconfidence`` (mean confidence minus accuracy), ``nll`` (:func:`deep.calibration.
      calibration_metrics`; claim 6).

    Returns
    -------
    dict of floats (and ``domain``, ``feature_dim``)
    """
    from .analysis import load_run
    from .calibration import calibration_metrics
    from .geometry import (
        class_means,
        cosine_to_centers,
        extract_features,
        feature_rms,
        min_loss_centers,
    )

    run = Path(run_dir)
    _, data, model = load_run(run, device, data_root)
    K = data.num_classes
    z_tr, _ = extract_features(model, data.x_train)  # (N_train, d)
    z_te, l_te = extract_features(model, data.x_test)  # (N_test, d), (N_test, K)
    y_te = data.y_test
    W = model.head.weight.detach().float()
    b = model.head.bias.detach().float()
    radius = float(z_tr.norm(dim=1).mean())
    pred = l_te.argmax(1)
    centers = min_loss_centers(W, b, radius, domain=model.feature_domain).float()
    means = class_means(z_tr, data.y_train, K)
    centred = l_te - l_te.mean(dim=1, keepdim=True)
    top2 = l_te.topk(2, dim=1).values
    cal = calibration_metrics(l_te, y_te, n_bins=n_bins)
    cal10 = calibration_metrics(l_te, y_te, n_bins=10)
    out = {
        "test_acc": float((pred == y_te).float().mean()),
        "ece": float(cal["ece"]), "ece_10": float(cal10["ece"]),
        "confidence": float(cal["confidence"]),
        "overconfidence": float(cal["confidence"] - cal["accuracy"]),
        "nll": float(cal["nll"]),
        "feature_rms": float(feature_rms(z_te).mean()),
        "feature_norm": float(z_te.norm(dim=1).mean()),
        "logit_rms": float(centred.pow(2).mean(dim=1).sqrt().mean()),
        "logit_margin": float((top2[:, 0] - top2[:, 1]).mean()),
        "cos_min_loss_pred": float(cosine_to_centers(z_te, centers, pred).mean()),
        "cos_min_loss_true": float(cosine_to_centers(z_te, centers, y_te).mean()),
        "cos_class_mean_pred": float(cosine_to_centers(z_te, means, pred).mean()),
        "cos_class_mean_true": float(cosine_to_centers(z_te, means, y_te).mean()),
        "radius": radius,
        "domain": model.feature_domain, "feature_dim": int(z_te.shape[1]),
    }
    bad = [k for k, v in out.items() if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        raise FloatingPointError(f"{run}: non-finite measurements {bad}")
    return out


# ----------------------------------------------------------------------------- summary


def build_summary(records: list[dict]) -> dict:
    """Mean and std (ddof = 1) over seeds of :data:`METRICS`, per cell, plus the feature
    RMS relative to the same architecture's ``none`` run of the same seed, the within- and
    across-architecture differences, and the verdict of :func:`claim13_verdict`.

    Parameters
    ----------
    records : list of dict
        One per (cell, seed): ``role`` ("cnn" or "vit"), ``model``, ``reg``, ``seed`` and
        the measurements of :func:`measure_run`.
    """
    from logitreg.io import mean_std

    cells: dict[str, dict] = {}
    by_key: dict[str, dict[int, dict]] = {}
    for r in records:
        by_key.setdefault(f"{r['role']}+{r['reg']}", {})[int(r["seed"])] = r
    for key, runs in by_key.items():
        seeds = sorted(runs)
        first = runs[seeds[0]]
        cell = {"model": first["model"], "reg": first["reg"], "n": len(seeds), "seeds": seeds,
                "domain": first["domain"], "feature_dim": first["feature_dim"]}
        for m in METRICS:
            mean, std = mean_std([runs[s][m] for s in seeds])
            cell[m] = {"mean": mean, "std": None if math.isnan(std) else std}
        none = by_key.get(f"{first['role']}+none", {})
        paired = [s for s in seeds if s in none]
        if paired:
            mean, std = mean_std([runs[s]["feature_rms"] / none[s]["feature_rms"]
                                  for s in paired])
            cell["feature_rms_rel_none"] = {"mean": mean,
                                            "std": None if math.isnan(std) else std}
        cells[key] = cell
    summary = {"cells": cells, "std": "sample std over seeds (ddof = 1); null for one seed"}
    diffs = {}
    for name, (a, b) in {"recipe_on_vit": ("vit+deit", "vit+none"),
                         "recipe_on_cnn": ("cnn+deit", "cnn+none"),
                         "architecture": ("vit+none", "cnn+none"),
                         "recipe_and_architecture": ("vit+deit", "cnn+none")}.items():
        if a in cells and b in cells:
            diffs[name] = {"a": a, "b": b, **{m: cells[a][m]["mean"] - cells[b][m]["mean"]
                                             for m in METRICS}}
    summary["differences"] = diffs
    if all(k in cells for k in ("cnn+none", "vit+none", "vit+deit")):
        verdict, why = claim13_verdict(summary)
        summary["verdict"] = {"claim": "Park, Kim & Lee (2024) claim 13, architecture confound",
                              "verdict": verdict, "why": why,
                              "rule": inspect.getdoc(claim13_verdict).split("Parameters")[0]
                              .strip()}
    return summary


def format_table(summary: dict) -> str:
    """A plain-text table of the verdict's metrics and test accuracy, mean ± std."""
    cols = ("test_acc", "ece", "confidence", "logit_rms", "feature_rms", "cos_min_loss_pred",
            "cos_class_mean_pred")
    lines = ["cell          " + "  ".join(f"{c:>20}" for c in cols)]
    for key, cell in summary["cells"].items():
        vals = []
        for c in cols:
            s = cell[c]["std"]
            vals.append(f"{cell[c]['mean']:.4f} ± {s:.4f}" if s is not None
                        else f"{cell[c]['mean']:.4f} (n=1)")
        lines.append(f"{key:<14}" + "  ".join(f"{v:>20}" for v in vals))
    return "\n".join(lines)


# ----------------------------------------------------------------------------- running


def _train_point(role, model, reg, seed, *, base: dict, recipes: dict, runs: str) -> dict:
    """Train one (cell, seed), resuming a run a killed experiment left half done."""
    from .config import TrainConfig
    from .train import train

    run_dir = Path(runs) / f"{role}-{model}-{reg}-seed{seed}"
    if (run_dir / "results.json").exists() and (run_dir / "checkpoint.pt").exists():
        return {"run_dir": str(run_dir)}
    recipe = {k: v for k, v in recipes[role].items() if v is not None}
    cfg = TrainConfig(**base, **recipe, model=model, reg=reg, seed=int(seed),
                      out_dir=str(runs), run_name=run_dir.name,
                      resume=(run_dir / "checkpoint.pt").exists(), progress=False)
    t0 = time.perf_counter()
    train(cfg)
    return {"run_dir": str(run_dir), "train_seconds": time.perf_counter() - t0}


def _measure_point(role, model, reg, seed, *, runs: str, device: str,
                   data_root: str | None) -> dict:
    t0 = time.perf_counter()
    out = measure_run(Path(runs) / f"{role}-{model}-{reg}-seed{seed}", device=device,
                      data_root=data_root)
    return {**out, "measure_seconds": time.perf_counter() - t0}


def run_architecture(args: argparse.Namespace) -> dict:
    """Train, measure and summarise (module docstring); returns the summary."""
    import json

    from logitreg.io import load_json, provenance, save_json, to_jsonable
    from logitreg.sweep import run_sweep

    out = Path(args.out)
    epochs = args.epochs or DEFAULT_EPOCHS.get(args.dataset, 40)
    base = dict(dataset=args.dataset, epochs=epochs, device=args.device, threads=args.threads)
    batch = args.batch_size or DEFAULT_BATCH.get(args.dataset)
    if batch:
        base["batch_size"] = batch
    if args.dataset == "digits":
        base["digits_size"] = args.digits_size
    if args.data_root:
        base["data_root"] = args.data_root
    recipes = {"cnn": {**RECIPES["cnn"], "lr": args.cnn_lr if args.cnn_lr is not None
                       else RECIPES["cnn"]["lr"]},
               "vit": {**RECIPES["vit"], "lr": args.vit_lr if args.vit_lr is not None
                       else RECIPES["vit"]["lr"]}}
    models = {"cnn": args.cnn_model, "vit": args.vit_model}
    seeds = list(range(args.seeds))
    config = {"base": base, "recipes": recipes, "models": models, "regs": list(REGS),
              "seeds": seeds}
    stamp = out / "architecture_config.json"
    if args.restart:
        for sub in ("runs", "sweep"):
            shutil.rmtree(out / sub, ignore_errors=True)
        stamp.unlink(missing_ok=True)
    if stamp.exists() and load_json(stamp) != json.loads(json.dumps(to_jsonable(config))):
        raise ValueError(f"--out={out} holds runs of another configuration ({stamp}): expected "
                         "a new --out, or --restart to discard them")
    save_json(stamp, config)

    runs = out / "runs"
    cells = [{"role": role, "model": models[role], "reg": reg} for role in models
             for reg in REGS]
    sweep = dict(n_jobs=args.jobs, progress=not args.no_progress, cache_dir=out / "sweep")
    t0 = time.perf_counter()
    trained = run_sweep(functools.partial(_train_point, base=base, recipes=recipes,
                                          runs=str(runs)),
                        cells, seeds, config=config, desc="train", **sweep)
    t_train = time.perf_counter() - t0
    measured = run_sweep(functools.partial(_measure_point, runs=str(runs), device=args.device,
                                           data_root=args.data_root or None),
                         cells, seeds, config={"train": config, "measure": "measure_run/1"},
                         desc="measure", **sweep)
    summary = build_summary(measured)
    summary.update(config=config, runs=[r["run_dir"] for r in trained],
                   timing={"train_seconds_this_call": t_train,
                           "total_seconds_this_call": time.perf_counter() - t0,
                           # Wall-clock seconds when each point was computed (kept by the
                           # sweep cache; None for a run found finished on disk).
                           "train_seconds_per_run": {
                               r["run_dir"]: r.get("train_seconds") for r in trained},
                           "train_seconds_total": sum(r.get("train_seconds") or 0.0
                                                      for r in trained),
                           "measure_seconds_total": sum(r["measure_seconds"]
                                                        for r in measured)},
                   argv=sys.argv, **provenance())
    save_json(out / "summary.json", summary)
    print(format_table(summary))
    if "verdict" in summary:
        print(f"claim 13: {summary['verdict']['verdict']} ({summary['verdict']['why']})")
    print(f"summary: {out / 'summary.json'} ({summary['timing']['total_seconds_this_call']:.0f} "
          "s this call)")
    return summary


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m deep.architecture",
                                description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="digits", help="data set (default: digits)")
    p.add_argument("--data-root", default="", help="folder of the torchvision data sets")
    p.add_argument("--out", default="runs/architecture", help="experiment folder")
    p.add_argument("--seeds", type=int, default=3, help="training seeds 0..N-1 per cell")
    p.add_argument("--epochs", type=int, default=None, help="training epochs, every cell "
                   "(default: digits 40)")
    p.add_argument("--batch-size", type=int, default=None, help="training batch, every cell "
                   "(default: digits 64, else deep.train's)")
    p.add_argument("--digits-size", type=int, default=8, help="digits image side (default 8, "
                   "native: the vit's reference grid)")
    p.add_argument("--cnn-model", default="cnn", help="the CNN (cnn, resnet18, "
                   "preact_resnet18; default cnn)")
    p.add_argument("--vit-model", default="vit", help="the ViT (vit, vit_cifar; default vit)")
    p.add_argument("--cnn-lr", type=float, default=None, help="the CNN's SGD lr (default 0.1)")
    p.add_argument("--vit-lr", type=float, default=None,
                   help=f"the ViT's AdamW lr (default {RECIPES['vit']['lr']})")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads per run")
    p.add_argument("--jobs", type=int, default=1, help="runs in parallel (joblib processes)")
    p.add_argument("--restart", action="store_true", help="discard <out>/runs and <out>/sweep")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def _check_args(args: argparse.Namespace) -> None:
    from .config import MODELS

    for name, lo in (("seeds", 1), ("jobs", 1), ("threads", 1)):
        if getattr(args, name) < lo:
            raise ValueError(f"--{name}={getattr(args, name)!r} is not valid: expected >= {lo}")
    for name in ("epochs", "batch_size"):
        v = getattr(args, name)
        if v is not None and v < 1:
            raise ValueError(f"--{name.replace('_', '-')}={v!r} is not valid: expected >= 1")
    for name in ("cnn_lr", "vit_lr"):
        v = getattr(args, name)
        if v is not None and not (v > 0 and math.isfinite(v)):
            raise ValueError(f"--{name.replace('_', '-')}={v!r} is not valid: expected a "
                             "positive learning rate")
    cnns = [m for m in MODELS if not m.startswith("vit")]
    vits = [m for m in MODELS if m.startswith("vit")]
    if args.cnn_model not in cnns:
        raise ValueError(f"--cnn-model={args.cnn_model!r} is not valid: expected one of "
                         + ", ".join(cnns))
    if args.vit_model not in vits:
        raise ValueError(f"--vit-model={args.vit_model!r} is not valid: expected one of "
                         + ", ".join(vits))


def main(argv: list[str] | None = None) -> dict:
    from logitreg.cli import run_command

    args = parser().parse_args(argv)
    result = {}

    def job():
        _check_args(args)
        result.update(run_architecture(args))

    status = run_command("python -m deep.architecture", job,
                         resume="the same command (finished runs and measurements are cached)")
    if status:
        raise SystemExit(status)
    return result


if __name__ == "__main__":
    main()
