"""Units of work for the simulations: one (parameters, seed) -> a dict of scalars.

Scripts in ``simulations/`` only parse flags, sweep these with :mod:`logitreg.sweep` and
save; the maths stays here, under test.

Every unit draws its data from ``np.random.default_rng(seed)`` with
:func:`logitreg.data.signal_plus_noise`, so units with the same seed and the same
``(lam, n)`` see the same standard-normal draws: :func:`converged_geometry` and
:func:`gd_endpoint` of one seed are paired (same data, same start), and changing only
``sigma_n`` rescales the same noise (the setting of Prop. 6.1). Starts ``w0`` come from a
second stream, :func:`start_rng`.

The units here run with single-threaded BLAS also when called directly
(:func:`logitreg.sweep.one_blas_thread`, which every sweep point runs under; see
:mod:`logitreg.sweep` for why).
"""

from __future__ import annotations

import warnings

import numpy as np

from ._validation import ConvergenceWarning, check_choice, check_positive
from .data import signal_plus_noise
from .dynamics import gd
from .metrics import cosine, cosine_to_e1
from .solvers import fit, row_space
from .sweep import one_blas_thread
from .theory import fisher_direction, population_accuracy

__all__ = ["INITS", "converged_geometry", "gd_endpoint", "gd_from", "helps_hurts_boundary",
           "helps_hurts_table", "paper_verdict",
           "initial_weights", "start_rng", "weight_decay_geometry", "error_onset"]

INITS = ("zero", "uniform", "normal")


def start_rng(seed) -> np.random.Generator:
    """The generator of the start ``w0`` of unit ``seed``: independent of its data stream."""
    return np.random.default_rng([int(seed), 0x5EED])


def initial_weights(d, init, rng) -> np.ndarray:
    """A start ``w0`` of shape (d,) for gradient descent.

    Parameters
    ----------
    d : int
    init : {"zero", "uniform", "normal"}
        ``"zero"``: ``w0 = 0`` (its GD limit is the minimum-norm minimiser);
        ``"uniform"``: ``U(-1/sqrt(d), 1/sqrt(d))`` per entry, PyTorch's default for
        ``nn.Linear`` (std ``1/sqrt(3 d)``); ``"normal"``: ``N(0, I/d)``, the start of
        :func:`logitreg.gd` (and of the paper's Fig. 5, whose initial loss it matches).
    rng : numpy.random.Generator
    """
    check_positive(d, "d", integer=True)
    check_choice(init, set(INITS), "init")
    if init == "zero":
        return np.zeros(d)
    if init == "uniform":
        bound = 1.0 / np.sqrt(d)
        return rng.uniform(-bound, bound, size=d)
    return rng.standard_normal(d) / np.sqrt(d)


def _data(lam, n, mu_f, sigma_f, sigma_n, seed):
    d = int(round(lam * n))
    X, y = signal_plus_noise(n, d, mu_f=mu_f, sigma_f=sigma_f, sigma_n=sigma_n,
                             rng=np.random.default_rng(seed))
    return X, y, d


def _geometry(w, mu_f, sigma_f, sigma_n) -> dict:
    return {"test_acc": float(population_accuracy(w, mu_f=mu_f, sigma_f=sigma_f,
                                                  sigma_n=sigma_n)),
            "cos_e1": float(cosine_to_e1(w)), "norm": float(np.linalg.norm(w))}


