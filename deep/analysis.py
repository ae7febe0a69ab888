"""Every measurement of one finished training run, written to ``<run>/analysis.json``.

:func:`analyze_run` loads a ``python -m deep.train`` run (its model and its data split)
and measures, on the test split:

* **calibration** before and after temperature scaling (T fitted on the validation split;
  Guo et al. 2017), with reliability diagrams;
* the **representation geometry** of Park, Kim & Lee (2024): feature RMS; the cosine of each
  feature to its class center for every center type (min-loss points restricted to the
  features' domain and unrestricted, class means raw and globally centred, head weights)
  and its Pearson r with the confidence (their Table 1); cone invariance; gradient
  radiality; feature scaling against temperature scaling;
* the **core theory's predictions** on the penultimate features (Beck, Bar-Sinai & Levi
  2026): the spread of the signed logit gaps around the vertex target (Sec. 3.2, Eq. 21),
  the head's alignment with the Fisher discriminant (Eqs. 26-27), the effective noise
  levels (Eq. 35), and the linear-probe protocol of their Fig. 9 (Eq. 36);
* **robustness**: FGSM and PGD at the strong and weak budgets, corruption accuracy
  (5 corruptions x 5 severities; real CIFAR-10-C when present), local linearity
  (Qin et al. 2019);
* for VarMixup runs, the off-segment distance and realism of its samples (Mangla et al.);
* two interventions, each a section with its own options (:func:`extra_options`):
  ``rescale``, the penultimate features rescaled to a target training RMS (the hard-label
  baseline's) with the head unchanged, before/after calibration and PGD robustness (Park,
  Kim & Lee 2024, claim 16; :mod:`deep.interventions`), and ``mixup_inference``, accuracy
  with Mixup Inference under oblivious PGD (Pang et al. 2020; VarMixup claim C5;
  :mod:`deep.mixup_inference`).

Every random draw comes from generators seeded by ``seed`` (saved in the file). A second
call with the same analysis options returns the saved file; a saved analysis whose
interventions are missing or had other options gets only those sections computed.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import torch

__all__ = ["ANALYSIS_FORMAT", "CENTER_TYPES", "LS_REFERENCE_EPS", "MI_REGS", "analysis_options",
           "analyze_run", "baseline_rms", "extra_options", "load_run"]

ANALYSIS_FORMAT = "deep.analysis/1"
CENTER_TYPES = ("min_loss", "min_loss_sphere", "class_mean", "class_mean_centered", "weight")
# The vertex target of runs without one of their own (none, mixup, cutmix, varmixup): the
# gap of label smoothing with eps = 0.1, a common reference for every run (our choice).
LS_REFERENCE_EPS = 0.1
SCALES = (0.25, 0.5, 2.0, 4.0)  # cone invariance: z -> a z
FEATURE_SCALES = (1.0, 0.75, 0.5, 0.25)  # post-hoc feature scaling (Park et al., Fig. 22)
SEED_STREAMS = ("attack", "corruption", "linearity", "fisher", "probe", "varmix")
# The interventions' streams, drawn after SEED_STREAMS from the same seed (independent).
EXTRA_STREAMS = ("rescale", "mixup_inference")
# Runs that get the Mixup Inference section by default: VarMixup claim C5 compares
# varmixup with mixup; none is the reference.
MI_REGS = ("none", "mixup", "varmixup")


def analysis_options(*, max_attack_images: int = 1000, n_bins: int = 15,
                     probe_alphas=(0.0, 0.02, 0.2), probe_gammas=(1.0, 10.0, 30.0),
                     probe_train: int | None = None, probe_l2: float = 1e-3,
                     probe_corruption: str | None = "impulse_noise", probe_severity: int = 5,
                     linearity_eps: float = 8 / 255, linearity_steps: int = 10,
                     seed: int = 0, quick: bool = False) -> dict:
    """The options that determine an analysis (its cache key); see :func:`analyze_run`."""
    if max_attack_images < 1:
        raise ValueError(f"max_attack_images={max_attack_images!r}: expected >= 1 image")
    if any(not 0 <= a < 1 for a in probe_alphas):
        raise ValueError(f"probe_alphas={probe_alphas!r}: expected floats in [0, 1)")
    if any(g <= 0 for g in probe_gammas):
        raise ValueError(f"probe_gammas={probe_gammas!r}: expected positive scales")
    if quick:
        max_attack_images = min(max_attack_images, 64)
        linearity_steps = min(linearity_steps, 3)
        probe_alphas, probe_gammas = tuple(probe_alphas)[:2], tuple(probe_gammas)[:2]
    return {"format": ANALYSIS_FORMAT, "max_attack_images": int(max_attack_images),
            "n_bins": int(n_bins), "probe_alphas": [float(a) for a in probe_alphas],
            "probe_gammas": [float(g) for g in probe_gammas],
            "probe_train": probe_train, "probe_l2": float(probe_l2),
            "probe_corruption": probe_corruption, "probe_severity": int(probe_severity),
            "linearity_eps": float(linearity_eps), "linearity_steps": int(linearity_steps),
            "seed": int(seed), "ls_reference_eps": LS_REFERENCE_EPS,
            "scales": list(SCALES), "feature_scales": list(FEATURE_SCALES)}


def extra_options(*, rescale_target_rms: float | None = None, mi_lam: float | None = None,
                  mi_samples: int | None = None, mi_regs=MI_REGS) -> dict:
    """The options of the two interventions (each section's cache key; see
    :func:`analyze_run`). ``rescale_target_rms`` None: no ``rescale`` section; ``mi_regs``
    empty: no ``mixup_inference`` section."""
    from .mixup_inference import DEFAULT_LAM, DEFAULT_SAMPLES, check_options

    lam = DEFAULT_LAM if mi_lam is None else mi_lam
    n = DEFAULT_SAMPLES if mi_samples is None else mi_samples
    check_options("pl", lam, n)
    if rescale_target_rms is not None:
        t = rescale_target_rms
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not (0 < t < float("inf")):
            raise ValueError(f"rescale_target_rms={t!r}: expected a finite positive RMS (the "
                             "baseline's mean training-feature RMS) or None")
    if isinstance(mi_regs, str):
        raise ValueError(f"mi_regs={mi_regs!r}: expected a sequence of regularizer names")
    return {"rescale_target_rms": None if rescale_target_rms is None
            else float(rescale_target_rms),
            "mi_lam": float(lam), "mi_samples": int(n), "mi_regs": list(mi_regs)}


def baseline_rms(run_dirs) -> float:
    """Mean over runs of ``geometry.rms_train_mean`` in their ``analysis.json``: the target
    of the ``rescale`` intervention (the hard-label runs of a setting)."""
    from logitreg.io import load_json

    vals = []
    for run in map(Path, run_dirs):
        path = run / "analysis.json"
        if not path.exists():
            raise ValueError(f"{path} is missing: analyse the baseline run {run} first")
        vals.append(float(load_json(path)["geometry"]["rms_train_mean"]))
    if not vals:
        raise ValueError("run_dirs is empty: expected the baseline's run directories")
    return float(np.mean(vals))


def _section_options(name: str, setting: dict, opts: dict, xopts: dict) -> dict | None:
    """What a section's cache key is for this run, or None when it does not apply."""
    bounded = setting.get("dataset") != "synthetic"
    presets = ["strong", "weak"] if bounded else []
    seed = _all_seeds(opts["seed"])
    if name == "rescale":
        if xopts["rescale_target_rms"] is None:
            return None
        return {"target_rms": xopts["rescale_target_rms"], "n_bins": opts["n_bins"],
                "presets": presets, "max_attack_images": opts["max_attack_images"],
                "seed": seed["rescale"]}
    if not bounded or setting.get("reg") not in xopts["mi_regs"]:
        return None
    return {"lam": xopts["mi_lam"], "n_samples": xopts["mi_samples"], "presets": presets,
            "max_attack_images": opts["max_attack_images"], "seed": seed["mixup_inference"]}


