"""Training end to end on digits: every regularizer learns, resume is exact, errors are clear."""

import json

import pytest
import torch

from deep import train as train_mod
from deep._io import load_torch
from deep.config import REGS, TrainConfig


def _metrics(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("reg", [r for r in REGS if r != "none"])
def test_each_regularizer_learns(tmp_path, fast, digits_data, vae_checkpoint, reg):
    cfg = TrainConfig(**fast, reg=reg, out_dir=str(tmp_path),
                      vae_checkpoint=str(vae_checkpoint) if reg == "varmixup" else None)
    out = train_mod.train(cfg, data=digits_data)
    m = _metrics(tmp_path / out["run_dir"].split("/")[-1])
    assert len(m) == fast["epochs"]
    assert m[-1]["train_loss"] < 0.8 * m[0]["train_loss"]
    assert out["test_acc"] > 0.3  # chance is 0.1 on 10 balanced classes
    assert 0 <= out["test_ece"] <= 1


def test_cli_trains_and_prints_accuracy_and_ece(tmp_path, capsys, fast):
    args = ["--dataset", "digits", "--digits-size", "8", "--width", "8", "--batch-size", "64",
            "--epochs", "4", "--lr", "0.05", "--no-progress", "--device", "cpu",
            "--out-dir", str(tmp_path), "--run-name", "r", "--seed", "0"]
    out = train_mod.main(args)
    printed = capsys.readouterr().out
    assert "test accuracy" in printed and "ECE" in printed
    assert out["test_acc"] > 0.5
    m = _metrics(tmp_path / "r")
    assert m[-1]["train_loss"] < 0.5 * m[0]["train_loss"]
    saved = json.loads((tmp_path / "r" / "config.json").read_text())
    assert saved["config"]["ls_eps"] == 0.0 and saved["config"]["crop_pad"] == 1  # resolved
    assert set(saved["seeds"]) == set(train_mod.SEED_STREAMS)
    # Provenance as in logitreg's result files: the commit and, apart, whether the tree
    # had local changes (None outside a git checkout).
    assert {"git_hash", "git_dirty"} <= set(saved) and saved["git_dirty"] in (True, False, None)
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    assert results["test_acc"] == out["test_acc"]
    # OE's terms are ECE's, times a confidence <= 1, where over-confident.
    assert 0 <= results["test_oe"] <= results["test_ece"] <= 1
    assert 0.1 <= results["test_confidence"] <= 1  # K = 10: max-softmax >= 1/K
    assert {"val_oe", "val_confidence"} <= set(m[-1])


def _state(run_dir):
    return load_torch(run_dir / "checkpoint.pt")


def _assert_bitwise_equal(a, b):
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], dict):
            _assert_bitwise_equal(a[k], b[k])
        elif isinstance(a[k], torch.Tensor):
            assert torch.equal(a[k], b[k]), k
        else:
            assert a[k] == b[k], k


@pytest.mark.parametrize("reg_kw", [
    dict(reg="cutmix", mix_prob=0.5, ls_eps=0.1),
    dict(reg="varmixup", varmix_latent="sample", varmix_clean_frac=0.25),
], ids=["cutmix+ls", "varmixup"])
def test_resume_is_bitwise_exact(tmp_path, fast, digits_data, vae_checkpoint, reg_kw):
    """2 epochs in one go == 1 epoch, stop, --resume, 1 epoch: weights, optimizer,
    scheduler and every generator state, bitwise, on the CPU."""
    if reg_kw["reg"] == "varmixup":
        reg_kw = dict(reg_kw, vae_checkpoint=str(vae_checkpoint))
    kw = dict(fast, epochs=2, out_dir=str(tmp_path), **reg_kw)
    train_mod.train(TrainConfig(**kw, run_name="straight"), data=digits_data)
    first = train_mod.train(TrainConfig(**kw, run_name="resumed", stop_after=1), data=digits_data)
    assert not first["finished"] and _state(tmp_path / "resumed")["epoch"] == 1
    out = train_mod.train(TrainConfig(**kw, run_name="resumed", resume=True), data=digits_data)
    assert out["finished"]
    a, b = _state(tmp_path / "straight"), _state(tmp_path / "resumed")
    _assert_bitwise_equal(a["model"], b["model"])
    _assert_bitwise_equal(a["optimizer"], b["optimizer"])
    _assert_bitwise_equal(a["rng"], b["rng"])
    assert a["scheduler"] == b["scheduler"]
    drop = ("epoch_time_s", "train_images_per_s")
    strip = [{k: v for k, v in r.items() if k not in drop} for r in _metrics(tmp_path / "straight")]
    assert strip == [{k: v for k, v in r.items() if k not in drop}
                     for r in _metrics(tmp_path / "resumed")]


