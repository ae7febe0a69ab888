r"""The torch forms of the penalties and losses of :mod:`logitreg.losses`.

The numpy objective in :mod:`logitreg.losses` is the reference; this module gives the same
functions on torch tensors, for the GPU backend of :mod:`logitreg.dynamics` and for the
logit penalty of ``deep/`` (autograd differentiates the values). Every function here is
tested against its numpy twin (``tests/test_torch_losses.py``).

Binary (Eq. 1 of Beck, Bar-Sinai & Levi 2026) on signed logits ``t = y z``::

    l(t) = (1 - alpha) softplus(-t) + alpha f(t)

Multiclass (Eq. 6) on logits ``z`` in R^K with a probability target ``q`` (one-hot for the
paper's loss; soft for label smoothing, Mixup, CutMix)::

    l(z, q) = (1 - alpha) (-sum_k q_k log softmax(z)_k) + alpha f(z)

torch is imported when a function here is first called, never at ``import logitreg``.
"""

from __future__ import annotations

from functools import lru_cache

from .losses import (
    BINARY_REGS,
    MULTICLASS_REGS,
    Penalty,
    SeparablePenalty,
    SympyPenalty,
    get_penalty,
)

__all__ = [
    "binary_d1",
    "binary_penalty",
    "binary_penalty_d1",
    "multiclass_grad",
    "multiclass_loss",
    "multiclass_penalty",
    "multiclass_penalty_grad",
]


def _torch():
    try:
        import torch
    except ImportError as err:  # pragma: no cover - torch is a declared dependency
        raise ValueError("the torch forms of the losses need PyTorch; install torch") from err
    return torch


def _unsupported(penalty):
    return ValueError(
        f"reg={penalty!r} has no torch form: expected 'quadratic', 'ls' or a sympy expression"
    )


@lru_cache(maxsize=64)
def _lambdify(expr_srepr: str):
    import sympy as sp

    return sp.lambdify(Penalty.z, sp.parse_expr(expr_srepr), "torch")


def _sympy_torch(penalty: SympyPenalty, order: int):
    """``f`` (order 0) or ``f'`` (order 1) of a sympy penalty as a torch function.

    Built once per penalty object and order (cached on the object): the hot loops call
    this every step, and differentiating and printing the expression is slow.
    """
    cache = penalty.__dict__.setdefault("_torch_fns", {})
    if order not in cache:
        cache[order] = _build_sympy_torch(penalty, order)
    return cache[order]


def _build_sympy_torch(penalty: SympyPenalty, order: int):
    import sympy as sp

    expr = penalty.symbolic
    if order:
        expr = sp.diff(expr, Penalty.z).replace(sp.DiracDelta, lambda *a: sp.S.Zero)
    fn = _lambdify(sp.srepr(expr))
    torch = _torch()
    # A constant expression (f' of z**2 is 2 z, but f' of a linear f is a number) must
    # still return a tensor of the input's shape.
    return lambda t: torch.as_tensor(fn(t), dtype=t.dtype, device=t.device).expand_as(t)


# --------------------------------------------------------------------------- binary


def binary_penalty(penalty):
    """``f`` of a binary penalty as a function of a torch tensor (elementwise).

    Parameters
    ----------
    penalty : str, sympy expression or :class:`~logitreg.losses.Penalty`

    Returns
    -------
    callable ``t -> f(t)``, same shape as ``t``
    """
    torch = _torch()
    penalty = get_penalty(penalty, 2)
    if isinstance(penalty, BINARY_REGS["quadratic"]):
        return torch.square
    if isinstance(penalty, BINARY_REGS["ls"]):
        # 1/2 log(2 + 2 cosh t) = |t|/2 + log(1 + e^{-|t|}): no overflow (as the numpy form).
        return lambda t: 0.5 * t.abs() + torch.log1p(torch.exp(-t.abs()))
    if isinstance(penalty, SympyPenalty):
        return _sympy_torch(penalty, 0)
    raise _unsupported(penalty)


def binary_penalty_d1(penalty):
    """``f'`` of a binary penalty as a function of a torch tensor (elementwise)."""
    torch = _torch()
    penalty = get_penalty(penalty, 2)
    if isinstance(penalty, BINARY_REGS["quadratic"]):
        return lambda t: 2.0 * t
    if isinstance(penalty, BINARY_REGS["ls"]):
        return lambda t: 0.5 * torch.tanh(0.5 * t)
    if isinstance(penalty, SympyPenalty):
        return _sympy_torch(penalty, 1)
    raise _unsupported(penalty)


