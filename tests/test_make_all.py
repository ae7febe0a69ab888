"""paper_figs/make_all.py: discovers the figure modules, runs what is missing, writes the
figures and the reproduction report."""

import importlib

import pytest

make_all = importlib.import_module("paper_figs.make_all")


def test_every_figure_module_follows_the_convention():
    mods = make_all.figure_modules()
    assert "grokking" in {m.FIGURE["name"] for m in mods}
    for mod in mods:
        fig = mod.FIGURE
        assert {"name", "script", "paper", "title"} <= set(fig), mod.__name__
        assert (make_all.ROOT / fig["script"]).exists(), fig["script"]
        assert callable(mod.plot) and callable(mod.reproduction)


def test_jobs_default_to_the_usable_cores(monkeypatch, tmp_path, capsys):
    import os

    assert make_all.default_jobs() == len(os.sched_getaffinity(0))
    seen = []

    def ensure_result(fig, path, quick, jobs):
        seen.append(jobs)
        raise RuntimeError("stopped here")

    monkeypatch.setattr(make_all, "ensure_result", ensure_result)
    args = ["--only", "fig11_12", "--results", str(tmp_path)]
    assert make_all.main(args) == 1 and "stopped here" in capsys.readouterr().err
    assert make_all.main([*args, "--jobs", "3"]) == 1
    assert make_all.main([*args, "--quick"]) == 1  # small problems: one worker
    assert seen == [make_all.default_jobs(), 3, 1]


def test_unknown_figure_names_are_refused():
    with pytest.raises(ValueError, match="--only nofig: unknown figure"):
        make_all.figure_modules(["nofig"])


def test_quick_grokking_end_to_end(tmp_path):
    results = tmp_path / "results"
    assert make_all.main(["--quick", "--only", "grokking", "--results", str(results)]) == 0
    report = (results / "reproduction-quick.md").read_text()
    assert "## Fig. 5 (grokking)" in report and "Quick mode" in report
    assert (results / "figures-quick" / "grokking.png").stat().st_size > 10_000
    assert (results / "figures-quick" / "grokking.pdf").exists()
    # The alpha = 0.1 train loss sits at its floor l(z*) = 0.3796, as in the paper (0.380).
    row = next(ln for ln in report.splitlines() if ln.startswith("| final train loss, alpha = 0.1"))
    assert "0.3796" in row and "reproduced" in row
    # A second run reuses the result (no simulation time) and rewrites the same report.
    assert make_all.main(["--quick", "--only", "grokking", "--results", str(results)]) == 0
    assert "| grokking | result reused |" in (results / "reproduction-quick.md").read_text()


def test_a_result_of_other_library_code_is_reused_and_flagged(tmp_path, capsys):
    """A result whose recorded library source differs from this code's (or is missing, as
    in files written before it was recorded) is still used, and the report and stderr say
    which one and where it came from."""
    import json

    results = tmp_path / "results"
    assert make_all.main(["--quick", "--only", "fig11_12", "--results", str(results)]) == 0
    path = results / "fig11_12-quick" / "fig11_12.json"
    data = json.loads(path.read_text())
    assert len(data["meta"]["logitreg_source"]) == 12
    assert make_all.reused_from_other_source(path) is None
    data["meta"]["logitreg_source"] = "0123456789ab"
    path.write_text(json.dumps(data))
    capsys.readouterr()
    assert make_all.main(["--quick", "--only", "fig11_12", "--results", str(results)]) == 0
    row = next(ln for ln in (results / "reproduction-quick.md").read_text().splitlines()
               if ln.startswith("| fig11_12 |"))
    assert "result reused, computed by other code (library source 0123456789ab, git" in row
    err = capsys.readouterr().err
    assert "1 result(s) were reused from another version of the library: fig11_12" in err
    del data["meta"]["logitreg_source"]
    path.write_text(json.dumps(data))
    assert "library source not recorded" in make_all.reused_from_other_source(path)
