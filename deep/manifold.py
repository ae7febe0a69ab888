r"""VarMixup's on-manifold claim (C7), measured on the toy manifold of its framework figure.

Mangla et al. (2021) illustrate VarMixup with a one-dimensional image manifold: a bar rotated
by an angle theta. Their method-overview figure shows the input mixup of a diagonal and a
horizontal bar as a double exposure (both bars, off the manifold) and the VarMixup sample
``Dec(lam mu(x1) + (1 - lam) mu(x2))`` as a single bar at an intermediate angle (claim C7:
"one object at an interpolated pose, not a double exposure"). This module makes that claim a
number:

1. :func:`render_bars` draws anti-aliased bars at given angles (a bar is symmetric, so theta
   has period pi);
2. :func:`train_bar_vae` trains the project's VAE (:class:`deep.vae.ConvVAE`, loss
   :func:`deep.vae.vae_loss`, shuffling :func:`deep.data.epoch_batches`) on bars at
   uniformly random angles;
3. :func:`measure_c7` draws pairs ``(theta1, theta2)`` whose angular separation lies in a
   stated range, decodes the latent mixup of their posterior means and compares it, by mean
   squared error per pixel, with (a) the single bar rendered at the interpolated angle and
   (b) the double exposure ``lam x1 + (1 - lam) x2`` (the input mixup). A second measure
   fits a single bar to the decode by a grid search over rendered angles: its angle error
   with respect to the interpolated angle and its residual;
4. :func:`c7_verdict` turns the per-seed summaries into held / mixed / did not hold.

``python -m deep.manifold --out runs/manifold`` trains one VAE per seed and writes
``result.json`` (config, seeds, per-seed summaries, verdict) and ``grid.png``, atomically.

Why :func:`deep.vae.train_vae` is not called: it takes a :class:`deep.config.VAEConfig`,
whose ``dataset`` must be one of the project's named data sets and is recorded in the
``vae.pt`` it writes (a bar VAE would be labelled, and loadable by VarMixup, as e.g. a digits
VAE). The loop here is the same one (Adam, reparameterised ELBO with ``beta``, shuffled
batches of a fixed size, independent seeded streams for initialisation, shuffling and
noise) without the run-directory machinery.

References
----------
Mangla, Singh, Havaldar & Balasubramanian (2021), "On the benefits of defining vicinal
distributions in latent space", Pattern Recognition Letters 152, method-overview figure
(the bar manifold, input mixup vs latent mixup). Kingma & Welling (2014), the VAE.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from logitreg.io import atomic_write, provenance, save_json

from .config import derive_seeds
from .data import epoch_batches
from .vae import ConvVAE, vae_loss

__all__ = ["ManifoldConfig", "c7_verdict", "fit_single_bar", "main", "measure_c7",
           "render_bars", "run", "train_bar_vae", "wrap_angle"]

PROG = "python -m deep.manifold"


# ----------------------------------------------------------------------------- rendering


def wrap_angle(a: torch.Tensor) -> torch.Tensor:
    """Angles folded into [-pi/2, pi/2): the signed difference between two bar angles
    (a bar at theta equals the bar at theta + pi)."""
    return torch.remainder(a + math.pi / 2, math.pi) - math.pi / 2


def render_bars(thetas: torch.Tensor | np.ndarray | list[float], size: int = 16, *,
                length: float = 0.75, thickness: float = 2.0) -> torch.Tensor:
    """Anti-aliased images of a bar through the image centre at angles ``thetas``.

    The bar is the segment of length ``length * size`` pixels centred on the image centre
    ``((size - 1) / 2, (size - 1) / 2)`` (pixel-centre coordinates), at angle theta
    counter-clockwise from the horizontal as the image is displayed (row 0 at the top). A
    pixel's value is ``clip(thickness / 2 + 1/2 - d, 0, 1)``, ``d`` the distance of its
    centre to the segment: 1 inside the bar, a one-pixel linear ramp at its edge (an
    approximation of the area the bar covers), 0 outside. So ``render(theta + pi) ==
    render(theta)`` exactly and ``render(theta + pi/2)`` is ``render(theta)`` turned a
    quarter turn (``torch.rot90``), up to rounding.

    Parameters
    ----------
    thetas : array-like of shape (n,)
        Angles in radians.
    size : int, default 16
        Image side H = W in pixels (>= 4).
    length : float, default 0.75
        Bar length as a fraction of ``size``, in (0, 1].
    thickness : float, default 2.0
        Bar width in pixels, > 0.

    Returns
    -------
    Tensor of shape (n, 1, size, size), float32, values in [0, 1].
    """
    if not (isinstance(size, int) and size >= 4):
        raise ValueError(f"size={size!r} is not valid: expected an integer image side >= 4")
    if not 0.0 < length <= 1.0:
        raise ValueError(f"length={length!r} is not valid: expected a fraction of the image "
                         "side in (0, 1]")
    if not thickness > 0.0:
        raise ValueError(f"thickness={thickness!r} is not valid: expected a width in pixels > 0")
    t = torch.as_tensor(thetas, dtype=torch.float64).reshape(-1)  # (n,)
    if not torch.isfinite(t).all():
        raise ValueError("thetas contains NaN or infinite values: expected finite angles in "
                         "radians")
    c = (size - 1) / 2
    coords = torch.arange(size, dtype=torch.float64) - c
    px = coords[None, :].expand(size, size)  # x to the right
    py = -coords[:, None].expand(size, size)  # y up (row 0 at the top)
    ux, uy = torch.cos(t)[:, None, None], torch.sin(t)[:, None, None]  # (n, 1, 1)
    half = length * size / 2
    s = (px * ux + py * uy).clamp(-half, half)  # (n, H, W): position along the bar
    d = torch.hypot(px - s * ux, py - s * uy)
    img = (thickness / 2 + 0.5 - d).clamp(0.0, 1.0)
    return img.float().unsqueeze(1)


def bar_training_set(n: int, size: int, generator: torch.Generator, **render) -> tuple[
        torch.Tensor, torch.Tensor]:
    """``n`` bars at i.i.d. uniform angles in [0, pi): ``(thetas (n,), images (n, 1, H, W))``."""
    thetas = torch.rand(n, generator=generator, dtype=torch.float64) * math.pi
    return thetas, render_bars(thetas, size, **render)


# ----------------------------------------------------------------------------- the VAE


def train_bar_vae(x: torch.Tensor, *, latent_dim: int, width: int, epochs: int,
                  batch_size: int, lr: float, beta: float, seed: int,
                  device: str | torch.device = "cpu") -> tuple[ConvVAE, dict]:
    """Train :class:`deep.vae.ConvVAE` (Bernoulli decoder) on images ``x`` (N, 1, H, W).

    Adam on :func:`deep.vae.vae_loss` (the negative ELBO when ``beta = 1``), shuffled
    batches from :func:`deep.data.epoch_batches`; initialisation, shuffling and
    reparameterisation noise come from three streams derived from ``seed``
    (:func:`deep.config.derive_seeds`). Returns the frozen VAE (eval mode, no grad) and a
    record: the derived seeds, the last epoch's mean loss / reconstruction NLL / KL (nats
    per image) and the training time.
    """
    if len(x) < batch_size:
        raise ValueError(f"batch_size={batch_size} exceeds the {len(x)} training images: "
                         "expected a smaller batch size or more images")
    device = torch.device(device)
    seeds = derive_seeds(seed, ("init", "data", "noise"))
    torch.manual_seed(seeds["init"])
    vae = ConvVAE(tuple(x.shape[1:]), latent_dim, width, bounded=True).to(device)
    opt = torch.optim.Adam(vae.parameters(), lr=lr)
    g_data = torch.Generator(device).manual_seed(seeds["data"])
    g_noise = torch.Generator(device).manual_seed(seeds["noise"])
    x = x.to(device)
    t0 = time.perf_counter()
    sums = torch.zeros(3, device=device)
    for _ in range(epochs):
        sums.zero_()
        batches = epoch_batches(len(x), batch_size, g_data)
        for idx in batches:
            eps = torch.randn(len(idx), latent_dim, generator=g_noise, device=device)
            loss, rec, kl = vae_loss(vae, x[idx], eps, beta)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sums += torch.stack([loss.detach(), rec.detach(), kl.detach()])
        if not torch.isfinite(sums).all():
            raise FloatingPointError(f"the bar VAE's loss diverged (lr={lr}): expected a "
                                     "smaller learning rate")
    loss, rec, kl = (sums / len(batches)).tolist()
    vae.requires_grad_(False).eval()
    return vae, {"seeds": seeds, "train_loss": loss, "train_rec_nll": rec, "train_kl": kl,
                 "train_seconds": time.perf_counter() - t0}


# ----------------------------------------------------------------------------- measures


def _mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean squared error per pixel of each row: (N, ...) x (N, ...) -> (N,) float64."""
    return (a.double() - b.double()).pow(2).flatten(1).mean(1)


