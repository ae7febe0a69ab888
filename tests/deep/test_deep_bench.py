"""bench/deep_throughput.py runs end to end at a tiny size and reports consistent numbers."""

import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "deep_throughput.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("deep_throughput", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_throughput_bench_smoke(bench, tmp_path, capsys):
    out = tmp_path / "b.json"
    rows = bench.main(["--model", "cnn", "--width", "4", "--batch-size", "16", "--steps", "2",
                       "--rounds", "2", "--warmup", "1", "--cost-reps", "4", "--threads", "1",
                       "--regs", "none,mixup,logit_penalty", "--json", str(out)])
    assert [r["reg"] for r in rows] == ["none", "mixup", "logit_penalty"]
    for r in rows:
        assert r["n_steps"] == 4 and r["median_step_s"] > 0
        assert r["images_per_s"] == pytest.approx(16 / r["median_step_s"])
        # The regularizer's own work is part of a step, and none is the zero of the scale.
        assert 0 < r["own_work_median_s"] and r["q1_s"] <= r["median_step_s"] <= r["q3_s"]
    assert rows[0]["ratio_to_none"] == 1.0 and rows[0]["added_step_fraction"] == 0.0
    printed = capsys.readouterr().out
    assert "| reg | median step (ms) |" in printed and "| reg | own work (ms) |" in printed
    assert json.loads(out.read_text())["results"] == json.loads(json.dumps(rows))
