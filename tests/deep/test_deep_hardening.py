"""Hardening of the deep commands against bad files and interrupts.

Every command given a corrupted or foreign file (truncated, empty, random bytes, another
command's checkpoint or config, JSON of the wrong shape) exits with status 2 and one line
on stderr that names the file, and leaves every file on disk byte for byte as it was. An
interrupt (a real SIGINT to a real process) exits with status 130, keeps the checkpoint of
the last finished epoch intact, and prints the exact command that resumes the run, which
then continues bitwise as if never interrupted.
"""

import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from deep import summary, train, vae
from deep._io import load_torch

TRAIN = ["--dataset", "digits", "--digits-size", "8", "--width", "8", "--batch-size", "64",
         "--lr", "0.05", "--device", "cpu", "--threads", "1", "--no-progress"]
VAE = ["--dataset", "digits", "--digits-size", "8", "--width", "8", "--latent-dim", "4",
       "--batch-size", "64", "--device", "cpu", "--threads", "1", "--no-progress"]
COMMANDS = {"train": ("python -m deep.train", train.main), "vae": ("python -m deep.vae", vae.main),
            "summary": ("python -m deep.summary", summary.main)}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Finished one-epoch runs: a training run, one of another width, and a VAE run."""
    out = tmp_path_factory.mktemp("runs")
    threads = torch.get_num_threads()  # --threads 1 sets it for the process: restore it
    try:
        for name, extra in (("t", []), ("wide", ["--width", "16"])):
            train.main(TRAIN + ["--epochs", "1", "--out-dir", str(out), "--run-name", name, *extra])
        vae.main(VAE + ["--epochs", "1", "--out-dir", str(out), "--run-name", "v"])
    finally:
        torch.set_num_threads(threads)
    return out


def _snapshot(root: Path) -> dict:
    """Every path under ``root``: a file's bytes, or None for a directory."""
    return {str(p.relative_to(root)): None if p.is_dir() else p.read_bytes()
            for p in sorted(root.rglob("*"))}


def _random_bytes(n=1000):
    return np.random.default_rng(0).integers(0, 256, n, dtype=np.uint8).tobytes()


