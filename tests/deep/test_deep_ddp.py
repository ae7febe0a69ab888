"""Data-parallel training under torchrun (CPU, gloo, 2 processes), each process holding only
its shard of the data: it equals one process with the same global batch, a stopped and
resumed 2-process run equals an uninterrupted one bit for bit, and a run resumes on another
number of processes."""

import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from conftest import one_torch_thread
from test_deep_train import _assert_bitwise_equal  # one definition, tests/deep is on sys.path

from deep import train as train_mod
from deep._dist import GlobalBatchNorm2d, ShardedRows, World, resolve_backend, sync_batchnorm
from deep._io import load_torch
from deep.config import TrainConfig

REPO = Path(__file__).resolve().parents[2]
GLOO = dist.is_available() and dist.is_gloo_available()
needs_gloo = pytest.mark.skipif(
    not GLOO, reason="this torch build has no torch.distributed with the gloo backend, which "
    "the CPU data-parallel tests run on")

# Tiny digits run (conftest's FAST) with crops, CutMix on half the batches and label
# smoothing: the augmentation and mixing draws are part of what must match across processes.
SETTING = dict(reg="cutmix", mix_prob=0.5, ls_eps=0.1, epochs=2, seed=0)
ARGS = ["--dataset", "digits", "--digits-size", "8", "--model", "cnn", "--width", "8",
        "--batch-size", "64", "--lr", "0.05", "--epochs", "2", "--reg", "cutmix",
        "--mix-prob", "0.5", "--ls-eps", "0.1", "--seed", "0", "--device", "cpu",
        "--no-progress"]
DROP = ("epoch_time_s", "train_images_per_s")


