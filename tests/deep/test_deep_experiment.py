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
    # + two analyses and their two intervention points
    assert len(list((out / "sweep" / "points").glob("*.json"))) == 6
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


def test_intervention_sections(tiny, tmp_path):
    """One none seed: its rescale target is its own training RMS, so s = 1 and nothing
    moves; the MI section is there for none; a changed MI option recomputes only that
    section (the base analysis and the rescale section are kept)."""
    out, _ = tiny
    run = out / "runs" / "none-seed0"
    a = json.loads((run / "analysis.json").read_text())
    r = a["rescale"]
    assert r["options"]["target_rms"] == pytest.approx(a["geometry"]["rms_train_mean"])
    assert r["scale"] == pytest.approx(1.0, abs=1e-6)
    assert r["rms_train_after"] == pytest.approx(r["options"]["target_rms"], rel=1e-6)
    assert r["after"]["attacks"] == r["before"]["attacks"]
    assert (r["before"]["attacks"]["strong"]["robust_acc"]
            <= a["robustness"]["attacks"]["clean_acc"] + 1e-12)
    mi = a["mixup_inference"]
    assert mi["options"]["lam"] == 0.6 and mi["options"]["n_samples"] == 30
    assert mi["n_attacked"] == 32 and mi["clean"]["plain"] == pytest.approx(
        a["robustness"]["attacks"]["clean_acc"])
    for rec in (mi["clean"], mi["strong"], mi["weak"]):
        assert all(0.0 <= rec[k] <= 1.0 for k in ("plain", "pl", "ol"))
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    b = analyze_run(copy, max_attack_images=32, quick=True, mi_samples=2, figures=False)
    assert b["mixup_inference"]["options"]["n_samples"] == 2
    assert b["seconds"] == a["seconds"] and b["rescale"] == a["rescale"]
    assert b["geometry"] == a["geometry"]
    with pytest.raises(ValueError, match="mi_lam|lam="):
        analyze_run(copy, max_attack_images=32, quick=True, mi_lam=0.0)
    with pytest.raises(ValueError, match="rescale_target_rms="):
        analyze_run(copy, max_attack_images=32, quick=True, rescale_target_rms=-1.0)


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


def _fake_rescale(reg, seed, ece, ece_after, rob, rob_after, spread=0.01):
    a = _fake(reg, seed, 1.0)
    e = spread * (seed - 1)
    a["rescale"] = {"scale": 1.0, "before": {"ece": ece + e, "attacks": {
        "strong": {"robust_acc": rob + e}}}, "after": {"ece": ece_after + e, "attacks": {
            "strong": {"robust_acc": rob_after + e}}}}
    return a


@pytest.mark.parametrize("soft, expected", [
    # ECE gain (0.05 < 0.10) gone after the rescale, robustness gain persists: held
    ((0.05, 0.10, 0.6, 0.6), "held"),
    # ECE gain persists after the rescale: did not hold
    ((0.05, 0.06, 0.6, 0.6), "did not hold"),
    # ECE gain gone but the robustness gain gone too: mixed
    ((0.05, 0.10, 0.6, 0.4), "mixed"),
    # no ECE gain and no robustness difference before: nothing to test
    ((0.10, 0.10, 0.4, 0.4), "not tested"),
])
def test_claim_16_rule_on_constructed_numbers(soft, expected):
    from deep.report import group_runs

    runs = [_fake_rescale("none", s, 0.10, 0.10, 0.4, 0.4) for s in range(3)]
    runs += [_fake_rescale(reg, s, *soft) for reg in ("ls", "mixup", "cutmix")
             for s in range(3)]
    claim = next(c for c in CLAIMS if c.key == "16")
    verdict, numbers = claim.check(group_runs(runs))
    assert verdict == expected
    assert "ECE 0." in numbers and "strong PGD acc" in numbers


def _fake_mi(reg, seed, clean, pl, ol):
    a = _fake(reg, seed, 1.0)
    a["setting"]["mix_clean_frac"] = clean
    e = 0.01 * (seed - 1)
    a["mixup_inference"] = {"strong": {"plain": 0.1 + e, "pl": pl + e, "ol": ol + e}}
    return a


@pytest.mark.parametrize("var, expected", [
    ((0.8, 0.8), "held"), ((0.8, 0.5), "mixed"), ((0.5, 0.5), "did not hold")])
def test_claim_c5_rule_on_constructed_numbers(var, expected):
    from deep.report import group_runs

    runs = [_fake_mi("mixup", s, c, 0.5, 0.5) for s in range(3) for c in (0.0, 0.5)]
    runs += [_fake_mi("varmixup", s, 0.5, *var) for s in range(3)]
    claim = next(c for c in CLAIMS if c.key == "C5")
    verdict, numbers = claim.check(group_runs(runs))
    assert verdict == expected
    assert "MI-PL" in numbers and "MI-OL" in numbers and "without MI" in numbers
    assert claim.check(group_runs([_fake("mixup", 0, 1.0)]))[0] == "not tested"


def _claim_row(text: str, key: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("| ") and
                f" | {key} | " in line)


def test_claims_resting_on_separate_studies_take_their_verdicts(tiny, tmp_path):
    """Claim 13 and C7 come from deep.architecture / deep.manifold results passed with
    --study; without them they are "not tested"; an unknown JSON is refused by name."""
    out, _ = tiny
    cell = {"logit_rms": {"mean": 10.0, "std": 0.01}, "cos_min_loss_pred":
            {"mean": 0.5, "std": 0.01}, "ece": {"mean": 0.05, "std": 0.01}}
    recipe = {"logit_rms": {"mean": 3.0, "std": 0.01}, "cos_min_loss_pred":
              {"mean": 0.8, "std": 0.01}, "ece": {"mean": 0.02, "std": 0.01}}
    arch = tmp_path / "summary.json"
    arch.write_text(json.dumps({"cells": {"cnn+none": cell, "vit+none": cell,
                                          "vit+deit": recipe}, "differences": {}}))
    seed = {"n_pairs": 100, "frac_decode_closer_single": 0.1,
            "diff": {"mean": -0.03, "se": 0.001}}
    mani = tmp_path / "result.json"
    mani.write_text(json.dumps({"claim": "VarMixup C7: one object", "seeds": [
        {"seed": i, "c7": seed} for i in range(3)]}))
    runs = [out / "runs"]
    text = write_report(runs, tmp_path / "a.md", studies=[arch, mani]).read_text()
    assert "**held**" in _claim_row(text, "13")
    assert "**did not hold**" in _claim_row(text, "C7")
    text = write_report(runs, tmp_path / "b.md").read_text()
    for key in ("13", "C7"):
        assert "**not tested**" in _claim_row(text, key) and "--study" in _claim_row(text, key)
    bad = tmp_path / "other.json"
    bad.write_text(json.dumps({"hello": 1}))
    with pytest.raises(ValueError, match="other.json is not the result of a known study"):
        write_report(runs, tmp_path / "c.md", studies=[bad])
    with pytest.raises(ValueError, match="missing.json: no such file"):
        write_report(runs, tmp_path / "c.md", studies=[tmp_path / "missing.json"])


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
