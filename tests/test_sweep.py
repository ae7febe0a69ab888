"""Resumable sweeps, and the converged-geometry simulation built on them."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from logitreg.experiments import converged_geometry
from logitreg.sweep import grid, run_sweep, summarize

ROOT = Path(__file__).resolve().parents[1]


def test_grid_is_the_cartesian_product():
    assert grid(a=[1, 2], b=["x"]) == [{"a": 1, "b": "x"}, {"a": 2, "b": "x"}]


def test_interrupted_sweep_resumes_without_recomputing(tmp_path):
    calls = []

    def fn(a, seed):
        calls.append((a, seed))
        if len(calls) == 3 and not resumed:
            raise KeyboardInterrupt  # killed in the middle of the third evaluation
        return {"v": a * 10 + seed}

    ckpt, cells, seeds = tmp_path / "ck.json", grid(a=[1, 2]), [0, 1]
    resumed = False
    with pytest.raises(KeyboardInterrupt):
        run_sweep(fn, cells, seeds, ckpt, config={"k": 1}, progress=False)
    assert len(json.loads(ckpt.read_text())["records"]) == 2  # two finished, saved
    resumed = True
    calls.clear()
    recs = run_sweep(fn, cells, seeds, ckpt, config={"k": 1}, progress=False)
    assert calls == [(2, 0), (2, 1)]  # only the unfinished ones
    assert [r["v"] for r in recs] == [10, 11, 20, 21]


def test_checkpoint_from_another_config_is_refused(tmp_path):
    ckpt = tmp_path / "ck.json"
    run_sweep(lambda a, seed: {"v": 1}, grid(a=[1]), [0], ckpt, config={"k": 1}, progress=False)
    with pytest.raises(ValueError, match="another config"):
        run_sweep(lambda a, seed: {"v": 1}, grid(a=[1]), [0], ckpt, config={"k": 2},
                  progress=False)
    recs = run_sweep(lambda a, seed: {"v": 2}, grid(a=[1]), [0], ckpt, config={"k": 2},
                     restart=True, progress=False)
    assert recs[0]["v"] == 2


def test_summarize_reports_mean_std_and_seed_count():
    recs = [{"a": 1, "seed": s, "v": float(s)} for s in range(4)]
    (row,) = summarize(recs, ["a"], ["v"])
    assert row["n_seeds"] == 4
    assert row["v_mean"] == pytest.approx(1.5)
    assert row["v_std"] == pytest.approx(np.std([0, 1, 2, 3], ddof=1))


def test_converged_geometry_is_deterministic_in_the_seed():
    a = converged_geometry(lam=0.5, alpha=0.3, sigma_f=0.5, n=200, seed=4)
    b = converged_geometry(lam=0.5, alpha=0.3, sigma_f=0.5, n=200, seed=4)
    c = converged_geometry(lam=0.5, alpha=0.3, sigma_f=0.5, n=200, seed=5)
    assert a == b and a != c
    assert a["converged"] and a["cos_fisher"] > 0.999


def test_converged_geometry_script_quick_writes_summary_with_seeds(tmp_path):
    out = tmp_path / "cg"
    subprocess.run([sys.executable, str(ROOT / "simulations/converged_geometry.py"), "--quick",
                    "--out", str(out)], check=True, capture_output=True, timeout=120)
    res = json.loads((out / "converged_geometry.json").read_text())
    assert res["config"]["seed_list"] == [0, 1]
    assert res["meta"]["logitreg_version"]
    row = res["summary"][0]
    assert row["n_seeds"] == 2 and {"test_acc_mean", "test_acc_std", "cos_e1_mean"} <= set(row)