def test_same_seed_same_weights_other_seed_other_weights(tmp_path, fast, digits_data):
    kw = dict(fast, epochs=1, reg="mixup", out_dir=str(tmp_path))
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        train_mod.train(TrainConfig(**kw, run_name=name, seed=seed), data=digits_data)
    a, b, c = (_state(tmp_path / n)["model"] for n in "abc")
    _assert_bitwise_equal(a, b)
    assert not torch.equal(a["head.weight"], c["head.weight"])


def test_load_model_reads_the_representation(tmp_path, fast, digits_data):
    cfg = TrainConfig(**dict(fast, epochs=1), feature_dim=2, out_dir=str(tmp_path), run_name="r")
    train_mod.train(cfg, data=digits_data)
    model = train_mod.load_model(tmp_path / "r")
    z = model.features(digits_data.x_test[:5])
    assert z.shape == (5, 2)
    torch.testing.assert_close(model.head(z), model(digits_data.x_test[:5]), rtol=0, atol=0)


def test_lr_schedules():
    f = train_mod.lr_factor
    assert f(0, 100, "cosine", (), 0.1) == 1.0 and f(100, 100, "cosine", (), 0.1) == 0.0
    assert f(50, 100, "cosine", (), 0.1) == pytest.approx(0.5)
    assert [f(s, 100, "multistep", (0.5, 0.75), 0.1) for s in (49, 50, 75)] == pytest.approx(
        [1.0, 0.1, 0.01])
    assert f(77, 100, "constant", (), 0.1) == 1.0
    # A warm-up of 10 steps ramps the schedule's rate linearly, then leaves it alone.
    assert [f(s, 100, "constant", (), 0.1, 10) for s in (0, 4, 9, 50)] == pytest.approx(
        [0.1, 0.5, 1.0, 1.0])
    assert f(4, 100, "cosine", (), 0.1, 10) == pytest.approx(0.5 * f(4, 100, "cosine", (), 0.1))
    assert f(60, 100, "multistep", (0.5,), 0.1, 10) == pytest.approx(0.1)


def test_warmup_and_the_no_decay_group_reach_the_optimizer(tmp_path, fast, digits_data):
    """--warmup-epochs: the rate after the first epoch is the ramped schedule's;
    --no-decay-norm-bias: biases, norm weights and a ViT's class token and position
    embeddings train without weight decay, every other parameter with it."""
    cfg = TrainConfig(**{**fast, "epochs": 4}, warmup_epochs=2.0, out_dir=str(tmp_path),
                      run_name="w")
    train_mod.train(cfg, data=digits_data)
    lines = (tmp_path / "w" / "metrics.jsonl").read_text().splitlines()
    S = len(digits_data.y_train) // fast["batch_size"]  # steps per epoch
    expected = fast["lr"] * train_mod.lr_factor(S, 4 * S, "cosine", (), 0.1, 2 * S)
    assert json.loads(lines[0])["lr"] == pytest.approx(expected)
    assert expected < fast["lr"] * train_mod.lr_factor(S, 4 * S, "cosine", (), 0.1)
    with pytest.raises(ValueError, match=r"--warmup-epochs=5\.0 .*between 0 and --epochs"):
        TrainConfig(**fast, warmup_epochs=5.0)

    from deep.models import build_model

    model = build_model("vit", 1, 10, torch.zeros(1), torch.ones(1), 8)
    vit_cfg = TrainConfig(**{**fast, "model": "vit"}, decay_norm_bias=False).resolved(False)
    opt, _ = train_mod._optimizer(vit_cfg, model, 10, 5)
    decay, exempt = opt.param_groups
    names = {id(p): n for n, p in model.named_parameters()}
    exempt_names = {names[id(p)] for p in exempt["params"]}
    assert exempt["weight_decay"] == 0.0 and decay["weight_decay"] == vit_cfg.weight_decay
    assert {"body.vit.class_token", "body.vit.encoder.pos_embedding", "head.bias"} <= exempt_names
    assert all(p.ndim >= 2 for p in decay["params"]) and "head.weight" not in exempt_names
    assert len(decay["params"]) + len(exempt["params"]) == len(list(model.parameters()))
    assert len(train_mod._optimizer(TrainConfig(**fast).resolved(False), model, 10, 5)[0]
               .param_groups) == 1  # the default: one group, every parameter decayed


# ----------------------------------------------------------------------------- errors


