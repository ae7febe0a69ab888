"""Resumable parameter sweeps: one cached file per unit of work, mean +- std summaries.

A sweep evaluates ``fn(**cell, seed=seed) -> dict`` (JSON-able scalars) on every
``(cell, seed)`` of a grid. Each evaluation is one unit of work, cached as its own file
``<cache_dir>/points/<key>.json`` where the key hashes the sweep's ``config``, the cell and
the seed (:func:`logitreg.io.config_key`); the file is written atomically by whoever
evaluated the point, so a sweep killed at any moment loses at most the points in flight,
and a rerun skips every point already on disk. A changed ``config`` gives other keys, so it
never reuses a point computed under another configuration. ``n_jobs > 1`` evaluates points
in parallel through joblib (any joblib backend, e.g. Dask's, can take them: each point
writes its own file).
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

from tqdm.auto import tqdm

from .io import config_key, load_json, mean_std, save_json, to_jsonable

__all__ = ["grid", "point_path", "run_sweep", "summarize"]


def grid(**axes) -> list[dict]:
    """Cartesian product of named axes: ``grid(a=[1, 2], b=[3])`` -> ``[{a:1,b:3}, {a:2,b:3}]``."""
    names = list(axes)
    return [dict(zip(names, vals, strict=True)) for vals in itertools.product(*axes.values())]


def point_path(cache_dir, config: dict, cell: dict, seed: int) -> Path:
    """The cache file of one unit of work."""
    key = config_key({"config": config, "cell": cell, "seed": seed})
    return Path(cache_dir) / "points" / f"{key}.json"


def _load_point(path: Path, config, cell, seed):
    try:
        saved = load_json(path)
        ok = (saved["config"], saved["cell"], saved["seed"]) == (config, cell, seed)
        result = saved["result"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path} is not a readable sweep point ({type(err).__name__}: {err}): "
                         "expected the JSON a run of this sweep wrote; delete it to recompute "
                         "that point, or restart=True (--restart) to discard the cache") from None
    if not ok:
        raise ValueError(f"{path} holds another point than its name says: delete it to "
                         "recompute that point, or restart=True (--restart)")
    return result


def _evaluate(fn, cell, seed, path: Path, config) -> dict:
    """Evaluate one point and cache it (runs in the worker that evaluated it)."""
    result = to_jsonable(fn(**cell, seed=seed))
    save_json(path, {"config": config, "cell": cell, "seed": seed, "result": result})
    return result


def run_sweep(fn, cells, seeds, cache_dir, *, config, restart=False, n_jobs=1,
              progress=True, desc="sweep") -> list[dict]:
    """Evaluate ``fn`` on every (cell, seed), reusing the points cached in ``cache_dir``.

    Parameters
    ----------
    fn : callable
        ``fn(**cell, seed=seed)`` returns a dict of JSON-able scalars. With ``n_jobs > 1``
        it must be picklable by joblib (closures and lambdas are, through cloudpickle).
    cells : list of dict
    seeds : list of int
    cache_dir : str or Path
        Folder of the cached points (``points/<key>.json``).
    config : dict
        Everything besides the cell and the seed that determines the results.
    restart : bool, default False
        Discard every cached point in ``cache_dir`` first.
    n_jobs : int, default 1
        Points evaluated in parallel (joblib); each is cached as soon as it finishes.

    Returns
    -------
    list of dict, one record per (cell, seed), cell-major: the cell, ``seed`` and ``fn``'s
    outputs.

    Raises
    ------
    ValueError
        A cached point file is damaged (the message names it).
    """
    cache_dir = Path(cache_dir)
    config = to_jsonable(config)
    cells = [to_jsonable(c) for c in cells]
    if restart and (cache_dir / "points").exists():
        shutil.rmtree(cache_dir / "points")
    units = [(c, int(s)) for c in cells for s in seeds]
    paths = [point_path(cache_dir, config, c, s) for c, s in units]
    done = {i: _load_point(p, config, *u) for i, (u, p) in enumerate(zip(units, paths,
                                                                         strict=True))
            if p.exists()}
    todo = [i for i in range(len(units)) if i not in done]
    with tqdm(total=len(units), initial=len(done), desc=desc, disable=not progress) as bar:
        if n_jobs == 1 or len(todo) <= 1:
            for i in todo:
                done[i] = _evaluate(fn, *units[i], paths[i], config)
                bar.update(1)
        else:
            from joblib import Parallel, delayed

            jobs = (delayed(_indexed)(i, fn, *units[i], paths[i], config) for i in todo)
            for i, result in Parallel(n_jobs=n_jobs, return_as="generator_unordered")(jobs):
                done[i] = result
                bar.update(1)
    return [{**c, "seed": s, **done[i]} for i, (c, s) in enumerate(units)]


def _indexed(i, fn, cell, seed, path, config):
    return i, _evaluate(fn, cell, seed, path, config)


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
