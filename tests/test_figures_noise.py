"""Figs. 1/4, 2, 7, 10, 11-12, 14, 19-20, grokking time and Sec. 3.4: the library functions
behind them (logitreg.toys, logitreg.snapshots, logitreg.laws), each against an independent
reference, then every figure script's --quick run, its plot and its reproduction rows, and
the key claim of each figure on that quick result."""

import importlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize, stats

import logitreg as lr
from logitreg import paper
from logitreg.laws import (
    alpha_for_z_star,
    cosine_law_by_seed,
    cosine_law_point,
    fit_cosine_law,
    fit_power_law,
    grokking_exponent,
    heavy_tail_point,
    local_exponents,
    logit_moments,
    matched_regularizers,
    mean_ci,
)
from logitreg.snapshots import (
    cluster_ratio,
    gd_snapshots,
    multiclass_logits,
    signed_logits,
    template_plane,
)
from logitreg.toys import (
    TABLE_POINTS,
    alpha_plateau,
    angle_deg,
    hinge_toy,
    plateau_onset,
    shrinkage_mean,
    toy_invariances,
)

ROOT = Path(__file__).resolve().parents[1]


# ============================================================================ logitreg.toys


def _cvxpy_toy(A, a, b):
    import cvxpy as cp

    S = cp.Variable(A.shape[1])
    z = A @ S
    cp.Problem(cp.Minimize(cp.sum_squares(z - a) / len(A)
                           + b * cp.sum(cp.pos(-z)) / len(A))).solve(solver=cp.CLARABEL)
    return S.value


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("a", "b"), [(2.0, 0.0), (2.0, 6.0), (1.0, 0.5), (6.0, 30.0)])
def test_hinge_toy_is_the_convex_minimiser(seed, a, b):
    """Face enumeration against cvxpy (Clarabel) on random toys, N = 3..5, d = 2..3."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((3 + seed % 3, 2 + seed % 2))
    toy = hinge_toy(A, a, b)
    ref = _cvxpy_toy(A, a, b)
    loss = lambda S: np.mean((A @ S - a) ** 2 + b * np.maximum(0, -(A @ S)))  # noqa: E731
    assert toy.loss <= loss(ref) + 1e-9  # never worse than the interior-point solution
    np.testing.assert_allclose(toy.S, ref, atol=1e-5)  # Clarabel's default accuracy
    z = A @ toy.S
    assert toy.mu == pytest.approx(z.mean()) and toy.sigma == pytest.approx(z.std())
    np.testing.assert_array_equal(toy.negative, z < 0)


def test_hinge_toy_with_b0_is_the_quadratic_toy_of_app_c4():
    for a in (2.0, 6.0):
        toy, quad = hinge_toy(TABLE_POINTS, a), lr.quadratic_toy(TABLE_POINTS, a)
        np.testing.assert_allclose(toy.direction, quad.direction, atol=1e-13)
        assert toy.r == pytest.approx(quad.r, rel=1e-12)
        assert toy.mu == pytest.approx(quad.mu, rel=1e-12)
        assert toy.loss == pytest.approx(quad.loss, rel=1e-12)


def test_hinge_toy_rejects_bad_input():
    with pytest.raises(ValueError, match="full column rank"):
        hinge_toy([[1.0, 2.0], [2.0, 4.0]], 1.0)
    with pytest.raises(ValueError, match="N <= 10"):
        hinge_toy(np.ones((11, 2)), 1.0)
    with pytest.raises(ValueError, match="b"):
        hinge_toy(TABLE_POINTS, 1.0, -1.0)


@pytest.mark.parametrize(("table", "key", "a", "b"), [
    (paper.FIG11_TABLE, "a=2,b=0", 2.0, 0.0), (paper.FIG11_TABLE, "a=6,b=0", 6.0, 0.0),
    (paper.FIG12_TABLE, "a=2,b=6", 2.0, 6.0)])
def test_table_points_reproduce_every_printed_entry(table, key, a, b):
    """Figs. 11-12: our three points give the paper's tables to their 4 printed decimals."""
    (sx, sy), mu, sigma, r = table[key]
    toy = hinge_toy(TABLE_POINTS, a, b)
    got = np.round([*toy.direction, toy.mu, toy.sigma, toy.r], 4)
    np.testing.assert_allclose(got, [sx, sy, mu, sigma, r], atol=1e-12)


