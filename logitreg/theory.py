r"""Closed-form theory of logit regularization, vectorised over its arguments.

Paper results (Beck, Bar-Sinai & Levi 2026):

* :func:`z_star` -- the per-sample target (Sec. 3.2; Eq. 21 for the multiclass vertex).
* :func:`fisher_direction` -- ``Sigma^-1 mu`` of the label-absorbed data (Cor. 3.3, Eqs. 26-27).
* :func:`accuracy_from_cosine` -- Eq. 5; :func:`population_accuracy` -- the same for a direction.
* :func:`critical_ratio` -- lambda_c = 1/2 (alpha = 0) or 1 (alpha > 0), Prop. 5.1.
* :func:`quadratic_toy` -- App. C.4, Eqs. 15-20.

**[DERIVED] for this project, not in the paper** (docs/theory.md): :func:`asymptotic_accuracy`
and :func:`asymptotic_C2`, the proportional-limit accuracy and cosine constant of the
empirical Fisher direction on Gaussian signal-plus-noise data.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np
from scipy import linalg, optimize
from scipy.special import ndtr

from ._validation import (
    _short,
    check_alpha,
    check_positive,
    check_Xy,
    encode_labels,
    power_of_two_scale,
)
from .losses import BinaryLoss, MulticlassLoss, get_penalty

__all__ = [
    "Vertex",
    "z_star",
    "loss_floor",
    "fisher_direction",
    "accuracy_from_cosine",
    "population_accuracy",
    "population_ce",
    "critical_ratio",
    "asymptotic_accuracy",
    "asymptotic_C2",
    "asymptotic_cosine",
    "quadratic_toy",
]


class Vertex(NamedTuple):
    """Multiclass target: ``z*_c = q_high`` at index c and ``q_low`` elsewhere (Eq. 21)."""

    q_high: float
    q_low: float

    def vector(self, c: int, n_classes: int) -> np.ndarray:
        out = np.full(n_classes, self.q_low)
        out[c] = self.q_high
        return out


# ------------------------------------------------------------------------------ z*

@lru_cache(maxsize=64)
def _closed_form_z_star(expr_srepr: str):
    """Try to solve l'(t) = 0 in closed form; return a lambdified alpha -> z* or None.

    Works when l'(t), written in ``u = e^t``, is rational in ``u`` (e.g. label smoothing);
    otherwise (e.g. ``f = z**2``: ``2 alpha z (1 + e^z) = 1 - alpha``) there is none.
    """
    import sympy as sp  # only here: ``import logitreg`` does not load sympy

    _t, _a, _u = sp.symbols("t alpha u", positive=True)
    f = sp.sympify(sp.parse_expr(expr_srepr)).subs(sp.Symbol("z", real=True), _t)
    dl = sp.diff((1 - _a) * sp.log(1 + sp.exp(-_t)) + _a * f, _t)
    in_u = sp.simplify(dl.rewrite(sp.exp).subs(sp.exp(_t), _u).subs(sp.exp(-_t), 1 / _u))
    if in_u.has(_t):
        return None
    num = sp.numer(sp.together(in_u))
    if not num.is_polynomial(_u):
        return None
    roots = [r for r in sp.solve(num, _u) if r.is_real is not False]
    if len(roots) != 1:
        return None
    z = sp.log(sp.simplify(roots[0]))
    return sp.lambdify(_a, z, "numpy"), z


def _binary_z_star(alpha: float, loss: BinaryLoss) -> float:
    # l'(0) = -(1-alpha)/2 < 0 (f even => f'(0) = 0) and l' is increasing: bracket [0, hi].
    hi = 1.0
    while loss.d1(hi) <= 0:
        hi *= 2.0
        if hi > 1e6:
            raise ValueError(f"no finite z* for alpha={alpha} and reg={loss.penalty!r}")
    return optimize.brentq(lambda t: float(loss.d1(t)), 0.0, hi, xtol=1e-15, rtol=1e-15)


def _multiclass_vertex(loss: MulticlassLoss) -> Vertex:
    """Minimise the per-sample loss over the vertex form ``z = a e_0 + b (1 - e_0)``.

    Coordinates ``z = p u + q 1`` with ``u = e_0 - (1 - e_0)/(K - 1)`` (sum zero) and the
    all-ones vector: CE depends on ``p`` only, through the gap ``a - b = p K/(K - 1)``, and
    its derivatives are written in that gap (``log1p`` form), so they keep full relative
    precision when ``softmax(z)_0`` rounds to 1 (small alpha, large gaps). Damped Newton
    on the convex 2-D (or, for a shift-invariant f, 1-D) problem, backtracking on the
    gradient's max-norm.
    """
    K, alpha, pen = loss.n_classes, loss.alpha, loss.penalty
    e0 = np.zeros((1, K))
    e0[0, 0] = 1.0
    u = e0 - (1.0 - e0) / (K - 1)
    ones = np.ones((1, K))
    dirs = [u] if pen.shift_invariant else [u, ones]
    c = K / (K - 1)  # d(gap)/dp

    def grad_hess(x):
        Z = sum(xi * D for xi, D in zip(x, dirs, strict=True))
        gap = c * x[0]
        # d CE/d gap = -(K-1)/(e^gap + K - 1); d2 CE/d gap2 = (K-1) e^gap/(e^gap + K - 1)^2
        r = np.exp(-abs(gap))
        d1 = -(K - 1) * r / (1 + (K - 1) * r) if gap >= 0 else -(K - 1) / (r + K - 1)
        d2 = (K - 1) * r / (1 + (K - 1) * r) ** 2 if gap >= 0 else (K - 1) * r / (r + K - 1) ** 2
        gf = pen.grad(Z)
        g = np.array([alpha * np.sum(gf * D) for D in dirs])
        g[0] += (1 - alpha) * c * d1
        H = np.array([[alpha * np.sum(pen.hvp(Z, Dj) * Di) for Dj in dirs] for Di in dirs])
        H[0, 0] += (1 - alpha) * c * c * d2
        return g, H

    x = np.zeros(len(dirs))
    g, H = grad_hess(x)
    # Far from the vertex CE is ~exp(-gap): Newton gains ~1 in the gap per step, and small
    # alpha puts the vertex at gap ~ log(1/alpha) <= 710, hence the generous cap.
    for _ in range(5000):
        step = np.linalg.solve(H, g)
        t = 1.0
        while True:  # damped Newton: accept once the gradient norm decreases
            g1, H1 = grad_hess(x - t * step)
            # max-norm: the 2-norm of a gradient ~1e-162 underflows to 0 when squared
            if np.max(np.abs(g1)) < np.max(np.abs(g)) or t < 1e-12:
                break
            t *= 0.5
        x, g, H = x - t * step, g1, H1
        if np.max(np.abs(t * step)) <= 1e-15 * (1 + np.max(np.abs(x))) or not np.any(g):
            break
    Z = sum(xi * D for xi, D in zip(x, dirs, strict=True))[0]
    return Vertex(float(Z[0]), float(Z[1]))


def z_star(alpha, reg="quadratic", n_classes: int = 2):
    r"""The per-sample target: the minimiser of the per-sample loss ``l``.

    Binary: the unique root of ``l'(t) = 0`` for ``alpha > 0``. When ``l'`` is rational in
    ``e^t`` (label smoothing) sympy gives the closed form, e.g. ``log((2 - alpha)/alpha)``;
    otherwise a bracketed root solve to ~1e-15 (``f = z**2``: ``2 alpha z (1+e^z) = 1-alpha``).
    ``alpha = 0`` gives ``inf`` (CE is monotone).

    Multiclass (``n_classes > 2``): the simplex vertex (:class:`Vertex`) ``(q_high, q_low)``.
    For shift-invariant ``f`` (``"ls"``) the sum-zero representative is returned.

    Parameters
    ----------
    alpha : float or array_like
        In [0, 1). Arrays are evaluated elementwise (binary only).
    reg : str, sympy expression or penalty, default "quadratic"
    n_classes : int, default 2

    Returns
    -------
    float or ndarray (binary), Vertex (multiclass).

    References
    ----------
    Beck, Bar-Sinai & Levi (2026), Sec. 3.2, Eq. 21.
    """
    alpha = check_alpha(alpha)
    check_positive(n_classes, "n_classes", integer=True)
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2; got n_classes={n_classes}")
    penalty = get_penalty(reg, n_classes)
    if n_classes > 2:
        if np.ndim(alpha):
            raise ValueError("alpha must be a scalar for n_classes > 2")
        if alpha == 0:
            return Vertex(np.inf, -np.inf)
        return _multiclass_vertex(MulticlassLoss(alpha, penalty, n_classes))
    closed = None
    try:
        import sympy as sp

        closed = _closed_form_z_star(sp.srepr(penalty.symbolic))
    except (NotImplementedError, TypeError, ValueError):
        closed = None

    def one(a):
        if a == 0:
            return np.inf
        if closed is not None:
            return float(closed[0](a))
        return _binary_z_star(a, BinaryLoss(a, penalty))

    if np.ndim(alpha) == 0:
        return one(float(alpha))
    return np.vectorize(one, otypes=[float])(alpha)


def loss_floor(alpha, reg="quadratic"):
    """``l(z*)``, the data-independent lower bound of the mean binary training loss.

    0 for ``alpha = 0`` (the infimum of the cross-entropy). Vectorised over ``alpha``.
    """
    pen = get_penalty(reg, 2)

    def one(a, z):
        return 0.0 if a == 0 else float(BinaryLoss(a, pen).value(z))

    return np.vectorize(one, otypes=[float])(alpha, z_star(alpha, reg))[()]


# ------------------------------------------------------------------------- Fisher / LDA


def _pinv_cov_solve(Ac, mu, rcond=1e-10):
    """``Sigma^+ mu`` for ``Sigma = Ac^T Ac / N`` through the N x N kernel: O(N^2 d).

    With ``Ac = U S V^T``: ``Sigma^+ = N V S^-2 V^T`` and ``V = Ac^T U S^-1``, so
    ``Sigma^+ mu = N Ac^T U S^-4 U^T (Ac mu)``. Eigenvalues of ``Ac Ac^T`` below ``rcond``
    times the largest are treated as zero (the centred covariance has rank <= N - 1).
    """
    N = Ac.shape[0]
    lam, U = linalg.eigh(Ac @ Ac.T, check_finite=False)  # lam = s^2, ascending
    keep = lam > rcond * lam[-1]
    U, lam = U[:, keep], lam[keep]
    return N * (Ac.T @ (U @ ((U.T @ (Ac @ mu)) / lam**2)))


def fisher_direction(X, y):
    r"""Fisher's discriminant of the data (Cor. 3.3; Eqs. 26-27 for multiclass).

    Binary: ``Sigma^-1 mu`` where ``mu`` and ``Sigma`` are the mean and the **centred**
    (ddof = 0) covariance of the label-absorbed data ``y_i x_i``. When ``Sigma`` is
    singular (always for ``d >= N``) the pseudo-inverse solution ``Sigma^+ mu`` is returned,
    computed in O(N^2 d) through the N x N kernel.

    Multiclass: the top ``K - 1`` generalised eigenvectors of ``(S_B, S_W)``, with
    ``S_B = sum_c pi_c (mu_c - mu)(mu_c - mu)^T`` and ``S_W = sum_c pi_c Sigma_c``
    (pooled within-class covariance, ddof = 0; the paper names ``S_W`` without defining it).

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features)
    y : array_like of shape (n_samples,)

    Returns
    -------
    ndarray of shape (n_features,) (binary) or (n_classes - 1, n_features) (multiclass,
    rows ordered by decreasing eigenvalue, each of unit norm).
    """
    X, y, classes = check_Xy(X, y)
    scale = power_of_two_scale(X)
    if scale != 1.0:  # Sigma^-1 mu of X / s is s times that of X (exact for a power of 2)
        out = fisher_direction(X / scale, y)
        with np.errstate(over="ignore"):
            out = out / scale if classes.size == 2 else out
        if not np.all(np.isfinite(out)):
            raise ValueError(f"X is too small (max |x| = {np.max(np.abs(X)):.3g}): "
                             "Sigma^-1 mu overflows float64; expected data of a larger scale")
        return out
    if classes.size == 2:
        A = encode_labels(y, classes)[:, None] * X
        mu = A.mean(axis=0)
        Ac = A - mu
        if X.shape[1] < X.shape[0]:
            cov = Ac.T @ Ac / len(A)  # (d, d), centred, ddof = 0
            try:
                return linalg.cho_solve(linalg.cho_factor(cov, check_finite=False), mu)
            except linalg.LinAlgError:
                pass
        return _pinv_cov_solve(Ac, mu)
    N, d = X.shape
    K = classes.size
    mu = X.mean(axis=0)
    S_B = np.zeros((d, d))
    S_W = np.zeros((d, d))
    for c in classes:
        Xc = X[y == c]
        pi = len(Xc) / N
        mc = Xc.mean(axis=0)
        S_B += pi * np.outer(mc - mu, mc - mu)
        S_W += (Xc - mc).T @ (Xc - mc) / N
    try:
        vals, vecs = linalg.eigh(S_B, S_W, subset_by_index=[d - K + 1, d - 1])
    except linalg.LinAlgError:
        vals, vecs = linalg.eig(linalg.pinv(S_W) @ S_B)
        order = np.argsort(-vals.real)[: K - 1]
        vals, vecs = vals.real[order][::-1], vecs.real[:, order][:, ::-1]
    U = vecs[:, ::-1].T  # (K-1, d), decreasing eigenvalue
    return U / np.linalg.norm(U, axis=1, keepdims=True)


# --------------------------------------------------------------------------- accuracy


def _check_gaussian(mu_f, sigma_f, sigma_n=None):
    """The data parameters of Eq. 3: finite, ``mu_f`` and the noise stds >= 0."""
    for name, value in (("mu_f", mu_f), ("sigma_f", sigma_f), ("sigma_n", sigma_n)):
        if value is None:
            continue
        try:
            arr = np.asarray(value, dtype=float) if not isinstance(value, (str, bytes)) \
                else np.array(np.nan)
        except (TypeError, ValueError):
            arr = np.array(np.nan)
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise ValueError(f"{name} must be finite and >= 0; got {name}={_short(value)}")


def _check_finite(x, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite; got {name} with "
                         f"{int(np.sum(~np.isfinite(arr)))} NaN or inf entries")
    return arr


def accuracy_from_cosine(rho, *, mu_f, sigma_f, sigma_n):
    r"""Eq. 5: test accuracy of a direction with cosine ``rho`` to ``e_1``.

    ``A = 1/2 [1 + erf(rho mu_f / sqrt(2 (rho^2 sigma_f^2 + (1 - rho^2) sigma_n^2)))]``.
    Vectorised over all arguments.
    """
    _check_gaussian(mu_f, sigma_f, sigma_n)
    rho = _check_finite(rho, "rho")
    if np.any(np.abs(rho) > 1):
        raise ValueError(f"rho must lie in [-1, 1]; got rho={_short(rho)}")
    var = rho**2 * sigma_f**2 + (1 - rho**2) * sigma_n**2
    return ndtr(_ratio(rho * mu_f, np.sqrt(np.maximum(var, 0.0))))[()]


def _ratio(num, den):
    """``num/den`` with a noiseless limit: ``+-inf`` where ``den = 0``, and 0 (a coin flip)
    where both vanish."""
    num, den = np.broadcast_arrays(np.asarray(num, dtype=float), np.asarray(den, dtype=float))
    safe = np.where(den > 0, den, 1.0)
    limit = np.where(num > 0, np.inf, np.where(num < 0, -np.inf, 0.0))
    return np.where(den > 0, num / safe, limit)


def population_accuracy(w, *, mu_f, sigma_f, sigma_n, b=0.0):
    r"""Exact test accuracy of ``sign(w^T x + b)`` on binary Gaussian signal-plus-noise data.

    ``Phi(w_1 mu_f / sqrt(sigma_f^2 w_1^2 + sigma_n^2 |w_perp|^2))`` for ``b = 0``; with a bias,
    the average over the two classes ``[Phi((w_1 mu_f + b)/s) + Phi((w_1 mu_f - b)/s)]/2``.

    Parameters
    ----------
    w : array_like of shape (d,) or (..., d)
        One direction or a batch (leading axes are kept).
    b : float or array_like, default 0.0

    Returns
    -------
    float or ndarray of shape w.shape[:-1]
    """
    _check_gaussian(mu_f, sigma_f, sigma_n)
    w = _check_finite(w, "w")
    b = _check_finite(b, "b")
    if w.ndim == 0 or w.shape[-1] < 1:
        raise ValueError(f"w must have a last axis of length d >= 1; got w.shape={w.shape}")
    w1 = w[..., 0]
    s = np.sqrt(sigma_f**2 * w1**2 + sigma_n**2 * np.sum(w[..., 1:] ** 2, axis=-1))
    b = np.asarray(b, dtype=float)
    return (0.5 * (ndtr(_ratio(w1 * mu_f + b, s)) + ndtr(_ratio(w1 * mu_f - b, s))))[()]


def population_ce(w, *, mu_f, sigma_f, sigma_n):
    r"""Exact population cross-entropy ``E[log(1 + e^{-t})]`` of binary signal-plus-noise data.

    For ``x = y mu_f e_1 + xi`` the signed test logit is ``t ~ N(m, s^2)`` with
    ``m = w_1 mu_f`` and ``s^2 = sigma_f^2 w_1^2 + sigma_n^2 |w_perp|^2`` (Eq. 3). We split
    ``softplus(-t) = max(-t, 0) + log1p(e^{-|t|})``: the first term has the closed form
    ``s phi(m/s) - m Phi(-m/s)``; the second is bounded, decays like ``e^{-|t|}`` and is
    smooth on each side of its kink at ``t = 0``, so Gauss-Legendre on
    ``u = (t - m)/s`` split at the kink (|u| <= 10 with ``|t| <= 40``) is exact to ~1e-12.

    Parameters
    ----------
    w : array_like of shape (d,) or (R, d)
    mu_f, sigma_f, sigma_n : float

    Returns
    -------
    float (for ``w`` of shape (d,)) or ndarray of shape (R,)
    """
    _check_gaussian(mu_f, sigma_f, sigma_n)
    w = _check_finite(w, "w")
    if w.ndim not in (1, 2) or w.shape[-1] < 1:
        raise ValueError(f"w must have shape (d,) or (R, d) with d >= 1; got w.shape={w.shape}")
    single = w.ndim == 1
    w = np.atleast_2d(w)
    m = w[:, 0] * mu_f
    s = np.sqrt(sigma_f**2 * w[:, 0] ** 2 + sigma_n**2 * np.sum(w[:, 1:] ** 2, axis=1))
    pos = s > 0
    ss = np.where(pos, s, 1.0)
    hinge = np.where(pos, ss * np.exp(-0.5 * (m / ss) ** 2) / np.sqrt(2 * np.pi)
                     - m * ndtr(-m / ss), np.maximum(-m, 0.0))
    # Smooth remainder: integrate over u in [u0 - 40/s, u0] and [u0, u0 + 40/s], clipped to
    # [-10, 10], where u0 = -m/s is the kink.
    nodes, weights = _gauss_legendre(96)
    u0 = np.clip(-m / ss, -10.0, 10.0)[:, None]
    width = np.minimum(40.0 / ss, 20.0)[:, None]
    rest = np.zeros(len(w))
    for lo, hi in ((np.maximum(u0 - width, -10.0), u0), (u0, np.minimum(u0 + width, 10.0))):
        half = 0.5 * (hi - lo)
        u = lo + half * (nodes + 1.0)  # (R, 96)
        t = m[:, None] + s[:, None] * u
        dens = np.exp(-0.5 * u**2) / np.sqrt(2 * np.pi)
        rest += np.sum(half * weights * np.log1p(np.exp(-np.abs(t))) * dens, axis=1)
    rest = np.where(pos, rest, np.log1p(np.exp(-np.abs(m))))
    return float((hinge + rest)[0]) if single else hinge + rest


@lru_cache(maxsize=4)
def _gauss_legendre(n):
    return np.polynomial.legendre.leggauss(n)


def critical_ratio(alpha):
    """Critical sample ratio lambda_c = d/N at sigma_f = 0: 1/2 for alpha = 0, 1 for alpha > 0."""
    alpha = check_alpha(alpha)
    return np.where(np.asarray(alpha) > 0, 1.0, 0.5)[()]


# ------------------------------------------------------------------ [DERIVED] asymptotics


def _check_lam(lam):
    lam = np.asarray(lam, dtype=float)
    if np.any((lam <= 0) | (lam >= 1)) or not np.all(np.isfinite(lam)):
        raise ValueError(f"lam must lie in (0, 1); got lam={lam}")
    return lam


def asymptotic_accuracy(lam, *, mu_f, sigma_f):
    r"""**[DERIVED]** accuracy of the empirical Fisher direction, ``d, N -> inf``, ``d/N = lam``.

    ``Phi(m^2 sqrt(1 - lam) / sqrt(m^2 + lam))`` with ``m = mu_f/sigma_f``; independent of
    ``sigma_n``. Derived for this project (docs/theory.md), not in the paper.
    """
    lam = _check_lam(lam)
    _check_gaussian(mu_f, sigma_f)
    if np.any(np.asarray(sigma_f) == 0) or np.any(np.asarray(mu_f) == 0):
        raise ValueError(f"mu_f and sigma_f must be > 0 here; got mu_f={_short(mu_f)}, "
                         f"sigma_f={_short(sigma_f)}")
    m2 = (mu_f / sigma_f) ** 2
    return ndtr(m2 * np.sqrt(1 - lam) / np.sqrt(m2 + lam))[()]


def asymptotic_C2(lam, *, mu_f, sigma_f):
    r"""**[DERIVED]** ``C^2 = lam sigma_f^2 (mu_f^2 + sigma_f^2) / (mu_f^2 (1 - lam))``.

    The constant of the cosine law ``1/rho^2 = 1 + C^2/sigma_n^2`` (Eq. 4) in the
    proportional limit. Derived for this project (docs/theory.md), not in the paper.
    """
    lam = _check_lam(lam)
    _check_gaussian(mu_f, sigma_f)
    if np.any(np.asarray(mu_f) == 0):
        raise ValueError(f"mu_f must be > 0 here; got mu_f={_short(mu_f)}")
    return (lam * sigma_f**2 * (mu_f**2 + sigma_f**2) / (mu_f**2 * (1 - lam)))[()]


def asymptotic_cosine(lam, *, mu_f, sigma_f, sigma_n):
    """**[DERIVED]** ``rho = 1/sqrt(1 + C^2/sigma_n^2)`` with :func:`asymptotic_C2`."""
    _check_gaussian(mu_f, sigma_f, sigma_n)
    if np.any(np.asarray(sigma_n) == 0):
        raise ValueError(f"sigma_n must be > 0 here; got sigma_n={_short(sigma_n)}")
    return (1.0 / np.sqrt(1.0 + asymptotic_C2(lam, mu_f=mu_f, sigma_f=sigma_f) / sigma_n**2))[()]


class QuadraticToy(NamedTuple):
    direction: np.ndarray  # unit S_hat, (d,)
    g: float  # optimal norm g* = a mu/(mu^2 + sigma^2)
    mu: float  # logit mean at the optimum, a/(1 + r^2)
    sigma: float
    r: float
    loss: float  # a^2/(1 + 1/r^2)


def quadratic_toy(A, a):
    r"""App. C.4: the exact minimiser of ``mean (A S - a)^2`` over ``S``, in shape/location form.

    With unit-direction moments ``mu, sigma`` (ddof = 0): ``g* = a mu/(mu^2 + sigma^2)``,
    ``mu* = a/(1 + r^2)``, ``L_min = a^2/(1 + 1/r^2)`` (Eqs. 15-20). The direction minimises
    ``r = sigma/mu`` and so does not depend on ``a`` (Figs. 11-12).

    Parameters
    ----------
    A : array_like of shape (N, d), label-absorbed samples.
    a : float, the target.
    """
    A = np.asarray(A, dtype=float)
    S = np.linalg.lstsq(A, np.full(len(A), float(a)), rcond=None)[0]
    direction = S / np.linalg.norm(S)
    t = A @ direction  # signed logits of the unit direction, (N,)
    mu, sigma = float(t.mean()), float(t.std())  # ddof = 0, as in App. C.4
    r = sigma / mu
    g = a * mu / (mu**2 + sigma**2)
    return QuadraticToy(direction, g, a / (1 + r**2), g * sigma, r, a**2 / (1 + 1 / r**2))