def _cli_error(capsys, args):
    with pytest.raises(SystemExit) as e:  # later flags win: the defaults go first
        train_mod.main(["--no-progress", "--device", "cpu", "--epochs", "1"] + args)
    assert e.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("args, expected", [
    (["--dataset", "imagenet"], "argument --dataset: invalid choice: 'imagenet' (choose from"),
    (["--model", "vgg"], "argument --model: invalid choice: 'vgg'"),
    (["--reg", "dropout"], "argument --reg: invalid choice: 'dropout'"),
    (["--ls-eps", "1.0"], "--ls-eps=1.0 is outside [0.0, 1.0): expected a label-smoothing"),
    (["--ls-eps", "-0.1"], "--ls-eps=-0.1 is outside [0.0, 1.0)"),
    (["--mix-alpha", "0"], "--mix-alpha=0.0 is outside (0.0, inf): expected a Beta(alpha, alpha)"),
    (["--reg", "varmixup"], "--reg varmixup needs --vae-checkpoint"),
    (["--reg", "varmixup", "--vae-checkpoint", "/no/vae.pt"],
     "--vae-checkpoint=/no/vae.pt does not exist: expected the vae.pt written by"),
    (["--dataset", "cifar10", "--data-root", "/no/data"],
     "--data-root=/no/data does not exist: data set cifar10 expects cifar-10-batches-py/"),
    (["--epochs", "ten"], "argument --epochs: invalid int value: 'ten'"),
    (["--milestones", "0.8,0.5"], "--milestones=0.8,0.5 is not valid: expected increasing"),
    (["--device", "tpu"], "--device='tpu' is not valid: expected auto, cpu, cuda or cuda:N"),
    (["--run-name", "../escape"], "--run-name='../escape' is not valid: expected a plain "
                                  "folder name inside --out-dir (not empty, no path separator, "
                                  "not starting with '.')"),
    (["--run-name", "/tmp/abs"], "--run-name='/tmp/abs' is not valid"),
    (["--run-name", "a/b"], "--run-name='a/b' is not valid"),
    (["--run-name", ""], "--run-name='' is not valid"),
    (["--run-name", ".hidden"], "--run-name='.hidden' is not valid"),
    (["--run-name", ".."], "--run-name='..' is not valid"),
])
def test_cli_errors_name_flag_value_and_expectation(capsys, tmp_path, args, expected):
    """Each error is one line "prog: error: ..." (exit status 2), except a flag argparse
    itself cannot parse, which keeps argparse's usage line."""
    err = _cli_error(capsys, args + ["--out-dir", str(tmp_path)])
    assert expected in err
    if not expected.startswith("argument "):
        assert err == f"python -m deep.train: error: {expected}" + err.split(expected, 1)[1]
        assert err.count("\n") == 1
    assert not any(tmp_path.iterdir())  # nothing written for a refused run


def test_run_name_is_checked_in_the_python_api_too():
    from deep.config import VAEConfig

    for cls in (TrainConfig, VAEConfig):
        with pytest.raises(ValueError, match=r"--run-name='\.\./x' is not valid"):
            cls(run_name="../x")
    assert TrainConfig(run_name="digits-cnn-mixup-seed0.v2").run_name.endswith(".v2")


def test_vae_of_another_dataset_shape_is_rejected(capsys, tmp_path, vae_checkpoint):
    err = _cli_error(capsys, ["--reg", "varmixup", "--vae-checkpoint", str(vae_checkpoint),
                              "--digits-size", "16", "--out-dir", str(tmp_path)])
    assert f"--vae-checkpoint={vae_checkpoint} was trained on digits images of shape 1x8x8" in err
    assert "this run uses digits images of shape 1x16x16" in err


def test_run_directory_errors(tmp_path, fast, digits_data):
    kw = dict(fast, epochs=1, out_dir=str(tmp_path), run_name="r")
    with pytest.raises(FileNotFoundError, match=r"--resume: .*checkpoint.pt does not exist"):
        train_mod.train(TrainConfig(**kw, resume=True), data=digits_data)
    train_mod.train(TrainConfig(**kw), data=digits_data)
    with pytest.raises(ValueError, match=r"--run-name=r: .* already holds a checkpoint"):
        train_mod.train(TrainConfig(**kw), data=digits_data)
    with pytest.raises(ValueError, match=r"--resume: .*/r holds a run with another "
                       r"configuration \(--seed: 0 -> 1, --lr: 0.05 -> 0.1\): expected the same "
                       r"options as the original run \(only .*--threads.* may change\)"):
        train_mod.train(TrainConfig(**dict(kw, lr=0.1, seed=1), resume=True), data=digits_data)
    (tmp_path / "r" / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"--resume: .*config.json does not exist"):
        train_mod.train(TrainConfig(**kw, resume=True), data=digits_data)


