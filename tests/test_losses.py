"""Attention Teacher (Eq. 6-7) and G-CACL (Eq. 8-13) against values computed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from idkg.gcacl import GCACL, genre_centroids, masked_mean, negative_mask
from idkg.teacher import attention_teacher_loss, teacher_target

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_teacher_target_eq6_by_hand():
    n = torch.tensor([0.0, 1.0, 2.0, 4.0])
    s = torch.tensor([0.0, 3.0, 10.0, 8.0])
    got = teacher_target(n, s, mean_count=2.0, mean_degree=5.0)
    want = [0.0, 3 / (3 * 8), 20 / (4 * 15), 32 / (6 * 13)]
    assert got.tolist() == pytest.approx(want, abs=1e-7)
    assert not got.requires_grad


def test_teacher_target_zero_denominator_is_zero_not_nan():
    got = teacher_target(torch.tensor([0.0, 3.0]), torch.tensor([0.0, 0.0]), mean_count=0.0, mean_degree=0.0)
    assert got.tolist() == [0.0, 0.0]


def test_attention_loss_eq7_sum_and_mean_by_hand():
    a_k = torch.tensor([[0.2, 0.4], [0.1, 0.1], [0.5, 0.5], [1.0, 0.0]], requires_grad=True)
    target = torch.tensor([0.0, 0.125, 1 / 3, 32 / 78])
    diffs = [0.3, 0.025, 0.5 - 1 / 3, 0.5 - 32 / 78]
    want_sum = -sum(math.log(1 - d + 1e-6) for d in diffs)
    assert float(attention_teacher_loss(a_k, target, reduction="sum").detach()) == pytest.approx(want_sum, rel=1e-5)
    loss = attention_teacher_loss(a_k, target)  # default: mean over the batch
    assert float(loss.detach()) == pytest.approx(want_sum / 4, rel=1e-5)
    loss.backward()
    assert torch.isfinite(a_k.grad).all() and a_k.grad.abs().sum() > 0


def test_attention_loss_scalar_gate_and_saturated_gate_stay_finite():
    scalar = attention_teacher_loss(torch.tensor([0.25]), torch.tensor([0.0]))
    assert float(scalar) == pytest.approx(-math.log(0.75 + 1e-6), rel=1e-6)
    gate = torch.tensor([[1.0, 1.0]], requires_grad=True)  # |A − Ỹ| = 1 exactly
    loss = attention_teacher_loss(gate, torch.tensor([0.0]))
    loss.backward()
    assert math.isfinite(float(loss.detach())) and torch.isfinite(gate.grad).all()
    with pytest.raises(ValueError, match="'reduction'"):
        attention_teacher_loss(gate, torch.tensor([0.0]), reduction="max")


ANCHORS = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
LABELS = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.0, 0.0, 0.0]])  # movie 2 has no genre
FUSED = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])


def test_centroids_are_means_of_own_genres_eq8_9():
    c, has = genre_centroids(LABELS, ANCHORS)
    assert c.tolist() == [[1.0, 0.0], [0.5, 1.0], [0.0, 0.0]]
    assert has.tolist() == [True, True, False]


def test_negatives_are_batch_genres_minus_own_eq10_11():
    labels = torch.tensor([[1.0, 0, 0, 0], [0, 1, 1, 0]])  # genre 3 is absent from the batch
    assert negative_mask(labels).tolist() == [[False, True, True, False], [True, False, False, False]]


def _gcacl(weight, bias, **kw) -> GCACL:
    loss = GCACL(fused_dim=2, anchor_dim=2, num_genres=3, **kw)
    with torch.no_grad():
        loss.projection.weight.copy_(torch.tensor(weight))
        loss.projection.bias.copy_(torch.tensor(bias))
    return loss


def test_gcacl_eq13_dot_product_identity_projection():
    loss = _gcacl([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0], temperature=1.0, normalize=False)
    l0 = -math.log(math.e / (math.e + 1 + math.e))  # pos 1; negatives (genres 1, 2): 0, 1
    l1 = -math.log(math.e**2 / (math.e**2 + 1))  # pos f1·mean(E1,E2) = 2; negative (genre 0): 0
    assert float(loss(FUSED, LABELS, ANCHORS).detach()) == pytest.approx((l0 + l1) / 2, rel=1e-6)


def test_gcacl_eq12_shared_projection_is_applied_to_anchors_and_negatives():
    loss = _gcacl([[2.0, 0.0], [0.0, 1.0]], [0.0, 1.0], temperature=1.0, normalize=False)
    # W·C0 = [2,1]; W·E1 = [0,2]; W·E2 = [2,2]; W·C1 = [1,2]; W·E0 = [2,1]
    l0 = -math.log(math.exp(2) / (math.exp(2) + math.exp(0) + math.exp(2)))
    l1 = -math.log(math.exp(4) / (math.exp(4) + math.exp(2)))
    assert float(loss(FUSED, LABELS, ANCHORS).detach()) == pytest.approx((l0 + l1) / 2, rel=1e-6)


def test_gcacl_eq13_cosine_with_temperature():
    loss = _gcacl([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0], temperature=0.1)
    r = 1 / math.sqrt(2)
    l0 = -math.log(math.exp(10) / (math.exp(10) + math.exp(0) + math.exp(10 * r)))
    cos1 = 2 / (2 * math.sqrt(1.25))
    l1 = -math.log(math.exp(10 * cos1) / (math.exp(10 * cos1) + math.exp(0)))
    assert float(loss(FUSED, LABELS, ANCHORS).detach()) == pytest.approx((l0 + l1) / 2, rel=1e-5)


@pytest.mark.parametrize(
    "labels",
    [
        torch.tensor([[1.0, 0, 0], [1.0, 0, 0]]),  # nobody has a negative
        torch.zeros(2, 3),  # nobody has a genre
    ],
)
def test_gcacl_excluded_batch_is_zero_with_grad_not_nan(labels):
    loss = GCACL(fused_dim=2, anchor_dim=2, num_genres=3)
    fused = torch.randn(2, 2, requires_grad=True)
    anchors = ANCHORS.clone().requires_grad_(True)
    value = loss(fused, labels, anchors)
    assert float(value.detach()) == 0.0 and value.requires_grad
    value.backward()
    for t in (fused.grad, anchors.grad, loss.projection.weight.grad):
        assert t is not None and torch.isfinite(t).all()


def test_gcacl_mixed_batch_gradients_are_finite_and_reach_anchors_and_projection():
    loss = GCACL(fused_dim=2, anchor_dim=2, num_genres=3)
    fused = FUSED.clone().requires_grad_(True)
    anchors = ANCHORS.clone().requires_grad_(True)
    loss(fused, LABELS, anchors).backward()
    assert torch.isfinite(fused.grad).all() and fused.grad[2].abs().sum() == 0  # movie 2 excluded
    assert anchors.grad.abs().sum() > 0 and loss.projection.weight.grad.abs().sum() > 0


def test_gcacl_rejects_bad_temperature():
    with pytest.raises(ValueError, match="'temperature'.*Got 0"):
        GCACL(fused_dim=2, anchor_dim=2, num_genres=3, temperature=0)


def test_masked_mean_ignores_non_finite_excluded_values():
    v = torch.tensor([1.0, float("nan"), 3.0])
    assert float(masked_mean(v, torch.tensor([True, False, True]))) == 2.0
    assert float(masked_mean(v, torch.tensor([False, False, False]))) == 0.0
