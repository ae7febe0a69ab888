"""The README's commands work as written."""

import re
import shlex
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_opens_with_install_main_job_and_test_command():
    first = _blocks("bash")[0].splitlines()
    cmds = [shlex.split(line.split("#")[0]) for line in first if line.strip()]
    assert cmds[0] == ["pip", "install", "-e", ".[dev]"]
    assert cmds[1] == ["python", "simulations/grokking.py"]
    assert cmds[2] == ["pytest"]


@pytest.mark.parametrize("code", _blocks("python"))
def test_readme_python_examples_run(code, capsys):
    exec(compile(code, str(README), "exec"), {})
    assert capsys.readouterr().out.strip()