def _limits(X, y, alpha, W0, *, reg="quadratic", row=None):
    """The GD limits on ``(X, y)`` from ``w = 0`` and from each start, with one solve.

    Equal to ``fit(X, y, alpha, reg=reg)`` and ``fit(X, y, alpha, reg=reg, w0=W0[j])`` for
    every ``j`` (Prop. 5.1: the minimum-norm minimiser plus the start's component in the
    null space of ``X``, which GD never changes). Where the minimiser is not unique (``d >
    N``, ``alpha > 0``) the solve runs on the orthonormal row-space basis that ``fit`` itself
    uses (``Q``, ``Xs`` with ``X = Xs Q^T``, from ``solvers.row_space``), so the minimiser
    is ``fit``'s bit for bit and the same ``Q`` projects every start: one ``O(N^2 d)``
    factorisation serves every ``alpha`` and every start on the same data.

    Parameters
    ----------
    X : ndarray of shape (N, d)
    y : ndarray of shape (N,)
    alpha : float
    W0 : ndarray of shape (k, d)
        The starts (``k = 0`` allowed).
    reg : penalty, default "quadratic"
    row : dict, optional
        A cache shared between calls on the same ``X`` (filled here with ``"Q"``, ``"Xs"``).

    Returns
    -------
    w : ndarray of shape (d,)
        The limit from 0 (``alpha = 0`` on separable data: the max-margin direction).
    parts : ndarray of shape (k, d)
        What each start adds to ``w`` (zero where the minimiser is unique or ``w`` is the
        max-margin direction, which GD reaches from any start).
    res : FitResult
        The solve (``separable``, ``converged``; its ``w`` is in the row-space basis when
        ``d > N`` and ``alpha > 0``).
    """
    N, d = X.shape
    row = {} if row is None else row
    if d > N and alpha > 0:
        if "Q" not in row:
            row["Q"], row["Xs"] = row_space(X)  # Q (d, r), Xs (N, r), r = rank <= N
        Q = row["Q"]
        res = fit(row["Xs"], y, alpha, reg=reg)  # r <= N: the unique minimiser in Q's basis
        return Q @ res.w, W0 - (W0 @ Q) @ Q.T, res
    res = fit(X, y, alpha, reg=reg)
    if d <= N or res.separable:
        return res.w, np.zeros_like(W0), res
    if "Q" not in row:  # alpha = 0, d > N, not separable (degenerate data only)
        row["Q"], row["Xs"] = row_space(X)
    Q = row["Q"]
    return res.w, W0 - (W0 @ Q) @ Q.T, res


@one_blas_thread()
def converged_geometry(*, lam, alpha, sigma_f, sigma_n=1.0, mu_f=1.0, n=2000,
                       reg="quadratic", inits=(), fisher=True, seed) -> dict | list[dict]:
    """Fit the exact minimiser on fresh signal-plus-noise data and measure its geometry.

    The converged end point of the paper's 20k-epoch GD runs (Figs. 2, 13, 16), computed
    exactly. ``d = round(lam * n)``; the data come from ``np.random.default_rng(seed)``.

    Parameters
    ----------
    alpha : float or sequence of float
        A sequence evaluates every ``alpha`` on the same data draw and the same starts, and
        returns one dict per ``alpha``, each equal to the call with that scalar ``alpha``
        (the draw, the starts and, for ``d > n``, the row-space factorisation are made
        once: see :func:`_limits`).
    inits : sequence of {"zero", "uniform", "normal"}, default ()
        Further GD starts (:func:`initial_weights`, drawn from :func:`start_rng`): for each,
        ``test_acc_<init>``, ``cos_e1_<init>`` and ``norm_<init>`` of the GD limit from it
        (:func:`logitreg.fit` with ``w0``). They differ from the main keys only when
        ``d > n`` (Prop. 5.1: the null space of X, which GD never changes).
    fisher : bool, default True
        Measure ``cos_fisher`` (NaN when False: it costs a second factorisation).

    Returns
    -------
    dict (list of dicts for a sequence ``alpha``) with ``test_acc`` (exact,
    :func:`population_accuracy`), ``cos_e1``, ``norm`` of the
    minimum-norm minimiser (the GD limit from 0), ``cos_fisher`` (cosine to the empirical
    Fisher direction; NaN when ``d >= n``, when ``sigma_f = 0`` (the label-absorbed first
    coordinate is then constant: the centred covariance is singular) or when
    ``alpha = 0`` and the data are separable, where ``w`` is the max-margin direction),
    ``separable``, ``converged``,
    ``d``, and the per-start keys above.
    """
    X, y, d = _data(lam, n, mu_f, sigma_f, sigma_n, seed)
    rng = start_rng(seed)
    W0 = np.stack([initial_weights(d, init, rng) for init in inits]) if inits \
        else np.zeros((0, d))  # (k, d)
    row, fisher_w, outs = {}, None, []
    for a in np.atleast_1d(alpha).tolist():
        w, parts, res = _limits(X, y, a, W0, reg=reg, row=row)
        cos_f = float("nan")
        if fisher and d < n and sigma_f > 0 and not res.separable:
            fisher_w = fisher_direction(X, y) if fisher_w is None else fisher_w
            cos_f = cosine(w, fisher_w)
        out = {"d": d, **_geometry(w, mu_f, sigma_f, sigma_n), "cos_fisher": cos_f,
               "separable": bool(res.separable), "converged": bool(res.converged)}
        for init, part in zip(inits, parts, strict=True):
            out.update({f"{k}_{init}": v for k, v in
                        _geometry(w + part, mu_f, sigma_f, sigma_n).items()})
        outs.append(out)
    return outs if np.ndim(alpha) else outs[0]


