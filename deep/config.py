"""Run configurations: frozen, type-checked dataclasses, one field per command-line flag.

Every field is one command-line flag (``dataset_root`` -> ``--dataset-root``; booleans get
``--flag/--no-flag``); its ``help`` metadata is the ``--help`` line, with units. A field
whose default is ``None`` is resolved from the dataset, model or device by ``resolved()``;
the *resolved* config is what a run saves in ``config.json``.

A field marked ``steers`` (the run directory, resuming, the progress bar, thread count,
compilation, determinism, checkpoint cadence) says where a run is written or how it is
carried out, not what it computes: it may change when a run is resumed, and
``deep.summary`` does not count it as part of a run's setting. :func:`numeric_fields`
lists the others.

Validation happens here, at the public boundary, and only here: a bad value raises a
``ValueError`` (``TypeError`` for a wrong type) that names the flag, the value and what was
expected. The command line built from these classes, and the mapping of every error to one
line on stderr and an exit status, are :mod:`deep.cli`'s.

This module imports neither ``deep.data`` nor torch: the data-set metadata that resolving a
config needs (:data:`DATASET_INFO`) lives here, and ``deep.data`` imports it from here.
"""

from __future__ import annotations

import dataclasses
import math
import os
import types
import typing
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Union

__all__ = [
    "DATASETS",
    "DATASET_INFO",
    "MODELS",
    "REGS",
    "REG_FIELDS",
    "DataConfig",
    "DatasetInfo",
    "RunConfig",
    "TrainConfig",
    "VAEConfig",
    "VIT_FIELDS",
    "VIT_SPECS",
    "ViTSpec",
    "derive_seeds",
    "flag",
    "numeric_fields",
    "setting_fields",
    "vit_spec",
]

DATASETS = ("digits", "synthetic", "mnist", "fashion-mnist", "cifar10", "cifar100", "svhn")
MODELS = ("cnn", "resnet18", "preact_resnet18", "vit", "vit_cifar")
REGS = ("none", "ls", "mixup", "cutmix", "varmixup", "logit_penalty", "deit")

# Documented defaults for choices the papers leave open (docs/deep.md, "Defaults").
# LS eps = 0.1: Szegedy et al. 2016; Park, Kim & Lee 2024 do not state theirs (our choice).
DEFAULT_LS_EPS = 0.1
# K = 10 vertex of f = |z|^2 (Beck, Bar-Sinai & Levi 2026, Eq. 21) has softmax confidence
# p_c = 0.916, close to LS eps = 0.1 (p_c = 0.91).
DEFAULT_LOGIT_ALPHA = 0.01
DEFAULT_LOGIT_PENALTY = "quadratic"
DEFAULT_LR = {"sgd": 0.1, "adamw": 1e-3}
# --reg deit: the DeiT recipe's soft labels (Touvron et al. 2021, Table 9; timm's Mixup with
# the DeiT arguments): per batch Mixup (alpha 0.8) or CutMix (alpha 1.0), the choice a coin
# with P(CutMix) = 0.5, on targets label-smoothed with eps 0.1. --mix-alpha is the Mixup
# alpha, --ls-eps the smoothing, --deit-cutmix-alpha and --deit-switch-prob the other two.
DEFAULT_DEIT_MIXUP_ALPHA = 0.8
DEFAULT_DEIT_CUTMIX_ALPHA = 1.0
DEFAULT_DEIT_SWITCH_PROB = 0.5
DEFAULT_MIX_ALPHA = 1.0  # Beta(alpha, alpha) of mixup, cutmix and varmixup
# The options of each --reg (besides --ls-eps and --logit-alpha, which compose with all):
# what identifies a setting together with --dataset, --model and --reg (deep.summary).
REG_FIELDS = {
    "none": (),
    "ls": ("ls_eps",),
    "mixup": ("mix_alpha", "mix_prob"),
    "cutmix": ("mix_alpha", "mix_prob"),
    "varmixup": ("mix_alpha", "mix_prob", "varmix_latent", "mix_clean_frac", "varmix_residual",
                 "varmix_input_frac", "vae_checkpoint"),
    "logit_penalty": ("logit_alpha", "logit_penalty"),
    "deit": ("ls_eps", "mix_alpha", "mix_prob", "deit_cutmix_alpha", "deit_switch_prob"),
}
# Fraction of each batch left clean (--mix-clean-frac), per mixing --reg: Mixup and CutMix as
# their papers (every row mixed); VarMixup keeps half clean (our choice: decoded-only training
# cost 7 points of test accuracy on digits, docs/deep.md). Equal fractions compare fairly.
DEFAULT_MIX_CLEAN_FRAC = {"mixup": 0.0, "cutmix": 0.0, "varmixup": 0.5, "deit": 0.0}
# For the ViTs (deep.models.VIT_SPECS) the width is the hidden size: vit 64 (8x8 digits on two
# CPU cores), vit_cifar 256 (ViT-Lite-7/4, Hassani et al. 2021).
DEFAULT_WIDTH = {"cnn": 32, "resnet18": 64, "preact_resnet18": 64, "vit": 64, "vit_cifar": 256}
# Training batch in images. 128 on the CPU (the Mixup and VarMixup baselines' batch). On CUDA
# 512 keeps a GPU busy (ResNet-18, CIFAR variant: the throughput target is >= 25k images/s,
# docs/benchmarks.md), except on the small sets, whose training splits would give a handful of
# steps per epoch (digits: 1,293 images, 2 steps at 512; synthetic: 9,000 by default).
DEFAULT_BATCH_SIZE = 128
DEFAULT_CUDA_BATCH_SIZE = 512
SMALL_DATASETS = ("digits", "synthetic")
# Checkpoint cadence in epochs. A save is written by a background thread (deep.train); the
# training loop waits only for the copy of the state. Even a blocking save every 10 epochs
# costs < 2 % at ResNet-18 scale: the 90 MB checkpoint took 0.10-0.30 s to write atomically
# (fsync included) on a 2-core sandbox (docs/deep.md, Checkpoints), and a CIFAR-10 epoch at
# 25k images/s is about 2 s, so 0.3 s per 20 s of training. A crash without an interrupt
# (kill -9, power loss) loses at most 9 epochs (about 18 s on such a GPU).
DEFAULT_CHECKPOINT_EVERY = 10
COMPILE_MODES = ("reduce-overhead", "default", "max-autotune", "max-autotune-no-cudagraphs")


