r"""Full-batch gradient descent on the mean logit-regularized loss (grokking, Sec. 5.2).

:func:`gd` trains linear classifiers on the per-sample **mean** loss of
:mod:`logitreg.losses`,

.. math:: L(w) = N^{-1}\sum_i \ell(t_i),\qquad t_i = y_i w^\top x_i \ \text{(binary, no bias)},

or the multiclass loss on ``z = W x + b`` (Sec. 7, Eq. 6), by full-batch GD with step
``eta`` from ``w_0 ~ N(0, I/d)``, and records the training curves of Figs. 5 and 8 at
log-spaced epochs. Many runs (``alpha`` values x initialisations) advance together: their
weights are the rows of one matrix, so one step is two matrix products.

``method="flow"`` integrates the gradient flow ``dw/dt = -grad L`` (``t = eta * epoch``),
which GD follows up to ``O(eta)`` corrections, with an adaptive Runge-Kutta-Chebyshev
method (see :func:`gd`, Notes): late in training it takes far fewer gradient evaluations
than epochs.

:class:`GrokkingConfig` and :func:`run_grokking` run the paper's grokking experiment
(Fig. 5 binary, Fig. 8 multiclass) over seeds and summarise it (:func:`summarize_grokking`,
:func:`grokking_table`); ``simulations/grokking.py`` is the command-line front end.

Backends: ``"numpy"`` and ``"torch"`` (CPU or CUDA; torch is imported only when used),
in float64 or float32.

References
----------
Beck, Bar-Sinai & Levi (2026), "The Implicit Bias of Logit Regularization", Sec. 5.2,
Figs. 5 and 8, App. E.6. Verwer, Hundsdorfer & Sommeijer (1990) and Sommeijer, Shampine &
Verwer (1997), "RKC: an explicit solver for parabolic PDEs", for the flow integrator.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import time
import warnings
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
import sympy as sp
from scipy import linalg
from scipy.sparse.linalg import LinearOperator, eigsh
from scipy.special import ndtri
from tqdm.auto import tqdm

from ._validation import (
    StabilityWarning,
    _short,
    check_alpha,
    check_choice,
    check_positive,
    check_rng,
    check_Xy,
    encode_labels,
)
from .data import signal_plus_noise
from .io import load_npz, save_npz
from .losses import (
    BINARY_REGS,
    MULTICLASS_REGS,
    BinaryLoss,
    MulticlassLoss,
    Penalty,
    SeparablePenalty,
    SympyPenalty,
    get_penalty,
    softplus,
)
from .theory import loss_floor, population_accuracy, population_ce, z_star

__all__ = [
    "Trajectory",
    "gd",
    "max_learning_rate",
    "torch_binary_d1",
    "torch_multiclass_grad",
    "GrokkingConfig",
    "run_grokking",
    "summarize_grokking",
    "grokking_table",
    "PAPER_FIG5",
    "PRESETS",
    "GrokkingResult",
    "ACC_ONE",
    "METHODS",
    "BACKENDS",
    "DTYPES",
]

METHODS = ("gd", "flow")
BACKENDS = ("numpy", "torch")
DTYPES = ("float64", "float32")
RECORDED = (
    "train_loss", "train_acc", "test_loss", "test_acc",
    "w_norm", "cos_e1", "logit_mean", "logit_std",
)
# "Test accuracy reaches 1.0": population accuracy is a continuous Phi(.) that equals 1 only
# as t -> inf, so we call 1.0 reached when it rounds to 1.000 (>= 0.9995).
ACC_ONE = 0.9995


# =============================================================================== result


@dataclass(frozen=True)
class Trajectory:
    """Training curves of ``R`` runs, recorded at the same epochs.

    Row ``r`` is the run with ``alphas[r]`` started from initialisation ``init_index[r]``;
    rows are ordered alpha-major (all initialisations of ``alpha[0]`` first).

    Attributes
    ----------
    epochs : ndarray of shape (n_record,), int
        Log-spaced record epochs, from 0 to the last epoch.
    alphas : ndarray of shape (R,)
    init_index : ndarray of shape (R,), int
    train_loss : ndarray of shape (R, n_record)
        The full regularized mean loss ``L`` on the training set.
    train_acc : ndarray of shape (R, n_record)
    test_loss : ndarray of shape (R, n_record)
        Plain cross-entropy on the population (exact, binary signal-plus-noise data) or on
        the test set; NaN when neither was given.
    test_acc : ndarray of shape (R, n_record)
        Test accuracy, exact (:func:`logitreg.theory.population_accuracy`) or on the test
        set; NaN when neither was given.
    w_norm : ndarray of shape (R, n_record)
        ``|w|`` (multiclass: Frobenius norm of ``W``, bias excluded).
    cos_e1 : ndarray of shape (R, n_record)
        ``w_1/|w|``. Multiclass: ``|W_S|/|W|`` with ``S`` the first ``K - 1`` coordinates,
        the signal subspace of :func:`logitreg.data.signal_plus_noise`.
    logit_mean, logit_std : ndarray of shape (R, n_record)
        Mean and std (ddof 0) of the signed train logits ``y_i w^T x_i`` (multiclass: of the
        true-class logit ``z_{y_i}``).
    w0, w : ndarray of shape (R, d), or (R, K, d + 1) for multiclass (last column: bias)
        Initial and last weights.
    eta : float
        Step size; flow time is ``t = eta * epoch``.
    method : str
    n_grad_evals : int
        Batched gradient evaluations spent (one per epoch for ``"gd"``).
    complete : bool
        False when the run stopped early (``stop_at_epoch``); unrecorded entries are NaN.
    """

    epochs: np.ndarray
    alphas: np.ndarray
    init_index: np.ndarray
    train_loss: np.ndarray
    train_acc: np.ndarray
    test_loss: np.ndarray
    test_acc: np.ndarray
    w_norm: np.ndarray
    cos_e1: np.ndarray
    logit_mean: np.ndarray
    logit_std: np.ndarray
    w0: np.ndarray
    w: np.ndarray
    eta: float
    method: str
    n_grad_evals: int
    complete: bool

    def first_epoch(self, name: str, threshold: float) -> np.ndarray:
        """Epoch at which ``name`` first reaches ``threshold``, per run (NaN if never).

        Interpolated between the two records that bracket the crossing: linearly in
        ``log(epoch)``, and for accuracies in ``Phi^-1(acc)`` (see ``_first_crossing``).

        Returns
        -------
        ndarray of shape (R,)
        """
        return _first_crossing(self.epochs, getattr(self, _recorded(name)), threshold,
                               probit=name.endswith("_acc"))

    def peak_epoch(self, name: str) -> np.ndarray:
        """Record epoch at which ``name`` is largest, per run; shape (R,)."""
        vals = getattr(self, _recorded(name))
        return self.epochs[np.nanargmax(vals, axis=1)].astype(float)

    def arrays(self) -> dict:
        """All fields as numpy arrays (for :func:`logitreg.io.save_npz`)."""
        return {f.name: np.asarray(getattr(self, f.name)) for f in dataclasses.fields(self)}


def _recorded(name):
    return check_choice(name, set(RECORDED), "name")


def _first_crossing(epochs, values, threshold, probit=False):
    """First epoch where ``values`` (R, n) reaches ``threshold``; NaN if never.

    Interpolates between the bracketing records linearly in ``log(epoch)`` (records are
    log-spaced) and, for accuracies (``probit=True``), in ``Phi^-1(acc)``: the population
    accuracy is ``Phi(q)`` with ``q`` smooth in ``log t``, so the crossing of 0.9995 is not
    biased by the curvature of ``Phi`` between records (values clipped to [1e-15, 1-1e-15]).
    """
    if probit:
        values = ndtri(np.clip(values, 1e-15, 1 - 1e-15))
        threshold = float(ndtri(np.clip(threshold, 1e-15, 1 - 1e-15)))
    out = np.full(values.shape[0], np.nan)
    for r, v in enumerate(values):
        hit = np.flatnonzero(v >= threshold)
        if hit.size == 0:
            continue
        j = hit[0]
        if j == 0:
            out[r] = epochs[0]
            continue
        e0, e1, v0, v1 = float(epochs[j - 1]), float(epochs[j]), v[j - 1], v[j]
        frac = (threshold - v0) / (v1 - v0)
        out[r] = e0 + frac * (e1 - e0) if e0 < 1 else np.exp(np.log(e0) + frac * np.log(e1 / e0))
    return out


# ============================================================================= backends


def _import_torch():
    try:
        import torch
    except ImportError as err:  # pragma: no cover - torch is a declared dependency
        raise ValueError("backend='torch' needs PyTorch; install torch or use backend='numpy'") \
            from err
    return torch


class _Ops:
    """The few array operations the hot loops need, for numpy or torch."""

    def __init__(self, backend, dtype, device):
        self.backend = backend
        self.np_dtype = np.dtype(dtype)
        if backend == "torch":
            torch = _import_torch()
            self.torch = torch
            self.dtype = getattr(torch, dtype)
            self.device = torch.device(device)

    def asarray(self, x):
        if self.backend == "numpy":
            return np.array(x, dtype=self.np_dtype, order="C")
        return self.torch.as_tensor(np.asarray(x), dtype=self.dtype, device=self.device).clone()

    def to_numpy(self, x) -> np.ndarray:
        """Exact copy on the host, in the working dtype."""
        if self.backend == "numpy":
            return np.array(x)
        return x.detach().cpu().numpy()

    def row_norms(self, x):
        """Euclidean norm of each row of x (R, ...) -> host float64 (R,)."""
        flat = x.reshape(x.shape[0], -1)
        if self.backend == "numpy":
            return np.linalg.norm(flat, axis=1).astype(float)
        return self.torch.linalg.vector_norm(flat, dim=1).double().cpu().numpy()


def torch_binary_d1(t, alpha, penalty):
    r"""``l'(t) = -(1 - alpha) sigmoid(-t) + alpha f'(t)`` on torch tensors (Eq. 1).

    The torch twin of :meth:`logitreg.losses.BinaryLoss.d1`, for the torch backend.

    Parameters
    ----------
    t : torch.Tensor of shape (R, N)
        Signed logits.
    alpha : torch.Tensor broadcastable to ``t``, e.g. (R, 1)
    penalty : Penalty
        ``"quadratic"``, ``"ls"`` or a :class:`~logitreg.losses.SympyPenalty`.

    Returns
    -------
    torch.Tensor of shape (R, N)
    """
    torch = _import_torch()
    return -(1.0 - alpha) * torch.sigmoid(-t) + alpha * _torch_penalty_d1(penalty)(t)


def torch_multiclass_grad(Z, onehot, alpha, penalty):
    r"""Gradient of the multiclass per-sample loss in ``z`` on torch tensors (Eq. 6).

    ``(1 - alpha)(softmax(z) - e_y) + alpha grad f(z)``: the torch twin of
    :meth:`logitreg.losses.MulticlassLoss.grad`.

    Parameters
    ----------
    Z : torch.Tensor of shape (R, N, K)
    onehot : torch.Tensor of shape (N, K)
    alpha : torch.Tensor broadcastable to ``Z``, e.g. (R, 1, 1)
    penalty : MulticlassPenalty
        ``"quadratic"`` (``|z|^2``), ``"ls"`` or a separable sympy penalty.

    Returns
    -------
    torch.Tensor of shape (R, N, K)
    """
    torch = _import_torch()
    return (1.0 - alpha) * (torch.softmax(Z, dim=-1) - onehot) + alpha * _torch_mc_grad(penalty)(Z)


def _torch_penalty_d1(penalty):
    torch = _import_torch()
    if isinstance(penalty, BINARY_REGS["quadratic"]):
        return lambda t: 2.0 * t
    if isinstance(penalty, BINARY_REGS["ls"]):
        return lambda t: 0.5 * torch.tanh(0.5 * t)
    if isinstance(penalty, SympyPenalty):
        return _torch_lambdify(str(sp.srepr(sp.diff(penalty.symbolic, Penalty.z))))
    raise ValueError(
        f"backend='torch' supports reg='quadratic', 'ls' or a sympy expression; got "
        f"reg={penalty!r} (use backend='numpy')"
    )


def _torch_mc_grad(penalty):
    torch = _import_torch()
    if isinstance(penalty, MULTICLASS_REGS["quadratic"]):
        return lambda Z: 2.0 * Z
    if isinstance(penalty, MULTICLASS_REGS["ls"]):
        return lambda Z: torch.softmax(Z, dim=-1) - 1.0 / Z.shape[-1]
    if isinstance(penalty, SeparablePenalty):
        return _torch_penalty_d1(penalty.g)
    raise ValueError(
        f"backend='torch' supports reg='quadratic', 'ls' or a sympy expression; got "
        f"reg={penalty!r} (use backend='numpy')"
    )


@lru_cache(maxsize=32)
def _torch_lambdify(expr_srepr):
    return sp.lambdify(Penalty.z, sp.parse_expr(expr_srepr), "torch")


# ========================================================================== the problem


def _gram_lambda_max(A) -> float:
    """Largest eigenvalue of ``A^T A / N`` (float64 host ``A`` of shape (N, p))."""
    N, p = A.shape
    m = min(N, p)
    if m <= 64:
        small = A.T @ A if p <= N else A @ A.T
        return float(linalg.eigvalsh(small / N, subset_by_index=[m - 1, m - 1])[0])
    # Lanczos on the smaller Gram side; a fixed start vector keeps it deterministic.
    if p <= N:
        op = LinearOperator((p, p), matvec=lambda v: A.T @ (A @ v) / N, dtype=float)
    else:
        op = LinearOperator((N, N), matvec=lambda v: A @ (A.T @ v) / N, dtype=float)
    return float(eigsh(op, k=1, which="LA", tol=1e-8, v0=np.ones(m))[0][0])


def _sup_binary_curvature(alpha, penalty) -> float:
    r"""``sup_t l''(t)`` over ``|t| <= t_max``: the curvature factor of the stability bound.

    For ``"quadratic"`` and ``"ls"`` the maximum is at ``t = 0`` and the bound is global.
    For a custom ``f`` with unbounded ``f''`` (e.g. ``z**4``) no global bound exists; we
    take the range GD visits in practice, ``t_max = max(6, 2 z*)``: logits start as
    ``N(0, |x|^2/d)``, i.e. O(1), and end near ``z*``.
    """
    t_max = 6.0 if alpha == 0 else max(6.0, 2.0 * float(z_star(alpha, penalty)))
    grid = np.linspace(-t_max, t_max, 8001)  # contains t = 0
    return float(np.max(BinaryLoss(alpha, penalty).d2(grid)))


def _sup_multiclass_curvature(alpha, penalty) -> float:
    """Bound on the largest eigenvalue of the per-sample Hessian in ``z`` (K x K).

    CE: ``diag(p) - p p^T`` has eigenvalues <= 1/2 (Gershgorin: row sums ``2 p_k (1 - p_k)``);
    ``f``: its ``curvature_bound``.
    """
    if penalty.curvature_bound is None:
        raise ValueError(f"cannot bound the curvature of reg={penalty!r}: give the penalty a "
                         "curvature_bound, or use a built-in reg")
    return 0.5 * (1.0 - alpha) + alpha * penalty.curvature_bound


class _Problem:
    """Data on the backend, the batched gradient and the recorded quantities.

    Binary: ``A = y[:, None] * X`` (N, d); state ``W`` (R, d); logits ``T = W A^T`` (R, N).
    Multiclass: ``Xa = [X, 1]`` (N, d + 1); state ``W`` (R, K, d + 1); logits (R, N, K).
    """

    def __init__(self, X, labels, classes, alphas, penalty, ops, *, population, test):
        self.ops = ops
        self.N, self.d = X.shape
        self.K = classes.size
        self.binary = self.K == 2
        self.alphas = alphas  # (R,)
        self.penalty = penalty
        self.population = population
        if self.binary:
            self.design = labels[:, None] * X  # (N, d), label absorbed into the input
            self.losses = [BinaryLoss(float(a), penalty) for a in alphas]
            self.batched = BinaryLoss(np.asarray(alphas, dtype=float)[:, None], penalty)
        else:
            self.design = np.hstack([X, np.ones((self.N, 1))])  # (N, p): z = W x + b
            self.losses = [MulticlassLoss(float(a), penalty, self.K) for a in alphas]
        self.labels = labels
        self.test = None
        if test is not None:
            Xt, yt = test
            self.test = (yt[:, None] * Xt, None) if self.binary else \
                (np.hstack([Xt, np.ones((len(Xt), 1))]), yt)
        self.curv = np.array([
            _sup_binary_curvature(a, penalty) if self.binary
            else _sup_multiclass_curvature(a, penalty) for a in alphas
        ])
        self.lam_max = _gram_lambda_max(self.design)
        self.A = ops.asarray(self.design)
        if ops.backend == "torch":
            torch = ops.torch
            shape = (-1, 1) if self.binary else (-1, 1, 1)
            self.alpha_t = ops.asarray(alphas).reshape(shape)
            if self.binary:
                _torch_penalty_d1(penalty)  # reject a reg torch cannot handle, up front
            else:
                _torch_mc_grad(penalty)
                self.onehot = torch.nn.functional.one_hot(
                    torch.as_tensor(labels, device=ops.device), self.K).to(ops.dtype)

    # -- stability
    def hessian_bound(self) -> np.ndarray:
        """``L_r = sup l'' * lambda_max(A^T A / N)`` per run: an upper bound on the
        largest Hessian eigenvalue of the mean loss. Shape (R,)."""
        return self.curv * self.lam_max

    # -- initial state
    def init(self, rng, n_init):
        """``w_0 ~ N(0, I/d)`` (multiclass: each row of W; b = 0), tiled over alphas."""
        if self.binary:
            W0 = rng.standard_normal((n_init, self.d)) / np.sqrt(self.d)
        else:
            W0 = np.zeros((n_init, self.K, self.d + 1))
            W0[:, :, : self.d] = rng.standard_normal((n_init, self.K, self.d)) / np.sqrt(self.d)
        reps = (len(self.alphas) // n_init,) + (1,) * (W0.ndim - 1)
        return np.tile(W0, reps)

    # -- hot path
    def logits(self, W):
        if self.binary:
            return W @ self.A.T  # (R, N)
        R, K, p = W.shape
        Z = (W.reshape(R * K, p) @ self.A.T).reshape(R, K, self.N)
        return Z.transpose(1, 2) if self.ops.backend == "torch" else Z.transpose(0, 2, 1)

    def grad(self, W):
        """Gradient of the mean loss for every run and the logits: ``(G, T)``."""
        T = self.logits(W)
        if self.binary:
            if self.ops.backend == "torch":
                D = torch_binary_d1(T, self.alpha_t, self.penalty)
            else:
                D = self.batched.d1(T).astype(T.dtype, copy=False)  # (R, N), alpha (R, 1)
            return (D @ self.A) * (1.0 / self.N), T  # (R, d)
        R, K, p = W.shape
        if self.ops.backend == "torch":
            D = torch_multiclass_grad(T, self.onehot, self.alpha_t, self.penalty)  # (R, N, K)
            Dk = D.transpose(1, 2).reshape(R * K, self.N)
        else:
            Dk = np.empty((R, K, self.N), dtype=W.dtype)
            for r, loss in enumerate(self.losses):
                Dk[r] = loss.grad(T[r], self.labels).T  # (K, N)
            Dk = Dk.reshape(R * K, self.N)
        return ((Dk @ self.A) * (1.0 / self.N)).reshape(R, K, p), T

    # -- records (host, float64, only at record epochs)
    def record(self, W, T) -> dict:
        W = self.ops.to_numpy(W).astype(float)
        T = self.ops.to_numpy(T).astype(float)
        R = len(W)
        if self.binary:
            loss = [np.mean(ls.value(t)) for ls, t in zip(self.losses, T, strict=True)]
            acc = np.mean(T > 0, axis=1) + 0.5 * np.mean(T == 0, axis=1)  # t = 0: coin flip
            true_logit = T  # signed logits y_i w^T x_i, (R, N)
            Wd, signal = W, W[:, 0]
        else:
            loss = [np.mean(ls.value(z, self.labels)) for ls, z in zip(self.losses, T,
                                                                         strict=True)]
            acc = np.mean(np.argmax(T, axis=2) == self.labels, axis=1)
            true_logit = np.take_along_axis(T, self.labels[None, :, None], axis=2)[..., 0]
            Wd = W[:, :, : self.d].reshape(R, -1)  # bias excluded
            signal = np.linalg.norm(W[:, :, : self.K - 1].reshape(R, -1), axis=1)
        w_norm = np.linalg.norm(Wd, axis=1)
        test_loss, test_acc = self._test_metrics(W)
        with np.errstate(invalid="ignore", divide="ignore"):  # w = 0 gives NaN, not a warning
            cos = signal / w_norm
        return {"train_loss": np.array(loss), "train_acc": acc, "test_loss": test_loss,
                "test_acc": test_acc, "w_norm": w_norm, "cos_e1": cos,
                "logit_mean": true_logit.mean(axis=1), "logit_std": true_logit.std(axis=1)}

    def _test_metrics(self, W):
        R = len(W)
        if self.population is not None:
            return population_ce(W, **self.population), population_accuracy(W, **self.population)
        if self.test is None:
            return np.full(R, np.nan), np.full(R, np.nan)
        At, yt = self.test
        if self.binary:
            T = W @ At.T  # (R, n_test) signed test logits
            acc = np.mean(T > 0, axis=1) + 0.5 * np.mean(T == 0, axis=1)
            return np.mean(softplus(-T), axis=1), acc
        K, p = self.K, W.shape[2]
        Z = (W.reshape(R * K, p) @ At.T).reshape(R, K, -1).transpose(0, 2, 1)  # (R, n_test, K)
        ce = np.array([np.mean(self.losses[r].ce(Z[r], yt)) for r in range(R)])
        return ce, np.mean(np.argmax(Z, axis=2) == yt, axis=1)


# ========================================================================= public helpers


def max_learning_rate(X, y, alpha, *, reg="quadratic"):
    r"""GD stability bound ``2 / L`` for the mean loss (per ``alpha``).

    ``L = sup l'' * lambda_max(A^T A / N)`` bounds the largest Hessian eigenvalue of the
    mean loss everywhere (binary ``A = y x``; multiclass ``A = [X, 1]`` and ``l''`` the
    largest eigenvalue of the per-sample Hessian in ``z``). GD with ``eta < 2/L`` is stable.
    ``lambda_max`` comes from Lanczos (``scipy.sparse.linalg.eigsh``).

    Parameters
    ----------
    X : array_like of shape (N, d)
    y : array_like of shape (N,)
    alpha : float or array_like of shape (R,)
    reg : str, sympy expression or penalty, default "quadratic"

    Returns
    -------
    float or ndarray of shape (R,)
    """
    X, y, classes = check_Xy(X, y)
    alphas = np.atleast_1d(check_alpha(alpha))
    penalty = get_penalty(reg, classes.size)
    prob = _Problem(X, encode_labels(y, classes), classes, alphas, penalty, _Ops("numpy", "float64",
                    "cpu"), population=None, test=None)
    out = 2.0 / prob.hessian_bound()
    return float(out[0]) if np.ndim(alpha) == 0 else out


# ======================================================================== RKC integrator


@cache
def _rkc_coefficients(s: int):
    r"""Coefficients of the s-stage, second-order Runge-Kutta-Chebyshev method.

    Damping ``eps = 2/13`` (Sommeijer, Shampine & Verwer 1997). Stage recursion:
    ``Y_1 = Y_0 + mu~_1 h F_0``,
    ``Y_j = (1 - mu_j - nu_j) Y_0 + mu_j Y_{j-1} + nu_j Y_{j-2} + mu~_j h F_{j-1}
    + gamma~_j h F_0``. Returns ``(mu, nu, mu_t, gamma_t, beta)`` where ``beta ~ 0.65 s^2``
    is the stability boundary on the negative real axis.
    """
    w0 = 1.0 + (2.0 / 13.0) / s**2
    T, dT, ddT = np.zeros(s + 1), np.zeros(s + 1), np.zeros(s + 1)
    T[0], T[1], dT[1] = 1.0, w0, 1.0
    for j in range(2, s + 1):
        T[j] = 2 * w0 * T[j - 1] - T[j - 2]
        dT[j] = 2 * T[j - 1] + 2 * w0 * dT[j - 1] - dT[j - 2]
        ddT[j] = 4 * dT[j - 1] + 2 * w0 * ddT[j - 1] - ddT[j - 2]
    w1 = dT[s] / ddT[s]
    b = np.zeros(s + 1)
    b[2:] = ddT[2:] / dT[2:] ** 2
    b[0] = b[1] = b[2]
    a = 1.0 - b * T
    mu, nu, mu_t, gam_t = np.zeros(s + 1), np.zeros(s + 1), np.zeros(s + 1), np.zeros(s + 1)
    mu_t[1] = b[1] * w1
    for j in range(2, s + 1):
        mu[j] = 2 * b[j] * w0 / b[j - 1]
        nu[j] = -b[j] / b[j - 2]
        mu_t[j] = 2 * b[j] * w1 / b[j - 1]
        gam_t[j] = -a[j - 1] * mu_t[j]
    beta = (w0 + 1.0) * ddT[s] / dT[s]
    return mu, nu, mu_t, gam_t, beta


_S_MAX = 100  # stage cap: beta(100) ~ 6500, far beyond what accuracy allows here
_BETA = np.array([0.0, 0.0] + [_rkc_coefficients(s)[4] for s in range(2, _S_MAX + 1)])


def _rkc_step(grad, W, F0, h, s):
    """One RKC step of ``dW/dt = F(W) = -grad L`` from ``W`` with ``F0 = F(W)``."""
    # Python floats: a numpy scalar times a torch tensor would not stay a tensor.
    mu, nu, mu_t, gam_t = (c.tolist() for c in _rkc_coefficients(s)[:4])
    h = float(h)
    Y_prev, Y = W, W + (mu_t[1] * h) * F0
    for j in range(2, s + 1):
        F = -grad(Y)[0]
        Y_prev, Y = Y, ((1 - mu[j] - nu[j]) * W + mu[j] * Y + nu[j] * Y_prev
                        + (mu_t[j] * h) * F + (gam_t[j] * h) * F0)
    return Y


# ================================================================================= gd()


class _Run:
    """Mutable loop state, (de)serialised for checkpoints.

    ``pos = (W, epoch, t, h)``: weights, completed epochs (GD) or ``floor(t/eta)`` (flow),
    flow time and the flow's proposed step. They change together, so they live in one
    tuple that the loops replace in a single assignment: a ``KeyboardInterrupt`` can then
    never checkpoint ``W`` of one epoch with the epoch number of another.
    """

    def __init__(self, W, rec_epochs, R):
        self.pos = (W, 0, 0.0, None)
        self.k = 0  # next record index
        self.n_evals = 0
        self.rec = {name: np.full((R, len(rec_epochs)), np.nan) for name in RECORDED}

    def store(self, values):
        for name in RECORDED:
            self.rec[name][:, self.k] = values[name]
        self.k += 1


def _record_epochs(epochs, n_record):
    """0 plus ``n_record - 1`` log-spaced integers in [1, epochs] (duplicates dropped)."""
    grid = np.unique(np.round(np.geomspace(1, epochs, n_record - 1)).astype(np.int64))
    return np.concatenate([[0], grid])


def _sha(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def _penalty_id(penalty) -> str:
    """A string that identifies ``f`` in a checkpoint's configuration."""
    g = penalty.g if isinstance(penalty, SeparablePenalty) else penalty
    try:
        form = sp.srepr(g.symbolic)
    except (AttributeError, NotImplementedError):  # built-in multiclass f, or no sympy form
        form = g.name
    return f"{type(penalty).__name__}:{type(g).__name__}:{form}"


