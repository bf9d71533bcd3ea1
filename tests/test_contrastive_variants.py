"""The contrastive losses that replace G-CACL (MulCon, MCL, MLTC, C-GMVAE), against hand values."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from baselines.contrastive import CGMVAE, MCL, MLTC, MulCon

LOSSES = [MulCon, MCL, MLTC, CGMVAE]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _set_linear(layer: nn.Linear, weight: list[list[float]], bias: list[float] | None = None) -> None:
    """Hand-set a Linear's weight (out, in) and bias (zeros if None)."""
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weight))
        layer.bias.copy_(torch.tensor(bias) if bias is not None else torch.zeros(layer.out_features))


def _lse(xs: list[float]) -> float:
    m = max(xs)
    return m + math.log(sum(math.exp(x - m) for x in xs))


def _unit(v: list[float]) -> list[float]:
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v]


def _dot(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b))


def _make(cls: type[nn.Module], **kw: object) -> nn.Module:
    torch.manual_seed(0)
    return cls(fused_dim=4, anchor_dim=3, num_genres=3, **kw)


def _random_inputs(batch: int = 5, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    fused = torch.randn(batch, 4, generator=g, requires_grad=True)
    labels = torch.tensor([[1, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 0], [0, 1, 1]][:batch], dtype=torch.float32)
    anchors = torch.randn(3, 3, generator=g, requires_grad=True)
    return fused, labels, anchors


# ---------------------------------------------------------------- MulCon


def test_mulcon_matches_hand_computation():
    """Label-level attention + SupCon over positive label-level embeddings, worked by hand."""
    loss = MulCon(fused_dim=2, anchor_dim=2, num_genres=3, temperature=0.5, proj_dim=2, hidden_dim=2)
    _set_linear(loss.query, [[1, 0], [0, 1]])
    _set_linear(loss.projector[0], [[1, 0], [0, 1]])
    _set_linear(loss.projector[2], [[1, 0], [0, 1]])
    fused = torch.tensor([[1.0, 2.0], [2.0, 1.0]])
    anchors = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])  # queries: uniform, channel 0, channel 1
    labels = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]])
    e = math.e
    g = {
        (0, 0): [1.0, 2.0],  # uniform attention returns f_0
        (1, 0): [2.0, 1.0],
        (0, 1): [2 * e / (e + 1) * 1.0, 2 * 1 / (e + 1) * 2.0],  # softmax([1, 0]) over channels
        (1, 2): [2 * 1 / (1 + e) * 2.0, 2 * e / (1 + e) * 1.0],  # softmax([0, 1])
    }
    z = {k: _unit(v) for k, v in g.items()}
    items = list(z)

    def term(a: tuple[int, int], p: tuple[int, int]) -> float:
        others = [_dot(z[a], z[b]) / 0.5 for b in items if b != a]
        return -(_dot(z[a], z[p]) / 0.5 - _lse(others))

    # Only label 0 appears in two samples: anchors (0,0) and (1,0) have one positive each.
    expected = (term((0, 0), (1, 0)) + term((1, 0), (0, 0))) / 2
    assert loss(fused, labels, anchors).item() == pytest.approx(expected, rel=1e-5)


def test_mulcon_matches_loop_implementation_with_random_weights():
    """The vectorised loss equals a plain loop over (sample, label) pairs, default MLP head."""
    torch.manual_seed(3)
    loss = MulCon(fused_dim=4, anchor_dim=3, num_genres=3, temperature=0.2, proj_dim=3)
    fused, labels, anchors = _random_inputs()
    with torch.no_grad():
        q = loss.query(anchors)
        pairs = [(i, j) for i in range(labels.shape[0]) for j in range(3) if labels[i, j] == 1]
        z = {}
        for i, j in pairs:
            alpha = torch.softmax(q[j] * fused[i], dim=0)
            z[(i, j)] = nn.functional.normalize(loss.projector(4 * alpha * fused[i]), dim=0)
        terms = []
        for a in pairs:
            positives = [p for p in pairs if p[1] == a[1] and p != a]
            if not positives:
                continue
            denom = torch.logsumexp(torch.stack([z[a] @ z[b] / 0.2 for b in pairs if b != a]), dim=0)
            terms.append(-sum(z[a] @ z[p] / 0.2 - denom for p in positives) / len(positives))
        expected = torch.stack(terms).mean()
    assert loss(fused, labels, anchors).item() == pytest.approx(expected.item(), rel=1e-5)


