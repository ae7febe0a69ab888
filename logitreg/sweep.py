"""Resumable parameter sweeps: one cached file per unit of work, mean +- std summaries.

A sweep evaluates ``fn(**cell, seed=seed) -> dict`` (JSON-able scalars) on every
``(cell, seed)`` of a grid. Each evaluation is one unit of work, cached as its own file
``<cache_dir>/points/<key>.json`` where the key hashes the sweep's ``config``, the cell and
the seed (:func:`logitreg.io.config_key`); the file is written atomically by whoever
evaluated the point, so a sweep killed at any moment loses at most the points in flight,
and a rerun skips every point already on disk. A changed ``config`` gives other keys, so it
never reuses a point computed under another configuration. ``n_jobs > 1`` evaluates points
in parallel through joblib's local processes (``backend="loky"``); ``backend="dask"`` sends
them to a Dask distributed cluster, one Dask task per point. The backend is not part of
the key: a point is the same file whichever backend computed it, so a sweep started on one
resumes on the other.

On Dask the worker that evaluated a point writes its file, so the cache folder must be on
a filesystem every worker mounts at the same path (checked before the first task); a
worker lost mid-point loses only that point: Dask retries it on another worker, and if
the point keeps killing workers the sweep stops with the finished points cached. See
``docs/scaling.md``.

Every point runs with single-threaded BLAS (:func:`one_blas_thread`; ``blas_threads``):
parallelism comes from evaluating points at once (``n_jobs``), and within a point a second
BLAS thread costs more than it gains at these sizes when cores are shared (measured on the
2-core development machine: ``simulations/fig02.py --jobs 1`` took 341 s at the default
two threads and 183 s at one; ``simulations/fig17.py --quick`` 5.9 s and 1.5 s). A point's
numbers then do not depend on ``n_jobs`` or the backend.

The key holds the configuration, not the code: a point computed before the library
changed is still reused. Each point therefore records the library's source hash
(:func:`logitreg.io.source_hash`), and a sweep that reuses points of other (or unrecorded)
source says so with a :class:`StaleCacheWarning` naming how many, and how to recompute
them (``restart=True``, ``--restart``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import os
import shutil
import uuid
import warnings
from collections import Counter
from pathlib import Path

from tqdm.auto import tqdm

from ._validation import check_positive
from .io import config_key, load_json, mean_std, save_json, source_hash, to_jsonable

__all__ = ["BACKENDS", "SCHEDULER_ENV", "StaleCacheWarning", "grid", "one_blas_thread",
           "point_path", "run_sweep", "summarize", "sweep_backend"]

BACKENDS = ("loky", "dask")
SCHEDULER_ENV = "LOGITREG_DASK_SCHEDULER"  # the scheduler address when none is given
# A scheduler answers a connect in milliseconds; a wrong address must fail, not hang (the
# distributed default is 30 s of retries).
_CONNECT_TIMEOUT = 5.0  # s
# Workers started by hand or by dask-jobqueue may join the scheduler a little after it.
_WORKER_WAIT = 60.0  # s
_DASK_MISSING = ("backend='dask' (--backend dask) needs Dask's distributed scheduler, which "
                 "is not installed: pip install 'logitreg[dask]' (or 'dask[distributed]')")

# The defaults of run_sweep's backend and scheduler inside a `sweep_backend` block, and the
# block's Dask client (connected at its first sweep, closed when the block ends).
_context = {"backend": "loky", "scheduler": None, "client": None, "active": False}


class StaleCacheWarning(UserWarning):
    """A sweep reused cached points that another version of the library computed."""


@contextlib.contextmanager
def one_blas_thread(threads: int | None = 1):
    """BLAS (numpy, scipy) limited to ``threads`` inside the block (None: left alone); also a
    decorator, ``@one_blas_thread()``. The limit is threadpoolctl's, installed with
    scikit-learn."""
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads, user_api="blas"):
        yield


def grid(**axes) -> list[dict]:
    """Cartesian product of named axes: ``grid(a=[1, 2], b=[3])`` -> ``[{a:1,b:3}, {a:2,b:3}]``."""
    names = list(axes)
    return [dict(zip(names, vals, strict=True)) for vals in itertools.product(*axes.values())]


def point_path(cache_dir, config: dict, cell: dict, seed: int) -> Path:
    """The cache file of one unit of work."""
    key = config_key({"config": config, "cell": cell, "seed": seed})
    return Path(cache_dir) / "points" / f"{key}.json"


def _load_point(path: Path, config, cell, seed):
    """The saved point: ``{"config", "cell", "seed", "result"}`` and, when recorded, the
    ``"source"`` hash of the library that computed it."""
    try:
        saved = load_json(path)
        ok = (saved["config"], saved["cell"], saved["seed"]) == (config, cell, seed)
        saved["result"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path} is not a readable sweep point ({type(err).__name__}: {err}): "
                         "expected the JSON a run of this sweep wrote; delete it to recompute "
                         "that point, or restart=True (--restart) to discard the cache") from None
    if not ok:
        raise ValueError(f"{path} holds another point than its name says: delete it to "
                         "recompute that point, or restart=True (--restart)")
    return saved


def _evaluate(fn, cell, seed, path: Path, config, source, threads=1) -> dict:
    """Evaluate one point (with ``threads`` BLAS threads) and cache it (runs in the worker
    that evaluated it)."""
    if path.exists():
        # Written by an earlier try of this task (a Dask worker lost after the write, then
        # the task retried) or by another sweep sharing the cache: never evaluate twice.
        return _load_point(path, config, cell, seed)["result"]
    with one_blas_thread(threads):
        result = to_jsonable(fn(**cell, seed=seed))
    save_json(path, {"config": config, "cell": cell, "seed": seed, "result": result,
                     "source": source})
    return result


def _warn_other_source(cache_dir: Path, source: str, saved: list[dict], n_points: int) -> None:
    """A :class:`StaleCacheWarning` when reused points came from other library code."""
    other = Counter(s.get("source") or "unrecorded" for s in saved
                    if s.get("source") != source)
    if not other:
        return
    which = ", ".join(f"{n} from {h}" for h, n in other.most_common())
    warnings.warn(
        f"reused {sum(other.values())} of {n_points} cached points in {cache_dir} that "
        f"another version of logitreg computed ({which}; this library's source is "
        f"{source}): their numbers may differ from what this code gives; restart=True "
        "(--restart) recomputes them", StaleCacheWarning, stacklevel=3)


def run_sweep(fn, cells, seeds, cache_dir, *, config, restart=False, n_jobs=1,
              progress=True, desc="sweep", backend=None, scheduler=None,
              blas_threads=1) -> list[dict]:
    """Evaluate ``fn`` on every (cell, seed), reusing the points cached in ``cache_dir``.

    Parameters
    ----------
    fn : callable
        ``fn(**cell, seed=seed)`` returns a dict of JSON-able scalars. With ``n_jobs > 1``
        or on Dask it must be picklable by joblib (closures and lambdas are, through
        cloudpickle); Dask workers need the modules it imports (logitreg installed).
    cells : list of dict
    seeds : list of int
    cache_dir : str or Path
        Folder of the cached points (``points/<key>.json``).
    config : dict
        Everything besides the cell and the seed that determines the results.
    restart : bool, default False
        Discard every cached point in ``cache_dir`` first.
    n_jobs : int, default 1
        Points evaluated in parallel by the ``"loky"`` backend (joblib's local processes);
        each is cached as soon as it finishes. Ignored by ``"dask"``, which keeps every
        worker thread of the cluster busy.
    progress : bool, default True
        Show a progress bar.
    desc : str, default "sweep"
        The progress bar's label.
    backend : {"loky", "dask"}, optional
        Where the points run: ``"loky"``, this machine (in this process when
        ``n_jobs == 1``), or ``"dask"``, the workers of the Dask cluster at ``scheduler``
        (needs the ``dask`` extra). Default: the backend of the enclosing
        :func:`sweep_backend` block, else ``"loky"``. Results and cache files do not
        depend on it.
    scheduler : str, optional
        The Dask scheduler's address, e.g. ``"tcp://10.0.0.5:8786"``, for
        ``backend="dask"``; default: the enclosing block's, else the environment variable
        ``LOGITREG_DASK_SCHEDULER``. With Dask, ``cache_dir`` must be on a filesystem that
        every worker mounts at the same path (they write the points).
    blas_threads : int or None, default 1
        BLAS threads of each point (see the module docstring); None leaves BLAS as it is.

    Returns
    -------
    list of dict, one record per (cell, seed), cell-major: the cell, ``seed`` and ``fn``'s
    outputs.

    Warns
    -----
    StaleCacheWarning
        Some reused points were computed by another version of the library (their recorded
        :func:`logitreg.io.source_hash` differs, or was not recorded).

    Raises
    ------
    ValueError
        A cached point file is damaged (the message names it); ``backend`` or
        ``scheduler`` is invalid, ``blas_threads`` is not a positive integer, the
        scheduler cannot be reached within 5 s, or a Dask worker cannot see ``cache_dir``.
    ImportError
        ``backend="dask"`` without Dask installed (the message names the extra).
    RuntimeError
        No Dask worker joined within 60 s, or a point killed the workers evaluating it
        again and again (the points finished so far stay cached: rerun to resume).
    """
    if backend is None:
        backend = _context["backend"]
        scheduler = _context["scheduler"] if scheduler is None else scheduler
    backend, scheduler = _check_backend(backend, scheduler)
    if blas_threads is not None:
        check_positive(blas_threads, "blas_threads", integer=True)
    # Absolute: Dask workers do not share this process's working directory.
    cache_dir = Path(cache_dir).absolute()
    config = to_jsonable(config)
    cells = [to_jsonable(c) for c in cells]
    if restart and (cache_dir / "points").exists():
        shutil.rmtree(cache_dir / "points")
    units = [(c, int(s)) for c in cells for s in seeds]
    paths = [point_path(cache_dir, config, c, s) for c, s in units]
    saved = {i: _load_point(p, config, *u) for i, (u, p) in enumerate(zip(units, paths,
                                                                          strict=True))
             if p.exists()}
    source = source_hash()
    _warn_other_source(cache_dir, source, list(saved.values()), len(units))
    done = {i: point["result"] for i, point in saved.items()}
    todo = [i for i in range(len(units)) if i not in done]
    with tqdm(total=len(units), initial=len(done), desc=desc, disable=not progress) as bar:
        if backend == "dask":
            if todo:
                _run_on_dask(scheduler, fn, units, paths, todo, config, source, blas_threads,
                             done, bar)
        elif n_jobs == 1 or len(todo) <= 1:
            for i in todo:
                done[i] = _evaluate(fn, *units[i], paths[i], config, source, blas_threads)
                bar.update(1)
        else:
            from joblib import Parallel, delayed

            jobs = (delayed(_indexed)(i, fn, *units[i], paths[i], config, source, blas_threads)
                    for i in todo)
            for i, result in Parallel(n_jobs=n_jobs, return_as="generator_unordered")(jobs):
                done[i] = result
                bar.update(1)
    return [{**c, "seed": s, **done[i]} for i, (c, s) in enumerate(units)]


def _indexed(i, fn, cell, seed, path, config, source, threads):
    return i, _evaluate(fn, cell, seed, path, config, source, threads)


def _check_backend(backend, scheduler):
    """Validate ``backend`` and resolve the scheduler address: ``(backend, scheduler)``."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}; got backend={backend!r}")
    if backend == "loky":
        if scheduler is not None:
            raise ValueError(f"scheduler={scheduler!r} is used only by backend='dask' "
                             "(--backend dask); got backend='loky'")
        return backend, None
    if importlib.util.find_spec("distributed") is None:
        raise ImportError(_DASK_MISSING)
    scheduler = scheduler or os.environ.get(SCHEDULER_ENV) or None
    if scheduler is None:
        raise ValueError("backend='dask' needs the scheduler's address, e.g. "
                         f"tcp://HOST:8786: give scheduler= (--scheduler) or set {SCHEDULER_ENV} "
                         "(docs/scaling.md starts a cluster)")
    return backend, str(scheduler)


