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
