r"""How far a mixed image lies off the straight segment between its endpoints, and how real
it looks to a VAE: the measures behind two claims about VarMixup.

Mangla et al. (2021) motivate VarMixup with their method-overview figure: an input mixup
``x_m = lam x1 + (1 - lam) x2`` is a double exposure off the data manifold, and its code
``mu(x_m)`` lies *off* the latent segment ``[mu(x1), mu(x2)]``, while a latent mixup lies on
that segment by construction and decodes to one object. Two checkable consequences:

* **off-segment distance** (:func:`segment_distance`): the distance of a point to the
  segment between two endpoints, as a fraction of the segment's length. In input space
  (:func:`off_segment_distance`) an input mixup has distance 0 and a VarMixup decode has a
  positive one wherever the decoder bends the latent segment (a linear decoder keeps a
  residual-corrected VarMixup on the segment); in latent space
  (:func:`latent_off_segment_distance`) it is the figure's claim that ``mu(x_m)`` is off
  ``[mu(x1), mu(x2)]``, where the latent mixup itself has distance 0.
* **realism** (:func:`negative_elbo`, :func:`reconstruction_mse`): the negative ELBO of an
  image under a VAE, in nats (lower = more likely under the model, i.e. more
  on-manifold), and the squared error of its reconstruction ``Dec(mu(x))`` per pixel.
  VarMixup samples should score as more on-manifold than input mixups of the same pair,
  and real images give the reference level.

:func:`pair_measures` evaluates all of them for a set of pairs and one ``lam``, with the
same :class:`~deep.mixing.MixUp` and :class:`~deep.mixing.VarMixup` code that training uses.

Caveats, for reading the numbers. A VAE scores its own decodes favourably (they are its
decoder means), so pass an independently trained VAE (another ``--seed``) as ``scorer``.
The Bernoulli NLL of a grey-level image includes the binary entropy of its pixels, its
minimum, which is larger for greyer (blurrier) images: it penalises blur itself. The
``excess`` form subtracts that entropy (what remains is the KL divergence between the
pixels' Bernoulli distributions, 0 for a perfect reconstruction). The reconstruction MSE
has no floor but scales with contrast: an input mixup, of lower contrast than either
endpoint, can reconstruct with a smaller error than a real image. Report them together.

References
----------
Mangla, Singh, Havaldar & Balasubramanian (2021), "On the benefits of defining vicinal
distributions in latent space", Pattern Recognition Letters 152, method-overview figure.
Kingma & Welling (2014), the ELBO.
"""

from __future__ import annotations

import torch

from .mixing import MixParams, MixUp, VarMixup
from .vae import ConvVAE, elbo_terms

__all__ = ["latent_off_segment_distance", "negative_elbo", "off_segment_distance",
           "pair_measures", "reconstruction_mse", "segment_distance"]


