"""Calibration metrics and temperature scaling: against torchmetrics and brute force, the
temperature of a known miscalibration recovered, and the reliability diagram on disk.

(The ECE/OE reference tests of the first version of the module live in test_deep_models.py.)
"""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deep.calibration import (
    calibration_metrics,
    fit_temperature,
    maximum_calibration_error,
    save_reliability_diagram,
    temperature_scaling,
)
from logitreg import ConvergenceWarning


def _calibrated(n=20000, k=10, scale=2.0, seed=0, dtype=torch.float32):
    """Logits z and labels drawn from softmax(z): a perfectly calibrated model, whose NLL
    in expectation is minimised at T = 1 exactly."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, k, generator=g, dtype=dtype) * scale
    y = torch.multinomial(z.double().softmax(1), 1, generator=g).squeeze(1)
    return z, y


def _brute_force(probs, labels, n_bins):
    """Per-bin loops over ((m-1)/M, m/M] in float64 numpy (Guo et al. 2017, Eqs. 3 and 5)."""
    conf, pred = probs.max(1), probs.argmax(1)
    ece, mce = 0.0, 0.0
    for m in range(n_bins):
        lo, hi = m / n_bins, (m + 1) / n_bins
        inside = (conf > lo) & (conf <= hi) if m else (conf <= hi)
        if inside.any():
            gap = abs((pred[inside] == labels[inside]).mean() - conf[inside].mean())
            ece += inside.mean() * gap
            mce = max(mce, gap)
    onehot = np.eye(probs.shape[1])[labels]
    return {"ece": ece, "mce": mce,
            "nll": -np.log(probs[np.arange(len(labels)), labels]).mean(),
            "brier": ((probs - onehot) ** 2).sum(1).mean(),
            "accuracy": (pred == labels).mean(), "confidence": conf.mean()}


@pytest.mark.parametrize("n_bins", [10, 15])
@pytest.mark.parametrize("scale", [0.5, 2.0, 4.0])
def test_ece_and_mce_match_torchmetrics(scale, n_bins):
    """torchmetrics' multiclass calibration error with norm "l1" is ECE and with "max" is
    MCE. It bins [lo, hi) where we bin (lo, hi]: they differ only for a confidence exactly on
    an edge (probability zero for these continuous logits, all below 1)."""
    tm = pytest.importorskip("torchmetrics.functional.classification")
    g = torch.Generator().manual_seed(int(10 * scale) + n_bins)
    logits = torch.randn(3000, 10, generator=g) * scale
    labels = torch.where(torch.rand(3000, generator=g) < 0.6, logits.argmax(1),
                         torch.randint(0, 10, (3000,), generator=g))
    probs = logits.softmax(1)
    assert probs.max() < 1.0
    m = calibration_metrics(logits, labels, n_bins=n_bins)
    for key, norm in (("ece", "l1"), ("mce", "max")):
        ref = tm.multiclass_calibration_error(probs, labels, num_classes=10, n_bins=n_bins,
                                              norm=norm)
        # float32 bin sums of 3000 terms in different orders: ~1e-6 absolute.
        torch.testing.assert_close(m[key], ref, rtol=0, atol=3e-6)
    assert maximum_calibration_error(logits, labels, n_bins).item() == m["mce"].item()


@pytest.mark.parametrize("seed", range(3))
def test_all_metrics_match_brute_force(seed):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(700, 5, generator=g, dtype=torch.float64) * (seed + 1)
    labels = torch.randint(0, 5, (700,), generator=g)
    ref = _brute_force(logits.softmax(1).numpy(), labels.numpy(), n_bins=15)
    got = {k: v.item() for k, v in calibration_metrics(logits, labels).items()}
    for key, value in ref.items():
        assert got[key] == pytest.approx(value, abs=2e-6), key  # float32 probabilities
    assert got["oe"] <= got["ece"] <= got["mce"] + 1e-7  # weighted mean <= max; OE <= ECE


def test_metrics_of_an_empty_bin_and_extreme_cases():
    """Confident-and-right: every metric 0. Confident-and-wrong: ECE = MCE = 1, Brier = 2.
    Empty bins never enter MCE (a lone sample at confidence 0.6 gives MCE 0.4, not 1)."""
    logits = torch.tensor([[60.0, 0.0], [60.0, 0.0]])
    right = calibration_metrics(logits, torch.tensor([0, 0]))
    wrong = calibration_metrics(logits, torch.tensor([1, 1]))
    assert right["ece"].item() == right["mce"].item() == right["brier"].item() == 0.0
    assert wrong["ece"].item() == pytest.approx(1.0) and wrong["mce"].item() == pytest.approx(1.0)
    assert wrong["brier"].item() == pytest.approx(2.0)
    lone = calibration_metrics(torch.tensor([[0.4055, 0.0]]), torch.tensor([0]))  # conf 0.6
    assert lone["mce"].item() == pytest.approx(0.4, abs=1e-4)


@pytest.mark.parametrize("t_true", [0.5, 2.0, 3.0])
def test_temperature_scaling_recovers_a_known_temperature(t_true):
    """Logits T_true * z of a calibrated model z: the fitted T is T_true up to sampling error.
    The NLL's curvature in 1/T at N = 20000 puts the standard error of T near 0.3 %; a 2 %
    tolerance fails only if the fit is wrong."""
    z, y = _calibrated()
    fit = fit_temperature(t_true * z, y)
    assert fit.converged and fit.n_iter < 20
    assert fit.temperature == pytest.approx(t_true, rel=0.02)
    assert fit.nll <= fit.nll_before
    assert abs(fit.grad) < 1e-8


def test_fit_temperature_matches_a_bounded_scalar_solve():
    """Against scipy's bounded Brent search on log T of the float64 NLL: the same minimiser."""
    from scipy.optimize import minimize_scalar

    z, y = _calibrated(n=3000, seed=1)
    logits = 2.5 * z.double() + 0.3 * torch.randn(z.shape, dtype=torch.float64,
                                                  generator=torch.Generator().manual_seed(2))
    fit = fit_temperature(logits, y)
    ref = minimize_scalar(lambda u: F.cross_entropy(logits / np.exp(u), y).item(),
                          bounds=(np.log(0.01), np.log(100)), method="bounded",
                          options={"xatol": 1e-10})
    # Brent's xatol on log T: 1e-6 relative is far above it and far below any real error.
    assert fit.temperature == pytest.approx(np.exp(ref.x), rel=1e-6)
    assert fit.nll == pytest.approx(ref.fun, rel=1e-12, abs=1e-12)
    # float32 logits of the same values: the fit runs in float64 either way.
    assert fit_temperature(logits.float(), y).temperature == pytest.approx(
        fit.temperature, rel=1e-5)