def gd(
    X,
    y,
    alpha,
    *,
    reg="quadratic",
    eta=0.1,
    epochs,
    n_record=200,
    rng=None,
    n_init=1,
    X_test=None,
    y_test=None,
    population=None,
    method="gd",
    rtol=1e-4,
    backend="numpy",
    dtype="float64",
    device="cpu",
    threads=None,
    checkpoint=None,
    checkpoint_every=60.0,
    restart=False,
    stop_at_epoch=None,
    progress=True,
) -> Trajectory:
    r"""Full-batch gradient descent on the mean loss for many ``alpha`` at once.

    Each run minimises ``L(w) = N^-1 sum_i l(t_i)`` with
    ``l = (1 - alpha) CE + alpha f`` (Eq. 1; multiclass Eq. 6 with ``z = W x + b``) by
    ``w <- w - eta grad L(w)`` from ``w_0 ~ N(0, I/d)``. All runs advance together:
    binary weights are the rows of ``W`` (R, d) and the logits are ``T = W A^T`` with
    ``A = y[:, None] * X``; multiclass ``W`` (R, K, d + 1) gives the logits by one
    (R K, d + 1) x (d + 1, N) product.

    Parameters
    ----------
    X : array_like of shape (N, d)
    y : array_like of shape (N,)
        Two classes: binary model without bias (the larger label is +1). More classes:
        the multiclass model with bias.
    alpha : float or array_like of shape (n_alpha,)
        Regularization amplitudes in [0, 1).
    reg : str, sympy expression or penalty, default "quadratic"
        The penalty ``f`` (:func:`logitreg.losses.get_penalty`): ``z**2`` / ``|z|^2``,
        ``"ls"``, a sympy expression or a :class:`~logitreg.losses.Penalty` (the torch
        backend takes the first three).
    eta : float, default 0.1
        Step size (GD) and time per epoch (``t = eta * epoch``, flow).
    epochs : int
        Number of GD steps.
    n_record : int, default 200
        Record epochs: 0 and ``n_record - 1`` log-spaced epochs up to ``epochs`` (fewer
        when rounding to integers makes them coincide).
    rng : numpy.random.Generator, int or None
        Draws ``w_0``; nothing else is random.
    n_init : int, default 1
        Initialisations per ``alpha``; every ``alpha`` starts from the same ``n_init``
        draws, so there are ``R = n_alpha * n_init`` runs.
    X_test, y_test : array_like of shape (n_test, d) and (n_test,), optional
        Test set for ``test_loss`` / ``test_acc``.
    population : dict, optional
        ``{"mu_f", "sigma_f", "sigma_n"}`` of binary signal-plus-noise data: test
        accuracy and CE are then exact population values (:func:`population_ce`).
    method : {"gd", "flow"}, default "gd"
        ``"gd"``: exact GD. ``"flow"``: adaptive RKC integration of the gradient flow
        (Notes), reported on the same epoch grid.
    rtol : float, default 1e-4
        ``"flow"`` only: local error tolerance per step, relative to ``|w|`` of each run;
        at least 100 float eps of ``dtype`` (1.2e-5 for float32).
    backend : {"numpy", "torch"}, default "numpy"
    dtype : {"float64", "float32"}, default "float64"
    device : str, default "cpu"
        Torch device (``"cuda"``, ``"cuda:1"``, ...); numpy needs ``"cpu"``.
    threads : int, optional
        CPU threads for the matrix products (BLAS for numpy, intra-op for torch), restored
        on return. Default: 1 when a product has fewer than 4e7 multiply-adds (the Fig. 5
        and Fig. 8 problems; on shared cores more threads are much slower, see
        ``docs/dynamics.md``), else the library's own setting.
    checkpoint : str or Path, optional
        ``.npz`` file for resumable runs. If it exists and was written for the same
        configuration (data, alphas, eta, epochs, ..., ``w_0``), the run resumes from it;
        a different configuration raises ``ValueError`` unless ``restart=True``, which
        discards it. Written atomically every ``checkpoint_every`` seconds, on
        ``KeyboardInterrupt``, at ``stop_at_epoch`` and at the end.
    checkpoint_every : float, default 60.0
        Seconds between checkpoints.
    restart : bool, default False
    stop_at_epoch : int, optional
        Stop once this many epochs are done (a simulated interruption) and return an
        incomplete trajectory; call again with the same ``checkpoint`` to resume.
        ``"flow"`` stops at the first step boundary at or after it.
    progress : bool, default True
        Show a tqdm progress bar.

    Returns
    -------
    Trajectory

    Warns
    -----
    StabilityWarning
        If ``eta > 2 / L`` for some run (:func:`max_learning_rate`).

    Notes
    -----
    **Flow integrator.** GD is the explicit Euler method for ``dw/dt = -grad L`` with
    step ``eta``; its epoch-``e`` iterate follows the flow at ``t = eta e`` up to
    ``O(eta)`` corrections. The Jacobian of the flow is ``-Hessian``: symmetric, with
    eigenvalues in ``[-L, 0]``. That is exactly the setting of Runge-Kutta-Chebyshev
    methods, whose stability interval ``[-0.65 s^2, 0]`` grows with the square of the
    number of stages ``s`` (explicit Euler: ``[-2, 0]``), so the step is limited by
    accuracy rather than by the stiff, already-equilibrated directions. We use the
    second-order RKC of Sommeijer, Shampine & Verwer (1997) with their error estimate
    ``0.8 (w_n - w_{n+1}) + 0.4 h (F_n + F_{n+1})``; the step ``h`` (shared by all runs)
    adapts so that this stays below ``rtol |w|`` in every run, and ``s`` is the fewest
    stages with ``beta(s) >= h L``. Steps land exactly on the record times. Its
    accuracy against exact GD is checked in ``tests/test_dynamics.py`` and
    ``docs/dynamics.md``.

    References
    ----------
    Beck, Bar-Sinai & Levi (2026), Sec. 5.2, Figs. 5 and 8, App. E.6.
    """
    # ---- validate at the boundary
    X, y, classes = check_Xy(X, y)
    alphas = np.atleast_1d(check_alpha(alpha)).astype(float)
    if alphas.ndim != 1 or alphas.size == 0:
        raise ValueError(f"alpha must be a scalar or a non-empty 1-D array; got alpha={alpha!r}")
    penalty = get_penalty(reg, classes.size)
    check_positive(eta, "eta")
    check_positive(epochs, "epochs", integer=True)
    check_positive(n_record, "n_record", integer=True)
    if n_record < 2:
        raise ValueError(f"n_record must be >= 2 (epoch 0 and the last); got n_record={n_record}")
    check_positive(n_init, "n_init", integer=True)
    check_choice(method, set(METHODS), "method")
    check_positive(rtol, "rtol")
    check_choice(backend, set(BACKENDS), "backend")
    check_choice(dtype, set(DTYPES), "dtype")
    # The error estimate cannot resolve less than ~100 rounding errors of the dtype.
    rtol_min = 100 * float(np.finfo(dtype).eps)
    if not rtol_min <= rtol < 1:
        raise ValueError(f"rtol must lie in [{rtol_min:.2g}, 1) for dtype={dtype!r}; got "
                         f"rtol={rtol}")
    check_positive(checkpoint_every, "checkpoint_every")
    if threads is not None:
        check_positive(threads, "threads", integer=True)
    if stop_at_epoch is not None:
        check_positive(stop_at_epoch, "stop_at_epoch", strict=False, integer=True)
    rng = check_rng(rng)
    _check_device(backend, device)
    test = _check_test(X, classes, X_test, y_test, population)
    if population is not None:
        population = {k: float(v) for k, v in population.items()}

    N, d = X.shape
    labels = encode_labels(y, classes)
    R = alphas.size * n_init
    rows_alpha = np.repeat(alphas, n_init)
    ops = _Ops(backend, dtype, device)
    prob = _Problem(X, labels, classes, rows_alpha, penalty, ops,
                    population=population, test=test)
    bound = 2.0 / prob.hessian_bound()
    if np.any(eta > bound):
        bad = rows_alpha[eta > bound]
        warnings.warn(
            f"eta={eta} exceeds the GD stability bound 2/L = {bound.min():.4g} (for alpha="
            f"{sorted(set(bad.tolist()))}); GD may diverge"
            + ("" if method == "gd" else ", and the flow no longer approximates GD"),
            StabilityWarning,
            stacklevel=2,
        )
    W0 = prob.init(rng, n_init)  # (R, ...) float64
    rec_epochs = _record_epochs(epochs, n_record)
    config = {
        "data": _sha(X, y), "test": None if test is None else _sha(*test), "w0": _sha(W0),
        "alphas": alphas.tolist(), "n_init": n_init, "reg": _penalty_id(penalty),
        "eta": float(eta), "epochs": int(epochs), "n_record": int(n_record), "method": method,
        "rtol": float(rtol) if method == "flow" else None, "backend": backend, "dtype": dtype,
        "device": str(device), "population": population,
    }
    run = _Run(ops.asarray(W0), rec_epochs, R)
    if checkpoint is not None:
        _resume(Path(checkpoint), config, run, ops, rng, restart)

    stop = epochs if stop_at_epoch is None else min(int(stop_at_epoch), epochs)
    saver = _Saver(checkpoint, checkpoint_every, config, ops, rng)
    loop = _gd_loop if method == "gd" else _flow_loop
    bar = tqdm(total=epochs, initial=run.pos[1], unit="epoch", disable=not progress,
               mininterval=0.5, desc=f"{method} R={R}")
    with _thread_limit(prob, ops, threads), bar:
        try:
            loop(prob, run, rec_epochs, eta, epochs, stop, bar, saver, rtol)
        except KeyboardInterrupt:
            saver.save(run)
            raise
    saver.save(run)
    done = run.k == len(rec_epochs)
    return Trajectory(
        epochs=rec_epochs, alphas=rows_alpha, init_index=np.tile(np.arange(n_init), alphas.size),
        **run.rec, w0=W0, w=ops.to_numpy(run.pos[0]).astype(float), eta=float(eta), method=method,
        n_grad_evals=run.n_evals, complete=done,
    )