# ---------------------------------------------------------------- MCL and MLTC


def _prototype_case(cls: type[nn.Module]) -> torch.Tensor:
    """Two samples f0=[1,0] {g0}, f1=[0,1] {g0,g1}; prototypes [1,0], [0,1], [-1,0]; tau = 1."""
    loss = cls(fused_dim=2, anchor_dim=2, num_genres=3, temperature=1.0)
    _set_linear(loss.label_proj, [[1, 0], [0, 1]])
    fused = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    labels = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    anchors = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    return loss(fused, labels, anchors)


def test_mcl_matches_hand_computation():
    """Jaccard weights: sample-sample 1/2, sample-prototype 1/|Y_i| for its own genres."""
    e = math.e
    # anchor 0: items f1 (cos 0, w 1/2), e0 (cos 1, w 1), e1 (cos 0, w 0), e2 (cos -1, w 0)
    l0 = math.log(2 + e + 1 / e) - (0.5 * 0 + 1 * 1) / 1.5
    # anchor 1: items f0 (cos 0, w 1/2), e0 (cos 0, w 1/2), e1 (cos 1, w 1/2), e2 (cos 0, w 0)
    l1 = math.log(3 + e) - (0.5 * 1) / 1.5
    assert _prototype_case(MCL).item() == pytest.approx((l0 + l1) / 2, rel=1e-5)


def test_mltc_matches_hand_computation():
    """Shared-label-count weights and negative Euclidean distance of unit vectors."""
    r2 = math.sqrt(2)
    # anchor 0: f1 (d sqrt2, C 1), e0 (d 0, C 1), e1 (d sqrt2, C 0), e2 (d 2, C 0)
    l0 = math.log(2 * math.exp(-r2) + 1 + math.exp(-2)) + (r2 + 0) / 2
    # anchor 1: f0 (d sqrt2, C 1), e0 (d sqrt2, C 1), e1 (d 0, C 1), e2 (d sqrt2, C 0)
    l1 = math.log(3 * math.exp(-r2) + 1) + (2 * r2) / 3
    assert _prototype_case(MLTC).item() == pytest.approx((l0 + l1) / 2, rel=1e-5)


@pytest.mark.parametrize("cls", [MCL, MLTC])
def test_sample_losses_match_loop_implementation(cls):
    """Random weights, a row without labels: equals a loop over anchors and contrast items."""
    torch.manual_seed(5)
    loss = cls(fused_dim=4, anchor_dim=3, num_genres=3, temperature=0.3)
    fused, labels, anchors = _random_inputs()
    labels[3] = 0.0  # no genre: not an anchor, still a negative for the others
    with torch.no_grad():
        items = torch.cat([fused, loss.label_proj(anchors)])
        item_labels = torch.cat([labels, torch.eye(3)])
        z = nn.functional.normalize(items, dim=1)
        terms = []
        for i in range(fused.shape[0]):
            others = [k for k in range(items.shape[0]) if k != i]
            sims = []
            weights = []
            for k in others:
                inter = float((labels[i] * item_labels[k]).sum())
                union = float(((labels[i] + item_labels[k]) > 0).sum())
                if cls is MCL:
                    sims.append(float(z[i] @ z[k]) / 0.3)
                    weights.append(inter / union if union else 0.0)
                else:
                    sims.append(-float(torch.linalg.vector_norm(z[i] - z[k])) / 0.3)
                    weights.append(inter)
            if sum(weights) == 0:
                continue
            denom = _lse(sims)
            terms.append(-sum(w * (s - denom) for w, s in zip(weights, sims)) / sum(weights))
        expected = sum(terms) / len(terms)
    assert loss(fused, labels, anchors).item() == pytest.approx(expected, rel=1e-4)


def test_mcl_and_mltc_weight_pairs_differently():
    """Same inputs, different weighting (Jaccard vs shared count): the two losses differ."""
    assert _prototype_case(MCL).item() != pytest.approx(_prototype_case(MLTC).item(), rel=1e-3)


# ---------------------------------------------------------------- C-GMVAE


