"""Atomic result files and run metadata.

Every writer here goes through :func:`atomic_write`: the bytes go to a temporary file in
the *same* directory, are flushed and ``fsync``-ed, and the file is moved into place with
``os.replace``. A reader (or a resumed run) therefore sees either the old file or the new
one, never a half-written one, even if the process is killed mid-write; the same
directory matters because ``os.replace`` is atomic only within one filesystem.

Results are saved with their config, seeds, the git hash and the package version by
:func:`save_results`. This module is the one home of what every command shares: atomic
writes (:func:`atomic_write`), provenance (:func:`provenance`, :func:`run_metadata`), the
refusal to resume under a changed configuration (:func:`check_same_config`) and the mean ±
std over seeds (:func:`mean_std`). ``deep/`` uses it too.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

__all__ = [
    "atomic_write",
    "check_finished_result",
    "check_same_config",
    "config_key",
    "default_out_dir",
    "mean_std",
    "provenance",
    "save_json",
    "load_json",
    "save_npz",
    "load_npz",
    "run_metadata",
    "save_results",
    "source_hash",
    "to_jsonable",
]


@contextlib.contextmanager
def _interrupts_deferred():
    """Hold Ctrl-C (SIGINT) and SIGTERM back inside the block and deliver the first that
    came, to the handler that was installed, when the block ends. Python runs signal
    handlers in the main thread only (whichever thread the OS hands the signal to), so
    elsewhere this does nothing; a handler installed outside Python is left alone."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signums = [s for s in (signal.SIGINT, signal.SIGTERM) if signal.getsignal(s) is not None]
    old = {s: signal.getsignal(s) for s in signums}
    held = []  # (signum, frame) in the order they came
    for s in signums:
        signal.signal(s, lambda signum, frame: held.append((signum, frame)))
    try:
        yield
    finally:
        for s in signums:
            signal.signal(s, old[s])
        for signum, frame in held[:1]:  # the first one decides: it may raise
            if callable(old[signum]):
                old[signum](signum, frame)  # SIGINT's default raises KeyboardInterrupt
            elif old[signum] == signal.SIG_DFL:
                signal.raise_signal(signum)


def atomic_write(path, write) -> Path:
    """Create or replace ``path`` atomically; ``write(fileobj)`` writes the bytes.

    Parameters
    ----------
    path : str or Path
        Destination; its directory is created if missing.
    write : callable
        Called once with a binary file object open for writing. A Ctrl-C during the write
        takes effect once the file is in place.

    Returns
    -------
    Path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Ctrl-C (and SIGTERM) waits until the file is in place: an interrupt between creating
    # the temporary file and the rename would otherwise leave the temporary file behind.
    with _interrupts_deferred():
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
            Path(tmp).unlink(missing_ok=True)  # never leave temporary files behind
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


def provenance() -> dict:
    """The source tree a result came from: ``{"git_hash": ..., "git_dirty": ...}``.

    ``git_hash`` is ``None`` outside a git checkout or before the first commit;
    ``git_dirty`` is True when tracked files are modified or untracked, non-ignored files
    exist (the hash alone then does not reproduce the run), ``None`` when unknown.
    """
    status = _git("status", "--porcelain")  # untracked source files count as dirty too
    return {"git_hash": _git("rev-parse", "HEAD") or None,
            "git_dirty": None if status is None else bool(status)}


def source_hash(package_dir=None) -> str:
    """A hash of the library's source: SHA-256 of every ``*.py`` file under ``package_dir``
    (default: this package, ``logitreg/``), by relative path and content; 12 hex digits.

    Unlike the git hash it changes only when the library's code does (not with a commit of
    docs or scripts), and it exists in a copy without git. A cached sweep point records it,
    so a point computed by other code is recognised when it is reused
    (:func:`logitreg.sweep.run_sweep`).
    """
    if package_dir is None:
        return _own_source_hash()
    root = Path(package_dir)
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


@functools.cache
def _own_source_hash() -> str:
    """This package's :func:`source_hash`, once per process (its code does not change
    under it)."""
    return source_hash(Path(__file__).resolve().parent)


def run_metadata() -> dict:
    """Provenance for a result file: :func:`provenance`, versions, platform, UTC time."""
    from . import __version__  # deferred: logitreg/__init__ may import this module

    return {
        **provenance(),
        "logitreg_version": __version__,
        "logitreg_source": source_hash(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "torch": sys.modules["torch"].__version__ if "torch" in sys.modules else None,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def save_results(out_dir, stem, *, config, results, arrays=None, overwrite=False) -> dict:
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
    overwrite : bool, default False
        Replace a finished result of *another* configuration in ``out_dir``; without it
        that is refused (:func:`check_finished_result`), so no command overwrites a result
        it was not asked to. A result of the same configuration is always rewritten.

    Returns
    -------
    dict with keys ``"json"`` (and ``"npz"``) mapping to the written paths.
    """
    clash = {"config", "meta"} & set(results)
    if clash:
        raise ValueError(f"results must not contain the keys {sorted(clash)}")
    out_dir = Path(out_dir)
    check_finished_result(out_dir / f"{stem}.json", config, overwrite=overwrite,
                          hint="use another --out, or --restart to overwrite it")
    paths = {"json": save_json(out_dir / f"{stem}.json",
                               {"config": config, "meta": run_metadata(), **results})}
    if arrays is not None:
        paths["npz"] = save_npz(out_dir / f"{stem}.npz", **arrays)
    return paths


