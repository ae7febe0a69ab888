"""simulations/grokking.py: the quick run groks, the JSON is complete, runs resume."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from logitreg.dynamics import ACC_ONE, PAPER_FIG5, GrokkingConfig, run_grokking

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


def test_changed_config_is_refused_unless_restart(tmp_path):
    main = _script().main
    args = ["--quick", "--out", str(tmp_path), "--no-progress"]
    assert main([*args, "--epochs", "300"]) == 0
    with pytest.raises(ValueError, match="different configuration.*--restart"):
        main([*args, "--epochs", "400"])
    assert main([*args, "--epochs", "400", "--restart"]) == 0
    assert _runs(tmp_path)[0.1]["epochs"][-1] == 400


def test_multiclass_quick_groks_and_collapses_onto_the_simplex_vertex(tmp_path):
    main = _script().main
    assert main(["--multiclass", "--quick", "--out", str(tmp_path), "--no-progress"]) == 0
    (run,) = _runs(tmp_path).values()
    assert run["alpha"] == 0.04
    assert run["final_test_acc"] >= ACC_ONE
    assert run["epoch_test_acc_0.9"] > 2 * run["epoch_train_acc_1.0"]  # delayed generalization
    q_high, _ = run["z_star"]
    assert run["final_logit_mean"] == pytest.approx(q_high, rel=2e-2)  # ~2.976 (spec 1.4)
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
