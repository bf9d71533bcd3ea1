"""A job's numbers do not depend on how many torch threads it had (issue 30, item 2).

The default thread count follows the machine's load (:mod:`benchmarks.threads`), so the same
command must give the same bits at 1 thread or 2, serially or in ``--jobs`` workers. On torch's
CPU kernels, batch and layer norm (statistics and backward), full sums of 32,768 elements or more
and accumulating index writes round differently at another thread count; inside
:func:`benchmarks.threads.thread_independent`, which the trainer enters, they do not. Compared
here: raw bits of tensors and of test probabilities, for every registered torch model.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.threads import thread_independent


def _bits(*tensors: torch.Tensor) -> str:
    h = hashlib.sha256()
    for t in tensors:
        h.update(t.detach().contiguous().numpy().tobytes())
    return h.hexdigest()


def _at_threads(n: int, fn):
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        return fn()
    finally:
        torch.set_num_threads(before)


def _ops() -> dict[str, str]:
    """The ops whose CPU kernels split work by thread count, forward and backward, on fixed inputs."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(160, 768, generator=g)
    out = {}
    with thread_independent():
        for name, layer in (("batch_norm", nn.BatchNorm1d(768)), ("layer_norm", nn.LayerNorm(768)), ("group_norm", nn.GroupNorm(4, 768))):
            xi = x.clone().requires_grad_(True)
            y = layer(xi)
            (y * torch.linspace(-1, 1, 768)).sum().backward()
            grads = [p.grad for p in layer.parameters()]
            out[name] = _bits(y, xi.grad, *grads, *[b for b in layer.buffers() if b.is_floating_point()])
        out["full_sum"] = _bits(x.sum(), torch.sum(x), x.mean(), torch.mean(x))
        logits, target = torch.randn(2048, 23, generator=g), (torch.rand(2048, 23, generator=g) < 0.2).float()
        out["bce_mean"] = _bits(F.binary_cross_entropy_with_logits(logits, target), F.mse_loss(logits, target, reduction="sum"))
        w = torch.randn(100, 64, generator=g, requires_grad=True)
        index = torch.randint(0, 100, (4096,), generator=g)
        (w[index] * torch.randn(4096, 64, generator=g)).sum().backward()
        out["index_backward"] = _bits(w.grad)
    return out


def test_the_ops_that_split_work_by_thread_give_the_same_bits_at_1_and_2_threads():
    one, two = _at_threads(1, _ops), _at_threads(2, _ops)
    assert [k for k in one if one[k] != two[k]] == []


def test_thread_independent_keeps_torchs_formulas_and_restores_its_settings():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(64, 32, generator=g)
    bn, ln = nn.BatchNorm1d(32), nn.LayerNorm(32)
    want = (bn(x), ln(x), x.sum(), bn.running_var.clone())
    bn2 = nn.BatchNorm1d(32)
    det = torch.are_deterministic_algorithms_enabled()
    with thread_independent():
        got = (bn2(x), ln(x), x.sum(), bn2.running_var.clone())
        assert torch.are_deterministic_algorithms_enabled()
        bn2.eval()
        assert torch.allclose(bn2(x), bn.eval()(x), atol=1e-5)
    for a, b in zip(want, got):
        assert torch.allclose(a, b, atol=1e-5)
    assert torch.are_deterministic_algorithms_enabled() == det


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """One prepared input (80 demo movies, weight-free features, a tiny KG embedding)."""
    import mmimdb2
    from benchmarks.encoders import get_encoder
    from benchmarks.pipeline import prepare_inputs
    from benchmarks.spec import KGSpec
    from idkg.embedding_spec import EmbeddingSpec
    from mmimdb2.demo.writer import generate

    demo = generate(tmp_path_factory.mktemp("demo") / "demo", n_movies=80, seed=0)
    kg = KGSpec(embedding=EmbeddingSpec(epochs=1, dim=8))
    return prepare_inputs(mmimdb2.load(str(demo), progress=False), encoder=get_encoder("weightfree"), kg=kg, device="cpu",
                          cache_dir=Path(tmp_path_factory.mktemp("cache")), progress=False)  # fmt: skip


def _torch_models() -> list[str]:
    from benchmarks.registry import available_models, model_entry

    return [m for m in available_models() if not model_entry(m).extra.get("estimator")]


@pytest.mark.parametrize("model", _torch_models())
def test_every_torch_model_gives_the_same_probabilities_at_1_and_2_threads(model, prepared):
    """Test probabilities, bit for bit, after 1 epoch; the global RNG is moved in between (a job
    must not depend on what ran before it in the same worker)."""
    from benchmarks.harness import fit_and_predict
    from benchmarks.spec import RunSpec

    (cs,) = [RunSpec(models=(model,), seeds=(0,), train={"epochs": 1}).cell_spec(c) for c in RunSpec(models=(model,)).variants()]

    def fit():
        return fit_and_predict(cs, prepared, seed=0, device=torch.device("cpu"), progress=False)["proba"]

    one = _at_threads(1, fit)
    torch.rand(7)  # another job ran before this one
    two = _at_threads(2, fit)
    assert one.tobytes() == two.tobytes(), f"{model}: max difference {np.abs(one - two).max():.3g}"
