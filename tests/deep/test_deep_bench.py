"""bench/deep_throughput.py runs end to end at a tiny size, and its statistics are the right
ones: a scripted clock gives every timed call a known duration."""

import importlib.util
import json
import types
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "deep_throughput.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("deep_throughput", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ScriptedClock:
    """A stand-in for ``time``: timed call k (two perf_counter reads) lasts ``duration(k)``."""

    def __init__(self):
        self.reads = 0

    @staticmethod
    def duration(k):
        # 1/1024 to 29/1024 s (1 to 28 ms), scrambled in k: binary fractions on a clock that
        # jumps by 16 s per call, so that the bench's differences of two reads are exact.
        return (1 + (37 * k + 11) % 29) / 1024

    def perf_counter(self):
        k, second = divmod(self.reads, 2)
        self.reads += 1
        return 16.0 * k + (self.duration(k) if second else 0.0)


def _quartiles(v):
    # statistics.quantiles(n=4)'s default "exclusive" method is the (n + 1) p rule, numpy's
    # "weibull": an independent implementation of the same definition.
    return np.percentile(v, [25, 50, 75], method="weibull")


def test_throughput_bench_reports_the_statistics_of_its_timed_calls(bench, tmp_path, capsys,
                                                                    monkeypatch):
    regs = ["none", "mixup", "logit_penalty"]
    clock = ScriptedClock()
    monkeypatch.setattr(bench, "time", types.SimpleNamespace(perf_counter=clock.perf_counter))
    out = tmp_path / "b.json"
    rows = bench.main(["--model", "cnn", "--width", "4", "--batch-size", "16", "--steps", "2",
                       "--rounds", "2", "--warmup", "1", "--cost-reps", "4", "--threads", "1",
                       "--regs", ",".join(regs), "--json", str(out)])
    # The documented schedule: one untimed warm-up step per reg, then 2 interleaved rounds
    # of 2 steps per reg; the same again for the regularizer's own work (4 reps / 2 rounds).
    assert clock.reads == 2 * (3 + 12 + 3 + 12)
    step_idx = {r: [3 + 6 * rnd + 2 * i + s for rnd in (0, 1) for s in (0, 1)]
                for i, r in enumerate(regs)}
    cost_idx = {r: [k + 15 for k in ks] for r, ks in step_idx.items()}
    assert [r["reg"] for r in rows] == regs
    med_none = np.median([clock.duration(k) for k in step_idx["none"]])
    cost_none = np.median([clock.duration(k) for k in cost_idx["none"]])
    for row in rows:
        steps = [clock.duration(k) for k in step_idx[row["reg"]]]
        cost = [clock.duration(k) for k in cost_idx[row["reg"]]]
        q1, med, q3 = _quartiles(steps)
        c1, cmed, c3 = _quartiles(cost)
        assert row["n_steps"] == 4
        # Float64 arithmetic on the same durations: equal to rounding.
        assert (row["q1_s"], row["median_step_s"], row["q3_s"]) == pytest.approx((q1, med, q3),
                                                                                  rel=1e-12)
        assert row["images_per_s"] == pytest.approx(16 / med, rel=1e-12)
        assert row["ratio_to_none"] == pytest.approx(med / med_none, rel=1e-12)
        assert (row["own_work_q1_s"], row["own_work_median_s"], row["own_work_q3_s"]) == \
            pytest.approx((c1, cmed, c3), rel=1e-12)
        assert row["added_step_fraction"] == pytest.approx((cmed - cost_none) / med_none,
                                                           rel=1e-12, abs=1e-15)
    assert len({r["median_step_s"] for r in rows}) == 3  # the script gives them apart
    printed = capsys.readouterr().out
    assert "| reg | median step (ms) |" in printed and "| reg | own work (ms) |" in printed
    for row in rows:  # the printed table is the returned numbers
        assert f"| {row['reg']} | {1e3 * row['median_step_s']:.1f} | " in printed
    assert json.loads(out.read_text())["results"] == json.loads(json.dumps(rows))


def test_throughput_bench_times_real_steps(bench):
    """Without the scripted clock: real, positive step times, none being the unit ratio."""
    rows = bench.main(["--model", "cnn", "--width", "4", "--batch-size", "16", "--steps", "2",
                       "--rounds", "1", "--warmup", "1", "--cost-reps", "0", "--threads", "1",
                       "--regs", "none,cutmix"])
    assert [r["reg"] for r in rows] == ["none", "cutmix"]
    for r in rows:
        assert r["n_steps"] == 2 and 0 < r["median_step_s"] < 10
    assert rows[0]["ratio_to_none"] == 1.0
