"""The peer benchmarks of bench/ run, write their JSON, and compare like with like."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

import logitreg

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def solver_peers():
    pytest.importorskip("sklearn")
    return _load("solver_peers")


def test_sklearn_solves_our_weight_penalised_problem(solver_peers):
    """C = 1/(N l2): each solution is optimal, to 1e-9, in the other's objective."""
    X, y = logitreg.signal_plus_noise(300, 40, rng=1)
    l2 = 0.03
    w_ours = logitreg.fit(X, y, 0.0, l2=l2).w
    w_sk = solver_peers.sklearn_fit(X, y, solver_peers.sklearn_C(len(y), l2), "lbfgs")
    check = solver_peers.check_same_problem(X, y, l2, w_ours, w_sk)
    # Both gaps are differences of optima, second order in the solvers' tolerances: 1e-9 is
    # the bar, far above what tol = 1e-10 / 1e-12 leaves.
    assert abs(check["ours_at_sklearn"]) <= 1e-9 and abs(check["sklearn_at_ours"]) <= 1e-9
    # The two objectives are one problem up to the factor l2: F_sk = F_ours / l2.
    np.testing.assert_allclose(check["objective_sklearn"] * l2, check["objective_ours"],
                               rtol=1e-9)


@pytest.mark.parametrize("wrong_C", [lambda n, l2: 1.0 / l2, lambda n, l2: n / l2,
                                     lambda n, l2: 2.0 / (n * l2)])
def test_the_check_fails_for_a_wrong_C(solver_peers, wrong_C):
    X, y = logitreg.signal_plus_noise(300, 40, rng=1)
    l2 = 0.03
    C = wrong_C(len(y), l2)
    w_ours = logitreg.fit(X, y, 0.0, l2=l2).w
    w_sk = solver_peers.sklearn_fit(X, y, C, "lbfgs")
    with pytest.raises(RuntimeError, match="do not solve the same problem"):
        solver_peers.check_same_problem(X, y, l2, w_ours, w_sk, C=C)


def test_solver_peers_smoke(solver_peers, tmp_path):
    pytest.importorskip("cvxpy")
    out = tmp_path / "s.json"
    solver_peers.main(["--smoke", "--out", str(out), "--plot", str(tmp_path / "s.png")])
    res = json.loads(out.read_text())
    assert {"benchmark", "machine", "cells", "argv"} <= set(res)
    assert (tmp_path / "s.png").stat().st_size > 0
    for cell in res["cells"]:
        assert {"check_sklearn_lbfgs", "check_sklearn_newton_cholesky"} <= set(cell)
        for m in ("newton", "fisher", "cvxpy", "newton_l2", "sklearn_lbfgs",
                  "sklearn_newton_cholesky"):
            for th in (1, 2):
                s = cell["summary"][f"{m}@{th}"]
                assert s["median_s"] > 0 and s["ratio_to_newton"] > 0


def test_dynamics_peers_smoke(tmp_path):
    pytest.importorskip("torch")
    dyn = _load("dynamics_peers")
    out = tmp_path / "d.json"
    dyn.main(["--smoke", "--no-cuda", "--out", str(out), "--plot", str(tmp_path / "d.png")])
    res = json.loads(out.read_text())
    assert {"summary", "runs", "overhead_s", "not_measured", "machine"} <= set(res)
    cells = {(s["R"], s["backend"], s["mode"]) for s in res["summary"]}
    assert cells == {(R, b, m) for R in (1, 2) for b in ("numpy", "torch")
                     for m in ("batched", "sequential")}
    assert all(s["run_steps_per_s"] > 0 for s in res["summary"])
    assert "torch cuda" in res["not_measured"]


def test_sweep_backends_smoke(tmp_path):
    sb = _load("sweep_backends")
    out = tmp_path / "w.json"
    # Joblib only: the Dask cluster's start-up alone is seconds (tests/test_sweep_dask.py
    # covers the Dask backend); the script's Dask path is exercised by its own runs.
    sb.main(["--smoke", "--no-dask", "--out", str(out), "--plot", str(tmp_path / "w.png")])
    res = json.loads(out.read_text())
    assert set(res["summary"]) == {"loky-1", "loky-2"}
    assert res["records_identical"] and res["not_measured"] == {"dask": "--no-dask"}
    assert all(s["median_s"] > 0 and s["speedup_vs_loky1"] > 0
               for s in res["summary"].values())


def test_deep_analysis_cost_smoke(tmp_path):
    pytest.importorskip("torch")
    dac = _load("deep_analysis_cost")
    out = tmp_path / "a.json"
    dac.main(["--smoke", "--no-cuda", "--out", str(out)])
    res = json.loads(out.read_text())
    assert {"benchmark", "argv", "setting", "machine", "results", "summary",
            "not_measured"} <= set(res)
    assert res["not_measured"] == {"cuda": "--no-cuda"}
    stages = res["results"]["cpu"]["stages"]
    assert set(stages) == set(dac.STAGES)
    assert {"features", "min_loss_centers"} <= set(stages["geometry"])
    assert {"fgsm", "pgd_strong", "pgd_weak"} <= set(stages["attacks"])
    for parts in stages.values():
        for t in parts.values():
            assert t["median_s"] > 0
            assert t["per_10k_s"] == pytest.approx(t["median_s"] * 1e4 / res["setting"]["n"])
