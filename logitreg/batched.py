"""The batched problem of :func:`logitreg.dynamics.gd`: data and weights on a backend.

``R`` runs (alphas x initialisations) of full-batch GD on the same data share one design
matrix, so one gradient evaluation of all of them is two matrix products. This module
holds that problem on numpy or torch (CPU or CUDA, float64 or float32), its gradient, the
quantities recorded along a run, and the GD stability bound (:func:`max_learning_rate`).
The torch forms of the loss come from :mod:`logitreg.torch_losses`.

References
----------
Beck, Bar-Sinai & Levi (2026), Eq. 1 (binary), Eq. 6 (multiclass, ``z = W x + b``), App. E.6.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from . import torch_losses
from ._validation import _short, check_alpha, check_choice, check_positive, check_Xy, encode_labels
from .losses import BinaryLoss, MulticlassLoss, get_penalty, softplus
from .theory import population_accuracy, population_ce, z_star

__all__ = ["BACKENDS", "DTYPES", "BatchedProblem", "max_learning_rate"]

BACKENDS = ("numpy", "torch")
DTYPES = ("float64", "float32")


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


# ========================================================================== the problem


def _gram_lambda_max(A) -> float:
    """Largest eigenvalue of ``A^T A / N`` (float64 host ``A`` of shape (N, p))."""
    scale = float(np.max(np.abs(A))) if A.size else 0.0
    if scale > 1e100 or 0 < scale < 1e-100:  # A^T A would over- or underflow: rescale
        lam = np.float64(scale) ** 2 * _gram_lambda_max(A / scale)  # inf, not an error
        if not np.isfinite(lam) or lam == 0:
            raise ValueError(
                f"X is too {'large' if scale > 1 else 'small'} to train on (max |x| = "
                f"{scale:.3g}): the curvature lambda_max(X^T X / N) is not representable in "
                "float64; expected data of moderate scale: rescale X (or mu_f, sigma_f, "
                "sigma_n)")
        return lam
    N, p = A.shape
    m = min(N, p)
    if m <= 64:
        small = A.T @ A if p <= N else A @ A.T
        return float(linalg.eigvalsh(small / N, subset_by_index=[m - 1, m - 1])[0])
    from scipy.sparse.linalg import LinearOperator, eigsh  # heavy import: only when needed

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


class BatchedProblem:
    """Data on the backend, the batched gradient of ``R`` runs and the recorded quantities.

    Binary: ``A = y[:, None] * X`` (N, d); state ``W`` (R, d); logits ``T = W A^T`` (R, N).
    Multiclass: ``Xa = [X, 1]`` (N, d + 1); state ``W`` (R, K, d + 1); logits (R, N, K).
    :func:`gd` builds one from validated input; build your own with :meth:`from_data`
    (e.g. to time one step, ``bench/dynamics.py``): ``W = prob.to_backend(prob.init(rng,
    1))``, then ``G, T = prob.grad(W)`` is one batched gradient evaluation.
    """

    @classmethod
    def from_data(cls, X, y, alpha, *, reg="quadratic", backend="numpy", dtype="float64",
                  device="cpu", population=None) -> BatchedProblem:
        """Validate ``X`` (N, d), ``y`` (N,), ``alpha`` (R,) and the backend, and build.

        ``population`` (binary signal-plus-noise ``{"mu_f", "sigma_f", "sigma_n"}``) makes
        the recorded test metrics exact population values, as in :func:`gd`.
        """
        X, y, classes = check_Xy(X, y)
        alphas = np.atleast_1d(check_alpha(alpha)).astype(float)
        check_choice(backend, set(BACKENDS), "backend")
        check_choice(dtype, set(DTYPES), "dtype")
        _check_device(backend, device)
        _check_test(X, classes, None, None, population)
        return cls(X, encode_labels(y, classes), classes, alphas, get_penalty(reg, classes.size),
                   _Ops(backend, dtype, device), population=population, test=None)

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
                torch_losses.binary_penalty_d1(penalty)  # reject a reg without torch form
            else:
                torch_losses.multiclass_penalty_grad(penalty, self.K)
                self.onehot = torch.nn.functional.one_hot(
                    torch.as_tensor(labels, device=ops.device), self.K).to(ops.dtype)

    # -- stability
    def hessian_bound(self) -> np.ndarray:
        """``L_r = sup l'' * lambda_max(A^T A / N)`` per run: an upper bound on the
        largest Hessian eigenvalue of the mean loss. Shape (R,)."""
        return self.curv * self.lam_max

    @property
    def on_cuda(self) -> bool:
        return self.ops.backend == "torch" and self.ops.device.type == "cuda"

    def to_backend(self, W):
        """A host array as a backend array (numpy or torch tensor) in the working dtype."""
        return self.ops.asarray(W)

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

    def start(self, w0, n_init):
        """A given start ``w0`` (see :func:`logitreg.dynamics.gd`) as (R, ...) float64, tiled
        over alphas; ``ValueError`` naming ``w0`` for a wrong shape or a non-finite entry."""
        W0 = np.asarray(w0, dtype=float)
        one = (self.d,) if self.binary else (self.K, self.d)
        shapes = [one, (n_init, *one)]
        if not self.binary:
            shapes += [(self.K, self.d + 1), (n_init, self.K, self.d + 1)]
        if W0.shape not in shapes:
            raise ValueError(f"w0 must have shape {' or '.join(map(str, shapes))}; got "
                             f"w0.shape={W0.shape}")
        if not np.all(np.isfinite(W0)):
            raise ValueError("w0 must be finite; got w0 with NaN or inf entries")
        if W0.ndim == len(one):
            W0 = np.broadcast_to(W0, (n_init, *W0.shape))
        if not self.binary and W0.shape[-1] == self.d:
            W0 = np.concatenate([W0, np.zeros((n_init, self.K, 1))], axis=-1)
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
                D = torch_losses.binary_d1(T, self.alpha_t, self.penalty)
            else:
                D = self.batched.d1(T).astype(T.dtype, copy=False)  # (R, N), alpha (R, 1)
            return (D @ self.A) * (1.0 / self.N), T  # (R, d)
        R, K, p = W.shape
        if self.ops.backend == "torch":
            D = torch_losses.multiclass_grad(T, self.onehot, self.alpha_t, self.penalty)  # (R,N,K)
            Dk = D.transpose(1, 2).reshape(R * K, self.N)
        else:
            Dk = np.empty((R, K, self.N), dtype=W.dtype)
            for r, loss in enumerate(self.losses):
                Dk[r] = loss.grad(T[r], self.labels).T  # (K, N)
            Dk = Dk.reshape(R * K, self.N)
        return ((Dk @ self.A) * (1.0 / self.N)).reshape(R, K, p), T

    # -- records (host, float64, only at record epochs)
    def record(self, W, T) -> dict:
        # A diverging run overflows here; the caller checks the values (FloatingPointError).
        with np.errstate(over="ignore", invalid="ignore"):
            return self._record(W, T)

    def _record(self, W, T) -> dict:
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
        if not np.all(np.isfinite(W)):  # a diverged run: the caller reports the divergence
            return np.full(R, np.nan), np.full(R, np.nan)
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
    out = 2.0 / BatchedProblem.from_data(X, y, alpha, reg=reg).hessian_bound()
    return float(out[0]) if np.ndim(alpha) == 0 else out


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