def _torchrun(out_dir, run_name, *extra):
    """Start ``torchrun --standalone --nproc-per-node 2 -m deep.train`` (a free port on
    loopback), one torch thread per process; :func:`_finish` waits for it."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    env.update(OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(
        filter(None, [str(REPO), env.get("PYTHONPATH")])))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
           "2", "-m", "deep.train", *ARGS, "--out-dir", str(out_dir), "--run-name", run_name,
           *extra]
    return subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _finish(proc):
    """The stdout of a :func:`_torchrun` that must succeed."""
    try:
        stdout, stderr = proc.communicate(timeout=100)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
    assert proc.returncode == 0, stdout[-2000:] + stderr[-4000:]
    return stdout


def _metrics(run):
    return [{k: v for k, v in json.loads(line).items() if k not in DROP}
            for line in (run / "metrics.jsonl").read_text().splitlines()]


def _in_one_process(out_dir, run_name, *extra):
    """The command of :func:`_torchrun` as a plain ``python -m deep.train``, in this process."""
    with one_torch_thread():
        return train_mod.main([*ARGS, "--out-dir", str(out_dir), "--run-name", run_name,
                               *extra])


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    """In one folder: an uninterrupted 2-process run ``straight``, a run ``stopped`` after
    epoch 1, and ``from_one``, stopped after epoch 1 in one process and resumed on 2 (the
    three torchruns started together: much of a launch is waiting); their stdouts. A copy
    of ``stopped`` as it was after epoch 1 is left in ``stopped_copy``."""
    if not GLOO:
        pytest.skip("no gloo backend")
    out = tmp_path_factory.mktemp("ddp")
    _in_one_process(out, "from_one", "--stop-after", "1")
    procs = {name: _torchrun(out, name, *extra)
             for name, extra in (("straight", ()), ("stopped", ("--stop-after", "1")),
                                 ("from_one", ("--resume",)))}
    stdout = {name: _finish(proc) for name, proc in procs.items()}
    shutil.copytree(out / "stopped", out / "stopped_copy")
    return out, stdout


@needs_gloo
def test_two_processes_equal_one_process_with_the_same_global_batch(two_processes, tmp_path,
                                                                    fast, digits_data):
    """2 processes x 32 images == 1 process x 64 images: the same batches, crops, CutMix
    boxes and partners (every generator state is bitwise equal at the end), and weights equal
    to float32 rounding. Rank 0 alone reports and writes the run directory."""
    out, stdout = two_processes
    run = out / "straight"
    train_mod.train(TrainConfig(**dict(fast, **SETTING), out_dir=str(tmp_path),
                                run_name="one"), data=digits_data)
    one, two = load_torch(tmp_path / "one" / "checkpoint.pt"), load_torch(run / "checkpoint.pt")
    _assert_bitwise_equal(one["rng"], two["rng"])
    assert one["epoch"] == two["epoch"] == 2 and one["scheduler"] == two["scheduler"]
    assert one["model"].keys() == two["model"].keys()  # batch norm names unchanged
    # The processes' sums (the all-reduced gradients, the batch-norm statistics) round
    # differently from one process's, by a few float32 ulps (eps = 1.2e-7) per step.
    # Measured here: max |difference| 3.6e-7 over all weights, momenta and running statistics
    # (|values| <= 1.04) after the 40 steps; the tolerance leaves a 25-fold margin. Rounding
    # can also tip a ReLU input or a max-pool pair lying within an ulp of a tie, which moves
    # later weights by up to 0.12: in 3 of 12 runs (seeds 0-5, CutMix and --reg none), and
    # as often and as far between 1 and 2 torch threads in one process (3 of 12, two of them
    # the same runs), so it is float arithmetic, not the sharding. Seed 0 has no switch.
    for key in ("model", "optimizer"):
        a, b = one[key], two[key]
        if key == "optimizer":
            a, b = ({i: s["momentum_buffer"] for i, s in d["state"].items()} for d in (a, b))
        for name in a:
            torch.testing.assert_close(b[name], a[name], rtol=1e-5, atol=1e-5, msg=str(name))
    m1, m2 = _metrics(tmp_path / "one"), _metrics(run)
    assert [m["lr"] for m in m1] == [m["lr"] for m in m2]
    # The mean training loss is all-reduced over the processes: the same to rounding.
    for a, b in zip(m1, m2, strict=True):
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-5)
        assert b["train_acc"] == pytest.approx(a["train_acc"], abs=1.5 / 1280)  # one image
        assert b["val_nll"] == pytest.approx(a["val_nll"], rel=1e-5)
    results = json.loads((run / "results.json").read_text())
    assert results["n_test"] == len(digits_data.x_test)  # every test image, gathered once
    saved = json.loads((run / "config.json").read_text())
    # Each process held only its shard on its device: of the training set the rows
    # i % 2 == rank, of the validation and test sets its half (World.share), images and
    # labels, in storage of its own (measured on each process, storage bytes).
    d = digits_data
    held = [sum(t[rows].numel() * t.element_size() for t, rows in (
        (d.x_train, slice(r, None, 2)), (d.y_train, slice(r, None, 2)),
        *((t, World(r, 2).share(len(t))[0]) for t in (d.x_val, d.y_val, d.x_test, d.y_test))))
        for r in range(2)]
    whole = sum(t.numel() * t.element_size() for t in (
        d.x_train, d.y_train, d.x_val, d.y_val, d.x_test, d.y_test))
    assert sum(held) == whole and max(held) < 0.51 * whole
    assert saved["distributed"] == {"world_size": 2, "backend": "gloo",
                                    "data_bytes_on_device": held}
    assert saved["config"]["batch_size"] == 64  # the global batch
    assert sorted(p.name for p in run.iterdir()) == [
        "checkpoint.pt", "config.json", "metrics.jsonl", "results.json"]
    assert stdout["straight"].count("test accuracy") == 1  # rank 0 reports


@needs_gloo
def test_stopped_and_resumed_two_processes_equal_an_uninterrupted_run(two_processes):
    """--stop-after 1, then --resume, both under torchrun: every process loads the one
    checkpoint, and the weights, optimizer, scheduler, generators and metrics equal the
    uninterrupted 2-process run bit for bit (the sums over 2 processes add two numbers,
    the same two in either run)."""
    out, stdout = two_processes
    assert "stopped after epoch 1" in stdout["stopped"]
    assert load_torch(out / "stopped" / "checkpoint.pt")["epoch"] == 1
    assert "test accuracy" in _finish(_torchrun(out, "stopped", "--resume"))
    _assert_bitwise_equal(load_torch(out / "stopped" / "checkpoint.pt"),
                          load_torch(out / "straight" / "checkpoint.pt"))
    assert _metrics(out / "stopped") == _metrics(out / "straight")


@needs_gloo
def test_stopping_torchrun_leaves_the_last_finished_epoch_and_the_resume_command(tmp_path):
    """SIGTERM to torchrun (a scheduler stopping the job): torchrun passes it on to both
    workers, and rank 0 writes the checkpoint of the last finished epoch although none was
    due (--checkpoint-every 1000), then prints the torchrun command that resumes."""
    import signal
    import time

    proc = _torchrun(tmp_path, "r", "--epochs", "1000", "--checkpoint-every", "1000")
    metrics = tmp_path / "r" / "metrics.jsonl"
    deadline = time.monotonic() + 100
    while not (metrics.exists() and metrics.read_text().count("\n") >= 1):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    assert not (tmp_path / "r" / "checkpoint.pt").exists()  # not due before epoch 1000
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert ("python -m deep.train: error: terminated (SIGTERM); resume with: torchrun "
            "--nproc-per-node 2 -m deep.train") in stderr, stderr[-3000:]
    epoch = load_torch(tmp_path / "r" / "checkpoint.pt")["epoch"]
    assert epoch >= 1 and len(_metrics(tmp_path / "r")) in (epoch, epoch + 1)


def _assert_close_runs(a, b):
    """Two runs that took the same steps with the sums split differently over processes:
    the same epoch, scheduler and generator states (bitwise), and weights, momenta and
    batch-norm statistics equal to float32 rounding (see the tolerance's comment above)."""
    _assert_bitwise_equal(a["rng"], b["rng"])
    assert a["epoch"] == b["epoch"] and a["scheduler"] == b["scheduler"]
    for key in ("model", "optimizer"):
        x, y = a[key], b[key]
        if key == "optimizer":
            x, y = ({i: s["momentum_buffer"] for i, s in d["state"].items()} for d in (x, y))
        assert x.keys() == y.keys()
        for name in x:
            torch.testing.assert_close(y[name], x[name], rtol=1e-5, atol=1e-5, msg=str(name))


@needs_gloo
def test_a_run_resumes_on_another_number_of_processes(two_processes):
    """Nothing in a checkpoint depends on the number of processes: a run stopped after
    epoch 1 in one process and resumed under torchrun on 2, and a run stopped on 2 and
    resumed in one process, both end as the uninterrupted 2-process run does (its
    generators bitwise, its weights to float32 rounding)."""
    out, stdout = two_processes
    straight = load_torch(out / "straight" / "checkpoint.pt")
    assert "test accuracy" in stdout["from_one"]
    # config.json is the 1-process run's: --resume keeps the file it finds.
    assert "distributed" not in json.loads((out / "from_one" / "config.json").read_text())
    _assert_close_runs(straight, load_torch(out / "from_one" / "checkpoint.pt"))
    assert [m["epoch"] for m in _metrics(out / "from_one")] == [1, 2]
    assert load_torch(out / "stopped_copy" / "checkpoint.pt")["epoch"] == 1
    result = _in_one_process(out, "stopped_copy", "--resume")
    assert result["finished"] and result["n_test"] == json.loads(
        (out / "straight" / "results.json").read_text())["n_test"]
    _assert_close_runs(straight, load_torch(out / "stopped_copy" / "checkpoint.pt"))


# ----------------------------------------------------------------------------- in one process


@contextlib.contextmanager
def _one_process_group():
    """A gloo group of one process over an in-memory store (no network)."""
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    try:
        yield
    finally:
        dist.destroy_process_group()


@needs_gloo
def test_global_batch_norm_equals_batch_norm_on_one_process():
    """GlobalBatchNorm2d (the CPU synchronised batch norm) with one process computes what
    nn.BatchNorm2d computes: outputs, gradients and running statistics, in train and eval
    mode, to float32 rounding (its two-pass sums order the additions differently)."""
    torch.manual_seed(0)
    ref = torch.nn.Sequential(torch.nn.BatchNorm2d(5))
    with torch.no_grad():
        ref[0].weight.uniform_(0.5, 2.0)
        ref[0].bias.uniform_(-1.0, 1.0)
    import copy

    net = sync_batchnorm(copy.deepcopy(ref), torch.device("cpu"))
    assert type(net[0]) is GlobalBatchNorm2d
    x = (3.0 + 2.0 * torch.randn(8, 5, 6, 6)).requires_grad_(True)  # mean far from 0
    w = torch.randn(8, 5, 6, 6)
    with _one_process_group():
        outs = []
        for model in (ref, net):
            for _ in range(2):  # two updates of the running statistics
                y = model(x)
            (g,) = torch.autograd.grad((y * w).sum(), x)
            outs.append((y, g, model[0].weight, model[0].running_mean, model[0].running_var))
            model.eval()
            outs[-1] += (model(x),)
    for a, b in zip(*outs, strict=True):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)  # float32, sums of 288 terms
    assert int(net[0].num_batches_tracked) == int(ref[0].num_batches_tracked) == 2


