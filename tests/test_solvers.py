"""Every solver finds the same minimiser; the special cases are handled exactly."""

import warnings

import numpy as np
import pytest

import logitreg as lr
from logitreg import ConvergenceWarning
from logitreg.losses import LinearObjective, make_loss
from logitreg.max_margin import max_margin
from logitreg.solvers import fit


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
    from logitreg.max_margin import _max_margin_cvxpy

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


# ----------------------------------------------------------------------- sample_weight


def _weighted_problem(rng, n_classes=2, n=90, d=6):
    X, y = lr.signal_plus_noise(n, d, n_classes=n_classes, sigma_f=1.0, rng=rng)
    sw = rng.integers(0, 4, size=n)
    sw[:n_classes] = 1  # every class keeps a positive weight
    return X + 0.3, y, sw


def test_weighted_objective_is_the_weighted_mean_and_its_gradient_is_exact(rng):
    X, y, sw = _weighted_problem(rng, n_classes=3)
    loss = make_loss(0.3, "ls", 3)
    obj = LinearObjective(X, y, loss, fit_intercept=True, sample_weight=sw)
    theta = rng.normal(size=obj.size)
    Z = np.column_stack([X, np.ones(len(X))]) @ theta.reshape(3, -1).T
    expected = np.sum(sw * loss.value(Z, y)) / np.sum(sw)
    assert obj.value(theta) == pytest.approx(expected, rel=1e-13)  # rounding of two sums
    # Central differences, step 1e-6: truncation ~1e-12, rounding ~1e-10 -> atol 1e-8.
    e = np.eye(obj.size)
    fd = np.array([(obj.value(theta + 1e-6 * v) - obj.value(theta - 1e-6 * v)) / 2e-6 for v in e])
    np.testing.assert_allclose(obj.grad(theta), fd, atol=1e-8)
    fd_h = np.stack([(obj.grad(theta + 1e-6 * v) - obj.grad(theta - 1e-6 * v)) / 2e-6
                     for v in e], axis=1)
    np.testing.assert_allclose(obj.hessian(theta), fd_h, atol=1e-8)


