r"""The logit-regularized objective, written once.

Binary (Eq. 1 of Beck, Bar-Sinai & Levi 2026), on the *signed* logit ``t = y z``:

.. math:: \ell(t) = (1-\alpha)\log(1+e^{-t}) + \alpha f(t),\qquad \alpha\in[0,1),

with ``f`` convex and even. Multiclass (Eq. 6), on logits ``z`` in R^K with label ``c``:

.. math:: \ell(z, c) = (1-\alpha)(\operatorname{logsumexp}(z) - z_c) + \alpha f(z),

with ``f`` convex and permutation-symmetric. Every module imports this one; every
loss here is a **per-sample mean** over the data (the paper's App. E.6 writes a sum,
but the values in its figures, e.g. the Fig. 5 train loss at l(z*), are means).

Penalties
---------
Binary ``f`` (per signed logit, vectorised):

* ``"quadratic"``: ``f(t) = t**2``.
* ``"ls"``: label smoothing, ``f(t) = 1/2 log(2 + 2 cosh t)`` with ``alpha = 2 eps`` (Eq. 12),
  evaluated stably as ``softplus(t) - t/2``.
* a sympy expression in one symbol: any user-supplied convex, even ``f``;
  derivatives come from sympy and are lambdified.

Multiclass ``f`` (per logit vector):

* ``"quadratic"``: ``f(z) = ||z||^2``.
* ``"ls"``: ``f(z) = logsumexp(z) - mean(z)`` with ``alpha = eps`` (Eqs. 7, 14).
* a sympy expression ``g`` in one symbol: the symmetric, separable ``f(z) = sum_k g(z_k)``.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.special import expit, log_softmax, logsumexp, softmax

from ._validation import _short, check_alpha

__all__ = [
    "Penalty",
    "SympyPenalty",
    "MulticlassPenalty",
    "SeparablePenalty",
    "BinaryLoss",
    "MulticlassLoss",
    "LinearObjective",
    "get_penalty",
    "make_loss",
    "softplus",
    "BINARY_REGS",
    "MULTICLASS_REGS",
]


def softplus(x):
    """``log(1 + exp(x))`` without overflow, elementwise."""
    return np.logaddexp(0.0, x)


# --------------------------------------------------------------------------- binary f


class _Symbol:
    """The symbol ``z`` of every penalty's sympy form, created on first use: sympy is
    imported only when a symbolic form is asked for, never at ``import logitreg``."""

    def __get__(self, obj, owner):
        import sympy as sp

        return sp.Symbol("z", real=True)  # sympy caches symbols: always the same object


class Penalty:
    """A convex, even penalty ``f`` on a scalar (signed) logit; all methods vectorise.

    Subclasses implement ``value``, ``d1`` (f') and ``d2`` (f''). ``symbolic`` is the
    sympy form in ``Penalty.z`` (used for closed-form z* and the LS identity).
    """

    z = _Symbol()
    name = "penalty"
    shift_invariant = False  # only meaningful for multiclass penalties

    @property
    def symbolic(self):
        """The sympy expression of ``f`` in ``Penalty.z``."""
        raise NotImplementedError

    def value(self, t):
        raise NotImplementedError

    def d1(self, t):
        raise NotImplementedError

    def d2(self, t):
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class _Quadratic(Penalty):
    name = "quadratic"

    @property
    def symbolic(self):
        return self.z**2

    def value(self, t):
        return np.square(t)

    def d1(self, t):
        return 2.0 * np.asarray(t)

    def d2(self, t):
        return np.full_like(np.asarray(t, dtype=float), 2.0)


class _LabelSmoothing(Penalty):
    """``f(t) = 1/2 log(2 + 2 cosh t) = softplus(t) - t/2``; ``f' = tanh(t/2)/2``."""

    name = "ls"

    @property
    def symbolic(self):
        import sympy as sp

        return sp.log(2 + 2 * sp.cosh(self.z)) / 2

    def value(self, t):
        t = np.asarray(t, dtype=float)
        # 1/2 log((e^{t/2} + e^{-t/2})^2) = |t|/2 + log(1 + e^{-|t|}): no overflow.
        return 0.5 * np.abs(t) + np.log1p(np.exp(-np.abs(t)))

    def d1(self, t):
        return 0.5 * np.tanh(0.5 * np.asarray(t, dtype=float))

    def d2(self, t):
        s = expit(np.asarray(t, dtype=float))
        return s * (1.0 - s)


class SympyPenalty(Penalty):
    """A user-supplied penalty given as a sympy expression in one symbol.

    The expression's derivatives are taken symbolically and lambdified. The
    constructor checks that ``f`` is even (binary use) and convex: convexity is
    checked by evaluating ``f''`` on a dense grid of ``[-grid_max, grid_max]``
    (a sympy proof is attempted first), and a negative curvature raises ``ValueError``.

    Parameters
    ----------
    expr : sympy.Expr
        ``f`` as an expression in a single free symbol.
    require_even : bool, default True
        Binary penalties must be even; multiclass separable ``g`` need not be.
    """

    def __init__(self, expr, *, require_even: bool = True, grid_max: float = 60.0, name=None):
        import sympy as sp

        expr = sp.sympify(expr)
        free = sorted(expr.free_symbols, key=str)
        if len(free) != 1:
            raise ValueError(
                f"reg must be a sympy expression in exactly one symbol; got reg={_short(expr)} "
                f"with free symbols {free}"
            )
        (sym,) = free
        expr = expr.subs(sym, self.z)
        self._expr = expr
        self.name = name or str(expr)
        # |z| and friends differentiate to DiracDelta at kinks: zero almost everywhere, and a
        # non-negative point mass, so dropping it keeps values exact off the kink and
        # cannot hide non-convexity.
        d1 = sp.diff(expr, self.z).replace(sp.DiracDelta, lambda *a: sp.S.Zero)
        d2 = sp.diff(d1, self.z).replace(sp.DiracDelta, lambda *a: sp.S.Zero)
        self._f = sp.lambdify(self.z, expr, "numpy")
        self._d1 = sp.lambdify(self.z, d1, "numpy")
        self._d2 = sp.lambdify(self.z, d2, "numpy")
        grid = np.concatenate([np.linspace(-grid_max, grid_max, 24001), [0.0]])
        with np.errstate(all="ignore"):
            curv = np.broadcast_to(np.asarray(self._d2(grid), dtype=float), grid.shape)
            vals = np.broadcast_to(np.asarray(self._f(grid), dtype=float), grid.shape)
        finite = np.isfinite(curv)
        scale = max(1.0, float(np.max(np.abs(curv[finite]))) if finite.any() else 1.0)
        if np.any(curv[finite] < -1e-9 * scale):
            where = grid[finite][np.argmin(curv[finite])]
            raise ValueError(
                f"reg must be convex; got reg={_short(expr)} with f''({where:.4g}) = "
                f"{float(np.min(curv[finite])):.4g} < 0"
            )
        if not np.all(np.isfinite(vals)):
            raise ValueError(
                f"reg must be finite on [-{grid_max}, {grid_max}]; got reg={_short(expr)}"
            )
        if require_even:
            odd = sp.simplify(expr - expr.subs(self.z, -self.z))
            numerically_odd = np.max(np.abs(vals - np.asarray(self._f(-grid), dtype=float)))
            if odd != 0 and numerically_odd > 1e-9 * max(1.0, np.max(np.abs(vals))):
                raise ValueError(f"reg must be an even function of z; got reg={_short(expr)}")
        with np.errstate(all="ignore"):
            big = np.array([-1e4, 1e4])
            ok = all(np.all(np.isfinite(np.asarray(fn(big), dtype=float)))
                     for fn in (self._f, self._d1, self._d2))
        if not ok:
            warnings.warn(
                f"reg={_short(expr)} overflows at |z| = 1e4 as written; rewrite it in a stable "
                "form (e.g. log(cosh z) = |z| + log1p(exp(-2|z|)) - log 2) if logits grow large",
                RuntimeWarning,
                stacklevel=3,
            )

    @property
    def symbolic(self):
        return self._expr

    def _eval(self, fn, t):
        t = np.asarray(t, dtype=float)
        return np.broadcast_to(np.asarray(fn(t), dtype=float), t.shape).copy()

    def value(self, t):
        return self._eval(self._f, t)

    def d1(self, t):
        return self._eval(self._d1, t)

    def d2(self, t):
        # +inf (or inf * 0 = nan) at a cusp of curvature such as |z|^1.5 at 0: the solvers
        # step around it (see logitreg.solvers._Newton._pcg); no warning per evaluation.
        with np.errstate(divide="ignore", invalid="ignore"):
            return self._eval(self._d2, t)


# ----------------------------------------------------------------------- multiclass f


class MulticlassPenalty:
    """A convex, permutation-symmetric penalty on logit vectors ``Z`` of shape (n, K).

    Methods: ``value(Z) -> (n,)``, ``grad(Z) -> (n, K)``, ``hvp(Z, V) -> (n, K)``.
    ``shift_invariant`` is True when ``f(z + c 1) = f(z)``; the loss is then flat along
    the all-ones direction and solvers return the class-centred representative.
    """

    name = "penalty"
    shift_invariant = False
    #: Upper bound on the largest eigenvalue of the K x K Hessian of ``f`` (None: unknown);
    #: used for the gradient-descent stability bound.
    curvature_bound: float | None = None

    def value(self, Z):
        raise NotImplementedError

    def grad(self, Z):
        raise NotImplementedError

    def hvp(self, Z, V):
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class _SquaredNorm(MulticlassPenalty):
    name = "quadratic"
    curvature_bound = 2.0

    def value(self, Z):
        return np.einsum("nk,nk->n", Z, Z)

    def grad(self, Z):
        return 2.0 * Z

    def hvp(self, Z, V):
        return 2.0 * V


class _MulticlassLS(MulticlassPenalty):
    """``f(z) = logsumexp(z) - mean(z)``; with ``alpha = eps`` this is label smoothing."""

    name = "ls"
    shift_invariant = True
    curvature_bound = 0.5  # diag(p) - p p^T: Gershgorin, row sums 2 p_k (1 - p_k) <= 1/2

    def value(self, Z):
        return logsumexp(Z, axis=1) - Z.mean(axis=1)

    def grad(self, Z):
        return softmax(Z, axis=1) - 1.0 / Z.shape[1]

    def hvp(self, Z, V):
        P = softmax(Z, axis=1)
        PV = P * V
        return PV - P * PV.sum(axis=1, keepdims=True)


class SeparablePenalty(MulticlassPenalty):
    """``f(z) = sum_k g(z_k)`` for a convex scalar ``g`` (a :class:`Penalty`)."""

    def __init__(self, g: Penalty):
        self.g = g
        self.name = f"sum {g.name}"
        # sup g'' over the logit range training visits (|z| <= 20): the Hessian is diagonal.
        self.curvature_bound = float(np.max(g.d2(np.linspace(-20.0, 20.0, 8001))))

    def value(self, Z):
        return self.g.value(Z).sum(axis=1)

    def grad(self, Z):
        return self.g.d1(Z)

    def hvp(self, Z, V):
        return self.g.d2(Z) * V


BINARY_REGS = {"quadratic": _Quadratic, "ls": _LabelSmoothing}
MULTICLASS_REGS = {"quadratic": _SquaredNorm, "ls": _MulticlassLS}


def get_penalty(reg, n_classes: int = 2):
    """Resolve ``reg`` (a name, a sympy expression, or a penalty object) for ``n_classes``."""
    binary = n_classes == 2
    if isinstance(reg, Penalty if binary else MulticlassPenalty):
        return reg
    if isinstance(reg, str):
        table = BINARY_REGS if binary else MULTICLASS_REGS
        if reg not in table:
            raise ValueError(
                f"unknown reg={reg!r}; expected one of {sorted(table)} or a sympy expression"
            )
        return table[reg]()
    sp = sys.modules.get("sympy")  # a sympy expression implies sympy is already imported
    if sp is not None and isinstance(reg, sp.Basic):
        if binary:
            return SympyPenalty(reg)
        return SeparablePenalty(SympyPenalty(reg, require_even=False))
    if not binary and isinstance(reg, Penalty):
        return SeparablePenalty(reg)
    raise ValueError(
        f"unknown reg={_short(reg)}; expected one of {sorted(BINARY_REGS)}, a sympy expression "
        "or a penalty object"
    )


# ---------------------------------------------------------------------- per-sample loss


@dataclass(frozen=True)
class BinaryLoss:
    r"""Per-sample binary loss ``l(t) = (1-alpha) log(1+e^{-t}) + alpha f(t)`` (Eq. 1).

    All methods take signed logits ``t = y z`` of any shape and act elementwise.
    """

    alpha: float
    penalty: Penalty

    n_classes = 2

    def ce(self, t):
        """Cross-entropy ``log(1 + e^{-t})``."""
        return softplus(-np.asarray(t, dtype=float))

    def value(self, t):
        t = np.asarray(t, dtype=float)
        out = (1.0 - self.alpha) * softplus(-t)
        return out + self.alpha * self.penalty.value(t) if np.any(self.alpha) else out

    def d1(self, t):
        t = np.asarray(t, dtype=float)
        out = -(1.0 - self.alpha) * expit(-t)
        return out + self.alpha * self.penalty.d1(t) if np.any(self.alpha) else out

    def d2(self, t):
        t = np.asarray(t, dtype=float)
        s = expit(t)
        out = (1.0 - self.alpha) * s * (1.0 - s)
        return out + self.alpha * self.penalty.d2(t) if np.any(self.alpha) else out


@dataclass(frozen=True)
class MulticlassLoss:
    r"""Per-sample multiclass loss ``(1-alpha)(lse(z) - z_c) + alpha f(z)`` (Eq. 6).

    ``Z`` has shape (n, K), integer labels ``y`` in ``range(K)`` have shape (n,).
    """

    alpha: float
    penalty: MulticlassPenalty
    n_classes: int

    def ce(self, Z, y):
        """Cross-entropy per sample, shape (n,)."""
        return -np.take_along_axis(log_softmax(Z, axis=1), y[:, None], axis=1)[:, 0]

    def value(self, Z, y):
        out = (1.0 - self.alpha) * self.ce(Z, y)
        return out + self.alpha * self.penalty.value(Z) if np.any(self.alpha) else out

    def grad(self, Z, y):
        G = softmax(Z, axis=1)
        G[np.arange(len(y)), y] -= 1.0
        G *= 1.0 - self.alpha
        return G + self.alpha * self.penalty.grad(Z) if self.alpha else G

    def hvp(self, Z, y, V):
        P = softmax(Z, axis=1)
        PV = P * V
        out = (1.0 - self.alpha) * (PV - P * PV.sum(axis=1, keepdims=True))
        return out + self.alpha * self.penalty.hvp(Z, V) if np.any(self.alpha) else out


def make_loss(alpha, reg="quadratic", n_classes: int = 2):
    """Build the per-sample loss for ``alpha`` in [0, 1), penalty ``reg`` and ``n_classes``."""
    alpha = check_alpha(alpha)
    if np.ndim(alpha):
        raise ValueError(f"alpha must be a scalar here; got alpha with shape {np.shape(alpha)}")
    penalty = get_penalty(reg, n_classes)
    if n_classes == 2:
        return BinaryLoss(float(alpha), penalty)
    return MulticlassLoss(float(alpha), penalty, int(n_classes))


# ------------------------------------------------------------------ linear-model objective


class LinearObjective:
    r"""Mean loss of a linear classifier, with gradient and Hessian(-vector) products.

    Binary: parameters ``w`` of shape (p,) act on the label-absorbed design
    ``A = y[:, None] * Xa`` (``Xa`` is ``X`` with a ones column when there is an
    intercept), so the signed logits are ``t = A w`` and

    .. math:: L(w) = N^{-1}\sum_i s_i \ell(t_i),\quad \nabla L = A^\top (s \odot \ell'(t))/N,
              \quad \nabla^2 L = A^\top \mathrm{diag}(s \odot \ell''(t)) A / N,

    with sample weights normalised to mean one, ``s_i = N sw_i / sum(sw)``, so that ``L`` is
    the weighted mean ``sum_i sw_i l_i / sum_i sw_i`` (``s = 1``, the plain mean, without
    weights).

    Multiclass: parameters ``W`` of shape (K, p) give logits ``Z = Xa W^T`` (N, K).

    Parameters are always handled as flat vectors (``p`` or ``K*p``) so that every
    solver sees the same interface.

    Parameters
    ----------
    X : ndarray of shape (N, d), float64
    y01 : ndarray of shape (N,)
        Labels in {-1, +1} (binary) or in ``range(K)`` (multiclass).
    loss : BinaryLoss or MulticlassLoss
    fit_intercept : bool, default False
    sample_weight : ndarray of shape (N,), optional
        Non-negative weights, not all zero (checked by :func:`logitreg.fit`, not here). A
        sample of zero weight drops out of the loss. Constant weights are the unweighted
        problem, and are stored as ``None`` so that it is solved bit for bit as without them.
    """

    def __init__(self, X, y01, loss, *, fit_intercept: bool = False, sample_weight=None):
        # X: (N, d) float64; y01: labels in {-1, +1} (binary) or {0..K-1} (multiclass).
        self.loss = loss
        self.fit_intercept = fit_intercept
        self.N, self.d = X.shape
        Xa = np.hstack([X, np.ones((self.N, 1))]) if fit_intercept else X
        self.p = Xa.shape[1]
        self.binary = loss.n_classes == 2
        self.y = y01
        if self.binary:
            self.A = y01[:, None] * Xa  # (N, p), label absorbed into the input
        else:
            self.A = Xa  # (N, p)
            self.K = loss.n_classes
        self.size = self.p if self.binary else self.K * self.p
        s = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        if s is not None and np.all(s == s[0]):
            s = None
        # Weights of mean one: every "/ N" below then stays as in the unweighted loss.
        self.sample_weight = None if s is None else s * (self.N / np.sum(s))  # (N,)

    # -- sample weighting
    def weighted(self, v):
        """``s_i v_i`` along the first (sample) axis; ``v`` itself when unweighted."""
        s = self.sample_weight
        if s is None:
            return v
        return s * v if np.ndim(v) == 1 else s.reshape((-1,) + (1,) * (np.ndim(v) - 1)) * v

    def sample_mean(self, v, axis=None):
        """Weighted mean over samples: ``mean(s * v)`` (``np.mean(v)`` when unweighted)."""
        return np.mean(self.weighted(v), axis=axis)

    # -- logits
    def logits(self, w):
        """Signed logits (N,) for binary, logits (N, K) for multiclass."""
        if self.binary:
            return self.A @ w
        return self.A @ w.reshape(self.K, self.p).T  # (N, K)

    # -- value and gradient
    def value(self, w):
        z = self.logits(w)
        return float(self.sample_mean(
            self.loss.value(z) if self.binary else self.loss.value(z, self.y)))

    def value_grad(self, w):
        z = self.logits(w)
        if self.binary:
            return (float(self.sample_mean(self.loss.value(z))),
                    self.A.T @ self.weighted(self.loss.d1(z)) / self.N)
        G = self.weighted(self.loss.grad(z, self.y))  # (N, K)
        return (
            float(self.sample_mean(self.loss.value(z, self.y))),
            (G.T @ self.A).ravel() / self.N,  # (K, p) -> (K*p,)
        )

    def grad(self, w):
        return self.value_grad(w)[1]

    # -- curvature
    def curvature(self, w):
        """Per-sample curvature: ``l''(t)`` (N,) for binary; the logits ``Z`` for multiclass."""
        z = self.logits(w)
        return self.loss.d2(z) if self.binary else z

    def hvp(self, w, v, curvature=None):
        """Hessian-vector product at ``w`` (pass ``curvature(w)`` to reuse it)."""
        c = self.curvature(w) if curvature is None else curvature
        if self.binary:
            return self.A.T @ self.weighted(c * (self.A @ v)) / self.N
        V = self.A @ v.reshape(self.K, self.p).T  # (N, K)
        HV = self.weighted(self.loss.hvp(c, self.y, V))
        return (HV.T @ self.A).ravel() / self.N

    def hessian(self, w):
        """Dense Hessian, (p, p) binary or (K*p, K*p) multiclass (small problems only)."""
        if self.binary:
            c = self.weighted(self.curvature(w))
            return (self.A.T * c) @ self.A / self.N
        c = self.curvature(w)
        eye = np.eye(self.size)
        return np.stack([self.hvp(w, e, c) for e in eye], axis=1)

    @cached_property
    def gram(self):
        """``A^T diag(s) A / N`` (p, p): the shared preconditioner of the Newton solver."""
        if self.sample_weight is None:
            return self.A.T @ self.A / self.N
        return (self.A.T * self.sample_weight) @ self.A / self.N
