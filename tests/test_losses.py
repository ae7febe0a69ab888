"""The objective, written once: derivatives, stability and the label-smoothing identities."""

import numpy as np
import pytest
import sympy as sp

from logitreg.losses import (
    BinaryLoss,
    LinearObjective,
    MulticlassLoss,
    SympyPenalty,
    get_penalty,
    make_loss,
)

z = sp.Symbol("z")
# A custom convex even f with a closed form (log cosh, written stably) and a quartic.
CUSTOM_BINARY = [sp.Abs(z) + sp.log(1 + sp.exp(-2 * sp.Abs(z))), z**4 / 12 + z**2]
BINARY = ["quadratic", "ls", *CUSTOM_BINARY]
MULTI = ["quadratic", "ls", z**4 / 12 + z**2]

# Central differences with h = 1e-5 have truncation error O(h^2 f''') ~ 1e-10 and rounding
# error O(eps/h) ~ 1e-11 on O(1) values: 1e-7 relative leaves two orders of margin.
FD_RTOL = 1e-7


def _fd(fun, x, h=1e-5):
    x = np.asarray(x, dtype=float)
    out = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = h
        out.append((fun(x + e) - fun(x - e)) / (2 * h))
    return np.stack(out, axis=-1)


@pytest.mark.parametrize("reg", BINARY, ids=str)
def test_binary_penalty_derivatives_match_finite_differences(reg):
    pen = get_penalty(reg, 2)
    t = np.linspace(-6, 6, 41) + 0.0123  # avoid |z| kinks exactly at 0
    num1 = (pen.value(t + 1e-5) - pen.value(t - 1e-5)) / 2e-5
    num2 = (pen.d1(t + 1e-5) - pen.d1(t - 1e-5)) / 2e-5
    np.testing.assert_allclose(pen.d1(t), num1, rtol=FD_RTOL, atol=1e-8)
    np.testing.assert_allclose(pen.d2(t), num2, rtol=FD_RTOL, atol=1e-8)


@pytest.mark.parametrize("reg", BINARY, ids=str)
@pytest.mark.parametrize("alpha", [0.0, 0.1, 0.7])
def test_binary_loss_derivatives_match_finite_differences(reg, alpha):
    loss = make_loss(alpha, reg)
    t = np.linspace(-8, 8, 33) + 0.0123
    np.testing.assert_allclose(loss.d1(t), (loss.value(t + 1e-5) - loss.value(t - 1e-5)) / 2e-5,
                               rtol=FD_RTOL, atol=1e-8)
    np.testing.assert_allclose(loss.d2(t), (loss.d1(t + 1e-5) - loss.d1(t - 1e-5)) / 2e-5,
                               rtol=FD_RTOL, atol=1e-8)


