r"""Train a CNN with a soft-label regularizer: ``python -m deep.train``.

Example (CPU, about a minute)::

    python -m deep.train --dataset digits --model cnn --reg mixup --epochs 30 --seed 0

The run directory ``<out-dir>/<run-name>/`` holds ``config.json`` (resolved config, seeds,
git hash and dirty flag), ``metrics.jsonl`` (one line per epoch), ``checkpoint.pt`` (model,
optimizer, scheduler, every generator state and the epoch, rewritten atomically after each
epoch) and, at the end, ``results.json`` (test accuracy, ECE, overconfidence error, NLL,
mean confidence). ``--resume`` continues from the checkpoint exactly: on the CPU, E epochs
in one go and k epochs + resume + E-k epochs give bitwise-identical weights.

The step keeps everything on the device and never synchronises with the host: augmentation,
mixing, forward, backward and the metric sums all stay there; the sums are read once per
epoch. On CUDA it uses bf16 autocast and channels_last by default, and ``--compile``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from logitreg.io import provenance, save_json

from ._io import (
    TRAIN_CHECKPOINT,
    append_metrics,
    atomic_torch_save,
    check_loss,
    error_summary,
    load_checkpoint,
    machine_name,
    open_run_dir,
    read_config,
    restore_states,
)
from .calibration import calibration_metrics
from .config import TrainConfig, derive_seeds, run_cli
from .data import ImageData, augment, epoch_batches, load_dataset
from .losses import one_hot_smooth, resolve_logit_penalty, training_loss
from .mixing import Mixing, MixRNG, build_mixing
from .models import Classifier, build_model
from .vae import load_vae

__all__ = ["EXPLOSION_FACTOR", "TrainStep", "evaluate", "explosion_limit", "load_model",
           "lr_factor", "main", "train"]

CHECKPOINT_FORMAT = TRAIN_CHECKPOINT
CHECKPOINT_KEYS = ("epoch", "model", "optimizer", "scheduler", "rng")
SEED_STREAMS = ("init", "data", "augment", "mix_device", "mix_host")

# Divergence beyond NaN: an epoch whose mean training loss exceeds EXPLOSION_FACTOR * log K
# stops the run. log K is the loss of a uniform prediction, about where a freshly
# initialised model starts; the soft CE exceeds 1000 log K only when wrong logits lead by
# thousands (2,300 for K = 10): the weights have blown up. A run with --lr 50 on digits
# reaches 4.7e7 in its first epoch and, unstopped, would end at chance accuracy. Healthy
# runs stay far below (measured on digits, 30 epochs of --reg none, ls, mixup, cutmix and
# logit_penalty at the default lr: at most 2.26, in the first epoch, against a limit of
# 2303); a logit penalty adds alpha |z|^2, which at initialisation is O(K), also far below.
EXPLOSION_FACTOR = 1e3


def lr_factor(step: int, total_steps: int, schedule: str, milestones: tuple[float, ...],
              gamma: float) -> float:
    """Learning-rate multiplier after ``step`` optimizer steps (of ``total_steps``).

    cosine: ``(1 + cos(pi step / total)) / 2``; multistep: ``gamma ** (number of milestone
    fractions of total already passed)``; constant: 1.
    """
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / total_steps))
    if schedule == "multistep":
        return gamma ** sum(step >= round(m * total_steps) for m in milestones)
    return 1.0


def _autocast(device: torch.device, precision: str):
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


class TrainStep:
    """One optimisation step on a batch, entirely on the device (no host synchronisation).

    augment -> soft targets (label smoothing folded in) -> ``mixing`` -> forward under
    autocast -> (1 - alpha) soft CE + alpha f(z) -> backward -> optimizer and scheduler
    step -> add the loss and correct-count to device-side totals. :meth:`read` fetches the
    totals (one synchronisation) and resets them.

    ``logit_penalty`` is the ``--logit-penalty`` value; it is resolved to the core's penalty
    ``f`` once, here, not per step.

    The training accuracy counts ``argmax(logits) == argmax(soft target)``: the dominant
    label of a mixed sample.
    """

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                 scheduler: torch.optim.lr_scheduler.LRScheduler, mixing: Mixing, *,
                 num_classes: int, ls_eps: float, logit_alpha: float, crop_pad: int,
                 hflip: bool, precision: str, channels_last: bool,
                 aug_generator: torch.Generator, mix_rng: MixRNG,
                 logit_penalty: str = "quadratic") -> None:
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.mixing = mixing
        self.num_classes, self.ls_eps, self.logit_alpha = num_classes, ls_eps, logit_alpha
        self.penalty = resolve_logit_penalty(logit_penalty)
        self.crop_pad, self.hflip = crop_pad, hflip
        self.precision, self.channels_last = precision, channels_last
        self.aug_generator, self.mix_rng = aug_generator, mix_rng
        self.device = aug_generator.device
        self.totals = torch.zeros(2, device=self.device)  # loss * batch, correct
        self.images = 0

    def prepare(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Augment, build the soft targets (LS folded in) and mix: the model's inputs.

        Images (B, C, H, W) in [0, 1] and integer labels (B,) -> inputs (B, C, H, W) and soft
        targets (B, K). Together with :meth:`loss`, this is all the work that differs
        between regularizers (``bench/deep_throughput.py`` times it on its own).
        """
        x = augment(x, self.crop_pad, self.hflip, self.aug_generator)
        y_soft = one_hot_smooth(y, self.num_classes, self.ls_eps)  # (B, K)
        with _autocast(self.device, self.precision):
            x, y_soft = self.mixing(x, y_soft, self.mix_rng)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, y_soft

    def loss(self, logits: torch.Tensor, y_soft: torch.Tensor) -> torch.Tensor:
        """``(1 - alpha) soft CE + alpha mean f(z)`` of logits (B, K), shape ()."""
        return training_loss(logits, y_soft, self.logit_alpha, self.penalty)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """Train on images (B, C, H, W) in [0, 1] with integer labels (B,)."""
        x, y_soft = self.prepare(x, y)
        with _autocast(self.device, self.precision):
            logits = self.model(x)  # (B, K)
        loss = self.loss(logits, y_soft)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        with torch.no_grad():
            correct = (logits.argmax(1) == y_soft.argmax(1)).sum()
            self.totals += torch.stack([loss.detach() * len(x), correct.float()])
        self.images += len(x)

    def read(self) -> tuple[float, float]:
        """(mean loss, accuracy) since the last read; synchronises once, then resets."""
        loss_sum, correct = self.totals.tolist()
        n = max(self.images, 1)
        self.totals.zero_()
        self.images = 0
        return loss_sum / n, correct / n


