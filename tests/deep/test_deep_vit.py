"""The ViT classifier, the DeiT regularizer and the claim-13 experiment (deep.architecture)."""

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from deep import architecture
from deep.config import TrainConfig
from deep.losses import one_hot_smooth
from deep.mixing import CutMix, DeiTMix, MixRNG, build_mixing, cutmix_box
from deep.models import VIT_SPECS, ViTBody, build_model

K = 10


def _vit(width=16, feature_dim=None, channels=1):
    torch.manual_seed(0)
    return build_model("vit", channels, K, torch.full((channels,), 0.5),
                       torch.full((channels,), 0.25), width, feature_dim).eval()


def _rng(seed=0):
    return MixRNG(np.random.default_rng(seed), torch.Generator().manual_seed(seed))


# ----------------------------------------------------------------------------- the model

@pytest.mark.parametrize("feature_dim, dim", [(None, 16), (3, 3)])
def test_vit_features_and_head_give_the_logits(feature_dim, dim):
    m = _vit(16, feature_dim)
    x = torch.rand(5, 1, 8, 8)
    with torch.no_grad():
        z = m.features(x)
        logits = m(x)
    assert z.shape == (5, dim) and m.feature_dim == dim and logits.shape == (5, K)
    assert isinstance(m.head, nn.Linear) and m.head.in_features == dim
    torch.testing.assert_close(logits, m.head(z), rtol=0, atol=0)
    # After a LayerNorm (or a linear bottleneck) the features are signed.
    assert m.feature_domain == "sphere" and (z < 0).any() and (z > 0).any()


