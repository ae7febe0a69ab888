"""simulations/grokking.py: the quick run groks, the JSON is complete, runs resume."""

import dataclasses
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import logitreg as lr
from logitreg.grokking import ACC_ONE, PAPER_FIG5, GrokkingConfig, run_grokking

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "simulations" / "grokking.py"
RUN_KEYS = {"alpha", "epochs", "train_loss", "test_loss", "train_acc", "test_acc",
            "epoch_test_acc_0.9", "epoch_test_acc_1.0", "test_loss_peak_epoch",
            "final_train_loss", "loss_floor"}


def _script():
    spec = importlib.util.spec_from_file_location("grokking_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """One real command-line run of ``--quick``: its output directory and stdout."""
    out = tmp_path_factory.mktemp("quick")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--out", str(out), "--no-progress"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return out, proc.stdout


def _runs(out):
    return {r["alpha"]: r for r in json.loads((out / "grokking.json").read_text())["runs"]}


def test_quick_alpha_01_groks_and_alpha_0_stays_near_chance(quick):
    runs = _runs(quick[0])
    assert runs[0.1]["test_acc"][-1] >= 0.99
    assert runs[0.0]["test_acc"][-1] < 0.6
    assert runs[0.1]["train_acc"][-1] == 1.0 == runs[0.0]["train_acc"][-1]
    # grokking: alpha = 0.1 fits the training set long before it generalizes
    assert runs[0.1]["epoch_test_acc_0.9"] > 2 * runs[0.1]["epoch_train_acc_1.0"]
    # and the train loss ends at the floor l(z*) (to 1e-3 after 3e4 epochs)
    assert runs[0.1]["final_train_loss"] == pytest.approx(runs[0.1]["loss_floor"], rel=1e-3)


def test_json_has_config_seeds_and_the_documented_fields(quick):
    data = json.loads((quick[0] / "grokking.json").read_text())
    cfg = data["config"]
    assert cfg["seeds"] == [0] and cfg["d"] == 140 and cfg["n"] == 200
    assert cfg["d"] / cfg["n"] == 0.7  # same lambda as Fig. 5
    assert set(cfg) == set(GrokkingConfig().to_dict())
    assert data["acc_one_threshold"] == ACC_ONE
    assert {"git_hash", "logitreg_version"} <= set(data["meta"])
    assert [r["alpha"] for r in data["runs"]] == [0.0, 0.001, 0.01, 0.1]
    for run in data["runs"]:
        assert RUN_KEYS <= set(run)
        n = len(run["epochs"])
        assert run["epochs"][0] == 0 and run["epochs"][-1] == 30_000
        assert all(len(run[k]) == n for k in ("train_loss", "test_loss", "train_acc", "test_acc"))
    never = _runs(quick[0])[0.0]
    assert never["epoch_test_acc_0.9"] is None and never["epoch_test_acc_1.0"] is None
    assert (quick[0] / "grokking.png").stat().st_size > 10_000
    assert set(np.load(quick[0] / "grokking.npz").files) >= {"seed0_test_acc", "seed0_w"}


def test_table_prints_ours_beside_the_papers_numbers(quick):
    text = quick[1]
    assert "test acc 0.9 at" in text and "(9.4k)" in text and "(17.0k)" in text
    assert "ANOTHER SETTING" in text  # --quick is not the Fig. 5 setting
    assert "wall time" in text


def test_interrupted_run_resumes_to_the_uninterrupted_result(quick, tmp_path, capsys):
    main = _script().main
    args = ["--quick", "--out", str(tmp_path), "--no-progress"]
    assert main([*args, "--stop-at-epoch", "12000"]) == 0
    assert "rerun the same command to resume" in capsys.readouterr().out
    assert not (tmp_path / "grokking.json").exists()
    assert main(args) == 0
    ours, ref = _runs(tmp_path), _runs(quick[0])
    for alpha in ref:
        for key in ("train_loss", "test_loss", "train_acc", "test_acc"):
            # Same arithmetic in the same order (one BLAS thread for this size): equal
            # to rounding; 1e-12 would also absorb a different BLAS blocking.
            np.testing.assert_allclose(ours[alpha][key], ref[alpha][key], rtol=1e-12)


def test_changed_config_is_refused_unless_restart_with_an_explicit_out(tmp_path, capsys):
    main = _script().main
    args = ["--quick", "--out", str(tmp_path), "--no-progress"]
    assert main([*args, "--epochs", "300"]) == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert main([*args, "--epochs", "400"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err  # one line
    assert "another configuration (epochs: 300 -> 400)" in err and "--restart" in err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
    assert main([*args, "--epochs", "400", "--restart"]) == 0
    assert _runs(tmp_path)[0.1]["epochs"][-1] == 400


def test_default_folders_are_one_per_configuration():
    from logitreg.grokking import default_out_dir

    fig5, quick = GrokkingConfig.preset("fig5"), GrokkingConfig.preset("quick")
    assert str(default_out_dir(fig5)) == "results/grokking"
    assert str(default_out_dir(quick, "quick")) == "results/grokking-quick"
    changed = GrokkingConfig.preset("quick", epochs=400)
    other = GrokkingConfig.preset("quick", epochs=500)
    dirs = {default_out_dir(c, "quick") for c in (quick, changed, other)}
    assert len(dirs) == 3  # never shared by default
    assert default_out_dir(changed, "quick") == default_out_dir(
        GrokkingConfig.preset("quick", epochs=400), "quick")  # stable


def test_readme_order_keeps_both_results(tmp_path):
    """README order: the full run, then --quick; neither overwrites the other (here with
    a smaller "full" run: the same code path, a changed flag instead of the preset)."""
    cmd = [sys.executable, str(SCRIPT), "--no-progress", "--quick"]
    first = subprocess.run([*cmd, "--epochs", "500"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=120)
    second = subprocess.run(cmd[:-1] + ["--quick"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    folders = sorted(p.name for p in (tmp_path / "results").iterdir())
    assert len(folders) == 2 and "grokking-quick" in folders
    for f in folders:
        assert (tmp_path / "results" / f / "grokking.json").exists()


@pytest.mark.filterwarnings("ignore::logitreg.StabilityWarning")
def test_a_diverging_run_exits_1_naming_eta_and_writes_nothing(tmp_path, capsys):
    main = _script().main
    out = tmp_path / "div"
    assert main(["--quick", "--method", "gd", "--eta", "5", "--epochs", "2000", "--out",
                 str(out), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "diverged" in err and "--eta" in err
    assert not (out / "grokking.json").exists() and not list(out.rglob("*.npz"))


@pytest.mark.parametrize(("flags", "names"), [
    (["--epochs", "-5"], "epochs"), (["--eta", "0"], "eta"), (["--alphas", "1.5"], "alpha"),
    (["--reg", "foo"], "reg"), (["--device", "tpu"], "device"), (["--seeds", "0"], "--seeds"),
    (["--init", "ones"], "init"), (["--init-scale", "-1"], "init_scale"),
])
def test_bad_flags_exit_2_with_one_line_naming_the_parameter(flags, names, tmp_path, capsys):
    try:
        rc = _script().main(["--quick", "--out", str(tmp_path), "--no-progress", *flags])
    except SystemExit as exit_:  # argparse's own exit (usage line + error line)
        rc = exit_.code
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert names in err.splitlines()[-1] and "Traceback" not in err
    assert not list(tmp_path.iterdir())  # nothing written


@pytest.mark.parametrize(("signum", "status"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_interrupt_exits_130_with_the_resume_command(tmp_path, signum, status):
    """Ctrl-C (130) and SIGTERM (143, e.g. a batch scheduler) both save the checkpoint."""
    import signal
    import time

    args = ["--quick", "--method", "gd", "--epochs", "2000000", "--out", str(tmp_path)]
    proc = subprocess.Popen([sys.executable, str(SCRIPT), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    # Wait until the progress bar (stderr) shows the loop running, then interrupt it.
    seen = ""
    while "epoch" not in seen:
        seen += proc.stderr.read(1)
        assert proc.poll() is None, seen
    time.sleep(0.5)
    proc.send_signal(getattr(signal, signum))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == status, err
    assert "resume with: python simulations/grokking.py " + " ".join(args) in err
    assert (tmp_path / "checkpoints" / "seed0.npz").exists()


def test_multiclass_quick_groks_and_collapses_onto_the_simplex_vertex(tmp_path):
    main = _script().main
    assert main(["--multiclass", "--quick", "--out", str(tmp_path), "--no-progress"]) == 0
    (run,) = _runs(tmp_path).values()
    assert run["alpha"] == 0.04
    assert run["final_test_acc"] >= ACC_ONE
    assert run["epoch_test_acc_0.9"] > 2 * run["epoch_train_acc_1.0"]  # delayed generalization
    q_high, _ = run["z_star"]
    assert run["final_logit_mean"] == pytest.approx(q_high, rel=2e-2)  # ~2.976, the K = 10 vertex
    assert run["final_train_loss"] == pytest.approx(run["loss_floor"], rel=1e-2)
    assert run["paper"] is None


def test_several_seeds_report_mean_std_and_per_seed_values():
    cfg = GrokkingConfig.preset("quick", epochs=2000, n_record=40, seeds=(3, 4))
    res = run_grokking(cfg, progress=False)
    run = res.runs[-1]
    assert run["n_seeds"] == 2 and len(run["final_test_acc_per_seed"]) == 2
    per_seed = [tr.test_acc[-1, -1] for tr in res.trajectories]
    assert per_seed[0] != per_seed[1]  # fresh data and w0 per seed
    assert run["final_test_acc"] == pytest.approx(np.mean(per_seed))
    assert run["final_test_acc_std"] == pytest.approx(np.std(per_seed, ddof=1))
    np.testing.assert_allclose(run["test_acc_std"][-1], np.std(per_seed, ddof=1))
    assert run["paper"] == PAPER_FIG5[0.1]


def test_bad_config_raises_value_error_naming_the_field():
    with pytest.raises(ValueError, match="n_test must be > 0 for n_classes > 2"):
        run_grokking(GrokkingConfig(n_classes=10, n_test=0), progress=False)
    with pytest.raises(ValueError, match="seeds must be"):
        run_grokking(GrokkingConfig(seeds=()), progress=False)
    with pytest.raises(ValueError, match="unknown preset='fig6'"):
        GrokkingConfig.preset("fig6")


# ------------------------------------------------------------------ the start (--init)


@pytest.mark.parametrize(("init", "scale", "std"), [
    ("normal", 1.0, 1.0), ("normal", 0.3, 0.3), ("uniform", 1.0, 1 / np.sqrt(3)),
    ("uniform", 0.5, 0.5 / np.sqrt(3)), ("zero", 1.0, 0.0)])
def test_start_weights_follow_the_documented_law(init, scale, std):
    """Entries of std ``std/sqrt(d)``; uniform ones inside ``+-scale/sqrt(d)``."""
    from logitreg.grokking import start_weights

    cfg = GrokkingConfig(d=400, n_classes=10, init=init, init_scale=scale)
    W = start_weights(cfg, np.random.default_rng(0))
    assert W.shape == (10, 400)
    # 4000 entries: the sample std is within ~3 % (3 standard errors) of the true one
    assert np.std(W) * np.sqrt(400) == pytest.approx(std, rel=0.035, abs=1e-15)
    if init == "uniform":
        assert np.max(np.abs(W)) <= scale / np.sqrt(400)
    assert start_weights(GrokkingConfig(d=7, init=init), np.random.default_rng(0)).shape == (7,)


def _reference_gd(cfg, seed, alpha):
    """Plain numpy GD on the mean loss (no engine, no change of frame) from start_weights;
    returns the last (W, b) or w and the test CE at epoch 0."""
    from logitreg.data import signal_plus_noise
    from logitreg.grokking import start_weights
    from logitreg.losses import MulticlassLoss, get_penalty, make_loss

    ss = np.random.SeedSequence(seed).spawn(4)  # data, engine start, test, our start
    spn = {"mu_f": cfg.mu_f, "sigma_f": cfg.sigma_f, "sigma_n": cfg.sigma_n}
    K = cfg.n_classes
    X, y = signal_plus_noise(cfg.n, cfg.d, n_classes=K, rng=np.random.default_rng(ss[0]), **spn)
    W0 = start_weights(cfg, np.random.default_rng(ss[3]))
    if K == 2:
        loss, A = make_loss(alpha), np.where(y > 0, 1.0, -1.0)[:, None] * X
        w = W0.copy()
        for _ in range(cfg.epochs):
            w = w - cfg.eta * A.T @ loss.d1(A @ w) / cfg.n
        return w
    loss = MulticlassLoss(alpha, get_penalty("quadratic", K), K)
    Xa = np.hstack([X, np.ones((cfg.n, 1))])  # (N, d + 1)
    W = np.hstack([W0, np.zeros((K, 1))])  # (K, d + 1), bias 0
    for _ in range(cfg.epochs):
        W = W - cfg.eta * loss.grad(Xa @ W.T, y).T @ Xa / cfg.n
    return W


@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize(("init", "scale"), [("zero", 1.0), ("uniform", 1.0), ("normal", 0.4)])
def test_init_runs_gd_from_the_documented_start(n_classes, init, scale):
    """run_grokking with ``init`` is exact GD from ``start_weights`` (checked against a plain
    numpy loop to rounding), not from the engine's own N(0, I/d) start."""
    cfg = GrokkingConfig(d=12, n=30, n_classes=n_classes, mu_f=1.0, alphas=(0.0, 0.04),
                         epochs=40, n_record=5, seeds=(2,), n_test=50, method="gd",
                         init=init, init_scale=scale)
    (tr,) = run_grokking(cfg, progress=False).trajectories
    default = run_grokking(dataclasses.replace(cfg, init="normal", init_scale=1.0),
                           progress=False).trajectories[0]
    for i, alpha in enumerate(cfg.alphas):
        ref = _reference_gd(cfg, 2, alpha)
        np.testing.assert_allclose(tr.w[i], ref, rtol=0, atol=1e-12)  # 40 steps of rounding
        assert np.max(np.abs(tr.w[i] - default.w[i])) > 1e-3  # another start, another run
    start_norm = np.linalg.norm(tr.w0[0][..., : cfg.d])
    np.testing.assert_allclose(tr.w_norm[:, 0], start_norm, rtol=1e-15)
    last = [np.linalg.norm(w[..., : cfg.d]) for w in tr.w]
    np.testing.assert_allclose(tr.w_norm[:, -1], last, rtol=1e-12)
    if n_classes == 2:  # cos(w, e1) of the recorded weights
        np.testing.assert_allclose(tr.cos_e1[:, -1], [w[0] / np.linalg.norm(w) for w in tr.w],
                                   rtol=1e-12)
    if init == "zero":
        assert start_norm == 0.0
        np.testing.assert_allclose(tr.test_loss[:, 0], np.log(n_classes), rtol=1e-13)


def test_init_is_recorded_in_the_results(tmp_path):
    main = _script().main
    assert main(["--multiclass", "--quick", "--init", "uniform", "--epochs", "200",
                 "--out", str(tmp_path), "--no-progress"]) == 0
    config = json.loads((tmp_path / "grokking.json").read_text())["config"]
    assert (config["init"], config["init_scale"]) == ("uniform", 1.0)


def test_gd_checks_the_start_it_is_given():
    from logitreg.data import signal_plus_noise

    X, y = signal_plus_noise(20, 5, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"w0 must have shape \(5,\)"):
        lr.gd(X, y, 0.1, epochs=2, w0=np.zeros(4), progress=False)
    with pytest.raises(ValueError, match="w0 must be finite"):
        lr.gd(X, y, 0.1, epochs=2, w0=np.full(5, np.nan), progress=False)
    tr = lr.gd(X, y, [0.0, 0.1], epochs=1, w0=np.arange(5.0), progress=False)
    np.testing.assert_array_equal(tr.w0, np.tile(np.arange(5.0), (2, 1)))
