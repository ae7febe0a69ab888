"""logitreg.cli: the shared flags of the simulations and the error -> exit status mapping."""

import argparse

import pytest

from logitreg.cli import parse_run_args, run_command


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
    (KeyboardInterrupt(), 130)])
def test_run_command_maps_each_error_to_one_line_and_a_status(exc, status, capsys):
    def job():
        raise exc

    assert run_command("x", job, diverged_flag="--eta", resume="python x.py") == status
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln]
    assert len(lines) == 1 and lines[0].startswith("x: error:")
    if status == 130:
        assert "resume with: python x.py" in lines[0]
    if isinstance(exc, FloatingPointError):
        assert "--eta" in lines[0]
