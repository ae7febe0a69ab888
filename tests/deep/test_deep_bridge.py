"""The core's predictions on features: each check against an independent reference or a
theorem that holds exactly on a constructed case."""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deep.bridge import (
    balanced_split,
    effective_noise,
    fisher_alignment,
    fisher_subspace,
    logit_gap_stats,
    orthogonal_scaling,
    probe_accuracy,
    signal_basis,
    subspace_alignment,
    vertex_gap,
    within_class_covariance,
)
from logitreg import fisher_direction, fit, simplex_means, z_star


def _gaussian(rng, n, K=4, d=12, spread=1.5, anisotropic=True):
    """Classes with shared covariance A A^T / 4 (anisotropic) or I, balanced labels."""
    means = spread * rng.standard_normal((K, d))
    A = rng.standard_normal((d, d)) if anisotropic else 2.0 * np.eye(d)
    y = np.arange(n) % K
    return means[y] + 0.5 * rng.standard_normal((n, d)) @ A.T, y


# ---------------------------------------------------------------------- logit clustering


def test_vertex_gap_closed_forms_and_core():
    # Label smoothing: log(1 + K (1 - eps)/eps), 4.511 for K = 10, eps = 0.1 (App. B).
    assert vertex_gap(0.1, "ls", 10) == pytest.approx(np.log(91.0), rel=1e-15)
    v = z_star(0.1, "ls", 10)  # the core's vertex solver, independent of the closed form
    assert vertex_gap(0.1, "ls", 10) == pytest.approx(v.q_high - v.q_low, rel=1e-12)
    v = z_star(0.04, "quadratic", 10)
    assert vertex_gap(0.04, "quadratic", 10) == pytest.approx(v.q_high - v.q_low, rel=1e-15)
    # K = 2 with two logits: by symmetry the vertex is (g/2, -g/2), and d/dz_0 of
    # (1 - a) softplus(z_1 - z_0) + a (z_0^2 + z_1^2) vanishes: (1 - a) sigma(-g) = a g.
    g = vertex_gap(0.04, "quadratic", 2)
    assert (1 - 0.04) / (1 + np.exp(g)) == pytest.approx(0.04 * g, rel=1e-10)
    assert vertex_gap(0.0, "ls", 10) == np.inf
    with pytest.raises(ValueError, match=r"alpha=1.0: expected a float in \[0, 1\)"):
        vertex_gap(1.0)
    with pytest.raises(ValueError, match=r"n_classes=1: expected an integer >= 2"):
        vertex_gap(0.1, n_classes=1)


def test_logit_gap_stats_by_hand():
    logits = np.array([[3.0, 1.0, 0.0], [0.0, 2.0, 2.5]])
    s = logit_gap_stats(logits, np.array([0, 2]), target=2.0)
    gaps = np.array([2.0, 3.0, 2.5, 0.5])
    assert s["mean"] == pytest.approx(gaps.mean()) and s["std"] == pytest.approx(gaps.std())
    assert s["offset"] == pytest.approx(gaps.mean() - 2.0)
    assert s["rms"] == pytest.approx(np.sqrt(np.mean((gaps - 2.0) ** 2)))
    assert "target" not in logit_gap_stats(logits, np.array([0, 2]))
    with pytest.raises(ValueError, match=r"labels in \[0, 3\]: expected integers in \[0, 3\)"):
        logit_gap_stats(logits, np.array([0, 3]))


