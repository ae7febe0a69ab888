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
    codes, decode); optionally with the mixed reconstruction residual added back, and with
    part of the batch given to input Mixup instead.
``DeiTMix``
    The DeiT recipe's mixing (Touvron et al. 2021): per batch a coin chooses CutMix (with
    probability ``switch_prob`` = 0.5) or Mixup, each with its own alpha (1.0 and 0.8), on
    targets already label-smoothed (``--reg deit`` sets eps = 0.1).

Clean fraction
--------------
Every mixing method (``MixUp``, ``CutMix``, ``VarMixup``) takes ``clean_frac`` = f: of a
batch of B images, the last ``round(f B)`` rows are left as they are, with their own targets,
and only the first ``B - round(f B)`` rows are mixed (their partners ``perm[i]`` may be any
row, clean ones included). The rows are in random order (the loader shuffles every epoch),
so the clean rows are a random subset. f changes no random draw: the same generators give
the same ``lam``, ``perm`` and noise whatever f is, so methods can be compared at equal f
on identical draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .config import (
    DEFAULT_DEIT_CUTMIX_ALPHA,
    DEFAULT_DEIT_MIXUP_ALPHA,
    DEFAULT_DEIT_SWITCH_PROB,
    DEFAULT_MIX_CLEAN_FRAC,
)
from .vae import ConvVAE

__all__ = ["CutMix", "DeiTMix", "MixParams", "MixRNG", "MixUp", "Mixing", "VarMixup",
           "build_mixing", "cutmix_box", "mix_pairs"]


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


def mix_pairs(t: torch.Tensor, lam: float, perm: torch.Tensor, rows: slice = slice(None)
              ) -> torch.Tensor:
    """``lam * t + (1 - lam) * t[perm]`` for images (B, C, H, W), latents (B, L) or soft
    targets (B, K), for the rows ``rows`` only (default: all; the result has their count).

    Evaluated as ``t[perm] * (1 - lam) + t * lam``, torchvision's order, so that the two
    agree bitwise; mixed targets still sum to 1 (to rounding). At ``lam = 1`` the result is
    ``t[rows]`` exactly (``0 * a + b = b`` in floating point for finite ``a``).
    """
    return t[perm[rows]].mul_(1.0 - lam).add_(t[rows].mul(lam))


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


def _check_fraction(name: str, value: float) -> float:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name}={value!r} is not valid: expected a fraction with 0 <= f < 1")
    return float(value)


class _BetaMix(Mixing):
    """Shared draw and shared apply of the mixing methods.

    Draw: the coin (with probability ``prob``), ``lam ~ Beta(alpha, alpha)``, ``perm``.
    Apply: the first :meth:`n_mixed` rows become mixtures, made by the subclass's
    :meth:`_mix_images`, with targets ``lam y + (1 - lam) y[perm]``; the other
    ``round(clean_frac B)`` rows are returned unchanged (module docstring, "Clean fraction").
    """

    def __init__(self, alpha: float = 1.0, prob: float = 1.0, clean_frac: float = 0.0) -> None:
        if not alpha > 0:
            raise ValueError(f"--mix-alpha={alpha!r} is not valid: expected alpha > 0")
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"--mix-prob={prob!r} is not valid: expected a probability in [0, 1]")
        self.alpha, self.prob = float(alpha), float(prob)
        self.clean_frac = _check_fraction("--mix-clean-frac", clean_frac)

    def n_mixed(self, batch: int) -> int:
        """Rows of a batch of ``batch`` images that are mixed: ``batch - round(f batch)``."""
        return batch - round(self.clean_frac * batch)

    def _skip(self, rng: MixRNG) -> bool:
        return self.prob < 1.0 and rng.host.random() >= self.prob

    def _draw(self, x: torch.Tensor, rng: MixRNG) -> tuple[float, torch.Tensor]:
        lam = float(rng.host.beta(self.alpha, self.alpha))
        perm = torch.randperm(len(x), generator=rng.device, device=x.device)
        return lam, perm

    def sample_params(self, x: torch.Tensor, rng: MixRNG) -> MixParams:
        if self._skip(rng):
            return MixParams()
        lam, perm = self._draw(x, rng)
        return MixParams(lam=lam, perm=perm)

    def _mix_images(self, x: torch.Tensor, params: MixParams, n: int) -> torch.Tensor:
        """The mixed images of rows ``0..n-1``, shape (n, C, H, W)."""
        raise NotImplementedError

    def apply(self, x, y_soft, params):
        if params.perm is None:
            return x, y_soft
        n = self.n_mixed(len(x))
        x_mix = self._mix_images(x, params, n).to(x.dtype)  # (n, C, H, W)
        y_mix = mix_pairs(y_soft, params.lam, params.perm, slice(n))  # (n, K)
        if n == len(x):
            return x_mix, y_mix
        return torch.cat([x_mix, x[n:]]), torch.cat([y_mix, y_soft[n:]])


