r"""Exact minimisers of the mean logit-regularized loss of a linear classifier.

:func:`fit` minimises ``L = N^-1 sum_i l(z_i, y_i)`` (Eq. 1 binary, Eq. 6 multiclass), or
the weighted mean ``sum_i s_i l(z_i, y_i) / sum_i s_i`` given ``sample_weight``, with

* ``method="newton"`` (default): damped Newton. Each Newton system is solved by
  preconditioned CG with the Gram matrix ``A^T A / N`` (one Cholesky, reused) as the
  preconditioner. For ``f = z**2`` the per-sample curvature ``l''`` lies in
  ``[2 alpha, 2 alpha + (1 - alpha)/4]``, so the preconditioned system is well conditioned
  and a Newton step costs a few matrix-vector products; when CG struggles (e.g. alpha = 0)
  the exact Hessian replaces the preconditioner. The same Cholesky gives the Fisher
  direction (Sherman-Morrison: ``(Sigma + mu mu^T)^-1 mu`` is parallel to ``Sigma^-1 mu``),
  the warm start.
* ``method="lbfgs"``: scipy's L-BFGS-B on the same objective.
* ``method="cvxpy"``: the reference, a DCP model (``cp.logistic``, ``cp.log_sum_exp``) solved
  by Clarabel (:mod:`logitreg._cvxpy`); a sympy penalty is translated atom by atom and must
  be DCP-expressible (``log cosh z``, the LS form, powers, ``|z|``, ``exp``, ...).

When ``d > N`` (``d + 1 > N`` with an intercept) the problem is solved in the row space of
``X`` (of ``[X, 1]``), of dimension at most N (thin QR, ``O(N^2 d)``; an SVD of the small
factor when rows repeat): the minimiser is then not unique, and the returned one is the
minimum-norm minimiser -- the limit of gradient descent started from ``w = 0`` (``(w, b)``
jointly with an intercept).

Which minimiser GD reaches from another start ``w0`` is the minimum-norm one plus ``w0``'s
component in the null space of ``X`` (GD moves ``w`` only inside the row space): ``fit(...,
w0=w0)`` returns it.

``alpha = 0`` on linearly separable data has no minimiser (the loss tends to 0 as
``|w| -> inf``). :func:`fit` detects this and returns the hard-margin SVM direction with
``separable=True``: by Soudry et al. (2018) it is the direction that gradient descent on
the cross-entropy converges to (from any start).

``l2 > 0`` adds the weight penalty ``(l2/2)|w|^2`` (not on the intercept) to the mean loss:
the objective is then strongly convex in ``w``, its minimiser unique and finite even at
``alpha = 0`` on separable data (weight decay, the paper's App. E.4 and Eq. 33 up to the
normalisation, see :func:`fit`).

"""

from __future__ import annotations

import dataclasses
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy import linalg, optimize

from ._validation import (
    ConvergenceWarning,
    check_alpha,
    check_choice,
    check_positive,
    check_sample_weight,
    check_Xy,
    encode_labels,
    power_of_two_scale,
)
from .losses import LinearObjective, get_penalty, make_loss
from .max_margin import max_margin

__all__ = ["FitResult", "fit", "row_space", "METHODS"]

METHODS = ("newton", "lbfgs", "cvxpy")