def _all_seeds(seed: int) -> dict:
    from .config import derive_seeds

    return derive_seeds(seed, SEED_STREAMS + EXTRA_STREAMS)


def _rescale(model, data, sec: dict) -> dict:
    from .geometry import extract_features
    from .interventions import rescale_factor, rescale_measures

    with torch.no_grad():
        z_tr, _ = extract_features(model, data.x_train)
    s = rescale_factor(z_tr, sec["target_rms"])
    n = min(sec["max_attack_images"], len(data.x_test))
    att = {} if not sec["presets"] else dict(x_attack=data.x_test[:n], y_attack=data.y_test[:n])
    out = rescale_measures(model, s, z_train=z_tr, y_train=data.y_train, x_test=data.x_test,
                           y_test=data.y_test, presets=sec["presets"], n_bins=sec["n_bins"],
                           seed=sec["seed"], **att)
    return {"options": sec, "n_attacked": n if att else 0, **out}


def _mixup_inference(model, data, sec: dict) -> dict:
    from .mixup_inference import mi_scores

    n = min(sec["max_attack_images"], len(data.x_test))
    out = mi_scores(model, data.x_test[:n], data.y_test[:n], data.x_train, data.y_train,
                    presets=sec["presets"], lam=sec["lam"], n_samples=sec["n_samples"],
                    seed=sec["seed"])
    return {"options": sec, "n_attacked": n, **out}


