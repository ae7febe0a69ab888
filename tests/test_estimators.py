"""``LogitRegClassifier`` is a scikit-learn classifier, and solves the problem it claims to."""

import warnings

import numpy as np
import pytest
import sympy as sp
from scipy.special import expit
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

import logitreg as lr
from logitreg import LogitRegClassifier


# The defaults, and an intercept with the shift-invariant multiclass penalty (label
# smoothing). Newton only: the estimator checks compare predictions to rtol 1e-7, which
# L-BFGS (stops at tol on the gradient) and Clarabel (gap 1e-8) do not always reach.
@parametrize_with_checks([LogitRegClassifier(), LogitRegClassifier(reg="ls", fit_intercept=True)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _data(rng, n=300, d=4, n_classes=2, offset=0.0):
    """Overlapping Gaussians (sigma_f = 1, N >> d): not separable, alpha = 0 has a minimiser."""
    X, y = lr.signal_plus_noise(n, d, n_classes=n_classes, sigma_f=1.0, rng=rng)
    return X + offset, y


def test_is_a_classifier_whose_init_only_stores_its_arguments():
    reg = sp.Symbol("z") ** 2
    clf = LogitRegClassifier(0.3, reg=reg, fit_intercept=True, method="lbfgs", tol=1e-6,
                             max_iter=50)
    assert is_classifier(clf)
    assert clf.get_params() == dict(alpha=0.3, reg=reg, fit_intercept=True, method="lbfgs",
                                    tol=1e-6, max_iter=50)
    assert clone(clf).get_params()["reg"] == reg
    assert not [k for k in vars(clf) if k.endswith("_")]


def test_a_sympy_penalty_is_accepted_and_z_squared_is_the_quadratic_one(rng):
    X, y = _data(rng, n=100)
    sym = LogitRegClassifier(0.2, reg=sp.Symbol("t") ** 2).fit(X, y)
    builtin = LogitRegClassifier(0.2, reg="quadratic").fit(X, y)
    # Same f, f', f'' (lambdified t**2 vs numpy t**2): equal up to rounding in Newton's steps.
    np.testing.assert_allclose(sym.coef_, builtin.coef_, rtol=1e-12)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(alpha=1.0), "'alpha' parameter"),
        (dict(alpha=-0.1), "'alpha' parameter"),
        (dict(reg="l2"), "'reg' parameter"),
        (dict(reg=2.0), "'reg' parameter"),
        (dict(method="sgd"), "'method' parameter"),
        (dict(tol=0.0), "'tol' parameter"),
        (dict(max_iter=0), "'max_iter' parameter"),
        (dict(fit_intercept="yes"), "'fit_intercept' parameter"),
    ],
)
def test_invalid_parameters_raise_naming_the_parameter(params, match, rng):
    X, y = _data(rng, n=40)
    with pytest.raises(InvalidParameterError, match=match):
        LogitRegClassifier(**params).fit(X, y)


def test_unfitted_estimator_refuses_to_predict(rng):
    X, _ = _data(rng, n=10)
    with pytest.raises(NotFittedError):
        LogitRegClassifier().predict(X)


def test_fitted_attributes_match_the_solver(rng):
    X, y = _data(rng)
    clf = LogitRegClassifier(alpha=0.2, fit_intercept=True).fit(X, y)
    res = lr.fit(X, y, 0.2, fit_intercept=True)
    np.testing.assert_array_equal(clf.coef_, res.w)  # same inputs, same solver: bit for bit
    assert clf.intercept_ == res.b and clf.n_iter_ == res.n_iter >= 1
    assert clf.n_features_in_ == 4 and clf.result_.converged
    np.testing.assert_array_equal(clf.classes_, [-1, 1])
    with pytest.raises(ValueError, match="4 features"):
        clf.predict(X[:, :3])


@pytest.mark.parametrize("n_classes", [2, 3])
def test_string_labels_round_trip(n_classes, rng):
    X, y = _data(rng, n_classes=n_classes)
    names = np.array(["cat", "dog", "emu"])[: n_classes]
    labels = names[np.unique(y, return_inverse=True)[1]]
    clf = LogitRegClassifier().fit(X, labels)
    np.testing.assert_array_equal(clf.classes_, names)
    pred = clf.predict(X)
    assert pred.dtype.kind == "U" and set(pred) <= set(names)
    # Column k of predict_proba is classes_[k], so the argmax reproduces predict.
    np.testing.assert_array_equal(names[np.argmax(clf.predict_proba(X), axis=1)], pred)
    assert clf.score(X, labels) > 0.6


