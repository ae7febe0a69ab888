r"""Measured laws and their fits: the cosine law (Figs. 19-20), grokking time vs alpha, and
the converged-solution measurements they are fitted to.

Fits
----
* :func:`fit_cosine_law` -- ``1/cos^2 theta_1 = 1 + C^2/sigma_n^2`` (Eq. 4 = Eq. 34) by least
  squares in ``x = 1/sigma_n^2``, beside a free straight-line fit; the **[DERIVED]**
  proportional-limit value of ``C^2`` is :func:`logitreg.asymptotic_C2`;
  :func:`cosine_law_by_seed` -- one fit per seed, mean +- std over seeds.
* :func:`fit_power_law` -- ``t = c alpha^-p`` by least squares in log-log, with a
  Student-t confidence interval on ``p``; :func:`mean_ci` -- the same interval for a mean
  over seeds; :func:`local_exponents` -- ``-d log t / d log alpha`` between neighbours;
  :func:`grokking_exponent` -- all three for grokking times, per seed and pooled.
* :func:`alpha_for_z_star` -- the alpha that puts the per-sample target at a given ``z*``
  (to compare penalties at matched ``z*``, Sec. 3.4).

Units of work (one (parameters, seed) -> dict of scalars, for :mod:`logitreg.sweep`)
-----------------------------------------------------------------------------------
:func:`cosine_law_point` (Figs. 19-20, exact minimiser), :func:`gd_cosine_point` (Fig. 19
with the paper's 2,000 GD epochs), :func:`heavy_tail_point` (Fig. 2),
:func:`logit_moments` (Fig. 14), :func:`matched_regularizers` (Sec. 3.4) and
:func:`grokking_times` (grokking time vs alpha, Sec. 5.2; not in the paper).
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
from scipy import optimize, stats

from ._validation import StabilityWarning, _short, check_alpha
from .data import signal_plus_noise
from .dynamics import gd
from .grokking import GrokkingConfig, run_grokking
from .io import mean_std
from .metrics import cosine, cosine_to_e1, signed_logit_stats
from .solvers import fit
from .theory import fisher_direction, population_accuracy, z_star

__all__ = [
    "CosineLawFit",
    "PowerLawFit",
    "alpha_for_z_star",
    "cosine_law_by_seed",
    "cosine_law_point",
    "fit_cosine_law",
    "fit_power_law",
    "gd_cosine_point",
    "grokking_exponent",
    "grokking_times",
    "heavy_tail_point",
    "local_exponents",
    "logit_moments",
    "matched_regularizers",
    "mean_ci",
]


# =================================================================================== fits


def _finite_pairs(x, y, xname, yname):
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"{xname} and {yname} must have the same length; got {x.size} and "
                         f"{y.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError(f"{xname} and {yname} must be finite; got NaN or inf entries")
    return x, y


class CosineLawFit(NamedTuple):
    """Least-squares fits of ``y = 1/cos^2`` against ``x = 1/sigma_n^2`` (Eq. 4)."""

    C2: float  # slope of the law's line through (0, 1): y = 1 + C^2 x
    C2_se: float  # its standard error
    r2: float  # R^2 of that line: 1 - SS_res / SS_tot (SS_tot about the mean of y)
    intercept: float  # free straight-line fit y = intercept + slope x (the law: 1)
    slope: float
    intercept_se: float
    slope_se: float
    n: int


def fit_cosine_law(sigma_n, cos) -> CosineLawFit:
    r"""Fit the cosine law ``1/cos^2 theta_1 = 1 + C^2/sigma_n^2`` (Prop. 6.1, Eq. 4).

    With ``x = 1/sigma_n^2`` and ``y = 1/cos^2``: ``C^2 = sum x (y - 1) / sum x^2`` (least
    squares on the law's line through (0, 1)), its standard error, its ``R^2``, and an
    unconstrained line ``y = c_0 + c_1 x`` (ordinary least squares) to test the intercept 1.

    Parameters
    ----------
    sigma_n : array_like of shape (n,)
        Orthogonal noise levels (> 0); at least 3 points.
    cos : array_like of shape (n,)
        ``cos theta_1 = S_1/|S|`` at each level, in (0, 1].

    Returns
    -------
    CosineLawFit

    References
    ----------
    Beck, Bar-Sinai & Levi (2026), Prop. 6.1, Eq. 4 (= Eq. 34), Fig. 19.
    """
    sigma_n, cos = _finite_pairs(sigma_n, cos, "sigma_n", "cos")
    if sigma_n.size < 3:
        raise ValueError(f"need at least 3 points; got {sigma_n.size}")
    if np.any(sigma_n <= 0) or np.any(cos <= 0) or np.any(cos > 1):
        raise ValueError(f"sigma_n must be > 0 and cos in (0, 1]; got sigma_n={_short(sigma_n)},"
                         f" cos={_short(cos)}")
    x, y = 1.0 / sigma_n**2, 1.0 / cos**2
    n = x.size
    C2 = float(np.sum(x * (y - 1.0)) / np.sum(x * x))
    res = y - 1.0 - C2 * x
    C2_se = float(np.sqrt(np.sum(res**2) / (n - 1) / np.sum(x * x)))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(res**2)) / ss_tot if ss_tot > 0 else float("nan")
    line = stats.linregress(x, y)
    return CosineLawFit(C2, C2_se, r2, float(line.intercept), float(line.slope),
                        float(line.intercept_stderr), float(line.stderr), n)


def cosine_law_by_seed(records, key="cos_e1") -> dict:
    """The cosine law fitted on each seed's points, and mean +- std over seeds of the fits.

    Parameters
    ----------
    records : list of dict
        Each with ``"seed"``, ``"sigma_n"`` and ``key`` (a cosine), e.g. the records of a
        sweep of :func:`cosine_law_point`.
    key : str, default "cos_e1"

    Returns
    -------
    dict with ``n_seeds``, ``fits`` (one :class:`CosineLawFit` as a dict per seed, in
    seed order) and ``<name>_mean`` / ``<name>_std`` for ``C2``, ``r2`` and ``intercept``
    (:func:`logitreg.io.mean_std`: ddof 1).
    """
    seeds = sorted({r["seed"] for r in records})
    fits = [fit_cosine_law([r["sigma_n"] for r in records if r["seed"] == s],
                           [r[key] for r in records if r["seed"] == s]) for s in seeds]
    out = {"n_seeds": len(fits), "fits": [f._asdict() for f in fits]}
    for name in ("C2", "r2", "intercept"):
        out[f"{name}_mean"], out[f"{name}_std"] = mean_std([getattr(f, name) for f in fits])
    return out


class PowerLawFit(NamedTuple):
    """``t = c x^-p``, fitted by ordinary least squares of ``log t`` on ``log x``."""

    p: float
    p_se: float  # standard error of p
    ci: tuple  # (low, high): the ``level`` confidence interval of p (Student t, n - 2 dof)
    level: float
    log_c: float  # natural log of the prefactor c
    r2: float
    n: int


def fit_power_law(x, t, *, level=0.95) -> PowerLawFit:
    r"""Fit ``t = c x^-p`` by least squares in log-log, with a confidence interval on ``p``.

    ``log t = log c - p log x``; the interval is ``p +- t_{(1+level)/2, n-2} se(p)``, exact
    for independent Gaussian errors in ``log t``. Points from the same seed at several
    ``x`` are not independent: then fit each seed and use :func:`mean_ci` on the exponents.

    Parameters
    ----------
    x, t : array_like of shape (n,)
        Positive; at least 3 points with at least 2 distinct ``x``.
    level : float, default 0.95

    Returns
    -------
    PowerLawFit
    """
    x, t = _finite_pairs(x, t, "x", "t")
    if x.size < 3 or np.any(x <= 0) or np.any(t <= 0) or np.unique(x).size < 2:
        raise ValueError(f"x and t must be positive with >= 3 points and >= 2 distinct x; got "
                         f"x={_short(x)}, t={_short(t)}")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1); got level={level}")
    line = stats.linregress(np.log(x), np.log(t))
    half = float(stats.t.ppf(0.5 + level / 2, x.size - 2) * line.stderr)
    p = -float(line.slope)
    return PowerLawFit(p, float(line.stderr), (p - half, p + half), float(level),
                       float(line.intercept), float(line.rvalue**2), int(x.size))


def mean_ci(values, *, level=0.95) -> tuple:
    """Mean, sample std (ddof 1) and the Student-t ``level`` interval of the mean.

    Returns ``(mean, std, (low, high))`` over independent values (e.g. one per seed).
    """
    v = np.asarray(values, dtype=float).ravel()
    if v.size < 2 or not np.all(np.isfinite(v)):
        raise ValueError(f"values must hold >= 2 finite numbers; got {_short(v)}")
    mean, std = mean_std(v)
    half = float(stats.t.ppf(0.5 + level / 2, v.size - 1) * std / np.sqrt(v.size))
    return mean, std, (mean - half, mean + half)


def grokking_exponent(alphas, t_per_seed, *, level=0.95) -> dict:
    r"""Fit ``t_grok = c alpha^-p`` per seed and pooled; the seed-level confidence interval.

    Points of one seed share its data and start, so they are not independent: the honest
    interval is over seeds (:func:`mean_ci` of the per-seed exponents). The pooled fit over
    every (alpha, seed) point and its interval (which treats points as independent) are
    given beside it, and :func:`local_exponents` of the geometric mean over seeds shows
    whether one exponent fits the whole range.

    Parameters
    ----------
    alphas : array_like of shape (n_alpha,), strictly increasing
    t_per_seed : array_like of shape (n_seeds, n_alpha)
        Grokking epochs; NaN (or None) where the level was not reached. A seed needs 3
        reached alphas to get an exponent.
    level : float, default 0.95

    Returns
    -------
    dict with ``p_seeds`` (list), ``p_mean``, ``p_std``, ``p_ci`` (over seeds; None with fewer
    than 2 seeds), ``p_pooled``, ``p_pooled_ci``, ``r2_pooled``, ``log_c_pooled``,
    ``local_alpha`` / ``local_p`` (midpoints and local exponents, over alphas every seed
    reached), ``n_not_reached`` (per alpha).
    """
    alphas = np.asarray(alphas, dtype=float)
    T = np.array(t_per_seed, dtype=float)  # None -> NaN
    if alphas.ndim != 1 or np.any(np.diff(alphas) <= 0):
        raise ValueError(f"alphas must be strictly increasing; got alphas={_short(alphas)}")
    if T.ndim != 2 or T.shape[1] != alphas.size:
        raise ValueError(f"t_per_seed must have shape (n_seeds, {alphas.size}); got {T.shape}")
    fits = [fit_power_law(alphas[np.isfinite(t)], t[np.isfinite(t)], level=level)
            for t in T if np.sum(np.isfinite(t)) >= 3]
    out = {"p_seeds": [f.p for f in fits], "p_mean": None, "p_std": None, "p_ci": None}
    if len(fits) >= 2:
        out["p_mean"], out["p_std"], out["p_ci"] = mean_ci([f.p for f in fits], level=level)
    A = np.broadcast_to(alphas, T.shape)
    ok = np.isfinite(T)
    pooled = fit_power_law(A[ok], T[ok], level=level)
    out.update(p_pooled=pooled.p, p_pooled_ci=pooled.ci, r2_pooled=pooled.r2,
               log_c_pooled=pooled.log_c, n_not_reached=(~ok).sum(axis=0).tolist())
    every = ok.all(axis=0)
    geo = np.exp(np.mean(np.log(T[:, every]), axis=0))
    out["local_alpha"] = np.sqrt(alphas[every][1:] * alphas[every][:-1]).tolist()
    out["local_p"] = local_exponents(alphas[every], geo).tolist() if every.sum() >= 2 else []
    return out


def local_exponents(x, t) -> np.ndarray:
    """``-Delta log t / Delta log x`` between neighbours (sorted by ``x``): shape (n - 1,)."""
    x, t = _finite_pairs(x, t, "x", "t")
    order = np.argsort(x)
    lx, lt = np.log(x[order]), np.log(t[order])
    return -np.diff(lt) / np.diff(lx)


def alpha_for_z_star(z, reg="quadratic") -> float:
    r"""The alpha whose per-sample target is ``z``: the root of ``z*(alpha) = z``.

    ``z*`` decreases from ``inf`` (alpha -> 0) to 0 (alpha -> 1) for every convex even
    penalty whose minimum is at 0, so the root in (0, 1) is bracketed and unique. Label
    smoothing has the closed form ``alpha = 2/(1 + e^z)``.

    Parameters
    ----------
    z : float > 0
    reg : penalty as in :func:`logitreg.z_star`; a string other than ``"quadratic"`` /
        ``"ls"`` is parsed as a sympy expression in ``z``.
    """
    if not (np.isfinite(z) and z > 0):
        raise ValueError(f"z must be finite and > 0; got z={z!r}")
    reg = _penalty(reg)
    g = lambda a: float(z_star(a, reg)) - z  # noqa: E731  (decreasing in a)
    lo, hi = 1e-12, 1 - 1e-12
    if g(lo) < 0 or g(hi) > 0:
        raise ValueError(f"z={z} is outside the range of z*(alpha) for reg={_short(reg)}")
    return float(optimize.brentq(g, lo, hi, xtol=1e-15, rtol=1e-14))


def _penalty(reg):
    if isinstance(reg, str) and reg not in ("quadratic", "ls"):
        import sympy as sp

        return sp.sympify(reg, locals={"z": sp.Symbol("z", real=True)})
    return reg


# ======================================================================== units of work


def _data_rng(seed, sigma_n, fresh):
    """Common random numbers (the same standard normals at every sigma_n, i.e. the same data
    rescaled), or fresh data per sigma_n (a seed of its own for each level)."""
    key = 1 + int(round(float(sigma_n) * 1e6)) if fresh else 0
    return np.random.default_rng([int(seed), key])


def cosine_law_point(*, sigma_n, seed, fresh, sigma_f=0.5, alpha=0.2, lam=0.7, n=2000,
                     mu_f=1.0) -> dict:
    r"""One point of the cosine law (Figs. 19-20): the exact minimiser on one data set.

    Data (Eq. 3) with ``d = round(lam n)``; ``fresh=False`` draws the same standard
    normals for every ``sigma_n`` (common random numbers: the data are rescaled, so by
    Prop. 6.1 the points lie on one line exactly), ``fresh=True`` new ones per level.

    Returns
    -------
    dict with ``cos_e1``, ``inv_cos2`` (``1/cos^2``), ``C`` (``sigma_n |S_perp|/S_1``, the
    constant of Eq. 4 measured at this point), ``test_acc`` (exact), ``converged``.
    """
    d = int(round(lam * n))
    X, y = signal_plus_noise(n, d, mu_f=mu_f, sigma_f=sigma_f, sigma_n=sigma_n,
                             rng=_data_rng(seed, sigma_n, fresh))
    res = fit(X, y, alpha)
    c = float(cosine_to_e1(res.w))
    return {"cos_e1": c, "inv_cos2": 1.0 / c**2,
            "C": float(sigma_n * np.linalg.norm(res.w[1:]) / res.w[0]),
            "test_acc": float(population_accuracy(res.w, mu_f=mu_f, sigma_f=sigma_f,
                                                  sigma_n=sigma_n)),
            "converged": bool(res.converged)}


def gd_cosine_point(*, sigma_n, seed, epochs=2000, eta=0.1, method="flow", sigma_f=0.5,
                    alpha=0.2, lam=0.7, n=2000, mu_f=1.0) -> dict:
    r"""Fig. 19 as the paper ran it: ``cos theta_1`` after ``epochs`` of GD, and at convergence.

    Fresh data per ``sigma_n`` (as :func:`cosine_law_point` with ``fresh=True``, so the
    same data as there), ``w_0 ~ N(0, I/d)`` from ``seed``.

    Returns
    -------
    dict with ``cos_gd`` and ``cos_exact`` (the minimiser on the same data), ``inv_cos2_gd``,
    ``test_acc_gd``, ``test_acc_exact``, ``grad_evals``.
    """
    d = int(round(lam * n))
    spn = {"mu_f": mu_f, "sigma_f": sigma_f, "sigma_n": sigma_n}
    X, y = signal_plus_noise(n, d, rng=_data_rng(seed, sigma_n, True), **spn)
    with warnings.catch_warnings():
        # sigma_n = 3 puts eta = 0.1 near 2/L; the flow does not need the bound.
        if method == "flow":
            warnings.simplefilter("ignore", StabilityWarning)
        tr = gd(X, y, alpha, eta=eta, epochs=epochs, n_record=20, method=method,
                rng=np.random.default_rng([int(seed), 7]), progress=False)
    w_gd, w = tr.w[0], fit(X, y, alpha).w
    c = float(cosine_to_e1(w_gd))
    return {"cos_gd": c, "inv_cos2_gd": 1.0 / c**2, "cos_exact": float(cosine_to_e1(w)),
            "test_acc_gd": float(population_accuracy(w_gd, **spn)),
            "test_acc_exact": float(population_accuracy(w, **spn)),
            "grad_evals": int(tr.n_grad_evals)}


def heavy_tail_point(*, nu, alpha, seed, d=1000, n=1500, mu_f=1.0, sigma=1.0,
                     unit_variance=False) -> dict:
    r"""Fig. 2: the exact minimiser's direction under Student-t noise, at one alpha.

    Every noise coordinate is ``sigma`` times a standard Student-t with ``nu`` degrees of
    freedom (:func:`logitreg.signal_plus_noise`, ``sigma_f = sigma_n = sigma``), or, with
    ``unit_variance=True``, rescaled to variance ``sigma^2`` (by ``sqrt((nu - 2)/nu)``; an
    alternative reading of the figure's setting). The data depend on ``seed`` only, so
    every alpha of a seed sees the same data.

    Returns
    -------
    dict with ``cos_e1``, ``norm`` (of the minimiser; for ``alpha = 0`` on separable data
    the max-margin SVM), ``separable``, ``cos_lda`` (cosine to the empirical Fisher
    direction) and ``cos_e1_lda`` (that direction's cosine to ``e_1``).
    """
    s = sigma * np.sqrt((nu - 2.0) / nu) if unit_variance else sigma
    X, y = signal_plus_noise(n, d, mu_f=mu_f, sigma_f=s, sigma_n=s, noise="student_t", df=nu,
                             rng=np.random.default_rng(seed))
    lda = fisher_direction(X, y)
    res = fit(X, y, float(check_alpha(alpha)))
    return {"cos_e1": float(cosine_to_e1(res.w)), "norm": float(np.linalg.norm(res.w)),
            "separable": bool(res.separable), "cos_lda": cosine(res.w, lda),
            "cos_e1_lda": float(cosine_to_e1(lda))}


def logit_moments(*, sigma_f, seed, alpha=0.2, lam=0.7, n=2000, mu_f=1.0, sigma_n=1.0) -> dict:
    r"""Fig. 14: mean and std of the signed logits on the training set and the population.

    The test logit is Gaussian with mean ``S_1 mu_f`` and variance
    ``sigma_f^2 S_1^2 + sigma_n^2 |S_perp|^2`` (App. E.1), so test moments are exact.
    ``intrinsic_std = sigma_f S_1`` is the std a classifier without orthogonal component
    would have: the paper's claim is train std < intrinsic < test std.

    Returns
    -------
    dict with ``train_mean``, ``train_std`` (ddof 0), ``test_mean``, ``test_std``,
    ``intrinsic_std``, ``S1``, ``test_acc``.
    """
    d = int(round(lam * n))
    X, y = signal_plus_noise(n, d, mu_f=mu_f, sigma_f=sigma_f, sigma_n=sigma_n,
                             rng=np.random.default_rng(seed))
    w = fit(X, y, alpha).w
    m, s = signed_logit_stats(w, X, y)
    S1 = float(w[0])
    return {"train_mean": m, "train_std": s, "test_mean": S1 * mu_f,
            "test_std": float(np.sqrt(sigma_f**2 * S1**2 + sigma_n**2 * np.sum(w[1:] ** 2))),
            "intrinsic_std": sigma_f * S1, "S1": S1,
            "test_acc": float(population_accuracy(w, mu_f=mu_f, sigma_f=sigma_f,
                                                  sigma_n=sigma_n))}


def matched_regularizers(*, z_target, seed, regs=("quadratic", "ls", "sqrt(1 + z**2) - 1"),
                         lam=0.7, n=2000, mu_f=1.0, sigma_f=0.5, sigma_n=1.0) -> dict:
    r"""Sec. 3.4: several penalties ``f`` at the same ``z*`` on one data set.

    For each ``reg`` the amplitude is :func:`alpha_for_z_star` of ``z_target``; the exact
    minimisers are then compared: accuracy and direction should not depend on ``f``.

    Returns
    -------
    dict with, per penalty index ``j``: ``alpha_j``, ``test_acc_j``, ``cos_e1_j``,
    ``logit_mean_j``, ``norm_j``, ``cos_to_0_j`` (cosine to the first penalty's minimiser);
    and ``max_acc_diff``, ``min_cos_to_0`` over the penalties.
    """
    d = int(round(lam * n))
    spn = {"mu_f": mu_f, "sigma_f": sigma_f, "sigma_n": sigma_n}
    X, y = signal_plus_noise(n, d, rng=np.random.default_rng(seed), **spn)
    out, ws, accs = {}, [], []
    for j, reg in enumerate(regs):
        alpha = alpha_for_z_star(z_target, reg)
        w = fit(X, y, alpha, reg=_penalty(reg)).w
        ws.append(w)
        accs.append(float(population_accuracy(w, **spn)))
        out[f"alpha_{j}"] = alpha
        out[f"test_acc_{j}"] = accs[-1]
        out[f"cos_e1_{j}"] = float(cosine_to_e1(w))
        out[f"logit_mean_{j}"] = signed_logit_stats(w, X, y)[0]
        out[f"norm_{j}"] = float(np.linalg.norm(w))
        out[f"cos_to_0_{j}"] = cosine(w, ws[0])
    out["max_acc_diff"] = float(np.max(accs) - np.min(accs))
    out["min_cos_to_0"] = float(min(cosine(w, ws[0]) for w in ws))
    return out


def grokking_times(*, seed, alphas, epochs, level=0.9, d=1400, n=2000, mu_f=0.1,
                   method="flow", n_record=400) -> dict:
    r"""Epoch at which the population test accuracy first reaches ``level``, per alpha.

    The Fig. 5 setting (:class:`logitreg.GrokkingConfig`: ``sigma_f = 0``, ``sigma_n = 1``,
    ``eta = 0.1``, ``w_0 ~ N(0, I/d)``) for one seed, all ``alphas`` in one batched run
    (:func:`logitreg.run_grokking`, so seeds 0-2 are the data of Fig. 5). The crossing
    is interpolated between records (:meth:`logitreg.Trajectory.first_epoch`).

    Returns
    -------
    dict with ``t_grok`` (list over alphas; ``None`` where ``level`` is not reached by
    ``epochs``), ``final_test_acc`` and ``epoch_train_acc_1`` (lists).
    """
    cfg = GrokkingConfig(d=d, n=n, mu_f=mu_f, alphas=tuple(float(a) for a in alphas),
                         epochs=int(epochs), seeds=(int(seed),), method=method,
                         n_record=n_record)
    tr = run_grokking(cfg, progress=False).trajectories[0]
    t = tr.first_epoch("test_acc", level)
    return {"t_grok": [None if np.isnan(v) else float(v) for v in t],
            "final_test_acc": tr.test_acc[:, -1].tolist(),
            "epoch_train_acc_1": [None if np.isnan(v) else float(v)
                                  for v in tr.first_epoch("train_acc", 1.0)]}
