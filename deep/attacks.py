r"""White-box L-infinity gradient attacks on [0, 1] images: FGSM and PGD, and their scores.

Both attacks are untargeted and maximise the mean cross-entropy of the true labels inside
the box ``|x' - x|_inf <= eps`` intersected with [0, 1] (every data set here lives in
[0, 1]; the model normalises its own input). The model is put in eval mode for the attack
(batch norm uses its running statistics) and restored afterwards; gradients are taken with
respect to the images only, so parameter gradients are neither computed nor touched.

``fgsm``
    ``x' = clip_[0,1](x + eps sign(grad_x CE))`` (Goodfellow et al. 2015).
``pgd``
    From ``x`` (or a uniform random start in the eps-box, drawn from an explicit
    ``torch.Generator``), ``steps`` times: ``x' <- x' + step_size sign(grad)``, then project
    onto the eps-box and [0, 1] (Madry et al. 2018).
``attack_scores``
    Clean accuracy, robust accuracy and the attack success rate (the fraction of correctly
    classified samples the attack flips; Park, Kim & Lee 2024, Table 2).

The update order is torchattacks' (v3.5), which the tests compare against; unlike it, the
random start here comes from a generator you pass, not the global RNG.

Settings used by the papers: Park, Kim & Lee (2024, Table 2 of v2) use a weak PGD of
7 steps of 0.2/255 with eps = 0.4/255 (ImageNet); the first version of Mangla et al.
(2020) builds on Mixup Inference (Pang et al. 2020), whose protocol is PGD-10 with
eps = 8/255 and step 2/255.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

__all__ = ["attack_scores", "fgsm", "pgd"]


def _check(x: torch.Tensor, y: torch.Tensor, eps: float) -> None:
    if x.ndim != 4 or y.shape != (x.shape[0],):
        raise ValueError(f"x of shape {tuple(x.shape)} and y of shape {tuple(y.shape)}: "
                         "expected images (B, C, H, W) and labels (B,)")
    if not (eps >= 0 and eps < float("inf")):
        raise ValueError(f"eps={eps!r}: expected a finite L-infinity radius >= 0 "
                         "(in [0, 1] pixel units, e.g. 8/255)")
    lo, hi = torch.aminmax(x)
    if lo < 0 or hi > 1:  # one synchronisation per call, at the boundary
        raise ValueError(f"x spans [{lo.item():.4g}, {hi.item():.4g}]: expected images in "
                         "[0, 1] (the model normalises its own input)")


def _input_grad(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    x = x.detach().requires_grad_(True)
    loss = F.cross_entropy(model(x).float(), y)  # mean over the batch, as torchattacks
    return torch.autograd.grad(loss, x)[0]


class _EvalMode:
    """Eval mode inside the block; the model's own mode afterwards."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.model, self.was_training = model, model.training

    def __enter__(self) -> None:
        self.model.eval()

    def __exit__(self, *exc) -> None:
        self.model.train(self.was_training)


def fgsm(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float) -> torch.Tensor:
    """Fast gradient sign method: adversarial images of shape (B, C, H, W) in [0, 1].

    Parameters
    ----------
    model : nn.Module
        Maps [0, 1] images (B, C, H, W) to logits (B, K).
    x : Tensor of shape (B, C, H, W), values in [0, 1]
    y : Tensor of shape (B,), int64
    eps : float
        L-infinity radius in pixel units.
    """
    _check(x, y, eps)
    with _EvalMode(model):
        grad = _input_grad(model, x, y)
    return (x + eps * grad.sign()).clamp(0.0, 1.0).detach()


def pgd(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, *,
        step_size: float, steps: int, random_start: bool = True,
        generator: torch.Generator | None = None) -> torch.Tensor:
    """Projected gradient descent (ascent on the loss) in the L-infinity ball.

    Parameters
    ----------
    model, x, y, eps
        As :func:`fgsm`.
    step_size : float
        Size of each signed-gradient step, pixel units (> 0).
    steps : int
        Number of steps (>= 1).
    random_start : bool, default True
        Start from ``x + U(-eps, eps)`` (clipped to [0, 1]) instead of ``x``.
    generator : torch.Generator, optional
        On ``x.device``; required when ``random_start`` (randomness is explicit).

    Returns
    -------
    Tensor of shape (B, C, H, W), within ``eps`` of ``x`` and in [0, 1].
    """
    _check(x, y, eps)
    if not step_size > 0:
        raise ValueError(f"step_size={step_size!r}: expected a positive step in pixel units")
    if not (isinstance(steps, int) and steps >= 1):
        raise ValueError(f"steps={steps!r}: expected a positive number of steps")
    x = x.detach()
    adv = x.clone()
    if random_start:
        if generator is None:
            raise ValueError("random_start=True needs generator=torch.Generator(device): "
                             "expected an explicit source of randomness")
        noise = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        adv = (adv + (2 * noise - 1) * eps).clamp(0.0, 1.0)
    with _EvalMode(model):
        for _ in range(steps):
            adv = adv + step_size * _input_grad(model, adv, y).sign()
            delta = (adv - x).clamp(-eps, eps)
            adv = (x + delta).clamp(0.0, 1.0).detach()
    return adv


@torch.no_grad()
def _predict(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    with _EvalMode(model):
        return model(x).argmax(1)


def attack_scores(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
                  attack: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                  batch_size: int = 512) -> dict[str, float]:
    """Clean accuracy, robust accuracy and attack success rate of ``attack`` on (x, y).

    ``attack(xb, yb)`` returns adversarial images for a batch, e.g.
    ``lambda xb, yb: pgd(model, xb, yb, 8/255, step_size=2/255, steps=10, generator=g)``.
    The success rate is the fraction of clean-correct samples that the attack misclassifies
    (0 when none is correct). Counts stay on the device; one synchronisation at the end.
    """
    counts = torch.zeros(3, device=x.device)  # clean correct, adversarial correct, flipped
    for xb, yb in zip(x.split(batch_size), y.split(batch_size), strict=True):
        clean = _predict(model, xb) == yb
        adv = _predict(model, attack(xb, yb)) == yb
        counts += torch.stack([clean.sum(), adv.sum(), (clean & ~adv).sum()]).float()
    clean_n, adv_n, flipped = counts.tolist()
    n = max(len(y), 1)
    return {"clean_acc": clean_n / n, "robust_acc": adv_n / n,
            "success_rate": flipped / clean_n if clean_n else 0.0}
