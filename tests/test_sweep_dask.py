"""Sweeps on a Dask distributed cluster: the same records and the same cache as on this machine.

Every test talks to a real ``dask.distributed`` cluster started here on loopback (a
scheduler in this process, two worker processes), so the points travel, are evaluated and
written by other processes exactly as on a remote cluster with a shared filesystem.
"""

import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip(
    "distributed", reason="Dask is not installed; pip install -e '.[dev]' (or the 'dask' "
                          "extra) installs it and runs these tests")

from logitreg.sweep import grid, point_path, run_sweep  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIG = {"k": 1}


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes and their scheduler, on 127.0.0.1 only."""
    import logging

    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None,
                                       silence_logs=logging.ERROR)
    try:
        yield cluster
    finally:
        cluster.close()


def _point_fn(evals: Path, sleep=0.0, poison=None, once=False):
    """``fn(a, seed)`` that records each evaluation as a file ``evals/<a>-<seed>-<pid>-<n>``.

    The point ``poison = (a, seed, points_dir)`` kills the worker evaluating it (``os._exit``,
    as a lost node would) once at least two points are cached in ``points_dir``; with
    ``once`` only the first time.
    """
    evals.mkdir(parents=True, exist_ok=True)

    def fn(a, seed):  # a closure: cloudpickle sends it by value, workers need not import tests/
        (evals / f"{a}-{seed}-{os.getpid()}-{time.monotonic_ns()}").touch()
        killed_before = evals.parent / f"{evals.name}.killed"
        if poison is not None and (a, seed) == poison[:2] and not (once and killed_before.exists()):
            deadline = time.monotonic() + 30
            while len(list(poison[2].glob("*.json"))) < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
            killed_before.touch()
            os._exit(1)
        time.sleep(sleep)
        rng = np.random.default_rng([seed, a])
        return {"v": float(rng.normal()),
                "w": float(rng.standard_normal(3) @ rng.standard_normal(3))}

    return fn


def _evaluations(evals: Path) -> Counter:
    """How many times each (a, seed) was evaluated, from the files ``_point_fn`` wrote."""
    return Counter(tuple(int(x) for x in p.name.split("-")[:2]) for p in evals.iterdir())


def _settle(points: Path, quiet=1.0, limit=20.0) -> set[str]:
    """The cached point files once none has appeared for ``quiet`` s (points still running
    on a surviving worker when a sweep stopped finish and are written)."""
    names, t_last, t0 = None, time.monotonic(), time.monotonic()
    while time.monotonic() - t0 < limit:
        now = {p.name for p in points.glob("*.json")}
        if now != names:
            names, t_last = now, time.monotonic()
        elif time.monotonic() - t_last > quiet:
            break
        time.sleep(0.05)
    return names


def test_dask_sweep_equals_the_local_one_and_shares_its_cache(cluster, tmp_path, monkeypatch):
    cells, seeds = grid(a=[1, 2, 3]), [0, 1]
    local = run_sweep(_point_fn(tmp_path / "e-local"), cells, seeds, tmp_path / "local",
                      config=CONFIG, progress=False)
    on_dask = run_sweep(_point_fn(tmp_path / "e-dask"), cells, seeds, tmp_path / "dask",
                        config=CONFIG, progress=False, backend="dask",
                        scheduler=cluster.scheduler_address)
    assert on_dask == local  # exactly the same records, in the same (cell-major) order
    # Each point evaluated once, by the worker processes, not by this one.
    evaluated = list((tmp_path / "e-dask").iterdir())
    assert _evaluations(tmp_path / "e-dask") == Counter((c["a"], s) for c in cells for s in seeds)
    assert os.getpid() not in {int(p.name.split("-")[2]) for p in evaluated}
    # The same cache files, byte for byte: a point does not know which backend computed it.
    local_files = sorted((tmp_path / "local" / "points").glob("*.json"))
    dask_files = sorted((tmp_path / "dask" / "points").glob("*.json"))
    assert [p.name for p in local_files] == [p.name for p in dask_files]
    assert [p.read_bytes() for p in local_files] == [p.read_bytes() for p in dask_files]
    # Switching backend reuses the cache (the scheduler given by the environment variable).
    monkeypatch.setenv("LOGITREG_DASK_SCHEDULER", cluster.scheduler_address)
    again = run_sweep(_point_fn(tmp_path / "e-again"), cells, seeds, tmp_path / "local",
                      config=CONFIG, progress=False, backend="dask")
    assert again == local and not list((tmp_path / "e-again").iterdir())


def test_a_killed_worker_loses_only_its_point_and_a_rerun_completes_the_sweep(cluster, tmp_path):
    cells, seeds = grid(a=[0, 1, 2, 3, 4, 5]), [0, 1]
    units = [(c["a"], s) for c in cells for s in seeds]
    reference = run_sweep(_point_fn(tmp_path / "e-ref"), cells, seeds, tmp_path / "ref",
                          config=CONFIG, progress=False)
    cache = tmp_path / "cache"
    # Dask retries the points of a lost worker `allowed_failures` times; with none allowed
    # the first loss stops the sweep, as a point that keeps killing its workers would.
    saved = cluster.scheduler.allowed_failures
    cluster.scheduler.allowed_failures = 0
    try:
        with pytest.raises(RuntimeError, match=r"finished so far are cached .*: rerun"):
            run_sweep(_point_fn(tmp_path / "e1", sleep=0.2, poison=(1, 0, cache / "points")),
                      cells, seeds, cache, config=CONFIG, progress=False, backend="dask",
                      scheduler=cluster.scheduler_address)
    finally:
        cluster.scheduler.allowed_failures = saved
    cached = _settle(cache / "points", quiet=1.5)
    name = {u: point_path(cache, CONFIG, {"a": u[0]}, u[1]).name for u in units}
    assert name[(1, 0)] not in cached  # lost with its worker
    assert 2 <= len(cached) < len(units)  # the points finished before the loss are kept
    rerun = run_sweep(_point_fn(tmp_path / "e2"), cells, seeds, cache, config=CONFIG,
                      progress=False, backend="dask", scheduler=cluster.scheduler_address)
    assert rerun == reference
    # The rerun evaluated exactly the points missing from the cache, each once.
    assert _evaluations(tmp_path / "e2") == Counter(u for u in units if name[u] not in cached)


def test_a_worker_lost_once_is_retried_within_the_same_sweep(cluster, tmp_path):
    cells, seeds = grid(a=[0, 1, 2]), [0, 1]
    reference = run_sweep(_point_fn(tmp_path / "e-ref"), cells, seeds, tmp_path / "ref",
                          config=CONFIG, progress=False)
    cache = tmp_path / "cache"
    fn = _point_fn(tmp_path / "e", sleep=0.1, poison=(2, 1, cache / "points"), once=True)
    recs = run_sweep(fn, cells, seeds, cache, config=CONFIG, progress=False, backend="dask",
                     scheduler=cluster.scheduler_address)
    assert recs == reference
    counts = _evaluations(tmp_path / "e")
    assert counts[(2, 1)] == 2  # killed once, then evaluated on a live worker
    assert all(n == 1 for u, n in counts.items() if u != (2, 1))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_scheduler_is_named_within_seconds(tmp_path):
    address = f"tcp://127.0.0.1:{_free_port()}"  # nothing listens there
    t0 = time.monotonic()
    with pytest.raises(ValueError, match=r"--scheduler .*no Dask scheduler answered within"):
        run_sweep(lambda a, seed: {"v": 1}, grid(a=[1]), [0], tmp_path, config={},
                  progress=False, backend="dask", scheduler=address)
    assert time.monotonic() - t0 < 15  # the 5 s connect timeout, not distributed's 30 s
    assert not list((tmp_path / "points").glob("*.json"))


def _fig10(out: Path, *flags, check=True):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # the workers run single-threaded BLAS too
    return subprocess.run([sys.executable, str(ROOT / "simulations/fig10.py"), "--quick",
                           "--out", str(out), *flags], capture_output=True, text=True,
                          timeout=120, check=check, env=env, cwd=ROOT)


def test_a_simulation_script_on_dask_writes_the_local_result(cluster, tmp_path):
    _fig10(tmp_path / "local")
    _fig10(tmp_path / "dask", "--backend", "dask", "--scheduler", cluster.scheduler_address)
    local, on_dask = (json.loads((tmp_path / d / "fig10.json").read_text())
                      for d in ("local", "dask"))
    assert local.pop("meta")["utc"] and on_dask.pop("meta")["utc"]  # provenance, time: differ
    assert on_dask == local  # config, records and summary, exactly
    assert not {"backend", "scheduler", "jobs"} & set(on_dask["config"])
    assert sorted(p.name for p in (tmp_path / "local/cache/points").glob("*.json")) == \
        sorted(p.name for p in (tmp_path / "dask/cache/points").glob("*.json"))


def test_a_script_names_the_unreachable_scheduler_flag(tmp_path):
    res = _fig10(tmp_path / "x", "--backend", "dask", "--scheduler",
                 f"tcp://127.0.0.1:{_free_port()}", check=False)
    assert res.returncode == 2
    (line,) = [ln for ln in res.stderr.splitlines() if "error:" in ln]
    assert line.startswith("fig10.py: error:") and "--scheduler" in line


def test_a_cache_folder_some_worker_cannot_see_is_refused_by_name(tmp_path):
    from logitreg.sweep import _check_workers_share

    class Client:  # a cluster whose second worker mounts another filesystem
        def wait_for_workers(self, n, timeout):
            pass

        def run(self, fn, path):
            return {"tcp://node1:1": fn(path), "tcp://node2:1": False}

    with pytest.raises(ValueError, match=r"not visible to the Dask worker\(s\) tcp://node2:1.*"
                                         r"--out.*filesystem every worker mounts"):
        _check_workers_share(Client(), "tcp://s:1", tmp_path / "cache" / "points")
    assert not list((tmp_path / "cache" / "points").iterdir())  # the probe is removed


def test_an_error_in_a_point_reaches_the_caller_with_its_type(cluster, tmp_path):
    def fn(a, seed):
        if a == 2:
            raise FloatingPointError(f"diverged at a={a}")
        return {"v": a}

    with pytest.raises(FloatingPointError, match="diverged at a=2"):
        run_sweep(fn, grid(a=[1, 2]), [0], tmp_path, config={}, progress=False,
                  backend="dask", scheduler=cluster.scheduler_address)
    # The command maps it to its exit status as on the local backend; a rerun skips a=1.
    assert len(_settle(tmp_path / "points", quiet=0.3)) == 1
