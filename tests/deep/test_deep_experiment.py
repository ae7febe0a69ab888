"""deep.experiment, deep.analysis and deep.report: a tiny experiment end to end, its resume,
the invariants of the analysis, and the claim-verdict rules on constructed numbers."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from deep import experiment as exp
from deep.analysis import CENTER_TYPES, analyze_run
from deep.report import CLAIMS, Stat, compare, verdict_all, write_report

TINY = ["--dataset", "digits", "--quick", "--regs", "none", "--digits-size", "8",
        "--width", "8", "--seeds", "1", "--epochs", "1", "--no-progress", "--threads", "1",
        "--attack-images", "32"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny experiment (none and its 2-d twin, 1 epoch, 8x8 digits), killed after
    training once, then resumed: returns (out dir, the result of the resumed run)."""
    out = tmp_path_factory.mktemp("exp")
    argv = TINY + ["--out-dir", str(out), "--report", str(out / "report.md")]
    mp = pytest.MonkeyPatch()

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the experiment dies after its training sweep

    mp.setattr(exp, "_analysis_point", killed)
    with pytest.raises(SystemExit) as err:
        exp.main(argv)
    assert err.value.code == 130
    mp.undo()
    points = sorted((out / "sweep" / "points").glob("*.json"))
    assert len(points) == 2  # none and none-2d, each cached as soon as it finished

    def retrain(*args, **kwargs):
        raise AssertionError("a cached run was trained again")

    mp.setattr("deep.train.train", retrain)
    try:
        result = exp.main(argv)
    finally:
        mp.undo()
    return out, result


def test_killed_experiment_resumes_and_reports(tiny):
    out, result = tiny
    assert len(result["runs"]) == 2
    assert len(list((out / "sweep" / "points").glob("*.json"))) == 4  # + two analyses
    text = (out / "report.md").read_text()
    assert "digits results only" in text
    assert "| none |" in text and "none 2-d" in text
    for word in ("## Claims", "std", "ddof = 1"):
        assert word in text
    assert (out / "report_figures" / "none-2d-seed0-decision_regions.png").exists()
    assert (out / "report_figures" / "none-seed0-reliability.png").exists()


def test_analysis_keys_and_invariants(tiny):
    out, _ = tiny
    a = json.loads((out / "runs" / "none-seed0" / "analysis.json").read_text())
    for key in ("accuracy", "calibration", "geometry", "logit_gaps", "bridge", "robustness",
                "options", "seeds", "seconds"):
        assert key in a
    assert set(a["geometry"]["cosine"]) == set(CENTER_TYPES)
    assert a["geometry"]["domain"] == "nonnegative"  # post-ReLU features
    fractions = [a["accuracy"], a["robustness"]["corruptions"]["mean"],
                 a["robustness"]["attacks"]["strong"]["pgd"]["robust_acc"],
                 a["robustness"]["attacks"]["weak"]["pgd"]["success_rate"],
                 *np.ravel([p["accuracy"] for pool in a["bridge"]["probes"].values()
                            for p in pool["alphas"].values()])]
    assert all(0.0 <= f <= 1.0 for f in fractions)
    cal = a["calibration"]
    assert cal["before"]["accuracy"] == pytest.approx(cal["after"]["accuracy"])  # T keeps argmax
    assert a["geometry"]["cone_invariance"]["agreement_zero_bias"] == [1.0] * 4
    # PGD is at least as strong as FGSM at the same budget.
    att = a["robustness"]["attacks"]["strong"]
    assert att["pgd"]["robust_acc"] <= att["fgsm"]["robust_acc"] + 1e-12
    # A second call with the same options returns the saved analysis.
    again = analyze_run(out / "runs" / "none-seed0", max_attack_images=32, quick=True)
    assert again == a
    two_d = json.loads((out / "runs" / "none-2d-seed0" / "analysis.json").read_text())
    assert two_d["geometry"]["domain"] == "sphere"  # linear bottleneck: signed features
    assert "skipped" in two_d["bridge"]  # K - 1 >= d: no orthogonal complement


