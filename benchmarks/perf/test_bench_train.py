"""Training is not the bottleneck: 15 epochs on 20,000 cached rows (512-d text and image, 200-d KG).

Run with ``pytest benchmarks/perf/test_bench_train.py --benchmark-enable``. Target on the
project's 2-core CPU: under 30 s per model (median of the rounds), default batch 64, lr 1e-3.
"""

from __future__ import annotations

import pytest
import torch

from benchmarks.registry import build_model
from benchmarks.trainer import TensorSet, train
from idkg.inputs import InputSpec

ROWS, DEV_ROWS, EPOCHS, C = 20_000, 2_000, 15, 23
TARGET_S = 30.0


def _split(n: int, seed: int) -> TensorSet:
    """Random features with a linear genre signal, KG statistics correlated with the KG signal."""
    g = torch.Generator().manual_seed(seed)
    proto = torch.Generator().manual_seed(1234)  # shared genre prototypes across splits
    y = (torch.rand(n, C, generator=g) < 0.12).float()
    y[y.sum(1) == 0, 0] = 1.0
    count = torch.randint(0, 8, (n,), generator=g).float()
    feats = {
        "text": 0.05 * y @ torch.randn(C, 512, generator=proto) + torch.randn(n, 512, generator=g),
        "image": 0.03 * y @ torch.randn(C, 512, generator=proto) + torch.randn(n, 512, generator=g),
        "kg": 0.1 * (count / 8).unsqueeze(1) * (y @ torch.randn(C, 200, generator=proto)) + torch.randn(n, 200, generator=g),
        "kg_count": count,
        "kg_degree": count * torch.randint(1, 20, (n,), generator=g).float(),
    }
    return TensorSet(feats, y, [f"tt{i:07d}" for i in range(n)])


@pytest.fixture(scope="module")
def splits() -> tuple[TensorSet, TensorSet, InputSpec]:
    tr, dev = _split(ROWS, 0), _split(DEV_ROWS, 1)
    spec = InputSpec(
        512, 512, 200,
        genre_embeddings=torch.randn(C, 200, generator=torch.Generator().manual_seed(7)),
        mean_kg_count=float(tr.features["kg_count"].mean()),
        mean_kg_degree=float(tr.features["kg_degree"].mean()),
    )  # fmt: skip
    return tr, dev, spec


@pytest.mark.parametrize("name", ["idkg", "gmu"])
def test_bench_train_15_epochs_20k_rows(benchmark, splits, name):
    tr, dev, spec = splits
    results = []

    def run():
        model = build_model(name, spec)
        results.append(train(model, tr, dev, epochs=EPOCHS, progress=False, name=name))

    benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=0)
    benchmark.extra_info.update(
        rows=ROWS, epochs=EPOCHS, threads=torch.get_num_threads(), best_dev_macro_f1=results[-1].best_dev_macro_f1
    )
    assert results[-1].best_dev_macro_f1 > 0.1  # the signal was learnt
    median = benchmark.stats.stats.median
    assert median < TARGET_S, f"{name}: median {median:.1f} s for {EPOCHS} epochs on {ROWS} rows (target {TARGET_S} s)"