def test_label_smoothing_puts_the_logit_gaps_at_the_vertex():
    """A linear model with d > N can put every sample at its vertex, the global minimum of
    the LS loss (Sec. 3.2): trained to convergence with torch's own label smoothing (an
    independent implementation of the loss), every gap equals log(1 + K(1 - eps)/eps)."""
    K, N, d, eps = 4, 24, 40, 0.1
    g = torch.Generator().manual_seed(0)
    X = torch.randn(N, d, generator=g, dtype=torch.float64)
    y = torch.arange(N) % K
    torch.manual_seed(0)
    lin = torch.nn.Linear(d, K).double()
    opt = torch.optim.LBFGS(lin.parameters(), max_iter=400, tolerance_grad=1e-12,
                            tolerance_change=0, history_size=50, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(lin(X), y, label_smoothing=eps)
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        s = logit_gap_stats(lin(X), y, target=vertex_gap(eps, "ls", K))
    assert s["target"] == pytest.approx(np.log1p(K * 0.9 / 0.1), rel=1e-15)
    # L-BFGS to near convergence: the gaps sit at the target to ~1e-6 of its 3.6.
    assert abs(s["offset"]) < 1e-5 and s["std"] < 1e-5 and s["rms"] < 1e-5
    # The same check fails for the wrong target (the binary LS z* log((1 - eps)/eps)).
    assert abs(s["mean"] - np.log(0.9 / 0.1)) > 1.0


def test_logit_penalty_gaps_at_the_core_vertex_and_spread_when_n_exceeds_d():
    rng = np.random.default_rng(1)
    K, alpha = 3, 0.1
    target = vertex_gap(alpha, "quadratic", K)
    X, y = _gaussian(rng, 30, K=K, d=40)  # d > N: interpolation at the vertex
    res = fit(X, y, alpha, fit_intercept=True)
    s = logit_gap_stats(res.decision_function(X), y, target)
    assert abs(s["offset"]) < 1e-6 and s["std"] < 1e-6
    X, y = _gaussian(rng, 600, K=K, d=5)  # N >> d: logits cannot all sit at the vertex
    res = fit(X, y, alpha, fit_intercept=True)
    s = logit_gap_stats(res.decision_function(X), y, target)
    assert s["std"] > 0.1 and s["rms"] > s["std"] - 1e-12


# -------------------------------------------------------------------------------- Fisher


@pytest.mark.parametrize("shrinkage", ["auto", 0.3, None])
def test_within_class_covariance_and_fisher_subspace_match_sklearn(shrinkage):
    LDA = pytest.importorskip("sklearn.discriminant_analysis").LinearDiscriminantAnalysis
    rng = np.random.default_rng(2)
    X, y = _gaussian(rng, 200, K=4, d=12)
    X[:, 3] = 0.0  # a dead (post-ReLU) feature: constant within every class
    lda = LDA(solver="lsqr", shrinkage=shrinkage, store_covariance=True).fit(X, y)
    S_W = within_class_covariance(X, y, shrinkage)
    # Same formulas, same order of float64 operations up to summation: 1e-13 relative.
    np.testing.assert_allclose(S_W, lda.covariance_, rtol=0, atol=1e-13 * np.abs(S_W).max())
    F_ = fisher_subspace(X, y, shrinkage)
    assert F_.shape == (3, 12)
    np.testing.assert_allclose(F_ @ F_.T, np.eye(3), atol=1e-13)
    # sklearn's lsqr coef_ rows are S_W^-1 mu_c: their differences span the subspace.
    assert subspace_alignment(F_, lda.coef_ - lda.coef_.mean(0)) == pytest.approx(1, abs=1e-12)


def test_fisher_subspace_without_shrinkage_is_the_cores_lda():
    rng = np.random.default_rng(3)
    X, y = _gaussian(rng, 300, K=5, d=9)
    assert subspace_alignment(fisher_subspace(X, y, None),
                              fisher_direction(X, y)) == pytest.approx(1, abs=1e-12)


def test_least_squares_head_is_fisher_aligned():
    """Regressing one-hot targets on [X, 1] gives W^T = S_T^-1 (class-mean terms), and
    S_T = S_W + S_B with S_B in span{mu_c - mu}, so the head's subspace is Fisher's exactly
    (without shrinkage); with anisotropic noise it is not the class-mean subspace."""
    rng = np.random.default_rng(4)
    K, d = 4, 12
    X, y = _gaussian(rng, 400, K=K, d=d)
    coef = np.linalg.lstsq(np.c_[X, np.ones(len(X))], np.eye(K)[y], rcond=None)[0]
    W = coef[:d].T  # (K, d)
    out = fisher_alignment(W, X, y, shrinkage=None, rng=np.random.default_rng(0))
    assert out["dim"] == K - 1
    assert out["fisher"] == pytest.approx(1, abs=1e-10)
    assert out["class_means"] < 0.95 and out["random"] < 0.7
    # Ledoit-Wolf shrinks S_W toward a multiple of I, i.e. toward the class means: the
    # default lies between the two references.
    auto = fisher_alignment(W, X, y, rng=np.random.default_rng(0))
    assert out["class_means"] < auto["fisher"] < 1
    # The random reference is seeded: same generator state, same value.
    assert auto["random"] == out["random"]
    # Isotropic noise: Fisher's subspace is the class-mean subspace.
    X, y = _gaussian(rng, 400, K=K, d=d, anisotropic=False)
    iso = fisher_alignment(W, X, y, shrinkage=None, rng=np.random.default_rng(0))
    assert iso["fisher_vs_class_means"] > 0.98


def test_subspace_alignment_of_known_angles():
    theta = 0.3
    A = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0]])
    B = np.array([[np.cos(theta), 0, np.sin(theta), 0], [0, 5.0, 0, 0]])
    assert subspace_alignment(A, B) == pytest.approx((np.cos(theta) + 1) / 2, rel=1e-14)
    with pytest.raises(ValueError, match=r"expected the same number of columns"):
        subspace_alignment(A, B[:, :3])