@contextlib.contextmanager
def sweep_backend(backend="loky", scheduler=None):
    """Run every :func:`run_sweep` inside the block on ``backend`` unless it names another.

    With ``backend="dask"`` the block connects to ``scheduler`` once, at its first sweep,
    and closes the connection when it ends (a script's several sweeps share one client).
    Every ``simulations/`` script runs inside one (``--backend``, ``--scheduler``).

    Examples
    --------
    >>> with sweep_backend("dask", "tcp://10.0.0.5:8786"):  # doctest: +SKIP
    ...     a = run_sweep(f, cells, seeds, "out/cache", config=config)  # both on the
    ...     b = run_sweep(g, cells, seeds, "out/cache", config=config)  # cluster, one client
    """
    backend, scheduler = _check_backend(backend, scheduler)
    saved = dict(_context)
    _context.update(backend=backend, scheduler=scheduler, client=None, active=True)
    try:
        yield
    finally:
        client = _context["client"]
        _context.update(saved)
        if client is not None:
            client.close()


@contextlib.contextmanager
def _dask_client(scheduler):
    """The enclosing block's client for ``scheduler``, else a new one closed on exit."""
    if _context["active"] and _context["scheduler"] == scheduler:
        if _context["client"] is None:
            _context["client"] = _connect(scheduler)
        yield _context["client"]
        return
    client = _connect(scheduler)
    try:
        yield client
    finally:
        client.close()


