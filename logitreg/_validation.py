"""Input checks for the public boundary, and the warning classes.

Every check raises a ``ValueError`` whose message names the parameter, the value
received and what was expected. Internal code never re-validates: it trusts
what the public entry points let through.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "ConvergenceWarning",
    "StabilityWarning",
    "check_alpha",
    "check_choice",
    "check_positive",
    "check_Xy",
    "check_rng",
    "check_sample_weight",
    "power_of_two_scale",
    "encode_labels",
]


class ConvergenceWarning(UserWarning):
    """A solver stopped before meeting its tolerance (raise ``max_iter`` or loosen ``tol``)."""


class StabilityWarning(UserWarning):
    """A gradient-descent step size exceeds the stability bound 2/L."""


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_alpha(alpha, name: str = "alpha") -> np.ndarray | float:
    """Check a regularization amplitude (scalar or array) lies in [0, 1)."""
    arr = np.asarray(alpha, dtype=float) if not isinstance(alpha, str) else None
    if arr is None or not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr >= 1):
        raise ValueError(f"{name} must lie in [0, 1); got {name}={_short(alpha)}")
    return float(arr) if arr.ndim == 0 else arr


def check_choice(value, choices, name: str) -> str:
    """Check ``value`` is one of ``choices`` (strings)."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(
            f"unknown {name}={_short(value)}; expected one of {sorted(choices)}"
        )
    return value


def check_positive(value, name: str, *, strict: bool = True, integer: bool = False):
    """Check a scalar is finite and > 0 (``strict``) or >= 0."""
    ok_type = isinstance(value, numbers.Integral) if integer else isinstance(value, numbers.Real)
    if isinstance(value, bool) or not ok_type or not np.isfinite(value):
        kind = "an integer" if integer else "a finite number"
        raise ValueError(f"{name} must be {kind}; got {name}={_short(value)}")
    if (strict and value <= 0) or (not strict and value < 0):
        bound = "> 0" if strict else ">= 0"
        raise ValueError(f"{name} must be {bound}; got {name}={_short(value)}")
    return value


def check_Xy(X, y, *, min_classes: int = 2):
    """Validate a design matrix and label vector.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64
    y : ndarray of shape (n_samples,)
    classes : ndarray of shape (n_classes,), the sorted unique labels
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D of shape (n_samples, n_features); got X.shape={X.shape}")
    if not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.complexfloating):
        raise ValueError(f"X must be real-valued; got X.dtype={X.dtype}")
    X = X.astype(np.float64, copy=False)
    if not np.all(np.isfinite(X)):
        bad = np.argwhere(~np.isfinite(X))[0]
        raise ValueError(
            f"X must be finite; got X[{bad[0]}, {bad[1]}]={X[tuple(bad)]} (NaN or inf)"
        )
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D of shape (n_samples,); got y.shape={y.shape}")
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            f"X and y must have the same number of samples; got X.shape={X.shape}, "
            f"y.shape={y.shape}"
        )
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must have at least one sample and one feature; got X.shape={X.shape}")
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise ValueError("y must be finite; got NaN or inf in y")
    classes = np.unique(y)
    if classes.size < min_classes:
        raise ValueError(
            f"y must contain at least {min_classes} classes; got classes={classes.tolist()}"
        )
    return X, y, classes


def check_sample_weight(sample_weight, n_samples: int) -> np.ndarray | None:
    """Check per-sample weights: shape (n_samples,), finite, >= 0 and not all zero.

    Returns
    -------
    sample_weight : ndarray of shape (n_samples,), float64, or None
        A new array (the input is never modified); ``None`` stays ``None`` (unweighted).
    """
    if sample_weight is None:
        return None
    try:
        sw = np.array(sample_weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"sample_weight must be an array of non-negative numbers; got "
            f"sample_weight={_short(sample_weight)}"
        ) from None
    if sw.shape != (n_samples,):
        raise ValueError(
            f"sample_weight must have shape (n_samples,) = ({n_samples},); got "
            f"sample_weight.shape={sw.shape}"
        )
    bad = np.flatnonzero(~np.isfinite(sw) | (sw < 0))
    if bad.size:
        raise ValueError(
            f"sample_weight must be finite and >= 0; got sample_weight[{bad[0]}]={sw[bad[0]]}"
        )
    if not np.any(sw > 0):
        raise ValueError(
            "sample_weight must have at least one positive weight; got all weights zero"
        )
    return sw


def check_rng(rng) -> np.random.Generator:
    """Return a ``np.random.Generator``; ``None`` or an int seed makes a fresh one."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, numbers.Integral):
        return np.random.default_rng(rng)
    raise ValueError(
        f"rng must be a numpy.random.Generator, an int seed or None; got rng={_short(rng)}"
    )


def encode_labels(y, classes) -> np.ndarray:
    """Binary: +-1 floats with ``classes[1]`` as +1; multiclass: indices into ``classes``."""
    if len(classes) == 2:
        return np.where(y == classes[1], 1.0, -1.0)
    return np.searchsorted(classes, y)


# Data whose largest entry leaves this range are rescaled by a power of two (exact in
# floating point) before solving: products such as X^T X then stay far from float64 over-
# and underflow (1e+-308), and the answer is mapped back exactly.
_SAFE_SCALE = (1e-50, 1e50)


def power_of_two_scale(X) -> float:
    """1.0 for data of moderate scale, else the power of two nearest to ``max |X|``."""
    m = float(np.max(np.abs(X))) if np.size(X) else 0.0
    if m == 0.0 or _SAFE_SCALE[0] <= m <= _SAFE_SCALE[1]:
        return 1.0
    return float(2.0 ** np.round(np.log2(m)))
