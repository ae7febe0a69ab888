"""Mixing methods: cross-checks against torchvision.transforms.v2, and soft-target invariants."""

import types

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torchvision.transforms import v2

from deep.losses import one_hot_smooth
from deep.mixing import (
    CutMix,
    Mixing,
    MixParams,
    MixRNG,
    MixUp,
    VarMixup,
    build_mixing,
    cutmix_box,
)
from deep.vae import ConvVAE

K = 7


def _batch(b=6, c=3, h=10, w=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, c, h, w, generator=g), torch.randint(0, K, (b,), generator=g)


def _rng(seed=0):
    return MixRNG(np.random.default_rng(seed), torch.Generator().manual_seed(seed))


def _roll(b):
    """torchvision's pairing: sample i mixes with sample i - 1."""
    return torch.arange(b).roll(1)


@pytest.mark.parametrize("lam", [0.0, 0.3, 0.5, 0.87, 1.0])
def test_mixup_equals_torchvision(lam):
    x, y = _batch()
    tv = v2.MixUp(alpha=1.0, num_classes=K)
    params = {"lam": lam, "labels": y, "batch_size": len(y)}
    x_tv, y_tv = tv.transform(x, params), tv.transform(y, params)
    x_ours, y_ours = MixUp().apply(x, one_hot_smooth(y, K), MixParams(lam, _roll(len(y))))
    # Same operations in the same order: bitwise equal.
    assert torch.equal(x_ours, x_tv)
    assert torch.equal(y_ours, y_tv)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("lam", [0.05, 0.4, 0.77, 0.999])
def test_cutmix_box_and_lam_equal_torchvision(seed, lam):
    x, y = _batch()
    H, W = x.shape[-2:]
    tv = v2.CutMix(alpha=1.0, num_classes=K)
    tv._dist = types.SimpleNamespace(sample=lambda shape: torch.tensor(lam))  # fix lam
    torch.manual_seed(seed)
    cx, cy = int(torch.randint(W, (1,))), int(torch.randint(H, (1,)))  # torchvision's draws
    torch.manual_seed(seed)
    p = tv.make_params([x])
    (y1, y2, x1, x2), lam_ours = cutmix_box(lam, cy, cx, H, W)
    assert p["box"] == (x1, y1, x2, y2)
    assert lam_ours == p["lam_adjusted"]  # same formula on the same integers: exact


@pytest.mark.parametrize("box", [(0, 10, 0, 12), (2, 7, 3, 11), (4, 4, 0, 5), (0, 3, 9, 12)])
def test_cutmix_apply_equals_torchvision(box):
    x, y = _batch()
    y1, y2, x1, x2 = box
    lam = 1.0 - (y2 - y1) * (x2 - x1) / (x.shape[-2] * x.shape[-1])
    tv = v2.CutMix(alpha=1.0, num_classes=K)
    params = {"box": (x1, y1, x2, y2), "lam_adjusted": lam, "labels": y, "batch_size": len(y)}
    x_tv, y_tv = tv.transform(x, params), tv.transform(y, params)
    x_ours, y_ours = CutMix().apply(x, one_hot_smooth(y, K), MixParams(lam, _roll(len(y)), box))
    assert torch.equal(x_ours, x_tv)
    assert torch.equal(y_ours, y_tv)


def test_cutmix_lam_is_the_clipped_box_area():
    x, y = _batch(b=4, h=9, w=9)
    method, rng = CutMix(alpha=0.5), _rng(3)
    for _ in range(200):
        p = method.sample_params(x, rng)
        x_mix, _ = method.apply(x, one_hot_smooth(y, K), p)
        from_partner = (x_mix != x).any(dim=1)  # (B, H, W) pixels that changed
        y1, y2, x1, x2 = p.box
        area = (y2 - y1) * (x2 - x1)
        assert 0 <= y1 <= y2 <= 9 and 0 <= x1 <= x2 <= 9
        assert p.lam == pytest.approx(1 - area / 81, abs=0)
        # Pixels outside the box never change; inside they come from the partner.
        mask = torch.zeros(9, 9, dtype=torch.bool)
        mask[y1:y2, x1:x2] = True
        assert not from_partner[:, ~mask].any()
        assert torch.equal(x_mix[..., mask], x[p.perm][..., mask])


@pytest.mark.parametrize("eps", [0.0, 0.05, 0.1, 0.5, 0.9])
def test_ls_targets_match_torch_label_smoothing(eps):
    from deep.losses import soft_target_cross_entropy

    g = torch.Generator().manual_seed(1)
    logits, y = torch.randn(32, K, generator=g) * 3, torch.randint(0, K, (32,), generator=g)
    ours = soft_target_cross_entropy(logits, one_hot_smooth(y, K, eps))
    ref = F.cross_entropy(logits, y, label_smoothing=eps)
    # Same maths, different summation order in float32: a few ulps of a value ~ 2.
    torch.testing.assert_close(ours, ref, rtol=1e-6, atol=1e-6)


def _tiny_vae(shape=(3, 10, 12)):
    torch.manual_seed(0)
    return ConvVAE(shape, latent_dim=4, width=4, bounded=True).eval().requires_grad_(False)


def _methods():
    vae = _tiny_vae()
    return [
        Mixing(), MixUp(1.0), MixUp(0.2, prob=0.5), CutMix(1.0), CutMix(2.0, prob=0.5),
        VarMixup(vae), VarMixup(vae, latent="sample", clean_frac=0.5, prob=0.7),
    ]


