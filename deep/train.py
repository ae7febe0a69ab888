r"""Train a CNN with a soft-label regularizer: ``python -m deep.train``.

Example (CPU, about a minute)::

    python -m deep.train --dataset digits --model cnn --reg mixup --epochs 30 --seed 0

The run directory ``<out-dir>/<run-name>/`` holds ``config.json`` (resolved config, seeds,
git hash and dirty flag), ``metrics.jsonl`` (one line per epoch), ``checkpoint.pt`` (model,
optimizer, scheduler, every generator state and the epoch; rewritten atomically every
``--checkpoint-every`` epochs, after the last one, and with the last finished epoch when a
run stops on an interrupt or divergence) and, at the end, ``results.json`` (test accuracy,
ECE, overconfidence error, NLL, mean confidence). ``--resume`` continues from the checkpoint
exactly: on the CPU, E epochs in one go and k epochs + resume + E-k epochs give
bitwise-identical weights.

The step keeps everything on the device and never synchronises with the host: augmentation,
mixing, forward, backward and the metric sums all stay there; the sums are read once per
epoch. On CUDA it uses bf16 autocast, channels_last and cuDNN autotuning by default, and
``--compile`` (CUDA graphs by default: every training batch has one shape, and evaluation
batches are padded to it). ``--deterministic`` makes CUDA runs bitwise reproducible.

``torchrun --nproc-per-node N -m deep.train ...`` runs the same command data-parallel
(DistributedDataParallel) on N processes, one GPU each: every process keeps on its device
only its shard of the data (training rows ``i % N == rank``; its share of the validation and
test rows), assembles every global batch of ``--batch-size`` images by an all-gather of the
rows each process owns, prepares all of it from the same generators, then trains on its
``--batch-size / N`` rows, with batch norm over the global batch and gradients averaged;
the result equals one process's up to the rounding of the sums across processes.
Evaluation is shared out too. Rank 0 alone writes the run directory, and ``--resume``
continues on every process, for any N, from the one checkpoint (:mod:`deep._dist`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from logitreg.io import provenance, save_json

from ._dist import ShardedRows, World, data_parallel, join_process_group, sync_batchnorm
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
from .cli import run_cli
from .config import TrainConfig, derive_seeds, vit_spec
from .data import ImageData, augment, epoch_batches, load_dataset
from .losses import one_hot_smooth, resolve_logit_penalty, training_loss
from .mixing import Mixing, MixRNG, build_mixing
from .models import Classifier, build_model
from .vae import load_vae

__all__ = ["EXPLOSION_FACTOR", "TrainStep", "backend_settings", "evaluate", "explosion_limit",
           "load_model", "lr_factor", "main", "train"]

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
              gamma: float, warmup_steps: int = 0) -> float:
    """Learning-rate multiplier after ``step`` optimizer steps (of ``total_steps``).

    cosine: ``(1 + cos(pi step / total)) / 2``; multistep: ``gamma ** (number of milestone
    fractions of total already passed)``; constant: 1. A warm-up of ``warmup_steps``
    multiplies it by ``(step + 1) / warmup_steps`` while that is below 1 (the first step
    runs at 1/W of the rate). The schedule still counts from step 0, as timm's schedulers
    without a warm-up prefix; timm replaces the rate by the ramp during the warm-up where
    this multiplies, which differs by the cosine's decay over the warm-up (under 0.1 % for
    DeiT's 5 of 300 epochs).
    """
    ramp = min(1.0, (step + 1) / warmup_steps) if warmup_steps > 0 else 1.0
    if schedule == "cosine":
        return ramp * 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / total_steps))
    if schedule == "multistep":
        return ramp * gamma ** sum(step >= round(m * total_steps) for m in milestones)
    return ramp


# cuBLAS's deterministic workspace setting (":16:8" is the other one; a value already set in
# the environment is kept). cuBLAS reads it when it first sets up a workspace, and
# torch.use_deterministic_algorithms refuses cuBLAS calls without it.
CUBLAS_WORKSPACE = ("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def _autocast(device: torch.device, precision: str):
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _uses_cudagraphs(cfg: TrainConfig) -> bool:
    """Whether ``--compile`` captures CUDA graphs: then each step and each evaluation batch
    must start a new graph replay (``torch.compiler.cudagraph_mark_step_begin``)."""
    return (cfg.compile and cfg.device.startswith("cuda")
            and cfg.compile_mode in ("reduce-overhead", "max-autotune"))


@contextlib.contextmanager
def backend_settings(device: torch.device | str, deterministic: bool = False):
    """The process-wide backend flags of a run; every flag is restored on exit.

    On CUDA, cuDNN autotunes its convolution algorithms (``cudnn.benchmark``): a run has
    fixed shapes (every training batch, and every evaluation batch, padded, has the same
    size), so each shape is tuned once, in the first steps. Autotuning picks by timing, so
    the bits of the results may change from run to run.

    ``deterministic`` (``--deterministic``): ``torch.use_deterministic_algorithms(True)``,
    ``cudnn.deterministic``, no autotuning, and ``CUBLAS_WORKSPACE_CONFIG=:4096:8``, set
    before the first cuBLAS call of the run (unless the environment already sets it), so that
    a CUDA run repeats bit for bit on the same GPU and software. On the CPU the kernels used
    here are deterministic already (for a given thread count); the flag changes nothing there.
    """
    cudnn = torch.backends.cudnn
    name, value = CUBLAS_WORKSPACE
    saved = (cudnn.benchmark, cudnn.deterministic, torch.are_deterministic_algorithms_enabled(),
             torch.is_deterministic_algorithms_warn_only_enabled(), os.environ.get(name))
    try:
        if deterministic:
            os.environ.setdefault(name, value)
            torch.use_deterministic_algorithms(True)
            cudnn.deterministic, cudnn.benchmark = True, False
        elif torch.device(device).type == "cuda":
            cudnn.benchmark = True
        yield
    finally:
        cudnn.benchmark, cudnn.deterministic = saved[0], saved[1]
        torch.use_deterministic_algorithms(saved[2], warn_only=saved[3])
        if saved[4] is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = saved[4]


class TrainStep:
    """One optimisation step on a batch, entirely on the device (no host synchronisation).

    augment -> soft targets (label smoothing folded in) -> ``mixing`` -> forward under
    autocast -> (1 - alpha) soft CE + alpha f(z) -> backward -> optimizer and scheduler
    step -> add the loss and correct-count to device-side totals. :meth:`read` fetches the
    totals (one synchronisation) and resets them.

    ``logit_penalty`` is the ``--logit-penalty`` value; it is resolved to the core's penalty
    ``f`` once, here, not per step. ``cudagraphs``: the model is compiled with CUDA graphs,
    so each step marks the start of a new replay. ``world`` (under torchrun; see
    :mod:`deep._dist`): every process is given (:meth:`deep._dist.ShardedRows.batches`)
    and prepares the whole global batch, then trains ``model`` (wrapped in DDP) on its rows
    only; :meth:`read` sums over processes.

    The training accuracy counts ``argmax(logits) == argmax(soft target)``: the dominant
    label of a mixed sample.
    """

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                 scheduler: torch.optim.lr_scheduler.LRScheduler, mixing: Mixing, *,
                 num_classes: int, ls_eps: float, logit_alpha: float, crop_pad: int,
                 hflip: bool, precision: str, channels_last: bool,
                 aug_generator: torch.Generator, mix_rng: MixRNG,
                 logit_penalty: str = "quadratic", cudagraphs: bool = False,
                 world: World | None = None) -> None:
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.mixing = mixing
        self.num_classes, self.ls_eps, self.logit_alpha = num_classes, ls_eps, logit_alpha
        self.penalty = resolve_logit_penalty(logit_penalty)
        self.crop_pad, self.hflip = crop_pad, hflip
        self.precision, self.channels_last = precision, channels_last
        self.aug_generator, self.mix_rng = aug_generator, mix_rng
        self.cudagraphs = cudagraphs
        self.world = world if world is not None else World()
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
        if self.world.distributed:
            # This process's rows of the global batch. Every process prepared all of it from
            # the same generators (the same crops, lam and partners), so the rows are those a
            # single process would train on; forward and backward are what is shared out.
            rows = self.world.rows(len(x))
            x, y_soft = x[rows], y_soft[rows]
        if self.cudagraphs:
            torch.compiler.cudagraph_mark_step_begin()
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
        """(mean loss, accuracy) since the last read, over every process's rows;
        synchronises once (under torchrun after summing over the processes), then resets."""
        loss_sum, correct = self.world.all_sum(self.totals).tolist()
        n = max(self.images * self.world.size, 1)
        self.totals.zero_()
        self.images = 0
        return loss_sum / n, correct / n


@torch.no_grad()
def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, *, precision: str = "fp32",
             channels_last: bool = False, batch_size: int = 1024, pad: bool = True,
             cudagraphs: bool = False, world: World | None = None, n: int | None = None
             ) -> dict[str, float]:
    """Accuracy, ECE, MCE and overconfidence error (15 bins), NLL, Brier score and mean
    max-softmax confidence (:func:`deep.calibration.calibration_metrics`) of ``model`` on
    images (N, C, H, W) with labels (N,), in batches of ``batch_size``.

    With ``pad`` every batch has ``batch_size`` images: the last one is filled up with zero
    images, whose logits are dropped before any metric is computed. A compiled model then
    sees one shape (training uses ``batch_size`` too), so evaluation compiles one graph, once,
    and never a dynamic-shape one. In eval mode each image's logits do not depend on the
    rest of its batch, so the results equal those without padding (a test checks it bitwise
    on the CPU). ``cudagraphs``: the model is compiled with CUDA graphs (each batch starts a
    replay, and its logits are copied out of the graph's reused output buffer). ``world``
    (under torchrun): each process evaluates its ``ceil(N / size)`` rows
    (:meth:`deep._dist.World.share`; the last shares padded with zero images), the logits
    are gathered, and every process gets the metrics. ``n``: ``x`` and ``y`` are this
    process's share only (rows ``world.share(n)`` of ``n``: a process that holds just its
    shard), and the labels are gathered too; None: they are all ``N`` rows.

    The logits stay on the device; the seven numbers are fetched with one synchronisation.
    Mean confidence below accuracy means under-confidence (which ECE counts and OE does not).
    """
    world = world if world is not None else World()
    total = len(x) if n is None else n
    rows, share = world.share(total)
    if n is None:
        own = x[rows]
    else:
        own = x
        if len(own) != rows.stop - rows.start or len(y) != len(own):
            raise ValueError(
                f"evaluate(n={n}) on process {world.rank} of {world.size} was given "
                f"{len(x)} images and {len(y)} labels: expected this process's "
                f"{rows.stop - rows.start} rows of the {n} (World.share)")
        if world.distributed:  # the labels of every process's rows, in order
            labels = torch.cat([y, y.new_zeros(share - len(y))]) if len(y) < share else y
            y = world.gather_rows(labels, n)
    if len(own) < share:  # every process gathers a share of the same length
        own = torch.cat([own, x.new_zeros((share - len(own), *x.shape[1:]))])
    was_training = model.training
    model.eval()
    logits = []
    for xb in own.split(batch_size):
        real = len(xb)
        if pad and real < batch_size:
            xb = torch.cat([xb, xb.new_zeros((batch_size - real, *xb.shape[1:]))])
        if channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
        if cudagraphs:
            torch.compiler.cudagraph_mark_step_begin()
        with _autocast(x.device, precision):
            out = model(xb)  # (batch_size, K)
        logits.append(out[:real].to(torch.float32, copy=True))  # the real images only
    model.train(was_training)
    z = world.gather_rows(torch.cat(logits), total)  # (N, K)
    cal = calibration_metrics(z, y, n_bins=15)
    names = ("acc", "ece", "mce", "oe", "nll", "brier", "confidence")
    stats = torch.stack([(z.argmax(1) == y).float().mean()] + [cal[k] for k in names[1:]])
    return dict(zip(names, stats.tolist(), strict=True))


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


# Parameters that --no-decay-norm-bias exempts besides every 1-d one (biases, norm weights):
# a ViT's class token and position embeddings (timm's no_weight_decay() for DeiT).
NO_DECAY_NAMES = ("class_token", "pos_embedding")


def _param_groups(cfg: TrainConfig, model: torch.nn.Module):
    """All parameters, or (``--no-decay-norm-bias``) two groups, the second without decay."""
    if cfg.decay_norm_bias:
        return model.parameters()
    decay, exempt = [], []
    for name, p in model.named_parameters():
        (exempt if p.ndim <= 1 or name.endswith(NO_DECAY_NAMES) else decay).append(p)
    return [{"params": decay}, {"params": exempt, "weight_decay": 0.0}]


def _optimizer(cfg: TrainConfig, model: torch.nn.Module, total_steps: int,
               steps_per_epoch: int):
    """SGD (momentum, optional Nesterov) or AdamW, with a per-step LambdaLR schedule (and
    ``--warmup-epochs`` of linear warm-up)."""
    params = _param_groups(cfg, model)
    if cfg.optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum,
                              nesterov=cfg.nesterov, weight_decay=cfg.weight_decay)
    else:
        opt = torch.optim.AdamW(params, lr=cfg.lr, betas=(cfg.momentum, 0.999),
                                weight_decay=cfg.weight_decay)
    warmup = round(cfg.warmup_epochs * steps_per_epoch)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: lr_factor(s, total_steps, cfg.schedule, cfg.milestones, cfg.lr_gamma,
                                 warmup))
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


def _copy_state(obj, copy: Callable[[torch.Tensor], torch.Tensor]):
    """``obj`` (nested dicts, lists and tuples of tensors and plain values) with every tensor
    replaced by ``copy(tensor)`` and every container rebuilt, so that nothing is shared with
    the live training state."""
    if isinstance(obj, torch.Tensor):
        return copy(obj)
    if isinstance(obj, dict):
        return {k: _copy_state(v, copy) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_copy_state(v, copy) for v in obj)
    return obj


class _Checkpointer:
    """``checkpoint.pt``, holding the last finished epoch whenever a run stops.

    The simplest design that keeps that promise with ``--checkpoint-every N > 1``: after every
    epoch, :meth:`capture` copies the state (weights, optimizer, scheduler, generators) on the
    device, where a copy is cheap (ResNet-18 with SGD momentum: about 90 MB in 180 tensors,
    a device-to-device copy) and must be made, since the next step changes the live tensors
    (``bench/deep_throughput.py --epoch`` measures the whole cost). Every N epochs
    and at the last epoch of the invocation, that copy is written: moved to host memory
    (pinned, non-blocking on CUDA, so the training stream is not stalled) and saved
    atomically by a background thread while training goes on, one write at a time.
    :meth:`flush` writes a captured epoch that is not on disk yet and waits for it; ``train``
    calls it at the end and when the run stops on any exception (an interrupt, divergence),
    so an interrupt mid-epoch leaves the checkpoint of the last finished epoch. Only a hard
    kill (``kill -9``, power loss) can lose up to N - 1 epochs; ``--resume`` then drops their
    metric lines, as it does for any epoch past the checkpoint.
    """

    def __init__(self, path: Path, every: int, device: torch.device) -> None:
        self.path, self.every, self.device = path, every, device
        self.state: dict | None = None  # the last finished epoch's state, on the device
        self.written = 0  # the epoch on disk (set by the writer thread once it is there)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def capture(self, state: dict, last: bool) -> None:
        """Keep ``state`` (with its ``"epoch"``) and write it if its epoch is due or ``last``."""
        self.state = _copy_state(state, torch.clone)
        if state["epoch"] % self.every == 0 or last:
            self._write()

    def _write(self) -> None:
        self.wait()
        if self.state is None or self.state["epoch"] == self.written:
            return
        host = _copy_state(self.state, lambda t: t.to("cpu", non_blocking=True))
        done = None
        if self.device.type == "cuda":
            done = torch.cuda.Event()
            # The host copies are complete when the stream reaches this event.
            done.record(torch.cuda.current_stream(self.device))
        self._thread = threading.Thread(target=self._save, args=(host, done),
                                        name="deep.train checkpoint")
        self._thread.start()

    def _save(self, state: dict, done: torch.cuda.Event | None) -> None:
        try:
            if done is not None:
                done.synchronize()
            atomic_torch_save(self.path, state)
            self.written = state["epoch"]
        except BaseException as e:  # re-raised in the training thread by wait()
            self._error = e

    def wait(self) -> None:
        """Wait for a running write; raise its error, if it failed."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            err, self._error = self._error, None
            raise err

    def flush(self) -> None:
        """Write the last captured epoch if it is not on disk yet, and wait for it."""
        self._write()
        self.wait()


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

    Notes
    -----
    Started by ``torchrun`` (``WORLD_SIZE`` > 1 in the environment), each process joins the
    process group (``--dist-backend``) and trains data-parallel on its share of each global
    batch of ``--batch-size`` images, which must split evenly; rank 0 alone writes the run
    directory (:mod:`deep._dist`; docs/deep.md, "Multi-GPU and multi-node").
    """
    cfg = cfg.resolved(torch.cuda.is_available())
    world = World.detect()
    device = world.device(cfg.device)  # cuda:LOCAL_RANK under torchrun
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    with backend_settings(cfg.device, cfg.deterministic):  # before the first CUDA kernel
        join_process_group(world, cfg.dist_backend, device)
        return _train(cfg, data, world, device)


def _train(cfg: TrainConfig, data: ImageData | None, world: World, device: torch.device
           ) -> dict:
    """:func:`train` for a resolved ``cfg``, under its backend settings, as process ``world``
    on ``device``."""
    from tqdm.auto import tqdm

    vae, vae_meta = (load_vae(cfg.vae_checkpoint, device) if cfg.reg == "varmixup"
                     else (None, None))
    run, ckpt = open_run_dir(cfg, CHECKPOINT_FORMAT, CHECKPOINT_KEYS)  # on every process
    if data is None:
        with world.main_first(cfg.download):  # one download into a shared --data-root
            # Under torchrun into host memory: each process moves only its shard.
            data = load_dataset(cfg, "cpu" if world.distributed else device)
    if vae is not None:
        _check_vae(cfg, vae_meta, data)
    n_train, n_val, n_test = len(data.x_train), len(data.x_val), len(data.x_test)
    if n_train < cfg.batch_size:
        raise ValueError(f"--batch-size={cfg.batch_size} exceeds the {n_train} training images "
                         f"of {cfg.dataset}: expected at most {n_train}")
    if cfg.batch_size % world.size:
        raise ValueError(f"--batch-size={cfg.batch_size} does not split evenly over the "
                         f"{world.size} processes of torchrun: expected a multiple of "
                         f"{world.size} (the batch is global: each process trains on "
                         f"batch-size / {world.size} images of it)")
    # What this process keeps on its device: one process, all of it (data.to(device));
    # under torchrun its training shard (rows i % N == rank) and its share of the
    # validation and test rows, the rows it evaluates (deep._dist). Then the whole set in
    # host memory is dropped (unless the caller holds it).
    train_set = ShardedRows((data.x_train, data.y_train), world, device)
    held = {split: tuple(world.hold(t, world.share(len(t))[0], device) for t in tensors)
            for split, tensors in (("val", (data.x_val, data.y_val)),
                                   ("test", (data.x_test, data.y_test)))}
    num_classes, image_shape = data.num_classes, data.image_shape
    mean, std = data.mean.to(device), data.std.to(device)
    del data
    data_bytes = train_set.nbytes() + sum(t.untyped_storage().nbytes()
                                          for pair in held.values() for t in pair)

    seeds = derive_seeds(cfg.seed, SEED_STREAMS)
    torch.manual_seed(seeds["init"])
    model = build_model(cfg.model, image_shape[0], num_classes, mean, std, cfg.width,
                        cfg.feature_dim, vit_spec=_vit_spec(vars(cfg))).to(device)
    if world.distributed:  # batch norm over the global batch; before the optimizer sees it
        model = sync_batchnorm(model, device, compiled=cfg.compile)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
        if vae is not None:
            vae = vae.to(memory_format=torch.channels_last)
    steps_per_epoch = n_train // cfg.batch_size
    opt, sched = _optimizer(cfg, model, cfg.epochs * steps_per_epoch, steps_per_epoch)
    rngs = _Generators.from_seeds(seeds, device)
    deit = ({"cutmix_alpha": cfg.deit_cutmix_alpha, "switch_prob": cfg.deit_switch_prob}
            if cfg.reg == "deit" else {})
    mixing = build_mixing(cfg.reg, alpha=cfg.mix_alpha, prob=cfg.mix_prob, vae=vae,
                          latent=cfg.varmix_latent, clean_frac=cfg.mix_clean_frac,
                          residual=cfg.varmix_residual, input_frac=cfg.varmix_input_frac, **deit)

    start = 0
    if ckpt is not None:
        def load() -> int:
            model.load_state_dict(ckpt["model"])
            opt.load_state_dict(ckpt["optimizer"])
            sched.load_state_dict(ckpt["scheduler"])
            rngs.load_state(ckpt["rng"])
            return ckpt["epoch"]

        # Every process loads the checkpoint: the generators are the same on all of them.
        start = restore_states(load, run / "checkpoint.pt", cfg.epochs, cfg.command)
    # Every process has checked the run directory (and read its checkpoint) before rank 0
    # writes into it; rank 0 alone writes the run's files. The bytes of data each process
    # holds on its device (storage sizes; summed into rank order) go in config.json.
    if world.distributed:
        per_process = torch.zeros(world.size, dtype=torch.int64, device=device)
        per_process[world.rank] = data_bytes
        per_process = world.all_sum(per_process).tolist()
    world.barrier()
    if world.main and ckpt is not None:
        append_metrics(run / "metrics.jsonl", {}, keep_epochs=start)
    elif world.main:
        (run / "metrics.jsonl").unlink(missing_ok=True)
        processes = ({"distributed": {"world_size": world.size, "backend": world.backend(),
                                      "data_bytes_on_device": per_process}}
                     if world.distributed else {})
        save_json(run / "config.json", {
            "config": dataclasses.asdict(cfg), "seeds": seeds, **provenance(),
            "torch": torch.__version__, "machine": machine_name(device), **processes,
            "argv": sys.argv, "data": {"train": n_train, "val": n_val, "test": n_test},
        })

    net = torch.compile(model, mode=cfg.compile_mode) if cfg.compile else model
    cudagraphs = _uses_cudagraphs(cfg)
    step = TrainStep(data_parallel(net, device) if world.distributed else net, opt, sched,
                     mixing, num_classes=num_classes, ls_eps=cfg.ls_eps,
                     logit_alpha=cfg.logit_alpha, logit_penalty=cfg.logit_penalty,
                     crop_pad=cfg.crop_pad, hflip=cfg.hflip, precision=cfg.precision,
                     channels_last=cfg.channels_last, aug_generator=rngs.augment,
                     mix_rng=rngs.mix, cudagraphs=cudagraphs, world=world)
    # Evaluation batches have the training batch's shape (the last one padded), so that a
    # compiled model compiles one evaluation graph, in the first epoch, and nothing after it.
    # Under torchrun each process evaluates its share of the rows with the plain model (no
    # DDP: evaluation needs no gradients) and the logits are gathered.
    evaluate_kw = dict(precision=cfg.precision, channels_last=cfg.channels_last,
                       batch_size=cfg.batch_size // world.size, cudagraphs=cudagraphs,
                       world=world)
    n_eval = {"val": n_val, "test": n_test}

    def evaluate_split(split: str) -> dict[str, float]:  # the rows this process holds
        return evaluate(net, *held[split], n=n_eval[split], **evaluate_kw)

    stop = min(cfg.epochs, cfg.stop_after or cfg.epochs)
    explosion = explosion_limit(num_classes)
    checkpoints = _Checkpointer(run / "checkpoint.pt", cfg.checkpoint_every, device)
    test = None
    try:
        # One tick per step (host-side only: it never waits for the device); the loss and
        # accuracy shown are those of the last finished epoch. The context closes the bar
        # also on an interrupt or an error, so that the command's error line comes last.
        with tqdm(total=cfg.epochs * steps_per_epoch, initial=start * steps_per_epoch,
                  unit="step", disable=not (cfg.progress and world.main), desc=cfg.run_name,
                  file=sys.stderr) as bar:
            for epoch in range(start, stop):
                t0 = time.perf_counter()
                model.train()
                # The global batches, the same on every process (under torchrun assembled
                # from the processes' shards: one all-gather per step).
                for x, y in train_set.batches(epoch_batches(n_train, cfg.batch_size,
                                                            rngs.data)):
                    step(x, y)
                    bar.update()
                train_loss, train_acc = step.read()  # the one synchronisation of the epoch
                # The same loss on every process: they all stop together.
                check_loss(train_loss, epoch + 1, run, cfg.lr, *explosion)
                seconds = time.perf_counter() - t0
                record = {"epoch": epoch + 1, "lr": sched.get_last_lr()[0],
                          "train_loss": train_loss, "train_acc": train_acc,
                          "epoch_time_s": seconds,
                          "train_images_per_s": steps_per_epoch * cfg.batch_size / seconds}
                if n_val:
                    record.update({f"val_{k}": v for k, v in evaluate_split("val").items()})
                if world.main:  # the other processes hold the same state
                    append_metrics(run / "metrics.jsonl", record)
                    checkpoints.capture({
                        "format": CHECKPOINT_FORMAT, "epoch": epoch + 1,
                        "model": model.state_dict(), "optimizer": opt.state_dict(),
                        "scheduler": sched.state_dict(), "rng": rngs.state(),
                    }, last=epoch + 1 == stop)
                shown = ("train_loss", "train_acc", "val_acc")
                bar.set_postfix({"epoch": epoch + 1,
                                 **{k: f"{v:.3f}" for k, v in record.items() if k in shown}})
        if stop == cfg.epochs:  # while the last checkpoint is being written
            test = evaluate_split("test")
        checkpoints.flush()
    except BaseException:
        # An interrupt, divergence or error: leave the last finished epoch on disk (its
        # checkpoint may not be due yet with --checkpoint-every > 1).
        checkpoints.flush()
        raise

    out = {"run_dir": str(run), "epochs_done": stop, "finished": stop == cfg.epochs}
    if test is not None:
        results = {f"test_{k}": v for k, v in test.items()}
        results.update(n_test=n_test, epochs=cfg.epochs)
        if world.main:
            save_json(run / "results.json", results)
        out.update(results)
    world.barrier()  # the others return once rank 0 has written the run's last files
    return out


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
                            saved["feature_dim"], vit_spec=_vit_spec(saved))
        model.load_state_dict(state)
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError) as e:
        raise ValueError(f"{path} does not fit {run / 'config.json'} ({error_summary(e)}): "
                         "expected the files of one python -m deep.train run") from e
    return model.to(device).eval()


def _vit_spec(cfg: dict):
    """The ViT sizes a resolved config (or its saved dict) records; None for a CNN."""
    return vit_spec(cfg["model"], cfg["vit_patch"], cfg["vit_layers"], cfg["vit_heads"],
                    cfg["vit_mlp_ratio"])


def main(argv: list[str] | None = None) -> dict:
    """``python -m deep.train``: parse, train, print test accuracy and ECE.

    Returns the run's results; a failure prints one line on stderr and raises
    ``SystemExit`` (2 bad input or file, 1 divergence, 130 interrupt with the resume
    command; see :func:`deep.cli.run_cli`).
    """
    return run_cli(TrainConfig, "Train a CNN with a soft-label regularizer (deep/train.py).",
                   _train_and_report, argv)


def _train_and_report(cfg: TrainConfig) -> dict:
    out = train(cfg)
    if not World.from_env().main:  # under torchrun, rank 0 reports
        return out
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