@torch.no_grad()
def fit_single_bar(x: torch.Tensor, size: int, *, n_angles: int = 180, chunk: int = 256,
                   **render) -> tuple[torch.Tensor, torch.Tensor]:
    """The single bar closest to each image: a grid search over ``n_angles`` angles
    ``k pi / n_angles`` of :func:`render_bars` (same ``size`` and ``render`` options).

    x : Tensor of shape (N, 1, size, size). Returns ``(angle (N,), mse (N,))``, float64: the
    best angle in [0, pi) and its mean squared error per pixel (the residual of the best
    single-bar explanation; a double exposure of two bars far apart has a large one).
    """
    grid = torch.arange(n_angles, dtype=torch.float64) * (math.pi / n_angles)
    templates = render_bars(grid, size, **render).to(x.device).flatten(1).double()  # (A, D)
    best_a, best_e = [], []
    for xb in x.flatten(1).double().split(chunk):
        # |x - t|^2 = |x|^2 - 2 x.t + |t|^2, (B, A)
        e = (xb.pow(2).sum(1, keepdim=True) - 2 * xb @ templates.T
             + templates.pow(2).sum(1)[None]) / xb.shape[1]
        v, k = e.min(1)
        best_a.append(grid.to(x.device)[k])
        best_e.append(v.clamp_min(0.0))
    return torch.cat(best_a).cpu(), torch.cat(best_e).cpu()


