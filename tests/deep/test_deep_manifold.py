"""The bar manifold and the C7 measurement of VarMixup (deep/manifold.py)."""

import json
import math

import pytest
import torch

from deep.manifold import (
    ManifoldConfig,
    c7_verdict,
    fit_single_bar,
    main,
    measure_c7,
    render_bars,
    train_bar_vae,
    wrap_angle,
)
from deep.vae import ConvVAE


def test_render_bars_shape_range_and_half_turn_symmetry():
    g = torch.Generator().manual_seed(0)
    thetas = torch.rand(20, generator=g, dtype=torch.float64) * 2 * math.pi
    x = render_bars(thetas, 16)
    assert x.shape == (20, 1, 16, 16) and x.dtype == torch.float32
    assert x.min() >= 0 and x.max() <= 1
    # a bar covers a few per cent of the image, whatever its angle
    mass = x.sum((1, 2, 3))
    assert mass.min() > 15 and mass.max() / mass.min() < 1.3
    # a bar is symmetric: theta and theta + pi give the same image
    torch.testing.assert_close(render_bars(thetas + math.pi, 16), x, atol=1e-6, rtol=0)
    # ...but theta and theta + pi/2 do not
    assert (render_bars(thetas + math.pi / 2, 16) - x).abs().max() > 0.5


def test_render_bars_rotates_with_theta():
    g = torch.Generator().manual_seed(1)
    thetas = torch.rand(8, generator=g, dtype=torch.float64) * math.pi
    x = render_bars(thetas, 16)
    # a quarter turn of the image (counter-clockwise as displayed) is theta + pi/2, exactly
    torch.testing.assert_close(torch.rot90(x, 1, (-2, -1)), render_bars(thetas + math.pi / 2, 16),
                               atol=1e-5, rtol=0)
    # any rotation, by torchvision's bilinear rotate: closest to the render at theta + phi
    from torchvision.transforms.functional import InterpolationMode, rotate

    x = render_bars(thetas, 32)
    for phi in (20.0, 37.0):
        r = torch.stack([rotate(xi, phi, InterpolationMode.BILINEAR) for xi in x])
        # MSE per pixel against renders at theta + phi + d, d in degrees: (3, 8)
        err = torch.stack([(r - render_bars(thetas + math.radians(phi + d), 32))
                           .pow(2).mean((1, 2, 3)) for d in (0.0, 4.0, -4.0)])
        assert (err[0] < 0.003).all()  # interpolation blur only (about 0.001)
        assert (err[0] < err[1] / 3).all() and (err[0] < err[2] / 3).all()


def test_render_bars_rejects_bad_input():
    with pytest.raises(ValueError, match="size=3"):
        render_bars([0.0], 3)
    with pytest.raises(ValueError, match="length=1.5"):
        render_bars([0.0], 16, length=1.5)
    with pytest.raises(ValueError, match="thickness=0"):
        render_bars([0.0], 16, thickness=0)
    with pytest.raises(ValueError, match="NaN"):
        render_bars([float("nan")], 16)


def test_fit_single_bar_recovers_angles_and_flags_double_exposures():
    thetas = torch.tensor([0.1, 1.0, 2.0, 3.0], dtype=torch.float64)
    ang, res = fit_single_bar(render_bars(thetas, 16), 16, n_angles=360)
    assert (torch.rad2deg(wrap_angle(ang - thetas).abs()) <= 0.5 + 1e-9).all()
    assert (res < 1e-3).all()
    double = 0.5 * (render_bars(thetas, 16) + render_bars(thetas + 1.0, 16))
    assert (fit_single_bar(double, 16)[1] > 10 * res.max()).all()


def test_midpoint_of_identical_codes_decodes_to_that_code():
    torch.manual_seed(0)
    vae = ConvVAE((1, 16, 16), 4, 8, bounded=True).eval()
    z = torch.randn(5, 4)
    with torch.no_grad():
        torch.testing.assert_close(vae.decode(0.5 * z + 0.5 * z), vae.decode(z))


