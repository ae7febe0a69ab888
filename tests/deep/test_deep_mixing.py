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
    DeiTMix,
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
        DeiTMix(), DeiTMix(prob=0.5, clean_frac=0.25),
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
    (dict(reg="deit", alpha=0.0), r"--mix-alpha=0\.0 .*alpha > 0"),
    (dict(reg="deit", prob=-0.1), r"--mix-prob=-0\.1 .*probability"),
    (dict(reg="deit", switch_prob=2.0), r"switch_prob=2\.0 .*probability"),
    (dict(reg="nope"), r"--reg='nope' is not valid: expected none, ls"),
])
def test_build_mixing_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_mixing(**kwargs)


# ----------------------------------------------------------------------------- clean fraction

def _params_for(method, x):
    """Fixed draws with a derangement (no row is its own partner) and 0 < lam < 1, so that
    every mixed row differs from its input."""
    perm = _roll(len(x))
    if isinstance(method, CutMix):
        box, lam = cutmix_box(0.3, x.shape[-2] // 2, x.shape[-1] // 2, *x.shape[-2:])
        return MixParams(lam, perm, box)
    return MixParams(0.3, perm)


def _clean_methods(clean_frac):
    vae = _tiny_vae()
    return [MixUp(1.0, clean_frac=clean_frac), CutMix(1.0, clean_frac=clean_frac),
            VarMixup(vae, clean_frac=clean_frac),
            VarMixup(vae, clean_frac=clean_frac, residual=True, latent="sample")]


@pytest.mark.parametrize("b", [7, 8])
@pytest.mark.parametrize("frac", [0.0, 0.25, 0.5, 0.9])
@pytest.mark.parametrize("which", range(4), ids=["mixup", "cutmix", "varmixup", "varmix-res"])
def test_clean_fraction_leaves_exactly_round_f_b_rows_unmixed(which, frac, b):
    x, y = _batch(b=b)
    t = one_hot_smooth(y, K)
    method, plain = _clean_methods(frac)[which], _clean_methods(0.0)[which]
    p = _params_for(method, x)
    if method.name == "varmixup" and method.latent == "sample":
        p = MixParams(p.lam, p.perm, noise=torch.randn(b, 4, generator=torch.Generator()))
    x_out, t_out = method.apply(x, t, p)
    unchanged = {i for i in range(b) if torch.equal(x_out[i], x[i]) and torch.equal(t_out[i], t[i])}
    n_clean = round(frac * b)  # b = 7: 0.25 -> 2, 0.5 -> 4 (half to even), 0.9 -> 6
    assert unchanged == set(range(b - n_clean, b))
    # The mixed rows are those of the fully mixed batch: the fraction changes nothing else.
    x_all, t_all = plain.apply(x, t, p)
    n = b - n_clean
    exact = method.name != "varmixup"  # the VAE's layers see batches of other sizes
    tol = dict(rtol=0, atol=0) if exact else dict(rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(x_out[:n], x_all[:n], **tol)
    torch.testing.assert_close(t_out[:n], t_all[:n], rtol=0, atol=0)


def _state(rng):
    return rng.host.bit_generator.state, rng.device.get_state()


@pytest.mark.parametrize("make", [
    lambda f, vae: MixUp(0.7, prob=0.6, clean_frac=f),
    lambda f, vae: CutMix(0.7, prob=0.6, clean_frac=f),
    lambda f, vae: VarMixup(vae, 0.7, prob=0.6, latent="sample", clean_frac=f),
    lambda f, vae: VarMixup(vae, 0.7, prob=0.6, latent="sample", clean_frac=f, residual=True,
                            input_frac=0.25),
], ids=["mixup", "cutmix", "varmixup", "varmixup-residual-input"])
def test_clean_fraction_uses_the_same_random_draws(make):
    """f changes no draw: the same seeded generators give the same lam, perm, box and noise,
    and leave both generators in the same state, whatever f is."""
    vae = _tiny_vae()
    x, _ = _batch(b=8)
    runs = []
    for f in (0.0, 0.25, 0.5):
        rng, method = _rng(11), make(f, vae)
        draws = [method.sample_params(x, rng) for _ in range(12)]
        runs.append((draws, _state(rng)))
    (ref, ref_state), *others = runs
    assert any(p.perm is None for p in ref) and any(p.perm is not None for p in ref)
    for draws, state in others:
        assert state[0] == ref_state[0] and torch.equal(state[1], ref_state[1])
        for p, q in zip(draws, ref, strict=True):
            assert p.lam == q.lam and p.box == q.box
            assert (p.perm is None) == (q.perm is None)
            if p.perm is not None:
                assert torch.equal(p.perm, q.perm)
            assert (p.noise is None and q.noise is None) or torch.equal(p.noise, q.noise)


def test_build_mixing_clean_fraction_defaults_and_values():
    vae = _tiny_vae()
    assert build_mixing("mixup").clean_frac == 0.0
    assert build_mixing("cutmix").clean_frac == 0.0
    assert build_mixing("varmixup", vae=vae).clean_frac == 0.5
    m = build_mixing("mixup", clean_frac=0.25)
    assert isinstance(m, MixUp) and m.clean_frac == 0.25 and m.n_mixed(8) == 6
    v = build_mixing("varmixup", vae=vae, clean_frac=0.0, residual=True, input_frac=0.5)
    assert (v.clean_frac, v.residual, v.input_frac) == (0.0, True, 0.5)


# ----------------------------------------------------------------------------- VarMixup options

@pytest.mark.parametrize("latent_shape", [(3, 10, 12), (1, 16, 16)])
def test_residual_varmixup_returns_the_endpoints_exactly(latent_shape):
    """lam = 1 gives x, lam = 0 gives x[perm], bitwise: the decoder's blur cancels."""
    vae = _tiny_vae(latent_shape)
    x, y = _batch(b=6, c=latent_shape[0], h=latent_shape[1], w=latent_shape[2])
    t = one_hot_smooth(y, K)
    perm = _roll(6)
    method = VarMixup(vae, residual=True)
    assert torch.equal(method.apply(x, t, MixParams(1.0, perm))[0], x)
    assert torch.equal(method.apply(x, t, MixParams(0.0, perm))[0], x[perm])
    # The plain decode is not the input: the residual is what makes the endpoints exact.
    assert not torch.allclose(VarMixup(vae).apply(x, t, MixParams(1.0, perm))[0], x, atol=1e-2)


def test_residual_varmixup_is_decode_plus_mixed_residuals():
    """Against the defining formula g(z~) + lam r_i + (1 - lam) r_j, r = x - g(mu(x)),
    computed independently (before the [0, 1] clamp, which the check keeps inside)."""
    vae = _tiny_vae()
    x, y = _batch(b=6)
    x = 0.25 + 0.5 * x  # keep away from the clamp
    p = MixParams(0.35, _roll(6))
    out, t = VarMixup(vae, residual=True).apply(x, one_hot_smooth(y, K), p)
    mu = vae.encode(x)[0]
    g_mix = vae.decode(0.35 * mu + 0.65 * mu[p.perm])
    r = x - vae.decode(mu)
    expected = (g_mix + 0.35 * r + 0.65 * r[p.perm]).clamp(0, 1)
    # float32 sums of a few terms of size ~1: a few ulps.
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-6)
    assert (out >= 0).all() and (out <= 1).all()


def test_varmixup_input_fraction_rows_are_input_mixup():
    vae = _tiny_vae()
    x, y = _batch(b=8)
    t = one_hot_smooth(y, K)
    p = MixParams(0.3, _roll(8))
    x_out, t_out = VarMixup(vae, input_frac=0.25, clean_frac=0.25).apply(x, t, p)
    mu = vae.encode(x)[0]
    decoded = vae.decode(0.3 * mu + 0.7 * mu[p.perm])
    torch.testing.assert_close(x_out[:4], decoded[:4], rtol=1e-5, atol=1e-6)  # decoded
    assert torch.equal(x_out[4:6], MixUp().apply(x, t, p)[0][4:6])  # input mixup, same lam
    assert torch.equal(x_out[6:], x[6:])  # clean
    assert torch.equal(t_out[:6], MixUp().apply(x, t, p)[1][:6])
    assert torch.equal(t_out[6:], t[6:])


@pytest.mark.parametrize("kwargs, match", [
    (dict(clean_frac=1.0),
     r"--mix-clean-frac=1\.0 is not valid: expected a fraction with 0 <= f < 1"),
    (dict(clean_frac=-0.1), r"--mix-clean-frac=-0\.1 is not valid"),
    (dict(input_frac=1.0), r"--varmix-input-frac=1\.0 is not valid"),
    (dict(input_frac=0.5, clean_frac=0.5), r"--varmix-input-frac=0\.5 with --mix-clean-frac=0\.5 "
                                           r"leaves no row to decode"),
])
def test_varmixup_option_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        VarMixup(_tiny_vae(), **kwargs)
    if set(kwargs) == {"clean_frac"}:
        for reg in ("mixup", "cutmix"):
            with pytest.raises(ValueError, match=match):
                build_mixing(reg, **kwargs)


# ----------------------------------------------------------------------------- config flags

def _train_cfg(*argv):
    from deep.cli import build_parser, config_from_args
    from deep.config import TrainConfig

    parser = build_parser(TrainConfig, "prog", "")
    return config_from_args(TrainConfig, parser, list(argv)).resolved(False)


def test_mix_clean_frac_flag_defaults_and_the_older_name():
    vae = ["--reg", "varmixup", "--vae-checkpoint", "v.pt"]
    assert _train_cfg("--reg", "mixup").mix_clean_frac == 0.0
    assert _train_cfg("--reg", "cutmix").mix_clean_frac == 0.0
    assert _train_cfg(*vae).mix_clean_frac == 0.5  # today's VarMixup default
    assert _train_cfg("--reg", "ls").mix_clean_frac is None  # does not mix
    assert _train_cfg("--reg", "cutmix", "--mix-clean-frac", "0.25").mix_clean_frac == 0.25
    # --varmix-clean-frac still works for varmixup, and is recorded under the one name.
    old = _train_cfg(*vae, "--varmix-clean-frac", "0")
    new = _train_cfg(*vae, "--mix-clean-frac", "0")
    assert old == new and old.mix_clean_frac == 0.0 and old.varmix_clean_frac is None
    assert _train_cfg(*vae, "--varmix-clean-frac", "0.25", "--mix-clean-frac", "0.25"
                      ).mix_clean_frac == 0.25
    r = _train_cfg(*vae, "--varmix-residual", "--varmix-input-frac", "0.25")
    assert r.varmix_residual and r.varmix_input_frac == 0.25


@pytest.mark.parametrize("argv, match", [
    (["--reg", "mixup", "--varmix-clean-frac", "0.5"],
     r"--varmix-clean-frac=0\.5 applies to --reg varmixup only: expected --mix-clean-frac "
     r"for --reg mixup"),
    (["--reg", "varmixup", "--vae-checkpoint", "v", "--varmix-clean-frac", "0.5",
      "--mix-clean-frac", "0.25"], r"--varmix-clean-frac=0\.5 and --mix-clean-frac=0\.25 disagree"),
    (["--reg", "cutmix", "--mix-clean-frac", "1"],
     r"--mix-clean-frac=1\.0 is outside \[0\.0, 1\.0\)"),
    (["--reg", "varmixup", "--vae-checkpoint", "v", "--varmix-input-frac", "0.5"],
     r"--varmix-input-frac=0\.5 with --mix-clean-frac=0\.5 leaves no row to decode"),
])
def test_mix_clean_frac_flag_errors(argv, match):
    with pytest.raises(ValueError, match=match):
        _train_cfg(*argv)


def test_training_with_a_clean_fraction_records_it(tmp_path, fast, digits_data):
    import json

    from deep import train as train_mod
    from deep.config import TrainConfig

    cfg = TrainConfig(**dict(fast, epochs=1), reg="cutmix", mix_clean_frac=0.5,
                      out_dir=str(tmp_path), run_name="c")
    out = train_mod.train(cfg, data=digits_data)
    saved = json.loads((tmp_path / "c" / "config.json").read_text())["config"]
    assert out["finished"] and saved["mix_clean_frac"] == 0.5
    assert saved["varmix_clean_frac"] is None


# ----------------------------------------------------------------------------- C8/C9 measures

def test_segment_distance_geometry():
    from deep.varmix_measures import segment_distance

    a = torch.tensor([[1.0, 0.0]] * 4)
    b = torch.tensor([[-1.0, 0.0]] * 4)
    p = torch.tensor([[0.0, 1.0], [0.5, 0.0], [3.0, 0.0], [-1.0, -2.0]])
    # Middle, 1 away (segment length 2): 0.5; on the segment: 0; beyond a by 2: 1;
    # 2 below b: 1.
    expected = torch.tensor([0.5, 0.0, 1.0, 1.0], dtype=torch.float64)
    torch.testing.assert_close(segment_distance(p, a, b), expected, rtol=0, atol=1e-15)
    # Scale- and translation-free; a pair of a point with itself has no segment.
    shift = torch.tensor([3.0, -7.0])
    torch.testing.assert_close(segment_distance(5 * p + shift, 5 * a + shift, 5 * b + shift),
                               expected, rtol=0, atol=1e-14)
    assert segment_distance(p[:1], a[:1], a[:1]).isnan().all()
    with pytest.raises(ValueError, match=r"points \(4, 2\) and endpoints \(3, 2\)"):
        segment_distance(p, a[:3], b[:3])


class _LinearVAE(torch.nn.Module):
    """A VAE stand-in whose encoder mean and decoder are affine maps."""

    bounded = False
    latent_dim = 5

    def __init__(self, shape=(3, 10, 12)):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        d = int(np.prod(shape))
        self.shape = shape
        self.enc = torch.randn(d, 5, generator=g, dtype=torch.float64) / d ** 0.5
        self.dec = torch.randn(5, d, generator=g, dtype=torch.float64)
        self.c = torch.randn(d, generator=g, dtype=torch.float64)

    def encode(self, x):
        mu = x.flatten(1).double() @ self.enc
        return mu.float(), torch.zeros_like(mu).float()

    def decode(self, z):
        return (z.double() @ self.dec + self.c).float().view(-1, *self.shape)

    decode_raw = decode  # unbounded: no output nonlinearity


def test_off_segment_distance_is_zero_for_input_mixup_and_positive_for_varmixup():
    from deep.varmix_measures import pair_measures

    # An untrained VAE's codes of these images spread little, and over that range its
    # decoder is nearly affine; weights x3 make its ReLUs and sigmoid bend there.
    vae = _tiny_vae()
    for w in vae.parameters():
        w.mul_(3.0)
    x, _ = _batch(b=8)
    x1, x2 = x[:4], x[4:]
    for lam in (0.2, 0.5, 0.9):
        m = pair_measures(vae, x1, x2, lam)
        # Input mixup lies on its segment: float32 rounding of the mix, relative to |x1 - x2|.
        assert (m["mixup_off_segment"] < 1e-6).all()
        # A nonlinear decoder bends the latent segment: plain decodes and residual-corrected
        # ones leave the input segment.
        assert (m["varmixup_off_segment"] > 1e-2).all()
        r = pair_measures(vae, x1, x2, lam, residual=True)
        assert (r["varmixup_off_segment"] > 1e-2).all()
        # With an affine decoder the residual-corrected VarMixup *is* input mixup: the
        # measure sees the decoder's nonlinearity, nothing else.
        lin = pair_measures(_LinearVAE(), x1, x2, lam, residual=True)
        assert (lin["varmixup_off_segment"] < 1e-5).all()
        # Latent side (C8): with an affine encoder, mu(input mixup) is on [mu1, mu2].
        assert (lin["mixup_latent_off_segment"] < 1e-5).all()
        assert (m["mixup_latent_off_segment"] > 1e-2).all()


def test_latent_mixup_is_on_its_latent_segment_and_measures_at_the_endpoints():
    from deep.varmix_measures import pair_measures, segment_distance

    vae = _tiny_vae()
    x, _ = _batch(b=8)
    mu = vae.encode(x)[0]
    z_mix = 0.4 * mu[:4] + 0.6 * mu[4:]
    assert (segment_distance(z_mix, mu[:4], mu[4:]) < 1e-6).all()
    # lam = 1: both mixups of the residual kind are x1 itself, off-segment 0, realism that of x1.
    m = pair_measures(vae, x[:4], x[4:], 1.0, residual=True)
    assert (m["mixup_off_segment"] == 0).all() and (m["varmixup_off_segment"] == 0).all()
    torch.testing.assert_close(m["mixup_nelbo"], m["varmixup_nelbo"], rtol=0, atol=0)
    assert set(m) == {f"{a}_{b}" for a in ("mixup", "varmixup")
                      for b in ("off_segment", "latent_off_segment")} | {
        f"{a}_{b}" for a in ("mixup", "varmixup", "real")
        for b in ("nelbo", "nelbo_excess", "mse")}
    assert all(v.shape == (4,) for v in m.values())
    with pytest.raises(ValueError, match=r"lam=1\.5 is not valid"):
        pair_measures(vae, x[:4], x[4:], 1.5)


def test_negative_elbo_is_the_vae_objective_per_image():
    from deep.vae import vae_loss
    from deep.varmix_measures import negative_elbo, reconstruction_mse

    vae = _tiny_vae()
    x, _ = _batch(b=6)
    loss, _, _ = vae_loss(vae, x, torch.zeros(6, 4), beta=1.0)
    torch.testing.assert_close(negative_elbo(vae, x).mean(), loss, rtol=1e-6, atol=0)
    g = torch.Generator().manual_seed(3)
    eps = [torch.randn(6, 4, generator=g) for _ in range(3)]
    mc = sum(vae_loss(vae, x[i:i + 1], e[i:i + 1], 1.0)[0] for e in eps for i in range(6)) / 18
    est = negative_elbo(vae, x, generator=torch.Generator().manual_seed(3), n_samples=3)
    torch.testing.assert_close(est.mean(), mc, rtol=1e-5, atol=0)
    from deep.vae import reconstruction_error
    torch.testing.assert_close(reconstruction_mse(vae, x).mean().item(),
                               reconstruction_error(vae, x), rtol=1e-6, atol=0)
    with pytest.raises(ValueError, match=r"n_samples=0 is not valid"):
        negative_elbo(vae, x, generator=g, n_samples=0)
    # The excess form: the Bernoulli entropy floor removed, so that a decoder output equal
    # to x (a perfect reconstruction) would score the KL alone.
    entropy = -(x * x.log() + (1 - x) * (1 - x).log()).flatten(1).sum(1)  # x in (0, 1) here
    torch.testing.assert_close(negative_elbo(vae, x, excess=True), negative_elbo(vae, x) - entropy,
                               rtol=1e-5, atol=1e-4)