def gd_from(X, y, alpha, w0, *, eta=0.1, epochs, method="flow", rtol=1e-4,
            dtype="float64") -> tuple[np.ndarray, int]:
    """Binary full-batch GD (or its flow) from a given start ``w0``; the last weights.

    :func:`logitreg.gd` starts from ``g ~ N(0, I/d)``. GD without bias is equivariant
    under ``X -> X R / c, w -> c R^T w, eta -> c^2 eta`` for any orthogonal ``R`` and
    ``c > 0`` (the logits ``X w`` and the iterates map exactly onto each other), so running
    :func:`logitreg.gd` on ``X R / c`` with ``c = |g|/|w0|`` and ``R`` the Householder
    reflection that takes ``w0/|w0|`` to ``g/|g|`` gives GD from ``w0`` on ``X``, mapped back
    by ``w = R w' / c``. The draw ``g`` is made ahead with the same generator and checked
    against the one :func:`logitreg.gd` used.

    Parameters
    ----------
    X : ndarray of shape (N, d)
    y : ndarray of shape (N,), two classes
    alpha : float
    w0 : ndarray of shape (d,), non-zero
    eta, epochs, method, rtol, dtype
        As in :func:`logitreg.gd` (``t = eta * epochs``).

    Returns
    -------
    w : ndarray of shape (d,)
        The weights after ``epochs`` steps (GD) or at time ``eta * epochs`` (flow).
    n_grad_evals : int
    """
    X = np.asarray(X, dtype=float)
    w0 = np.asarray(w0, dtype=float)
    d = X.shape[1]
    if w0.shape != (d,) or not np.all(np.isfinite(w0)) or not np.any(w0):
        raise ValueError(f"w0 must be a finite, non-zero vector of shape ({d},); got shape "
                         f"{w0.shape}")
    seed = 0x6D  # any fixed seed: g only sets the frame, the run is GD from w0 either way
    g = np.random.default_rng(seed).standard_normal((1, d))[0] / np.sqrt(d)
    c = np.linalg.norm(g) / np.linalg.norm(w0)
    v = w0 / np.linalg.norm(w0) - g / np.linalg.norm(g)  # R = I - 2 v v^T / |v|^2
    vv = float(v @ v)

    def reflect(M):  # M R for M (n, d), R symmetric
        return M if vv < 1e-24 else M - np.outer(M @ v, v) * (2.0 / vv)

    # n_record=3: record_epochs(epochs, 2) is [0, 1], and the flow stops at the last record.
    traj = gd(reflect(X) / c, y, alpha, eta=eta * c**2, epochs=epochs, n_record=3,
              rng=np.random.default_rng(seed), method=method, rtol=rtol, dtype=dtype,
              progress=False)
    if traj.epochs[-1] != epochs or not traj.complete:
        raise RuntimeError(f"logitreg.gd stopped at epoch {traj.epochs[-1]} of {epochs}")
    if not np.array_equal(traj.w0[0], g):
        raise RuntimeError("logitreg.gd no longer starts from rng.standard_normal((1, d)) / "
                           "sqrt(d): gd_from must be updated")
    return reflect(traj.w[0][None, :])[0] / c, int(traj.n_grad_evals)


