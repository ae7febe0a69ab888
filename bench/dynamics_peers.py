"""GD steps/s of :func:`logitreg.gd`: numpy vs torch CPU (vs torch CUDA), batched vs sequential.

The grokking problem of Fig. 5 (``N = 2000``, ``d = 1400``, ``mu_f = 0.1``, ``sigma_f = 0``,
``sigma_n = 1``, ``eta = 0.1``, float64, one CPU thread: ``gd``'s default at this size). For
each number of runs ``R`` (``R`` alphas in ``[0, 0.1]``):

* **batched**: one ``gd`` call with the ``R`` alphas (one (R, d) x (d, N) product per step);
* **sequential**: ``R`` separate ``gd`` calls, one alpha each (what a loop over runs does).

Each measurement is the wall time of the whole public call(s), ``--epochs`` exact GD steps
(``method="gd"``, two record epochs), so a call's setup (input checks, the curvature bound
for the step-size check) is included; it is reported apart as the median of a one-epoch call
(``overhead_s``). Throughput is run-steps/s = ``R * epochs / wall``. All (R, backend, mode)
cells run in interleaved rounds, in a rotating order, so that drifting load hits them alike.
CUDA runs when ``torch.cuda.is_available()`` (synchronised by ``gd`` itself: it returns
host arrays); otherwise the JSON says why it was not measured.

    python bench/dynamics_peers.py             # R in 1, 2, 4, 8; ~3 min
    python bench/dynamics_peers.py --quick     # R in 1, 4; ~30 s
    python bench/dynamics_peers.py --smoke     # tiny, for the tests
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

import logitreg
from logitreg.io import atomic_write

POP = {"mu_f": 0.1, "sigma_f": 0.0, "sigma_n": 1.0}
PLOT = Path(__file__).resolve().parents[1] / "docs" / "figures" / "bench" / "dynamics_peers.png"


def backends(cuda: bool):
    out = [("numpy", "cpu"), ("torch", "cpu")]
    return out + [("torch", "cuda")] if cuda else out


def run_gd(X, y, alphas, backend, device, epochs, dtype):
    logitreg.gd(X, y, alphas, epochs=epochs, n_record=2, rng=0, population=POP,
                backend=backend, device=device, dtype=dtype, threads=1, progress=False)


def timed_cell(X, y, R, backend, device, mode, epochs, dtype) -> float:
    alphas = np.linspace(0.0, 0.1, R)
    t0 = time.perf_counter()
    if mode == "batched":
        run_gd(X, y, alphas, backend, device, epochs, dtype)
    else:
        for a in alphas:
            run_gd(X, y, a, backend, device, epochs, dtype)
    return time.perf_counter() - t0


def plot(summary, path: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4))
    keys = sorted({(s["backend"], s["device"], s["mode"]) for s in summary})
    for i, (b, dev, mode) in enumerate(keys):
        pts = sorted((s["R"], s["run_steps_per_s"]) for s in summary
                     if (s["backend"], s["device"], s["mode"]) == (b, dev, mode))
        ax.plot(*zip(*pts, strict=True), "-" if mode == "batched" else "--", marker="o",
                color=f"C{i // 2}", label=f"{b} {dev}, {mode}")
    ax.set(xscale="log", yscale="log", xlabel="runs R", ylabel="run-steps / s (R x epochs / wall)",
           title="GD on the Fig. 5 problem (float64, 1 thread)")
    rs = sorted({s["R"] for s in summary})
    ax.set_xticks(rs, [str(r) for r in rs])
    ax.minorticks_off()
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--d", type=int, default=1400)
    p.add_argument("--rs", type=int, nargs="+", default=[1, 2, 4, 8], help="runs R")
    p.add_argument("--epochs", type=int, default=200, help="GD steps per call")
    p.add_argument("--repeats", type=int, default=3, help="interleaved rounds")
    p.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    p.add_argument("--no-cuda", action="store_true", help="skip CUDA even when present")
    p.add_argument("--quick", action="store_true", help="R in 1, 4; 50 epochs; 2 rounds")
    p.add_argument("--smoke", action="store_true", help="N = 200, d = 140, R in 1, 2")
    p.add_argument("--out", type=Path, help="write the JSON here")
    p.add_argument("--plot", type=Path, default=PLOT, help="PNG ('' for none)")
    a = p.parse_args(argv)
    if a.quick:
        a.rs, a.epochs, a.repeats = [1, 4], 50, 2
    if a.smoke:
        a.n, a.d, a.rs, a.epochs, a.repeats = 200, 140, [1, 2], 20, 1
    return a


def main(argv=None) -> dict:
    a = parse(argv)
    import torch

    cuda = torch.cuda.is_available() and not a.no_cuda
    X, y = logitreg.signal_plus_noise(a.n, a.d, rng=np.random.default_rng(0), **POP)
    info = {"cpu_count": os.cpu_count(), "loadavg": list(os.getloadavg()),
            "torch": torch.__version__, "numpy": np.__version__,
            "cuda": torch.cuda.get_device_name() if cuda else None}
    not_measured = {} if cuda else {"torch cuda": "no CUDA device on this machine"
                                    if not torch.cuda.is_available() else "--no-cuda"}
    bks = backends(cuda)
    overhead = {}
    for b, dev in bks:  # warm-up (imports, kernels) and the per-call overhead
        run_gd(X, y, 0.0, b, dev, 2, a.dtype)
        ts = []
        for _ in range(1 if a.smoke else 3):
            t0 = time.perf_counter()
            run_gd(X, y, 0.0, b, dev, 1, a.dtype)
            ts.append(time.perf_counter() - t0)
        overhead[f"{b} {dev}"] = statistics.median(ts)
    cells = [(R, b, dev, mode) for R in a.rs for b, dev in bks for mode in ("batched",
                                                                           "sequential")]
    runs = []
    for r in range(a.repeats):
        k = (r * 3) % len(cells)
        for R, b, dev, mode in cells[k:] + cells[:k]:
            wall = timed_cell(X, y, R, b, dev, mode, a.epochs, a.dtype)
            runs.append({"R": R, "backend": b, "device": dev, "mode": mode, "round": r,
                         "wall_s": wall})
        print(f"round {r + 1}/{a.repeats} done, load {os.getloadavg()[0]:.1f}", flush=True)
    summary = []
    for R, b, dev, mode in cells:
        ws = [x["wall_s"] for x in runs if (x["R"], x["backend"], x["device"], x["mode"]) ==
              (R, b, dev, mode)]
        summary.append({"R": R, "backend": b, "device": dev, "mode": mode, "n": len(ws),
                        "median_s": statistics.median(ws),
                        "run_steps_per_s": R * a.epochs / statistics.median(ws)})
    by = {(x["R"], x["backend"], x["device"], x["mode"], x["round"]): x["wall_s"] for x in runs}
    for s in summary:  # paired (same round) ratios: sequential / batched, backend / numpy
        key = (s["R"], s["backend"], s["device"])
        s["paired_seq_over_batched"] = statistics.median(
            by[(*key, "sequential", r)] / by[(*key, "batched", r)] for r in range(a.repeats))
        s["paired_over_numpy"] = statistics.median(
            by[(*key, s["mode"], r)] / by[(s["R"], "numpy", "cpu", s["mode"], r)]
            for r in range(a.repeats))
        print(f"R={s['R']:2d} {s['backend']:>5s} {s['device']:4s} {s['mode']:>10s} "
              f"{s['median_s']:8.3f} s  {s['run_steps_per_s']:8.0f} run-steps/s  "
              f"seq/batched {s['paired_seq_over_batched']:.2f}  /numpy "
              f"{s['paired_over_numpy']:.2f}", flush=True)
    info["loadavg_end"] = list(os.getloadavg())
    result = {"benchmark": "dynamics_peers", "argv": {k: str(v) for k, v in vars(a).items()},
              "problem": {"n": a.n, "d": a.d, "epochs": a.epochs, "dtype": a.dtype, **POP},
              "machine": info, "overhead_s": overhead, "runs": runs, "summary": summary,
              "not_measured": not_measured}
    if a.plot and str(a.plot) not in ("", "."):
        plot(summary, a.plot)
        result["plot"] = str(a.plot)
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(a.out, lambda fh: fh.write(json.dumps(result, indent=1).encode()))
    return result


if __name__ == "__main__":
    main()
