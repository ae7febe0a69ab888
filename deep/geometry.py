r"""Representation-space geometry of a trained classifier: the measurements of Park, Kim & Lee.

Everything here is a function of penultimate features ``z`` (N, d), labels (N,) and the
linear head ``logits = z W^T + b`` (W of shape (K, d), b of shape (K,)), as exposed by every
:class:`deep.models.Classifier` (``model.features(x)``, ``model.head``). Pure tensor
functions, on the features' device, float64-safe; no host synchronisation.

Where the paper's exact definition of a quantity is not known to us, the reading used here
is named as our choice. Table, figure and section numbers are those of the paper's second
version (arXiv v2, 2025).

==========================  ============================================================
function                    quantity (where the paper uses it)
==========================  ============================================================
``extract_features``        ``z`` (the penultimate vector) and logits of a data set
``feature_rms``             RMS(z) = ||z|| / sqrt(d) per sample (Table 2; our reading)
``class_means``             mean feature per class (Table 1's "class mean" center)
``min_loss_centers``        argmin over ||z|| = r of CE(W z + b, c), per class (Table 1's
                            "minimal loss points"; the fixed radius is our choice)
``cosine_to_centers``       cos(z_i, center of class c_i) (Tables 1-2)
``scale_agreement``         fraction of argmax unchanged under z -> a z (cones, Sec. 3.1)
``gradient_radiality``      cos(grad_z CE, -z) (the robustness mechanism, Fig. 5)
``head_statistics``         Theorem 1's assumptions: small biases, equal ||w_c||
==========================  ============================================================

References
----------
Park, Kim & Lee (2024), "Impact of Regularization on Calibration and Robustness: from the
Representation Space Perspective", arXiv 2410.03999.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = [
    "class_means",
    "cosine_to_centers",
    "extract_features",
    "feature_rms",
    "gradient_radiality",
    "head_statistics",
    "min_loss_centers",
    "scale_agreement",
]


def _check_head(z: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
    if z.ndim != 2 or weight.ndim != 2 or z.shape[1] != weight.shape[1]:
        raise ValueError(f"z of shape {tuple(z.shape)} and weight of shape "
                         f"{tuple(weight.shape)}: expected (N, d) and (K, d)")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"bias of shape {tuple(bias.shape)}: expected ({weight.shape[0]},)")


def _logits(z, weight, bias):
    return F.linear(z, weight, bias)


@torch.no_grad()
def extract_features(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 1024
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Penultimate features and logits of images ``x`` (N, C, H, W) under ``model`` in eval
    mode (restored afterwards), in float32, on ``x``'s device.

    Returns
    -------
    z : Tensor of shape (N, feature_dim)
    logits : Tensor of shape (N, K)
    """
    was_training = model.training
    model.eval()
    zs, logits = [], []
    for xb in x.split(batch_size):
        z = model.features(xb).float()
        zs.append(z)
        logits.append(model.head(z).float())
    model.train(was_training)
    return torch.cat(zs), torch.cat(logits)


def feature_rms(z: torch.Tensor) -> torch.Tensor:
    r"""Root mean square of each feature vector, ``||z_i||_2 / sqrt(d)``, shape (N,).

    Our reading of the paper's "RMS" (Park, Kim & Lee 2024, Table 2; its formula is not
    known to us): proportional to the L2 norm and comparable across
    widths d.
    """
    return z.pow(2).mean(dim=1).sqrt()