def test_vit_body_is_torchvisions_forward_and_reads_the_class_token():
    """At its reference size the body is torchvision's VisionTransformer forward (class
    token after the final LayerNorm, head removed); the class token is what it returns."""
    m = _vit(16)
    body = m.body
    assert isinstance(body, ViTBody)
    spec = VIT_SPECS["vit"]
    vit = body.vit
    assert (vit.patch_size, vit.image_size, len(vit.encoder.layers)) == (
        spec.patch_size, spec.image_size, spec.num_layers)
    assert vit.encoder.layers[0].self_attention.num_heads == spec.num_heads
    assert vit.conv_proj.in_channels == 1 and vit.conv_proj.out_channels == 16
    x = torch.randn(3, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(body(x), vit(x), rtol=0, atol=0)
        out = body(x)  # the learned class token is what it returns, after the encoder
        vit.class_token.add_(torch.randn(vit.class_token.shape))  # not a constant: LN
        assert not torch.allclose(body(x), out, atol=1e-4)


def test_vit_normalises_its_input_and_accepts_other_sides():
    m = _vit(16)
    torch.manual_seed(0)
    plain = build_model("vit", 1, K, torch.zeros(1), torch.ones(1), 16).eval()
    x = torch.rand(4, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(m(x), plain((x - 0.5) / 0.25), rtol=1e-5, atol=1e-5)
        # 16x16 images: an 8x8 grid, position embeddings resampled from the 4x4 reference.
        big = m(torch.rand(2, 1, 16, 16))
    assert big.shape == (2, K) and torch.isfinite(big).all()
    with pytest.raises(ValueError, match=r"9x9 do not split into 2x2 patches"):
        m(torch.rand(1, 1, 9, 9))


def test_vit_errors_name_the_value():
    with pytest.raises(ValueError, match=r"--width=18 .*multiple of 4"):
        build_model("vit", 1, K, torch.zeros(1), torch.ones(1), 18)
    with pytest.raises(ValueError, match=r"image_size=10 .*multiple of the patch"):
        ViTBody(1, 10, 4, 1, 1, 8, 8)
    with pytest.raises(ValueError, match=r"--model='vit2' is not valid: expected .*vit"):
        build_model("vit2", 1, K, torch.zeros(1), torch.ones(1), 8)


def test_vit_config_defaults():
    cfg = TrainConfig(model="vit").resolved(False)
    assert cfg.width == 64
    assert TrainConfig(model="vit_cifar").resolved(False).width == 256
    with pytest.raises(ValueError):
        TrainConfig(model="vit3")


def test_vit_size_flags_resolve_validate_and_build_the_model(tmp_path, fast, digits_data):
    """--vit-patch/--vit-layers/--vit-heads/--vit-mlp-ratio: the model's sizes by default
    (also for a config.json written before they existed), checked by name, refused for a
    CNN, and the trained (and reloaded) model has them."""
    from deep import train as train_mod

    cfg = TrainConfig(model="vit_cifar").resolved(False)
    assert (cfg.vit_patch, cfg.vit_layers, cfg.vit_heads, cfg.vit_mlp_ratio) == (4, 7, 4, 2.0)
    assert TrainConfig(model="cnn").resolved(False).vit_patch is None
    old = {"model": "vit", "reg": "none", "mix_clean_frac": None}
    assert TrainConfig.upgrade_saved(old) == {**old, "vit_patch": 2, "vit_layers": 4,
                                              "vit_heads": 4, "vit_mlp_ratio": 2.0}
    for kwargs, match in [
            (dict(model="cnn", vit_layers=2), r"--vit-layers=2 applies to the vit models only"),
            (dict(model="vit", vit_patch=3), r"--vit-patch=3 does not divide --model vit's "
                                              r"reference side 8"),
            (dict(model="vit", vit_heads=3), r"--width=64 .* --vit-heads=3 heads"),
            (dict(model="vit", vit_layers=0), r"--vit-layers=0 .*positive integer"),
            (dict(model="vit", vit_mlp_ratio=-1.0), r"--vit-mlp-ratio=-1\.0 .*positive")]:
        with pytest.raises(ValueError, match=match):
            TrainConfig(**kwargs)
    run_cfg = TrainConfig(**{**fast, "epochs": 1, "model": "vit"}, vit_patch=4, vit_layers=1,
                          vit_heads=2, vit_mlp_ratio=1.5, out_dir=str(tmp_path), run_name="r")
    out = train_mod.train(run_cfg, data=digits_data)
    assert out["finished"]
    vit = train_mod.load_model(tmp_path / "r").body.vit
    assert (vit.patch_size, vit.image_size, len(vit.encoder.layers)) == (4, 8, 1)
    assert vit.encoder.layers[0].self_attention.num_heads == 2
    assert vit.encoder.layers[0].mlp[0].out_features == 12  # 1.5 * width 8
    saved = json.loads((tmp_path / "r" / "config.json").read_text())["config"]
    assert (saved["vit_patch"], saved["vit_layers"], saved["vit_heads"]) == (4, 1, 2)


# ----------------------------------------------------------------------------- deit

def test_deit_config_resolves_the_recipe():
    cfg = TrainConfig(reg="deit").resolved(False)
    assert (cfg.ls_eps, cfg.mix_alpha, cfg.mix_prob, cfg.mix_clean_frac) == (0.1, 0.8, 1.0, 0.0)
    # Explicit values are kept; the other regularizers keep alpha 1 and no smoothing.
    cfg = TrainConfig(reg="deit", ls_eps=0.2, mix_alpha=0.5).resolved(False)
    assert (cfg.ls_eps, cfg.mix_alpha) == (0.2, 0.5)
    assert TrainConfig(reg="mixup").resolved(False).mix_alpha == 1.0
    assert TrainConfig(reg="mixup").resolved(False).ls_eps == 0.0
    m = build_mixing("deit", alpha=0.8)
    assert isinstance(m, DeiTMix) and (m.mixup.alpha, m.cutmix.alpha, m.switch_prob) == (
        0.8, 1.0, 0.5)


def test_deit_cutmix_alpha_and_switch_prob_are_flags_that_reach_the_mixing(
        tmp_path, fast, digits_data, monkeypatch):
    """--deit-cutmix-alpha and --deit-switch-prob: DeiT's values by default (also for a
    config.json written before they existed), refused with another --reg, and passed on."""
    from deep import train as train_mod

    cfg = TrainConfig(reg="deit").resolved(False)
    assert (cfg.deit_cutmix_alpha, cfg.deit_switch_prob) == (1.0, 0.5)
    assert TrainConfig(reg="cutmix").resolved(False).deit_switch_prob is None
    old = {"reg": "deit", "mix_clean_frac": 0.0}  # no deit_* keys: the older form
    assert TrainConfig.upgrade_saved(old) == {**old, "deit_cutmix_alpha": 1.0,
                                              "deit_switch_prob": 0.5}
    with pytest.raises(ValueError, match=r"--deit-switch-prob=0\.3 applies to --reg deit only"):
        TrainConfig(reg="cutmix", deit_switch_prob=0.3)
    with pytest.raises(ValueError, match=r"--deit-switch-prob=1\.5 .*probability"):
        TrainConfig(reg="deit", deit_switch_prob=1.5)
    with pytest.raises(ValueError, match=r"--deit-cutmix-alpha=0\.0 .*alpha > 0"):
        TrainConfig(reg="deit", deit_cutmix_alpha=0.0)
    built = []
    real = train_mod.build_mixing
    monkeypatch.setattr(train_mod, "build_mixing",
                        lambda *a, **k: built.append(real(*a, **k)) or built[-1])
    train_mod.train(TrainConfig(**{**fast, "epochs": 1}, reg="deit", deit_cutmix_alpha=0.4,
                                deit_switch_prob=0.9, out_dir=str(tmp_path), run_name="r"),
                    data=digits_data)
    (m,) = built
    assert isinstance(m, DeiTMix) and (m.mixup.alpha, m.cutmix.alpha, m.switch_prob) == (
        0.8, 0.4, 0.9)


def test_deit_targets_are_soft_and_sum_to_one():
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(16, 1, 8, 8, generator=g), torch.randint(0, K, (16,), generator=g)
    method, rng = DeiTMix(), _rng(3)
    kinds = []
    for _ in range(400):
        p = method.sample_params(x, rng)
        x_out, t = method.apply(x, one_hot_smooth(y, K, 0.1), p)
        assert x_out.shape == x.shape and t.shape == (16, K)
        torch.testing.assert_close(t.sum(1), torch.ones(16), rtol=0, atol=1e-6)
        assert (t >= 0.1 / K - 1e-7).all()  # label smoothing survives mixing
        assert (t.amax(1) < 1.0).all()  # soft: never a one-hot row
        kinds.append(p.box is not None)
        if p.box is None:  # Mixup: every image is lam x + (1 - lam) x[perm]
            expected = x[p.perm] * (1 - p.lam) + x * p.lam
            torch.testing.assert_close(x_out, expected, rtol=0, atol=0)
        else:  # CutMix: lam is the uncovered fraction of the clipped box
            (y1, y2, x1, x2) = p.box
            assert math.isclose(p.lam, 1 - (y2 - y1) * (x2 - x1) / 64, abs_tol=1e-12)
    frac = float(np.mean(kinds))
    assert abs(frac - 0.5) < 0.1  # switch probability 0.5; binomial std 0.025: four sigma


def test_deit_cutmix_branch_is_cutmix_and_prob_zero_is_identity():
    x = torch.rand(6, 1, 8, 8)
    t = one_hot_smooth(torch.arange(6) % K, K, 0.1)
    box, lam = cutmix_box(0.4, 4, 4, 8, 8)
    from deep.mixing import MixParams

    p = MixParams(lam, torch.arange(6).roll(1), box)
    for a, b in zip(DeiTMix().apply(x, t, p), CutMix().apply(x, t, p), strict=True):
        assert torch.equal(a, b)
    x_out, t_out = DeiTMix(prob=0.0)(x, t, _rng())
    assert x_out is x and t_out is t
    with pytest.raises(ValueError, match=r"switch_prob=1\.5"):
        DeiTMix(switch_prob=1.5)
    with pytest.raises(ValueError, match=r"cutmix_alpha=0"):
        DeiTMix(cutmix_alpha=0)


# ----------------------------------------------------------------------------- verdict

def _summary(values: dict, std: float = 0.01) -> dict:
    """A summary whose cells have the given (logit_rms, cos, ece) means, all with ``std``."""
    cells = {}
    for key, (rms, cos, ece) in values.items():
        cells[key] = {"logit_rms": {"mean": rms, "std": std},
                      "cos_min_loss_pred": {"mean": cos, "std": std},
                      "ece": {"mean": ece, "std": std}}
    return {"cells": cells}


CNN = (10.0, 0.5, 0.05)  # large logits, low cosine, high ECE


@pytest.mark.parametrize("vit_none, vit_deit, expected", [
    (CNN, (3.0, 0.8, 0.02), "held"),  # only the recipe looks regularized
    ((5.0, 0.5, 0.05), (3.0, 0.8, 0.02), "held"),  # architecture on one of three
    ((5.0, 0.8, 0.02), (3.0, 0.9, 0.01), "did not hold"),  # architecture alone on all three
    (CNN, (11.0, 0.4, 0.2), "did not hold"),  # the recipe on none of the three
    (CNN, (3.0, 0.8, 0.2), "mixed"),  # recipe under-confident: ECE higher
    (CNN, (9.995, 0.8, 0.02), "mixed"),  # a difference within the combined std
])
def test_claim13_verdict_rule(vit_none, vit_deit, expected):
    verdict, why = architecture.claim13_verdict(
        _summary({"cnn+none": CNN, "vit+none": vit_none, "vit+deit": vit_deit}))
    assert verdict == expected
    assert "logit_rms" in why and "cos_min_loss_pred" in why and "ece" in why


def test_claim13_verdict_needs_spread_and_cells():
    s = _summary({"cnn+none": CNN, "vit+none": CNN, "vit+deit": (3.0, 0.8, 0.02)})
    s["cells"]["cnn+none"]["ece"]["std"] = None  # one seed
    assert architecture.claim13_verdict(s)[0] == "undetermined"
    with pytest.raises(ValueError, match=r"summary lacks 'vit\+deit'"):
        architecture.claim13_verdict(_summary({"cnn+none": CNN, "vit+none": CNN}))


# ----------------------------------------------------------------------------- end to end

def test_architecture_experiment_writes_summary(tmp_path, capsys):
    out = tmp_path / "arch"
    argv = ["--out", str(out), "--seeds", "1", "--epochs", "1", "--no-progress"]
    summary = architecture.main(argv)
    saved = json.loads((out / "summary.json").read_text())
    assert set(saved["cells"]) == set(architecture.CELL_KEYS)
    for key, cell in saved["cells"].items():
        assert cell["n"] == 1 and cell["seeds"] == [0]
        for m in architecture.METRICS:
            assert math.isfinite(cell[m]["mean"]) and cell[m]["std"] is None
        assert 0.0 <= cell["ece"]["mean"] <= 1.0 and -1.0 <= cell["cos_min_loss_pred"][
            "mean"] <= 1.0
        assert cell["domain"] == ("sphere" if key.startswith("vit") else "nonnegative")
    # The ViT's features leave a LayerNorm; relative RMS of a none cell to itself is 1.
    assert saved["cells"]["vit+none"]["feature_rms_rel_none"]["mean"] == 1.0
    assert saved["verdict"]["verdict"] == "undetermined"  # one seed: no spread
    assert summary["cells"].keys() == saved["cells"].keys()
    assert "claim 13: undetermined" in capsys.readouterr().out
    # The same command again is served from the cache; another configuration is refused.
    again = architecture.main(argv)
    assert again["cells"]["vit+deit"]["ece"] == saved["cells"]["vit+deit"]["ece"]
    with pytest.raises(SystemExit) as e:
        architecture.main(argv[:4] + ["--epochs", "2", "--no-progress"])
    assert e.value.code == 2
    assert "holds runs of another configuration" in capsys.readouterr().err
