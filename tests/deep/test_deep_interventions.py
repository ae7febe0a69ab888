"""deep.interventions: the feature rescale of Park, Kim & Lee (2024, claim 16) on
constructed cases, each checked against an identity that holds exactly."""

from __future__ import annotations

import math

import pytest
import torch

from deep.calibration import calibration_metrics
from deep.geometry import extract_features, feature_rms
from deep.interventions import FeatureScaled, rescale_factor, rescale_measures
from deep.models import build_model


def _model(seed=0, zero_bias=False):
    torch.manual_seed(seed)
    m = build_model("cnn", 1, 4, torch.zeros(1), torch.ones(1), width=4)
    if zero_bias:
        with torch.no_grad():
            m.head.bias.zero_()
    return m.eval()


def _images(n, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.rand((n, 1, 8, 8), generator=g), torch.randint(0, 4, (n,), generator=g)


@pytest.mark.parametrize("s", [0.3, 1.0, 2.5])
def test_scaled_features_without_bias_are_temperature_one_over_s(s):
    """b = 0: W (s z) = s (W z), so softmax of the rescaled model = softmax(logits / T),
    T = 1/s (Park et al., Theorem 1 / Fig. 22), and predictions never change."""
    m = _model(zero_bias=True)
    x, _ = _images(32)
    with torch.no_grad():
        plain, scaled = m(x), FeatureScaled(m, s)(x)
    torch.testing.assert_close(scaled, s * plain, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(scaled.softmax(1), (plain / (1 / s)).softmax(1), rtol=1e-5,
                               atol=1e-6)
    assert torch.equal(scaled.argmax(1), plain.argmax(1))


def test_bias_is_kept_and_model_untouched():
    """With a bias the rescaled logits are s W z + b (not s (W z + b)); the wrapped model's
    parameters are unchanged."""
    m = _model()
    with torch.no_grad():
        m.head.bias.copy_(torch.tensor([1.0, -2.0, 0.5, 0.0]))
    before = {k: v.clone() for k, v in m.state_dict().items()}
    x, _ = _images(16)
    with torch.no_grad():
        z = m.features(x)
        got = FeatureScaled(m, 3.0)(x)
    torch.testing.assert_close(got, 3.0 * z @ m.head.weight.T + m.head.bias)
    assert not torch.allclose(got, 3.0 * m(x))
    for k, v in m.state_dict().items():
        assert torch.equal(v, before[k])


def test_rescale_hits_the_target_rms_and_keeps_the_cosines():
    m = _model()
    x_tr, y_tr = _images(64, seed=2)
    x_te, y_te = _images(48, seed=3)
    z_tr, _ = extract_features(m, x_tr)
    target = 3.7 * float(feature_rms(z_tr).mean())
    s = rescale_factor(z_tr, target)
    assert s == pytest.approx(3.7, rel=1e-6)
    out = rescale_measures(m, s, z_train=z_tr, y_train=y_tr, x_test=x_te, y_test=y_te)
    assert out["rms_train_after"] == pytest.approx(target, rel=1e-6)
    # measured on the rescaled model's own features, train and test
    z_after, _ = extract_features(FeatureScaled(m, s), x_tr)
    assert float(feature_rms(z_after).mean()) == pytest.approx(target, rel=1e-5)
    assert out["after"]["rms_test"] == pytest.approx(s * out["before"]["rms_test"], rel=1e-5)
    for key in ("cos_class_mean", "cos_weight"):  # alignment: unchanged by z -> s z
        assert out["after"][key] == pytest.approx(out["before"][key], abs=1e-6)
    assert "attacks" not in out["before"]


def test_rescale_calibration_equals_temperature_when_bias_is_zero():
    m = _model(zero_bias=True)
    x_tr, y_tr = _images(64, seed=2)
    x_te, y_te = _images(64, seed=4)
    z_tr, _ = extract_features(m, x_tr)
    # s = 1/2, a power of two: s z, W (s z) and (W z) / T are exact in floating point, so
    # no confidence can cross a bin edge by rounding.
    out = rescale_measures(m, 0.5, z_train=z_tr, y_train=y_tr, x_test=x_te, y_test=y_te)
    with torch.no_grad():
        ref = calibration_metrics(m(x_te) / 2.0, y_te)  # T = 1/s
    for key in ("ece", "nll", "oe", "confidence"):
        assert out["after"][key] == pytest.approx(float(ref[key]), abs=1e-6)
    assert out["after"]["agreement_with_plain"] == 1.0
    assert out["after"]["confidence"] < out["before"]["confidence"]  # T > 1 lowers it
    assert not m.training  # measuring leaves the model in its own (eval) mode


def test_attacks_before_after_share_random_starts():
    """s = 1 is the identity: the same PGD starts give identical robust accuracies."""
    m = _model()
    x_tr, y_tr = _images(32, seed=2)
    x_te, y_te = _images(24, seed=5)
    z_tr, _ = extract_features(m, x_tr)
    out = rescale_measures(m, 1.0, z_train=z_tr, y_train=y_tr, x_test=x_te, y_test=y_te,
                           x_attack=x_te, y_attack=y_te, seed=7)
    assert out["after"]["attacks"] == out["before"]["attacks"]
    assert set(out["before"]["attacks"]) == {"strong", "weak"}
    for rec in out["before"]["attacks"].values():
        assert 0.0 <= rec["robust_acc"] <= 1.0


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf, "2"])
def test_bad_scale_and_target_are_named(bad):
    m = _model()
    if not isinstance(bad, str):
        with pytest.raises(ValueError, match="scale="):
            FeatureScaled(m, bad)
    with pytest.raises(ValueError, match="target_rms="):
        rescale_factor(torch.ones(3, 4), bad)


def test_zero_features_and_wrong_shapes_are_refused():
    with pytest.raises(ValueError, match="z_train has RMS"):
        rescale_factor(torch.zeros(3, 4), 1.0)
    with pytest.raises(ValueError, match="z_train of shape"):
        rescale_factor(torch.ones(4), 1.0)
    with pytest.raises(ValueError, match="model="):
        FeatureScaled(torch.nn.Linear(3, 2), 1.0)
