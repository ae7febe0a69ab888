"""FGSM and PGD: against torchattacks, against the exact worst case of a linear model, and
the invariants (the eps-box, [0, 1], explicit randomness, the model left as it was); the
named presets and their scores; local linearity against losses with a known answer."""

import pytest
import torch
from torch import nn

from deep.attacks import (
    ATTACK_PRESETS,
    attack_scores,
    fgsm,
    local_linearity,
    pgd,
    robustness,
)
from deep.models import build_model

EPS = 8 / 255


def _cnn_batch(seed=0):
    torch.manual_seed(seed)
    model = build_model("cnn", 3, 10, torch.full((3,), 0.5), torch.full((3,), 0.25), 4)
    g = torch.Generator().manual_seed(seed)
    x, y = torch.rand(16, 3, 12, 12, generator=g), torch.randint(0, 10, (16,), generator=g)
    return model, x, y


def test_fgsm_equals_torchattacks():
    torchattacks = pytest.importorskip("torchattacks")
    model, x, y = _cnn_batch()
    ours = fgsm(model, x, y, EPS)
    ref = torchattacks.FGSM(model, eps=EPS)(x, y)
    assert torch.equal(ours, ref)  # the same operations in the same order
    assert not torch.equal(ours, x)


@pytest.mark.parametrize("steps", [1, 7])
def test_pgd_equals_torchattacks_without_random_start(steps):
    torchattacks = pytest.importorskip("torchattacks")
    model, x, y = _cnn_batch(1)
    ours = pgd(model, x, y, EPS, step_size=2 / 255, steps=steps, random_start=False)
    ref = torchattacks.PGD(model, eps=EPS, alpha=2 / 255, steps=steps, random_start=False)(x, y)
    assert torch.equal(ours, ref)


def test_pgd_stays_in_the_box_and_its_random_start_is_explicit():
    model, x, y = _cnn_batch(2)
    x[0] = 0.0  # pixels at the edges of [0, 1] must stay inside it
    x[1] = 1.0
    runs = [pgd(model, x, y, EPS, step_size=EPS / 4, steps=3,
                generator=torch.Generator().manual_seed(s)) for s in (0, 0, 1)]
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])
    for adv in runs:
        assert (adv - x).abs().max() <= EPS + 1e-7  # float32 rounding of x + delta
        assert adv.min() >= 0 and adv.max() <= 1


def _linear_binary(d=48, seed=3):
    """Two-class linear model on flattened images: CE is monotone in the margin, which is
    linear in x, so the worst case in the eps-box is the vertex x - eps sign(w_y - w_other)
    (away from the [0, 1] walls): exactly FGSM."""
    g = torch.Generator().manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(d, 2))
    with torch.no_grad():
        model[1].weight.copy_(torch.randn(2, d, generator=g))
        model[1].bias.zero_()
    x = 0.3 + 0.4 * torch.rand(32, 1, 1, d, generator=g)  # within [0.3, 0.7]
    y = model(x).argmax(1)  # all correctly classified
    return model, x, y


def test_fgsm_is_the_exact_worst_case_of_a_linear_model():
    model, x, y = _linear_binary()
    eps = 0.1  # keeps x + delta inside [0, 1]: no clipping
    adv = fgsm(model, x, y, eps)
    ce = nn.functional.cross_entropy
    worst = ce(model(adv), y, reduction="none")
    g = torch.Generator().manual_seed(0)
    for _ in range(300):  # random vertices of the box never do better
        vertex = x + eps * (2 * torch.randint(0, 2, x.shape, generator=g) - 1)
        assert (ce(model(vertex), y, reduction="none") <= worst + 1e-5).all()
    # PGD with full-size steps lands on the same vertex.
    assert torch.equal(pgd(model, x, y, eps, step_size=eps, steps=4, random_start=False), adv)


def _predictions(model, x):
    with torch.no_grad():
        return model(x).argmax(1)


def test_attack_scores():
    model, x, y = _linear_binary()
    same = attack_scores(model, x, y, lambda xb, yb: xb, batch_size=10)
    assert same == {"clean_acc": 1.0, "robust_acc": 1.0, "success_rate": 0.0}
    # eps = 1 lets FGSM reach the corner of [0, 1]^d that minimises the margin: the global
    # worst case of a linear model, which flips every sample of this unbiased random head.
    strong = attack_scores(model, x, y, lambda xb, yb: fgsm(model, xb, yb, 1.0), batch_size=10)
    assert strong == {"clean_acc": 1.0, "robust_acc": 0.0, "success_rate": 1.0}
    # Against a per-sample brute force, with a third of the labels wrong (clean accuracy below
    # 1) and an "attack" that pushes half of the images (chosen by their first pixel) to their
    # label and the other half away from it, so that it turns some wrong predictions right:
    # the success rate counts only the clean-correct samples it flips, so it is not
    # 1 - robust/clean. Uneven batches (32 = 3 x 10 + 2) exercise the split.
    y_noisy = y.clone()
    y_noisy[::3] = 1 - y_noisy[::3]

    def mixed(xb, yb):
        toward, away = fgsm(model, xb, 1 - yb, 1.0), fgsm(model, xb, yb, 1.0)
        return torch.where((xb.flatten(1)[:, 0] > 0.5)[:, None, None, None], toward, away)

    clean = _predictions(model, x) == y_noisy
    adv = _predictions(model, mixed(x, y_noisy)) == y_noisy
    assert (~clean & adv).any() and (clean & ~adv).any()  # the case this test is about
    got = attack_scores(model, x, y_noisy, mixed, batch_size=10)
    assert got["clean_acc"] == pytest.approx(clean.float().mean().item(), abs=1e-12)
    assert got["robust_acc"] == pytest.approx(adv.float().mean().item(), abs=1e-12)
    assert got["success_rate"] == pytest.approx(
        (clean & ~adv).sum().item() / clean.sum().item(), abs=1e-12)