@torch.no_grad()
def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, *, precision: str = "fp32",
             channels_last: bool = False, batch_size: int = 1024) -> dict[str, float]:
    """Accuracy, ECE and overconfidence error (15 bins), NLL and mean max-softmax confidence
    of ``model`` on images (N, C, H, W) with labels (N,).

    The logits stay on the device; the five numbers are fetched with one synchronisation.
    Mean confidence below accuracy means under-confidence (which ECE counts and OE does not).
    """
    was_training = model.training
    model.eval()
    logits = []
    for xb in x.split(batch_size):
        if channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
        with _autocast(x.device, precision):
            logits.append(model(xb).float())
    model.train(was_training)
    z = torch.cat(logits)  # (N, K)
    cal = calibration_metrics(z, y, n_bins=15)
    stats = torch.stack([(z.argmax(1) == y).float().mean(), cal["ece"], cal["oe"],
                         F.cross_entropy(z, y), cal["confidence"]]).tolist()
    return dict(zip(("acc", "ece", "oe", "nll", "confidence"), stats, strict=True))


def explosion_limit(num_classes: int) -> tuple[float, str]:
    """The mean training loss above which a run counts as diverged, and its description:
    ``EXPLOSION_FACTOR * log K`` (see the comment at :data:`EXPLOSION_FACTOR`)."""
    limit = EXPLOSION_FACTOR * math.log(num_classes)
    return limit, (f"{EXPLOSION_FACTOR:g} log K = {limit:.4g} (K = {num_classes}; log K is the "
                   "loss of a uniform prediction)")


def _check_vae(cfg: TrainConfig, meta: dict, data: ImageData) -> None:
    trained_on = meta["data"]["dataset"]
    shape = tuple(meta["arch"]["image_shape"])
    if trained_on != cfg.dataset or shape != data.image_shape:
        raise ValueError(
            f"--vae-checkpoint={cfg.vae_checkpoint} was trained on {trained_on} images of shape "
            f"{'x'.join(map(str, shape))}, but this run uses {cfg.dataset} images of shape "
            f"{'x'.join(map(str, data.image_shape))}: expected a VAE trained by "
            f"python -m deep.vae with the same --dataset and image options"
        )


def _optimizer(cfg: TrainConfig, model: torch.nn.Module, total_steps: int):
    """SGD (momentum, optional Nesterov) or AdamW, with a per-step LambdaLR schedule."""
    if cfg.optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                              nesterov=cfg.nesterov, weight_decay=cfg.weight_decay)
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(cfg.momentum, 0.999),
                                weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: lr_factor(s, total_steps, cfg.schedule, cfg.milestones, cfg.lr_gamma))
    return opt, sched