class MixUp(_BetaMix):
    """Input Mixup: ``x = lam x + (1 - lam) x[perm]`` (Zhang et al. 2018)."""

    name = "mixup"

    def _mix_images(self, x, params, n):
        return mix_pairs(x, params.lam, params.perm, slice(n))


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

    def _mix_images(self, x, params, n):
        y1, y2, x1, x2 = params.box
        out = x[:n].clone()
        out[..., y1:y2, x1:x2] = x[params.perm[:n], ..., y1:y2, x1:x2]  # gathers the box only
        return out


class VarMixup(_BetaMix):
    r"""VarMixup: mix VAE latents with ``lam ~ Beta(alpha, alpha)``, decode, mix the labels.

    Of a batch of B images, rows are laid out as

    * ``0 .. n_var-1``: decoded latent mixups ``g(lam z_i + (1 - lam) z_perm(i))``, where ``g``
      is the decoder mean and ``z`` the posterior mean ``mu(x)`` or a sample;
    * the next ``n_in = round(input_frac B)``: input Mixup ``lam x_i + (1 - lam) x_perm(i)``
      with the same ``lam`` and partners;
    * the last ``round(clean_frac B)``: the clean images.

    All mixed rows get the target ``lam y_i + (1 - lam) y_perm(i)``.

    Parameters
    ----------
    vae : ConvVAE
        Frozen (eval mode, no gradients).
    alpha, prob : float
        Beta parameter; probability that a batch is mixed.
    latent : {"mean", "sample"}, default "mean"
        Mix the posterior means ``mu``, or samples ``mu + sigma * eps`` (open choice 1).
    clean_frac : float, default 0.0
        Fraction of each batch kept as the clean (augmented) images with their own targets
        (open choice 3). 0 = no clean rows.
    residual : bool, default False
        Add back the mixed reconstruction residual (open choice 4): the decoded row becomes
        ``g(z~) + lam (x_i - g(mu_i)) + (1 - lam) (x_j - g(mu_j))``, evaluated as
        ``mixup(x) + (g(z~) - mixup(g(mu)))`` so that ``lam = 1`` (``lam = 0``) returns
        ``x_i`` (``x_j``) exactly with ``latent="mean"``: the decoder's blur is removed and
        only its change along the latent path is kept. Clamped to [0, 1] for a bounded VAE
        (images in [0, 1]). The residual uses the posterior mean also when ``latent`` is
        ``"sample"``.
    input_frac : float, default 0.0
        Fraction of each batch given to input Mixup instead of decoded mixups (open
        choice 3, "decoded VarMixup samples plus input-space mixup"); ``clean_frac +
        input_frac < 1``.

    Notes
    -----
    Mangla et al. (2021) state the method in words and in their method-overview figure;
    the open choices numbered here are those their text leaves open. The library defaults
    are the plain method (means, every row decoded, no residual). The training CLI's
    defaults, our choice: mix the *means* (the figure draws each code as a point and the
    mixup on the segment between them), mix every batch, no residual, no input Mixup, and
    keep half of each batch clean (``--mix-clean-frac 0.5`` for ``--reg varmixup``):
    trained on decoded images only, a classifier never sees a sharp image, and on digits
    its test accuracy fell by 7 points (docs/deep.md).

    References
    ----------
    Mangla, Singh, Havaldar & Balasubramanian (2021), "On the benefits of defining vicinal
    distributions in latent space", Pattern Recognition Letters 152, the method-overview
    figure (encode X1 and X2, interpolate the codes, decode ``p(x | z_m)``).
    """

    name = "varmixup"

    def __init__(self, vae: ConvVAE, alpha: float = 1.0, prob: float = 1.0,
                 latent: str = "mean", clean_frac: float = 0.0, residual: bool = False,
                 input_frac: float = 0.0) -> None:
        super().__init__(alpha, prob, clean_frac)
        if latent not in ("mean", "sample"):
            raise ValueError(f"--varmix-latent={latent!r} is not valid: expected mean or sample")
        input_frac = _check_fraction("--varmix-input-frac", input_frac)
        if not self.clean_frac + input_frac < 1.0:
            raise ValueError(
                f"--varmix-input-frac={input_frac!r} with --mix-clean-frac={self.clean_frac!r} "
                "leaves no row to decode: expected input_frac + clean_frac < 1"
            )
        self.vae, self.latent, self.residual = vae, latent, bool(residual)
        self.input_frac = input_frac

    def sample_params(self, x: torch.Tensor, rng: MixRNG) -> MixParams:
        if self._skip(rng):
            return MixParams()
        lam, perm = self._draw(x, rng)
        noise = None
        if self.latent == "sample":
            noise = torch.randn(len(x), self.vae.latent_dim, generator=rng.device,
                                device=x.device)
        return MixParams(lam=lam, perm=perm, noise=noise)

    def _mix_images(self, x, params, n):
        lam, perm = params.lam, params.perm
        n_var = n - min(round(self.input_frac * len(x)), n)  # decoded rows
        with torch.no_grad():
            mu, logvar = self.vae.encode(x)  # (B, L); partners may come from the whole batch
            z = mu if params.noise is None else mu + (0.5 * logvar).exp() * params.noise
            z_mix = mix_pairs(z, lam, perm, slice(n_var))  # (n_var, L)
            if self.residual:
                # One decoder call for the mixed codes and the reconstructions, so that at
                # lam = 1 the two decodes of mu_i are the same computation and cancel exactly.
                dec = self.vae.decode(torch.cat([z_mix, mu])).to(x.dtype)  # (n_var + B, ...)
                g_rec = dec[n_var:]  # (B, C, H, W): g(mu(x))
                out = mix_pairs(x, lam, perm, slice(n_var)).add_(
                    dec[:n_var] - mix_pairs(g_rec, lam, perm, slice(n_var)))
                if self.vae.bounded:
                    out = out.clamp_(0.0, 1.0)
            else:
                out = self.vae.decode(z_mix).to(x.dtype)  # (n_var, C, H, W)
        if n_var == n:
            return out
        return torch.cat([out, mix_pairs(x, lam, perm, slice(n_var, n))])