def _connect(scheduler):
    try:
        from distributed import Client
    except ImportError:
        raise ImportError(_DASK_MISSING) from None
    try:
        return Client(scheduler, timeout=_CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as err:
        raise ValueError(
            f"scheduler={scheduler!r} (--scheduler or {SCHEDULER_ENV}): no Dask scheduler "
            f"answered within {_CONNECT_TIMEOUT:g} s ({type(err).__name__}: {err}); start one "
            "(dask scheduler; docs/scaling.md) or correct the address") from None


def _check_workers_share(client, scheduler, points_dir: Path) -> None:
    """Refuse a cache folder that some worker cannot see (its points would be lost)."""
    points_dir.mkdir(parents=True, exist_ok=True)
    probe = points_dir / f".probe-{uuid.uuid4().hex}"
    probe.touch()
    try:
        try:
            client.wait_for_workers(1, timeout=_WORKER_WAIT)
        except TimeoutError:
            raise RuntimeError(
                f"no Dask worker joined the scheduler {scheduler} within {_WORKER_WAIT:g} s: "
                f"start some (dask worker {scheduler}; docs/scaling.md)") from None
        seen = client.run(os.path.exists, str(probe))
    finally:
        probe.unlink(missing_ok=True)
    blind = sorted(w for w, ok in seen.items() if not ok)
    if blind:
        raise ValueError(
            f"cache_dir={points_dir.parent} is not visible to the Dask worker(s) "
            f"{', '.join(blind)}, which write the points there: put it (--out) on a "
            "filesystem every worker mounts at the same path (docs/scaling.md)")


def _run_on_dask(scheduler, fn, units, paths, todo, config, source, threads, done,
                 bar) -> None:
    """Evaluate the points ``todo`` on the Dask cluster, filling ``done`` as they finish.

    One Dask task per point, through distributed's own futures rather than joblib's Dask
    backend: joblib 1.6 waits forever for a task that failed because its workers died
    (KilledWorker), where this raises.
    """
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    with _dask_client(scheduler) as client:
        _check_workers_share(client, scheduler, paths[todo[0]].parent)
        run_id = uuid.uuid4().hex[:8]  # fresh keys: a failed earlier run's may linger
        futures = {client.submit(_evaluate, fn, *units[i], paths[i], config, source, threads,
                                 pure=False,
                                 key=f"sweep_point-{paths[i].stem}-{run_id}"): i
                   for i in todo}
        try:
            for future in as_completed(futures, loop=client.loop):
                i = futures.pop(future)
                try:
                    result = future.result()
                except KilledWorker as err:
                    raise RuntimeError(
                        f"the Dask workers evaluating {units[i][0]}, seed={units[i][1]} kept "
                        f"dying ({err}); the {len(done)} points finished so far are cached in "
                        f"{paths[i].parent}: rerun to evaluate the rest") from None
                if not paths[i].exists():
                    # A worker that joined after the check and cannot see the cache: keep
                    # the point anyway, written here.
                    save_json(paths[i], {"config": config, "cell": units[i][0],
                                         "seed": units[i][1], "result": result,
                                         "source": source})
                done[i] = result
                bar.update(1)
        finally:
            # On an error or an interrupt: drop the queued points (running ones finish and
            # are cached by their workers).
            client.cancel(list(futures))


def summarize(records, by, metrics) -> list[dict]:
    """Mean, std and count over seeds of ``metrics``, grouped by the keys ``by``.

    Mean and std follow :func:`logitreg.io.mean_std`: the sample std over seeds (ddof = 1;
    NaN, written as ``null``, for one seed).
    """
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault(tuple(r[k] for k in by), []).append(r)
    out = []
    for key, rs in groups.items():
        row = dict(zip(by, key, strict=True))
        row["n_seeds"] = len(rs)
        for m in metrics:
            row[f"{m}_mean"], row[f"{m}_std"] = mean_std([r[m] for r in rs])
        out.append(row)
    return out
