"""Bad input raises a ValueError that names the parameter and the value."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import logitreg as lr
from logitreg.solvers import fit

X_OK, Y_OK = lr.signal_plus_noise(20, 3, rng=0)


@pytest.mark.parametrize("alpha", [-0.1, 1.0, 1.5, np.nan, np.inf, "x"])
def test_alpha_outside_unit_interval_is_rejected(alpha):
    with pytest.raises(ValueError, match=r"alpha must lie in \[0, 1\); got alpha="):
        fit(X_OK, Y_OK, alpha)
    with pytest.raises(ValueError, match=r"alpha must lie in \[0, 1\); got alpha="):
        lr.z_star(alpha)


def test_values_on_the_closed_ends_of_the_ranges_are_accepted():
    """The checks reject exactly the values outside the ranges: a check that raised on
    everything would pass every test above."""
    assert lr.z_star(0.0) == np.inf  # CE alone: the target is at infinity
    # alpha -> 1: 2 alpha z (1 + e^z) = 1 - alpha gives z* = (1 - alpha)/(4 alpha) + O(z*^2).
    a = 1 - 1e-6
    assert lr.z_star(a) == pytest.approx((1 - a) / (4 * a), rel=1e-6)
    res = fit(X_OK, Y_OK, 0.0)  # alpha = 0: the max-margin direction of these separable data
    assert res.converged and res.separable
    assert np.min(Y_OK * (X_OK @ res.w)) == pytest.approx(1.0, rel=1e-6)  # unit margin
    # sigma_f = 0 and d = n_classes - 1 are allowed (Prop. 5.1 uses sigma_f = 0).
    X, y = lr.signal_plus_noise(12, 2, n_classes=3, sigma_f=0.0, rng=1)
    assert X.shape == (12, 2) and np.bincount(y).tolist() == [4, 4, 4]


@given(n=st.integers(2, 30), d=st.integers(1, 6), extra=st.integers(1, 5))
@settings(max_examples=25, deadline=None)
def test_mismatched_X_and_y_lengths_are_rejected(n, d, extra):
    X = np.ones((n, d))
    y = np.resize([-1, 1], n + extra)
    with pytest.raises(ValueError, match=r"same number of samples; got X.shape=\(\d+, \d+\)"):
        fit(X, y, 0.1)


@given(shape=st.sampled_from([(5,), (2, 3, 4), ()]))
@settings(max_examples=10, deadline=None)
def test_X_that_is_not_2d_is_rejected(shape):
    with pytest.raises(ValueError, match="X must be 2-D"):
        fit(np.ones(shape), Y_OK, 0.1)


def test_one_class_only_is_rejected():
    with pytest.raises(ValueError, match=r"at least 2 classes; got classes=\[1\.0\]"):
        fit(X_OK, np.ones(20), 0.1)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_in_X_is_rejected(bad):
    X = X_OK.copy()
    X[3, 1] = bad
    with pytest.raises(ValueError, match=r"X must be finite; got X\[3, 1\]="):
        fit(X, Y_OK, 0.1)


def test_unknown_reg_or_method_is_rejected():
    with pytest.raises(ValueError, match="unknown reg='l3'"):
        fit(X_OK, Y_OK, 0.1, reg="l3")
    with pytest.raises(ValueError, match="unknown method='adam'"):
        fit(X_OK, Y_OK, 0.1, method="adam")


def test_non_convex_custom_f_is_rejected():
    z = sp.Symbol("z")
    with pytest.raises(ValueError, match="reg must be convex"):
        fit(X_OK, Y_OK, 0.1, reg=z**2 - z**4)


def test_cvxpy_names_a_penalty_it_cannot_express():
    z = sp.Symbol("z")
    # convex (f'' = 2 + 2 log(1 + z^2) + ... >= 0) but a product cvxpy has no atom for
    with pytest.raises(ValueError, match=r"method='cvxpy' cannot express reg=.*product.*"
                                         r"'newton' or 'lbfgs'"):
        fit(X_OK, Y_OK, 0.1, reg=z**2 * sp.log(1 + z**2) + z**2, method="cvxpy")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n": 0, "d": 3}, "n must be > 0; got n=0"),
        ({"n": 10, "d": 2, "n_classes": 5}, "d must be >= n_classes - 1"),
        ({"n": 10, "d": 3, "sigma_f": -1.0}, "sigma_f must be >= 0; got sigma_f=-1.0"),
        ({"n": 10, "d": 3, "noise": "cauchy"}, "unknown noise='cauchy'"),
        ({"n": 10, "d": 3, "noise": "student_t"}, "df must be given"),
        ({"n": 10, "d": 3, "rng": "seed"}, "rng must be a numpy.random.Generator"),
    ],
)
def test_signal_plus_noise_rejects_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lr.signal_plus_noise(**kwargs)


def test_asymptotic_formulas_reject_lambda_outside_unit_interval():
    with pytest.raises(ValueError, match="lam must lie in"):
        lr.asymptotic_accuracy(1.2, mu_f=1.0, sigma_f=0.5)