@one_blas_thread()
def gd_endpoint(*, lam, alpha, sigma_f, sigma_n=1.0, mu_f=1.0, n=2000, epochs=20000,
                eta=0.1, init="uniform", method="flow", seed) -> dict | list[dict]:
    """Finite-time GD, the paper's protocol (Figs. 13, 16: ``eta = 0.1``, 20k epochs), beside
    its own limit.

    Same data as :func:`converged_geometry` with the same ``seed``, and the same start as
    its first entry of ``inits`` when that is ``init`` (starts are drawn in turn from
    :func:`start_rng`). The limit is :func:`logitreg.fit` from the same start: the minimiser
    plus the start's null-space part, or for ``alpha = 0`` on separable data the max-margin
    direction (which GD reaches only logarithmically slowly).

    Parameters
    ----------
    alpha : float or sequence of float
        A sequence runs every ``alpha`` on the same data draw and from the same start, and
        returns one dict per ``alpha``, each equal to the call with that scalar ``alpha``
        (the limits share one factorisation, :func:`_limits`).

    Returns
    -------
    dict (list of dicts for a sequence ``alpha``) with ``test_acc``, ``cos_e1``, ``norm`` of
    GD at ``epochs``; ``limit_test_acc``, ``limit_cos_e1``, ``limit_norm`` of its limit;
    ``cos_to_limit`` (the cosine between the two); ``separable``; ``n_grad_evals``; ``d``.
    """
    check_choice(init, {"uniform", "normal"}, "init")
    X, y, d = _data(lam, n, mu_f, sigma_f, sigma_n, seed)
    w0 = initial_weights(d, init, start_rng(seed))
    row, outs = {}, []
    for a in np.atleast_1d(alpha).tolist():
        w, n_evals = gd_from(X, y, a, w0, eta=eta, epochs=epochs, method=method)
        lim, (part,), res = _limits(X, y, a, w0[None, :], row=row)
        lim = lim + part  # fit(X, y, a, w0=w0).w
        out = {"d": d, **_geometry(w, mu_f, sigma_f, sigma_n)}
        out.update({f"limit_{k}": v for k, v in _geometry(lim, mu_f, sigma_f, sigma_n).items()})
        out.update(cos_to_limit=cosine(w, lim), separable=bool(res.separable),
                   n_grad_evals=n_evals)
        outs.append(out)
    return outs if np.ndim(alpha) else outs[0]


def helps_hurts_boundary(sigma_n, acc_unreg, acc_reg) -> float:
    """The noise level ``sigma_n*`` above which regularization helps (Figs. 6 and 15).

    The first root of ``acc_reg - acc_unreg`` where it goes from negative (hurts) to
    non-negative (helps), interpolated linearly in ``log sigma_n`` between the bracketing
    grid points (the paper's grid is log-like, 0.1 to 6). Apply it to seed-mean curves.

    Parameters
    ----------
    sigma_n : array_like of shape (n,), increasing, > 0
    acc_unreg, acc_reg : array_like of shape (n,)
        Accuracy without (``alpha = 0``) and with the logit penalty.

    Returns
    -------
    float
        ``sigma_n*``; NaN when the sign never changes from hurts to helps on the grid
        (helps everywhere, hurts everywhere).
    """
    s = np.asarray(sigma_n, dtype=float)
    diff = np.asarray(acc_reg, dtype=float) - np.asarray(acc_unreg, dtype=float)
    if s.ndim != 1 or s.shape != diff.shape or s.size < 2:
        raise ValueError(f"sigma_n, acc_unreg and acc_reg must be 1-D of one length >= 2; got "
                         f"shapes {s.shape}, {np.shape(acc_unreg)}, {np.shape(acc_reg)}")
    if np.any(s <= 0) or np.any(np.diff(s) <= 0) or not np.all(np.isfinite(diff)):
        raise ValueError("sigma_n must be increasing and > 0, the accuracies finite")
    for j in range(1, s.size):
        if diff[j - 1] < 0 <= diff[j]:
            frac = -diff[j - 1] / (diff[j] - diff[j - 1])
            return float(np.exp(np.log(s[j - 1]) + frac * np.log(s[j] / s[j - 1])))
    return float("nan")


