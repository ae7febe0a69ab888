r"""Data-parallel training under ``torchrun``: the process group, the share of each process
(of the data and of every global batch), and a batch norm whose statistics are those of the
whole global batch.

``torchrun --nproc-per-node N -m deep.train ...`` starts N processes with ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK`` in their environment; :meth:`World.detect` reads them.
A process started without them is rank 0 of 1 (``World()``), for which every method here is
a no-op, so the single-process run executes exactly the code it did before.

The semantics (docs/deep.md, "Multi-GPU and multi-node"): N processes with ``--batch-size
B`` train as one process with ``B``.

* Data. Every process loads the data set into host memory, keeps on its device only its
  shard and drops the rest: of the training set the rows ``i`` with ``i % N == rank``
  (:class:`ShardedRows`; strided, so the shards differ in size by at most one row), of the
  validation and test sets the contiguous rows :meth:`World.share` gives it, which are the
  rows it evaluates. Host memory is freed of the rest once the shards are copied out.
* Batches. Every process draws the same global permutation from the same seeded generator
  (indices only). For each global batch it sends the rows it owns, padded to the epoch's
  largest per-process count, to every other process in one all-gather (per tensor), and puts
  the received rows in batch order (:meth:`ShardedRows.batches`); the positions need not be
  sent, as every process knows the batch's indices. The global batch is then bitwise the
  one a single process holding everything would index. Every process prepares all of it
  from the same generators (augmentation, soft targets, mixing: cheap whole-batch ops),
  then trains on its rows ``rank * B/N .. (rank + 1) * B/N`` (:meth:`World.rows`); DDP
  averages the gradients, and the batch norms normalise with the statistics of all ``B``
  images (:func:`sync_batchnorm`). The result equals the single-process run up to the
  rounding of the sums taken across processes.
* Metrics and files. The epoch's loss and accuracy sums are all-reduced
  (:meth:`World.all_sum`), evaluation logits and labels are gathered
  (:meth:`World.gather_rows`), rank 0 alone writes files, and every process loads the one
  checkpoint on ``--resume``; nothing in it depends on N, so any number of processes may
  resume it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ShardedRows", "World", "data_parallel", "join_process_group", "resolve_backend",
           "sync_batchnorm"]

# What torchrun sets in each process it starts (torch.distributed.run).
TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK")


def _dist():
    import torch.distributed as dist

    return dist


def _all_gather_into(out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Every process's ``t`` (the same shape on all), concatenated in rank order into ``out``
    (``size * len(t)`` rows); returns ``out``. One collective (nccl and gloo)."""
    dist = _dist()
    # torch 2.14 renamed all_gather_into_tensor (and warns on the old name).
    gather = getattr(dist, "all_gather_single", None) or dist.all_gather_into_tensor
    gather(out, t.contiguous())
    return out


def _nbytes(t: torch.Tensor) -> int:
    """Bytes of the storage behind ``t``: what holding ``t`` costs, also for a view."""
    return t.untyped_storage().nbytes()


