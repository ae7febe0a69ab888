"""Resumable parameter sweeps with per-seed results and mean +- std summaries.

A sweep evaluates ``fn(**cell, seed=seed) -> dict[str, float]`` on every ``(cell, seed)`` of
a grid. After each evaluation the partial results are written atomically to a checkpoint
file; rerunning with the same config skips what is already there, so an interrupted sweep
resumes instead of starting over. A checkpoint written under a different config is refused
(pass ``restart=True`` to discard it). ``n_jobs > 1`` evaluates cells with joblib.

The unit of work, one ``(cell, seed)``, is what a distributed backend would schedule.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from tqdm.auto import tqdm

from .io import check_same_config, load_json, mean_std, save_json, to_jsonable

__all__ = ["grid", "run_sweep", "summarize"]


def grid(**axes) -> list[dict]:
    """Cartesian product of named axes: ``grid(a=[1, 2], b=[3])`` -> ``[{a:1,b:3}, {a:2,b:3}]``."""
    names = list(axes)
    return [dict(zip(names, vals, strict=True)) for vals in itertools.product(*axes.values())]


def _key(cell: dict, seed: int) -> str:
    return json.dumps(to_jsonable({**cell, "seed": seed}), sort_keys=True)


def run_sweep(fn, cells, seeds, checkpoint, *, config, restart=False, n_jobs=1,
              progress=True, desc="sweep") -> list[dict]:
    """Evaluate ``fn`` on every (cell, seed), resuming from ``checkpoint``.

    Parameters
    ----------
    fn : callable
        ``fn(**cell, seed=seed)`` returns a dict of JSON-able scalars.
    cells : list of dict
    seeds : list of int
    checkpoint : str or Path
        JSON file holding ``{"config": ..., "records": [...]}``, rewritten atomically after
        every evaluation.
    config : dict
        Everything that determines the results; a checkpoint with another config is refused.
    restart : bool, default False
        Discard an existing checkpoint instead of resuming from it.
    n_jobs : int, default 1
        Parallel evaluations (joblib); results are checkpointed as batches of ``n_jobs`` finish.

    Returns
    -------
    list of dict, one record per (cell, seed): the cell, ``seed`` and ``fn``'s outputs.
    """
    checkpoint = Path(checkpoint)
    config = to_jsonable(config)
    done: dict[str, dict] = {}
    if checkpoint.exists() and not restart:
        try:
            saved = load_json(checkpoint)
            saved["records"], saved.get("config", {})
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ValueError(
                f"checkpoint={str(checkpoint)!r} is not a readable sweep checkpoint "
                f"({type(err).__name__}: {err}): expected the JSON an earlier run of this "
                "sweep wrote; delete it, or restart=True (--restart) to discard it") from None
        check_same_config(saved.get("config", {}), config, where=f"checkpoint={str(checkpoint)!r}",
                          hint="use a new output directory, or restart=True (--restart) to "
                          "discard it")
        done = {_key({k: r[k] for k in r["_cell"]}, r["seed"]): r for r in saved["records"]}
    todo = [(c, s) for c in cells for s in seeds if _key(c, s) not in done]

    def record(cell, seed, out):
        return {**cell, "seed": seed, **out, "_cell": sorted(cell)}

    bar = tqdm(total=len(cells) * len(seeds), initial=len(done), desc=desc, disable=not progress)
    batch = max(1, int(n_jobs))
    for i in range(0, len(todo), batch):
        chunk = todo[i : i + batch]
        if batch == 1:
            outs = [fn(**chunk[0][0], seed=chunk[0][1])]
        else:
            from joblib import Parallel, delayed

            outs = Parallel(n_jobs=batch)(delayed(fn)(**c, seed=s) for c, s in chunk)
        for (c, s), out in zip(chunk, outs, strict=True):
            done[_key(c, s)] = to_jsonable(record(c, s, out))
        save_json(checkpoint, {"config": config, "records": list(done.values())})
        bar.update(len(chunk))
    bar.close()
    return [done[_key(c, s)] for c in cells for s in seeds]


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