def test_table_points_fisher_row_and_the_rotation():
    out = toy_invariances(TABLE_POINTS)
    (sx, sy), mu, sigma, r = paper.FIG11_TABLE["fisher"]
    np.testing.assert_allclose(np.round(out["fisher_S_hat"], 4), [sx, sy], atol=1e-12)
    assert round(out["fisher_mu"], 4) == mu and round(out["fisher_sigma"], 4) == sigma
    # Fig. 12: "the two directions differ by about 11.5 degrees"; the printed ones by 11.448.
    assert out["angle_hinge"] == pytest.approx(angle_deg((0.2975, 0.9547), (0.4811, 0.8767)),
                                               abs=0.01)
    assert out["angle_hinge"] == pytest.approx(11.5, abs=0.1)


def test_paper_tables_obey_the_shrinkage_law():
    """App. C.4, Eq. 18: mu = a/(1 + r^2) for the b = 0 rows; 1/r^2 for Sigma^-1 mu."""
    for key, a in (("a=2,b=0", 2.0), ("a=6,b=0", 6.0)):
        _, mu, sigma, r = paper.FIG11_TABLE[key]
        assert shrinkage_mean(a, r) == pytest.approx(mu, abs=1e-4)
        assert sigma / mu == pytest.approx(r, abs=2e-4)  # 4-decimal rounding of both
    _, mu, _, r = paper.FIG11_TABLE["fisher"]
    assert 1 / r**2 == pytest.approx(mu, abs=1e-4)


def test_angle_deg_is_accurate_for_nearly_parallel_vectors():
    eps = 1e-9
    assert angle_deg([1.0, 0.0], [1.0, eps]) == pytest.approx(np.degrees(eps), rel=1e-6)
    assert angle_deg([1.0, 1.0], [-1.0, -1.0]) == pytest.approx(180.0)
    assert angle_deg([3.0, 0.0], [0.0, 0.5]) == pytest.approx(90.0)


def test_alpha_plateau_against_scipy_minimisation():
    """Fig. 10: tan(theta) from logitreg.fit and from Nelder-Mead on the 2-D loss agree."""
    alphas = [1e-3, 0.1, 0.5]
    out = alpha_plateau(n=40, alphas=alphas, seed=3)
    X, y = lr.signal_plus_noise(40, 2, mu_f=1.0, sigma_f=0.5, sigma_n=1.0,
                                rng=np.random.default_rng(3))
    A = y[:, None] * X
    quad = np.linalg.solve(A.T @ A, A.sum(axis=0))  # argmin mean (A S - 1)^2
    for j, alpha in enumerate(alphas):
        loss = lambda S, al=alpha: np.mean((1 - al) * np.logaddexp(0, -(A @ S))  # noqa: E731
                                           + al * (A @ S) ** 2)
        S = optimize.minimize(loss, quad, method="Nelder-Mead",
                              options={"xatol": 1e-12, "fatol": 1e-15, "maxiter": 5000}).x
        theta = np.radians(angle_deg(S, quad))
        assert out[f"tan_theta_{j}"] == pytest.approx(np.tan(theta), abs=1e-6)
    assert out["converged"]


def test_plateau_onset():
    al = np.array([1e-3, 1e-2, 1e-1, 1.0])
    assert plateau_onset(al, [0.1, 0.02, 0.005, 0.001]) == 0.1
    assert plateau_onset(al, [0.005, 0.02, 0.005, 0.001]) == 0.1  # must stay below
    assert plateau_onset(al, [0.001] * 4) == 1e-3
    assert np.isnan(plateau_onset(al, [0.1, 0.1, 0.1, 0.1]))