class ViTSpec(NamedTuple):
    """The sizes of a ViT other than the hidden size (which is ``--width``); the model is
    ``deep.models.ViTBody``."""

    image_size: int  # reference side in pixels: the grid the position embeddings are for
    patch_size: int
    num_layers: int
    num_heads: int
    mlp_ratio: float  # MLP hidden size = mlp_ratio * hidden


#: The ``--model`` ViTs. ``vit``: our choice for 8x8 digits on two CPU cores (a scaled-down
#: ViT-Lite). ``vit_cifar``: ViT-Lite-7/4 (Hassani et al. 2021, Table 1) with ``--width 256``.
VIT_SPECS: dict[str, ViTSpec] = {
    "vit": ViTSpec(image_size=8, patch_size=2, num_layers=4, num_heads=4, mlp_ratio=2.0),
    "vit_cifar": ViTSpec(image_size=32, patch_size=4, num_layers=7, num_heads=4, mlp_ratio=2.0),
}


def vit_spec(model: str, patch: int | None = None, layers: int | None = None,
             heads: int | None = None, mlp_ratio: float | None = None) -> ViTSpec | None:
    """The sizes of ``--model`` with the ``--vit-*`` flags given (None keeps the model's);
    None for a model that is not a ViT."""
    if model not in VIT_SPECS:
        return None
    given = {"patch_size": patch, "num_layers": layers, "num_heads": heads,
             "mlp_ratio": mlp_ratio}
    return VIT_SPECS[model]._replace(**{k: v for k, v in given.items() if v is not None})


VIT_FIELDS = ("vit_patch", "vit_layers", "vit_heads", "vit_mlp_ratio")


class DatasetInfo(NamedTuple):
    """Metadata of a ``--dataset`` choice, known before any file is read."""

    channels: int
    side: int  # native image side in pixels (digits, synthetic: configurable)
    num_classes: int
    crop: bool  # random crop by default
    hflip: bool  # horizontal flips by default: only where the label is mirror-invariant


DATASET_INFO: dict[str, DatasetInfo] = {
    "digits": DatasetInfo(1, 8, 10, crop=True, hflip=False),
    # Augmentation would move a sample off the template subspace (Beck, Bar-Sinai & Levi
    # 2026, Eq. 8).
    "synthetic": DatasetInfo(3, 32, 10, crop=False, hflip=False),
    "mnist": DatasetInfo(1, 28, 10, crop=True, hflip=False),
    "fashion-mnist": DatasetInfo(1, 28, 10, crop=True, hflip=True),
    "cifar10": DatasetInfo(3, 32, 10, crop=True, hflip=True),
    "cifar100": DatasetInfo(3, 32, 100, crop=True, hflip=True),
    "svhn": DatasetInfo(3, 32, 10, crop=True, hflip=False),
}


def _f(default: Any, help: str, choices: tuple | None = None, *, steers: bool = False) -> Any:
    """A dataclass field carrying its ``--help`` line (and choices) as metadata.

    ``steers=True`` marks a field that does not change a run's numbers (see the module
    docstring); it may differ between a run and its ``--resume``.
    """
    return field(default=default, metadata={"help": help, "choices": choices, "steers": steers})


def numeric_fields(cls: type) -> tuple[str, ...]:
    """The fields of config class ``cls`` that can change a run's numbers, in field order.

    Every other field is marked ``steers``: it may change on ``--resume``, and runs that
    differ only in it are one setting for ``deep.summary`` (which also pools the ``seed``).
    """
    return tuple(f.name for f in dataclasses.fields(cls) if not f.metadata.get("steers"))


def flag(name: str) -> str:
    """The command-line flag of a config field: ``ls_eps`` -> ``--ls-eps``."""
    return "--" + name.replace("_", "-")


def setting_fields(cfg: dict) -> tuple[str, ...]:
    """The fields that identify a resolved training config ``cfg`` (a dict) to a reader:
    ``dataset``, ``model``, ``reg``, the options of that ``reg`` (:data:`REG_FIELDS`), and
    ``ls_eps`` or ``logit_alpha`` with ``logit_penalty`` where another ``reg`` adds them."""
    reg = cfg.get("reg", "none")
    names = ["dataset", "model", "reg", *REG_FIELDS.get(reg, ())]
    if cfg.get("mix_clean_frac") and "mix_clean_frac" not in names:
        names.append("mix_clean_frac")
    if cfg.get("ls_eps") and "ls_eps" not in names:
        names.append("ls_eps")
    if cfg.get("logit_alpha") and "logit_alpha" not in names:
        names += ["logit_alpha", "logit_penalty"]
    return tuple(names)


