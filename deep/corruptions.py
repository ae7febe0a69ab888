r"""Common corruptions of [0, 1] image batches at five severities, and accuracy under them.

Five of the corruptions of CIFAR-10-C (Hendrycks & Dietterich 2019), written as batched
tensor operations on images of shape (N, C, H, W) in [0, 1]; their severity constants are
those with which CIFAR-10-C was generated (the authors' CIFAR script), severities 1..5:

``gaussian_noise``
    ``clip(x + sigma * N(0, 1))``, per pixel and channel; sigma = 0.04, 0.06, 0.08, 0.09, 0.10.
``impulse_noise``
    Salt-and-pepper noise: each pixel and channel is, with probability ``amount``, set to 0
    or 1 with equal chance; amount = 0.01, 0.02, 0.03, 0.05, 0.07.
``gaussian_blur``
    Per-channel Gaussian filter with std sigma = 0.4, 0.6, 0.7, 0.8, 1.0 pixels, the kernel
    truncated at ``round(4 sigma)`` pixels and the border extended by its edge values (the
    defaults of the filter that generated CIFAR-10-C).
``contrast``
    ``clip((x - m) c + m)`` with ``m`` the per-image, per-channel mean; c = 0.75, 0.5, 0.4,
    0.3, 0.15.
``brightness``
    The HSV value ``V = max_c x_c`` raised to ``V' = min(V + b, 1)`` with hue and
    saturation kept; b = 0.05, 0.1, 0.15, 0.2, 0.3. In RGB this is ``x V'/V`` (every HSV
    channel is proportional to V at fixed hue and saturation), and ``V'`` grey for a black
    pixel (``V = 0``, saturation 0). For one channel it is ``min(x + b, 1)``.

The stored CIFAR-10-C images were in addition truncated to uint8; these functions stay in
float. Randomness comes from an explicit ``torch.Generator`` on the images' device.

The real data set is read by :func:`load_cifar_c`, and :func:`corruption_accuracy` /
:func:`cifar_c_accuracy` give a model's accuracy per corruption and severity and the mean
over both (the mean corruption accuracy reported by Mangla et al. 2021).

References
----------
Hendrycks & Dietterich (2019), "Benchmarking Neural Network Robustness to Common
Corruptions and Perturbations", Sec. 3 and Appendix (the corruptions and CIFAR-10-C).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .attacks import _EvalMode

__all__ = ["CIFAR_C_CORRUPTIONS", "CORRUPTIONS", "SEVERITY_PARAMS", "brightness",
           "cifar_c_accuracy", "contrast", "corrupt", "corruption_accuracy", "gaussian_blur",
           "gaussian_noise", "impulse_noise", "load_cifar_c"]

#: Severity constants (severity 1..5) of the corruptions implemented here, as used to
#: generate CIFAR-10-C (Hendrycks & Dietterich 2019).
SEVERITY_PARAMS: dict[str, tuple[float, ...]] = {
    "gaussian_noise": (0.04, 0.06, 0.08, 0.09, 0.10),  # noise std
    "impulse_noise": (0.01, 0.02, 0.03, 0.05, 0.07),  # fraction of values set to 0 or 1
    "gaussian_blur": (0.4, 0.6, 0.7, 0.8, 1.0),  # filter std, pixels
    "contrast": (0.75, 0.5, 0.4, 0.3, 0.15),  # factor on the deviation from the mean
    "brightness": (0.05, 0.1, 0.15, 0.2, 0.3),  # added to the HSV value
}
CORRUPTIONS: tuple[str, ...] = tuple(SEVERITY_PARAMS)

#: The 15 benchmark corruptions of CIFAR-10-C / CIFAR-100-C, the file stems of their
#: ``<stem>.npy`` (the data sets also hold four extra ones: speckle_noise, gaussian_blur,
#: spatter, saturate).
CIFAR_C_CORRUPTIONS: tuple[str, ...] = (
    "gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur",
    "motion_blur", "zoom_blur", "snow", "frost", "fog", "brightness", "contrast",
    "elastic_transform", "pixelate", "jpeg_compression")

_CIFAR_C_DIRS = {"cifar10": "CIFAR-10-C", "cifar100": "CIFAR-100-C"}


# --------------------------------------------------------------------------- validation


def _check_images(x: torch.Tensor) -> None:
    if x.ndim != 4:
        raise ValueError(f"x of shape {tuple(x.shape)}: expected images (N, C, H, W)")
    if not x.is_floating_point():
        raise ValueError(f"x of dtype {x.dtype}: expected floating-point images in [0, 1]")
    if x.numel():
        lo, hi = torch.aminmax(x)
        if lo < 0 or hi > 1:  # one synchronisation per call, at the boundary
            raise ValueError(f"x spans [{lo.item():.4g}, {hi.item():.4g}]: expected images "
                             "in [0, 1]")


def _param(name: str, severity: int) -> float:
    if isinstance(severity, bool) or not isinstance(severity, int) or not 1 <= severity <= 5:
        raise ValueError(f"severity={severity!r}: expected an integer in 1..5")
    return SEVERITY_PARAMS[name][severity - 1]


def _check_generator(generator: torch.Generator | None, name: str) -> None:
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"{name} needs generator=torch.Generator(device); got "
                         f"generator={generator!r}: expected an explicit source of randomness")


# -------------------------------------------------------------------------- corruptions


def gaussian_noise(x: torch.Tensor, severity: int, *, generator: torch.Generator
                   ) -> torch.Tensor:
    """Additive Gaussian noise, clipped to [0, 1]; shape of ``x``.

    Parameters
    ----------
    x : Tensor of shape (N, C, H, W), values in [0, 1]
    severity : int in 1..5
        Noise std 0.04, 0.06, 0.08, 0.09, 0.10.
    generator : torch.Generator
        On ``x.device``.
    """
    _check_images(x)
    sigma = _param("gaussian_noise", severity)
    _check_generator(generator, "gaussian_noise")
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return (x + sigma * noise).clamp(0.0, 1.0)


def impulse_noise(x: torch.Tensor, severity: int, *, generator: torch.Generator
                  ) -> torch.Tensor:
    """Salt-and-pepper noise; shape of ``x``.

    Each value (pixel and channel) is replaced with probability ``amount`` (0.01, 0.02,
    0.03, 0.05, 0.07 for severities 1..5), by 1 or 0 with equal chance.

    Parameters
    ----------
    x : Tensor of shape (N, C, H, W), values in [0, 1]
    severity : int in 1..5
    generator : torch.Generator
        On ``x.device``.
    """
    _check_images(x)
    amount = _param("impulse_noise", severity)
    _check_generator(generator, "impulse_noise")
    u = torch.rand((2, *x.shape), generator=generator, device=x.device)
    salt = (u[1] < 0.5).to(x.dtype)
    return torch.where(u[0] < amount, salt, x)


def _gaussian_kernel(sigma: float, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    radius = int(4.0 * sigma + 0.5)  # truncate = 4 standard deviations
    t = torch.arange(-radius, radius + 1, device=device, dtype=torch.float64)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    return (k / k.sum()).to(dtype)  # (2 radius + 1,)


def gaussian_blur(x: torch.Tensor, severity: int) -> torch.Tensor:
    """Separable Gaussian filter over H and W, per image and channel; shape of ``x``.

    Filter std 0.4, 0.6, 0.7, 0.8, 1.0 pixels (severities 1..5), kernel radius
    ``int(4 sigma + 0.5)``, border extended with the edge values ("nearest"), the output
    clipped to [0, 1].

    Parameters
    ----------
    x : Tensor of shape (N, C, H, W), values in [0, 1]
    severity : int in 1..5
    """
    _check_images(x)
    sigma = _param("gaussian_blur", severity)
    n, c, h, w = x.shape
    k = _gaussian_kernel(sigma, x.device, x.dtype)
    r = (len(k) - 1) // 2
    out = x.reshape(n * c, 1, h, w)  # channels filtered independently
    out = F.conv2d(F.pad(out, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
    out = F.conv2d(F.pad(out, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1))
    return out.reshape(n, c, h, w).clamp(0.0, 1.0)


def contrast(x: torch.Tensor, severity: int) -> torch.Tensor:
    """Contrast reduction towards each image's per-channel mean; shape of ``x``.

    ``clip((x - m) c + m)``, ``m`` the mean over (H, W) of each image and channel, c =
    0.75, 0.5, 0.4, 0.3, 0.15 (severities 1..5).

    Parameters
    ----------
    x : Tensor of shape (N, C, H, W), values in [0, 1]
    severity : int in 1..5
    """
    _check_images(x)
    c = _param("contrast", severity)
    m = x.mean(dim=(2, 3), keepdim=True)  # (N, C, 1, 1)
    return ((x - m) * c + m).clamp(0.0, 1.0)


def brightness(x: torch.Tensor, severity: int) -> torch.Tensor:
    """Brightness increase in HSV space; shape of ``x``.

    The HSV value ``V = max over channels`` becomes ``V' = min(V + b, 1)``, b = 0.05, 0.1,
    0.15, 0.2, 0.3 (severities 1..5), hue and saturation kept: ``x V'/V``, and ``V'`` in
    every channel of a black pixel.

    Parameters
    ----------
    x : Tensor of shape (N, C, H, W), values in [0, 1]
    severity : int in 1..5
    """
    _check_images(x)
    b = _param("brightness", severity)
    v = x.amax(dim=1, keepdim=True)  # (N, 1, H, W): the HSV value
    v_new = (v + b).clamp(max=1.0)
    scaled = x * (v_new / v.clamp_min(torch.finfo(x.dtype).tiny))
    return torch.where(v > 0, scaled, v_new.expand_as(x)).clamp(0.0, 1.0)


_FUNCTIONS: dict[str, Callable[..., torch.Tensor]] = {
    "gaussian_noise": gaussian_noise, "impulse_noise": impulse_noise,
    "gaussian_blur": gaussian_blur, "contrast": contrast, "brightness": brightness}
_RANDOM = ("gaussian_noise", "impulse_noise")


def corrupt(x: torch.Tensor, name: str, severity: int, *,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """Apply the corruption ``name`` (one of :data:`CORRUPTIONS`) at ``severity`` (1..5).

    Parameters
    ----------
    x : Tensor of shape (N, C, H, W), values in [0, 1]
    name : str
    severity : int in 1..5
    generator : torch.Generator, optional
        On ``x.device``; required by the noise corruptions.

    Returns
    -------
    Tensor of the shape of ``x``, values in [0, 1]
    """
    if name not in _FUNCTIONS:
        raise ValueError(f"corruption={name!r}: expected one of {list(CORRUPTIONS)}")
    if name in _RANDOM:
        return _FUNCTIONS[name](x, severity, generator=generator)
    return _FUNCTIONS[name](x, severity)


# ----------------------------------------------------------------------------- accuracy


def _check_severities(severities: Sequence[int]) -> tuple[int, ...]:
    sev = tuple(severities)
    if not sev or any(isinstance(s, bool) or not isinstance(s, int) or not 1 <= s <= 5
                      for s in sev):
        raise ValueError(f"severities={severities!r}: expected a non-empty sequence of "
                         "integers in 1..5")
    return sev


def _correct(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int
             ) -> torch.Tensor:
    """Number of correct top-1 predictions, a 0-d tensor on the device (no host sync)."""
    total = torch.zeros((), device=x.device)
    with torch.no_grad(), _EvalMode(model):
        for xb, yb in zip(x.split(batch_size), y.split(batch_size), strict=True):
            total += (model(xb).argmax(1) == yb).sum()
    return total


def _table(names: Sequence[str], severities: tuple[int, ...], correct: list[torch.Tensor],
           counts: list[int], clean: torch.Tensor, n_clean: int) -> dict:
    values = torch.stack([clean, *correct]).tolist()  # one synchronisation
    acc = [v / max(n, 1) for v, n in zip(values[1:], counts, strict=True)]
    s = len(severities)
    table = {name: acc[i * s:(i + 1) * s] for i, name in enumerate(names)}
    return {"clean_acc": values[0] / max(n_clean, 1), "severities": list(severities),
            "accuracy": table,
            "mean_per_corruption": {k: sum(v) / s for k, v in table.items()},
            "mean": sum(acc) / len(acc)}


def corruption_accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, *,
                        generator: torch.Generator,
                        corruptions: Sequence[str] = CORRUPTIONS,
                        severities: Sequence[int] = (1, 2, 3, 4, 5),
                        batch_size: int = 512) -> dict:
    """Top-1 accuracy of ``model`` on corrupted copies of (x, y), per corruption and severity.

    Parameters
    ----------
    model : nn.Module
        Maps [0, 1] images (N, C, H, W) to logits (N, K); evaluated in eval mode and left in
        its own mode afterwards.
    x : Tensor of shape (N, C, H, W), values in [0, 1]
    y : Tensor of shape (N,), int64
    generator : torch.Generator
        On ``x.device``; the noise corruptions draw from it in the order of
        ``corruptions`` and ``severities`` (seed it for a reproducible table).
    corruptions : sequence of str, default :data:`CORRUPTIONS`
    severities : sequence of int, default (1, 2, 3, 4, 5)
    batch_size : int, default 512
        Images corrupted and classified at a time.

    Returns
    -------
    dict
        ``clean_acc``; ``severities``; ``accuracy[name]`` (a list, one accuracy per
        severity); ``mean_per_corruption[name]``; ``mean`` (over corruptions and
        severities).

    References
    ----------
    Hendrycks & Dietterich (2019); Mangla et al. (2021) (accuracy under corruptions).
    """
    _check_images(x)
    if y.shape != (x.shape[0],):
        raise ValueError(f"y of shape {tuple(y.shape)}: expected labels ({x.shape[0]},)")
    if isinstance(corruptions, str) or not corruptions or any(
            c not in _FUNCTIONS for c in corruptions):
        raise ValueError(f"corruptions={corruptions!r}: expected a non-empty sequence of "
                         f"names among {list(CORRUPTIONS)}")
    sev = _check_severities(severities)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r}: expected a positive integer")
    _check_generator(generator, "corruption_accuracy")
    correct = []
    for name in corruptions:
        for s in sev:
            total = torch.zeros((), device=x.device)
            for xb, yb in zip(x.split(batch_size), y.split(batch_size), strict=True):
                xc = corrupt(xb, name, s, generator=generator)
                total += _correct(model, xc, yb, batch_size)
            correct.append(total)
    clean = _correct(model, x, y, batch_size)
    return _table(list(corruptions), sev, correct, [len(y)] * len(correct), clean, len(y))


# ----------------------------------------------------------------------------- CIFAR-C


def _cifar_c_dir(root: str | os.PathLike, dataset: str) -> Path:
    if dataset not in _CIFAR_C_DIRS:
        raise ValueError(f"dataset={dataset!r}: expected one of {sorted(_CIFAR_C_DIRS)}")
    folder = Path(root) / _CIFAR_C_DIRS[dataset]
    if not folder.is_dir():
        raise FileNotFoundError(
            f"--data-root={root}: no folder {folder}; expected the {_CIFAR_C_DIRS[dataset]} "
            "release there (<corruption>.npy of shape (5 n, 32, 32, 3) uint8, severities "
            "1..5 stacked, and labels.npy of shape (5 n,))")
    return folder


def _open_npy(path: Path, what: str) -> np.ndarray:
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: expected {what}")
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise ValueError(f"{path} is not a readable .npy file ({type(err).__name__}: "
                         f"{err}): expected {what}") from err


def load_cifar_c(root: str | os.PathLike, corruption: str, severity: int, *,
                 dataset: str = "cifar10", device: torch.device | str = "cpu"
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """One corruption at one severity of CIFAR-10-C or CIFAR-100-C, as [0, 1] tensors.

    The release's layout: ``<root>/CIFAR-10-C/<corruption>.npy`` of shape (5 n, 32, 32, 3)
    and dtype uint8, the n test images (n = 10000) corrupted at severity 1, then at 2, ...,
    5; and ``labels.npy`` of shape (5 n,), the test labels once per severity. Only the
    requested block is read (memory-mapped).

    Parameters
    ----------
    root : str or PathLike
        The ``--data-root`` folder holding ``CIFAR-10-C/`` (or ``CIFAR-100-C/``).
    corruption : str
        File stem, e.g. ``"gaussian_noise"`` (:data:`CIFAR_C_CORRUPTIONS`, or one of the
        extra four).
    severity : int in 1..5
    dataset : {"cifar10", "cifar100"}, default "cifar10"
    device : torch.device or str, default "cpu"

    Returns
    -------
    x : Tensor of shape (n, 3, 32, 32), float32 in [0, 1]
    y : Tensor of shape (n,), int64

    Raises
    ------
    FileNotFoundError
        The folder or a file is missing (the message names the path and the format).
    ValueError
        A file is unreadable or has the wrong shape, dtype or labels.

    References
    ----------
    Hendrycks & Dietterich (2019), "Benchmarking Neural Network Robustness to Common
    Corruptions and Perturbations" (the CIFAR-10-C release).
    """
    if not isinstance(corruption, str) or not corruption or Path(corruption).name != corruption:
        raise ValueError(f"corruption={corruption!r}: expected a file stem such as "
                         "'gaussian_noise'")
    if isinstance(severity, bool) or not isinstance(severity, int) or not 1 <= severity <= 5:
        raise ValueError(f"severity={severity!r}: expected an integer in 1..5")
    folder = _cifar_c_dir(root, dataset)
    k = 100 if dataset == "cifar100" else 10
    images = _open_npy(folder / f"{corruption}.npy",
                       "an array of shape (5 n, 32, 32, 3), uint8 (severities 1..5 stacked)")
    labels = _open_npy(folder / "labels.npy", "an integer array of shape (5 n,), the labels")
    n5 = images.shape[0] if images.ndim else 0
    if images.ndim != 4 or images.shape[1:] != (32, 32, 3) or images.dtype != np.uint8 \
            or n5 == 0 or n5 % 5:
        raise ValueError(f"{folder / f'{corruption}.npy'} holds an array of shape "
                         f"{images.shape} and dtype {images.dtype}: expected (5 n, 32, 32, 3) "
                         "uint8 with n >= 1 (severities 1..5 stacked)")
    if labels.shape != (n5,) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{folder / 'labels.npy'} holds an array of shape {labels.shape} and "
                         f"dtype {labels.dtype}: expected integer labels of shape ({n5},), one "
                         f"per image of {corruption}.npy")
    n = n5 // 5
    block = slice((severity - 1) * n, severity * n)
    y = torch.from_numpy(np.array(labels[block], dtype=np.int64))  # a copy, not the map
    if y.min() < 0 or y.max() >= k:
        raise ValueError(f"{folder / 'labels.npy'} holds labels in [{y.min().item()}, "
                         f"{y.max().item()}]: expected 0..{k - 1} ({dataset})")
    x = torch.from_numpy(np.array(images[block]))  # (n, 32, 32, 3) uint8, read now
    x = x.to(device).permute(0, 3, 1, 2).float().div_(255.0).contiguous()  # (n, 3, 32, 32)
    return x, y.to(device)


def cifar_c_accuracy(model: torch.nn.Module, root: str | os.PathLike, *,
                     dataset: str = "cifar10",
                     corruptions: Sequence[str] = CIFAR_C_CORRUPTIONS,
                     severities: Sequence[int] = (1, 2, 3, 4, 5),
                     device: torch.device | str = "cpu", batch_size: int = 512,
                     clean: tuple[torch.Tensor, torch.Tensor] | None = None) -> dict:
    """Top-1 accuracy of ``model`` on the real CIFAR-10-C / CIFAR-100-C files.

    Parameters
    ----------
    model : nn.Module
        On ``device``; maps [0, 1] images to logits.
    root : str or PathLike
        ``--data-root`` (see :func:`load_cifar_c`).
    dataset : {"cifar10", "cifar100"}
    corruptions : sequence of str, default the 15 benchmark corruptions
    severities : sequence of int, default (1, 2, 3, 4, 5)
    device : torch.device or str
    batch_size : int, default 512
    clean : (x, y), optional
        The clean test set, for ``clean_acc`` (NaN without it).

    Returns
    -------
    dict
        As :func:`corruption_accuracy`.
    """
    if isinstance(corruptions, str) or not corruptions:
        raise ValueError(f"corruptions={corruptions!r}: expected a non-empty sequence of "
                         "file stems")
    sev = _check_severities(severities)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r}: expected a positive integer")
    _cifar_c_dir(root, dataset)  # a missing release fails before any work
    correct, counts = [], []
    for name in corruptions:
        for s in sev:
            x, y = load_cifar_c(root, name, s, dataset=dataset, device=device)
            correct.append(_correct(model, x, y, batch_size))
            counts.append(len(y))
    if clean is None:
        clean_correct, n_clean = torch.full((), math.nan, device=correct[0].device), 1
    else:
        clean_correct, n_clean = _correct(model, *clean, batch_size), len(clean[1])
    return _table(list(corruptions), sev, correct, counts, clean_correct, n_clean)
