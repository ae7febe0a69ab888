"""Time ``import logitreg`` (and ``import deep.train``) in fresh interpreters.

Each sample is a new ``python -c "import ..."`` process; the interpreter's own start-up
(``python -c "pass"``) is timed the same way and subtracted. Prints the median over
``--repeats`` samples and which heavy optional dependencies the import loaded.

    python bench/import_time.py                       # this checkout
    python bench/import_time.py --tree /path/to/other # another checkout's logitreg

``--tree``: the editable install's import hook would win over ``PYTHONPATH``, so the other
checkout's ``logitreg/`` is copied to a temporary folder under the name
``logitreg_other`` and imported under that name (its imports are relative).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("sympy", "cvxpy", "torch", "matplotlib")


def sample(code: str, env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    return time.perf_counter() - t0


def loaded(module: str, env: dict) -> list[str]:
    code = (f"import sys, json, {module}; "
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], check=True, env=env,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tree", default=None, help="checkout to import from (default: installed)")
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--modules", nargs="+", default=["logitreg", "deep.train"])
    args = p.parse_args(argv)
    env = dict(os.environ)
    if args.tree:
        tmp = Path(tempfile.mkdtemp())
        shutil.copytree(Path(args.tree) / "logitreg", tmp / "logitreg_other")
        env["PYTHONPATH"] = str(tmp)
        args.modules = ["logitreg_other"]
    base = statistics.median(sample("pass", env) for _ in range(args.repeats))
    print(f"interpreter start-up: {1e3 * base:.0f} ms (median of {args.repeats})")
    for module in args.modules:
        times = [sample(f"import {module}", env) - base for _ in range(args.repeats)]
        print(f"import {module}: {1e3 * statistics.median(times):.0f} ms median "
              f"(min {1e3 * min(times):.0f}); loads {loaded(module, env) or 'none of'} "
              f"{'' if loaded(module, env) else HEAVY}")


if __name__ == "__main__":
    main()
