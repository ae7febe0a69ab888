"""Training throughput of every regularizer: images/s and step time of ``deep.train.TrainStep``.

CIFAR-shaped synthetic data (3x32x32, 10 classes) on the device, ResNet-18 (CIFAR variant).
Each regularizer gets its own model (same init) and optimizer; the regularizers are timed in
interleaved rounds so that drifting machine load hits them alike. Reported: the median step
time over all timed steps, images/s = batch / median, and the ratio to ``none``.

    python bench/deep_throughput.py                      # CPU: width 16, batch 64
    python bench/deep_throughput.py --device cuda        # GPU: width 64, batch 512, bf16,
                                                         #      channels_last (+ --compile)

On CUDA the steps are timed with CUDA events and the host synchronises once per round, after
the timed steps; on the CPU with ``time.perf_counter`` (CPU kernels are synchronous).
VarMixup uses an untrained VAE of the default size (its timing does not depend on training).

``--epoch`` adds the end-to-end measurement: whole epochs of ``deep.train.train`` (reg
``none``) on CIFAR-10-shaped random data held on the device (45,000 training, 5,000
validation and 10,000 test images on CUDA, the CIFAR-10 split at ``--val-fraction 0.1``),
with the validation evaluation, the metrics line and a checkpoint in every epoch
(``--checkpoint-every 1``, the worst case; the default writes every 10th). An epoch's cycle
is the time between two consecutive metrics writes (the bench wraps
``deep.train.append_metrics``), the first epoch (compilation, cuDNN autotuning) untimed. It
is reported against the pure step time x steps per epoch (the mean of the ``none`` steps
timed for the first table: an epoch is a sum of steps); the target is a ratio <= 1.10.

    python bench/deep_throughput.py --device cuda --compile --regs none --cost-reps 0 --epoch

A second table isolates the regularizer's own cost: ``TrainStep.prepare`` (augmentation, soft
targets, mixing; for VarMixup the VAE's encode and decode) plus ``TrainStep.loss`` and its
backward to the logits, the only work that differs between regularizers (the model's
forward and backward cost the same on mixed and clean images). Its median over many short
repetitions, minus that of ``none``, divided by the median ``none`` step, is the added step
time. That resolves a few per cent where whole steps vary by more (about +-6 % on an idle
2-core CPU, far more on a shared one).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from deep import train as train_mod
from deep._io import machine_name
from deep.config import COMPILE_MODES, REGS, TrainConfig, VAEConfig
from deep.data import ImageData, epoch_batches, synthetic_images, synthetic_templates
from deep.mixing import MixRNG, build_mixing
from deep.models import build_model
from deep.train import TrainStep, backend_settings
from deep.vae import ConvVAE


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    p.add_argument("--model", default="resnet18", help="cnn, resnet18 or preact_resnet18")
    p.add_argument("--width", type=int, help="base width (default: 64 on cuda, 16 on cpu)")
    p.add_argument("--batch-size", type=int, help="images per step (default: 512 cuda, 64 cpu)")
    p.add_argument("--regs", default=",".join(REGS), help="comma-separated regularizers")
    p.add_argument("--steps", type=int, default=20, help="timed steps per reg per round")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps per reg first")
    p.add_argument("--cost-reps", type=int, default=200,
                   help="repetitions per reg of the regularizer-cost timing (0: skip it)")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                   help="autocast precision (auto: bf16 on cuda, fp32 on cpu)")
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                   help="channels_last memory format (default: on for cuda)")
    p.add_argument("--compile", action="store_true", help="torch.compile each model")
    p.add_argument("--compile-mode", default=COMPILE_MODES[0], choices=COMPILE_MODES,
                   help="torch.compile mode (deep.train's --compile-mode)")
    p.add_argument("--deterministic", action="store_true",
                   help="deep.train's --deterministic (deterministic algorithms, no cuDNN "
                        "autotuning; default: autotuning on cuda, as in training)")
    p.add_argument("--epoch", action="store_true",
                   help="also time whole epochs of deep.train.train (data on the device, "
                        "validation, checkpoint) against the pure step time x steps")
    p.add_argument("--epoch-images", type=int,
                   help="training images of --epoch (default: 45000 on cuda, CIFAR-10's "
                        "training split; 16 batches on cpu); validation and test get 1/9 and "
                        "2/9 of it, CIFAR-10's proportions")
    p.add_argument("--epochs", type=int, default=4,
                   help="epochs of --epoch; the first (compilation, autotuning) is not timed")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's own)")
    p.add_argument("--json", type=Path, help="also write the results here")
    return p.parse_args(argv)


def setup(reg, args, device, data, vae):
    """A TrainStep for ``reg`` with the training CLI's defaults (CIFAR-style crop + flip)."""
    cfg = TrainConfig(
        dataset="synthetic", model=args.model, width=args.width, reg=reg,
        # The VAE is passed in below; the name only satisfies the config's check.
        vae_checkpoint="untrained" if reg == "varmixup" else None, crop_pad=4, hflip=True,
        batch_size=args.batch_size, device=args.device, precision=args.precision,
        channels_last=args.channels_last, compile=args.compile, compile_mode=args.compile_mode,
    ).resolved(torch.cuda.is_available())
    torch.manual_seed(0)  # same initial weights for every regularizer
    model = build_model(cfg.model, 3, 10, data.mean(dim=(0, 2, 3)), data.std(dim=(0, 2, 3)),
                        cfg.width).to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                          weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    mixing = build_mixing(cfg.reg, alpha=cfg.mix_alpha, prob=cfg.mix_prob, vae=vae,
                          latent=cfg.varmix_latent, clean_frac=cfg.mix_clean_frac,
                          residual=cfg.varmix_residual, input_frac=cfg.varmix_input_frac)
    net = torch.compile(model, mode=cfg.compile_mode) if cfg.compile else model
    return TrainStep(net, opt, sched, mixing, num_classes=10, ls_eps=cfg.ls_eps,
                     logit_alpha=cfg.logit_alpha, crop_pad=cfg.crop_pad, hflip=cfg.hflip,
                     precision=cfg.precision, channels_last=cfg.channels_last,
                     aug_generator=torch.Generator(device).manual_seed(1),
                     mix_rng=MixRNG(np.random.default_rng(2),
                                    torch.Generator(device).manual_seed(3)),
                     cudagraphs=train_mod._uses_cudagraphs(cfg))


