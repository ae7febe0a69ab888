r"""The second-order Runge-Kutta-Chebyshev (RKC) step, for the gradient flow of
:func:`logitreg.dynamics.gd` (``method="flow"``).

References
----------
Verwer, Hundsdorfer & Sommeijer (1990) and Sommeijer, Shampine & Verwer (1997), "RKC: an
explicit solver for parabolic PDEs".
"""

from __future__ import annotations

from functools import cache

import numpy as np

__all__ = ["BETA", "S_MAX", "rkc_coefficients", "rkc_step"]


@cache
def rkc_coefficients(s: int):
    r"""Coefficients of the s-stage, second-order Runge-Kutta-Chebyshev method.

    Damping ``eps = 2/13`` (Sommeijer, Shampine & Verwer 1997). Stage recursion:
    ``Y_1 = Y_0 + mu~_1 h F_0``,
    ``Y_j = (1 - mu_j - nu_j) Y_0 + mu_j Y_{j-1} + nu_j Y_{j-2} + mu~_j h F_{j-1}
    + gamma~_j h F_0``. Returns ``(mu, nu, mu_t, gamma_t, beta)`` where ``beta ~ 0.65 s^2``
    is the stability boundary on the negative real axis.
    """
    w0 = 1.0 + (2.0 / 13.0) / s**2
    T, dT, ddT = np.zeros(s + 1), np.zeros(s + 1), np.zeros(s + 1)
    T[0], T[1], dT[1] = 1.0, w0, 1.0
    for j in range(2, s + 1):
        T[j] = 2 * w0 * T[j - 1] - T[j - 2]
        dT[j] = 2 * T[j - 1] + 2 * w0 * dT[j - 1] - dT[j - 2]
        ddT[j] = 4 * dT[j - 1] + 2 * w0 * ddT[j - 1] - ddT[j - 2]
    w1 = dT[s] / ddT[s]
    b = np.zeros(s + 1)
    b[2:] = ddT[2:] / dT[2:] ** 2
    b[0] = b[1] = b[2]
    a = 1.0 - b * T
    mu, nu, mu_t, gam_t = np.zeros(s + 1), np.zeros(s + 1), np.zeros(s + 1), np.zeros(s + 1)
    mu_t[1] = b[1] * w1
    for j in range(2, s + 1):
        mu[j] = 2 * b[j] * w0 / b[j - 1]
        nu[j] = -b[j] / b[j - 2]
        mu_t[j] = 2 * b[j] * w1 / b[j - 1]
        gam_t[j] = -a[j - 1] * mu_t[j]
    beta = (w0 + 1.0) * ddT[s] / dT[s]
    return mu, nu, mu_t, gam_t, beta


S_MAX = 100  # stage cap: beta(100) ~ 6500, far beyond what accuracy allows here
BETA = np.array([0.0, 0.0] + [rkc_coefficients(s)[4] for s in range(2, S_MAX + 1)])


def rkc_step(grad, W, F0, h, s):
    """One RKC step of ``dW/dt = F(W) = -grad L`` from ``W`` with ``F0 = F(W)``."""
    # Python floats: a numpy scalar times a torch tensor would not stay a tensor.
    mu, nu, mu_t, gam_t = (c.tolist() for c in rkc_coefficients(s)[:4])
    h = float(h)
    Y_prev, Y = W, W + (mu_t[1] * h) * F0
    for j in range(2, s + 1):
        F = -grad(Y)[0]
        Y_prev, Y = Y, ((1 - mu[j] - nu[j]) * W + mu[j] * Y + nu[j] * Y_prev
                        + (mu_t[j] * h) * F + (gam_t[j] * h) * F0)
    return Y