def _f(t) -> float:
    return float(t.item() if isinstance(t, torch.Tensor) else t)


def _generator(device, seed: int) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(int(seed))


def _calibration(data, l_val, l_test, run: Path, n_bins: int, figures: bool) -> dict:
    from .calibration import save_reliability_diagram, temperature_scaling

    ts = temperature_scaling(l_val, data.y_val, l_test, data.y_test, n_bins=n_bins)
    T = ts["temperature"]
    if figures:
        save_reliability_diagram(l_test, data.y_test, run / "reliability.png", n_bins,
                                 title=f"{run.name}: test, T = 1")
        save_reliability_diagram(l_test / T, data.y_test, run / "reliability_T.png", n_bins,
                                 title=f"{run.name}: test, T = {T:.2f} (fit on validation)")
    fit = ts["fit"]
    return {"temperature": T, "fit_converged": bool(fit.converged), "n_bins": n_bins,
            "before": ts["before"], "after": ts["after"]}


def _geometry(model, z_tr, y_tr, z_te, l_te, y_te, K: int) -> tuple[dict, dict]:
    from .geometry import (
        class_means,
        confidence_correlation,
        cosine_to_centers,
        feature_rms,
        gradient_radiality,
        head_statistics,
        min_loss_centers,
        scale_agreement,
        temperature_agreement,
        weight_centers,
    )

    W = model.head.weight.detach().float().to(z_te.device)
    b = model.head.bias.detach().float().to(z_te.device)
    domain = model.feature_domain
    radius = _f(z_tr.norm(dim=1).mean())
    pred = l_te.argmax(1)
    origin = z_tr.mean(0)
    centers = {
        "min_loss": min_loss_centers(W, b, radius, domain=domain).float(),
        "min_loss_sphere": min_loss_centers(W, b, radius, domain="sphere").float(),
        "class_mean": class_means(z_tr, y_tr, K),
        "class_mean_centered": class_means(z_tr, y_tr, K, centered=True),
        "weight": weight_centers(W),
    }
    cos = {}
    for name, c in centers.items():
        o = origin if name == "class_mean_centered" else None
        zz = z_te - o if o is not None else z_te
        cos[name] = {
            "mean_pred": _f(cosine_to_centers(zz, c, pred).mean()),
            "mean_true": _f(cosine_to_centers(zz, c, y_te).mean()),
            "pearson_r": _f(confidence_correlation(z_te, W, b, c, origin=o)),
        }
    rms = feature_rms(z_te)
    conf = l_te.softmax(1).amax(1)
    agree = scale_agreement(z_te, W, b, list(SCALES))
    agree0 = scale_agreement(z_te, W, None, list(SCALES))
    rad = gradient_radiality(z_te, W, b, pred)
    cos_min = cosine_to_centers(z_te, centers["min_loss"], pred)
    q = torch.quantile(cos_min, torch.tensor([0.5], device=cos_min.device))
    temp = temperature_agreement(z_te, W, b, [0.5, 2.0])
    scaled = []
    from .calibration import calibration_metrics

    for s in FEATURE_SCALES:
        m = calibration_metrics((s * z_te) @ W.T + b, y_te)
        scaled.append({"scale": s, "ece": _f(m["ece"]), "confidence": _f(m["confidence"])})
    hs = head_statistics(z_te, W, b)
    geo = {
        "domain": domain, "radius": radius, "feature_dim": int(z_te.shape[1]),
        "rms_mean": _f(rms.mean()), "rms_train_mean": _f(feature_rms(z_tr).mean()),
        "norm_mean": _f(z_te.norm(dim=1).mean()),
        "confidence_mean": _f(conf.mean()),
        "cosine": cos,
        "cone_invariance": {"scales": list(SCALES), "agreement": agree.tolist(),
                            "min": _f(agree.min()),
                            "agreement_zero_bias": agree0.tolist()},
        "radiality": {"mean": _f(rad.mean()),
                      "mean_aligned": _f(rad[cos_min >= q].mean()),
                      "mean_unaligned": _f(rad[cos_min < q].mean()),
                      "at_centers": _f(gradient_radiality(centers["min_loss"], W, b).mean())},
        "temperature_agreement": {"scales": [0.5, 2.0], "max_abs": temp["max_abs"].tolist(),
                                  "kl": temp["kl"].tolist()},
        "feature_scaling": scaled,
        "head": {"bias_ratio": _f(hs["bias_ratio"]), "weight_norm_cv": _f(hs["weight_norm_cv"])},
    }
    hist = {"rms": rms.cpu().numpy(), "cos_min_loss": cos_min.cpu().numpy(),
            "cos_class_mean": cosine_to_centers(z_te, centers["class_mean"], pred).cpu().numpy()}
    return geo, hist


