"""The objective, written once: derivatives, stability and the label-smoothing identities."""

import mpmath as mp
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


def _mp_penalty(reg):
    """f in mpmath, written from its definition (Eq. 12 for LS), not from the library."""
    if reg == "quadratic":
        return lambda t: t**2
    return lambda t: mp.log(2 + 2 * mp.cosh(t)) / 2


def _mp_binary_reference(alpha, reg, t):
    """l, l', l'' of (1 - alpha) log(1 + e^-t) + alpha f(t) at 60 digits, the derivatives by
    mpmath's own numerical differentiation of the value: no formula shared with the library."""
    f = _mp_penalty(reg)
    with mp.workdps(60):
        a = mp.mpf(alpha)

        def ell(u):
            return (1 - a) * mp.log(1 + mp.exp(-u)) + a * f(u)

        return np.array([[float(mp.diff(ell, mp.mpf(float(ti)), n)) for ti in np.ravel(t)]
                         for n in (0, 1, 2)])


# Stable float64 formulas against 60-digit references: a few ulps of relative error on every
# value, plus an absolute floor for values that cancel to ~1e-17 (l'(t) near z*).
REF_RTOL, REF_ATOL = 1e-12, 1e-13


@pytest.mark.parametrize("reg", ["quadratic", "ls"])
def test_binary_loss_is_exact_at_logit_1e4(reg):
    """No overflow at |t| = 1e4, and the value is the right one there: CE(-1e4) = 1e4 and
    f_LS(1e4) = 5e3 would both overflow if written naively."""
    loss = make_loss(0.1, reg)
    t = np.array([-1e4, -50.0, -0.7, 0.0, 0.7, 50.0, 1e4])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        got = np.array([loss.value(t), loss.d1(t), loss.d2(t)])
    np.testing.assert_allclose(got, _mp_binary_reference(0.1, reg, t), rtol=REF_RTOL,
                               atol=REF_ATOL)
    assert loss.ce(-1e4) == 1e4  # log(1 + e^1e4) = 1e4 + e^-1e4: exactly 1e4 in float64
    assert get_penalty("ls").value(1e4) == 5e3  # 1/2 log(2 + 2 cosh t) = t/2 + O(e^-t)


def _mp_multiclass_reference(alpha, reg, z, c, v):
    """Value, gradient and Hessian-vector product of the multiclass loss (Eq. 6) at 60
    digits, by mpmath differentiation of the textbook value."""
    K = len(z)

    def ell(*u):
        lse = mp.log(mp.fsum(mp.exp(ui) for ui in u))
        f = mp.fsum(ui**2 for ui in u) if reg == "quadratic" else lse - mp.fsum(u) / K
        return (1 - mp.mpf(alpha)) * (lse - u[c]) + mp.mpf(alpha) * f

    with mp.workdps(60):
        u = [mp.mpf(float(x)) for x in z]
        unit = [tuple(int(i == k) for i in range(K)) for k in range(K)]
        grad = [mp.diff(ell, u, e) for e in unit]
        hess = [[mp.diff(ell, u, tuple(a + b for a, b in zip(ei, ej, strict=True)))
                 for ej in unit] for ei in unit]
        hv = [mp.fsum(hess[i][j] * mp.mpf(float(v[j])) for j in range(K)) for i in range(K)]
        return float(ell(*u)), np.array([float(g) for g in grad]), np.array([float(h) for h in hv])


@pytest.mark.parametrize("reg", ["quadratic", "ls"])
def test_multiclass_loss_is_exact_at_logit_1e4(reg, rng):
    loss = make_loss(0.1, reg, n_classes=3)
    Z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 3.0], [0.3, -1.2, 2.0]])
    y = np.array([1, 0, 2])
    V = rng.normal(size=Z.shape)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value, grad, hvp = loss.value(Z, y), loss.grad(Z, y), loss.hvp(Z, y, V)
    for i in range(len(Z)):
        ref = _mp_multiclass_reference(0.1, reg, Z[i], y[i], V[i])
        np.testing.assert_allclose(value[i], ref[0], rtol=REF_RTOL, atol=REF_ATOL)
        np.testing.assert_allclose(grad[i], ref[1], rtol=REF_RTOL, atol=REF_ATOL)
        np.testing.assert_allclose(hvp[i], ref[2], rtol=REF_RTOL, atol=REF_ATOL)


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
    """Batched dynamics use alpha of shape (R, 1) against logits (R, N): row i is the loss of
    alpha_i, checked against the 60-digit reference (not against the scalar code path)."""
    alphas = np.array([[0.0], [0.1], [0.6]])
    t = np.linspace(-5, 5, 11)[None]
    batched = BinaryLoss(alphas, get_penalty("ls"))
    got = np.stack([batched.value(t), batched.d1(t), batched.d2(t)], axis=1)  # (R, 3, N)
    assert got.shape == (3, 3, 11)
    for i, a in enumerate(alphas[:, 0]):
        np.testing.assert_allclose(got[i], _mp_binary_reference(a, "ls", t[0]),
                                   rtol=REF_RTOL, atol=REF_ATOL)


@pytest.mark.parametrize("reg", MULTI, ids=str)
def test_multiclass_curvature_bound_is_the_sup_of_the_penalty_hessian(reg, rng):
    """curvature_bound sets the GD stability bound: it must bound the largest eigenvalue of
    the K x K Hessian of f over the logits training visits (|z| <= 20), and be attained
    (a loose bound would shrink the stable step size for nothing)."""
    K = 4
    pen = get_penalty(reg, K)
    # Random logits, plus the extreme points: two equal top logits (LS, where diag(p) - pp^T
    # reaches 1/2) and |z| = 20 (the separable quartic, g'' = z^2 + 2 = 402).
    Z = np.concatenate([rng.uniform(-20, 20, size=(300, K)),
                        [[20.0, 20.0, -20.0, -20.0], [20.0, 0.0, 0.0, 0.0]]])
    eye = np.eye(K)
    # Dense Hessians from hvp (checked against finite differences above), (n, K, K).
    H = np.stack([pen.hvp(Z, np.broadcast_to(e, Z.shape)) for e in eye], axis=2)
    top = np.linalg.eigvalsh(0.5 * (H + H.transpose(0, 2, 1)))[:, -1]
    closed_form = {"quadratic": 2.0, "ls": 0.5}.get(reg, 20.0**2 + 2)
    assert pen.curvature_bound == pytest.approx(closed_form, rel=1e-12)
    assert np.all(top <= pen.curvature_bound * (1 + 1e-12))
    assert top.max() == pytest.approx(pen.curvature_bound, rel=1e-8)  # e^-40 from exact 1/2


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_gram_is_the_second_moment_of_the_inputs(fit_intercept, rng):
    """The Newton preconditioner A^T A / N: the labels drop out (y_i^2 = 1), leaving the
    uncentred second moment of the inputs, i.e. covariance + mean mean^T (numpy's cov)."""
    X = rng.normal(size=(40, 3)) + np.array([0.5, -1.0, 2.0])
    y = rng.choice([-1.0, 1.0], 40)
    obj = LinearObjective(X, y, make_loss(0.1), fit_intercept=fit_intercept)
    Xa = np.hstack([X, np.ones((40, 1))]) if fit_intercept else X
    m = Xa.mean(axis=0)
    ref = np.cov(Xa, rowvar=False, bias=True) + np.outer(m, m)
    np.testing.assert_allclose(obj.gram, ref, rtol=1e-12, atol=1e-14)  # float64 sums of 40
