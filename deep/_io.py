"""Run directories and their files, on top of :mod:`logitreg.io`.

Every file of a run is written atomically by ``logitreg.io.atomic_write`` (temp file in the
same folder, fsync, ``os.replace``; readable by group and others as the umask allows): a
crash never leaves a half-written file behind, and a run directory can always be resumed
from its last checkpoint. JSON goes through ``logitreg.io.save_json`` (NaN and infinity
become ``null``), provenance is ``logitreg.io.provenance()``, and a resume under changed
options is refused by ``logitreg.io.check_same_config``.

Every file a command reads back is checked here before anything is written: a truncated,
garbled or foreign file (another command's checkpoint, a config.json that is not JSON) raises
a ``ValueError`` that names the file, what is wrong with it and what was expected, which the
commands turn into exit status 2; the run directory is left as it was.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import pickle
import struct
import zipfile
from pathlib import Path
from typing import Any

import torch

from logitreg.io import atomic_write, check_same_config, to_jsonable

from .config import flag, numeric_fields

__all__ = ["CHECKPOINT_KINDS", "UNREADABLE", "append_metrics", "atomic_torch_save",
           "check_loss", "error_summary", "load_checkpoint", "load_torch", "machine_name",
           "open_run_dir", "read_config", "read_json", "restore_states"]

# The format tag of every checkpoint deep writes, and what writes it.
TRAIN_CHECKPOINT = "deep.train/1"
VAE_CHECKPOINT = "deep.vae/1"
VAE_TRAIN_CHECKPOINT = "deep.vae/1-train"
CHECKPOINT_KINDS = {
    TRAIN_CHECKPOINT: "the checkpoint.pt of python -m deep.train",
    VAE_CHECKPOINT: "the vae.pt of python -m deep.vae",
    VAE_TRAIN_CHECKPOINT: "the checkpoint.pt of python -m deep.vae",
}

# What reading a garbled file raises, from torch.load (a bad zip archive: RuntimeError;
# bad pickle bytes: UnpicklingError, EOFError, KeyError, IndexError, ValueError,
# UnicodeDecodeError, struct.error), pickle, json, scipy.io and torchvision's readers
# (AssertionError, TypeError on a bad IDX header), and OSError for an unreadable file.
UNREADABLE = (pickle.UnpicklingError, EOFError, KeyError, IndexError, ValueError, TypeError,
              AttributeError, AssertionError, RuntimeError, OSError, struct.error,
              zipfile.BadZipFile, OverflowError)


def error_summary(err: BaseException, limit: int = 160) -> str:
    """``"Type: message"`` of an exception, on one line and short: the detail that says why a
    file was refused, without the pages of advice some libraries add (torch's refusal of
    a pickle keeps only its "WeightsUnpickler error"; a message longer than ``limit``
    characters, its first sentence, cut at ``limit``)."""
    text = str(err)
    if "WeightsUnpickler error:" in text:
        text = text.split("WeightsUnpickler error:", 1)[1].strip().split("\n\n")[0]
    text = " ".join(text.split())
    if len(text) > limit:
        text = text.split(". ", 1)[0]
        text = text if len(text) <= limit else text[:limit - 3] + "..."
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def atomic_torch_save(path: str | os.PathLike, obj: Any) -> None:
    """Atomically ``torch.save`` ``obj`` to ``path`` (through ``logitreg.io.atomic_write``)."""
    atomic_write(path, lambda fh: torch.save(obj, fh))


def load_torch(path: str | os.PathLike) -> Any:
    """``torch.load`` on the CPU with ``weights_only=True`` (no arbitrary code from pickles)."""
    return torch.load(path, map_location="cpu", weights_only=True)


def load_checkpoint(path: str | os.PathLike, fmt: str, keys: tuple[str, ...], *, label: str,
                    expected: str) -> dict:
    """Load a checkpoint written by ``deep`` and check its format tag and keys.

    Parameters
    ----------
    path : path
    fmt : str
        The format tag it must carry (a key of :data:`CHECKPOINT_KINDS`).
    keys : tuple of str
        Entries it must hold.
    label : str
        How messages name it, e.g. ``"--resume: runs/r/checkpoint.pt"``.
    expected : str
        What the user should pass instead, ending the message.

    Raises
    ------
    ValueError
        ``path`` is not readable by ``torch.load`` (truncated, garbled), is another kind of
        file or checkpoint, or lacks one of ``keys``.
    """
    try:
        ckpt = load_torch(path)
    except UNREADABLE as e:
        raise ValueError(f"{label} is not a readable checkpoint, it is truncated or garbled "
                         f"({error_summary(e)}): expected {expected}") from e
    found = ckpt.get("format") if isinstance(ckpt, dict) else None
    if found != fmt:
        what = (CHECKPOINT_KINDS.get(found, f"a checkpoint of format {found!r}")
                if isinstance(ckpt, dict) else f"a {type(ckpt).__name__}")
        raise ValueError(f"{label} is not a {fmt} checkpoint ({CHECKPOINT_KINDS[fmt]}): it holds "
                         f"{what}: expected {expected}")
    missing = [k for k in keys if k not in ckpt]
    if missing:
        raise ValueError(f"{label} is an incomplete {fmt} checkpoint (it lacks "
                         f"{', '.join(missing)}): expected {expected}")
    return ckpt


def read_json(path: str | os.PathLike, *, label: str, expected: str) -> dict:
    """The JSON object in ``path``; ``ValueError`` naming it if it is not one (truncated,
    not JSON, not UTF-8, or a JSON value other than an object)."""
    try:
        obj = json.loads(Path(path).read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as e:
        raise ValueError(f"{label} is not a readable JSON file ({error_summary(e)}): expected "
                         f"{expected}") from e
    if not isinstance(obj, dict):
        raise ValueError(f"{label} holds a JSON {type(obj).__name__}, not an object: expected "
                         f"{expected}")
    return obj


def read_config(run_dir: str | os.PathLike, cls: type, *, label: str | None = None) -> dict:
    """The resolved config saved in ``run_dir/config.json``, as a dict.

    Fields of the config class ``cls`` that the file lacks (added to ``cls`` after the run
    was written) get their defaults, which reproduce what the older code did: such a run
    can still be resumed and summarised with the runs written since.

    Raises ``ValueError`` naming the file (after ``label``, e.g. ``"--resume: "``) if it is
    not JSON, has no ``config`` object, or holds fields ``cls`` does not know (the run of
    another command).
    """
    path = Path(run_dir) / "config.json"
    name = f"{label}{path}" if label else str(path)
    command = cls.command
    expected = f"the config.json that {command} wrote in this run directory"
    saved = read_json(path, label=name, expected=expected).get("config")
    if not isinstance(saved, dict):
        raise ValueError(f"{name} has no \"config\" object: expected {expected}")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = [k for k in saved if k not in known]
    if unknown:
        raise ValueError(f"{name} holds options that {command} does not have "
                         f"({', '.join(unknown[:4])}{', ...' if len(unknown) > 4 else ''}): it is "
                         f"another command's run: expected {expected}")
    saved = getattr(cls, "upgrade_saved", dict)(saved)  # older files in today's form
    missing = {f.name: f.default for f in dataclasses.fields(cls) if f.name not in saved}
    return {**missing, **saved}


def open_run_dir(cfg: Any, fmt: str, keys: tuple[str, ...]) -> tuple[Path, dict | None]:
    """The run directory ``cfg.out_dir / cfg.run_name``, reopened on ``cfg.resume``.

    A new run refuses a directory that already holds ``checkpoint.pt`` (the directory is
    created by the run's first write, so a run that fails before it leaves nothing behind).
    A resumed run needs that checkpoint, of format ``fmt`` with ``keys``, and the
    ``config.json`` of the original run, whose options must equal ``cfg``'s except for the
    fields that do not change the numbers (those marked ``steers``; see
    :func:`deep.config.numeric_fields`). Nothing is written here.

    Parameters
    ----------
    cfg : deep.config.RunConfig
        A resolved run config.
    fmt, keys
        The checkpoint's format tag and required entries (see :func:`load_checkpoint`).

    Returns
    -------
    run : Path
    checkpoint : dict or None
        The loaded checkpoint when resuming, else None.

    Raises
    ------
    ValueError
        A new run in a directory with a checkpoint, a resume with changed options (the
        message names every changed flag with its old and new value), or a ``config.json``
        or checkpoint that is garbled or another command's (the message names the file).
    FileNotFoundError
        A resume without the checkpoint or ``config.json``.
    """
    run = Path(cfg.out_dir) / cfg.run_name
    ckpt_path = run / "checkpoint.pt"
    for path, name in ((Path(cfg.out_dir), "--out-dir"), (run, "--run-name")):
        if path.exists() and not path.is_dir():
            raise ValueError(f"{name}: {path} is a file: expected a directory (or none yet) for "
                             "the run's files")
    if not cfg.resume:
        if ckpt_path.exists():
            raise ValueError(
                f"--run-name={cfg.run_name}: {run} already holds a checkpoint: expected "
                "--resume to continue it, or another --run-name / --out-dir"
            )
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
        {flag(k): v for k, v in read_config(run, cls, label="--resume: ").items()},
        {flag(k): v for k, v in dataclasses.asdict(cfg).items()},
        where=f"--resume: {run}", may_change=may_change,
        hint=f"expected the same options as the original run (only {', '.join(may_change)} "
             "may change), or another --run-name / --out-dir for a new run",
    )
    return run, load_checkpoint(
        ckpt_path, fmt, keys, label=f"--resume: {ckpt_path}",
        expected=f"the checkpoint.pt that {cls.command} wrote in this run directory (a run can "
                 "only continue from its own checkpoint; start a new run with another "
                 "--run-name)")


def restore_states(load: Any, path: Path, epochs: int, command: str) -> int:
    """Run ``load()``, which loads a checkpoint's states into a run's objects (model,
    optimizer, generators) and returns its epoch; returns that epoch.

    A checkpoint of the right format whose states do not fit the run (weights of another
    shape, a damaged optimizer or generator state) or whose epoch is not in 1..``epochs``
    raises ``ValueError`` naming ``path``. Call it before writing anything, so that a
    refused resume leaves the run directory as it was.
    """
    try:
        epoch = load()
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError) as e:
        raise ValueError(f"--resume: {path} does not fit this run ({error_summary(e)}): "
                         f"expected the checkpoint.pt that {command} wrote for this run") from e
    if not isinstance(epoch, int) or not 1 <= epoch <= epochs:
        raise ValueError(f"--resume: {path} holds epoch {epoch!r}: expected an epoch in "
                         f"1..{epochs} (--epochs)")
    return epoch


def append_metrics(path: str | os.PathLike, record: dict, keep_epochs: int | None = None
                   ) -> None:
    """Append ``record`` as a JSON line to ``path``, rewriting the file atomically.

    With ``keep_epochs``, lines whose ``"epoch"`` is past it are dropped first: a resumed run
    forgets the epochs its checkpoint does not hold. An empty ``record`` appends nothing.
    Non-finite numbers are written as ``null`` (as by ``logitreg.io.save_json``).
    """
    path = Path(path)
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    if keep_epochs is not None:
        try:
            epochs = [json.loads(ln)["epoch"] for ln in lines]
            lines = [ln for ln, e in zip(lines, epochs, strict=True) if e <= keep_epochs]
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise ValueError(f"--resume: {path} is not a metrics file ({error_summary(e)}): "
                             "expected one JSON object with an \"epoch\" per line, as the run "
                             "wrote it") from e
    if record:
        lines.append(json.dumps(to_jsonable(record), allow_nan=False))
    text = "".join(ln + "\n" for ln in lines).encode()
    atomic_write(path, lambda fh: fh.write(text))


def check_loss(loss: float, epoch: int, run: Path, lr: float, limit: float | None = None,
               limit_text: str = "") -> None:
    """Stop a run whose mean training loss of ``epoch`` is NaN, infinite, or above ``limit``.

    Called before the epoch's metrics and checkpoint are written, so ``checkpoint.pt`` keeps
    the last good epoch. Raises ``FloatingPointError`` naming ``--lr``: a diverged run
    would otherwise go on to report meaningless metrics as if they were results.
    ``limit_text`` says what the limit is, for the message.
    """
    finite = math.isfinite(loss)
    if finite and (limit is None or loss <= limit):
        return
    kept = (f"{run / 'checkpoint.pt'} holds epoch {epoch - 1}, the last good one"
            if epoch > 1 else "no checkpoint was written")
    what = "a finite loss" if not finite else "a loss below that"
    over = "" if not finite else f" exceeds {limit_text or f'{limit:g}'}"
    raise FloatingPointError(
        f"training diverged in epoch {epoch}: mean training loss {loss:.4g}{over}; {kept}: "
        f"expected {what}, so try a smaller --lr (it was {lr:g}) in a new run"
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
