"""The "as released" IDKG variant: each departure from the paper, checked by hand."""

from __future__ import annotations

import inspect
import math

import pytest
import torch

from baselines.as_released import (
    RELEASED_KG_GENRE_ORDER,
    AsReleasedIDKG,
    build,
    released_supcon,
    released_teacher_target,
)
from idkg.inputs import InputSpec
from mmimdb2.genres import GENRE_INDEX, GENRES

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _spec(genre_embeddings: torch.Tensor | None = None) -> InputSpec:
    return InputSpec(text_dim=8, image_dim=7, kg_dim=6, genre_embeddings=genre_embeddings)


def _batch(n: int, seed: int = 0) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Random features whose labels depend on them (so training can lower the loss)."""
    g = torch.Generator().manual_seed(seed)
    text, image, kg = torch.randn(n, 8, generator=g), torch.randn(n, 7, generator=g), torch.randn(n, 6, generator=g)
    count = torch.randint(0, 9, (n,), generator=g).float()
    batch = {"text": text, "image": image, "kg": kg, "kg_count": count, "kg_degree": count * 3}
    w = torch.randn(8, 23, generator=g)
    labels = (text @ w > 0.8).float()
    return batch, labels


def test_teacher_target_is_count_over_count_plus_six():
    """processor/dataset.py: kgweight = i / (i + 6); the degree S plays no part."""
    got = released_teacher_target(torch.tensor([0.0, 1.0, 3.0, 6.0, 12.0]))
    assert got.tolist() == pytest.approx([0.0, 1 / 7, 3 / 9, 0.5, 12 / 18])


def test_teacher_loss_by_hand_with_half_open_gates():
    """Zero gate weights give z = sigmoid(0) = 0.5; counts 0 and 6 give targets 0 and 0.5."""
    model = build(_spec(), hidden_dim=4)
    with torch.no_grad():
        model.gates["kg"].zero_()
    batch, labels = _batch(2)
    batch["kg_count"] = torch.tensor([0.0, 6.0])
    teacher = model.loss(batch, labels)["teacher"]
    # -mean(log(1 - |0.5 - 0|), log(1 - |0.5 - 0.5|)) = -(log 0.5 + 0) / 2
    assert teacher.item() == pytest.approx(math.log(2) / 2, rel=1e-6)


def test_fusion_is_independent_sigmoid_gates_over_tanh_features():
    model = build(_spec(), hidden_dim=5).eval()
    batch, _ = _batch(3)
    fused, gates = model._encode(batch)
    expected = 0.0
    for m in ("text", "image", "kg"):
        x = model.align[m](batch[m])
        assert torch.allclose(gates[m], torch.sigmoid(x @ model.gates[m]))
        expected = expected + torch.sigmoid(x @ model.gates[m]) * torch.tanh(x)
    assert torch.allclose(fused, expected)
    assert model.gates["text"].data_ptr() != model.gates["kg"].data_ptr()  # not shared


def test_classifier_is_linear_scaled_by_label_aware_gate():
    """No nonlinearity: logits are affine in F^fu, times sigmoid(conv1d(mean of each anchor))."""
    anchors = torch.randn(23, 6, generator=torch.Generator().manual_seed(1))
    model = build(_spec(anchors), hidden_dim=4).eval()
    with torch.no_grad():
        model.label_aware.weight.copy_(torch.tensor([[[0.0, 1.0, 0.0]]]))
        model.label_aware.bias.zero_()
    assert torch.allclose(model.label_scale(), torch.sigmoid(anchors.mean(dim=1)))
    f1, f2 = torch.randn(2, 4), torch.randn(2, 4)
    head = model.classifier
    lin = head(f1 + f2) - head(f1) - head(f2) + head(torch.zeros(2, 4))
    assert torch.allclose(lin, torch.zeros_like(lin), atol=1e-5)
    assert not any(isinstance(m, (torch.nn.ReLU, torch.nn.Tanh, torch.nn.GELU)) for m in head.modules())


def test_released_supcon_by_hand():
    """Three unit features, share-any mask, tau = 0.5 and the loss scaled by tau."""
    f = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 0.0]])
    y = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    mask = ((y @ y.T) > 0).float()
    e2 = math.e**2
    row0 = -(2 - math.log(1 + e2))  # positive 2 (s=2); negative 1 (s=0)
    row1 = math.log(2)  # positive 2 (s=0); negative 0 (s=0)
    row2 = math.log(1 + e2) - 1  # positives 0 (s=2) and 1 (s=0); no negative
    expected = 0.5 * (row0 + row1 + row2) / 3
    assert released_supcon(f, mask, 0.5).item() == pytest.approx(expected, rel=1e-6)
    assert released_supcon(f, mask, 0.5, scale_by_temperature=False).item() == pytest.approx(2 * expected, rel=1e-6)
    assert released_supcon(f, torch.eye(3), 0.5) is None  # no positives anywhere


def test_anchors_are_frozen_and_get_no_gradient():
    anchors = torch.randn(23, 6)
    model = build(_spec(anchors), hidden_dim=4)
    assert torch.equal(model.genre_embeddings, anchors)
    assert "genre_embeddings" not in dict(model.named_parameters())
    assert "genre_embeddings" in model.state_dict()
    batch, labels = _batch(6)
    model.loss(batch, labels)["total"].backward()
    assert not model.genre_embeddings.requires_grad and model.genre_embeddings.grad is None
    assert model.label_aware.weight.grad is not None and model.gates["kg"].grad.abs().sum() > 0


def test_forward_is_label_free():
    model = build(_spec(), hidden_dim=4).eval()
    assert list(inspect.signature(model.forward).parameters) == ["batch"]
    batch, labels = _batch(5)
    logits = model(batch)
    assert logits.shape == (5, 23) and torch.isfinite(logits).all()
    assert torch.equal(logits, model({k: v for k, v in batch.items() if k in ("text", "image", "kg")}))
    with pytest.raises(KeyError, match="idkg-as-released: batch lacks"):
        model({"text": batch["text"]})


def test_loss_has_total_as_sum_of_its_terms():
    model = build(_spec(), hidden_dim=4, teacher_weight=2.0, contrastive_weight=0.5)
    batch, labels = _batch(8)
    out = model.loss(batch, labels)
    assert set(out) == {"total", "bce", "teacher", "contrastive"}
    want = out["bce"] + 2.0 * out["teacher"] + 0.5 * out["contrastive"]
    assert out["total"].item() == pytest.approx(want.item())


@pytest.mark.parametrize("config", [{}, {"teacher_gate": "sum"}, {"contrast_mask": "identical"}])
def test_training_steps_lower_the_loss_without_nan(config):
    torch.manual_seed(0)
    model = build(_spec(), hidden_dim=16, **config)
    batch, labels = _batch(48, seed=3)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = model.loss(batch, labels)["total"].item()
    for _ in range(25):
        opt.zero_grad()
        out = model.loss(batch, labels)
        assert all(torch.isfinite(v) for v in out.values())
        out["total"].backward()
        opt.step()
    assert model.loss(batch, labels)["total"].item() < first


def test_degenerate_labels_are_finite():
    model = build(_spec(), hidden_dim=4)
    batch, _ = _batch(4)
    out = model.loss(batch, torch.zeros(4, 23))
    assert torch.isfinite(out["total"]) and out["contrastive"].item() == 0.0
    out["total"].backward()


def test_anchor_order_reproduces_positional_pairing():
    table = torch.arange(23, dtype=torch.float32).unsqueeze(1).repeat(1, 6)  # row j filled with j
    model = build(_spec(table), hidden_dim=4, anchor_order=RELEASED_KG_GENRE_ORDER)
    # label column 2 (Romance in GENRES) is paired with the released entity row 2 (Action)
    assert GENRES[2] == "Romance" and RELEASED_KG_GENRE_ORDER[2] == "Action"
    assert model.genre_embeddings[2, 0].item() == GENRE_INDEX["Action"]
    with pytest.raises(ValueError, match="anchor_order"):
        build(_spec(table), anchor_order=("Drama",) * 23)


def test_random_anchors_follow_the_seed_and_bad_config_raises():
    a = build(_spec(), hidden_dim=4, seed=5).genre_embeddings
    assert torch.equal(a, build(_spec(), hidden_dim=4, seed=5).genre_embeddings)
    assert not torch.equal(a, build(_spec(), hidden_dim=4, seed=6).genre_embeddings)
    assert isinstance(build(_spec()), AsReleasedIDKG)
    with pytest.raises(ValueError, match="'teacher_gate' parameter"):
        build(_spec(), teacher_gate="text")
    with pytest.raises(ValueError, match="'contrast_mask' parameter"):
        build(_spec(), contrast_mask="any")
    with pytest.raises(ValueError, match="'temperature' parameter"):
        build(_spec(), temperature=0)
    with pytest.raises(ValueError, match="genre_embeddings must be"):
        build(_spec(torch.randn(22, 6)))
    with pytest.raises(TypeError):
        build(_spec(), no_such_option=1)
