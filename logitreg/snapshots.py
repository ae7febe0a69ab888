r"""Weights and logits of gradient descent at chosen epochs (Figs. 1, 4 and 7).

:func:`gd_snapshots` runs :func:`logitreg.gd` to each requested epoch from the same
``w_0`` (the same seed), so snapshot ``k`` is exactly GD's (or the flow's) iterate at
epoch ``e_k``, whatever the other snapshots are. :func:`logit_snapshots` (Figs. 1 and 4)
and :func:`simplex_snapshot` (Fig. 7) are the units of work of the figure scripts: data,
snapshots and the measured logits in one call. :func:`template_plane` and
:func:`cluster_ratio` measure the multiclass clustering at the simplex vertices
(Sec. 7, Eq. 21).

References
----------
Beck, Bar-Sinai & Levi (2026), Figs. 1, 4 and 7; App. E.6.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import _short, check_Xy, encode_labels
from .data import signal_plus_noise
from .dynamics import gd
from .theory import population_accuracy, z_star
from .trajectory import Trajectory

__all__ = ["Snapshots", "cluster_ratio", "gd_snapshots", "logit_snapshots", "signed_logits",
           "simplex_snapshot", "template_plane", "multiclass_logits"]


@dataclass(frozen=True)
class Snapshots:
    """Weights of the runs of :func:`gd_snapshots` at the snapshot epochs.

    Attributes
    ----------
    epochs : ndarray of shape (n_snap,), int
        Snapshot epochs, increasing (0 is ``w_0``).
    alphas : ndarray of shape (R,)
    W : ndarray of shape (n_snap, R, d), or (n_snap, R, K, d + 1) for multiclass
        (last column: bias).
    trajectory : Trajectory
        The recorded curves of the run to the last snapshot epoch (loss, accuracy, ...).
    """

    epochs: np.ndarray
    alphas: np.ndarray
    W: np.ndarray
    trajectory: Trajectory


def gd_snapshots(X, y, alpha, epochs, *, seed, method="flow", **gd_kwargs) -> Snapshots:
    """Weights of :func:`logitreg.gd` at each epoch of ``epochs``, from one ``w_0``.

    Each snapshot is its own run to that epoch with ``rng=np.random.default_rng(seed)``:
    the same ``w_0 ~ N(0, I/d)``, so every snapshot lies on one trajectory (exactly for
    ``method="gd"``; for ``"flow"`` each run integrates the same gradient flow to within
    its ``rtol``). The flow's cost grows slowly with the epoch, so the extra runs are cheap.

    Parameters
    ----------
    X, y, alpha
        As :func:`logitreg.gd` (``alpha`` scalar or array: all alphas run together).
    epochs : sequence of int
        Snapshot epochs (>= 0; 0 is ``w_0``).
    seed : int or numpy.random.SeedSequence
        Seed of the initialisation (``np.random.default_rng(seed)`` draws ``w_0``).
    method : {"gd", "flow"}, default "flow"
    **gd_kwargs
        Passed to :func:`logitreg.gd` (``eta``, ``population``, ``X_test``, ``n_record``, ...).

    Returns
    -------
    Snapshots
    """
    ep = np.asarray(epochs)
    if ep.ndim != 1 or ep.size == 0 or not np.issubdtype(ep.dtype, np.integer) or np.any(ep < 0):
        raise ValueError(f"epochs must be a non-empty sequence of ints >= 0; got "
                         f"epochs={_short(epochs)}")
    ep = np.unique(ep)
    if ep[-1] == 0:
        raise ValueError("epochs must contain an epoch > 0; got only epoch 0")
    gd_kwargs.setdefault("progress", False)
    runs = {int(e): gd(X, y, alpha, epochs=int(e), rng=np.random.default_rng(seed),
                       method=method, **gd_kwargs) for e in ep if e > 0}
    last = runs[int(ep[-1])]
    W = np.stack([last.w0 if e == 0 else runs[int(e)].w for e in ep])
    return Snapshots(ep, np.asarray(last.alphas), W, last)


def signed_logits(W, X, y) -> np.ndarray:
    """Signed binary logits ``y_i w^T x_i``: ``W`` of shape (..., d) gives (..., N)."""
    X, y, classes = check_Xy(X, y)
    if classes.size != 2:
        raise ValueError(f"y must have two classes for signed logits; got {classes.size}")
    return (np.asarray(W, dtype=float) @ X.T) * encode_labels(y, classes)


def multiclass_logits(W, X) -> np.ndarray:
    """Logits ``z = W x + b`` of multiclass weights ``W`` (..., K, d + 1): shape (..., N, K)."""
    W = np.asarray(W, dtype=float)
    X = np.asarray(X, dtype=float)
    if W.ndim < 2 or W.shape[-1] != X.shape[1] + 1:
        raise ValueError(f"W must have shape (..., K, d + 1) with d = {X.shape[1]}; got "
                         f"{W.shape}")
    return np.swapaxes(W[..., :-1] @ X.T + W[..., -1:], -1, -2)


def template_plane(W, classes=(0, 1, 2)) -> np.ndarray:
    """Orthonormal basis (2, d) of the plane spanned by ``S_c0 - S_c1`` and ``S_c0 - S_c2``.

    ``S_c`` is row ``c`` of the weights ``W`` (K, d) (pass ``W[:, :d]`` to drop a bias
    column). Projecting samples on this plane shows three classes as in Fig. 7 (after
    Mueller et al. 2019): the differences of their logits depend on the two coordinates
    only.
    """
    W = np.asarray(W, dtype=float)
    c0, c1, c2 = classes
    D = np.stack([W[c0] - W[c1], W[c0] - W[c2]])  # (2, d)
    Q, R = np.linalg.qr(D.T)  # Gram-Schmidt: Q (d, 2)
    if np.min(np.abs(np.diag(R))) <= 1e-12 * np.max(np.abs(np.diag(R))):
        raise ValueError("the template differences S_c0 - S_c1 and S_c0 - S_c2 are parallel: "
                         "they span no plane")
    return Q.T * np.sign(np.diag(R))[:, None]


def cluster_ratio(P, labels) -> float:
    """Within-class RMS spread over the mean distance between class centroids.

    ``P`` (n, k) are points (e.g. projections on :func:`template_plane`), ``labels`` (n,)
    their classes. Small values mean tight clusters far apart (Fig. 7, alpha > 0); the
    ratio is unchanged by rescaling ``P``, so it compares runs whose norms differ.
    """
    P = np.asarray(P, dtype=float)
    labels = np.asarray(labels)
    groups = np.unique(labels)
    if groups.size < 2:
        raise ValueError(f"labels must hold at least two classes; got {groups.size}")
    cents = np.stack([P[labels == g].mean(axis=0) for g in groups])
    spread = np.sqrt(np.mean([np.sum((P[labels == g] - c) ** 2, axis=1).mean()
                              for g, c in zip(groups, cents, strict=True)]))
    i, j = np.triu_indices(len(groups), k=1)
    return float(spread / np.mean(np.linalg.norm(cents[i] - cents[j], axis=1)))


def _seeds(seed):
    """Seed sequences of the data, the initialisation and the test set of one seed (the
    split :mod:`logitreg.grokking` uses)."""
    return np.random.SeedSequence(seed).spawn(3)


def logit_snapshots(*, sigma_f, seed, alphas=(0.0, 0.2), epochs=(200, 2000, 20000), d=1400,
                    n=2000, n_test=2000, mu_f=1.0, sigma_n=1.0, eta=0.1, method="flow",
                    n_record=100) -> dict:
    """Figs. 1 and 4: signed train and test logits at three epochs, for each alpha.

    Data (Eq. 3), ``w_0`` and a test set of ``n_test`` samples come from ``seed``; GD
    (``method``) on the mean loss ``(1 - alpha) CE + alpha z^2``.

    Returns
    -------
    dict with, for alpha index ``i`` and snapshot ``k``: ``train_logits_i_k`` and
    ``test_logits_i_k`` (lists of signed logits), scalars ``train_mean_i_k``,
    ``train_std_i_k``, ``test_mean_i_k``, ``test_std_i_k``, ``test_acc_i_k`` (exact,
    population), ``z_star_i``, and the curves of the longest run: ``curve_epochs``,
    ``curve_<name>_i`` for train/test loss and accuracy (test: exact population values).
    """
    data_ss, init_ss, test_ss = _seeds(seed)
    spn = {"mu_f": mu_f, "sigma_f": sigma_f, "sigma_n": sigma_n}
    X, y = signal_plus_noise(n, d, rng=np.random.default_rng(data_ss), **spn)
    Xt, yt = signal_plus_noise(n_test, d, rng=np.random.default_rng(test_ss), **spn)
    snaps = gd_snapshots(X, y, np.asarray(alphas, dtype=float), list(epochs), seed=init_ss,
                         method=method, eta=eta, population=spn, n_record=n_record)
    out = {"snapshot_epochs": snaps.epochs.tolist()}
    tr = snaps.trajectory
    out["curve_epochs"] = tr.epochs.tolist()
    for i, alpha in enumerate(alphas):
        out[f"z_star_{i}"] = float(z_star(alpha)) if alpha > 0 else None
        for name in ("train_loss", "test_loss", "train_acc", "test_acc"):
            out[f"curve_{name}_{i}"] = getattr(tr, name)[i].tolist()
        for k in range(len(snaps.epochs)):
            w = snaps.W[k, i]
            t_train, t_test = signed_logits(w, X, y), signed_logits(w, Xt, yt)
            out[f"train_logits_{i}_{k}"] = t_train.tolist()
            out[f"test_logits_{i}_{k}"] = t_test.tolist()
            out[f"train_mean_{i}_{k}"], out[f"train_std_{i}_{k}"] = t_train.mean(), t_train.std()
            out[f"test_mean_{i}_{k}"], out[f"test_std_{i}_{k}"] = t_test.mean(), t_test.std()
            out[f"test_acc_{i}_{k}"] = float(population_accuracy(w, **spn))
    return out


def simplex_snapshot(*, seed, alphas=(0.0, 0.2), n_classes=10, d=1400, n=2000, n_test=2000,
                     mu_f=1.0, sigma_f=0.1, sigma_n=1.0, eta=0.1, epochs=20000,
                     method="flow", classes=(0, 1, 2)) -> dict:
    """Fig. 7: multiclass samples of three classes on the plane of their templates.

    GD (``method``) on the multiclass mean loss (Eq. 6, ``f = |z|^2``, ``z = W x + b``) of
    signal-plus-noise data (Eq. 8) for ``epochs``; the train and test samples of
    ``classes`` are projected on :func:`template_plane` of the final ``W`` of each alpha.

    Returns
    -------
    dict with, for alpha index ``i``: ``train_xy_i`` / ``test_xy_i`` (lists of 2-D
    coordinates), ``train_labels`` / ``test_labels``, ``train_ratio_i`` / ``test_ratio_i``
    (:func:`cluster_ratio` of the projections), ``true_logit_mean_i`` / ``true_logit_std_i``
    and ``other_logit_mean_i`` (train logits of the true and the other classes),
    ``train_acc_i``, ``test_acc_i``, and the vertex ``q_high_i``, ``q_low_i``
    (:func:`logitreg.z_star`; ``None`` for alpha = 0).
    """
    data_ss, init_ss, test_ss = _seeds(seed)
    spn = {"mu_f": mu_f, "sigma_f": sigma_f, "sigma_n": sigma_n, "n_classes": n_classes}
    X, y = signal_plus_noise(n, d, rng=np.random.default_rng(data_ss), **spn)
    Xt, yt = signal_plus_noise(n_test, d, rng=np.random.default_rng(test_ss), **spn)
    snaps = gd_snapshots(X, y, np.asarray(alphas, dtype=float), [epochs], seed=init_ss,
                         method=method, eta=eta, X_test=Xt, y_test=yt, n_record=20)
    keep, keep_t = np.isin(y, classes), np.isin(yt, classes)
    out = {"train_labels": y[keep].tolist(), "test_labels": yt[keep_t].tolist()}
    for i, alpha in enumerate(alphas):
        W = snaps.W[-1, i]  # (K, d + 1)
        Q = template_plane(W[:, :-1], classes)
        P, Pt = X[keep] @ Q.T, Xt[keep_t] @ Q.T  # (n_3, 2)
        out[f"train_xy_{i}"], out[f"test_xy_{i}"] = P.tolist(), Pt.tolist()
        out[f"train_ratio_{i}"] = cluster_ratio(P, y[keep])
        out[f"test_ratio_{i}"] = cluster_ratio(Pt, yt[keep_t])
        Z, Zt = multiclass_logits(W, X), multiclass_logits(W, Xt)  # (N, K)
        true = Z[np.arange(n), y]
        other = np.where(np.arange(n_classes)[None, :] == y[:, None], np.nan, Z)
        out[f"true_logit_mean_{i}"], out[f"true_logit_std_{i}"] = true.mean(), true.std()
        out[f"other_logit_mean_{i}"] = float(np.nanmean(other))
        out[f"train_acc_{i}"] = float(np.mean(Z.argmax(axis=1) == y))
        out[f"test_acc_{i}"] = float(np.mean(Zt.argmax(axis=1) == yt))
        vertex = z_star(alpha, n_classes=n_classes) if alpha > 0 else None
        out[f"q_high_{i}"] = None if vertex is None else vertex.q_high
        out[f"q_low_{i}"] = None if vertex is None else vertex.q_low
    return out
