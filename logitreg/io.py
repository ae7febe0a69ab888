"""Atomic result files and run metadata.

Every writer here goes through :func:`atomic_write`: the bytes go to a temporary file in
the *same* directory, are flushed and ``fsync``-ed, and the file is moved into place with
``os.replace``. A reader (or a resumed run) therefore sees either the old file or the new
one, never a half-written one, even if the process is killed mid-write; the same
directory matters because ``os.replace`` is atomic only within one filesystem.

Results are saved with their config, seeds, the git hash and the package version
(STYLE.md, principles 8 and 11) by :func:`save_results`.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

__all__ = [
    "atomic_write",
    "save_json",
    "load_json",
    "save_npz",
    "load_npz",
    "run_metadata",
    "save_results",
    "to_jsonable",
]


def atomic_write(path, write) -> Path:
    """Create or replace ``path`` atomically; ``write(fileobj)`` writes the bytes.

    Parameters
    ----------
    path : str or Path
        Destination; its directory is created if missing.
    write : callable
        Called once with a binary file object open for writing.

    Returns
    -------
    Path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp creates 0600; give the result the mode a plain open() would (umask).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        # Also on KeyboardInterrupt: never leave temporary files behind.
        Path(tmp).unlink(missing_ok=True)
        raise
    # Persist the rename itself (the directory entry); not possible on every platform.
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return path
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
    return path


def to_jsonable(obj):
    """Convert numpy scalars/arrays, tuples and paths to plain JSON types.

    Non-finite floats become ``None`` (JSON has no NaN or inf; ``null`` reads as
    "not reached / not available").
    """
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        val = float(obj)
        return val if math.isfinite(val) else None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def save_json(path, obj, *, indent: int | None = 1) -> Path:
    """Write ``obj`` (after :func:`to_jsonable`) as JSON, atomically."""
    text = json.dumps(to_jsonable(obj), indent=indent, allow_nan=False)
    return atomic_write(path, lambda fh: fh.write(text.encode() + b"\n"))


def load_json(path):
    """Read a JSON file."""
    return json.loads(Path(path).read_text())


def save_npz(path, **arrays) -> Path:
    """Write arrays to an uncompressed ``.npz``, atomically (no pickles)."""
    return atomic_write(path, lambda fh: np.savez(fh, **arrays))


def load_npz(path) -> dict:
    """Read an ``.npz`` written by :func:`save_npz` into a dict of arrays (no pickles)."""
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _git(*args) -> str | None:
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def run_metadata() -> dict:
    """Provenance for a result file: git hash, dirty flag, versions, platform, UTC time.

    ``git_hash`` is ``None`` outside a git checkout or before the first commit;
    ``git_dirty`` is True when tracked files are modified or untracked, non-ignored files
    exist (the hash alone then does not reproduce the run).
    """
    from . import __version__  # deferred: logitreg/__init__ may import this module

    status = _git("status", "--porcelain")  # untracked source files count as dirty too
    return {
        "git_hash": _git("rev-parse", "HEAD") or None,
        "git_dirty": None if status is None else bool(status),
        "logitreg_version": __version__,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "torch": sys.modules["torch"].__version__ if "torch" in sys.modules else None,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def save_results(out_dir, stem, *, config, results, arrays=None) -> dict:
    """Save ``<out_dir>/<stem>.json`` (and ``<stem>.npz`` when ``arrays`` is given).

    The JSON is ``{"config": config, "meta": run_metadata(), **results}``; ``config``
    must hold every parameter and seed needed to rerun.

    Parameters
    ----------
    out_dir : str or Path
    stem : str
        File name without extension.
    config : dict
    results : dict
        Must not use the keys ``"config"`` or ``"meta"``.
    arrays : dict of ndarray, optional

    Returns
    -------
    dict with keys ``"json"`` (and ``"npz"``) mapping to the written paths.
    """
    clash = {"config", "meta"} & set(results)
    if clash:
        raise ValueError(f"results must not contain the keys {sorted(clash)}")
    out_dir = Path(out_dir)
    paths = {"json": save_json(out_dir / f"{stem}.json",
                               {"config": config, "meta": run_metadata(), **results})}
    if arrays is not None:
        paths["npz"] = save_npz(out_dir / f"{stem}.npz", **arrays)
    return paths