def test_config_is_type_checked():
    with pytest.raises(TypeError, match=r"--epochs expects int; got '3' \(str\)"):
        TrainConfig(epochs="3")
    with pytest.raises(TypeError, match=r"--ls-eps expects float or None; got True"):
        TrainConfig(ls_eps=True)
    assert TrainConfig(mix_alpha=1).mix_alpha == 1  # an int is a valid float


def test_every_option_has_a_help_line():
    from deep.cli import build_parser
    from deep.config import VAEConfig

    for cls in (TrainConfig, VAEConfig):
        parser = build_parser(cls, "p", "d")
        options = [a for a in parser._actions if a.dest != "help"]
        assert len(options) == len(cls.__dataclass_fields__)
        assert all(a.help and len(a.help) > 10 for a in options)


def _imported_after(code):
    """The top-level modules and deep's own modules loaded by ``code`` in a fresh process."""
    import subprocess
    import sys

    probe = f"import sys; {code}; print(sorted(m for m in sys.modules if '.' not in m or " \
            "m.startswith('deep.')))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    return set(eval(out.stdout))


def test_deep_never_imports_cvxpy():
    """deep/ builds on logitreg but runs without cvxpy (the GPU image has none): training,
    the VAE and a config validation never load it."""
    mods = _imported_after("import deep.train, deep.vae; deep.train.TrainConfig()")
    assert "logitreg" in mods and not mods & {"cvxpy", "clarabel"}


def test_modules_import_one_way():
    """deep.config imports neither deep.data nor torch, and deep.summary does not load the
    trainer (config -> data -> train, never back)."""
    mods = _imported_after("import deep.config")
    assert not mods & {"deep.data", "torch", "deep.train"}
    mods = _imported_after("import deep.summary")
    assert not mods & {"deep.train", "deep.data", "deep.vae"}


def test_files_of_a_run_are_readable_by_group_and_others(tmp_path, fast, digits_data):
    """Atomic writes go through a temp file (created 0600); the files they leave must get
    the mode a plain open() gives under the umask, as logitreg.io.atomic_write does."""
    import os
    import stat

    old = os.umask(0o022)
    try:
        train_mod.train(TrainConfig(**dict(fast, epochs=1), out_dir=str(tmp_path),
                                    run_name="r"), data=digits_data)
    finally:
        os.umask(old)
    for name in ("config.json", "metrics.jsonl", "results.json", "checkpoint.pt"):
        mode = stat.S_IMODE((tmp_path / "r" / name).stat().st_mode)
        assert mode & 0o044 == 0o044, f"{name}: {oct(mode)}"


def test_resume_accepts_changed_steering_options(tmp_path, fast, digits_data):
    """Options marked steers (progress bar, threads, time-boxing) may change on --resume;
    the run continues and finishes."""
    kw = dict(fast, epochs=2, out_dir=str(tmp_path), run_name="r")
    train_mod.train(TrainConfig(**kw, stop_after=1), data=digits_data)
    out = train_mod.train(TrainConfig(**dict(kw, progress=True), threads=1, resume=True),
                          data=digits_data)
    assert out["finished"] and out["epochs_done"] == 2


# ----------------------------------------------------------------------------- GPU paths on CPU


def test_bf16_channels_last_path_matches_fp32_on_cpu(tmp_path, fast, digits_data):
    """The CUDA defaults (bf16 autocast, channels_last) also run on the CPU, so their code
    path is checked here even without a GPU: the first epoch's mean loss matches fp32 to
    bf16 precision, and the run learns."""
    kw = dict(fast, reg="mixup", out_dir=str(tmp_path))
    out32 = train_mod.train(TrainConfig(**kw, run_name="fp32"), data=digits_data)
    out16 = train_mod.train(TrainConfig(**kw, run_name="bf16", precision="bf16",
                                        channels_last=True), data=digits_data)
    m32, m16 = _metrics(tmp_path / "fp32"), _metrics(tmp_path / "bf16")
    # bf16 keeps 8 significant bits (relative rounding 2^-9 ~ 0.2 % per op); over one epoch
    # of a tiny CNN the mean loss stays within 2 %, while a wrong path would miss by far more.
    assert m16[0]["train_loss"] == pytest.approx(m32[0]["train_loss"], rel=0.02)
    assert m16[-1]["train_loss"] < 0.8 * m16[0]["train_loss"]
    assert out16["test_acc"] > 0.3 and abs(out16["test_acc"] - out32["test_acc"]) < 0.15