def _check_pairs(p: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> None:
    if not (p.shape == a.shape == b.shape) or p.ndim < 2:
        raise ValueError(f"points {tuple(p.shape)} and endpoints {tuple(a.shape)}, "
                         f"{tuple(b.shape)} are not valid: expected three tensors of one shape "
                         "(N, D, ...), one point or endpoint per row")


def segment_distance(p: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r"""Distance of each point to the segment between its two endpoints, relative to the
    segment's length.

    With rows flattened to vectors, the segment is ``{t a + (1 - t) b : t in [0, 1]}`` (``t``
    plays the part of ``lam``), the nearest point on it has ``t* = clip(<p - b, a - b> /
    |a - b|^2, 0, 1)``, and

    ``d = |p - (t* a + (1 - t*) b)| / |a - b|``  (Euclidean norms).

    d = 0 exactly on the segment; it is scale-free (multiplying p, a and b by a constant, or
    translating them together, leaves it unchanged); a point at distance ``d`` from the
    segment's middle, orthogonally, is ``d`` segment lengths away. Computed in float64.

    Parameters
    ----------
    p, a, b : Tensor of shape (N, ...)
        Points and the endpoints of their segments, one per row.

    Returns
    -------
    Tensor of shape (N,), float64
        NaN where ``a == b`` (no segment: a pair of an image with itself).
    """
    _check_pairs(p, a, b)
    p, a, b = (t.flatten(1).double() for t in (p, a, b))  # (N, D)
    ab, pb = a - b, p - b
    length2 = ab.pow(2).sum(1)  # (N,)
    t = (pb * ab).sum(1).div(length2).clamp(0.0, 1.0)  # NaN where length2 = 0
    dist = (pb - t[:, None] * ab).norm(dim=1)
    return dist / length2.sqrt()


def off_segment_distance(x_mix: torch.Tensor, x1: torch.Tensor, x2: torch.Tensor
                         ) -> torch.Tensor:
    """Input-space off-segment distance of mixed images: :func:`segment_distance` of
    ``x_mix`` to ``[x1, x2]``, images of shape (N, C, H, W); returns (N,) float64.

    0 for input Mixup (up to rounding); positive for a VarMixup decode wherever the decoder
    is not linear along the latent segment (and, without the residual correction, because a
    decode is not its endpoint image even at ``lam = 1``).
    """
    return segment_distance(x_mix, x1, x2)


@torch.no_grad()
def latent_off_segment_distance(vae: ConvVAE, x_mix: torch.Tensor, x1: torch.Tensor,
                                x2: torch.Tensor) -> torch.Tensor:
    """Latent-space off-segment distance: :func:`segment_distance` of the encoder mean
    ``mu(x_mix)`` to ``[mu(x1), mu(x2)]``; images (N, C, H, W), returns (N,) float64.

    For an input mixup this is the method-overview figure's claim (its code lies off the
    latent segment, where the latent mixup ``lam mu1 + (1 - lam) mu2`` has distance 0 by
    construction); for a VarMixup decode it says how far re-encoding moves it off the
    segment it was decoded from.
    """
    _check_pairs(x_mix, x1, x2)
    return segment_distance(vae.encode(x_mix)[0], vae.encode(x1)[0], vae.encode(x2)[0])


def _nll_floor(vae: ConvVAE, x: torch.Tensor) -> torch.Tensor | float:
    """The minimum over decoder outputs of ``-log p(x|z)`` per image: the pixels' Bernoulli
    entropy ``sum_p H(x_p)``, ``H(q) = -q log q - (1 - q) log(1 - q)`` (0 log 0 = 0), for a
    bounded VAE, shape (N,); 0 for the Gaussian one (a squared error)."""
    if not vae.bounded:
        return 0.0
    return (torch.special.entr(x) + torch.special.entr(1.0 - x)).flatten(1).sum(1)


@torch.no_grad()
def negative_elbo(vae: ConvVAE, x: torch.Tensor, *, generator: torch.Generator | None = None,
                  n_samples: int = 1, excess: bool = False) -> torch.Tensor:
    """Negative ELBO of each image under ``vae``, in nats: ``-log p(x|z) + KL(q(z|x) | p(z))``
    (beta = 1 whatever beta the VAE was trained with; :func:`deep.vae.elbo_terms`).

    Parameters
    ----------
    vae : ConvVAE
    x : Tensor of shape (N, C, H, W)
    generator : torch.Generator, optional
        On ``x.device``. None: the deterministic posterior-mean estimate (``z = mu(x)``,
        which is not a bound); given: the Monte-Carlo estimate over ``n_samples`` draws
        ``z ~ q(z|x)`` (an unbiased estimate of the negative ELBO).
    n_samples : int, default 1
        Draws per image with a generator (>= 1).
    excess : bool, default False
        Subtract the reconstruction term's minimum over decoder outputs: for a bounded VAE
        the Bernoulli entropy ``sum_p H(x_p)`` of the image's pixels, so that an image is
        not penalised for being grey (for an unbounded one the minimum is 0).

    Returns
    -------
    Tensor of shape (N,), float32; lower = more likely under the VAE.
    """
    if not (isinstance(n_samples, int) and n_samples >= 1):
        raise ValueError(f"n_samples={n_samples!r} is not valid: expected an integer >= 1")
    floor = _nll_floor(vae, x) if excess else 0.0
    if generator is None:
        rec, kl = elbo_terms(vae, x, x.new_zeros(len(x), vae.latent_dim), reduction="none")
        return rec + kl - floor
    total = x.new_zeros(len(x))
    for _ in range(n_samples):
        eps = torch.randn(len(x), vae.latent_dim, generator=generator, device=x.device)
        rec, kl = elbo_terms(vae, x, eps, reduction="none")
        total += rec + kl
    return total / n_samples - floor


@torch.no_grad()
def reconstruction_mse(vae: ConvVAE, x: torch.Tensor) -> torch.Tensor:
    """Squared error per pixel of each image's reconstruction ``Dec(mu(x))``: x of shape
    (N, C, H, W) -> (N,). The per-image form of :func:`deep.vae.reconstruction_error`."""
    return (vae.decode(vae.encode(x)[0]) - x).pow(2).flatten(1).mean(1)


@torch.no_grad()
def pair_measures(vae: ConvVAE, x1: torch.Tensor, x2: torch.Tensor, lam: float, *,
                  scorer: ConvVAE | None = None, latent_vae: ConvVAE | None = None,
                  residual: bool = False, generator: torch.Generator | None = None,
                  n_samples: int = 1) -> dict[str, torch.Tensor]:
    """Off-segment distances and realism of the input mixup and the VarMixup of each pair.

    The mixups are made by :class:`~deep.mixing.MixUp` and :class:`~deep.mixing.VarMixup`
    (posterior means; ``residual`` as its option) on the batch ``[x1; x2]`` with each row of
    ``x1`` paired with the same row of ``x2``, so ``x_m = lam x1 + (1 - lam) x2`` and
    ``x_v = Dec(lam mu(x1) + (1 - lam) mu(x2))``.

    Parameters
    ----------
    vae : ConvVAE
        The VAE that makes the VarMixups.
    x1, x2 : Tensor of shape (P, C, H, W)
        The pairs; ``x1[i] != x2[i]`` (a pair of an image with itself has NaN distances).
    lam : float
        Weight of ``x1``, in [0, 1].
    scorer : ConvVAE, optional
        The VAE whose negative ELBO and reconstruction error measure realism (default:
        ``vae``, which favours its own decodes; see the module docstring).
    latent_vae : ConvVAE, optional
        The VAE whose encoder means give the latent off-segment distance (default: ``vae``,
        the latent space the figure refers to).
    residual : bool, default False
        Make the VarMixups with the reconstruction residual added back.
    generator, n_samples
        As :func:`negative_elbo`.

    Returns
    -------
    dict of str to Tensor of shape (P,)
        ``{mixup,varmixup}_off_segment`` (input space, to ``[x1, x2]``),
        ``{mixup,varmixup}_latent_off_segment`` (``mu(.)`` to ``[mu(x1), mu(x2)]``),
        ``{mixup,varmixup,real}_nelbo``, ``..._nelbo_excess`` (``excess=True``) and
        ``..._mse``; the ``real`` entries average those of ``x1[i]`` and ``x2[i]``.
    """
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam={lam!r} is not valid: expected a mixing weight in [0, 1]")
    _check_pairs(x1, x1, x2)
    scorer = vae if scorer is None else scorer
    latent_vae = vae if latent_vae is None else latent_vae
    P = len(x1)
    batch = torch.cat([x1, x2])  # (2P, C, H, W)
    perm = torch.arange(2 * P, device=batch.device).roll(P)  # row i <-> row i + P
    params = MixParams(lam=float(lam), perm=perm)
    y = batch.new_zeros(2 * P, 1)  # targets are not measured
    mixed = {"mixup": MixUp().apply(batch, y, params)[0][:P],
             "varmixup": VarMixup(vae, residual=residual).apply(batch, y, params)[0][:P]}
    out: dict[str, torch.Tensor] = {}
    for name, xm in mixed.items():
        out[f"{name}_off_segment"] = off_segment_distance(xm, x1, x2)
        out[f"{name}_latent_off_segment"] = latent_off_segment_distance(latent_vae, xm, x1, x2)
    for name, xs in (*mixed.items(), ("real", batch)):
        nelbo = negative_elbo(scorer, xs, generator=generator, n_samples=n_samples)
        scores = {"nelbo": nelbo, "nelbo_excess": nelbo - _nll_floor(scorer, xs),
                  "mse": reconstruction_mse(scorer, xs)}
        for key, v in scores.items():
            # real: (2P,) -> (P,), the mean of the pair's two images
            out[f"{name}_{key}"] = 0.5 * (v[:P] + v[P:]) if name == "real" else v
    return out
