r"""The core's predictions, measured on a deep network's penultimate features.

Beck, Bar-Sinai & Levi (2026) prove their results for linear classifiers on given inputs
``x``. A network's head is such a classifier on the features ``z = model.features(x)``, so
each prediction can be checked there (the paper itself runs only the linear probe of
Sec. 4.2/8 on frozen ResNet-18 features):

==========================  ============================================================
function                    prediction (paper)
==========================  ============================================================
``vertex_gap``              the target logit gap ``q_high - q_low`` of the simplex vertex
                            (Sec. 3.2, Eq. 21; label smoothing: App. B)
``logit_gap_stats``         spread of the signed logit gaps around that target (logit
                            clustering, Sec. 3.2)
``within_class_covariance`` pooled within-class covariance, Ledoit-Wolf shrinkage by default
``fisher_subspace``         the multiclass Fisher discriminant subspace (Eqs. 26-27)
``subspace_alignment``      mean cosine of the principal angles between two row spaces
``fisher_alignment``        the head against Fisher, class means and a random subspace
                            (Cor. 3.3: the minimiser's direction is Fisher's)
``signal_basis``            Q_1, orthonormal basis of span{mu_c - mu_1} (Sec. 8)
``effective_noise``         sigma_f^eff and sigma_n^eff (Eq. 35)
``orthogonal_scaling``      x -> (I - P_perp) x + gamma P_perp x (Eq. 36)
``balanced_split``          the probe's balanced training subset (Sec. 8, App. E.6.1)
``probe_accuracy``          exact logit-regularized probes over an (alpha, gamma) grid
                            (Fig. 9; Prop. D.3 predicts flatness in gamma for alpha > 0)
==========================  ============================================================

Everything is numpy in float64 (features may be passed as torch tensors, on any device)
and uses :mod:`logitreg` with its exact Newton/L-BFGS solvers only, never cvxpy.

References
----------
Beck, Bar-Sinai & Levi (2026), "The Implicit Bias of Logit Regularization", arXiv
2602.12039.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import linalg

from logitreg import MulticlassLoss, fit, get_penalty, z_star
from logitreg.theory import _multiclass_vertex

__all__ = [
    "balanced_split",
    "effective_noise",
    "fisher_alignment",
    "fisher_subspace",
    "logit_gap_stats",
    "orthogonal_scaling",
    "probe_accuracy",
    "signal_basis",
    "subspace_alignment",
    "vertex_gap",
    "within_class_covariance",
]


# ------------------------------------------------------------------------------ helpers


def _array(x, name: str, ndim: int) -> np.ndarray:
    """``x`` (numpy or torch, any device) as a finite float64 array with ``ndim`` axes."""
    if hasattr(x, "detach"):  # a torch tensor: no torch import needed here
        x = x.detach().cpu().double().numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != ndim:
        want = "(N, d)" if ndim == 2 else "(N,)"
        raise ValueError(f"{name} of shape {x.shape}: expected {want}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} has {int(np.sum(~np.isfinite(x)))} NaN or inf entries: "
                         "expected finite values")
    return x


def _labels(y, n: int, name: str = "y") -> np.ndarray:
    if hasattr(y, "detach"):
        y = y.detach().cpu().numpy()
    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError(f"{name} of shape {y.shape}: expected ({n},), one label per sample")
    return y


def _Xy(X, y, *, min_per_class: int = 1):
    X = _array(X, "X", 2)
    y = _labels(y, X.shape[0])
    classes, counts = np.unique(y, return_counts=True)
    if classes.size < 2:
        raise ValueError(f"y has {classes.size} class: expected at least 2")
    if counts.min() < min_per_class:
        raise ValueError(f"class {classes[counts.argmin()]!r} has {counts.min()} samples: "
                         f"expected at least {min_per_class} per class")
    return X, y, classes


def _row_basis(A: np.ndarray, rtol: float = 1e-10) -> np.ndarray:
    """Orthonormal basis (r, d) of the row space of ``A`` (m, d); singular values below
    ``rtol`` times the largest count as zero."""
    _, s, Vt = linalg.svd(A, full_matrices=False)
    if s.size == 0 or s[0] == 0:
        return Vt[:0]
    return Vt[s > rtol * s[0]]


# ----------------------------------------------------------------------- logit clustering


def vertex_gap(alpha: float, reg="quadratic", n_classes: int = 10) -> float:
    r"""Target gap ``q_high - q_low`` between the true-class logit and every other one.

    Training with ``(1 - alpha) CE + alpha f`` clusters each class's logit vectors at its
    simplex vertex ``z*_(c)`` (``q_high`` at c, ``q_low`` elsewhere; Sec. 3.2, Eq. 21).

    * ``reg="ls"`` (label smoothing, ``alpha = eps``; App. B, Eqs. 13-14): the closed form
      ``log(1 + K (1 - eps)/eps)`` (4.511 for K = 10, eps = 0.1).
    * any other penalty (``"quadratic"``: ``f = |z|^2``): the multiclass vertex of
      :func:`logitreg.z_star` (e.g. 3.307 for K = 10, alpha = 0.04), also for K = 2
      (two logits, as in a network's head).

    ``alpha = 0`` (hard labels) gives ``inf``: CE has no finite minimiser.

    Parameters
    ----------
    alpha : float in [0, 1)
    reg : {"quadratic", "ls"} or a penalty accepted by :func:`logitreg.get_penalty`
    n_classes : int >= 2

    Returns
    -------
    float
    """
    if not isinstance(n_classes, (int, np.integer)) or n_classes < 2:
        raise ValueError(f"n_classes={n_classes!r}: expected an integer >= 2")
    if not (isinstance(alpha, (int, float, np.floating, np.integer)) and 0 <= alpha < 1):
        raise ValueError(f"alpha={alpha!r}: expected a float in [0, 1)")
    alpha = float(alpha)
    if alpha == 0:
        return math.inf
    if isinstance(reg, str) and reg == "ls":
        return math.log1p(n_classes * (1 - alpha) / alpha)
    if n_classes > 2:
        v = z_star(alpha, reg, n_classes)
    else:
        # z_star's K = 2 is the one-logit binary model; a head has one logit per class.
        # The core's vector penalties act on logit vectors of any length (K > 2 selects
        # them), and its vertex solver is exact for K = 2 as well.
        v = _multiclass_vertex(MulticlassLoss(alpha, get_penalty(reg, 3), 2))
    return float(v.q_high - v.q_low)


def logit_gap_stats(logits, labels, target: float | None = None) -> dict[str, float]:
    r"""Spread of the signed logit gaps ``l_{i,y_i} - l_{i,j}`` (j != y_i) around a target.

    The multiclass logit clustering of Sec. 3.2 (Eq. 21): at the vertex every gap equals
    ``q_high - q_low`` (:func:`vertex_gap`). All ``N (K - 1)`` gaps are pooled.

    Parameters
    ----------
    logits : array_like of shape (N, K)
    labels : array_like of shape (N,), integers in [0, K)
    target : float, optional
        The vertex gap; ``None`` skips the distances.

    Returns
    -------
    dict of float
        ``mean``, ``std`` (ddof = 0) of the gaps; ``cv = std / mean`` (the clustering ratio
        r of Prop. 3.1, applied to the gaps); with a target also ``target``,
        ``offset = mean - target`` and ``rms = sqrt(mean((gap - target)^2))``.
    """
    Z = _array(logits, "logits", 2)
    N, K = Z.shape
    if K < 2:
        raise ValueError(f"logits of shape {Z.shape}: expected K >= 2 columns")
    y = _labels(labels, N, "labels")
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= K:
        raise ValueError(f"labels in [{y.min()}, {y.max()}]: expected integers in [0, {K})")
    own = np.zeros((N, K), dtype=bool)
    own[np.arange(N), y] = True
    gaps = (Z[own][:, None] - Z[~own].reshape(N, K - 1)).ravel()  # (N (K - 1),)
    mean, std = float(gaps.mean()), float(gaps.std())
    out = {"mean": mean, "std": std, "cv": std / mean if mean != 0 else math.nan}
    if target is not None:
        target = float(target)
        out.update(target=target, offset=mean - target,
                   rms=float(np.sqrt(np.mean((gaps - target) ** 2))))
    return out


# -------------------------------------------------------------------------------- Fisher


def _ledoit_wolf(Xc: np.ndarray) -> np.ndarray:
    """Ledoit-Wolf shrunk covariance of centred samples ``Xc`` (n, d):
    ``(1 - s) C + s tr(C)/d I`` with the estimated shrinkage ``s`` (Ledoit & Wolf 2004), in
    scikit-learn's ``ledoit_wolf`` form."""
    n, d = Xc.shape
    C = Xc.T @ Xc / n  # (d, d), ddof = 0
    if d == 1:
        return C
    mu = np.trace(C) / d
    beta_ = np.sum(np.sum(Xc**2, axis=1) ** 2)  # sum of <X2.T, X2>, O(n d)
    delta_ = np.sum((Xc.T @ Xc) ** 2) / n**2
    beta = (beta_ / n - delta_) / (d * n)
    delta = (delta_ - 2.0 * mu * np.trace(C) + d * mu**2) / d
    beta = min(beta, delta)
    s = 0.0 if beta == 0 else beta / delta
    return (1.0 - s) * C + s * mu * np.eye(d)


def _class_cov(Xk: np.ndarray, shrinkage) -> np.ndarray:
    Xc = Xk - Xk.mean(axis=0)
    if shrinkage is None:
        return Xc.T @ Xc / len(Xc)
    if isinstance(shrinkage, str):  # "auto": Ledoit-Wolf on standardised features
        scale = Xc.std(axis=0)
        scale[scale == 0] = 1.0  # a constant (e.g. dead ReLU) feature stays as it is
        return scale[:, None] * _ledoit_wolf(Xc / scale) * scale[None, :]
    C = Xc.T @ Xc / len(Xc)
    return (1.0 - shrinkage) * C + shrinkage * np.trace(C) / C.shape[0] * np.eye(C.shape[0])


def within_class_covariance(X, y, shrinkage="auto") -> np.ndarray:
    r"""Pooled within-class covariance ``S_W = sum_c pi_c Sigma_c``, shape (d, d).

    ``pi_c`` are the class frequencies and ``Sigma_c`` the class covariances (ddof = 0),
    each shrunk as scikit-learn's ``LinearDiscriminantAnalysis(shrinkage=...)`` does, so
    that the Fisher subspace below is that of its ``solver="lsqr"``:

    * ``"auto"`` (default): Ledoit-Wolf, on the class's standardised features, rescaled;
    * a float ``s`` in [0, 1]: ``(1 - s) Sigma_c + s tr(Sigma_c)/d I``;
    * ``None``: no shrinkage (the paper's ``S_W``, Eqs. 26-27).

    Parameters
    ----------
    X : array_like of shape (N, d)
    y : array_like of shape (N,)
    shrinkage : "auto", float in [0, 1] or None, default "auto"
    """
    if not (shrinkage is None or (isinstance(shrinkage, str) and shrinkage == "auto")
            or (isinstance(shrinkage, (float, int)) and not isinstance(shrinkage, bool)
                and 0 <= shrinkage <= 1)):
        raise ValueError(f"shrinkage={shrinkage!r}: expected 'auto', a float in [0, 1] "
                         "or None")
    X, y, classes = _Xy(X, y)
    S_W = np.zeros((X.shape[1], X.shape[1]))
    for c in classes:
        Xk = X[y == c]
        S_W += len(Xk) / len(X) * _class_cov(Xk, shrinkage)
    return S_W


def fisher_subspace(X, y, shrinkage="auto") -> np.ndarray:
    r"""Orthonormal basis of the multiclass Fisher discriminant subspace, shape (r, d).

    The span of ``S_W^-1 (mu_c - mu)`` over the classes, ``r = min(K - 1, d)`` generically:
    the nonzero-eigenvalue generalised eigenvectors of ``(S_B, S_W)`` that maximise
    ``J(U) = tr((U^T S_W U)^-1 U^T S_B U)`` (Eqs. 26-27) span it, since ``S_B`` has the
    range ``span{mu_c - mu}``. A singular ``S_W`` (``shrinkage=None`` with ``d >= N - K``
    or constant features) is solved in the least-squares sense, as scikit-learn's
    ``solver="lsqr"`` does.

    Parameters
    ----------
    X : array_like of shape (N, d)
    y : array_like of shape (N,)
    shrinkage : "auto", float in [0, 1] or None, default "auto"
        See :func:`within_class_covariance`.

    References
    ----------
    Beck, Bar-Sinai & Levi (2026), Cor. 3.3 and Eqs. 26-27; Ledoit & Wolf (2004).
    """
    S_W = within_class_covariance(X, y, shrinkage)
    X, y, classes = _Xy(X, y)
    means = np.stack([X[y == c].mean(axis=0) for c in classes])  # (K, d)
    M = means - X.mean(axis=0)  # (K, d), mu_c - mu
    directions = linalg.lstsq(S_W, M.T, check_finite=False)[0].T  # (K, d)
    return _row_basis(directions)


def subspace_alignment(A, B) -> float:
    r"""Mean cosine of the principal angles between the row spaces of ``A`` and ``B``.

    1 when one space contains the other; about ``sqrt(r/d)`` for a random r-dimensional
    space against a fixed one in R^d. The cosines are the singular values of
    ``Q_A Q_B^T`` for orthonormal row bases; ``min(r_A, r_B)`` of them are averaged.

    Parameters
    ----------
    A : array_like of shape (m, d)
    B : array_like of shape (n, d)
    """
    A, B = _array(A, "A", 2), _array(B, "B", 2)
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"A of shape {A.shape} and B of shape {B.shape}: expected the "
                         "same number of columns d")
    QA, QB = _row_basis(A), _row_basis(B)
    if len(QA) == 0 or len(QB) == 0:
        raise ValueError("A or B has rank 0: expected nonzero rows")
    cos = linalg.svd(QA @ QB.T, compute_uv=False)
    return float(np.mean(np.clip(cos, 0.0, 1.0)))


