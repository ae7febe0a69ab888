r"""Small exact problems behind Figs. 10-12 of Beck, Bar-Sinai & Levi (2026).

* :func:`hinge_toy` -- the N = 3 toy of Figs. 11-12: the exact minimiser of the mean loss
  ``(z - a)^2 + b max(0, -z)`` over a linear ``z = S^T x`` (App. C.4 for ``b = 0``).
* :data:`TABLE_POINTS` -- three points of our own that reproduce every entry of the
  tables printed in Figs. 11 and 12 (the paper does not publish its points).
* :func:`shrinkage_mean` -- ``mu* = a/(1 + r^2)`` (App. C.4, Eq. 18).
* :func:`toy_invariances` -- the runs of the tables and the claims about them (same
  direction and ``r`` for every ``a``, ``mu = a/(1 + r^2)``, rotation by the hinge), on
  :data:`TABLE_POINTS` or :func:`random_toy_points`.
* :func:`alpha_plateau` -- Fig. 10: the angle between the minimiser of
  ``(1 - alpha) CE + alpha z^2`` and the quadratic-loss minimiser, vs ``alpha``, on
  finite samples of 2-D Gaussian data; :func:`plateau_onset` -- the alpha from which that
  angle stays below a tolerance.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np

from ._validation import _short, check_alpha, check_positive
from .data import signal_plus_noise
from .metrics import cosine
from .solvers import fit

__all__ = ["HingeToy", "TABLE_POINTS", "alpha_plateau", "angle_deg", "hinge_toy",
           "plateau_onset", "random_toy_points", "shrinkage_mean", "toy_invariances"]

# Three label-absorbed points (rows) of our own. The tables of Figs. 11-12 do not determine
# the points (every entry is invariant under rescaling the points, and the solutions form
# a continuum beyond that), so we solved the table's equations -- the b = 0 direction and
# r, the b = 6 direction, mu and r -- by least squares over the six coordinates from random
# starts, then kept a solution whose coordinates rounded to two decimals still give every
# table entry to its 4 printed decimals (tests/test_figures_noise.py checks all of them,
# including the a = 6 and Fisher rows). Point 0 has a negative logit at the b = 0 optimum,
# so the hinge of Fig. 12 acts on it.
TABLE_POINTS = np.array([[2.53, -2.63], [12.43, 2.16], [-10.66, 7.18]])

# Toys are solved by enumerating the 3^N faces of the piecewise-quadratic objective.
_MAX_TOY_POINTS = 10


class HingeToy(NamedTuple):
    """The minimiser of the toy loss and its logit moments (ddof 0, as in App. C.4)."""

    S: np.ndarray  # (d,) minimiser
    direction: np.ndarray  # (d,) S / |S|
    mu: float  # mean of the logits A S
    sigma: float  # std (ddof 0) of the logits
    r: float  # sigma / mu, the clustering ratio
    loss: float  # mean (z - a)^2 + b max(0, -z) at S
    negative: np.ndarray  # (N,) bool: logit < 0 (the hinge acts on these points)


def hinge_toy(A, a, b=0.0) -> HingeToy:
    r"""Exact minimiser of ``mean_i (z_i - a)^2 + b max(0, -z_i)``, ``z = A S`` (Figs. 11-12).

    The objective is convex and piecewise quadratic: on each face, where every logit has a
    fixed sign pattern (negative, zero or positive), it is the quadratic
    ``mean (z - a)^2 - (b/N) sum_{z_i < 0} z_i``. The minimiser lies in the relative interior
    of one face and is there the minimiser of that face's quadratic on the affine set
    ``{z_i = 0 : i in zero set}`` (a KKT linear system). We solve all ``3^N`` of those
    systems and return the candidate with the smallest true objective: every candidate's
    objective is at least the minimum, and the minimiser's own face gives it exactly.

    Parameters
    ----------
    A : array_like of shape (N, d)
        Label-absorbed samples, of full column rank (so the minimiser is unique);
        ``N <= 10``.
    a : float
        Target of the quadratic term.
    b : float, default 0.0
        Weight of the hinge; ``b = 0`` is :func:`logitreg.quadratic_toy`.

    Returns
    -------
    HingeToy

    References
    ----------
    Beck, Bar-Sinai & Levi (2026), Figs. 11-12 and App. C.4 (Eqs. 15-20).
    """
    A = np.asarray(A, dtype=float)
    if A.ndim != 2 or not 1 <= A.shape[0] <= _MAX_TOY_POINTS or not np.all(np.isfinite(A)):
        raise ValueError(f"A must be a finite (N, d) array with 1 <= N <= {_MAX_TOY_POINTS}; "
                         f"got A={_short(A)}")
    N, d = A.shape
    if np.linalg.matrix_rank(A) < d:
        raise ValueError(f"A must have full column rank {d} (a unique minimiser); got rank "
                         f"{np.linalg.matrix_rank(A)}")
    if not np.isfinite(a):
        raise ValueError(f"a must be finite; got a={a!r}")
    check_positive(b, "b", strict=False)

    def objective(S):
        z = A @ S
        return float(np.mean((z - a) ** 2 + b * np.maximum(0.0, -z)))

    gram = A.T @ A  # (d, d); the face quadratic is (1/N)(S^T G S - 2a 1^T A S - b sum_neg z)
    best_S, best = None, np.inf
    for pattern in itertools.product((-1, 0, 1), repeat=N):
        pattern = np.asarray(pattern)
        Z = A[pattern == 0]  # (m, d) logits held at 0
        m = len(Z)
        rhs = np.concatenate([a * A.sum(axis=0) + 0.5 * b * A[pattern < 0].sum(axis=0),
                              np.zeros(m)])
        kkt = np.block([[gram, Z.T], [Z, np.zeros((m, m))]])  # (d + m, d + m)
        S = np.linalg.lstsq(kkt, rhs, rcond=None)[0][:d]
        value = objective(S)
        if value < best:
            best_S, best = S, value
    z = A @ best_S
    mu, sigma = float(z.mean()), float(z.std())
    return HingeToy(best_S, best_S / np.linalg.norm(best_S), mu, sigma, sigma / mu, best, z < 0)


def shrinkage_mean(a, r):
    """``mu* = a/(1 + r^2)``: the logit mean at the minimiser of ``(z - a)^2`` (App. C.4, Eq. 18).

    Vectorised over ``a`` and ``r``.
    """
    return (np.asarray(a, dtype=float) / (1.0 + np.asarray(r, dtype=float) ** 2))[()]


def angle_deg(u, v) -> float:
    """Angle between two non-zero vectors of shape (d,), in degrees (0 to 180).

    ``2 atan2(|u' - v'|, |u' + v'|)`` of the unit vectors (Kahan): accurate for nearly
    parallel vectors, where ``arccos`` of the cosine loses half the digits.
    """
    u, v = np.asarray(u, dtype=float), np.asarray(v, dtype=float)
    if u.ndim != 1 or u.shape != v.shape or not (np.any(u) and np.any(v)):
        raise ValueError(f"u and v must be non-zero vectors of one shape (d,); got {u.shape} "
                         f"and {v.shape}")
    u, v = u / np.linalg.norm(u), v / np.linalg.norm(v)
    return float(np.degrees(2.0 * np.arctan2(np.linalg.norm(u - v), np.linalg.norm(u + v))))


def random_toy_points(seed, n_points=3, d=2) -> np.ndarray:
    """``n_points`` standard-normal label-absorbed points in ``d`` dimensions (a random toy)."""
    return np.random.default_rng(seed).standard_normal((n_points, d))


def toy_invariances(A, *, a_values=(2.0, 6.0), b=6.0) -> dict:
    r"""Run the toy of Figs. 11-12 on the points ``A`` and measure what the paper claims.

    Runs ``(a, 0)`` for each ``a`` in ``a_values``, the Fisher direction
    ``Sigma^-1 mu`` (centred, ddof 0, of the rows of ``A``: "Run 3" of Fig. 11) and
    ``(a_values[0], b)``.

    Returns
    -------
    dict with, per run ``<k>`` in ``a<a>_b0``, ``fisher``, ``a<a>_b<b>``: ``<k>_S_hat``
    (list), ``<k>_mu``, ``<k>_sigma``, ``<k>_r``; and the claims: ``angle_a`` (degrees
    between the ``b = 0`` directions: 0 by App. C.4), ``r_spread`` (largest difference of
    their ``r``), ``shrinkage_err`` (largest ``|mu - a/(1 + r^2)|``), ``angle_fisher`` (b = 0
    vs Fisher), ``angle_hinge`` (b = 0 vs b > 0, degrees) and ``hinge_active`` (some logit
    is negative at the ``b = 0`` optimum, so that the hinge can act).
    """
    A = np.asarray(A, dtype=float)
    out, quad = {}, []
    for a in a_values:
        toy = hinge_toy(A, a, 0.0)
        quad.append((a, toy))
        out.update(_toy_row(f"a{a:g}_b0", toy.direction, toy.mu, toy.sigma))
    mu = A.mean(axis=0)
    Ac = A - mu
    fisher = np.linalg.solve(Ac.T @ Ac / len(A), mu)  # (d,) Sigma^-1 mu, centred, ddof 0
    z = A @ fisher
    out.update(_toy_row("fisher", fisher / np.linalg.norm(fisher), z.mean(), z.std()))
    a0, first = quad[0]
    hinge = hinge_toy(A, a0, b)
    out.update(_toy_row(f"a{a0:g}_b{b:g}", hinge.direction, hinge.mu, hinge.sigma))
    out["angle_a"] = max(angle_deg(first.direction, t.direction) for _, t in quad)
    out["r_spread"] = max(abs(t.r - first.r) for _, t in quad)
    out["shrinkage_err"] = max(abs(t.mu - shrinkage_mean(a, t.r)) for a, t in quad)
    out["angle_fisher"] = angle_deg(first.direction, fisher)
    out["angle_hinge"] = angle_deg(first.direction, hinge.direction)
    out["hinge_active"] = bool(np.any(first.negative))
    return out


def _toy_row(key, direction, mu, sigma) -> dict:
    return {f"{key}_S_hat": [float(v) for v in direction], f"{key}_mu": float(mu),
            f"{key}_sigma": float(sigma), f"{key}_r": float(sigma / mu)}


def plateau_onset(alphas, tan_theta, eps=0.01):
    """Smallest alpha from which ``tan_theta`` stays at or below ``eps`` (Fig. 10's plateau).

    ``alphas`` increasing (n,), ``tan_theta`` (n,); returns NaN when the last value is
    above ``eps`` and ``alphas[0]`` when every value is at or below it.
    """
    alphas = np.asarray(alphas, dtype=float)
    tan_theta = np.asarray(tan_theta, dtype=float)
    if alphas.ndim != 1 or alphas.shape != tan_theta.shape or np.any(np.diff(alphas) <= 0):
        raise ValueError("alphas must be strictly increasing, with one tan_theta per alpha")
    above = np.flatnonzero(tan_theta > eps)
    if above.size == 0:
        return float(alphas[0])
    return float(alphas[above[-1] + 1]) if above[-1] + 1 < alphas.size else float("nan")


def alpha_plateau(*, n, alphas, seed, d=2, mu_f=1.0, sigma_f=0.5, sigma_n=1.0, a=1.0,
                  b=1.0) -> dict:
    r"""Fig. 10: ``tan theta(alpha)`` between ``S_min(alpha)`` and the quadratic-loss minimiser.

    Draws ``n`` samples of the signal-plus-noise model (Eq. 3) in ``d`` dimensions from
    ``np.random.default_rng(seed)``; ``S_min(alpha)`` is the exact minimiser of the mean
    ``(1 - alpha) CE + alpha z^2`` (:func:`logitreg.fit`; the max-margin direction when
    ``alpha = 0`` and the data are separable) and the reference minimises the mean
    ``b (z - a)^2``, i.e. solves ``A S = a 1`` in least squares (its direction is the
    empirical Fisher direction, Cor. 3.3 (ii), and depends on neither ``a`` nor ``b``).

    Returns
    -------
    dict with ``tan_theta_<j>`` for ``alphas[j]`` (scalars, so that
    :func:`logitreg.sweep.summarize` reduces them over seeds), ``separable`` (the data are
    linearly separable: the alpha -> 0 limit is the max-margin direction) and
    ``converged`` (every fit converged).

    References
    ----------
    Beck, Bar-Sinai & Levi (2026), Fig. 10 and Sec. 3.4.
    """
    check_positive(n, "n", integer=True)
    check_positive(b, "b")
    alphas = np.atleast_1d(check_alpha(alphas))
    X, y = signal_plus_noise(n, d, mu_f=mu_f, sigma_f=sigma_f, sigma_n=sigma_n,
                             rng=np.random.default_rng(seed))
    A = y[:, None] * X
    reference = np.linalg.lstsq(A, np.full(n, float(a)), rcond=None)[0]  # (d,)
    out, converged = {}, True
    for j, alpha in enumerate(alphas):
        res = fit(X, y, float(alpha))
        c = cosine(res.w, reference)
        out[f"tan_theta_{j}"] = np.sqrt(max(1.0 - c * c, 0.0)) / c
        converged &= bool(res.converged)
    return {**out, "separable": bool(fit(X, y, 0.0).separable), "converged": converged}