@dataclasses.dataclass
class _Generators:
    """Every random stream of a run after initialisation; their states go in the checkpoint."""

    data: torch.Generator  # epoch shuffling
    augment: torch.Generator  # crops and flips
    mix: MixRNG  # mixing parameters (host scalars, device permutations and noise)

    @classmethod
    def from_seeds(cls, seeds: dict[str, int], device: torch.device) -> _Generators:
        return cls(torch.Generator(device).manual_seed(seeds["data"]),
                   torch.Generator(device).manual_seed(seeds["augment"]),
                   MixRNG(np.random.default_rng(seeds["mix_host"]),
                          torch.Generator(device).manual_seed(seeds["mix_device"])))

    def state(self) -> dict:
        return {"data": self.data.get_state(), "augment": self.augment.get_state(),
                "mix_device": self.mix.device.get_state(),
                "mix_host": self.mix.host.bit_generator.state}

    def load_state(self, state: dict) -> None:
        self.data.set_state(state["data"])
        self.augment.set_state(state["augment"])
        self.mix.device.set_state(state["mix_device"])
        self.mix.host.bit_generator.state = state["mix_host"]


def train(cfg: TrainConfig, data: ImageData | None = None) -> dict:
    """Run (or resume) training for ``cfg``; returns the final metrics and the run directory.

    Parameters
    ----------
    cfg : TrainConfig
    data : ImageData, optional
        Pre-loaded data (it must match ``cfg``'s data options); loaded from ``cfg`` if None.

    Raises
    ------
    ValueError, FileNotFoundError
        Bad or missing inputs: data files, VAE checkpoint, run directory; the message names
        the flag.
    """
    from tqdm.auto import tqdm

    cfg = cfg.resolved(torch.cuda.is_available())
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = torch.device(cfg.device)
    vae, vae_meta = (load_vae(cfg.vae_checkpoint, device) if cfg.reg == "varmixup"
                     else (None, None))
    run, ckpt = open_run_dir(cfg, CHECKPOINT_FORMAT, CHECKPOINT_KEYS)
    data = (data if data is not None else load_dataset(cfg, device)).to(device)
    if vae is not None:
        _check_vae(cfg, vae_meta, data)
    n_train = len(data.x_train)
    if n_train < cfg.batch_size:
        raise ValueError(f"--batch-size={cfg.batch_size} exceeds the {n_train} training images "
                         f"of {cfg.dataset}: expected at most {n_train}")

    seeds = derive_seeds(cfg.seed, SEED_STREAMS)
    torch.manual_seed(seeds["init"])
    model = build_model(cfg.model, data.image_shape[0], data.num_classes, data.mean, data.std,
                        cfg.width, cfg.feature_dim).to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
        if vae is not None:
            vae = vae.to(memory_format=torch.channels_last)
    steps_per_epoch = n_train // cfg.batch_size
    opt, sched = _optimizer(cfg, model, cfg.epochs * steps_per_epoch)
    rngs = _Generators.from_seeds(seeds, device)
    mixing = build_mixing(cfg.reg, alpha=cfg.mix_alpha, prob=cfg.mix_prob, vae=vae,
                          latent=cfg.varmix_latent, clean_frac=cfg.varmix_clean_frac)

    start = 0
    if ckpt is not None:
        def load() -> int:
            model.load_state_dict(ckpt["model"])
            opt.load_state_dict(ckpt["optimizer"])
            sched.load_state_dict(ckpt["scheduler"])
            rngs.load_state(ckpt["rng"])
            return ckpt["epoch"]

        start = restore_states(load, run / "checkpoint.pt", cfg.epochs, cfg.command)
        append_metrics(run / "metrics.jsonl", {}, keep_epochs=start)
    else:
        (run / "metrics.jsonl").unlink(missing_ok=True)
        save_json(run / "config.json", {
            "config": dataclasses.asdict(cfg), "seeds": seeds, **provenance(),
            "torch": torch.__version__, "machine": machine_name(device),
            "argv": sys.argv, "data": {"train": n_train, "val": len(data.x_val),
                                       "test": len(data.x_test)},
        })

    net = torch.compile(model) if cfg.compile else model
    step = TrainStep(net, opt, sched, mixing, num_classes=data.num_classes, ls_eps=cfg.ls_eps,
                     logit_alpha=cfg.logit_alpha, logit_penalty=cfg.logit_penalty,
                     crop_pad=cfg.crop_pad, hflip=cfg.hflip, precision=cfg.precision,
                     channels_last=cfg.channels_last, aug_generator=rngs.augment,
                     mix_rng=rngs.mix)
    evaluate_kw = dict(precision=cfg.precision, channels_last=cfg.channels_last)
    stop = min(cfg.epochs, cfg.stop_after or cfg.epochs)
    explosion = explosion_limit(data.num_classes)
    # One tick per step (host-side only: it never waits for the device); the loss and
    # accuracy shown are those of the last finished epoch. The context closes the bar also
    # on an interrupt or an error, so that the command's error line comes last.
    with tqdm(total=cfg.epochs * steps_per_epoch, initial=start * steps_per_epoch,
              unit="step", disable=not cfg.progress, desc=cfg.run_name, file=sys.stderr) as bar:
        for epoch in range(start, stop):
            t0 = time.perf_counter()
            model.train()
            for idx in epoch_batches(n_train, cfg.batch_size, rngs.data):
                step(data.x_train[idx], data.y_train[idx])
                bar.update()
            train_loss, train_acc = step.read()  # the one synchronisation of the epoch
            check_loss(train_loss, epoch + 1, run, cfg.lr, *explosion)
            seconds = time.perf_counter() - t0
            record = {"epoch": epoch + 1, "lr": sched.get_last_lr()[0], "train_loss": train_loss,
                      "train_acc": train_acc, "epoch_time_s": seconds,
                      "train_images_per_s": steps_per_epoch * cfg.batch_size / seconds}
            if len(data.x_val):
                record.update({f"val_{k}": v for k, v in
                               evaluate(net, data.x_val, data.y_val, **evaluate_kw).items()})
            append_metrics(run / "metrics.jsonl", record)
            atomic_torch_save(run / "checkpoint.pt", {
                "format": CHECKPOINT_FORMAT, "epoch": epoch + 1, "model": model.state_dict(),
                "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                "rng": rngs.state(),
            })
            shown = ("train_loss", "train_acc", "val_acc")
            bar.set_postfix({"epoch": epoch + 1,
                             **{k: f"{v:.3f}" for k, v in record.items() if k in shown}})

    out = {"run_dir": str(run), "epochs_done": stop, "finished": stop == cfg.epochs}
    if stop < cfg.epochs:
        return out
    test = evaluate(net, data.x_test, data.y_test, **evaluate_kw)
    results = {f"test_{k}": v for k, v in test.items()}
    results.update(n_test=len(data.x_test), epochs=cfg.epochs)
    save_json(run / "results.json", results)
    return {**out, **results}


