"""Markdown report of analysed runs: tables over seeds, figures, and a verdict per claim.

``python -m deep.report RUN_DIR... [--out docs/deep_results.md]`` reads the
``analysis.json`` that :func:`deep.analysis.analyze_run` wrote in each run directory (a
folder without ``config.json`` is searched for run directories), groups the runs by setting
(regularizer, clean fraction, penultimate size, synthetic sigma_n), and writes

* one row per setting with mean ± std over seeds (``logitreg.io.mean_std``: the sample std,
  ddof = 1; a single seed shows ``(n=1)``) of every measurement;
* the figures of seed 0 of each setting, copied next to the report;
* every checkable claim of the three papers with a verdict, "held", "did not hold" or
  "mixed", computed from the numbers by the rule stated beside it
  (:data:`deep.claims.CLAIMS`), with the numbers behind it. Claims that the runs cannot
  test say so ("not tested") and why.

The report names its data set and generalises nothing beyond it.
"""

from __future__ import annotations

import argparse
import shutil
from collections import defaultdict
from pathlib import Path

from .claims import (
    CLAIMS,
    COS,
    COS_SPHERE,
    Claim,
    Stat,
    collect,
    compare,
    group_runs,
    load_studies,
    stat,
    verdict_all,
)

__all__ = ["CLAIMS", "Claim", "Stat", "collect", "compare", "group_runs", "main",
           "verdict_all", "write_report"]

