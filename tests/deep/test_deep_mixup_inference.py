"""deep.mixup_inference: Mixup Inference (Pang et al. 2020) on constructed cases."""

from __future__ import annotations

import pytest
import torch

from deep.mixup_inference import draw_partners, mi_scores, mixup_inference
from deep.models import build_model


def _model(seed=0):
    torch.manual_seed(seed)
    return build_model("cnn", 1, 4, torch.zeros(1), torch.ones(1), width=4).eval()


def _pool(n=40, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand((n, 1, 8, 8), generator=g)
    y = torch.arange(n) % 4  # every class present
    return x, y


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def test_lam_one_is_the_plain_prediction():
    m = _model()
    xp, yp = _pool()
    x, _ = _pool(12, seed=2)
    for v in ("pl", "ol"):
        p = mixup_inference(m, x, xp, yp, variant=v, lam=1.0, n_samples=5, generator=_gen(0))
        with torch.no_grad():
            torch.testing.assert_close(p, m(x).softmax(1), rtol=1e-5, atol=1e-6)


def test_average_of_softmax_over_the_drawn_mixtures():
    """p_MI = mean_j softmax f(lam x + (1 - lam) x_pool[partner_j]), recomputed by hand."""
    m = _model()
    xp, yp = _pool()
    x, _ = _pool(6, seed=3)
    p, idx = mixup_inference(m, x, xp, yp, variant="ol", lam=0.7, n_samples=4,
                             generator=_gen(5), return_partners=True)
    with torch.no_grad():
        ref = torch.stack([m(0.7 * x + 0.3 * xp[idx[:, j]]).softmax(1) for j in range(4)])
    torch.testing.assert_close(p, ref.mean(0), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(p.sum(1), torch.ones(6))


def test_seeded_generators_reproduce_and_seeds_differ():
    m = _model()
    xp, yp = _pool()
    x, _ = _pool(10, seed=4)
    a = mixup_inference(m, x, xp, yp, lam=0.5, n_samples=3, generator=_gen(11),
                        return_partners=True)
    b = mixup_inference(m, x, xp, yp, lam=0.5, n_samples=3, generator=_gen(11),
                        return_partners=True)
    c = mixup_inference(m, x, xp, yp, lam=0.5, n_samples=3, generator=_gen(12),
                        return_partners=True)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[1], c[1])


def test_partners_have_the_predicted_label_or_not():
    yp = torch.tensor([0, 1, 2, 3, 2, 1, 0, 3, 3, 2, 1, 2])  # unsorted, unbalanced
    pred = torch.tensor([0, 1, 2, 3, 2, 0])
    pl = draw_partners(pred, yp, "pl", 200, generator=_gen(0))
    ol = draw_partners(pred, yp, "ol", 200, generator=_gen(0))
    assert pl.shape == ol.shape == (6, 200)
    assert torch.equal(yp[pl], pred[:, None].expand(-1, 200))
    assert bool((yp[ol] != pred[:, None]).all())
    # MI-OL reaches every other-label sample, MI-PL every same-label one (uniform draws)
    for i, c in enumerate(pred.tolist()):
        assert set(ol[i].tolist()) == set((yp != c).nonzero().ravel().tolist())
        assert set(pl[i].tolist()) == set((yp == c).nonzero().ravel().tolist())


def test_missing_partner_class_is_refused():
    yp = torch.tensor([0, 0, 1, 1])
    with pytest.raises(ValueError, match="y_pool: no partner of that label"):
        draw_partners(torch.tensor([2]), yp, "pl", 3, generator=_gen(0))
    with pytest.raises(ValueError, match="no partner of another label"):
        draw_partners(torch.tensor([0]), torch.tensor([0, 0]), "ol", 3, generator=_gen(0))


@pytest.mark.parametrize("kw, name", [
    ({"variant": "xx"}, "variant="), ({"lam": 0.0}, "lam="), ({"lam": 1.5}, "lam="),
    ({"lam": True}, "lam="), ({"n_samples": 0}, "n_samples="),
    ({"n_samples": 2.0}, "n_samples="),
])
def test_bad_options_are_named(kw, name):
    m = _model()
    xp, yp = _pool()
    opts = dict(variant="pl", lam=0.5, n_samples=2, generator=_gen(0)) | kw
    with pytest.raises(ValueError, match=name):
        mixup_inference(m, xp[:2], xp, yp, **opts)


def test_mi_scores_with_lam_one_match_the_plain_model():
    m = _model()
    xp, yp = _pool()
    x, y = _pool(16, seed=6)
    out = mi_scores(m, x, y, xp, yp, lam=1.0, n_samples=2, seed=3)
    assert set(out) == {"lam", "n_samples", "clean", "strong", "weak"}
    for rec in (out["clean"], out["strong"], out["weak"]):
        assert rec["pl"] == rec["plain"] == rec["ol"]
    with torch.no_grad():
        assert out["clean"]["plain"] == pytest.approx(float((m(x).argmax(1) == y).float()
                                                            .mean()))
    # the oblivious PGD is the same attack with the same seed: reproducible
    again = mi_scores(m, x, y, xp, yp, lam=1.0, n_samples=2, seed=3)
    assert again == out
