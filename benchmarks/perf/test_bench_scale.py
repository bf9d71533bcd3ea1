"""Seconds and peak memory per stage of ``benchmarks.run`` at 3,000 and 33,742 movies (issue 20).

Run: ``python -m pytest benchmarks/perf/test_bench_scale.py --benchmark-enable
--benchmark-json=scale.json``; the 33,742-movie case (MM-IMDb 2.0's size, minutes per stage) only
with ``-m scale_full`` or ``MMIMDB2_SCALE_FULL=1``. Each stage (load, features, KG build, KG
embedding per epoch by the default and the paper's settings, KG inputs, each model per training
epoch, evaluation) runs in a fresh worker process (:mod:`benchmarks.perf.stages`); the benchmark
times only the stage (the worker prepares its inputs before the timer starts). Peak memory is the
kernel's RSS high-water mark, reset when the stage starts (:mod:`benchmarks.perf.memory`): numpy,
torch and PyKEEN buffers included, unlike tracemalloc. The whole ``python -m benchmarks.run
--models idkg gmu`` is timed from cold caches with its peak RSS from ``os.wait4``. Every figure
goes to ``extra_info``; a per-stage table is printed at the end. Demo data and caches live under
pytest's temporary folder. ``MMIMDB2_SCALE_ROUNDS`` sets the rounds of the cheap stages (default 3
at 3,000 movies; 1 for the costly stages and at 33,742).
"""

from __future__ import annotations

import contextlib
import itertools
import os

import pytest

from benchmarks.perf.scale import FULL, Worker, ensure_data, format_table, summarise, whole_run
from benchmarks.perf.stages import STAGE_REGISTRY, STAGES

SMALL = 3000
SIZES = [pytest.param(SMALL, id="3000"), pytest.param(FULL, id="33742", marks=pytest.mark.scale_full)]
#: Stages of a minute or more at 3,000 movies on two busy cores: one round.
COSTLY = {"features", "kg_embedding", "kg_embedding_paper"}
#: What each stage reports about the data it processed.
COUNTS = {"load": "movies", "features": "movies", "kg_inputs": "movies", "kg": "train_movies"}


def _requested(request, n: int) -> None:
    if n == FULL and not (os.environ.get("MMIMDB2_SCALE_FULL") or "scale_full" in (request.config.getoption("markexpr") or "")):
        pytest.skip("33,742 movies takes minutes per stage: run with -m scale_full or MMIMDB2_SCALE_FULL=1")


def _rounds(n: int, stage: str) -> int:
    return int(os.environ.get("MMIMDB2_SCALE_ROUNDS", 3)) if n == SMALL and stage not in COSTLY else 1


@pytest.fixture(scope="module")
def table(request):
    """Results per movie count; printed as one table per count when the module ends."""
    results: dict[int, list[dict]] = {}
    yield results
    capture = request.config.pluginmanager.getplugin("capturemanager")  # the table is shown without -s
    order = [s.name for s in STAGES] + ["benchmarks.run"]
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        for n, rows in results.items():
            print("\n" + format_table(n, sorted(rows, key=lambda r: order.index(r["stage"]))))


@pytest.fixture(scope="module")
def scale_data(tmp_path_factory):
    """``n`` -> (demo folder, work folder), the demo generated once per module run."""
    made: dict[int, tuple] = {}

    def get(n: int):
        if n not in made:
            base = tmp_path_factory.mktemp(f"scale-{n}")
            made[n] = (ensure_data(n, base / "demo"), base / "work")
        return made[n]

    return get


@pytest.mark.parametrize("stage", [s.name for s in STAGES])
@pytest.mark.parametrize("n", SIZES)
def test_stage(benchmark, request, scale_data, table, n, stage):
    _requested(request, n)
    data, work = scale_data(n)
    st, counter, workers, runs = STAGE_REGISTRY.load(stage), itertools.count(), [], []

    def setup():
        if workers:
            workers[-1].close()
        workers.append(Worker(st, data, work, next(counter)).start())
        return (), {}

    benchmark.group = f"scale {n}"
    try:
        benchmark.pedantic(lambda: runs.append(workers[-1].go()), setup=setup, rounds=_rounds(n, stage), iterations=1)
    finally:
        for w in workers:
            w.close()
    res = summarise(runs)
    benchmark.extra_info.update({"movies_in_dataset": n, **res})
    table.setdefault(n, []).append(res)
    assert res["stage"] == stage
    if stage in COUNTS:
        expected = n if COUNTS[stage] == "movies" else round(0.6 * n)
        assert abs(res[COUNTS[stage]] - expected) <= 1, f"{stage} processed {res[COUNTS[stage]]} of {expected}"
    if st.epochs is not None:
        assert res["epochs"] == st.epochs and 0 < res["per_epoch_s"] * res["epochs"] <= res["seconds"]
    assert res["peak_mb"] >= res["start_mb"] > 0


@pytest.mark.parametrize("n", SIZES)
def test_whole_run(benchmark, request, scale_data, table, n):
    _requested(request, n)
    data, work = scale_data(n)
    benchmark.group = f"scale {n}"
    res = benchmark.pedantic(whole_run, args=(data, work), rounds=1, iterations=1)
    benchmark.extra_info.update({"movies_in_dataset": n, **res})
    table.setdefault(n, []).append(res)
    assert (work / "whole-run" / "runs").is_dir() and res["peak_mb"] > 0