# ======================================================================== logitreg.snapshots


def _manual_gd(X, y, alpha, eta, epochs, w0):
    """Plain GD on the mean loss, written out: grad = -A^T [(1-a) s(-t) - 2 a t] / N."""
    A = y[:, None] * X
    w, out = w0.copy(), {0: w0.copy()}
    for e in range(1, max(epochs) + 1):
        t = A @ w
        d1 = -(1 - alpha) / (1 + np.exp(t)) + 2 * alpha * t
        w = w - eta * A.T @ d1 / len(A)
        if e in epochs:
            out[e] = w.copy()
    return out


def test_gd_snapshots_lie_on_one_exact_gd_trajectory():
    X, y = lr.signal_plus_noise(60, 20, rng=np.random.default_rng(0))
    snaps = gd_snapshots(X, y, 0.2, [0, 7, 40], seed=5, method="gd", eta=0.3)
    w0 = np.random.default_rng(5).standard_normal(20) / np.sqrt(20)  # gd's N(0, I/d) start
    ref = _manual_gd(X, y, 0.2, 0.3, [7, 40], w0)
    np.testing.assert_array_equal(snaps.epochs, [0, 7, 40])
    for k, e in enumerate(snaps.epochs):
        np.testing.assert_allclose(snaps.W[k, 0], ref[int(e)], rtol=1e-12, atol=1e-14)
    assert snaps.trajectory.epochs[-1] == 40


def test_gd_snapshots_flow_matches_gd_and_validates():
    X, y = lr.signal_plus_noise(80, 30, rng=np.random.default_rng(1))
    gd = gd_snapshots(X, y, [0.0, 0.2], [50, 500], seed=2, method="gd")
    flow = gd_snapshots(X, y, [0.0, 0.2], [50, 500], seed=2, method="flow", rtol=1e-6)
    # flow vs GD differ by O(eta) in the path; at eta = 0.1 the weights agree to ~1%
    np.testing.assert_allclose(flow.W, gd.W, rtol=0.02, atol=2e-3)
    with pytest.raises(ValueError, match="epochs"):
        gd_snapshots(X, y, 0.2, [0], seed=0)
    with pytest.raises(ValueError, match="epochs"):
        gd_snapshots(X, y, 0.2, [1.5], seed=0)


def test_signed_and_multiclass_logits():
    X, y = lr.signal_plus_noise(50, 6, rng=np.random.default_rng(2))
    w = np.random.default_rng(3).standard_normal(6)
    t = signed_logits(w, X, y)
    assert (t.mean(), t.std()) == pytest.approx(lr.signed_logit_stats(w, X, y))
    Xm, ym = lr.signal_plus_noise(60, 8, n_classes=4, rng=np.random.default_rng(4))
    res = lr.fit(Xm, ym, 0.2, fit_intercept=True)
    W = np.concatenate([res.W, res.b[:, None]], axis=1)  # (K, d + 1)
    np.testing.assert_allclose(multiclass_logits(W, Xm), res.decision_function(Xm),
                               rtol=1e-12)
    np.testing.assert_allclose(multiclass_logits(np.stack([W, W]), Xm)[1],
                               res.decision_function(Xm), rtol=1e-12)


def test_template_plane_keeps_the_logit_differences():
    rng = np.random.default_rng(5)
    W, X = rng.standard_normal((5, 9)), rng.standard_normal((30, 9))
    Q = template_plane(W, (0, 1, 2))
    np.testing.assert_allclose(Q @ Q.T, np.eye(2), atol=1e-13)
    P = X @ Q.T  # (30, 2)
    for c in (1, 2):  # (S_0 - S_c) . x depends on the projection only
        d = W[0] - W[c]
        np.testing.assert_allclose(X @ d, P @ (Q @ d), rtol=1e-12)
    with pytest.raises(ValueError, match="parallel"):
        template_plane(np.array([[1.0, 0], [0, 0], [-1.0, 0]]), (0, 1, 2))


