"""Resumable sweeps, and the converged-geometry simulation built on them."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from logitreg.experiments import converged_geometry
from logitreg.sweep import SCHEDULER_ENV, grid, run_sweep, summarize, sweep_backend

ROOT = Path(__file__).resolve().parents[1]


def test_grid_is_the_cartesian_product():
    assert grid(a=[1, 2], b=["x"]) == [{"a": 1, "b": "x"}, {"a": 2, "b": "x"}]
    # Row-major order, the first axis slowest (itertools.product's), every pair exactly once.
    assert grid(a=[1, 2], b=["x", "y", "z"]) == [
        {"a": a, "b": b} for a in (1, 2) for b in ("x", "y", "z")]


def test_interrupted_sweep_resumes_without_recomputing(tmp_path):
    calls = []

    def fn(a, seed):
        calls.append((a, seed))
        if len(calls) == 3 and not resumed:
            raise KeyboardInterrupt  # killed in the middle of the third evaluation
        return {"v": a * 10 + seed}

    cache, cells, seeds = tmp_path / "cache", grid(a=[1, 2]), [0, 1]
    resumed = False
    with pytest.raises(KeyboardInterrupt):
        run_sweep(fn, cells, seeds, cache, config={"k": 1}, progress=False)
    assert len(list((cache / "points").glob("*.json"))) == 2  # two finished, cached
    resumed = True
    calls.clear()
    recs = run_sweep(fn, cells, seeds, cache, config={"k": 1}, progress=False)
    assert calls == [(2, 0), (2, 1)]  # only the unfinished ones
    assert [r["v"] for r in recs] == [10, 11, 20, 21]


def test_a_changed_config_never_reuses_a_point_and_restart_discards_them(tmp_path):
    cache, calls = tmp_path / "cache", []

    def fn(a, seed, v=1):
        calls.append(v)
        return {"v": v}

    run_sweep(fn, grid(a=[1]), [0], cache, config={"k": 1}, progress=False)
    recs = run_sweep(lambda a, seed: fn(a, seed, 2), grid(a=[1]), [0], cache,
                     config={"k": 2}, progress=False)
    assert recs[0]["v"] == 2 and calls == [1, 2]  # recomputed under the new config
    # the first config's point is still cached: rerunning it computes nothing
    assert run_sweep(fn, grid(a=[1]), [0], cache, config={"k": 1}, progress=False)[0]["v"] == 1
    assert calls == [1, 2]
    run_sweep(fn, grid(a=[1]), [0], cache, config={"k": 1}, restart=True, progress=False)
    assert calls == [1, 2, 1] and len(list((cache / "points").glob("*.json"))) == 1


def test_parallel_sweep_equals_the_serial_one_and_caches_every_point(tmp_path):
    cells, seeds = grid(a=[0.1, 0.5], b=[1, 2]), [0, 1, 2]

    def fn(a, b, seed):
        return {"v": float(np.random.default_rng(seed).normal() * a + b)}

    serial = run_sweep(fn, cells, seeds, tmp_path / "s", config={}, progress=False)
    parallel = run_sweep(fn, cells, seeds, tmp_path / "p", config={}, n_jobs=2, progress=False)
    assert parallel == serial  # same records, in the same (cell-major) order
    assert len(list((tmp_path / "p" / "points").glob("*.json"))) == len(cells) * len(seeds)


def test_points_of_other_library_code_are_reused_with_a_warning(tmp_path, monkeypatch):
    """Each point records the library's source hash; reusing points of another source (or
    of none, written before it was recorded) warns, naming how many and the way out."""
    import warnings

    import logitreg.sweep as sweep_mod
    from logitreg.io import source_hash
    from logitreg.sweep import StaleCacheWarning

    cache, cells, calls = tmp_path / "cache", grid(a=[1, 2]), []

    def fn(a, seed):
        calls.append(a)
        return {"v": a}

    run_sweep(fn, cells, [0], cache, config={}, progress=False)
    points = sorted((cache / "points").glob("*.json"))
    assert {json.loads(p.read_text())["source"] for p in points} == {source_hash()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same code: silent
        run_sweep(fn, cells, [0], cache, config={}, progress=False)
    monkeypatch.setattr(sweep_mod, "source_hash", lambda: "feedfacecafe")
    with pytest.warns(StaleCacheWarning, match=r"reused 2 of 3 cached points .* \(2 from "
                      + source_hash() + r"; this library's source is feedfacecafe\).*--restart"):
        recs = run_sweep(fn, grid(a=[1, 2, 3]), [0], cache, config={}, progress=False)
    assert [r["v"] for r in recs] == [1, 2, 3] and calls == [1, 2, 3]  # reused, not rerun
    old = json.loads(points[0].read_text())
    del old["source"]  # a point written before the source was recorded
    points[0].write_text(json.dumps(old))
    with pytest.warns(StaleCacheWarning, match=r"1 from unrecorded"):
        run_sweep(fn, cells, [0], cache, config={}, progress=False)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_points_run_with_one_blas_thread_unless_told_otherwise(tmp_path, n_jobs):
    """Every point sees one BLAS thread, in this process or in a joblib worker, so that a
    point's numbers do not depend on n_jobs; blas_threads=None leaves BLAS alone."""
    from threadpoolctl import threadpool_info

    def fn(a, seed):
        return {"threads": max(i["num_threads"] for i in threadpool_info()
                               if i["user_api"] == "blas")}

    cells = grid(a=[1, 2])
    recs = run_sweep(fn, cells, [0], tmp_path / "one", config={}, progress=False,
                     n_jobs=n_jobs)
    assert [r["threads"] for r in recs] == [1, 1]
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=2, user_api="blas"):  # 2 whatever this machine's default
        recs = run_sweep(fn, cells, [0], tmp_path / "any", config={}, progress=False,
                         blas_threads=None)
        assert [r["threads"] for r in recs] == [2, 2]
        recs = run_sweep(fn, cells, [0], tmp_path / "three", config={}, progress=False,
                         blas_threads=3)
        assert [r["threads"] for r in recs] == [3, 3]
    with pytest.raises(ValueError, match=r"blas_threads must be > 0; got blas_threads=0"):
        run_sweep(fn, cells, [0], tmp_path / "zero", config={}, blas_threads=0)


