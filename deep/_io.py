"""Atomic file writes, run directories and run metadata: a crash never leaves a half-written
file behind, and a run directory can always be resumed from its last checkpoint."""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import torch

__all__ = ["append_metrics", "atomic_write_bytes", "atomic_write_json", "atomic_torch_save",
           "check_finite_loss", "git_hash", "load_torch", "machine_name", "open_run_dir"]


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: write a temp file in the same folder, then
    ``os.replace`` it (atomic on POSIX and Windows when both lie on one file system)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """Atomically write ``obj`` as indented JSON."""
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def atomic_torch_save(path: str | os.PathLike, obj: Any) -> None:
    """Atomically ``torch.save`` ``obj``: serialise to memory first, then write and rename."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def load_torch(path: str | os.PathLike) -> Any:
    """``torch.load`` on the CPU with ``weights_only=True`` (no arbitrary code from pickles)."""
    return torch.load(path, map_location="cpu", weights_only=True)


def open_run_dir(cfg: Any, may_change: frozenset[str]) -> tuple[Path, dict | None]:
    """Create the run directory ``cfg.out_dir / cfg.run_name``, or reopen it on ``cfg.resume``.

    A new run refuses a directory that already holds ``checkpoint.pt``. A resumed run needs
    that checkpoint and the ``config.json`` of the original run, whose options must equal
    ``cfg``'s except for the fields in ``may_change`` (those that do not change the numbers).

    Parameters
    ----------
    cfg : dataclass with ``out_dir``, ``run_name`` and ``resume`` fields
        A resolved run config.
    may_change : frozenset of str
        Field names that may differ between a run and its resumption.

    Returns
    -------
    run : Path
    checkpoint : dict or None
        The loaded checkpoint when resuming, else None.
    """
    run = Path(cfg.out_dir) / cfg.run_name
    ckpt_path = run / "checkpoint.pt"
    if not cfg.resume:
        if ckpt_path.exists():
            raise ValueError(
                f"--run-name={cfg.run_name}: {run} already holds a checkpoint: expected "
                "--resume to continue it, or another --run-name / --out-dir"
            )
        run.mkdir(parents=True, exist_ok=True)
        return run, None
    missing = [p for p in (ckpt_path, run / "config.json") if not p.exists()]
    if missing:
        raise FileNotFoundError(
            f"--resume: {missing[0]} does not exist: expected the run directory of an earlier "
            "run of the same command (check --out-dir and --run-name)"
        )
    saved = json.loads((run / "config.json").read_text())["config"]
    now = json.loads(json.dumps(dataclasses.asdict(cfg)))  # tuples -> lists, as saved
    changed = sorted(k for k in now if k not in may_change and saved.get(k) != now[k])
    if changed:
        diffs = ", ".join(f"{k}: {saved.get(k)!r} -> {now[k]!r}" for k in changed)
        raise ValueError(
            f"--resume: the run in {run} was started with different settings ({diffs}): "
            "expected the same options as the original run"
        )
    return run, load_torch(ckpt_path)


def append_metrics(path: str | os.PathLike, record: dict, keep_epochs: int | None = None
                   ) -> None:
    """Append ``record`` as a JSON line to ``path``, rewriting the file atomically.

    With ``keep_epochs``, lines whose ``"epoch"`` is past it are dropped first: a resumed run
    forgets the epochs its checkpoint does not hold. An empty ``record`` appends nothing.
    """
    path = Path(path)
    lines = path.read_text().splitlines() if path.exists() else []
    if keep_epochs is not None:
        lines = [ln for ln in lines if json.loads(ln)["epoch"] <= keep_epochs]
    if record:
        lines.append(json.dumps(record))
    atomic_write_bytes(path, "".join(ln + "\n" for ln in lines).encode())


def check_finite_loss(loss: float, epoch: int, run: Path, lr: float) -> None:
    """Stop a run whose mean training loss of ``epoch`` is NaN or infinite.

    Called before the epoch's metrics and checkpoint are written, so ``checkpoint.pt`` keeps
    the last finite epoch. Raises ``FloatingPointError`` naming ``--lr``: a diverged run
    would otherwise go on to report NaN metrics as if they were results.
    """
    if not math.isfinite(loss):
        kept = (f"{run / 'checkpoint.pt'} holds epoch {epoch - 1}, the last finite one"
                if epoch > 1 else "no checkpoint was written")
        raise FloatingPointError(
            f"training diverged in epoch {epoch}: mean training loss {loss}; {kept}: expected "
            f"a finite loss, so try a smaller --lr (it was {lr:g}) in a new run"
        )


def git_hash() -> str | None:
    """The current commit of the source tree (``+dirty`` if it has local changes), or None."""
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10
        )
        if rev.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here, capture_output=True, text=True, timeout=10,
        )
        return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def machine_name(device: torch.device) -> str:
    """The GPU's name, or the CPU model with the core and torch thread counts."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"
