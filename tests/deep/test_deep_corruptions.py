"""Corruptions against independent references (scipy's Gaussian filter, matplotlib's HSV
conversion, the noise statistics), their growth with severity, accuracy under them, and
the CIFAR-10-C reader on files fabricated in the release's format."""

import numpy as np
import pytest
import torch
from torch import nn

from deep.corruptions import (
    CORRUPTIONS,
    SEVERITY_PARAMS,
    brightness,
    cifar_c_accuracy,
    contrast,
    corrupt,
    corruption_accuracy,
    gaussian_blur,
    gaussian_noise,
    impulse_noise,
    load_cifar_c,
)

SEVERITIES = (1, 2, 3, 4, 5)


def _images(n=8, c=3, hw=16, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, c, hw, hw, generator=g, dtype=dtype)
    x[0, :, :3, :3] = 0.0  # black pixels (brightness) and the walls of [0, 1]
    x[1, :, -3:, -3:] = 1.0
    return x


def test_severity_constants_are_cifar10c():
    """The constants of Hendrycks & Dietterich's (2019) CIFAR-10-C generation."""
    assert SEVERITY_PARAMS == {
        "gaussian_noise": (0.04, 0.06, 0.08, 0.09, 0.10),
        "impulse_noise": (0.01, 0.02, 0.03, 0.05, 0.07),
        "gaussian_blur": (0.4, 0.6, 0.7, 0.8, 1.0),
        "contrast": (0.75, 0.5, 0.4, 0.3, 0.15),
        "brightness": (0.05, 0.1, 0.15, 0.2, 0.3),
    }


@pytest.mark.parametrize("severity", SEVERITIES)
def test_gaussian_blur_matches_scipy(severity):
    from scipy.ndimage import gaussian_filter

    x = _images()
    sigma = SEVERITY_PARAMS["gaussian_blur"][severity - 1]
    ref = gaussian_filter(x.numpy(), sigma=(0, 0, sigma, sigma), mode="nearest", truncate=4.0)
    # float64 both ways, different summation order: 1e-12 absolute.
    np.testing.assert_allclose(gaussian_blur(x, severity).numpy(), np.clip(ref, 0, 1),
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize("severity", SEVERITIES)
def test_brightness_matches_an_hsv_round_trip(severity):
    from matplotlib.colors import hsv_to_rgb, rgb_to_hsv

    x = _images()
    hsv = rgb_to_hsv(x.permute(0, 2, 3, 1).numpy())
    hsv[..., 2] = np.clip(hsv[..., 2] + SEVERITY_PARAMS["brightness"][severity - 1], 0, 1)
    ref = np.clip(hsv_to_rgb(hsv), 0, 1).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(brightness(x, severity).numpy(), ref, rtol=0,
                               atol=1e-12)  # float64, a division vs. the sextant formulas


@pytest.mark.parametrize("severity", SEVERITIES)
def test_contrast_shrinks_deviations_about_the_channel_mean(severity):
    c = SEVERITY_PARAMS["contrast"][severity - 1]
    x = 0.25 + 0.5 * _images()  # within [0.25, 0.75]: no clipping, exact identities
    out = contrast(x, severity)
    m = x.mean(dim=(2, 3), keepdim=True)
    torch.testing.assert_close(out.mean(dim=(2, 3), keepdim=True), m)
    torch.testing.assert_close(out - m, c * (x - m))


@pytest.mark.parametrize("severity", SEVERITIES)
def test_noise_statistics(severity):
    x = torch.full((4, 3, 64, 64), 0.5)  # 5 sigma from either wall: clipping is negligible
    g = torch.Generator().manual_seed(severity)
    sigma = SEVERITY_PARAMS["gaussian_noise"][severity - 1]
    std = (gaussian_noise(x, severity, generator=g) - x).std().item()
    assert std == pytest.approx(sigma, rel=0.02)  # 49152 samples: std error ~0.3 %
    amount = SEVERITY_PARAMS["impulse_noise"][severity - 1]
    out = impulse_noise(x, severity, generator=g)
    hit = out != x
    n = hit.numel()
    # Binomial fractions: 5 standard errors.
    assert hit.float().mean().item() == pytest.approx(amount, abs=5 * (amount / n) ** 0.5)
    assert set(out[hit].unique().tolist()) <= {0.0, 1.0}
    salt = (out[hit] == 1).float().mean().item()
    assert salt == pytest.approx(0.5, abs=5 * 0.5 / hit.sum().item() ** 0.5)


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_each_corruption_grows_with_severity_and_stays_in_range(name):
    x = _images(n=16, hw=32, dtype=torch.float32)
    change = []
    for s in SEVERITIES:
        out = corrupt(x, name, s, generator=torch.Generator().manual_seed(0))
        assert out.shape == x.shape and out.dtype == x.dtype
        assert out.min() >= 0 and out.max() <= 1
        change.append((out - x).abs().mean().item())
    assert all(a < b for a, b in zip(change, change[1:], strict=False)), change
    assert change[0] > 0


@pytest.mark.parametrize("name", ["gaussian_noise", "impulse_noise"])
def test_noise_is_seeded(name):
    x = _images()
    runs = [corrupt(x, name, 3, generator=torch.Generator().manual_seed(s)) for s in (0, 0, 1)]
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])
    with pytest.raises(ValueError, match=rf"{name} needs generator=torch.Generator"):
        corrupt(x, name, 3)


