r"""Calibration of the max-softmax confidence over equal-width bins: ECE, OE, reliability.

All of them read one binning (:func:`reliability_bins`): bin ``m`` (1-based) holds the samples
whose confidence lies in ``((m-1)/M, m/M]`` (Guo et al. 2017; a confidence of exactly 0 goes
to the first bin). Everything stays on the device; nothing synchronises with the host.

``expected_calibration_error``
    ``ECE = sum_m |B_m|/N |acc(B_m) - conf(B_m)|`` (Guo et al. 2017, Eq. 3).
``overconfidence_error``
    ``OE = sum_m |B_m|/N conf(B_m) max(conf(B_m) - acc(B_m), 0)`` (Thulasidasan et al.
    2019, "On Mixup Training").
``reliability_bins``
    Per-bin counts, mean confidence and accuracy: the data of a reliability diagram.
``calibration_metrics``
    ECE, OE and mean confidence from a single binning (what training reports).

The number of bins is not stated by the papers we follow (Park, Kim & Lee 2024; Mangla et
al. 2021); 15 is Guo et al.'s choice, and 10 is also common.
"""

from __future__ import annotations

import torch

__all__ = ["calibration_metrics", "expected_calibration_error", "overconfidence_error",
           "reliability_bins"]


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
    if n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer; got n_bins={n_bins}")
    if logits.ndim != 2 or labels.shape != (logits.shape[0],):
        raise ValueError(f"logits of shape {tuple(logits.shape)} and labels of shape "
                         f"{tuple(labels.shape)}: expected (N, K) and (N,)")
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
    r"""ECE, overconfidence error and mean confidence from one binning, 0-d float32 tensors.

    .. math:: \mathrm{ECE} = \sum_m \frac{|B_m|}{N}\,|\mathrm{acc}(B_m) - \mathrm{conf}(B_m)|,
              \quad
              \mathrm{OE} = \sum_m \frac{|B_m|}{N}\,\mathrm{conf}(B_m)\,
              \max(\mathrm{conf}(B_m) - \mathrm{acc}(B_m), 0)

    Mean confidence below accuracy is under-confidence, which ECE counts and OE does not.

    Returns
    -------
    dict with ``ece``, ``oe`` and ``confidence`` (mean max-softmax probability)

    References
    ----------
    Guo, Pleiss, Sun & Weinberger (2017), "On Calibration of Modern Neural Networks", Eq. 3;
    Thulasidasan, Chennupati, Bilmes, Bhattacharya & Michalak (2019), "On Mixup Training:
    Improved Calibration and Predictive Uncertainty for Deep Neural Networks".
    """
    b = reliability_bins(logits, labels, n_bins)
    weight = b["count"] / max(len(labels), 1)  # |B_m| / N
    gap = b["confidence"] - b["accuracy"]
    return {"ece": (weight * gap.abs()).sum(),
            "oe": (weight * b["confidence"] * gap.clamp_min(0)).sum(),
            "confidence": (weight * b["confidence"]).sum()}


def expected_calibration_error(logits: torch.Tensor, labels: torch.Tensor,
                               n_bins: int = 15) -> torch.Tensor:
    """ECE of the max-softmax confidence, shape (), float32 (:func:`calibration_metrics`)."""
    return calibration_metrics(logits, labels, n_bins)["ece"]


def overconfidence_error(logits: torch.Tensor, labels: torch.Tensor,
                         n_bins: int = 15) -> torch.Tensor:
    """Overconfidence error, shape (), float32: ECE's over-confident terms weighted by the
    confidence (Thulasidasan et al. 2019; :func:`calibration_metrics`)."""
    return calibration_metrics(logits, labels, n_bins)["oe"]