def helps_hurts_table(records, *, alpha) -> list[dict]:
    """The boundary ``sigma_n*`` of every ``(lam, sigma_f)`` in a sweep (Figs. 6 and 15).

    Parameters
    ----------
    records : list of dict
        Per-seed records with keys ``lam``, ``sigma_f``, ``alpha``, ``sigma_n``, ``seed`` and
        ``test_acc``: the ``alpha = 0`` curve on a ``sigma_n`` grid, and ``alpha`` at any
        ``sigma_n`` (its accuracy does not depend on ``sigma_n``, Prop. 6.1: its level is
        the mean over them).
    alpha : float
        The regularized alpha.

    Returns
    -------
    list of dict, one per ``(lam, sigma_f)``: ``reg_level`` (mean over seeds),
    ``sigma_n_star`` of the seed-mean curves (:func:`helps_hurts_boundary`),
    ``sigma_n_star_seed_mean`` and ``_seed_std`` over the seeds whose own curves cross
    (:func:`logitreg.io.mean_std`; NaN when none does), ``n_crossing_seeds``, ``n_seeds``.
    """
    from .io import mean_std

    rows = []
    for lam, sf in dict.fromkeys((r["lam"], r["sigma_f"]) for r in records):
        mine = [r for r in records if (r["lam"], r["sigma_f"]) == (lam, sf)]
        unreg = [r for r in mine if r["alpha"] == 0]
        s = np.array(sorted({r["sigma_n"] for r in unreg}))
        seeds = sorted({r["seed"] for r in unreg})
        curve = {(r["seed"], r["sigma_n"]): r["test_acc"] for r in unreg}
        U = np.array([[curve[(k, sn)] for sn in s] for k in seeds])  # (n_seeds, n_sigma)
        level = np.array([np.mean([r["test_acc"] for r in mine
                                   if r["alpha"] == alpha and r["seed"] == k]) for k in seeds])
        per_seed = np.array([helps_hurts_boundary(s, u, np.full(s.size, g))
                             for u, g in zip(U, level, strict=True)])
        crossing = per_seed[np.isfinite(per_seed)]
        mean, std = mean_std(crossing) if crossing.size else (float("nan"), float("nan"))
        rows.append({"lam": lam, "sigma_f": sf, "reg_level": float(level.mean()),
                     "sigma_n_star": helps_hurts_boundary(s, U.mean(axis=0),
                                                          np.full(s.size, level.mean())),
                     "sigma_n_star_seed_mean": mean, "sigma_n_star_seed_std": std,
                     "n_crossing_seeds": int(crossing.size), "n_seeds": len(seeds)})
    return rows


def paper_verdict(paper, mean, std, *, digitization=0.003, k=2.0) -> str:
    """Compare a seed mean with a value read off the paper's figure.

    ``"reproduced"`` when ``|mean - paper| <= k std + digitization`` (``std`` the seed-to-seed
    spread; a single seed's NaN std counts as 0), else ``"differs (x.x std)"`` with the
    distance in stds beyond nothing (``"differs (|diff| = ..., std 0)"`` when ``std = 0``).
    ``"no paper value"`` when ``paper`` is None, ``"no result"`` when ``mean`` is None/NaN.
    """
    if paper is None:
        return "no paper value"
    if mean is None or not np.isfinite(mean):
        return "no result"
    std = 0.0 if std is None or not np.isfinite(std) else float(std)
    diff = abs(float(mean) - float(paper))
    if diff <= k * std + digitization:
        return "reproduced"
    return f"differs ({diff / std:.1f} std)" if std > 0 else f"differs (|diff| = {diff:.3g}, std 0)"


WEIGHT_DECAY_METHODS = ("exact", "gd")


def _gd_weight_decay(X, y, l2, w0, *, eta, epochs) -> np.ndarray:
    """Full-batch GD on ``mean_i CE_i + (l2/2)|w|^2`` from ``w0``: the last weights (d,).

    The CE and its gradient come from :class:`logitreg.losses.LinearObjective` (``alpha =
    0``); the penalty adds ``l2 w`` to the gradient (weight decay ``w <- (1 - eta l2) w -
    eta grad CE``).
    """
    from .losses import LinearObjective, make_loss

    obj = LinearObjective(X, np.where(y > 0, 1.0, -1.0), make_loss(0.0))
    w = np.array(w0, dtype=float)  # (d,)
    for _ in range(epochs):
        w -= eta * (obj.grad(w) + l2 * w)
    if not np.all(np.isfinite(w)):
        raise FloatingPointError(f"GD with weight decay diverged at eta={eta}: expected a "
                                 "smaller eta")
    return w