# Threads: a GD step is two matrix products of a few ms each, too short to amortise
# multithreaded BLAS synchronisation when other processes share the cores. Measured on the
# 2-core sandbox with one core busy (bench/dynamics.py, Fig. 5 problem): 7.7 ms/step on one
# thread, 106 ms on two. So by default products below this many multiply-adds run on one
# thread (the Fig. 5 problem is 1.1e7, Fig. 8 2.8e7); pass threads= to override.
_ONE_THREAD_BELOW = 4e7


@contextlib.contextmanager
def _thread_limit(prob, ops, threads):
    """Set the BLAS (numpy) or intra-op (torch CPU) thread count; restore it afterwards."""
    if threads is None:
        size = len(prob.alphas) * prob.K ** (not prob.binary) * prob.design.size
        threads = 1 if size < _ONE_THREAD_BELOW else None
    if threads is None or (ops.backend == "torch" and ops.device.type != "cpu"):
        yield
    elif ops.backend == "torch":
        before = ops.torch.get_num_threads()
        ops.torch.set_num_threads(threads)
        try:
            yield
        finally:
            ops.torch.set_num_threads(before)
    else:
        from threadpoolctl import threadpool_limits  # installed with scikit-learn

        with threadpool_limits(limits=threads, user_api="blas"):
            yield