def _logit_gaps(cfg: dict, l_tr, y_tr, l_te, y_te, K: int) -> dict:
    from .bridge import logit_gap_stats, vertex_gap

    ref = vertex_gap(LS_REFERENCE_EPS, "ls", K)
    if cfg["reg"] == "ls":
        own, kind = vertex_gap(cfg["ls_eps"], "ls", K), f"ls eps={cfg['ls_eps']:g}"
    elif cfg["reg"] == "logit_penalty":
        own = vertex_gap(cfg["logit_alpha"], cfg["logit_penalty"], K)
        kind = f"{cfg['logit_penalty']} alpha={cfg['logit_alpha']:g}"
    else:
        own, kind = ref, f"reference: ls eps={LS_REFERENCE_EPS:g} (no target of its own)"
    out = {"target": own, "target_kind": kind, "reference_target": ref}
    for split, (lg, y) in {"train": (l_tr, y_tr), "test": (l_te, y_te)}.items():
        st = logit_gap_stats(lg.cpu().numpy(), y.cpu().numpy(), own)
        out[split] = {**st, "rel_rms": st["rms"] / own}
        out[split + "_reference"] = logit_gap_stats(lg.cpu().numpy(), y.cpu().numpy(), ref)
    return out


def _bridge(model, z_tr, y_tr, z_pool: dict, K: int, opts: dict, seeds: dict) -> dict:
    from .bridge import balanced_split, effective_noise, fisher_alignment, probe_accuracy

    d = z_tr.shape[1]
    if d <= K - 1:  # the head spans all of R^d: alignment, noise split and probes are void
        why = f"feature_dim {d} <= K - 1 = {K - 1}: the signal subspace is the whole space"
        return {"skipped": why}
    Xtr, ytr = z_tr.double().cpu().numpy(), y_tr.cpu().numpy()
    W = model.head.weight.detach().double().cpu().numpy()
    out = {"fisher": fisher_alignment(W, Xtr, ytr, rng=np.random.default_rng(seeds["fisher"])),
           "effective_noise_train": effective_noise(Xtr, ytr)}
    probes = {}
    for name, (Z, Y) in z_pool.items():
        X, yy = Z.double().cpu().numpy(), Y.cpu().numpy()
        out[f"effective_noise_{name}"] = effective_noise(X, yy)
        n_train = opts["probe_train"] or K * max(1, min(1000, len(yy) // 2) // K)
        tr, te = balanced_split(yy, n_train, np.random.default_rng(seeds["probe"]))
        alphas = np.asarray(opts["probe_alphas"])
        rows = {}
        for a in alphas:
            # alpha = 0 needs a weight penalty (its l2 = 0 limit is the hard-margin SVM).
            res = probe_accuracy(X[tr], yy[tr], X[te], yy[te], [a], opts["probe_gammas"],
                                 l2=opts["probe_l2"] if a == 0 else 0.0)
            rows[f"{a:g}"] = {"accuracy": res["accuracy"][0].tolist(),
                              "train_accuracy": res["train_accuracy"][0].tolist(),
                              "converged": res["converged"][0].tolist()}
        probes[name] = {"n_train": int(len(tr)), "n_test": int(len(te)),
                        "gammas": opts["probe_gammas"], "alphas": rows,
                        "l2_alpha0": opts["probe_l2"]}
    out["probes"] = probes
    return out


def _robustness(model, data, cfg: dict, opts: dict, seeds: dict, device, data_root) -> dict:
    from .attacks import local_linearity, robustness
    from .corruptions import corruption_accuracy

    n = min(opts["max_attack_images"], len(data.x_test))
    x, y = data.x_test[:n], data.y_test[:n]
    out = {"n_attacked": n}
    out["attacks"] = robustness(model, x, y, ("strong", "weak"),
                                generator=_generator(device, seeds["attack"]))
    out["corruptions"] = corruption_accuracy(model, data.x_test, data.y_test,
                                             generator=_generator(device, seeds["corruption"]))
    out["local_linearity"] = {
        "eps": opts["linearity_eps"], "steps": opts["linearity_steps"],
        "mean": _f(local_linearity(model, x, y, opts["linearity_eps"],
                                   steps=opts["linearity_steps"],
                                   generator=_generator(device, seeds["linearity"])))}
    root = Path(data_root or cfg.get("data_root", "data"))
    if cfg["dataset"] in ("cifar10", "cifar100"):
        from .corruptions import cifar_c_accuracy

        folder = root / {"cifar10": "CIFAR-10-C", "cifar100": "CIFAR-100-C"}[cfg["dataset"]]
        if folder.is_dir():
            out["cifar_c"] = cifar_c_accuracy(model, root, dataset=cfg["dataset"],
                                              device=device, clean=(data.x_test, data.y_test))
    return out


def _varmix(cfg: dict, data, device, seed: int) -> dict:
    from .vae import load_vae
    from .varmix_measures import pair_measures

    vae, _ = load_vae(cfg["vae_checkpoint"], device)
    g = torch.Generator().manual_seed(seed)
    n = min(64, len(data.x_test) // 2)
    perm = torch.randperm(len(data.x_test), generator=g)[: 2 * n].to(device)
    res = pair_measures(vae, data.x_test[perm[:n]], data.x_test[perm[n:]], 0.5)
    out = {}
    for k, v in res.items():  # the mean over pairs and its standard error
        v = v.double()[torch.isfinite(v.double())]
        out[k] = float(v.mean())
        out[k + "_sem"] = float(v.std() / max(1, len(v)) ** 0.5) if len(v) > 1 else float("nan")
    out["n_pairs"] = n
    return out


def _histograms(hist: dict, path: Path, title: str) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from logitreg.io import atomic_write

    fig = Figure(figsize=(9, 3))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 3)
    for ax, (key, label) in zip(axes, (("rms", "feature RMS"),
                                       ("cos_min_loss", "cos(z, min-loss center)"),
                                       ("cos_class_mean", "cos(z, class mean)")), strict=True):
        ax.hist(hist[key], bins=30, color="C0")
        ax.set_xlabel(label)
    axes[0].set_ylabel("test images")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=100))


