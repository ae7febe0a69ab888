"""Fuzz the simulation commands with damaged files: every one gets exit status 2, one line
on stderr naming the file, and nothing on disk changes."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _main(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "simulations" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def _damage(kind: str, path: Path, foreign: Path) -> None:
    data = path.read_bytes()
    if kind == "truncated":
        path.write_bytes(data[: max(1, len(data) // 3)])
    elif kind == "random":
        path.write_bytes(np.random.default_rng(0).bytes(max(64, len(data))))
    elif kind == "wrong_json":
        path.write_text(json.dumps({"something": "else"}))
    elif kind == "other_command":
        path.write_bytes(foreign.read_bytes())


def _snapshot(folder: Path) -> dict:
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


GROK = ["--quick", "--epochs", "400", "--no-progress"]
GEOM = ["--quick", "--seeds", "1"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One finished run of each command, and one interrupted grokking run."""
    root = tmp_path_factory.mktemp("runs")
    assert _main("grokking")([*GROK, "--out", str(root / "g")]) == 0
    assert _main("grokking")([*GROK, "--out", str(root / "gi"), "--stop-at-epoch", "100"]) == 0
    assert _main("converged_geometry")([*GEOM, "--out", str(root / "c")]) == 0
    return root


CASES = [
    # (command, its args, which file to damage (relative to its --out), a foreign file)
    ("grokking", GROK, "gi", "checkpoints/seed0.npz", "c/converged_geometry.json"),
    ("grokking", GROK, "g", "grokking.json", "c/converged_geometry.json"),
    ("converged_geometry", GEOM, "c", "cache/points/*.json", "g/grokking.json"),
]


@pytest.mark.parametrize("kind", ["truncated", "random", "wrong_json", "other_command"])
@pytest.mark.parametrize(("command", "args", "run", "target", "foreign"), CASES,
                         ids=lambda v: v if isinstance(v, str) else None)
def test_a_damaged_file_gives_exit_2_naming_it_and_changes_nothing(
        runs, tmp_path, capsys, kind, command, args, run, target, foreign):
    out = tmp_path / run
    for src, data in _snapshot(runs / run).items():
        dst = out / src.relative_to(runs / run)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(data)
    if kind == "wrong_json" and target.endswith(".npz"):
        kind = "random"  # an .npz has no JSON form to get wrong
    target = sorted(out.glob(target))[0].relative_to(out)  # the first cached point
    _damage(kind, out / target, runs / foreign)
    before = _snapshot(out)
    capsys.readouterr()
    rc = _main(command)([*args, "--out", str(out)])
    err = [ln for ln in capsys.readouterr().err.strip().splitlines() if "%|" not in ln]
    assert rc == 2, err
    assert len(err) == 1 and target.name in err[0], err
    assert _snapshot(out) == before
