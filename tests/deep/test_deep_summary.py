"""deep.summary: mean ± std over seeds of real (tiny) training runs, grouped by setting."""

import json
import math

import numpy as np
import pytest

from deep import summary
from deep import train as train_mod
from deep.config import TrainConfig
from logitreg.io import to_jsonable


@pytest.fixture(scope="module")
def runs(tmp_path_factory, digits_data):
    out = tmp_path_factory.mktemp("runs")
    fast = dict(dataset="digits", digits_size=8, model="cnn", width=8, batch_size=64, epochs=1,
                lr=0.05, progress=False, device="cpu", out_dir=str(out))
    for reg, seed in (("none", 0), ("none", 1), ("none", 2), ("ls", 0)):
        train_mod.train(TrainConfig(**fast, reg=reg, seed=seed), data=digits_data)
    return out


def test_groups_by_setting_and_reduces_over_seeds(runs, capsys):
    dirs = sorted(str(p) for p in runs.iterdir())
    rows = summary.main(dirs + ["--json", str(runs / "summary.json")])
    # The settings differ in reg and in the resolved ls_eps (0.1 for --reg ls) only.
    assert [r["setting"] for r in rows] == [{"reg": "ls", "ls_eps": 0.1},
                                            {"reg": "none", "ls_eps": 0.0}]
    assert list(rows[0]["setting"]) == ["reg", "ls_eps"]  # TrainConfig's field order
    none = rows[1]
    assert none["n"] == 3 and sorted(none["seeds"]) == [0, 1, 2]
    acc = [json.loads((runs / f"digits-cnn-none-seed{s}" / "results.json").read_text())
           ["test_acc"] for s in (0, 1, 2)]
    assert none["test_acc_mean"] == pytest.approx(np.mean(acc), rel=1e-12)
    assert none["test_acc_std"] == pytest.approx(np.std(acc, ddof=1), rel=1e-12)
    assert none["test_acc_std"] > 0  # three seeds, three different runs
    # A single seed has no spread: NaN (logitreg.io.mean_std), null in JSON, "(n=1)" printed.
    ls = rows[0]
    assert ls["n"] == 1 and all(math.isnan(ls[f"{m}_std"]) for m in summary.METRICS)
    ls_acc = json.loads((runs / "digits-cnn-ls-seed0" / "results.json").read_text())["test_acc"]
    assert ls["test_acc_mean"] == ls_acc
    printed = capsys.readouterr().out
    # Columns: the differing fields in TrainConfig's field order, then n and the metrics.
    assert ("| reg | ls_eps | n | test_acc | test_ece | test_mce | test_oe | test_nll | "
            "test_brier | test_confidence |") in printed
    assert f"| none | 0.0 | 3 | {np.mean(acc):.4f} ± {np.std(acc, ddof=1):.4f}" in printed
    assert f"| ls | 0.1 | 1 | {ls_acc:.4f} (n=1) |" in printed
    saved = json.loads((runs / "summary.json").read_text())
    assert saved == to_jsonable(rows) and saved[0]["test_acc_std"] is None


def test_errors_name_the_run_directory(runs, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        summary.main([str(tmp_path)])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1
    assert err.startswith(f"python -m deep.summary: error: RUN_DIR={tmp_path} has no config.json")
    seed0 = str(runs / "digits-cnn-none-seed0")
    with pytest.raises(ValueError, match=r"repeats seed 0 of .*none-seed0 with the same"):
        summary.summarize([seed0, seed0])
    with pytest.raises(ValueError, match="no run directories"):
        summary.summarize([])


def test_a_vae_run_is_refused(vae_checkpoint):
    with pytest.raises(ValueError, match=r"RUN_DIR=.* is not a python -m deep.train run"):
        summary.summarize([vae_checkpoint.parent])


def test_runs_written_before_a_field_existed_join_their_setting(runs, tmp_path):
    """A config.json without a field added since (here --logit-penalty) reads as that
    field's default, which is what the older code did: the run joins its setting."""
    import shutil

    for s in (0, 1):
        shutil.copytree(runs / f"digits-cnn-none-seed{s}", tmp_path / str(s))
    path = tmp_path / "0" / "config.json"
    saved = json.loads(path.read_text())
    del saved["config"]["logit_penalty"]
    path.write_text(json.dumps(saved))
    rows = summary.summarize([tmp_path / "0", tmp_path / "1"])
    assert len(rows) == 1 and rows[0]["n"] == 2


def test_a_single_setting_shows_only_what_identifies_it(runs, capsys):
    """One setting has no differing fields: the row names the data set, model, regularizer
    and that regularizer's own options, not every field of the config."""
    rows = summary.main([str(runs / "digits-cnn-ls-seed0")])
    assert rows[0]["setting"] == {"dataset": "digits", "model": "cnn", "reg": "ls",
                                  "ls_eps": 0.1}
    printed = capsys.readouterr().out
    assert printed.splitlines()[0] == ("| dataset | model | reg | ls_eps | n | test_acc | "
                                       "test_ece | test_mce | test_oe | test_nll | test_brier | "
                                       "test_confidence |")
    rows = summary.summarize([runs / f"digits-cnn-none-seed{s}" for s in (0, 1, 2)])
    assert rows[0]["setting"] == {"dataset": "digits", "model": "cnn", "reg": "none"}
    assert rows[0]["n"] == 3


def test_setting_fields_follow_the_regularizer():
    from deep.config import setting_fields

    assert setting_fields({"reg": "mixup", "ls_eps": 0.0, "logit_alpha": 0.0}) == (
        "dataset", "model", "reg", "mix_alpha", "mix_prob")
    # --ls-eps and --logit-alpha compose with every --reg: shown where they are on.
    assert setting_fields({"reg": "cutmix", "ls_eps": 0.1, "logit_alpha": 0.01}) == (
        "dataset", "model", "reg", "mix_alpha", "mix_prob", "ls_eps", "logit_alpha",
        "logit_penalty")
    assert setting_fields({"reg": "logit_penalty", "ls_eps": 0.0, "logit_alpha": 0.01}) == (
        "dataset", "model", "reg", "logit_alpha", "logit_penalty")


def test_json_output_must_be_a_file(runs, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        summary.main([str(runs / "digits-cnn-ls-seed0"), "--json", str(tmp_path)])
    assert e.value.code == 2
    assert capsys.readouterr().err == (f"python -m deep.summary: error: --json={tmp_path} is a "
                                       "directory: expected a file name for the summary rows\n")