def test_binary_outputs_are_sigmoids_of_one_logit(rng):
    X, y = _data(rng)
    clf = LogitRegClassifier(alpha=0.1).fit(X, y)
    z = clf.decision_function(X)
    assert z.shape == (300,)
    P = clf.predict_proba(X)
    assert P.shape == (300, 2)
    np.testing.assert_allclose(P[:, 1], expit(z), rtol=1e-15)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), P, rtol=1e-13)
    np.testing.assert_array_equal(clf.predict(X), np.where(z > 0, 1, -1))


def test_multiclass_outputs_are_softmax_of_k_logits(rng):
    X, y = _data(rng, n_classes=3)
    clf = LogitRegClassifier(alpha=0.1, fit_intercept=True).fit(X, y)
    Z = clf.decision_function(X)
    assert Z.shape == (300, 3) and clf.coef_.shape == (3, 4) and clf.intercept_.shape == (3,)
    P = clf.predict_proba(X)
    np.testing.assert_allclose(P, np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True), rtol=1e-13)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), P, rtol=1e-13)
    np.testing.assert_array_equal(clf.predict(X), np.argmax(Z, axis=1))


@pytest.mark.parametrize("n_classes", [2, 3])
def test_log_proba_stays_finite_where_proba_underflows(n_classes, rng):
    X, y = _data(rng, n_classes=n_classes)
    clf = LogitRegClassifier(alpha=0.1).fit(X, y)
    X_far = 1e4 * X  # logits ~ 1e4: exp(-1e4) underflows to 0
    P, logP = clf.predict_proba(X_far), clf.predict_log_proba(X_far)
    assert np.any(P == 0.0)
    assert np.all(np.isfinite(logP)) and np.all(logP <= 0)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-15)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_integer_sample_weight_equals_repeating_samples(n_classes, fit_intercept, rng):
    X, y = _data(rng, n=80, n_classes=n_classes, offset=0.3)
    sw = rng.integers(0, 4, size=80)
    sw[:n_classes] = 1  # every class keeps a positive weight
    weighted = LogitRegClassifier(0.2, fit_intercept=fit_intercept).fit(X, y, sample_weight=sw)
    repeated = LogitRegClassifier(0.2, fit_intercept=fit_intercept).fit(
        np.repeat(X, sw, axis=0), np.repeat(y, sw))
    # Same objective, both converged to |grad| <= 1e-10 |grad(0)| (well conditioned): 1e-8.
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(weighted.intercept_, repeated.intercept_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(weighted.result_.loss, repeated.result_.loss, rtol=1e-12)


def test_sample_weight_errors_name_sample_weight(rng):
    X, y = _data(rng, n=40)
    clf = LogitRegClassifier()
    with pytest.raises(ValueError, match="sample_weight"):
        clf.fit(X, y, sample_weight=np.ones(39))
    with pytest.raises(ValueError, match="sample_weight"):
        clf.fit(X, y, sample_weight=-np.ones(40))
    with pytest.raises(ValueError, match="zero"):
        clf.fit(X, y, sample_weight=np.zeros(40))
    with pytest.raises(ValueError, match=r"sample_weight must give every class.*\[1\]"):
        clf.fit(X, y, sample_weight=(y < 0).astype(float))


def test_works_in_a_pipeline_with_a_scaler(rng):
    X, y = _data(rng, n_classes=3)
    X = X * np.array([1.0, 100.0, 0.01, 5.0]) + 7.0  # badly scaled, offset features
    pipe = make_pipeline(StandardScaler(), LogitRegClassifier(alpha=0.1, fit_intercept=True))
    pipe.fit(X, y)
    clf = pipe[-1]
    Xs = StandardScaler().fit_transform(X)
    ref = LogitRegClassifier(alpha=0.1, fit_intercept=True).fit(Xs, y)
    np.testing.assert_array_equal(clf.coef_, ref.coef_)  # the pipeline only scales
    np.testing.assert_allclose(pipe.predict_proba(X), ref.predict_proba(Xs), rtol=1e-12)
    assert pipe.score(X, y) > 0.6


def test_grid_search_over_alpha_and_reg(rng):
    X, y = _data(rng, n=200)
    grid = GridSearchCV(LogitRegClassifier(), {"alpha": [0.0, 0.1, 0.4],
                                                "reg": ["quadratic", "ls"]}, cv=3)
    grid.fit(X, y)
    assert len(grid.cv_results_["params"]) == 6
    assert grid.best_params_["alpha"] in (0.0, 0.1, 0.4)
    assert grid.best_score_ > 0.6
    best = grid.best_estimator_
    assert best.get_params()["reg"] == grid.best_params_["reg"] and hasattr(best, "coef_")


def test_cross_val_score_scores_every_fold(rng):
    X, y = _data(rng, n=200, n_classes=3)
    scores = cross_val_score(LogitRegClassifier(alpha=0.2, fit_intercept=True), X, y, cv=4)
    assert scores.shape == (4,) and np.all(scores > 0.5)


# ---------------------------------------------------------------- LogisticRegression


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_alpha_zero_binary_matches_unpenalized_logistic_regression(fit_intercept, rng):
    """alpha = 0 is plain cross-entropy: sklearn's unpenalized logistic regression.

    Non-separable data (overlapping Gaussians, N >> d), so the minimiser is finite and
    unique, and the two coefficient vectors must coincide.
    """
    X, y = _data(rng, n=600, offset=0.5 if fit_intercept else 0.0)
    ours = LogitRegClassifier(alpha=0.0, fit_intercept=fit_intercept).fit(X, y)
    assert not ours.result_.separable
    # C = inf is "no penalty" (penalty=None is deprecated since scikit-learn 1.8); sklearn
    # minimises mean CE + penalty / C, the same objective. newton-cholesky at tol 1e-12 is a
    # second-order solver, so both sides are converged far below the tolerances used here.
    ref = LogisticRegression(C=np.inf, fit_intercept=fit_intercept, solver="newton-cholesky",
                             tol=1e-12, max_iter=1000).fit(X, y)
    # Both stop at a relative gradient <= 1e-10 on a problem of condition ~10: the minimisers
    # agree to ~1e-10 (measured: <= 1e-10); 1e-8 leaves a margin of 100.
    np.testing.assert_allclose(ours.coef_, ref.coef_[0], rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_[0], rtol=1e-8, atol=1e-9)
    # |d sigmoid / dz| <= 1/4 and |x| ~ 3: probabilities move less than ~|coef error|.
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=0, atol=1e-9)


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_alpha_zero_multiclass_matches_unpenalized_multinomial_regression(fit_intercept, rng):
    """Multiclass alpha = 0 is the multinomial logistic regression.

    Its unpenalized problem is flat along W -> W + 1 u^T (softmax is shift invariant), so
    the two solvers may return different coefficients: compare probabilities only.
    """
    X, y = _data(rng, n=600, n_classes=3, offset=0.5 if fit_intercept else 0.0)
    ours = LogitRegClassifier(alpha=0.0, fit_intercept=fit_intercept).fit(X, y)
    assert not ours.result_.separable
    ref = LogisticRegression(C=np.inf, fit_intercept=fit_intercept, solver="newton-cholesky",
                             tol=1e-12, max_iter=1000).fit(X, y)
    # As in the binary test: both converged to ~1e-10 (measured <= 5e-11), margin 10-100.
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=0, atol=1e-9)
    # The class-centred logits are the shift-free part, and they agree too.
    Z, Zr = ours.decision_function(X), ref.decision_function(X)
    np.testing.assert_allclose(Z - Z.mean(axis=1, keepdims=True),
                               Zr - Zr.mean(axis=1, keepdims=True), rtol=0, atol=1e-8)


def test_feature_names_are_recorded_from_a_dataframe(rng):
    pd = pytest.importorskip("pandas")
    X, y = _data(rng, n=60)
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = LogitRegClassifier().fit(df, y)
    np.testing.assert_array_equal(clf.feature_names_in_, ["a", "b", "c", "d"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.predict(df)