def test_cluster_ratio_closed_form():
    # Two classes at -+1 on a line, each +-s around its centre: spread s, distance 2.
    s = 0.25
    P = np.array([[-1 - s], [-1 + s], [1 - s], [1 + s]])
    assert cluster_ratio(P, [0, 0, 1, 1]) == pytest.approx(s / 2)
    assert cluster_ratio(10 * P, [0, 0, 1, 1]) == pytest.approx(s / 2)  # scale-free


# ============================================================================== logitreg.laws


def test_cosine_law_fit_exact_and_against_least_squares():
    sn = np.array([0.5, 1.0, 1.5, 2.0, 3.0])
    cos = 1 / np.sqrt(1 + 0.783 / sn**2)
    fit = fit_cosine_law(sn, cos)
    assert fit.C2 == pytest.approx(0.783, rel=1e-13)
    assert fit.r2 == pytest.approx(1.0, abs=1e-13) and fit.intercept == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    y = 1 + 0.7 / sn**2 + 0.05 * rng.standard_normal(sn.size)
    fit = fit_cosine_law(sn, 1 / np.sqrt(y))
    x = 1 / sn**2
    C2, res, *_ = np.linalg.lstsq(x[:, None], y - 1, rcond=None)
    assert fit.C2 == pytest.approx(C2[0], rel=1e-12)
    assert fit.r2 == pytest.approx(1 - res[0] / np.sum((y - y.mean()) ** 2), rel=1e-12)
    slope, intercept = np.polyfit(x, y, 1)
    assert (fit.slope, fit.intercept) == pytest.approx((slope, intercept), rel=1e-10)
    with pytest.raises(ValueError, match="cos"):
        fit_cosine_law(sn, -cos)


def test_power_law_fit_exact_and_coverage():
    al = np.array([1e-3, 1e-2, 1e-1])
    fit = fit_power_law(al, 7.0 * al**-0.6)
    assert fit.p == pytest.approx(0.6, rel=1e-12) and fit.ci[1] - fit.ci[0] < 1e-10
    assert fit.log_c == pytest.approx(np.log(7.0))
    # Coverage of the 95% interval under Gaussian errors in log t.
    rng = np.random.default_rng(1)
    al = np.geomspace(1e-3, 0.3, 8)
    hits = [lo <= 0.6 <= hi for lo, hi in
            (fit_power_law(al, al**-0.6 * np.exp(0.1 * rng.standard_normal(8))).ci
             for _ in range(2000))]
    assert 0.93 <= np.mean(hits) <= 0.97
    lo, hi = fit_power_law(al, al**-0.6 * np.exp(0.1 * rng.standard_normal(8))).ci
    assert lo < hi


def test_mean_ci_and_local_exponents():
    v = np.array([0.55, 0.61, 0.64, 0.58, 0.66])
    mean, std, ci = mean_ci(v)
    ref = stats.t.interval(0.95, len(v) - 1, loc=v.mean(), scale=stats.sem(v))
    assert (mean, std) == pytest.approx((v.mean(), v.std(ddof=1)))
    assert ci == pytest.approx(ref)
    al = np.array([0.3, 0.01, 0.1])
    np.testing.assert_allclose(local_exponents(al, al**-0.7), [0.7, 0.7])


def test_grokking_exponent_per_seed_and_pooled():
    al = np.array([0.001, 0.01, 0.1, 0.3])
    T = np.array([[1e4 * a**-0.6 for a in al], [2e4 * a**-0.6 for a in al],
                  [np.nan, 3e4 * 0.01**-0.6, 3e4 * 0.1**-0.6, 3e4 * 0.3**-0.6]])
    out = grokking_exponent(al, T)
    np.testing.assert_allclose(out["p_seeds"], 0.6, rtol=1e-12)
    assert out["n_not_reached"] == [1, 0, 0, 0]
    np.testing.assert_allclose(out["local_p"], 0.6, rtol=1e-12)
    with pytest.raises(ValueError, match="increasing"):
        grokking_exponent(al[::-1], T)