def _check_device(backend, device):
    if not isinstance(device, str):
        raise ValueError(f"device must be a string such as 'cpu' or 'cuda'; got device={device!r}")
    if backend == "numpy":
        if device != "cpu":
            raise ValueError(f"backend='numpy' runs on device='cpu' only; got device={device!r}")
        return
    torch = _import_torch()
    try:
        dev = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"unknown device={device!r}; expected 'cpu' or 'cuda[:i]'") from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} requested but torch.cuda.is_available() is False")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"unknown device={device!r}; expected 'cpu' or 'cuda[:i]'")


def _check_test(X, classes, X_test, y_test, population):
    if (X_test is None) != (y_test is None):
        raise ValueError("X_test and y_test must be given together; got only one of them")
    if population is not None:
        if X_test is not None:
            raise ValueError("give either population or X_test/y_test, not both")
        if classes.size != 2:
            raise ValueError("population= is for binary signal-plus-noise data; for "
                             "multiclass pass a test set X_test, y_test")
        keys = {"mu_f", "sigma_f", "sigma_n"}
        if not isinstance(population, dict) or set(population) != keys:
            raise ValueError(f"population must be a dict with keys {sorted(keys)}; got "
                             f"population={_short(population)}")
        for k in sorted(keys):
            check_positive(population[k], f"population[{k!r}]", strict=False)
        return None
    if X_test is None:
        return None
    Xt, yt, ct = check_Xy(X_test, y_test, min_classes=1)
    if Xt.shape[1] != X.shape[1]:
        raise ValueError(f"X_test must have d={X.shape[1]} columns like X; got "
                         f"X_test.shape={Xt.shape}")
    if not np.all(np.isin(ct, classes)):
        raise ValueError(f"y_test must use the training classes {classes.tolist()}; got "
                         f"classes={ct.tolist()}")
    return Xt, encode_labels(yt, classes)