def _fit_l2(X, y, l2, solver):
    """``fit(X, y, 0, l2=l2, method=solver)``; Newton where L-BFGS stops short of the
    tolerance (its line search can fail near the optimum, at the rounding of the loss)."""
    if solver == "lbfgs":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = fit(X, y, 0.0, l2=l2, method="lbfgs")
        if res.converged:
            return res
    return fit(X, y, 0.0, l2=l2, method="newton")


@one_blas_thread()
def weight_decay_geometry(*, lam, l2, sigma_f, sigma_n=1.0, mu_f=1.0, n=2000, method="exact",
                          epochs=2000, eta=0.1, init="uniform", solver="lbfgs", seed
                          ) -> dict | list[dict]:
    r"""Logistic regression with weight decay instead of a logit penalty (Fig. 18).

    Minimises the paper's Eq. 33 divided by ``N``,

    .. math:: N^{-1}\sum_i \log(1 + e^{-y_i S^\top x_i}) + (l_2/2)\,|S|^2,
              \qquad l_2 = \gamma / N,

    (``alpha = 0``: no logit penalty) on signal-plus-noise data (Eq. 3) drawn as in
    :func:`converged_geometry` (same ``seed`` and ``(lam, n)``: same data). Eq. 33 is
    written as a sum, so its ``gamma = 0.2`` is ``l2 = 0.2 / N`` (1e-4 at ``N = 2000``);
    read as a mean (as the paper's other losses are plotted), ``l2 = gamma``.

    Parameters
    ----------
    lam : float
        ``d / N``; ``d = round(lam * n)``.
    l2 : float >= 0, or a sequence of them
        Weight-decay strength on the mean loss (``logitreg.fit``'s ``l2``). ``l2 > 0``
        gives a unique finite minimiser at every ``lam``; ``l2 = 0`` is plain logistic
        regression (the hard-margin direction on separable data, for ``"exact"``). A
        sequence evaluates every ``l2`` on the same data draw and returns one dict per
        ``l2``, each equal to the call with that scalar (to the solver's tolerance): for
        ``"exact"`` with ``d > n`` the row-space factorisation, where every ``l2 > 0``
        minimiser lies, is made once.
    sigma_f, sigma_n, mu_f : float
        Noise along ``e_1``, orthogonal noise and signal strength (Eq. 3).
    n : int, default 2000
        Training samples ``N``.
    method : {"exact", "gd"}, default "exact"
        ``"exact"``: the minimiser (:func:`logitreg.fit` with ``l2``). ``"gd"``: the paper's
        finite-time protocol, ``epochs`` steps of full-batch GD with step ``eta`` on the
        mean loss from ``init`` (the paper's Fig. 18: ``eta = 0.1``, 2,000 epochs).
    epochs : int, default 2000
    eta : float, default 0.1
    init : {"zero", "uniform", "normal"}, default "uniform"
        GD start (:func:`initial_weights`, drawn from :func:`start_rng`); the paper does
        not state it. Unused by ``"exact"`` with ``l2 > 0`` (unique minimiser).
    solver : {"lbfgs", "newton"}, default "lbfgs"
        :func:`logitreg.fit`'s method for ``"exact"`` with ``l2 > 0``; both stop at the
        same relative gradient tolerance (1e-10), where their weights agree to ~1e-8
        relative; where L-BFGS stops short of it (its line search can fail at the
        rounding of the loss), Newton solves the problem again. L-BFGS is the default
        because this problem is strongly convex and cheap per iteration: 2-8x faster
        than Newton on Fig. 18's grid (measured at N = 2000, lam in {0.5, 1, 1.5}, l2 in
        {1e-4, 1e-2, 0.2}; docs/benchmarks.md).
    seed : int

    Returns
    -------
    dict (list of dicts for a sequence ``l2``) with ``test_acc`` (exact population
    accuracy), ``cos_e1``, ``norm`` (of the hard-margin direction, a unit vector, when
    ``l2 = 0`` on separable data), ``train_acc`` (fraction of training samples with
    ``y S^T x > 0``), ``converged`` (of the solver; True for ``"gd"``) and ``d``.

    References
    ----------
    Beck, Bar-Sinai & Levi (2026), Eq. 33 and Fig. 18 (App. E).
    """
    check_choice(method, set(WEIGHT_DECAY_METHODS), "method")
    check_choice(solver, {"lbfgs", "newton"}, "solver")
    l2s = np.atleast_1d(np.asarray(l2, dtype=float)).tolist() if np.ndim(l2) else [l2]
    if not l2s:
        raise ValueError("l2 is an empty sequence: expected at least one weight-decay strength")
    for value in l2s:
        check_positive(value, "l2", strict=False)
    check_positive(lam, "lam")
    if method == "gd":
        check_positive(epochs, "epochs", integer=True)
        check_positive(eta, "eta")
        check_choice(init, set(INITS), "init")
    X, y, d = _data(lam, n, mu_f, sigma_f, sigma_n, seed)
    w0 = initial_weights(d, init, start_rng(seed)) if method == "gd" else None
    row, outs = {}, []
    for value in l2s:
        if method == "gd":
            w, converged = _gd_weight_decay(X, y, float(value), w0, eta=eta,
                                            epochs=epochs), True
        elif value > 0 and d > n:
            # The minimiser is unique and lies in the row space of X (w = -grad L / l2):
            # solve there, on one factorisation for every l2 (and for a Newton fallback).
            if "Q" not in row:
                row["Q"], row["Xs"] = row_space(X)  # Q (d, r), Xs (n, r)
            res = _fit_l2(row["Xs"], y, value, solver)
            w, converged = row["Q"] @ res.w, bool(res.converged)
        elif value > 0:
            res = _fit_l2(X, y, value, solver)
            w, converged = res.w, bool(res.converged)
        else:
            res = fit(X, y, 0.0)
            w, converged = res.w, bool(res.converged)
        outs.append({"d": d, **_geometry(w, mu_f, sigma_f, sigma_n),
                     "train_acc": float(np.mean(y * (X @ w) > 0)), "converged": converged})
    return outs if np.ndim(l2) else outs[0]