def test_source_hash_follows_the_python_sources_only(tmp_path):
    from logitreg.io import source_hash

    (tmp_path / "sub").mkdir()
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "sub" / "b.py").write_text("y = 2\n")
    first = source_hash(tmp_path)
    assert len(first) == 12 and source_hash(tmp_path) == first
    (tmp_path / "notes.md").write_text("docs do not count")
    assert source_hash(tmp_path) == first
    (tmp_path / "sub" / "b.py").write_text("y = 3\n")
    assert source_hash(tmp_path) != first
    (tmp_path / "sub" / "b.py").write_text("y = 2\n")
    (tmp_path / "sub" / "b.py").rename(tmp_path / "sub" / "c.py")  # a moved file counts
    assert source_hash(tmp_path) != first


def test_a_damaged_point_is_refused_by_name(tmp_path):
    run_sweep(lambda a, seed: {"v": 1}, grid(a=[1]), [0], tmp_path, config={}, progress=False)
    (point,) = (tmp_path / "points").glob("*.json")
    point.write_text("{")
    with pytest.raises(ValueError, match=rf"{point.name} is not a readable sweep point"):
        run_sweep(lambda a, seed: {"v": 1}, grid(a=[1]), [0], tmp_path, config={},
                  progress=False)


def test_summarize_reports_mean_std_and_seed_count():
    recs = [{"a": 1, "seed": s, "v": float(s)} for s in range(4)]
    recs += [{"a": 2, "seed": 0, "v": 5.0}]
    recs += [{"a": 3, "seed": s, "v": v} for s, v in enumerate([2.0, 4.0, 4.0, 4.0, 5.0, 5.0,
                                                                7.0, 9.0])]
    rows = {row["a"]: row for row in summarize(recs, ["a"], ["v"])}
    assert [rows[a]["n_seeds"] for a in (1, 2, 3)] == [4, 1, 8]
    # Closed forms: 0..3 has mean 3/2 and sample variance (sum of squared deviations 5)/3.
    assert rows[1]["v_mean"] == pytest.approx(1.5, rel=1e-15)
    assert rows[1]["v_std"] == pytest.approx(np.sqrt(5 / 3), rel=1e-15)
    # The textbook set 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squared deviations sum to 32, so the
    # sample (ddof = 1) std is sqrt(32/7) (the population std would be exactly 2).
    assert rows[3]["v_mean"] == pytest.approx(5.0, rel=1e-15)
    assert rows[3]["v_std"] == pytest.approx(np.sqrt(32 / 7), rel=1e-15)
    # One seed: the std is undefined, NaN (the project's one convention), not 0.
    assert rows[2]["v_mean"] == 5.0 and np.isnan(rows[2]["v_std"])