# ---- checkpoints


class _Saver:
    """Writes the loop state atomically (at most every ``every`` seconds in the loop)."""

    def __init__(self, path, every, config, ops, rng):
        self.path = None if path is None else Path(path)
        self.every, self.config, self.ops, self.rng = every, config, ops, rng
        self.last = time.monotonic()

    def maybe(self, run):
        if self.path is not None and time.monotonic() - self.last > self.every:
            self.save(run)

    def save(self, run):
        if self.path is None:
            return
        W, epoch, t, h = run.pos
        save_npz(
            self.path, W=self.ops.to_numpy(W), epoch=epoch, t=t,
            h=np.nan if h is None else h, k=run.k, n_evals=run.n_evals,
            config=json.dumps(self.config, sort_keys=True),
            rng_state=json.dumps(self.rng.bit_generator.state, default=int),
            **{f"rec_{n}": v for n, v in run.rec.items()},
        )
        self.last = time.monotonic()


def _resume(path, config, run, ops, rng, restart):
    if not path.exists():
        return
    if restart:
        path.unlink()
        return
    ck = load_npz(path)
    saved = json.loads(str(ck["config"]))
    if saved != json.loads(json.dumps(config, sort_keys=True)):
        diff = sorted(k for k in set(saved) | set(config) if saved.get(k) != config.get(k))
        raise ValueError(
            f"checkpoint={str(path)!r} was written for a different configuration (differs "
            f"in {diff}); pass restart=True (--restart) to discard it, or use another path"
        )
    h = None if np.isnan(ck["h"]) else float(ck["h"])
    run.pos = (ops.asarray(ck["W"]), int(ck["epoch"]), float(ck["t"]), h)
    run.k, run.n_evals = int(ck["k"]), int(ck["n_evals"])
    run.rec = {n: ck[f"rec_{n}"] for n in RECORDED}
    rng.bit_generator.state = json.loads(str(ck["rng_state"]))


