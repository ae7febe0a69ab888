"""CUDA-only checks (``pytest -m gpu``): no host synchronisation in the step, CPU/CUDA
agreement of the mixing ops, and a bf16 + channels_last + compile training run."""

import numpy as np
import pytest
import torch

from deep import train as train_mod
from deep.config import REGS, TrainConfig
from deep.data import epoch_batches
from deep.losses import one_hot_smooth
from deep.mixing import CutMix, MixParams, MixRNG, MixUp, VarMixup, build_mixing
from deep.models import build_model
from deep.vae import ConvVAE

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


@pytest.mark.parametrize("reg, penalty", [(r, "quadratic") for r in REGS] + [
    ("logit_penalty", "ls"), ("logit_penalty", "sqrt(1 + z**2) - 1")])
def test_train_step_never_synchronises(reg, penalty):
    """Every regularizer, and every kind of --logit-penalty (a name or a lambdified sympy
    expression), steps without a host synchronisation."""
    dev = torch.device("cuda")
    torch.manual_seed(0)
    model = build_model("resnet18", 3, 10, torch.zeros(3), torch.ones(3), 16).to(dev)
    model = model.to(memory_format=torch.channels_last)
    vae = ConvVAE((3, 32, 32), 16, 16, bounded=True).to(dev).eval().requires_grad_(False)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    step = train_mod.TrainStep(
        model, opt, sched, build_mixing(reg, vae=vae, prob=0.7), num_classes=10,
        ls_eps=0.1, logit_alpha=0.01, crop_pad=4, hflip=True, precision="bf16",
        channels_last=True, aug_generator=torch.Generator(dev).manual_seed(0),
        mix_rng=MixRNG(np.random.default_rng(0), torch.Generator(dev).manual_seed(0)),
        logit_penalty=penalty)
    x, y = torch.rand(512, 3, 32, 32, device=dev), torch.randint(0, 10, (512,), device=dev)
    batches = epoch_batches(512, 64, torch.Generator(dev).manual_seed(0))
    step(x[batches[0]], y[batches[0]])  # first call: lazy init (cuDNN, optimizer state)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for idx in batches[1:]:
            step(x[idx], y[idx])
    finally:
        torch.cuda.set_sync_debug_mode("default")
    loss, acc = step.read()
    assert np.isfinite(loss) and 0 <= acc <= 1


def test_mixing_agrees_on_cpu_and_cuda():
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(8, 3, 32, 32, generator=g), torch.randint(0, 10, (8,), generator=g)
    t = one_hot_smooth(y, 10, 0.1)
    perm = torch.randperm(8, generator=g)
    torch.manual_seed(0)
    vae = ConvVAE((3, 32, 32), 8, 8, bounded=True).eval().requires_grad_(False)
    cases = [(MixUp(), MixParams(0.3, perm)), (CutMix(), MixParams(0.75, perm, (4, 20, 9, 25))),
             (VarMixup(vae, clean_frac=0.25), MixParams(0.6, perm))]
    for method, p in cases:
        xc, tc = method.apply(x, t, p)
        if isinstance(method, VarMixup):
            method.vae = vae.cuda()
        pg = MixParams(p.lam, p.perm.cuda(), p.box)
        xg, tg = method.apply(x.cuda(), t.cuda(), pg)
        # Elementwise ops agree exactly; the VAE's convolutions differ at float32 rounding.
        tol = dict(rtol=1e-4, atol=1e-5) if isinstance(method, VarMixup) else dict(rtol=0, atol=0)
        torch.testing.assert_close(xg.cpu(), xc, **tol)
        torch.testing.assert_close(tg.cpu(), tc, rtol=0, atol=0)


def test_cuda_training_bf16_channels_last_compile(tmp_path):
    cfg = TrainConfig(dataset="digits", model="cnn", reg="mixup", epochs=3, device="cuda",
                      compile=True, progress=False, out_dir=str(tmp_path))
    out = train_mod.train(cfg)
    resolved = cfg.resolved(cuda_available=True)
    assert resolved.precision == "bf16" and resolved.channels_last
    assert out["test_acc"] > 0.5


