"""``LogitRegClassifier``: a scikit-learn-style shell around :func:`logitreg.solvers.fit`."""

from __future__ import annotations

import numpy as np

from .solvers import fit

__all__ = ["LogitRegClassifier"]


class LogitRegClassifier:
    """Linear classifier trained on the mean loss ``(1 - alpha) CE + alpha f(z)``.

    ``__init__`` only stores its arguments; :meth:`fit` validates, calls the solver and
    stores what it learned in attributes ending in ``_`` (scikit-learn conventions).

    Parameters
    ----------
    alpha : float in [0, 1), default 0.1
    reg : str, sympy expression or penalty, default "quadratic"
    fit_intercept : bool, default False
    method : {"newton", "lbfgs", "cvxpy"}, default "newton"
    tol : float, default 1e-10
    max_iter : int or None, default None

    Attributes
    ----------
    coef_ : ndarray of shape (d,) (binary) or (K, d)
    intercept_ : float or ndarray of shape (K,)
    classes_ : ndarray of shape (K,)
    n_iter_ : int
    result_ : FitResult

    Examples
    --------
    >>> import logitreg as lr
    >>> X, y = lr.signal_plus_noise(200, 20, rng=0)
    >>> clf = lr.LogitRegClassifier(alpha=0.2).fit(X, y)
    >>> bool(clf.score(X, y) > 0.8)
    True
    """

    def __init__(self, alpha=0.1, *, reg="quadratic", fit_intercept=False, method="newton",
                 tol=1e-10, max_iter=None):
        self.alpha = alpha
        self.reg = reg
        self.fit_intercept = fit_intercept
        self.method = method
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, X, y):
        res = fit(X, y, self.alpha, reg=self.reg, fit_intercept=self.fit_intercept,
                  method=self.method, tol=self.tol, max_iter=self.max_iter)
        self.result_ = res
        self.coef_ = res.coef
        self.intercept_ = res.b
        self.classes_ = res.classes
        self.n_iter_ = res.n_iter
        return self

    def decision_function(self, X):
        return self.result_.decision_function(X)

    def predict(self, X):
        return self.result_.predict(X)

    def score(self, X, y):
        """Mean accuracy on ``(X, y)``."""
        return float(np.mean(self.predict(X) == np.asarray(y)))
