r"""Mixup Inference (Pang, Xu & Zhu, ICLR 2020), the test-time defence VarMixup v1 builds on.

A trained classifier f predicts on an input x (clean or adversarial) by mixing it with
clean training samples x_s and averaging the softmax over ``n_samples`` mixtures:

.. math:: p_{\mathrm{MI}}(x) = \frac{1}{N_{MI}} \sum_{i=1}^{N_{MI}}
          \mathrm{softmax}\, f(\lambda_{MI}\, x + (1 - \lambda_{MI})\, x_{s,i}),

prediction ``argmax p_MI``. Two partner rules (Pang et al.):

* ``"pl"`` (MI-PL, predicted label): x_s drawn uniformly from the training samples whose
  label is the plain model's prediction on x;
* ``"ol"`` (MI-OL, other labels): x_s drawn uniformly from the training samples whose label
  differs from that prediction.

The mixing shrinks an adversarial perturbation by lam_MI and adds a clean partner; Mixup-
trained models behave linearly between samples, which is why MI helps them (Pang et al.).
VarMixup (Mangla et al., v1) claims that VarMixup + MI is more robust than Mixup + MI
(claim C5).

Values the available descriptions of both papers leave open are options, with defaults of
ours (not the papers'): ``lam`` (lam_MI) = 0.6 and ``n_samples`` (N_MI) = 30 for both rules;
the MI-OL partner is uniform over all other-label training samples (not first a uniform
other class, then a sample of it; the two agree on balanced classes). Every draw comes from
an explicit ``torch.Generator``.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["DEFAULT_LAM", "DEFAULT_SAMPLES", "VARIANTS", "check_options", "draw_partners",
           "mi_scores", "mixup_inference"]

VARIANTS = ("pl", "ol")
DEFAULT_LAM = 0.6  # lam_MI, ours
DEFAULT_SAMPLES = 30  # N_MI, ours


def check_options(variant: str, lam, n_samples) -> None:
    """ValueError naming the bad option (``variant``, ``lam``, ``n_samples``)."""
    if variant not in VARIANTS:
        raise ValueError(f"variant={variant!r}: expected one of {VARIANTS} (MI-PL: partners "
                         "of the predicted label; MI-OL: of the other labels)")
    if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not 0 < lam <= 1:
        raise ValueError(f"lam={lam!r}: expected lam_MI in (0, 1], the weight of the input "
                         "in lam x + (1 - lam) x_s")
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
        raise ValueError(f"n_samples={n_samples!r}: expected N_MI, a positive integer number "
                         "of mixtures to average")


def draw_partners(pred: torch.Tensor, y_pool: torch.Tensor, variant: str, n_samples: int, *,
                  generator: torch.Generator) -> torch.Tensor:
    """Indices into the pool of the partners of each input, shape (B, n_samples).

    Parameters
    ----------
    pred : Tensor of shape (B,), int64
        The plain model's predicted classes.
    y_pool : Tensor of shape (P,), int64
        Labels of the clean partner pool (the training split).
    variant : {"pl", "ol"}
        MI-PL: uniform over pool samples with label ``pred[b]``; MI-OL: uniform over pool
        samples with any other label.
    n_samples : int
    generator : torch.Generator
        On ``pred``'s device; the only source of randomness.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant={variant!r}: expected one of {VARIANTS}")
    order = torch.argsort(y_pool, stable=True)  # pool positions grouped by label
    K = int(max(int(y_pool.max()), int(pred.max()))) + 1
    counts = torch.bincount(y_pool, minlength=K)
    starts = torch.cumsum(counts, 0) - counts
    c, s = counts[pred], starts[pred]  # (B,)
    avail = c if variant == "pl" else len(y_pool) - c
    if bool((avail == 0).any()):
        bad = int(pred[avail == 0][0])
        what = "of that label" if variant == "pl" else "of another label"
        raise ValueError(f"y_pool: no partner {what} for predicted class {bad} "
                         f"(MI-{variant.upper()}); expected every class in the pool")
    u = torch.rand((len(pred), n_samples), generator=generator, device=pred.device)
    k = (u * avail[:, None]).long().clamp_max(avail[:, None] - 1)  # uniform in [0, avail)
    if variant == "pl":
        pos = s[:, None] + k
    else:  # skip the block of the predicted label
        pos = k + torch.where(k >= s[:, None], c[:, None], torch.zeros_like(k))
    return order[pos]