def _mean_se(v: torch.Tensor) -> dict:
    v = v.double()
    n = len(v)
    return {"mean": v.mean().item(),
            "se": (v.std(unbiased=True) / math.sqrt(n)).item() if n > 1 else None}


@torch.no_grad()
def measure_c7(vae: ConvVAE, *, size: int, n_pairs: int, min_sep_deg: float,
               max_sep_deg: float, lam: float, generator: torch.Generator,
               n_angles: int = 180, **render) -> tuple[dict, dict[str, torch.Tensor]]:
    r"""Claim C7 on the bar manifold: is ``Dec(lam mu1 + (1 - lam) mu2)`` one bar at the
    interpolated angle, or a double exposure?

    Pairs: ``theta1 ~ U[0, pi)``, separation ``s ~ U[min_sep, max_sep]`` with a random sign,
    ``theta2 = theta1 + s`` (all from ``generator``). The interpolated angle is
    ``theta_lam = theta1 + (1 - lam) s`` (the pose halfway along the shorter arc for
    ``lam = 1/2``; keep ``max_sep`` below 90 degrees, where the two arcs are equally short).
    With ``x_i = render(theta_i)``, ``mu_i`` the encoder means:

    * ``decode = Dec(lam mu1 + (1 - lam) mu2)`` (VarMixup with posterior means),
    * ``single = render(theta_lam)``, the bar at the interpolated pose,
    * ``double = lam x1 + (1 - lam) x2``, the double exposure (the input mixup),

    and per pair ``mse_single = MSE(decode, single)``, ``mse_double = MSE(decode, double)``
    (per pixel), ``diff = mse_double - mse_single`` (> 0: closer to the single bar). The
    input mixup is the reference: it *is* ``double``, so its ``mse_double`` is 0 and its
    ``diff = -MSE(single, double)``. Two floors: ``recon_single_mse``, the error of the
    VAE's own reconstruction of ``single`` (what a perfect interpolation would score,
    given the decoder's blur), and ``single_vs_double_mse``, the distance between the two
    candidates. The second measure, :func:`fit_single_bar` on the decode: the best-fitting
    angle's error ``|wrap(angle - theta_lam)|`` in degrees and its residual MSE, beside the
    same for the double exposure and for ``Dec(mu(single))``.

    Returns
    -------
    summary : dict
        Per measure ``{"mean", "se"}`` (standard error of the mean over pairs), the fraction
        of pairs with the decode closer to ``single`` (``frac_decode_closer_single``; for the
        input mixup ``frac_mixup_closer_single``), ``n_pairs``, the same per third of the
        separation range (``by_separation``), and the VAE's active latent units on the bar
        manifold (``active_dims``, ``latent_var_by_dim``).
    per_pair : dict of str to Tensor
        Shape (n_pairs,): the angles (radians), ``sep_deg`` and every per-pair value;
        shape (n_pairs, 1, size, size): the images ``x1``, ``x2``, ``decode``, ``single``,
        ``double`` (for the grid and for tests).
    """
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam={lam!r} is not valid: expected a mixing weight in [0, 1]")
    if not 0.0 < min_sep_deg <= max_sep_deg < 90.0:
        raise ValueError(f"separation range [{min_sep_deg}, {max_sep_deg}] degrees is not "
                         "valid: expected 0 < min_sep_deg <= max_sep_deg < 90 (at 90 degrees "
                         "two bar angles have two equally short arcs between them)")
    if not (isinstance(n_pairs, int) and n_pairs >= 2):
        raise ValueError(f"n_pairs={n_pairs!r} is not valid: expected an integer >= 2")
    device = next(vae.parameters()).device
    th1 = torch.rand(n_pairs, generator=generator, dtype=torch.float64) * math.pi
    u = torch.rand(n_pairs, generator=generator, dtype=torch.float64)
    sign = torch.randint(0, 2, (n_pairs,), generator=generator).double() * 2 - 1
    sep = sign * torch.deg2rad(min_sep_deg + u * (max_sep_deg - min_sep_deg))
    th2 = th1 + sep
    th_mid = th1 + (1 - lam) * sep
    x1, x2, single = (render_bars(t, size, **render).to(device) for t in (th1, th2, th_mid))
    mu1, mu2, mu_s = (vae.encode(x)[0] for x in (x1, x2, single))
    decode = vae.decode(lam * mu1 + (1 - lam) * mu2)
    double = lam * x1 + (1 - lam) * x2
    recon_single = vae.decode(mu_s)

    pp: dict[str, torch.Tensor] = {"theta1": th1, "theta2": th2, "theta_mid": th_mid}
    pp["mse_single"] = _mse(decode, single).cpu()
    pp["mse_double"] = _mse(decode, double).cpu()
    pp["diff"] = pp["mse_double"] - pp["mse_single"]
    pp["mixup_mse_single"] = _mse(double, single).cpu()
    pp["recon_single_mse"] = _mse(recon_single, single).cpu()
    for name, img in (("decode", decode), ("mixup", double), ("recon_single", recon_single)):
        ang, res = fit_single_bar(img, size, n_angles=n_angles, **render)
        pp[f"{name}_fit_angle_err_deg"] = torch.rad2deg(wrap_angle(ang - th_mid).abs())
        pp[f"{name}_fit_mse"] = res
    # The input mixup is measured like the decode (it is the double exposure, so its
    # MSE to ``double`` is 0 and it is never closer to ``single``: a check of the pipeline).
    pp["mixup_diff"] = _mse(double, double).cpu() - pp["mixup_mse_single"]
    summary = {"n_pairs": n_pairs,
               "frac_decode_closer_single": (pp["diff"] > 0).double().mean().item(),
               "frac_mixup_closer_single": (pp["mixup_diff"] > 0).double().mean().item()}
    for key in ("mse_single", "mse_double", "diff", "mixup_mse_single", "recon_single_mse",
                "decode_fit_angle_err_deg", "decode_fit_mse", "mixup_fit_angle_err_deg",
                "mixup_fit_mse", "recon_single_fit_angle_err_deg", "recon_single_fit_mse"):
        summary[key] = _mean_se(pp[key])
    summary["single_vs_double_mse"] = summary["mixup_mse_single"]
    summary["mixup_diff"] = _mean_se(pp["mixup_diff"])
    # The same per third of the separation range (wider pairs: the latent chord cuts
    # deeper inside the curve the codes lie on).
    sep_deg = pp["sep_deg"] = torch.rad2deg(sep.abs())
    edges = torch.linspace(min_sep_deg, max_sep_deg, 4, dtype=torch.float64)
    summary["by_separation"] = []
    for lo, hi in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        m = (sep_deg >= lo) & ((sep_deg < hi) if hi < max_sep_deg else (sep_deg <= hi))
        if m.sum() < 2:
            continue
        summary["by_separation"].append({
            "sep_deg": [lo, hi], "n_pairs": int(m.sum()),
            "frac_decode_closer_single": (pp["diff"][m] > 0).double().mean().item(),
            **{k: _mean_se(pp[k][m]) for k in ("mse_single", "mse_double",
                                               "decode_fit_angle_err_deg")}})
    # Active latent units (Burda, Grosse & Salakhutdinov 2016): dimensions whose encoder
    # mean varies across the manifold, Var_theta(mu_j(render(theta))) > 0.01, over the
    # grid of n_angles angles. A circle needs at least 2.
    grid = torch.arange(n_angles, dtype=torch.float64) * (math.pi / n_angles)
    mu_grid = vae.encode(render_bars(grid, size, **render).to(device))[0]
    var = mu_grid.double().var(0, unbiased=True).cpu()
    summary["active_dims"] = int((var > 0.01).sum())
    summary["latent_var_by_dim"] = sorted(var.tolist(), reverse=True)
    pp["decode"], pp["single"], pp["double"] = decode.cpu(), single.cpu(), double.cpu()
    pp["x1"], pp["x2"] = x1.cpu(), x2.cpu()
    return summary, pp


