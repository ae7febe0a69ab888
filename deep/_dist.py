r"""Data-parallel training under ``torchrun``: the process group, the share of each process,
and a batch norm whose statistics are those of the whole global batch.

``torchrun --nproc-per-node N -m deep.train ...`` starts N processes with ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK`` in their environment; :meth:`World.detect` reads them.
A process started without them is rank 0 of 1 (``World()``), for which every method here is
a no-op, so the single-process run executes exactly the code it did before.

The semantics (docs/deep.md, "Multi-GPU and multi-node"): N processes with ``--batch-size
B`` train as one process with ``B``. Every process draws the same global batch from the
same generators and prepares all of it (augmentation, soft targets, mixing: cheap whole-batch
ops), then trains on its rows ``rank * B/N .. (rank + 1) * B/N`` (:meth:`World.rows`); DDP
averages the gradients, and the batch norms normalise with the statistics of all ``B``
images (:func:`sync_batchnorm`). The result equals the single-process run up to the
rounding of the sums taken across processes.
"""

from __future__ import annotations

import atexit
import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["World", "data_parallel", "join_process_group", "resolve_backend", "sync_batchnorm"]

# What torchrun sets in each process it starts (torch.distributed.run).
TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK")


def _dist():
    import torch.distributed as dist

    return dist


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
        parts = [torch.empty_like(t) for _ in range(self.size)]
        _dist().all_gather(parts, t.contiguous())
        return torch.cat(parts)[:n]

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