def test_world_from_the_torchrun_environment():
    assert World.from_env({}) == World() and not World().distributed and World().main
    w = World.from_env({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"})
    assert (w.rank, w.size, w.local_rank, w.distributed, w.main) == (3, 4, 1, True, False)
    assert w.rows(64) == slice(48, 64)
    # Training rows held: every 4th, from the rank on.
    assert list(range(10))[w.strided(10)] == [3, 7] and World().strided(5) == slice(0, 5, 1)
    # Evaluation shares: ceil(10 / 4) = 3 rows each; the last process gets the one left.
    assert [World(r, 4).share(10) for r in range(4)] == [
        (slice(0, 3), 3), (slice(3, 6), 3), (slice(6, 9), 3), (slice(9, 10), 3)]
    assert World(3, 4).share(5) == (slice(5, 5), 2)  # an empty share, padded to 2 rows
    assert World(0, 1).share(7) == (slice(0, 7), 7)
    assert w.device("cpu") == torch.device("cpu")
    assert w.device("cuda") == torch.device("cuda", 1)  # no GPU needed to name it
    with pytest.raises(ValueError, match=r"--device=cuda:0 under torchrun would put all 4 "
                                         r"processes on one GPU: expected --device cuda"):
        w.device("cuda:0")
    with pytest.raises(ValueError, match=r"the torchrun environment is incomplete \(RANK=None"):
        World.from_env({"WORLD_SIZE": "2"})
    with pytest.raises(ValueError, match=r"RANK=2, WORLD_SIZE=2, LOCAL_RANK=0: expected"):
        World.from_env({"RANK": "2", "WORLD_SIZE": "2", "LOCAL_RANK": "0"})


@needs_gloo
def test_backend_choice():
    cpu = torch.device("cpu")
    assert resolve_backend("auto", cpu) == "gloo" and resolve_backend("gloo", cpu) == "gloo"
    with pytest.raises(ValueError, match=r"--dist-backend=nccl runs on GPUs only, but this "
                                         r"run uses --device=cpu: expected gloo"):
        resolve_backend("nccl", cpu)


def test_a_batch_that_does_not_split_evenly_is_refused(tmp_path, fast, digits_data,
                                                       monkeypatch):
    """--batch-size must be a multiple of the number of processes; the run is refused
    before anything is written (checked here as rank 0 of 3, without a process group)."""
    monkeypatch.setattr(train_mod.World, "detect", classmethod(lambda cls: World(0, 3, 0)))
    monkeypatch.setattr(train_mod, "join_process_group", lambda *a: None)
    with pytest.raises(ValueError, match=r"--batch-size=64 does not split evenly over the 3 "
                                         r"processes of torchrun: expected a multiple of 3"):
        train_mod.train(TrainConfig(**fast, out_dir=str(tmp_path), run_name="r"),
                        data=digits_data)
    assert not any(tmp_path.iterdir())


def test_the_interrupt_hint_under_torchrun_is_the_torchrun_command(monkeypatch):
    from deep.cli import _ResumeHint

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert str(_ResumeHint("python -m deep.train", ["--reg", "ls"])) == (
        "python -m deep.train --reg ls")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert str(_ResumeHint("python -m deep.train", ["--reg", "ls"])) == (
        "torchrun --nproc-per-node 2 -m deep.train --reg ls")


@pytest.mark.parametrize("size", [2, 3])
def test_sharded_rows_hold_a_shard_and_put_every_batch_together(size):
    """Process r of N holds rows r, r + N, ... in storage of its own; what the processes
    send for a batch, gathered in rank order, puts together the batch of the whole tensors
    bit for bit on every process: random batches, one whose rows all belong to one process
    (others send only padding), and one that leaves a process out. No process group: the
    all-gather is the concatenation of the processes' sends."""
    gen = torch.Generator().manual_seed(size)
    n, b = 23, 6
    x = torch.rand(n, 2, 3, 3, generator=gen)  # images
    y = torch.randint(0, 10, (n,), generator=gen)  # labels
    shards = [ShardedRows((x, y), World(r, size), "cpu") for r in range(size)]
    for r, s in enumerate(shards):
        assert s.n == n and torch.equal(s.parts[0], x[r::size]) and torch.equal(s.parts[1],
                                                                                y[r::size])
        # Storage of its own, not a view of x: the whole tensor can be freed.
        assert s.nbytes() == s.parts[0].numel() * 4 + s.parts[1].numel() * 8 < x.numel() * 4
    index = torch.stack([torch.randperm(n, generator=gen)[:b] for _ in range(4)]
                        + [torch.arange(0, size * b, size),  # all rows of process 0
                           torch.arange(0, n)[torch.arange(n) % size != 1][:b]])  # none of 1
    pad = shards[0].pad(index)
    assert pad == b  # the batch of process 0's rows
    assert all(s.pad(index) == pad for s in shards)  # the same on every process
    for idx in index:
        sent = [s.send(idx, pad) for s in shards]
        assert all(len(t) == pad for part in sent for t in part)
        received = [torch.cat([part[k] for part in sent]) for k in range(2)]  # rank order
        for s in shards:
            xb, yb = s.assemble(received, idx, pad)
            assert torch.equal(xb, x[idx]) and torch.equal(yb, y[idx])


def test_sharded_rows_of_one_process_are_the_whole_tensors():
    x, y = torch.rand(7, 1, 2, 2), torch.arange(7)
    s = ShardedRows((x, y), World(), "cpu")
    assert s.parts[0] is x and s.parts[1] is y  # nothing copied: the single-process path
    index = torch.randperm(7, generator=torch.Generator().manual_seed(0))[:6].view(2, 3)
    for idx, (xb, yb) in zip(index, s.batches(index), strict=True):
        assert torch.equal(xb, x[idx]) and torch.equal(yb, y[idx])
    with pytest.raises(ValueError, match=r"tensors with \[7, 6\] rows: expected the same"):
        ShardedRows((x, y[:6]), World(), "cpu")


def test_evaluate_refuses_rows_that_are_not_the_share_of_this_process():
    """``evaluate(n=...)`` takes this process's share of the rows (World.share); anything
    else is refused before a collective could hang."""
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
    x, y = torch.rand(5, 1, 2, 2), torch.zeros(5, dtype=torch.int64)
    with pytest.raises(ValueError, match=r"evaluate\(n=10\) on process 1 of 2 was given 5 "
                                         r"images and 4 labels: expected this process's 5"):
        train_mod.evaluate(net, x, y[:4], n=10, world=World(1, 2))
    with pytest.raises(ValueError, match=r"was given 5 images and 5 labels: expected this "
                                         r"process's 4 rows of the 9"):
        train_mod.evaluate(net, x, y, n=9, world=World(1, 2))