class _Templates(nn.Module):
    """Nearest-template classifier by correlation with +-checkerboards: a fixed model."""

    def __init__(self, hw):
        super().__init__()
        i = torch.arange(hw)
        board = ((i[:, None] + i[None, :]) % 2 * 2 - 1).float()  # (H, W) of +-1
        self.register_buffer("w", torch.stack([board, -board]).flatten(1))  # (2, H W)

    def forward(self, x):
        return (x.mean(1).flatten(1) - 0.5) @ self.w.T  # (B, 2)


def test_corruption_accuracy_against_a_brute_force_loop():
    """The table equals corrupting and classifying by hand with the same generator order; a
    checkerboard classifier loses accuracy under blur (which erases the pattern) and under
    strong noise, and the mean is the mean of the table."""
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (64,), generator=g)
    i = torch.arange(8)
    board = ((i[:, None] + i[None, :]) % 2 * 2 - 1).float()
    sign = (1 - 2 * y).float()[:, None, None, None]
    x = (0.5 + 0.03 * sign * board + 0.1 * torch.randn(64, 3, 8, 8, generator=g)).clamp(0, 1)
    model = _Templates(8)
    got = corruption_accuracy(model, x, y, generator=torch.Generator().manual_seed(1),
                              batch_size=64)
    g = torch.Generator().manual_seed(1)
    for name in CORRUPTIONS:
        want = [(model(corrupt(x, name, s, generator=g)).argmax(1) == y).float().mean().item()
                for s in SEVERITIES]
        assert got["accuracy"][name] == pytest.approx(want, abs=1e-12)
        assert got["mean_per_corruption"][name] == pytest.approx(np.mean(want))
    assert got["mean"] == pytest.approx(np.mean(list(got["accuracy"].values())))
    assert got["clean_acc"] == (model(x).argmax(1) == y).float().mean().item()
    assert got["clean_acc"] > 0.8
    blur = got["accuracy"]["gaussian_blur"]
    assert blur[-1] < blur[0] and blur[-1] < got["clean_acc"] - 0.2
    # Deterministic corruptions do not depend on the batch size.
    small = corruption_accuracy(model, x, y, generator=torch.Generator().manual_seed(1),
                                corruptions=("contrast", "gaussian_blur"), severities=(2, 5),
                                batch_size=10)
    for name in ("contrast", "gaussian_blur"):
        assert small["accuracy"][name] == pytest.approx(
            [got["accuracy"][name][1], got["accuracy"][name][4]], abs=1e-12)


def test_corruption_errors_name_the_argument():
    x = _images()
    with pytest.raises(ValueError, match=r"severity=6: expected an integer in 1\.\.5"):
        contrast(x, 6)
    with pytest.raises(ValueError, match=r"corruption='fog': expected one of"):
        corrupt(x, "fog", 1)
    with pytest.raises(ValueError, match=r"x spans \[.*\]: expected images in \[0, 1\]"):
        brightness(2 * x, 1)
    with pytest.raises(ValueError, match=r"x of shape \(16, 16\): expected images"):
        gaussian_blur(x[0, 0], 1)
    with pytest.raises(ValueError, match=r"severities=\(0, 1\): expected a non-empty"):
        corruption_accuracy(nn.Flatten(), x, torch.zeros(8, dtype=torch.long),
                            generator=torch.Generator(), severities=(0, 1))


# ---------------------------------------------------------------------------- CIFAR-C


