"""The training loss against its definitions and against the core package's objective."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deep.losses import logit_penalty_loss, one_hot_smooth, soft_target_cross_entropy

K = 10


def _logits(seed=0, n=64, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, K, generator=g, dtype=dtype) * 2, torch.randint(0, K, (n,), generator=g)


def test_one_hot_targets_are_plain_cross_entropy():
    z, y = _logits()
    # Identical maths in float64: only summation order differs.
    torch.testing.assert_close(soft_target_cross_entropy(z, one_hot_smooth(y, K).double()),
                               F.cross_entropy(z, y), rtol=1e-14, atol=0)


@pytest.mark.parametrize("alpha", [0.0, 0.01, 0.2, 0.9])
def test_logit_penalty_matches_logitreg_multiclass_loss(alpha):
    """deep re-implements the core objective in torch (it cannot import logitreg); it must
    agree with logitreg.losses.MulticlassLoss, per-sample mean, for one-hot targets."""
    losses = pytest.importorskip("logitreg.losses")
    z, y = _logits()
    ref = losses.make_loss(alpha, "quadratic", n_classes=K).value(z.numpy(), y.numpy())
    ours = logit_penalty_loss(z, one_hot_smooth(y, K).double(), alpha)
    np.testing.assert_allclose(ours.item(), ref.mean(), rtol=1e-13)  # float64 both sides
    # Training runs in float32 (bf16 autocast upcasts the logits to float32 first).
    ours32 = logit_penalty_loss(z.float(), one_hot_smooth(y, K), alpha)
    np.testing.assert_allclose(ours32.item(), ref.mean(), rtol=1e-6)  # float32 eps ~ 1.2e-7


def test_logit_penalty_gradient_is_the_closed_form():
    """d/dz [(1-a) CE(z, q) + a |z|^2] = (1-a)(softmax(z) - q) + 2 a z, per sample / B."""
    z, y = _logits(seed=3)
    z.requires_grad_(True)
    q, a = 0.9 * F.one_hot(y, K).double() + 0.1 / K, 0.3  # float64 rows sum to 1
    logit_penalty_loss(z, q, a).backward()
    expected = ((1 - a) * (z.detach().softmax(1) - q) + 2 * a * z.detach()) / len(z)
    torch.testing.assert_close(z.grad, expected, rtol=1e-12, atol=1e-15)  # float64 throughout


def test_ls_target_minimiser_is_the_ls_vertex():
    """Soft CE against an LS target is minimised where softmax(z) = q: the logit gap is
    log(1 + K (1 - eps) / eps) (core digest section 1.3: 4.511 for K = 10, eps = 0.1)."""
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