# ---- loops


def _gd_loop(prob, run, rec_epochs, eta, epochs, stop, bar, saver, rtol):
    """Exact GD: ``W <- W - eta grad L(W)``, recording before the step at record epochs."""
    W, e = run.pos[:2]
    n_rec = len(rec_epochs)
    while e < stop:
        G, T = prob.grad(W)
        if run.k < n_rec and rec_epochs[run.k] == e:
            run.store(prob.record(W, T))
        W = W - eta * G
        e += 1
        run.pos = (W, e, eta * e, None)
        if e % 256 == 0:
            run.n_evals = e
            bar.update(e - bar.n)
            saver.maybe(run)
    run.n_evals = e
    bar.update(e - bar.n)
    if e == epochs and run.k < n_rec:
        run.store(prob.record(W, prob.logits(W)))


def _flow_loop(prob, run, rec_epochs, eta, epochs, stop, bar, saver, rtol):
    """Adaptive RKC integration of ``dW/dt = -grad L`` (see :func:`gd`, Notes)."""
    rho = 1.05 * float(np.max(prob.hessian_bound()))  # 5% margin on the stability boundary
    t_rec = (eta * rec_epochs).tolist()  # Python floats (see _rkc_step)
    W, _, t, h = run.pos
    h = eta if h is None else h
    if run.k == len(t_rec):  # finished checkpoint: nothing to do
        return
    G, T = prob.grad(W)  # on resume this recomputes, bit for bit, the saved step's F_{n+1}
    run.n_evals += 1
    if run.k == 0:
        run.store(prob.record(W, T))
    while t < eta * stop and run.k < len(t_rec):
        t_next = t_rec[run.k]
        lands = t_next - t <= h  # this step ends on the next record time
        h_step = t_next - t if lands else h
        s = max(2, int(np.searchsorted(_BETA, h_step * rho)))
        if s > _S_MAX:
            s, h_step, lands = _S_MAX, float(_BETA[_S_MAX]) / rho, False
        if run.n_evals > 4 * epochs + 1000:  # GD itself needs `epochs` evaluations
            raise RuntimeError(
                f"flow spent {run.n_evals} gradient evaluations by epoch {t / eta:.0f} of "
                f"{epochs}, more than GD would; raise rtol={rtol} or use method='gd'")
        W1 = _rkc_step(prob.grad, W, -G, h_step, s)
        G1, T1 = prob.grad(W1)
        run.n_evals += s
        # RKC error estimate 0.8 (w_n - w_{n+1}) + 0.4 h (F_n + F_{n+1}), with F = -G.
        est = 0.8 * (W - W1) - (0.4 * h_step) * (G + G1)
        scale = np.maximum(prob.ops.row_norms(W), prob.ops.row_norms(W1))
        err = float(np.max(prob.ops.row_norms(est) / (rtol * np.maximum(scale, 1e-300))))
        fac = 10.0 if err == 0 else min(10.0, max(0.1, 0.8 * err ** (-1.0 / 3.0)))
        if err > 1.0:
            h = h_step * fac
            if h < 1e-9 * max(t, eta):
                raise RuntimeError(
                    f"flow step size underflow (h={h:.3g}) at epoch {t / eta:.0f}: the local "
                    f"error cannot be brought below rtol={rtol}; raise rtol or use method='gd'")
            continue
        W, G, T = W1, G1, T1
        t = t_next if lands else t + h_step
        # A step shortened to hit a record time says nothing against the proposed h.
        h = max(h, h_step * fac) if lands else h_step * fac
        if lands:
            run.store(prob.record(W, T))
        e = min(epochs, int(np.floor(t / eta + 1e-9)))
        run.pos = (W, e, t, h)
        bar.update(e - bar.n)
        saver.maybe(run)


# ================================================================ the grokking experiment