def error_onset(lams, acc, eps=0.01) -> float:
    """The first ``lam`` at which the test error ``1 - acc`` exceeds ``eps`` (Fig. 18).

    Interpolated linearly between the bracketing grid points; the onset of the
    generalization threshold on a curve of accuracy against ``lam = d/N``. With
    ``sigma_f = 0`` a logit penalty (``alpha > 0``) keeps the error at 0 up to ``lam = 1``
    (Sec. 4.1: ``S`` parallel to ``e_1``), so its onset is at ``lam >= 1``; plain logistic
    regression departs from ``e_1`` above ``lam = 1/2``.

    Parameters
    ----------
    lams : array_like of shape (n,), increasing
    acc : array_like of shape (n,)
        Test accuracy at ``lams`` (one seed's curve, or a seed mean).
    eps : float in (0, 1), default 0.01

    Returns
    -------
    float
        The onset; ``lams[0]`` when the error already exceeds ``eps`` there; NaN when it
        never does on the grid.
    """
    lams = np.asarray(lams, dtype=float)
    err = 1.0 - np.asarray(acc, dtype=float)
    if lams.ndim != 1 or lams.shape != err.shape or lams.size < 2:
        raise ValueError(f"lams and acc must be 1-D of one length >= 2; got shapes "
                         f"{lams.shape}, {np.shape(acc)}")
    if np.any(np.diff(lams) <= 0) or not np.all(np.isfinite(err)):
        raise ValueError("lams must be increasing, acc finite")
    if not 0 < eps < 1:
        raise ValueError(f"eps must lie in (0, 1); got eps={eps}")
    above = np.flatnonzero(err > eps)
    if above.size == 0:
        return float("nan")
    j = int(above[0])
    if j == 0:
        return float(lams[0])
    frac = (eps - err[j - 1]) / (err[j] - err[j - 1])
    return float(lams[j - 1] + frac * (lams[j] - lams[j - 1]))
