"""The converged-solution figures (Figs. 13, 16, 17, 6, 15 and the lambda-alpha map): their
units of work, their --quick runs and each figure's key claim, resumption, and the plots."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

import logitreg as lr
from logitreg.experiments import (
    converged_geometry,
    gd_endpoint,
    gd_from,
    helps_hurts_boundary,
    helps_hurts_table,
    initial_weights,
    paper_verdict,
    start_rng,
)
from logitreg.losses import LinearObjective, make_loss

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = {"figure", "quantity", "setting", "paper", "ours_mean", "ours_std", "n_seeds",
           "theory", "verdict", "note"}


def _script(name):
    path = ROOT / "simulations" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"sim_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """Each script's --quick result, run once in this process."""
    root = tmp_path_factory.mktemp("quick")
    out = {}
    for name in ("fig13", "fig16", "fig17", "fig06_15", "lambda_alpha_map"):
        assert _script(name).main(["--quick", "--out", str(root / name)]) == 0
        out[name] = json.loads((root / name / f"{name}.json").read_text())
    return out


def _rows(summary, **match):
    return [r for r in summary if all(r[k] == v for k, v in match.items())]


# ------------------------------------------------------------------ library: units of work


def test_initial_weights_have_pytorchs_and_gds_distributions():
    rng = np.random.default_rng(0)
    d = 40_000
    u = initial_weights(d, "uniform", rng)
    assert np.all(np.abs(u) <= 1 / np.sqrt(d))
    # U(-b, b) has variance b^2/3 (b = 1/sqrt d); 4e4 draws: relative error ~1%, so 5%
    assert np.var(u) * d == pytest.approx(1 / 3, rel=0.05)
    assert np.var(initial_weights(d, "normal", rng)) * d == pytest.approx(1.0, rel=0.05)
    assert not np.any(initial_weights(5, "zero", rng))
    with pytest.raises(ValueError, match=r"unknown init='xavier'; expected one of"):
        initial_weights(5, "xavier", rng)


@pytest.mark.parametrize("method, atol", [("gd", 1e-13), ("flow", 1e-4)])
def test_gd_from_a_start_is_gradient_descent_from_that_start(method, atol):
    """The rotated, rescaled run of logitreg.gd maps back to plain GD from w0 (exactly for
    GD, to the flow's O(eta) distance from GD, measured 7e-6, for the flow)."""
    X, y = lr.signal_plus_noise(40, 70, rng=0)
    w0 = initial_weights(70, "uniform", np.random.default_rng(3))
    obj = LinearObjective(X, y.astype(float), make_loss(0.3))
    w = w0.copy()
    for _ in range(500):
        w = w - 0.1 * obj.grad(w)
    got, n_evals = gd_from(X, y, 0.3, w0, eta=0.1, epochs=500, method=method)
    np.testing.assert_allclose(got, w, atol=atol)
    assert (n_evals == 500) if method == "gd" else (n_evals < 500)


def test_converged_geometry_starts_are_fits_from_those_starts():
    """The per-start keys are fit(w0=...) on the same data: different only when d > n."""
    rec = converged_geometry(lam=1.3, alpha=0.4, sigma_f=0.5, n=100, seed=7,
                             inits=("zero", "uniform", "normal"))
    X, y = lr.signal_plus_noise(100, 130, mu_f=1.0, sigma_f=0.5, sigma_n=1.0, rng=7)
    rng = start_rng(7)
    for init in ("zero", "uniform", "normal"):
        w = lr.fit(X, y, 0.4, w0=initial_weights(130, init, rng)).w
        acc = lr.population_accuracy(w, mu_f=1.0, sigma_f=0.5, sigma_n=1.0)
        assert rec[f"test_acc_{init}"] == pytest.approx(acc, abs=1e-10)
        assert rec[f"cos_e1_{init}"] == pytest.approx(lr.cosine_to_e1(w), abs=1e-10)
    assert rec["test_acc_zero"] == rec["test_acc"]
    assert abs(rec["test_acc_uniform"] - rec["test_acc"]) > 1e-3
    below = converged_geometry(lam=0.7, alpha=0.4, sigma_f=0.5, n=100, seed=7,
                               inits=("uniform",))
    assert below["test_acc_uniform"] == below["test_acc"]  # unique minimiser


def test_gd_endpoint_reaches_its_limit_away_from_lambda_one():
    # lambda = 0.5, alpha = 0.4: the Hessian is bounded below, 20k epochs converge.
    rec = gd_endpoint(lam=0.5, alpha=0.4, sigma_f=0.5, n=100, epochs=20_000, seed=1)
    assert rec["cos_to_limit"] > 1 - 1e-6
    assert rec["test_acc"] == pytest.approx(rec["limit_test_acc"], abs=1e-5)
    same = converged_geometry(lam=0.5, alpha=0.4, sigma_f=0.5, n=100, seed=1)
    assert rec["limit_test_acc"] == pytest.approx(same["test_acc"], abs=1e-12)  # paired data