# Each corruption maps (the file's bytes, the fixture runs' folder) to the new bytes.
GARBLE = {
    "truncated": lambda b, runs: b[: len(b) // 2],
    "empty": lambda b, runs: b"",
    "random bytes": lambda b, runs: _random_bytes(),
    "text": lambda b, runs: b"not what you expected\n",
}
CHECKPOINTS = {
    "vae checkpoint.pt": lambda b, runs: (runs / "v" / "checkpoint.pt").read_bytes(),
    "vae.pt": lambda b, runs: (runs / "v" / "vae.pt").read_bytes(),
    "train checkpoint.pt": lambda b, runs: (runs / "t" / "checkpoint.pt").read_bytes(),
    "another width's checkpoint.pt": lambda b, runs: (runs / "wide" / "checkpoint.pt").read_bytes(),
}
JSONS = {
    "a JSON list": lambda b, runs: b"[1, 2, 3]",
    "no config object": lambda b, runs: b'{"seeds": {}}',
    "vae config.json": lambda b, runs: (runs / "v" / "config.json").read_bytes(),
    "train config.json": lambda b, runs: (runs / "t" / "config.json").read_bytes(),
    "vae results.json": lambda b, runs: (runs / "v" / "results.json").read_bytes(),
    "a string metric": lambda b, runs: b'{"test_acc": "high", "test_ece": 0, "test_nll": 0}',
}


def _cases(file, table, *names):
    """Parameters (file, corruption) for the named corruptions of ``table``."""
    return [pytest.param(file, table[n], id=f"{file}: {n}") for n in names]


def _assert_refused(capsys, tmp_path, command, argv, bad_file):
    """``command`` on ``argv`` exits 2 with one stderr line naming ``bad_file``, and every
    file under ``tmp_path`` is unchanged."""
    prog, main = COMMANDS[command]
    before = _snapshot(tmp_path)
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert e.value.code == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith(f"{prog}: error: ") and str(bad_file) in lines[0], err
    assert _snapshot(tmp_path) == before
    return lines[0]


def _corrupt(tmp_path, runs, run, file, corruption):
    shutil.copytree(runs / run, tmp_path / run)
    path = tmp_path / run / file
    path.write_bytes(corruption(path.read_bytes(), runs))
    return path


_TRAIN_RESUME = (
    _cases("checkpoint.pt", {**GARBLE, **CHECKPOINTS}, "truncated", "empty", "random bytes",
           "text", "vae checkpoint.pt", "vae.pt", "another width's checkpoint.pt")
    + _cases("config.json", {**GARBLE, **JSONS}, "truncated", "empty", "random bytes",
             "a JSON list", "no config object", "vae config.json")
    + _cases("metrics.jsonl", GARBLE, "truncated", "random bytes"))


@pytest.mark.parametrize("file, corruption", _TRAIN_RESUME)
def test_train_resume_refuses_a_corrupted_file(runs, tmp_path, capsys, file, corruption):
    bad = _corrupt(tmp_path, runs, "t", file, corruption)
    _assert_refused(capsys, tmp_path, "train", TRAIN + [
        "--epochs", "1", "--out-dir", str(tmp_path), "--run-name", "t", "--resume"], bad)


_VAE_RESUME = (
    _cases("checkpoint.pt", {**GARBLE, **CHECKPOINTS}, "truncated", "random bytes", "vae.pt",
           "train checkpoint.pt")
    + _cases("config.json", {**GARBLE, **JSONS}, "truncated", "train config.json")
    + _cases("metrics.jsonl", GARBLE, "random bytes"))


@pytest.mark.parametrize("file, corruption", _VAE_RESUME)
def test_vae_resume_refuses_a_corrupted_file(runs, tmp_path, capsys, file, corruption):
    bad = _corrupt(tmp_path, runs, "v", file, corruption)
    _assert_refused(capsys, tmp_path, "vae", VAE + [
        "--epochs", "1", "--out-dir", str(tmp_path), "--run-name", "v", "--resume"], bad)


@pytest.mark.parametrize("file, corruption", _cases(
    "vae.pt", {**GARBLE, **CHECKPOINTS}, "truncated", "empty", "random bytes", "text",
    "vae checkpoint.pt", "train checkpoint.pt"))
def test_varmixup_refuses_a_corrupted_vae_checkpoint(runs, tmp_path, capsys, file, corruption):
    bad = _corrupt(tmp_path, runs, "v", file, corruption)
    line = _assert_refused(capsys, tmp_path, "train", TRAIN + [
        "--epochs", "1", "--reg", "varmixup", "--vae-checkpoint", str(bad),
        "--out-dir", str(tmp_path / "out"), "--run-name", "r"], bad)
    assert f"--vae-checkpoint={bad}" in line
    assert not (tmp_path / "out").exists()  # no run directory for a refused run


_SUMMARY = (
    _cases("results.json", {**GARBLE, **JSONS}, "truncated", "empty", "random bytes",
           "a JSON list", "a string metric")
    + _cases("config.json", {**GARBLE, **JSONS}, "truncated", "random bytes", "a JSON list",
             "vae config.json"))


@pytest.mark.parametrize("file, corruption", _SUMMARY)
def test_summary_refuses_a_corrupted_file(runs, tmp_path, capsys, file, corruption):
    bad = _corrupt(tmp_path, runs, "t", file, corruption)
    shutil.copytree(runs / "wide", tmp_path / "wide")
    _assert_refused(capsys, tmp_path, "summary",
                    [str(tmp_path / "wide"), str(tmp_path / "t"),
                     "--json", str(tmp_path / "summary.json")], bad)


def test_a_vae_run_is_not_a_training_run(runs, tmp_path, capsys):
    """A run directory of the other command, whole: refused by its config.json."""
    shutil.copytree(runs / "v", tmp_path / "v")
    line = _assert_refused(capsys, tmp_path, "train", TRAIN + [
        "--epochs", "1", "--out-dir", str(tmp_path), "--run-name", "v", "--resume"],
        tmp_path / "v" / "config.json")
    assert "it is another command's run" in line


# ----------------------------------------------------------------------------- interrupts


def _spawn(module, argv, stderr):
    """``python -m module argv`` in a real process whose SIGINT raises KeyboardInterrupt
    (a process started from a non-interactive shell may inherit SIGINT ignored)."""
    return subprocess.Popen([sys.executable, "-m", module, *argv], stderr=stderr,
                            stdout=subprocess.DEVNULL, cwd=Path(__file__).parents[2],
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


@pytest.mark.parametrize(("command", "signum"), [("train", "SIGINT"), ("vae", "SIGINT"),
                                                 ("train", "SIGTERM")])
def test_an_interrupt_keeps_the_last_epoch_and_prints_the_resume_command(tmp_path, command,
                                                                         signum):
    """Ctrl-C (130), or SIGTERM (143: ``kill``, a scheduler's pre-emption, torchrun stopping
    its workers), mid-run."""
    prog, main = COMMANDS[command]
    module = prog.split()[-1]
    # Many epochs, so the run is still going when the signal comes; the progress bar on.
    argv = (TRAIN if command == "train" else VAE)[:-1] + [
        "--epochs", "1000", "--out-dir", str(tmp_path), "--run-name", "r"]
    run = tmp_path / "r"
    with open(tmp_path / "stderr", "wb") as err:
        proc = _spawn(module, argv, err)
        deadline = time.monotonic() + 60
        # The first epoch is done once its checkpoint exists and the bar shows "epoch=1".
        while not ((run / "checkpoint.pt").exists()
                   and b"epoch=1" in (tmp_path / "stderr").read_bytes()):
            assert proc.poll() is None and time.monotonic() < deadline, "no first epoch"
            time.sleep(0.02)
        time.sleep(0.05)  # into a later epoch: an interrupt mid-epoch (or mid-write)
        proc.send_signal(getattr(signal, signum))
        assert proc.wait(timeout=60) == (130 if signum == "SIGINT" else 143)
    lines = [ln for ln in (tmp_path / "stderr").read_text().splitlines() if ln.strip()]
    resume = f"{prog} {shlex.join(argv)} --resume"
    what = "interrupted" if signum == "SIGINT" else "terminated (SIGTERM)"
    assert lines[-1] == f"{prog}: error: {what}; resume with: {resume}"
    assert "Traceback" not in (tmp_path / "stderr").read_text()
    # Nothing half-written: no temporary files, a checkpoint that loads, no results.
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint.pt", "config.json",
                                                     "metrics.jsonl"]
    epoch = load_torch(run / "checkpoint.pt")["epoch"]
    n_lines = len((run / "metrics.jsonl").read_text().splitlines())
    assert epoch >= 1 and n_lines in (epoch, epoch + 1)  # a line may precede its checkpoint
    # The printed command continues the run (here one more epoch, --stop-after being a
    # steering option), bitwise as a run that was never interrupted.
    args = shlex.split(resume)[3:]
    out = main(args + ["--stop-after", str(epoch + 1), "--no-progress"])
    assert out["epochs_done"] == epoch + 1 and not out["finished"]
    main(argv + ["--run-name", "straight", "--stop-after", str(epoch + 1), "--no-progress"])
    a, b = (load_torch(tmp_path / n / "checkpoint.pt") for n in ("r", "straight"))
    weights = "model" if command == "train" else "state_dict"
    assert a["epoch"] == b["epoch"] == epoch + 1
    for k in a[weights]:
        assert torch.equal(a[weights][k], b[weights][k]), k
    assert len((run / "metrics.jsonl").read_text().splitlines()) == epoch + 1


def test_an_interrupt_before_the_first_epoch_says_to_start_over(tmp_path, monkeypatch, capsys):
    """Before any checkpoint there is nothing to resume: the hint is the same command."""
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train, "epoch_batches", interrupted)
    argv = TRAIN + ["--epochs", "2", "--out-dir", str(tmp_path), "--run-name", "r"]
    with pytest.raises(SystemExit) as e:
        train.main(argv)
    assert e.value.code == 130
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line == (f"python -m deep.train: error: interrupted; resume with: python -m "
                    f"deep.train {shlex.join(argv)} (no epoch had finished, so this starts "
                    "the run over)")
    assert not (tmp_path / "r" / "checkpoint.pt").exists()
    # And so it does: the same command runs.
    monkeypatch.undo()
    assert train.main(argv)["finished"]