def _load(run):
    from deep._io import load_torch

    return load_torch(run / "checkpoint.pt")


def _assert_same(a, b):
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_deterministic_runs_repeat_and_resume_bitwise_on_cuda(tmp_path):
    """--deterministic (bf16, channels_last, ResNet-18 CIFAR variant): two runs give the same
    bits, and 1 epoch + --resume + 1 epoch equals 2 epochs in one go, through the checkpoint's
    non-blocking copy to pinned host memory and its background write."""
    kw = dict(dataset="digits", model="resnet18", width=8, reg="cutmix", ls_eps=0.1, epochs=2,
              device="cuda", deterministic=True, progress=False, out_dir=str(tmp_path))
    train_mod.train(TrainConfig(**kw, run_name="a"))
    train_mod.train(TrainConfig(**kw, run_name="b"))
    train_mod.train(TrainConfig(**kw, run_name="c", stop_after=1))
    train_mod.train(TrainConfig(**kw, run_name="c", resume=True))
    a, b, c = (_load(tmp_path / n) for n in "abc")
    for other in (b, c):
        _assert_same(a["model"], other["model"])
        _assert_same(a["optimizer"]["state"][0], other["optimizer"]["state"][0])
        assert a["rng"]["mix_host"] == other["rng"]["mix_host"]
    assert not torch.are_deterministic_algorithms_enabled()  # restored after the run


def test_reduce_overhead_compiles_nothing_after_the_first_epoch_on_cuda(tmp_path, monkeypatch):
    """--compile with CUDA graphs (the default mode): training and evaluation graphs are built
    in epoch 1 only, and the run learns."""
    from torch._dynamo.utils import counters

    per_epoch = []
    real_append = train_mod.append_metrics

    def append(path, record, keep_epochs=None):
        real_append(path, record, keep_epochs)
        per_epoch.append(counters["stats"]["unique_graphs"])

    monkeypatch.setattr(train_mod, "append_metrics", append)
    torch._dynamo.reset()
    counters.clear()
    cfg = TrainConfig(dataset="digits", model="cnn", reg="mixup", epochs=4, device="cuda",
                      compile=True, progress=False, out_dir=str(tmp_path))
    assert cfg.compile_mode == "reduce-overhead"
    out = train_mod.train(cfg)
    assert per_epoch[1:] == [per_epoch[0]] * 3 == [counters["stats"]["unique_graphs"]] * 3
    assert out["test_acc"] > 0.5
    torch._dynamo.reset()


def test_padded_evaluation_matches_unpadded_on_cuda():
    """On CUDA, batches of another size may pick other cuDNN kernels: padded and unpadded
    evaluations agree to float32 rounding (TF32 off), not necessarily bitwise."""
    dev = torch.device("cuda")
    torch.manual_seed(0)
    model = build_model("resnet18", 3, 10, torch.zeros(3), torch.ones(3), 16).to(dev).eval()
    model = model.to(memory_format=torch.channels_last)
    x, y = torch.rand(1000, 3, 32, 32, device=dev), torch.randint(0, 10, (1000,), device=dev)
    kw = dict(precision="fp32", channels_last=True, batch_size=384)
    tf32 = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False  # else 1e-3 relative rounding per kernel
    try:
        with train_mod.backend_settings(dev):
            padded = train_mod.evaluate(model, x, y, **kw)
            unpadded = train_mod.evaluate(model, x, y, pad=False, **kw)
    finally:
        torch.backends.cudnn.allow_tf32 = tf32
    assert abs(padded["acc"] - unpadded["acc"]) <= 2 / len(x)
    for k in ("ece", "nll", "confidence"):
        assert padded[k] == pytest.approx(unpadded[k], abs=1e-4), k