def load_model(run_dir: str | Path, device: torch.device | str = "cpu") -> Classifier:
    """Rebuild the model of a run directory from its ``config.json`` and ``checkpoint.pt``
    (eval mode), e.g. to read ``features(x)`` for representation analysis.

    Raises ``ValueError`` naming the file if either is garbled or another command's."""
    run = Path(run_dir)
    saved = read_config(run, TrainConfig)
    path = run / "checkpoint.pt"
    ckpt = load_checkpoint(path, CHECKPOINT_FORMAT, CHECKPOINT_KEYS, label=str(path),
                           expected="the checkpoint.pt of a python -m deep.train run")
    try:
        state = ckpt["model"]
        channels = state["mean"].shape[1]
        model = build_model(saved["model"], channels, state["head.weight"].shape[0],
                            torch.zeros(channels), torch.ones(channels), saved["width"],
                            saved["feature_dim"])
        model.load_state_dict(state)
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError) as e:
        raise ValueError(f"{path} does not fit {run / 'config.json'} ({error_summary(e)}): "
                         "expected the files of one python -m deep.train run") from e
    return model.to(device).eval()


def main(argv: list[str] | None = None) -> dict:
    """``python -m deep.train``: parse, train, print test accuracy and ECE.

    Returns the run's results; a failure prints one line on stderr and raises
    ``SystemExit`` (2 bad input or file, 1 divergence, 130 interrupt with the resume
    command; see :func:`deep.config.run_cli`).
    """
    return run_cli(TrainConfig, "Train a CNN with a soft-label regularizer (deep/train.py).",
                   _train_and_report, argv)


def _train_and_report(cfg: TrainConfig) -> dict:
    out = train(cfg)
    if out["finished"]:
        print(f"{Path(out['run_dir']).name}: test accuracy {out['test_acc']:.4f}  "
              f"ECE {out['test_ece']:.4f}  NLL {out['test_nll']:.4f}  "
              f"(n = {out['n_test']}, run directory {out['run_dir']})")
    else:
        print(f"stopped after epoch {out['epochs_done']}: continue with --resume "
              f"(run directory {out['run_dir']})")
    return out


if __name__ == "__main__":
    main()