@pytest.mark.slow
def test_compiled_model_trains_and_resumes_on_cpu(tmp_path, fast, digits_data):
    """--compile (torch.compile, inductor on the CPU; about a minute) learns, saves the plain
    model's weights, and a compiled run resumes without compilation and vice versa."""
    kw = dict(fast, epochs=2, reg="cutmix", out_dir=str(tmp_path), run_name="r")
    first = train_mod.train(TrainConfig(**kw, compile=True, stop_after=1), data=digits_data)
    assert not first["finished"]
    state = _state(tmp_path / "r")["model"]
    assert not any(k.startswith("_orig_mod") for k in state)  # loadable without compile
    out = train_mod.train(TrainConfig(**kw, resume=True), data=digits_data)
    assert out["finished"] and out["test_acc"] > 0.3
    kw2 = dict(kw, run_name="r2")
    train_mod.train(TrainConfig(**kw2, stop_after=1), data=digits_data)
    out2 = train_mod.train(TrainConfig(**kw2, compile=True, resume=True), data=digits_data)
    assert out2["finished"] and out2["test_acc"] > 0.3
    m = _metrics(tmp_path / "r")
    assert m[1]["train_loss"] < m[0]["train_loss"]


@pytest.mark.slow
def test_inductor_compiles_nothing_after_the_first_epoch_on_cpu(tmp_path, fast, digits_data,
                                                                 monkeypatch):
    """--compile with the default --compile-mode (reduce-overhead; CUDA graphs are skipped
    on the CPU) through inductor: the graphs of training and evaluation are built in epoch 1,
    and epochs 2-3 and the test evaluation build none."""
    from torch._dynamo.utils import counters

    per_epoch = []
    real_append = train_mod.append_metrics

    def append(path, record, keep_epochs=None):
        real_append(path, record, keep_epochs)
        per_epoch.append(counters["stats"]["unique_graphs"])

    monkeypatch.setattr(train_mod, "append_metrics", append)
    torch._dynamo.reset()
    counters.clear()
    out = train_mod.train(TrainConfig(**dict(fast, epochs=3), compile=True,
                                      out_dir=str(tmp_path), run_name="r"), data=digits_data)
    assert out["finished"] and per_epoch[0] == 2
    assert per_epoch == [2, 2, 2] and counters["stats"]["unique_graphs"] == 2
    torch._dynamo.reset()


def test_divergence_stops_the_run_and_keeps_the_last_finite_checkpoint(tmp_path, capsys):
    """lr = 1e6 turns the loss into NaN in the first epoch; the command exits with status 1
    and a message naming --lr, and writes no NaN metrics or results."""
    args = ["--dataset", "digits", "--digits-size", "8", "--width", "8", "--batch-size", "64",
            "--epochs", "2", "--lr", "1e6", "--no-progress", "--device", "cpu",
            "--out-dir", str(tmp_path), "--run-name", "r"]
    with pytest.raises(SystemExit) as e:
        train_mod.main(args)
    assert e.value.code == 1
    err = capsys.readouterr().err
    assert "training diverged in epoch 1: mean training loss nan; no checkpoint was" in err
    assert "try a smaller --lr (it was 1e+06)" in err
    run = tmp_path / "r"
    assert not (run / "checkpoint.pt").exists() and not (run / "results.json").exists()
    assert not (run / "metrics.jsonl").exists()
    assert err.count("\n") == 1 and err.startswith("python -m deep.train: error: training")


def test_an_exploding_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path, capsys):
    """Divergence beyond NaN: the lr jumps 1000-fold after epoch 1 (multistep, gamma 1000),
    the loss explodes past 1000 log K while still finite; exit status 1 naming --lr,
    checkpoint.pt keeps epoch 1, and no results.json."""
    args = ["--dataset", "digits", "--digits-size", "8", "--width", "8", "--batch-size", "64",
            "--epochs", "2", "--lr", "0.05", "--schedule", "multistep", "--milestones", "0.5",
            "--lr-gamma", "1000", "--no-progress", "--device", "cpu",
            "--out-dir", str(tmp_path), "--run-name", "r"]
    with pytest.raises(SystemExit) as e:
        train_mod.main(args)
    assert e.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "training diverged in epoch 2: mean training loss " in err
    assert "exceeds 1000 log K = 2303 (K = 10; log K is the loss of a uniform prediction)" in err
    assert f"{tmp_path / 'r' / 'checkpoint.pt'} holds epoch 1, the last good one" in err
    assert "try a smaller --lr (it was 0.05)" in err
    run = tmp_path / "r"
    assert load_torch(run / "checkpoint.pt")["epoch"] == 1 and not (run / "results.json").exists()
    assert len(_metrics(run)) == 1


