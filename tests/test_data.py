"""The signal-plus-noise generator (Eqs. 3 and 8)."""

import numpy as np
import pytest

import logitreg as lr


def test_binary_model_is_balanced_with_signal_on_e1(rng):
    X, y = lr.signal_plus_noise(20_000, 6, mu_f=0.7, sigma_f=0.3, sigma_n=2.0, rng=rng)
    assert X.shape == (20_000, 6) and set(np.unique(y)) == {-1, 1}
    assert abs(np.sum(y)) == 0
    A = y[:, None] * X
    se = 4 / np.sqrt(20_000)  # 4 standard errors of a unit-variance mean
    assert A[:, 0].mean() == pytest.approx(0.7, abs=0.3 * se)
    assert A[:, 0].std() == pytest.approx(0.3, rel=0.05)
    np.testing.assert_allclose(X[:, 1:].std(axis=0), 2.0, rtol=0.05)
    np.testing.assert_allclose(A[:, 1:].mean(axis=0), 0.0, atol=2.0 * se)


def test_same_seed_same_data_and_different_seed_different_data():
    a = lr.signal_plus_noise(50, 4, rng=7)
    b = lr.signal_plus_noise(50, 4, rng=np.random.default_rng(7))
    c = lr.signal_plus_noise(50, 4, rng=8)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])


def test_multiclass_means_form_a_regular_simplex_of_norm_mu_f():
    K, mu_f = 6, 1.5
    M = lr.simplex_means(K, 10, mu_f)
    np.testing.assert_allclose(np.linalg.norm(M, axis=1), mu_f, rtol=1e-13)
    np.testing.assert_allclose(M.sum(axis=0), 0, atol=1e-13)
    D = np.linalg.norm(M[:, None] - M[None], axis=2)[~np.eye(K, dtype=bool)]
    np.testing.assert_allclose(D, mu_f * np.sqrt(2 * K / (K - 1)), rtol=1e-13)
    assert np.all(M[:, K - 1:] == 0)
    # K = 2 reduces to the binary model: means +-mu_f e1.
    np.testing.assert_allclose(np.abs(lr.simplex_means(2, 3, 1.0)[:, 0]), 1.0)


def test_multiclass_noise_split_between_signal_and_orthogonal_subspaces(rng):
    K = 4
    X, y = lr.signal_plus_noise(40_000, 8, n_classes=K, sigma_f=0.2, sigma_n=1.5, rng=rng)
    R = X - lr.simplex_means(K, 8, 1.0)[y]
    np.testing.assert_allclose(R[:, : K - 1].std(axis=0), 0.2, rtol=0.03)
    np.testing.assert_allclose(R[:, K - 1:].std(axis=0), 1.5, rtol=0.03)
    assert np.bincount(y).tolist() == [10_000] * K


def test_student_t_noise_has_the_t_variance(rng):
    X, y = lr.signal_plus_noise(200_000, 3, noise="student_t", df=20, sigma_f=1.0, rng=rng)
    # Unscaled t(20) per coordinate: variance 20/18 = 1.111 (spec, Fig. 2 note).
    np.testing.assert_allclose(X[:, 1:].var(axis=0), 20 / 18, rtol=0.02)