def _cgmvae_hand() -> CGMVAE:
    """latent 1, emb 2: e_j = anchor_j, mu_j = e_j[0], logvar 0; mu_x = f[0]; dec(f, z) = unit([f0, z])."""
    loss = CGMVAE(fused_dim=2, anchor_dim=2, num_genres=3, temperature=1.0, latent_dim=1, emb_dim=2)
    _set_linear(loss.label_proj, [[1, 0], [0, 1]])
    _set_linear(loss.label_mu, [[1, 0]])
    _set_linear(loss.label_logvar, [[0, 0]])
    _set_linear(loss.feat_mu, [[1, 0]])
    _set_linear(loss.feat_logvar, [[0, 0]])
    _set_linear(loss.decoder, [[1, 0, 0], [0, 0, 1]])
    return loss.eval()


def test_cgmvae_matches_hand_computation():
    """KL to the mixture of the positive labels' Gaussians + feature/label-side contrastive terms."""
    loss = _cgmvae_hand()
    fused = torch.tensor([[0.5, 0.0], [3.0, 1.0]])
    labels = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0]])  # second row: no genre, left out
    anchors = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])  # mu_label = 1, 0, -1
    # z = mu_x = 0.5, sigma = 1 everywhere; log q(z) = 0 (constants cancel)
    log_prior = math.log((math.exp(-0.5 * 0.5**2) + math.exp(-0.5 * 1.5**2)) / 2)
    kl = 0.0 - log_prior

    def con(a: list[float]) -> float:
        s = [_dot(a, k) for k in ([1, 0], [0, 1], [-1, 0])]
        return -((s[0] - _lse(s)) + (s[2] - _lse(s))) / 2

    u = _unit([0.5, 0.5])  # decode(f, z = 0.5)
    v = _unit([0.5, 0.0])  # decode(f, mean of mu_0 = 1 and mu_2 = -1 = 0)
    expected = kl + (con(u) + con(v)) / 2
    terms = loss.terms(fused, labels, anchors)
    assert terms["kl"].item() == pytest.approx(kl, rel=1e-5)
    assert loss(fused, labels, anchors).item() == pytest.approx(expected, rel=1e-5)


def test_cgmvae_weights_scale_the_terms():
    loss = _cgmvae_hand()
    fused, labels = torch.tensor([[0.5, 0.0]]), torch.tensor([[1.0, 0.0, 1.0]])
    anchors = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    t = loss.terms(fused, labels, anchors)
    loss.kl_weight, loss.contrastive_weight = 6.0, 0.5
    assert loss(fused, labels, anchors).item() == pytest.approx(6 * t["kl"].item() + 0.5 * t["contrastive"].item())


def test_cgmvae_sampling_is_reproducible_with_a_generator_and_off_in_eval():
    fused, labels, anchors = _random_inputs()
    values = []
    for _ in range(2):
        torch.manual_seed(0)
        loss = CGMVAE(fused_dim=4, anchor_dim=3, num_genres=3, latent_dim=2, generator=torch.Generator().manual_seed(7))
        values.append(loss(fused, labels, anchors).item())
    assert values[0] == values[1]
    loss.eval()
    assert loss(fused, labels, anchors).item() == loss(fused, labels, anchors).item()
    loss.train()
    assert loss(fused, labels, anchors).item() != loss(fused, labels, anchors).item()  # fresh eps


# ---------------------------------------------------------------- shared contract


DEGENERATE = {
    "no labels": torch.zeros(4, 3),
    "one sample": torch.tensor([[1.0, 1.0, 0.0]]),
    "identical labels": torch.tensor([[1.0, 0.0, 1.0]] * 4),
    "each label once": torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]),
    "one unlabelled row": torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0], [1.0, 1.0, 0.0]]),
}


@pytest.mark.parametrize("cls", LOSSES)
@pytest.mark.parametrize("case", list(DEGENERATE))
def test_degenerate_batches_are_finite_with_finite_gradients(cls, case):
    labels = DEGENERATE[case]
    loss = _make(cls)
    g = torch.Generator().manual_seed(2)
    fused = torch.randn(labels.shape[0], 4, generator=g, requires_grad=True)
    anchors = torch.randn(3, 3, generator=g, requires_grad=True)
    value = loss(fused, labels, anchors)
    assert value.dim() == 0 and torch.isfinite(value)
    value.backward()
    for t in [fused, anchors, *loss.parameters()]:
        assert t.grad is not None and torch.isfinite(t.grad).all()
    if case == "no labels":
        assert value.item() == 0.0