def test_explosion_limit_is_far_above_a_healthy_loss():
    import math

    limit, text = train_mod.explosion_limit(10)
    assert limit == pytest.approx(1000 * math.log(10)) and "1000 log K = 2303" in text
    assert train_mod.explosion_limit(100)[0] == pytest.approx(1000 * math.log(100))


def test_paths_that_cannot_hold_a_run_are_bad_input(tmp_path, capsys):
    """--out-dir naming a file, or a folder below a file: one line, exit status 2."""
    a_file = tmp_path / "f"
    a_file.write_text("x")
    err = _cli_error(capsys, ["--out-dir", str(a_file)])
    assert err == (f"python -m deep.train: error: --out-dir: {a_file} is a file: expected a "
                   "directory (or none yet) for the run's files\n")
    err = _cli_error(capsys, ["--digits-size", "8", "--width", "8", "--out-dir",
                              str(a_file / "below")])
    assert err.startswith("python -m deep.train: error: [Errno 20] Not a directory: ")
    assert err.count("\n") == 1 and "check --out-dir" in err
    assert a_file.read_text() == "x"


# ----------------------------------------------------------------------------- checkpoints


def _saved_epochs(monkeypatch):
    """The epochs of every checkpoint.pt that train() writes, in order (from its writer
    thread, which saves through deep.train.atomic_torch_save)."""
    saved = []
    real = train_mod.atomic_torch_save

    def record(path, state):
        real(path, state)
        saved.append(state["epoch"])

    monkeypatch.setattr(train_mod, "atomic_torch_save", record)
    return saved


def test_checkpoints_every_n_epochs_and_at_the_last(tmp_path, fast, digits_data, monkeypatch):
    """--checkpoint-every 2: epochs 2 and 4 and the last, 5; a --stop-after 3 run writes its
    last epoch too, and resuming it keeps the cadence of the epoch numbers."""
    saved = _saved_epochs(monkeypatch)
    kw = dict(fast, epochs=5, checkpoint_every=2, out_dir=str(tmp_path))
    train_mod.train(TrainConfig(**kw, run_name="a"), data=digits_data)
    assert saved == [2, 4, 5]
    saved.clear()
    train_mod.train(TrainConfig(**kw, run_name="b", stop_after=3), data=digits_data)
    assert saved == [2, 3] and _state(tmp_path / "b")["epoch"] == 3
    saved.clear()
    train_mod.train(TrainConfig(**kw, run_name="b", resume=True), data=digits_data)
    assert saved == [4, 5]
    _assert_bitwise_equal(_state(tmp_path / "a"), _state(tmp_path / "b"))


def _interrupt_in_epoch(monkeypatch, epoch, after_steps):
    """Make train() raise KeyboardInterrupt after ``after_steps`` steps of ``epoch`` (1-based)."""
    real = train_mod.epoch_batches
    calls = []

    def batches(*args, **kwargs):
        idx = real(*args, **kwargs)
        calls.append(None)
        if len(calls) < epoch:
            return idx

        def rows():
            yield from idx[:after_steps]
            raise KeyboardInterrupt

        return rows()

    monkeypatch.setattr(train_mod, "epoch_batches", batches)


def test_an_interrupt_mid_epoch_writes_the_last_finished_epoch(tmp_path, capsys, monkeypatch):
    """With --checkpoint-every 10, an interrupt in epoch 3 still leaves the checkpoint of
    epoch 2 (not a multiple of 10) and prints the resume command, which continues bitwise
    like a run that was never interrupted."""
    argv = ["--dataset", "digits", "--digits-size", "8", "--width", "8", "--batch-size", "64",
            "--lr", "0.05", "--epochs", "4", "--reg", "mixup", "--device", "cpu",
            "--no-progress", "--checkpoint-every", "10", "--out-dir", str(tmp_path)]
    saved = _saved_epochs(monkeypatch)
    _interrupt_in_epoch(monkeypatch, epoch=3, after_steps=5)
    with pytest.raises(SystemExit) as e:
        train_mod.main(argv + ["--run-name", "r"])
    assert e.value.code == 130 and saved == [2]
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.endswith("interrupted; resume with: python -m deep.train "
                         + " ".join(argv + ["--run-name", "r", "--resume"]))
    assert _state(tmp_path / "r")["epoch"] == 2 and len(_metrics(tmp_path / "r")) == 2
    monkeypatch.undo()
    train_mod.main(argv + ["--run-name", "r", "--resume"])
    train_mod.main(argv + ["--run-name", "straight"])
    _assert_bitwise_equal(_state(tmp_path / "r"), _state(tmp_path / "straight"))
    drop = ("epoch_time_s", "train_images_per_s")
    assert [{k: v for k, v in r.items() if k not in drop} for r in _metrics(tmp_path / "r")] \
        == [{k: v for k, v in r.items() if k not in drop} for r in _metrics(tmp_path / "straight")]


