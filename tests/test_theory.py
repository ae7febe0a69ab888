"""The paper's statements, checked numerically (Beck, Bar-Sinai & Levi 2026)."""

import numpy as np
import pytest

import logitreg as lr
from logitreg.losses import make_loss
from logitreg.solvers import fit

# Reference table derived for this project (not in the paper): (alpha, z*, l(z*), CE(z*)),
# to 4 decimals, for f = z**2.
ZSTAR_TABLE = [
    (0.001, 4.6643, 0.0311, 0.0094),
    (0.01, 2.8103, 0.1368, 0.0584),
    (0.04, 1.7606, 0.2763, 0.1587),
    (0.1, 1.1129, 0.3796, 0.2841),
    (0.2, 0.6748, 0.4204, 0.4116),
    (0.4, 0.3162, 0.3685, 0.5475),
]


@pytest.mark.parametrize(("alpha", "z", "floor", "ce"), ZSTAR_TABLE)
def test_z_star_matches_reference_table_and_is_stationary(alpha, z, floor, ce):
    zs = lr.z_star(alpha)
    assert zs == pytest.approx(z, abs=5e-5)  # the table is rounded to 4 decimals
    assert lr.loss_floor(alpha) == pytest.approx(floor, abs=5e-5)
    assert make_loss(alpha).ce(zs) == pytest.approx(ce, abs=5e-5)
    # l'(z*) = 0 to the root solver's precision (O(eps) times l'' ~ 1).
    assert abs(make_loss(alpha).d1(zs)) < 1e-14


def test_z_star_is_vectorised_over_alpha():
    """An array of alphas gives the reference table's values elementwise (and inf at 0)."""
    table = np.array(ZSTAR_TABLE)
    a = np.concatenate([[0.0], table[:, 0]])
    zs = lr.z_star(a)
    assert zs.shape == a.shape and zs[0] == np.inf
    np.testing.assert_allclose(zs[1:], table[:, 1], rtol=0, atol=5e-5)  # 4-decimal table
    np.testing.assert_allclose(lr.loss_floor(a)[1:], table[:, 2], rtol=0, atol=5e-5)
    assert lr.loss_floor(a)[0] == 0.0  # inf CE at alpha = 0: the floor is its infimum


@pytest.mark.parametrize("eps", [0.05, 0.1, 0.3])
def test_label_smoothing_z_star_has_closed_form_log_one_minus_eps_over_eps(eps):
    # alpha = 2 eps: z* = log((2 - alpha)/alpha) = log((1 - eps)/eps); 2.197 at eps = 0.1.
    assert lr.z_star(2 * eps, "ls") == pytest.approx(np.log((1 - eps) / eps), rel=1e-14)
    assert abs(make_loss(2 * eps, "ls").d1(lr.z_star(2 * eps, "ls"))) < 1e-14


@pytest.mark.parametrize(("alpha", "high", "low"), [(0.04, 2.976, -0.331), (0.2, 1.340, -0.149)])
def test_multiclass_quadratic_vertex_matches_reference(alpha, high, low):
    v = lr.z_star(alpha, n_classes=10)
    assert v.q_high == pytest.approx(high, abs=5e-4)
    assert v.q_low == pytest.approx(low, abs=5e-4)
    assert v.q_high + 9 * v.q_low == pytest.approx(0, abs=1e-12)  # vertex logits sum to 0
    loss = make_loss(alpha, "quadratic", 10)
    g = loss.grad(v.vector(3, 10)[None], np.array([3]))
    assert np.max(np.abs(g)) < 1e-12


def test_multiclass_label_smoothing_vertex_gap_is_log_one_plus_K():
    v = lr.z_star(0.1, "ls", n_classes=10)
    assert v.q_high - v.q_low == pytest.approx(np.log(1 + 10 * 0.9 / 0.1), rel=1e-12)  # 4.511


def test_logit_clustering_every_train_and_test_logit_equals_z_star(rng):
    """sigma_f = 0, lambda < 1: w = (z*/mu_f) e1, so every logit, train or test, is z*."""
    mu_f, alpha = 0.7, 0.1
    X, y = lr.signal_plus_noise(400, 280, mu_f=mu_f, sigma_f=0.0, rng=rng)
    res = fit(X, y, alpha)
    zs = lr.z_star(alpha)
    expected = np.zeros(280)
    expected[0] = zs / mu_f
    np.testing.assert_allclose(res.w, expected, atol=1e-10)
    Xt, yt = lr.signal_plus_noise(1000, 280, mu_f=mu_f, sigma_f=0.0, rng=rng)
    np.testing.assert_allclose(y * (X @ res.w), zs, atol=1e-9)
    np.testing.assert_allclose(yt * (Xt @ res.w), zs, atol=1e-9)