def check_same_config(saved: dict, now: dict, *, where, may_change=(), hint: str) -> None:
    """Refuse to resume a run whose saved configuration differs from the current one.

    Both configs are compared after :func:`to_jsonable` (so tuples and lists, numpy and
    Python scalars compare equal); keys in ``may_change`` (options that do not change the
    numbers, such as a progress bar) are ignored.

    Parameters
    ----------
    saved, now : dict
        The configuration stored with the run, and the one asked for now.
    where : str or Path
        The file or folder holding the saved run, named in the message.
    may_change : iterable of str
    hint : str
        What the user can do instead (e.g. ``"use a new --out, or --restart"``).

    Raises
    ------
    ValueError
        Naming every differing key with its saved and current value.
    """
    saved, now = to_jsonable(saved), to_jsonable(now)
    skip = set(may_change)
    keys = [k for k in dict.fromkeys([*saved, *now]) if k not in skip]
    changed = [k for k in keys if saved.get(k) != now.get(k)]
    if changed:
        diffs = ", ".join(f"{k}: {saved.get(k)!r} -> {now.get(k)!r}" for k in changed)
        raise ValueError(f"{where} holds a run with another configuration ({diffs}): {hint}")


def mean_std(values, axis=None):
    """Mean and sample std (``ddof = 1``) over seeds: the project's one convention.

    The std is the seed-to-seed spread, not a standard error. With a single seed it is
    undefined: NaN here, written as ``null`` in JSON (:func:`to_jsonable`). NaN entries
    (e.g. "never reached") propagate: the mean over seeds is then NaN too.

    Parameters
    ----------
    values : array_like
        Seeds along ``axis`` (all of them when ``axis`` is None).

    Returns
    -------
    mean, std : float or ndarray
    """
    v = np.asarray(values, dtype=float)
    n = v.size if axis is None else v.shape[axis]
    if n == 0:
        raise ValueError("values must hold at least one seed; got none")
    mean = v.mean(axis=axis)
    std = v.std(axis=axis, ddof=1) if n > 1 else np.full_like(mean, np.nan)
    if np.ndim(mean) == 0:
        return float(mean), float(std)
    return mean, std


def config_key(config: dict) -> str:
    """A short stable hash of a configuration (8 hex digits), to key result folders."""
    text = json.dumps(to_jsonable(config), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def default_out_dir(name: str, config: dict, preset: dict, root="results") -> Path:
    """The default results folder: ``<root>/<name>`` for the command's preset
    configuration, ``<root>/<name>-<config_key>`` for any other, so runs of different
    configurations never share a folder unless the user names one."""
    if to_jsonable(config) == to_jsonable(preset):
        return Path(root) / name
    return Path(root) / f"{name}-{config_key(config)}"


def check_finished_result(path, config: dict, *, overwrite: bool, hint: str) -> bool:
    """Guard a finished result file (``save_results``'s JSON) against being overwritten.

    Returns True when ``path`` holds a finished result of the same ``config`` (a rerun may
    reprint it), False when there is none. A finished result of another configuration is
    refused unless ``overwrite``.

    Raises
    ------
    ValueError
        ``path`` holds a finished result of another configuration and ``overwrite`` is
        False (the message names the file, the differing keys and ``hint``), or ``path`` is
        not a readable result file.
    """
    path = Path(path)
    if not path.exists():
        return False
    try:
        saved = load_json(path)["config"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path} is not a readable result file ({err}): expected the JSON "
                         "written by a finished run; move it away or use another output "
                         "folder") from None
    try:
        check_same_config(saved, config, where=path, hint=hint)
    except ValueError:
        if overwrite:
            return False
        raise
    return True
