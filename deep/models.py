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

``vit``, ``vit_cifar``
    A Vision Transformer (Dosovitskiy et al. 2021), torchvision's ``VisionTransformer``
    with a patch stem for ``in_channels`` channels, no pretrained weights. Its features are
    the class token after the final LayerNorm: ``--width`` = the hidden size. The other
    sizes are set per name (:data:`VIT_SPECS`; ``--vit-patch``, ``--vit-layers``,
    ``--vit-heads`` and ``--vit-mlp-ratio`` change them): ``vit`` is sized for two CPU cores and
    8x8 digits (patch 2, so a 4x4 grid of tokens; 4 layers, 4 heads, hidden 64, MLP 2x);
    ``vit_cifar`` is ViT-Lite-7/4 of Hassani et al. (2021, "Escaping the Big Data Paradigm
    with Compact Transformers", Table 1): 32x32 images, patch 4, 7 layers, 4 heads, hidden
    256, MLP 2x, the CIFAR size (not trained here). Images of another side (a multiple of
    the patch) are accepted: the learned position embeddings of the reference grid are
    resampled bicubically to the input's grid, as DeiT does to change resolution
    (Touvron et al. 2021, Sec. 3); at the reference side nothing is resampled.

``feature_dim`` inserts a linear bottleneck so the penultimate layer has that size (2 or 3
to draw decision regions).

Feature domain (:attr:`Classifier.feature_domain`)
---------------------------------------------------
Every body above ends in a ReLU followed by average pooling, so without a bottleneck the
features the head reads are non-negative (``"nonnegative"``: post-ReLU, the ResNet case of
Park, Kim & Lee 2024, Sec. 2). The ``feature_dim`` bottleneck is linear, without a ReLU,
so its features are signed (``"sphere"``: the LayerNorm-output case of their transformer
models); ``--feature-dim`` equal to the body's width gives signed features of the same
size. The ViT's features come after a LayerNorm and are signed (``"sphere"``) already.
The geometry of :mod:`deep.geometry` restricts class centers to this domain.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import VIT_SPECS, ViTSpec  # the sizes live with the configs (no torch there)

__all__ = ["VIT_SPECS", "Classifier", "ViTBody", "ViTSpec", "build_model"]


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


class ViTBody(nn.Module):
    """A torchvision ``VisionTransformer`` trunk: images (B, C, H, W) -> class token (B, hidden).

    The output is the class token after the encoder's final LayerNorm (signed), the vector
    torchvision's ``heads`` would read; the linear head is the :class:`Classifier`'s.

    Parameters
    ----------
    in_channels : int
    image_size : int
        Reference image side; the position embeddings are learned for its grid of
        ``(image_size / patch_size)^2`` tokens (plus the class token).
    patch_size, num_layers, num_heads, hidden_dim, mlp_dim : int
        As torchvision's ``VisionTransformer``; ``hidden_dim`` divisible by ``num_heads``.
    dropout, attention_dropout : float, default 0.0

    Notes
    -----
    torchvision's stem reads 3 channels; it is replaced by a ``patch_size`` convolution
    from ``in_channels`` with torchvision's initialisation (truncated normal, std
    ``sqrt(1 / fan_in)``, zero bias). An input whose side differs from ``image_size`` (a
    multiple of ``patch_size``) gets the grid embeddings resampled bicubically to its grid
    (Touvron et al. 2021, Sec. 3, "fine-tuning at different resolution"); at
    ``image_size`` :meth:`forward` equals torchvision's forward without its head.
    """

    def __init__(self, in_channels: int, image_size: int, patch_size: int, num_layers: int,
                 num_heads: int, hidden_dim: int, mlp_dim: int, dropout: float = 0.0,
                 attention_dropout: float = 0.0) -> None:
        super().__init__()
        from torchvision.models import VisionTransformer

        for name, value in (("patch_size", patch_size), ("num_layers", num_layers),
                            ("num_heads", num_heads), ("hidden_dim", hidden_dim),
                            ("mlp_dim", mlp_dim), ("in_channels", in_channels)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} is not valid: expected a positive integer")
        if hidden_dim % num_heads:
            raise ValueError(f"--width={hidden_dim!r} (the ViT hidden size) is not valid with "
                             f"{num_heads} heads: expected a multiple of {num_heads}")
        if image_size < patch_size or image_size % patch_size:
            raise ValueError(f"image_size={image_size!r} is not valid with patch_size="
                             f"{patch_size}: expected a positive multiple of the patch")
        vit = VisionTransformer(image_size, patch_size, num_layers, num_heads, hidden_dim,
                                mlp_dim, dropout, attention_dropout, num_classes=1)
        vit.conv_proj = nn.Conv2d(in_channels, hidden_dim, patch_size, patch_size)
        nn.init.trunc_normal_(vit.conv_proj.weight, std=math.sqrt(1 / (
            in_channels * patch_size * patch_size)))
        nn.init.zeros_(vit.conv_proj.bias)
        vit.heads = nn.Identity()  # the Classifier's head reads the class token
        self.vit = vit
        self.patch_size, self.grid = patch_size, image_size // patch_size

    def _position_embedding(self, gh: int, gw: int) -> torch.Tensor:
        """Position embeddings (1, 1 + gh gw, hidden) for a gh x gw grid of tokens."""
        pos = self.vit.encoder.pos_embedding  # (1, 1 + g^2, hidden)
        if (gh, gw) == (self.grid, self.grid):
            return pos
        cls, grid = pos[:, :1], pos[:, 1:]
        grid = grid.reshape(1, self.grid, self.grid, -1).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(gh, gw), mode="bicubic", align_corners=False)
        return torch.cat([cls, grid.flatten(2).transpose(1, 2)], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class token after the final LayerNorm, shape (B, hidden), for x (B, C, H, W)."""
        h, w = x.shape[-2:]
        p = self.patch_size
        if h % p or w % p:
            raise ValueError(f"images of size {h}x{w} do not split into {p}x{p} patches: "
                             f"expected sides that are multiples of {p}")
        vit = self.vit
        tokens = vit.conv_proj(x)  # (B, hidden, H/p, W/p)
        gh, gw = tokens.shape[-2:]
        tokens = tokens.flatten(2).transpose(1, 2)  # (B, gh gw, hidden)
        tokens = torch.cat([vit.class_token.expand(len(x), -1, -1), tokens], dim=1)
        enc = vit.encoder
        tokens = enc.ln(enc.layers(enc.dropout(tokens + self._position_embedding(gh, gw))))
        return tokens[:, 0]


def build_model(name: str, in_channels: int, num_classes: int, mean: torch.Tensor,
                std: torch.Tensor, width: int, feature_dim: int | None = None, *,
                image_size: int | None = None, vit_spec: ViTSpec | None = None) -> Classifier:
    """Build a :class:`Classifier` (weights from the global torch RNG: seed it first).

    Parameters
    ----------
    name : {"cnn", "resnet18", "preact_resnet18", "vit", "vit_cifar"}
    in_channels, num_classes : int
    mean, std : Tensor of shape (in_channels,)
    width : int
        Base channel width ``w``; for a ViT the hidden size (a multiple of its heads).
    feature_dim : int, optional
        Penultimate size via a linear bottleneck.
    image_size : int, optional
        ViTs only: the reference image side whose grid the position embeddings are
        learned for (default :data:`VIT_SPECS`'s; other sides are resampled to).
    vit_spec : ViTSpec, optional
        ViTs only: the sizes to use instead of ``VIT_SPECS[name]``
        (:func:`deep.config.vit_spec` applies the ``--vit-*`` flags).
    """
    if name == "cnn":
        body, dim = _small_cnn(in_channels, width)
    elif name in ("resnet18", "preact_resnet18"):
        body, dim = _resnet18(in_channels, width, preact=name == "preact_resnet18")
    elif name in VIT_SPECS:
        spec = vit_spec or VIT_SPECS[name]
        body = ViTBody(in_channels, image_size or spec.image_size, spec.patch_size,
                       spec.num_layers, spec.num_heads, width, round(spec.mlp_ratio * width))
        return Classifier(body, width, num_classes, mean, std, feature_dim, signed_body=True)
    else:
        raise ValueError(f"--model={name!r} is not valid: expected cnn, resnet18, "
                         "preact_resnet18, " + " or ".join(VIT_SPECS))
    return Classifier(body, dim, num_classes, mean, std, feature_dim)