def test_converged_geometry_is_deterministic_in_the_seed():
    a = converged_geometry(lam=0.5, alpha=0.3, sigma_f=0.5, n=200, seed=4)
    b = converged_geometry(lam=0.5, alpha=0.3, sigma_f=0.5, n=200, seed=4)
    c = converged_geometry(lam=0.5, alpha=0.3, sigma_f=0.5, n=200, seed=5)
    assert a == b and a != c
    assert a["converged"] and a["cos_fisher"] > 0.999


def test_converged_geometry_script_quick_writes_summary_with_seeds(tmp_path):
    import logitreg as lr

    out = tmp_path / "cg"
    subprocess.run([sys.executable, str(ROOT / "simulations/converged_geometry.py"), "--quick",
                    "--out", str(out)], check=True, capture_output=True, timeout=120)
    res = json.loads((out / "converged_geometry.json").read_text())
    assert res["config"]["seed_list"] == [0, 1]
    assert res["meta"]["logitreg_version"] == lr.__version__
    # --quick: 2 lambdas x 2 alphas x 1 sigma_f, 2 seeds each.
    assert len(res["summary"]) == 4 and len(res["records"]) == 8
    row = res["summary"][0]
    assert row["n_seeds"] == 2 and {"test_acc_mean", "test_acc_std", "cos_e1_mean"} <= set(row)
    # Each record is the unit of work run in this process with the same cell and seed (the
    # script passes n and the seed through), and the row is the mean of its two records.
    cell = {k: row[k] for k in ("lam", "alpha", "sigma_f")}
    recs = [r for r in res["records"] if all(r[k] == v for k, v in cell.items())]
    assert sorted(r["seed"] for r in recs) == [0, 1]
    for r in recs:
        direct = converged_geometry(**cell, n=200, seed=r["seed"])
        assert r["test_acc"] == pytest.approx(direct["test_acc"], rel=1e-12)
        assert r["cos_e1"] == pytest.approx(direct["cos_e1"], rel=1e-12)
    assert row["test_acc_mean"] == pytest.approx((recs[0]["test_acc"] + recs[1]["test_acc"]) / 2,
                                                 rel=1e-12)
    assert row["test_acc_std"] == pytest.approx(abs(recs[0]["test_acc"] - recs[1]["test_acc"])
                                                / np.sqrt(2), rel=1e-9)  # ddof-1 std of two


def test_backend_and_scheduler_are_checked_by_name(tmp_path, monkeypatch):
    def sweep(**kw):
        return run_sweep(lambda a, seed: {"v": 1}, grid(a=[1]), [0], tmp_path, config={},
                         progress=False, **kw)

    with pytest.raises(ValueError, match=r"backend must be one of \('loky', 'dask'\); "
                                         r"got backend='ray'"):
        sweep(backend="ray")
    with pytest.raises(ValueError, match=r"scheduler='tcp://h:1' is used only by "
                                         r"backend='dask'"):
        sweep(backend="loky", scheduler="tcp://h:1")
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    if importlib.util.find_spec("distributed") is not None:
        with pytest.raises(ValueError, match=rf"needs the scheduler's address.*--scheduler.*"
                                             rf"{SCHEDULER_ENV}"):
            sweep(backend="dask")
    # Without Dask installed: an ImportError naming the flag and the extra to install.
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "distributed" else real(name, *a))
    with pytest.raises(ImportError, match=r"--backend dask.*pip install 'logitreg\[dask\]'"):
        sweep(backend="dask", scheduler="tcp://h:1")
    assert not list(tmp_path.glob("points/*.json"))  # nothing ran


def test_sweep_backend_sets_the_default_backend_for_its_block_only(tmp_path):
    calls = []

    def fn(a, seed):
        calls.append(a)
        return {"v": a}

    with sweep_backend("loky"):
        assert run_sweep(fn, grid(a=[1]), [0], tmp_path, config={}, progress=False) == [
            {"a": 1, "seed": 0, "v": 1}]
    with pytest.raises(ValueError, match="backend must be one of"):
        with sweep_backend("ray"):
            pass
    # A block's error leaves the defaults as they were: loky, in this process.
    assert run_sweep(fn, grid(a=[2]), [0], tmp_path, config={}, progress=False)[0]["v"] == 2
    assert calls == [1, 2]


def test_import_loads_no_dask():
    """Dask is optional and heavy (~0.5 s): only a Dask sweep imports it."""
    code = ("import sys, logitreg, logitreg.sweep, logitreg.cli; "
            "print([m for m in ('dask', 'distributed') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    assert out.strip() == "[]"
