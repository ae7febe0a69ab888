"""GD dynamics: backends, the t = 0 and t = inf limits, stability, the flow integrator, resume."""

import dataclasses
import warnings

import numpy as np
import pytest
import sympy as sp
import torch
from scipy import integrate
from scipy.special import ndtr, ndtri

from logitreg._rkc import rkc_coefficients, rkc_step
from logitreg._validation import StabilityWarning
from logitreg.data import signal_plus_noise
from logitreg.dynamics import gd, max_learning_rate
from logitreg.io import atomic_write, load_json, load_npz, save_json, save_npz
from logitreg.losses import BinaryLoss, LinearObjective, MulticlassLoss, get_penalty
from logitreg.metrics import signed_logit_stats
from logitreg.theory import population_accuracy, population_ce

z = sp.Symbol("z")
POP = {"mu_f": 0.1, "sigma_f": 0.0, "sigma_n": 1.0}
ALPHAS = [0.0, 0.01, 0.1]
FIELDS = ("train_loss", "train_acc", "test_loss", "test_acc", "w_norm", "cos_e1",
          "logit_mean", "logit_std")


def _binary(rng, d=30, n=60, mu_f=0.1):
    return signal_plus_noise(n, d, mu_f=mu_f, sigma_f=0.0, sigma_n=1.0, rng=rng)


def _multiclass(rng, d=20, n=60, K=4):
    X, y = signal_plus_noise(n, d, mu_f=1.0, sigma_f=0.0, sigma_n=1.0, n_classes=K, rng=rng)
    Xt, yt = signal_plus_noise(300, d, mu_f=1.0, sigma_f=0.0, sigma_n=1.0, n_classes=K, rng=rng)
    return X, y, Xt, yt


def _run(X, y, alpha, **kw):
    kw.setdefault("epochs", 300)
    kw.setdefault("n_record", 30)
    kw.setdefault("rng", np.random.default_rng(7))
    kw.setdefault("progress", False)
    return gd(X, y, alpha, **kw)


# --------------------------------------------------------------------------- backends


@pytest.mark.parametrize("method", ["gd", "flow"])
def test_numpy_and_torch_backends_agree_in_float64(method, rng):
    X, y = _binary(rng)
    a = _run(X, y, ALPHAS, population=POP, method=method)
    b = _run(X, y, ALPHAS, population=POP, method=method, backend="torch")
    assert isinstance(b.w, np.ndarray) and b.n_grad_evals == a.n_grad_evals
    # GD with eta < 2/L is non-expansive, so per-step rounding differences (~1e-16) are
    # not amplified: 300 steps leave them far below 1e-10.
    for f in (*FIELDS, "w"):
        np.testing.assert_allclose(getattr(b, f), getattr(a, f), rtol=1e-10, atol=1e-12,
                                   err_msg=f)


def test_numpy_and_torch_backends_agree_in_float64_multiclass(rng):
    X, y, Xt, yt = _multiclass(rng)
    a = _run(X, y, [0.0, 0.04], X_test=Xt, y_test=yt)
    b = _run(X, y, [0.0, 0.04], X_test=Xt, y_test=yt, backend="torch")
    for f in (*FIELDS, "w"):
        np.testing.assert_allclose(getattr(b, f), getattr(a, f), rtol=1e-10, atol=1e-12,
                                   err_msg=f)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_float32_matches_float64(backend, rng):
    X, y = _binary(rng)
    a = _run(X, y, ALPHAS, population=POP)
    b = _run(X, y, ALPHAS, population=POP, backend=backend, dtype="float32")
    assert b.w.dtype == np.float64  # results are returned in float64 either way
    # float32 rounds each step at eps32 ~ 6e-8 relative; a non-expansive map adds these up
    # at most linearly: 300 steps * 6e-8 ~ 2e-5 relative in w. Losses, accuracies, norms
    # and logit moments are O(1) and Lipschitz in w, so 1e-4 leaves a 5x margin; float64
    # agrees with itself to 1e-12 (previous test), so this checks a real float32 run.
    for f in (*FIELDS, "w"):
        np.testing.assert_allclose(getattr(b, f), getattr(a, f), rtol=1e-4, atol=1e-4,
                                   err_msg=f)
    assert not np.allclose(b.w, a.w, rtol=1e-12, atol=0)  # it really ran in float32