def time_calls(fn, batches, device):
    """Seconds per call of ``fn(idx)`` for each index row of ``batches``: CUDA events and one
    synchronisation at the end on a GPU, ``time.perf_counter`` on the CPU (synchronous)."""
    if device.type == "cuda":
        events = [torch.cuda.Event(enable_timing=True) for _ in range(len(batches) + 1)]
        events[0].record()
        for i, idx in enumerate(batches):
            fn(idx)
            events[i + 1].record()
        torch.cuda.synchronize(device)
        return [a.elapsed_time(b) / 1e3 for a, b in zip(events[:-1], events[1:], strict=True)]
    out = []
    for idx in batches:
        t0 = time.perf_counter()
        fn(idx)
        out.append(time.perf_counter() - t0)
    return out


def time_steps(step, batches, x, y, device):
    """Seconds per training step."""
    return time_calls(lambda idx: step(x[idx], y[idx]), batches, device)


def time_reg_cost(step, batches, x, y, logits, device):
    """Seconds per call of the regularizer's own work: ``step.prepare`` then ``step.loss``
    and its backward to the fixed ``logits`` (B, K)."""
    def work(idx):
        _, target = step.prepare(x[idx], y[idx])
        step.loss(logits, target).backward()

    return time_calls(work, batches, device)