def fisher_alignment(weight, X, y, *, shrinkage="auto", rng: np.random.Generator
                     ) -> dict[str, float]:
    r"""The head's discriminant subspace against Fisher's, with two reference lines.

    For a linear classifier trained with a logit penalty the direction of the minimiser is
    Fisher's discriminant (Cor. 3.3 binary; Eqs. 26-27 multiclass). For a head ``W``
    (K, d) only the differences ``w_k - w_j`` matter to softmax, so its subspace is the
    row space of the centred ``W - mean_k w_k`` (dimension K - 1); this is compared, by
    :func:`subspace_alignment`, with

    * ``fisher``: :func:`fisher_subspace` of the training features ``X``;
    * ``class_means``: the span of the centred class means (Fisher's without ``S_W^-1``,
      i.e. isotropic within-class noise);
    * ``random``: a random subspace of the head's dimension (Gaussian, from ``rng``).

    Parameters
    ----------
    weight : array_like of shape (K, d)
    X : array_like of shape (N, d)
        Penultimate training features.
    y : array_like of shape (N,)
    shrinkage : "auto", float in [0, 1] or None, default "auto"
    rng : numpy.random.Generator
        For the random reference.

    Returns
    -------
    dict
        ``fisher``, ``class_means``, ``random`` and ``fisher_vs_class_means`` (float), and
        ``dim``, the head's subspace dimension.
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng={rng!r}: expected a numpy.random.Generator")
    W = _array(weight, "weight", 2)
    X, y, classes = _Xy(X, y)
    if W.shape[1] != X.shape[1]:
        raise ValueError(f"weight of shape {W.shape} and X of shape {X.shape}: expected "
                         "(K, d) and (N, d)")
    head = _row_basis(W - W.mean(axis=0))
    fisher = fisher_subspace(X, y, shrinkage)
    means = np.stack([X[y == c].mean(axis=0) for c in classes]) - X.mean(axis=0)
    random = rng.standard_normal((len(head), X.shape[1]))
    return {"fisher": subspace_alignment(head, fisher),
            "class_means": subspace_alignment(head, means),
            "random": subspace_alignment(head, random),
            "fisher_vs_class_means": subspace_alignment(fisher, means),
            "dim": int(len(head))}


# ------------------------------------------------------------ effective noise and probes


def signal_basis(X, y) -> np.ndarray:
    r"""``Q_1`` (d, r): orthonormal basis, by QR, of ``span{mu_c - mu_1}`` (Sec. 8).

    The signal subspace of Eq. 35; ``r = K - 1`` when the class means are affinely
    independent (a numerically dependent direction is dropped).
    """
    X, y, classes = _Xy(X, y)
    means = np.stack([X[y == c].mean(axis=0) for c in classes])  # (K, d)
    D = (means[1:] - means[0]).T  # (d, K - 1)
    Q, R = linalg.qr(D, mode="economic", pivoting=True)[:2]
    diag = np.abs(np.diag(R))
    keep = diag > 1e-10 * max(diag.max(initial=0.0), np.finfo(float).tiny)
    if not keep.any():
        raise ValueError("the class means of X coincide: expected distinct class means")
    return Q[:, keep]


def effective_noise(X, y) -> dict[str, float]:
    r"""Effective within-signal and orthogonal noise levels of features (Eq. 35).

    .. math:: \sigma_f^{eff} = \frac{1}{K}\sum_c \sqrt{\frac{\mathrm{Tr}(Q_1^T \Sigma_c Q_1)}
              {\dim \mathcal S}}, \qquad
              \sigma_n^{eff} = \frac{1}{K}\sum_c \sqrt{\frac{\mathrm{Tr}(Q_2^T \Sigma_c Q_2)}
              {\dim \mathcal S^\perp}}

    both divided by the mean pairwise distance between the class centroids (Sec. 8).
    ``Q_1`` is :func:`signal_basis`, ``Q_2`` its orthogonal complement (never formed:
    ``Tr(Q_2^T Sigma Q_2) = Tr(Sigma) - Tr(Q_1^T Sigma Q_1)``), and ``Sigma_c`` the class
    covariance with ddof = 0 (the paper does not say; our choice).

    Parameters
    ----------
    X : array_like of shape (N, d), d > K - 1
    y : array_like of shape (N,)

    Returns
    -------
    dict
        ``sigma_f``, ``sigma_n`` (normalised), ``centroid_distance`` (the normaliser),
        ``dim_signal`` and ``dim_noise``.
    """
    X, y, classes = _Xy(X, y)
    Q1 = signal_basis(X, y)
    d, r = Q1.shape
    if d == r:
        raise ValueError(f"X of shape {X.shape}: the class means span all d = {d} "
                         "dimensions, expected d > K - 1 for an orthogonal complement")
    sf, sn, means = [], [], []
    for c in classes:
        Xk = X[y == c]
        mk = Xk.mean(axis=0)
        R = Xk - mk
        total = np.mean(np.sum(R**2, axis=1))  # Tr(Sigma_c)
        sig = np.mean(np.sum((R @ Q1) ** 2, axis=1))  # Tr(Q1^T Sigma_c Q1)
        sf.append(np.sqrt(sig / r))
        sn.append(np.sqrt(max(total - sig, 0.0) / (d - r)))
        means.append(mk)
    means = np.stack(means)
    iu = np.triu_indices(len(classes), k=1)
    dist = float(np.mean(linalg.norm(means[:, None] - means[None], axis=2)[iu]))
    return {"sigma_f": float(np.mean(sf)) / dist, "sigma_n": float(np.mean(sn)) / dist,
            "centroid_distance": dist, "dim_signal": int(r), "dim_noise": int(d - r)}


def orthogonal_scaling(X, Q1, gamma: float) -> np.ndarray:
    r"""``x -> (I - P_perp) x + gamma P_perp x`` with ``P_perp = I - Q_1 Q_1^T`` (Eq. 36).

    Scales the features' component orthogonal to the signal subspace by ``gamma``; the
    same ``Q_1`` (from the training features) must transform training and test features.

    Parameters
    ----------
    X : array_like of shape (N, d)
    Q1 : array_like of shape (d, r), orthonormal columns (:func:`signal_basis`)
    gamma : float > 0

    Returns
    -------
    ndarray of shape (N, d)
    """
    X = _array(X, "X", 2)
    Q1 = _array(Q1, "Q1", 2)
    if Q1.shape[0] != X.shape[1]:
        raise ValueError(f"Q1 of shape {Q1.shape}: expected ({X.shape[1]}, r)")
    if not (isinstance(gamma, (int, float, np.floating, np.integer)) and gamma > 0):
        raise ValueError(f"gamma={gamma!r}: expected a positive scale")
    signal = X @ Q1 @ Q1.T  # (N, d), (I - P_perp) x
    return signal + gamma * (X - signal)


def balanced_split(y, n_train: int, rng: np.random.Generator
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Indices of ``n_train / K`` random samples per class and of all the others.

    The probe's split (Sec. 8, App. E.6.1: 1000 balanced training samples, the remaining
    9000 for testing).

    Parameters
    ----------
    y : array_like of shape (N,)
    n_train : int, a multiple of the number of classes K
    rng : numpy.random.Generator

    Returns
    -------
    train, test : ndarray of int, sorted
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng={rng!r}: expected a numpy.random.Generator")
    if hasattr(y, "detach"):
        y = y.detach().cpu().numpy()
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y of shape {y.shape}: expected (N,)")
    classes, counts = np.unique(y, return_counts=True)
    K = classes.size
    if not isinstance(n_train, (int, np.integer)) or n_train <= 0 or n_train % K:
        raise ValueError(f"n_train={n_train!r}: expected a positive multiple of the "
                         f"{K} classes")
    per = n_train // K
    if counts.min() <= per:
        raise ValueError(f"n_train={n_train}: class {classes[counts.argmin()]!r} has "
                         f"{counts.min()} samples, expected more than {per} (some left "
                         "for testing)")
    train = np.concatenate([rng.choice(np.flatnonzero(y == c), per, replace=False)
                            for c in classes])
    test = np.setdiff1d(np.arange(len(y)), train)
    return np.sort(train), test


def probe_accuracy(X_train, y_train, X_test, y_test, alphas, gammas, *,
                   reg="quadratic", l2: float = 0.0, method: str = "newton",
                   tol: float = 1e-10, max_iter: int | None = None) -> dict:
    r"""Test accuracy of exact logit-regularized linear probes over an (alpha, gamma) grid.

    The protocol of Fig. 9 (Sec. 8, App. E.6.1): frozen features, their orthogonal part
    scaled by ``gamma`` (Eq. 36, :func:`orthogonal_scaling` with ``Q_1`` of the training
    features), and a multiclass probe ``W x + b`` trained on Eq. 6 with ``f = |z|^2``. The
    paper trains with Adam for 30 000 epochs; here :func:`logitreg.fit` returns the exact
    minimiser. Prop. D.3: when the minimiser is unique (N > d + 1) and the loss depends on
    ``W`` only through the logits, ``W_perp -> W_perp / gamma`` maps the minimisers onto
    each other, so the predictions, and the accuracy, do not depend on ``gamma``. A weight
    penalty ``l2 > 0`` breaks this (App. E.4, Fig. 18).

    Parameters
    ----------
    X_train : array_like of shape (N, d)
    y_train : array_like of shape (N,)
    X_test : array_like of shape (M, d)
    y_test : array_like of shape (M,)
    alphas : sequence of A floats in [0, 1)
    gammas : sequence of G positive floats
    reg : penalty name or object, default "quadratic"
    l2 : float >= 0, default 0.0
        Weight penalty ``(l2/2)|W|^2`` of every probe. ``alpha = 0`` needs ``l2 > 0``:
        on separable features the exact alpha = 0 limit is the multiclass hard-margin SVM,
        which the core solves only with cvxpy.
    method : {"newton", "lbfgs"}, default "newton"
    tol, max_iter
        Passed to :func:`logitreg.fit`.

    Returns
    -------
    dict
        ``accuracy`` and ``train_accuracy`` (A, G) arrays, ``converged`` (A, G) bool,
        ``alphas``, ``gammas``, ``dim_signal``.
    """
    Xtr, ytr, classes = _Xy(X_train, y_train)
    Xte = _array(X_test, "X_test", 2)
    yte = _labels(y_test, Xte.shape[0], "y_test")
    if Xte.shape[1] != Xtr.shape[1]:
        raise ValueError(f"X_test of shape {Xte.shape}: expected (M, {Xtr.shape[1]})")
    if method not in ("newton", "lbfgs"):
        raise ValueError(f"method={method!r}: expected 'newton' or 'lbfgs'")
    if not (isinstance(l2, (int, float)) and l2 >= 0):
        raise ValueError(f"l2={l2!r}: expected a float >= 0")
    alphas = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    gammas = np.atleast_1d(np.asarray(gammas, dtype=np.float64))
    if alphas.ndim != 1 or not np.all((alphas >= 0) & (alphas < 1)):
        raise ValueError(f"alphas={alphas.tolist()}: expected floats in [0, 1)")
    if gammas.ndim != 1 or not np.all(gammas > 0):
        raise ValueError(f"gammas={gammas.tolist()}: expected positive scales")
    if l2 == 0 and np.any(alphas == 0):
        raise ValueError("alphas contains 0 with l2=0: the unregularized probe's limit on "
                         "separable features is the hard-margin SVM (cvxpy only); expected "
                         "alphas > 0, or l2 > 0 for a weight-decay baseline")
    Q1 = signal_basis(Xtr, ytr)
    acc = np.empty((len(alphas), len(gammas)))
    train_acc = np.empty_like(acc)
    converged = np.zeros(acc.shape, dtype=bool)
    for j, gamma in enumerate(gammas):
        A = orthogonal_scaling(Xtr, Q1, float(gamma))
        B = orthogonal_scaling(Xte, Q1, float(gamma))
        for i, alpha in enumerate(alphas):
            res = fit(A, ytr, float(alpha), reg=reg, fit_intercept=True, method=method,
                      tol=tol, max_iter=max_iter, l2=l2)
            acc[i, j] = np.mean(res.predict(B) == yte)
            train_acc[i, j] = np.mean(res.predict(A) == ytr)
            converged[i, j] = res.converged
    return {"accuracy": acc, "train_accuracy": train_acc, "converged": converged,
            "alphas": alphas, "gammas": gammas, "dim_signal": int(Q1.shape[1]),
            "classes": classes}