class DeiTMix(Mixing):
    """The DeiT recipe's mixing: Mixup or CutMix, chosen per batch (Touvron et al. 2021).

    Per batch: with probability ``1 - prob`` the batch is left as it is; otherwise a coin
    with ``P(CutMix) = switch_prob`` picks CutMix, ``lam ~ Beta(cutmix_alpha, cutmix_alpha)``
    recomputed as the uncovered fraction of the clipped box, or Mixup,
    ``lam ~ Beta(mixup_alpha, mixup_alpha)``; the chosen method is then applied exactly as
    :class:`CutMix` or :class:`MixUp` (targets ``lam y + (1 - lam) y[perm]``). Label
    smoothing is in the targets already (:func:`deep.losses.one_hot_smooth`), as in timm's
    ``Mixup``, whose DeiT arguments are these defaults.

    Parameters
    ----------
    mixup_alpha : float, default 0.8
    cutmix_alpha : float, default 1.0
    switch_prob : float in [0, 1], default 0.5
        Probability that a mixed batch uses CutMix.
    prob : float in [0, 1], default 1.0
        Probability that a batch is mixed at all (DeiT: 1).
    clean_frac : float, default 0.0
        As every mixing method (module docstring); DeiT mixes every row.

    Notes
    -----
    DeiT's pairs are a batch and its reverse (timm); ours are a random permutation, as every
    method here. The other parts of the DeiT recipe (RandAugment, random erasing, repeated
    augmentation, stochastic depth, AdamW with warm-up) are not part of this regularizer.

    References
    ----------
    Touvron, Cord, Douze, Massa, Sablayrolles & Jegou (2021), "Training data-efficient image
    transformers & distillation through attention", Table 9 (Mixup 0.8, CutMix 1.0, label
    smoothing 0.1); the switch probability 0.5 is their training script's (timm ``Mixup``).
    """

    name = "deit"

    def __init__(self, mixup_alpha: float = DEFAULT_DEIT_MIXUP_ALPHA,
                 cutmix_alpha: float = DEFAULT_DEIT_CUTMIX_ALPHA,
                 switch_prob: float = DEFAULT_DEIT_SWITCH_PROB, prob: float = 1.0,
                 clean_frac: float = 0.0) -> None:
        if not cutmix_alpha > 0:
            raise ValueError(f"cutmix_alpha={cutmix_alpha!r} is not valid: expected alpha > 0")
        if not 0.0 <= switch_prob <= 1.0:
            raise ValueError(f"switch_prob={switch_prob!r} is not valid: expected a "
                             "probability in [0, 1]")
        # The parts draw nothing of their own coin: prob is applied here, once.
        self.mixup = MixUp(mixup_alpha, 1.0, clean_frac)
        self.cutmix = CutMix(cutmix_alpha, 1.0, clean_frac)
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"--mix-prob={prob!r} is not valid: expected a probability in [0, 1]")
        self.prob, self.switch_prob = float(prob), float(switch_prob)
        self.clean_frac = self.mixup.clean_frac

    def sample_params(self, x: torch.Tensor, rng: MixRNG) -> MixParams:
        if self.prob < 1.0 and rng.host.random() >= self.prob:
            return MixParams()
        use_cutmix = rng.host.random() < self.switch_prob
        return (self.cutmix if use_cutmix else self.mixup).sample_params(x, rng)

    def apply(self, x, y_soft, params):
        """CutMix's apply where ``params`` has a box, else Mixup's (identity without perm)."""
        return (self.cutmix if params.box is not None else self.mixup).apply(x, y_soft, params)


