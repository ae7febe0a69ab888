"""Fig. 16's shared-draw units give, seed by seed, the numbers of the straightforward
computation: one ``logitreg.fit`` per (alpha, start) on freshly drawn data (Prop. 5.1: the
limit from ``w0`` is ``fit(X, y, alpha, w0=w0)``), and its script resumes per (cell, seed)."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

import logitreg as lr
from logitreg.experiments import converged_geometry, gd_endpoint, initial_weights, start_rng

ROOT = Path(__file__).resolve().parents[1]
INITS = ("uniform", "normal")
# The shared row-space solve is fit's own code path, so the numbers agree to rounding; a
# projection by Q instead of a second Cholesky moves the null-space part by at most
# ~eps cond(X)^2 (~1e-12 here). 1e-10 is the equivalence the figure needs.
TOL = 1e-10


def _script():
    spec = importlib.util.spec_from_file_location("sim_fig16", ROOT / "simulations" / "fig16.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _same(a, b):
    """Equal dicts, NaN equal to NaN (``cos_fisher`` is NaN when not measured)."""
    return a.keys() == b.keys() and all(
        a[k] == b[k] or (isinstance(a[k], float) and np.isnan(a[k]) and np.isnan(b[k]))
        for k in a)


def _reference(lam, alpha, sigma_f, sigma_n, n, seed):
    """The per-point computation: a fresh draw, one fit per start (0 and each init)."""
    d = int(round(lam * n))
    X, y = lr.signal_plus_noise(n, d, mu_f=1.0, sigma_f=sigma_f, sigma_n=sigma_n,
                                rng=np.random.default_rng(seed))
    rng = start_rng(seed)
    starts = {"": None, **{f"_{i}": initial_weights(d, i, rng) for i in INITS}}
    out = {}
    for suffix, w0 in starts.items():
        res = lr.fit(X, y, alpha, w0=w0)
        out[f"test_acc{suffix}"] = lr.population_accuracy(res.w, mu_f=1.0, sigma_f=sigma_f,
                                                          sigma_n=sigma_n)
        out[f"cos_e1{suffix}"] = lr.cosine_to_e1(res.w)
        out[f"norm{suffix}"] = np.linalg.norm(res.w)
        out["separable"] = res.separable
    return out


@pytest.mark.parametrize("lam", [0.3, 0.7, 1.0, 1.3])
@pytest.mark.parametrize("sigma_f, sigma_n", [(0.0, 2.0), (0.5, 1.0), (1.0, 2.0)])
def test_shared_draw_equals_one_fit_per_alpha_and_start(lam, sigma_f, sigma_n):
    for seed in (0, 1):
        got = converged_geometry(lam=lam, alpha=[0.0, 0.4], sigma_f=sigma_f, sigma_n=sigma_n,
                                 n=120, inits=INITS, fisher=False, seed=seed)
        assert len(got) == 2
        for alpha, rec in zip((0.0, 0.4), got, strict=True):
            ref = _reference(lam, alpha, sigma_f, sigma_n, 120, seed)
            assert rec["separable"] == ref["separable"]
            for key, value in ref.items():
                if key != "separable":
                    assert rec[key] == pytest.approx(value, abs=TOL), (alpha, seed, key)
            # the scalar call is the same unit, key for key
            assert _same(rec, converged_geometry(lam=lam, alpha=alpha, sigma_f=sigma_f,
                                                 sigma_n=sigma_n, n=120, inits=INITS,
                                                 fisher=False, seed=seed))


def test_the_starts_matter_only_above_lambda_one():
    """A check that the comparison above can fail: the starts move the alpha > 0 limit
    when d > n, by far more than the tolerance, and not at all below."""
    above, below = (converged_geometry(lam=lam, alpha=[0.4], sigma_f=0.0, n=120,
                                       inits=INITS, seed=0)[0] for lam in (1.3, 0.7))
    assert abs(above["test_acc_uniform"] - above["test_acc"]) > 1e-3
    assert below["test_acc_uniform"] == below["test_acc"]


def test_gd_endpoint_over_alphas_is_the_scalar_calls_and_its_limit_is_the_exact_one():
    kw = dict(lam=1.1, sigma_f=0.5, sigma_n=1.0, n=80, epochs=300, seed=2)
    both = gd_endpoint(alpha=[0.0, 0.4], **kw)
    exact = converged_geometry(alpha=[0.0, 0.4], inits=("uniform",), fisher=False,
                               **{k: v for k, v in kw.items() if k != "epochs"})
    for alpha, rec, ex in zip((0.0, 0.4), both, exact, strict=True):
        assert _same(rec, gd_endpoint(alpha=alpha, **kw))
        # the GD unit's limit is the exact unit's limit from the same (uniform) start
        assert rec["limit_test_acc"] == pytest.approx(ex["test_acc_uniform"], abs=TOL)
        assert rec["limit_cos_e1"] == pytest.approx(ex["cos_e1_uniform"], abs=TOL)


def test_script_caches_one_point_per_draw_and_resumes(tmp_path, monkeypatch):
    args = ["--quick", "--seeds", "2", "--gd-seeds", "1", "--lams", "0.7", "1.3",
            "--sigma-fs", "0.5", "--epochs", "200"]
    mod = _script()
    assert mod.main([*args, "--out", str(tmp_path / "whole")]) == 0
    whole = json.loads((tmp_path / "whole" / "fig16.json").read_text())
    # exact: 2 lambdas x 1 sigma_f x 2 sigma_n cells x 2 seeds; GD: (lambda = 1.0 has both
    # alphas in one point) 2 sigma_n x 1 seed
    points = list((tmp_path / "whole" / "cache" / "points").glob("*.json"))
    assert len(points) == 2 * 2 * 2 + 2
    # one record per (alpha, cell, seed), as before the units were shared
    ex = [r for r in whole["records"] if r["kind"] == "exact"]
    assert len(ex) == 2 * 2 * 2 * 2
    assert {r["alpha"] for r in ex} == {0.0, 0.4}
    assert all(r["n_seeds"] == 2 for r in whole["exact"])

    calls, unit = [], mod.converged_geometry

    def dies_on_the_third(**kw):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return unit(**kw)

    monkeypatch.setattr(mod, "converged_geometry", dies_on_the_third)
    assert mod.main([*args, "--out", str(tmp_path / "cut")]) == 130
    assert len(list((tmp_path / "cut" / "cache" / "points").glob("*.json"))) == 2
    monkeypatch.setattr(mod, "converged_geometry", unit)
    assert mod.main([*args, "--out", str(tmp_path / "cut")]) == 0
    cut = json.loads((tmp_path / "cut" / "fig16.json").read_text())
    for key in ("config", "exact", "gd", "records"):
        assert cut[key] == whole[key]
