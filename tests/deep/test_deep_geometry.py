"""Representation-space geometry: closed forms, autograd, symmetry and brute force."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deep.geometry import (
    class_means,
    confidence_correlation,
    cosine_to_centers,
    extract_features,
    feature_rms,
    gradient_radiality,
    head_statistics,
    min_loss_centers,
    scale_agreement,
    temperature_agreement,
    weight_centers,
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


# ------------------------------------------------------- centers made comparable (Table 1)


def _kkt(centers, w, b, radius):
    """Multipliers of min m_k(z) s.t. z >= 0, |z| = r at each center: g = grad m_k by
    autograd, with m_k = logsumexp_{j != k}(l_j - l_k) (CE = softplus(m_k), so the same
    conditions; CE's own gradient loses all digits once 1 - p_k rounds), mu from the
    support, the rest of g on the zero coordinates (lambda >= 0)."""
    z = centers.clone().requires_grad_(True)
    logits = F.linear(z, w, b)  # (K, K)
    own = torch.eye(len(w), dtype=torch.bool)
    gaps = (logits - logits.diagonal()[:, None]).masked_fill(own, float("-inf"))
    gaps.logsumexp(dim=1).sum().backward()
    g = z.grad
    support = centers > 0
    mu = -(g * centers).sum(1) / radius**2  # (K,)
    residual = torch.where(support, g + mu[:, None] * centers, torch.zeros_like(g))
    return g, support, mu, residual


@pytest.mark.parametrize("radius", [0.5, 3.0, 20.0])
def test_nonnegative_centers_satisfy_the_constrained_optimality_conditions(radius):
    z, w, b = _head(6)
    centers = min_loss_centers(w, b, radius, domain="nonnegative")
    assert centers.shape == (K, D) and (centers >= 0).all()
    torch.testing.assert_close(centers.norm(dim=1), torch.full((K,), radius, dtype=w.dtype),
                               rtol=1e-13, atol=0)
    g, support, mu, residual = _kkt(centers, w, b, radius)
    # The restriction is active (some coordinates at 0, where the sphere's center has
    # negative entries), and KKT holds: g = -mu z on the support, g >= 0 off it.
    assert (~support).any() and (min_loss_centers(w, b, radius) < 0).any()
    # A class whose center it predicts has a region meeting the orthant: the loss then
    # decreases outward (mu > 0) and the ball relaxation makes the center global.
    wins = F.linear(centers, w, b).argmax(1) == torch.arange(K)
    assert wins.sum() >= 3 and (mu[wins] > 0).all()
    scale = g.norm(dim=1, keepdim=True)
    assert (residual.norm(dim=1, keepdim=True) <= 1e-8 * scale).all()
    assert (torch.where(support, scale, g) >= -1e-10 * scale).all()
    # No point of 20 000 random non-negative ones on the sphere has a lower loss.
    gen = torch.Generator().manual_seed(1)
    pts = radius * F.normalize(torch.rand(20000, D, generator=gen, dtype=w.dtype) ** 3, dim=1)
    best = torch.stack([_ce_each(pts, w, b, torch.full((len(pts),), k)).min()
                        for k in range(K)])
    assert (_ce_each(centers, w, b, torch.arange(K)) <= best + 1e-12).all()
    # At such a center the ascent direction is not radial: its part on the zero
    # coordinates, lambda, gives cos = mu r / sqrt(mu^2 r^2 + |lambda|^2) < 1.
    lam = torch.where(support, torch.zeros_like(g), g).norm(dim=1)
    expected = mu * radius / torch.sqrt((mu * radius) ** 2 + lam**2)
    rad = gradient_radiality(centers, w, b)  # classes=None: row k is class k's center
    torch.testing.assert_close(rad, expected, rtol=1e-7, atol=0)
    assert (rad < 1 - 1e-6).any()


def test_nonnegative_centers_of_a_two_class_head_in_closed_form():
    """w_0 = (1, 1, 0), w_1 = 0: m_0 = -(z_0 + z_1) and m_1 = z_0 + z_1 (b = 0). Class 0's
    sphere center r (1, 1, 0)/sqrt 2 lies in the orthant, so the restriction is inactive
    (both solvers agree); class 1's sphere center is its negative, and on the orthant its
    loss is least where z_0 = z_1 = 0: the center is r e_2, with mu = 0."""
    w = torch.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    for radius in (0.7, 4.0):
        c = min_loss_centers(w, None, radius, domain="nonnegative")
        expected = radius * torch.tensor([[2**-0.5, 2**-0.5, 0.0], [0.0, 0.0, 1.0]],
                                         dtype=torch.float64)
        torch.testing.assert_close(c, expected, rtol=0, atol=1e-9 * radius)
        torch.testing.assert_close(min_loss_centers(w, None, radius)[0], expected[0],
                                   rtol=0, atol=1e-7 * radius)
        torch.testing.assert_close(min_loss_centers(w, None, radius)[1], -expected[0],
                                   rtol=0, atol=1e-7 * radius)
        # A float32 head is solved in float64 and returned in float32.
        c32 = min_loss_centers(w.float(), None, radius, domain="nonnegative")
        assert c32.dtype == torch.float32
        torch.testing.assert_close(c32, expected.float(), rtol=0, atol=1e-6 * radius)


def test_class_means_centred_and_weight_centers():
    z, w, _ = _head(7)
    y = torch.arange(len(z)) % K
    y[:3] = 0  # unbalanced
    raw, centred = class_means(z, y, K), class_means(z, y, K, centered=True)
    torch.testing.assert_close(centred, raw - z.mean(0), rtol=0, atol=1e-14)
    counts = torch.bincount(y, minlength=K).double()
    torch.testing.assert_close(counts @ centred, torch.zeros(D, dtype=z.dtype), rtol=0,
                               atol=1e-12)
    assert torch.equal(weight_centers(w), w)
    wc = weight_centers(w, centered=True)
    torch.testing.assert_close(wc.sum(0), torch.zeros(D, dtype=w.dtype), rtol=0, atol=1e-14)
    # Softmax cannot tell w from its centred version.
    torch.testing.assert_close(F.linear(z, wc).softmax(1), F.linear(z, w).softmax(1),
                               rtol=1e-12, atol=1e-14)


def test_confidence_correlation_against_numpy():
    z, w, b = _head(8)
    centers = min_loss_centers(w, b, float(z.norm(dim=1).mean()), domain="nonnegative")
    zn, wn, bn, cn = (t.numpy() for t in (z, w, b, centers))
    logits = zn @ wn.T + bn
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    pred = logits.argmax(1)
    origin = zn.mean(0)
    for o in (None, origin):
        zo = zn if o is None else zn - o
        c = cn[pred]
        cos = np.sum(zo * c, 1) / (np.linalg.norm(zo, axis=1) * np.linalg.norm(c, axis=1))
        ref = np.corrcoef(cos, p.max(1))[0, 1]
        got = confidence_correlation(z, w, b, centers,
                                     origin=None if o is None else torch.from_numpy(o))
        assert got.item() == pytest.approx(ref, rel=1e-12)
    # Given classes instead of the prediction.
    y = torch.arange(len(z)) % K
    cos_true = cosine_to_centers(z, centers, y).numpy()
    assert confidence_correlation(z, w, b, centers, classes=y).item() == pytest.approx(
        np.corrcoef(cos_true, p.max(1))[0, 1], rel=1e-12)
    with pytest.raises(ValueError, match=r"centers of shape \(4, 7\): expected \(5, 7\)"):
        confidence_correlation(z, w, b, centers[:4])


def test_scale_agreement_is_exactly_one_without_bias_even_at_near_ties():
    """b = 0 (None or zeros): exactly 1 at every positive scale, including features that
    sit on a decision boundary to the last bit, where W (a z) rounded could flip."""
    _, w, _ = _head(9)
    # Features near w_0 + w_1 with their w_0 - w_1 component removed: logits 0 and 1 tie,
    # to the last bit or nearly, and are the largest for most samples. Computing
    # W (a z) directly flips about a quarter of these predictions at every scale.
    g = torch.Generator().manual_seed(9)
    d01 = w[0] - w[1]
    z = 3 * (w[0] + w[1]) + 0.3 * torch.randn(2000, D, generator=g, dtype=w.dtype)
    z = z - ((z @ d01) / (d01 @ d01))[:, None] * d01[None, :]
    assert (F.linear(z, w).argmax(1) < 2).double().mean() > 0.5
    scales = [1e-300, 1e-8, 0.3, 1.0, 7.0, 1e8, 1e300]
    ones = torch.ones(len(scales), dtype=z.dtype)
    assert torch.equal(scale_agreement(z, w, None, scales), ones)
    assert torch.equal(scale_agreement(z, w, torch.zeros(K, dtype=z.dtype), scales), ones)
    assert torch.equal(scale_agreement(z.float(), w.float(), None, scales[1:-1]),
                       ones[1:-1].float())


def test_temperature_agreement_exact_without_bias_and_measured_with_it():
    z, w, b = _head(10, bias_scale=2.0)
    scales = [0.1, 0.5, 1.0, 3.0]
    for bias in (None, torch.zeros(K, dtype=z.dtype)):
        out = temperature_agreement(z, w, bias, scales)
        # softmax(W (s z)) and softmax(s W z) differ only by float64 rounding of s z.
        assert (out["max_abs"] <= 1e-14).all() and (out["kl"].abs() <= 1e-14).all()
    out = temperature_agreement(z, w, b, scales)
    # Brute force in numpy, one scale at a time.
    zn, wn, bn = z.numpy(), w.numpy(), b.numpy()

    def softmax(v):
        e = np.exp(v - v.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    for i, s in enumerate(scales):
        p = softmax((s * zn) @ wn.T + bn)
        q = softmax(s * (zn @ wn.T + bn))
        assert out["max_abs"][i].item() == pytest.approx(np.abs(p - q).max(), abs=1e-14)
        assert out["kl"][i].item() == pytest.approx(np.mean(np.sum(q * np.log(q / p), 1)),
                                                    rel=1e-10, abs=1e-15)
    assert out["max_abs"][2] < 1e-15  # s = 1: identical
    assert (out["max_abs"][[0, 1, 3]] > 1e-3).all()  # the bias breaks the equivalence


def test_new_errors_name_the_argument():
    z, w, b = _head()
    with pytest.raises(ValueError, match=r"domain='orthant': expected one of sphere, "
                                         r"nonnegative"):
        min_loss_centers(w, b, 1.0, domain="orthant")
    with pytest.raises(ValueError, match=r"classes=None with z of shape \(200, 7\)"):
        gradient_radiality(z, w, b)
    with pytest.raises(ValueError, match=r"scales=\[-1.0\]: expected positive"):
        temperature_agreement(z, w, b, [-1.0])
    with pytest.raises(ValueError, match=r"origin of shape \(6,\): expected \(7,\)"):
        confidence_correlation(z, w, b, w, origin=torch.zeros(6, dtype=w.dtype))
