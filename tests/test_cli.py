"""logitreg.cli: the shared flags of the simulations and the error -> exit status mapping."""

import argparse
import importlib.util
import re

import pytest

from logitreg.cli import Terminated, parse_run_args, run_command
from logitreg.sweep import SCHEDULER_ENV


def _parser():
    p = argparse.ArgumentParser(prog="x")
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--seeds", type=int, default=20)
    return p


def test_quick_defaults_apply_explicit_flags_win_and_config_omits_steering_flags():
    a, config = parse_run_args(_parser(), ["--quick", "--seeds", "3"], {"n": 200, "seeds": 2})
    assert (a.n, a.seeds, a.quick) == (200, 3, True)
    assert config == {"n": 200, "seeds": 3, "quick": True}  # no out, restart, jobs
    a, config = parse_run_args(_parser(), ["--jobs", "2", "--out", "o"], {"n": 200})
    assert (a.n, a.jobs, a.out) == (2000, 2, "o") and "jobs" not in config


@pytest.mark.parametrize(("exc", "status"), [
    (ValueError("n must be > 0; got n=-1"), 2), (FileNotFoundError("f.json"), 2),
    (FloatingPointError("diverged"), 1), (RuntimeError("flow gave up"), 1),
    (KeyboardInterrupt(), 130), (Terminated(), 143)])
def test_run_command_maps_each_error_to_one_line_and_a_status(exc, status, capsys):
    def job():
        raise exc

    assert run_command("x", job, diverged_flag="--eta", resume="python x.py") == status
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln]
    assert len(lines) == 1 and lines[0].startswith("x: error:")
    if status in (130, 143):
        assert "resume with: python x.py" in lines[0]
        assert ("terminated (SIGTERM)" in lines[0]) == (status == 143)
    if isinstance(exc, FloatingPointError):
        assert "--eta" in lines[0]


def _without_dask(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "distributed" else real(name, *a))


def test_backend_and_scheduler_steer_but_stay_out_of_the_config(monkeypatch):
    """Switching --backend must reuse the cached points: neither flag enters the config
    (the cache keys and the default --out folder derive from it)."""
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())  # Dask "there"
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    a, config = parse_run_args(_parser(), ["--backend", "dask", "--scheduler", "tcp://h:8786"],
                               {})
    assert (a.backend, a.scheduler) == ("dask", "tcp://h:8786")
    assert config == parse_run_args(_parser(), [], {})[1] == {"n": 2000, "seeds": 20,
                                                              "quick": False}
    a, _ = parse_run_args(_parser(), [], {})
    assert (a.backend, a.scheduler) == ("loky", None)  # the local backend stays the default
    # The scheduler may come from the environment instead.
    monkeypatch.setenv(SCHEDULER_ENV, "tcp://h:8786")
    a, _ = parse_run_args(_parser(), ["--backend", "dask"], {})
    assert a.backend == "dask" and a.scheduler is None  # resolved by the sweep


@pytest.mark.parametrize(("argv", "message"), [
    (["--backend", "dask"], r"--backend dask needs --scheduler tcp://HOST:PORT \(or "
                            + SCHEDULER_ENV),
    (["--scheduler", "tcp://h:1"], r"--scheduler tcp://h:1 is used only with --backend dask"),
    (["--backend", "ray"], r"argument --backend: invalid choice: 'ray'"),
])
def test_a_bad_backend_combination_is_a_usage_error_naming_the_flag(argv, message, capsys,
                                                                     monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    with pytest.raises(SystemExit) as exc:
        parse_run_args(_parser(), argv, {})
    assert exc.value.code == 2
    assert re.search(message, capsys.readouterr().err)


def test_backend_dask_without_dask_names_the_extra(capsys, monkeypatch):
    _without_dask(monkeypatch)
    with pytest.raises(SystemExit) as exc:
        parse_run_args(_parser(), ["--backend", "dask", "--scheduler", "tcp://h:1"], {})
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--backend dask" in err and "pip install 'logitreg[dask]'" in err