@pytest.mark.parametrize(
    "method, coef_rtol",
    [
        ("newton", 1e-8),  # second order, |grad| <= 1e-10 |grad(0)|, condition ~10
        ("lbfgs", 1e-6),  # stops on its f-reduction test near 1e-9 (measured <= 2e-8)
        ("cvxpy", 1e-4),  # Clarabel gap 1e-8: the coefficients to ~sqrt(1e-8) (measured 2e-5)
    ],
)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_every_method_treats_integer_weights_as_repeated_samples(method, coef_rtol, n_classes,
                                                                 rng):
    X, y, sw = _weighted_problem(rng, n_classes=n_classes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Clarabel's "optimal_inaccurate": checked below
        weighted = fit(X, y, 0.3, method=method, fit_intercept=True, sample_weight=sw)
        repeated = fit(np.repeat(X, sw, axis=0), np.repeat(y, sw), 0.3, method=method,
                       fit_intercept=True)
    # The objectives are the same function, so their minima agree to the solver accuracy.
    assert _relgap(weighted.loss, repeated.loss) <= 1e-8
    np.testing.assert_allclose(weighted.coef, repeated.coef, rtol=coef_rtol, atol=coef_rtol)
    np.testing.assert_allclose(weighted.b, repeated.b, rtol=coef_rtol, atol=coef_rtol)


@pytest.mark.parametrize("c", [1.0, 0.1, 7.0])
def test_constant_weights_are_the_unweighted_problem_bit_for_bit(c, rng):
    X, y, _ = _weighted_problem(rng, n_classes=3)
    plain = fit(X, y, 0.2, fit_intercept=True)
    weighted = fit(X, y, 0.2, fit_intercept=True, sample_weight=np.full(len(y), c))
    np.testing.assert_array_equal(weighted.W, plain.W)
    np.testing.assert_array_equal(weighted.b, plain.b)


def test_weights_act_only_through_their_ratios(rng):
    X, y, sw = _weighted_problem(rng)
    a = fit(X, y, 0.2, sample_weight=sw)
    b = fit(X, y, 0.2, sample_weight=1e3 * sw)
    # Normalised to mean one, the two problems differ only by rounding of the weights.
    np.testing.assert_allclose(a.w, b.w, rtol=1e-12, atol=1e-14)


def test_zero_weights_drop_their_samples(rng):
    X, y, sw = _weighted_problem(rng)
    keep = sw > 0
    assert not keep.all()
    a = fit(X, y, 0.2, sample_weight=sw)
    b = fit(X[keep], y[keep], 0.2, sample_weight=sw[keep])
    np.testing.assert_array_equal(a.w, b.w)  # literally the same problem


def test_max_margin_is_unchanged_by_positive_weights_and_drops_zero_weights(rng):
    X, y = lr.signal_plus_noise(60, 40, sigma_f=0.3, rng=rng)
    plain = fit(X, y, 0.0)
    assert plain.separable
    weighted = fit(X, y, 0.0, sample_weight=rng.uniform(0.5, 2.0, size=60))
    np.testing.assert_array_equal(weighted.w, plain.w)  # hard margin: weights play no role
    sw = np.ones(60)
    sw[:20] = 0.0
    dropped = fit(X, y, 0.0, sample_weight=sw)
    np.testing.assert_array_equal(dropped.w, fit(X[20:], y[20:], 0.0).w)


@pytest.mark.parametrize(
    "sample_weight, match",
    [
        (np.ones(59), r"sample_weight must have shape \(n_samples,\) = \(60,\); got "
                      r"sample_weight.shape=\(59,\)"),
        (np.ones((60, 2)), r"sample_weight.shape=\(60, 2\)"),
        (np.r_[-1.0, np.ones(59)], r"finite and >= 0; got sample_weight\[0\]=-1.0"),
        (np.r_[np.ones(59), np.nan], r"finite and >= 0; got sample_weight\[59\]=nan"),
        (np.zeros(60), "sample_weight must have at least one positive weight"),
        (["a"] * 60, "sample_weight must be an array of non-negative numbers"),
    ],
)
def test_invalid_sample_weight_raises_naming_it(sample_weight, match, rng):
    X, y = lr.signal_plus_noise(60, 4, rng=rng)
    with pytest.raises(ValueError, match=match):
        fit(X, y, 0.1, sample_weight=sample_weight)


def test_a_class_without_weight_is_refused(rng):
    X, y = lr.signal_plus_noise(60, 4, n_classes=3, rng=rng)
    with pytest.raises(ValueError, match=r"positive total weight; got zero weight for "
                                         r"classes \[2\] of \[0, 1, 2\]"):
        fit(X, y, 0.1, sample_weight=(y != 2).astype(float))


@pytest.mark.parametrize("n_classes", [2, 3])
def test_weights_equal_repeats_when_d_exceeds_n_the_minimum_norm_minimiser(n_classes, rng):
    """d > N: the minimisers form an affine set; both fits return its minimum-norm point.

    The repeated design has dependent rows (rank N' < its N rows), so it is reduced to its
    rank; with an intercept (w, b) is the minimum-norm pair. Only then do the two fits agree
    off the training points too.
    """
    X, y = lr.signal_plus_noise(12, 30, n_classes=n_classes, rng=rng)
    sw = np.r_[np.ones(n_classes), rng.integers(0, 4, size=12 - n_classes)].astype(int)
    weighted = fit(X, y, 0.1, fit_intercept=True, sample_weight=sw)
    repeated = fit(np.repeat(X, sw, axis=0), np.repeat(y, sw), 0.1, fit_intercept=True)
    # Newton to |grad| <= 1e-10 |grad(0)| on well-conditioned (N', N') systems.
    np.testing.assert_allclose(weighted.coef, repeated.coef, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(weighted.b, repeated.b, rtol=1e-8, atol=1e-10)
    # Minimum norm: (w, b) lies in the row space of [X, 1] restricted to weighted samples.
    keep = sw > 0
    Xa = np.column_stack([X[keep], np.ones(keep.sum())])
    theta = np.column_stack([np.atleast_2d(weighted.coef), np.atleast_1d(weighted.b)])
    P = np.linalg.pinv(Xa) @ Xa  # projector onto that row space
    np.testing.assert_allclose(theta @ P, theta, atol=1e-10)


# ------------------------------------------------------------ the start w0 of GD (d > N)


def _gd(obj, theta, eta, steps):
    for _ in range(steps):
        theta = theta - eta * obj.grad(theta)
    return theta


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_w0_gives_the_limit_of_long_exact_gd_from_w0(fit_intercept, rng):
    """GD moves w only in the row space of X: from w0 it ends at the minimum-norm minimiser
    plus w0's null-space part (with an intercept: of [X, 1], from (w0, b0 = 0))."""
    X, y = lr.signal_plus_noise(30, 60, rng=rng)
    w0 = rng.uniform(-1, 1, 60) / np.sqrt(60)
    obj = LinearObjective(X, y.astype(float), make_loss(0.3), fit_intercept=fit_intercept)
    theta0 = np.r_[w0, 0.0] if fit_intercept else w0
    # eta = 1/L with L = sup l'' lambda_max(A^T A / N); the slowest row-space mode contracts
    # by (1 - eta * 0.6 * smallest eigenvalue) per step: 1e5 steps leave < 1e-12.
    L = (0.6 + 0.7 / 4) * np.linalg.eigvalsh(obj.gram).max()
    theta = _gd(obj, theta0, 1.0 / L, 100_000)
    res = fit(X, y, 0.3, fit_intercept=fit_intercept, w0=w0)
    np.testing.assert_allclose(res.w, theta[:60], atol=1e-9)
    if fit_intercept:
        assert res.b == pytest.approx(theta[60], abs=1e-9)
    # w0 = None is the start 0, the minimum-norm minimiser; the two differ off the data only.
    plain = fit(X, y, 0.3, fit_intercept=fit_intercept)
    np.testing.assert_allclose(res.decision_function(X), plain.decision_function(X), atol=1e-9)
    assert np.linalg.norm(res.w - plain.w) > 0.1


def test_w0_is_ignored_when_the_minimiser_is_unique(rng):
    X, y = lr.signal_plus_noise(80, 30, rng=rng)
    w0 = rng.normal(size=30)
    np.testing.assert_array_equal(fit(X, y, 0.2, w0=w0).w, fit(X, y, 0.2).w)
    X, y = lr.signal_plus_noise(30, 60, sigma_f=0.3, rng=rng)  # separable, alpha = 0
    np.testing.assert_array_equal(fit(X, y, 0.0, w0=rng.normal(size=60)).w, fit(X, y, 0.0).w)


def test_multiclass_w0_adds_its_null_space_part(rng):
    X, y = lr.signal_plus_noise(20, 50, n_classes=3, rng=rng)
    W0 = rng.normal(size=(3, 50)) / np.sqrt(50)
    res, plain = fit(X, y, 0.2, w0=W0), fit(X, y, 0.2)
    P = np.linalg.pinv(X) @ X  # projector onto the row space of X
    np.testing.assert_allclose(res.W, plain.W + W0 - W0 @ P, atol=1e-10)


@pytest.mark.parametrize("w0, match", [
    (np.ones(5), r"w0 must have shape \(60,\) \(that of the weights\); got w0.shape=\(5,\)"),
    (np.r_[np.nan, np.ones(59)], "w0 must be finite"),
])
def test_invalid_w0_is_refused_naming_it(w0, match, rng):
    X, y = lr.signal_plus_noise(30, 60, rng=rng)
    with pytest.raises(ValueError, match=match):
        fit(X, y, 0.2, w0=w0)


# ------------------------------------------------------------------- the weight penalty l2


@pytest.mark.parametrize(("n", "d", "n_classes", "fit_intercept"), [
    (200, 20, 2, False), (200, 20, 2, True), (100, 300, 2, True), (150, 10, 3, True),
    (60, 100, 3, False)])
def test_l2_at_alpha_zero_is_sklearns_logistic_regression(n, d, n_classes, fit_intercept, rng):
    """sklearn minimises C sum_i CE_i + |w|^2/2 (intercept not penalised): our mean CE +
    (l2/2)|w|^2 with l2 = 1/(C N) is that objective divided by C N."""
    from sklearn.linear_model import LogisticRegression

    X, y = lr.signal_plus_noise(n, d, n_classes=n_classes, rng=rng)
    X = X + 0.3  # an offset, so the intercept matters
    l2 = 0.05
    sk = LogisticRegression(C=1 / (n * l2), fit_intercept=fit_intercept, tol=1e-12,
                            max_iter=10_000).fit(X, y)
    for method in ("newton", "lbfgs"):
        with warnings.catch_warnings():
            # L-BFGS-B may stop "ABNORMAL" on its line search a hair above tol=1e-10;
            # the coefficients are checked below, which is what matters here.
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = fit(X, y, 0.0, l2=l2, method=method, fit_intercept=fit_intercept)
        assert (res.converged or method == "lbfgs") and not res.separable and res.l2 == l2
        # lbfgs (sklearn) to gtol 1e-12 on a problem of condition ~1e2: coefficients ~1e-7
        np.testing.assert_allclose(res.coef, sk.coef_ if n_classes > 2 else sk.coef_[0],
                                   atol=1e-6)
        if n_classes == 2:  # multiclass CE is flat along b + c 1 at alpha = 0
            assert res.b == pytest.approx(sk.intercept_[0], abs=1e-6)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("d", [8, 150])
def test_l2_newton_lbfgs_cvxpy_agree_with_weights(n_classes, d, rng):
    X, y, sw = _weighted_problem(rng, n_classes=n_classes, n=90, d=d)
    res = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Clarabel's "optimal_inaccurate": checked below
        for m in ("newton", "lbfgs", "cvxpy"):
            res[m] = fit(X, y, 0.3, l2=0.02, method=m, fit_intercept=True, sample_weight=sw)
    assert res["newton"].converged
    for m in ("lbfgs", "cvxpy"):
        assert _relgap(res[m].loss, res["newton"].loss) <= 1e-8, m
    # L-BFGS solves d > N in the full space (Newton in the row space): the same weights, to
    # L-BFGS's accuracy at the gradient tolerance (1.7e-7 at K = 3, d = 150, also when it
    # was given the row space).
    np.testing.assert_allclose(res["lbfgs"].coef, res["newton"].coef, rtol=1e-6, atol=1e-6)
    # The loss includes the penalty: recompute it from the weighted mean loss.
    r = res["newton"]
    obj = LinearObjective(X, y if n_classes > 2 else np.where(y > 0, 1.0, -1.0),
                          make_loss(0.3, "quadratic", n_classes), fit_intercept=True,
                          sample_weight=sw)
    theta = np.column_stack([np.atleast_2d(r.coef), np.atleast_1d(r.b)]).ravel()
    assert r.loss == pytest.approx(obj.value(theta) + 0.01 * np.sum(r.coef**2), rel=1e-12)
    # Integer weights are repeated samples, with the penalty too.
    rep = fit(np.repeat(X, sw, axis=0), np.repeat(y, sw), 0.3, l2=0.02, fit_intercept=True)
    np.testing.assert_allclose(r.coef, rep.coef, rtol=1e-7, atol=1e-9)


def test_l2_gives_a_finite_minimiser_on_separable_data_and_is_scale_equivariant(rng):
    X, y = lr.signal_plus_noise(60, 40, sigma_f=0.3, rng=rng)
    assert fit(X, y, 0.0).separable
    res = fit(X, y, 0.0, l2=1e-3)
    assert res.converged and not res.separable and np.isfinite(res.loss)
    # l2 |w|^2 / 2 on X is (l2 s^2) |w'|^2 / 2 on s X with w' = w / s.
    for s in (2.0**-20, 2.0**400):  # the second is solved on rescaled data inside fit
        np.testing.assert_allclose(fit(X * s, y, 0.0, l2=1e-3 * s**2).w * s, res.w,
                                   rtol=1e-8)


def test_negative_l2_is_refused():
    X, y = lr.signal_plus_noise(30, 3, rng=0)
    with pytest.raises(ValueError, match=r"l2 must be >= 0; got l2=-0.1"):
        fit(X, y, 0.1, l2=-0.1)


# ------------------------------------------------------- max margin by principal pivoting


@pytest.mark.parametrize(("n", "d", "sigma_f"), [(300, 200, 0.5), (200, 400, 0.0),
                                                  (250, 250, 1.0)])
def test_principal_pivoting_max_margin_equals_nnls(n, d, sigma_f, rng):
    """d >= N/2 tries the dual by block principal pivoting; it must be the NNLS answer."""
    from logitreg.max_margin import _bpp_max_margin, _ldp_max_margin, _polish_support

    X, y = lr.signal_plus_noise(n, d, sigma_f=sigma_f, rng=rng)
    A = y[:, None] * X
    w_bpp = _bpp_max_margin(A)
    w_nnls = _polish_support(A, _ldp_max_margin(A))
    assert w_bpp is not None
    # Both are polished on their support to exact margins: they agree to rounding.
    np.testing.assert_allclose(w_bpp, w_nnls, rtol=1e-9, atol=1e-12)
    assert np.min(A @ w_bpp) == pytest.approx(1.0, abs=1e-10)


def test_max_margin_falls_back_to_nnls_when_pivoting_fails(rng):
    # sigma_f = 0 just above lambda = 1/2: a degenerate dual (many exactly tied margins)
    # on which the pivoting can fail; the answer is NNLS's either way.
    from logitreg.max_margin import _ldp_max_margin, _polish_support

    for _ in range(5):
        X, y = lr.signal_plus_noise(120, 70, sigma_f=0.0, rng=rng)
        A = y[:, None] * X
        res = fit(X, y, 0.0)
        assert res.separable
        np.testing.assert_allclose(res.w, _polish_support(A, _ldp_max_margin(A)), rtol=1e-9,
                                   atol=1e-12)


def _sympy_penalties():
    import sympy as sp

    z = sp.Symbol("x", real=True)
    return {
        "log cosh": sp.log(sp.cosh(z)),
        "ls (sympy form)": sp.log(2 + 2 * sp.cosh(z)) / 2,
        "quartic": z**4 + z**2,
        "|z|^3": sp.Abs(z) ** 3,
        "|z|^1.5": sp.Abs(z) ** 1.5,
        "sqrt(1 + z^2)": sp.sqrt(1 + z**2) - 1,
        "cosh": sp.cosh(z),
    }


@pytest.mark.parametrize("name", list(_sympy_penalties()))
@pytest.mark.parametrize("n_classes", [2, 3])
def test_cvxpy_takes_sympy_penalties_and_agrees_with_newton(name, n_classes, rng):
    """method='cvxpy' translates a sympy f into DCP atoms (logitreg._cvxpy): the same
    minimiser as Newton, which differentiates the same expression symbolically."""
    reg = _sympy_penalties()[name]
    X, y = lr.signal_plus_noise(150, 6, mu_f=1.0, sigma_f=0.5, sigma_n=1.0, n_classes=n_classes,
                                rng=rng)
    sw = rng.uniform(0.5, 2.0, len(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # cosh overflows at |z| = 1e4
        ref = fit(X, y, 0.2, reg=reg, method="newton", sample_weight=sw)
        got = fit(X, y, 0.2, reg=reg, method="cvxpy", sample_weight=sw)
    assert ref.converged and got.converged
    assert got.loss == pytest.approx(ref.loss, rel=1e-8, abs=1e-10)
    np.testing.assert_allclose(got.W if n_classes > 2 else got.w,
                               ref.W if n_classes > 2 else ref.w, atol=1e-4)


def test_cvxpy_sympy_translation_is_the_expression():
    """sympy_to_cvxpy evaluates to the sympy expression's values (no solve involved)."""
    import cvxpy as cp
    import sympy as sp

    from logitreg._cvxpy import sympy_to_cvxpy

    z = sp.Symbol("x", real=True)
    t = np.linspace(-30.0, 30.0, 61)
    for expr in list(_sympy_penalties().values()) + [sp.Max(z**2, sp.Abs(z)), sp.exp(z)]:
        got = sympy_to_cvxpy(expr, z, cp.Constant(t)).value
        want = np.array([float(expr.subs(z, v)) for v in t])
        np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=str(expr))


@pytest.mark.parametrize("kind", ["well_conditioned", "ill_conditioned", "repeated_rows"])
def test_row_space_is_an_orthonormal_basis_that_reproduces_x(kind, rng):
    """X = X_r Q^T with Q^T Q = I on each of row_space's three paths (Cholesky, QR, SVD)."""
    from logitreg.solvers import row_space

    X = rng.standard_normal((12, 40))
    if kind == "ill_conditioned":
        X[:, :] *= np.logspace(0, -6, 12)[:, None]  # cond(X) ~ 1e6: Cholesky is refused
    elif kind == "repeated_rows":
        X[6:] = X[:6]  # rank 6 < N = 12
    Q, Xr = row_space(X)
    r = 6 if kind == "repeated_rows" else 12
    assert Q.shape == (40, r) and Xr.shape == (12, r)
    np.testing.assert_allclose(Q.T @ Q, np.eye(r), atol=1e-12)
    np.testing.assert_allclose(Xr @ Q.T, X, atol=1e-12 * np.abs(X).max())