def test_temperature_scaling_report_fixes_an_overconfident_model():
    z, y = _calibrated(n=20000, seed=3)
    logits = 3.0 * z  # over-confident by a factor 3
    out = temperature_scaling(logits[:10000], y[:10000], logits[10000:], y[10000:])
    before, after = out["before"], out["after"]
    assert out["temperature"] == pytest.approx(3.0, rel=0.03)
    assert before["confidence"] > before["accuracy"] + 0.1  # over-confident before
    assert after["ece"] < 0.25 * before["ece"] and after["nll"] < before["nll"]
    assert after["oe"] < before["oe"] and after["brier"] < before["brier"]
    assert after["accuracy"] == before["accuracy"]  # T > 0 keeps every argmax
    assert set(before) == {"ece", "mce", "oe", "confidence", "accuracy", "nll", "brier"}


def test_fit_temperature_at_a_bound_warns():
    """All predictions right: the NLL falls all the way to T -> 0, so T is the lower bound."""
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 3.0, 1.0]])
    with pytest.warns(ConvergenceWarning, match=r"beyond bounds=\(0.05, 20.0\); returned T_min"):
        fit = fit_temperature(logits, torch.tensor([0, 1]), bounds=(0.05, 20.0))
    assert fit.temperature == pytest.approx(0.05) and not fit.converged
    # Uninformative logits (all equal): every T is optimal; T = 1, no warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flat = fit_temperature(torch.zeros(4, 3), torch.tensor([0, 1, 2, 0]))
    assert flat.temperature == 1.0 and flat.converged


def test_fit_temperature_reports_max_iter():
    z, y = _calibrated(n=2000, seed=4)
    with pytest.warns(ConvergenceWarning, match=r"max_iter=1 .*tol="):
        fit = fit_temperature(4.0 * z, y, max_iter=1)
    assert not fit.converged and fit.n_iter == 1


def test_reliability_diagram_is_written_atomically(tmp_path):
    mpl_image = pytest.importorskip("matplotlib.image")
    z, y = _calibrated(n=2000, seed=5)
    path = tmp_path / "figs" / "reliability.png"
    assert save_reliability_diagram(3.0 * z, y, path, n_bins=10, title="over-confident") == path
    first = path.read_bytes()
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    assert mpl_image.imread(path).shape[2] == 4  # an RGBA raster matplotlib reads back
    save_reliability_diagram(z, y, path)  # replaces the old file in place
    assert path.read_bytes() != first
    assert os.listdir(path.parent) == ["reliability.png"]  # no temporary file left behind


def test_calibration_imports_no_matplotlib():
    code = "import sys, deep.calibration; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.stdout.strip() == "False"


def test_errors_name_the_argument(tmp_path):
    z, y = _calibrated(n=50)
    with pytest.raises(ValueError, match=r"n_bins must be a positive integer; got n_bins=0"):
        calibration_metrics(z, y, n_bins=0)
    with pytest.raises(ValueError, match=r"logits of shape \(50, 10\) and labels of shape \(3,\)"):
        calibration_metrics(z, y[:3])
    with pytest.raises(ValueError, match=r"bounds=\(2.0, 1.0\): expected \(T_min, T_max\)"):
        fit_temperature(z, y, bounds=(2.0, 1.0))
    with pytest.raises(ValueError, match=r"max_iter=0: expected a positive integer"):
        fit_temperature(z, y, max_iter=0)
    bad = z.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"logits contain NaN or infinite values"):
        fit_temperature(bad, y)
    with pytest.raises(ValueError, match=r"test_logits of shape \(50, 3\) and val_logits of "
                                         r"shape \(50, 10\)"):
        temperature_scaling(z, y, z[:, :3], y)
    with pytest.raises(ValueError, match=r"path='.*diagram.pdf': expected a file name ending"):
        save_reliability_diagram(z, y, tmp_path / "diagram.pdf")
