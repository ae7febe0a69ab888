"""Cost of ``deep/analysis.py`` per 10k images: geometry, attacks, corruptions, linearity, bridge.

The digits CNN of ``runs/experiment-digits`` (``deep.models.build_model("cnn", 1, 10, ...,
width=32)``: 1x16x16 images, ``digits_size`` 16, 128 post-ReLU features), freshly built
(``torch.manual_seed(0)``: the cost of every stage below does not depend on the weights, and
the benchmark needs no run files), on ``n`` synthetic images of the digits shape in [0, 1]
(a class template plus uniform noise, from a seeded ``torch.Generator``; balanced labels).
Each stage calls what :func:`deep.analysis.analyze_run` calls, with its default options:

* ``geometry``: :func:`deep.geometry.extract_features` of the ``n`` images plus
  ``deep.analysis._geometry`` (min-loss centers restricted and unrestricted, class means,
  cosines and their Pearson r, cone invariance, radiality, temperature agreement, feature
  scaling); its parts ``features`` (extraction alone) and ``min_loss_centers`` (the two
  center solves, a fixed cost that does not grow with ``n``) are timed apart;
* ``attacks``: :func:`deep.attacks.robustness` with the ``strong`` (PGD-10, eps 8/255) and
  ``weak`` (PGD-7, eps 0.4/255) presets and FGSM at each eps; split into ``fgsm``,
  ``pgd_strong`` and ``pgd_weak`` by timing each of its ``attack_scores`` calls;
* ``corruptions``: :func:`deep.corruptions.corruption_accuracy`, 5 corruptions x 5
  severities plus the clean pass;
* ``local_linearity``: :func:`deep.attacks.local_linearity`, eps 8/255, 10 steps;
* ``bridge``: ``deep.analysis._bridge`` (Fisher alignment, effective noise, the linear
  probes of Fig. 9 over 3 alphas x 3 gammas) on the clean features and on impulse-noise
  severity-5 features (corruption and extraction included); its parts ``fisher``
  (:func:`deep.bridge.fisher_alignment`) and ``probes`` (every
  :func:`deep.bridge.probe_accuracy` call) are timed apart. The probes train on
  ``min(1000, n // 2)`` balanced samples, so above n = 2000 this stage does not grow in
  proportion: its per-10k number is a scaled cost, not a prediction.

Every stage runs ``--repeats`` times (one untimed warm-up on 64 images first); reported are
the medians and seconds per 10k images = median x 10000 / n. The analysis attacks at most
``max_attack_images`` (1000) test images, so its own attack cost is that fraction of the
per-10k number. CUDA runs when ``torch.cuda.is_available()`` (synchronised around each
stage); otherwise the JSON says why it was not measured.

    python bench/deep_analysis_cost.py --out deep_analysis_cost.json   # n = 2000, 3 repeats
    python bench/deep_analysis_cost.py --quick                          # n = 256
    python bench/deep_analysis_cost.py --smoke                          # tiny, for the tests
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch

from deep import analysis as A
from deep import attacks as attacks_mod
from deep import bridge as bridge_mod
from deep._io import machine_name
from deep.attacks import local_linearity, robustness
from deep.config import derive_seeds
from deep.corruptions import CORRUPTIONS, corrupt, corruption_accuracy
from deep.geometry import extract_features, min_loss_centers
from deep.models import build_model
from logitreg.io import atomic_write

SHAPE = (1, 16, 16)  # digits at digits_size 16, as in runs/experiment-digits
K = 10
WIDTH = 32  # the cnn's default width (runs/experiment-digits)
STAGES = ("geometry", "attacks", "corruptions", "local_linearity", "bridge")
PARTS = ("features", "min_loss_centers", "fgsm", "pgd_strong", "pgd_weak", "fisher", "probes")


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--n", type=int, default=2000, help="images per stage")
    p.add_argument("--repeats", type=int, default=3, help="timed repetitions of each stage")
    p.add_argument("--width", type=int, default=WIDTH, help="cnn base width")
    p.add_argument("--threads", type=int,
                   help="torch CPU threads (default: torch's own; on a loaded 2-core machine "
                        "1 is several times faster than 2)")
    p.add_argument("--stages", default=",".join(STAGES), help="comma-separated stages")
    p.add_argument("--no-cuda", action="store_true", help="skip CUDA even when present")
    p.add_argument("--quick", action="store_true", help="n = 256")
    p.add_argument("--smoke", action="store_true",
                   help="n = 40, 1 repeat, no warm-up, 1 thread, linearity and probes "
                        "trimmed (tests)")
    p.add_argument("--out", type=Path, help="write the JSON here")
    a = p.parse_args(argv)
    if a.quick:
        a.n = 256
    if a.smoke:
        a.n, a.repeats, a.threads = 40, 1, a.threads or 1
    a.stages = a.stages.split(",")
    unknown = [s for s in a.stages if s not in STAGES]
    if unknown or a.n < 2 * K or a.repeats < 1:
        p.error(f"--stages among {STAGES}, --n >= {2 * K}, --repeats >= 1 (got {unknown}, "
                f"{a.n}, {a.repeats})")
    return a


def synthetic_digits(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """n images (n, 1, 16, 16) in [0, 1]: a class template plus uniform noise; balanced y."""
    g = torch.Generator().manual_seed(seed)
    templates = torch.rand((K, *SHAPE), generator=g)
    y = (torch.arange(n) % K)[torch.randperm(n, generator=g)]
    noise = torch.rand((n, *SHAPE), generator=g) - 0.5
    return (0.6 * templates[y] + 0.2 + 0.4 * noise).clamp(0.0, 1.0), y


class _Clock:
    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"
        self.device = device

    def now(self) -> float:
        if self.cuda:
            torch.cuda.synchronize(self.device)
        return time.perf_counter()


def run_stage(stage: str, model, x, y, device, opts: dict, seeds: dict, clock: _Clock,
              smoke: bool) -> dict[str, float]:
    """Run one stage once; its wall time in seconds, with the parts it times."""
    gen = A._generator
    t = {}
    t0 = clock.now()
    if stage == "geometry":
        z, logits = extract_features(model, x)
        t["features"] = clock.now() - t0
        W = model.head.weight.detach().float()
        b = model.head.bias.detach().float()
        radius = float(z.norm(dim=1).mean())
        t1 = clock.now()
        min_loss_centers(W, b, radius, domain=model.feature_domain)
        min_loss_centers(W, b, radius, domain="sphere")
        t["min_loss_centers"] = clock.now() - t1
        # The analysis's training and test features are both these n images' features.
        # _geometry solves the centers again: the total holds both solves (~ms each).
        A._geometry(model, z, y, z, logits, y, K)
    elif stage == "attacks":
        parts = []
        inner = attacks_mod.attack_scores

        def timed(*args, **kw):
            s = clock.now()
            out = inner(*args, **kw)
            parts.append(clock.now() - s)
            return out

        attacks_mod.attack_scores = timed  # robustness looks it up at each call
        try:
            robustness(model, x, y, ("strong", "weak"),
                       generator=gen(device, seeds["attack"]))
        finally:
            attacks_mod.attack_scores = inner
        # robustness calls, per preset in order, FGSM then PGD.
        t.update(fgsm=parts[0] + parts[2], pgd_strong=parts[1], pgd_weak=parts[3])
    elif stage == "corruptions":
        corruption_accuracy(model, x, y, generator=gen(device, seeds["corruption"]))
    elif stage == "local_linearity":
        local_linearity(model, x, y, opts["linearity_eps"],
                        steps=2 if smoke else opts["linearity_steps"],
                        generator=gen(device, seeds["linearity"]))
    elif stage == "bridge":
        with torch.no_grad():
            z = extract_features(model, x)[0]
        xc = corrupt(x, opts["probe_corruption"], opts["probe_severity"],
                     generator=gen(device, seeds["probe"]))
        with torch.no_grad():
            zc = extract_features(model, xc)[0]
        pools = {"clean": (z, y), "impulse_noise5": (zc, y)}
        spent = {"fisher": 0.0, "probes": 0.0}
        inner = {k: getattr(bridge_mod, f) for k, f in (("fisher", "fisher_alignment"),
                                                        ("probes", "probe_accuracy"))}

        def timer(key):
            def call(*args, **kw):
                s = clock.now()
                out = inner[key](*args, **kw)
                spent[key] += clock.now() - s
                return out
            return call

        # _bridge imports them from deep.bridge at each call.
        bridge_mod.fisher_alignment, bridge_mod.probe_accuracy = timer("fisher"), timer("probes")
        try:
            A._bridge(model, z, y, pools, K, opts, seeds)
        finally:
            bridge_mod.fisher_alignment = inner["fisher"]
            bridge_mod.probe_accuracy = inner["probes"]
        t.update(spent)
    t["total"] = clock.now() - t0
    return t


def measure(device: torch.device, a) -> dict:
    x, y = synthetic_digits(a.n)
    torch.manual_seed(0)
    model = build_model("cnn", SHAPE[0], K, x.mean(dim=(0, 2, 3)), x.std(dim=(0, 2, 3)),
                        a.width).to(device).eval()
    x, y = x.to(device), y.to(device)
    opts = A.analysis_options(quick=a.smoke)  # --smoke: 2 alphas x 2 gammas
    seeds = derive_seeds(opts["seed"], A.SEED_STREAMS)
    clock = _Clock(device)
    xw, yw = (t.to(device) for t in synthetic_digits(64, seed=1))  # balanced, as x, y
    for stage in [] if a.smoke else a.stages:  # warm-up: allocator, kernels, lazy imports
        run_stage(stage, model, xw, yw, device, opts, seeds, clock, True)
    raw = {s: [] for s in a.stages}
    loads = []
    for r in range(a.repeats):
        for stage in a.stages:
            raw[stage].append(run_stage(stage, model, x, y, device, opts, seeds, clock,
                                        a.smoke))
        loads.append(os.getloadavg()[0])
        print(f"{device.type}: repeat {r + 1}/{a.repeats} done, load {loads[-1]:.2f}",
              flush=True)
    out = {}
    for stage, runs in raw.items():
        row = {}
        for key in runs[0]:
            times = [run[key] for run in runs]
            med = statistics.median(times)
            row[key] = {"times_s": times, "median_s": med, "per_10k_s": med * 1e4 / a.n}
        out[stage] = row
    return {"device": machine_name(device), "loadavg_after_repeat": loads, "stages": out}


def main(argv=None) -> dict:
    a = parse(argv)
    threads = torch.get_num_threads()
    if a.threads:
        torch.set_num_threads(a.threads)
    try:
        return _main(a)
    finally:
        torch.set_num_threads(threads)  # the caller's (the tests run in one process)


def _main(a) -> dict:
    cuda = torch.cuda.is_available() and not a.no_cuda
    not_measured = {} if cuda else {"cuda": "--no-cuda" if a.no_cuda else
                                    "no CUDA device on this machine (no GPU lent)"}
    info = {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "loadavg_start": list(os.getloadavg())}
    results = {"cpu": measure(torch.device("cpu"), a)}
    if cuda:
        results["cuda"] = measure(torch.device("cuda"), a)
    info["loadavg_end"] = list(os.getloadavg())
    print(f"\nn = {a.n} images of shape {SHAPE}, cnn width {a.width}, {a.repeats} repeats; "
          f"load {info['loadavg_start'][0]:.2f} -> {info['loadavg_end'][0]:.2f}\n")
    devs = list(results)
    print("| stage | " + " | ".join(f"{d} median (s) | {d} s per 10k" for d in devs) + " |")
    print("|---|" + "---|---|" * len(devs))
    summary = []
    for stage in a.stages:
        for key in ("total", *PARTS):
            if key not in results["cpu"]["stages"][stage]:
                continue
            name = stage if key == "total" else f"  {stage}: {key}"
            cells = [results[d]["stages"][stage][key] for d in devs]
            print(f"| {name} | " + " | ".join(f"{c['median_s']:.3f} | {c['per_10k_s']:.2f}"
                                                for c in cells) + " |")
            summary.append({"stage": stage, "part": key,
                            **{f"{d}_median_s": c["median_s"]
                               for d, c in zip(devs, cells, strict=True)},
                            **{f"{d}_per_10k_s": c["per_10k_s"]
                               for d, c in zip(devs, cells, strict=True)}})
    res = {"benchmark": "deep_analysis_cost", "argv": {k: str(v) for k, v in vars(a).items()},
           "setting": {"model": "cnn", "width": a.width, "shape": list(SHAPE),
                       "num_classes": K, "n": a.n, "repeats": a.repeats,
                       "corruptions": list(CORRUPTIONS), "severities": [1, 2, 3, 4, 5],
                       "attack_presets": ["strong", "weak"]},
           "machine": info, "results": results, "summary": summary,
           "not_measured": not_measured}
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(a.out, lambda fh: fh.write(json.dumps(res, indent=2).encode()))
    return res


if __name__ == "__main__":
    main()