def time_epochs(args, device):
    """Whole epochs of ``deep.train.train`` (reg none, a checkpoint every epoch) on random
    CIFAR-10-shaped data on ``device``: the cycle time of each epoch after the first (between
    consecutive metrics writes), its training loop (``epoch_time_s`` of metrics.jsonl), and
    the steps per epoch."""
    n = args.epoch_images
    g = torch.Generator(device).manual_seed(0)

    def images(k):  # (k, 3, 32, 32) in [0, 1] and labels (k,); their values do not matter
        return (torch.rand(k, 3, 32, 32, generator=g, device=device),
                torch.randint(0, 10, (k,), generator=g, device=device))

    data = ImageData("synthetic", *images(n), *images(n // 9), *images(2 * n // 9), 10,
                     torch.full((3,), 0.5), torch.full((3,), 0.29))
    stamps = []
    real_append = train_mod.append_metrics

    def append(path, record, keep_epochs=None):  # one call per epoch, after its evaluation
        real_append(path, record, keep_epochs)
        if record:
            stamps.append(time.perf_counter())

    with tempfile.TemporaryDirectory() as out:
        cfg = TrainConfig(
            dataset="synthetic", model=args.model, width=args.width, reg="none", crop_pad=4,
            hflip=True, batch_size=args.batch_size, epochs=args.epochs, device=args.device,
            precision=args.precision, channels_last=args.channels_last, compile=args.compile,
            compile_mode=args.compile_mode, deterministic=args.deterministic,
            checkpoint_every=1, progress=False, out_dir=out, run_name="epoch")
        train_mod.append_metrics = append
        try:
            train_mod.train(cfg, data=data)
        finally:
            train_mod.append_metrics = real_append
        lines = (Path(out) / "epoch" / "metrics.jsonl").read_text().splitlines()
    cycles = [b - a for a, b in zip(stamps[:-1], stamps[1:], strict=True)]
    loops = [json.loads(ln)["epoch_time_s"] for ln in lines[1:]]
    return cycles, loops, n // args.batch_size


def main(argv=None):
    args = parse(argv)
    device = torch.device(args.device)
    on_cuda = device.type == "cuda"
    args.width = args.width or (64 if on_cuda else 16)
    args.batch_size = args.batch_size or (512 if on_cuda else 64)
    args.precision = args.precision if args.precision != "auto" else ("bf16" if on_cuda else "fp32")
    args.channels_last = on_cuda if args.channels_last is None else args.channels_last
    args.epoch_images = args.epoch_images or (45000 if on_cuda else 16 * args.batch_size)
    if args.threads:
        torch.set_num_threads(args.threads)
    regs = args.regs.split(",")
    if args.epoch and "none" not in regs:
        raise SystemExit("--epoch needs none among --regs: its step time is the reference")
    if args.epoch and args.epochs < 2:
        raise SystemExit("--epoch needs --epochs >= 2: the first epoch is not timed")
    with backend_settings(device, args.deterministic):  # as in training
        return _run(args, device, regs)


def _run(args, device, regs):
    g = torch.Generator().manual_seed(0)
    templates, basis = synthetic_templates(10, (3, 32, 32), 8.0, g)
    n = args.batch_size * 8
    x, y = synthetic_images(n, templates, basis, 1.0, 0.5, g)
    x, y = x.to(device), y.to(device)
    vcfg = VAEConfig()
    vae = ConvVAE((3, 32, 32), vcfg.latent_dim, vcfg.width, bounded=False).to(device).eval()
    vae.requires_grad_(False)
    if args.channels_last:
        vae = vae.to(memory_format=torch.channels_last)
    steps = {reg: setup(reg, args, device, x, vae) for reg in regs}
    gen = torch.Generator(device).manual_seed(0)

    def rows(k):
        idx = torch.cat([epoch_batches(n, args.batch_size, gen) for _ in range(-(-k // 8))])
        return idx[:k]

    for reg in regs:  # warm-up (and compilation) outside the timed region
        time_steps(steps[reg], rows(args.warmup), x, y, device)
    times = {reg: [] for reg in regs}
    for _ in range(args.rounds):
        for reg in regs:
            times[reg] += time_steps(steps[reg], rows(args.steps), x, y, device)

    med = {reg: statistics.median(t) for reg, t in times.items()}
    base = med.get("none")
    machine = machine_name(device)
    setting = (f"{args.model} width {args.width}, batch {args.batch_size}, {args.precision}, "
               f"channels_last={args.channels_last}, compile={args.compile}"
               f"{f' ({args.compile_mode})' if args.compile else ''}, "
               f"deterministic={args.deterministic}, "
               f"{args.rounds}x{args.steps} timed steps after {args.warmup} warm-up")
    print(f"device: {machine}; torch {torch.__version__}\n{setting}\n")
    print("| reg | median step (ms) | IQR (ms) | train images/s | step / none |")
    print("|---|---|---|---|---|")
    result = []
    for reg in regs:
        q1, _, q3 = statistics.quantiles(times[reg], n=4)
        ratio = med[reg] / base if base else float("nan")
        print(f"| {reg} | {1e3 * med[reg]:.1f} | {1e3 * q1:.1f}-{1e3 * q3:.1f} | "
              f"{args.batch_size / med[reg]:,.0f} | {ratio:.3f} |")
        result.append({"reg": reg, "median_step_s": med[reg],
                       "mean_step_s": statistics.fmean(times[reg]), "q1_s": q1, "q3_s": q3,
                       "images_per_s": args.batch_size / med[reg], "ratio_to_none": ratio,
                       "n_steps": len(times[reg])})
    if args.cost_reps and base:
        # Logits as the model would hand them to the loss (bf16 under bf16 autocast).
        dtype = torch.bfloat16 if args.precision == "bf16" else torch.float32
        logits = torch.randn(args.batch_size, 10, device=device, dtype=dtype,
                             requires_grad=True)
        cost = {reg: [] for reg in regs}
        for reg in regs:  # warm-up
            time_reg_cost(steps[reg], rows(args.warmup), x, y, logits, device)
        per_round = max(1, args.cost_reps // args.rounds)
        for _ in range(args.rounds):  # interleaved, as above
            for reg in regs:
                cost[reg] += time_reg_cost(steps[reg], rows(per_round), x, y, logits, device)
        cmed = {reg: statistics.median(t) for reg, t in cost.items()}
        print(f"\nRegularizer's own work (prepare + loss + its backward), median of "
              f"{len(cost[regs[0]])} repetitions; added step time = (cost - cost of none) / "
              "median none step:\n")
        print("| reg | own work (ms) | IQR (ms) | minus none (ms) | added step time |")
        print("|---|---|---|---|---|")
        for row in result:
            reg = row["reg"]
            q1, _, q3 = statistics.quantiles(cost[reg], n=4)
            extra = cmed[reg] - cmed["none"]  # base is set, so none was timed
            print(f"| {reg} | {1e3 * cmed[reg]:.3f} | {1e3 * q1:.3f}-{1e3 * q3:.3f} | "
                  f"{1e3 * extra:+.3f} | {100 * extra / base:+.2f} % |")
            row.update(own_work_median_s=cmed[reg], own_work_q1_s=q1, own_work_q3_s=q3,
                       added_step_fraction=extra / base)
    epoch = None
    if args.epoch:
        cycles, loops, steps = time_epochs(args, device)
        # An epoch is a sum of steps: its reference is the mean step (the median, robust for
        # the table above, would understate a sum on a loaded CPU; on a GPU they agree).
        pure = steps * statistics.fmean(times["none"])
        cycle, loop = statistics.median(cycles), statistics.median(loops)
        n = args.epoch_images
        print(f"\nEnd to end: deep.train.train, reg none, {n}/{n // 9}/{2 * n // 9} training/"
              f"validation/test images on the device, a checkpoint every epoch; median of "
              f"epochs 2-{args.epochs} against {steps} steps x the mean none step:\n")
        print("| epoch cycle (s) | training loop (s) | validation + metrics + checkpoint (s) "
              "| steps x step (s) | cycle / (steps x step) | loop / (steps x step) |")
        print("|---|---|---|---|---|---|")
        print(f"| {cycle:.3f} | {loop:.3f} | {cycle - loop:.3f} | {pure:.3f} | "
              f"{cycle / pure:.3f} | {loop / pure:.3f} |")
        epoch = {"cycle_s": cycles, "training_loop_s": loops, "steps_per_epoch": steps,
                 "images": [n, n // 9, 2 * n // 9], "median_cycle_s": cycle,
                 "median_training_loop_s": loop, "pure_epoch_s": pure,
                 "ratio_cycle_to_pure": cycle / pure, "ratio_loop_to_pure": loop / pure}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"device": machine, "torch": torch.__version__,
                                         "setting": setting, "args": {k: str(v) for k, v in
                                                                      vars(args).items()},
                                         "results": result, "epoch": epoch}, indent=2))
    return result


if __name__ == "__main__":
    main()
