"""deep: soft-label CNN training (label smoothing, Mixup, CutMix, VarMixup, logit penalty).

GPU-first, CPU-capable, resumable. Commands: ``python -m deep.train``, ``python -m deep.vae``
and ``python -m deep.summary`` (mean ± std over seeds); see docs/deep.md. This package needs
only PyTorch, torchvision, NumPy, SciPy, scikit-learn and tqdm: it never imports ``logitreg``
(and so never cvxpy).

Modules: ``config`` (frozen run configs and their CLI), ``data`` (on-device data sets and
augmentation), ``models``, ``mixing`` (every regularizer as ``sample_params`` + ``apply``),
``losses`` (soft-target CE and the logit penalty), ``vae``, ``calibration`` (ECE),
``train``, ``summary``, ``geometry`` (representation-space measurements), ``attacks``
(FGSM, PGD).
"""

__all__ = ["attacks", "calibration", "config", "data", "geometry", "losses", "mixing", "models",
           "summary", "train", "vae"]