# [DIGITIZED] Fig. 5 values (spec section 4; one run, about +-0.002 in accuracy). None means
# "never reached by 2e5 epochs". Test loss is plain CE; train loss is the regularized mean.
PAPER_FIG5 = {
    0.0: {"epoch_train_acc_1.0": 1.5e3, "epoch_test_acc_0.6": None, "epoch_test_acc_0.9": None,
          "epoch_test_acc_1.0": None, "test_loss_peak_epoch": 2e5, "test_loss_peak": 9.0,
          "final_train_loss": 8.3e-4, "final_test_loss": 9.0, "final_test_acc": 0.513},
    0.001: {"epoch_train_acc_1.0": 1.5e3, "epoch_test_acc_0.6": 8.0e4, "epoch_test_acc_0.9": None,
            "epoch_test_acc_1.0": None, "test_loss_peak_epoch": 1.35e4, "test_loss_peak": 3.4,
            "final_train_loss": 0.036, "final_test_loss": 0.32, "final_test_acc": 0.862},
    0.01: {"epoch_train_acc_1.0": 6.1e3, "epoch_test_acc_0.6": 1.1e4, "epoch_test_acc_0.9": 3.8e4,
           "epoch_test_acc_1.0": 7.5e4, "test_loss_peak_epoch": 2.3e3, "test_loss_peak": 1.63,
           "final_train_loss": 0.137, "final_test_loss": 0.060, "final_test_acc": 1.0},
    0.1: {"epoch_train_acc_1.0": 4.5e3, "epoch_test_acc_0.6": 2.8e3, "epoch_test_acc_0.9": 9.4e3,
          "epoch_test_acc_1.0": 1.7e4, "test_loss_peak_epoch": 5e2, "test_loss_peak": 0.84,
          "final_train_loss": 0.380, "final_test_loss": 0.284, "final_test_acc": 1.0},
}


@dataclass(frozen=True)
class GrokkingConfig:
    """The grokking experiment (Sec. 5.2, App. E.6). Defaults: Fig. 5.

    One run per ``(alpha, seed)``; each seed draws its own training data, ``w_0`` (and
    test set) from ``np.random.SeedSequence(seed)``, and all alphas of a seed share them.
    """

    d: int = 1400  # input dimension
    n: int = 2000  # training samples N; lambda = d/N = 0.7
    n_classes: int = 2  # K (Fig. 8: 10, multiclass model z = W x + b)
    mu_f: float = 0.1  # signal strength (Fig. 5 uses 0.1, ten times the usual 1)
    sigma_f: float = 0.0  # noise std along the signal
    sigma_n: float = 1.0  # noise std orthogonal to it
    alphas: tuple = (0.0, 0.001, 0.01, 0.1)  # regularization amplitudes
    reg: str = "quadratic"  # f = z**2 (|z|^2 multiclass) or "ls"
    eta: float = 0.1  # GD step; flow time per epoch
    epochs: int = 200_000  # GD steps
    n_record: int = 400  # log-spaced record epochs (with 0 and the last)
    seeds: tuple = (0, 1, 2)  # one dataset + initialisation per seed
    n_test: int = 0  # 0: exact population test metrics (binary only); else test-set size
    method: str = "flow"  # "flow": adaptive RKC, within 2e-4 of exact GD; "gd": exact
    rtol: float = 1e-4  # flow: local error per step relative to |w|
    backend: str = "numpy"  # "numpy" or "torch"
    dtype: str = "float64"  # "float64" or "float32"
    device: str = "cpu"  # torch device, e.g. "cuda"

    @classmethod
    def preset(cls, name: str, **overrides) -> GrokkingConfig:
        """Named settings (``PRESETS``): ``"fig5"`` (the defaults), ``"quick"``,
        ``"multiclass"`` (Fig. 8) or ``"multiclass-quick"``, then ``overrides``."""
        check_choice(name, set(PRESETS), "preset")
        return cls(**{**PRESETS[name], **overrides})

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


# Overrides of the GrokkingConfig defaults. "quick" keeps lambda = 0.7 and mu_f, with
# 10x smaller d and N; alpha = 0.1 then reaches test accuracy 1.0 at ~2e4 epochs.
PRESETS = {
    "fig5": {},
    "quick": {"d": 140, "n": 200, "epochs": 30_000, "n_record": 200, "seeds": (0,)},
    "multiclass": {"n_classes": 10, "mu_f": 1.0, "alphas": (0.04,), "epochs": 20_000,
                   "n_test": 5000},
    "multiclass-quick": {"n_classes": 10, "mu_f": 1.0, "alphas": (0.04,), "d": 140, "n": 200,
                         "epochs": 5000, "n_test": 2000, "n_record": 200, "seeds": (0,)},
}


@dataclass(frozen=True)
class GrokkingResult:
    """Output of :func:`run_grokking`.

    Attributes
    ----------
    config : GrokkingConfig
    trajectories : tuple of Trajectory
        One per seed finished so far (all alphas of that seed).
    runs : list of dict
        :func:`summarize_grokking` (empty unless ``complete``).
    complete : bool
    wall_time_s : float
        Seconds spent in this call.
    """

    config: GrokkingConfig
    trajectories: tuple
    runs: list
    complete: bool
    wall_time_s: float

    def arrays(self) -> dict:
        """Every trajectory array, keyed ``seed<s>_<field>`` (for an ``.npz``)."""
        return {f"seed{s}_{k}": v for s, tr in zip(self.config.seeds, self.trajectories,
                                                     strict=False)
                for k, v in tr.arrays().items()}


def run_grokking(config: GrokkingConfig, *, checkpoint_dir=None, restart=False,
                 stop_at_epoch=None, threads=None, progress=True) -> GrokkingResult:
    """Run the grokking experiment: every alpha, for every seed (Fig. 5 / Fig. 8).

    Parameters
    ----------
    config : GrokkingConfig
    checkpoint_dir : str or Path, optional
        Resumable runs: one checkpoint ``seed<s>.npz`` per seed (see :func:`gd`).
    restart : bool, default False
        Discard checkpoints written for another configuration instead of refusing.
    stop_at_epoch : int, optional
        Simulated interruption: stop the first unfinished seed at this epoch.
    threads : int, optional
        CPU threads (see :func:`gd`).
    progress : bool, default True

    Returns
    -------
    GrokkingResult
    """
    if not isinstance(config, GrokkingConfig):
        raise ValueError(f"config must be a GrokkingConfig; got config={_short(config)}")
    seeds = tuple(config.seeds)
    if not seeds or not all(isinstance(s, (int, np.integer)) and s >= 0 for s in seeds):
        raise ValueError(f"seeds must be non-empty non-negative ints; got seeds={seeds!r}")
    check_positive(config.n_test, "n_test", strict=False, integer=True)
    if config.n_classes > 2 and config.n_test == 0:
        raise ValueError("n_test must be > 0 for n_classes > 2 (no closed-form population "
                         f"accuracy); got n_test={config.n_test}")
    start = time.perf_counter()
    trajectories = []
    for seed in seeds:
        data_rng, init_rng, test_rng = (np.random.default_rng(s)
                                        for s in np.random.SeedSequence(seed).spawn(3))
        spn = {"mu_f": config.mu_f, "sigma_f": config.sigma_f, "sigma_n": config.sigma_n}
        X, y = signal_plus_noise(config.n, config.d, n_classes=config.n_classes, rng=data_rng,
                                 **spn)
        test = {}
        if config.n_test:
            Xt, yt = signal_plus_noise(config.n_test, config.d, n_classes=config.n_classes,
                                       rng=test_rng, **spn)
            test = {"X_test": Xt, "y_test": yt}
        else:
            test = {"population": spn}
        traj = gd(
            X, y, np.asarray(config.alphas, dtype=float), reg=config.reg, eta=config.eta,
            epochs=config.epochs, n_record=config.n_record, rng=init_rng, method=config.method,
            rtol=config.rtol, backend=config.backend, dtype=config.dtype, device=config.device,
            checkpoint=None if checkpoint_dir is None else Path(checkpoint_dir) / f"seed{seed}.npz",
            restart=restart, stop_at_epoch=stop_at_epoch, threads=threads, progress=progress,
            **test,
        )
        if not traj.complete:
            return GrokkingResult(config, tuple(trajectories), [], False,
                                  time.perf_counter() - start)
        trajectories.append(traj)
    runs = summarize_grokking(config, trajectories)
    return GrokkingResult(config, tuple(trajectories), runs, True, time.perf_counter() - start)


