"""The torch forms of the losses (logitreg.torch_losses) against the numpy reference
(logitreg.losses): values, derivatives, and autograd of the values."""

import numpy as np
import pytest
import sympy as sp
import torch

from logitreg import torch_losses as tl
from logitreg.losses import BinaryLoss, MulticlassLoss, get_penalty

z = sp.Symbol("z")
# log(cosh z) overflows at |z| = 1e4 as written, and logitreg says so; here |z| <= 30.
pytestmark = pytest.mark.filterwarnings(r"ignore:reg=log\(cosh\(z\)\) overflows:RuntimeWarning")
# A sympy penalty without a closed form, one that overflows for large |z| as written, and
# the built-ins.
BINARY_REGS = ["quadratic", "ls", z**4 / 12 + z**2, sp.log(sp.cosh(z))]
# Same formula in float64; only libm-level rounding (a few ulp) may differ.
ULP = {"rtol": 1e-12, "atol": 1e-14}


@pytest.mark.parametrize("reg", BINARY_REGS, ids=str)
def test_binary_penalty_and_d1_equal_numpy(reg):
    pen = get_penalty(reg, 2)
    t = np.linspace(-30, 30, 601)
    tt = torch.tensor(t, requires_grad=True)
    value = tl.binary_penalty(pen)(tt)
    np.testing.assert_allclose(value.detach().numpy(), pen.value(t), **ULP)
    np.testing.assert_allclose(tl.binary_penalty_d1(pen)(tt.detach()).numpy(), pen.d1(t), **ULP)
    # autograd of the torch value is the numpy f' (what deep/ trains with)
    (grad,) = torch.autograd.grad(value.sum(), tt)
    np.testing.assert_allclose(grad.numpy(), pen.d1(t), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reg", BINARY_REGS, ids=str)
def test_binary_d1_equals_numpy_binary_loss_d1(reg):
    pen = get_penalty(reg, 2)
    t = np.linspace(-30, 30, 601)[None, :] * np.array([[1.0], [0.3]])  # (2, 601)
    alpha = np.array([[0.0], [0.2]])
    got = tl.binary_d1(torch.tensor(t), torch.tensor(alpha), pen).numpy()
    want = np.stack([BinaryLoss(float(a), pen).d1(row) for a, row in zip(alpha[:, 0], t,
                                                                         strict=True)])
    np.testing.assert_allclose(got, want, **ULP)


MC_REGS = ["quadratic", "ls", z**4 / 12 + z**2, sp.Abs(z) + z**2]


@pytest.mark.parametrize("reg", MC_REGS, ids=str)
def test_multiclass_grad_equals_numpy_multiclass_loss_grad(reg, rng):
    K, N = 5, 40
    pen = get_penalty(reg, K)
    Z = 3 * rng.standard_normal((2, N, K))
    y = rng.integers(0, K, N)
    alpha = np.array([0.0, 0.3])
    onehot = torch.nn.functional.one_hot(torch.tensor(y), K).double()
    got = tl.multiclass_grad(torch.tensor(Z), onehot, torch.tensor(alpha)[:, None, None],
                             pen).numpy()
    want = np.stack([MulticlassLoss(a, pen, K).grad(Z[r], y) for r, a in enumerate(alpha)])
    np.testing.assert_allclose(got, want, **ULP)


@pytest.mark.parametrize("reg", MC_REGS, ids=str)
@pytest.mark.parametrize("alpha", [0.0, 0.25])
def test_multiclass_loss_equals_numpy_mean_loss_and_its_gradient(reg, alpha, rng):
    K, N = 4, 50
    pen = get_penalty(reg, K)
    Z = 4 * rng.standard_normal((N, K))
    y = rng.integers(0, K, N)
    ref = MulticlassLoss(alpha, pen, K)
    Zt = torch.tensor(Z, requires_grad=True)
    onehot = torch.nn.functional.one_hot(torch.tensor(y), K).double()
    loss = tl.multiclass_loss(Zt, onehot, alpha, pen)
    assert loss.shape == ()
    assert loss.item() == pytest.approx(ref.value(Z, y).mean(), rel=1e-12)
    (grad,) = torch.autograd.grad(loss, Zt)
    # d(mean loss)/dZ = per-sample gradient / N; |z| has a kink only at 0 (not hit).
    np.testing.assert_allclose(grad.numpy(), ref.grad(Z, y) / N, rtol=1e-10, atol=1e-14)


def test_multiclass_loss_with_soft_targets_is_the_expected_cross_entropy(rng):
    """Soft targets q: the CE part is -sum_k q_k log softmax(z)_k, linear in q."""
    K, N = 3, 20
    Z = rng.standard_normal((N, K))
    q = rng.dirichlet(np.ones(K), N)
    got = tl.multiclass_loss(torch.tensor(Z), torch.tensor(q), 0.3, "quadratic").item()
    logp = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    want = 0.7 * np.mean(-(q * logp).sum(axis=1)) + 0.3 * np.mean((Z**2).sum(axis=1))
    assert got == pytest.approx(want, rel=1e-12)


def test_multiclass_loss_upcasts_half_precision_logits(rng):
    Z = torch.tensor(rng.standard_normal((8, 5)), dtype=torch.bfloat16)
    q = torch.full((8, 5), 0.2)
    assert tl.multiclass_loss(Z, q, 0.1, "ls").dtype == torch.float32


def test_a_penalty_without_torch_form_is_refused_by_name():
    from logitreg.losses import Penalty

    class Custom(Penalty):
        name = "custom"

    with pytest.raises(ValueError, match="has no torch form"):
        tl.binary_penalty_d1(Custom())
