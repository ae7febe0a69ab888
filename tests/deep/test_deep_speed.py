"""The end-to-end epoch measurement of bench/deep_throughput.py (``--epoch``) at a tiny size:
whole epochs of deep.train.train (data on the device, validation, a checkpoint each epoch)
against the pure step time x steps. The GPU session runs it at CIFAR-10 size."""

import importlib.util
import json
import statistics
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "deep_throughput.py"
TINY = ["--model", "cnn", "--width", "4", "--batch-size", "16", "--steps", "3", "--rounds", "1",
        "--warmup", "1", "--cost-reps", "0", "--threads", "1"]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("deep_throughput_speed", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_epoch_measurement_reports_cycles_against_the_pure_step_time(bench, tmp_path, capsys):
    out = tmp_path / "b.json"
    rows = bench.main(TINY + ["--regs", "none,mixup", "--epoch", "--epoch-images", "80",
                              "--epochs", "3", "--json", str(out)])
    epoch = json.loads(out.read_text())["epoch"]
    none = next(r for r in rows if r["reg"] == "none")
    # 80 images in batches of 16; validation and test sets at CIFAR-10's proportions.
    assert epoch["steps_per_epoch"] == 5 and epoch["images"] == [80, 8, 17]
    # Epochs 2 and 3 are timed (the first compiles and autotunes on a GPU).
    assert len(epoch["cycle_s"]) == len(epoch["training_loop_s"]) == 2
    assert all(0 < t < 60 for t in epoch["cycle_s"] + epoch["training_loop_s"])
    # A cycle holds its training loop, plus validation, the metrics line and a checkpoint.
    assert all(c > loop for c, loop in zip(epoch["cycle_s"], epoch["training_loop_s"],
                                           strict=True))
    assert epoch["median_cycle_s"] == statistics.median(epoch["cycle_s"])
    # An epoch is a sum of steps: the reference is steps x the mean of the timed steps.
    assert epoch["pure_epoch_s"] == pytest.approx(5 * none["mean_step_s"], rel=1e-12)
    assert epoch["ratio_cycle_to_pure"] == pytest.approx(
        epoch["median_cycle_s"] / epoch["pure_epoch_s"], rel=1e-12)
    printed = capsys.readouterr().out
    assert "| epoch cycle (s) | training loop (s) |" in printed
    assert f"| {epoch['ratio_cycle_to_pure']:.3f} |" in printed


def test_epoch_measurement_needs_the_none_reference_and_two_epochs(bench):
    with pytest.raises(SystemExit, match="--epoch needs none among --regs"):
        bench.main(TINY + ["--regs", "mixup", "--epoch"])
    with pytest.raises(SystemExit, match="--epoch needs --epochs >= 2"):
        bench.main(TINY + ["--regs", "none", "--epoch", "--epochs", "1"])
