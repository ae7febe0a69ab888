r"""Calibration of the max-softmax confidence: ECE, MCE, OE, NLL, Brier, temperature scaling.

The binned metrics read one binning (:func:`reliability_bins`): bin ``m`` (1-based) holds
the samples whose confidence lies in ``((m-1)/M, m/M]`` (Guo et al. 2017; a confidence of
exactly 0 goes to the first bin). Everything but the temperature fit stays on the device;
the metrics do not synchronise with the host.

``expected_calibration_error``
    ``ECE = sum_m |B_m|/N |acc(B_m) - conf(B_m)|`` (Guo et al. 2017, Eq. 3).
``maximum_calibration_error``
    ``MCE = max_m |acc(B_m) - conf(B_m)|`` over the non-empty bins (Guo et al. 2017, Eq. 5).
``overconfidence_error``
    ``OE = sum_m |B_m|/N conf(B_m) max(conf(B_m) - acc(B_m), 0)`` (Thulasidasan et al.
    2019, "On Mixup Training").
``reliability_bins``
    Per-bin counts, mean confidence and accuracy: the data of a reliability diagram.
``calibration_metrics``
    All of them from a single binning, plus accuracy, mean confidence, NLL and the Brier
    score (what training and the reports record).
``fit_temperature``, ``temperature_scaling``
    Post-hoc temperature scaling (Guo et al. 2017, Sec. 4.2): the one scalar ``T`` that
    minimises the NLL of ``logits / T`` on held-out (validation) logits, and the metrics
    of the test logits before and after dividing by it.
``save_reliability_diagram``
    A reliability diagram (Guo et al. 2017, Fig. 1, bottom row) written atomically as PNG.

The number of bins is not stated by the papers we follow (Park, Kim & Lee 2024; Mangla et
al. 2021); 15 is Guo et al.'s choice, and 10 is also common.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from logitreg import ConvergenceWarning
from logitreg.io import atomic_write

__all__ = ["TemperatureFit", "calibration_metrics", "expected_calibration_error",
           "fit_temperature", "maximum_calibration_error", "overconfidence_error",
           "reliability_bins", "save_reliability_diagram", "temperature_scaling"]


def _check_logits(logits: torch.Tensor, labels: torch.Tensor, name: str = "logits") -> None:
    if logits.ndim != 2 or labels.shape != (logits.shape[0],):
        raise ValueError(f"{name} of shape {tuple(logits.shape)} and labels of shape "
                         f"{tuple(labels.shape)}: expected (N, K) and (N,)")


def reliability_bins(logits: torch.Tensor, labels: torch.Tensor, n_bins: int = 15
                     ) -> dict[str, torch.Tensor]:
    """Equal-width confidence bins of the max-softmax prediction.

    Parameters
    ----------
    logits : Tensor of shape (N, K)
    labels : Tensor of shape (N,), int64
    n_bins : int, default 15

    Returns
    -------
    dict of Tensors of shape (n_bins,), float32
        ``count`` (samples per bin), ``confidence`` and ``accuracy`` (bin means; 0 for an
        empty bin), ``upper`` (the bins' upper edges m/M).
    """
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer; got n_bins={n_bins!r}")
    _check_logits(logits, labels)
    conf, pred = logits.float().softmax(dim=1).max(dim=1)
    correct = (pred == labels).float()
    # Bin m covers (m/M, (m+1)/M]: ceil(conf * M) - 1, with conf = 0 folded into bin 0.
    bins = (conf * n_bins).ceil().long().clamp_(1, n_bins) - 1
    sums = torch.zeros(3, n_bins, device=logits.device)
    sums.index_add_(1, bins, torch.stack([torch.ones_like(conf), conf, correct]))
    count = sums[0]
    safe = count.clamp_min(1.0)
    upper = torch.arange(1, n_bins + 1, device=logits.device, dtype=torch.float32) / n_bins
    return {"count": count, "confidence": sums[1] / safe, "accuracy": sums[2] / safe,
            "upper": upper}


def calibration_metrics(logits: torch.Tensor, labels: torch.Tensor, n_bins: int = 15
                        ) -> dict[str, torch.Tensor]:
    r"""Calibration summary of max-softmax predictions, 0-d float32 tensors on the device.

    .. math:: \mathrm{ECE} = \sum_m \frac{|B_m|}{N}\,|\mathrm{acc}(B_m) - \mathrm{conf}(B_m)|,
              \quad
              \mathrm{MCE} = \max_{m:\,|B_m| > 0} |\mathrm{acc}(B_m) - \mathrm{conf}(B_m)|,
              \quad
              \mathrm{OE} = \sum_m \frac{|B_m|}{N}\,\mathrm{conf}(B_m)\,
              \max(\mathrm{conf}(B_m) - \mathrm{acc}(B_m), 0)

    Mean confidence below accuracy is under-confidence, which ECE counts and OE does not.

    Parameters
    ----------
    logits : Tensor of shape (N, K)
    labels : Tensor of shape (N,), int64
    n_bins : int, default 15
        Equal-width confidence bins of ECE, MCE and OE (10 is the other common choice).

    Returns
    -------
    dict
        ``ece``, ``mce``, ``oe``; ``confidence`` (mean max-softmax probability) and
        ``accuracy`` (top-1), whose difference is the signed over-confidence; ``nll`` (mean
        cross-entropy of the labels, nats); ``brier`` (mean over samples of
        ``sum_k (p_k - [k = y])^2``, in [0, 2]; Brier 1950).

    References
    ----------
    Guo, Pleiss, Sun & Weinberger (2017), "On Calibration of Modern Neural Networks", Eqs. 3
    and 5; Thulasidasan, Chennupati, Bilmes, Bhattacharya & Michalak (2019), "On Mixup
    Training: Improved Calibration and Predictive Uncertainty for Deep Neural Networks";
    Brier (1950), "Verification of Forecasts Expressed in Terms of Probability".
    """
    b = reliability_bins(logits, labels, n_bins)
    weight = b["count"] / max(len(labels), 1)  # |B_m| / N
    gap = b["confidence"] - b["accuracy"]
    z = logits.float()
    probs = z.softmax(dim=1)
    # Brier: sum_k p_k^2 - 2 p_y + 1, with p_y gathered (one_hot would check the labels on
    # the host, a synchronisation).
    brier = (probs.square().sum(1) - 2 * probs.gather(1, labels[:, None]).squeeze(1) + 1)
    empty = z.new_zeros(())  # the mean of nothing: 0, as the binned metrics give
    return {"ece": (weight * gap.abs()).sum(),
            "mce": torch.where(b["count"] > 0, gap.abs(), 0.0).max(),
            "oe": (weight * b["confidence"] * gap.clamp_min(0)).sum(),
            "confidence": (weight * b["confidence"]).sum(),
            "accuracy": (weight * b["accuracy"]).sum(),
            "nll": F.cross_entropy(z, labels) if len(labels) else empty,
            "brier": brier.mean() if len(labels) else empty}


def expected_calibration_error(logits: torch.Tensor, labels: torch.Tensor,
                               n_bins: int = 15) -> torch.Tensor:
    """ECE of the max-softmax confidence, shape (), float32 (:func:`calibration_metrics`)."""
    return calibration_metrics(logits, labels, n_bins)["ece"]


def maximum_calibration_error(logits: torch.Tensor, labels: torch.Tensor,
                              n_bins: int = 15) -> torch.Tensor:
    """MCE, shape (), float32: the largest |accuracy - confidence| of a non-empty bin
    (Guo et al. 2017, Eq. 5; :func:`calibration_metrics`)."""
    return calibration_metrics(logits, labels, n_bins)["mce"]


def overconfidence_error(logits: torch.Tensor, labels: torch.Tensor,
                         n_bins: int = 15) -> torch.Tensor:
    """Overconfidence error, shape (), float32: ECE's over-confident terms weighted by the
    confidence (Thulasidasan et al. 2019; :func:`calibration_metrics`)."""
    return calibration_metrics(logits, labels, n_bins)["oe"]


# ----------------------------------------------------------------- temperature scaling


@dataclass(frozen=True)
class TemperatureFit:
    """The result of :func:`fit_temperature` (a frozen record).

    Attributes
    ----------
    temperature : float
        ``T``; calibrated logits are ``logits / T``.
    nll : float
        Mean NLL of ``logits / T`` (nats).
    nll_before : float
        Mean NLL at ``T = 1``.
    grad : float
        ``d NLL / d(1/T)`` at the solution (0 at an interior optimum).
    n_iter : int
    converged : bool
        False when ``max_iter`` ran out or the optimum lies on a bound of ``bounds``.
    message : str
    """

    temperature: float
    nll: float
    nll_before: float
    grad: float
    n_iter: int
    converged: bool
    message: str


def _nll_derivatives(z: torch.Tensor, zy: torch.Tensor, beta: float
                     ) -> tuple[float, float, float]:
    """NLL(beta) = mean_i [logsumexp(beta z_i) - beta z_iy] and its first two derivatives:
    ``mean(E_p[z] - z_y)`` and ``mean(Var_p[z])`` with ``p = softmax(beta z)``."""
    s = beta * z
    p = s.softmax(dim=1)
    # E_p[z - z_y] rather than E_p[z] - z_y: no cancellation when p is nearly one-hot.
    gap = (p * (z - zy[:, None])).sum(1)
    var = (p * (z - zy[:, None] - gap[:, None]) ** 2).sum(1).mean()
    nll = (torch.logsumexp(s, dim=1) - beta * zy).mean()
    return nll.item(), gap.mean().item(), var.item()


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor, *,
                    bounds: tuple[float, float] = (0.01, 100.0), tol: float = 1e-10,
                    max_iter: int = 100) -> TemperatureFit:
    r"""The temperature that minimises the mean NLL of ``logits / T`` (temperature scaling).

    The NLL is convex in the inverse temperature :math:`\beta = 1/T`:

    .. math:: \mathrm{NLL}(\beta) = \frac1N \sum_i \Big[\log\sum_k e^{\beta z_{ik}}
              - \beta z_{i y_i}\Big], \quad
              \mathrm{NLL}'(\beta) = \frac1N\sum_i \big(\mathrm{E}_{p_i}[z_i] - z_{iy_i}\big),
              \quad \mathrm{NLL}''(\beta) = \frac1N\sum_i \mathrm{Var}_{p_i}[z_i] \ge 0,

    so its derivative is monotone and has at most one root. It is found by Newton's method
    on :math:`\beta`, safeguarded by bisection of a bracket in which the derivative changes
    sign, in float64. Fit it on the **validation** split, never on the test split.

    Parameters
    ----------
    logits : Tensor of shape (N, K)
    labels : Tensor of shape (N,), int64
    bounds : (float, float), default (0.01, 100)
        Range of ``T``. If the optimum lies outside, ``T`` is the nearer bound and a
        ``ConvergenceWarning`` is issued (e.g. all predictions correct: the NLL falls
        towards ``T -> 0``).
    tol : float, default 1e-10
        Stop when ``|NLL'(beta)| <= tol * mean|z|`` (the derivative has the units of the
        logits).
    max_iter : int, default 100

    Returns
    -------
    TemperatureFit

    References
    ----------
    Guo, Pleiss, Sun & Weinberger (2017), "On Calibration of Modern Neural Networks",
    Sec. 4.2 (temperature scaling).
    """
    _check_logits(logits, labels)
    if len(labels) == 0:
        raise ValueError("logits of shape (0, K): expected at least one sample to fit T on")
    try:
        lo_t, hi_t = (float(b) for b in bounds)
    except (TypeError, ValueError):
        lo_t = hi_t = math.nan
    if not (0 < lo_t < hi_t < math.inf):
        raise ValueError(f"bounds={bounds!r}: expected (T_min, T_max) with 0 < T_min < T_max")
    if not (tol > 0):
        raise ValueError(f"tol={tol!r}: expected a positive tolerance")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"max_iter={max_iter!r}: expected a positive integer")
    z = logits.detach().double()
    if not torch.isfinite(z).all():
        raise ValueError("logits contain NaN or infinite values: expected finite logits")
    zy = z.gather(1, labels[:, None]).squeeze(1)
    scale = z.abs().mean().item() or 1.0
    nll_before = _nll_derivatives(z, zy, 1.0)[0]

    lo, hi = 1.0 / hi_t, 1.0 / lo_t  # bracket of beta = 1/T
    n_iter, converged, message = 0, False, ""
    # The derivative is monotone: its signs at the ends say whether the root is inside.
    for beta, side, sign in ((lo, "T_max", 1.0), (hi, "T_min", -1.0)):
        nll, g, h = _nll_derivatives(z, zy, beta)
        if sign * g > 0:
            message = (f"the NLL-minimising temperature lies beyond bounds={bounds!r}; "
                       f"returned {side} (widen bounds)")
            warnings.warn(f"fit_temperature: {message}", ConvergenceWarning, stacklevel=2)
            return TemperatureFit(temperature=1.0 / beta, nll=nll, nll_before=nll_before,
                                  grad=g, n_iter=0, converged=False, message=message)
    beta = min(max(1.0, lo), hi)
    nll, g, h = _nll_derivatives(z, zy, beta)
    converged = abs(g) <= tol * scale
    while not converged and n_iter < max_iter:
        n_iter += 1
        if g > 0:  # the minimum lies at a smaller beta
            hi = beta
        else:
            lo = beta
        newton = beta - g / h if h > 0 else math.nan
        beta = newton if lo < newton < hi else 0.5 * (lo + hi)
        nll, g, h = _nll_derivatives(z, zy, beta)
        # Done at a root, or when the bracket cannot shrink further in float64.
        converged = abs(g) <= tol * scale or hi - lo <= 4 * math.ulp(hi)
    message = "|NLL'(1/T)| <= tol * mean|z| or the bracket of 1/T collapsed" if converged else ""
    if not converged:
        message = (f"|NLL'| = {abs(g):.3g} > tol * mean|z| after max_iter={max_iter} "
                   f"iterations (raise max_iter or loosen tol={tol:g})")
        warnings.warn(f"fit_temperature: {message}", ConvergenceWarning, stacklevel=2)
    return TemperatureFit(temperature=1.0 / beta, nll=nll, nll_before=nll_before, grad=g,
                          n_iter=n_iter, converged=converged, message=message)


def temperature_scaling(val_logits: torch.Tensor, val_labels: torch.Tensor,
                        test_logits: torch.Tensor, test_labels: torch.Tensor, *,
                        n_bins: int = 15, **fit_kwargs) -> dict:
    """Fit ``T`` on the validation logits; the test metrics before and after ``logits / T``.

    Parameters
    ----------
    val_logits : Tensor of shape (N_val, K)
    val_labels : Tensor of shape (N_val,), int64
    test_logits : Tensor of shape (N_test, K)
    test_labels : Tensor of shape (N_test,), int64
    n_bins : int, default 15
    **fit_kwargs
        ``bounds``, ``tol``, ``max_iter`` of :func:`fit_temperature`.

    Returns
    -------
    dict
        ``temperature`` (float), ``fit`` (:class:`TemperatureFit`), ``before`` and ``after``
        (:func:`calibration_metrics` of the test logits at ``T = 1`` and at ``T``, as
        floats). Dividing by ``T > 0`` keeps every argmax, so the accuracy is unchanged.

    References
    ----------
    Guo, Pleiss, Sun & Weinberger (2017), "On Calibration of Modern Neural Networks",
    Sec. 4.2 and Table 1 (metrics before and after temperature scaling).
    """
    _check_logits(test_logits, test_labels, "test_logits")
    if val_logits.ndim == 2 and test_logits.shape[1] != val_logits.shape[1]:
        raise ValueError(f"test_logits of shape {tuple(test_logits.shape)} and val_logits of "
                         f"shape {tuple(val_logits.shape)}: expected the same number of classes")
    fit = fit_temperature(val_logits, val_labels, **fit_kwargs)
    before = calibration_metrics(test_logits, test_labels, n_bins)
    after = calibration_metrics(test_logits.float() / fit.temperature, test_labels, n_bins)
    keys = list(before)
    values = torch.stack([before[k] for k in keys] + [after[k] for k in keys]).tolist()
    return {"temperature": fit.temperature, "fit": fit,
            "before": dict(zip(keys, values[:len(keys)], strict=True)),
            "after": dict(zip(keys, values[len(keys):], strict=True))}


def save_reliability_diagram(logits: torch.Tensor, labels: torch.Tensor,
                             path: str | os.PathLike, n_bins: int = 15,
                             title: str | None = None) -> Path:
    """Save a reliability diagram of the max-softmax confidence as a PNG, atomically.

    Bars: the accuracy of each non-empty confidence bin, drawn over the bin; the gap to the
    diagonal (perfect calibration) is shaded red where the model is over-confident and blue
    where it is under-confident. The ECE, MCE, accuracy and mean confidence are printed
    under the title; a lower panel shows the fraction of samples per bin. The figure is drawn
    with matplotlib's Agg canvas (no pyplot, no display, no global backend change) and
    written to a temporary file in the same folder that then replaces ``path``.

    Parameters
    ----------
    logits : Tensor of shape (N, K)
    labels : Tensor of shape (N,), int64
    path : str or PathLike
        Destination ending in ``.png``; its folder is created if missing.
    n_bins : int, default 15
    title : str, optional
        Figure title; default ``"Reliability diagram (N samples, M bins)"``.

    Returns
    -------
    Path
        ``path``.

    References
    ----------
    Guo, Pleiss, Sun & Weinberger (2017), "On Calibration of Modern Neural Networks",
    Fig. 1 (bottom row) and Sec. 2.
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"path={str(path)!r}: expected a file name ending in .png")
    bins = reliability_bins(logits, labels, n_bins)
    metrics = calibration_metrics(logits, labels, n_bins)
    count, conf, acc = (bins[k].cpu().numpy() for k in ("count", "confidence", "accuracy"))
    summary = {k: metrics[k].item() for k in ("ece", "mce", "accuracy", "confidence")}
    n = int(count.sum())

    from matplotlib.backends.backend_agg import FigureCanvasAgg  # lazy: plotting is optional
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.5, 5.5), dpi=100)
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": (3, 1)})
    width = 1.0 / n_bins
    left = (torch.arange(n_bins) / n_bins).numpy()
    full = count > 0
    top.bar(left[full], acc[full], width=width, align="edge", color="tab:blue",
            edgecolor="black", linewidth=0.5, label="accuracy")
    over = full & (conf > acc)
    under = full & (conf < acc)
    for mask, color, hatch, label in ((over, "tab:red", "//", "over-confident gap"),
                                      (under, "tab:cyan", "\\\\", "under-confident gap")):
        if mask.any():  # an empty bar container would still add a legend entry
            lo, hi = acc.clip(max=conf)[mask], acc.clip(min=conf)[mask]
            top.bar(left[mask], hi - lo, bottom=lo, width=width, align="edge", color=color,
                    alpha=0.35, hatch=hatch, label=label)
    top.plot([0, 1], [0, 1], "k--", linewidth=1, label="perfect calibration")
    top.set(xlim=(0, 1), ylim=(0, 1), ylabel="accuracy")
    top.legend(loc="upper left", fontsize=7)
    head = title if title is not None else f"Reliability diagram ({n} samples, {n_bins} bins)"
    top.set_title(head + "\nECE {ece:.4f}   MCE {mce:.4f}   acc {accuracy:.4f}   "
                  "conf {confidence:.4f}".format(**summary), fontsize=8)
    bottom.bar(left, count / max(n, 1), width=width, align="edge", color="gray",
               edgecolor="black", linewidth=0.5)
    bottom.set(xlabel="confidence (max softmax)", ylabel="fraction")
    fig.tight_layout()
    return atomic_write(path, lambda fh: fig.savefig(fh, format="png"))
