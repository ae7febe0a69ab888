"""logitreg: exact solvers, GD dynamics and theory for logit-regularized linear classifiers.

Reference: Beck, Bar-Sinai & Levi, "The Implicit Bias of Logit Regularization" (2026).
"""
from ._validation import ConvergenceWarning, StabilityWarning
from .data import signal_plus_noise, simplex_means
from .dynamics import GrokkingConfig, Trajectory, gd, max_learning_rate, run_grokking
from .estimators import LogitRegClassifier
from .losses import BinaryLoss, LinearObjective, MulticlassLoss, get_penalty, make_loss
from .metrics import accuracy, cosine, cosine_to_e1, signed_logit_stats
from .solvers import FitResult, fit, max_margin
from .theory import (
    Vertex,
    accuracy_from_cosine,
    asymptotic_accuracy,
    asymptotic_C2,
    asymptotic_cosine,
    clustering_ratio,
    critical_ratio,
    fisher_direction,
    logit_moments,
    loss_floor,
    population_accuracy,
    population_ce,
    quadratic_toy,
    z_star,
)

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
    "accuracy",
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
    "clustering_ratio",
    "critical_ratio",
    "fisher_direction",
    "logit_moments",
    "loss_floor",
    "population_accuracy",
    "quadratic_toy",
    "z_star",
]
