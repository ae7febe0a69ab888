"""The README's commands work as written, and its tour's claims hold."""

import contextlib
import io
import re
import shlex
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), flags=re.S)


@pytest.fixture(scope="module")
def executed():
    """Each python block run once (the tour fits a 2000 x 1400 problem): code -> (namespace,
    printed output)."""
    cache = {}

    def run(code):
        if code not in cache:
            ns, out = {}, io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(code, str(README), "exec"), ns)
            cache[code] = ns, out.getvalue()
        return cache[code]

    return run


def test_readme_opens_with_install_main_job_and_test_command():
    first = _blocks("bash")[0].splitlines()
    cmds = [shlex.split(line.split("#")[0]) for line in first if line.strip()]
    assert cmds[0] == ["pip", "install", "-e", ".[dev]"]
    assert cmds[1] == ["python", "simulations/grokking.py"]
    assert cmds[2] == ["pytest"]


@pytest.mark.parametrize("code", _blocks("python"))
def test_readme_python_examples_run(code, executed):
    _, printed = executed(code)
    assert printed.strip()


def test_readme_api_tour_states_what_its_output_shows(executed):
    """Running the tour is not enough: each claim in its comments must hold for the objects
    it builds (lambda = 0.7, alpha = 0.4, sigma_f = 0.5)."""
    import logitreg as lr

    (code,) = [b for b in _blocks("python") if "lr.fit(" in b]
    ns, _ = executed(code)
    res, X, y = ns["res"], ns["X"], ns["y"]
    assert X.shape == (2000, 1400) and res.converged and res.grad_norm < 1e-8
    # "Fisher alignment: the minimiser is parallel to Sigma^-1 mu" ([SIMULATED] cos = 1.0000
    # for alpha >= 0.2; measured 1 - 8e-8 here).
    assert lr.cosine(res.w, lr.fisher_direction(X, y)) > 0.9999
    # "Logit clustering: signed logits gather around z*": the mean signed logit is near
    # z*(0.4) = 0.3162 (measured 0.2988, -5.5 %) and their spread is small next to it
    # (measured std/mean = 0.24).
    t = y * (X @ res.w)
    assert t.mean() == pytest.approx(lr.z_star(0.4), rel=0.1)
    assert t.std() < 0.3 * t.mean()
    # "Exact test accuracy, and the proportional-limit prediction": within 1 % (measured
    # 0.8388 against 0.8439, -0.6 %, at N = 2000).
    acc = lr.population_accuracy(res.w, mu_f=1.0, sigma_f=0.5, sigma_n=1.0)
    assert acc == pytest.approx(lr.asymptotic_accuracy(0.7, mu_f=1.0, sigma_f=0.5), rel=0.01)
    # "Label smoothing is f = 1/2 log(2 + 2 cosh z) with alpha = 2 eps": z* = log((1-eps)/eps).
    assert lr.z_star(2 * 0.1, reg="ls") == pytest.approx(np.log(0.9 / 0.1), rel=1e-14)
