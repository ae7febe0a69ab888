"""Geometry of a trained linear classifier: alignment with e1 and logit clustering."""

from __future__ import annotations

import numpy as np

__all__ = ["cosine_to_e1", "cosine", "signed_logit_stats"]


def cosine(a, b) -> float:
    """``a.b / (|a| |b|)`` for two vectors of shape (d,)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def cosine_to_e1(w) -> np.ndarray | float:
    """``w_1 / |w|``, the alignment with the signal direction; ``w`` of shape (..., d)."""
    w = np.asarray(w, dtype=float)
    return (w[..., 0] / np.linalg.norm(w, axis=-1))[()]


def signed_logit_stats(w, X, y) -> tuple[float, float]:
    """Mean and std (ddof = 0) of the signed logits ``y_i w^T x_i``: the clustering around z*."""
    t = np.asarray(y) * (np.asarray(X) @ np.asarray(w))
    return float(t.mean()), float(t.std())