def test_helps_hurts_boundary_finds_the_constructed_crossing():
    s = np.geomspace(0.1, 6.0, 9)
    unreg = 0.9 - 0.1 * np.log(s)  # falls linearly in log sigma_n
    reg = np.full(s.size, 0.9 - 0.1 * np.log(1.3))  # so the two cross at sigma_n = 1.3
    assert helps_hurts_boundary(s, unreg, reg) == pytest.approx(1.3, rel=1e-12)
    assert np.isnan(helps_hurts_boundary(s, unreg, np.full(s.size, 2.0)))  # helps everywhere
    assert np.isnan(helps_hurts_boundary(s, unreg, np.zeros(s.size)))  # hurts everywhere
    with pytest.raises(ValueError, match="increasing"):
        helps_hurts_boundary(s[::-1], unreg, reg)


def test_helps_hurts_table_of_constructed_records():
    s = [0.5, 1.0, 2.0, 4.0]
    records = []
    for seed, star in enumerate([1.0, 2.0]):  # per-seed crossings at sigma_n = 1 and 2
        records += [{"lam": 0.7, "sigma_f": 0.5, "alpha": 0.0, "sigma_n": sn, "seed": seed,
                     "test_acc": 0.8 - 0.1 * np.log2(sn / star)} for sn in s]
        records += [{"lam": 0.7, "sigma_f": 0.5, "alpha": 0.4, "sigma_n": 1.0, "seed": seed,
                     "test_acc": 0.8}]
    (row,) = helps_hurts_table(records, alpha=0.4)
    assert row["reg_level"] == 0.8 and row["n_crossing_seeds"] == 2
    assert row["sigma_n_star_seed_mean"] == pytest.approx(1.5, rel=1e-12)
    assert row["sigma_n_star_seed_std"] == pytest.approx(np.std([1.0, 2.0], ddof=1), rel=1e-12)
    # the seed-mean curve is 0.8 - 0.1 log2(sn / sqrt 2): it crosses 0.8 at sqrt 2
    assert row["sigma_n_star"] == pytest.approx(np.sqrt(2), rel=1e-12)


def test_paper_verdict_rule():
    assert paper_verdict(0.84, 0.835, 0.002) == "reproduced"  # 0.005 <= 2 * 0.002 + 0.003
    assert paper_verdict(0.84, 0.83, 0.002) == "differs (5.0 std)"
    assert paper_verdict(1.0, 1.0, 0.0) == "reproduced"
    assert paper_verdict(1.0, 0.99, float("nan")).startswith("differs (|diff| = 0.01")
    assert paper_verdict(None, 0.5, 0.1) == "no paper value"


# ---------------------------------------------------------------- each figure's key claim


def test_fig13_direction_is_flat_in_alpha_and_the_norm_is_not(quick):
    res = quick["fig13"]
    assert res["config"]["seed_list"] == [0, 1, 2]
    for lam in res["config"]["lams"]:
        rows = _rows(res["exact"], lam=lam)
        cos = [r["cos_e1_mean"] for r in rows]
        norm = [r["norm_mean"] for r in rows]
        assert max(cos) - min(cos) < 1e-3  # alpha in {0.2, 0.8}: the same direction
        assert max(norm) / min(norm) > 5  # ... at a very different norm
        assert all(r["cos_fisher_mean"] > 0.999 for r in rows)  # Cor. 3.3
    (g,) = _rows(res["gd"], lam=0.7, alpha=0.8)
    assert g["cos_to_limit_mean"] > 0.999  # GD has converged at alpha = 0.8


def test_fig16_claims(quick):
    res = quick["fig16"]
    ex = res["exact"]

    def acc(alpha, sf, sn, lam, key="test_acc"):
        (r,) = _rows(ex, alpha=alpha, sigma_f=sf, sigma_n=sn, lam=lam)
        return r[f"{key}_mean"]

    for sn in (1.0, 2.0):  # sigma_f = 0 with alpha > 0: perfect up to lambda = 1 (Prop. 5.1)
        assert min(acc(0.4, 0.0, sn, lam) for lam in (0.3, 0.7, 1.0)) > 1 - 1e-9
        assert acc(0.4, 0.0, sn, 1.3) < 0.99
    # alpha = 0, sigma_f = 0: max-margin accuracy falls with sigma_n above lambda = 1/2.
    assert acc(0.0, 0.0, 2.0, 0.7) < acc(0.0, 0.0, 1.0, 0.7) - 0.05
    # The regularized curve does not depend on sigma_n below lambda = 1 (Prop. 6.1; the
    # same draws rescaled, so to rounding), and does above it.
    for lam in (0.3, 0.7, 1.0):
        assert acc(0.4, 0.5, 1.0, lam) == pytest.approx(acc(0.4, 0.5, 2.0, lam), abs=1e-9)
    assert abs(acc(0.4, 0.5, 1.0, 1.3) - acc(0.4, 0.5, 2.0, 1.3)) > 0.01
    # lambda > 1: the limit depends on the start (the null space of X); not below.
    assert acc(0.4, 0.0, 1.0, 1.3, "test_acc_uniform") < acc(0.4, 0.0, 1.0, 1.3) - 0.05
    assert acc(0.4, 0.5, 1.0, 0.7, "test_acc_uniform") == acc(0.4, 0.5, 1.0, 0.7)
    # lambda = 1: finite-time GD beats its own limit (the dip is a converged-limit effect).
    (g,) = _rows(res["gd"], alpha=0.4, sigma_f=0.5, sigma_n=1.0, lam=1.0)
    assert g["test_acc_mean"] > g["limit_test_acc_mean"] + 0.05