def c7_verdict(result: dict) -> tuple[str, str]:
    """Verdict on claim C7 from :func:`run`'s result (``result["seeds"]``: one summary of
    :func:`measure_c7` per VAE seed, under ``"c7"``).

    Rule, per seed, with ``f`` the fraction of pairs whose decode is closer to the single
    bar than to the double exposure and ``D +- SE`` the mean over pairs of
    ``MSE(decode, double) - MSE(decode, single)`` with its standard error:

    * the seed *favours the single bar* if ``f > 1/2`` and ``D > 2 SE``;
    * it *favours the double exposure* if ``f < 1/2`` and ``D < -2 SE``;
    * otherwise it is inconclusive.

    ``held`` if every seed favours the single bar; ``did not hold`` if every seed favours
    the double exposure; ``mixed`` otherwise (seeds disagree or one is inconclusive).
    Needs at least one seed; a result without seeds raises ``ValueError``.

    Returns
    -------
    (verdict, why) : (str, str)
        ``verdict`` in {"held", "mixed", "did not hold"}; ``why`` names each seed's numbers.
    """
    seeds = result.get("seeds") if isinstance(result, dict) else None
    if not seeds:
        raise ValueError("result has no per-seed summaries: expected result['seeds'], a list "
                         "of {'seed': ..., 'c7': summary of measure_c7}")
    calls, parts = [], []
    for s in seeds:
        c7 = s["c7"]
        f, d, se = (c7["frac_decode_closer_single"], c7["diff"]["mean"], c7["diff"]["se"])
        se = 0.0 if se is None else se
        if f > 0.5 and d > 2 * se:
            call = "single"
        elif f < 0.5 and d < -2 * se:
            call = "double"
        else:
            call = "inconclusive"
        calls.append(call)
        parts.append(f"seed {s['seed']}: {100 * f:.1f}% of {c7['n_pairs']} pairs closer to the "
                     f"single bar, MSE(double) - MSE(single) = {d:.4g} +- {se:.2g} ({call})")
    if all(c == "single" for c in calls):
        verdict = "held"
    elif all(c == "double" for c in calls):
        verdict = "did not hold"
    else:
        verdict = "mixed"
    return verdict, "; ".join(parts)


