"""The package layout: import direction, import-light core, readable result files."""

import ast
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from logitreg.io import atomic_write, save_json

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("sympy", "cvxpy", "torch", "sklearn", "matplotlib")


def _loaded_after(statement: str) -> list[str]:
    code = (f"import sys, json; {statement}; "
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    return json.loads(out)


def test_import_logitreg_loads_no_heavy_optional_dependency():
    assert _loaded_after("import logitreg") == []


def test_heavy_dependencies_load_when_used():
    # The lazy imports are real imports: using the feature loads its library.
    assert "sympy" in _loaded_after("import logitreg; logitreg.z_star(0.1, reg='ls')")
    assert "sklearn" in _loaded_after("import logitreg; logitreg.LogitRegClassifier")
    assert "torch" in _loaded_after(
        "import logitreg.torch_losses as t; t.binary_penalty('quadratic')")


def test_deep_loads_no_cvxpy():
    """The lent GPU machine has torch but no cvxpy: deep/ must not need it."""
    assert "cvxpy" not in _loaded_after("import deep.train, deep.vae, deep.summary")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize(("package", "forbidden"), [
    ("logitreg", {"deep", "simulations", "paper_figs", "bench"}),
    ("deep", {"simulations", "paper_figs", "bench"}),
    ("paper_figs", {"simulations", "deep", "bench"}),
])
def test_imports_flow_one_way(package, forbidden):
    for path in sorted((ROOT / package).glob("*.py")):
        assert not _imports(path) & forbidden, f"{path.name} imports {_imports(path) & forbidden}"


def test_bench_uses_public_names_only():
    for path in sorted((ROOT / "bench").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and \
                    node.module.split(".")[0] in ("logitreg", "deep"):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports private {private} from {node.module}"


def test_simulations_do_not_edit_sys_path():
    for path in sorted((ROOT / "simulations").glob("*.py")):
        assert "sys.path" not in path.read_text(), path.name


def test_result_files_are_readable_by_group_and_others(tmp_path):
    old = os.umask(0o022)
    try:
        a = save_json(tmp_path / "r.json", {"x": 1})
        b = atomic_write(tmp_path / "sub" / "b.bin", lambda fh: fh.write(b"1"))
    finally:
        os.umask(old)
    for path in (a, b):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == 0o644, f"{path.name}: {oct(mode)}"
    assert json.loads(a.read_text()) == {"x": 1}


def test_no_module_in_logitreg_is_over_700_lines_without_a_reason():
    for path in sorted((ROOT / "logitreg").glob("*.py")):
        text = path.read_text()
        n = text.count("\n")
        head = text[:2000].lower()
        assert n <= 700 or "why this file is long" in head, f"{path.name}: {n} lines"


def test_an_interrupt_during_an_atomic_write_lands_after_the_file(tmp_path):
    """Ctrl-C while a result is being written: the file is complete and in place, no
    temporary file is left, and the KeyboardInterrupt comes right after."""
    import signal

    def write(fh):
        fh.write(b"first half ")
        os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl-C mid-write
        fh.write(b"second half")

    import threading

    # Another live thread (a checkpoint writer, a data loader) may be the one the OS hands
    # the signal to: the interrupt must wait all the same.
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            atomic_write(tmp_path / "r.json", write)
    finally:
        stop.set()
        other.join()
    assert (tmp_path / "r.json").read_bytes() == b"first half second half"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_sigterm_during_an_atomic_write_lands_after_the_file(tmp_path):
    """SIGTERM mid-write under ``run_command`` (which turns it into ``Terminated``): the file
    is complete and in place, no temporary file is left, and the status is 143."""
    import signal

    from logitreg.cli import EXIT_TERMINATED, run_command

    def write(fh):
        fh.write(b"first half ")
        os.kill(os.getpid(), signal.SIGTERM)  # a scheduler stops the job mid-write
        fh.write(b"second half")

    before = signal.getsignal(signal.SIGTERM)
    assert run_command("x", lambda: atomic_write(tmp_path / "r.json", write)) == EXIT_TERMINATED
    assert signal.getsignal(signal.SIGTERM) is before  # restored
    assert (tmp_path / "r.json").read_bytes() == b"first half second half"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
