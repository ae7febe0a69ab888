"""The VAE command: checkpoint, metrics, grid; loading and its errors."""

import json

import pytest
import torch
from PIL import Image

from deep import vae as vae_mod
from deep._io import load_torch
from deep.vae import ConvVAE, load_vae, reconstruction_error, vae_loss


def test_vae_command_writes_a_usable_run(vae_checkpoint, digits_data):
    run = vae_checkpoint.parent
    for name in ("vae.pt", "grid.png", "config.json", "metrics.jsonl", "results.json",
                 "checkpoint.pt"):
        assert (run / name).is_file(), name
    m = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert len(m) == 15 and m[-1]["loss"] < m[0]["loss"]
    vae, meta = load_vae(vae_checkpoint)
    assert not vae.training and not any(p.requires_grad for p in vae.parameters())
    assert meta["data"]["dataset"] == "digits" and meta["arch"]["latent_dim"] == 8
    # The reconstruction beats the best constant image (the per-pixel mean).
    x = digits_data.x_test
    mse = reconstruction_error(vae, x)
    assert mse == pytest.approx(json.loads((run / "results.json").read_text())
                                ["test_mse_per_pixel"], rel=1e-6)
    assert mse < 0.6 * (x - digits_data.x_train.mean(0)).pow(2).mean().item()  # 0.032 vs 0.074
    # Grid: 8 pairs x (pixel row + latent row) by 5 mixing weights, 8x8 images upscaled x8.
    w, h = Image.open(run / "grid.png").size
    assert (w, h) == (5 * 64 + 6 * 2, 16 * 64 + 17 * 2)


def test_vae_shapes_and_loss_terms():
    torch.manual_seed(0)
    for shape in [(1, 8, 8), (3, 32, 32), (1, 28, 28), (2, 6, 10)]:
        vae = ConvVAE(shape, latent_dim=5, width=4, bounded=shape[0] != 2)
        x = torch.rand(3, *shape)
        mu, logvar = vae.encode(x)
        assert mu.shape == logvar.shape == (3, 5)
        assert vae.decode(mu).shape == (3, *shape)
        loss, rec, kl = vae_loss(vae, x, torch.zeros(3, 5), beta=2.0)
        torch.testing.assert_close(loss, rec + 2.0 * kl)
        assert kl >= 0


def test_load_vae_errors(tmp_path, vae_checkpoint):
    with pytest.raises(FileNotFoundError, match=r"--vae-checkpoint=.*missing.pt does not exist"):
        load_vae(tmp_path / "missing.pt")
    with pytest.raises(FileNotFoundError, match=r"--vae-checkpoint=.* is a directory"):
        load_vae(tmp_path)
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match=r"--vae-checkpoint=.*other.pt is not a deep.vae/1 "
                                         r"checkpoint \(the vae.pt of python -m deep.vae\): it "
                                         r"holds a checkpoint of format None"):
        load_vae(tmp_path / "other.pt")
    # The right tag on weights of another architecture: named, not a RuntimeError.
    ckpt = load_torch(vae_checkpoint)
    ckpt["arch"] = {**ckpt["arch"], "width": 4}
    torch.save(ckpt, tmp_path / "narrow.pt")
    with pytest.raises(ValueError, match=r"--vae-checkpoint=.*narrow.pt is a damaged deep.vae/1 "
                                         r"checkpoint \(RuntimeError: Error\(s\) in loading"):
        load_vae(tmp_path / "narrow.pt")


def _vae_cli(out, *extra):
    return vae_mod.main(["--dataset", "digits", "--digits-size", "8", "--latent-dim", "4",
                         "--width", "8", "--epochs", "2", "--batch-size", "64",
                         "--out-dir", str(out), "--no-progress", "--device", "cpu", *extra])


def test_vae_resume_is_bitwise_exact(tmp_path, capsys):
    """2 epochs in one go == 1 epoch, stop, --resume, 1 epoch: weights, Adam state, both
    generators and the metric lines, bitwise on the CPU."""
    _vae_cli(tmp_path, "--run-name", "straight")
    first = _vae_cli(tmp_path, "--run-name", "resumed", "--stop-after", "1")
    assert not first["finished"] and "continue with --resume" in capsys.readouterr().out
    assert not (tmp_path / "resumed" / "vae.pt").exists()
    out = _vae_cli(tmp_path, "--run-name", "resumed", "--resume")
    assert out["finished"]
    a, b = (load_torch(tmp_path / n / "checkpoint.pt") for n in ("straight", "resumed"))
    assert a["epoch"] == b["epoch"] == 2
    for k in a["state_dict"]:
        assert torch.equal(a["state_dict"][k], b["state_dict"][k]), k
    for k in ("data", "noise"):
        assert torch.equal(a["rng"][k], b["rng"][k]), k
    sa, sb = a["optimizer"]["state"], b["optimizer"]["state"]
    assert all(torch.equal(sa[i][m], sb[i][m]) for i in sa for m in sa[i])

    def lines(n):
        rows = [json.loads(x) for x in (tmp_path / n / "metrics.jsonl").read_text().splitlines()]
        return [{k: v for k, v in r.items() if k != "epoch_time_s"} for r in rows]

    assert lines("straight") == lines("resumed") and len(lines("resumed")) == 2
    ra, rb = (json.loads((tmp_path / n / "results.json").read_text())
              for n in ("straight", "resumed"))
    assert ra == rb


