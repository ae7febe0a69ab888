"""The paper's numbers, in one place: values digitized from the figures of Beck, Bar-Sinai &
Levi (2026), "The Implicit Bias of Logit Regularization" (arXiv 2602.12039).

Every value was read off a figure (SVG coordinates, or the text embedded in it); the paper
publishes single runs without error bars, so read them as about +-0.002 in accuracy and
+-2% in epochs. ``None`` means "never reached" (Fig. 5) or "not given". Simulations and
plots compare with these; nothing here is computed.
"""

from __future__ import annotations

__all__ = ["FIG2_ALPHAS", "FIG2_COS", "FIG5", "FIG6", "FIG11_TABLE", "FIG12_ANGLE_DEG",
           "FIG12_TABLE", "FIG13_COS", "FIG15", "FIG16_ACC", "FIG16_LAMBDAS", "FIG19"]

# Fig. 5 (grokking, binary): d = 1400, N = 2000, mu_f = 0.1, sigma_f = 0, sigma_n = 1,
# eta = 0.1, 2e5 epochs. Test loss is plain CE; train loss the regularized mean.
FIG5 = {
    0.0: {"epoch_train_acc_1.0": 1.5e3, "epoch_test_acc_0.6": None, "epoch_test_acc_0.9": None,
          "epoch_test_acc_1.0": None, "test_loss_peak_epoch": 2e5, "test_loss_peak": 9.0,
          "final_train_loss": 8.3e-4, "final_test_loss": 9.0, "final_test_acc": 0.513},
    0.001: {"epoch_train_acc_1.0": 1.5e3, "epoch_test_acc_0.6": 8.0e4, "epoch_test_acc_0.9": None,
            "epoch_test_acc_1.0": None, "test_loss_peak_epoch": 1.35e4, "test_loss_peak": 3.4,
            "final_train_loss": 0.036, "final_test_loss": 0.32, "final_test_acc": 0.862},
    0.01: {"epoch_train_acc_1.0": 6.1e3, "epoch_test_acc_0.6": 1.1e4, "epoch_test_acc_0.9": 3.8e4,
           "epoch_test_acc_1.0": 7.5e4, "test_loss_peak_epoch": 2.3e3, "test_loss_peak": 1.63,
           "final_train_loss": 0.137, "final_test_loss": 0.060, "final_test_acc": 1.0},
    0.1: {"epoch_train_acc_1.0": 4.5e3, "epoch_test_acc_0.6": 2.8e3, "epoch_test_acc_0.9": 9.4e3,
          "epoch_test_acc_1.0": 1.7e4, "test_loss_peak_epoch": 5e2, "test_loss_peak": 0.84,
          "final_train_loss": 0.380, "final_test_loss": 0.284, "final_test_acc": 1.0},
}

# Fig. 2 (Student-t noise, nu in {2.1, 3, 20}; d = 1000, N = 1500, mu_f = sigma_f = sigma_n = 1):
# cos(S, e1) at alpha in FIG2_ALPHAS. The series -> nu mapping follows the legend order.
FIG2_ALPHAS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8)
FIG2_COS = {
    2.1: (0.536, 0.532, 0.519, 0.506, 0.495, 0.491, 0.491, 0.491),
    3.0: (0.460, 0.466, 0.469, 0.468, 0.467, 0.466, 0.466, 0.466),
    20.0: (0.425, 0.430, 0.432, 0.432, 0.431, 0.431, 0.431, 0.431),
}

# Fig. 6 (lambda = 0.7, alpha = 0 vs 0.4): the flat alpha = 0.4 level, the alpha = 0 ends at
# sigma_n = 0.1 and 6, and the crossing sigma_n*; right panel: boundary sigma_n*(sigma_f).
FIG6 = {
    "curves": {0.5: {"alpha04_flat": 0.840, "alpha0_at_0.1": 0.969, "alpha0_at_6": 0.553,
                     "crossing": 1.24},
               0.8: {"alpha04_flat": 0.711, "alpha0_at_0.1": 0.843, "alpha0_at_6": 0.551,
                     "crossing": 1.71}},
    "boundary": {0.0: 0.00, 0.05: 0.10, 0.10: 0.57, 0.15: 0.75, 0.20: 0.84, 0.25: 0.92,
                 0.30: 1.00, 0.35: 1.07, 0.40: 1.14, 0.45: 1.21, 0.50: 1.24, 0.55: 1.32,
                 0.60: 1.41, 0.65: 1.48, 0.70: 1.56, 0.75: 1.63, 0.80: 1.71, 0.85: 1.78,
                 0.90: 1.86, 0.95: 1.91},
}