def test_measure_c7_on_a_trained_vae_is_consistent():
    x = render_bars(torch.rand(256, generator=torch.Generator().manual_seed(2),
                               dtype=torch.float64) * math.pi, 16)
    vae, rec = train_bar_vae(x, latent_dim=4, width=8, epochs=2, batch_size=64, lr=2e-3,
                             beta=1.0, seed=0)
    assert math.isfinite(rec["train_loss"]) and not any(p.requires_grad for p in vae.parameters())
    kw = dict(size=16, n_pairs=40, min_sep_deg=30.0, max_sep_deg=60.0, lam=0.5, n_angles=90)
    s, pp = measure_c7(vae, generator=torch.Generator().manual_seed(3), **kw)
    sep = torch.rad2deg(wrap_angle(pp["theta2"] - pp["theta1"]).abs())
    assert (sep >= 30 - 1e-9).all() and (sep <= 60 + 1e-9).all()
    torch.testing.assert_close(pp["double"], 0.5 * (pp["x1"] + pp["x2"]))
    torch.testing.assert_close(pp["diff"], pp["mse_double"] - pp["mse_single"])
    assert s["frac_decode_closer_single"] == pytest.approx((pp["diff"] > 0).double().mean().item())
    # the input mixup is the double exposure: never closer to the single bar
    assert s["frac_mixup_closer_single"] == 0.0 and s["mixup_diff"]["mean"] < 0
    assert sum(b["n_pairs"] for b in s["by_separation"]) == 40
    assert 0 <= s["active_dims"] <= 4 and len(s["latent_var_by_dim"]) == 4
    # same generator seed, same pairs and numbers
    s2, _ = measure_c7(vae, generator=torch.Generator().manual_seed(3), **kw)
    assert s2 == s
    with pytest.raises(ValueError, match="separation range"):
        measure_c7(vae, generator=torch.Generator(), **{**kw, "max_sep_deg": 90.0})
    with pytest.raises(ValueError, match="lam=2"):
        measure_c7(vae, generator=torch.Generator(), **{**kw, "lam": 2})


def _result(*seeds):
    return {"seeds": [{"seed": i, "c7": {"n_pairs": 100, "frac_decode_closer_single": f,
                                         "diff": {"mean": d, "se": se}}}
                      for i, (f, d, se) in enumerate(seeds)]}


def test_c7_verdict_gives_each_verdict():
    single, double, weak = (0.9, 0.04, 0.001), (0.1, -0.03, 0.001), (0.6, 0.001, 0.001)
    assert c7_verdict(_result(single, single, single))[0] == "held"
    assert c7_verdict(_result(double, double, double))[0] == "did not hold"
    assert c7_verdict(_result(single, single, double))[0] == "mixed"
    v, why = c7_verdict(_result(single, weak, single))  # 0.001 < 2 SE: inconclusive seed
    assert v == "mixed" and "inconclusive" in why and "seed 1" in why
    assert c7_verdict(_result((0.4, 0.01, 0.001)))[0] == "mixed"  # fraction and mean disagree
    with pytest.raises(ValueError, match="per-seed"):
        c7_verdict({"seeds": []})


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="--seeds=0"):
        ManifoldConfig(seeds=0)
    with pytest.raises(ValueError, match="--device='tpu'"):
        ManifoldConfig(device="tpu")


def test_quick_cli_writes_result_and_grid(tmp_path, capsys):
    out = tmp_path / "m"
    result = main(["--quick", "--out", str(out), "--seeds", "1", "--n-train", "128",
                   "--n-pairs", "16", "--width", "8", "--grid-pairs", "2"])
    saved = json.loads((out / "result.json").read_text())
    assert saved["verdict"] == result["verdict"] in ("held", "mixed", "did not hold")
    assert saved["config"]["quick"] and saved["config"]["epochs"] == 2
    assert [s["seed"] for s in saved["seeds"]] == [0]
    assert set(saved["seeds"][0]["streams"]) == {"data", "vae", "pairs"}
    assert saved["seeds"][0]["c7"]["n_pairs"] == 16
    assert (out / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(out.glob(".*.tmp"))  # atomic writes leave no temporary files
    with pytest.raises(SystemExit) as e:
        main(["--out", str(out), "--max-sep-deg", "95", "--quick", "--grid-pairs", "0"])
    assert e.value.code == 2 and "separation range" in capsys.readouterr().err