def test_resume_after_a_hard_kill_between_checkpoints_is_exact(tmp_path, fast, digits_data,
                                                               monkeypatch):
    """A kill -9 (emulated: the stop writes nothing) in epoch 5 with --checkpoint-every 3
    leaves the checkpoint of epoch 3 and 4 metric lines; --resume drops line 4 and continues
    from epoch 3, bitwise like a run that was never stopped."""
    kw = dict(fast, epochs=6, checkpoint_every=3, reg="cutmix", out_dir=str(tmp_path))
    train_mod.train(TrainConfig(**kw, run_name="straight"), data=digits_data)
    _interrupt_in_epoch(monkeypatch, epoch=5, after_steps=3)
    # A hard kill writes nothing more; the write of epoch 3 had long finished.
    monkeypatch.setattr(train_mod._Checkpointer, "flush", train_mod._Checkpointer.wait)
    with pytest.raises(KeyboardInterrupt):
        train_mod.train(TrainConfig(**kw, run_name="r"), data=digits_data)
    assert _state(tmp_path / "r")["epoch"] == 3 and len(_metrics(tmp_path / "r")) == 4
    monkeypatch.undo()
    out = train_mod.train(TrainConfig(**kw, run_name="r", resume=True), data=digits_data)
    assert out["finished"]
    _assert_bitwise_equal(_state(tmp_path / "r"), _state(tmp_path / "straight"))
    assert [m["train_loss"] for m in _metrics(tmp_path / "r")] == \
        [m["train_loss"] for m in _metrics(tmp_path / "straight")]


def test_divergence_leaves_the_last_good_epoch_between_checkpoints(tmp_path, fast, digits_data):
    """With --checkpoint-every 10 the exploding epoch 2 (lr x 1000) still leaves the
    checkpoint of epoch 1, as the error message says."""
    cfg = TrainConfig(**dict(fast, epochs=2, schedule="multistep", milestones=(0.5,),
                             lr_gamma=1000.0), checkpoint_every=10, out_dir=str(tmp_path),
                      run_name="r")
    with pytest.raises(FloatingPointError, match="checkpoint.pt holds epoch 1, the last good"):
        train_mod.train(cfg, data=digits_data)
    assert _state(tmp_path / "r")["epoch"] == 1


def test_a_failed_background_write_is_reported(tmp_path, fast, digits_data, monkeypatch):
    """An error in the checkpoint writer thread (here a full disk) reaches the caller."""
    def full(path, state):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(train_mod, "atomic_torch_save", full)
    with pytest.raises(OSError, match="No space left"):
        train_mod.train(TrainConfig(**dict(fast, epochs=2), checkpoint_every=1,
                                    out_dir=str(tmp_path), run_name="r"), data=digits_data)
    assert not (tmp_path / "r" / "checkpoint.pt").exists()


def test_checkpoint_every_is_validated_and_may_change_on_resume():
    with pytest.raises(ValueError, match=r"--checkpoint-every=0 is outside \[1, inf\): "
                                         "expected a positive number of epochs"):
        TrainConfig(checkpoint_every=0)
    from deep.config import numeric_fields

    steering = {"checkpoint_every", "compile_mode", "deterministic", "compile", "dist_backend"}
    assert not steering & set(numeric_fields(TrainConfig))


# ----------------------------------------------------------------------------- GPU defaults


def test_batch_size_default_depends_on_the_device_and_data_set():
    assert TrainConfig().resolved(False).batch_size == 128
    assert TrainConfig(dataset="cifar10").resolved(False).batch_size == 128
    assert TrainConfig(dataset="cifar10").resolved(True).batch_size == 512
    assert TrainConfig(dataset="svhn", device="cpu").resolved(True).batch_size == 128
    # digits (1,293 training images) and synthetic keep 128 on a GPU; a value given is kept.
    assert TrainConfig(dataset="digits").resolved(True).batch_size == 128
    assert TrainConfig(dataset="synthetic").resolved(True).batch_size == 128
    assert TrainConfig(dataset="cifar10", batch_size=256).resolved(True).batch_size == 256


def test_backend_settings_set_and_restore_the_global_flags(monkeypatch):
    cudnn = torch.backends.cudnn
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    before = (cudnn.benchmark, cudnn.deterministic, torch.are_deterministic_algorithms_enabled())
    with train_mod.backend_settings("cuda"):  # only flags: runs without a GPU
        assert cudnn.benchmark and not cudnn.deterministic
    with train_mod.backend_settings("cpu"):
        assert (cudnn.benchmark, cudnn.deterministic) == before[:2]
    with train_mod.backend_settings("cuda", deterministic=True):
        assert torch.are_deterministic_algorithms_enabled()
        assert cudnn.deterministic and not cudnn.benchmark
        import os

        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    assert (cudnn.benchmark, cudnn.deterministic,
            torch.are_deterministic_algorithms_enabled()) == before
    import os

    assert "CUBLAS_WORKSPACE_CONFIG" not in os.environ


