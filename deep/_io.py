"""Run directories and their files, on top of :mod:`logitreg.io`.

Every file of a run is written atomically by ``logitreg.io.atomic_write`` (temp file in the
same folder, fsync, ``os.replace``; readable by group and others as the umask allows): a
crash never leaves a half-written file behind, and a run directory can always be resumed
from its last checkpoint. JSON goes through ``logitreg.io.save_json`` (NaN and infinity
become ``null``), provenance is ``logitreg.io.provenance()``, and a resume under changed
options is refused by ``logitreg.io.check_same_config``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path
from typing import Any

import torch

from logitreg.io import atomic_write, check_same_config, to_jsonable

from .config import flag, numeric_fields

__all__ = ["append_metrics", "atomic_torch_save", "check_finite_loss", "load_torch",
           "machine_name", "open_run_dir", "read_config"]


def atomic_torch_save(path: str | os.PathLike, obj: Any) -> None:
    """Atomically ``torch.save`` ``obj`` to ``path`` (through ``logitreg.io.atomic_write``)."""
    atomic_write(path, lambda fh: torch.save(obj, fh))


def load_torch(path: str | os.PathLike) -> Any:
    """``torch.load`` on the CPU with ``weights_only=True`` (no arbitrary code from pickles)."""
    return torch.load(path, map_location="cpu", weights_only=True)


def read_config(run_dir: str | os.PathLike, cls: type) -> dict:
    """The resolved config saved in ``run_dir/config.json``, as a dict.

    Fields of the config class ``cls`` that the file lacks (added to ``cls`` after the run
    was written) get their defaults, which reproduce what the older code did: such a run
    can still be resumed and summarised with the runs written since.
    """
    saved = json.loads((Path(run_dir) / "config.json").read_text())["config"]
    missing = {f.name: f.default for f in dataclasses.fields(cls) if f.name not in saved}
    return {**missing, **saved}


def open_run_dir(cfg: Any) -> tuple[Path, dict | None]:
    """Create the run directory ``cfg.out_dir / cfg.run_name``, or reopen it on ``cfg.resume``.

    A new run refuses a directory that already holds ``checkpoint.pt``. A resumed run needs
    that checkpoint and the ``config.json`` of the original run, whose options must equal
    ``cfg``'s except for the fields that do not change the numbers (those marked
    ``steers``; see :func:`deep.config.numeric_fields`).

    Parameters
    ----------
    cfg : deep.config.RunConfig
        A resolved run config.

    Returns
    -------
    run : Path
    checkpoint : dict or None
        The loaded checkpoint when resuming, else None.

    Raises
    ------
    ValueError
        A new run in a directory with a checkpoint, or a resume with changed options (the
        message names every changed flag with its old and new value).
    FileNotFoundError
        A resume without the checkpoint or ``config.json``.
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
    cls = type(cfg)
    numeric = set(numeric_fields(cls))
    may_change = [flag(f.name) for f in dataclasses.fields(cls) if f.name not in numeric]
    check_same_config(
        {flag(k): v for k, v in read_config(run, cls).items()},
        {flag(k): v for k, v in dataclasses.asdict(cfg).items()},
        where=f"--resume: {run}", may_change=may_change,
        hint=f"expected the same options as the original run (only {', '.join(may_change)} "
             "may change), or another --run-name / --out-dir for a new run",
    )
    return run, load_torch(ckpt_path)


def append_metrics(path: str | os.PathLike, record: dict, keep_epochs: int | None = None
                   ) -> None:
    """Append ``record`` as a JSON line to ``path``, rewriting the file atomically.

    With ``keep_epochs``, lines whose ``"epoch"`` is past it are dropped first: a resumed run
    forgets the epochs its checkpoint does not hold. An empty ``record`` appends nothing.
    Non-finite numbers are written as ``null`` (as by ``logitreg.io.save_json``).
    """
    path = Path(path)
    lines = path.read_text().splitlines() if path.exists() else []
    if keep_epochs is not None:
        lines = [ln for ln in lines if json.loads(ln)["epoch"] <= keep_epochs]
    if record:
        lines.append(json.dumps(to_jsonable(record), allow_nan=False))
    text = "".join(ln + "\n" for ln in lines).encode()
    atomic_write(path, lambda fh: fh.write(text))


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