# Fig. 15 (lambda = 0.4): as Fig. 6. Its flat levels are 2-3 points above Fig. 16 at
# lambda ~ 0.4 (an inconsistency inside the paper).
FIG15 = {
    "curves": {0.5: {"alpha04_flat": 0.9485, "alpha0_at_0.1": 0.977, "alpha0_at_6": 0.905,
                     "crossing": 0.83},
               0.8: {"alpha04_flat": 0.834, "alpha0_at_0.1": 0.889, "alpha0_at_6": 0.787,
                     "crossing": 0.71}},
    "boundary": {0.0: 0.0, 0.2: 0.58, 0.3: 0.75, 0.4: 0.82, 0.5: 0.83, 0.6: 0.82, 0.7: 0.78,
                 0.8: 0.71, 0.9: 0.65},
}

# Figs. 11 and 12: the N = 3 toy's embedded table (exact text): run -> (S_hat, mu, sigma, r).
FIG11_TABLE = {
    "a=2,b=0": ((0.2975, 0.9547), 0.7901, 0.9777, 1.2375),
    "a=6,b=0": ((0.2975, 0.9547), 2.3703, 2.9332, 1.2375),
    "fisher": ((0.2975, 0.9547), 0.6530, 0.8081, 1.2375),
}
FIG12_ANGLE_DEG = 11.5  # "the two directions differ by about 11.5 degrees" (Fig. 12 text)
FIG12_TABLE = {
    "a=2,b=0": ((0.2975, 0.9547), 0.7901, 0.9777, 1.2375),
    "a=2,b=6": ((0.4811, 0.8767), 0.5190, 0.7453, 1.4361),
}

# Fig. 13 (Gaussian data, sigma_f = 0.5, sigma_n = 1, mu_f = 1, N = 2000): cos(S, e1), flat in
# alpha over {0.02, 0.2, 0.4, 0.6, 0.8, 0.98}; lambda -> (low, high) of the digitized values.
FIG13_COS = {0.1: (0.980, 0.981), 0.7: (0.750, 0.753), 0.9: (0.510, 0.510)}

# Fig. 16 (top panels): test accuracy at lambda in FIG16_LAMBDAS, keyed (alpha, sigma_f, sigma_n).
FIG16_LAMBDAS = (0.1, 0.3, 0.5, 0.7, 0.9, 1.0, 1.1, 1.3, 1.5)
FIG16_ACC = {
    (0.0, 0.0, 1.0): (1.000, 1.000, 1.000, 0.994, 0.980, 0.957, 0.942, 0.907, 0.885),
    (0.0, 0.0, 2.0): (1.000, 1.000, 0.981, 0.804, 0.722, 0.681, 0.658, 0.638, 0.621),
    (0.0, 0.5, 1.0): (0.951, 0.937, 0.919, 0.886, 0.866, 0.856, 0.839, 0.822, 0.803),
    (0.0, 0.5, 2.0): (0.947, 0.913, 0.839, 0.742, 0.686, 0.662, 0.644, 0.626, 0.610),
    (0.0, 1.0, 1.0): (0.813, 0.739, 0.744, 0.727, 0.717, 0.723, 0.713, 0.715, 0.703),
    (0.0, 1.0, 2.0): (0.813, 0.732, 0.700, 0.662, 0.632, 0.625, 0.613, 0.605, 0.592),
    (0.4, 0.0, 1.0): (1.0, 1.0, 1.0, 1.0, 1.0, 1.000, 0.935, 0.785, 0.748),
    (0.4, 0.0, 2.0): (1.0, 1.0, 1.0, 1.0, 1.0, 0.997, 0.707, 0.586, 0.570),
    (0.4, 0.5, 1.0): (0.969, 0.948, 0.910, 0.840, 0.737, 0.648, 0.684, 0.698, 0.679),
    (0.4, 0.5, 2.0): (0.969, 0.948, 0.910, 0.840, 0.736, 0.613, 0.632, 0.580, 0.567),
    (0.4, 1.0, 1.0): (0.818, 0.771, 0.724, 0.672, 0.589, 0.558, 0.579, 0.613, 0.608),
    (0.4, 1.0, 2.0): (0.818, 0.771, 0.724, 0.672, 0.590, 0.547, 0.570, 0.562, 0.551),
}

# Fig. 19 (d = 1400, N = 2000, mu_f = 1, sigma_f = 0.5, alpha = 0.2, 2000 GD epochs): the slope
# C^2 of 1/cos^2 = 1 + C^2/sigma_n^2, and cos at sigma_n = 1.
FIG19 = {"C2": 0.783, "cos_at_sigma_n_1": 0.749,
         "sigma_n": (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.5, 3.0)}