def derive_seeds(seed: int, names: tuple[str, ...]) -> dict[str, int]:
    """Independent 32-bit seeds, one per named random stream, derived from ``seed``
    (``numpy.random.SeedSequence``); saved in ``config.json`` with the run."""
    import numpy as np

    states = np.random.SeedSequence(seed).generate_state(len(names))
    return {name: int(s) for name, s in zip(names, states, strict=True)}


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if typing.get_origin(tp) is tuple:
        return f"tuple of {_type_name(typing.get_args(tp)[0])}"
    return "None" if tp is type(None) else tp.__name__


def _matches(value: Any, tp: Any) -> bool:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        return any(_matches(value, a) for a in typing.get_args(tp))
    if origin is tuple:
        (elem, _) = typing.get_args(tp)
        return isinstance(value, tuple) and all(_matches(v, elem) for v in value)
    if tp is type(None):
        return value is None
    if tp is float:  # an int is an acceptable float
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, tp)


def _check_types(cfg: Any) -> None:
    hints = typing.get_type_hints(type(cfg))
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if not _matches(value, hints[f.name]):
            raise TypeError(
                f"{flag(f.name)} expects {_type_name(hints[f.name])}; "
                f"got {value!r} ({type(value).__name__})"
            )
        choices = f.metadata.get("choices")
        if choices is not None and value is not None and value not in choices:
            raise ValueError(
                f"{flag(f.name)}={value!r} is not valid: expected one of {', '.join(choices)}"
            )


def _check_run_name(name: str | None) -> None:
    """``--run-name`` names one folder inside ``--out-dir``: it may not leave it (``..``, a
    path separator, an absolute path), be empty, or be hidden (a leading ``.``, which also
    covers the temporary files of atomic writes)."""
    if name is None:
        return
    seps = {"/", "\\", "\0"} | ({os.sep, os.altsep} - {None})
    if not name or name.startswith(".") or any(c in name for c in seps) or os.path.isabs(name):
        raise ValueError(
            f"--run-name={name!r} is not valid: expected a plain folder name inside --out-dir "
            "(not empty, no path separator, not starting with '.')"
        )


def _check_range(cfg: Any, name: str, lo: float | None = None, hi: float | None = None,
                 *, lo_open: bool = False, hi_open: bool = False, what: str = "") -> None:
    """Raise ``ValueError`` unless ``lo (<|<=) value (<|<=) hi``; None values are skipped."""
    value = getattr(cfg, name)
    if value is None:
        return
    bad = (lo is not None and (value <= lo if lo_open else value < lo)) or (
        hi is not None and (value >= hi if hi_open else value > hi)
    ) or (isinstance(value, float) and not math.isfinite(value))
    if bad:
        left = "(" if lo_open else "["
        right = ")" if hi_open or hi is None else "]"
        interval = f"{left}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{right}"
        raise ValueError(f"{flag(name)}={value!r} is outside {interval}: expected {what}")


@dataclass(frozen=True)
class DataConfig:
    """Which data set, where it lives, and how it is split (shared by training and the VAE)."""

    dataset: str = _f("digits", "data set; digits and synthetic need no files", DATASETS)
    data_root: str = _f("data", "folder holding the torchvision data sets (mnist ... svhn)")
    download: bool = _f(False, "download a missing torchvision data set into --data-root",
                        steers=True)
    verify_checksums: bool = _f(
        True, "check the md5 of CIFAR/SVHN files as torchvision does (MNIST has none)"
    )
    digits_size: int = _f(
        16, "digits image side in pixels: 8 (native), 16 or 32 (nearest-neighbour upsampling)"
    )
    val_fraction: float = _f(0.1, "fraction of the training split held out for validation")
    data_seed: int = _f(
        0, "seed of the fixed data split (digits test set, validation set) and synthetic data"
    )
    synthetic_classes: int = _f(10, "synthetic: number of classes K")
    synthetic_shape: tuple[int, ...] = _f((3, 32, 32), "synthetic: image shape C,H,W in pixels")
    synthetic_train: int = _f(10000, "synthetic: training images (before the validation split)")
    synthetic_test: int = _f(2000, "synthetic: test images")
    synthetic_mu_f: float = _f(
        8.0, "synthetic: norm of each class template about their mean (pixel units, Eq. 8)"
    )
    synthetic_sigma_f: float = _f(
        2.75, "synthetic: noise std per direction inside the (K-1)-dim template subspace "
        "(2.75: Bayes accuracy 0.91, the default CNN reaches about 0.87)"
    )
    synthetic_sigma_n: float = _f(
        0.5, "synthetic: noise std per direction orthogonal to the template subspace"
    )

    def _validate_data(self) -> None:
        if self.digits_size not in (8, 16, 32):
            raise ValueError(
                f"--digits-size={self.digits_size!r} is not valid: expected one of 8, 16, 32"
            )
        _check_range(self, "val_fraction", 0.0, 1.0, hi_open=True,
                     what="a fraction of the training split, 0 <= f < 1")
        if len(self.synthetic_shape) != 3 or min(self.synthetic_shape) < 1:
            raise ValueError(
                f"--synthetic-shape={','.join(map(str, self.synthetic_shape))} is not valid: "
                "expected three positive integers C,H,W such as 3,32,32"
            )
        _check_range(self, "synthetic_classes", 2, what="at least 2 classes")
        c, h, w = self.synthetic_shape
        if self.synthetic_classes - 1 > c * h * w:
            raise ValueError(
                f"--synthetic-classes={self.synthetic_classes} needs K-1 <= C*H*W = {c * h * w} "
                "template directions: expected fewer classes or a larger --synthetic-shape"
            )
        _check_range(self, "synthetic_train", 1, what="a positive number of images")
        _check_range(self, "synthetic_test", 1, what="a positive number of images")
        for name in ("synthetic_mu_f", "synthetic_sigma_f", "synthetic_sigma_n"):
            _check_range(self, name, 0.0, what="a non-negative number")