def build_mixing(reg: str, *, alpha: float = 1.0, prob: float = 1.0, vae: ConvVAE | None = None,
                 latent: str = "mean", clean_frac: float | None = None, residual: bool = False,
                 input_frac: float = 0.0, cutmix_alpha: float = DEFAULT_DEIT_CUTMIX_ALPHA,
                 switch_prob: float = DEFAULT_DEIT_SWITCH_PROB) -> Mixing:
    """The mixing method of regularizer ``reg`` (identity for none, ls, logit_penalty).

    ``clean_frac=None`` takes the regularizer's default clean fraction
    (:data:`deep.config.DEFAULT_MIX_CLEAN_FRAC`: 0 for mixup, cutmix and deit, 0.5 for
    varmixup); ``latent``, ``residual`` and ``input_frac`` apply to varmixup only. For
    ``deit``, ``alpha`` is the Mixup alpha; ``cutmix_alpha`` and ``switch_prob`` apply to it
    only (:class:`DeiTMix`).
    """
    if reg in ("none", "ls", "logit_penalty"):
        return Mixing()
    if reg in DEFAULT_MIX_CLEAN_FRAC and clean_frac is None:
        clean_frac = DEFAULT_MIX_CLEAN_FRAC[reg]
    if reg == "mixup":
        return MixUp(alpha, prob, clean_frac)
    if reg == "cutmix":
        return CutMix(alpha, prob, clean_frac)
    if reg == "deit":
        return DeiTMix(alpha, cutmix_alpha, switch_prob, prob, clean_frac)
    if reg == "varmixup":
        if vae is None:
            raise ValueError("--reg varmixup needs --vae-checkpoint: expected a VAE")
        return VarMixup(vae, alpha, prob, latent, clean_frac, residual, input_frac)
    raise ValueError(f"--reg={reg!r} is not valid: expected none, ls, mixup, cutmix, varmixup, "
                     "logit_penalty or deit")
