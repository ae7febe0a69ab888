"""FGSM and PGD: against torchattacks, against the exact worst case of a linear model, and
the invariants (the eps-box, [0, 1], explicit randomness, the model left as it was)."""

import pytest
import torch
from torch import nn

from deep.attacks import attack_scores, fgsm, pgd
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
