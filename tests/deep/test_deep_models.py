"""Models expose features(x) and a linear head; ECE against a plain reference."""

import numpy as np
import pytest
import torch
from torch import nn

from deep.calibration import (
    calibration_metrics,
    expected_calibration_error,
    overconfidence_error,
    reliability_bins,
)
from deep.models import build_model


@pytest.mark.parametrize("name, width, feature_dim, expected_dim", [
    ("cnn", 8, None, 32), ("resnet18", 4, None, 32), ("preact_resnet18", 4, None, 32),
    ("cnn", 8, 2, 2), ("preact_resnet18", 4, 3, 3), ("vit", 8, None, 8), ("vit", 8, 3, 3),
])
def test_models_expose_features_and_linear_head(name, width, feature_dim, expected_dim):
    torch.manual_seed(0)
    m = build_model(name, 3, 5, torch.full((3,), 0.5), torch.full((3,), 0.25), width,
                    feature_dim).eval()
    x = torch.rand(4, 3, 32, 32)
    z = m.features(x)
    assert z.shape == (4, expected_dim) and m.feature_dim == expected_dim
    assert isinstance(m.head, nn.Linear) and m.head.in_features == expected_dim
    torch.testing.assert_close(m(x), m.head(z), rtol=0, atol=0)
    # The model normalises its own input with the statistics it was built with: the same
    # weights (same seed; the buffers draw nothing) built with mean 0, std 1 give the same
    # logits on images normalised by hand.
    torch.manual_seed(0)
    plain = build_model(name, 3, 5, torch.zeros(3), torch.ones(3), width, feature_dim).eval()
    torch.testing.assert_close(m(x), plain((x - 0.5) / 0.25), rtol=1e-5, atol=1e-6)
    assert not torch.allclose(m(x), plain(x), rtol=1e-2, atol=1e-3)  # it matters


@pytest.mark.parametrize("name", ["cnn", "resnet18", "preact_resnet18"])
def test_feature_domain_is_where_the_features_live(name):
    """Post-ReLU bodies give non-negative features; the linear bottleneck gives signed ones
    (the two domains of deep.geometry.min_loss_centers)."""
    torch.manual_seed(0)
    x = torch.rand(8, 3, 16, 16)
    plain = build_model(name, 3, 5, torch.full((3,), 0.5), torch.full((3,), 0.25), 4).eval()
    assert plain.feature_domain == "nonnegative"
    with torch.no_grad():
        z = plain.features(x)
    assert (z >= 0).all() and (z > 0).any()
    signed = build_model(name, 3, 5, torch.full((3,), 0.5), torch.full((3,), 0.25), 4,
                         feature_dim=16).eval()
    assert signed.feature_domain == "sphere"
    with torch.no_grad():
        z = signed.features(x)
    assert (z < 0).any() and (z > 0).any()


