"""Geometry of a trained linear classifier: alignment with e1 and logit clustering."""

from __future__ import annotations

import numpy as np

from ._validation import check_Xy, encode_labels

__all__ = ["cosine_to_e1", "cosine", "signed_logit_stats"]


def _vectors(w, name: str) -> np.ndarray:
    """Finite, non-zero vectors of shape (..., d), rescaled by their largest entry so that
    norms neither over- nor underflow (a cosine does not depend on the scale)."""
    w = np.asarray(w, dtype=float)
    if w.ndim == 0 or w.shape[-1] < 1:
        raise ValueError(f"{name} must have a last axis of length d >= 1; got shape {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError(f"{name} must be finite; got NaN or inf entries")
    peak = np.max(np.abs(w), axis=-1, keepdims=True)
    if np.any(peak == 0):
        raise ValueError(f"{name} must be non-zero: the cosine of a zero vector is undefined")
    return w / peak


def cosine(a, b) -> float:
    """``a.b / (|a| |b|)`` for two vectors of shape (d,)."""
    a, b = _vectors(a, "a"), _vectors(b, "b")
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"a and b must be vectors of one shape (d,); got {a.shape} and {b.shape}")
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def cosine_to_e1(w) -> np.ndarray | float:
    """``w_1 / |w|``, the alignment with the signal direction; ``w`` of shape (..., d)."""
    w = _vectors(w, "w")
    return (w[..., 0] / np.linalg.norm(w, axis=-1))[()]


def signed_logit_stats(w, X, y) -> tuple[float, float]:
    """Mean and std (ddof = 0) of the signed logits ``y_i w^T x_i``: the clustering around z*.

    ``X`` (N, d), binary ``y`` (N,) in any two labels (the larger is +1), ``w`` (d,).
    """
    X, y, classes = check_Xy(X, y)
    if classes.size != 2:
        raise ValueError(f"y must have two classes for signed logits; got {classes.size}")
    w = np.asarray(w, dtype=float)
    if w.shape != (X.shape[1],) or not np.all(np.isfinite(w)):
        raise ValueError(f"w must be finite with shape ({X.shape[1]},); got shape {w.shape}")
    t = encode_labels(y, classes) * (X @ w)
    return float(t.mean()), float(t.std())
