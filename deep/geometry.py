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
``class_means``             mean feature per class, raw or globally centred (Table 1's
                            "class mean" center)
``min_loss_centers``        argmin over ||z|| = r (and z >= 0 for post-ReLU features) of
                            CE(W z + b, c), per class (Table 1's "minimal loss points";
                            the fixed radius and the domain are our choice)
``weight_centers``          the head's rows w_c, raw or centred (Table 1's third center)
``cosine_to_centers``       cos(z_i, center of class c_i) (Tables 1-2)
``confidence_correlation``  Pearson r of cos(z, center) and max-softmax (Table 1)
``scale_agreement``         fraction of argmax unchanged under z -> a z (cones, Sec. 3.1)
``gradient_radiality``      cos(grad_z CE, -z) (the robustness mechanism, Fig. 5), at
                            features or at the class centers
``temperature_agreement``   softmax(W s z + b) against softmax((W z + b) s): feature
                            scaling as temperature T = 1/s (Theorem 1, Fig. 22)
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
    "DOMAINS",
    "class_means",
    "confidence_correlation",
    "cosine_to_centers",
    "extract_features",
    "feature_rms",
    "gradient_radiality",
    "head_statistics",
    "min_loss_centers",
    "scale_agreement",
    "temperature_agreement",
    "weight_centers",
]

#: Feature domains of :func:`min_loss_centers`: signed features (the whole sphere) and
#: post-ReLU features (the sphere's non-negative orthant).
DOMAINS = ("sphere", "nonnegative")


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


def class_means(z: torch.Tensor, labels: torch.Tensor, num_classes: int, *,
                centered: bool = False) -> torch.Tensor:
    """Mean feature of each class, shape (K, d); a class without samples gets zeros.

    Table 1's "class mean" center (Park, Kim & Lee 2024). ``centered=True`` subtracts the
    global mean of ``z`` (over samples, so the count-weighted centred means sum to 0) from
    every class mean, the convention of the neural-collapse literature; compare such
    centers with ``z`` minus the same global mean (``origin`` of
    :func:`confidence_correlation`).

    Parameters
    ----------
    z : Tensor of shape (N, d)
    labels : Tensor of shape (N,), integers in [0, num_classes)
    num_classes : int
    centered : bool, default False
    """
    if z.ndim != 2 or labels.shape != (z.shape[0],):
        raise ValueError(f"z of shape {tuple(z.shape)} and labels of shape "
                         f"{tuple(labels.shape)}: expected (N, d) and (N,)")
    sums = torch.zeros(num_classes, z.shape[1], dtype=z.dtype, device=z.device)
    sums.index_add_(0, labels, z)
    counts = torch.bincount(labels, minlength=num_classes).clamp_min(1).to(z.dtype)
    means = sums / counts[:, None]
    if centered:
        present = torch.bincount(labels, minlength=num_classes) > 0
        means = torch.where(present[:, None], means - z.mean(dim=0), means)
    return means


def weight_centers(weight: torch.Tensor, *, centered: bool = False) -> torch.Tensor:
    """The head's weight vectors as class centers, shape (K, d) (Table 1's third center).

    ``centered=True`` subtracts the mean row: softmax is unchanged when one vector is
    added to every ``w_k``, so only ``w_k - mean_j w_j`` is determined by the head's
    predictions.

    Parameters
    ----------
    weight : Tensor of shape (K, d)
    centered : bool, default False
    """
    if weight.ndim != 2:
        raise ValueError(f"weight of shape {tuple(weight.shape)}: expected (K, d)")
    return weight - weight.mean(dim=0) if centered else weight.clone()


def _check_domain(domain: str) -> None:
    if domain not in DOMAINS:
        raise ValueError(f"domain={domain!r}: expected one of {', '.join(DOMAINS)} "
                         "(signed or post-ReLU features)")