@pytest.mark.parametrize("cls", LOSSES)
def test_identical_fused_rows_are_finite(cls):
    """Identical representations (distance 0, cosine 1) must not give NaN, e.g. through sqrt."""
    loss = _make(cls)
    fused = torch.ones(3, 4, requires_grad=True)
    anchors = torch.randn(3, 3, requires_grad=True)
    value = loss(fused, torch.tensor([[1.0, 1.0, 0.0]] * 3), anchors)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(fused.grad).all() and torch.isfinite(anchors.grad).all()


@pytest.mark.parametrize("cls", LOSSES)
def test_gradients_reach_fused_anchors_and_own_parameters(cls):
    loss = _make(cls)
    fused, labels, anchors = _random_inputs()
    loss(fused, labels, anchors).backward()
    assert fused.grad.abs().sum() > 0
    assert anchors.grad.abs().sum() > 0
    for name, p in loss.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("cls", [MCL, MLTC])
def test_without_label_prototypes_anchors_get_no_gradient(cls):
    """The batch-only form of the paper: documented to leave the genre anchors untouched."""
    loss = _make(cls, label_prototypes=False)
    fused, labels, anchors = _random_inputs()
    loss(fused, labels, anchors).backward()
    assert fused.grad.abs().sum() > 0
    assert anchors.grad is None


@pytest.mark.parametrize("cls", LOSSES)
def test_bad_shapes_and_temperature_raise_one_line_errors(cls):
    loss = _make(cls)
    fused, labels, anchors = _random_inputs()
    with pytest.raises(ValueError, match=f"{cls.__name__}: anchors"):
        loss(fused, labels, anchors[:2])
    with pytest.raises(ValueError, match=f"{cls.__name__}: labels"):
        loss(fused, labels[:, :2], anchors)
    with pytest.raises(ValueError, match=f"{cls.__name__}: fused"):
        loss(fused[:, :3], labels, anchors)
    with pytest.raises(ValueError, match="'temperature' parameter"):
        cls(fused_dim=4, anchor_dim=3, num_genres=3, temperature=0.0)


@pytest.mark.parametrize("cls", LOSSES)
def test_loss_trains_representation_toward_lower_loss(cls):
    """A few optimiser steps on fused, anchors and the loss's parameters lower the loss."""
    loss = _make(cls)
    if cls is CGMVAE:
        loss.eval()  # deterministic z = mu, so the comparison is not sampling noise
    fused, labels, anchors = _random_inputs()
    fused = fused.detach().requires_grad_()
    anchors = anchors.detach().requires_grad_()
    opt = torch.optim.Adam([fused, anchors, *loss.parameters()], lr=0.05)
    first = loss(fused, labels, anchors).item()
    for _ in range(40):
        opt.zero_grad()
        value = loss(fused, labels, anchors)
        value.backward()
        opt.step()
    assert torch.isfinite(value) and value.item() < first


def test_losses_run_inside_idkg_when_available():
    """Each loss plugs into IDKG as ``contrastive=`` (skipped until idkg.model exists)."""
    model_mod = pytest.importorskip("idkg.model")
    from idkg.inputs import InputSpec

    spec = InputSpec(text_dim=6, image_dim=5, kg_dim=4, num_genres=3, genre_embeddings=torch.randn(3, 4))
    g = torch.Generator().manual_seed(0)
    batch = {
        "text": torch.randn(6, 6, generator=g),
        "image": torch.randn(6, 5, generator=g),
        "kg": torch.randn(6, 4, generator=g),
        "kg_count": torch.tensor([0.0, 1, 2, 3, 0, 5]),
        "kg_degree": torch.tensor([0.0, 4, 1, 9, 0, 2]),
    }
    labels = torch.tensor([[1.0, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 0], [0, 0, 0], [0, 1, 1]])
    for cls in LOSSES:
        model = model_mod.build_idkg(spec, contrastive=cls, proj_dim=8, classifier_hidden=0, dropout=0.0)
        assert isinstance(model.contrastive, cls)
        out = model.loss(batch, labels)
        assert torch.isfinite(out["total"]) and out["contra"].item() > 0, cls.__name__
        out["total"].backward()
        assert model.genre_anchors.grad is not None and model.genre_anchors.grad.abs().sum() > 0, cls.__name__
        with torch.no_grad():
            assert model(batch).shape == (6, 3)