def _cos(a, b):
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_fisher_alignment_exact_for_quadratic_loss(rng):
    """Cor. 3.3(ii): the minimiser of mean (S^T x - a)^2 is parallel to Sigma^-1 mu."""
    X, y = lr.signal_plus_noise(600, 200, rng=rng)
    A = y[:, None] * X
    toy = lr.quadratic_toy(A, 1.7)
    assert _cos(toy.direction, lr.fisher_direction(X, y)) >= 1 - 1e-10


@pytest.mark.parametrize("alpha", [0.2, 0.4, 0.8])
def test_fisher_alignment_for_ce_plus_quadratic_penalty_on_gaussian_data(alpha, rng):
    """Cor. 3.3 beyond the quadratic case: [SIMULATED] cos = 1.0000 for alpha >= 0.2."""
    X, y = lr.signal_plus_noise(2000, 1400, rng=rng)
    res = fit(X, y, alpha)
    assert _cos(res.w, lr.fisher_direction(X, y)) >= 0.9999


def test_population_direction_is_independent_of_the_penalty(rng):
    """Cor. 3.3(i): for Gaussian data the minimiser is parallel to Sigma^-1 mu for any f."""
    import sympy as sp

    d, N = 4, 400_000
    L = np.array([[1.0, 0, 0, 0], [0.6, 0.8, 0, 0], [0.2, -0.3, 0.7, 0], [0.1, 0.4, 0.2, 1.2]])
    mu = np.array([0.8, 0.3, -0.2, 0.1])
    A = mu + rng.standard_normal((N, d)) @ L.T  # label-absorbed Gaussian samples
    X = A.copy()
    y = np.ones(N)
    y[: N // 2] = -1
    X[: N // 2] *= -1  # so that y_i x_i = A_i
    target = np.linalg.solve(L @ L.T, mu)
    z = sp.Symbol("z")
    dirs = [fit(X, y, 0.3, reg=reg).w for reg in ("quadratic", "ls", z**4 / 12 + z**2)]
    for w in dirs:
        # Sampling error of the direction ~ 1/sqrt(N) ~ 2e-3 in angle: 1 - cos ~ 2e-6.
        assert _cos(w, target) >= 1 - 1e-4
    norms = [np.linalg.norm(w) for w in dirs]
    assert max(norms) / min(norms) > 1.1  # the norm (location) does depend on f


# Our own N = 3 label-absorbed points (the paper does not publish its three): one of them has
# a negative logit at the quadratic optimum, so the hinge of Fig. 12 is active.
TOY_POINTS = np.array([[1.0, 0.5], [-0.4, 1.6], [-0.5, -0.4]])


def test_quadratic_toy_target_rescales_without_rotating():
    """Figs. 11-12: changing a rescales S (same direction, same r), mu* = a/(1 + r^2)."""
    two, six = lr.quadratic_toy(TOY_POINTS, 2.0), lr.quadratic_toy(TOY_POINTS, 6.0)
    np.testing.assert_allclose(two.direction, six.direction, atol=1e-14)
    assert two.r == pytest.approx(six.r, rel=1e-13)
    for toy, a in ((two, 2.0), (six, 6.0)):
        assert toy.mu == pytest.approx(a / (1 + toy.r**2), rel=1e-13)
        S = toy.g * toy.direction
        t = TOY_POINTS @ S
        assert t.mean() == pytest.approx(toy.mu, rel=1e-12)
        assert np.mean((t - a) ** 2) == pytest.approx(toy.loss, rel=1e-12)
    # The direction is the one that minimises r over directions with positive logit mean.
    angles = np.linspace(0, 2 * np.pi, 40001)
    U = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    T = U @ TOY_POINTS.T  # (n_angles, 3) logits
    r = np.where(T.mean(axis=1) > 0, T.std(axis=1) / T.mean(axis=1), np.inf)
    assert np.min(r) == pytest.approx(two.r, rel=1e-6)


def test_quadratic_toy_reproduces_the_paper_toy_table():
    """Fig. 11's printed table: r = 1.2375, mu = 0.7901 and sigma = 0.9777 at a = 2, mu = 2.3703
    at a = 6. mu* = a/(1 + r^2) depends on the points only through r, so any points with
    r = 1.2375 along their optimal direction must reproduce it: two 1-D points 1 -+ r (mean
    1, ddof-0 std r), embedded in 2-D along e1."""
    r = 1.2375
    A = np.array([[1 - r, 0.0], [1 + r, 0.0]])
    for a, mu, sigma in ((2.0, 0.7901, 0.9777), (6.0, 2.3703, 3 * 0.9777)):
        toy = lr.quadratic_toy(A, a)
        assert toy.r == pytest.approx(r, rel=1e-12)
        assert toy.mu == pytest.approx(mu, abs=1e-4)  # the table has 4 decimals
        assert toy.sigma == pytest.approx(sigma, abs=3e-4)  # 3 x a 4-decimal value
        # Brute force: the minimiser of mean (A S - a)^2 over a grid of S along e1.
        g = np.linspace(0, 2 * toy.g, 200001)
        losses = np.mean((np.outer(g, A[:, 0]) - a) ** 2, axis=1)
        assert toy.g == pytest.approx(g[np.argmin(losses)], abs=2 * (g[1] - g[0]))
        assert toy.loss == pytest.approx(losses.min(), rel=1e-9)
        np.testing.assert_allclose(np.abs(toy.direction), [1.0, 0.0], atol=1e-14)


def test_hinge_term_rotates_the_toy_direction():
    """Fig. 12: adding b max(0, -z) (b = 6) to (z - a)^2 changes the direction."""
    from scipy.optimize import minimize

    def loss(S, b):
        t = TOY_POINTS @ S
        return np.mean((t - 2.0) ** 2 + b * np.maximum(0, -t))

    S0 = lr.quadratic_toy(TOY_POINTS, 2.0)
    S6 = minimize(lambda S: loss(S, 6.0), S0.g * S0.direction, method="Nelder-Mead",
                  options={"xatol": 1e-12, "fatol": 1e-14, "maxiter": 20000}).x
    S0n = minimize(lambda S: loss(S, 0.0), S0.g * S0.direction, method="Nelder-Mead",
                   options={"xatol": 1e-12, "fatol": 1e-14}).x
    np.testing.assert_allclose(S0n, S0.g * S0.direction, atol=1e-6)
    angle = np.degrees(np.arccos(min(1.0, _cos(S6, S0n))))
    assert angle > 1.0


@pytest.mark.parametrize("lam", [0.5, 0.7, 0.9])
def test_threshold_shift_regularized_generalizes_perfectly_below_one(lam, rng):
    """Prop. 5.1: sigma_f = 0 and alpha > 0 give test accuracy 1 for lambda < 1."""
    N = 400
    X, y = lr.signal_plus_noise(N, int(lam * N), sigma_f=0.0, rng=rng)
    res = fit(X, y, 0.4)
    assert lr.population_accuracy(res.w, mu_f=1.0, sigma_f=0.0, sigma_n=1.0) == 1.0


def test_threshold_shift_regularized_fails_above_one(rng):
    N = 400
    X, y = lr.signal_plus_noise(N, int(1.3 * N), sigma_f=0.0, rng=rng)
    res = fit(X, y, 0.4)
    assert lr.population_accuracy(res.w, mu_f=1.0, sigma_f=0.0, sigma_n=1.0) < 0.99


def test_threshold_shift_max_margin_fails_at_lambda_07_with_sigma_n_2(rng):
    """alpha = 0 has lambda_c = 1/2: max-margin is imperfect at lambda = 0.7 (sigma_n = 2)."""
    N = 400
    X, y = lr.signal_plus_noise(N, int(0.7 * N), sigma_f=0.0, sigma_n=2.0, rng=rng)
    res = fit(X, y, 0.0)
    assert res.separable
    assert lr.population_accuracy(res.w, mu_f=1.0, sigma_f=0.0, sigma_n=2.0) < 0.99
    assert lr.critical_ratio(0.0) == 0.5 and lr.critical_ratio(0.1) == 1.0


def test_sigma_n_invariance_under_exact_rescaling(rng):
    """Prop. 6.1: rescaling the orthogonal coordinates leaves the accuracy unchanged."""
    N, d = 1000, 700
    X, y = lr.signal_plus_noise(N, d, sigma_f=0.5, sigma_n=1.0, rng=rng)
    accs, perp = [], []
    for beta in (0.5, 1.0, 2.0, 4.0):
        Xb = X.copy()
        Xb[:, 1:] *= beta
        w = fit(Xb, y, 0.4).w
        accs.append(lr.population_accuracy(w, mu_f=1.0, sigma_f=0.5, sigma_n=beta))
        perp.append(np.linalg.norm(w[1:]) * beta)  # S_perp -> S_perp / beta
    np.testing.assert_allclose(accs, accs[1], rtol=0, atol=1e-9)
    np.testing.assert_allclose(perp, perp[1], rtol=1e-8)


def test_cosine_law_inverse_cos_squared_is_linear_in_inverse_sigma_n_squared(rng):
    """Eq. 4 / Fig. 19: 1/cos^2 = 1 + C^2/sigma_n^2 (alpha = 0.2, sigma_f = 0.5, lambda = 0.7)."""
    N, d = 1000, 700
    sig = np.array([0.5, 0.7, 1.0, 1.4, 2.0, 3.0])
    # Common random numbers: one standard-noise draw, scaled to each sigma_n. With fresh
    # draws per sigma_n, sampling noise alone gives R^2 ~ 0.99 at N = 1000.
    X1, y = lr.signal_plus_noise(N, d, sigma_f=0.5, sigma_n=1.0, rng=rng)
    inv_cos2 = []
    for s in sig:
        X = X1.copy()
        X[:, 1:] *= s
        w = fit(X, y, 0.2).w
        inv_cos2.append((np.linalg.norm(w) / w[0]) ** 2)
    x, yv = 1 / sig**2, np.array(inv_cos2)
    slope, icpt = np.polyfit(x, yv, 1)
    r2 = 1 - np.sum((yv - (slope * x + icpt)) ** 2) / np.sum((yv - yv.mean()) ** 2)
    # With common random numbers the law is exact, not just a fit: rescaling the noise by s
    # maps S_perp to S_perp/s (Prop. 6.1), so 1/cos^2 = 1 + |S_perp|^2/(S_1^2 s^2) exactly;
    # only the solver's tolerance (gradient ~1e-10) enters. Measured: R^2 = 1 - O(1e-15),
    # intercept 1 + 4e-16.
    assert r2 >= 1 - 1e-9
    assert icpt == pytest.approx(1.0, abs=1e-6)
    # C^2 against the [DERIVED] asymptote 0.729: measured 0.694 (-4.8 %, finite N = 1000 and
    # one data draw), inside 10 %.
    assert slope == pytest.approx(lr.asymptotic_C2(0.7, mu_f=1.0, sigma_f=0.5), rel=0.1)


@pytest.mark.parametrize("sigma_f", [0.5, 1.0])
@pytest.mark.parametrize("lam", [0.1, 0.5, 0.7])
def test_asymptotic_accuracy_formula_within_1_percent_of_simulation(lam, sigma_f, rng):
    """[DERIVED] (docs/theory.md): acc = Phi(m^2 sqrt(1-lam)/sqrt(m^2+lam)), mean of 3 seeds."""
    N = 2000
    accs = []
    for _ in range(3):
        X, y = lr.signal_plus_noise(N, int(lam * N), sigma_f=sigma_f, rng=rng)
        w = fit(X, y, 0.4).w
        accs.append(lr.population_accuracy(w, mu_f=1.0, sigma_f=sigma_f, sigma_n=1.0))
    theory = lr.asymptotic_accuracy(lam, mu_f=1.0, sigma_f=sigma_f)
    # Measured |mean - theory| / theory <= 0.41 % over the six cases (largest at lam = 0.7,
    # where the seed-to-seed std is 1.3 %, so the mean of 3 has an SE of 0.8 %); 1 % is
    # about that SE, and a formula without its sqrt(1 - lam) is off by 0.6-15 %.
    assert np.mean(accs) == pytest.approx(theory, rel=0.01)


def test_accuracy_from_cosine_agrees_with_population_accuracy(rng):
    w = rng.normal(size=50)
    rho = w[0] / np.linalg.norm(w)
    for sf, sn in ((0.5, 1.0), (0.0, 2.0), (1.0, 0.3)):
        assert lr.accuracy_from_cosine(rho, mu_f=1.0, sigma_f=sf, sigma_n=sn) == pytest.approx(
            lr.population_accuracy(w, mu_f=1.0, sigma_f=sf, sigma_n=sn), rel=1e-13)


def test_population_accuracy_matches_monte_carlo(rng):
    w = np.array([1.0, 0.4, -0.3, 0.2])
    X, y = lr.signal_plus_noise(400_000, 4, sigma_f=0.5, sigma_n=1.0, rng=rng)
    mc = np.mean(np.sign(X @ w + 0.3) == y)
    exact = lr.population_accuracy(w, mu_f=1.0, sigma_f=0.5, sigma_n=1.0, b=0.3)
    assert mc == pytest.approx(exact, abs=4 * np.sqrt(0.25 / 400_000))  # 4 sigma binomial


def test_multiclass_zero_feature_noise_generalizes_perfectly_at_vertex_targets(rng):
    """Prop. D.2: sigma_f = 0, lambda < 1: every logit sits at its class vertex, test acc 1."""
    K, N, d, alpha = 5, 600, 300, 0.2
    X, y = lr.signal_plus_noise(N, d, sigma_f=0.0, n_classes=K, rng=rng)
    res = fit(X, y, alpha, fit_intercept=True)
    v = lr.z_star(alpha, n_classes=K)
    Z = res.decision_function(X)
    target = np.where(np.eye(K, dtype=bool)[y], v.q_high, v.q_low)
    np.testing.assert_allclose(Z, target, atol=1e-8)
    Xt, yt = lr.signal_plus_noise(2000, d, sigma_f=0.0, n_classes=K, rng=rng)
    assert np.mean(res.predict(Xt) == yt) == 1.0
    np.testing.assert_allclose(res.W[:, K - 1:], 0, atol=1e-9)  # W_perp = 0


def test_multiclass_fisher_directions_span_the_signal_subspace(rng):
    K = 4
    X, y = lr.signal_plus_noise(4000, 30, sigma_f=0.3, n_classes=K, rng=rng)
    U = lr.fisher_direction(X, y)
    assert U.shape == (K - 1, 30)
    np.testing.assert_allclose(np.linalg.norm(U, axis=1), 1.0, rtol=1e-12)
    # Energy of the K-1 directions inside the signal subspace (first K-1 coordinates).
    assert np.sum(U[:, : K - 1] ** 2) / np.sum(U**2) > 0.95


def test_multiclass_fisher_directions_equal_sklearn_lda_on_unbalanced_classes(rng):
    """Against scikit-learn's LDA (eigen solver: S_B = S_T - S_W, S_W = sum_c pi_c Sigma_c,
    priors = class frequencies): the same K - 1 directions, up to sign. Unbalanced classes
    and unequal means make the weights pi_c matter (with equal class sizes a missing pi_c
    rescales S_B or S_W uniformly and leaves the directions unchanged)."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    K, d = 4, 6
    sizes = [300, 700, 150, 900]
    means = rng.normal(size=(K, d)) * np.array([1.5, 1.0, 0.8, 0.3, 0.2, 0.1])
    L = rng.normal(size=(d, d)) / np.sqrt(d) + np.eye(d)
    X = np.concatenate([m + rng.normal(size=(n, d)) @ L.T for m, n in zip(means, sizes,
                                                                          strict=True)])
    y = np.repeat(np.arange(K), sizes)
    U = lr.fisher_direction(X, y)
    lda = LinearDiscriminantAnalysis(solver="eigen").fit(X, y)
    ref = lda.scalings_[:, : K - 1].T
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    # Both are generalised eigenvectors of the same float64 pencil with well-separated
    # eigenvalues: measured equal to 7e-14 after fixing the sign; 1e-8 allows for another
    # LAPACK. Leaving pi_c out of S_B moves them by 0.21, normalising each class's scatter by
    # its own size instead of N by 0.011.
    signs = np.sign(np.sum(U * ref, axis=1, keepdims=True))
    np.testing.assert_allclose(U, signs * ref, atol=1e-8)


@pytest.mark.parametrize("d", [150, 300])
def test_fisher_direction_for_d_at_least_n_is_the_pseudo_inverse_solution(d, rng):
    """Sigma is singular for d >= N: the kernel route must equal pinv(Sigma) mu."""
    N = 150
    X, y = lr.signal_plus_noise(N, d, rng=rng)
    A = y[:, None] * X
    mu = A.mean(axis=0)
    ref = np.linalg.pinv((A - mu).T @ (A - mu) / N, rcond=1e-10, hermitian=True) @ mu
    w = lr.fisher_direction(X, y)
    assert _cos(w, ref) >= 1 - 1e-8
    assert np.linalg.norm(w) == pytest.approx(np.linalg.norm(ref), rel=1e-6)
