r"""The grokking experiment (Beck, Bar-Sinai & Levi 2026, Sec. 5.2, App. E.6; Figs. 5 and 8).

Linear classifiers trained by full-batch GD on the mean loss (1 - alpha) CE + alpha z^2 on
signal-plus-noise data with sigma_f = 0 and lambda = d/N = 0.7: test accuracy rises long
after the training set is fitted, the later the smaller alpha. :class:`GrokkingConfig` holds
the setting (defaults: Fig. 5; named :data:`PRESETS`), :func:`run_grokking` runs every
alpha for every seed through :func:`logitreg.dynamics.gd` (resumable), and
:func:`summarize_grokking` / :func:`grokking_table` reduce the runs to mean +- std over seeds
beside the paper's digitized values (:data:`PAPER_FIG5`, their one home).
``simulations/grokking.py`` is the command-line front end; ``paper_figs/grokking.py``
draws the figure from the saved results.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import io, paper
from ._validation import _short, check_choice, check_positive
from .data import signal_plus_noise
from .dynamics import gd
from .io import mean_std
from .losses import MulticlassLoss, get_penalty, softplus
from .theory import loss_floor, z_star
from .trajectory import ACC_ONE, Trajectory, first_crossing

__all__ = [
    "ACC_ONE",
    "PAPER_FIG5",
    "PRESETS",
    "GrokkingConfig",
    "default_out_dir",
    "GrokkingResult",
    "grokking_table",
    "INITS",
    "run_grokking",
    "start_weights",
    "summarize_grokking",
]

INITS = ("normal", "uniform", "zero")

PAPER_FIG5 = paper.FIG5  # digitized Fig. 5 values (one home: logitreg.paper)


@dataclass(frozen=True)
class GrokkingConfig:
    """The grokking experiment (Sec. 5.2, App. E.6). Defaults: Fig. 5.

    One run per ``(alpha, seed)``; each seed draws its own training data, ``w_0`` (and
    test set) from ``np.random.SeedSequence(seed)``, and all alphas of a seed share them.
    A start other than the default (``init``, ``init_scale``; :func:`start_weights`) is
    drawn from the seed's fourth child sequence.
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
    init: str = "normal"  # start of W (b = 0): "normal", "uniform" or "zero" (start_weights)
    init_scale: float = 1.0  # "normal": N(0, s^2 I/d); "uniform": U(-s/sqrt(d), s/sqrt(d))

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


def default_out_dir(config: GrokkingConfig, preset: str = "fig5", root="results") -> Path:
    """The default results folder of ``config``: one folder per configuration.

    ``<root>/grokking`` for Fig. 5, ``<root>/grokking-<preset>`` for another preset, and
    ``-<config_key>`` appended when ``config`` differs from its preset
    (:func:`logitreg.io.default_out_dir`).
    """
    check_choice(preset, set(PRESETS), "preset")
    name = "grokking" if preset == "fig5" else f"grokking-{preset}"
    return io.default_out_dir(name, config.to_dict(), GrokkingConfig.preset(preset).to_dict(),
                              root)


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
    check_choice(config.init, set(INITS), "init")
    check_positive(config.init_scale, "init_scale")
    # The default start is the engine's own draw (logitreg.dynamics.gd), as for Fig. 5.
    chosen = (config.init, config.init_scale) != ("normal", 1.0)
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
        w0 = None
        if chosen:
            w0 = start_weights(config, np.random.default_rng(
                np.random.SeedSequence(seed).spawn(4)[3]))
        traj = gd(
            X, y, np.asarray(config.alphas, dtype=float), reg=config.reg, eta=config.eta,
            epochs=config.epochs, n_record=config.n_record, rng=init_rng, w0=w0,
            method=config.method,
            rtol=config.rtol, backend=config.backend, dtype=config.dtype, device=config.device,
            checkpoint=None if checkpoint_dir is None else Path(checkpoint_dir) / f"seed{seed}.npz",
            restart=restart, stop_at_epoch=stop_at_epoch, threads=threads, progress=progress,
            desc=f"seed {seed} ({len(trajectories) + 1}/{len(seeds)}) {config.method}",
            **test,
        )
        if not traj.complete:
            return GrokkingResult(config, tuple(trajectories), [], False,
                                  time.perf_counter() - start)
        trajectories.append(traj)
    runs = summarize_grokking(config, trajectories)
    return GrokkingResult(config, tuple(trajectories), runs, True, time.perf_counter() - start)


