"""What the diagnostics cost: EMAP's head evaluations on realdev's shape (240 test movies, MiniLM
384-d, EfficientNet-Lite0 1280-d, RotatE 200-d), and the noise transforms per poster and plot.

Run with ``pytest benchmarks/perf/test_bench_diagnostics.py --benchmark-enable``. EMAP's cost is
its row count (n·M·partners sampled, n^M exact) divided by the head's rows per second, which
``extra_info`` records; docs/diagnostics.md quotes the figures measured on realdev itself.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from benchmarks.diagnostics.emap import DEFAULT_GROUPS, PARTNERS, emap
from benchmarks.diagnostics.fitting import logit_function
from benchmarks.registry import build_model
from idkg.inputs import InputSpec

N, C = 240, 23


@pytest.fixture(scope="module")
def inputs() -> tuple[dict[str, np.ndarray], InputSpec]:
    rng = np.random.default_rng(0)
    arrays = {
        "text": rng.standard_normal((N, 384)).astype(np.float32), "image": rng.standard_normal((N, 1280)).astype(np.float32),
        "kg": rng.standard_normal((N, 200)).astype(np.float32), "kg_count": rng.integers(0, 5, N).astype(np.float32),
        "kg_degree": rng.random(N).astype(np.float32), "people": rng.random((N, C)).astype(np.float32),
    }  # fmt: skip
    spec = InputSpec(384, 1280, 200, genre_embeddings=torch.randn(C, 200, generator=torch.Generator().manual_seed(1)))
    return arrays, spec


@pytest.mark.parametrize("groups", [DEFAULT_GROUPS, (("plot",), ("poster", "people"))], ids=["three-groups-sampled", "two-groups-exact"])
@pytest.mark.parametrize("name", ["idkg", "gmu"])
def test_bench_emap_on_realdev_shape(benchmark, inputs, name, groups):
    arrays, spec = inputs
    f = logit_function(build_model(name, spec).eval())
    results = []
    benchmark.pedantic(lambda: results.append(emap(f, arrays, groups)), rounds=1, iterations=1)
    r = results[-1]
    benchmark.extra_info.update(n=N, groups=len(groups), exact=r.exact, partners=r.partners, rows=r.evaluations,
                                rows_per_s=r.evaluations / r.seconds, threads=torch.get_num_threads())  # fmt: skip
    assert r.exact == (len(groups) == 2) and r.evaluations == (N * N if r.exact else 3 * N * min(PARTNERS, N))


def test_bench_poster_and_plot_noise(benchmark):
    from mmimdb2.noise import corrupt

    rng = np.random.default_rng(0)
    poster = Image.fromarray(rng.integers(0, 256, (380, 256, 3), dtype=np.uint8), "RGB")  # an offline-encoder draft size
    plot = " ".join(["unexpected", "visit", "from", "colleague", "changes", "routine"] * 17)  # ~100 words

    def run():
        for i in range(10):
            corrupt(poster, "poster", 0.5, seed=0, item=f"tt{i:07d}")
            corrupt(plot, "plot", 0.5, seed=0, item=f"tt{i:07d}")

    benchmark.pedantic(run, rounds=3, iterations=1)
    benchmark.extra_info.update(posters_and_plots_per_round=10)