@torch.no_grad()
def mixup_inference(model: nn.Module, x: torch.Tensor, x_pool: torch.Tensor,
                    y_pool: torch.Tensor, *, variant: str = "pl", lam: float = DEFAULT_LAM,
                    n_samples: int = DEFAULT_SAMPLES, generator: torch.Generator,
                    batch_size: int = 512, return_partners: bool = False):
    """MI probabilities p_MI(x), shape (B, K) (see the module docstring).

    Parameters
    ----------
    model : nn.Module
        Maps images (B, C, H, W) to logits (B, K); run in eval mode (restored afterwards).
    x : Tensor of shape (B, C, H, W)
        Inputs to classify (clean or adversarial).
    x_pool : Tensor of shape (P, C, H, W); y_pool : Tensor of shape (P,), int64
        Clean training samples and their labels, the partners.
    variant : {"pl", "ol"}, default "pl"
    lam : float in (0, 1], default 0.6 (ours)
        lam_MI. ``lam = 1`` returns the plain softmax.
    n_samples : int >= 1, default 30 (ours)
        N_MI.
    generator : torch.Generator
        On ``x``'s device; draws the partners.
    return_partners : bool
        Also return the partner indices, shape (B, n_samples).

    References
    ----------
    Pang, Xu & Zhu (2020), "Mixup Inference: Better Exploiting Mixup to Defend Adversarial
    Attacks", ICLR (MI-PL, MI-OL); Mangla et al. (VarMixup v1), claim C5.
    """
    check_options(variant, lam, n_samples)
    if x.ndim != 4 or x_pool.ndim != 4 or x.shape[1:] != x_pool.shape[1:]:
        raise ValueError(f"x of shape {tuple(x.shape)} and x_pool of shape "
                         f"{tuple(x_pool.shape)}: expected images (B, C, H, W) of one size")
    if y_pool.shape != (len(x_pool),):
        raise ValueError(f"y_pool of shape {tuple(y_pool.shape)}: expected ({len(x_pool)},)")
    was_training = model.training
    model.eval()
    try:
        probs, partners = [], []
        for xb in x.split(batch_size):
            logits = model(xb).float()
            pred = logits.argmax(1)
            idx = draw_partners(pred, y_pool, variant, n_samples, generator=generator)
            acc = torch.zeros_like(logits)
            for j in range(n_samples):
                mix = lam * xb + (1 - lam) * x_pool[idx[:, j]]
                acc += model(mix).float().softmax(1)
            probs.append(acc / n_samples)
            partners.append(idx)
    finally:
        model.train(was_training)
    p = torch.cat(probs)
    return (p, torch.cat(partners)) if return_partners else p


def mi_scores(model: nn.Module, x: torch.Tensor, y: torch.Tensor, x_pool: torch.Tensor,
              y_pool: torch.Tensor, *, presets=("strong", "weak"), lam: float = DEFAULT_LAM,
              n_samples: int = DEFAULT_SAMPLES, seed: int = 0) -> dict:
    """Accuracy with and without MI on clean images and under oblivious PGD.

    The adversary is PGD (:data:`deep.attacks.ATTACK_PRESETS`) crafted against the plain
    model, which does not know about MI (Pang et al.'s oblivious setting); the same
    adversarial images are then classified plainly, by MI-PL and by MI-OL.

    Parameters
    ----------
    model : nn.Module
    x : Tensor (A, C, H, W) in [0, 1]; y : Tensor (A,)
        Test images and labels.
    x_pool, y_pool : Tensors (P, C, H, W), (P,)
        Clean training samples (partners).
    presets : sequence of str
    lam, n_samples : MI options (see :func:`mixup_inference`)
    seed : int
        PGD random starts (generator seeded ``seed + i`` for the i-th preset) and partner
        draws (``seed + 1000 + j``), all explicit.

    Returns
    -------
    dict
        ``{"clean": {...}, <preset>: {...}}``, each ``{"plain": acc, "pl": acc, "ol": acc}``
        (accuracy of the plain model, of MI-PL and of MI-OL on those images); ``lam``,
        ``n_samples``.
    """
    from .attacks import ATTACK_PRESETS, pgd

    check_options("pl", lam, n_samples)
    out = {"lam": float(lam), "n_samples": int(n_samples)}
    inputs = {"clean": x}
    for i, name in enumerate(presets):
        p = ATTACK_PRESETS[name]
        g = torch.Generator(device=x.device).manual_seed(int(seed) + i)
        inputs[name] = torch.cat([pgd(model, xb, yb, p.eps, step_size=p.step_size,
                                      steps=p.steps, generator=g)
                                  for xb, yb in zip(x.split(512), y.split(512), strict=True)])
    for j, (name, xi) in enumerate(inputs.items()):
        was = model.training
        model.eval()
        with torch.no_grad():
            plain = float((model(xi).argmax(1) == y).float().mean())
        model.train(was)
        rec = {"plain": plain}
        for v in VARIANTS:
            g = torch.Generator(device=x.device).manual_seed(int(seed) + 1000 + j)
            pm = mixup_inference(model, xi, x_pool, y_pool, variant=v, lam=lam,
                                 n_samples=n_samples, generator=g)
            rec[v] = float((pm.argmax(1) == y).float().mean())
        out[name] = rec
    return out