def start_weights(config: GrokkingConfig, rng) -> np.ndarray:
    """The start of GD for ``config.init`` and ``config.init_scale`` (bias 0).

    ``"normal"``: every entry ``N(0, s^2/d)``, so ``Var(z) = s^2 |x|^2/d`` (at ``s = 1``
    :func:`run_grokking` keeps the engine's own draw of this law, :func:`logitreg.dynamics.gd`;
    it matches Fig. 5's initial loss);
    ``"uniform"``: ``U(-s/sqrt(d), s/sqrt(d))``, PyTorch's ``nn.Linear`` default at ``s = 1``
    (std ``s/sqrt(3 d)``); ``"zero"``: ``0`` (``s`` unused). The paper does not state its
    start (App. E.6).

    Returns
    -------
    ndarray of shape (d,) (binary) or (K, d) (multiclass, the bias excluded)
    """
    check_choice(config.init, set(INITS), "init")
    check_positive(config.init_scale, "init_scale")
    shape = (config.d,) if config.n_classes == 2 else (config.n_classes, config.d)
    s = config.init_scale / np.sqrt(config.d)
    if config.init == "zero":
        return np.zeros(shape)
    if config.init == "uniform":
        return rng.uniform(-s, s, size=shape)
    return s * rng.standard_normal(shape)


_CURVES = ("train_loss", "test_loss", "train_acc", "test_acc", "w_norm", "cos_e1",
           "logit_mean", "logit_std")


def _scalar_metrics(tr: Trajectory, r: int) -> dict:
    """Per-run summary numbers of row ``r``."""
    e = tr.epochs
    row = {name: getattr(tr, name)[r : r + 1] for name in _CURVES}

    def acc_at(name, level):
        return first_crossing(e, row[name], level, probit=True)[0]

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
    are seed means with ``<name>_std``. Scalars (``epoch_test_acc_0.9``,
    ``epoch_test_acc_1.0`` = first epoch with test accuracy >= ``ACC_ONE``,
    ``test_loss_peak_epoch``, ``final_train_loss``, ...) are the seed mean (NaN if any seed
    never reached it), with ``<name>_std`` and ``<name>_per_seed``. Means and stds follow
    :func:`logitreg.io.mean_std` (ddof 1; NaN for one seed; NaN is ``null`` in JSON).
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
            entry[name], entry[f"{name}_std"] = mean_std(stack, axis=0)
        per_seed = [_scalar_metrics(tr, i) for tr in trajectories]
        for key in per_seed[0]:
            vals = np.array([m[key] for m in per_seed], dtype=float)
            entry[key], entry[f"{key}_std"] = mean_std(vals)
            entry[f"{key}_per_seed"] = vals
        entry.update(_theory(config, alpha))
        entry["n_grad_evals"] = [tr.n_grad_evals for tr in trajectories]
        entry["paper"] = PAPER_FIG5.get(alpha) if config.n_classes == 2 else None
        runs.append(entry)
    return runs


def _missing(v) -> bool:
    """Not reached / undefined: NaN in memory, ``None`` once read back from JSON."""
    return v is None or not np.isfinite(v)


def _fmt_epoch(v, sd=None):
    """``12.3k``, ``12.3k±0.4k``, ``572`` or ``never``."""
    if _missing(v):
        return "never"
    unit, scale = ("k", 1e3) if v >= 1e3 else ("", 1.0)
    text = f"{v / scale:.1f}{unit}" if unit else f"{v:.0f}"
    if not _missing(sd):
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

    Ours are seed means ± std (:func:`logitreg.io.mean_std`). ``never`` = not reached
    within the run; ``X in m/n`` = reached (mean X) by only m of n seeds. "1.0" means test accuracy
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
        if not _missing(run["final_test_acc_std"]):
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