# ----------------------------------------------------------------------- the t = 0 limit


def test_epoch0_records_are_the_quantities_of_w0(rng):
    X, y = _binary(rng)
    tr = _run(X, y, ALPHAS, population=POP, n_init=2)
    assert tr.epochs[0] == 0
    for r, alpha in enumerate(tr.alphas):
        w0 = tr.w0[r]
        obj = LinearObjective(X, y, BinaryLoss(alpha, get_penalty("quadratic")))
        mean, std = signed_logit_stats(w0, X, y)
        assert tr.train_loss[r, 0] == pytest.approx(obj.value(w0), rel=1e-12)
        assert tr.train_acc[r, 0] == np.mean(y * (X @ w0) > 0)
        assert tr.test_acc[r, 0] == pytest.approx(population_accuracy(w0, **POP), rel=1e-12)
        assert tr.test_loss[r, 0] == pytest.approx(population_ce(w0, **POP), rel=1e-12)
        assert tr.w_norm[r, 0] == pytest.approx(np.linalg.norm(w0), rel=1e-12)
        assert tr.cos_e1[r, 0] == pytest.approx(w0[0] / np.linalg.norm(w0), rel=1e-12)
        assert tr.logit_mean[r, 0] == pytest.approx(mean, rel=1e-12)
        assert tr.logit_std[r, 0] == pytest.approx(std, rel=1e-12)
    # every alpha starts from the same n_init draws, which are N(0, I/d)
    np.testing.assert_array_equal(tr.w0[:2], tr.w0[2:4])
    assert tr.init_index.tolist() == [0, 1] * 3


def test_init_is_standard_normal_over_d(rng):
    X, y = _binary(rng, d=400, n=500)
    tr = _run(X, y, 0.1, epochs=1, n_init=50)
    # |w0|^2 ~ chi2_d / d: mean 1, std sqrt(2/d) = 0.07; 50 draws -> mean within 0.04.
    assert np.mean(np.sum(tr.w0**2, axis=1)) == pytest.approx(1.0, abs=0.04)


@pytest.mark.parametrize("reg", ["quadratic", "ls", z**4 / 12 + z**2], ids=str)
def test_one_gd_step_equals_hand_computed_step(reg, rng):
    X, y = _binary(rng)
    eta = 0.1
    tr = _run(X, y, ALPHAS, reg=reg, eta=eta, epochs=1, n_record=2)
    for r, alpha in enumerate(tr.alphas):
        obj = LinearObjective(X, y, BinaryLoss(alpha, get_penalty(reg)))
        np.testing.assert_allclose(tr.w[r], tr.w0[r] - eta * obj.grad(tr.w0[r]), rtol=1e-12,
                                   atol=1e-15)


def test_one_multiclass_gd_step_equals_hand_computed_step_with_bias(rng):
    X, y, _, _ = _multiclass(rng)
    K, eta = 4, 0.5
    tr = _run(X, y, [0.0, 0.04], eta=eta, epochs=1, n_record=2)
    assert tr.w0.shape == (2, K, X.shape[1] + 1)
    assert np.all(tr.w0[:, :, -1] == 0)  # b_0 = 0
    for r, alpha in enumerate(tr.alphas):
        obj = LinearObjective(X, y, MulticlassLoss(alpha, get_penalty("quadratic", K), K),
                              fit_intercept=True)  # parameters (K, d + 1), bias last
        step = tr.w0[r].ravel() - eta * obj.grad(tr.w0[r].ravel())
        np.testing.assert_allclose(tr.w[r].ravel(), step, rtol=1e-12, atol=1e-15)


# --------------------------------------------------------------------- the t = inf limit