def _decision_regions(model, z, y, path: Path, title: str) -> None:
    """Argmax regions of the head over the 2-d feature plane, with the test features."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from logitreg.io import atomic_write

    zc = z.cpu().numpy()
    lim = 1.2 * float(np.abs(zc).max())
    g = np.linspace(-lim, lim, 300)
    gx, gy = np.meshgrid(g, g)
    grid = torch.tensor(np.stack([gx.ravel(), gy.ravel()], 1), dtype=torch.float32)
    W = model.head.weight.detach().float().cpu()
    b = model.head.bias.detach().float().cpu()
    cls = (grid @ W.T + b).argmax(1).numpy().reshape(gx.shape)  # the model stays put
    fig = Figure(figsize=(5, 5))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.contourf(gx, gy, cls, levels=np.arange(-0.5, cls.max() + 1), cmap="tab10", alpha=0.3)
    ax.scatter(zc[:, 0], zc[:, 1], c=y.cpu().numpy(), cmap="tab10", s=4, vmin=-0.5,
               vmax=9.5)
    ax.scatter([0], [0], marker="+", c="k")
    ax.set_xlabel("z_1")
    ax.set_ylabel("z_2")
    ax.set_title(title, fontsize=9)
    atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=100))


def load_run(run, device, data_root=None):
    """A finished run of ``python -m deep.train``: its config (dict), its data split on
    ``device`` (``data_root`` overrides the recorded one) and its trained model."""
    from ._io import read_config
    from .config import DataConfig, TrainConfig
    from .data import load_dataset
    from .train import load_model

    cfg = read_config(run, TrainConfig)
    data_fields = {f.name for f in dataclasses.fields(DataConfig)}
    dcfg = DataConfig(**{k: (tuple(v) if isinstance(v, list) else v)
                         for k, v in cfg.items() if k in data_fields})
    if data_root:
        dcfg = dataclasses.replace(dcfg, data_root=data_root)
    return cfg, load_dataset(dcfg, device).to(device), load_model(run, device)


SECTIONS = {"rescale": _rescale, "mixup_inference": _mixup_inference}


def _pending(result: dict, opts: dict, xopts: dict) -> dict:
    out = {}
    for name in SECTIONS:
        so = _section_options(name, result["setting"], opts, xopts)
        if so is not None and (result.get(name) or {}).get("options") != so:
            out[name] = so
    return out


def _add_sections(result: dict, pending: dict, model, data) -> None:
    times = dict(result.get("section_seconds") or {})
    for name, so in pending.items():
        t = time.perf_counter()
        result[name] = SECTIONS[name](model, data, so)
        times[name] = time.perf_counter() - t
    result["section_seconds"] = times


def analyze_run(run_dir, *, device: str = "cpu", max_attack_images: int = 1000,
                data_root: str | None = None, figures: bool = True, overwrite: bool = False,
                rescale_target_rms: float | None = None, mi_lam: float | None = None,
                mi_samples: int | None = None, mi_regs=MI_REGS, **options) -> dict:
    """Measure one finished ``python -m deep.train`` run; write ``<run>/analysis.json``.

    Parameters
    ----------
    run_dir : str or Path
        A finished run (``config.json``, ``checkpoint.pt``, ``results.json``).
    device : str, default "cpu"
    max_attack_images : int, default 1000
        Test images attacked by FGSM/PGD and used for local linearity (the first ones of
        the test split): the CPU cost of the analysis is mostly these attacks.
    data_root : str, optional
        Where the data sets (and CIFAR-10-C) lie, if not the run's ``--data-root``.
    figures : bool, default True
        Write ``reliability.png``, ``reliability_T.png``, ``features.png`` and, for a 2-d
        penultimate layer, ``decision_regions.png`` into the run directory.
    overwrite : bool, default False
        Recompute even if ``analysis.json`` holds an analysis with the same options.
    rescale_target_rms : float, optional
        Adds the ``rescale`` section: the features rescaled by s so that their mean
        training RMS equals this target (the baseline's, :func:`baseline_rms`), head
        unchanged; calibration and PGD robust accuracy (strong, weak) before and after
        (:func:`deep.interventions.rescale_measures`; Park, Kim & Lee 2024, claim 16).
    mi_lam, mi_samples : optional
        lam_MI (default 0.6, ours) and N_MI (default 30, ours) of the ``mixup_inference``
        section (:func:`deep.mixup_inference.mi_scores`), added for runs whose regularizer
        is in ``mi_regs`` (default none, mixup, varmixup) on [0, 1] images.
    **options
        :func:`analysis_options`: ``n_bins`` (15), ``probe_alphas`` ((0, 0.02, 0.2)),
        ``probe_gammas`` ((1, 10, 30)), ``probe_train`` (balanced probe training size,
        default min(1000, half the pool)), ``probe_l2`` (1e-3, the weight penalty of the
        alpha = 0 probe, which has no finite minimiser without one), ``probe_corruption``
        ("impulse_noise": the probes of Fig. 9 are trained on CIFAR-10-C impulse-noise
        severity-5 features; None for clean features only), ``probe_severity`` (5),
        ``linearity_eps`` (8/255), ``linearity_steps`` (10), ``seed`` (0), ``quick``.

    Returns
    -------
    dict
        The content of ``analysis.json``: ``accuracy``; ``calibration`` (``before``/``after``
        temperature scaling: ece, mce, oe, nll, brier, confidence, accuracy);
        ``geometry`` (rms_mean, cosine per center type with pearson_r, cone_invariance,
        radiality, temperature_agreement, feature_scaling, head); ``logit_gaps``;
        ``bridge`` (fisher, effective noise, probes); ``robustness`` (attacks,
        corruptions, local_linearity; absent for synthetic images, which are not in
        [0, 1]); ``varmix`` (VarMixup runs); ``rescale`` and ``mixup_inference`` (each
        with its ``options``; see above); ``options``, ``seeds``, ``seconds`` (the base
        analysis), ``section_seconds`` (per intervention).

    References
    ----------
    Park, Kim & Lee (2024), Tables 1-2, claim 16; Beck, Bar-Sinai & Levi (2026), Sec. 3.2,
    Eqs. 26-27, 35-36, Fig. 9; Guo et al. (2017); Qin et al. (2019); Mangla et al.
    (VarMixup), C5; Pang, Xu & Zhu (2020).
    """
    from logitreg.io import load_json, save_json

    from .config import derive_seeds
    from .corruptions import corrupt
    from .geometry import extract_features

    run = Path(run_dir)
    opts = analysis_options(max_attack_images=max_attack_images, **options)
    xopts = extra_options(rescale_target_rms=rescale_target_rms, mi_lam=mi_lam,
                          mi_samples=mi_samples, mi_regs=mi_regs)
    path = run / "analysis.json"
    if path.exists() and not overwrite:
        try:
            saved = load_json(path)
        except ValueError:
            saved = {}
        if saved.get("options") == opts:  # the base analysis is cached
            pending = _pending(saved, opts, xopts)
            if not pending:
                return saved
            _, data, model = load_run(run, device, data_root)
            _add_sections(saved, pending, model, data)
            save_json(path, saved)
            return load_json(path)
    if not (run / "results.json").exists():
        raise ValueError(f"{run} holds no results.json: expected a finished python -m "
                         "deep.train run (finish it with --resume)")
    t0 = time.perf_counter()
    cfg, data, model = load_run(run, device, data_root)
    K = data.num_classes
    seeds = derive_seeds(opts["seed"], SEED_STREAMS)

    with torch.no_grad():
        z_tr, l_tr = extract_features(model, data.x_train)
        _, l_val = extract_features(model, data.x_val)
        z_val, _ = extract_features(model, data.x_val)
        z_te, l_te = extract_features(model, data.x_test)
    y_te = data.y_test
    result = {"format": ANALYSIS_FORMAT, "run": run.name,
              "setting": {k: cfg.get(k) for k in ("dataset", "model", "reg", "ls_eps",
                                                  "logit_alpha", "logit_penalty",
                                                  "mix_clean_frac", "feature_dim", "epochs",
                                                  "synthetic_sigma_f", "synthetic_sigma_n")},
              "seed": cfg["seed"], "n_test": len(y_te),
              "accuracy": _f((l_te.argmax(1) == y_te).float().mean())}
    result["calibration"] = _calibration(data, l_val, l_te, run, opts["n_bins"], figures)
    result["geometry"], hist = _geometry(model, z_tr, data.y_train, z_te, l_te, y_te, K)
    result["logit_gaps"] = _logit_gaps(cfg, l_tr, data.y_train, l_te, y_te, K)

    # The probes' pool: features of images the network never trained on (validation +
    # test), clean and, as in Fig. 9, corrupted (impulse noise, severity 5).
    x_pool = torch.cat([data.x_val, data.x_test])
    y_pool = torch.cat([data.y_val, data.y_test])
    pools = {"clean": (torch.cat([z_val, z_te]), y_pool)}
    bounded = cfg["dataset"] != "synthetic"  # synthetic images are not in [0, 1]
    if opts["probe_corruption"] and bounded:
        xc = corrupt(x_pool, opts["probe_corruption"], opts["probe_severity"],
                     generator=_generator(device, seeds["probe"]))
        with torch.no_grad():
            pools[f"{opts['probe_corruption']}{opts['probe_severity']}"] = (
                extract_features(model, xc)[0], y_pool)
    result["bridge"] = _bridge(model, z_tr, data.y_train, pools, K, opts, seeds)
    if bounded:
        result["robustness"] = _robustness(model, data, cfg, opts, seeds, device, data_root)
    else:
        result["robustness"] = {"skipped": "synthetic images are unbounded: the [0, 1] attack "
                                           "budgets and corruptions do not apply"}
    if cfg["reg"] == "varmixup" and cfg.get("vae_checkpoint"):
        try:
            result["varmix"] = _varmix(cfg, data, device, seeds["varmix"])
        except (FileNotFoundError, ValueError) as err:
            result["varmix"] = {"skipped": str(err)}
    if figures:
        _histograms(hist, run / "features.png", f"{run.name} (test split)")
        if z_te.shape[1] == 2:
            _decision_regions(model, z_te, y_te, run / "decision_regions.png",
                              f"{run.name}: head argmax regions, test features")
    result.update(options=opts, seeds=seeds, seconds=time.perf_counter() - t0)
    _add_sections(result, _pending(result, opts, xopts), model, data)
    save_json(path, result)
    return load_json(path)
