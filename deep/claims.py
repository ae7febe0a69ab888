"""The claims of the three papers, each with a verdict rule, over analysed runs.

:data:`CLAIMS` lists every checkable claim with the rule stated beside it; the rules judge
the groups of analysed runs that :mod:`deep.groups` reads and reduces over seeds (its names
are re-exported here), or the result of a separate study (:data:`STUDIES`).
:mod:`deep.report` writes them out.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["CLAIMS", "STUDIES", "Claim", "Stat", "collect", "compare", "group_runs", "label",
           "load_studies", "stat", "verdict_all"]

from .groups import (  # noqa: F401  (re-exported: the claims' vocabulary)
    MIXING,
    Stat,
    _get,
    collect,
    compare,
    group_runs,
    label,
    stat,
    verdict_all,
)

SOFT = ("ls", "mixup", "cutmix")  # the soft-label methods of Park, Kim & Lee (2024)


# ----------------------------------------------------------------------------- claims


@dataclass(frozen=True)
class Claim:
    """A checkable claim: ``check(groups) -> (verdict, numbers)``, the rule in ``rule``.

    A claim with ``study`` set is measured by a separate experiment, not on the analysed
    runs: ``check`` is then given that study's result (:data:`STUDIES`; None when it was
    not passed to the report)."""

    paper: str
    key: str
    text: str
    rule: str
    check: Callable
    study: str | None = None


def _architecture_verdict(summary):
    from .architecture import claim13_verdict

    return claim13_verdict(summary)


def _manifold_verdict(result):
    from .manifold import c7_verdict

    return c7_verdict(result)


# The separate studies a claim may rest on: name -> (how to recognise its JSON, the
# verdict rule of its module, the command that writes it, where it is documented).
STUDIES: dict[str, tuple[Callable, Callable, str, str]] = {
    "architecture": (lambda d: "cells" in d and "differences" in d, _architecture_verdict,
                     "python -m deep.architecture --dataset digits --out runs/architecture "
                     "(runs/architecture/summary.json)", "docs/architecture_confound.md"),
    "manifold": (lambda d: "seeds" in d and str(d.get("claim", "")).startswith("VarMixup C7"),
                 _manifold_verdict, "python -m deep.manifold --out runs/manifold "
                 "(runs/manifold/result.json)", "docs/varmixup_manifold.md"),
}


def load_studies(paths) -> dict[str, dict]:
    """The JSON results of separate studies (:data:`STUDIES`), keyed by study name.

    Raises ``ValueError`` naming the file when it is missing or not a known study's."""
    from logitreg.io import load_json

    out = {}
    for path in map(Path, paths or ()):
        if not path.is_file():
            raise ValueError(f"--study {path}: no such file: expected the summary.json of "
                             "python -m deep.architecture or the result.json of python -m "
                             "deep.manifold")
        data = load_json(path)
        kinds = [k for k, (is_kind, *_rest) in STUDIES.items()
                 if isinstance(data, dict) and is_kind(data)]
        if not kinds:
            raise ValueError(f"--study {path} is not the result of a known study: expected "
                             "the summary.json of python -m deep.architecture or the "
                             "result.json of python -m deep.manifold")
        out[kinds[0]] = data
    return out


def _study(name: str):
    """A claim's check from the study ``name``: its module's verdict rule on its result."""
    _, verdict, command, doc = STUDIES[name]

    def check(result):
        if result is None:
            return "not tested", f"a separate study: run {command} and pass it with --study"
        v, why = verdict(result)
        v = "not tested" if v == "undetermined" else v  # e.g. one seed: no spread
        return v, f"{why} (study: {command}; {doc})"

    return check


def _find(groups: dict, reg: str, *, clean=None, two_d=False) -> list[dict] | None:
    for g in groups.values():
        s = g[0]["setting"]
        if s["reg"] != reg or bool(s.get("feature_dim")) != two_d:
            continue
        if s.get("dataset") == "synthetic":
            continue
        frac = s.get("mix_clean_frac") or 0.0
        if clean is not None and reg in MIXING and abs(frac - clean) > 1e-9:
            continue
        return g
    return None


def _main_groups(groups: dict) -> dict:
    return {k: g for k, g in groups.items() if not g[0]["setting"].get("feature_dim")
            and g[0]["setting"].get("dataset") != "synthetic"}


