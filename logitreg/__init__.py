"""logitreg: exact solvers, GD dynamics and theory for logit-regularized linear classifiers.

Reference: Beck, Bar-Sinai & Levi, "The Implicit Bias of Logit Regularization" (2026).

``import logitreg`` needs only numpy, scipy and tqdm. The heavy optional pieces load when
first used: sympy (a symbolic penalty, closed-form z*), cvxpy (``method="cvxpy"``), torch
(:mod:`logitreg.torch_losses`, the torch backend of :func:`gd`) and scikit-learn
(:class:`LogitRegClassifier`, loaded on first access). So ``deep/`` and a machine without
cvxpy can import the core.
"""
from ._validation import ConvergenceWarning, StabilityWarning
from .data import signal_plus_noise, simplex_means
from .dynamics import gd, max_learning_rate
from .grokking import GrokkingConfig, run_grokking
from .losses import BinaryLoss, LinearObjective, MulticlassLoss, get_penalty, make_loss
from .max_margin import max_margin
from .metrics import cosine, cosine_to_e1, signed_logit_stats
from .solvers import FitResult, fit
from .theory import (
    Vertex,
    accuracy_from_cosine,
    asymptotic_accuracy,
    asymptotic_C2,
    asymptotic_cosine,
    critical_ratio,
    fisher_direction,
    loss_floor,
    population_accuracy,
    population_ce,
    quadratic_toy,
    z_star,
)
from .trajectory import Trajectory

__version__ = "0.1.0"

__all__ = [
    "ConvergenceWarning",
    "StabilityWarning",
    "signal_plus_noise",
    "GrokkingConfig",
    "Trajectory",
    "gd",
    "max_learning_rate",
    "population_ce",
    "run_grokking",
    "LogitRegClassifier",
    "FitResult",
    "fit",
    "max_margin",
    "cosine",
    "cosine_to_e1",
    "signed_logit_stats",
    "simplex_means",
    "BinaryLoss",
    "MulticlassLoss",
    "LinearObjective",
    "get_penalty",
    "make_loss",
    "Vertex",
    "accuracy_from_cosine",
    "asymptotic_accuracy",
    "asymptotic_C2",
    "asymptotic_cosine",
    "critical_ratio",
    "fisher_direction",
    "loss_floor",
    "population_accuracy",
    "quadratic_toy",
    "z_star",
]


def __getattr__(name):
    # PEP 562: the estimator subclasses scikit-learn's BaseEstimator, whose import costs
    # more than the rest of the package; load it on first access.
    if name == "LogitRegClassifier":
        from .estimators import LogitRegClassifier

        return LogitRegClassifier
    raise AttributeError(f"module 'logitreg' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"LogitRegClassifier"})