def test_deterministic_changes_nothing_on_the_cpu(tmp_path, fast, digits_data):
    """--deterministic runs every op of a step (here CutMix with LS, the ops of the
    calibration metrics) under torch.use_deterministic_algorithms without an error, and on the
    CPU it gives the same bits as a run without it."""
    kw = dict(fast, epochs=1, reg="cutmix", ls_eps=0.1, out_dir=str(tmp_path))
    a = train_mod.train(TrainConfig(**kw, run_name="a"), data=digits_data)
    b = train_mod.train(TrainConfig(**kw, run_name="b", deterministic=True), data=digits_data)
    _assert_bitwise_equal(_state(tmp_path / "a")["model"], _state(tmp_path / "b")["model"])
    assert a["test_acc"] == b["test_acc"] and a["test_ece"] == b["test_ece"]
    assert not torch.are_deterministic_algorithms_enabled()  # restored


# ----------------------------------------------------------------------------- evaluation


@pytest.mark.parametrize("model, width, precision, channels_last", [
    ("cnn", 8, "fp32", False), ("resnet18", 4, "bf16", True)])
def test_padded_evaluation_equals_unpadded(digits_data, model, width, precision,
                                           channels_last):
    """Padding the last batch (zero images, their logits dropped) and the batch size change
    no metric: bitwise, on the CPU, in eval mode (batch-norm running statistics)."""
    from deep.models import build_model

    torch.manual_seed(0)
    d = digits_data
    net = build_model(model, 1, 10, d.mean, d.std, width)
    for m in net.modules():  # running statistics away from their initial values
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    kw = dict(precision=precision, channels_last=channels_last)
    ref = train_mod.evaluate(net, d.x_test, d.y_test, batch_size=len(d.x_test), pad=False, **kw)
    assert len(d.x_test) % 64 and len(d.x_test) % 128  # the last batch is padded
    for batch_size in (64, 128, 1024):
        for pad in (True, False):
            got = train_mod.evaluate(net, d.x_test, d.y_test, batch_size=batch_size, pad=pad, **kw)
            assert got == ref, (batch_size, pad)
    assert net.training  # left in the mode it was in


def test_compiled_model_builds_two_graphs_in_the_first_epoch_and_none_after(
        tmp_path, fast, digits_data, monkeypatch):
    """With --compile, training and evaluation (every batch padded to the training batch's
    shape) compile one graph each in the first epoch; later epochs and the test evaluation
    compile nothing. Dynamo only (the graphs run eagerly), which decides when a model is
    recompiled; the slow test below runs inductor. Without padding the uneven last batch adds
    a (dynamic-shape) graph."""
    from torch._dynamo.testing import CompileCounter

    counter = CompileCounter()
    real_compile = torch.compile
    monkeypatch.setattr(torch, "compile",
                        lambda model, mode=None: real_compile(model, backend=counter))
    per_epoch = []
    real_append = train_mod.append_metrics

    def append(path, record, keep_epochs=None):
        real_append(path, record, keep_epochs)
        per_epoch.append(counter.frame_count)

    monkeypatch.setattr(train_mod, "append_metrics", append)
    torch._dynamo.reset()
    out = train_mod.train(TrainConfig(**dict(fast, epochs=3), compile=True,
                                      out_dir=str(tmp_path), run_name="r"), data=digits_data)
    assert per_epoch == [2, 2, 2] and counter.frame_count == 2 and out["finished"]
    assert _metrics(tmp_path / "r")[0]["val_acc"] > 0

    # The same model and shapes without padding: the uneven last batch compiles again.
    torch._dynamo.reset()
    counter.clear()
    torch.manual_seed(0)
    from deep.models import build_model

    d = digits_data
    model = build_model("cnn", 1, 10, d.mean, d.std, 8)
    net = torch.compile(model)
    net(d.x_train[torch.arange(64)]).sum().backward()  # a gathered batch, as in training
    padded = train_mod.evaluate(net, d.x_test, d.y_test, batch_size=64)
    assert counter.frame_count == 2
    unpadded = train_mod.evaluate(net, d.x_test, d.y_test, batch_size=64, pad=False)
    assert counter.frame_count == 3 and padded == unpadded
    torch._dynamo.reset()