def test_cone_invariance_is_one_without_bias(tiny, tmp_path):
    out, _ = tiny
    src = out / "runs" / "none-seed0"
    run = tmp_path / "nobias"
    run.mkdir()
    for name in ("config.json", "results.json"):
        shutil.copyfile(src / name, run / name)
    ckpt = torch.load(src / "checkpoint.pt", weights_only=False)
    ckpt["model"]["head.bias"].zero_()
    torch.save(ckpt, run / "checkpoint.pt")
    a = analyze_run(run, max_attack_images=8, quick=True, figures=False,
                    probe_corruption=None)
    assert a["geometry"]["cone_invariance"]["agreement"] == [1.0] * 4
    assert a["geometry"]["cone_invariance"]["min"] == 1.0
    # Without a bias, feature scaling is exactly a temperature (to float32 rounding).
    assert max(a["geometry"]["temperature_agreement"]["max_abs"]) < 1e-5


def test_compare_and_verdicts_on_constructed_numbers():
    low, high = Stat(0.5, 0.01, 3), Stat(0.7, 0.01, 3)
    assert compare(low, high, "<") == "held"
    assert compare(high, low, "<") == "did not hold"
    # within the combined std sqrt(0.1^2 + 0.1^2): not shown
    assert compare(Stat(0.5, 0.1, 3), Stat(0.6, 0.1, 3), "<") == "did not hold"
    assert verdict_all(["held", "held"]) == "held"
    assert verdict_all(["did not hold", "did not hold"]) == "did not hold"
    assert verdict_all(["held", "did not hold", "not tested"]) == "mixed"


def _fake(reg, seed, rms):
    return {"setting": {"dataset": "digits", "model": "cnn", "reg": reg, "ls_eps": 0.1,
                        "logit_alpha": 0.0, "logit_penalty": "quadratic",
                        "mix_clean_frac": 0.0 if reg in ("mixup", "cutmix") else None,
                        "feature_dim": None, "epochs": 1},
            "seed": seed, "geometry": {"rms_mean": rms}}


@pytest.mark.parametrize("rms, expected", [
    ({"ls": 0.5, "mixup": 0.5, "cutmix": 0.5}, "held"),
    ({"ls": 1.5, "mixup": 1.5, "cutmix": 1.5}, "did not hold"),
    ({"ls": 0.5, "mixup": 1.5, "cutmix": 1.0}, "mixed"),
])
def test_claim_rule_feature_norm(rms, expected):
    """Claim 3 (soft labels lower the feature RMS) on constructed runs: held when every
    soft-label method is lower beyond the combined std, mixed when only some are."""
    from deep.report import group_runs

    runs = [_fake("none", s, 1.0 + 0.01 * s) for s in range(3)]
    runs += [_fake(reg, s, v + 0.01 * s) for reg, v in rms.items() for s in range(3)]
    claim = next(c for c in CLAIMS if c.key == "3")
    verdict, numbers = claim.check(group_runs(runs))
    assert verdict == expected
    assert "none 1.010 ± 0.010" in numbers


def test_report_refuses_an_unanalysed_run(tiny, tmp_path):
    out, _ = tiny
    run = tmp_path / "bare"
    run.mkdir()
    shutil.copyfile(out / "runs" / "none-seed0" / "config.json", run / "config.json")
    with pytest.raises(ValueError, match="analysis.json is missing"):
        write_report([run], tmp_path / "r.md")


def test_synthetic_theory_is_sigma_n_free():
    a = exp.synthetic_theory(2.75, 8.0, 10, 9000, 3072, rng=np.random.default_rng(0),
                             n_mc=20000)
    assert 0.88 < a["bayes"] < 0.94  # 0.912 with 200,000 draws
    assert 0.5 < a["pairwise_asymptotic"] < 1.0