@pytest.mark.parametrize("reg", ["quadratic", "ls"])
def test_gd_limit_is_the_exact_minimizer_from_solvers_fit(reg, rng):
    from logitreg.solvers import fit

    X, y = signal_plus_noise(60, 12, mu_f=1.0, sigma_f=0.5, sigma_n=1.0, rng=rng)
    alpha = 0.2
    eta = 0.9 * float(max_learning_rate(X, y, alpha, reg=reg))
    tr = _run(X, y, alpha, reg=reg, eta=eta, epochs=3000, n_record=5)
    w_star = fit(X, y, alpha, reg=reg, method="newton").w
    # Linear convergence at rate <= 1 - eta mu (mu = 2 alpha lambda_min ~ 0.1 here):
    # 3000 steps reach machine precision; 1e-8 allows for Newton's own tolerance.
    np.testing.assert_allclose(tr.w[0], w_star, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("method", ["gd", "flow"])
def test_gradient_norm_vanishes_at_convergence(method, rng):
    X, y = signal_plus_noise(60, 12, mu_f=1.0, sigma_f=0.5, sigma_n=1.0, rng=rng)
    alpha = 0.2
    eta = float(max_learning_rate(X, y, alpha))
    tr = _run(X, y, alpha, eta=eta, epochs=3000, n_record=5, method=method, rtol=1e-8)
    obj = LinearObjective(X, y, BinaryLoss(alpha, get_penalty("quadratic")))
    assert np.linalg.norm(obj.grad(tr.w[0])) < 1e-10 * np.linalg.norm(obj.grad(tr.w0[0]))


# ------------------------------------------------------------------------- stability


def test_max_learning_rate_is_two_over_curvature_times_gram_eigenvalue(rng):
    X, y = _binary(rng, d=80, n=100)
    alphas = np.array([0.0, 0.1, 0.5])
    A = y[:, None] * X
    lam = np.linalg.eigvalsh(A.T @ A / len(A))[-1]
    # sup l'' of (1 - a) CE + a z^2 is at t = 0: (1 - a)/4 + 2a.
    want = 2.0 / (((1 - alphas) / 4 + 2 * alphas) * lam)
    np.testing.assert_allclose(max_learning_rate(X, y, alphas), want, rtol=1e-7)


def test_stability_warning_fires_above_two_over_L(rng):
    X, y = _binary(rng)
    bound = float(max_learning_rate(X, y, 0.1))
    with pytest.warns(StabilityWarning, match="eta=.* exceeds the GD stability bound"):
        _run(X, y, 0.1, eta=1.01 * bound, epochs=2)


def test_stability_warning_silent_below_two_over_L(rng):
    X, y = _binary(rng)
    bound = float(max_learning_rate(X, y, ALPHAS).min())
    with warnings.catch_warnings():
        warnings.simplefilter("error", StabilityWarning)
        _run(X, y, ALPHAS, eta=0.99 * bound, epochs=2)


def test_gd_far_above_the_bound_diverges(rng):
    X, y = _binary(rng)
    eta = 3 * float(max_learning_rate(X, y, 0.5))
    with pytest.warns(StabilityWarning):
        tr = _run(X, y, 0.5, eta=eta, epochs=200)
    assert tr.w_norm[0, -1] > 1e6 * tr.w_norm[0, 0]  # the bound is not vacuous


# ---------------------------------------------------------------------- flow integrator


@pytest.mark.parametrize("s", [2, 5, 17, 60])
def test_rkc_is_stable_to_beta_and_second_order(s):
    beta = rkc_coefficients(s)[4]
    assert 0.49 * s**2 < beta < 0.654 * s**2  # -> 0.653 s^2 (damping 2/13) as s grows

    def amplification(x):  # one step of y' = -x y from y = 1 with h = 1, for each x
        y0 = np.ones_like(x)
        return rkc_step(lambda Y: (x * Y, None), y0, -x * y0, 1.0, s)

    x = np.linspace(0, beta, 2000)
    assert np.all(np.abs(amplification(x)) <= 1 + 1e-12)  # = 1 only at x = 0 (rounding)
    assert abs(amplification(np.array([1.05 * beta + 1]))[0]) > 1.0
    x = np.array([1e-2, 2e-3])  # local error O(h^3) against exp(-x)
    assert np.all(np.abs(amplification(x) - np.exp(-x)) < 0.2 * x**3)


def test_flow_matches_gd_epoch_of_test_acc_0p9_within_2_percent(rng):
    X, y = signal_plus_noise(200, 140, mu_f=0.1, sigma_f=0.0, sigma_n=1.0, rng=rng)
    kw = {"population": POP, "epochs": 20_000, "n_record": 150}
    exact = _run(X, y, [0.0, 0.1], **kw)
    flow = _run(X, y, [0.0, 0.1], method="flow", **kw)
    e_gd, e_flow = exact.first_epoch("test_acc", 0.9)[1], flow.first_epoch("test_acc", 0.9)[1]
    assert np.isfinite(e_gd)
    assert abs(e_flow - e_gd) < 0.02 * e_gd
    np.testing.assert_allclose(flow.test_acc, exact.test_acc, atol=5e-3)
    assert flow.n_grad_evals < exact.n_grad_evals / 5


def test_first_epoch_is_exact_for_probit_linear_in_log_epoch_accuracy():
    tr = _run(*_binary(np.random.default_rng(0)), [0.0, 0.1], epochs=5000, n_record=25)
    e = np.maximum(tr.epochs, 1).astype(float)
    # population accuracy is Phi(q) with q smooth in log t: for q linear in log t the
    # probit / log-epoch interpolation is exact, however coarse the record grid.
    acc = np.stack([ndtr(-3.0 + 1.2 * np.log(e)), np.full(e.shape, 0.5)])
    tr = dataclasses.replace(tr, test_acc=acc)
    want = np.exp((ndtri(0.9995) + 3.0) / 1.2)
    np.testing.assert_allclose(tr.first_epoch("test_acc", 0.9995), [want, np.nan], rtol=1e-10)
    assert tr.first_epoch("test_acc", 0.4)[1] == 0  # reached at the first record
    tr = dataclasses.replace(tr, test_loss=np.stack([np.log(e), -np.log(e)]))
    assert tr.peak_epoch("test_loss").tolist() == [5000, 0]


# ------------------------------------------------------------------- population metrics


@pytest.mark.parametrize("w", [[0.3, 0.4, -0.2], [5.0, 0.01, 0.0], [-2.0, 8.0, 15.0],
                               [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
def test_population_ce_equals_numerical_integral(w):
    w = np.array(w)
    m, s = w[0] * 0.7, np.sqrt(0.2**2 * w[0] ** 2 + 1.3**2 * np.sum(w[1:] ** 2))
    if s == 0:
        want = np.logaddexp(0, -m)
    else:
        f = lambda u: np.logaddexp(0, -(m + s * u)) * np.exp(-u * u / 2) / np.sqrt(2 * np.pi)  # noqa: E731
        want = integrate.quad(f, -np.inf, -m / s, epsabs=1e-14, epsrel=1e-13)[0] + \
            integrate.quad(f, -m / s, np.inf, epsabs=1e-14, epsrel=1e-13)[0]
    got = population_ce(w, mu_f=0.7, sigma_f=0.2, sigma_n=1.3)
    assert got == pytest.approx(want, rel=1e-10, abs=1e-13)


def test_population_metrics_match_a_large_test_set(rng):
    X, y = _binary(rng, mu_f=0.5)
    pop = {"mu_f": 0.5, "sigma_f": 0.0, "sigma_n": 1.0}
    Xt, yt = signal_plus_noise(200_000, X.shape[1], rng=rng, **pop)
    a = _run(X, y, ALPHAS, population=pop, epochs=200, n_record=4)
    b = _run(X, y, ALPHAS, X_test=Xt, y_test=yt, epochs=200, n_record=4)
    # Monte Carlo over 2e5 samples: std <= 0.5/sqrt(2e5) = 1.1e-3 (accuracy) and
    # <= std(CE)/450 (CE, std(CE) < 3 here); 5e-3 is >= 4 standard errors.
    np.testing.assert_allclose(b.test_acc, a.test_acc, atol=5e-3)
    np.testing.assert_allclose(b.test_loss, a.test_loss, rtol=1e-2, atol=5e-3)
    np.testing.assert_array_equal(b.train_loss, a.train_loss)


# ---------------------------------------------------------------------- checkpoints


@pytest.mark.parametrize("method", ["gd", "flow"])
def test_interrupted_and_resumed_run_equals_uninterrupted_run(method, tmp_path, rng):
    X, y = _binary(rng)
    kw = {"population": POP, "epochs": 2000, "n_record": 40, "method": method}
    whole = _run(X, y, ALPHAS, **kw)
    ck = tmp_path / "ck.npz"
    part = _run(X, y, ALPHAS, checkpoint=ck, stop_at_epoch=700, **kw)
    assert not part.complete and ck.exists()
    assert np.isnan(part.test_acc[:, -1]).all()
    resumed_rng = np.random.default_rng(7)  # same seed: same w0, so the same configuration
    resumed = _run(X, y, ALPHAS, checkpoint=ck, rng=resumed_rng, **kw)
    assert resumed.complete
    # Same operations on the same numbers in the same order: bit-for-bit equal.
    for f in (*FIELDS, "w", "epochs"):
        np.testing.assert_array_equal(getattr(resumed, f), getattr(whole, f), err_msg=f)
    after = np.random.default_rng(7)
    after.standard_normal((1, X.shape[1]))  # what an uninterrupted gd draws (w0)
    assert resumed_rng.bit_generator.state == after.bit_generator.state


def test_checkpoint_of_another_config_is_refused_unless_restart(tmp_path, rng):
    X, y = _binary(rng)
    ck = tmp_path / "ck.npz"
    _run(X, y, ALPHAS, checkpoint=ck, epochs=50)
    with pytest.raises(ValueError, match=r"another configuration \(eta: 0\.1 -> 0\.2\)"):
        _run(X, y, ALPHAS, checkpoint=ck, epochs=50, eta=0.2)
    tr = _run(X, y, ALPHAS, checkpoint=ck, epochs=50, eta=0.2, restart=True)
    assert tr.complete and tr.eta == 0.2
    saved = load_npz(ck)
    assert int(saved["epoch"]) == 50 and '"eta": 0.2' in str(saved["config"])


def test_finished_checkpoint_returns_without_new_steps(tmp_path, rng):
    X, y = _binary(rng)
    ck = tmp_path / "ck.npz"
    first = _run(X, y, ALPHAS, checkpoint=ck, epochs=100)
    again = _run(X, y, ALPHAS, checkpoint=ck, epochs=100)
    np.testing.assert_array_equal(again.w, first.w)
    assert again.n_grad_evals == first.n_grad_evals == 100


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "r.json"
    save_json(path, {"a": np.float64(1.5), "b": np.array([1, 2]), "c": float("nan")})
    assert load_json(path) == {"a": 1.5, "b": [1, 2], "c": None}

    def boom(fh):
        fh.write(b"{partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, boom)
    assert load_json(path)["a"] == 1.5  # untouched
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temp file left
    save_npz(tmp_path / "a.npz", x=np.arange(3.0))
    np.testing.assert_array_equal(load_npz(tmp_path / "a.npz")["x"], np.arange(3.0))


# ------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"eta": 0.0}, "eta must be > 0"),
        ({"eta": -0.1}, "eta must be > 0"),
        ({"alpha": 1.0}, r"alpha must lie in \[0, 1\)"),
        ({"alpha": -0.1}, r"alpha must lie in \[0, 1\)"),
        ({"backend": "jax"}, "unknown backend='jax'"),
        ({"dtype": "float16"}, "unknown dtype='float16'"),
        ({"method": "adam"}, "unknown method='adam'"),
        ({"epochs": 0}, "epochs must be > 0"),
        ({"epochs": 10.5}, "epochs must be an integer"),
        ({"n_record": 1}, "n_record must be >= 2"),
        ({"rtol": 0.0}, "rtol must be > 0"),
        ({"rtol": 1e-6, "dtype": "float32"}, r"rtol must lie in \[1.2e-05, 1\) for dtype="),
        ({"device": "cuda"}, "backend='numpy' runs on device='cpu' only"),
        ({"y": np.ones(61)}, "X and y must have the same number of samples"),
        ({"X_test": np.zeros((5, 31)), "y_test": np.ones(5)}, "X_test must have d=30"),
        ({"X_test": np.zeros((5, 30))}, "X_test and y_test must be given together"),
        ({"population": {"mu_f": 1.0}}, "population must be a dict with keys"),
        ({"rng": "seed"}, "rng must be a numpy.random.Generator"),
    ],
)
def test_bad_input_raises_value_error_naming_the_parameter(kwargs, match, rng):
    X, y = _binary(rng)
    args = {"alpha": 0.1, "y": y, **kwargs}
    alpha, y_ = args.pop("alpha"), args.pop("y")
    with pytest.raises(ValueError, match=match):
        gd(X, y_, alpha, **{"epochs": 5, "progress": False, **args})


def test_torch_rejects_a_penalty_it_cannot_differentiate(rng):
    from logitreg.losses import Penalty

    class Custom(Penalty):  # a user's own Penalty object: numpy can run it, torch cannot
        name = "custom"

        def value(self, t):
            return np.square(t)

        def d1(self, t):
            return 2 * np.asarray(t)

        def d2(self, t):
            return np.full_like(np.asarray(t, dtype=float), 2.0)

    X, y = _binary(rng)
    assert _run(X, y, 0.1, reg=Custom(), epochs=3).complete  # numpy takes any Penalty
    with pytest.raises(ValueError, match="has no torch form"):
        _run(X, y, 0.1, reg=Custom(), epochs=3, backend="torch")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_agrees_with_cpu(rng):
    X, y = _binary(rng)
    a = _run(X, y, ALPHAS, population=POP, backend="torch")
    b = _run(X, y, ALPHAS, population=POP, backend="torch", device="cuda")
    for f in (*FIELDS, "w"):  # float64 on both; cuBLAS sums in another order
        np.testing.assert_allclose(getattr(b, f), getattr(a, f), rtol=1e-9, atol=1e-12)


def test_flow_matches_gd_in_the_multiclass_quick_setting(rng):
    X, y = signal_plus_noise(200, 140, mu_f=1.0, sigma_f=0.0, sigma_n=1.0, n_classes=10, rng=rng)
    Xt, yt = signal_plus_noise(2000, 140, mu_f=1.0, sigma_f=0.0, sigma_n=1.0, n_classes=10,
                               rng=rng)
    kw = {"X_test": Xt, "y_test": yt, "epochs": 4000, "n_record": 100}
    exact = _run(X, y, 0.04, **kw)
    flow = _run(X, y, 0.04, method="flow", **kw)
    e_gd, e_flow = exact.first_epoch("test_acc", 0.9)[0], flow.first_epoch("test_acc", 0.9)[0]
    assert np.isfinite(e_gd) and abs(e_flow - e_gd) < 0.02 * e_gd
    # GD is the flow up to O(eta L) per unit time: 0.4% in the fast initial transient here.
    np.testing.assert_allclose(flow.train_loss, exact.train_loss, rtol=1e-2)


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")  # diverging is the point
def test_diverging_gd_raises_and_writes_no_checkpoint(tmp_path, rng):
    X, y = _binary(rng)
    eta = 50 * max_learning_rate(X, y, 0.1)  # far above the stability bound 2/L
    ck = tmp_path / "ck.npz"
    with pytest.warns(StabilityWarning), \
            pytest.raises(FloatingPointError, match=r"diverged.*alpha=\[0\.1\].*lower eta"):
        _run(X, y, 0.1, eta=eta, epochs=3000, n_record=50, checkpoint=ck)
    assert not ck.exists()


def test_record_epochs_always_end_at_the_last_epoch():
    from logitreg.trajectory import record_epochs

    assert record_epochs(500, 2).tolist() == [0, 500]  # was [0, 1]: the run stopped early
    grid = record_epochs(200_000, 400)
    assert grid[0] == 0 and grid[-1] == 200_000 and np.all(np.diff(grid) > 0)


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_weights_that_overflow_before_a_record_are_reported_as_divergence(rng):
    """Weights already inf/NaN at a record epoch must give the divergence error, not the
    population metrics' "w must be finite" (bad input)."""
    X, y = _binary(rng)
    eta = 1e6 * max_learning_rate(X, y, 0.1)
    with pytest.warns(StabilityWarning), pytest.raises(FloatingPointError, match="diverged"):
        _run(X, y, 0.1, eta=eta, epochs=2000, n_record=5, population=POP)