def class_means(z: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Mean feature of each class, shape (K, d); a class without samples gets zeros."""
    sums = torch.zeros(num_classes, z.shape[1], dtype=z.dtype, device=z.device)
    sums.index_add_(0, labels, z)
    counts = torch.bincount(labels, minlength=num_classes).clamp_min(1).to(z.dtype)
    return sums / counts[:, None]


def min_loss_centers(weight: torch.Tensor, bias: torch.Tensor | None, radius: float,
                     *, max_iter: int = 200, tol: float = 1e-10) -> torch.Tensor:
    r"""Each class's minimal-loss point on the sphere of radius ``radius``, shape (K, d).

    .. math:: c_k^*(r) = \operatorname{argmin}_{\lVert z\rVert_2 = r}\
              \mathrm{CE}(W z + b, k)

    Our operationalisation of the paper's "class centers (minimal loss points for each
    class)" (Park, Kim & Lee 2024, abstract and Table 1): with hard labels the
    unconstrained infimum lies at infinity, so the radius is fixed, e.g. to the mean
    training-feature norm. Solved in float64 by L-BFGS over ``u`` with
    ``z = r u / ||u||``, all K problems at once (their losses add and do not interact),
    starting from ``u = w_k``. The objective minimised is
    ``m_k(z) = logsumexp_{j != k}(l_j - l_k)``, ``l = W z + b``: ``CE = softplus(m_k)`` is
    increasing in ``m_k``, so the minimiser is the same, but ``m_k`` keeps gradients of
    order 1 where CE itself (about ``exp(-r * margin)``) would underflow the tolerance.

    At the minimiser the Lagrange condition makes ``grad_z CE`` antiparallel to ``z``:
    :func:`gradient_radiality` of the centers is 1.

    Parameters
    ----------
    weight : Tensor of shape (K, d)
    bias : Tensor of shape (K,), optional
    radius : float
        r > 0, in feature units.
    max_iter : int, default 200
        L-BFGS iterations.
    tol : float, default 1e-10
        L-BFGS gradient tolerance (float64).
    """
    if not radius > 0:
        raise ValueError(f"radius={radius!r}: expected a positive feature norm")
    w = weight.detach().double()
    b = None if bias is None else bias.detach().double()
    K = w.shape[0]
    target = torch.arange(K, device=w.device)
    u = w.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([u], max_iter=max_iter, tolerance_grad=tol, tolerance_change=0.0,
                            history_size=20, line_search_fn="strong_wolfe")

    own = torch.eye(K, dtype=torch.bool, device=w.device)

    def closure():
        opt.zero_grad()
        logits = _logits(radius * F.normalize(u, dim=1), w, b)  # (K, K): row k is center k
        gaps = (logits - logits[target, target][:, None]).masked_fill(own, float("-inf"))
        loss = gaps.logsumexp(dim=1).sum()  # sum_k m_k; each row is its own problem
        loss.backward()
        return loss

    opt.step(closure)
    return (radius * F.normalize(u.detach(), dim=1)).to(weight.dtype)


def cosine_to_centers(z: torch.Tensor, centers: torch.Tensor, classes: torch.Tensor
                      ) -> torch.Tensor:
    """``cos(z_i, centers[classes_i])``, shape (N,) (Park, Kim & Lee 2024, Tables 1-2).

    Pass the true labels or the predicted classes as ``classes``; the paper does not say
    which, so report both.
    """
    return F.cosine_similarity(z, centers[classes], dim=1)


def scale_agreement(z: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                    scales: torch.Tensor | list[float]) -> torch.Tensor:
    r"""Fraction of samples whose predicted class is unchanged under ``z -> a z``, per ``a``.

    Cone-shaped decision regions (Park, Kim & Lee 2024, Sec. 3.1 and Figs. 1-2, with and
    without regularization): with ``b = 0`` the fraction is
    exactly 1 for every ``a > 0``; a bias moves predictions toward ``argmax b`` as
    ``a -> 0``.

    Returns
    -------
    Tensor of shape (len(scales),)
    """
    _check_head(z, weight, bias)
    scales = torch.as_tensor(scales, dtype=z.dtype, device=z.device)
    if not (scales > 0).all():
        raise ValueError(f"scales={scales.tolist()}: expected positive factors")
    pred = _logits(z, weight, bias).argmax(1)  # (N,)
    scaled = _logits(scales[:, None, None] * z, weight, bias).argmax(2)  # (S, N)
    return (scaled == pred).to(z.dtype).mean(dim=1)


def gradient_radiality(z: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                       classes: torch.Tensor) -> torch.Tensor:
    r"""``cos(grad_z CE(W z + b, c), -z)`` per sample, shape (N,).

    The paper's robustness mechanism (Park, Kim & Lee 2024, Fig. 5 and the discussion of
    Table 2): near a class center the loss gradient points toward the origin; this
    measure of it is our choice.

    1 means the loss-ascent direction points straight at the origin, so a gradient attack
    mainly shrinks the feature. The gradient is ``W^T (p - onehot(c))`` with
    ``p = softmax(W z + b)``; since ``sum(p) = 1`` it equals
    ``(1 - p_c) sum_{j != c} q_j (w_j - w_c)`` with ``q`` the softmax over the other classes.
    Only its direction enters the cosine, so the factor ``1 - p_c`` is dropped: it
    underflows to 0 for confident samples (logit gaps above about 17 in float32, 37 in
    float64) where the direction is still well defined.
    """
    _check_head(z, weight, bias)
    logits = _logits(z, weight, bias)
    own = F.one_hot(classes, weight.shape[0]).bool()  # (N, K)
    q = logits.masked_fill(own, float("-inf")).softmax(dim=1)  # (N, K), q_c = 0
    direction = q @ weight - weight[classes]  # (N, d)
    return F.cosine_similarity(direction, -z, dim=1)


def head_statistics(z: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None
                    ) -> dict[str, torch.Tensor]:
    """The assumptions of Theorem 1 (Park, Kim & Lee 2024; proof in App. H): biases small
    next to the logits, and equal weight norms ``||w_c||``.

    Returns
    -------
    dict of 0-d tensors
        ``bias_ratio``: max |b_k| / mean over samples and classes of |w_k . z|;
        ``weight_norm_cv``: coefficient of variation of ||w_k|| over the K classes.
    """
    _check_head(z, weight, bias)
    norms = weight.norm(dim=1)
    scale = (z @ weight.T).abs().mean()
    b_max = bias.abs().max() if bias is not None else torch.zeros((), device=z.device)
    return {"bias_ratio": b_max / scale, "weight_norm_cv": norms.std() / norms.mean()}
