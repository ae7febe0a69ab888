"""The training loss against its definitions and against the core package's objective."""

import json

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F

from deep import train as train_mod
from deep._io import read_config
from deep.config import TrainConfig
from deep.losses import (
    one_hot_smooth,
    resolve_logit_penalty,
    soft_target_cross_entropy,
    training_loss,
)
from logitreg.losses import MulticlassLoss, get_penalty

K = 10
# A smooth, convex penalty applied per logit that stays finite for any logit (pseudo-Huber).
HUBER = "sqrt(1 + z**2) - 1"


def _logits(seed=0, n=64, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, K, generator=g, dtype=dtype) * 2, torch.randint(0, K, (n,), generator=g)


def test_one_hot_targets_are_plain_cross_entropy():
    z, y = _logits()
    # Identical maths in float64: only summation order differs.
    torch.testing.assert_close(soft_target_cross_entropy(z, one_hot_smooth(y, K).double()),
                               F.cross_entropy(z, y), rtol=1e-14, atol=0)


@pytest.mark.parametrize("reg", ["quadratic", "ls", HUBER])
@pytest.mark.parametrize("alpha", [0.0, 0.01, 0.2, 0.9])
def test_training_loss_is_logitreg_multiclass_loss(alpha, reg):
    """deep's loss is the core's objective (Eq. 6), per-sample mean, for one-hot targets and
    every kind of --logit-penalty: a name or a sympy expression applied per logit."""
    z, y = _logits()
    core_reg = sp.sympify(reg) if reg == HUBER else reg
    ref = MulticlassLoss(alpha, get_penalty(core_reg, K), K).value(z.numpy(), y.numpy())
    ours = training_loss(z, one_hot_smooth(y, K).double(), alpha, resolve_logit_penalty(reg))
    # float64 on both sides, the same formula in numpy and torch: rounding only (~1e-16 per
    # op, a few dozen ops and a mean over 64 samples).
    np.testing.assert_allclose(ours.item(), ref.mean(), rtol=1e-13)
    # Training runs in float32 (bf16 autocast upcasts the logits to float32 first).
    ours32 = training_loss(z.float(), one_hot_smooth(y, K), alpha, resolve_logit_penalty(reg))
    np.testing.assert_allclose(ours32.item(), ref.mean(), rtol=1e-6)  # float32 eps ~ 1.2e-7


def test_bf16_logits_are_upcast():
    """Under autocast the logits arrive in bf16; the loss is computed in float32 from them."""
    z, y = _logits(dtype=torch.float32)
    q, pen = one_hot_smooth(y, K), resolve_logit_penalty("ls")
    half = z.bfloat16()
    out = training_loss(half, q, 0.1, pen)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, training_loss(half.float(), q, 0.1, pen), rtol=0, atol=0)


def test_logit_penalty_gradient_is_the_closed_form():
    """d/dz [(1-a) CE(z, q) + a |z|^2] = (1-a)(softmax(z) - q) + 2 a z, per sample / B."""
    z, y = _logits(seed=3)
    z.requires_grad_(True)
    q, a = 0.9 * F.one_hot(y, K).double() + 0.1 / K, 0.3  # float64 rows sum to 1
    training_loss(z, q, a, resolve_logit_penalty("quadratic")).backward()
    expected = ((1 - a) * (z.detach().softmax(1) - q) + 2 * a * z.detach()) / len(z)
    torch.testing.assert_close(z.grad, expected, rtol=1e-12, atol=1e-15)  # float64 throughout


def test_ls_target_minimiser_is_the_ls_vertex():
    """Soft CE against an LS target is minimised where softmax(z) = q: the logit gap is
    log(1 + K (1 - eps) / eps) (4.511 for K = 10, eps = 0.1; Beck, Bar-Sinai & Levi 2026,
    Eq. 13 with the vertex of Eq. 21)."""
    q = 0.9 * F.one_hot(torch.tensor([0]), K).double() + 0.1 / K
    z = torch.zeros(1, K, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([z], max_iter=500, tolerance_grad=1e-13, tolerance_change=0.0,
                            line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = soft_target_cross_entropy(z, q)
        loss.backward()
        return loss

    opt.step(closure)
    gap = (z[0, 0] - z[0, 1:].mean()).item()
    assert gap == pytest.approx(np.log(1 + K * 0.9 / 0.1), abs=1e-8)  # float64, tight L-BFGS


def test_logit_penalty_is_resolved_once():
    assert resolve_logit_penalty(HUBER) is resolve_logit_penalty(HUBER)
    assert resolve_logit_penalty("ls") is resolve_logit_penalty("ls")


@pytest.mark.parametrize("value, expected", [
    ("x**2", "--logit-penalty='x**2' has free symbols ['x'], not just z: expected ls or "
             "quadratic, or a convex sympy expression in z"),
    ("z**2 + y", "has free symbols ['y', 'z'], not just z"),
    ("2", "--logit-penalty='2' has free symbols [], not just z"),
    ("cos(z)", "--logit-penalty='cos(z)' is not a valid penalty (reg must be convex"),
    ("z**2 +", "--logit-penalty='z**2 +' does not parse"),
    ("Max(z, 0)**2", "--logit-penalty='Max(z, 0)**2' has no torch form"),
])
def test_bad_logit_penalty_names_the_flag(value, expected):
    with pytest.raises(ValueError) as e:
        TrainConfig(reg="logit_penalty", logit_penalty=value)
    assert expected in str(e.value)


def test_cli_rejects_a_non_convex_penalty(capsys):
    with pytest.raises(SystemExit) as e:
        train_mod.main(["--reg", "logit_penalty", "--logit-penalty", "z**3", "--device", "cpu"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "error: --logit-penalty='z**3' is not a valid penalty (reg must be convex" in err


def test_penalty_without_alpha_is_recorded_as_the_default():
    """f does not enter the loss when alpha = 0, so the resolved config records the default
    and such runs form one setting whatever --logit-penalty said."""
    cfg = TrainConfig(reg="mixup", logit_penalty="ls").resolved(cuda_available=False)
    assert cfg.logit_alpha == 0.0 and cfg.logit_penalty == "quadratic"
    cfg = TrainConfig(reg="logit_penalty", logit_penalty="ls").resolved(cuda_available=False)
    assert cfg.logit_alpha == 0.01 and cfg.logit_penalty == "ls"


@pytest.mark.parametrize("penalty", ["ls", HUBER])
def test_training_with_another_logit_penalty(tmp_path, fast, digits_data, penalty):
    """--logit-penalty ls and a sympy expression train end to end; the penalty is recorded,
    and the run's first-epoch loss is that of its own f (it differs from the quadratic's)."""
    kw = dict(fast, reg="logit_penalty", logit_alpha=0.05, out_dir=str(tmp_path))
    out = train_mod.train(TrainConfig(**kw, logit_penalty=penalty, run_name="f"),
                          data=digits_data)
    quad = train_mod.train(TrainConfig(**kw, run_name="q"), data=digits_data)
    assert out["finished"] and out["test_acc"] > 0.3  # chance is 0.1
    saved = read_config(tmp_path / "f", TrainConfig)
    assert saved["logit_penalty"] == penalty
    m = [_first_loss(tmp_path / n) for n in ("f", "q")]
    assert np.isfinite(m[0]) and m[0] != m[1]
    assert quad["test_acc"] > 0.3


def _first_loss(run):
    return json.loads((run / "metrics.jsonl").read_text().splitlines()[0])["train_loss"]