def _pairwise(groups, path, regs, direction, *, base="none", base_clean=None, fmt=3):
    b = _find(groups, base, clean=base_clean)
    if b is None:
        return "not tested", f"no {base} runs"
    sb = stat(b, path)
    verdicts, nums = [], [f"{base} {sb.fmt(fmt)}"]
    for reg, clean in regs:
        g = _find(groups, reg, clean=clean)
        if g is None:
            continue
        s = stat(g, path)
        verdicts.append(compare(s, sb, direction))
        nums.append(f"{label(g[0]['setting'])} {s.fmt(fmt)} ({verdicts[-1]})")
    return verdict_all(verdicts), "; ".join(nums)


def _soft(groups, path, direction):
    return _pairwise(groups, path, [(r, 0.0) for r in SOFT], direction)


COS = "geometry.cosine.min_loss.mean_pred"
COS_SPHERE = "geometry.cosine.min_loss_sphere.mean_pred"


def _cone(groups):
    vals = {k: stat(g, "geometry.cone_invariance.min") for k, g in _main_groups(groups).items()}
    if not vals:
        return "not tested", "no runs"
    v = ["held" if s.mean >= 0.99 else "did not hold" for s in vals.values()]
    zero = all(all(x == 1.0 for x in a["geometry"]["cone_invariance"]["agreement_zero_bias"])
               for g in groups.values() for a in g)
    nums = "; ".join(f"{k} {s.fmt()}" for k, s in vals.items())
    return verdict_all(v), nums + f"; with b = 0 exactly 1 in every run: {zero}"


def _cone_shape(groups):
    b = _find(groups, "none")
    if b is None:
        return "not tested", "no none runs"
    sb = stat(b, "geometry.cone_invariance.min")
    v, nums = [], [f"none {sb.fmt()}"]
    for reg in SOFT:
        g = _find(groups, reg, clean=0.0)
        if g is None:
            continue
        s = stat(g, "geometry.cone_invariance.min")
        v.append("held" if abs(s.mean - sb.mean) <= 0.01 else "did not hold")
        nums.append(f"{reg} {s.fmt()}")
    return verdict_all(v), "; ".join(nums)


def _centers(groups):
    v, nums = [], []
    for k, g in _main_groups(groups).items():
        r = {c: stat(g, f"geometry.cosine.{c}.pearson_r")
             for c in ("min_loss", "class_mean", "weight")}
        ok = r["min_loss"].mean > r["class_mean"].mean and r["min_loss"].mean > r["weight"].mean
        v.append("held" if ok else "did not hold")
        nums.append(f"{k}: r min-loss {r['min_loss'].fmt(2)}, class mean "
                    f"{r['class_mean'].fmt(2)}, weights {r['weight'].fmt(2)}")
    return verdict_all(v), "; ".join(nums)


def _overconfident(groups):
    g = _find(groups, "none")
    if g is None:
        return "not tested", "no none runs"
    c, acc = stat(g, "calibration.before.confidence"), stat(g, "accuracy")
    return compare(c, acc, ">"), f"none: confidence {c.fmt()}, accuracy {acc.fmt()}"


def _mixing_confidence(groups):
    return _pairwise(groups, "calibration.before.confidence", [("mixup", 0.0), ("cutmix", 0.0)],
                     "<")


def _feature_scaling(groups):
    g = _find(groups, "none")
    if g is None:
        return "not tested", "no none runs"
    conf = [stat(g, f"geometry.feature_scaling.{i}.confidence").mean for i in range(4)]
    ece = [stat(g, f"geometry.feature_scaling.{i}.ece").mean for i in range(4)]
    drops = all(a > b for a, b in zip(conf[:-1], conf[1:], strict=True))
    improves = min(ece[1:]) < ece[0]
    worsens = ece[-1] > min(ece)
    tmax = stat(g, "geometry.temperature_agreement.max_abs.0")
    parts = [drops, improves, worsens]
    verdict = "held" if all(parts) else ("did not hold" if not any(parts) else "mixed")
    return verdict, (f"none, scales 1, 0.75, 0.5, 0.25: confidence "
                     f"{', '.join(f'{x:.3f}' for x in conf)}; ECE "
                     f"{', '.join(f'{x:.3f}' for x in ece)}; max |p(s z) - p_T| at s = 1/2 "
                     f"with the real bias {tmax.fmt(4)}")