def test_cnn_has_the_documented_layers():
    """docs/deep.md: 4 conv3x3-BN-ReLU layers of widths w, w, 2w, 4w, two max-pools, global
    average pool."""
    m = build_model("cnn", 1, 10, torch.zeros(1), torch.ones(1), 8)
    convs = [layer for layer in m.body if isinstance(layer, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [8, 8, 16, 32]
    assert all(c.kernel_size == (3, 3) and c.padding == (1, 1) for c in convs)
    kinds = [type(layer).__name__ for layer in m.body]
    assert kinds.count("MaxPool2d") == 2 and kinds.count("BatchNorm2d") == 4
    assert kinds.count("AdaptiveAvgPool2d") == 1


def test_resnet18_is_the_cifar_variant_of_torchvisions():
    """torchvision's ResNet-18 with the CIFAR stem (3x3 conv, stride 1, no max-pool): the same
    parameter shapes in the same order and, with our weights and batch-norm statistics
    loaded into it, the same logits."""
    from torchvision.models import resnet18

    torch.manual_seed(0)
    m = build_model("resnet18", 3, 10, torch.zeros(3), torch.ones(3), 64).eval()
    stem = m.body[0]
    assert stem.kernel_size == (3, 3) and stem.stride == (1, 1)
    assert not any(isinstance(layer, nn.MaxPool2d) for layer in m.modules())
    assert m.feature_dim == 512
    g = torch.Generator().manual_seed(1)
    for bn in (layer for layer in m.modules() if isinstance(layer, nn.BatchNorm2d)):
        # Non-trivial eval-mode batch norm, so that a mis-wired block would show.
        bn.running_mean.copy_(0.1 * torch.randn(bn.num_features, generator=g))
        bn.running_var.copy_(0.5 + torch.rand(bn.num_features, generator=g))
    ref = resnet18(num_classes=10)
    ref.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
    ref.maxpool = nn.Identity()
    ours = [v for k, v in m.state_dict().items() if k not in ("mean", "std")]
    theirs = ref.state_dict()
    assert [tuple(v.shape) for v in ours] == [tuple(v.shape) for v in theirs.values()]
    ref.load_state_dict(dict(zip(theirs, ours, strict=True)))
    ref.eval()
    assert sum(p.numel() for p in m.parameters()) == sum(p.numel() for p in ref.parameters())
    x = torch.rand(2, 3, 32, 32, generator=g)
    with torch.no_grad():
        # The same float32 kernels in the same order; allow a few ulps for summation order.
        torch.testing.assert_close(m(x), ref(x), rtol=1e-5, atol=1e-5)


def _ece_reference(probs, labels, n_bins=15):
    """Guo et al. (2017): bins (m/M, (m+1)/M], |B_m|/N |acc - conf| summed."""
    conf, pred = probs.max(1), probs.argmax(1)
    edges = np.linspace(0, 1, n_bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            acc = (pred[inside] == labels[inside]).mean()
            ece += inside.mean() * abs(acc - conf[inside].mean())
    return ece


@pytest.mark.parametrize("seed", range(5))
def test_ece_matches_reference(seed):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(500, 10, generator=g, dtype=torch.float64) * (seed + 1)
    labels = torch.randint(0, 10, (500,), generator=g)
    ours = expected_calibration_error(logits, labels).item()
    ref = _ece_reference(logits.softmax(1).numpy(), labels.numpy())
    assert ours == pytest.approx(ref, abs=1e-6)  # float32 confidences, 500 samples


@pytest.mark.parametrize("n_bins", [10, 15])
@pytest.mark.parametrize("scale", [0.3, 1.0, 2.0, 3.0])
def test_ece_matches_torchmetrics(scale, n_bins):
    """Our on-device ECE against torchmetrics' multiclass calibration error (l1 norm).

    torchmetrics bins confidences left-closed, [lo, hi), where Guo et al. (and we) use
    (lo, hi]; the two agree unless a confidence lies exactly on a bin edge, which has
    probability zero for these continuous logits (scales keep every confidence below 1).
    """
    from torchmetrics.functional.classification import multiclass_calibration_error

    g = torch.Generator().manual_seed(int(10 * scale) + n_bins)
    logits = torch.randn(2000, 10, generator=g) * scale
    labels = torch.where(torch.rand(2000, generator=g) < 0.7, logits.argmax(1),
                         torch.randint(0, 10, (2000,), generator=g))  # about 70 % correct
    probs = logits.softmax(1)
    assert probs.max() < 1.0
    ours = expected_calibration_error(logits, labels, n_bins=n_bins)
    ref = multiclass_calibration_error(probs, labels, num_classes=10, n_bins=n_bins, norm="l1")
    # Both sum 2000 float32 terms in different orders: agreement to ~1e-6 absolute.
    torch.testing.assert_close(ours, ref, rtol=0, atol=2e-6)


def _oe_reference(probs, labels, n_bins=15):
    """Thulasidasan et al. (2019): sum_m |B_m|/N conf(B_m) max(conf(B_m) - acc(B_m), 0)."""
    conf, pred = probs.max(1), probs.argmax(1)
    edges = np.linspace(0, 1, n_bins + 1)
    oe = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            c, a = conf[inside].mean(), (pred[inside] == labels[inside]).mean()
            oe += inside.mean() * c * max(c - a, 0.0)
    return oe


@pytest.mark.parametrize("seed", range(4))
def test_overconfidence_error_and_reliability_bins_match_reference(seed):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(800, 10, generator=g, dtype=torch.float64) * (2 * seed + 1)
    labels = torch.randint(0, 10, (800,), generator=g)
    probs = logits.softmax(1).numpy()
    assert overconfidence_error(logits, labels).item() == pytest.approx(
        _oe_reference(probs, labels.numpy()), abs=1e-6)  # float32 confidences
    b = reliability_bins(logits, labels, n_bins=10)
    conf, pred = probs.max(1), probs.argmax(1)
    for m in range(10):
        inside = (conf > m / 10) & (conf <= (m + 1) / 10)
        assert b["count"][m].item() == inside.sum()
        if inside.any():
            assert b["confidence"][m].item() == pytest.approx(conf[inside].mean(), abs=1e-6)
            assert b["accuracy"][m].item() == pytest.approx(
                (pred[inside] == labels.numpy()[inside]).mean(), abs=1e-6)
    assert b["upper"][-1].item() == 1.0
    # The one-binning summary (ECE and OE are read from it) against the references at 10 bins
    # and the plain mean confidence: float32 confidences, as above.
    m = calibration_metrics(logits, labels, n_bins=10)
    assert m["ece"].item() == pytest.approx(_ece_reference(probs, labels.numpy(), 10), abs=1e-6)
    assert m["oe"].item() == pytest.approx(_oe_reference(probs, labels.numpy(), 10), abs=1e-6)
    assert m["confidence"].item() == pytest.approx(conf.mean(), abs=1e-6)


def test_overconfidence_error_ignores_underconfidence():
    """OE counts only bins where confidence exceeds accuracy: an under-confident model
    (always right at confidence ~0.6) has OE 0 but ECE ~0.4."""
    logits = torch.tensor([[0.4, 0.0]] * 50)  # softmax confidence 0.599
    labels = torch.zeros(50, dtype=torch.long)
    assert overconfidence_error(logits, labels).item() == 0.0
    assert expected_calibration_error(logits, labels).item() == pytest.approx(0.401, abs=1e-3)
    wrong = torch.ones(50, dtype=torch.long)  # always wrong at 0.599: OE = 0.599^2
    assert overconfidence_error(logits, wrong).item() == pytest.approx(0.599**2, abs=1e-3)


def test_ece_of_confident_correct_and_wrong_predictions():
    logits = torch.tensor([[50.0, 0.0], [50.0, 0.0]])
    assert expected_calibration_error(logits, torch.tensor([0, 0])).item() == pytest.approx(0.0)
    assert expected_calibration_error(logits, torch.tensor([1, 1])).item() == pytest.approx(1.0)