@pytest.mark.parametrize("reg", MULTI, ids=str)
@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_multiclass_loss_gradient_and_hvp_match_finite_differences(reg, alpha, rng):
    K = 4
    loss = make_loss(alpha, reg, n_classes=K)
    Z = rng.normal(size=(1, K)) * 2
    y = np.array([2])
    g = _fd(lambda v: loss.value(v, y), Z)[0]
    np.testing.assert_allclose(loss.grad(Z, y)[0], g, rtol=FD_RTOL, atol=1e-8)
    V = rng.normal(size=(1, K))
    hv_num = (loss.grad(Z + 1e-5 * V, y) - loss.grad(Z - 1e-5 * V, y)) / 2e-5
    np.testing.assert_allclose(loss.hvp(Z, y, V), hv_num, rtol=FD_RTOL, atol=1e-8)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_linear_objective_gradient_and_hessian_match_finite_differences(
    n_classes, fit_intercept, rng
):
    N, d = 30, 5
    X = rng.normal(size=(N, d))
    y = rng.choice([-1.0, 1.0], N) if n_classes == 2 else rng.integers(0, n_classes, N)
    obj = LinearObjective(X, y, make_loss(0.2, "ls", n_classes), fit_intercept=fit_intercept)
    w = rng.normal(size=obj.size) * 0.5
    np.testing.assert_allclose(obj.grad(w), _fd(obj.value, w), rtol=FD_RTOL, atol=1e-9)
    H_num = _fd(obj.grad, w)
    np.testing.assert_allclose(obj.hessian(w), H_num, rtol=1e-6, atol=1e-9)
    v = rng.normal(size=obj.size)
    np.testing.assert_allclose(obj.hvp(w, v), H_num @ v, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("reg", ["quadratic", "ls"])
def test_binary_loss_is_finite_at_logit_1e4(reg):
    loss = make_loss(0.1, reg)
    t = np.array([-1e4, -50.0, 0.0, 50.0, 1e4])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for fn in (loss.value, loss.d1, loss.d2):
            assert np.all(np.isfinite(fn(t)))
    # Asymptotics: CE(-1e4) = 1e4 exactly in float64; f_LS(1e4) = 5e3.
    assert loss.ce(-1e4) == pytest.approx(1e4)
    assert get_penalty("ls").value(1e4) == pytest.approx(5e3)


@pytest.mark.parametrize("reg", ["quadratic", "ls"])
def test_multiclass_loss_is_finite_at_logit_1e4(reg):
    loss = make_loss(0.1, reg, n_classes=3)
    Z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 3.0]])
    y = np.array([1, 0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert np.all(np.isfinite(loss.value(Z, y)))
        assert np.all(np.isfinite(loss.grad(Z, y)))
        assert np.all(np.isfinite(loss.hvp(Z, y, np.ones_like(Z))))


def test_binary_label_smoothing_identity_symbolic_alpha_equals_two_eps():
    """Eq. 10-12: (1-e) log(1+e^-t) + e log(1+e^t) = (1-2e) CE + 2e * 1/2 log(2+2cosh t)."""
    t, eps = sp.symbols("t epsilon", real=True)
    ls = (1 - eps) * sp.log(1 + sp.exp(-t)) + eps * sp.log(1 + sp.exp(t))
    alpha = 2 * eps
    f = get_penalty("ls").symbolic.subs(sp.Symbol("z", real=True), t)
    ours = (1 - alpha) * sp.log(1 + sp.exp(-t)) + alpha * f
    diff = ls - ours
    # Equal as functions: the difference has zero derivative and vanishes at t = 0.
    assert sp.simplify(sp.diff(diff, t).rewrite(sp.exp)) == 0
    assert sp.simplify(diff.subs(t, 0)) == 0
    # And numerically through BinaryLoss, on a grid including large |t|.
    tt = np.linspace(-30, 30, 121)
    for e in (0.05, 0.1, 0.3):
        direct = (1 - e) * np.logaddexp(0, -tt) + e * np.logaddexp(0, tt)
        np.testing.assert_allclose(BinaryLoss(2 * e, get_penalty("ls")).value(tt), direct,
                                   rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("eps", [0.05, 0.1, 0.4])
def test_multiclass_label_smoothing_equals_torch_cross_entropy(eps, rng):
    torch = pytest.importorskip("torch")
    K, n = 7, 50
    Z = rng.normal(size=(n, K)) * 3
    y = rng.integers(0, K, n)
    ref = torch.nn.functional.cross_entropy(
        torch.from_numpy(Z), torch.from_numpy(y), label_smoothing=eps, reduction="none"
    ).numpy()
    ours = MulticlassLoss(eps, get_penalty("ls", K), K).value(Z, y)
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-13)


def test_custom_nonconvex_penalty_is_rejected_naming_reg():
    with pytest.raises(ValueError, match=r"reg must be convex.*cos"):
        SympyPenalty(sp.cos(z))
    with pytest.raises(ValueError, match="reg must be convex"):
        make_loss(0.1, -(z**2))


def test_custom_odd_penalty_is_rejected_naming_reg():
    with pytest.raises(ValueError, match="reg must be an even function"):
        SympyPenalty(z**2 + z)


def test_custom_penalty_that_overflows_at_1e4_warns():
    with pytest.warns(RuntimeWarning, match="overflows at"):
        SympyPenalty(sp.log(sp.cosh(z)))


def test_binary_loss_broadcasts_an_array_of_alphas_over_runs():
    """Batched dynamics use alpha of shape (R, 1) against logits (R, N)."""
    alphas = np.array([[0.0], [0.1], [0.6]])
    t = np.linspace(-5, 5, 11)[None]
    batched = BinaryLoss(alphas, get_penalty("ls"))
    for i, a in enumerate(alphas[:, 0]):
        single = make_loss(a, "ls")
        for name in ("value", "d1", "d2"):
            np.testing.assert_allclose(getattr(batched, name)(t)[i], getattr(single, name)(t[0]),
                                       rtol=1e-15, atol=0)