def test_the_model_is_left_as_it_was():
    model, x, y = _cnn_batch(4)
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    pgd(model, x, y, EPS, step_size=EPS / 4, steps=2, generator=torch.Generator())
    assert model.training
    assert all(p.grad is None for p in model.parameters())
    # Eval mode during the attack: batch-norm running statistics did not move.
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())


def test_errors_name_the_argument():
    model, x, y = _cnn_batch()
    with pytest.raises(ValueError, match=r"eps=-0.1: expected a finite L-infinity radius"):
        fgsm(model, x, y, -0.1)
    with pytest.raises(ValueError, match=r"x spans \[.*, 2\]: expected images in \[0, 1\]"):
        fgsm(model, 2 * x.clamp_min(0.5), y, EPS)
    with pytest.raises(ValueError, match=r"y of shape \(3,\): expected images"):
        fgsm(model, x, y[:3], EPS)
    with pytest.raises(ValueError, match=r"steps=0: expected a positive number"):
        pgd(model, x, y, EPS, step_size=0.01, steps=0)
    with pytest.raises(ValueError, match=r"step_size=0: expected a positive step"):
        pgd(model, x, y, EPS, step_size=0, steps=1)
    with pytest.raises(ValueError, match=r"random_start=True needs generator="):
        pgd(model, x, y, EPS, step_size=0.01, steps=1)


def test_presets_have_the_papers_numbers():
    strong, weak = ATTACK_PRESETS["strong"], ATTACK_PRESETS["weak"]
    assert (strong.eps, strong.steps, strong.step_size) == (8 / 255, 10, 2 / 255)
    assert (weak.eps, weak.steps, weak.step_size) == (0.4 / 255, 7, 0.2 / 255)


@pytest.mark.parametrize("name", ["strong", "weak"])
def test_pgd_with_a_preset_raises_the_loss_inside_the_box(name):
    p = ATTACK_PRESETS[name]
    model, x, y = _cnn_batch(5)
    x[0], x[1] = 0.0, 1.0  # the [0, 1] walls
    adv = pgd(model, x, y, p.eps, step_size=p.step_size, steps=p.steps,
              generator=torch.Generator().manual_seed(0))
    assert (adv - x).abs().max() <= p.eps + 1e-7  # float32 rounding of x + delta
    assert adv.min() >= 0 and adv.max() <= 1
    model.eval()
    with torch.no_grad():
        clean, attacked = (nn.functional.cross_entropy(model(v), y, reduction="none")
                           for v in (x, adv))
    assert attacked.mean() > clean.mean()
    assert (attacked >= clean - 1e-4).float().mean() >= 0.9  # almost every sample's loss


def test_robustness_against_torchattacks_and_attack_scores():
    """Each entry equals attack_scores of torchattacks' FGSM and PGD with the preset numbers
    (no random start, so the attacks are deterministic and bit-identical)."""
    torchattacks = pytest.importorskip("torchattacks")
    model, x, y = _linear_binary()
    with torch.no_grad():  # logits W (x - 1/2): margins of both signs, some small
        model[1].bias.copy_(-0.5 * model[1].weight.sum(1))
    y = _predictions(model, x)
    y[::4] = 1 - y[::4]  # clean accuracy below 1, so the success rate is not 1 - robust
    got = robustness(model, x, y, random_start=False, batch_size=10)
    assert set(got) == {"clean_acc", "strong", "weak"}
    for name in ("strong", "weak"):
        p = ATTACK_PRESETS[name]
        refs = {"fgsm": torchattacks.FGSM(model, eps=p.eps),
                "pgd": torchattacks.PGD(model, eps=p.eps, alpha=p.step_size, steps=p.steps,
                                        random_start=False)}
        assert got[name]["eps"] == p.eps and got[name]["steps"] == p.steps
        for attack, ref in refs.items():
            want = attack_scores(model, x, y, lambda xb, yb, ref=ref: ref(xb, yb), batch_size=10)
            assert got["clean_acc"] == want["clean_acc"] == 0.75
            assert got[name][attack] == {k: want[k] for k in ("robust_acc", "success_rate")}
    # A larger budget flips more: the strong PGD flips some samples, more than the weak one.
    assert got["strong"]["pgd"]["success_rate"] > got["weak"]["pgd"]["success_rate"]
    assert got["strong"]["pgd"]["robust_acc"] < got["clean_acc"]


