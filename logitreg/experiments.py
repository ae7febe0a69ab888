"""Units of work for the simulations: one (parameters, seed) -> a dict of scalars.

Scripts in ``simulations/`` only parse flags, sweep these with :mod:`logitreg.sweep` and
save; the maths stays here, under test.
"""

from __future__ import annotations

import numpy as np

from .data import signal_plus_noise
from .metrics import cosine, cosine_to_e1
from .solvers import fit
from .theory import fisher_direction, population_accuracy

__all__ = ["converged_geometry"]


def converged_geometry(*, lam, alpha, sigma_f, sigma_n=1.0, mu_f=1.0, n=2000,
                       reg="quadratic", seed) -> dict:
    """Fit the exact minimiser on fresh signal-plus-noise data and measure its geometry.

    The converged end point of the paper's 20k-epoch GD runs (Figs. 2, 13, 16), computed
    exactly. ``d = round(lam * n)``; the data come from ``np.random.default_rng(seed)``.

    Returns
    -------
    dict with ``test_acc`` (exact, :func:`population_accuracy`), ``cos_e1``, ``norm``,
    ``cos_fisher`` (cosine to the empirical Fisher direction; NaN when ``alpha = 0`` and
    the data are separable, where ``w`` is the max-margin direction), ``separable``,
    ``converged``.
    """
    d = int(round(lam * n))
    X, y = signal_plus_noise(n, d, mu_f=mu_f, sigma_f=sigma_f, sigma_n=sigma_n,
                             rng=np.random.default_rng(seed))
    res = fit(X, y, alpha, reg=reg)
    return {
        "d": d,
        "test_acc": float(population_accuracy(res.w, mu_f=mu_f, sigma_f=sigma_f,
                                              sigma_n=sigma_n)),
        "cos_e1": float(cosine_to_e1(res.w)),
        "norm": float(np.linalg.norm(res.w)),
        "cos_fisher": cosine(res.w, fisher_direction(X, y)) if d < n else float("nan"),
        "separable": bool(res.separable),
        "converged": bool(res.converged),
    }
