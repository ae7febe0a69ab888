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

:mod:`logitreg.grokking` runs the paper's grokking experiment (Fig. 5 binary, Fig. 8
multiclass) on top of :func:`gd`.

Backends: ``"numpy"`` and ``"torch"`` (CPU or CUDA; torch is imported only when used),
in float64 or float32; the batched problem on a backend is :mod:`logitreg.batched`, the
recorded curves :mod:`logitreg.trajectory`, the RKC step :mod:`logitreg._rkc`.

References
----------
Beck, Bar-Sinai & Levi (2026), "The Implicit Bias of Logit Regularization", Sec. 5.2,
Figs. 5 and 8, App. E.6. Verwer, Hundsdorfer & Sommeijer (1990) and Sommeijer, Shampine &
Verwer (1997), "RKC: an explicit solver for parabolic PDEs", for the flow integrator.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ._rkc import BETA, S_MAX, rkc_step
from ._validation import (
    StabilityWarning,
    check_alpha,
    check_choice,
    check_positive,
    check_rng,
    check_Xy,
    encode_labels,
)
from .batched import (
    BACKENDS,
    DTYPES,
    BatchedProblem,
    _check_device,
    _check_test,
    _Ops,
    max_learning_rate,
)
from .io import check_same_config, load_npz, save_npz
from .losses import SeparablePenalty, get_penalty
from .trajectory import RECORDED, Trajectory, record_epochs

__all__ = ["METHODS", "gd", "max_learning_rate"]

METHODS = ("gd", "flow")


# ================================================================================= gd()


class _Run:
    """Mutable loop state, (de)serialised for checkpoints.

    ``pos = (W, epoch, t, h)``: weights, completed epochs (GD) or ``floor(t/eta)`` (flow),
    flow time and the flow's proposed step. They change together, so they live in one
    tuple that the loops replace in a single assignment: a ``KeyboardInterrupt`` can then
    never checkpoint ``W`` of one epoch with the epoch number of another.
    """

    def __init__(self, W, rec_epochs, R, alphas, eta):
        self.pos = (W, 0, 0.0, None)
        self.k = 0  # next record index
        self.n_evals = 0
        self.rec = {name: np.full((R, len(rec_epochs)), np.nan) for name in RECORDED}
        self.rec_epochs, self.alphas, self.eta = rec_epochs, alphas, eta

    def store(self, values):
        """Record the values of the next record epoch; a diverged run stops here."""
        loss = np.asarray(values["train_loss"], dtype=float)
        if not np.all(np.isfinite(loss)):
            bad = sorted(set(self.alphas[~np.isfinite(loss)].tolist()))
            raise FloatingPointError(
                f"gradient descent diverged: train loss {loss[~np.isfinite(loss)][0]} at epoch "
                f"{int(self.rec_epochs[self.k])} for alpha={bad}: expected a finite loss; "
                f"lower eta (it is {self.eta:g})")
        for name in RECORDED:
            self.rec[name][:, self.k] = values[name]
        self.k += 1


