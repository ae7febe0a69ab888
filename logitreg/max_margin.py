r"""The hard-margin SVM, the limit of gradient descent at alpha = 0 on separable data.

``max_margin`` solves ``min |w|^2`` subject to margins ``>= 1`` exactly: block principal
pivoting on the dual when ``d >= N/2``, Lawson-Hanson LDP through NNLS otherwise (and as
the fallback), then polishes the support; multiclass and intercept problems go to cvxpy.
:func:`logitreg.solvers.fit` returns it when ``alpha = 0`` and the data are separable.

References
----------
Soudry et al. (2018), "The implicit bias of gradient descent on separable data"; Lawson &
Hanson (1974), "Solving least squares problems", Ch. 23 (LDP); Kim & Park (2011) for block
principal pivoting.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg, optimize

from ._validation import check_Xy, encode_labels

__all__ = ["max_margin"]


def _ldp_max_margin(A):
    """Hard-margin SVM ``min |w|^2 s.t. A w >= 1`` by Lawson-Hanson LDP via NNLS.

    Exact (active-set). Returns ``None`` when the constraints are infeasible
    (not separable). ``A`` is the label-absorbed design (N, p).
    """
    N, p = A.shape
    E = np.vstack([A.T, np.ones((1, N))])  # (p + 1, N)
    rhs = np.zeros(p + 1)
    rhs[-1] = 1.0
    u, _ = optimize.nnls(E, rhs, maxiter=50 * N)
    r = E @ u - rhs
    if abs(r[-1]) < 1e-12 or np.linalg.norm(r) < 1e-10:
        return None
    w = -r[:-1] / r[-1]
    return w


def _bpp_max_margin(A, *, ridge=1e-10, max_iter=25, gap_tol=1e-9):
    """Hard-margin SVM of separable ``A`` (N, p) from its dual, by block principal pivoting.

    The dual ``min_u 1/2 |A^T u|^2 - 1^T u, u >= 0`` is the linear complementarity problem
    ``v = K u - 1 >= 0, u >= 0, u^T v = 0`` with ``K = A A^T``; a relative ridge ``ridge``
    on K's diagonal makes it positive definite, so that block principal pivoting (Judice &
    Pires 1994; with Kim & Park's 2011 backup rule) terminates. Each step is one Cholesky
    solve on the current support, and it takes ~10 steps where Lawson-Hanson adds one
    support vector at a time, hence its use when ``p >= N/2`` (many support vectors).

    The support it finds is polished to exact margins (:func:`_polish_support`) and the
    answer is certified by the duality gap: ``1/2 |w|^2 - D(max(u, 0)) <= gap_tol
    1/2 |w|^2`` with ``w`` primal feasible. Returns ``None`` when that fails (e.g. data that
    are not separable, or cycling): the caller then falls back to the exact NNLS.
    """
    N = A.shape[0]
    K = A @ A.T  # (N, N)
    K[np.diag_indices_from(K)] += ridge * np.trace(K) / N
    F = np.ones(N, dtype=bool)  # the passive set (u free), here the current support
    best, backup = N + 1, 3
    for _ in range(max_iter):
        u = np.zeros(N)
        try:
            c = linalg.cho_factor(K[np.ix_(F, F)], lower=True, check_finite=False)
        except linalg.LinAlgError:
            return None
        u[F] = linalg.cho_solve(c, np.ones(F.sum()), check_finite=False)
        v = K[:, F] @ u[F] - 1.0
        v[F] = 0.0
        bad = (F & (u < -1e-12 * np.abs(u).max())) | (~F & (v < -1e-10))
        n_bad = int(bad.sum())
        if n_bad == 0:
            break
        if n_bad < best:  # progress: exchange every infeasible variable
            best, backup = n_bad, 3
            F ^= bad
        elif backup > 0:  # a few more full exchanges ...
            backup -= 1
            F ^= bad
        else:  # ... then only the last one (Murty's rule: finite termination)
            i = np.flatnonzero(bad)[-1]
            F[i] = not F[i]
    else:
        return None
    u = np.maximum(u, 0.0)
    w = _polish_support(A, A.T @ u)
    if np.min(A @ w) < 1 - 1e-9:
        return None
    primal = 0.5 * float(w @ w)
    dual = float(np.sum(u)) - 0.5 * float(np.sum((A.T @ u) ** 2))
    return w if primal - dual <= gap_tol * primal else None


def _polish_support(A, w):
    """Re-solve the KKT equalities ``A_S w = 1`` on the active set S for exact margins.

    NNLS's active set identifies the support vectors; the minimum-norm solution of the
    equalities on them is the SVM solution, and it is kept only if it stays feasible. It is
    solved through the smaller Gram matrix of ``A_S`` (one Cholesky: ``A_S A_S^T`` when S
    has at most p rows, else ``A_S^T A_S``), by ``lstsq`` when that is singular.
    """
    active = np.abs(A @ w - 1.0) < 1e-6
    if not active.any():
        return w
    AS = A[active]  # (m, p)
    ones = np.ones(len(AS))
    try:
        if AS.shape[0] <= AS.shape[1]:
            c = linalg.cho_factor(AS @ AS.T, lower=True, check_finite=False)
            w_new = AS.T @ linalg.cho_solve(c, ones, check_finite=False)
        else:
            c = linalg.cho_factor(AS.T @ AS, lower=True, check_finite=False)
            w_new = linalg.cho_solve(c, AS.T @ ones, check_finite=False)
        ok = np.max(np.abs(AS @ w_new - 1.0)) < 1e-10
    except linalg.LinAlgError:
        ok = False
    if not ok:
        w_new = linalg.lstsq(AS, ones, check_finite=False)[0]
    return w_new if np.min(A @ w_new) >= 1 - 1e-9 else w


def max_margin(X, y, *, fit_intercept=False):
    """Hard-margin SVM of separable data (the alpha = 0 limit of gradient descent).

    Binary: ``min |w|^2 s.t. y_i (w^T x_i + b) >= 1``. Multiclass: the Crammer-Singer
    hard margin ``min |W|_F^2 s.t. (w_{y_i} - w_k)^T x_i + b_{y_i} - b_k >= 1``.
    Without intercept the binary problem is solved exactly by NNLS (least-distance
    programming), after a try by block principal pivoting on the dual when ``d >= N/2``
    (faster there, certified by its duality gap); otherwise by Clarabel with tight
    tolerances.

    Returns
    -------
    (coef, b) or None when the data are not separable.
    """
    X, y, classes = check_Xy(X, y)
    if classes.size == 2:
        A = encode_labels(y, classes)[:, None] * X
        if not fit_intercept:
            if 2 * A.shape[1] >= A.shape[0]:
                w = _bpp_max_margin(A)
                if w is not None:
                    return w, 0.0
            w = _ldp_max_margin(A)
            return None if w is None else (_polish_support(A, w), 0.0)
    return _max_margin_cvxpy(X, y, classes, fit_intercept)


def _max_margin_cvxpy(X, y, classes, fit_intercept):
    import cvxpy as cp

    N, d = X.shape
    if classes.size == 2:
        s = encode_labels(y, classes)
        w, b = cp.Variable(d), cp.Variable()
        cons = [cp.multiply(s, X @ w + (b if fit_intercept else 0)) >= 1]
        prob = cp.Problem(cp.Minimize(cp.sum_squares(w)), cons)
    else:
        K = classes.size
        yi = encode_labels(y, classes)
        W, b = cp.Variable((K, d)), cp.Variable(K)
        Z = X @ W.T + (cp.reshape(b, (1, K), order="C") if fit_intercept else 0)
        onehot = np.eye(K)[yi]
        zy = cp.sum(cp.multiply(Z, onehot), axis=1)
        cons = [cp.reshape(zy, (N, 1), order="C") - Z + onehot >= 1]
        prob = cp.Problem(cp.Minimize(cp.sum_squares(W)), cons)
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    if prob.status in ("infeasible", "infeasible_inaccurate"):
        return None
    if classes.size == 2:
        return np.asarray(w.value), float(b.value) if fit_intercept else 0.0
    return np.asarray(W.value), np.asarray(b.value) if fit_intercept else np.zeros(classes.size)