def _gap_objective(z: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None,
                   classes: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``m_k(z_i) = logsumexp_{j != k}(l_j - l_k)`` with ``l = W z_i + b`` and ``k`` the
    class of row i (default: row k is class k), and its gradient
    ``sum_{j != k} q_j (w_j - w_k)`` (``q`` the softmax over the other classes), for the
    n rows of ``z`` (n, d) at once: shapes (n,) and (n, d)."""
    if classes is None:
        classes = torch.arange(w.shape[0], device=w.device)
    logits = _logits(z, w, b)  # (n, K): row i is a candidate center of classes[i]
    own = F.one_hot(classes, w.shape[0]).bool()
    mine = logits.gather(1, classes[:, None])
    gaps = (logits - mine).masked_fill(own, float("-inf"))
    return gaps.logsumexp(dim=1), gaps.softmax(dim=1) @ w - w[classes]


def _project(z: torch.Tensor, radius: float, *, ball: bool) -> torch.Tensor:
    """Euclidean projection of each row onto ``{z >= 0, |z| <= r}`` (``ball``) or onto
    ``{z >= 0, |z| = r}``. The orthant is a cone and the ball is centred at its apex, so
    clipping and then rescaling is the exact projection onto either intersection; a row
    with no positive entry goes to ``r e_i`` at its largest entry (a nearest point)."""
    zp = z.clamp_min(0.0)
    n = zp.norm(dim=1, keepdim=True)
    if ball:
        return torch.where(n > radius, zp * (radius / n.clamp_min(1e-300)), zp)
    empty = n[:, 0] == 0
    if empty.any():
        zp = zp.clone()
        rows = empty.nonzero()[:, 0]
        zp[rows, z[rows].argmax(dim=1)] = 1.0
        n = zp.norm(dim=1, keepdim=True)
    return zp * (radius / n)


def _projected_gradient(z, w, b, radius, *, ball: bool, max_iter: int, tol: float,
                        classes: torch.Tensor | None = None):
    """Projected gradient on the n independent problems ``min m_k(z_i)``, Barzilai-Borwein
    steps with per-row backtracking on the sufficient-decrease test
    ``m(z+) <= m(z) + g.(z+ - z) + |z+ - z|^2/(2t)``, which holds for a small enough step
    whether or not the set is convex (the projection is a nearest point). Stops when no
    row moves by more than ``tol * radius``."""
    f, g = _gap_objective(z, w, b, classes)
    t = torch.full((z.shape[0],), radius, dtype=z.dtype, device=z.device)
    t = t / g.norm(dim=1).clamp_min(1e-300)  # first step: one radius along the gradient
    for _ in range(max_iter):
        todo = torch.ones_like(f, dtype=torch.bool)
        z_new, f_new, g_new = z.clone(), f.clone(), g.clone()
        for _ in range(100):  # halve t until every row's step is accepted
            zt = _project(z - t[:, None] * g, radius, ball=ball)
            ft, gt = _gap_objective(zt, w, b, classes)
            dz = zt - z
            bound = f + (g * dz).sum(1) + dz.pow(2).sum(1) / (2 * t)
            ok = todo & (ft <= bound + 1e-15 * f.abs())
            z_new[ok], f_new[ok], g_new[ok] = zt[ok], ft[ok], gt[ok]
            todo &= ~ok
            if not todo.any():
                break
            t = torch.where(todo, t / 2, t)
        s, y = z_new - z, g_new - g
        z, f, g = z_new, f_new, g_new
        step = s.norm(dim=1)
        if step.max() <= tol * radius:
            break
        sy = (s * y).sum(1)
        # Barzilai-Borwein step s.s / s.y where the curvature is positive, else grow t.
        t = torch.where(sy > 0, s.pow(2).sum(1) / sy.clamp_min(1e-300), 2 * t)
    return z


def min_loss_centers(weight: torch.Tensor, bias: torch.Tensor | None, radius: float,
                     *, domain: str = "sphere", max_iter: int = 200, tol: float = 1e-10
                     ) -> torch.Tensor:
    r"""Each class's minimal-loss point of radius ``radius`` in the features' domain, (K, d).

    .. math:: c_k^*(r) = \operatorname{argmin}_{z \in D,\ \lVert z\rVert_2 = r}\
              \mathrm{CE}(W z + b, k), \qquad D = \mathbb{R}^d \text{ or } D = \{z \ge 0\}

    Our operationalisation of the paper's "class centers (minimal loss points for each
    class)" (Park, Kim & Lee 2024, abstract and Table 1): with hard labels the
    unconstrained infimum lies at infinity, so the radius is fixed, e.g. to the mean
    training-feature norm. The objective minimised is
    ``m_k(z) = logsumexp_{j != k}(l_j - l_k)``, ``l = W z + b``: ``CE = softplus(m_k)`` is
    increasing in ``m_k``, so the minimiser is the same, but ``m_k`` keeps gradients of
    order 1 where CE itself (about ``exp(-r * margin)``) would underflow the tolerance.
    All K problems are solved at once, in float64 (their objectives do not interact).

    ``domain="sphere"`` (signed features, e.g. after a linear bottleneck or a LayerNorm):
    L-BFGS over ``u`` with ``z = r u / ||u||``, starting from ``u = w_k - mean_j w_j``. At
    the minimiser the Lagrange condition makes ``grad_z CE`` antiparallel to ``z``:
    :func:`gradient_radiality` of the centers is 1.

    ``domain="nonnegative"`` (post-ReLU features, ``z >= 0``): projected gradient, first on
    the convex set ``{z >= 0, ||z|| <= r}`` (``m_k`` is convex), then on
    ``{z >= 0, ||z|| = r}``. When class k's decision region meets the open orthant,
    ``m_k`` decreases along a direction inside it, so the convex minimum lies on the
    sphere and is the global minimiser; otherwise the second stage returns a KKT point.
    The KKT conditions, with ``g = grad_z m_k``: ``g_i = -mu z_i`` where ``z_i > 0`` and
    ``g_i >= 0`` where ``z_i = 0``; ``mu > 0`` in the first case (loss decreasing
    outward), while ``mu < 0`` marks a class that wins nowhere in the orthant, whose
    ball minimum is interior. The gradient has a component along the zero coordinates, so
    the radiality at such a center is below 1.

    Parameters
    ----------
    weight : Tensor of shape (K, d)
    bias : Tensor of shape (K,), optional
    radius : float
        r > 0, in feature units.
    domain : {"sphere", "nonnegative"}, default "sphere"
    max_iter : int, default 200
        L-BFGS iterations (sphere); projected-gradient iterations per stage are
        ``25 * max_iter`` (nonnegative).
    tol : float, default 1e-10
        L-BFGS gradient tolerance (sphere); largest step, relative to ``radius``, at which
        projected gradient stops (nonnegative).
    """
    if not radius > 0:
        raise ValueError(f"radius={radius!r}: expected a positive feature norm")
    _check_domain(domain)
    if weight.ndim != 2:
        raise ValueError(f"weight of shape {tuple(weight.shape)}: expected (K, d)")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"bias of shape {tuple(bias.shape)}: expected ({weight.shape[0]},)")
    radius = float(radius)
    w = weight.detach().double()
    b = None if bias is None else bias.detach().double()
    if domain == "nonnegative":
        iters = 25 * max_iter
        z = _projected_gradient(_project(radius * w, radius, ball=True), w, b, radius,
                                ball=True, max_iter=iters, tol=tol)
        # Sphere stage. Where the ball minimiser is interior (a class that wins nowhere in
        # the orthant) it may be 0, with no direction of its own: a second start r e_i
        # along the coordinate where the loss rises least, keeping the better of the two.
        inner = z.clone()
        interior = z.norm(dim=1) < radius * (1 - 1e-9)
        z = _projected_gradient(_project(z, radius, ball=False), w, b, radius, ball=False,
                                max_iter=iters, tol=tol)
        if interior.any():  # a second start for these, kept where it does better
            rows = interior.nonzero()[:, 0]
            g = _gap_objective(inner[rows], w, b, rows)[1]
            axis = torch.eye(w.shape[1], dtype=w.dtype, device=w.device)[g.argmin(dim=1)]
            alt = _projected_gradient(radius * axis, w, b, radius, ball=False,
                                      max_iter=iters, tol=tol, classes=rows)
            better = _gap_objective(alt, w, b, rows)[0] < _gap_objective(z[rows], w, b, rows)[0]
            z[rows[better]] = alt[better]
        return z.to(weight.dtype)
    # Start from w_k - mean_j w_j: the center lies in span{w_j - w_k} (a component outside
    # it changes no logit gap and only uses up the radius). A head of identical rows has
    # no preferred point: any start is a minimiser.
    u = w - w.mean(dim=0)
    u[u.norm(dim=1) == 0, 0] = 1.0
    u.requires_grad_(True)
    opt = torch.optim.LBFGS([u], max_iter=max_iter, tolerance_grad=tol, tolerance_change=0.0,
                            history_size=20, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = _gap_objective(radius * F.normalize(u, dim=1), w, b)[0].sum()
        loss.backward()  # sum_k m_k: each row is its own problem
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


def confidence_correlation(z: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                           centers: torch.Tensor, *, classes: torch.Tensor | None = None,
                           origin: torch.Tensor | None = None) -> torch.Tensor:
    r"""Pearson r between ``cos(z_i - o, centers[c_i])`` and the confidence ``max softmax``.

    The paper's test of a center definition (Park, Kim & Lee 2024, Table 1: minimal-loss
    points, class means and head weights; the minimal-loss points correlate best). The
    confidence is ``max_k softmax(W z_i + b)_k``.

    Parameters
    ----------
    z : Tensor of shape (N, d)
    weight : Tensor of shape (K, d)
    bias : Tensor of shape (K,), optional
    centers : Tensor of shape (K, d)
        From :func:`min_loss_centers`, :func:`class_means` or :func:`weight_centers`.
    classes : Tensor of shape (N,), optional
        Whose center each sample is compared with; default the predicted class (the
        paper does not say which; with the confidence of the predicted class, this is our
        reading).
    origin : Tensor of shape (d,), optional
        Subtracted from ``z`` before the cosine, e.g. the global feature mean for
        globally centred class means; default the origin, the apex of the cones.

    Returns
    -------
    0-d Tensor
        r in [-1, 1]; NaN when either quantity is constant over the samples.
    """
    _check_head(z, weight, bias)
    if centers.shape != weight.shape:
        raise ValueError(f"centers of shape {tuple(centers.shape)}: expected "
                         f"{tuple(weight.shape)} (one center per class)")
    logits = _logits(z, weight, bias)
    if classes is None:
        classes = logits.argmax(dim=1)
    elif classes.shape != (z.shape[0],):
        raise ValueError(f"classes of shape {tuple(classes.shape)}: expected ({z.shape[0]},)")
    if origin is not None:
        if origin.shape != (z.shape[1],):
            raise ValueError(f"origin of shape {tuple(origin.shape)}: expected ({z.shape[1]},)")
        z = z - origin
    cos = cosine_to_centers(z, centers, classes)
    confidence = logits.softmax(dim=1).amax(dim=1)
    return torch.corrcoef(torch.stack([cos, confidence]))[0, 1]


def scale_agreement(z: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                    scales: torch.Tensor | list[float]) -> torch.Tensor:
    r"""Fraction of samples whose predicted class is unchanged under ``z -> a z``, per ``a``.

    Cone-shaped decision regions (Park, Kim & Lee 2024, Sec. 3.1 and Figs. 1-2, with and
    without regularization). The prediction at scale ``a`` is computed as
    ``argmax_k (w_k . z + b_k / a)``, the same argmax as ``W (a z) + b`` divided by
    ``a > 0``: without a bias (``None`` or zeros) these are the unscaled logits, so the
    fraction is exactly 1 for every ``a`` (no rounding of ``a z`` can flip a near tie); a
    bias moves predictions toward ``argmax b`` as ``a -> 0``.

    Parameters
    ----------
    z : Tensor of shape (N, d)
    weight : Tensor of shape (K, d)
    bias : Tensor of shape (K,), optional
    scales : sequence of S positive floats

    Returns
    -------
    Tensor of shape (S,)
    """
    _check_head(z, weight, bias)
    scales = torch.as_tensor(scales, dtype=z.dtype, device=z.device).reshape(-1)
    if not (scales > 0).all():
        raise ValueError(f"scales={scales.tolist()}: expected positive factors")
    base = z @ weight.T  # (N, K)
    if bias is None:
        return torch.ones(len(scales), dtype=z.dtype, device=z.device)
    pred = (base + bias).argmax(1)  # (N,)
    scaled = (base + bias / scales[:, None, None]).argmax(2)  # (S, N)
    return (scaled == pred).to(z.dtype).mean(dim=1)


def gradient_radiality(z: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                       classes: torch.Tensor | None = None) -> torch.Tensor:
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

    At the class centers themselves (``z`` the (K, d) output of :func:`min_loss_centers`,
    ``classes=None``) this is 1 for ``domain="sphere"`` (the Lagrange condition) and
    ``mu r / sqrt(mu^2 r^2 + |g_0|^2)`` for ``domain="nonnegative"``, with ``g_0`` the
    gradient's part on the zero coordinates.

    Parameters
    ----------
    z : Tensor of shape (N, d)
        Features, or the K class centers in class order.
    weight : Tensor of shape (K, d)
    bias : Tensor of shape (K,), optional
    classes : Tensor of shape (N,), optional
        The class whose loss is differentiated; ``None`` (only when ``N = K``) means row k
        is class k's center.
    """
    _check_head(z, weight, bias)
    if classes is None:
        if z.shape[0] != weight.shape[0]:
            raise ValueError(f"classes=None with z of shape {tuple(z.shape)}: expected the "
                             f"{weight.shape[0]} class centers (K, d), or pass classes")
        classes = torch.arange(weight.shape[0], device=z.device)
    logits = _logits(z, weight, bias)
    own = F.one_hot(classes, weight.shape[0]).bool()  # (N, K)
    q = logits.masked_fill(own, float("-inf")).softmax(dim=1)  # (N, K), q_c = 0
    direction = q @ weight - weight[classes]  # (N, d)
    return F.cosine_similarity(direction, -z, dim=1)


