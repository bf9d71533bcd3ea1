"""GMU gate math, CentralNet α mixing and multi-head loss, late and early (concat) fusion."""

from __future__ import annotations

import pytest
import torch
from torch.nn.functional import binary_cross_entropy_with_logits as bce

from baselines.centralnet import CentralNet, build_centralnet
from baselines.fusion import build_concat, build_late_fusion
from baselines.gmu import GMUFusion, build_gmu
from idkg.inputs import InputSpec

C = 23


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def spec() -> InputSpec:
    return InputSpec(10, 12, 8, genre_embeddings=torch.randn(C, 8, generator=torch.Generator().manual_seed(0)),
                     mean_kg_count=2.0, mean_kg_degree=5.0)  # fmt: skip


def batch(n: int = 5) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    b = {"text": torch.randn(n, 10, generator=g), "image": torch.randn(n, 12, generator=g), "kg": torch.randn(n, 8, generator=g),
         "kg_count": torch.arange(n, dtype=torch.float32), "kg_degree": torch.arange(n, dtype=torch.float32) * 3}  # fmt: skip
    y = (torch.rand(n, C, generator=g) < 0.3).float()
    return b, y


def test_gmu_bimodal_gate_by_hand():
    fusion = GMUFusion(("text", "image"), 2)
    w = torch.tensor([[1.0, 0.0, -1.0, 0.5], [0.0, 2.0, 1.0, 0.0]])  # (D, 2D), no bias
    with torch.no_grad():
        fusion.gate.weight.copy_(w)
    x1, x2 = torch.tensor([[1.0, -0.5]]), torch.tensor([[0.5, 2.0]])
    h, gates = fusion({"text": x1, "image": x2})
    z = torch.sigmoid(torch.cat([x1, x2], 1) @ w.T)
    assert torch.allclose(h, z * torch.tanh(x1) + (1 - z) * torch.tanh(x2))
    assert torch.allclose(gates["text"], z) and torch.allclose(gates["image"], 1 - z)
    assert fusion.gate.bias is None


@pytest.mark.parametrize("activation", ["sigmoid", "softmax"])
def test_gmu_one_gate_per_modality_for_three(activation):
    fusion = GMUFusion(("text", "image", "kg"), 2, activation)
    w = torch.arange(36, dtype=torch.float32).view(6, 6) / 36 - 0.5
    with torch.no_grad():
        fusion.gate.weight.copy_(w)
    xs = [torch.tensor([[0.2, -1.0]]), torch.tensor([[1.0, 0.3]]), torch.tensor([[-0.7, 0.4]])]
    h, gates = fusion(dict(zip(("text", "image", "kg"), xs)))
    g = (torch.cat(xs, 1) @ w.T).view(3, 2)  # row m = pre-activation of z_m
    z = torch.softmax(g, 0) if activation == "softmax" else torch.sigmoid(g)
    assert torch.allclose(h[0], sum(z[m] * torch.tanh(xs[m][0]) for m in range(3)))
    assert torch.allclose(gates["kg"][0], z[2])
    if activation == "softmax":
        assert torch.allclose(sum(gates.values()), torch.ones(1, 2))


def test_gmu_variants_differ_only_in_config():
    b, y = batch()
    gmu = build_gmu(spec(), proj_dim=8)
    assert gmu.modalities == ("text", "image") and gmu.contrastive is None and not gmu.use_teacher
    assert set(gmu.loss(b, y)) == {"total", "bce"}
    gmu3 = build_gmu(spec(), proj_dim=8, use_kg=True)
    assert gmu3.modalities == ("text", "image", "kg") and gmu3.fusion.gate.out_features == 24
    idkg_gmu = build_gmu(spec(), proj_dim=8, use_kg=True, use_gcacl=True)
    out = idkg_gmu.loss(b, y)
    assert set(out) == {"total", "bce", "contra"}
    out["total"].backward()
    assert idkg_gmu.genre_anchors.grad.abs().sum() > 0 and idkg_gmu.fusion.gate.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="'gate_activation'"):
        build_gmu(spec(), use_kg=True, gate_activation="relu")


def test_centralnet_alpha_mixing():
    net = build_centralnet(spec(), hidden=2, depth=2)
    with torch.no_grad():
        net.alpha_modal.copy_(torch.tensor([[0.5, 2.0], [3.0, -1.0]]))
        net.alpha_central.fill_(0.25)
    u = [torch.tensor([[1.0, 2.0]]), torch.tensor([[4.0, 0.0]])]
    assert torch.allclose(net.mix(0, None, u), torch.tensor([[8.5, 1.0]]))
    c = torch.tensor([[4.0, 8.0]])
    assert torch.allclose(net.mix(1, c, u), torch.tensor([[3.0 - 4.0 + 1.0, 6.0 + 2.0]]))


def test_centralnet_multi_head_loss_and_gradients():
    net = build_centralnet(spec(), hidden=6, depth=3, unimodal_weight=0.3, modalities=["text", "image", "kg"])
    assert isinstance(net, CentralNet) and net.modalities == ("text", "image", "kg")
    b, y = batch()
    torch.manual_seed(0)
    central, uni = net.eval().branch_logits(b)
    out = net.loss(b, y)
    assert torch.allclose(out["bce"], bce(central, y))
    want = bce(central, y) + 0.3 * sum(bce(uni[m], y) for m in net.modalities)
    assert torch.allclose(out["total"], want)
    net.train().loss(b, y)["total"].backward()
    assert net.alpha_modal.grad.abs().sum() > 0 and net.alpha_central.grad.abs().sum() > 0
    assert net.eval()(b).shape == (5, C)


def test_late_fusion_combines_probabilities_or_logits_and_trains_each_probe():
    b, y = batch()
    late = build_late_fusion(spec()).eval()
    z = late.probe_logits(b)
    p = (torch.sigmoid(z["text"]) + torch.sigmoid(z["image"])) / 2
    assert torch.allclose(torch.sigmoid(late(b)), p, atol=1e-6)
    by_logits = build_late_fusion(spec(), combine="logits").eval()
    zl = by_logits.probe_logits(b)
    assert torch.allclose(by_logits(b), (zl["text"] + zl["image"]) / 2)
    out = late.loss(b, y)
    assert set(out) == {"total", "bce_text", "bce_image"}
    assert torch.allclose(out["total"], bce(z["text"], y) + bce(z["image"], y))
    with pytest.raises(ValueError, match="'modalities'"):
        build_late_fusion(spec(), modalities=("text", "audio"))


def test_concat_is_a_probe_on_standardised_concatenation():
    b, y = batch()
    cat = build_concat(spec(), modalities=("text", "kg")).eval()
    x = torch.cat([b["text"], b["kg"]], 1)
    assert torch.allclose(cat(b), cat.head(cat.norm(x)))
    assert cat.head.in_features == 18
    mlp = build_concat(spec(), hidden=7)
    assert mlp.head[0].out_features == 7
    assert torch.allclose(cat.loss(b, y)["total"], bce(cat(b), y))
