"""Classifiers that expose their representation: ``features(x)`` and a linear ``head``.

Every model is a :class:`Classifier`: ``logits = head(features(x))`` with ``features`` the
penultimate vector (the representation vector ``z`` of Park, Kim & Lee 2024). The
model takes [0, 1] images and normalises them itself with the training set's per-channel
mean and std (registered buffers, saved in the checkpoint).

Architectures (``build_model``)
-------------------------------
``cnn``
    Four 3x3 conv-BN-ReLU layers (w, w, 2w, 4w channels, two 2x2 max-pools), global average
    pool: 4w features. Fast on two CPU cores.
``resnet18``
    ResNet-18, CIFAR variant (He et al. 2016): 3x3 stem, no max-pool, stages of
    w, 2w, 4w, 8w channels, 8w = 512 features at w = 64.
``preact_resnet18``
    Pre-activation ResNet-18 (He et al. 2016b), the Mixup and VarMixup papers' CIFAR
    baseline, with the final BN-ReLU before pooling.

``feature_dim`` inserts a linear bottleneck so the penultimate layer has that size (2 or 3
to draw decision regions).

Feature domain (:attr:`Classifier.feature_domain`)
---------------------------------------------------
Every body above ends in a ReLU followed by average pooling, so without a bottleneck the
features the head reads are non-negative (``"nonnegative"``: post-ReLU, the ResNet case of
Park, Kim & Lee 2024, Sec. 2). The ``feature_dim`` bottleneck is linear, without a ReLU,
so its features are signed (``"sphere"``: the LayerNorm-output case of their transformer
models); ``--feature-dim`` equal to the body's width gives signed features of the same
size. The geometry of :mod:`deep.geometry` restricts class centers to this domain.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Classifier", "build_model"]


class Classifier(nn.Module):
    """``logits = head(features(x))``.

    Parameters
    ----------
    body : nn.Module
        Maps normalised images (B, C, H, W) to vectors (B, body_dim).
    body_dim : int
    num_classes : int
    mean, std : Tensor of shape (C,)
        Input normalisation (training-set statistics).
    feature_dim : int, optional
        Size of a linear bottleneck after ``body``; None keeps ``body_dim``.
    signed_body : bool, default False
        Whether ``body``'s output can be negative; the bodies of :func:`build_model` end
        in ReLU and pooling, so theirs cannot.

    Attributes
    ----------
    feature_domain : {"nonnegative", "sphere"}
        Where ``features(x)`` lives: the non-negative orthant (post-ReLU body, no
        bottleneck) or all of R^d (signed: a linear bottleneck or a signed body). The
        ``domain`` of :func:`deep.geometry.min_loss_centers`.
    """

    def __init__(self, body: nn.Module, body_dim: int, num_classes: int, mean: torch.Tensor,
                 std: torch.Tensor, feature_dim: int | None = None, *,
                 signed_body: bool = False) -> None:
        super().__init__()
        self.register_buffer("mean", mean.detach().clone().float().view(1, -1, 1, 1))
        self.register_buffer("std", std.detach().clone().float().view(1, -1, 1, 1))
        self.body = body
        self.bottleneck = nn.Identity() if feature_dim is None else nn.Linear(body_dim, feature_dim)
        self.feature_dim = body_dim if feature_dim is None else feature_dim
        self.head = nn.Linear(self.feature_dim, num_classes)
        signed = signed_body or feature_dim is not None
        self.feature_domain = "sphere" if signed else "nonnegative"

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate representation, shape (B, feature_dim), for x of shape (B, C, H, W)."""
        return self.bottleneck(self.body((x - self.mean) / self.std))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape (B, num_classes)."""
        return self.head(self.features(x))


def _conv_bn(cin: int, cout: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True)]


def _small_cnn(cin: int, w: int) -> tuple[nn.Module, int]:
    body = nn.Sequential(
        *_conv_bn(cin, w), *_conv_bn(w, w), nn.MaxPool2d(2),
        *_conv_bn(w, 2 * w), nn.MaxPool2d(2),
        *_conv_bn(2 * w, 4 * w),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    )
    return body, 4 * w


class _BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class _PreActBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Conv2d(cin, cout, 1, stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(x))
        shortcut = x if self.shortcut is None else self.shortcut(out)
        out = self.conv1(out)
        out = self.conv2(torch.relu(self.bn2(out)))
        return out + shortcut


def _resnet18(cin: int, w: int, preact: bool) -> tuple[nn.Module, int]:
    block = _PreActBlock if preact else _BasicBlock
    # Stem: 3x3 conv, stride 1, no max-pool (CIFAR variant); preact has no BN-ReLU here.
    layers: list[nn.Module] = [nn.Conv2d(cin, w, 3, 1, 1, bias=False)]
    if not preact:
        layers += [nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
    c = w
    for i, mult in enumerate((1, 2, 4, 8)):
        for j in range(2):
            stride = 2 if (i > 0 and j == 0) else 1
            layers.append(block(c, w * mult, stride))
            c = w * mult
    if preact:
        layers += [nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers), c


def build_model(name: str, in_channels: int, num_classes: int, mean: torch.Tensor,
                std: torch.Tensor, width: int, feature_dim: int | None = None) -> Classifier:
    """Build a :class:`Classifier` (weights from the global torch RNG: seed it first).

    Parameters
    ----------
    name : {"cnn", "resnet18", "preact_resnet18"}
    in_channels, num_classes : int
    mean, std : Tensor of shape (in_channels,)
    width : int
        Base channel width ``w``.
    feature_dim : int, optional
        Penultimate size via a linear bottleneck.
    """
    if name == "cnn":
        body, dim = _small_cnn(in_channels, width)
    elif name in ("resnet18", "preact_resnet18"):
        body, dim = _resnet18(in_channels, width, preact=name == "preact_resnet18")
    else:
        raise ValueError(f"--model={name!r} is not valid: expected cnn, resnet18 or "
                         "preact_resnet18")
    return Classifier(body, dim, num_classes, mean, std, feature_dim)