def test_alpha_for_z_star():
    for z in (0.3, 0.6748, 2.0, 4.0):
        assert float(lr.z_star(alpha_for_z_star(z))) == pytest.approx(z, rel=1e-10)
        assert alpha_for_z_star(z, "ls") == pytest.approx(2 / (1 + np.exp(z)), rel=1e-10)
    a = alpha_for_z_star(1.0, "sqrt(1 + z**2) - 1")
    # l'(z*) = 0: -(1 - a)/(1 + e^z) + a z/sqrt(1 + z^2) at z = 1
    assert -(1 - a) / (1 + np.e) + a / np.sqrt(2) == pytest.approx(0, abs=1e-12)
    assert alpha_for_z_star(0.6748316143423992) == pytest.approx(0.2, rel=1e-10)
    with pytest.raises(ValueError, match="z"):
        alpha_for_z_star(-1.0)


def test_common_random_numbers_make_the_cosine_law_exact():
    """Prop. 6.1: with the same draws rescaled, C = sigma_n |S_perp|/S_1 and the accuracy do
    not depend on sigma_n (so the law is exactly linear); fresh draws differ."""
    pts = [cosine_law_point(sigma_n=s, seed=0, fresh=False, n=200) for s in (0.5, 1.0, 3.0)]
    for p in pts[1:]:
        assert p["C"] == pytest.approx(pts[0]["C"], rel=1e-7)
        assert p["test_acc"] == pytest.approx(pts[0]["test_acc"], rel=1e-9)
    fresh = [cosine_law_point(sigma_n=s, seed=0, fresh=True, n=200) for s in (0.5, 1.0)]
    assert fresh[0]["C"] != pytest.approx(fresh[1]["C"], rel=1e-3)
    recs = [{"seed": 0, "sigma_n": s, "cos_e1": cosine_law_point(sigma_n=s, seed=0, fresh=False,
                                                                 n=200)["cos_e1"]}
            for s in (0.5, 1.0, 2.0)]
    law = cosine_law_by_seed(recs + [{**r, "seed": 1} for r in recs])
    assert law["C2_mean"] == pytest.approx(pts[0]["C"] ** 2, rel=1e-6)
    assert law["r2_mean"] == pytest.approx(1.0, abs=1e-9) and law["C2_std"] < 1e-12


def test_logit_moments_against_a_sampled_test_set():
    """App. E.1: the test logit moments are exact; a large sampled test set agrees."""
    out = logit_moments(sigma_f=0.5, seed=1, n=200)
    X, y = lr.signal_plus_noise(200, 140, sigma_f=0.5, rng=np.random.default_rng(1))
    w = lr.fit(X, y, 0.2).w
    Xt, yt = lr.signal_plus_noise(200_000, 140, sigma_f=0.5, rng=np.random.default_rng(9))
    t = signed_logits(w, Xt, yt)
    assert out["test_mean"] == pytest.approx(t.mean(), abs=4 * t.std() / np.sqrt(t.size))
    assert out["test_std"] == pytest.approx(t.std(), rel=0.01)
    assert out["train_std"] < out["intrinsic_std"] < out["test_std"]  # the Fig. 14 claim


def test_heavy_tail_point_uses_one_data_set_per_seed():
    a, b = (heavy_tail_point(nu=20.0, alpha=al, seed=4, d=40, n=80) for al in (0.1, 0.8))
    assert a["cos_e1_lda"] == b["cos_e1_lda"]  # same data at every alpha
    assert b["cos_lda"] > 0.999  # near-quadratic loss: the Fisher direction (Cor. 3.3)
    assert heavy_tail_point(nu=20.0, alpha=0.0, seed=4, d=40, n=80)["separable"]