@pytest.mark.parametrize("method", _methods(), ids=repr)
@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_every_soft_target_sums_to_one(method, eps):
    x, y = _batch(b=8)
    rng = _rng(5)
    for _ in range(20):
        x_out, t = method(x, one_hot_smooth(y, K, eps), rng)
        assert x_out.shape == x.shape and t.shape == (8, K)
        assert (t >= 0).all()
        # float32 sums of a few terms in [0, 1]: within a few ulps of 1.
        torch.testing.assert_close(t.sum(1), torch.ones(8), rtol=0, atol=1e-6)


@pytest.mark.parametrize("method", _methods()[1:5], ids=repr)
def test_mixed_targets_have_two_nonzero_entries(method):
    """As torchvision's test: without LS, a mixed one-hot target has at most two non-zeros,
    the original label with weight lam and the partner's with 1 - lam."""
    x, y = _batch(b=8)
    rng = _rng(2)
    for _ in range(20):
        p = method.sample_params(x, rng)
        _, t = method.apply(x, one_hot_smooth(y, K), p)
        assert ((t > 0).sum(1) <= 2).all()
        if p.perm is not None:
            expected = p.lam * F.one_hot(y, K) + (1 - p.lam) * F.one_hot(y[p.perm], K)
            torch.testing.assert_close(t, expected.float(), rtol=0, atol=1e-6)


def test_prob_zero_is_identity_and_prob_is_respected():
    x, y = _batch()
    t = one_hot_smooth(y, K)
    rng = _rng(0)
    for _ in range(10):
        x_out, t_out = MixUp(1.0, prob=0.0)(x, t, rng)
        assert x_out is x and t_out is t
    method = MixUp(1.0, prob=0.3)
    applied = sum(method.sample_params(x, rng).perm is not None for _ in range(2000))
    assert abs(applied / 2000 - 0.3) < 0.04  # binomial std ~ 0.01: four sigma


def test_sampling_is_reproducible_and_lam_is_beta():
    x, _ = _batch()
    a = [MixUp(0.4).sample_params(x, r) for r in [_rng(9)] for _ in range(3)]
    b = [MixUp(0.4).sample_params(x, r) for r in [_rng(9)] for _ in range(3)]
    assert [p.lam for p in a] == [p.lam for p in b]
    assert all(torch.equal(p.perm, q.perm) for p, q in zip(a, b, strict=True))
    # Each partner index is a permutation of the batch (every sample is used exactly once as
    # a partner), and a fresh one per batch: 20 draws of 6! = 720 are not all the same.
    rng = _rng(2)
    perms = [method.sample_params(x, rng).perm for method in (MixUp(0.4), CutMix(1.0))
             for _ in range(10)]
    assert all(torch.equal(p.sort().values, torch.arange(len(x))) for p in perms)
    assert len({tuple(p.tolist()) for p in perms}) > 1
    rng = _rng(1)
    lams = np.array([MixUp(0.4).sample_params(x, rng).lam for _ in range(4000)])
    # Beta(0.4, 0.4): mean 1/2, variance 1/(4 (2 alpha + 1)) = 0.1389; SE of mean ~ 0.006.
    assert abs(lams.mean() - 0.5) < 0.03
    assert abs(lams.var() - 1 / (4 * 1.8)) < 0.01


def test_varmixup_decodes_mixed_latents_with_the_same_lam():
    vae = _tiny_vae()
    x, y = _batch(b=6)
    method = VarMixup(vae, alpha=1.0)
    p = method.sample_params(x, _rng(4))
    x_out, t = method.apply(x, one_hot_smooth(y, K), p)
    mu = vae.encode(x)[0]
    expected = vae.decode(p.lam * mu + (1 - p.lam) * mu[p.perm])
    torch.testing.assert_close(x_out, expected, rtol=1e-5, atol=1e-6)
    expected_t = p.lam * F.one_hot(y, K) + (1 - p.lam) * F.one_hot(y[p.perm], K)
    torch.testing.assert_close(t, expected_t.float(), rtol=0, atol=1e-6)


def test_varmixup_clean_fraction_keeps_the_tail_clean():
    vae = _tiny_vae()
    x, y = _batch(b=8)
    method = VarMixup(vae, clean_frac=0.25, latent="sample")
    p = method.sample_params(x, _rng(4))
    assert p.noise.shape == (8, 4)
    x_out, t = method.apply(x, one_hot_smooth(y, K), p)
    assert torch.equal(x_out[6:], x[6:])  # round(0.25 * 8) = 2 clean images at the end
    assert torch.equal(t[6:], one_hot_smooth(y, K)[6:])
    assert not torch.equal(x_out[:6], x[:6])


@pytest.mark.parametrize("kwargs, match", [
    (dict(reg="mixup", alpha=0.0), r"--mix-alpha=0\.0 .*alpha > 0"),
    (dict(reg="cutmix", alpha=-1.0), r"--mix-alpha=-1\.0"),
    (dict(reg="mixup", prob=1.5), r"--mix-prob=1\.5 .*probability"),
    (dict(reg="varmixup"), r"--reg varmixup needs --vae-checkpoint"),
    (dict(reg="nope"), r"--reg='nope' is not valid: expected none, ls"),
])
def test_build_mixing_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_mixing(**kwargs)