def _spearman(x, y) -> float:
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    return float(np.corrcoef(rx, ry)[0, 1]) if len(x) > 2 else float("nan")


def _across(groups, px, py, *, expect: str, strong=0.8):
    g = _main_groups(groups)
    x = [stat(v, px).mean for v in g.values()]
    y = [stat(v, py).mean for v in g.values()]
    rho = _spearman(x, y)
    if not np.isfinite(rho):
        return "not tested", "fewer than 3 settings"
    sign = 1 if expect == "+" else -1
    verdict = ("held" if sign * rho >= strong else "did not hold" if sign * rho <= 0
               else "mixed")
    return verdict, f"Spearman rank correlation over {len(x)} settings {rho:+.2f}"


def _radiality_aligned(groups):
    v, nums = [], []
    for k, g in _main_groups(groups).items():
        a = stat(g, "geometry.radiality.mean_aligned")
        u = stat(g, "geometry.radiality.mean_unaligned")
        v.append(compare(a, u, ">"))
        nums.append(f"{k} {a.fmt()} vs {u.fmt()}")
    return verdict_all(v), "; ".join(nums)


def _strong_attack(groups):
    v, nums = [], []
    for k, g in _main_groups(groups).items():
        s = stat(g, "robustness.attacks.strong.pgd.robust_acc")
        if np.isfinite(s.mean):
            v.append("held" if s.mean <= 0.05 else "did not hold")
            nums.append(f"{k} {s.fmt()}")
    return verdict_all(v), "; ".join(nums) or "no attacks"


def _theorem1(groups):
    v, nums = [], []
    for k, g in _main_groups(groups).items():
        br, cv = stat(g, "geometry.head.bias_ratio"), stat(g, "geometry.head.weight_norm_cv")
        v.append("held" if br.mean < 0.1 and cv.mean < 0.1 else "did not hold")
        nums.append(f"{k}: bias ratio {br.fmt(3)}, CV of |w_k| {cv.fmt(3)}")
    return verdict_all(v), "; ".join(nums)


def _ls_gap(groups):
    g = _find(groups, "ls")
    if g is None:
        return "not tested", "no ls runs"
    m, t = stat(g, "logit_gaps.train.mean"), g[0]["logit_gaps"]["target"]
    off = abs(m.mean - t) / t
    return ("held" if off < 0.2 else "did not hold",
            f"ls: mean train gap {m.fmt()} vs log(1 + K(1-eps)/eps) = {t:.3f} "
            f"(relative offset {off:.2f})")


def _direction(a: Stat, b: Stat) -> int:
    """+1 if a > b beyond the combined std, -1 if a < b beyond it, else 0."""
    return (1 if compare(a, b, ">") == "held" else -1 if compare(a, b, "<") == "held"
            else 0)


PRESETS = ("strong", "weak")


def _causal_split(groups):
    """Claim 16: the rescale intervention (``rescale`` section of the analysis)."""
    b = _find(groups, "none")
    if b is None or not all("rescale" in a for a in b):
        return "not tested", "no none runs with the rescale intervention"
    verdicts, nums = [], []
    for reg in SOFT:
        g = _find(groups, reg, clean=0.0)
        if g is None or not all("rescale" in a for a in g):
            continue
        e = {w: (stat(g, f"rescale.{w}.ece"), stat(b, f"rescale.{w}.ece"))
             for w in ("before", "after")}
        gain_before = compare(*e["before"], "<") == "held"
        gain_after = compare(*e["after"], "<") == "held"
        rob, rob_txt = [], []
        for p in PRESETS:
            path = {w: f"rescale.{w}.attacks.{p}.robust_acc" for w in ("before", "after")}
            rb, nb = stat(g, path["before"]), stat(b, path["before"])
            ra, na = stat(g, path["after"]), stat(b, path["after"])
            if not np.isfinite(rb.mean):
                continue
            d0, d1 = _direction(rb, nb), _direction(ra, na)
            if d0 != 0:
                rob.append(d1 == d0)
            rob_txt.append(f"{p} PGD acc {rb.fmt()} -> {ra.fmt()} (none {nb.fmt()} -> "
                           f"{na.fmt()}; difference {'+-'[d0 < 0] if d0 else 'none'} "
                           f"before, {'+-'[d1 < 0] if d1 else 'none'} after)")
        rob_diff, rob_persists = bool(rob), bool(rob) and all(rob)
        if gain_after:
            v = "did not hold"
        elif not gain_before and not rob_diff:
            v = "not tested"
        elif gain_before and rob_persists:
            v = "held"
        else:
            v = "mixed"
        verdicts.append(v)
        s_ = stat(g, "rescale.scale")
        nums.append(
            f"{reg} (s = {s_.fmt(3)}): ECE {e['before'][0].fmt()} -> {e['after'][0].fmt()} "
            f"vs none {e['before'][1].fmt()} -> {e['after'][1].fmt()} (ECE gain over none "
            f"before: {'yes' if gain_before else 'no'}, after: "
            f"{'yes' if gain_after else 'no'}); " + "; ".join(rob_txt) + f" [{v}]")
    if not verdicts:
        return "not tested", "no soft-label runs with the rescale intervention"
    return verdict_all(verdicts), " / ".join(nums)


