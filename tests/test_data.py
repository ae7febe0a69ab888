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
    # The std of N = 20 000 Gaussian draws has a relative SE of 1/sqrt(2N) = 0.5 %: 2 % is
    # four SEs (measured: at most 0.96 %), and a 4 % error in sigma_n is caught.
    assert A[:, 0].std() == pytest.approx(0.3, rel=0.02)
    np.testing.assert_allclose(X[:, 1:].std(axis=0), 2.0, rtol=0.02)
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
    # K = 2 reduces to the binary model: means +-mu_f e1 (opposite, nothing off e1).
    M2 = lr.simplex_means(2, 3, 1.0)
    np.testing.assert_allclose(np.sort(M2[:, 0]), [-1.0, 1.0], rtol=1e-14)
    assert np.all(M2[:, 1:] == 0)


def test_multiclass_noise_split_between_signal_and_orthogonal_subspaces(rng):
    K = 4
    X, y = lr.signal_plus_noise(40_000, 8, n_classes=K, sigma_f=0.2, sigma_n=1.5, rng=rng)
    R = X - lr.simplex_means(K, 8, 1.0)[y]
    # Relative SE of a std of 40 000 Gaussian draws: 1/sqrt(80 000) = 0.35 %; 1.5 % is about
    # four SEs (measured: at most 0.64 %).
    np.testing.assert_allclose(R[:, : K - 1].std(axis=0), 0.2, rtol=0.015)
    np.testing.assert_allclose(R[:, K - 1:].std(axis=0), 1.5, rtol=0.015)
    assert np.bincount(y).tolist() == [10_000] * K
    # Each class is centred on its own vertex: the class-conditional residual mean is zero to
    # four standard errors (sigma / sqrt(10 000) per coordinate).
    sd = np.where(np.arange(8) < K - 1, 0.2, 1.5)
    for c in range(K):
        assert np.all(np.abs(R[y == c].mean(axis=0)) < 4 * sd / np.sqrt(10_000))


def test_student_t_noise_has_the_t_variance(rng):
    X, y = lr.signal_plus_noise(200_000, 3, noise="student_t", df=20, sigma_f=1.0, rng=rng)
    # Unscaled t(20) per coordinate (Fig. 2 uses t(nu) noise): variance 20/18 = 1.111. The sample
    # variance has a relative SE of sqrt((2 + 6/16)/N) = 0.34 % (t(20) excess kurtosis 6/16):
    # 2 % is six SEs, and Gaussian noise (variance 1, -10 %) fails.
    np.testing.assert_allclose(X[:, 1:].var(axis=0), 20 / 18, rtol=0.02)


def test_student_t_noise_follows_scipy_t_distribution(rng):
    """The whole distribution, against scipy.stats.t, both in the signal coordinate (scaled by
    sigma_f about y mu_f) and in the noise coordinates (scaled by sigma_n)."""
    from scipy import stats

    df, sf, sn = 4, 0.5, 2.0
    X, y = lr.signal_plus_noise(100_000, 3, noise="student_t", df=df, sigma_f=sf, sigma_n=sn,
                                rng=rng)
    signal = (y * X[:, 0] - 1.0) / sf
    noise = X[:, 1:].ravel() / sn
    for sample in (signal, noise):
        # Measured p = 0.23 and 0.16; 1e-3 leaves room for any seed. A t(6) (the df off by
        # two) or a scale off by 5 % gives p < 1e-10 on this many samples.
        assert stats.kstest(sample, stats.t(df).cdf).pvalue > 1e-3
        assert stats.kstest(sample, stats.t(df + 2).cdf).pvalue < 1e-10
