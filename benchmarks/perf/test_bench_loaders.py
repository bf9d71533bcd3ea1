"""Load time of the embedded demo (3,000 movies), with and without the poster header check.

Run: ``pytest benchmarks/perf/test_bench_loaders.py --benchmark-enable -s``. The demo is generated
once into a temp data root; each round is a full :func:`mmimdb2.load` (scan, JSON, posters'
headers, split files, restriction). Target: well under 2 s on 2 CPU cores.
"""

from __future__ import annotations

import pytest

import mmimdb2


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("bench-data")
    mmimdb2.load("demo", data_root=root)  # generate once
    return str(root)


@pytest.mark.parametrize("check_posters", [True, False], ids=["poster-check", "no-poster-check"])
def test_bench_load_demo(benchmark, demo_root: str, check_posters: bool):
    ds = benchmark.pedantic(
        mmimdb2.load, args=("demo",), kwargs={"data_root": demo_root, "check_posters": check_posters}, rounds=7, iterations=1
    )
    assert len(ds.split.all_ids) == len(ds.movies) > 0
    if benchmark.stats is not None:
        benchmark.extra_info["movies"] = len(ds.movies)
        benchmark.extra_info["movies_per_s"] = round(len(ds.movies) / benchmark.stats.stats.median)
        print(f"\nload demo ({'with' if check_posters else 'without'} poster check): median "
              f"{benchmark.stats.stats.median:.3f} s, {benchmark.extra_info['movies_per_s']:,} movies/s")