# --------------------------------------------------------------- effective noise, probe


def _signal_plus_noise(rng, n, K, d, sigma_f, sigma_n, scale=2.0):
    """Simplex class means in the first K - 1 coordinates, noise sigma_f there and
    sigma_n in the others (Eq. 3, multiclass)."""
    means = scale * simplex_means(K, d)
    y = np.arange(n) % K
    noise = rng.standard_normal((n, d))
    noise[:, : K - 1] *= sigma_f
    noise[:, K - 1:] *= sigma_n
    return means[y] + noise, y, means


def test_effective_noise_recovers_the_generating_levels():
    rng = np.random.default_rng(5)
    K, d = 4, 30
    X, y, means = _signal_plus_noise(rng, 40000, K, d, sigma_f=0.5, sigma_n=1.5)
    out = effective_noise(X, y)
    dist = np.mean([np.linalg.norm(means[i] - means[j])
                    for i in range(K) for j in range(i + 1, K)])
    assert out["dim_signal"] == K - 1 and out["dim_noise"] == d - K + 1
    # 10^4 samples per class: relative sampling error ~ 1/sqrt(2 * 10^4 * dim) < 1%.
    assert out["sigma_f"] == pytest.approx(0.5 / dist, rel=0.02)
    assert out["sigma_n"] == pytest.approx(1.5 / dist, rel=0.02)
    # Eq. 36 scales the orthogonal part only: sigma_n^eff by gamma, the rest unchanged.
    Q1 = signal_basis(X, y)
    scaled = effective_noise(orthogonal_scaling(X, Q1, 3.0), y)
    assert scaled["sigma_n"] == pytest.approx(3.0 * out["sigma_n"], rel=1e-12)
    assert scaled["sigma_f"] == pytest.approx(out["sigma_f"], rel=1e-12)
    assert scaled["centroid_distance"] == pytest.approx(out["centroid_distance"], rel=1e-12)
    # Both are dimensionless: a global rescaling of the features changes neither.
    big = effective_noise(7.0 * X, y)
    assert big["sigma_f"] == pytest.approx(out["sigma_f"], rel=1e-12)
    with pytest.raises(ValueError, match=r"expected d > K - 1"):
        effective_noise(X[:, :3], y)


def test_orthogonal_scaling_is_eq_36():
    rng = np.random.default_rng(6)
    X, y = _gaussian(rng, 50, K=3, d=6)
    Q1 = signal_basis(X, y)
    P = np.eye(6) - Q1 @ Q1.T  # P_perp as a matrix (Eq. 36)
    expected = X @ (np.eye(6) - P).T + 2.5 * X @ P.T
    np.testing.assert_allclose(orthogonal_scaling(X, Q1, 2.5), expected, atol=1e-13)
    np.testing.assert_allclose(orthogonal_scaling(X, Q1, 1.0), X, atol=1e-13)
    with pytest.raises(ValueError, match=r"gamma=0.0: expected a positive scale"):
        orthogonal_scaling(X, Q1, 0.0)