def _mixup_inference(groups):
    """C5: robust accuracy with MI (strong PGD, oblivious), varmixup vs mixup, MI-PL and
    MI-OL, at both clean fractions."""
    g = _find(groups, "varmixup")
    if g is None or not all("mixup_inference" in a for a in g):
        return "not tested", "no varmixup runs with the Mixup Inference section"
    parts, nums = [], []
    for v in ("pl", "ol"):
        verdict, text = _varmix(f"mixup_inference.strong.{v}", ">")(groups)
        parts.append(verdict)
        nums.append(f"MI-{v.upper()}: {text}")
    plain = _varmix("mixup_inference.strong.plain", ">")(groups)[1]
    o = g[0]["mixup_inference"].get("options", {})
    head = f"lam_MI {o.get('lam', '?')}, N_MI {o.get('n_samples', '?')}: "
    return verdict_all(parts), head + "; ".join(nums) + f"; without MI: {plain}"


def _not_tested(why):
    return lambda groups: ("not tested", why)


def _varmix(path, direction, *, fmt=3):
    def check(groups):
        g = _find(groups, "varmixup")
        if g is None:
            return "not tested", "no varmixup runs"
        s, v, nums = stat(g, path), [], []
        nums.append(f"{label(g[0]['setting'])} {s.fmt(fmt)}")
        for clean in (0.0, g[0]["setting"].get("mix_clean_frac") or 0.0):
            m = _find(groups, "mixup", clean=clean)
            if m is None or (clean == 0.0 and v):
                continue
            sm = stat(m, path)
            v.append(compare(s, sm, direction))
            nums.append(f"{label(m[0]['setting'])} {sm.fmt(fmt)} ({v[-1]})")
        return verdict_all(v), "; ".join(nums)
    return check


def _parity(groups):
    g = _find(groups, "varmixup")
    if g is None:
        return "not tested", "no varmixup runs"
    s, v, nums = stat(g, "accuracy"), [], [f"varmixup {stat(g, 'accuracy').fmt()}"]
    for clean in sorted({0.0, g[0]["setting"].get("mix_clean_frac") or 0.0}):
        m = _find(groups, "mixup", clean=clean)
        if m is None:
            continue
        sm = stat(m, "accuracy")
        ok = abs(s.mean - sm.mean) <= 0.01 + math.hypot(s.spread(), sm.spread())
        v.append("held" if ok else "did not hold")
        nums.append(f"{label(m[0]['setting'])} {sm.fmt()}")
    return verdict_all(v), "; ".join(nums) + " (parity: within 0.01 + combined std)"


