"""Property-based tests of the public API (hypothesis): every finite input either returns a
result with the function's defining property, or raises a ValueError naming a parameter."""

import re
import warnings

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import logitreg as lr
from logitreg.losses import LinearObjective, make_loss

# derandomize: the same examples on every run (CI must not be flaky); the @example lines pin
# inputs that once failed.
FAST = settings(max_examples=30, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])
PARAM = re.compile(r"^(X|y|w|a|b|alpha|reg|rho|lam|mu_f|sigma_f|sigma_n|n_classes|tol|"
                   r"max_iter|method|sample_weight)\b")


def _data(seed, n, d, mu_f=1.0):
    return lr.signal_plus_noise(n, d, mu_f=mu_f, sigma_f=0.5, sigma_n=1.0,
                                rng=np.random.default_rng(seed))


def _cos(a, b):
    return lr.cosine(a, b)


@FAST
@given(seed=st.integers(0, 10**6), n=st.integers(20, 80), d=st.integers(2, 12),
       alpha=st.floats(0.01, 0.9), k=st.integers(-300, 300))
@example(seed=128, n=20, d=2, alpha=0.453125, k=0)  # Newton stalled at the rounding floor
def test_fit_is_scale_equivariant_across_the_floating_range(seed, n, d, alpha, k):
    X, y = _data(seed, n, d)
    ref = lr.fit(X, y, alpha)
    # the defining property on the original data: a stationary point of the mean loss
    obj = LinearObjective(X, np.where(y == ref.classes[1], 1.0, -1.0), make_loss(alpha))
    assert ref.converged and np.linalg.norm(obj.grad(ref.w)) < 1e-8
    scaled = X * 10.0**k
    if not np.all(np.isfinite(scaled)) or np.any((scaled != 0) & (np.abs(scaled) < 1e-300)):
        return  # 10^k X is not representable (overflow, or subnormal entries lose digits)
    try:
        res = lr.fit(scaled, y, alpha)
    except ValueError as err:
        assert PARAM.match(str(err)), str(err)
        return
    assert res.converged
    assert _cos(res.w, ref.w) > 1 - 1e-9  # same direction
    # same logits: w scales as 10^-k (checked through the decision function)
    np.testing.assert_allclose(res.decision_function(scaled), ref.decision_function(X),
                               rtol=1e-6, atol=1e-8 * np.abs(ref.decision_function(X)).max())


@FAST
@given(seed=st.integers(0, 10**6), k=st.integers(-300, 300), K=st.sampled_from([2, 3]))
def test_fisher_direction_is_scale_equivariant(seed, k, K):
    X, y = lr.signal_plus_noise(60, 8, n_classes=K, rng=np.random.default_rng(seed))
    ref = lr.fisher_direction(X, y)
    scaled = X * 10.0**k
    if not np.all(np.isfinite(scaled)) or np.any((scaled != 0) & (np.abs(scaled) < 1e-300)):
        return
    try:
        got = lr.fisher_direction(scaled, y)
    except ValueError as err:
        assert PARAM.match(str(err)), str(err)
        return
    for g, r in zip(np.atleast_2d(got), np.atleast_2d(ref), strict=True):
        assert abs(_cos(g, r)) > 1 - 1e-9


finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6)
anything = st.one_of(finite, st.just(np.nan), st.just(np.inf), st.just(-1.0))


@FAST
@given(w=st.lists(anything, min_size=1, max_size=5), mu_f=anything, sigma_f=anything,
       sigma_n=anything)
def test_population_accuracy_is_a_probability_or_a_named_error(w, mu_f, sigma_f, sigma_n):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no silent overflow either
            acc = lr.population_accuracy(w, mu_f=mu_f, sigma_f=sigma_f, sigma_n=sigma_n)
    except ValueError as err:
        assert PARAM.match(str(err)), str(err)
        return
    assert 0.0 <= acc <= 1.0


@FAST
@given(alpha=st.floats(1e-4, 0.99), reg=st.sampled_from(["quadratic", "ls"]))
def test_z_star_is_the_stationary_point_of_the_per_sample_loss(alpha, reg):
    z = lr.z_star(alpha, reg=reg)
    loss = make_loss(alpha, reg)
    assert z > 0
    # l'(z*) = 0, relative to the scale of the two terms of l'
    assert abs(loss.d1(z)) <= 1e-9 * (1 + abs(alpha * loss.penalty.d1(z)))


@FAST
@given(alpha=anything, n_classes=st.integers(-3, 12))
@example(alpha=1.4623052513751407e-286, n_classes=3)  # singular vertex Newton
def test_z_star_named_errors_for_bad_arguments(alpha, n_classes):
    try:
        lr.z_star(alpha, n_classes=n_classes)
    except ValueError as err:
        assert PARAM.match(str(err)), str(err)


@FAST
@given(a=st.lists(finite, min_size=3, max_size=3), b=st.lists(finite, min_size=3, max_size=3))
def test_cosine_is_in_minus_one_one_or_a_named_error(a, b):
    try:
        c = lr.cosine(a, b)
    except ValueError as err:
        assert PARAM.match(str(err)), str(err)
        return
    assert -1 - 1e-12 <= c <= 1 + 1e-12