_CURVES = ("train_loss", "test_loss", "train_acc", "test_acc", "w_norm", "cos_e1",
           "logit_mean", "logit_std")


def _scalar_metrics(tr: Trajectory, r: int) -> dict:
    """Per-run summary numbers of row ``r``."""
    e = tr.epochs
    row = {name: getattr(tr, name)[r : r + 1] for name in _CURVES}

    def acc_at(name, level):
        return _first_crossing(e, row[name], level, probit=True)[0]

    return {
        # train accuracy is a fraction of N samples: 1.0 means every sample is right
        "epoch_train_acc_1.0": acc_at("train_acc", 1.0),
        "epoch_test_acc_0.6": acc_at("test_acc", 0.6),
        "epoch_test_acc_0.9": acc_at("test_acc", 0.9),
        "epoch_test_acc_1.0": acc_at("test_acc", ACC_ONE),
        "test_loss_peak_epoch": float(e[np.nanargmax(row["test_loss"][0])]),
        "test_loss_peak": float(np.nanmax(row["test_loss"][0])),
        "final_train_loss": float(row["train_loss"][0, -1]),
        "final_test_loss": float(row["test_loss"][0, -1]),
        "final_train_acc": float(row["train_acc"][0, -1]),
        "final_test_acc": float(row["test_acc"][0, -1]),
        "final_logit_mean": float(row["logit_mean"][0, -1]),
        "final_cos_e1": float(row["cos_e1"][0, -1]),
    }


def _theory(config, alpha) -> dict:
    """Targets of the converged run: ``z*``, the train-loss floor ``l(z*)`` and ``CE(z*)``."""
    if config.n_classes == 2:
        zs = float(z_star(alpha, config.reg))
        return {"z_star": zs, "loss_floor": float(loss_floor(alpha, config.reg)),
                "ce_floor": float(softplus(-zs))}
    if alpha == 0:
        return {"z_star": None, "loss_floor": 0.0, "ce_floor": 0.0}
    v = z_star(alpha, config.reg, n_classes=config.n_classes)
    K = config.n_classes
    loss = MulticlassLoss(alpha, get_penalty(config.reg, K), K)
    z = v.vector(0, K)[None, :]
    y0 = np.zeros(1, dtype=int)
    return {"z_star": [v.q_high, v.q_low], "loss_floor": float(loss.value(z, y0)[0]),
            "ce_floor": float(loss.ce(z, y0)[0])}


def summarize_grokking(config: GrokkingConfig, trajectories) -> list:
    """One summary dict per alpha, with mean and std over seeds.

    Curves (``epochs``, ``train_loss``, ``test_loss``, ``train_acc``, ``test_acc``, ...)
    are seed means with ``<name>_std`` (ddof 1; ``None`` for one seed). Scalars
    (``epoch_test_acc_0.9``, ``epoch_test_acc_1.0`` = first epoch with test accuracy
    >= ``ACC_ONE``, ``test_loss_peak_epoch``, ``final_train_loss``, ...) are the seed mean,
    ``None`` if any seed never reached it, with ``<name>_std`` and ``<name>_per_seed``.
    ``loss_floor`` is ``l(z*)``; ``paper`` holds the Fig. 5 values for this alpha (binary).
    """
    runs = []
    n_seeds = len(trajectories)
    for i, alpha in enumerate(config.alphas):
        alpha = float(alpha)
        entry = {"alpha": alpha, "n_seeds": n_seeds,
                 "epochs": trajectories[0].epochs.tolist()}
        for name in _CURVES:
            stack = np.stack([getattr(tr, name)[i] for tr in trajectories])  # (S, n_record)
            entry[name] = stack.mean(axis=0)
            entry[f"{name}_std"] = stack.std(axis=0, ddof=1) if n_seeds > 1 else None
        per_seed = [_scalar_metrics(tr, i) for tr in trajectories]
        for key in per_seed[0]:
            vals = np.array([m[key] for m in per_seed], dtype=float)
            entry[key] = float(vals.mean()) if np.all(np.isfinite(vals)) else None
            entry[f"{key}_std"] = float(vals.std(ddof=1)) if n_seeds > 1 and \
                np.all(np.isfinite(vals)) else None
            entry[f"{key}_per_seed"] = vals
        entry.update(_theory(config, alpha))
        entry["n_grad_evals"] = [tr.n_grad_evals for tr in trajectories]
        entry["paper"] = PAPER_FIG5.get(alpha) if config.n_classes == 2 else None
        runs.append(entry)
    return runs


def _fmt_epoch(v, sd=None):
    """``12.3k``, ``12.3k±0.4k``, ``572`` or ``never``."""
    if v is None:
        return "never"
    unit, scale = ("k", 1e3) if v >= 1e3 else ("", 1.0)
    text = f"{v / scale:.1f}{unit}" if unit else f"{v:.0f}"
    if sd is not None:
        text += f"±{sd / scale:.1f}{unit}" if unit else f"±{sd:.0f}"
    return text


def _fmt_reached(run, key):
    """Seed mean ± std, or how many seeds reached it when only some did."""
    per_seed = np.asarray(run[f"{key}_per_seed"], dtype=float)
    hit = np.isfinite(per_seed)
    if 0 < hit.sum() < hit.size:
        return f"{_fmt_epoch(float(per_seed[hit].mean()))} in {hit.sum()}/{hit.size}"
    return _fmt_epoch(run[key], run[f"{key}_std"])


def grokking_table(runs, config: GrokkingConfig) -> str:
    """A plain-text table per alpha: ours beside the paper's Fig. 5 numbers (in brackets).

    Ours are seed means ± std (ddof 1). ``never`` = not reached within the run;
    ``X in m/n`` = reached (mean X) by only m of n seeds. "1.0" means test accuracy
    >= ``ACC_ONE``.
    """
    fig5 = config.n_classes == 2 and all(
        getattr(config, k) == v for k, v in (("d", 1400), ("n", 2000), ("mu_f", 0.1),
                                             ("sigma_f", 0.0), ("sigma_n", 1.0), ("eta", 0.1),
                                             ("epochs", 200_000), ("reg", "quadratic")))
    head = (f"{'alpha':>6} | {'test acc 0.9 at':>21} | {'test acc 1.0 at':>21} | "
            f"{'final train loss / l(z*)':>28} | {'final test acc':>19}")
    lines = [head, "-" * len(head)]
    for run in runs:
        p = run["paper"] or {}
        tl = f"{run['final_train_loss']:.4g} / {run['loss_floor']:.4g}"
        if p:
            tl += f" ({p['final_train_loss']:.3g})"
        acc = f"{run['final_test_acc']:.3f}"
        if run["final_test_acc_std"] is not None:
            acc += f"±{run['final_test_acc_std']:.3f}"
        if p:
            acc += f" ({p['final_test_acc']:.3f})"
        cells = [_fmt_reached(run, k) + (f" ({_fmt_epoch(p[k])})" if p else "")
                 for k in ("epoch_test_acc_0.9", "epoch_test_acc_1.0")]
        lines.append(f"{run['alpha']:>6g} | {cells[0]:>21} | {cells[1]:>21} | {tl:>28} | "
                     f"{acc:>19}")
    seeds = len(runs[0]["n_grad_evals"]) if runs else 0
    lines.append(f"(paper = Fig. 5, one run{'' if fig5 else '; THIS RUN USES ANOTHER SETTING'}"
                 f"; ours: {seeds} seed(s), mean±std; 1.0 = test acc >= {ACC_ONE})"
                 if config.n_classes == 2 else
                 f"(Fig. 8 gives no numbers; 1.0 = test acc >= {ACC_ONE} on "
                 f"{config.n_test} test samples; {seeds} seed(s))")
    return "\n".join(lines)
