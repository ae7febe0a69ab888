"""Run directories written by older code stay readable: resumable and summarised together."""

import dataclasses
import json

import pytest

from deep._io import read_config
from deep.config import TrainConfig


@pytest.mark.parametrize(("reg", "clean"), [("mixup", 0.0), ("cutmix", 0.0), ("varmixup", 0.5),
                                            ("ls", None), ("none", None)])
def test_config_json_from_before_mix_clean_frac_reads_as_today(tmp_path, reg, clean):
    extra = {"vae_checkpoint": "vae.pt"} if reg == "varmixup" else {}
    cfg = TrainConfig(dataset="digits", reg=reg, **extra).resolved(False)
    today = json.loads(json.dumps(dataclasses.asdict(cfg)))  # as config.json holds it
    assert today["mix_clean_frac"] == clean
    # What the code before --mix-clean-frac wrote: no mix_clean_frac (nor the VarMixup options
    # added with it), and varmix_clean_frac = 0.5 for every run.
    old = {k: v for k, v in today.items()
           if k not in ("mix_clean_frac", "varmix_residual", "varmix_input_frac")}
    old["varmix_clean_frac"] = 0.5
    (tmp_path / "config.json").write_text(json.dumps({"config": old}))
    assert read_config(tmp_path, TrainConfig) == today


def test_results_json_from_before_mce_and_brier_summarise_with_nan(tmp_path):
    import math

    from deep.summary import summarize

    cfg = dataclasses.asdict(TrainConfig(dataset="digits", reg="ls").resolved(False))
    for seed, acc in ((0, 0.9), (1, 0.8)):
        run = tmp_path / f"run{seed}"
        run.mkdir()
        (run / "config.json").write_text(json.dumps({"config": {**cfg, "seed": seed}}))
        old = {"test_acc": acc, "test_ece": 0.1, "test_nll": 0.3}  # the metrics it had then
        (run / "results.json").write_text(json.dumps(old))
    (row,) = summarize(sorted(tmp_path.iterdir()))
    assert row["n"] == 2 and row["test_acc_mean"] == pytest.approx(0.85)
    assert math.isnan(row["test_brier_mean"]) and math.isnan(row["test_mce_mean"])
