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