# ----------------------------------------------------------------------------- the command


@dataclass(frozen=True)
class ManifoldConfig:
    """Options of ``python -m deep.manifold`` (the defaults are the documented run).

    The paper gives none of these (its toy figure is a drawing): image size, bar shape,
    VAE size and training, the separation range and the number of pairs are this
    reimplementation's choices.
    """

    out: str = "runs/manifold"
    seeds: int = 3
    first_seed: int = 0
    size: int = 16
    length: float = 0.75
    thickness: float = 2.0
    n_train: int = 4096
    latent_dim: int = 8
    width: int = 32
    epochs: int = 30
    batch_size: int = 128
    lr: float = 2e-3
    beta: float = 1.0
    n_pairs: int = 500
    min_sep_deg: float = 30.0
    max_sep_deg: float = 75.0
    lam: float = 0.5
    n_angles: int = 180
    grid_pairs: int = 6
    device: str = "cpu"
    threads: int | None = None
    quick: bool = False

    def __post_init__(self) -> None:
        for name, lo in (("seeds", 1), ("size", 4), ("n_train", 2), ("latent_dim", 1),
                         ("width", 1), ("epochs", 1), ("batch_size", 1), ("n_pairs", 2),
                         ("n_angles", 2), ("grid_pairs", 0), ("first_seed", 0)):
            v = getattr(self, name)
            if not (isinstance(v, int) and not isinstance(v, bool) and v >= lo):
                raise ValueError(f"--{name.replace('_', '-')}={v!r} is not valid: expected an "
                                 f"integer >= {lo}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"--threads={self.threads!r} is not valid: expected >= 1")
        if not self.lr > 0 or not self.beta >= 0:
            raise ValueError(f"--lr={self.lr!r}, --beta={self.beta!r} are not valid: expected "
                             "lr > 0 and beta >= 0")
        if not 0.0 < self.min_sep_deg <= self.max_sep_deg < 90.0:
            raise ValueError(f"--min-sep-deg={self.min_sep_deg}, --max-sep-deg="
                             f"{self.max_sep_deg}: the separation range is not valid: expected "
                             "0 < min <= max < 90 degrees")
        if not 0.0 <= self.lam <= 1.0:
            raise ValueError(f"--lam={self.lam!r} is not valid: expected a mixing weight in "
                             "[0, 1]")
        if not (0.0 < self.length <= 1.0 and self.thickness > 0.0):
            raise ValueError(f"--length={self.length!r}, --thickness={self.thickness!r} are not "
                             "valid: expected 0 < length <= 1 and thickness > 0")
        if self.device != "cpu" and not self.device.startswith("cuda"):
            raise ValueError(f"--device={self.device!r} is not valid: expected cpu, cuda or "
                             "cuda:N")

    def effective(self) -> ManifoldConfig:
        """With ``--quick``: a smoke run (2 epochs, 512 images, 64 pairs, <= 2 seeds)."""
        if not self.quick:
            return self
        return dataclasses.replace(self, n_train=min(self.n_train, 512),
                                   epochs=min(self.epochs, 2), n_pairs=min(self.n_pairs, 64),
                                   seeds=min(self.seeds, 2), batch_size=min(self.batch_size, 64))


def _save_grid(pps: list[dict], path: Path, n: int) -> None:
    """PNG, one row per pair: x1, x2, latent-midpoint decode, single bar at the interpolated
    angle, double exposure. ``n`` pairs per seed (one block of rows per entry of ``pps``),
    chosen to span the separation range (smallest separation first); pixels repeated so
    that the image is legible."""
    from torchvision.utils import save_image

    cols = ("x1", "x2", "decode", "single", "double")
    rows = []
    for pp in pps:
        order = torch.argsort(pp["sep_deg"])
        pick = order[torch.linspace(0, len(order) - 1, min(n, len(order))).round().long()]
        rows += [pp[c][i] for i in pick.tolist() for c in cols]
    grid = torch.stack(rows).float()
    scale = max(1, 64 // grid.shape[-1])
    grid = grid.repeat_interleave(scale, dim=-2).repeat_interleave(scale, dim=-1)
    buf = io.BytesIO()
    save_image(grid, buf, format="png", nrow=len(cols), padding=2, pad_value=0.5)
    atomic_write(path, lambda fh: fh.write(buf.getvalue()))


def run(cfg: ManifoldConfig, *, log=print) -> dict:
    """Train one bar VAE per seed, measure C7, write ``result.json`` and ``grid.png``.

    Seed ``s`` (``first_seed .. first_seed + seeds - 1``) derives independent streams for
    the training angles (``data``), the VAE (``vae``, see :func:`train_bar_vae`) and the
    evaluation pairs (``pairs``); all are saved in ``result.json``.
    """
    cfg = cfg.effective()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    render = {"length": cfg.length, "thickness": cfg.thickness}
    out = Path(cfg.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out={out} is a file: expected a directory (or none yet)")
    t0 = time.perf_counter()
    per_seed, pps = [], []
    for seed in range(cfg.first_seed, cfg.first_seed + cfg.seeds):
        streams = derive_seeds(seed, ("data", "vae", "pairs"))
        _, x = bar_training_set(cfg.n_train, cfg.size,
                                torch.Generator().manual_seed(streams["data"]), **render)
        vae, train = train_bar_vae(x, latent_dim=cfg.latent_dim, width=cfg.width,
                                   epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr,
                                   beta=cfg.beta, seed=streams["vae"], device=cfg.device)
        c7, pp = measure_c7(vae, size=cfg.size, n_pairs=cfg.n_pairs,
                            min_sep_deg=cfg.min_sep_deg, max_sep_deg=cfg.max_sep_deg,
                            lam=cfg.lam, generator=torch.Generator().manual_seed(streams["pairs"]),
                            n_angles=cfg.n_angles, **render)
        pps.append(pp)
        per_seed.append({"seed": seed, "streams": streams, "train": train, "c7": c7})
        log(f"seed {seed}: decode closer to the single bar in "
            f"{100 * c7['frac_decode_closer_single']:.1f}% of pairs; MSE(decode, single) "
            f"{c7['mse_single']['mean']:.4f} +- {c7['mse_single']['se']:.4f}, MSE(decode, "
            f"double) {c7['mse_double']['mean']:.4f} +- {c7['mse_double']['se']:.4f}; "
            f"fitted-angle error {c7['decode_fit_angle_err_deg']['mean']:.1f} deg; "
            f"{c7['active_dims']} active latent dims "
            f"(train {train['train_seconds']:.0f} s)")
    result = {"claim": "VarMixup C7: Dec(lam z1 + (1 - lam) z2) is one bar at the "
                       "interpolated angle, not a double exposure (Mangla et al. 2021, "
                       "method-overview figure)",
              "config": dataclasses.asdict(cfg), "seeds": per_seed,
              "seconds": time.perf_counter() - t0, **provenance(),
              "torch": torch.__version__, "argv": sys.argv}
    verdict, why = c7_verdict(result)
    result["verdict"], result["why"] = verdict, why
    save_json(out / "result.json", result)
    if cfg.grid_pairs:
        _save_grid(pps, out / "grid.png", cfg.grid_pairs)
    log(f"C7 {verdict}: {why}")
    log(f"wrote {out / 'result.json'}" + (f" and {out / 'grid.png'}" if cfg.grid_pairs else ""))
    return result


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=(
        "VarMixup claim C7 on the bar manifold: is the latent-midpoint decode one bar at the "
        "interpolated angle or a double exposure? (deep/manifold.py)"))
    helps = {
        "out": "output folder for result.json and grid.png",
        "seeds": "number of VAE seeds", "first_seed": "first seed",
        "size": "image side in pixels", "length": "bar length as a fraction of the side",
        "thickness": "bar width in pixels", "n_train": "training bars (uniform angles)",
        "latent_dim": "VAE latent size", "width": "VAE base channel width",
        "epochs": "VAE training epochs", "batch_size": "batch size", "lr": "Adam learning rate",
        "beta": "KL weight beta (1 = plain VAE)", "n_pairs": "evaluation pairs per seed",
        "min_sep_deg": "smallest angular separation of a pair, degrees",
        "max_sep_deg": "largest angular separation of a pair, degrees (< 90)",
        "lam": "mixing weight of the first image",
        "n_angles": "angles of the single-bar grid search",
        "grid_pairs": "pairs per seed in grid.png (0: no grid)",
        "device": "cpu, cuda or cuda:N", "threads": "torch CPU threads (default: torch's)",
        "quick": "smoke run: 2 epochs, 512 images, 64 pairs, at most 2 seeds"}
    for f in dataclasses.fields(ManifoldConfig):
        name = "--" + f.name.replace("_", "-")
        if f.type in ("bool", bool):
            p.add_argument(name, action="store_true", help=helps[f.name])
            continue
        tp = {"int": int, "float": float, "str": str, "int | None": int}[f.type]
        p.add_argument(name, type=tp, default=f.default, dest=f.name,
                       help=f"{helps[f.name]} (default: {f.default})")
    return p


def main(argv: list[str] | None = None) -> dict | None:
    """``python -m deep.manifold``; exit status 2 for bad input (one line on stderr)."""
    from logitreg.cli import run_command

    args = _parser().parse_args(argv)
    result = []
    status = run_command(PROG, lambda: result.append(run(ManifoldConfig(**vars(args)))),
                         diverged_flag="--lr")
    if status:
        raise SystemExit(status)
    return result[0]


if __name__ == "__main__":
    main()