def test_robustness_random_start_is_explicit():
    model, x, y = _linear_binary()
    runs = [robustness(model, x, y, presets=("weak",),
                       generator=torch.Generator().manual_seed(s)) for s in (0, 0)]
    assert runs[0] == runs[1]
    with pytest.raises(ValueError, match=r"random_start=True needs generator="):
        robustness(model, x, y)
    with pytest.raises(ValueError, match=r"presets=\('strong', 'medium'\): unknown \['medium'\]"):
        robustness(model, x, y, presets=("strong", "medium"), random_start=False)


def _pixels():
    """logits = the flattened pixels (B, d), for losses written directly in x."""
    g = torch.Generator().manual_seed(7)
    x = 0.3 + 0.4 * torch.rand(12, 3, 4, 4, generator=g)  # eps = 0.1 stays inside [0, 1]
    return nn.Flatten(), x, torch.zeros(12, dtype=torch.long), g


def test_local_linearity_is_zero_for_a_linear_loss():
    model, x, y, g = _pixels()
    c = torch.randn(48, generator=g)
    gamma = local_linearity(model, x, y, 0.1, generator=g, loss=lambda z, _: z @ c,
                            reduction="none")
    assert gamma.shape == (12,)
    assert gamma.max() < 2e-6  # float32 cancellation of l(x + delta) - l(x) - delta.grad


def test_local_linearity_of_a_quadratic_loss_is_its_exact_maximum():
    """l(x) = 1/2 sum_i a_i x_i^2 with a >= 0: the remainder is 1/2 sum_i a_i delta_i^2,
    largest at every |delta_i| = eps: gamma = eps^2/2 sum_i a_i, reached by the ascent."""
    model, x, y, g = _pixels()
    a = torch.rand(48, generator=g)
    eps = 0.1
    gamma = local_linearity(model, x, y, eps, generator=g, steps=6,
                            loss=lambda z, _: 0.5 * (z**2) @ a, reduction="none")
    # float32 losses of size ~3 differenced down to ~0.1: 1e-5 relative.
    torch.testing.assert_close(gamma, torch.full((12,), 0.5 * eps**2 * a.sum().item()),
                               rtol=1e-5, atol=0)


def test_local_linearity_of_cross_entropy_on_a_linear_model():
    """Binary linear logits: CE = softplus(-m), m = u.x + c, so the remainder is a convex
    function R(t) of t = u.delta in [-eps |u|_1, eps |u|_1], largest at an end. The ascent
    follows the sign of its start's t to that end's vertex: each sample's gamma is R(+T) or
    R(-T), and never above the larger."""
    model, x, y = _linear_binary()
    eps = 0.05
    w = model[1].weight.detach()
    u = (w[y] - w[1 - y])  # (B, d): margin direction of each sample
    m0 = (u * x.flatten(1)).sum(1)
    t_max = eps * u.abs().sum(1)
    phi = nn.functional.softplus

    def remainder(t):  # R(t) = phi(-(m0 + t)) - phi(-m0) + sigmoid(-m0) t
        return phi(-(m0 + t)) - phi(-m0) + torch.sigmoid(-m0) * t

    ends = torch.stack([remainder(t_max), remainder(-t_max)])  # (2, B)
    gamma = local_linearity(model, x, y, eps, generator=torch.Generator().manual_seed(0),
                            steps=8, reduction="none")
    gap = (gamma[None] - ends).abs().amin(0)
    assert gap.max() < 1e-5  # float32 softplus differences
    assert (gamma <= ends.amax(0) + 1e-5).all()
    mean = local_linearity(model, x, y, eps, generator=torch.Generator().manual_seed(0),
                           steps=8)
    torch.testing.assert_close(mean, gamma.mean())


def test_local_linearity_grows_with_eps_and_leaves_the_model_as_it_was():
    model, x, y = _cnn_batch(6)
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    gammas = [local_linearity(model, x, y, eps, generator=torch.Generator().manual_seed(0),
                              steps=3).item() for eps in (1 / 255, 4 / 255, 16 / 255)]
    assert 0 < gammas[0] < gammas[1] < gammas[2]
    assert model.training and all(p.grad is None for p in model.parameters())
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    with pytest.raises(ValueError, match=r"reduction='sum': expected 'mean' or 'none'"):
        local_linearity(model, x, y, EPS, generator=torch.Generator(), reduction="sum")
    with pytest.raises(ValueError, match=r"generator=None: expected a torch.Generator"):
        local_linearity(model, x, y, EPS, generator=None)
