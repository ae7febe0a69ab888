"""Bad input to the core gets a ValueError naming the parameter, never silent garbage;
damaged checkpoints are refused by name and left untouched."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

import logitreg as lr
from logitreg.dynamics import gd

ROOT = Path(__file__).resolve().parents[1]
GAUSS = {"mu_f": 1.0, "sigma_f": 0.5, "sigma_n": 1.0}


@pytest.mark.parametrize("fn", [lr.population_accuracy, lr.population_ce])
@pytest.mark.parametrize(("change", "name"), [
    ({"w": [np.nan, 1.0]}, "w"), ({"w": [1.0, np.inf]}, "w"),
    ({"sigma_f": np.nan}, "sigma_f"), ({"sigma_n": -1.0}, "sigma_n"),
    ({"mu_f": "1"}, "mu_f"), ({"mu_f": np.inf}, "mu_f"),
])
def test_population_metrics_reject_non_finite_or_negative_parameters(fn, change, name):
    kw = {"w": [1.0, 0.5], **GAUSS, **change}
    with pytest.raises(ValueError, match=rf"^{name} must"):
        fn(**kw)


def test_population_accuracy_is_unchanged_on_valid_input():
    # Phi(w1 mu / sqrt(sf^2 w1^2 + sn^2 |w_perp|^2)) = Phi(1 / sqrt(0.25 + 0.25))
    from scipy.special import ndtr

    assert lr.population_accuracy([1.0, 0.5], **GAUSS) == pytest.approx(ndtr(1 / np.sqrt(0.5)))


@pytest.mark.parametrize(("call", "match"), [
    (lambda: lr.z_star(0.1, n_classes=1), "n_classes must be >= 2"),
    (lambda: lr.accuracy_from_cosine(1.5, **GAUSS), "rho must lie in"),
    (lambda: lr.accuracy_from_cosine(np.nan, **GAUSS), "rho must be finite"),
    (lambda: lr.asymptotic_accuracy(0.5, mu_f=1.0, sigma_f=0.0), "sigma_f must be > 0"),
    (lambda: lr.asymptotic_C2(0.5, mu_f=-1.0, sigma_f=1.0), "mu_f must be finite and >= 0"),
    (lambda: lr.asymptotic_cosine(0.5, mu_f=1.0, sigma_f=1.0, sigma_n=0.0), "sigma_n must"),
])
def test_theory_functions_name_the_bad_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ------------------------------------------------------------------ damaged checkpoints


def _fresh_checkpoint(path, rng):
    X, y = lr.signal_plus_noise(40, 10, mu_f=0.1, sigma_f=0.0, sigma_n=1.0, rng=rng)
    gd(X, y, [0.0, 0.1], epochs=30, n_record=10, rng=np.random.default_rng(0),
       checkpoint=path, progress=False)
    return X, y


def _damage(kind, path: Path, other: Path):
    data = path.read_bytes()
    if kind == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif kind == "random":
        path.write_bytes(np.random.default_rng(1).bytes(len(data)))
    elif kind == "json":
        path.write_text(json.dumps({"config": {}}))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "foreign":  # a valid .npz of something else
        np.savez(other, a=np.arange(3))
        path.write_bytes(other.read_bytes())


@pytest.mark.parametrize("kind", ["truncated", "random", "json", "empty", "foreign"])
def test_a_damaged_gd_checkpoint_is_refused_by_name_and_left_untouched(kind, tmp_path, rng):
    ck = tmp_path / "ck.npz"
    X, y = _fresh_checkpoint(ck, rng)
    _damage(kind, ck, tmp_path / "other.npz")
    before = ck.read_bytes()
    with pytest.raises(ValueError, match=r"ck\.npz.*(not a readable checkpoint|restart)"):
        gd(X, y, [0.0, 0.1], epochs=30, n_record=10, rng=np.random.default_rng(0),
           checkpoint=ck, progress=False)
    assert ck.read_bytes() == before


def test_the_grokking_command_maps_a_damaged_checkpoint_to_exit_2(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("g", ROOT / "simulations" / "grokking.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    args = ["--quick", "--epochs", "300", "--out", str(tmp_path), "--no-progress",
            "--stop-at-epoch", "100"]
    assert script.main(args) == 0
    ck = tmp_path / "checkpoints" / "seed0.npz"
    ck.write_bytes(ck.read_bytes()[:100])
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert script.main(args[:-2]) == 2
    err = capsys.readouterr().err.strip()
    assert "seed0.npz" in err and "\n" not in err
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_gd_refuses_data_whose_curvature_overflows_and_rescales_moderately_large_data(rng):
    X, y = lr.signal_plus_noise(40, 10, mu_f=1.0, sigma_f=0.0, sigma_n=1.0, rng=rng)
    with pytest.raises(ValueError, match=r"X is too large to train on \(max \|x\| = 1e\+200"):
        gd(1e200 * X / np.abs(X).max(), y, 0.1, epochs=5, progress=False)
    # 1e120 is representable after rescaling: the bound scales as 1/scale^2 exactly.
    small = lr.max_learning_rate(X, y, 0.1)
    assert lr.max_learning_rate(1e120 * X, y, 0.1) == pytest.approx(small * 1e-240, rel=1e-10)


@pytest.mark.filterwarnings("ignore:reg=log:RuntimeWarning")  # overflows at |z| = 1e4
@pytest.mark.parametrize("method", ["newton", "lbfgs"])
def test_penalties_that_overflow_for_large_logits_fit_with_every_iterative_method(method, rng):
    """The README's LS penalty in sympy form, log(2 + 2 cosh z)/2, overflows for |z| > 710
    as written; the warm start and line searches must stay where it is finite."""
    import sympy as sp

    z = sp.Symbol("z")
    X, y = lr.signal_plus_noise(300, 30, mu_f=1.0, sigma_f=0.5, sigma_n=1.0, rng=rng)
    builtin = lr.fit(X, y, 0.2, reg="ls")
    res = lr.fit(X, y, 0.2, reg=sp.log(2 + 2 * sp.cosh(z)) / 2, method=method)
    assert res.converged and np.isfinite(res.loss)
    assert res.loss == pytest.approx(builtin.loss, rel=1e-12)  # the same function
    assert lr.cosine(res.w, builtin.w) > 1 - 1e-10
    lc = lr.fit(X, y, 0.2, reg=sp.log(sp.cosh(z)), method=method)
    assert lc.converged and np.isfinite(lc.loss) and lc.grad_norm < 1e-8


@pytest.mark.parametrize("scale", [1e160, 1e-200, 1e300, 1e-300])
def test_fit_and_fisher_direction_at_extreme_data_scales(scale, rng):
    """Seen before: fit(1e160 X) returned w = 0 with converged=True and fit(1e-200 X) a
    wrong direction; fisher_direction(1e-200 X) returned zeros."""
    X, y = lr.signal_plus_noise(200, 20, mu_f=1.0, sigma_f=0.5, sigma_n=1.0, rng=rng)
    X = X / np.abs(X).max()  # entries in [-1, 1], so scale * X stays representable
    ref, F = lr.fit(X, y, 0.1), lr.fisher_direction(X, y)
    res = lr.fit(scale * X, y, 0.1)
    assert res.converged and lr.cosine(res.w, ref.w) > 1 - 1e-12
    assert np.linalg.norm(res.w / np.abs(res.w).max()) > 0
    np.testing.assert_allclose(res.w * scale, ref.w, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(lr.fisher_direction(scale * X, y) * scale, F, rtol=1e-9)


@pytest.mark.parametrize("K", [3, 10])
@pytest.mark.parametrize("alpha", [0.04, 1e-6, 1e-10, 1e-100, 1e-300])
def test_multiclass_vertex_matches_a_50_digit_reference_down_to_tiny_alpha(K, alpha):
    """Quadratic f: the vertex is sum-zero, z = p u, and p solves a 1-D equation; mpmath
    at 50 digits gives the reference. (Seen before: 1e-8 relative error at alpha = 1e-6 and
    a LinAlgError below ~1e-20, where softmax_0 rounds to 1 in float64.)"""
    import mpmath as mp

    mp.mp.dps = 50
    a, c = mp.mpf(alpha), mp.mpf(K) / (K - 1)

    def dF(p):  # d/dp of (1 - a) log(1 + (K - 1) e^{-c p}) + a p^2 K/(K - 1)
        return -(1 - a) * c * (K - 1) / (mp.e ** (c * p) + K - 1) + 2 * a * p * c

    # dF is increasing (convex loss) with dF(0) < 0: bisection, 200 halvings of the bracket
    lo, hi = mp.mpf(0), 2 * mp.log(1 / a) / c + 10
    assert dF(lo) < 0 < dF(hi)
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if dF(mid) < 0 else (lo, mid)
    p = (lo + hi) / 2
    v = lr.z_star(alpha, n_classes=K)
    # float64 rounding of a Newton solution: a few ulp of q_high
    assert v.q_high == pytest.approx(float(p), rel=1e-13)
    assert v.q_low == pytest.approx(float(-p / (K - 1)), rel=1e-13)


def test_save_results_never_overwrites_another_configurations_result(tmp_path):
    from logitreg.io import save_results

    save_results(tmp_path, "r", config={"a": 1}, results={"v": 1})
    before = (tmp_path / "r.json").read_bytes()
    with pytest.raises(ValueError, match=r"r\.json holds a run with another configuration "
                                         r"\(a: 1 -> 2\).*--restart"):
        save_results(tmp_path, "r", config={"a": 2}, results={"v": 2})
    assert (tmp_path / "r.json").read_bytes() == before
    save_results(tmp_path, "r", config={"a": 1}, results={"v": 3})  # same config: rewritten
    save_results(tmp_path, "r", config={"a": 2}, results={"v": 2}, overwrite=True)
    assert json.loads((tmp_path / "r.json").read_text())["v"] == 2