def test_fig17_claims(quick):
    res = quick["fig17"]
    s = res["config"]["sigma_ns"]
    for lam in res["config"]["lams"]:
        reg = [r["test_acc_mean"] for r in _rows(res["summary"], lam=lam, alpha=0.4)]
        assert max(reg) - min(reg) < 1e-9  # regularized accuracy constant in sigma_n
    cos_low = [r["cos_e1_mean"] for r in _rows(res["summary"], lam=0.3, alpha=0.0)]
    acc_high = [r["test_acc_mean"] for r in _rows(res["summary"], lam=0.7, alpha=0.0)]
    assert len(cos_low) == len(s) and np.all(np.diff(cos_low) > 0)  # lambda < 1/2: aligns
    assert np.all(np.diff(acc_high) < 0)  # lambda > 1/2: alpha = 0 accuracy falls


def test_fig06_15_claims(quick):
    res = quick["fig06_15"]
    fall = {}
    for lam in (0.7, 0.4):
        for sf in (0.5, 0.8):
            unreg = [r["test_acc_mean"] for r in _rows(res["summary"], lam=lam, sigma_f=sf,
                                                        alpha=0.0)]
            fall[lam, sf] = unreg[0] - unreg[-1]
            assert unreg[0] > unreg[-1]  # alpha = 0 accuracy falls with sigma_n ...
    # ... to near chance above lambda = 1/2, much less below it (App. E.2)
    assert fall[0.7, 0.5] > fall[0.4, 0.5] + 0.1
    b = {(r["lam"], r["sigma_f"]): r for r in res["boundary"]}
    assert 0.5 < b[0.7, 0.5]["sigma_n_star"] < 3.0  # regularization helps above sigma_n*


def test_lambda_alpha_map_claims(quick):
    res = quick["lambda_alpha_map"]
    acc = {(r["lam"], r["alpha"]): r["test_acc_mean"] for r in res["summary"]}
    # alpha > 0: the accuracy hardly depends on alpha (Fig. 13's plateau) and dips at lambda = 1
    for lam in (0.3, 0.7):
        assert abs(acc[lam, 0.1] - acc[lam, 0.4]) < 0.01
    assert acc[1.0, 0.4] < min(acc[0.7, 0.4], acc[1.3, 0.4])


# --------------------------------------------------------------------------- resumption


def test_an_interrupted_sweep_resumes_to_the_uninterrupted_result(tmp_path, monkeypatch):
    args = ["--quick", "--seeds", "2"]
    mod = _script("fig17")
    assert mod.main([*args, "--out", str(tmp_path / "whole")]) == 0
    calls, unit = [], mod.converged_geometry

    def dies_on_the_fifth(**kw):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return unit(**kw)

    monkeypatch.setattr(mod, "converged_geometry", dies_on_the_fifth)
    assert mod.main([*args, "--out", str(tmp_path / "cut")]) == 130
    assert len(list((tmp_path / "cut" / "cache" / "points").glob("*.json"))) == 4
    monkeypatch.setattr(mod, "converged_geometry", unit)
    assert mod.main([*args, "--out", str(tmp_path / "cut")]) == 0
    whole, cut = (json.loads((tmp_path / d / "fig17.json").read_text()) for d in ("whole", "cut"))
    for key in ("config", "summary", "records"):
        assert cut[key] == whole[key]


# -------------------------------------------------------------------------------- plots


@pytest.mark.parametrize("name", ["fig13", "fig16", "fig17", "fig06_15", "lambda_alpha_map"])
def test_figure_module_plots_and_reports(name, quick, tmp_path):
    mod = importlib.import_module(f"paper_figs.{name}")
    assert mod.FIGURE["name"] == name and mod.FIGURE["script"] == f"simulations/{name}.py"
    path = tmp_path / "r.json"
    path.write_text(json.dumps(quick[name]))
    paths = mod.plot(path, tmp_path / "figs")
    assert sorted(p.name for p in paths) == [f"{name}.pdf", f"{name}.png"]
    assert all(p.stat().st_size > 5_000 for p in paths)
    rows = mod.reproduction(path)
    assert rows and all(set(r) == COLUMNS for r in rows)
    for r in rows:
        assert r["verdict"] in ("reproduced", "no paper value") or \
            r["verdict"].startswith("differs (")
