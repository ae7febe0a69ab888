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
``ATTACK_PRESETS``, ``robustness``
    The two named settings below, and FGSM and PGD scores under each of them.
``local_linearity``
    ``gamma(eps; x) = max_{|delta|_inf <= eps} |l(x + delta) - l(x) - delta^T grad_x l(x)|``
    (Qin et al. 2019, Sec. 4), maximised by projected sign-gradient steps.

The update order is torchattacks' (v3.5), which the tests compare against; unlike it, the
random start here comes from a generator you pass, not the global RNG.

Settings used by the papers, the two presets of :data:`ATTACK_PRESETS`: Park, Kim & Lee
(2024, Table 2 of v2) use a weak PGD of 7 steps of 0.2/255 with eps = 0.4/255 (ImageNet),
``"weak"``; the first version of Mangla et al. (2020) builds on Mixup Inference (Pang et
al. 2020), whose protocol is PGD-10 with eps = 8/255 and step 2/255, ``"strong"``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

__all__ = ["ATTACK_PRESETS", "AttackPreset", "attack_scores", "fgsm", "local_linearity",
           "pgd", "robustness"]


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


# ------------------------------------------------------------------------------- presets


@dataclass(frozen=True)
class AttackPreset:
    """An L-infinity attack budget in [0, 1] pixel units.

    Attributes
    ----------
    eps : float
        Radius of the L-infinity ball (FGSM's step; PGD's projection).
    steps : int
        PGD iterations.
    step_size : float
        PGD's signed-gradient step.
    """

    eps: float
    steps: int
    step_size: float


#: ``"strong"``: PGD-10, eps = 8/255, step 2/255 (the Mixup Inference protocol of Pang et
#: al. 2020, on which the first version of Mangla et al. 2020 builds). ``"weak"``: PGD-7,
#: eps = 0.4/255, step 0.2/255 (Park, Kim & Lee 2024, Table 2 of v2).
ATTACK_PRESETS: dict[str, AttackPreset] = {
    "strong": AttackPreset(eps=8 / 255, steps=10, step_size=2 / 255),
    "weak": AttackPreset(eps=0.4 / 255, steps=7, step_size=0.2 / 255),
}


def robustness(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
               presets: Sequence[str] = ("strong", "weak"), *, random_start: bool = True,
               generator: torch.Generator | None = None, batch_size: int = 512) -> dict:
    """FGSM and PGD robust accuracy and attack success rate under named budgets.

    For each preset of :data:`ATTACK_PRESETS`, FGSM at its ``eps`` and PGD with its
    ``eps``, ``steps`` and ``step_size`` (:func:`attack_scores` of each).

    Parameters
    ----------
    model : nn.Module
        Maps [0, 1] images (B, C, H, W) to logits (B, K) (it normalises its own input, so
        every budget is in pixel units).
    x : Tensor of shape (N, C, H, W), values in [0, 1]
    y : Tensor of shape (N,), int64
    presets : sequence of str, default ("strong", "weak")
        Keys of :data:`ATTACK_PRESETS`.
    random_start : bool, default True
        PGD starts from a uniform point of the eps-box (Madry et al. 2018).
    generator : torch.Generator, optional
        On ``x.device``; required when ``random_start``. The presets draw from it in order.
    batch_size : int, default 512

    Returns
    -------
    dict
        ``clean_acc`` (float) and, per preset name, ``{"eps", "steps", "step_size",
        "fgsm": {"robust_acc", "success_rate"}, "pgd": {"robust_acc", "success_rate"}}``.
        The success rate is the fraction of clean-correct samples that the attack flips
        (Park, Kim & Lee 2024, Table 2).
    """
    if isinstance(presets, str) or not presets:
        raise ValueError(f"presets={presets!r}: expected a non-empty sequence of names among "
                         f"{sorted(ATTACK_PRESETS)}")
    unknown = [p for p in presets if p not in ATTACK_PRESETS]
    if unknown:
        raise ValueError(f"presets={tuple(presets)!r}: unknown {unknown}; expected names "
                         f"among {sorted(ATTACK_PRESETS)}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r}: expected a positive integer")
    _check(x, y, 0.0)
    if random_start and generator is None:
        raise ValueError("random_start=True needs generator=torch.Generator(device): "
                         "expected an explicit source of randomness")
    out: dict = {}
    for name in presets:
        p = ATTACK_PRESETS[name]
        fgsm_s = attack_scores(model, x, y, lambda xb, yb, p=p: fgsm(model, xb, yb, p.eps),
                               batch_size)
        pgd_s = attack_scores(
            model, x, y,
            lambda xb, yb, p=p: pgd(model, xb, yb, p.eps, step_size=p.step_size,
                                    steps=p.steps, random_start=random_start,
                                    generator=generator),
            batch_size)
        out[name] = {**asdict(p),
                     "fgsm": {k: fgsm_s[k] for k in ("robust_acc", "success_rate")},
                     "pgd": {k: pgd_s[k] for k in ("robust_acc", "success_rate")}}
    return {"clean_acc": fgsm_s["clean_acc"], **out}  # the same under every attack


