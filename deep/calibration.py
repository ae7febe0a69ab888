"""Calibration: expected calibration error over equal-width confidence bins."""

from __future__ import annotations

import torch

__all__ = ["expected_calibration_error"]


def expected_calibration_error(logits: torch.Tensor, labels: torch.Tensor,
                               n_bins: int = 15) -> torch.Tensor:
    r"""ECE of the max-softmax confidence, on the device (no host synchronisation).

    .. math:: \mathrm{ECE} = \sum_m \frac{|B_m|}{N}\,|\mathrm{acc}(B_m) - \mathrm{conf}(B_m)|,

    where ``B_m`` holds the samples whose confidence lies in ``((m-1)/M, m/M]``.

    Parameters
    ----------
    logits : Tensor of shape (N, K)
    labels : Tensor of shape (N,), int64
    n_bins : int, default 15
        M, the number of equal-width bins (Guo et al. use 15).

    Returns
    -------
    Tensor of shape (), float32

    References
    ----------
    Guo, Pleiss, Sun & Weinberger (2017), "On Calibration of Modern Neural Networks", Eq. 3;
    VarMixup digest section 2.3.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer; got n_bins={n_bins}")
    probs = logits.float().softmax(dim=1)
    conf, pred = probs.max(dim=1)
    correct = (pred == labels).float()
    # Bin m covers (m/M, (m+1)/M]: ceil(conf * M) - 1, with conf = 0 folded into bin 0.
    bins = (conf * n_bins).ceil().long().clamp_(1, n_bins) - 1
    gap = torch.zeros(n_bins, device=logits.device).index_add_(0, bins, conf - correct)
    # sum_m |B_m|/N * |mean over B_m of (conf - correct)| = sum_m |sum over B_m| / N
    return gap.abs().sum() / max(len(labels), 1)
