r"""Every input regularizer in one design: draw the random parameters, then apply them.

A :class:`Mixing` has ``sample_params(x, rng) -> MixParams`` (all randomness, drawn from the
explicit generators in :class:`MixRNG`) and ``apply(x, y_soft, params) -> (x, y_soft)``
(deterministic, whole-batch tensor ops on the device, no host synchronisation). Targets
are soft: label smoothing is folded into them first (:func:`deep.losses.one_hot_smooth`),
so it composes with every method, and one soft-target cross-entropy consumes them all.

Conventions (shared with ``torchvision.transforms.v2.MixUp``/``CutMix``): ``lam`` is the
weight of the original sample, its partner is ``x[perm]``, and the mixed target is
``lam * y + (1 - lam) * y[perm]``. torchvision pairs each sample with its neighbour
(``perm`` = a roll by one); we draw a random permutation. One ``lam`` per batch.

Methods
-------
``Mixing``
    Identity (``none``, ``ls`` and ``logit_penalty``: their effect is in the targets or
    the loss).
``MixUp``
    ``x = lam x + (1 - lam) x[perm]``, ``lam ~ Beta(alpha, alpha)`` (Zhang et al. 2018).
``CutMix``
    A box of ``x[perm]`` pasted into ``x``; ``lam`` is recomputed as the fraction of the
    image left uncovered by the box *after* clipping (Yun et al. 2019).
``VarMixup``
    Mixup of VAE latents, decoded: ``x = Dec(lam z + (1 - lam) z[perm])`` with a frozen VAE
    (Mangla et al. 2021, the method-overview figure: encode two images, interpolate their
    codes, decode).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .vae import ConvVAE

__all__ = ["CutMix", "MixParams", "MixRNG", "MixUp", "Mixing", "VarMixup", "build_mixing",
           "cutmix_box", "mix_pairs"]


@dataclass(frozen=True)
class MixRNG:
    """The generators a mixing method draws from.

    Attributes
    ----------
    host : numpy.random.Generator
        Per-batch scalars: ``lam``, the CutMix box centre, the apply-or-not coin. Drawn on the
        host, so no value ever travels back from the device.
    device : torch.Generator
        Per-sample tensors on the data's device: the permutation and latent noise.
    """

    host: np.random.Generator
    device: torch.Generator


@dataclass(frozen=True)
class MixParams:
    """The random draw of one batch; ``perm is None`` means "leave the batch as it is".

    Attributes
    ----------
    lam : float
        Weight of the original sample in the target (CutMix: after clipping the box).
    perm : Tensor of shape (B,), optional
        Partner index of each sample.
    box : (y1, y2, x1, x2), optional
        CutMix box in pixels, half-open.
    noise : Tensor of shape (B, latent_dim), optional
        VarMixup reparameterisation noise when mixing posterior samples.
    """

    lam: float = 1.0
    perm: torch.Tensor | None = None
    box: tuple[int, int, int, int] | None = None
    noise: torch.Tensor | None = None


def mix_pairs(t: torch.Tensor, lam: float, perm: torch.Tensor) -> torch.Tensor:
    """``lam * t + (1 - lam) * t[perm]`` for images (B, C, H, W) or soft targets (B, K).

    Evaluated as ``t[perm] * (1 - lam) + t * lam``, torchvision's order, so that the two
    agree bitwise; mixed targets still sum to 1 (to rounding).
    """
    return t[perm].mul_(1.0 - lam).add_(t.mul(lam))


def cutmix_box(lam: float, cy: int, cx: int, height: int, width: int
               ) -> tuple[tuple[int, int, int, int], float]:
    """The CutMix box for ``lam`` centred at (cy, cx), clipped to the image, and its true lam.

    The box has half-sides ``int(0.5 sqrt(1 - lam) H)`` and ``int(0.5 sqrt(1 - lam) W)``
    (torchvision's convention) before clipping; the returned lam is
    ``1 - area(clipped box) / (H W)``.

    Returns
    -------
    box : (y1, y2, x1, x2)
    lam : float
    """
    r = 0.5 * np.sqrt(1.0 - lam)
    rh, rw = int(r * height), int(r * width)
    y1, y2 = max(cy - rh, 0), min(cy + rh, height)
    x1, x2 = max(cx - rw, 0), min(cx + rw, width)
    return (y1, y2, x1, x2), 1.0 - (y2 - y1) * (x2 - x1) / (height * width)


class Mixing:
    """Identity: the base of every method, and the method of ``none``, ``ls``,
    ``logit_penalty``."""

    name = "none"

    def sample_params(self, x: torch.Tensor, rng: MixRNG) -> MixParams:
        """Draw this batch's parameters; ``x`` (B, C, H, W) gives only shape and device."""
        return MixParams()

    def apply(self, x: torch.Tensor, y_soft: torch.Tensor, params: MixParams
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """Apply ``params`` to images (B, C, H, W) and soft targets (B, K)."""
        return x, y_soft

    def __call__(self, x: torch.Tensor, y_soft: torch.Tensor, rng: MixRNG
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.apply(x, y_soft, self.sample_params(x, rng))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"


class _BetaMix(Mixing):
    """Shared draw: the coin (with probability ``prob``), ``lam ~ Beta(alpha, alpha)``, perm."""

    def __init__(self, alpha: float = 1.0, prob: float = 1.0) -> None:
        if not alpha > 0:
            raise ValueError(f"--mix-alpha={alpha!r} is not valid: expected alpha > 0")
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"--mix-prob={prob!r} is not valid: expected a probability in [0, 1]")
        self.alpha, self.prob = float(alpha), float(prob)

    def _skip(self, rng: MixRNG) -> bool:
        return self.prob < 1.0 and rng.host.random() >= self.prob

    def _draw(self, x: torch.Tensor, rng: MixRNG) -> tuple[float, torch.Tensor]:
        lam = float(rng.host.beta(self.alpha, self.alpha))
        perm = torch.randperm(len(x), generator=rng.device, device=x.device)
        return lam, perm


class MixUp(_BetaMix):
    """Input Mixup: ``x = lam x + (1 - lam) x[perm]`` (Zhang et al. 2018)."""

    name = "mixup"

    def sample_params(self, x: torch.Tensor, rng: MixRNG) -> MixParams:
        if self._skip(rng):
            return MixParams()
        lam, perm = self._draw(x, rng)
        return MixParams(lam=lam, perm=perm)

    def apply(self, x, y_soft, params):
        if params.perm is None:
            return x, y_soft
        return mix_pairs(x, params.lam, params.perm), mix_pairs(y_soft, params.lam, params.perm)


class CutMix(_BetaMix):
    """CutMix: paste a box of ``x[perm]``; ``lam`` = uncovered fraction (Yun et al. 2019)."""

    name = "cutmix"

    def sample_params(self, x: torch.Tensor, rng: MixRNG) -> MixParams:
        if self._skip(rng):
            return MixParams()
        lam, perm = self._draw(x, rng)
        H, W = x.shape[-2:]
        cy, cx = int(rng.host.integers(H)), int(rng.host.integers(W))
        box, lam = cutmix_box(lam, cy, cx, H, W)
        return MixParams(lam=lam, perm=perm, box=box)

    def apply(self, x, y_soft, params):
        if params.perm is None:
            return x, y_soft
        y1, y2, x1, x2 = params.box
        out = x.clone()
        out[..., y1:y2, x1:x2] = x[params.perm, ..., y1:y2, x1:x2]  # gathers the box only
        return out, mix_pairs(y_soft, params.lam, params.perm)


class VarMixup(_BetaMix):
    """VarMixup: mix VAE latents with ``lam ~ Beta(alpha, alpha)``, decode, mix the labels.

    Parameters
    ----------
    vae : ConvVAE
        Frozen (eval mode, no gradients).
    alpha, prob : float
        Beta parameter; probability that a batch is mixed.
    latent : {"mean", "sample"}, default "mean"
        Mix the posterior means ``mu``, or samples ``mu + sigma * eps`` (the paper's figure
        fits either; it does not say which).
    clean_frac : float, default 0.0
        Fraction of each batch kept as the clean (augmented) images with their own targets;
        the rest is replaced by decoded latent mixups. 0 = decoded only.

    Notes
    -----
    The paper leaves these choices open (Mangla et al. 2021 state the method in words and
    in the method-overview figure). The training CLI's defaults, our choice: mix the
    *means* (the figure draws each code as a point and the mixup on the segment between
    them), mix every batch, and keep half of each batch clean
    (``--varmix-clean-frac 0.5``): trained on decoded images only, a classifier never sees
    a sharp image, and on digits its test accuracy fell by 7 points (docs/deep.md).
    """

    name = "varmixup"

    def __init__(self, vae: ConvVAE, alpha: float = 1.0, prob: float = 1.0,
                 latent: str = "mean", clean_frac: float = 0.0) -> None:
        super().__init__(alpha, prob)
        if latent not in ("mean", "sample"):
            raise ValueError(f"--varmix-latent={latent!r} is not valid: expected mean or sample")
        if not 0.0 <= clean_frac < 1.0:
            raise ValueError(f"--varmix-clean-frac={clean_frac!r} is not valid: expected "
                             "a fraction with 0 <= f < 1")
        self.vae, self.latent, self.clean_frac = vae, latent, float(clean_frac)

    def sample_params(self, x: torch.Tensor, rng: MixRNG) -> MixParams:
        if self._skip(rng):
            return MixParams()
        lam, perm = self._draw(x, rng)
        noise = None
        if self.latent == "sample":
            noise = torch.randn(len(x), self.vae.latent_dim, generator=rng.device,
                                device=x.device)
        return MixParams(lam=lam, perm=perm, noise=noise)

    def apply(self, x, y_soft, params):
        if params.perm is None:
            return x, y_soft
        n = len(x) - round(self.clean_frac * len(x))  # samples replaced by decoded mixups
        lam, perm = params.lam, params.perm
        with torch.no_grad():
            mu, logvar = self.vae.encode(x)  # (B, L); partners may come from the whole batch
            z = mu if params.noise is None else mu + (0.5 * logvar).exp() * params.noise
            decoded = self.vae.decode(mix_pairs(z, lam, perm)[:n])  # (n, C, H, W)
        if n == len(x):
            return decoded.to(x.dtype), mix_pairs(y_soft, lam, perm)
        x_out = torch.cat([decoded.to(x.dtype), x[n:]])
        y_out = torch.cat([mix_pairs(y_soft, lam, perm)[:n], y_soft[n:]])
        return x_out, y_out


def build_mixing(reg: str, *, alpha: float = 1.0, prob: float = 1.0, vae: ConvVAE | None = None,
                 latent: str = "mean", clean_frac: float = 0.0) -> Mixing:
    """The mixing method of regularizer ``reg`` (identity for none, ls, logit_penalty)."""
    if reg in ("none", "ls", "logit_penalty"):
        return Mixing()
    if reg == "mixup":
        return MixUp(alpha, prob)
    if reg == "cutmix":
        return CutMix(alpha, prob)
    if reg == "varmixup":
        if vae is None:
            raise ValueError("--reg varmixup needs --vae-checkpoint: expected a VAE")
        return VarMixup(vae, alpha, prob, latent, clean_frac)
    raise ValueError(f"--reg={reg!r} is not valid: expected none, ls, mixup, cutmix, varmixup "
                     "or logit_penalty")