# ------------------------------------------------------------------------- local linearity


def _per_sample_loss(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
                     loss: Callable | None) -> torch.Tensor:
    logits = model(x).float()
    if loss is None:
        return F.cross_entropy(logits, y, reduction="none")
    return loss(logits, y)


def local_linearity(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, *,
                    steps: int = 10, step_size: float | None = None,
                    generator: torch.Generator, loss: Callable | None = None,
                    reduction: str = "mean", batch_size: int = 512) -> torch.Tensor:
    r"""Local linearity of the loss (Qin et al. 2019): how far it bends inside the eps-box.

    .. math:: \gamma(\epsilon; x) = \max_{\|\delta\|_\infty \le \epsilon}
              \big|\ell(x+\delta) - \ell(x) - \delta^\top \nabla_x \ell(x)\big|

    The maximum is sought as Qin et al. do, by projected signed-gradient ascent on
    :math:`g(\delta) = |\ell(x+\delta) - \ell(x) - \delta^\top\nabla_x\ell(x)|` from a
    uniform random start in the box; :math:`\nabla_\delta g = \pm(\nabla\ell(x+\delta) -
    \nabla\ell(x))` needs no second derivatives. ``x + delta`` is also kept in [0, 1], as
    in :func:`pgd`. The per-sample value is the largest ``g`` met along the way (start
    included), so it is a lower bound on the true maximum that grows with ``steps``.
    Per-sample gradients come from one backward pass of the summed loss: in eval mode
    (batch norm on running statistics) each sample's loss depends on its own input only.

    Parameters
    ----------
    model : nn.Module
        Maps [0, 1] images (B, C, H, W) to logits (B, K); evaluated in eval mode and left in
        its own mode afterwards.
    x : Tensor of shape (N, C, H, W), values in [0, 1]
    y : Tensor of shape (N,), int64
    eps : float
        L-infinity radius in pixel units (e.g. 8/255).
    steps : int, default 10
        Ascent steps.
    step_size : float, optional
        Signed-gradient step, pixel units; default ``eps / 4``.
    generator : torch.Generator
        On ``x.device``: the random start.
    loss : callable, optional
        ``loss(logits (B, K), y (B,)) -> (B,)`` per-sample losses; default the
        cross-entropy (the loss attacked and regularised by Qin et al.).
    reduction : {"mean", "none"}, default "mean"
        The mean over samples, shape (); or each sample's value, shape (N,).
    batch_size : int, default 512

    Returns
    -------
    Tensor of shape () or (N,), float32, on ``x.device``

    References
    ----------
    Qin, Martens, Gowal, Krishnan, Dvijotham, Fawzi, De, Stanforth & Kohli (2019),
    "Adversarial Robustness through Local Linearization", Sec. 4 (the local linearity
    measure gamma); the measure behind the "more local-linear loss landscapes" of
    VarMixup (Mangla et al. 2021).
    """
    _check(x, y, eps)
    if step_size is None:
        step_size = eps / 4
    if not step_size > 0:
        raise ValueError(f"step_size={step_size!r}: expected a positive step in pixel units")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps={steps!r}: expected a number of steps >= 0")
    if reduction not in ("mean", "none"):
        raise ValueError(f"reduction={reduction!r}: expected 'mean' or 'none'")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r}: expected a positive integer")
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator={generator!r}: expected a torch.Generator on x.device "
                         "(the random start)")
    gammas = []
    with _EvalMode(model):
        for xb, yb in zip(x.split(batch_size), y.split(batch_size), strict=True):
            xb = xb.detach().requires_grad_(True)
            l0 = _per_sample_loss(model, xb, yb, loss)  # (B,)
            g0 = torch.autograd.grad(l0.sum(), xb)[0]  # (B, C, H, W): per-sample gradients
            l0, xb = l0.detach(), xb.detach()
            noise = torch.rand(xb.shape, generator=generator, device=xb.device,
                               dtype=xb.dtype)
            adv = (xb + (2 * noise - 1) * eps).clamp(0.0, 1.0)
            best = torch.zeros_like(l0)
            for step in range(steps + 1):
                adv = adv.detach().requires_grad_(True)
                lin = _per_sample_loss(model, adv, yb, loss) - l0 \
                    - ((adv - xb) * g0).flatten(1).sum(1)  # (B,)
                gap = lin.abs()
                best = torch.maximum(best, gap.detach())
                if step == steps:
                    break
                grad = torch.autograd.grad(gap.sum(), adv)[0]
                adv = adv + step_size * grad.sign()
                adv = (xb + (adv - xb).clamp(-eps, eps)).clamp(0.0, 1.0)
            gammas.append(best)
    gamma = torch.cat(gammas)
    return gamma.mean() if reduction == "mean" else gamma