@dataclass(frozen=True)
class FitResult:
    """The result of :func:`fit` (a frozen record, in the spirit of ``OptimizeResult``).

    Attributes
    ----------
    w : ndarray of shape (d,) or None
        Binary weights (``None`` for multiclass). The label of ``classes[1]`` is +1.
    W : ndarray of shape (K, d) or None
        Multiclass weights (``None`` for binary).
    b : float or ndarray of shape (K,)
        Intercept (0 when ``fit_intercept=False``).
    classes : ndarray
        Sorted class labels.
    loss : float
        Mean (weighted mean, given ``sample_weight``) regularized loss at the solution (0,
        the infimum, when ``separable``).
    grad_norm : float
        Euclidean norm of the gradient at the solution.
    n_iter : int
    converged : bool
    message : str
    method : str
    separable : bool
        True when ``alpha = 0``, ``l2 = 0`` and the data are separable: ``w`` is then the
        hard-margin SVM solution (margins >= 1, the smallest such norm).
    l2 : float
        The weight penalty of the objective (``loss`` includes it).
    time : float
        Wall-clock seconds spent in the solver.
    """

    w: np.ndarray | None
    W: np.ndarray | None
    b: float | np.ndarray
    classes: np.ndarray
    loss: float
    grad_norm: float
    n_iter: int
    converged: bool
    message: str
    method: str
    alpha: float
    separable: bool = False
    l2: float = 0.0
    time: float = field(default=0.0, compare=False)

    @property
    def coef(self) -> np.ndarray:
        """``w`` (binary) or ``W`` (multiclass)."""
        return self.w if self.W is None else self.W

    def decision_function(self, X) -> np.ndarray:
        """Logits ``X w + b`` (n,) for binary, ``X W^T + b`` (n, K) for multiclass."""
        X = np.asarray(X, dtype=float)
        return X @ self.w + self.b if self.W is None else X @ self.W.T + self.b

    def predict(self, X) -> np.ndarray:
        z = self.decision_function(X)
        if self.W is None:
            return np.where(z > 0, self.classes[1], self.classes[0])
        return self.classes[np.argmax(z, axis=1)]


# ---------------------------------------------------------------------------- helpers


def _unpack(theta, obj: LinearObjective):
    """Split the flat parameter vector into weights and intercept."""
    if obj.binary:
        return (theta[:-1], float(theta[-1])) if obj.fit_intercept else (theta, 0.0)
    Wa = theta.reshape(obj.K, obj.p)
    return (Wa[:, :-1], Wa[:, -1].copy()) if obj.fit_intercept else (Wa, np.zeros(obj.K))


class _RidgeObjective(LinearObjective):
    """:class:`LinearObjective` plus ``(l2/2) |w|^2`` on the weights, not on the intercept."""

    def __init__(self, X, y01, loss, *, l2, fit_intercept=False, sample_weight=None):
        super().__init__(X, y01, loss, fit_intercept=fit_intercept, sample_weight=sample_weight)
        self.l2 = float(l2)
        mask = np.ones((1 if self.binary else self.K, self.p))
        if fit_intercept:
            mask[:, -1] = 0.0  # the intercept is not penalised
        self.mask = mask.ravel()  # (size,)

    def ridge(self, w):
        return 0.5 * self.l2 * float(np.sum(self.mask * w * w))

    def value(self, w):
        return super().value(w) + self.ridge(w)

    def value_grad(self, w):
        f, g = super().value_grad(w)
        return f + self.ridge(w), g + self.l2 * self.mask * w

    def hvp(self, w, v, curvature=None):
        return super().hvp(w, v, curvature) + self.l2 * self.mask * v

    def hessian(self, w):
        return super().hessian(w) + np.diag(self.l2 * self.mask)


def _ridge(obj, w) -> float:
    """The weight penalty of ``obj`` at ``w`` (0 for a plain :class:`LinearObjective`)."""
    return obj.ridge(w) if isinstance(obj, _RidgeObjective) else 0.0


def _preconditioner(gram):
    """Cholesky factor of the Gram matrix (a tiny ridge if it is numerically singular)."""
    try:
        return linalg.cho_factor(gram, lower=True, check_finite=False)
    except linalg.LinAlgError:
        ridge = 1e-12 * np.trace(gram) / len(gram) + 1e-300
        return linalg.cho_factor(gram + ridge * np.eye(len(gram)), lower=True, check_finite=False)


L2_RESCALE = 2.0  # refactor the weight-penalty preconditioner when its scale drifts more


