"""Time one batched GD step of the Fig. 5 problem, per backend / dtype / thread count.

One step = logits ``T = W A^T`` (R x N), ``l'(T)``, gradient ``l'(T) A / N`` and the update,
for R = 4 runs (the four alphas of Fig. 5), d = 1400, N = 2000, exactly as ``gd`` runs it.
Reports the median over ``--repeats`` blocks of ``--steps`` steps, and (``--full``) the
wall time of a whole ``method="flow"`` run. CUDA is timed with CUDA events when present.

    python bench/dynamics.py                 # per-step table
    python bench/dynamics.py --full          # + the full flow run (~1 min)
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from logitreg.batched import BatchedProblem
from logitreg.data import signal_plus_noise
from logitreg.dynamics import gd

ALPHAS = np.array([0.0, 0.001, 0.01, 0.1])
POP = {"mu_f": 0.1, "sigma_f": 0.0, "sigma_n": 1.0}


def step_time(X, y, backend, dtype, device, threads, steps, repeats):
    """Median seconds per GD step (the body of ``dynamics._gd_loop``)."""
    prob = BatchedProblem.from_data(X, y, ALPHAS, backend=backend, dtype=dtype, device=device,
                                    population=POP)
    W = prob.to_backend(prob.init(np.random.default_rng(0), 1))  # (4, d): w0 tiled over alphas
    cuda = prob.on_cuda
    times = []
    with threadpool_limits(limits=threads, user_api="blas"):
        if backend == "torch":
            torch.set_num_threads(threads)
        for rep in range(repeats + 1):  # the first block warms up caches / kernels
            if cuda:
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(
                    enable_timing=True)
                start.record()
            t0 = time.perf_counter()
            for _ in range(steps):
                G, _ = prob.grad(W)
                W = W - 0.1 * G
            if cuda:
                end.record()
                torch.cuda.synchronize()
                elapsed = start.elapsed_time(end) / 1e3
            else:
                elapsed = time.perf_counter() - t0
            if rep:
                times.append(elapsed / steps)
    return float(np.median(times))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--full", action="store_true", help="also time a full flow run")
    args = p.parse_args(argv)
    X, y = signal_plus_noise(2000, 1400, rng=np.random.default_rng(0), **POP)
    configs = [("numpy", dt, "cpu", th) for dt in ("float64", "float32") for th in (1, 2)]
    configs += [("torch", dt, "cpu", th) for dt in ("float64", "float32") for th in (1, 2)]
    if torch.cuda.is_available():
        configs += [("torch", dt, "cuda", 1) for dt in ("float64", "float32")]
    print(f"{'backend':>7} {'dtype':>8} {'device':>6} {'threads':>7} {'ms/step':>8} "
          f"{'2e5 epochs (s)':>15}")
    for backend, dtype, device, threads in configs:
        t = step_time(X, y, backend, dtype, device, threads, args.steps, args.repeats)
        print(f"{backend:>7} {dtype:>8} {device:>6} {threads:>7} {1e3 * t:8.3f} {2e5 * t:15.0f}")
    if args.full:
        for dtype in ("float64", "float32"):
            t0 = time.perf_counter()
            tr = gd(X, y, ALPHAS, epochs=200_000, n_record=400, rng=np.random.default_rng(1),
                    population=POP, method="flow", dtype=dtype, progress=False)
            print(f"full flow run ({dtype}): {time.perf_counter() - t0:.1f} s, "
                  f"{tr.n_grad_evals} gradient evaluations")


if __name__ == "__main__":
    main()