def test_balanced_split():
    y = np.repeat(np.arange(5), 30)
    tr, te = balanced_split(y, 50, np.random.default_rng(0))
    assert np.all(np.bincount(y[tr]) == 10) and len(te) == 100
    assert np.intersect1d(tr, te).size == 0 and np.union1d(tr, te).size == 150
    again = balanced_split(y, 50, np.random.default_rng(0))[0]
    assert np.array_equal(tr, again)  # seeded
    with pytest.raises(ValueError, match=r"n_train=51: expected a positive multiple"):
        balanced_split(y, 51, np.random.default_rng(0))


def test_probe_is_flat_in_gamma_for_a_logit_penalty_but_not_for_weight_decay():
    """Prop. D.3 on Gaussian features (N > d + 1): with a logit penalty the exact probe's
    test predictions do not depend on the orthogonal scale gamma; a weight penalty
    (the alpha = 0 baseline here) makes gamma matter, as alpha = 0 does in Fig. 9."""
    rng = np.random.default_rng(7)
    K, d = 3, 40
    Xtr, ytr, _ = _signal_plus_noise(rng, 90, K, d, sigma_f=1.0, sigma_n=1.0)
    Xte, yte, _ = _signal_plus_noise(rng, 3000, K, d, sigma_f=1.0, sigma_n=1.0)
    gammas = [1.0, 5.0, 20.0]
    reg = probe_accuracy(Xtr, ytr, Xte, yte, [0.05, 0.2], gammas)
    assert reg["accuracy"].shape == (2, 3) and reg["converged"].all()
    # Exact minimisers (tol 1e-10): at most one near-tie test sample may flip.
    assert np.ptp(reg["accuracy"], axis=1).max() <= 1 / len(yte)
    wd = probe_accuracy(Xtr, ytr, Xte, yte, [0.0], gammas, l2=1e-2)
    assert np.ptp(wd["accuracy"]) > 0.03
    assert wd["accuracy"][0, 0] > wd["accuracy"][0, -1]  # larger gamma: more overfitting
    with pytest.raises(ValueError, match=r"alphas contains 0 with l2=0"):
        probe_accuracy(Xtr, ytr, Xte, yte, [0.0, 0.1], gammas)


def test_bridge_never_loads_cvxpy():
    """The GPU machine has no cvxpy: the module, and a probe, must not import it."""
    import subprocess

    code = ("import sys, numpy as np; from deep import bridge; "
            "X = np.random.default_rng(0).normal(size=(60, 5)); y = np.arange(60) % 3; "
            "bridge.probe_accuracy(X, y, X, y, [0.1], [1.0]); "
            "bridge.fisher_alignment(np.eye(3, 5), X, y, rng=np.random.default_rng(0)); "
            "print('cvxpy' in sys.modules)")
    root = Path(__file__).resolve().parents[2]  # the repository, so that deep/ imports
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=root, env={"OMP_NUM_THREADS": "1", "PATH": ""})
    assert out.stdout.strip() == "False"


def test_accepts_torch_tensors_and_names_bad_input():
    rng = np.random.default_rng(8)
    X, y = _gaussian(rng, 60, K=3, d=5)
    a = effective_noise(torch.from_numpy(X).float(), torch.from_numpy(y))
    b = effective_noise(X.astype(np.float32).astype(np.float64), y)
    assert a == b
    with pytest.raises(ValueError, match=r"X of shape \(60,\): expected \(N, d\)"):
        effective_noise(X[:, 0], y)
    with pytest.raises(ValueError, match=r"y of shape \(59,\): expected \(60,\)"):
        effective_noise(X, y[:-1])
    with pytest.raises(ValueError, match=r"shrinkage='lw': expected 'auto'"):
        within_class_covariance(X, y, "lw")
    with pytest.raises(ValueError, match=r"rng=0: expected a numpy.random.Generator"):
        fisher_alignment(np.eye(3, 5), X, y, rng=0)
