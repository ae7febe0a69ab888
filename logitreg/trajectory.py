"""Recorded training curves and their analysis: :class:`Trajectory` and threshold crossings.

:func:`logitreg.dynamics.gd` returns a :class:`Trajectory`: the curves of Figs. 5 and 8 of
Beck, Bar-Sinai & Levi (2026) for many runs, recorded at the same log-spaced epochs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from ._validation import check_choice

__all__ = ["ACC_ONE", "RECORDED", "Trajectory", "first_crossing", "record_epochs"]

RECORDED = (
    "train_loss", "train_acc", "test_loss", "test_acc",
    "w_norm", "cos_e1", "logit_mean", "logit_std",
)
# "Test accuracy reaches 1.0": population accuracy is a continuous Phi(.) that equals 1 only
# as t -> inf, so we call 1.0 reached when it rounds to 1.000 (>= 0.9995).
ACC_ONE = 0.9995


@dataclass(frozen=True)
class Trajectory:
    """Training curves of ``R`` runs, recorded at the same epochs.

    Row ``r`` is the run with ``alphas[r]`` started from initialisation ``init_index[r]``;
    rows are ordered alpha-major (all initialisations of ``alpha[0]`` first).

    Attributes
    ----------
    epochs : ndarray of shape (n_record,), int
        Log-spaced record epochs, from 0 to the last epoch.
    alphas : ndarray of shape (R,)
    init_index : ndarray of shape (R,), int
    train_loss : ndarray of shape (R, n_record)
        The full regularized mean loss ``L`` on the training set.
    train_acc : ndarray of shape (R, n_record)
    test_loss : ndarray of shape (R, n_record)
        Plain cross-entropy on the population (exact, binary signal-plus-noise data) or on
        the test set; NaN when neither was given.
    test_acc : ndarray of shape (R, n_record)
        Test accuracy, exact (:func:`logitreg.theory.population_accuracy`) or on the test
        set; NaN when neither was given.
    w_norm : ndarray of shape (R, n_record)
        ``|w|`` (multiclass: Frobenius norm of ``W``, bias excluded).
    cos_e1 : ndarray of shape (R, n_record)
        ``w_1/|w|``. Multiclass: ``|W_S|/|W|`` with ``S`` the first ``K - 1`` coordinates,
        the signal subspace of :func:`logitreg.data.signal_plus_noise`.
    logit_mean, logit_std : ndarray of shape (R, n_record)
        Mean and std (ddof 0) of the signed train logits ``y_i w^T x_i`` (multiclass: of the
        true-class logit ``z_{y_i}``).
    w0, w : ndarray of shape (R, d), or (R, K, d + 1) for multiclass (last column: bias)
        Initial and last weights.
    eta : float
        Step size; flow time is ``t = eta * epoch``.
    method : str
    n_grad_evals : int
        Batched gradient evaluations spent (one per epoch for ``"gd"``).
    complete : bool
        False when the run stopped early (``stop_at_epoch``); unrecorded entries are NaN.
    """

    epochs: np.ndarray
    alphas: np.ndarray
    init_index: np.ndarray
    train_loss: np.ndarray
    train_acc: np.ndarray
    test_loss: np.ndarray
    test_acc: np.ndarray
    w_norm: np.ndarray
    cos_e1: np.ndarray
    logit_mean: np.ndarray
    logit_std: np.ndarray
    w0: np.ndarray
    w: np.ndarray
    eta: float
    method: str
    n_grad_evals: int
    complete: bool

    def first_epoch(self, name: str, threshold: float) -> np.ndarray:
        """Epoch at which ``name`` first reaches ``threshold``, per run (NaN if never).

        Interpolated between the two records that bracket the crossing: linearly in
        ``log(epoch)``, and for accuracies in ``Phi^-1(acc)`` (see :func:`first_crossing`).

        Returns
        -------
        ndarray of shape (R,)
        """
        return first_crossing(self.epochs, getattr(self, _recorded(name)), threshold,
                               probit=name.endswith("_acc"))

    def peak_epoch(self, name: str) -> np.ndarray:
        """Record epoch at which ``name`` is largest, per run; shape (R,)."""
        vals = getattr(self, _recorded(name))
        return self.epochs[np.nanargmax(vals, axis=1)].astype(float)

    def arrays(self) -> dict:
        """All fields as numpy arrays (for :func:`logitreg.io.save_npz`)."""
        return {f.name: np.asarray(getattr(self, f.name)) for f in dataclasses.fields(self)}


def _recorded(name):
    return check_choice(name, set(RECORDED), "name")


def first_crossing(epochs, values, threshold, probit=False):
    """First epoch where ``values`` (R, n) reaches ``threshold``; NaN if never.

    Interpolates between the bracketing records linearly in ``log(epoch)`` (records are
    log-spaced) and, for accuracies (``probit=True``), in ``Phi^-1(acc)``: the population
    accuracy is ``Phi(q)`` with ``q`` smooth in ``log t``, so the crossing of 0.9995 is not
    biased by the curvature of ``Phi`` between records (values clipped to [1e-15, 1-1e-15]).
    """
    if probit:
        values = ndtri(np.clip(values, 1e-15, 1 - 1e-15))
        threshold = float(ndtri(np.clip(threshold, 1e-15, 1 - 1e-15)))
    out = np.full(values.shape[0], np.nan)
    for r, v in enumerate(values):
        hit = np.flatnonzero(v >= threshold)
        if hit.size == 0:
            continue
        j = hit[0]
        if j == 0:
            out[r] = epochs[0]
            continue
        e0, e1, v0, v1 = float(epochs[j - 1]), float(epochs[j]), v[j - 1], v[j]
        frac = (threshold - v0) / (v1 - v0)
        out[r] = e0 + frac * (e1 - e0) if e0 < 1 else np.exp(np.log(e0) + frac * np.log(e1 / e0))
    return out



def record_epochs(epochs: int, n_record: int) -> np.ndarray:
    """0 plus ``n_record - 1`` log-spaced integers in [1, epochs] (duplicates dropped)."""
    if n_record == 2:  # geomspace with one point gives its start, 1: record the last epoch
        return np.array([0, epochs], dtype=np.int64)
    grid = np.unique(np.round(np.geomspace(1, epochs, n_record - 1)).astype(np.int64))
    return np.concatenate([[0], grid])
