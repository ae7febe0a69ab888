r"""Whole data sets as tensors on the training device, with per-batch augmentation there.

A loaded data set is an :class:`ImageData`: float32 images of shape (N, C, H, W) and int64
labels (N,), split into train / val / test. Images of real data sets are scaled to [0, 1];
the per-channel train mean and std travel with the data and the model normalises its own
input (so Mixup, CutMix and the VAE all work on [0, 1] images, and a zero crop padding is
black, as in ``torchvision.transforms.RandomCrop(padding=p)``).

Data sets
---------
``digits``
    scikit-learn's 1,797 real 8x8 handwritten digits (ships with scikit-learn: offline).
    Upsampled to 16x16 (default) or 32x32 by nearest-neighbour pixel repetition, which keeps
    the 17 grey levels exact. Fixed stratified split seeded by ``data_seed``: 20 % test,
    then ``val_fraction`` of the rest for validation.
``synthetic``
    The multiclass signal-plus-noise model (Eq. 8 of Beck, Bar-Sinai & Levi 2026) in pixel
    space: ``x = mu_c + sigma_f eta_f + sigma_n eta_n``. See :func:`synthetic_images`.
``mnist``, ``fashion-mnist``, ``cifar10``, ``cifar100``, ``svhn``
    Read by torchvision's own dataset classes from ``data_root`` (torchvision's layout:
    :func:`expected_files`); downloaded only when ``download`` is set. ``val_fraction`` of
    the official training split (stratified, seeded by ``data_seed``) is held out. A file
    torchvision cannot read (truncated, garbled, another format), or one whose contents do
    not fit the data set (image shape, labels), is a ``ValueError`` naming that file; a
    failed download is a ``ValueError`` saying so.
"""

from __future__ import annotations

import http.client
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from logitreg.data import simplex_means

from ._io import UNREADABLE, error_summary
from .config import DATASET_INFO, DataConfig

__all__ = [
    "ImageData",
    "augment",
    "epoch_batches",
    "expected_files",
    "load_dataset",
    "synthetic_images",
]


@dataclass
class ImageData:
    """A split data set held as tensors.

    Attributes
    ----------
    name : str
    x_train, x_val, x_test : Tensor of shape (N, C, H, W), float32
    y_train, y_val, y_test : Tensor of shape (N,), int64
    num_classes : int
    mean, std : Tensor of shape (C,)
        Per-channel statistics of ``x_train``; the model normalises with them.
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    mean: torch.Tensor
    std: torch.Tensor

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])

    def to(self, device: torch.device | str) -> ImageData:
        moved = {k: v.to(device) if isinstance(v, torch.Tensor) else v
                 for k, v in vars(self).items()}
        return ImageData(**moved)


# ----------------------------------------------------------------------------- splits


def _stratified_split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (keep, held_out), ``held_out`` a seeded ``fraction`` of ``y``; stratified by
    class unless a class is too rare for that (tiny fabricated test sets)."""
    idx = np.arange(len(y))
    if fraction == 0.0:
        return idx, idx[:0]
    from sklearn.model_selection import train_test_split

    counts = np.bincount(y)
    n_classes, n_held = np.count_nonzero(counts), int(np.ceil(fraction * len(y)))
    stratifiable = counts[counts > 0].min() >= 2 and n_classes <= min(n_held, len(y) - n_held)
    keep, held = train_test_split(idx, test_size=n_held, random_state=seed,
                                  stratify=y if stratifiable else None)
    return np.sort(keep), np.sort(held)


def _build(name: str, x_pool: torch.Tensor, y_pool: torch.Tensor, x_test: torch.Tensor,
           y_test: torch.Tensor, num_classes: int, val_fraction: float, seed: int) -> ImageData:
    keep, val = _stratified_split(y_pool.numpy(), val_fraction, seed)
    x_train, y_train = x_pool[keep], y_pool[keep]
    return ImageData(
        name=name,
        x_train=x_train, y_train=y_train,
        x_val=x_pool[val], y_val=y_pool[val],
        x_test=x_test, y_test=y_test,
        num_classes=num_classes,
        mean=x_train.mean(dim=(0, 2, 3)),
        std=x_train.std(dim=(0, 2, 3)).clamp_min(1e-6),
    )


# ----------------------------------------------------------------------------- digits


