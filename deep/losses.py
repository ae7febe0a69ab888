r"""The one training loss: soft-target cross-entropy, with the optional logit penalty.

Every regularizer in :mod:`deep.mixing` returns soft targets; this loss consumes them all.
It is the core's multiclass objective (Beck, Bar-Sinai & Levi 2026, Eq. 6) with a soft
target ``q``,

.. math:: \ell(z, q) = (1-\alpha)\,\Big(-\sum_k q_k \log\operatorname{softmax}(z)_k\Big)
          + \alpha\, f(z),

as a per-sample mean, written once in :func:`logitreg.torch_losses.multiclass_loss`: this
module only resolves ``--logit-penalty`` to one of the core's penalties ``f`` (quadratic
``|z|^2``, label smoothing's ``logsumexp(z) - mean(z)`` of Eq. 7, or a convex sympy
expression applied per logit) and builds the soft targets.
"""

from __future__ import annotations

from functools import lru_cache

import torch

from logitreg.torch_losses import multiclass_loss, multiclass_penalty

__all__ = ["one_hot_smooth", "resolve_logit_penalty", "soft_target_cross_entropy",
           "training_loss"]

# Any K > 2 selects the core's vector penalties, which act on logit vectors of every length
# (also K = 2: deep always has one logit per class).
_VECTOR = 3


def one_hot_smooth(y: torch.Tensor, num_classes: int, eps: float = 0.0) -> torch.Tensor:
    """Label-smoothed one-hot targets ``(1 - eps) onehot(y) + eps / K``, shape (B, K).

    ``eps = 0`` gives plain one-hot targets. Each row sums to 1.

    References
    ----------
    Szegedy et al. (2016); Beck, Bar-Sinai & Levi (2026), Eq. 13 (LS is the logit penalty
    ``f = logsumexp(z) - mean(z)`` with ``alpha = eps``).
    """
    off = eps / num_classes
    target = torch.full((len(y), num_classes), off, device=y.device)
    return target.scatter_(1, y[:, None], 1.0 - eps + off)


def soft_target_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of ``-sum_k target_k log softmax(logits)_k``, shape ().

    :func:`training_loss` with ``alpha = 0``. Half-precision logits are upcast to float32;
    float64 stays float64.
    """
    return multiclass_loss(logits, target, 0.0)


def training_loss(logits: torch.Tensor, target: torch.Tensor, alpha: float, penalty
                  ) -> torch.Tensor:
    """``(1 - alpha) * soft CE + alpha * mean f(z)`` of logits (B, K) and targets (B, K).

    Parameters
    ----------
    logits : Tensor of shape (B, K)
        Half-precision logits (autocast) are upcast to float32; float64 stays float64.
    target : Tensor of shape (B, K)
        Rows are probability vectors.
    alpha : float in [0, 1)
        ``alpha = 0`` is exactly :func:`soft_target_cross_entropy`.
    penalty : logitreg.losses.MulticlassPenalty
        ``f``, resolved once per run by :func:`resolve_logit_penalty`.

    Returns
    -------
    Tensor of shape ()

    References
    ----------
    Beck, Bar-Sinai & Levi (2026), Eqs. 6 and 9; :func:`logitreg.torch_losses.multiclass_loss`.
    """
    return multiclass_loss(logits, target, alpha, penalty)


@lru_cache(maxsize=32)
def resolve_logit_penalty(spec: str):
    """The core's multiclass penalty named by ``--logit-penalty``.

    Parameters
    ----------
    spec : str
        ``"quadratic"`` (``|z|^2``), ``"ls"`` (``logsumexp(z) - mean(z)``, Eq. 7), or a sympy
        expression whose only free symbol is ``z``, applied to each logit and summed
        (``f(z) = sum_k g(z_k)``); it must be convex (the core checks ``g''`` on a grid).

    Returns
    -------
    logitreg.losses.MulticlassPenalty
        Cached: a run and its config validation resolve a penalty once.

    Raises
    ------
    ValueError
        Naming ``--logit-penalty``, the value and what was expected: an expression that does
        not parse, has another free symbol, is not convex (the core's check), or has no
        torch form.
    """
    from logitreg.losses import MULTICLASS_REGS, get_penalty

    expected = (f"expected {' or '.join(sorted(MULTICLASS_REGS))}, or a convex sympy "
                "expression in z applied per logit such as 'log(cosh(z))'")
    if spec in MULTICLASS_REGS:
        return get_penalty(spec, _VECTOR)
    import sympy as sp

    try:
        expr = sp.sympify(spec)
    except Exception as e:  # sympify raises SympifyError, SyntaxError, TypeError, ...
        raise ValueError(f"--logit-penalty={spec!r} does not parse ({e}): {expected}") from e
    if not isinstance(expr, sp.Expr) or {str(s) for s in expr.free_symbols} != {"z"}:
        free = sorted(map(str, getattr(expr, "free_symbols", ())))
        raise ValueError(f"--logit-penalty={spec!r} has free symbols {free}, not just z: "
                         f"{expected}")
    try:
        penalty = get_penalty(expr, _VECTOR)
    except ValueError as e:  # the core's checks: convex, finite
        raise ValueError(f"--logit-penalty={spec!r} is not a valid penalty ({e}): "
                         f"{expected}") from e
    # The torch form is a lambdified sympy expression; some functions lack a torch
    # translation (e.g. Max), which would otherwise fail only at the first training step.
    try:
        z = torch.linspace(-3.0, 3.0, 6).view(2, 3).requires_grad_(True)
        multiclass_penalty(penalty, 3)(z).sum().backward()
    except Exception as e:
        raise ValueError(f"--logit-penalty={spec!r} has no torch form ({type(e).__name__}: "
                         f"{e}): {expected}") from e
    return penalty
