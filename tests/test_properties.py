"""Property-based tests of the public API (hypothesis): every finite input either returns a
result with the function's defining property, or raises a ValueError naming a parameter."""

import re
import warnings

import numpy as np
import pytest
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


@FAST
@given(n=st.integers(-2, 40), d=st.integers(-2, 12), K=st.integers(0, 5), mu_f=anything,
       sigma_f=anything, sigma_n=anything)
def test_signal_plus_noise_gives_the_stated_shapes_or_a_named_error(n, d, K, mu_f, sigma_f,
                                                                   sigma_n):
    try:
        X, y = lr.signal_plus_noise(n, d, mu_f=mu_f, sigma_f=sigma_f, sigma_n=sigma_n,
                                    n_classes=K, rng=0)
    except ValueError as err:
        assert re.match(r"^(n|d|mu_f|sigma_f|sigma_n|n_classes|noise|df)\b", str(err)), err
        return
    assert X.shape == (n, d) and y.shape == (n,) and np.all(np.isfinite(X))


@FAST
@given(lam=st.floats(-1, 2), mu_f=anything, sigma_f=anything)
def test_asymptotic_accuracy_is_a_probability_above_chance_or_a_named_error(lam, mu_f, sigma_f):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            acc = lr.asymptotic_accuracy(lam, mu_f=mu_f, sigma_f=sigma_f)
    except ValueError as err:
        assert PARAM.match(str(err)), str(err)
        return
    assert 0.5 <= acc <= 1.0


@FAST
@given(seed=st.integers(0, 10**6), alpha=st.floats(0.0, 0.99), k=st.integers(-100, 100))
def test_max_learning_rate_is_positive_and_scales_as_one_over_the_data_squared(seed, alpha, k):
    X, y = _data(seed, 30, 5)
    base = lr.max_learning_rate(X, y, alpha)
    assert base > 0
    # 2/L with L = sup l'' lambda_max(X^T X/N): rescaling X by s divides the bound by s^2
    assert lr.max_learning_rate(X * 10.0**k, y, alpha) == pytest.approx(base * 10.0**(-2 * k),
                                                                       rel=1e-9)


@FAST
@given(seed=st.integers(0, 10**6), a=st.floats(0.1, 100.0))
def test_quadratic_toy_mean_is_a_over_one_plus_r_squared(seed, a):
    A = np.random.default_rng(seed).normal(size=(3, 2)) + np.array([1.0, 0.0])
    toy = lr.quadratic_toy(A, a)
    assert toy.mu == pytest.approx(a / (1 + toy.r**2), rel=1e-9)  # App. C.4, Eq. 18
    assert toy.loss == pytest.approx(a**2 / (1 + 1 / toy.r**2), rel=1e-9)


def _softplus_expectation(m, s):
    """E[log(1 + e^{-t})] for t ~ N(m, s^2) by adaptive quadrature (scipy), an independent
    reference for population_ce's split closed form + Gauss-Legendre."""
    from scipy import integrate, stats

    if s == 0:
        return float(np.logaddexp(0.0, -m))
    f = lambda u: np.logaddexp(0.0, -(m + s * u)) * stats.norm.pdf(u)  # noqa: E731
    kink = float(np.clip(-m / s, -12.0, 12.0))
    parts = [integrate.quad(f, lo, hi, epsabs=1e-13, epsrel=1e-11, limit=200)[0]
             for lo, hi in ((-12.0, kink), (kink, 12.0))]
    return sum(parts)


@FAST
@given(w=st.lists(st.floats(-30.0, 30.0), min_size=2, max_size=4), mu_f=st.floats(0.0, 5.0),
       sigma_f=st.floats(0.0, 3.0), sigma_n=st.floats(0.05, 3.0))
def test_population_ce_is_the_gaussian_expectation_of_the_softplus(w, mu_f, sigma_f, sigma_n):
    w = np.asarray(w)
    ce = lr.population_ce(w, mu_f=mu_f, sigma_f=sigma_f, sigma_n=sigma_n)
    m = w[0] * mu_f
    s = float(np.sqrt(sigma_f**2 * w[0] ** 2 + sigma_n**2 * np.sum(w[1:] ** 2)))
    assert ce == pytest.approx(_softplus_expectation(m, s), rel=1e-8, abs=1e-12)
    # Jensen: the softplus is convex, so E softplus(-t) >= softplus(-E t)
    assert ce >= np.logaddexp(0.0, -m) * (1 - 1e-12)


@FAST
@given(w=st.lists(anything, min_size=1, max_size=4), mu_f=anything, sigma_f=anything,
       sigma_n=anything)
def test_population_ce_is_finite_and_non_negative_or_a_named_error(w, mu_f, sigma_f, sigma_n):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ce = lr.population_ce(w, mu_f=mu_f, sigma_f=sigma_f, sigma_n=sigma_n)
    except ValueError as err:
        assert PARAM.match(str(err)), str(err)
        return
    assert np.isfinite(ce) and ce >= 0.0


GD = settings(max_examples=15, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])


@GD
@given(seed=st.integers(0, 10**6), n=st.integers(20, 60), d=st.integers(2, 8),
       alpha=st.floats(0.0, 0.9), reg=st.sampled_from(["quadratic", "ls"]),
       frac=st.floats(0.05, 0.95), k=st.integers(-3, 3))
def test_gd_below_the_stability_bound_never_increases_the_loss(seed, n, d, alpha, reg, frac, k):
    """GD on an L-smooth convex loss with eta < 2/L decreases it every step:
    L(w') <= L(w) - eta (1 - eta L/2) |grad|^2; at any data scale 10^k."""
    X, y = _data(seed, n, d)
    X = X * 10.0**k
    eta = frac * lr.max_learning_rate(X, y, alpha, reg=reg)
    traj = lr.gd(X, y, alpha, reg=reg, eta=eta, epochs=300, n_record=50, rng=seed,
                 progress=False)
    loss = traj.train_loss[0]
    assert np.all(np.isfinite(loss))
    assert np.all(np.diff(loss) <= 1e-12 * abs(loss[0]))
    assert loss[-1] < loss[0] or np.allclose(traj.w[0], traj.w0[0])


@GD
@given(eta=anything, epochs=st.integers(-3, 5), alpha=anything, n_record=st.integers(-2, 4))
def test_gd_bad_arguments_raise_a_named_error(eta, epochs, alpha, n_record):
    X, y = _data(0, 20, 3)
    try:
        traj = lr.gd(X, y, alpha, eta=eta, epochs=epochs, n_record=n_record, rng=0,
                     progress=False)
    except ValueError as err:
        assert re.match(r"^(eta|epochs|alpha|n_record)\b", str(err)), str(err)
        return
    except FloatingPointError as err:  # a stable-looking eta that still diverges: named
        assert "eta" in str(err), str(err)
        return
    assert np.all(np.isfinite(traj.train_loss))