def _sha(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def _penalty_id(penalty) -> str:
    """A string that identifies ``f`` in a checkpoint's configuration."""
    import sympy as sp  # the symbolic form keeps checkpoint ids stable across versions

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
    w0=None,
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
    desc=None,
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
    w0 : array_like, optional
        The start, in place of the draw ``N(0, I/d)``: shape (d,) or (n_init, d) binary;
        (K, d) or (n_init, K, d) multiclass (bias 0), or with the bias as a last column,
        (K, d + 1) or (n_init, K, d + 1). Every ``alpha`` starts from it.
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
    desc : str, optional
        Its label (default: the method and the number of runs).

    Returns
    -------
    Trajectory

    Raises
    ------
    FloatingPointError
        When the training loss of some run becomes non-finite at a record epoch (GD
        diverged, e.g. ``eta`` far above ``2 / L``); the checkpoint keeps the last state
        whose weights were finite, and nothing else is written.

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
    prob = BatchedProblem(X, labels, classes, rows_alpha, penalty, ops, population=population,
                          test=test)
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
    W0 = prob.init(rng, n_init) if w0 is None else prob.start(w0, n_init)  # (R, ...) float64
    rec_epochs = record_epochs(epochs, n_record)
    config = {
        "data": _sha(X, y), "test": None if test is None else _sha(*test), "w0": _sha(W0),
        "alphas": alphas.tolist(), "n_init": n_init, "reg": _penalty_id(penalty),
        "eta": float(eta), "epochs": int(epochs), "n_record": int(n_record), "method": method,
        "rtol": float(rtol) if method == "flow" else None, "backend": backend, "dtype": dtype,
        "device": str(device), "population": population,
    }
    run = _Run(ops.asarray(W0), rec_epochs, R, rows_alpha, float(eta))
    if checkpoint is not None:
        _resume(Path(checkpoint), config, run, ops, rng, restart)

    stop = epochs if stop_at_epoch is None else min(int(stop_at_epoch), epochs)
    saver = _Saver(checkpoint, checkpoint_every, config, ops, rng)
    loop = _gd_loop if method == "gd" else _flow_loop
    bar = tqdm(total=epochs, initial=run.pos[1], unit="epoch", disable=not progress,
               mininterval=0.5, desc=desc or f"{method} R={R}")
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


# ---- checkpoints


class _Saver:
    """Writes the loop state atomically (at most every ``every`` seconds in the loop)."""

    def __init__(self, path, every, config, ops, rng):
        self.path = None if path is None else Path(path)
        self.every, self.config, self.ops, self.rng = every, config, ops, rng
        self.last = time.monotonic()

    def maybe(self, run):
        # A diverging run (non-finite weights) is never checkpointed: the file keeps the
        # last finite state, and the loop raises at the next record.
        if self.path is not None and time.monotonic() - self.last > self.every and \
                np.all(np.isfinite(self.ops.row_norms(run.pos[0]))):
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
    try:
        ck = load_npz(path)
        saved = json.loads(str(ck["config"]))
        state = json.loads(str(ck["rng_state"]))
        h = None if np.isnan(ck["h"]) else float(ck["h"])
        pos = (ck["W"], int(ck["epoch"]), float(ck["t"]), h)
        counters = int(ck["k"]), int(ck["n_evals"])
        rec = {n: ck[f"rec_{n}"] for n in RECORDED}
    except (OSError, EOFError, KeyError, ValueError, TypeError, zipfile.BadZipFile) as err:
        raise ValueError(
            f"checkpoint={str(path)!r} is not a readable checkpoint of gd ({type(err).__name__}: "
            f"{err}): expected the .npz that an earlier run wrote; delete it, or pass "
            "restart=True (--restart) to discard it") from None
    check_same_config(saved, config, where=f"checkpoint={str(path)!r}",
                      hint="pass restart=True (--restart) to discard it, or use another path")
    if pos[0].shape != run.pos[0].shape or any(v.shape != run.rec[n].shape
                                                for n, v in rec.items()):
        raise ValueError(f"checkpoint={str(path)!r} holds arrays of other shapes than this run "
                         "(a damaged file): delete it, or pass restart=True (--restart)")
    run.pos = (ops.asarray(pos[0]), *pos[1:])
    run.k, run.n_evals = counters
    run.rec = rec
    rng.bit_generator.state = state


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
    t_rec = (eta * rec_epochs).tolist()  # Python floats (see rkc_step)
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
        s = max(2, int(np.searchsorted(BETA, h_step * rho)))
        if s > S_MAX:
            s, h_step, lands = S_MAX, float(BETA[S_MAX]) / rho, False
        if run.n_evals > 4 * epochs + 1000:  # GD itself needs `epochs` evaluations
            raise RuntimeError(
                f"flow spent {run.n_evals} gradient evaluations by epoch {t / eta:.0f} of "
                f"{epochs}, more than GD would; raise rtol={rtol} or use method='gd'")
        W1 = rkc_step(prob.grad, W, -G, h_step, s)
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