class _Newton:
    """Damped Newton with preconditioned CG (see the module docstring)."""

    def __init__(self, obj: LinearObjective, tol: float, max_iter: int, cg_max: int = 25):
        self.obj, self.tol, self.max_iter, self.cg_max = obj, tol, max_iter, cg_max
        self.l2 = obj.l2 if isinstance(obj, _RidgeObjective) else 0.0
        if self.l2:
            # With a weight penalty the Hessian is ~ c G + l2 I: its Cholesky factor at the
            # current scale c, refactored only when c drifts by more than a factor
            # L2_RESCALE (then M^-1 H stays within that factor of I on the Gram part). The
            # intercept's zero penalty is ignored: M only preconditions, CG still solves
            # the exact system. (One Cholesky is ~15x cheaper than the eigendecomposition
            # that served every c: 0.2 s against 3.1 s at p = 2000.)
            self.l2_factor = None  # (scale, cho_factor of scale G + l2 I)
        else:
            self.chol = _preconditioner(obj.gram)  # (p, p)
        self.refreshed = None  # exact-Hessian preconditioner, once CG struggles

    # -- preconditioner: M = c (I_K kron G), or the exact Hessian after a refresh
    def _apply_M(self, r, scale):
        obj = self.obj
        if self.refreshed is not None:
            if obj.binary:
                return linalg.cho_solve(self.refreshed, r, check_finite=False)
            R = r.reshape(obj.K, obj.p)
            out = np.stack([linalg.cho_solve(c, R[k], check_finite=False)
                            for k, c in enumerate(self.refreshed)])
            if obj.loss.penalty.shift_invariant:
                out -= out.mean(axis=0)  # stay in the class-centred subspace
            return out.ravel()
        if self.l2:
            if self.l2_factor is None or not (
                    1 / L2_RESCALE <= scale / self.l2_factor[0] <= L2_RESCALE):
                M = scale * obj.gram
                M[np.diag_indices_from(M)] += self.l2
                self.l2_factor = (scale, _preconditioner(M))
            R = r.reshape(-1, obj.p)  # (1 or K, p)
            return linalg.cho_solve(self.l2_factor[1], R.T, check_finite=False).T.ravel()
        if obj.binary:
            return linalg.cho_solve(self.chol, r, check_finite=False) / scale
        R = r.reshape(obj.K, obj.p)
        return linalg.cho_solve(self.chol, R.T, check_finite=False).T.ravel() / scale

    def _refresh(self, theta, curv):
        """Factor the exact Hessian (binary) or its K diagonal blocks (multiclass)."""
        obj = self.obj
        ridge = np.diag(self.l2 * obj.mask[: obj.p]) if self.l2 else 0.0  # (p, p), per class
        if obj.binary:
            H = (obj.A.T * obj.weighted(curv)) @ obj.A / obj.N + ridge
            self.refreshed = _preconditioner(H)
            return
        P = np.exp(curv - curv.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        diag = (1 - obj.loss.alpha) * P * (1 - P)  # (N, K): CE part of the diagonal blocks
        if obj.loss.alpha:
            e = np.zeros_like(curv)
            for k in range(obj.K):
                e[:, k] = 1.0
                diag[:, k] += obj.loss.alpha * obj.loss.penalty.hvp(curv, e)[:, k]
                e[:, k] = 0.0
        diag = obj.weighted(diag)
        self.refreshed = [_preconditioner((obj.A.T * diag[:, k]) @ obj.A / obj.N + ridge)
                          for k in range(obj.K)]

    def _pcg(self, theta, g, curv, rtol):
        """Solve H s = -g approximately; returns (s, iterations, ok)."""
        obj = self.obj
        hv = lambda v: obj.hvp(theta, v, curv)  # noqa: E731
        # Scale of the Gram preconditioner: Rayleigh quotient of H against G along g.
        Ag = obj.logits(g)
        Hg = hv(g)
        gGg = float(np.sum(obj.weighted(Ag * Ag))) / obj.N  # g^T G g, G the (weighted) Gram
        scale = float(g @ Hg) / max(gGg, 1e-300)
        if not np.isfinite(scale):
            # f'' is infinite where a convex f has a cusp of curvature (|z|^p, 1 < p < 2, at
            # z = 0, e.g. the multiclass start W = 0): no Newton system here. Take the
            # preconditioned gradient step, sized by the line search; the next iterate's
            # logits are off the cusp.
            return self._apply_M(-g, 1.0), 0, True
        scale = max(scale, 1e-300)
        x = np.zeros_like(g)
        r = -g
        z = self._apply_M(r, scale)
        d = z.copy()
        rz = r @ z
        gnorm = np.linalg.norm(g)
        for it in range(1, self.cg_max + 1):
            Hd = hv(d)
            dHd = d @ Hd
            if not dHd > 0:  # negative, zero or not finite (see above)
                return (x if it > 1 else z), it, it > 1
            step = rz / dHd
            x += step * d
            r -= step * Hd
            if np.linalg.norm(r) <= rtol * gnorm:
                return x, it, True
            z = self._apply_M(r, scale)
            rz_new = r @ z
            d = z + (rz_new / rz) * d
            rz = rz_new
        return x, self.cg_max, False

    def _line_search(self, theta, s, f0, g):
        obj = self.obj
        z0, dz = obj.logits(theta), obj.logits(s)
        slope = float(g @ s)

        def f(tau):
            zt = z0 + tau * dz
            v = obj.loss.value(zt) if obj.binary else obj.loss.value(zt, obj.y)
            return float(obj.sample_mean(v)) + _ridge(obj, theta + tau * s)

        tau = 1.0
        if -slope <= 1e3 * np.finfo(float).eps * max(1.0, abs(f0)):
            # The predicted decrease is below the rounding of f: values cannot tell steps
            # apart (an Armijo test then accepts whatever rounds down), so near the optimum
            # judge a step by its gradient norm, as the convergence test does.
            gnorm = np.linalg.norm(g)
            for _ in range(60):
                if np.linalg.norm(obj.grad(theta + tau * s)) < gnorm:
                    return tau
                tau *= 0.5
            return 0.0
        for _ in range(60):
            ft = f(tau)
            if ft <= f0 + 1e-4 * tau * slope:
                return tau
            tau *= 0.5
        return 0.0

    def run(self, theta):
        obj = self.obj
        f, g = obj.value_grad(theta)
        g0 = max(np.linalg.norm(obj.grad(np.zeros_like(theta))), 1e-300)
        it = 0
        message = "maximum number of Newton iterations reached"
        while True:
            gnorm = np.linalg.norm(g)
            if gnorm <= self.tol * g0:
                message = f"converged: |grad| <= tol * |grad(0)| = {self.tol * g0:.3g}"
                return theta, f, gnorm, it, True, message
            if it >= self.max_iter:
                return theta, f, gnorm, it, False, message
            it += 1
            curv = obj.curvature(theta)
            rtol = min(0.1, np.sqrt(gnorm / g0))  # forcing term: superlinear convergence
            s, _, ok = self._pcg(theta, g, curv, rtol)
            if not ok and self.refreshed is None:
                self._refresh(theta, curv)
                s, _, ok = self._pcg(theta, g, curv, rtol)
            tau = self._line_search(theta, s, f, g)
            if tau == 0.0:
                if self.refreshed is None:
                    self._refresh(theta, curv)
                    continue
                message = "line search failed: no decrease along the Newton direction"
                return theta, f, gnorm, it, gnorm <= 1e3 * self.tol * g0, message
            theta = theta + tau * s
            f, g = obj.value_grad(theta)

    def fisher_start(self):
        """Binary warm start: the Fisher direction, scaled by a 1-D minimisation."""
        obj = self.obj
        mu = obj.sample_mean(obj.A, axis=0)
        chol = self.chol if not self.l2 else _preconditioner(obj.gram)
        v = linalg.cho_solve(chol, mu, check_finite=False)  # parallel to Sigma^-1 mu
        t = obj.A @ v
        res = optimize.minimize_scalar(
            lambda s: float(obj.sample_mean(obj.loss.value(s * t))) + _ridge(obj, s * v),
            bounds=(0.0, _finite_logit_range(obj.loss) / max(np.max(np.abs(t)), 1e-300)),
            method="bounded", options={"xatol": 1e-10})
        return res.x * v


def _finite_logit_range(loss, t_max=1e6) -> float:
    """The largest ``|t| <= t_max`` (a power of ten) at which the binary loss is finite.

    A penalty written as sympy may overflow long before ``t_max`` (``log(cosh t)`` at
    ``|t| ~ 710``): searches must stay where it is finite.
    """
    with np.errstate(all="ignore"):
        while t_max > 1.0 and not np.all(np.isfinite(loss.value(np.array([t_max, -t_max])))):
            t_max /= 10.0
    return t_max


def _solve_lbfgs(obj: LinearObjective, theta0, tol, max_iter):
    g0 = np.linalg.norm(obj.grad(np.zeros(obj.size)))
    res = optimize.minimize(
        obj.value_grad, theta0, jac=True, method="L-BFGS-B",
        # maxfun defaults to 15000 in scipy and would silently cap max_iter.
        options={"maxiter": max_iter, "maxfun": 2 * max_iter,
                 "gtol": tol * g0 / np.sqrt(obj.size), "ftol": 0.0, "maxcor": 30},
    )
    gnorm = np.linalg.norm(obj.grad(res.x))
    # L-BFGS-B often stops on its own f-reduction test (at machine precision) before the
    # gradient test can be met; both mean it converged as far as it can.
    ok = bool(res.success) or gnorm <= tol * g0
    return res.x, res.nit, ok, f"L-BFGS-B: {res.message}"


# ------------------------------------------------------------------------------- fit


def row_space(X):
    """Orthonormal basis ``Q`` (d, r) of the row space of X, and ``X_r`` (N, r) with X = X_r Q^T.

    Thin QR of X^T: X = R^T Q^T, r = N. A row that depends on earlier ones (a repeated
    sample, say) leaves a zero on the diagonal of R, and then R^T itself is rank deficient:
    its SVD reduces it to its rank r < N. The solver then works on a full-rank design, so
    its answer ``w = Q v`` is the minimum-norm minimiser, with no part along the null space.
    """
    # Fast path: the Cholesky factor of the Gram matrix, X X^T = L L^T, gives X_r = L and
    # Q = X^T L^-T (one syrk and one triangular solve, a few times cheaper than Householder
    # QR); Q's orthogonality error is ~eps cond(X)^2, so it is used only when X is well
    # conditioned (cond(X)^2 < 1e6, the diagonal of L a proxy), else QR below.
    try:
        L = linalg.cholesky(X @ X.T, lower=True, check_finite=False)  # (N, N)
        diag = np.abs(np.diag(L))
        if diag.min() > 1e-3 * diag.max():
            Q = linalg.solve_triangular(L, X, lower=True, check_finite=False).T  # (d, N)
            z = np.random.default_rng(0).standard_normal((len(L), 2))  # probe Q^T Q = I
            if np.max(np.abs(Q.T @ (Q @ z) - z)) < 1e-10 * np.max(np.abs(z)):
                return Q, L
    except linalg.LinAlgError:
        pass
    Q, R = linalg.qr(X.T, mode="economic", check_finite=False)
    rank_tol = max(X.shape) * np.finfo(float).eps  # as numpy.linalg.matrix_rank
    diag = np.abs(np.diag(R))
    if diag.min() > rank_tol * diag.max():
        return Q, R.T
    U, S, Vt = linalg.svd(R.T, full_matrices=False, check_finite=False)
    r = int(np.sum(S > rank_tol * S[0]))
    return Q @ Vt[:r].T, U[:, :r] * S[:r]


def fit(
    X,
    y,
    alpha,
    *,
    reg="quadratic",
    fit_intercept=False,
    method="newton",
    tol=1e-10,
    max_iter=None,
    warm_start=True,
    sample_weight=None,
    w0=None,
    l2=0.0,
) -> FitResult:
    r"""Exact minimiser of the mean loss ``(1 - alpha) CE + alpha f(z)`` of a linear classifier.

    Binary when ``y`` has two values (the larger label is +1), multiclass otherwise
    (``W`` of shape (K, d), ``b`` of shape (K,)).

    Parameters
    ----------
    X : array_like of shape (N, d)
    y : array_like of shape (N,)
    alpha : float in [0, 1)
    reg : {"quadratic", "ls"}, sympy expression or penalty object, default "quadratic"
        The penalty ``f`` (see :mod:`logitreg.losses`).
    fit_intercept : bool, default False
        The paper's binary analysis has ``b = 0``; its multiclass model has a bias.
    method : {"newton", "lbfgs", "cvxpy"}, default "newton"
    tol : float, default 1e-10
        Stop when ``|grad L| <= tol * |grad L(0)|`` (newton, lbfgs). cvxpy uses
        Clarabel's own tolerances (gap and feasibility 1e-8; the objective then agrees with
        Newton's to ~1e-13 in ``bench/solvers.py``).
    max_iter : int, optional
        Newton iterations (default 100), L-BFGS iterations (default 20000) or Clarabel
        iterations (default 500).
    warm_start : bool, default True
        Newton, binary: start from the Fisher direction with the optimal scale.
    sample_weight : array_like of shape (N,), optional
        Non-negative weights ``s_i``, not all zero: the objective becomes the weighted mean
        ``sum_i s_i l_i / sum_i s_i``, so integer weights are the same as repeating samples.
        Samples of zero weight are dropped before solving (they change neither the loss nor
        the hard-margin SVM); every class must keep a positive total weight. ``None``
        (default) and constant weights give the unweighted problem, bit for bit.
    w0 : array_like of shape (d,) (binary) or (K, d) (multiclass), optional
        The start of the gradient descent whose limit is wanted. It matters only when the
        minimiser is not unique, i.e. ``d > N`` (``d + 1 > N`` with an intercept) with
        ``l2 = 0``: GD changes ``w`` only inside the row space of ``X``, so from ``w0`` it
        converges to the minimum-norm minimiser plus ``w0``'s component in the null space
        of ``X`` (of ``[X, 1]`` for ``(w, b)`` from ``(w0, 0)`` with an intercept), and that
        is returned. ``None`` (default) is the start ``0``: the minimum-norm minimiser.
        Ignored when the minimiser is unique, and for the hard-margin direction
        (``alpha = 0`` on separable data), which GD reaches from any start.
    l2 : float >= 0, default 0.0
        Weight penalty: the objective becomes ``L(w, b) + (l2/2) |w|^2`` with ``L`` the
        (weighted) mean loss above; the intercept is not penalised, and multiclass ``|W|``
        is the Frobenius norm. So ``alpha = 0, l2 = 1/(C N)`` is scikit-learn's
        ``LogisticRegression(C=C)`` (whose objective is the sum ``C sum_i CE_i +
        |w|^2/2``), and the paper's Eq. 33 ``sum_i CE_i + (gamma/2)|S|^2`` is
        ``l2 = gamma/N``. ``l2 > 0`` makes the minimiser unique and finite, also at
        ``alpha = 0`` on separable data (no hard-margin limit then).

    Returns
    -------
    FitResult

    Notes
    -----
    ``alpha = 0`` (and ``l2 = 0``) on separable data: returns the hard-margin SVM with
    ``separable=True`` (the direction of the gradient-descent limit). When ``d > N``
    (``d + 1 > N`` with an intercept) and ``l2 = 0`` the minimiser is not unique: the
    minimum-norm one (the GD limit from ``w = 0``; ``(w, b)`` jointly from ``(0, 0)`` with
    an intercept) is returned, or the GD limit from ``w0``. With ``l2 > 0`` and ``d > N``
    the unique minimiser lies in the row space of ``X``, where Newton and cvxpy compute it
    (L-BFGS, whose iterates from 0 stay there, works in the full space without the
    factorisation).

    Positive weights do not change the hard-margin SVM (its constraints hold for every
    sample whatever its weight); zero weights remove their samples from it too.

    References
    ----------
    Beck, Bar-Sinai & Levi (2026), Eqs. 1 and 6 (the loss), Prop. 5.1 (the null space of
    ``X`` when ``lambda > 1``), App. E.4 and Eq. 33 (weight decay); Soudry et al. (2018)
    for ``alpha = 0``.
    """
    alpha = check_alpha(alpha)
    if np.ndim(alpha):
        raise ValueError(f"alpha must be a scalar; got alpha with shape {np.shape(alpha)}")
    check_choice(method, set(METHODS), "method")
    check_positive(tol, "tol")
    check_positive(l2, "l2", strict=False)
    l2 = float(l2)
    if max_iter is not None:
        check_positive(max_iter, "max_iter", integer=True)
    X, y, classes = check_Xy(X, y)
    K = classes.size
    w0 = _check_w0(w0, (X.shape[1],) if K == 2 else (K, X.shape[1]))
    get_penalty(reg, K)  # validate reg before any work
    scale = power_of_two_scale(X)
    if scale != 1.0:  # extreme data scale: solve on X / scale; the logits X w are the same
        # w' = scale w on X / scale: (l2/2)|w|^2 = (l2/scale^2)/2 |w'|^2, and w0' = scale w0.
        with np.errstate(over="ignore"):
            l2_scaled = l2 / scale / scale if l2 else 0.0
        if not np.isfinite(l2_scaled):
            raise ValueError(f"l2={l2} overflows on data of this scale (max |x| = "
                             f"{np.max(np.abs(X)):.3g}); expected a smaller l2 or larger data")
        res = fit(X / scale, y, alpha, reg=reg, fit_intercept=fit_intercept, method=method,
                  tol=tol, max_iter=max_iter, warm_start=warm_start,
                  sample_weight=sample_weight, w0=None if w0 is None else w0 * scale,
                  l2=l2_scaled)
        with np.errstate(over="ignore"):
            coef = res.coef / scale
        if not np.all(np.isfinite(coef)):
            raise ValueError(
                f"X is too small to fit (max |x| = {np.max(np.abs(X)):.3g}): the weights, of "
                "order 1/|x|, overflow float64; expected data of a larger scale")
        return dataclasses.replace(
            res, w=coef if K == 2 else None, W=coef if K > 2 else None, l2=l2,
            message=f"{res.message} (solved exactly on X / {scale:.17g}; grad_norm is that "
                    "problem's)")
    sample_weight = check_sample_weight(sample_weight, X.shape[0])
    if sample_weight is not None:
        keep = sample_weight > 0
        weighted_classes = np.unique(y[keep])
        if weighted_classes.size < K:
            raise ValueError(
                "sample_weight must give every class a positive total weight; got zero weight "
                f"for classes {np.setdiff1d(classes, weighted_classes).tolist()} of "
                f"{classes.tolist()}"
            )
        if not keep.all():  # zero weights drop their samples (see Notes)
            X, y, sample_weight = X[keep], y[keep], sample_weight[keep]
    start = time.perf_counter()

    if alpha == 0 and l2 == 0:
        mm = max_margin(X, y, fit_intercept=fit_intercept)
        if mm is not None:
            coef, b = mm
            return FitResult(
                w=coef if K == 2 else None, W=coef if K > 2 else None, b=b, classes=classes,
                loss=0.0, grad_norm=0.0, n_iter=0, converged=True,
                message="alpha = 0 and the data are separable: no minimiser exists; returned "
                        "the hard-margin SVM (the direction of the gradient-descent limit)",
                method=method, alpha=0.0, separable=True, time=time.perf_counter() - start)

    N, d = X.shape
    Q, Xs, intercept_in_Q = None, X, False
    if l2 == 0 and d + fit_intercept > N:
        # The minimisers form an affine set: solve in the row space of the design (with its
        # ones column, so that (w, b) is the minimum-norm pair, the GD limit from 0).
        Xa = np.hstack([X, np.ones((N, 1))]) if fit_intercept else X
        Q, Xs = row_space(Xa)  # Xs (N, r), r = rank <= N; (w, b) = Q v
        intercept_in_Q = fit_intercept
    elif l2 > 0 and d > N and method != "lbfgs":
        # Unique minimiser, and w = -grad L / l2 lies in the row space of X (the intercept
        # stays a separate, unpenalised parameter); |w| = |v| there, so the penalty is kept.
        # Newton's d x d (there N x N) factorisations and cvxpy's cone program need the
        # smaller problem; L-BFGS does not (its iterations cost O(N d) either way, and from
        # 0 they stay in the row space), so it skips the O(N^2 d) factorisation.
        Q, Xs = row_space(X)
    loss = make_loss(alpha, reg, K)
    labels = encode_labels(y, classes)
    fit_b = fit_intercept and not intercept_in_Q
    if l2 > 0:
        obj = _RidgeObjective(Xs, labels, loss, l2=l2, fit_intercept=fit_b,
                              sample_weight=sample_weight)
    else:
        obj = LinearObjective(Xs, labels, loss, fit_intercept=fit_b, sample_weight=sample_weight)

    if max_iter is None:
        max_iter = {"newton": 100, "lbfgs": 20000, "cvxpy": 500}[method]
    if method == "newton":
        solver = _Newton(obj, tol, max_iter)
        theta0 = np.zeros(obj.size)
        if warm_start and obj.binary:
            theta0 = solver.fisher_start()
        theta, f, gnorm, nit, ok, msg = solver.run(theta0)
    elif method == "lbfgs":
        theta, nit, ok, msg = _solve_lbfgs(obj, np.zeros(obj.size), tol, max_iter)
        f, g = obj.value_grad(theta)
        gnorm = float(np.linalg.norm(g))
    else:
        from logitreg._cvxpy import solve_cvxpy

        theta, nit, ok, msg = solve_cvxpy(obj, max_iter)
        f, g = obj.value_grad(theta)
        gnorm = float(np.linalg.norm(g))

    if not ok:
        warnings.warn(
            f"{method} did not converge to tol={tol} within max_iter={max_iter}: {msg}; "
            "increase max_iter or loosen tol",
            ConvergenceWarning, stacklevel=2)
    coef, b = _unpack(theta, obj)
    if Q is not None:
        coef = coef @ Q.T if coef.ndim == 2 else Q @ coef  # (K, p) or (p,)
        if w0 is not None and l2 == 0:
            coef = coef + _null_space_part(w0, Q, intercept_in_Q)
        if intercept_in_Q:  # the last coordinate of Q's space is the intercept's
            coef, b = ((coef[:, :-1], coef[:, -1].copy()) if coef.ndim == 2
                       else (coef[:-1], float(coef[-1])))
    return FitResult(
        w=coef if K == 2 else None, W=coef if K > 2 else None, b=b, classes=classes,
        loss=float(f), grad_norm=float(gnorm), n_iter=int(nit), converged=bool(ok),
        message=msg, method=method, alpha=float(alpha), l2=l2,
        time=time.perf_counter() - start)


def _check_w0(w0, shape):
    if w0 is None:
        return None
    try:
        w0 = np.asarray(w0, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"w0 must be an array of numbers of shape {shape}; got "
                         f"w0={w0!r:.80}") from None
    if w0.shape != shape:
        raise ValueError(f"w0 must have shape {shape} (that of the weights); got "
                         f"w0.shape={w0.shape}")
    if not np.all(np.isfinite(w0)):
        raise ValueError("w0 must be finite; got non-finite entries")
    return w0


def _null_space_part(w0, Q, with_intercept):
    """``w0``'s component orthogonal to the columns of ``Q`` (the row space of the design).

    With an intercept the design is ``[X, 1]`` and the start is ``(w0, b0 = 0)``: the part
    is returned in that augmented space, (d + 1,) or (K, d + 1).
    """
    W = np.atleast_2d(w0)  # (1 or K, d)
    if with_intercept:
        W = np.hstack([W, np.zeros((len(W), 1))])
    part = W - (W @ Q) @ Q.T
    return part[0] if w0.ndim == 1 else part