@dataclass(frozen=True)
class RunConfig(DataConfig):
    """What every command's run shares: the data options, and the system fields (device,
    threads, seed, run directory, resuming, time-boxing, progress bar).

    Subclasses add their own fields, validate them in ``_validate`` and resolve their
    ``None`` defaults in ``_resolve``; ``_default_run_name`` names the run directory, and
    ``command`` is the command line that runs them (named in messages).
    """

    command = ""  # no annotation: a class attribute, not a dataclass field

    device: str = _f("auto", "cpu, cuda, cuda:N, or auto (cuda when present)")
    threads: int | None = _f(None, "torch CPU threads (default: torch's own setting)",
                             steers=True)
    seed: int = _f(
        0, "seed of every random stream of the run (initialisation, shuffling, augmentation, "
        "mixing, VAE noise); the seed derived for each stream is saved in config.json"
    )
    out_dir: str = _f("runs", "parent folder of run directories", steers=True)
    run_name: str | None = _f(
        None, "run directory name (default: dataset-model-reg-seedN for python -m deep.train, "
        "vae-dataset-zD-seedN for python -m deep.vae)", steers=True
    )
    resume: bool = _f(False, "continue the run in the run directory from its last checkpoint",
                      steers=True)
    stop_after: int | None = _f(
        None, "stop after this many epochs in total (time-boxing; --resume continues)",
        steers=True
    )
    progress: bool = _f(True, "show a progress bar (one tick per step)", steers=True)

    def __post_init__(self) -> None:
        _check_types(self)
        self._validate_data()
        self._validate()
        _check_run_name(self.run_name)
        _check_range(self, "threads", 1, what="a positive thread count")
        _check_range(self, "stop_after", 1, what="at least 1 epoch")
        if not (self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:")):
            raise ValueError(
                f"--device={self.device!r} is not valid: expected auto, cpu, cuda or cuda:N"
            )

    def _validate(self) -> None:
        """Checks of the subclass's own fields (called by ``__post_init__``)."""

    def _resolve(self, device: str) -> dict[str, Any]:
        """Resolved values of the subclass's own ``None``/``auto`` fields on ``device``."""
        return {}

    def _default_run_name(self) -> str:
        raise NotImplementedError

    def resolved(self, cuda_available: bool) -> RunConfig:
        """Fill every ``None``/``auto`` default (a config of the same class); the result is
        what a run records."""
        device = self.device
        if device == "auto":
            device = "cuda" if cuda_available else "cpu"
        if device.startswith("cuda") and not cuda_available:
            raise ValueError(f"--device={self.device} but CUDA is not available: expected "
                             "--device cpu or auto")
        return dataclasses.replace(self, device=device,
                                   run_name=self.run_name or self._default_run_name(),
                                   **self._resolve(device))


def _augmentation(cfg: Any) -> dict[str, Any]:
    """Resolved ``crop_pad`` and ``hflip`` of a config with those fields: the values given,
    else the data set's (padding of side // 8 pixels where it crops, flips where its labels
    are mirror-invariant); one rule for the classifier and for a VAE trained on its
    augmentations."""
    info = DATASET_INFO[cfg.dataset]
    side = cfg.digits_size if cfg.dataset == "digits" else (
        cfg.synthetic_shape[1] if cfg.dataset == "synthetic" else info.side
    )
    return dict(crop_pad=cfg.crop_pad if cfg.crop_pad is not None else (
                    side // 8 if info.crop else 0),
                hflip=cfg.hflip if cfg.hflip is not None else info.hflip)


@dataclass(frozen=True)
class TrainConfig(RunConfig):
    """Everything that defines a training run (``python -m deep.train``).

    ``None`` defaults are resolved by :meth:`resolved` (dataset-, model- or device-specific).
    """

    command = "python -m deep.train"  # the command that runs this config (not a field)

    # --- model
    model: str = _f(
        "cnn", "classifier architecture; vit: a ViT for 8x8 digits (patch 2, 4 layers, 4 heads); "
        "vit_cifar: ViT-Lite-7/4 for 32x32 (patch 4, 7 layers, 4 heads); --vit-* change their "
        "sizes; see deep/models.py", MODELS)
    width: int | None = _f(None, "base channel width; for a vit the hidden size (default: cnn "
                           "32, resnets 64, vit 64, vit_cifar 256)")
    feature_dim: int | None = _f(
        None, "penultimate size via a linear bottleneck before the head; 2 or 3 to draw "
        "decision regions (default: the architecture's own width)"
    )
    vit_patch: int | None = _f(
        None, "vit models: patch side in pixels, a divisor of the model's reference side (vit "
        "8, vit_cifar 32; other image sides resample the position embeddings) and of the "
        "image side (default: vit 2, vit_cifar 4)"
    )
    vit_layers: int | None = _f(None, "vit models: encoder layers (default: vit 4, vit_cifar 7)")
    vit_heads: int | None = _f(
        None, "vit models: attention heads, a divisor of --width (default: 4)"
    )
    vit_mlp_ratio: float | None = _f(
        None, "vit models: MLP hidden size as a multiple of --width (default: 2)"
    )
    # --- regularizer
    reg: str = _f("none", "regularizer (label smoothing, mixing method or logit penalty; deit: "
                  "the DeiT recipe, Mixup or CutMix per batch on label-smoothed targets)", REGS)
    ls_eps: float | None = _f(
        None, f"label-smoothing epsilon in [0, 1); composes with every reg "
        f"(default: {DEFAULT_LS_EPS} for --reg ls and deit, else 0)"
    )
    mix_alpha: float | None = _f(
        None, "mixing lambda ~ Beta(alpha, alpha) for mixup/cutmix/varmixup, and deit's Mixup "
        f"alpha (default: {DEFAULT_DEIT_MIXUP_ALPHA} for deit, else {DEFAULT_MIX_ALPHA}; deit's "
        "CutMix alpha is --deit-cutmix-alpha)"
    )
    mix_prob: float = _f(1.0, "probability that a batch is mixed (mixup/cutmix/varmixup/deit)")
    deit_cutmix_alpha: float | None = _f(
        None, f"deit: CutMix's Beta(alpha, alpha) parameter (default: {DEFAULT_DEIT_CUTMIX_ALPHA}, "
        "DeiT's)"
    )
    deit_switch_prob: float | None = _f(
        None, "deit: probability that a mixed batch uses CutMix rather than Mixup (default: "
        f"{DEFAULT_DEIT_SWITCH_PROB}, DeiT's)"
    )
    logit_alpha: float | None = _f(
        None, f"logit penalty weight: loss = (1-alpha) CE + alpha f(z), alpha in [0, 1), f "
        f"set by --logit-penalty (default: {DEFAULT_LOGIT_ALPHA} for --reg logit_penalty, "
        "else 0)"
    )
    logit_penalty: str = _f(
        DEFAULT_LOGIT_PENALTY, "logit penalty f for --reg logit_penalty: quadratic (|z|^2), "
        "ls (logsumexp(z) - mean(z), Eq. 7) or a sympy expression in z applied per logit, "
        "e.g. 'log(cosh(z))'"
    )
    vae_checkpoint: str | None = _f(
        None, "varmixup: VAE checkpoint (vae.pt) written by python -m deep.vae"
    )
    varmix_latent: str = _f(
        "mean", "varmixup: mix the posterior means or samples z ~ q(z|x)", ("mean", "sample")
    )
    mix_clean_frac: float | None = _f(
        None, "mixup/cutmix/varmixup: fraction f of each batch left clean (unmixed, own "
        "targets); the last round(f B) rows of a shuffled batch, 0 <= f < 1 (default: "
        + ", ".join(f"{v:g} for {k}" for k, v in DEFAULT_MIX_CLEAN_FRAC.items()) + ")"
    )
    varmix_clean_frac: float | None = _f(
        None, "varmixup: older name of --mix-clean-frac, accepted with --reg varmixup only"
    )
    varmix_residual: bool = _f(
        False, "varmixup: add the mixed reconstruction residual lam (x - Dec(mu(x))) + (1 - lam) "
        "(x' - Dec(mu(x'))) to each decoded mixup (lam = 1 gives x exactly)"
    )
    varmix_input_frac: float = _f(
        0.0, "varmixup: fraction of each batch given to input mixup (same lam and partners) "
        "instead of decoded mixups; with --mix-clean-frac, sum < 1"
    )
    # --- optimisation
    epochs: int = _f(30, "training epochs")
    batch_size: int | None = _f(
        None, f"training batch size in images; the last partial batch is dropped (default: "
        f"{DEFAULT_BATCH_SIZE} on cpu; {DEFAULT_CUDA_BATCH_SIZE} on cuda, to keep the GPU busy, "
        f"except {DEFAULT_BATCH_SIZE} for {' and '.join(SMALL_DATASETS)}, whose small training "
        "splits would give few steps per epoch; the learning rate is not rescaled)"
    )
    optimizer: str = _f("sgd", "optimizer: SGD with momentum, or AdamW", ("sgd", "adamw"))
    lr: float | None = _f(None, "peak learning rate (default: sgd 0.1, adamw 1e-3)")
    momentum: float = _f(0.9, "sgd momentum (adamw: beta1)")
    nesterov: bool = _f(False, "sgd: Nesterov momentum")
    weight_decay: float = _f(5e-4, "weight decay (sgd: L2 in the gradient; adamw: decoupled)")
    schedule: str = _f(
        "cosine", "learning-rate schedule, per step", ("cosine", "multistep", "constant")
    )
    milestones: tuple[float, ...] = _f(
        (0.5, 0.75), "multistep: lr drops at these fractions of --epochs (comma separated)"
    )
    lr_gamma: float = _f(0.1, "multistep: factor applied at each milestone")
    warmup_epochs: float = _f(
        0.0, "linear warm-up: the schedule's rate times (step + 1) / W over the first W steps "
        "of these many epochs (DeiT: 5); 0 = none"
    )
    decay_norm_bias: bool = _f(
        True, "apply --weight-decay to every parameter; --no-decay-norm-bias exempts biases, "
        "normalisation weights and a ViT's class token and position embeddings (DeiT's timm "
        "recipe)"
    )
    # --- augmentation (on the device, per batch)
    crop_pad: int | None = _f(
        None, "random-crop padding in pixels, 0 = off (default: image side // 8, "
        "0 for synthetic)"
    )
    hflip: bool | None = _f(
        None, "random horizontal flips (default: on for fashion-mnist, cifar10/100 only)"
    )
    # --- system (besides RunConfig's)
    precision: str = _f(
        "auto", "autocast precision (auto: bf16 on cuda, fp32 on cpu)", ("auto", "fp32", "bf16")
    )
    channels_last: bool | None = _f(None, "channels_last memory format (default: on for cuda)")
    compile: bool = _f(False, "torch.compile the model (the first epoch compiles a training "
                       "and an evaluation graph; nothing compiles after it)", steers=True)
    compile_mode: str = _f(
        COMPILE_MODES[0], "torch.compile mode for --compile (default: reduce-overhead, which "
        "captures CUDA graphs: every training and evaluation batch has one shape; on the cpu "
        "it compiles as mode 'default'); the max-autotune modes also autotune kernels, which "
        "takes minutes", COMPILE_MODES, steers=True
    )
    deterministic: bool = _f(
        False, "bitwise-reproducible CUDA runs: deterministic algorithms (cuDNN, cuBLAS with "
        "CUBLAS_WORKSPACE_CONFIG=:4096:8) and no cuDNN autotuning (cudnn.benchmark, on "
        "otherwise); slower, see docs/deep.md. The cpu is deterministic without it",
        steers=True
    )
    checkpoint_every: int = _f(
        DEFAULT_CHECKPOINT_EVERY, "write checkpoint.pt every N epochs (in a background thread), "
        "and always after the last epoch, at --stop-after, on an interrupt and on divergence "
        "(the last finished epoch); 10 costs < 2 percent of a ResNet-18 CIFAR run even if a "
        "90 MB save blocked (0.3 s per 10 epochs of 2 s), and a kill -9 loses at most 9 epochs",
        steers=True
    )
    dist_backend: str = _f(
        "auto", "under torchrun only: the torch.distributed backend joining the processes "
        "(auto: nccl on cuda, gloo on cpu; gloo also runs on cuda); ignored by a single "
        "process", ("auto", "nccl", "gloo"), steers=True
    )

    def _validate(self) -> None:
        _check_range(self, "width", 1, what="a positive channel count")
        _check_range(self, "feature_dim", 1, what="a positive feature size")
        self._validate_vit()
        _check_range(self, "ls_eps", 0.0, 1.0, hi_open=True,
                     what="a label-smoothing epsilon with 0 <= eps < 1")
        _check_range(self, "mix_alpha", 0.0, lo_open=True,
                     what="a Beta(alpha, alpha) parameter alpha > 0")
        _check_range(self, "mix_prob", 0.0, 1.0, what="a probability in [0, 1]")
        _check_range(self, "deit_cutmix_alpha", 0.0, lo_open=True,
                     what="a Beta(alpha, alpha) parameter alpha > 0")
        _check_range(self, "deit_switch_prob", 0.0, 1.0, what="a probability in [0, 1]")
        for name in ("deit_cutmix_alpha", "deit_switch_prob"):
            if getattr(self, name) is not None and self.reg != "deit":
                raise ValueError(f"{flag(name)}={getattr(self, name)!r} applies to --reg deit "
                                 f"only: expected no {flag(name)} with --reg {self.reg}")
        _check_range(self, "logit_alpha", 0.0, 1.0, hi_open=True,
                     what="a logit-penalty weight with 0 <= alpha < 1")
        if self.reg == "logit_penalty" and self.logit_alpha == 0.0:
            raise ValueError(
                "--logit-alpha=0.0 with --reg logit_penalty is plain CE: expected 0 < alpha < 1"
            )
        from .losses import resolve_logit_penalty  # local: torch and logitreg, on demand

        resolve_logit_penalty(self.logit_penalty)  # raises ValueError naming the flag
        for name in ("mix_clean_frac", "varmix_clean_frac", "varmix_input_frac"):
            _check_range(self, name, 0.0, 1.0, hi_open=True, what="a fraction with 0 <= f < 1")
        if self.varmix_clean_frac is not None and self.reg != "varmixup":
            raise ValueError(
                f"--varmix-clean-frac={self.varmix_clean_frac!r} applies to --reg varmixup only: "
                f"expected --mix-clean-frac for --reg {self.reg}"
            )
        if None not in (self.mix_clean_frac, self.varmix_clean_frac) and (
                self.mix_clean_frac != self.varmix_clean_frac):
            raise ValueError(
                f"--varmix-clean-frac={self.varmix_clean_frac!r} and --mix-clean-frac="
                f"{self.mix_clean_frac!r} disagree: expected one of them (--varmix-clean-frac is "
                "the older name of --mix-clean-frac)"
            )
        if self.reg == "varmixup":
            clean = self._mix_clean_frac()
            if not clean + self.varmix_input_frac < 1.0:
                raise ValueError(
                    f"--varmix-input-frac={self.varmix_input_frac!r} with --mix-clean-frac="
                    f"{clean!r} leaves no row to decode: expected input_frac + clean_frac < 1"
                )
        if self.reg == "varmixup" and not self.vae_checkpoint:
            raise ValueError(
                "--reg varmixup needs --vae-checkpoint: expected the vae.pt written by "
                "python -m deep.vae --dataset " + self.dataset
            )
        _check_range(self, "epochs", 1, what="at least 1 epoch")
        _check_range(self, "batch_size", 1, what="a positive batch size")
        _check_range(self, "checkpoint_every", 1, what="a positive number of epochs")
        _check_range(self, "lr", 0.0, lo_open=True, what="a positive learning rate")
        _check_range(self, "momentum", 0.0, 1.0, hi_open=True, what="0 <= momentum < 1")
        _check_range(self, "weight_decay", 0.0, what="a non-negative weight decay")
        if any(not 0.0 < m < 1.0 for m in self.milestones) or list(self.milestones) != sorted(
            self.milestones
        ):
            raise ValueError(
                f"--milestones={','.join(map(str, self.milestones))} is not valid: expected "
                "increasing fractions of --epochs strictly between 0 and 1"
            )
        _check_range(self, "lr_gamma", 0.0, lo_open=True, what="a positive factor")
        _check_range(self, "warmup_epochs", 0.0, float(self.epochs),
                     what="a number of epochs between 0 and --epochs")
        _check_range(self, "crop_pad", 0, what="a non-negative padding in pixels")
        if self.nesterov and self.optimizer != "sgd":
            raise ValueError("--nesterov applies to --optimizer sgd only; got --optimizer "
                             + self.optimizer)

    def _validate_vit(self) -> None:
        for name in ("vit_patch", "vit_layers", "vit_heads"):
            _check_range(self, name, 1, what="a positive integer")
        _check_range(self, "vit_mlp_ratio", 0.0, lo_open=True, what="a positive multiple")
        spec = vit_spec(self.model, self.vit_patch, self.vit_layers, self.vit_heads,
                        self.vit_mlp_ratio)
        if spec is None:
            for name in VIT_FIELDS:
                if getattr(self, name) is not None:
                    raise ValueError(f"{flag(name)}={getattr(self, name)!r} applies to the vit "
                                     f"models only: expected no {flag(name)} with --model "
                                     f"{self.model}")
            return
        if spec.image_size % spec.patch_size:
            raise ValueError(f"--vit-patch={spec.patch_size} does not divide --model "
                             f"{self.model}'s reference side {spec.image_size}: expected a "
                             "divisor of it")
        width = self.width if self.width is not None else DEFAULT_WIDTH[self.model]
        if width % spec.num_heads:
            raise ValueError(f"--width={width} (the ViT hidden size) does not split into "
                             f"--vit-heads={spec.num_heads} heads: expected a multiple of "
                             f"{spec.num_heads}")
        if round(spec.mlp_ratio * width) < 1:
            raise ValueError(f"--vit-mlp-ratio={spec.mlp_ratio} with --width={width} gives an "
                             "empty MLP: expected ratio * width >= 1")

    def _default_run_name(self) -> str:
        return f"{self.dataset}-{self.model}-{self.reg}-seed{self.seed}"

    @staticmethod
    def upgrade_saved(saved: dict) -> dict:
        """A ``config.json`` dict written by older code, in today's form.

        Before ``--mix-clean-frac`` existed, runs recorded ``varmix_clean_frac`` (0.5 for
        every run, used by varmixup only) and mixed every row of mixup and cutmix batches:
        the clean fraction they trained with was ``varmix_clean_frac`` for varmixup, 0 for
        mixup and cutmix, and none for the rest. Before ``--deit-cutmix-alpha`` and
        ``--deit-switch-prob`` existed, ``--reg deit`` ran at DeiT's values (1.0, 0.5); before
        the ``--vit-*`` flags, a ViT had its model's sizes (:data:`VIT_SPECS`). A dict in
        today's form is returned unchanged.
        """
        reg = saved.get("reg")
        spec = vit_spec(saved.get("model", ""))
        if spec is not None and "vit_patch" not in saved:  # fixed per model name then
            saved = {**saved, "vit_patch": spec.patch_size, "vit_layers": spec.num_layers,
                     "vit_heads": spec.num_heads, "vit_mlp_ratio": spec.mlp_ratio}
        if reg == "deit" and "deit_cutmix_alpha" not in saved:  # fixed at DeiT's then
            saved = {**saved, "deit_cutmix_alpha": DEFAULT_DEIT_CUTMIX_ALPHA,
                     "deit_switch_prob": DEFAULT_DEIT_SWITCH_PROB}
        if "mix_clean_frac" in saved:
            return saved
        clean = (saved.get("varmix_clean_frac") if reg == "varmixup"
                 else 0.0 if reg in DEFAULT_MIX_CLEAN_FRAC else None)
        return {**saved, "mix_clean_frac": clean, "varmix_clean_frac": None}

    def _mix_clean_frac(self) -> float | None:
        """The clean fraction this config means: --mix-clean-frac, or its older name, or the
        regularizer's default; None for a --reg that does not mix."""
        if self.reg not in DEFAULT_MIX_CLEAN_FRAC:
            return None
        given = self.mix_clean_frac if self.mix_clean_frac is not None else self.varmix_clean_frac
        return given if given is not None else DEFAULT_MIX_CLEAN_FRAC[self.reg]

    def _resolve(self, device: str) -> dict[str, Any]:
        on_cuda = device.startswith("cuda")
        logit_alpha = self.logit_alpha if self.logit_alpha is not None else (
            DEFAULT_LOGIT_ALPHA if self.reg == "logit_penalty" else 0.0)
        spec = vit_spec(self.model, self.vit_patch, self.vit_layers, self.vit_heads,
                        self.vit_mlp_ratio)
        return dict(
            width=self.width if self.width is not None else DEFAULT_WIDTH[self.model],
            **(dict.fromkeys(VIT_FIELDS) if spec is None else dict(
                vit_patch=spec.patch_size, vit_layers=spec.num_layers,
                vit_heads=spec.num_heads, vit_mlp_ratio=spec.mlp_ratio)),
            ls_eps=self.ls_eps if self.ls_eps is not None else (
                DEFAULT_LS_EPS if self.reg in ("ls", "deit") else 0.0),
            mix_alpha=self.mix_alpha if self.mix_alpha is not None else (
                DEFAULT_DEIT_MIXUP_ALPHA if self.reg == "deit" else DEFAULT_MIX_ALPHA),
            deit_cutmix_alpha=None if self.reg != "deit" else (
                self.deit_cutmix_alpha if self.deit_cutmix_alpha is not None
                else DEFAULT_DEIT_CUTMIX_ALPHA),
            deit_switch_prob=None if self.reg != "deit" else (
                self.deit_switch_prob if self.deit_switch_prob is not None
                else DEFAULT_DEIT_SWITCH_PROB),
            logit_alpha=logit_alpha,
            # Without the penalty (alpha = 0) f does not enter the loss: record the default,
            # so that such runs form one setting whatever --logit-penalty said.
            logit_penalty=self.logit_penalty if logit_alpha > 0 else DEFAULT_LOGIT_PENALTY,
            lr=self.lr if self.lr is not None else DEFAULT_LR[self.optimizer],
            batch_size=self.batch_size if self.batch_size is not None else (
                DEFAULT_CUDA_BATCH_SIZE if on_cuda and self.dataset not in SMALL_DATASETS
                else DEFAULT_BATCH_SIZE),
            **_augmentation(self),
            precision=self.precision if self.precision != "auto" else (
                "bf16" if on_cuda else "fp32"),
            channels_last=self.channels_last if self.channels_last is not None else on_cuda,
            vae_checkpoint=self.vae_checkpoint if self.reg == "varmixup" else None,
            # The older name is folded into the one option: the record holds the value once.
            mix_clean_frac=self._mix_clean_frac(), varmix_clean_frac=None,
        )


@dataclass(frozen=True)
class VAEConfig(RunConfig):
    """A convolutional VAE for VarMixup (``python -m deep.vae``)."""

    command = "python -m deep.vae"

    latent_dim: int = _f(32, "latent size")
    beta: float = _f(1.0, "KL weight beta (1 = plain VAE)")
    width: int = _f(32, "encoder/decoder base channel width")
    epochs: int = _f(30, "training epochs")
    batch_size: int = _f(128, "batch size in images")
    lr: float = _f(1e-3, "Adam learning rate")
    augment: bool = _f(
        False, "train on the classifier's augmentations: python -m deep.train's random padded "
        "crops and flips, per batch, from the run's own augmentation stream"
    )
    crop_pad: int | None = _f(
        None, "with --augment: random-crop padding in pixels, 0 = off (default: as python -m "
        "deep.train, image side // 8, 0 for synthetic)"
    )
    hflip: bool | None = _f(
        None, "with --augment: random horizontal flips (default: as python -m deep.train, on "
        "for fashion-mnist, cifar10/100 only)"
    )

    def _validate(self) -> None:
        _check_range(self, "latent_dim", 1, what="a positive latent size")
        _check_range(self, "beta", 0.0, what="a non-negative KL weight")
        _check_range(self, "width", 1, what="a positive channel count")
        _check_range(self, "epochs", 1, what="at least 1 epoch")
        _check_range(self, "batch_size", 1, what="a positive batch size")
        _check_range(self, "lr", 0.0, lo_open=True, what="a positive learning rate")
        _check_range(self, "crop_pad", 0, what="a non-negative padding in pixels")
        for name in ("crop_pad", "hflip"):
            if not self.augment and getattr(self, name) is not None:
                raise ValueError(f"{flag(name)}={getattr(self, name)!r} applies with --augment "
                                 f"only: expected --augment, or no {flag(name)}")

    def _resolve(self, device: str) -> dict[str, Any]:
        # Without --augment both stay None (not applied), as in the records of older runs.
        return _augmentation(self) if self.augment else {}

    def _default_run_name(self) -> str:
        return f"vae-{self.dataset}-z{self.latent_dim}-seed{self.seed}"