def _digits(cfg: DataConfig) -> ImageData:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.from_numpy(bunch.images.astype(np.float32) / 16.0)[:, None]  # (N, 1, 8, 8)
    rep = cfg.digits_size // 8
    x = x.repeat_interleave(rep, dim=2).repeat_interleave(rep, dim=3)  # nearest neighbour
    y = torch.from_numpy(bunch.target.astype(np.int64))
    pool, test = _stratified_split(bunch.target, 0.2, cfg.data_seed)
    return _build("digits", x[pool], y[pool], x[test], y[test], 10, cfg.val_fraction,
                  cfg.data_seed)


# ----------------------------------------------------------------------------- synthetic


def synthetic_images(n: int, templates: torch.Tensor, basis: torch.Tensor, sigma_f: float,
                     sigma_n: float, generator: torch.Generator
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Draw ``n`` images of the multiclass signal-plus-noise model in pixel space.

    ``x = mu_c + sigma_f eta_f + sigma_n eta_n`` with ``eta_f`` isotropic (unit variance per
    direction) in the template subspace S = span(basis) and ``eta_n`` isotropic in its
    orthogonal complement; labels are balanced (sizes differ by at most one) and shuffled.

    Parameters
    ----------
    n : int
    templates : Tensor of shape (K, C, H, W)
        Class means ``mu_c``; they sum to zero and span S.
    basis : Tensor of shape (D, K-1), D = C*H*W
        Orthonormal basis of S.
    sigma_f, sigma_n : float
        Noise std per direction inside and orthogonal to S.
    generator : torch.Generator

    Returns
    -------
    x : Tensor of shape (n, C, H, W)
    y : Tensor of shape (n,), int64

    References
    ----------
    Beck, Bar-Sinai & Levi (2026), Eq. 8; the same model as ``logitreg.data.signal_plus_noise``
    rotated so that its first K-1 coordinates become the columns of ``basis``.
    """
    K = templates.shape[0]
    y = torch.arange(n) % K
    y = y[torch.randperm(n, generator=generator)]
    g = torch.randn(n, basis.shape[0], generator=generator)  # (n, D)
    in_s = (g @ basis) @ basis.T  # projection onto S, (n, D)
    noise = sigma_f * in_s + sigma_n * (g - in_s)
    return templates[y] + noise.view(n, *templates.shape[1:]), y


def synthetic_templates(num_classes: int, shape: tuple[int, int, int], mu_f: float,
                        generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Class templates on a regular simplex of norm ``mu_f``, in a smooth random subspace.

    The simplex is the core's (:func:`logitreg.data.simplex_means`, the class means of
    Eq. 8), its K-1 coordinates mapped onto an image basis: random Gaussian images at a
    quarter of the resolution, bilinearly upsampled and orthonormalised (QR), so that the
    templates are blobs a CNN can detect, unlike white noise. Returns ``templates``
    (K, C, H, W) and ``basis`` (D, K-1).
    """
    K, (c, h, w) = num_classes, shape
    low = torch.randn(K - 1, c, max(1, h // 4), max(1, w // 4), generator=generator)
    smooth = F.interpolate(low, size=(h, w), mode="bilinear", align_corners=False)
    basis, _ = torch.linalg.qr(smooth.reshape(K - 1, -1).T.double())  # (D, K-1) orthonormal
    coords = torch.from_numpy(simplex_means(K, K - 1, mu_f))  # (K, K-1) float64, norms mu_f
    templates = coords @ basis.T  # (K, D)
    return templates.float().view(K, c, h, w), basis.float()


def _synthetic(cfg: DataConfig) -> ImageData:
    gen = torch.Generator().manual_seed(cfg.data_seed)
    templates, basis = synthetic_templates(cfg.synthetic_classes, cfg.synthetic_shape,
                                           cfg.synthetic_mu_f, gen)
    draw = dict(templates=templates, basis=basis, sigma_f=cfg.synthetic_sigma_f,
                sigma_n=cfg.synthetic_sigma_n, generator=gen)
    x_pool, y_pool = synthetic_images(cfg.synthetic_train, **draw)
    x_test, y_test = synthetic_images(cfg.synthetic_test, **draw)
    return _build("synthetic", x_pool, y_pool, x_test, y_test, cfg.synthetic_classes,
                  cfg.val_fraction, cfg.data_seed)


# ----------------------------------------------------------------------------- torchvision


def _tv_class(name: str, verify_checksums: bool):
    """The torchvision dataset class; without checksums, a subclass whose md5 entries are
    None, so torchvision's ``check_integrity`` tests only that each file exists."""
    from torchvision import datasets

    cls = {"mnist": datasets.MNIST, "fashion-mnist": datasets.FashionMNIST,
           "cifar10": datasets.CIFAR10, "cifar100": datasets.CIFAR100,
           "svhn": datasets.SVHN}[name]
    if verify_checksums or name in ("mnist", "fashion-mnist"):  # MNIST checks no md5 at all
        return cls
    if name == "svhn":
        table = {k: [url, fn, None] for k, (url, fn, _) in cls.split_list.items()}
        return type(cls.__name__, (cls,), {"split_list": table})
    return type(cls.__name__, (cls,), {
        "train_list": [[f, None] for f, _ in cls.train_list],
        "test_list": [[f, None] for f, _ in cls.test_list],
        "meta": {**cls.meta, "md5": None},
    })


def expected_files(name: str, root: str | os.PathLike) -> list[Path]:
    """The files torchvision reads for data set ``name`` under ``root``.

    mnist: ``MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte``; fashion-mnist: the same
    under ``FashionMNIST/raw``; cifar10: ``cifar-10-batches-py/data_batch_1..5, test_batch,
    batches.meta``; cifar100: ``cifar-100-python/train, test, meta``; svhn:
    ``train_32x32.mat, test_32x32.mat``.
    """
    cls, root = _tv_class(name, True), Path(root)
    if name in ("mnist", "fashion-mnist"):
        raw = root / cls.__name__ / "raw"
        return [raw / Path(fn).stem for fn, _ in cls.resources]  # the .gz names, unpacked
    if name == "svhn":
        return [root / cls.split_list[s][1] for s in ("train", "test")]
    folder = root / cls.base_folder
    return [folder / f for f, _ in cls.train_list + cls.test_list] + [
        folder / cls.meta["filename"]
    ]


def _check_files(name: str, root: str) -> None:
    missing = [p for p in expected_files(name, root) if not p.is_file()]
    if not missing:
        return
    listing = ", ".join(str(p.relative_to(root)) for p in expected_files(name, root))
    if not Path(root).is_dir():
        head = f"--data-root={root} does not exist"
    else:
        head = (f"--data-root={root} lacks {len(missing)} file(s) of {name} "
                f"(first missing: {missing[0]})")
    raise FileNotFoundError(
        f"{head}: data set {name} expects {listing} under {root}; "
        "pass --download to fetch it, or point --data-root at a copy"
    )


class _DownloadError(ValueError):
    """torchvision's download failed (network, or a partial file right after it)."""


def _with_download_errors(cls: type, name: str, root: str) -> type:
    """A subclass of torchvision class ``cls`` whose ``download()`` turns a failure into a
    :class:`_DownloadError` that says so: without a network, torchvision's own error would
    be an md5 or "not found or corrupted" message that blames the files."""

    def download(self) -> None:
        try:
            cls.download(self)
        # URLError and socket errors are OSErrors; torchvision raises RuntimeError when every
        # mirror failed (MNIST) or when the file it just fetched fails its md5.
        except (OSError, RuntimeError, http.client.HTTPException) as e:
            listing = ", ".join(str(p.relative_to(root)) for p in expected_files(name, root))
            raise _DownloadError(
                f"--download: downloading {name} into --data-root={root} failed "
                f"({error_summary(e, limit=300)}): expected a network connection; without one, "
                f"place the files {listing} under {root} (deep.data.expected_files lists them) "
                "and run without --download"
            ) from e

    return type(cls.__name__, (cls,), {"download": download})


def _split_files(name: str, root: str | os.PathLike, train: bool
                 ) -> list[tuple[Path, str | None, str | None]]:
    """(path, md5, required key) of each file torchvision reads for one split, in its
    order; ``key``: the entry a CIFAR pickle must hold."""
    cls, root = _tv_class(name, True), Path(root)
    if name in ("mnist", "fashion-mnist"):
        raw, prefix = root / cls.__name__ / "raw", "train" if train else "t10k"
        return [(raw / f"{prefix}-images-idx3-ubyte", None, None),
                (raw / f"{prefix}-labels-idx1-ubyte", None, None)]
    if name == "svhn":
        _, filename, md5 = cls.split_list["train" if train else "test"]
        return [(root / filename, md5, None)]
    folder = root / cls.base_folder
    return [(folder / f, md5, "data") for f, md5 in (cls.train_list if train else cls.test_list)
            ] + [(folder / cls.meta["filename"], cls.meta["md5"], cls.meta["key"])]


_FORMATS = {"mnist": "IDX file", "fashion-mnist": "IDX file", "cifar10": "CIFAR pickle",
            "cifar100": "CIFAR pickle", "svhn": "SVHN .mat file"}


def _read_one(name: str, path: Path, key: str | None) -> None:
    """Read one file the way torchvision's class does; raise what its reader raises."""
    if name in ("mnist", "fashion-mnist"):
        from torchvision.datasets import mnist

        read = mnist.read_image_file if "-images-" in path.name else mnist.read_label_file
        read(str(path))
    elif name == "svhn":
        import scipy.io

        mat = scipy.io.loadmat(path)
        _ = mat["X"], mat["y"]  # KeyError if absent
    else:
        with open(path, "rb") as fh:
            entry = pickle.load(fh, encoding="latin1")
        value = entry[key]  # KeyError if absent, TypeError if not a dict
        if key == "data":  # a batch: rows of 3 x 32 x 32 values, one label each
            rows = np.asarray(value)
            labels = entry["labels"] if "labels" in entry else entry["fine_labels"]
            if rows.ndim != 2 or rows.shape[1] != 3072 or len(labels) != len(rows):
                raise ValueError(f"data of shape {rows.shape} with {len(labels)} labels: "
                                 "expected (N, 3072) with N labels")


def _unreadable(name: str, root: str, train: bool, verify: bool, err: BaseException
                ) -> ValueError:
    """The error for a split torchvision could not read: which file, and why.

    torchvision says only "corrupted" or raises from deep inside its reader, naming no
    file; this re-checks each file of the split (md5 first, when checked, then a read) to
    name the culprit.
    """
    from scipy.io.matlab import MatReadError
    from torchvision.datasets.utils import check_integrity

    head = f"data set {name} under --data-root={root}"
    files = _split_files(name, root, train)
    if verify:
        for path, md5, _ in files:
            if md5 and not check_integrity(str(path), md5):
                return ValueError(
                    f"{head}: {path} fails torchvision's md5 check; the file exists, so it "
                    "differs from the official release: expected the official files, or pass "
                    "--no-verify-checksums")
    for path, _, key in files:
        try:
            _read_one(name, path, key)
        except (*UNREADABLE, MatReadError) as e:
            return ValueError(
                f"{head}: {path} is not a valid {_FORMATS[name]} ({error_summary(e)}): "
                "expected the file as the official release has it (deep.data.expected_files "
                "lists the layout)")
    listing = ", ".join(str(p) for p, _, _ in files)
    return ValueError(f"{head}: torchvision could not read {listing} ({error_summary(err)}): "
                      "expected the files as the official release has them")


def _check_split(name: str, root: str, train: bool, x: torch.Tensor, y: torch.Tensor) -> None:
    """Refuse a split whose images or labels do not fit the data set (garbage in a readable
    file would otherwise train silently, or fail later with an index error)."""
    info = DATASET_INFO[name]
    shape = (info.channels, info.side, info.side)
    files = ", ".join(str(p) for p, _, _ in _split_files(name, root, train)
                      if not p.name.endswith("meta"))
    problem = None
    if x.dtype != torch.uint8:
        problem = f"images of dtype {x.dtype}, not 8-bit"
    elif x.ndim != 4 or tuple(x.shape[1:]) != shape:
        problem = f"images of shape {tuple(x.shape[1:])}, not {shape}"
    elif y.ndim != 1 or len(y) != len(x):
        problem = f"{len(x)} images but {tuple(y.shape)} labels"
    elif len(x) == 0:
        problem = "no images"
    elif int(y.min()) < 0 or int(y.max()) >= info.num_classes:
        problem = (f"labels from {int(y.min())} to {int(y.max())}, outside "
                   f"0..{info.num_classes - 1}")
    if problem:
        raise ValueError(f"data set {name} under --data-root={root}: {files} hold {problem}: "
                         "expected the files as the official release has them")


def _torchvision(cfg: DataConfig) -> ImageData:
    from scipy.io.matlab import MatReadError

    name, root = cfg.dataset, cfg.data_root
    if not cfg.download:
        _check_files(name, root)
    cls = _with_download_errors(_tv_class(name, cfg.verify_checksums), name, root)
    splits = []
    for train in (True, False):
        kw = {"split": "train" if train else "test"} if name == "svhn" else {"train": train}
        try:
            ds = cls(root, download=cfg.download, **kw)
            if name == "svhn":  # (N, 3, 32, 32) uint8, labels numpy with 10 -> 0 already
                x = torch.from_numpy(np.ascontiguousarray(ds.data))
                y = torch.from_numpy(np.asarray(ds.labels, dtype=np.int64).reshape(-1))
            elif name in ("cifar10", "cifar100"):  # (N, 32, 32, 3) uint8 numpy
                x = torch.from_numpy(np.ascontiguousarray(ds.data)).permute(0, 3, 1, 2)
                y = torch.as_tensor(ds.targets, dtype=torch.int64)
            else:  # MNIST family: (N, 28, 28) uint8 tensor
                x, y = ds.data[:, None], ds.targets.long()
        except _DownloadError:
            raise
        except (*UNREADABLE, MatReadError) as e:  # torchvision: "corrupted", or its readers
            raise _unreadable(name, root, train, cfg.verify_checksums, e) from e
        _check_split(name, root, train, x, y)
        splits.append((x.float().div_(255.0).contiguous(), y))
    (x_pool, y_pool), (x_test, y_test) = splits
    info = DATASET_INFO[name]
    return _build(name, x_pool, y_pool, x_test, y_test, info.num_classes, cfg.val_fraction,
                  cfg.data_seed)


def load_dataset(cfg: DataConfig, device: torch.device | str = "cpu") -> ImageData:
    """Load ``cfg.dataset`` split into train/val/test and move it to ``device``.

    Raises
    ------
    FileNotFoundError
        A torchvision data set is missing under ``cfg.data_root`` (without ``download``); the
        message names the data set, the root and every file expected there.
    ValueError
        Files exist but fail torchvision's md5 check, cannot be read, or hold images or
        labels that do not fit the data set (the message names the file); or ``download``
        failed (no network).
    """
    if cfg.dataset == "digits":
        data = _digits(cfg)
    elif cfg.dataset == "synthetic":
        data = _synthetic(cfg)
    else:
        data = _torchvision(cfg)
    return data.to(device)


# ----------------------------------------------------------------------------- batches


def epoch_batches(n: int, batch_size: int, generator: torch.Generator) -> torch.Tensor:
    """A shuffled epoch as an index matrix of shape (n // batch_size, batch_size).

    Drawn on the generator's device; the last partial batch is dropped so every step has
    the same shape (no recompilation, and mixing partners always exist).
    """
    steps = n // batch_size
    perm = torch.randperm(n, generator=generator, device=generator.device)
    return perm[: steps * batch_size].view(steps, batch_size)


def augment(x: torch.Tensor, crop_pad: int, hflip: bool, generator: torch.Generator
            ) -> torch.Tensor:
    """Random crop with zero padding and optional horizontal flip, for a whole batch.

    Equivalent per image to ``RandomCrop(H, padding=crop_pad)`` then
    ``RandomHorizontalFlip()``, done with two gathers and a ``where`` on the device.

    Parameters
    ----------
    x : Tensor of shape (B, C, H, W)
    crop_pad : int
        Padding in pixels; 0 disables cropping.
    hflip : bool
    generator : torch.Generator
        On ``x.device``.

    Returns
    -------
    Tensor of shape (B, C, H, W)
    """
    B, C, H, W = x.shape
    if crop_pad > 0:
        p = crop_pad
        dy = torch.randint(0, 2 * p + 1, (B, 1), generator=generator, device=x.device)
        dx = torch.randint(0, 2 * p + 1, (B, 1), generator=generator, device=x.device)
        xp = F.pad(x, (p, p, p, p))  # (B, C, H+2p, W+2p)
        rows = (dy + torch.arange(H, device=x.device))[:, None, :, None]  # (B, 1, H, 1)
        xp = xp.gather(2, rows.expand(B, C, H, W + 2 * p))  # (B, C, H, W+2p)
        cols = (dx + torch.arange(W, device=x.device))[:, None, None, :]  # (B, 1, 1, W)
        x = xp.gather(3, cols.expand(B, C, H, W))
    if hflip:
        flip = torch.rand(B, generator=generator, device=x.device) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
    return x