def test_vae_run_directory_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        _vae_cli(tmp_path, "--run-name", "r", "--resume")
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1
    assert err.startswith(f"python -m deep.vae: error: --resume: {tmp_path / 'r'}")
    _vae_cli(tmp_path, "--run-name", "r", "--stop-after", "1")
    with pytest.raises(SystemExit):
        _vae_cli(tmp_path, "--run-name", "r")
    assert "--run-name=r: " in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _vae_cli(tmp_path, "--run-name", "r", "--resume", "--beta", "2")
    assert "holds a run with another configuration (--beta: 1.0 -> 2.0)" in capsys.readouterr().err


def test_vae_divergence_is_an_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        _vae_cli(tmp_path, "--run-name", "d", "--lr", "1e3")
    assert e.value.code == 1
    err = capsys.readouterr().err
    assert "try a smaller --lr (it was 1000)" in err and err.count("\n") == 1
    assert not (tmp_path / "d" / "vae.pt").exists()


# ----------------------------------------------------------------------------- --augment

def _record_batches(monkeypatch):
    """Every batch the VAE trains on, in order (vae_loss sees each one once)."""
    seen = []

    def spy(vae, x, eps, beta):
        seen.append(x.detach().clone())
        return vae_loss(vae, x, eps, beta)

    monkeypatch.setattr(vae_mod, "vae_loss", spy)
    return seen


def test_vae_augment_trains_on_the_classifiers_augmentations(tmp_path, monkeypatch):
    """With --augment each batch is deep.data.augment (the classifier's crop and flip) of the
    batch the plain run trains on, drawn from the run's own augment stream; the shuffling and
    the noise are untouched."""
    from deep.config import derive_seeds
    from deep.data import augment

    plain = _record_batches(monkeypatch)
    _vae_cli(tmp_path, "--run-name", "plain", "--epochs", "1")
    aug = _record_batches(monkeypatch)
    _vae_cli(tmp_path, "--run-name", "aug", "--epochs", "1", "--augment", "--hflip")
    assert len(plain) == len(aug) > 1
    seeds = derive_seeds(0, ("init", "data", "noise", "augment"))
    g = torch.Generator().manual_seed(seeds["augment"])
    for p, a in zip(plain, aug, strict=True):
        assert torch.equal(a, augment(p, 1, True, g))  # 8x8 digits: side // 8 = 1 pixel
        assert not torch.equal(a, p)
    cfg = json.loads((tmp_path / "aug" / "config.json").read_text())["config"]
    assert (cfg["augment"], cfg["crop_pad"], cfg["hflip"]) == (True, 1, True)
    cfg = json.loads((tmp_path / "plain" / "config.json").read_text())["config"]
    assert (cfg["augment"], cfg["crop_pad"], cfg["hflip"]) == (False, None, None)


def test_vae_augment_resume_is_bitwise_exact(tmp_path):
    """The augment stream is checkpointed: 2 epochs == 1 epoch + --resume + 1 epoch."""
    _vae_cli(tmp_path, "--run-name", "straight", "--augment")
    _vae_cli(tmp_path, "--run-name", "resumed", "--augment", "--stop-after", "1")
    _vae_cli(tmp_path, "--run-name", "resumed", "--augment", "--resume")
    a, b = (load_torch(tmp_path / n / "checkpoint.pt") for n in ("straight", "resumed"))
    assert torch.equal(a["rng"]["augment"], b["rng"]["augment"])
    for k in a["state_dict"]:
        assert torch.equal(a["state_dict"][k], b["state_dict"][k]), k


def test_vae_augment_config():
    from deep.config import VAEConfig, derive_seeds

    assert VAEConfig().resolved(False).crop_pad is None  # off: nothing applied or recorded
    on = VAEConfig(augment=True).resolved(False)  # digits at 16x16: as python -m deep.train
    assert (on.crop_pad, on.hflip) == (2, False)
    on = VAEConfig(dataset="cifar10", augment=True, crop_pad=0).resolved(False)
    assert (on.crop_pad, on.hflip) == (0, True)
    with pytest.raises(ValueError, match=r"--crop-pad=2 applies with --augment only: expected "
                                         r"--augment, or no --crop-pad"):
        VAEConfig(crop_pad=2)
    with pytest.raises(ValueError, match=r"--hflip=False applies with --augment only"):
        VAEConfig(hflip=False)
    with pytest.raises(ValueError, match=r"--crop-pad=-1 is outside"):
        VAEConfig(augment=True, crop_pad=-1)
    # The streams of runs written before --augment existed keep their seeds.
    old = derive_seeds(7, ("init", "data", "noise"))
    assert {k: v for k, v in derive_seeds(7, (*old, "augment")).items() if k in old} == old


# ----------------------------------------------------------------------------- C8/C9 on a VAE

def test_varmixup_measures_on_a_trained_vae(vae_checkpoint, digits_data):
    """On a trained VAE: the codes of input mixups lie measurably off the latent segment
    (C8); the ELBO ranks real images above their input mixups; VarMixup samples are
    reconstructed better than input mixups of the same pairs, with or without the Bernoulli
    entropy floor (C9, under the VAE that made them, which favours its own decodes)."""
    from deep.varmix_measures import pair_measures

    vae, _ = load_vae(vae_checkpoint)
    x = digits_data.x_test[:128]
    for lam in (0.5, 0.3):
        m = {k: v.mean().item() for k, v in pair_measures(vae, x[:64], x[64:], lam).items()}
        assert m["mixup_off_segment"] < 1e-6 < 0.02 < m["mixup_latent_off_segment"]
        assert m["real_nelbo"] < m["mixup_nelbo"]
        assert m["varmixup_mse"] < m["mixup_mse"]
        assert m["varmixup_nelbo_excess"] < m["mixup_nelbo_excess"] < m["mixup_nelbo"]