@dataclass(frozen=True)
class World:
    """This process's place among the processes of one run.

    Attributes
    ----------
    rank : int
        0 .. size - 1; rank 0 writes the run's files.
    size : int
        Number of processes (``WORLD_SIZE``); 1 for a plain ``python -m deep.train``.
    local_rank : int
        Rank on this machine; the process's GPU is ``cuda:local_rank``.
    """

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> World:
        """The world torchrun describes in ``environ``; ``World()`` outside torchrun.

        Raises ``ValueError`` if the variables are there but not integers with
        ``0 <= RANK < WORLD_SIZE`` (a hand-made environment)."""
        if "WORLD_SIZE" not in environ:
            return cls()
        try:
            rank, size, local = (int(environ[k]) for k in TORCHRUN_ENV)
        except (KeyError, ValueError) as e:
            raise ValueError(
                "the torchrun environment is incomplete (" + ", ".join(
                    f"{k}={environ.get(k)!r}" for k in TORCHRUN_ENV) + "): expected the "
                "integers torchrun sets; start the command with torchrun, or without WORLD_SIZE"
            ) from e
        if not 0 <= rank < size or local < 0:
            raise ValueError(f"the torchrun environment has RANK={rank}, WORLD_SIZE={size}, "
                             f"LOCAL_RANK={local}: expected 0 <= RANK < WORLD_SIZE")
        return cls(rank, size, local)

    @classmethod
    def detect(cls) -> World:
        """The world of an initialised default process group (a caller that set up
        ``torch.distributed`` itself), else :meth:`from_env`."""
        dist = _dist()
        if dist.is_available() and dist.is_initialized():
            return cls(dist.get_rank(), dist.get_world_size(),
                       int(os.environ.get("LOCAL_RANK", 0)))
        return cls.from_env()

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @property
    def main(self) -> bool:
        """Whether this is rank 0, the process that writes files and shows progress."""
        return self.rank == 0

    def device(self, name: str) -> torch.device:
        """This process's device for a resolved ``--device``: ``cuda`` becomes
        ``cuda:LOCAL_RANK`` when distributed (one GPU per process)."""
        device = torch.device(name)
        if device.type != "cuda" or not self.distributed:
            return device
        if device.index is not None:
            raise ValueError(
                f"--device={name} under torchrun would put all {self.size} processes on one "
                "GPU: expected --device cuda (or auto); each process then takes "
                "cuda:LOCAL_RANK")
        return torch.device("cuda", self.local_rank)

    def rows(self, batch: int) -> slice:
        """This process's rows of a global batch of ``batch`` rows (a multiple of size)."""
        share = batch // self.size
        return slice(self.rank * share, (self.rank + 1) * share)

    def strided(self, n: int) -> slice:
        """This process's rows of a training set of ``n`` rows held across the processes:
        ``i`` with ``i % size == rank`` (local position ``i // size``); all for one process."""
        return slice(self.rank, n, self.size)

    def hold(self, t: torch.Tensor, rows: slice, device: torch.device | str) -> torch.Tensor:
        """``t[rows]`` on ``device`` in storage of its own: the rest of ``t`` can be freed.
        For one process, ``t.to(device)`` (the whole tensor, not copied if already there)."""
        if not self.distributed:
            return t.to(device)
        # A slice is a view of all of t; clone() copies the rows out (on t's device) before
        # they move, so neither device keeps more than the rows.
        return t[rows].clone(memory_format=torch.contiguous_format).to(device)

    def share(self, n: int) -> tuple[slice, int]:
        """This process's rows of ``n`` evaluation rows, and the common share size
        ``ceil(n / size)`` (the last shares may be shorter, even empty)."""
        per = -(-n // self.size)
        return slice(min(self.rank * per, n), min((self.rank + 1) * per, n)), per

    def all_sum(self, t: torch.Tensor) -> torch.Tensor:
        """Sum ``t`` over the processes, in place; returns ``t``."""
        if self.distributed:
            _dist().all_reduce(t)
        return t

    def gather_rows(self, t: torch.Tensor, n: int) -> torch.Tensor:
        """Every process's share, each of ``ceil(n / size)`` rows (padding at the end of the
        short ones), concatenated in rank order, and cut to the ``n`` real rows."""
        if not self.distributed:
            return t
        out = t.new_empty((self.size * len(t), *t.shape[1:]))
        return _all_gather_into(out, t)[:n]

    def backend(self) -> str | None:
        """The backend of the process group (``nccl``, ``gloo``); None for one process."""
        return _dist().get_backend() if self.distributed else None

    def barrier(self) -> None:
        if self.distributed:
            _dist().barrier()

    @contextlib.contextmanager
    def main_first(self, when: bool = True) -> Iterator[None]:
        """Run the block on rank 0 first, then on the other processes (a download into a
        shared folder happens once); every process runs it, in two waves."""
        if not (when and self.distributed):
            yield
            return
        if not self.main:
            self.barrier()
        yield
        if self.main:
            self.barrier()


class ShardedRows:
    """Tensors of ``n`` rows (the training images and labels) held across the processes of
    ``world``, and the rows of each global batch put together on every process.

    Process ``r`` of ``N`` keeps the rows ``i`` with ``i % N == r`` (:meth:`World.strided`),
    in order, at local positions ``i // N``, in storage of its own on ``device``
    (:meth:`World.hold`); ``parts`` are these local tensors. For one process they are the
    whole tensors on ``device`` and :meth:`batches` indexes them as ``t[idx]``.

    Parameters
    ----------
    tensors : sequence of Tensor, each of shape (n, ...)
        On any device; only this process's rows are copied.
    world : World
    device : torch.device or str
    gather : callable, optional
        ``gather(out, t)`` fills ``out`` (``N * len(t)`` rows) with every process's ``t`` in
        rank order; the all-gather of the process group by default. A test may pass a
        stand-in.
    """

    def __init__(self, tensors: Sequence[torch.Tensor], world: World,
                 device: torch.device | str,
                 gather: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None
                 ) -> None:
        n = len(tensors[0])
        if any(len(t) != n for t in tensors) or n < world.size:
            raise ValueError(f"tensors with {[len(t) for t in tensors]} rows: expected the "
                             f"same number of rows in each, at least world size {world.size}")
        self.n, self.world = n, world
        self.parts = tuple(world.hold(t, world.strided(n), device) for t in tensors)
        self._gather = gather if gather is not None else _all_gather_into

    def nbytes(self) -> int:
        """Bytes of the storage this process holds for its rows."""
        return sum(_nbytes(t) for t in self.parts)

    def pad(self, index: torch.Tensor) -> int:
        """The most rows one process owns in any batch of ``index`` (steps, B): the length
        every process's share is padded to for the all-gather. One host synchronisation."""
        owner = index % self.world.size  # (steps, B)
        counts = torch.stack([(owner == r).sum(1) for r in range(self.world.size)])  # (N, steps)
        return int(counts.max())

    def send(self, idx: torch.Tensor, pad: int) -> tuple[torch.Tensor, ...]:
        """This process's rows of the global batch ``idx`` (B,), in batch order, padded to
        ``pad`` rows (the padding repeats rows of this shard): per tensor, shape (pad, ...).
        No host synchronisation."""
        size, rank = self.world.size, self.world.rank
        owner = idx % size  # (B,)
        order = torch.argsort(owner, stable=True)  # positions grouped by owner, batch order
        start = (owner < rank).sum()  # where this process's positions begin in ``order``
        take = order[(start + torch.arange(pad, device=idx.device)).clamp_max(len(idx) - 1)]
        local = (idx[take] // size).clamp_max(len(self.parts[0]) - 1)  # (pad,)
        return tuple(t[local] for t in self.parts)

    def assemble(self, received: Sequence[torch.Tensor], idx: torch.Tensor, pad: int
                 ) -> tuple[torch.Tensor, ...]:
        """The global batch ``idx`` (B,) from every process's :meth:`send` (per tensor, the
        ``N * pad`` rows in rank order): per tensor, shape (B, ...), equal to ``t[idx]`` of
        the whole tensor ``t``."""
        owner = idx % self.world.size  # (B,)
        # The k-th position owned by process r is row k of r's share.
        slot = (F.one_hot(owner, self.world.size).cumsum(0) - 1).gather(1, owner[:, None])
        where = owner * pad + slot[:, 0]  # (B,)
        return tuple(r[where] for r in received)

    def batches(self, index: torch.Tensor) -> Iterator[tuple[torch.Tensor, ...]]:
        """Per row ``idx`` of ``index`` (steps, B) of global row numbers (the same on every
        process): the rows ``t[idx]`` of every tensor, shapes (B, ...), on every process.

        Distributed: one all-gather per tensor and step, of ``N * pad`` rows
        (:meth:`pad`, computed once for all of ``index``)."""
        if not self.world.distributed:
            for idx in index:
                yield tuple(t[idx] for t in self.parts)
            return
        pad = self.pad(index)
        for idx in index:
            sent = self.send(idx, pad)
            received = [self._gather(t.new_empty((self.world.size * pad, *t.shape[1:])), t)
                        for t in sent]
            yield self.assemble(received, idx, pad)


def resolve_backend(backend: str, device: torch.device) -> str:
    """``--dist-backend`` for ``device``: auto -> nccl on CUDA, gloo elsewhere.

    Raises ``ValueError`` for nccl off CUDA, or a backend this torch build lacks."""
    dist = _dist()
    if backend == "auto":
        backend = "nccl" if device.type == "cuda" else "gloo"
    if backend == "nccl" and device.type != "cuda":
        raise ValueError(f"--dist-backend=nccl runs on GPUs only, but this run uses "
                         f"--device={device.type}: expected gloo (or auto)")
    available = {"nccl": dist.is_nccl_available, "gloo": dist.is_gloo_available}[backend]()
    if not available:
        raise ValueError(f"--dist-backend={backend} is not built into this torch "
                         f"({torch.__version__}): expected "
                         f"{'gloo' if backend == 'nccl' else 'nccl on cuda'}")
    return backend


def join_process_group(world: World, backend: str, device: torch.device) -> None:
    """Join the default process group of ``world`` with ``--dist-backend`` ``backend`` (see
    :func:`resolve_backend`), once per process; nothing for one process.

    The group stays open for later runs in the same process (a script that trains several
    configs under torchrun; tearing a group down and setting it up again over the same
    store races) and is destroyed at exit. A group the caller initialised is used as it is.
    On CUDA the process's current device is set to its own GPU first, as NCCL requires.
    """
    dist = _dist()
    if not world.distributed or (dist.is_available() and dist.is_initialized()):
        return
    if not dist.is_available():
        raise ValueError(f"torchrun started {world.size} processes, but this torch "
                         f"({torch.__version__}) has no torch.distributed: expected a torch "
                         "build with it, or a single process")
    backend = resolve_backend(backend, device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    # env:// (torchrun's MASTER_ADDR and MASTER_PORT); binding NCCL to the device up front
    # lets it set up its communicator eagerly.
    dist.init_process_group(backend, device_id=device if backend == "nccl" else None)
    atexit.register(_destroy)


def _destroy() -> None:
    dist = _dist()
    if dist.is_initialized():
        dist.destroy_process_group()


class _AllSum(torch.autograd.Function):
    """``sum over processes of t``, differentiable.

    Every process uses the sum S = sum_r t_r, so the gradient of the total loss
    sum_q L_q with respect to its own term t_r is sum_q dL_q/dS: the sum over processes of
    the incoming gradients. DDP then divides the parameter gradients by the number of
    processes, which turns the total into the mean loss over the global batch.
    """

    @staticmethod
    def forward(ctx, t: torch.Tensor) -> torch.Tensor:
        t = t.clone(memory_format=torch.contiguous_format)
        _dist().all_reduce(t)
        return t

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone(memory_format=torch.contiguous_format)
        _dist().all_reduce(grad)
        return grad


class GlobalBatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` that, in training mode, normalises with the mean and variance of
    the global batch: every process's rows together (the CPU counterpart of
    ``torch.nn.SyncBatchNorm``, which runs on GPUs only).

    Every process holds the same number of rows (:meth:`World.rows`), so the count is
    known and two all-reduces suffice: the sum, then the sum of squared deviations from the
    global mean (two passes: no cancellation when the mean is large). The statistics are
    float32, the running statistics are updated as ``nn.BatchNorm2d`` does (unbiased
    variance), and the gradient flows through both sums (:class:`_AllSum`). In eval mode,
    or without a process group, it is ``nn.BatchNorm2d``.
    """

    # For --compile, :func:`sync_batchnorm` puts it behind torch.compiler.disable (a graph
    # break: the collectives run eagerly); not here, as that import loads dynamo (seconds).
    _all_sum = staticmethod(_AllSum.apply)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dist = _dist()
        if not (self.training and dist.is_available() and dist.is_initialized()):
            return super().forward(x)
        n = x.numel() // x.shape[1] * dist.get_world_size()  # values per channel, globally
        xf = x.float()
        mean = self._all_sum(xf.sum((0, 2, 3))) / n  # (C,)
        centred = xf - mean[:, None, None]  # (B, C, H, W)
        var = self._all_sum(centred.square().sum((0, 2, 3))) / n  # (C,), biased
        out = centred * torch.rsqrt(var + self.eps)[:, None, None]
        if self.affine:
            out = out * self.weight[:, None, None] + self.bias[:, None, None]
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                m = (self.momentum if self.momentum is not None
                     else 1.0 / float(self.num_batches_tracked))
                self.running_mean.mul_(1.0 - m).add_(mean, alpha=m)
                self.running_var.mul_(1.0 - m).add_(var * (n / (n - 1)), alpha=m)
        return out.to(x.dtype)


def _global_batchnorm(module: nn.Module) -> nn.Module:
    """``module`` with every ``nn.BatchNorm2d`` replaced by a :class:`GlobalBatchNorm2d`
    holding the same parameters and buffers."""
    if type(module) is nn.BatchNorm2d:
        new = GlobalBatchNorm2d(module.num_features, module.eps, module.momentum,
                                module.affine, module.track_running_stats)
        if module.affine:
            new.weight, new.bias = module.weight, module.bias
        if module.track_running_stats:
            new.running_mean, new.running_var = module.running_mean, module.running_var
            new.num_batches_tracked = module.num_batches_tracked
        new.train(module.training)
        return new
    for name, child in module.named_children():
        module.add_module(name, _global_batchnorm(child))
    return module


def sync_batchnorm(model: nn.Module, device: torch.device, compiled: bool = False
                   ) -> nn.Module:
    """``model`` with batch norms that use the statistics of the global batch, so that N
    processes compute what one process computes on the whole batch: ``nn.SyncBatchNorm``
    on CUDA, :class:`GlobalBatchNorm2d` elsewhere. Parameter and buffer names are unchanged
    (a checkpoint loads into the plain model). Call it before building the optimizer.
    ``compiled``: the model will be compiled (``--compile``)."""
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(model)
    if compiled:
        GlobalBatchNorm2d._all_sum = staticmethod(torch.compiler.disable(_AllSum.apply))
    return _global_batchnorm(model)


def data_parallel(model: nn.Module, device: torch.device) -> nn.Module:
    """``model`` wrapped in ``DistributedDataParallel``: gradients averaged over the
    processes in backward.

    ``broadcast_buffers=False``: the batch-norm statistics are already equal on every process
    (:func:`sync_batchnorm`) and the input normalisation never changes, so broadcasting rank
    0's buffers before each forward would only cost time.
    """
    import inspect

    from torch.nn.parallel import DistributedDataParallel

    # torch 2.14 renamed broadcast_buffers (and warns on the old name); 2.1-2.13 know only it.
    renamed = "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
    no_sync = {"forward_sync_buffers" if renamed else "broadcast_buffers": False}
    return DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None, **no_sync)