def _varmix_pairs(keys, what, *, threshold=None):
    """C8 (``threshold``: the input mixups' mean distance minus two standard errors must
    exceed it) or C9 (the first key must exceed the second by more than two combined
    standard errors). The spread is over the test pairs, not the seeds: the VAE and the
    pairs are shared by every VarMixup run."""
    def check(groups):
        g = _find(groups, "varmixup")
        if g is None or "varmix" not in g[0] or "skipped" in g[0]["varmix"]:
            return "not tested", "no VarMixup pair measures"
        m, v, nums = g[0]["varmix"], [], []
        for a_key, b_key in keys:
            a, b = m[a_key], m[b_key]
            sa, sb = m.get(a_key + "_sem") or 0.0, m.get(b_key + "_sem") or 0.0
            if threshold is not None:
                v.append("held" if a - 2 * sa > threshold else "did not hold")
            else:
                v.append("held" if a - b > 2 * math.hypot(sa, sb) else "did not hold")
            nums.append(f"{a_key} {a:.4f} ± {sa:.4f} vs {b_key} {b:.4f} ± {sb:.4f}")
        return verdict_all(v), (f"{what} (mean ± standard error over "
                                f"{m.get('n_pairs', '?')} pairs): " + "; ".join(nums))
    return check


def _logit_clustering(groups):
    b = _find(groups, "none")
    if b is None:
        return "not tested", "no none runs"
    sb = stat(b, lambda a: a["logit_gaps"]["train_reference"]["rms"]
              / a["logit_gaps"]["reference_target"])
    v, nums = [], [f"none (around the ls 0.1 reference) {sb.fmt()}"]
    for reg in ("ls", "logit_penalty"):
        g = _find(groups, reg)
        if g is None:
            continue
        s = stat(g, "logit_gaps.train.rel_rms")
        ok = compare(s, sb, "<") == "held" and s.mean < 0.25
        v.append("held" if ok else "did not hold")
        nums.append(f"{reg} (target {g[0]['logit_gaps']['target']:.3f}) {s.fmt()}")
    return verdict_all(v), "relative rms of the train gaps around the target: " + "; ".join(nums)


def _fisher(groups):
    b = _find(groups, "none")
    if b is None or "fisher" not in b[0]["bridge"]:
        return "not tested", "no none runs with a Fisher alignment"
    sb = stat(b, "bridge.fisher.fisher")
    v, nums = [], [f"none {sb.fmt()} (random subspace {stat(b, 'bridge.fisher.random').fmt()})"]
    for reg in ("ls", "logit_penalty"):
        g = _find(groups, reg)
        if g is None:
            continue
        s = stat(g, "bridge.fisher.fisher")
        v.append(compare(s, sb, ">"))
        nums.append(f"{reg} {s.fmt()} ({v[-1]})")
    return verdict_all(v), "; ".join(nums)


def _probe_pool(a: dict) -> str | None:
    probes = a.get("bridge", {}).get("probes", {})
    return next((p for p in probes if p != "clean"), "clean" if probes else None)


def _probe_stats(g, gamma_index):
    pool = _probe_pool(g[0])
    if pool is None:
        return None
    alphas = list(g[0]["bridge"]["probes"][pool]["alphas"])
    return pool, {al: stat(g, f"bridge.probes.{pool}.alphas.{al}.accuracy.{gamma_index}")
                  for al in alphas}


def _probe_hurts(groups):
    v, nums = [], []
    for k, g in _main_groups(groups).items():
        res = _probe_stats(g, 0)
        if not res or "0" not in res[1]:
            continue
        pool, acc = res
        v.append(verdict_all([compare(s, acc["0"], "<") for al, s in acc.items() if al != "0"]))
        nums.append(f"{k}: " + ", ".join(f"a {al} {s.fmt()}" for al, s in acc.items()))
    if not v:
        return "not tested", "no probes"
    return verdict_all(v), (f"{pool} features, gamma = 1; " + "; ".join(nums))


def _probe_gamma(groups):
    v, nums = [], []
    for k, g in _main_groups(groups).items():
        pool = _probe_pool(g[0])
        if pool is None:
            continue
        gammas = g[0]["bridge"]["probes"][pool]["gammas"]
        last = len(gammas) - 1
        alphas = list(g[0]["bridge"]["probes"][pool]["alphas"])
        drop = {al: Stat.of([_get(a, f"bridge.probes.{pool}.alphas.{al}.accuracy.0")
                             - _get(a, f"bridge.probes.{pool}.alphas.{al}.accuracy.{last}")
                             for a in g]) for al in alphas}
        degrades = compare(drop["0"], Stat(0.0, 0.0, 1), ">") if "0" in drop else "not tested"
        flat = ["held" if abs(d.mean) <= 0.01 + d.spread() else "did not hold"
                for al, d in drop.items() if al != "0"]
        v.append(verdict_all([degrades, verdict_all(flat)]))
        nums.append(f"{k}: " + ", ".join(f"a {al} {d.fmt()}" for al, d in drop.items()))
    if not v:
        return "not tested", "no probes"
    return verdict_all(v), (f"accuracy drop from gamma = {gammas[0]:g} to {gammas[-1]:g} "
                            f"({pool} features); " + "; ".join(nums))


