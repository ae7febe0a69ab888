"""deep: soft-label CNN training (label smoothing, Mixup, CutMix, VarMixup, logit penalty).

GPU-first, CPU-capable, resumable. Commands: ``python -m deep.train``, ``python -m deep.vae``
and ``python -m deep.summary`` (mean ± std over seeds); see docs/deep.md.

``deep`` builds on the core package ``logitreg`` (imports flow one way: ``deep`` ->
``logitreg``, never back) and keeps one home per concept there: the training loss and its
logit penalties (``logitreg.torch_losses``, ``logitreg.losses``), the simplex class means of
the synthetic data (``logitreg.data``), and atomic run files, provenance, the refusal to
resume under a changed config and the mean ± std over seeds (``logitreg.io``). The core
loads sympy only for a sympy ``--logit-penalty``, and never loads cvxpy here.

Modules: ``config`` (frozen run configs and their CLI, data-set metadata), ``data``
(on-device data sets and augmentation), ``models``, ``mixing`` (every regularizer as
``sample_params`` + ``apply``), ``losses`` (soft targets and the core's loss with the
``--logit-penalty``), ``vae``, ``varmix_measures`` (VarMixup's off-segment distance and
realism), ``calibration`` (ECE, MCE, OE, NLL, Brier, temperature scaling, reliability
diagrams), ``train``, ``summary``, ``geometry`` (representation-space measurements),
``bridge`` (the core theory's predictions on deep features: logit clustering, Fisher
alignment, effective noise, linear probes), ``attacks`` (FGSM, PGD, presets, local
linearity), ``corruptions`` (CIFAR-10-C-style corruptions and the real CIFAR-10-C files),
``analysis`` (every measurement of a finished run), ``experiment`` (``python -m deep.experiment``),
``groups`` (analysed runs grouped by setting, reduced over seeds), ``claims`` (the papers'
claims and their verdict rules), ``report``
(``python -m deep.report``), ``interventions`` (the feature rescale of Park et al.'s
claim 16), ``mixup_inference`` (MI-PL / MI-OL, VarMixup's claim C5), and two separate
studies: ``architecture`` (``python -m deep.architecture``: CNN vs ViT with and without
the DeiT recipe, Park et al.'s claim 13) and ``manifold`` (``python -m deep.manifold``:
latent mixups on the bar manifold, VarMixup's claim C7).
"""

__all__ = ["analysis", "architecture", "attacks", "bridge", "calibration", "claims", "config",
           "corruptions", "data", "experiment", "geometry", "groups", "interventions", "losses",
           "manifold", "mixing", "mixup_inference", "models", "report", "summary", "train",
           "vae", "varmix_measures"]