def _fabricate(root, n=4, corruptions=("gaussian_noise", "contrast"), folder="CIFAR-10-C"):
    """Files in the release's format with n images per severity: pixel values encode
    (corruption, severity, image) so that a wrong block or layout is visible."""
    d = root / folder
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    labels = np.tile(rng.integers(0, 10, n), 5).astype(np.uint8)  # stored as uint8
    arrays = {}
    for k, name in enumerate(corruptions):
        a = rng.integers(0, 256, (5 * n, 32, 32, 3), dtype=np.uint8)
        a[:, 0, 0, 0] = 40 * k + np.repeat(np.arange(1, 6), n)  # (corruption, severity)
        np.save(d / f"{name}.npy", a)
        arrays[name] = a
    np.save(d / "labels.npy", labels)
    return arrays, labels


def test_load_cifar_c_reads_the_requested_block(tmp_path):
    arrays, labels = _fabricate(tmp_path)
    for name, a in arrays.items():
        for s in (1, 3, 5):
            x, y = load_cifar_c(tmp_path, name, s)
            assert x.shape == (4, 3, 32, 32) and x.dtype == torch.float32
            want = torch.from_numpy(a[4 * (s - 1):4 * s]).permute(0, 3, 1, 2).float() / 255
            assert torch.equal(x, want)
            assert torch.equal(y, torch.from_numpy(labels[4 * (s - 1):4 * s].astype(np.int64)))
            assert y.dtype == torch.int64


def test_cifar_c_accuracy_on_fabricated_files(tmp_path):
    arrays, labels = _fabricate(tmp_path)

    class FirstPixel(nn.Module):  # predicts (255 * first value) mod 10
        def forward(self, x):
            return nn.functional.one_hot((x[:, 0, 0, 0] * 255).round().long() % 10, 10).float()

    got = cifar_c_accuracy(FirstPixel(), tmp_path, corruptions=tuple(arrays))
    for name, a in arrays.items():
        pred = a[:, 0, 0, 0].astype(int) % 10
        want = [(pred[4 * s:4 * s + 4] == labels[4 * s:4 * s + 4]).mean() for s in range(5)]
        assert got["accuracy"][name] == pytest.approx(want)
    assert np.isnan(got["clean_acc"])
    assert got["mean"] == pytest.approx(np.mean(list(got["accuracy"].values())))


def test_cifar_c_missing_or_malformed_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no folder .*CIFAR-10-C; expected the "
                                                r"CIFAR-10-C release there \(<corruption>.npy"):
        load_cifar_c(tmp_path, "gaussian_noise", 1)
    _fabricate(tmp_path)
    d = tmp_path / "CIFAR-10-C"
    with pytest.raises(FileNotFoundError, match=r"fog.npy does not exist: expected an array "
                                                r"of shape \(5 n, 32, 32, 3\), uint8"):
        cifar_c_accuracy(nn.Flatten(), tmp_path, corruptions=("contrast", "fog"))
    np.save(d / "pixelate.npy", np.zeros((10, 32, 32), np.uint8))
    with pytest.raises(ValueError, match=r"pixelate.npy holds an array of shape \(10, 32, 32\) "
                                         r"and dtype uint8: expected \(5 n, 32, 32, 3\)"):
        load_cifar_c(tmp_path, "pixelate", 1)
    np.save(d / "pixelate.npy", np.zeros((12, 32, 32, 3), np.uint8))  # 12 is not 5 n
    with pytest.raises(ValueError, match=r"expected \(5 n, 32, 32, 3\) uint8 with n >= 1"):
        load_cifar_c(tmp_path, "pixelate", 1)
    np.save(d / "pixelate.npy", np.zeros((10, 32, 32, 3), np.uint8))  # labels hold 20
    with pytest.raises(ValueError, match=r"labels.npy holds an array of shape \(20,\) and dtype "
                                         r"uint8: expected integer labels of shape \(10,\)"):
        load_cifar_c(tmp_path, "pixelate", 1)
    (d / "snow.npy").write_bytes(b"not an npy file")
    with pytest.raises(ValueError, match=r"snow.npy is not a readable .npy file"):
        load_cifar_c(tmp_path, "snow", 1)
    with pytest.raises(ValueError, match=r"dataset='svhn': expected one of"):
        load_cifar_c(tmp_path, "contrast", 1, dataset="svhn")
    with pytest.raises(ValueError, match=r"corruption='../labels': expected a file stem"):
        load_cifar_c(tmp_path, "../labels", 1)
