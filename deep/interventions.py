r"""Post-hoc feature rescaling: the intervention that separates magnitude from alignment.

Park, Kim & Lee (2024) attribute the calibration gain of soft-label training (label
smoothing, Mixup, CutMix) to the smaller magnitude of the penultimate features and the
robustness gain to their better alignment with the class centers (claim 16, "causal
split"); their reviewers note that no experiment isolates the two. This module is that
experiment: a trained model's penultimate features are multiplied by one scalar ``s > 0``,

.. math:: f_s(x) = W\,(s\,z(x)) + b,

with the head ``(W, b)`` unchanged. Every cosine of a feature to a fixed direction is
unchanged (cos(s z, c) = cos(z, c) for s > 0), so alignment stays as trained, while the
magnitude, and with it the confidence, moves. With ``b = 0`` the rescaled model is exactly
temperature scaling with T = 1/s (softmax(W s z) = softmax((W z)/T); Park et al., Theorem 1
and Fig. 22; derived). ``s`` is chosen so that the features' training-set RMS equals a
target, the hard-label baseline's (:func:`rescale_factor`).

:class:`FeatureScaled` is the rescaled model (end to end, so that gradient attacks see it);
:func:`rescale_measures` measures calibration (ECE, NLL, OE, confidence), alignment and PGD
robust accuracy before and after the rescale.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["FeatureScaled", "rescale_factor", "rescale_measures"]


def _check_scale(scale) -> float:
    try:
        s = float(scale)
    except (TypeError, ValueError):
        s = float("nan")
    if not (math.isfinite(s) and s > 0):
        raise ValueError(f"scale={scale!r}: expected a finite positive feature scale s")
    return s


class FeatureScaled(nn.Module):
    """``model`` with its penultimate features multiplied by ``scale``; head unchanged.

    Parameters
    ----------
    model : nn.Module
        A :class:`deep.models.Classifier` (``features(x)`` of shape (B, d), ``head`` a
        ``nn.Linear(d, K)``); it is wrapped, not copied, and its parameters are not changed.
    scale : float
        s > 0. ``features(x) = s * model.features(x)``, ``forward(x) = head(features(x))``,
        logits of shape (B, K).
    """

    def __init__(self, model: nn.Module, scale: float) -> None:
        super().__init__()
        if not (hasattr(model, "features") and isinstance(getattr(model, "head", None),
                                                          nn.Linear)):
            raise ValueError(f"model={type(model).__name__}: expected a classifier with "
                             "features(x) and a linear head (deep.models.Classifier)")
        self.model = model
        self.scale = _check_scale(scale)
        self.train(model.training)  # the wrapper starts in the model's mode

    @property
    def head(self) -> nn.Linear:
        return self.model.head

    @property
    def feature_domain(self) -> str:
        return getattr(self.model, "feature_domain", "sphere")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Rescaled penultimate features, shape (B, d)."""
        return self.scale * self.model.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``W (s z) + b``, shape (B, K)."""
        return self.model.head(self.features(x))


def rescale_factor(z_train: torch.Tensor, target_rms: float) -> float:
    """The scalar s with mean_i RMS(s z_i) = ``target_rms`` over the training features.

    RMS(z) = ||z||_2 / sqrt(d) per sample (:func:`deep.geometry.feature_rms`, our reading of
    Park et al.'s RMS), averaged over the N training samples; it is 1-homogeneous, so
    s = target / mean_i RMS(z_i).

    Parameters
    ----------
    z_train : Tensor of shape (N, d)
    target_rms : float
        > 0, e.g. the mean training-feature RMS of the hard-label runs of the same setting.
    """
    from .geometry import feature_rms

    t = float(target_rms) if isinstance(target_rms, (int, float)) else float("nan")
    if not (math.isfinite(t) and t > 0):
        raise ValueError(f"target_rms={target_rms!r}: expected a finite positive RMS")
    if z_train.ndim != 2 or len(z_train) == 0:
        raise ValueError(f"z_train of shape {tuple(z_train.shape)}: expected features (N, d), "
                         "N >= 1")
    rms = float(feature_rms(z_train.float()).mean())
    if not rms > 0:
        raise ValueError(f"z_train has RMS {rms!r}: expected non-zero features to rescale")
    return t / rms


def _calibration(logits: torch.Tensor, y: torch.Tensor, n_bins: int) -> dict:
    from .calibration import calibration_metrics

    m = calibration_metrics(logits, y, n_bins)
    return {k: float(m[k]) for k in ("ece", "oe", "nll", "confidence", "accuracy", "brier")}


def _pgd_scores(model, x, y, presets, seed: int) -> dict:
    """PGD robust accuracy and success rate per preset; every preset's random start comes
    from a generator seeded with ``seed + i`` (i the preset's position), so that two models
    attacked with the same ``seed`` get the same starts."""
    from .attacks import ATTACK_PRESETS, attack_scores, pgd

    out = {}
    for i, name in enumerate(presets):
        p = ATTACK_PRESETS[name]
        g = torch.Generator(device=x.device).manual_seed(int(seed) + i)
        s = attack_scores(model, x, y, lambda xb, yb, p=p, g=g: pgd(
            model, xb, yb, p.eps, step_size=p.step_size, steps=p.steps, generator=g))
        out[name] = {"robust_acc": s["robust_acc"], "success_rate": s["success_rate"]}
    return out


def rescale_measures(model: nn.Module, scale: float, *, z_train: torch.Tensor,
                     y_train: torch.Tensor, x_test: torch.Tensor, y_test: torch.Tensor,
                     x_attack: torch.Tensor | None = None, y_attack: torch.Tensor | None = None,
                     presets: Sequence[str] = ("strong", "weak"), n_bins: int = 15,
                     seed: int = 0) -> dict:
    """Calibration, alignment and PGD robustness of ``model`` before and after z -> s z.

    Parameters
    ----------
    model : nn.Module
        A :class:`deep.models.Classifier`.
    scale : float
        s > 0 (e.g. :func:`rescale_factor`).
    z_train : Tensor of shape (N, d)
        The model's (unscaled) training features; their RMS before and after is reported,
        and their class means are the fixed directions of the alignment check.
    y_train : Tensor of shape (N,), int64
    x_test : Tensor of shape (M, C, H, W); y_test : Tensor of shape (M,)
        Calibration split (ECE, NLL, OE, confidence, accuracy, Brier, ``n_bins`` bins).
    x_attack, y_attack : Tensors (A, C, H, W), (A,), optional
        Images in [0, 1] attacked by PGD at each preset of ``presets``
        (:data:`deep.attacks.ATTACK_PRESETS`), attacking the plain and the rescaled model end
        to end with the same random starts (seed ``seed``); ``None`` skips the attacks.

    Returns
    -------
    dict
        ``scale``; ``rms_train_before``, ``rms_train_after`` (mean training-feature RMS);
        ``before`` / ``after``: the calibration metrics, ``rms_test``, ``cos_class_mean``
        (mean cosine of the test features to the training class mean of their true class),
        ``cos_weight`` (to the head row of their true class) and, when attacked,
        ``attacks`` ({preset: {robust_acc, success_rate}}); ``after`` also has
        ``agreement_with_plain``, the fraction of test predictions the rescale leaves
        unchanged (1 when b = 0: the regions are cones, Park et al. Sec. 3.1).

    References
    ----------
    Park, Kim & Lee (2024): claim 16 (the magnitude/alignment split), Theorem 1 and Fig. 22
    (feature scaling as temperature scaling).
    """
    from .geometry import class_means, cosine_to_centers, extract_features, feature_rms

    s = _check_scale(scale)
    scaled = FeatureScaled(model, s)
    K = model.head.weight.shape[0]
    means = class_means(z_train.float(), y_train, K)
    W = model.head.weight.detach().float()
    out = {"scale": s, "rms_train_before": float(feature_rms(z_train.float()).mean()),
           "rms_train_after": float(feature_rms(s * z_train.float()).mean())}
    for key, m in (("before", model), ("after", scaled)):
        with torch.no_grad():
            z, logits = extract_features(m, x_test)
        pred = logits.argmax(1)
        rec = _calibration(logits, y_test, n_bins)
        rec["agreement_with_plain"] = None if key == "before" else float(
            (pred == out["before"]["_pred"]).float().mean())
        rec["cos_class_mean"] = float(cosine_to_centers(z, means, y_test).mean())
        rec["cos_weight"] = float(cosine_to_centers(z, W, y_test).mean())
        rec["_pred"] = pred
        rec["rms_test"] = float(feature_rms(z).mean())
        if x_attack is not None:
            rec["attacks"] = _pgd_scores(m, x_attack, y_attack, presets, seed)
        out[key] = rec
    for key in ("before", "after"):
        del out[key]["_pred"]
    del out["before"]["agreement_with_plain"]
    return out