def binary_d1(t, alpha, penalty):
    r"""``l'(t) = -(1 - alpha) sigmoid(-t) + alpha f'(t)`` (Eq. 1), the twin of
    :meth:`logitreg.losses.BinaryLoss.d1`.

    Parameters
    ----------
    t : torch.Tensor of shape (R, N)
        Signed logits.
    alpha : float or torch.Tensor broadcastable to ``t``, e.g. (R, 1)
    penalty : str, sympy expression or Penalty

    Returns
    -------
    torch.Tensor of shape (R, N)
    """
    torch = _torch()
    return -(1.0 - alpha) * torch.sigmoid(-t) + alpha * binary_penalty_d1(penalty)(t)


# ----------------------------------------------------------------------- multiclass


def _multiclass(penalty, K):
    return get_penalty(penalty, K if K > 2 else 3)  # any K > 2 selects the vector penalties


def multiclass_penalty(penalty, n_classes: int = 3):
    """``f(z)`` of a multiclass penalty on logit vectors: ``Z (..., K) -> (...)``.

    ``"quadratic"`` is ``|z|^2``, ``"ls"`` is ``logsumexp(z) - mean(z)`` (Eq. 7), a sympy
    expression ``g`` is the separable ``sum_k g(z_k)``; the twin of
    :meth:`logitreg.losses.MulticlassPenalty.value`.
    """
    torch = _torch()
    penalty = _multiclass(penalty, n_classes)
    if isinstance(penalty, MULTICLASS_REGS["quadratic"]):
        return lambda Z: Z.square().sum(dim=-1)
    if isinstance(penalty, MULTICLASS_REGS["ls"]):
        return lambda Z: torch.logsumexp(Z, dim=-1) - Z.mean(dim=-1)
    if isinstance(penalty, SeparablePenalty):
        g = binary_penalty(penalty.g)
        return lambda Z: g(Z).sum(dim=-1)
    raise _unsupported(penalty)


def multiclass_penalty_grad(penalty, n_classes: int = 3):
    """``grad f(z)`` of a multiclass penalty: ``Z (..., K) -> (..., K)``."""
    torch = _torch()
    penalty = _multiclass(penalty, n_classes)
    if isinstance(penalty, MULTICLASS_REGS["quadratic"]):
        return lambda Z: 2.0 * Z
    if isinstance(penalty, MULTICLASS_REGS["ls"]):
        return lambda Z: torch.softmax(Z, dim=-1) - 1.0 / Z.shape[-1]
    if isinstance(penalty, SeparablePenalty):
        return binary_penalty_d1(penalty.g)
    raise _unsupported(penalty)


def multiclass_grad(Z, onehot, alpha, penalty):
    r"""Gradient in ``z`` of the per-sample multiclass loss (Eq. 6):
    ``(1 - alpha)(softmax(z) - q) + alpha grad f(z)``; the twin of
    :meth:`logitreg.losses.MulticlassLoss.grad`.

    Parameters
    ----------
    Z : torch.Tensor of shape (R, N, K)
    onehot : torch.Tensor of shape (N, K)
        Targets ``q`` (rows sum to 1).
    alpha : float or torch.Tensor broadcastable to ``Z``, e.g. (R, 1, 1)
    penalty : str, sympy expression or MulticlassPenalty

    Returns
    -------
    torch.Tensor of shape (R, N, K)
    """
    torch = _torch()
    f_grad = multiclass_penalty_grad(penalty, Z.shape[-1])
    return (1.0 - alpha) * (torch.softmax(Z, dim=-1) - onehot) + alpha * f_grad(Z)


def multiclass_loss(Z, target, alpha: float, penalty="quadratic"):
    r"""Mean over the batch of ``(1 - alpha) CE(z, q) + alpha f(z)`` (Eq. 6), shape ().

    The training loss of ``deep/`` with the logit penalty; ``alpha = 0`` is the plain
    soft-target cross-entropy. Half-precision logits (autocast) are upcast to float32;
    float64 stays float64.

    Parameters
    ----------
    Z : torch.Tensor of shape (B, K)
    target : torch.Tensor of shape (B, K)
        Probability vectors ``q`` (one-hot, label-smoothed or mixed).
    alpha : float in [0, 1)
    penalty : str, sympy expression or MulticlassPenalty, default "quadratic" (``|z|^2``)

    Returns
    -------
    torch.Tensor of shape ()
    """
    torch = _torch()
    if Z.dtype in (torch.float16, torch.bfloat16):
        Z = Z.float()
    ce = -(target * Z.log_softmax(dim=1)).sum(dim=1).mean()
    if alpha == 0.0:
        return ce
    return (1.0 - alpha) * ce + alpha * multiclass_penalty(penalty, Z.shape[-1])(Z).mean()
