r"""A convolutional VAE per data set, trained once and frozen for VarMixup.

``python -m deep.vae --dataset digits`` trains one and writes, in ``runs/<run-name>/``:

* ``vae.pt``: the checkpoint VarMixup reads (``--vae-checkpoint``), with its data config;
* ``grid.png``: for 8 test pairs (x1, x2), a row of pixel mixups ``l x1 + (1-l) x2`` and,
  below it, a row of latent mixups ``Dec(l mu1 + (1-l) mu2)``, at l = 1, 3/4, 1/2, 1/4, 0
  (the VarMixup paper's framework figure; the end columns of a latent row are
  reconstructions);
* ``config.json``, ``metrics.jsonl`` (per epoch) and ``results.json`` (test
  reconstruction error);
* ``checkpoint.pt``, rewritten atomically after every epoch: ``--resume`` continues an
  interrupted run (or one stopped by ``--stop-after``) from it.

``--augment`` trains on the classifier's augmentations (:func:`deep.data.augment`, the
padded random crops and flips of ``python -m deep.train``, with ``--crop-pad`` and
``--hflip`` resolved as there), drawn per batch from the run's own ``augment`` stream.
Mangla et al. (2021) do not say whether augmentation comes before encoding; with it, the
VAE is fitted to the images VarMixup will encode (off by default: the VAE sees the
training images as they are).

Model: Gaussian encoder ``q(z|x) = N(mu(x), diag exp(logvar(x)))``; decoder mean ``g(z)``;
loss per image ``-log p(x|z) + beta KL(q(z|x) | N(0, I))`` (the negative ELBO when
beta = 1) with a Bernoulli likelihood (sigmoid output, binary cross-entropy) for [0, 1]
images and a Gaussian one of variance 1/2 (squared error, linear output) for
``synthetic``. Reported reconstruction error: mean squared error per pixel of
``g(mu(x))``.

References
----------
Kingma & Welling (2014); Mangla et al. (2021), whose method-overview figure encodes two
images with a VAE, interpolates the codes and decodes the mixup.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from logitreg.io import provenance, save_json

from ._io import (
    VAE_CHECKPOINT,
    VAE_TRAIN_CHECKPOINT,
    append_metrics,
    atomic_torch_save,
    check_loss,
    error_summary,
    load_checkpoint,
    machine_name,
    open_run_dir,
    restore_states,
)
from .cli import run_cli
from .config import DataConfig, VAEConfig, derive_seeds
from .data import ImageData, augment, epoch_batches, load_dataset

__all__ = ["ConvVAE", "elbo_terms", "load_vae", "train_vae", "vae_loss", "save_mixup_grid",
           "main"]

CHECKPOINT_FORMAT = VAE_CHECKPOINT  # vae.pt, read by VarMixup
TRAINING_FORMAT = VAE_TRAIN_CHECKPOINT  # checkpoint.pt, read by --resume
CHECKPOINT_KEYS = ("arch", "state_dict", "data")
TRAINING_KEYS = ("epoch", "state_dict", "optimizer", "rng")


class ConvVAE(nn.Module):
    """Convolutional VAE on images of shape (C, H, W).

    The encoder halves the resolution with 4x4 stride-2 convolutions (widths w, 2w, 4w, ...)
    while both sides are even and larger than 4, then a linear layer gives ``mu`` and
    ``logvar``; the decoder mirrors it with nearest-neighbour 2x upsampling and 3x3 convs.

    Parameters
    ----------
    image_shape : (C, H, W)
    latent_dim : int
    width : int
    bounded : bool
        Sigmoid decoder output for images in [0, 1]; linear otherwise.
    """

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int, width: int,
                 bounded: bool) -> None:
        super().__init__()
        c, h, w = image_shape
        chans = [c]
        while h % 2 == 0 and w % 2 == 0 and min(h, w) > 4 and len(chans) <= 4:
            chans.append(width * 2 ** (len(chans) - 1))
            h, w = h // 2, w // 2
        self.image_shape, self.latent_dim, self.width, self.bounded = (
            tuple(image_shape), latent_dim, width, bounded)
        self._inner = (chans[-1], h, w)
        enc: list[nn.Module] = []
        for cin, cout in zip(chans[:-1], chans[1:], strict=True):
            enc += [nn.Conv2d(cin, cout, 4, 2, 1), nn.ReLU(inplace=True)]
        self.encoder = nn.Sequential(*enc, nn.Flatten(), nn.Linear(chans[-1] * h * w,
                                                                   2 * latent_dim))
        dec: list[nn.Module] = []
        for i, (cout, cin) in enumerate(reversed(list(zip(chans[:-1], chans[1:], strict=True)))):
            # Upsample + 3x3 conv: no checkerboard artefacts, and fast on CPU (oneDNN),
            # unlike ConvTranspose2d.
            dec += [nn.Upsample(scale_factor=2), nn.Conv2d(cin, cout, 3, 1, 1)]
            if i < len(chans) - 2:
                dec.append(nn.ReLU(inplace=True))
        self.fc_dec = nn.Linear(latent_dim, chans[-1] * h * w)
        self.decoder = nn.Sequential(*dec)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, logvar)``, each (B, latent_dim), for x of shape (B, C, H, W)."""
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def decode_raw(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder output before the sigmoid (logits when ``bounded``), (B, C, H, W)."""
        h = self.fc_dec(z).view(-1, *self._inner)  # (B, C', H', W')
        return self.decoder(torch.relu(h)) if len(self.decoder) else h

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder mean ``g(z)`` of shape (B, C, H, W) for z of shape (B, latent_dim)."""
        h = self.decode_raw(z)
        return torch.sigmoid(h) if self.bounded else h

    def arch(self) -> dict:
        return {"image_shape": list(self.image_shape), "latent_dim": self.latent_dim,
                "width": self.width, "bounded": self.bounded}


def elbo_terms(vae: ConvVAE, x: torch.Tensor, eps: torch.Tensor, reduction: str = "mean"
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """The two terms of the negative ELBO, ``-log p(x|z)`` and ``KL(q(z|x) | N(0, I))``, in nats.

    ``z = mu(x) + sigma(x) eps`` (the reparameterisation; ``eps`` of shape (B, latent_dim) is
    drawn by the caller, and ``eps = 0`` decodes the posterior mean). The reconstruction
    term is the Bernoulli NLL (binary cross-entropy summed over pixels) for a bounded VAE
    ([0, 1] images) and the squared error summed over pixels (Gaussian, variance 1/2) for
    ``synthetic``; the KL is in closed form (Kingma & Welling 2014, Appendix B).

    Parameters
    ----------
    vae : ConvVAE
    x : Tensor of shape (B, C, H, W)
    eps : Tensor of shape (B, latent_dim)
    reduction : {"mean", "none"}
        Batch means, shape (), or one value per image, shape (B,).
    """
    mu, logvar = vae.encode(x)
    out = vae.decode_raw(mu + (0.5 * logvar).exp() * eps)
    if reduction not in ("mean", "none"):
        raise ValueError(f"reduction={reduction!r} is not valid: expected mean or none")
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1)  # (B,)
    if vae.bounded and reduction == "mean":  # the fused sum, as training has always used
        return F.binary_cross_entropy_with_logits(out, x, reduction="sum") / len(x), kl.mean()
    if vae.bounded:
        rec = F.binary_cross_entropy_with_logits(out, x, reduction="none").flatten(1).sum(1)
    else:
        rec = (out - x).pow(2).flatten(1).sum(1)
    return (rec, kl) if reduction == "none" else (rec.mean(), kl.mean())


def vae_loss(vae: ConvVAE, x: torch.Tensor, eps: torch.Tensor, beta: float
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-batch means of (loss, reconstruction NLL, KL), reparameterised by ``eps``:
    ``loss = NLL + beta KL`` from :func:`elbo_terms` (the negative ELBO when beta = 1)."""
    rec, kl = elbo_terms(vae, x, eps)
    return rec + beta * kl, rec, kl


def load_vae(path: str | Path, device: torch.device | str = "cpu") -> tuple[ConvVAE, dict]:
    """Load a frozen (eval, no grad) VAE and the checkpoint's metadata.

    Raises ``FileNotFoundError`` naming ``--vae-checkpoint`` if ``path`` is missing, and
    ``ValueError`` naming it if it is not a ``vae.pt`` written by ``python -m deep.vae``
    (garbled, truncated, another checkpoint, or weights that do not fit its architecture).
    """
    path = Path(path)
    label, expected = f"--vae-checkpoint={path}", "the vae.pt written by python -m deep.vae"
    if not path.is_file():
        raise FileNotFoundError(
            f"{label} {'is a directory' if path.is_dir() else 'does not exist'}: expected "
            "the vae.pt written by python -m deep.vae --dataset <dataset> (see docs/deep.md)"
        )
    ckpt = load_checkpoint(path, CHECKPOINT_FORMAT, CHECKPOINT_KEYS, label=label,
                           expected=expected)
    try:
        a, data = ckpt["arch"], ckpt["data"]
        shape = tuple(int(n) for n in a["image_shape"])
        if len(shape) != 3 or not isinstance(data["dataset"], str):
            raise ValueError(f"image shape {shape}, data set {data['dataset']!r}")
        vae = ConvVAE(shape, a["latent_dim"], a["width"], a["bounded"])
        vae.load_state_dict(ckpt["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError) as e:
        raise ValueError(f"{label} is a damaged {CHECKPOINT_FORMAT} checkpoint "
                         f"({error_summary(e)}): expected {expected}") from e
    vae.requires_grad_(False).eval().to(device)
    return vae, {k: v for k, v in ckpt.items() if k != "state_dict"}


@torch.no_grad()
def reconstruction_error(vae: ConvVAE, x: torch.Tensor, batch_size: int = 1024) -> float:
    """Mean squared error per pixel of ``Dec(mu(x))`` over ``x`` (B, C, H, W)."""
    total = torch.zeros((), device=x.device)
    for xb in x.split(batch_size):
        total += (vae.decode(vae.encode(xb)[0]) - xb).pow(2).sum()
    return total.item() / max(x.numel(), 1)


@torch.no_grad()
def save_mixup_grid(vae: ConvVAE, x1: torch.Tensor, x2: torch.Tensor, path: str | Path,
                    lams: tuple[float, ...] = (1.0, 0.75, 0.5, 0.25, 0.0)) -> None:
    """PNG grid: per pair, pixel mixups then latent mixups ``Dec(l mu1 + (1-l) mu2)``.

    x1, x2 : Tensor of shape (P, C, H, W); the grid has 2P rows and ``len(lams)`` columns.
    """
    from torchvision.utils import save_image

    mu1, mu2 = vae.encode(x1)[0], vae.encode(x2)[0]
    rows = []
    for i in range(len(x1)):
        rows += [l * x1[i] + (1 - l) * x2[i] for l in lams]
        rows += list(vae.decode(torch.stack([l * mu1[i] + (1 - l) * mu2[i] for l in lams])))
    grid = torch.stack(rows).float().cpu()
    scale = max(1, 64 // grid.shape[-2])  # small images: repeat pixels so the PNG is legible
    grid = grid.repeat_interleave(scale, dim=-2).repeat_interleave(scale, dim=-1)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_image(grid, path, nrow=len(lams), padding=2, normalize=not vae.bounded, pad_value=1.0)


def train_vae(cfg: VAEConfig, data: ImageData | None = None) -> dict:
    """Train (or resume) a VAE for ``cfg`` and write its run directory.

    Each epoch rewrites ``checkpoint.pt`` (weights, Adam state, generator states, epoch) and
    ``metrics.jsonl`` atomically; ``--resume`` continues from the checkpoint exactly (on the
    CPU, bitwise). ``vae.pt``, ``grid.png`` and ``results.json`` are written at the end.

    Returns
    -------
    dict
        ``run_dir``, ``epochs_done``, ``finished`` and, once finished, the results
        (``test_mse_per_pixel``, final ``train_loss`` and ``train_kl``, ``epochs``).
    """
    from tqdm.auto import tqdm

    cfg = cfg.resolved(torch.cuda.is_available())
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = torch.device(cfg.device)
    run, ckpt = open_run_dir(cfg, TRAINING_FORMAT, TRAINING_KEYS)
    data = (data if data is not None else load_dataset(cfg, device)).to(device)
    if len(data.x_train) < cfg.batch_size:
        raise ValueError(f"--batch-size={cfg.batch_size} exceeds the {len(data.x_train)} "
                         f"training images of {cfg.dataset}: expected a smaller batch size")
    # "augment" comes last: the first three seeds are those of runs written before it existed.
    seeds = derive_seeds(cfg.seed, ("init", "data", "noise", "augment"))
    torch.manual_seed(seeds["init"])
    vae = ConvVAE(data.image_shape, cfg.latent_dim, cfg.width,
                  bounded=cfg.dataset != "synthetic").to(device)
    opt = torch.optim.Adam(vae.parameters(), lr=cfg.lr)
    g_data = torch.Generator(device).manual_seed(seeds["data"])
    g_noise = torch.Generator(device).manual_seed(seeds["noise"])
    g_aug = torch.Generator(device).manual_seed(seeds["augment"])  # used with --augment only
    steps = len(data.x_train) // cfg.batch_size
    stop = min(cfg.epochs, cfg.stop_after or cfg.epochs)
    start, record = 0, {}
    if ckpt is not None:
        def load() -> int:
            vae.load_state_dict(ckpt["state_dict"])
            opt.load_state_dict(ckpt["optimizer"])
            g_data.set_state(ckpt["rng"]["data"])
            g_noise.set_state(ckpt["rng"]["noise"])
            if cfg.augment:
                g_aug.set_state(ckpt["rng"]["augment"])
            return ckpt["epoch"]

        start = restore_states(load, run / "checkpoint.pt", cfg.epochs, cfg.command)
        if start == stop == cfg.epochs:  # a finished run: its last epoch's numbers are on disk
            record = _last_record(run / "metrics.jsonl", start)
        append_metrics(run / "metrics.jsonl", {}, keep_epochs=start)
    else:
        (run / "metrics.jsonl").unlink(missing_ok=True)
        save_json(run / "config.json", {
            "config": dataclasses.asdict(cfg), "seeds": seeds, **provenance(),
            "torch": torch.__version__, "machine": machine_name(device), "argv": sys.argv,
        })
    # The context closes the bar also on an interrupt or an error, so that the command's
    # error line comes last.
    with tqdm(total=cfg.epochs * steps, initial=start * steps, unit="step",
              desc=f"vae {cfg.dataset}", disable=not cfg.progress, file=sys.stderr) as bar:
        for epoch in range(start, stop):
            t0 = time.perf_counter()
            vae.train()
            sums = torch.zeros(3, device=device)  # loss, reconstruction NLL, KL summed over batches
            for idx in epoch_batches(len(data.x_train), cfg.batch_size, g_data):
                x = data.x_train[idx]
                if cfg.augment:  # the classifier's crops and flips (deep.train's TrainStep)
                    x = augment(x, cfg.crop_pad, cfg.hflip, g_aug)
                eps = torch.randn(len(idx), cfg.latent_dim, generator=g_noise, device=device)
                loss, rec, kl = vae_loss(vae, x, eps, cfg.beta)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sums += torch.stack([loss.detach(), rec.detach(), kl.detach()])
                bar.update()
            loss, rec, kl = (sums / steps).tolist()  # the one host sync of the epoch
            check_loss(loss, epoch + 1, run, cfg.lr)
            vae.eval()
            record = {"epoch": epoch + 1, "loss": loss, "recon_nll": rec, "kl": kl,
                      "epoch_time_s": time.perf_counter() - t0}
            if len(data.x_val):
                record["val_mse_per_pixel"] = reconstruction_error(vae, data.x_val)
            append_metrics(run / "metrics.jsonl", record)
            atomic_torch_save(run / "checkpoint.pt", {
                "format": TRAINING_FORMAT, "epoch": epoch + 1,
                "state_dict": vae.state_dict(), "optimizer": opt.state_dict(),
                "rng": {"data": g_data.get_state(), "noise": g_noise.get_state(),
                        **({"augment": g_aug.get_state()} if cfg.augment else {})},
            })
            bar.set_postfix(epoch=epoch + 1, loss=f"{loss:.2f}", kl=f"{kl:.2f}")

    out = {"run_dir": str(run), "epochs_done": stop, "finished": stop == cfg.epochs}
    if stop < cfg.epochs:
        return out
    vae.eval()
    results = {"test_mse_per_pixel": reconstruction_error(vae, data.x_test),
               "train_loss": record["loss"], "train_kl": record["kl"], "epochs": cfg.epochs}
    atomic_torch_save(run / "vae.pt", {
        "format": CHECKPOINT_FORMAT, "arch": vae.arch(), "state_dict": vae.state_dict(),
        "data": {f.name: getattr(cfg, f.name) for f in dataclasses.fields(DataConfig)},
        "metrics": results,
    })
    n = min(8, len(data.x_test) // 2)
    gen = torch.Generator().manual_seed(0)
    pairs = torch.randperm(len(data.x_test), generator=gen)[: 2 * n].to(device)
    save_mixup_grid(vae, data.x_test[pairs[:n]], data.x_test[pairs[n:]], run / "grid.png")
    save_json(run / "results.json", results)
    return {**out, **results}


def _last_record(path: Path, epoch: int) -> dict:
    """The metrics line of ``epoch``, the last one in ``path`` (a finished run resumed)."""
    lines = path.read_text(errors="replace").splitlines() if path.is_file() else []
    try:
        record = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        record = {}
    if not isinstance(record, dict) or record.get("epoch") != epoch or not (
            {"loss", "kl"} <= set(record)):
        raise ValueError(f"--resume: {path} lacks the loss and KL of epoch {epoch}, the last "
                         "one in checkpoint.pt: expected the metrics.jsonl the run wrote")
    return record


def main(argv: list[str] | None = None) -> dict:
    """``python -m deep.vae``: train a VAE, save ``vae.pt`` and ``grid.png``.

    Returns the run's results; a failure prints one line on stderr and raises
    ``SystemExit`` (see :func:`deep.cli.run_cli`).
    """
    return run_cli(VAEConfig, "Train a convolutional VAE for VarMixup (deep/vae.py).",
                   _train_and_report, argv)


def _train_and_report(cfg: VAEConfig) -> dict:
    out = train_vae(cfg)
    if out["finished"]:
        print(f"test reconstruction MSE per pixel {out['test_mse_per_pixel']:.5f}  "
              f"checkpoint {out['run_dir']}/vae.pt  grid {out['run_dir']}/grid.png")
    else:
        print(f"stopped after epoch {out['epochs_done']}: continue with --resume "
              f"(run directory {out['run_dir']})")
    return out


if __name__ == "__main__":
    main()
