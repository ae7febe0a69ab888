#!/usr/bin/env bash
# Every GPU measurement of this project, for a lent GPU machine whose time is short (about
# 15 minutes of device time in all, start-up included; one command may run 10 minutes). Run
# from the repository root:
#
#     OUT=/some/dir bash bench/gpu_session.sh          # the device tool sets $OUT
#     STEPS="deep_deterministic grok_compare" bash bench/gpu_session.sh   # only these steps
#
# The lent image has Python 3.12, torch, torchvision, scipy, scikit-learn, sympy, tqdm and
# pytest but not cvxpy, so nothing is installed: the checkout is imported with PYTHONPATH.
# Each step has its own time limit, so that one hang cannot eat the budget, and writes its
# log (and JSON where the tool has one) under $OUT; $OUT/summary.txt lists every step's exit
# status and time. A step whose limit would end past BUDGET seconds (default 540, under the
# tool's 600 s per command) is skipped and listed as such: run the skipped ones in a second
# call with STEPS. The deep/ steps come first, most important first.
set -u
OUT=${OUT:-/tmp/gpu_session}
BUDGET=${BUDGET:-540}
STEPS=${STEPS:-}
mkdir -p "$OUT"
export PYTHONPATH=.
step() {  # step NAME SECONDS COMMAND...: run with a limit, log to $OUT/NAME.txt, note the status
  local name=$1 limit=$2
  shift 2
  if [ -n "$STEPS" ] && [[ " $STEPS " != *" $name "* ]]; then
    return
  fi
  if [ $((SECONDS + limit)) -gt "$BUDGET" ]; then
    echo "$name: skipped at $SECONDS s (limit $limit s would pass BUDGET=$BUDGET s)" | tee -a "$OUT/summary.txt"
    return
  fi
  local t0=$SECONDS
  timeout "$limit" "$@" > "$OUT/$name.txt" 2>&1
  echo "$name: exit $? in $((SECONDS - t0)) s" | tee -a "$OUT/summary.txt"
}

step device 30 bash -c 'nvidia-smi; git log -1 --format=%H 2>/dev/null; python3 -c "import torch; print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name())"'
# 1. The CUDA checks: no host sync in a step, CPU/CUDA agreement (deep and GD dynamics),
#    bf16 + channels_last + compile (CUDA graphs) runs and resumes, no graph compiled after
#    the first epoch, --deterministic repeats and resumes bitwise, padded evaluation.
step pytest_gpu 240 python3 -m pytest -m gpu -q -p no:cacheprovider tests/deep tests/test_dynamics.py
# 2. Throughput of every regularizer, ResNet-18 CIFAR variant, batch 512, bf16, channels_last,
#    compiled with the default --compile-mode reduce-overhead (CUDA graphs). Targets:
#    none >= 25k images/s; LS, Mixup, CutMix <= 3 % added step time; VarMixup <= 1.3x.
step deep_throughput 150 python3 bench/deep_throughput.py --device cuda --compile --json "$OUT/deep_throughput.json"
# 3. One CIFAR-10-shaped epoch end to end (45k/5k/10k images on the device, validation, a
#    checkpoint every epoch) against the pure step time x 87 steps. Target: ratio <= 1.10.
step deep_epoch 150 python3 bench/deep_throughput.py --device cuda --compile --regs none --cost-reps 0 --epoch --json "$OUT/deep_epoch.json"
# 4. The same without compile (eager), for the effect of compilation on every row.
step deep_throughput_eager 90 python3 bench/deep_throughput.py --device cuda --json "$OUT/deep_throughput_eager.json"
# 5. The cost of --deterministic: its none step against the eager none step of step 4
#    (both without compile; cuDNN autotuning off and deterministic algorithms here).
step deep_deterministic 90 python3 bench/deep_throughput.py --device cuda --regs none,mixup --cost-reps 0 --deterministic --json "$OUT/deep_deterministic.json"
# 6. CUDA graphs or not: --compile-mode default against step 2's reduce-overhead.
step deep_compile_default 120 python3 bench/deep_throughput.py --device cuda --compile --compile-mode default --regs none,mixup --cost-reps 0 --json "$OUT/deep_compile_default.json"
# 7. One GD step of the Fig. 5 problem per backend (CUDA rows included).
step dynamics 90 python3 bench/dynamics.py --steps 100 --repeats 3
# 8. Exact-GD grokking on the GPU, float64 and float32, timed; the quick setting also on the
#    CPU, to compare threshold epochs (target: 1e-6 relative in float64).
step grok_gd_cuda64 120 python3 simulations/grokking.py --method gd --device cuda --no-progress --out "$OUT/grok_gd_cuda64"
step grok_gd_cuda32 90 python3 simulations/grokking.py --method gd --device cuda --dtype float32 --no-progress --out "$OUT/grok_gd_cuda32"
step grok_quick_cpu 60 python3 simulations/grokking.py --quick --method gd --no-progress --out "$OUT/grok_quick_cpu"
step grok_quick_cuda 60 python3 simulations/grokking.py --quick --method gd --device cuda --no-progress --out "$OUT/grok_quick_cuda"
step grok_compare 30 python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
runs = [json.load(open(f"{out}/{k}/grokking.json"))["runs"] for k in ("grok_quick_cpu", "grok_quick_cuda")]
for a, b in zip(*runs):
    for key in ("epoch_test_acc_0.9", "epoch_test_acc_1.0", "epoch_train_acc_1.0"):
        x, y = a[key], b[key]
        rel = None if x is None or y is None else abs(x - y) / x
        print(f"alpha={a['alpha']:g} {key}: cpu {x} cuda {y} rel {rel}")
PY
echo "done in $SECONDS s; logs in $OUT" | tee -a "$OUT/summary.txt"