def test_matched_regularizers_are_matched():
    out = matched_regularizers(z_target=1.0, seed=0, n=200)
    for j, reg in enumerate(("quadratic", "ls")):
        assert float(lr.z_star(out[f"alpha_{j}"], reg)) == pytest.approx(1.0, rel=1e-9)
    assert out["max_acc_diff"] < 0.005 and out["min_cos_to_0"] > 0.99  # Sec. 3.4


# ======================================================================= scripts and figures

SCRIPTS = ["fig01_04", "fig02", "fig07", "fig10", "fig11_12", "fig14", "fig19_20",
           "grokking_time", "reg_insensitivity"]


def _main(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "simulations" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """Every script's --quick run, once: name -> its result JSON (loaded) and path."""
    root = tmp_path_factory.mktemp("figures_noise")
    out = {}
    for name in SCRIPTS:
        assert _main(name)(["--quick", "--jobs", "1", "--out", str(root / name)]) == 0, name
        path = root / name / f"{name}.json"
        out[name] = (json.loads(path.read_text()), path)
    return out


@pytest.mark.parametrize("name", SCRIPTS)
def test_quick_run_plots_and_reports(quick, tmp_path, name):
    data, path = quick[name]
    assert data["config"]["quick"] is True and "meta" in data
    mod = importlib.import_module(f"paper_figs.{name}")
    assert mod.FIGURE["name"] == name and mod.FIGURE["script"] == f"simulations/{name}.py"
    paths = mod.plot(path, tmp_path)
    assert sorted(p.name for p in paths) == [f"{name}.pdf", f"{name}.png"]
    assert all(p.stat().st_size > 1000 for p in paths)
    rows = mod.reproduction(path)
    keys = {"figure", "quantity", "setting", "paper", "ours_mean", "ours_std", "n_seeds",
            "theory", "verdict", "note"}
    assert rows and all(set(r) == keys for r in rows)
    json.dumps(rows, allow_nan=False)  # the report must be writable as JSON/markdown


def test_rerun_reuses_the_cache(quick, capsys):
    data, path = quick["fig14"]
    before = path.read_text()
    assert _main("fig14")(["--quick", "--out", str(path.parent)]) == 0
    after = json.loads(path.read_text())
    assert after["summary"] == json.loads(before)["summary"]


def test_bad_flag_value_exits_2(tmp_path, capsys):
    assert _main("fig14")(["--quick", "--alpha", "1.5", "--out", str(tmp_path)]) == 2
    assert "alpha" in capsys.readouterr().err


def test_fig01_04_claims(quick):
    """Fig. 1: alpha = 0 logits drift, alpha = 0.2 cluster at z*; Fig. 4: all at z*, acc 1."""
    data, _ = quick["fig01_04"]
    s = {r["sigma_f"]: r for r in data["summary"]}
    zs = float(lr.z_star(0.2))
    for sf in (0.5, 0.0):
        assert s[sf]["train_mean_0_2_mean"] > 3 * s[sf]["train_mean_0_0_mean"]  # drift
        assert s[sf]["train_mean_1_2_mean"] == pytest.approx(zs, rel=0.1)  # clustered
        assert s[sf]["test_std_1_2_mean"] > s[sf]["train_std_1_2_mean"]  # test looser
    assert s[0.0]["train_std_1_2_mean"] < 1e-3 and s[0.0]["test_acc_1_2_mean"] > 0.9995


def test_fig02_claims(quick):
    """Fig. 2: for alpha > 0 the direction drifts toward the LDA direction, which it meets
    at large alpha; alpha = 0 (max margin) is off that plateau."""
    data, _ = quick["fig02"]
    rows = {(r["unit_variance"], r["nu"], r["alpha"]): r for r in data["curves"]}
    for nu in (2.1, 3.0, 20.0):
        assert rows[(False, nu, 0.8)]["cos_lda_mean"] > 0.999
        assert rows[(False, nu, 0.01)]["cos_lda_mean"] < rows[(False, nu, 0.8)]["cos_lda_mean"]
        assert rows[(False, nu, 0.0)]["cos_lda_mean"] < 0.95


def test_fig07_claims(quick):
    """Fig. 7: alpha = 0.2 clusters each class at its simplex vertex; alpha = 0 does not."""
    s = quick["fig07"][0]["summary"]
    assert s["train_ratio_1_mean"] < 0.5 * s["train_ratio_0_mean"]
    assert s["true_logit_mean_1_mean"] == pytest.approx(
        lr.z_star(0.2, n_classes=10).q_high, rel=0.05)
    assert s["test_acc_1_mean"] > s["test_acc_0_mean"]


def test_fig10_claims(quick):
    """Fig. 10: small N deviates at small alpha; larger N reaches the plateau earlier."""
    data, _ = quick["fig10"]
    alphas = data["config"]["alphas"]
    rows = sorted(data["summary"], key=lambda r: r["n"])
    first = [r["tan_theta_0_mean"] for r in rows]
    assert np.all(np.diff(first) < 0)
    onset = [plateau_onset(alphas, [r[f"tan_theta_{j}_mean"] for j in range(len(alphas))])
             for r in rows]
    assert np.all(np.diff(onset) <= 0)


def test_fig11_12_claims(quick):
    """Figs. 11-12: r = 1.2375 for a = 2 and 6, mu = a/(1 + r^2), the hinge rotates by ~11.5
    degrees; on random point sets the b = 0 direction never depends on a."""
    data, _ = quick["fig11_12"]
    t = data["table"]
    for a in (2, 6):
        assert round(t[f"a{a}_b0_r"], 4) == 1.2375
        assert t[f"a{a}_b0_mu"] == pytest.approx(a / (1 + t[f"a{a}_b0_r"] ** 2), rel=1e-12)
    assert t["angle_a"] < 1e-6 and t["angle_hinge"] == pytest.approx(11.5, abs=0.1)
    assert max(r["angle_a"] for r in data["records"]) < 1e-6


def test_fig14_claims(quick):
    """Fig. 14: train std below sigma_f S_1, test std above, in every run."""
    for r in quick["fig14"][0]["records"]:
        if r["sigma_f"] > 0:
            assert r["train_std"] < r["intrinsic_std"] < r["test_std"]


def test_fig19_20_claims(quick):
    """Fig. 19: linear in 1/sigma_n^2; common random numbers exactly (R^2 = 1), fresh data
    near 1; Fig. 20: C = 0 at sigma_f = 0 and grows with sigma_f."""
    data, _ = quick["fig19_20"]
    assert data["law"]["crn"]["r2_mean"] == pytest.approx(1.0, abs=1e-9)
    assert data["law"]["fresh"]["r2_mean"] > 0.95
    C = [r["C_mean"] for r in sorted(data["fig20"], key=lambda r: r["sigma_f"])]
    assert C[0] == pytest.approx(0.0, abs=1e-8) and np.all(np.diff(C) > 0)


def test_grokking_time_claims(quick):
    """t_grok falls with alpha as a power law with p near the 0.6 of the paper's two points."""
    law = quick["grokking_time"][0]["law"]
    assert law["n_not_reached"] == [0] * len(law["n_not_reached"])
    assert 0.45 < law["p_mean"] < 0.8 and law["p_ci"][0] < law["p_mean"] < law["p_ci"][1]


def test_reg_insensitivity_claims(quick):
    """Sec. 3.4: at matched z*, accuracy and direction do not depend on f: the accuracies
    of the penalties differ by less than the seed-to-seed spread of the accuracy."""
    data = quick["reg_insensitivity"][0]
    for s in data["summary"]:
        recs = [r for r in data["records"] if r["z_target"] == s["z_target"]]
        assert max(r["max_acc_diff"] for r in recs) < s["test_acc_0_std"]
        assert min(r["min_cos_to_0"] for r in recs) > 0.99