def _sigma_n(groups):
    syn = {k: g for k, g in groups.items() if g[0]["setting"].get("dataset") == "synthetic"}
    if not syn:
        return "not tested", "no synthetic runs"
    by = defaultdict(dict)
    for g in syn.values():
        s = g[0]["setting"]
        by[s["reg"]][s["synthetic_sigma_n"]] = stat(g, "accuracy")
    rng = {reg: max(v.mean for v in d.values()) - min(v.mean for v in d.values())
           for reg, d in by.items()}
    if "logit_penalty" not in rng or "none" not in rng or len(by["none"]) < 2:
        return "not tested", "needs none and logit_penalty at two or more sigma_n"
    lp, hard = rng["logit_penalty"], rng["none"]
    verdict = ("held" if lp <= 0.02 else "mixed" if lp < hard / 2 else "did not hold")
    return verdict, "; ".join(
        f"{reg}: " + ", ".join(f"sigma_n {sn:g}: {s.fmt()}" for sn, s in sorted(d.items()))
        + f" (range {rng[reg]:.3f})" for reg, d in by.items())


P1 = "Park, Kim & Lee (2024)"
P2 = "Mangla et al. (VarMixup)"
P3 = "Beck, Bar-Sinai & Levi (2026)"
CLAIMS: tuple[Claim, ...] = (
    Claim(P1, "1", "decision regions are cones: predictions unchanged under z -> a z",
          "held if the smallest agreement over a in {1/4, 1/2, 2, 4} is >= 0.99 in every "
          "setting (mean over seeds); mixed if in some", _cone),
    Claim(P1, "2", "the cone structure does not depend on the regularizer",
          "held if |agreement(reg) - agreement(none)| <= 0.01 for ls, mixup, cutmix",
          _cone_shape),
    Claim(P1, "3", "soft labels lower the feature norm (RMS)",
          "held per method if mean RMS(method) < mean RMS(none) by more than the combined "
          "std sqrt(s1^2 + s2^2); held if for all of ls, mixup, cutmix, mixed if for some",
          lambda g: _soft(g, "geometry.rms_mean", "<")),
    Claim(P1, "4a", "soft labels raise the cosine to the min-loss center (centers in the "
          "features' domain)", "as claim 3, cos(method) > cos(none)",
          lambda g: _soft(g, COS, ">")),
    Claim(P1, "4b", "the same with centers on the whole sphere (the paper's definition)",
          "as claim 3, cos(method) > cos(none)", lambda g: _soft(g, COS_SPHERE, ">")),
    Claim(P1, "5", "the min-loss center correlates best with confidence (Table 1)",
          "held per setting if Pearson r(min-loss) > r(class mean) and > r(head weights); "
          "held if in every setting, mixed if in some", _centers),
    Claim(P1, "6a", "the hard-label baseline is over-confident",
          "held if mean confidence(none) > accuracy(none) by more than the combined std",
          _overconfident),
    Claim(P1, "6b", "label smoothing lowers ECE",
          "held if ECE(ls) < ECE(none) by more than the combined std",
          lambda g: _pairwise(g, "calibration.before.ece", [("ls", None)], "<")),
    Claim(P1, "6c", "Mixup and CutMix lower the confidence",
          "as claim 3 for mixup and cutmix, confidence(method) < confidence(none)",
          _mixing_confidence),
    Claim(P1, "7", "feature scaling z -> s z acts as a temperature: confidence drops, ECE "
          "first improves then worsens", "held if, for none, confidence falls at every "
          "step s = 1, 0.75, 0.5, 0.25, the lowest ECE at s < 1 is below ECE(1), and ECE(0.25) "
          "is above that lowest ECE; mixed if some of the three", _feature_scaling),
    Claim(P1, "8", "lower RMS goes with lower confidence across training regimes",
          "Spearman rank correlation of mean RMS and mean confidence over the settings: "
          "held if >= 0.8, did not hold if <= 0, mixed between",
          lambda g: _across(g, "geometry.rms_mean", "calibration.before.confidence",
                            expect="+")),
    Claim(P1, "9a", "soft labels raise the gradient radiality",
          "as claim 3, radiality(method) > radiality(none)",
          lambda g: _soft(g, "geometry.radiality.mean", ">")),
    Claim(P1, "9b", "well-aligned samples have more radial gradients",
          "held per setting if mean radiality of the samples above the median cosine > that "
          "below by more than the combined std; held if in every setting", _radiality_aligned),
    Claim(P1, "10", "soft labels lower the success rate of the weak PGD attack "
          "(0.4/255, 7 steps)", "as claim 3, success(method) < success(none)",
          lambda g: _soft(g, "robustness.attacks.weak.pgd.success_rate", "<")),
    Claim(P1, "11", "no regime is robust to the strong PGD attack (8/255, 10 steps)",
          "held if PGD robust accuracy <= 0.05 in every setting, mixed if in some",
          _strong_attack),
    Claim(P1, "12", "higher alignment goes with lower attack success",
          "Spearman rank correlation of mean cosine (min-loss, domain) and weak-PGD success "
          "over the settings: held if <= -0.8, did not hold if >= 0, mixed between",
          lambda g: _across(g, COS, "robustness.attacks.weak.pgd.success_rate", expect="-")),
    Claim(P1, "13", "transformer recipes look like regularized CNNs (the recipe, not the "
          "architecture)",
          "CNN vs ViT, each with hard labels (none) and with the DeiT recipe (Mixup/CutMix "
          "switch + LS 0.1); lower logit scale, higher cosine to the min-loss center, lower "
          "ECE count as more regularized when beyond the combined std: held if ViT+deit is "
          "more regularized than CNN+none on all three and ViT+none is not; did not hold if "
          "ViT+none already is on all three, or ViT+deit on none; mixed otherwise "
          "(deep.architecture.claim13_verdict)", _study("architecture"), study="architecture"),
    Claim(P1, "14", "Theorem 1's assumptions: small biases, equal |w_k|",
          "held per setting if bias ratio < 0.1 and CV of |w_k| < 0.1; held if in every "
          "setting, mixed if in some", _theorem1),
    Claim(P1, "15", "LS has a finite optimum: logit gap log(1 + K(1-eps)/eps)",
          "held if the mean training gap of ls is within 20 % of the target", _ls_gap),
    Claim(P1, "16", "magnitude drives calibration, alignment drives robustness",
          "intervention: every model's penultimate features rescaled by one s > 0 so that "
          "their mean training RMS equals that of none (mean over seeds), head and bias "
          "unchanged (cosines unchanged); ECE and PGD robust accuracy (strong, weak; the "
          "rescaled model attacked end to end) before and after. Per method (ls, mixup, "
          "cutmix): did not hold if ECE(method) < ECE(none) beyond the combined std after "
          "the rescale (the ECE gain persists); held if that gain existed before and is "
          "gone after, and every preset whose robust accuracy differed from none's beyond "
          "the combined std before still differs with the same sign after (at least one "
          "did); not tested if neither an ECE gain nor a robustness difference existed "
          "before; mixed otherwise. Over methods as claim 3", _causal_split),
    Claim(P2, "C1", "VarMixup is better calibrated than Mixup (ECE)",
          "held if ECE(varmixup) < ECE(mixup) by more than the combined std, against mixup "
          "at clean fraction 0 and at VarMixup's clean fraction; mixed if against one",
          _varmix("calibration.before.ece", "<")),
    Claim(P2, "C1-OE", "VarMixup has a lower overconfidence error than Mixup",
          "as C1, for OE", _varmix("calibration.before.oe", "<", fmt=4)),
    Claim(P2, "C2", "VarMixup is more robust to corruptions than Mixup",
          "as C1, mean corruption accuracy(varmixup) > mixup's",
          _varmix("robustness.corruptions.mean", ">")),
    Claim(P2, "C3", "VarMixup has a more locally linear loss than Mixup",
          "as C1, local linearity gamma(8/255)(varmixup) < mixup's",
          _varmix("robustness.local_linearity.mean", "<", fmt=4)),
    Claim(P2, "C4", "clean accuracy about equal to Mixup's (not claimed; the expectation)",
          "held if |acc(varmixup) - acc(mixup)| <= 0.01 + combined std, for both clean "
          "fractions; mixed if for one", _parity),
    Claim(P2, "C5", "VarMixup + Mixup Inference is more robust than Mixup + MI",
          "robust accuracy under the strong PGD (8/255, 10 steps) crafted against the plain "
          "model (oblivious), predicted by MI-PL and by MI-OL (Pang et al. 2020; lam_MI and "
          "N_MI in the numbers): held if varmixup's > mixup's by more than the combined std, "
          "against mixup at clean fraction 0 and at VarMixup's clean fraction, for both MI "
          "variants; mixed if for some", _mixup_inference),
    Claim(P2, "C6", "transferability", "", _not_tested("meaning not settled (spec)")),
    Claim(P2, "C7", "latent mixups look like one object, not a double exposure (the bar "
          "manifold)",
          "per VAE seed, the latent-midpoint decode of two bars 30-75 degrees apart against "
          "the single bar at the interpolated angle and the double exposure (MSE; D = "
          "MSE(double) - MSE(single)): a seed favours the single bar if more than half the "
          "pairs are closer to it and D > 2 SE, the double exposure if fewer than half and "
          "D < -2 SE; held if every seed favours the single bar, did not hold if every seed "
          "the double exposure, mixed otherwise (deep.manifold.c7_verdict)",
          _study("manifold"), study="manifold"),
    Claim(P2, "C8", "the code of an input mixup lies off the latent segment (the latent mix "
          "is on it by construction)",
          "held if the mean latent off-segment distance of input mixups minus two standard "
          "errors (over 64 test pairs, lam = 1/2) exceeds 0.05 segment lengths (the "
          "re-encoded VarMixup decode is shown beside it)",
          _varmix_pairs([("mixup_latent_off_segment", "varmixup_latent_off_segment")],
                        "latent off-segment distance", threshold=0.05)),
    Claim(P2, "C9", "VarMixup samples are more realistic than input mixups",
          "negative ELBO (nats; scored by the same VAE, which favours its own decodes), plain "
          "and minus the pixels' Bernoulli entropy: held if the input mixups' exceeds "
          "VarMixup's by more than two combined standard errors (64 pairs) for both, mixed "
          "if for one",
          _varmix_pairs([("mixup_nelbo", "varmixup_nelbo"),
                         ("mixup_nelbo_excess", "varmixup_nelbo_excess")], "negative ELBO")),
    Claim(P3, "L1", "logit clustering: regularized train logits sit at the vertex target",
          "held per method (ls, logit_penalty) if the rms of the train gaps around its own "
          "target, relative to the target, is < 0.25 and below none's around the ls-0.1 "
          "reference by more than the combined std", _logit_clustering),
    Claim(P3, "L2", "the head aligns with the Fisher discriminant more when regularized",
          "held per method if the subspace alignment head-Fisher of ls / logit_penalty > "
          "none's by more than the combined std", _fisher),
    Claim(P3, "L3", "logit-regularized probes are less accurate than alpha = 0 (Fig. 9 left: "
          "about 10 points)", "held if every alpha > 0 probe is below the alpha = 0 probe "
          "(weight penalty 1e-3) by more than the combined std, at gamma = 1, on the "
          "corrupted features of a setting's models; over the settings: held if in every "
          "one, mixed if in some", _probe_hurts),
    Claim(P3, "L4", "the alpha = 0 probe degrades as the orthogonal part is scaled up, the "
          "regularized ones stay flat (Fig. 9 right)", "held if the alpha = 0 accuracy drop "
          "from the smallest to the largest gamma is > 0 beyond its std and every alpha > 0 "
          "drop is within 0.01 + its std (per setting: mixed if one of the two); over the "
          "settings as L3", _probe_gamma),
    Claim(P3, "L5", "sigma_n invariance on the synthetic images (a prediction for linear "
          "classifiers, tested here on the CNN)",
          "range of the logit_penalty CNN's mean accuracy over sigma_n: held if <= 0.02; "
          "mixed if above but less than half of none's range; did not hold otherwise",
          _sigma_n),
)
