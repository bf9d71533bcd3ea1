"""IDKG (Eq. 5, 14-15): fusion math, what gradients reach, label-free inference, ablation switches."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from idkg.gcacl import GCACL
from idkg.inputs import InputSpec
from idkg.model import IDKG, Aligner, AttentionFusion, IDKGConfig, build_idkg, make_config

B, C = 6, 23


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_spec(genres: bool = True) -> InputSpec:
    g = torch.Generator().manual_seed(1)
    emb = torch.randn(C, 8, generator=g) if genres else None
    return InputSpec(text_dim=10, image_dim=12, kg_dim=8, genre_embeddings=emb, mean_kg_count=2.0, mean_kg_degree=6.0)


def tiny_batch(seed: int = 0) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    batch = {
        "text": torch.randn(B, 10, generator=g),
        "image": torch.randn(B, 12, generator=g),
        "kg": torch.randn(B, 8, generator=g),
        "kg_count": torch.tensor([0.0, 1, 2, 3, 4, 5]),
        "kg_degree": torch.tensor([0.0, 2, 6, 9, 12, 20]),
    }
    labels = torch.zeros(B, C)
    labels[torch.arange(B), torch.tensor([0, 1, 2, 0, 3, 4])] = 1.0
    labels[1, 5] = 1.0
    return batch, labels


def small(**kw) -> IDKG:
    kw.setdefault("kg_dropout", 0.0)  # the formula tests compare loss() with forward(): no random KG drop
    return build_idkg(tiny_spec(), proj_dim=16, classifier_hidden=8, **kw)


def test_aligner_is_linear_of_batchnorm_eq5():
    al = Aligner(3, 2).eval()
    with torch.no_grad():
        al.norm.running_mean.copy_(torch.tensor([1.0, 0.0, -1.0]))
        al.norm.running_var.copy_(torch.tensor([4.0, 1.0, 0.25]))
        al.proj.weight.copy_(torch.tensor([[1.0, 2.0, 3.0], [0.0, -1.0, 1.0]]))
        al.proj.bias.copy_(torch.tensor([0.5, -0.5]))
    x = torch.tensor([[3.0, 1.0, 0.0]])
    z = (x - al.norm.running_mean) / torch.sqrt(al.norm.running_var + al.norm.eps)
    want = z @ al.proj.weight.T + al.proj.bias
    assert torch.allclose(al(x), want)
    assert z.tolist()[0] == pytest.approx([1.0, 1.0, 2.0], abs=1e-4)


@pytest.mark.parametrize("width", ["vector", "scalar"])
def test_attention_fusion_shares_one_gate_and_sums_gated_features(width):
    fusion = AttentionFusion(2, width)
    with torch.no_grad():
        w = torch.tensor([[1.0, -1.0], [0.5, 2.0]]) if width == "vector" else torch.tensor([[1.0, -1.0]])
        fusion.gate.weight.copy_(w)
        fusion.gate.bias.fill_(0.25)
    feats = {"text": torch.tensor([[1.0, 2.0]]), "image": torch.tensor([[0.0, -1.0]]), "kg": torch.tensor([[3.0, 0.5]])}
    fused, gates = fusion(feats)
    want = sum(h * torch.sigmoid(h @ w.T + 0.25) for h in feats.values())
    assert torch.allclose(fused, want)
    assert torch.allclose(gates["kg"], torch.sigmoid(feats["kg"] @ w.T + 0.25))
    assert gates["text"].shape == (1, 2 if width == "vector" else 1)


def test_forward_is_label_free_and_ignores_teacher_statistics():
    model = small().eval()
    batch, _ = tiny_batch()
    logits = model(batch)
    assert logits.shape == (B, C) and torch.isfinite(logits).all()
    other = dict(batch, kg_count=batch["kg_count"] * 7, kg_degree=batch["kg_degree"] + 100)
    assert torch.equal(model(other), logits)


def test_loss_is_sum_of_bce_atten_contra_eq15_with_weights():
    batch, labels = tiny_batch()
    model = small(weight_atten=0.5, weight_contra=2.0, dropout=0.0)
    out = model.loss(batch, labels)
    assert set(out) == {"total", "bce", "atten", "contra"}
    want = out["bce"] + 0.5 * out["atten"] + 2.0 * out["contra"]
    assert torch.allclose(out["total"], want)
    logits = model(batch)  # train-mode BN: same batch, same statistics
    per_genre = nn.functional.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    assert torch.allclose(out["bce"], per_genre.sum(1).mean())  # Eq. 14: summed over genres
    mean = small(weight_atten=0.5, weight_contra=2.0, dropout=0.0, loss_balance="mean").loss(batch, labels)
    assert torch.allclose(mean["bce"], nn.functional.binary_cross_entropy_with_logits(logits, labels))


def _grad_norm(p: torch.Tensor) -> float:
    return 0.0 if p.grad is None else float(p.grad.abs().sum())


def test_gradients_reach_attention_anchors_projections_and_gcacl_linear():
    model = small()
    batch, labels = tiny_batch()
    assert not any(t.requires_grad for t in batch.values())
    model.loss(batch, labels)["total"].backward()
    for p in (
        model.fusion.gate.weight,
        model.genre_anchors,
        model.contrastive.projection.weight,
        *(model.aligners[m].proj.weight for m in ("text", "image", "kg")),
        model.classifier[0].weight,
    ):
        assert _grad_norm(p) > 0
    assert all(t.grad is None for t in batch.values())


def test_teacher_supervises_only_the_kg_gate():
    model = small(use_gcacl=False)
    batch, labels = tiny_batch()
    model.loss(batch, labels)["atten"].backward()
    assert _grad_norm(model.fusion.gate.weight) > 0 and _grad_norm(model.aligners["kg"].proj.weight) > 0
    assert _grad_norm(model.aligners["text"].proj.weight) == 0 and _grad_norm(model.aligners["image"].proj.weight) == 0
    assert _grad_norm(model.classifier[0].weight) == 0


def test_anchors_start_from_kg_genres_but_the_kg_tensor_stays_frozen():
    spec = tiny_spec()
    before = spec.genre_embeddings.clone()
    model = build_idkg(spec, proj_dim=16, classifier_hidden=0)
    assert torch.equal(model.genre_anchors.detach(), before)
    opt = torch.optim.AdamW(model.parameters(), lr=0.1)
    batch, labels = tiny_batch()
    for _ in range(3):
        opt.zero_grad()
        model.loss(batch, labels)["total"].backward()
        opt.step()
    assert not torch.equal(model.genre_anchors.detach(), before)
    assert torch.equal(spec.genre_embeddings, before) and not spec.genre_embeddings.requires_grad


def test_ablation_no_teacher_and_no_gcacl():
    batch, labels = tiny_batch()
    no_at = small(use_teacher=False)
    assert "atten" not in no_at.loss(batch, labels) and "contra" in no_at.loss(batch, labels)
    no_cl = small(use_gcacl=False)
    out = no_cl.loss(batch, labels)
    assert "contra" not in out and "atten" in out
    assert no_cl.genre_anchors is None and no_cl.contrastive is None
    assert not any("anchor" in n or "contrastive" in n for n, _ in no_cl.named_parameters())


def test_ablation_no_kg_has_no_kg_params_and_ignores_kg():
    model = small(use_kg=False).eval()
    assert model.modalities == ("text", "image")
    assert not any("kg" in n for n, _ in model.named_parameters())
    batch, labels = tiny_batch()
    no_kg_key = {k: v for k, v in batch.items() if k not in ("kg", "kg_count", "kg_degree")}
    assert torch.equal(model(batch), model(no_kg_key))
    assert "atten" not in model.loss(batch, labels)  # the teacher needs the KG
    spec = tiny_spec()
    assert not torch.allclose(model.genre_anchors.detach(), spec.genre_embeddings)  # KG-free: random anchors


def test_random_anchors_and_explicit_kg_anchor_init():
    spec = tiny_spec()
    rnd = small(anchor_init="random")
    assert rnd.genre_anchors.shape == (C, 8) and not torch.allclose(rnd.genre_anchors.detach(), spec.genre_embeddings)
    assert small(anchor_init="random", anchor_dim=5).genre_anchors.shape == (C, 5)
    kept = small(use_kg=False, anchor_init="kg")
    assert torch.equal(kept.genre_anchors.detach(), spec.genre_embeddings)
    with pytest.raises(ValueError, match="genre_embeddings"):
        build_idkg(tiny_spec(genres=False), anchor_init="kg")
    assert build_idkg(tiny_spec(genres=False), proj_dim=8).genre_anchors.shape == (C, 8)  # auto -> random


def test_zeroed_modality_gives_finite_logits_in_train_and_eval():
    model = small()
    batch, labels = tiny_batch()
    for drop in ("text", "image", "kg"):
        b = dict(batch, **{drop: torch.zeros_like(batch[drop])})
        assert all(torch.isfinite(v).all() for v in model.loss(b, labels).values())
        assert torch.isfinite(model.eval()(b)).all()
        model.train()


class _Recorder(nn.Module):
    """A contrastive loss honouring the interface, recording how it was built."""

    def __init__(self, *, fused_dim, anchor_dim, num_genres, temperature=0.1, scale=1.0):
        super().__init__()
        self.built = dict(fused_dim=fused_dim, anchor_dim=anchor_dim, num_genres=num_genres, temperature=temperature, scale=scale)
        self.w = nn.Parameter(torch.ones(()))

    def forward(self, fused, labels, anchors):
        assert fused.shape[1] == self.built["fused_dim"] and anchors.shape == (self.built["num_genres"], self.built["anchor_dim"])
        return self.w * self.built["scale"] * (fused.mean() + anchors.mean()) ** 2


def test_contrastive_loss_is_injected_by_class_or_instance():
    model = build_idkg(tiny_spec(), proj_dim=16, temperature=0.3, contrastive=_Recorder, contrastive_kwargs={"scale": 2.0})
    assert model.contrastive.built == dict(fused_dim=16, anchor_dim=8, num_genres=C, temperature=0.3, scale=2.0)
    batch, labels = tiny_batch()
    out = model.loss(batch, labels)
    out["total"].backward()
    assert model.genre_anchors.grad is not None and model.contrastive.w.grad is not None
    inst = GCACL(fused_dim=16, anchor_dim=8, num_genres=C)
    assert build_idkg(tiny_spec(), proj_dim=16, contrastive=inst).contrastive is inst
    with pytest.raises(ValueError, match="use_gcacl=False"):
        build_idkg(tiny_spec(), use_gcacl=False, contrastive=inst)


@pytest.mark.parametrize(
    ("option", "value"),
    [("proj_dim", 0), ("temperature", 0.0), ("anchor_init", "kgg"), ("attention_width", "wide"),
     ("teacher_reduction", "max"), ("dropout", 1.0), ("weight_contra", -1.0)],
)  # fmt: skip
def test_bad_options_are_rejected_by_name(option, value):
    with pytest.raises(ValueError, match=f"'{option}'"):
        build_idkg(tiny_spec(), **{option: value})


def test_unknown_option_and_bad_spec_statistics():
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['lr'\] for IDKGConfig"):
        make_config(IDKGConfig, {"lr": 1.0})
    spec = InputSpec(10, 12, 8, mean_kg_count=0.0)
    with pytest.raises(ValueError, match="mean_kg_count"):
        build_idkg(spec)
    # N̄ = 0 only rules out the teacher (Eq. 6 divides by it): without it the model keeps its KG branch and trains
    model = build_idkg(spec, proj_dim=16, classifier_hidden=8, use_teacher=False, kg_dropout=0.0)
    out = model.loss(*tiny_batch())
    assert set(out) == {"total", "bce", "contra"} and torch.isfinite(out["total"])
    out["total"].backward()
    assert model.aligners["kg"].proj.weight.grad.abs().sum() > 0


def test_factory_is_seeded_and_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    a, b = small(seed=3), small(seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    c = small(seed=4)
    assert not torch.equal(a.aligners["text"].proj.weight, c.aligners["text"].proj.weight)
    assert math.isfinite(float(a.loss(*tiny_batch())["total"].detach()))


def test_kg_dropout_zeroes_whole_rows_of_kg_inputs_in_training_only():
    from idkg.model import drop_kg_rows

    batch, labels = tiny_batch()
    torch.manual_seed(0)
    big = {k: v.repeat(50, *([1] * (v.ndim - 1))) for k, v in batch.items()}
    dropped = drop_kg_rows(big, 0.3)
    gone = dropped["kg"].abs().sum(1) == 0
    assert 0.15 < gone.float().mean() < 0.45  # about the share asked for, whole rows at once
    for key in ("kg", "kg_count", "kg_degree"):
        assert bool((dropped[key][gone] == 0).all()) and torch.equal(dropped[key][~gone], big[key][~gone])
    assert torch.equal(dropped["text"], big["text"]) and torch.equal(dropped["image"], big["image"])
    model = small(kg_dropout=0.5).eval()
    with torch.no_grad():  # eval and forward never drop: predictions stay deterministic
        assert torch.equal(model(batch), model(batch))
    model.train()
    torch.manual_seed(1)
    a = model.loss(batch, labels)["total"]
    torch.manual_seed(1)
    assert torch.equal(a, model.loss(batch, labels)["total"])  # seeded like dropout
    with pytest.raises(ValueError, match="'kg_dropout' parameter of IDKGConfig must be 'auto' or in"):
        small(kg_dropout=1.0)


def test_auto_kg_dropout_follows_the_dev_share_of_empty_fk():
    from dataclasses import replace

    from idkg.model import FALLBACK_KG_DROPOUT, MAX_AUTO_KG_DROPOUT

    spec = tiny_spec()
    assert build_idkg(spec, proj_dim=16).kg_dropout == FALLBACK_KG_DROPOUT  # unknown share
    assert build_idkg(replace(spec, empty_kg_share=0.14), proj_dim=16).kg_dropout == pytest.approx(0.14)
    assert build_idkg(replace(spec, empty_kg_share=0.9), proj_dim=16).kg_dropout == MAX_AUTO_KG_DROPOUT
    assert build_idkg(replace(spec, empty_kg_share=0.9), proj_dim=16, kg_dropout=0.0).kg_dropout == 0.0
    with pytest.raises(ValueError, match="'kg_dropout' parameter of IDKGConfig must be 'auto' or in"):
        build_idkg(spec, kg_dropout="half")