# ----------------------------------------------------------------------------- tables


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell (a bare ``|`` would end the cell)."""
    return str(text).replace("|", "\\|")


def _table(groups, columns) -> list[str]:
    head = "| setting | n | " + " | ".join(c[0] for c in columns) + " |"
    lines = [head, "|" + "---|" * (len(columns) + 2)]
    for k, g in groups.items():
        cells = [stat(g, c[1]).fmt(c[2] if len(c) > 2 else 3) for c in columns]
        lines.append(f"| {k} | {len(g)} | " + " | ".join(cells) + " |")
    return lines


def _probe_columns(groups) -> list[tuple]:
    for g in groups.values():
        probes = g[0].get("bridge", {}).get("probes")
        if probes:
            cols = []
            for pool, p in probes.items():
                for al in p["alphas"]:
                    for j, gm in enumerate(p["gammas"]):
                        cols.append((f"{pool} a={al} g={gm:g}",
                                     f"bridge.probes.{pool}.alphas.{al}.accuracy.{j}"))
            return cols
    return []


TABLES = {
    "Accuracy and calibration (test split; T fitted on the validation split)": [
        ("accuracy", "accuracy"), ("ECE", "calibration.before.ece"),
        ("ECE after T", "calibration.after.ece"), ("MCE", "calibration.before.mce"),
        ("OE", "calibration.before.oe", 4), ("confidence", "calibration.before.confidence"),
        ("NLL", "calibration.before.nll"), ("NLL after T", "calibration.after.nll"),
        ("Brier", "calibration.before.brier"), ("T", "calibration.temperature", 2),
        ("T fit inside bounds (fraction)", "calibration.fit_converged", 2)],
    "Feature size and cosine to the class centers (predicted class)": [
        ("RMS", "geometry.rms_mean"),
        ("min-loss (domain)", COS), ("min-loss (sphere)", COS_SPHERE),
        ("class mean", "geometry.cosine.class_mean.mean_pred"),
        ("class mean, centred", "geometry.cosine.class_mean_centered.mean_pred"),
        ("head weight", "geometry.cosine.weight.mean_pred")],
    "Pearson r between the cosine and the confidence, per center type": [
        ("min-loss (domain)", "geometry.cosine.min_loss.pearson_r", 2),
        ("min-loss (sphere)", "geometry.cosine.min_loss_sphere.pearson_r", 2),
        ("class mean", "geometry.cosine.class_mean.pearson_r", 2),
        ("class mean, centred", "geometry.cosine.class_mean_centered.pearson_r", 2),
        ("head weight", "geometry.cosine.weight.pearson_r", 2)],
    "Cones, radiality, temperature, head": [
        ("cone invariance (min over a)", "geometry.cone_invariance.min"),
        ("radiality", "geometry.radiality.mean"),
        ("radiality at centers", "geometry.radiality.at_centers"),
        ("max abs p(z/2) - p_T(2)", "geometry.temperature_agreement.max_abs.0", 4),
        ("bias ratio", "geometry.head.bias_ratio"),
        ("CV of weight norms", "geometry.head.weight_norm_cv")],
    "Logit gaps around the vertex target z* (train split) and the core's predictions": [
        ("target", "logit_gaps.target"), ("mean gap", "logit_gaps.train.mean"),
        ("rms around target / target", "logit_gaps.train.rel_rms"),
        ("rms around ls-0.1 reference", "logit_gaps.train_reference.rms"),
        ("Fisher alignment", "bridge.fisher.fisher"),
        ("class-mean subspace", "bridge.fisher.class_means"),
        ("random subspace", "bridge.fisher.random"),
        ("sigma_f eff", "bridge.effective_noise_train.sigma_f"),
        ("sigma_n eff", "bridge.effective_noise_train.sigma_n")],
    "Robustness (strong: 8/255, 10 steps; weak: 0.4/255, 7 steps)": [
        ("FGSM strong acc", "robustness.attacks.strong.fgsm.robust_acc"),
        ("PGD strong acc", "robustness.attacks.strong.pgd.robust_acc"),
        ("FGSM weak success", "robustness.attacks.weak.fgsm.success_rate"),
        ("PGD weak success", "robustness.attacks.weak.pgd.success_rate"),
        ("corruption acc (mean)", "robustness.corruptions.mean"),
        ("local linearity (8/255)", "robustness.local_linearity.mean", 4)],
}


#: The two interventions; a table lists only the settings whose runs have the section.
SECTION_TABLES = {
    "rescale": ("Rescale intervention (Park et al. claim 16): features scaled by s to the "
                "none runs' mean training RMS, head unchanged", [
                    ("s", "rescale.scale"), ("RMS train before", "rescale.rms_train_before"),
                    ("RMS train after", "rescale.rms_train_after"),
                    ("ECE before", "rescale.before.ece"), ("ECE after", "rescale.after.ece"),
                    ("NLL before", "rescale.before.nll"), ("NLL after", "rescale.after.nll"),
                    ("OE after", "rescale.after.oe", 4),
                    ("confidence after", "rescale.after.confidence"),
                    ("PGD strong acc before", "rescale.before.attacks.strong.robust_acc"),
                    ("PGD strong acc after", "rescale.after.attacks.strong.robust_acc"),
                    ("PGD weak acc before", "rescale.before.attacks.weak.robust_acc"),
                    ("PGD weak acc after", "rescale.after.attacks.weak.robust_acc"),
                    ("cos class mean before", "rescale.before.cos_class_mean", 4),
                    ("cos class mean after", "rescale.after.cos_class_mean", 4),
                    ("predictions unchanged", "rescale.after.agreement_with_plain")]),
    "mixup_inference": ("Mixup Inference (VarMixup claim C5; Pang et al. 2020): accuracy "
                        "plain / MI-PL / MI-OL, PGD crafted against the plain model", [
                            ("clean plain", "mixup_inference.clean.plain"),
                            ("clean MI-PL", "mixup_inference.clean.pl"),
                            ("clean MI-OL", "mixup_inference.clean.ol"),
                            ("strong plain", "mixup_inference.strong.plain"),
                            ("strong MI-PL", "mixup_inference.strong.pl"),
                            ("strong MI-OL", "mixup_inference.strong.ol"),
                            ("weak plain", "mixup_inference.weak.plain"),
                            ("weak MI-PL", "mixup_inference.weak.pl"),
                            ("weak MI-OL", "mixup_inference.weak.ol")]),
}


def _section_tables(groups) -> list[str]:
    lines = []
    for key, (title, cols) in SECTION_TABLES.items():
        have = {k: g for k, g in groups.items() if all(key in a for a in g)}
        if not have:
            continue
        a0 = next(iter(have.values()))[0][key]
        o = a0["options"]
        if key == "rescale":
            note = ("s = (mean training RMS of the none runs of the setting, over seeds) / "
                    "(this run's); cosines use the true class and fixed directions (class "
                    "means of the unscaled training features), so they cannot change; "
                    "\"predictions unchanged\" is the fraction of test predictions the "
                    "rescale leaves as they were (below 1 only through the bias). PGD "
                    f"attacks the rescaled model end to end on {a0['n_attacked']} test "
                    "images, with the same random starts before and after; synthetic images "
                    "are not attacked (not in [0, 1]).")
        else:
            note = (f"lam_MI = {o['lam']:g}, N_MI = {o['n_samples']} (our defaults; "
                    "`deep.mixup_inference`); partners are clean training images of the "
                    "plain model's predicted label (MI-PL) or of the other labels (MI-OL); "
                    f"{a0['n_attacked']} test images; PGD presets as in the robustness "
                    "table, crafted against the plain model (the oblivious setting).")
        lines += [f"## {title}", "", note, ""] + _table(have, cols) + [""]
    return lines


def _figures(groups, out: Path) -> list[str]:
    folder = out.parent / (out.stem + "_figures")
    lines = []
    for k, g in groups.items():
        run = Path(g[0]["_dir"])
        names = [n for n in ("reliability.png", "reliability_T.png", "features.png",
                             "decision_regions.png") if (run / n).exists()]
        if not names:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        links = []
        for n in names:
            dest = folder / f"{run.name}-{n}"
            shutil.copyfile(run / n, dest)
            links.append(f"![{k}: {n}]({folder.name}/{dest.name})")
        lines += [f"**{k}** (seed {g[0]['seed']}): " + " ".join(links), ""]
    return lines


def _synthetic_table(groups, experiment) -> list[str]:
    syn = {k: g for k, g in groups.items() if g[0]["setting"].get("dataset") == "synthetic"}
    if not syn:
        return []
    theory = (experiment or {}).get("theory") or {}

    def num(key):
        x = theory.get(key)
        return "n/a" if x is None else f"{x:.3f}"

    lines = ["## Synthetic images: CNN, probes and the linear theory", "",
             "The linear theory (Beck, Bar-Sinai & Levi 2026, Sec. 4.1) predicts an accuracy "
             "independent of sigma_n for a logit-regularized linear classifier with "
             f"lam = d/N < 1. Bayes accuracy of the nearest template: {num('bayes')}; "
             "[DERIVED] binary asymptotic accuracy of the empirical Fisher direction for one "
             f"pair of classes at lam = d/N = {num('lam')}: {num('pairwise_asymptotic')} (a "
             "binary formula, a reference for one pair, not the 10-class accuracy; n/a when "
             "lam >= 1). Neither describes a CNN.", ""]
    cols = [("CNN accuracy", "accuracy")] + [
        c for c in _probe_columns(syn) if c[0].endswith("g=1")]
    return lines + _table(syn, cols) + [""]


def write_report(paths, out="docs/deep_results.md", *, experiment=None, studies=()) -> Path:
    """Write the Markdown report of the runs under ``paths`` to ``out`` (see module doc).

    ``studies``: JSON results of the separate studies some claims rest on
    (:data:`deep.claims.STUDIES`: ``deep.architecture``'s summary.json,
    ``deep.manifold``'s result.json); their claims are "not tested" without them."""
    from logitreg.io import atomic_write, load_json

    study = load_studies(studies)
    runs = collect(paths)
    groups = group_runs(runs)
    out = Path(out)
    if experiment is None or isinstance(experiment, (str, Path)):
        experiment = [] if experiment is None else [experiment]
    exps = [load_json(e) for e in experiment if Path(e).exists()]
    exp = {"theory": next((e["theory"] for e in exps if e.get("theory")), None)}
    datasets = sorted({a["setting"]["dataset"] for a in runs})
    models = sorted({a["setting"]["model"] for a in runs})
    epochs = sorted({a["setting"]["epochs"] for a in runs})
    ntest = sorted({a["n_test"] for a in runs})
    lines = [f"# Deep results: {', '.join(datasets)} ({', '.join(models)})", "",
             f"**These are {', '.join(datasets)} results only**: {len(runs)} runs; epochs "
             f"{', '.join(map(str, epochs))}; test images {', '.join(map(str, ntest))}. "
             "Nothing here is claimed beyond these data, this architecture and this budget.",
             "", "Written by `python -m deep.report` from the `analysis.json` of each run "
             "(`deep.analysis.analyze_run`). Every cell is the mean ± std over training seeds; "
             "the std is the sample standard deviation (ddof = 1, `logitreg.io.mean_std`); "
             "`(n=1)` marks a single seed. Cosines use the predicted class; min-loss centers "
             "have the mean training-feature norm as radius.", ""]
    for e in exps:
        argv = ["python -m deep.experiment"] + list(e.get("argv", [])[1:])
        inter = e.get("interventions_seconds")
        inter = ("" if inter is None else
                 f"; the interventions (feature rescale; Mixup Inference where attacked) "
                 f"{inter / 60:.1f} min")
        calls = e.get("invocations")
        calls = "" if not calls or calls == 1 else f" over {calls} invocations"
        lines += [f"Experiment: `{' '.join(argv)}`; {e.get('n_runs')} runs, "
                  f"{e.get('total_seconds', float('nan')) / 60:.1f} min in total{calls} "
                  f"(training {e.get('train_seconds', float('nan')) / 60:.1f} min{inter}; "
                  "cached runs and analyses are not counted again).", ""]
    main_groups = {k: g for k, g in groups.items()
                   if g[0]["setting"].get("dataset") != "synthetic"}
    for title, cols in TABLES.items():
        if main_groups:
            lines += [f"## {title}", ""] + _table(main_groups, cols) + [""]
        if title.startswith("Accuracy") and main_groups:
            lines += ["A temperature fit that ends on a bound of (0.01, 100) means the "
                      "validation NLL keeps falling toward it (e.g. every validation image "
                      "correct: T -> 0); its \"after T\" metrics are then those of the bound, "
                      "not of an optimum.", ""]
    probe_cols = _probe_columns(main_groups)
    if probe_cols:
        a0 = next(g[0] for g in main_groups.values() if g[0].get("bridge", {}).get("probes"))
        pools = a0["bridge"]["probes"]
        desc = "; ".join(f"{p}: {v['n_train']} training / {v['n_test']} test features"
                         for p, v in pools.items())
        lines += ["## Linear probes on the frozen features (Fig. 9 protocol)", "",
                  "Exact `logitreg.fit` probes, f = |z|^2, on the penultimate features of the "
                  "validation and test images (never trained on), balanced split; a = logit "
                  "penalty alpha (a = 0 with weight penalty "
                  f"{pools[next(iter(pools))]['l2_alpha0']:g}), g = orthogonal scale gamma "
                  f"(Eq. 36). {desc}. The alpha > 0 probes are exact minimisers without a "
                  "weight penalty, so their predictions do not depend on gamma (Prop. D.3): "
                  "their flatness in gamma is that theorem, not an empirical finding; the "
                  "alpha = 0 probe needs the weight penalty, which breaks the invariance "
                  "(App. E.4), as the paper's 30,000 Adam epochs from zero also do.", ""]
        lines += _table(main_groups, probe_cols) + [""]
    lines += _section_tables(groups)
    lines += _synthetic_table(groups, exp)
    varmix = {k: g for k, g in groups.items() if "varmix" in g[0]
              and "skipped" not in g[0]["varmix"]}
    if varmix:
        keys = [k for k in next(iter(varmix.values()))[0]["varmix"]
                if not k.endswith("_sem") and k != "n_pairs"]
        lines += ["## VarMixup samples (lam = 1/2, 64 test pairs)", "",
                  "Means over the pairs; the VAE and the pairs are the same for every "
                  "VarMixup run, so the spread over seeds is 0 (claims C8 and C9 use the "
                  "standard error over the pairs).", ""]
        lines += _table(varmix, [(k, f"varmix.{k}", 4) for k in keys]) + [""]
    lines += ["## Figures (seed 0 of each setting)", "",
              "Reliability diagrams before / after temperature scaling, histograms of the "
              "feature RMS and of the cosines, and, for the 2-d penultimate models, the head's "
              "decision regions with the test features: the regions are cones from the "
              "origin's neighbourhood (exact cones when the bias is 0).", ""]
    lines += _figures(groups, out)
    lines += ["## Claims", "",
              "Each verdict is computed by the stated rule from the numbers above "
              f"({', '.join(datasets)} only). \"did not hold\" includes differences within the "
              "seed spread.", "",
              "| paper | # | claim | rule | verdict | numbers |", "|---|---|---|---|---|---|"]
    counts = defaultdict(int)
    for c in CLAIMS:
        verdict, numbers = c.check(study.get(c.study)) if c.study else c.check(groups)
        counts[verdict] += 1
        cells = [_cell(x) for x in (c.text, c.rule or "-", numbers)]
        lines.append(f"| {c.paper} | {c.key} | {cells[0]} | {cells[1]} | **{verdict}** | "
                     f"{cells[2]} |")
    lines += ["", "Tally: " + ", ".join(f"{counts[v]} {v}" for v in
                                         ("held", "did not hold", "mixed", "not tested")) + "."]
    text = "\n".join(lines) + "\n"
    atomic_write(out, lambda fh: fh.write(text.encode()))
    return out


def main(argv: list[str] | None = None) -> Path:
    from logitreg.cli import run_command

    p = argparse.ArgumentParser(prog="python -m deep.report", description=__doc__.split("\n")[0])
    p.add_argument("runs", nargs="+", help="run directories (or folders holding them)")
    p.add_argument("--out", default="docs/deep_results.md", help="Markdown file to write")
    p.add_argument("--experiment", action="append", default=None,
                   help="experiment.json of python -m deep.experiment (timing, theory); "
                   "may be repeated")
    p.add_argument("--study", action="append", default=None,
                   help="result of a separate study a claim rests on: the summary.json of "
                   "python -m deep.architecture (claim 13), the result.json of python -m "
                   "deep.manifold (C7); may be repeated")
    args = p.parse_args(argv)
    result = {}

    def job():
        result["out"] = write_report(args.runs, args.out, experiment=args.experiment,
                                     studies=args.study)
        print(f"wrote {result['out']}")

    status = run_command("python -m deep.report", job)
    if status:
        raise SystemExit(status)
    return result["out"]


if __name__ == "__main__":
    main()
