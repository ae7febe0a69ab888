"""Representation-space geometry: closed forms, autograd, symmetry and brute force."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deep.geometry import (
    class_means,
    cosine_to_centers,
    extract_features,
    feature_rms,
    gradient_radiality,
    head_statistics,
    min_loss_centers,
    scale_agreement,
)
from deep.models import build_model

K, D = 5, 7


def _head(seed=0, bias_scale=0.3):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(K, D, generator=g, dtype=torch.float64)
    b = bias_scale * torch.randn(K, generator=g, dtype=torch.float64)
    z = torch.randn(200, D, generator=g, dtype=torch.float64).abs() * 2  # ReLU-like features
    return z, w, b


def _ce_each(z, w, b, c):
    return F.cross_entropy(F.linear(z, w, b), c, reduction="none")


def test_feature_rms_and_class_means():
    z, _, _ = _head()
    np.testing.assert_allclose(feature_rms(z).numpy(),
                               np.linalg.norm(z.numpy(), axis=1) / np.sqrt(D), rtol=1e-14)
    y = torch.arange(len(z)) % (K - 1)  # class K-1 has no sample
    means = class_means(z, y, K)
    for k in range(K - 1):
        torch.testing.assert_close(means[k], z[y == k].mean(0), rtol=1e-13, atol=0)
    assert torch.equal(means[K - 1], torch.zeros(D, dtype=z.dtype))


def test_gradient_radiality_uses_the_true_gradient():
    z, w, b = _head(1)
    c = torch.arange(len(z)) % K
    zz = z.clone().requires_grad_(True)
    _ce_each(zz, w, b, c).sum().backward()  # per-sample gradients: the rows of zz.grad
    expected = F.cosine_similarity(zz.grad, -z, dim=1)
    torch.testing.assert_close(gradient_radiality(z, w, b, c), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("radius", [0.5, 2.0, 6.0, 100.0])
def test_min_loss_centers_satisfy_the_lagrange_condition_and_beat_the_sphere(radius):
    z, w, b = _head(2)
    centers = min_loss_centers(w, b, radius)
    assert centers.shape == (K, D)
    torch.testing.assert_close(centers.norm(dim=1), torch.full((K,), radius, dtype=w.dtype),
                               rtol=1e-12, atol=0)
    # At a constrained minimiser grad CE = -mu z (mu > 0): the ascent direction is radial.
    rad = gradient_radiality(centers, w, b, torch.arange(K))
    torch.testing.assert_close(rad, torch.ones(K, dtype=w.dtype), rtol=0, atol=1e-8)
    # No point of 20 000 random ones on the sphere (nor r w_k / |w_k|) has a lower loss
    # (at r = 100 every CE underflows to 0 and the comparison holds trivially).
    g = torch.Generator().manual_seed(0)
    pts = radius * F.normalize(torch.randn(20000, D, generator=g, dtype=w.dtype), dim=1)
    best = torch.stack([_ce_each(pts, w, b, torch.full((len(pts),), k)).min()
                        for k in range(K)])
    at_w = _ce_each(radius * F.normalize(w, dim=1), w, b, torch.arange(K))
    at_c = _ce_each(centers, w, b, torch.arange(K))
    assert (at_c <= best + 1e-12).all() and (at_c <= at_w + 1e-12).all()


def test_min_loss_centers_of_a_symmetric_head_point_along_the_weights():
    """Simplex head (w_k the vertices of a regular simplex, b = 0): by symmetry the center of
    class k lies along w_k, at every radius."""
    from logitreg import simplex_means

    w = torch.as_tensor(simplex_means(K, D), dtype=torch.float64) * 1.7  # (K, D)
    for radius in (0.3, 3.0):
        centers = min_loss_centers(w, None, radius)
        cos = F.cosine_similarity(centers, w, dim=1)
        torch.testing.assert_close(cos, torch.ones(K, dtype=w.dtype), rtol=0, atol=1e-10)


def test_cosine_to_centers():
    z, w, _ = _head(3)
    cls = torch.arange(len(z)) % K
    got = cosine_to_centers(z, w, cls)
    ref = [float(z[i] @ w[cls[i]] / (z[i].norm() * w[cls[i]].norm())) for i in range(len(z))]
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-12)


def test_scale_agreement_cones():
    z, w, b = _head(4, bias_scale=3.0)
    scales = [1e-4, 0.1, 0.5, 1.0, 2.0, 10.0]
    # Without a bias the regions are exact cones: every prediction survives every scaling.
    assert torch.equal(scale_agreement(z, w, None, scales), torch.ones(6, dtype=z.dtype))
    agree = scale_agreement(z, w, b, scales)
    # Brute force, one sample and one scale at a time in numpy.
    zn, wn, bn = z.numpy(), w.numpy(), b.numpy()
    ref = [np.mean([np.argmax(wn @ (a * zi) + bn) == np.argmax(wn @ zi + bn) for zi in zn])
           for a in scales]
    np.testing.assert_allclose(agree.numpy(), ref, rtol=0, atol=1e-15)
    # As a -> 0 every prediction tends to argmax b, and the large bias makes the radial
    # boundary visible: agreement drops below 1 and rises towards 1 with a.
    pred = F.linear(z, w, b).argmax(1)
    assert agree[0] == (pred == b.argmax()).to(z.dtype).mean()
    assert agree[0] < agree[2] < 1.0


def test_head_statistics():
    """Closed forms on a constructed head: w_k = n_k e_k with norms n = 1..5, and features
    with entries +-1, so |w_k . z_i| = n_k for every i, whose mean is 3."""
    norms = torch.arange(1.0, K + 1, dtype=torch.float64)
    w = torch.zeros(K, D, dtype=torch.float64)
    w[torch.arange(K), torch.arange(K)] = norms
    g = torch.Generator().manual_seed(5)
    z = 2.0 * torch.randint(0, 2, (50, D), generator=g).double() - 1.0
    b = torch.tensor([0.3, -1.5, 0.2, 0.0, 1.1], dtype=torch.float64)
    stats = head_statistics(z, w, b)
    assert stats["bias_ratio"].item() == pytest.approx(1.5 / 3.0, rel=1e-14)
    # The sample (ddof = 1) std of 1..5 is sqrt(5/2); the mean is 3.
    assert stats["weight_norm_cv"].item() == pytest.approx(np.sqrt(2.5) / 3.0, rel=1e-14)
    # Invariances: the ratio scales as 1/|z|, the cv ignores a common rescaling of w.
    assert head_statistics(4.0 * z, w, b)["bias_ratio"].item() == pytest.approx(1.5 / 12.0,
                                                                             rel=1e-14)
    assert head_statistics(z, 7.0 * w, b)["weight_norm_cv"].item() == pytest.approx(
        np.sqrt(2.5) / 3.0, rel=1e-14)
    equal = F.normalize(w, dim=1)
    assert head_statistics(z, equal, None)["weight_norm_cv"] < 1e-15
    assert head_statistics(z, equal, None)["bias_ratio"] == 0


def test_extract_features_reads_the_model():
    torch.manual_seed(0)
    model = build_model("cnn", 1, 10, torch.zeros(1), torch.ones(1), 4, feature_dim=3)
    x = torch.rand(37, 1, 8, 8)
    z, logits = extract_features(model, x, batch_size=10)
    assert model.training  # restored
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(z, model.features(x), rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(logits, model(x), rtol=1e-6, atol=1e-6)


def test_errors_name_the_argument():
    z, w, b = _head()
    with pytest.raises(ValueError, match=r"z of shape \(200, 7\) and weight of shape \(5, 6\)"):
        scale_agreement(z, w[:, :6], b, [1.0])
    with pytest.raises(ValueError, match=r"bias of shape \(4,\): expected \(5,\)"):
        gradient_radiality(z, w, b[:4], torch.zeros(200, dtype=torch.long))
    with pytest.raises(ValueError, match=r"scales=\[0.0\]: expected positive"):
        scale_agreement(z, w, b, [0.0])
    with pytest.raises(ValueError, match=r"radius=-1.0: expected a positive"):
        min_loss_centers(w, b, -1.0)
