r"""Signal-plus-noise data (Eqs. 3 and 8 of Beck, Bar-Sinai & Levi 2026).

Binary (Eq. 3): ``x = y mu_f e_1 + xi`` with ``xi_1 = sigma_f xi_f`` and
``xi_{i>1} = sigma_n xi_n``; labels ``y`` in {-1, +1}, exactly balanced.

Multiclass (Eq. 8): ``x = mu_c + sigma_f eta_f + sigma_n eta_n``. The paper does not state
how its class means are built; **our choice**: the K means are the vertices
of a regular simplex centred at the origin, each of norm ``mu_f``, spanning the first
K-1 coordinates. With K = 2 this is exactly the binary model (means ``+-mu_f e_1``).
``eta_f`` is isotropic in that (K-1)-dim signal subspace and ``eta_n`` in its complement.

Student-t noise (Fig. 2) draws every noise coordinate from a *standard* Student-t with
``df`` degrees of freedom, scaled by ``sigma_f`` / ``sigma_n`` (so its variance is
``sigma**2 df/(df-2)``, as in the paper's ``nu = 20`` note).
"""

from __future__ import annotations

import numpy as np

from ._validation import check_choice, check_positive, check_rng

__all__ = ["signal_plus_noise", "simplex_means"]


def simplex_means(n_classes: int, d: int, mu_f: float = 1.0) -> np.ndarray:
    """Class means on a regular simplex: shape (n_classes, d), norms ``mu_f``, sum zero.

    The means live in the first ``n_classes - 1`` coordinates; pairwise distance is
    ``mu_f * sqrt(2 K / (K - 1))``.
    """
    K = n_classes
    centred = np.eye(K) - 1.0 / K  # (K, K), rows sum to zero, rank K-1
    # Orthonormal basis of the sum-zero subspace: coordinates in R^{K-1}.
    basis = np.linalg.svd(centred)[2][: K - 1]  # (K-1, K)
    coords = centred @ basis.T  # (K, K-1)
    coords *= mu_f / np.linalg.norm(coords, axis=1, keepdims=True)
    out = np.zeros((K, d))
    out[:, : K - 1] = coords
    return out


def _noise(rng, shape, noise, df):
    if noise == "gaussian":
        return rng.standard_normal(shape)
    return rng.standard_t(df, size=shape)


def signal_plus_noise(
    n,
    d,
    *,
    mu_f=1.0,
    sigma_f=0.5,
    sigma_n=1.0,
    n_classes=2,
    noise="gaussian",
    df=None,
    rng=None,
):
    """Draw ``n`` samples of the signal-plus-noise model.

    Parameters
    ----------
    n : int
        Number of samples (``N``); labels are balanced (class sizes differ by at most 1)
        and shuffled.
    d : int
        Input dimension; ``d >= n_classes - 1`` (``d >= 1`` for binary).
    mu_f : float, default 1.0
        Signal strength: ``|mu_c| = mu_f``.
    sigma_f : float, default 0.5
        Noise std inside the signal subspace (along ``e_1`` for binary).
    sigma_n : float, default 1.0
        Noise std in the orthogonal complement.
    n_classes : int, default 2
    noise : {"gaussian", "student_t"}
    df : float, optional
        Degrees of freedom for ``noise="student_t"`` (required there, > 0).
    rng : numpy.random.Generator, int or None

    Returns
    -------
    X : ndarray of shape (n, d)
    y : ndarray of shape (n,)
        In {-1, +1} for binary, in ``range(n_classes)`` otherwise.

    References
    ----------
    Beck, Bar-Sinai & Levi (2026), Eq. 3 (binary) and Eq. 8 (multiclass).
    """
    check_positive(n, "n", integer=True)
    check_positive(d, "d", integer=True)
    check_positive(n_classes, "n_classes", integer=True)
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2; got n_classes={n_classes}")
    if d < n_classes - 1:
        raise ValueError(f"d must be >= n_classes - 1 = {n_classes - 1}; got d={d}")
    check_positive(mu_f, "mu_f", strict=False)
    check_positive(sigma_f, "sigma_f", strict=False)
    check_positive(sigma_n, "sigma_n", strict=False)
    check_choice(noise, {"gaussian", "student_t"}, "noise")
    if noise == "student_t":
        if df is None:
            raise ValueError("df must be given for noise='student_t'; got df=None")
        check_positive(df, "df")
    rng = check_rng(rng)

    K = n_classes
    labels = np.arange(n) % K
    rng.shuffle(labels)
    ks = K - 1 if K > 2 else 1  # signal-subspace dimension
    Z = _noise(rng, (n, d), noise, df)
    Z[:, :ks] *= sigma_f
    Z[:, ks:] *= sigma_n
    if K == 2:
        y = np.where(labels == 0, 1, -1)
        Z[:, 0] += y * mu_f
        return Z, y
    Z += simplex_means(K, d, mu_f)[labels]
    return Z, labels