def temperature_agreement(z: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                          scales: torch.Tensor | list[float]) -> dict[str, torch.Tensor]:
    r"""How far feature scaling ``z -> s z`` is from temperature scaling ``T = 1/s``.

    Compares the model's own output on scaled features, ``p = softmax(W (s z) + b)``, with
    the temperature-scaled output ``p_T = softmax((W z + b) s)``. With ``b = 0`` they are
    equal (Park, Kim & Lee 2024, Theorem 1 and the feature-scaling check of Fig. 22): the
    difference is float rounding. A bias makes them differ by the logit shift
    ``(1 - s) b``.

    Parameters
    ----------
    z : Tensor of shape (N, d)
    weight : Tensor of shape (K, d)
    bias : Tensor of shape (K,), optional
    scales : sequence of S positive floats

    Returns
    -------
    dict of Tensors of shape (S,)
        ``max_abs``: ``max_{i,k} |p_ik - p_T,ik|``; ``kl``: mean over samples of
        ``KL(p_T || p)``.
    """
    _check_head(z, weight, bias)
    scales = torch.as_tensor(scales, dtype=z.dtype, device=z.device).reshape(-1)
    if not (scales > 0).all():
        raise ValueError(f"scales={scales.tolist()}: expected positive factors")
    logits = _logits(z, weight, bias)  # (N, K)
    model = _logits(scales[:, None, None] * z, weight, bias).log_softmax(dim=2)  # (S, N, K)
    temp = (scales[:, None, None] * logits).log_softmax(dim=2)  # (S, N, K)
    max_abs = (model.exp() - temp.exp()).abs().amax(dim=(1, 2))
    kl = (temp.exp() * (temp - model)).sum(dim=2).mean(dim=1)
    return {"max_abs": max_abs, "kl": kl}


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
