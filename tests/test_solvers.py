"""Every solver finds the same minimiser; the special cases are handled exactly."""

import warnings

import numpy as np
import pytest

import logitreg as lr
from logitreg import ConvergenceWarning
from logitreg.losses import LinearObjective, make_loss
from logitreg.solvers import fit, max_margin


def _relgap(a, b):
    return abs(a - b) / abs(b)


@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("reg", ["quadratic", "ls"])
def test_newton_lbfgs_cvxpy_agree_in_objective_to_1e8(n_classes, fit_intercept, reg, rng):
    X, y = lr.signal_plus_noise(120, 8, n_classes=n_classes, rng=rng)
    X[:, 0] += 0.3  # an offset so the intercept matters
    res = {}
    with warnings.catch_warnings():
        # Clarabel sometimes stops at "optimal_inaccurate" on exponential cones; its
        # objective is still checked below, which is what the comparison is about.
        warnings.simplefilter("ignore")
        for m in ("newton", "lbfgs", "cvxpy"):
            res[m] = fit(X, y, 0.3, reg=reg, method=m, fit_intercept=fit_intercept)
    assert res["newton"].converged
    for m in ("lbfgs", "cvxpy"):
        assert _relgap(res[m].loss, res["newton"].loss) <= 1e-8, m
    # Newton is the lowest (it is the most accurate) up to rounding.
    assert res["newton"].loss <= min(r.loss for r in res.values()) * (1 + 1e-14)


def test_newton_reaches_relative_gradient_tolerance(rng):
    X, y = lr.signal_plus_noise(500, 300, rng=rng)
    r = fit(X, y, 0.1, tol=1e-10)
    obj = LinearObjective(X, y.astype(float), make_loss(0.1))
    assert r.converged and r.n_iter <= 20
    assert np.linalg.norm(obj.grad(r.w)) <= 1e-10 * np.linalg.norm(obj.grad(np.zeros(300)))


@pytest.mark.parametrize("alpha", [0.0, 0.05])
def test_newton_handles_weak_curvature_by_refreshing_the_preconditioner(alpha, rng):
    # Non-separable data (N >> d, sigma_f large) so alpha = 0 has a finite minimiser.
    X, y = lr.signal_plus_noise(800, 5, sigma_f=2.0, rng=rng)
    newton = fit(X, y, alpha)
    lbfgs = fit(X, y, alpha, method="lbfgs")
    assert newton.converged and not newton.separable
    assert _relgap(newton.loss, lbfgs.loss) <= 1e-10


def test_d_greater_than_n_returns_the_minimum_norm_minimiser(rng):
    """In the row-space form: the minimiser w lies in span(x_i), the limit of GD from 0."""
    X, y = lr.signal_plus_noise(60, 150, rng=rng)
    r = fit(X, y, 0.2)
    zs = lr.z_star(0.2)
    # d > N: the logits are free, so all of them sit at z* ...
    np.testing.assert_allclose(y * (X @ r.w), zs, atol=1e-9)
    # ... and w is the minimum-norm interpolant of those logits.
    w_mn = np.linalg.lstsq(y[:, None] * X, np.full(60, zs), rcond=None)[0]
    np.testing.assert_allclose(r.w, w_mn, atol=1e-9)


def test_multiclass_d_greater_than_n_puts_every_logit_at_its_vertex(rng):
    X, y = lr.signal_plus_noise(40, 90, n_classes=3, rng=rng)
    r = fit(X, y, 0.2, fit_intercept=True)
    v = lr.z_star(0.2, n_classes=3)
    Z = r.decision_function(X)
    np.testing.assert_allclose(Z, np.where(np.eye(3, dtype=bool)[y], v.q_high, v.q_low),
                               atol=1e-8)


def test_alpha_zero_separable_returns_exact_max_margin(rng):
    X, y = lr.signal_plus_noise(80, 60, sigma_f=0.3, rng=rng)
    r = fit(X, y, 0.0)
    assert r.separable and r.converged and r.loss == 0.0
    margins = y * (X @ r.w)
    assert margins.min() == pytest.approx(1.0, abs=1e-10)  # active constraints exactly 1
    # Compare with an independent solve (cvxpy/Clarabel on the same QP).
    from logitreg.solvers import _max_margin_cvxpy

    w_ref, _ = _max_margin_cvxpy(X, y, np.array([-1, 1]), False)
    np.testing.assert_allclose(r.w, w_ref, atol=1e-6)


def test_alpha_zero_separable_with_intercept_and_multiclass(rng):
    X, y = lr.signal_plus_noise(60, 40, n_classes=3, sigma_f=0.2, rng=rng)
    r = fit(X, y, 0.0, fit_intercept=True)
    assert r.separable
    Z = r.decision_function(X)
    zy = Z[np.arange(60), y]
    others = np.where(np.eye(3, dtype=bool)[y], -np.inf, Z)
    assert np.min(zy - others.max(axis=1)) >= 1 - 1e-6


def test_alpha_zero_non_separable_returns_finite_minimiser(rng):
    X, y = lr.signal_plus_noise(500, 3, sigma_f=1.0, rng=rng)
    assert max_margin(X, y) is None
    r = fit(X, y, 0.0)
    assert not r.separable and r.converged and np.isfinite(r.loss) and r.loss > 0


def test_non_convergence_warns_naming_max_iter(rng):
    X, y = lr.signal_plus_noise(300, 50, rng=rng)
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        r = fit(X, y, 0.1, max_iter=1, warm_start=False)
    assert not r.converged


def test_fit_result_is_frozen_and_predicts_original_labels(rng):
    X, y = lr.signal_plus_noise(200, 10, rng=rng)
    labels = np.where(y > 0, "cat", "dog")
    r = fit(X, labels, 0.2)
    assert set(r.predict(X)) <= {"cat", "dog"}
    # Classes are sorted: "dog" is classes[1], the +1 class.
    assert np.mean(r.predict(X) == labels) > 0.8
    with pytest.raises(AttributeError):
        r.loss = 0.0  # type: ignore[misc]


def test_float32_input_gives_the_float64_answer(rng):
    X, y = lr.signal_plus_noise(300, 40, rng=rng)
    r64 = fit(X, y, 0.2)
    r32 = fit(X.astype(np.float32), y, 0.2)
    # The float32 input is upcast: the only difference is the input's rounding (~6e-8).
    np.testing.assert_allclose(r32.w, r64.w, rtol=1e-5, atol=1e-6)
