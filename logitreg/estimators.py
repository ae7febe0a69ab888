"""``LogitRegClassifier``: a scikit-learn estimator around :func:`logitreg.solvers.fit`."""

from __future__ import annotations

import sys
from numbers import Integral, Real

import numpy as np
from scipy.special import expit, log_expit, log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .losses import MulticlassPenalty, Penalty
from .solvers import METHODS, fit

__all__ = ["LogitRegClassifier"]


class _SympyExpression(HasMethods):
    """A sympy expression, recognised without importing sympy: one exists only if it is.

    (A ``HasMethods`` because scikit-learn accepts only its own constraint classes.)
    """

    def __init__(self):
        super().__init__(["subs"])

    def is_satisfied_by(self, val):
        sp = sys.modules.get("sympy")
        return sp is not None and isinstance(val, sp.Basic)

    def __str__(self):
        return "a sympy expression"


class LogitRegClassifier(ClassifierMixin, BaseEstimator):
    """Linear classifier trained on the mean loss ``(1 - alpha) CE + alpha f(z)``.

    The exact minimiser of Eq. 1 (binary) or Eq. 6 (multiclass) of Beck, Bar-Sinai &
    Levi (2026), computed by :func:`logitreg.fit`. ``__init__`` only stores its arguments;
    :meth:`fit` validates the data, calls the solver and stores what it learned in
    attributes ending in ``_``, so the estimator works in ``Pipeline``, ``GridSearchCV`` and
    ``cross_val_score``.

    Parameters
    ----------
    alpha : float in [0, 1), default 0.1
        Weight of the logit penalty ``f``; ``alpha = 0`` is plain cross-entropy.
    reg : {"quadratic", "ls"}, sympy expression or penalty object, default "quadratic"
        The penalty ``f``: ``z**2`` (``||z||**2`` multiclass), label smoothing, or any convex
        even expression in one symbol (see :mod:`logitreg.losses`).
    fit_intercept : bool, default False
        Fit a bias ``b``; the paper's binary analysis has ``b = 0``.
    method : {"newton", "lbfgs", "cvxpy"}, default "newton"
        The solver (``"cvxpy"`` supports only the built-in penalties).
    tol : float > 0, default 1e-10
        Stop when ``|grad L| <= tol * |grad L(0)|`` (newton, lbfgs).
    max_iter : int >= 1 or None, default None
        Solver iterations; ``None`` is the solver's default (see :func:`logitreg.fit`).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) (binary) or (n_classes, n_features)
        Weights; for binary data the logit of ``classes_[1]`` is ``X @ coef_ + intercept_``.
    intercept_ : float (binary) or ndarray of shape (n_classes,)
        Bias (0 when ``fit_intercept=False``).
    classes_ : ndarray of shape (n_classes,)
        The sorted class labels (any type numpy can sort, strings included).
    n_features_in_ : int
        Number of features seen in :meth:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` was a DataFrame with string column names.
    n_iter_ : int
        Solver iterations (0 for the hard-margin SVM of separable data at ``alpha = 0``).
    result_ : FitResult
        The solver's full record (loss, gradient norm, convergence message, ...).

    See Also
    --------
    logitreg.fit : the solver, as a function.
    sklearn.linear_model.LogisticRegression : the ``alpha = 0`` problem (``penalty=None``).

    Notes
    -----
    ``alpha = 0`` on separable data has no minimiser: the solver then returns the hard-margin
    SVM direction (the limit of gradient descent), with margins 1. Its probabilities are
    those of that unit-margin scaling, not of a fitted scale.

    References
    ----------
    Beck, Bar-Sinai & Levi, "The Implicit Bias of Logit Regularization" (2026), Eqs. 1 and 6.

    Examples
    --------
    >>> import logitreg as lr
    >>> X, y = lr.signal_plus_noise(200, 20, rng=0)
    >>> clf = lr.LogitRegClassifier(alpha=0.2).fit(X, y)
    >>> bool(clf.score(X, y) > 0.8)
    True
    >>> clf.predict_proba(X[:3]).shape
    (3, 2)
    """

    _parameter_constraints: dict = {
        "alpha": [Interval(Real, 0, 1, closed="left")],
        "reg": [StrOptions({"quadratic", "ls"}), _SympyExpression(), Penalty, MulticlassPenalty],
        "fit_intercept": ["boolean"],
        "method": [StrOptions(set(METHODS))],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(self, alpha=0.1, *, reg="quadratic", fit_intercept=False, method="newton",
                 tol=1e-10, max_iter=None):
        self.alpha = alpha
        self.reg = reg
        self.fit_intercept = fit_intercept
        self.method = method
        self.tol = tol
        self.max_iter = max_iter

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the exact minimiser of the (weighted) mean loss.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
        y : array_like of shape (n_samples,)
            Class labels, at least two distinct values.
        sample_weight : array_like of shape (n_samples,), optional
            Non-negative weights ``s_i``: the loss becomes ``sum_i s_i l_i / sum_i s_i``
            (integer weights are the same as repeated samples). Samples of zero weight are
            dropped; every class needs a positive total weight.

        Returns
        -------
        self : LogitRegClassifier
        """
        # At least 2 samples: a classifier needs two classes.
        X, y = validate_data(self, X, y, dtype=np.float64, ensure_min_samples=2)
        check_classification_targets(y)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                                 ensure_non_negative=True)
        res = fit(X, y, self.alpha, reg=self.reg, fit_intercept=self.fit_intercept,
                  method=self.method, tol=self.tol, max_iter=self.max_iter,
                  sample_weight=sample_weight)
        self.result_ = res
        self.coef_ = res.coef
        self.intercept_ = res.b
        self.classes_ = res.classes
        self.n_iter_ = res.n_iter
        return self

    def decision_function(self, X):
        """Logits.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) (binary: the logit of ``classes_[1]``) or
        (n_samples, n_classes)
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return X @ self.coef_.T + self.intercept_

    def predict(self, X):
        """Most probable class.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,), with labels from ``classes_``
        """
        z = self.decision_function(X)
        if z.ndim == 1:
            return self.classes_[(z > 0).astype(int)]
        return self.classes_[np.argmax(z, axis=1)]

    def predict_log_proba(self, X):
        """Log class probabilities: log-sigmoid (binary) or log-softmax of the logits.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes), columns ordered as ``classes_``
        """
        z = self.decision_function(X)
        if z.ndim == 1:
            return np.column_stack([log_expit(-z), log_expit(z)])
        return log_softmax(z, axis=1)

    def predict_proba(self, X):
        """Class probabilities: sigmoid (binary) or softmax of the logits.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes), columns ordered as ``classes_``; rows sum to 1
        """
        z = self.decision_function(X)
        if z.ndim == 1:
            return np.column_stack([expit(-z), expit(z)])
        return softmax(z, axis=1)
