r"""The one training loss: soft-target cross-entropy, with the optional logit penalty.

Every regularizer in :mod:`deep.mixing` returns soft targets; this loss consumes them all.
The logit penalty is the core paper's multiclass objective (Eq. 6 with f(z) = |z|^2),

.. math:: \ell(z, q) = (1-\alpha)\,\Big(-\sum_k q_k \log\operatorname{softmax}(z)_k\Big)
          + \alpha\,\lVert z\rVert^2,

written here in torch because ``deep`` must not import ``logitreg`` (which needs sympy and
cvxpy); ``tests/deep/test_losses.py`` checks it against ``logitreg.losses.MulticlassLoss``.
Both are per-sample means.
"""

from __future__ import annotations

import torch

__all__ = ["logit_penalty_loss", "one_hot_smooth", "soft_target_cross_entropy"]


def one_hot_smooth(y: torch.Tensor, num_classes: int, eps: float = 0.0) -> torch.Tensor:
    """Label-smoothed one-hot targets ``(1 - eps) onehot(y) + eps / K``, shape (B, K).

    ``eps = 0`` gives plain one-hot targets. Each row sums to 1.

    References
    ----------
    Szegedy et al. (2016); the core paper's Eq. 13 (LS is the logit penalty
    ``f = logsumexp(z) - mean(z)`` with ``alpha = eps``).
    """
    off = eps / num_classes
    target = torch.full((len(y), num_classes), off, device=y.device)
    return target.scatter_(1, y[:, None], 1.0 - eps + off)


def _at_least_float32(t: torch.Tensor) -> torch.Tensor:
    """bf16/fp16 logits (autocast) are upcast; float32 and float64 are kept."""
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


def soft_target_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of ``-sum_k target_k log softmax(logits)_k``.

    Parameters
    ----------
    logits : Tensor of shape (B, K)
        Half-precision logits are upcast to float32; float64 stays float64.
    target : Tensor of shape (B, K)
        Rows are probability vectors.

    Returns
    -------
    Tensor of shape ()
    """
    return -(target * _at_least_float32(logits).log_softmax(dim=1)).sum(dim=1).mean()


def logit_penalty_loss(logits: torch.Tensor, target: torch.Tensor, alpha: float) -> torch.Tensor:
    """``(1 - alpha) * soft CE + alpha * mean |z|^2`` (Eq. 6, f(z) = |z|^2), shape ().

    ``alpha = 0`` is exactly :func:`soft_target_cross_entropy`.

    References
    ----------
    Beck, Bar-Sinai & Levi (2026), Eqs. 6 and 9; ``logitreg.losses.MulticlassLoss``.
    """
    ce = soft_target_cross_entropy(logits, target)
    if alpha == 0.0:
        return ce
    return (1.0 - alpha) * ce + alpha * _at_least_float32(logits).pow(2).sum(dim=1).mean()
