"""End-to-end time of the README's main command on the embedded demo (CPU).

Cold: a fresh data root and cache (demo generation, features, KG, KG embedding, 2 models x 1 seed).
Warm: every cache and finished cell present. Targets (issue 7): < 3 min cold, < 60 s warm.
Run with ``python -m pytest benchmarks/perf/test_bench_run.py --benchmark-enable``.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys

import pytest

COMMAND = [sys.executable, "-m", "benchmarks.run", "--models", "idkg", "gmu", "--no-progress"]


def _run(root, tag: str) -> None:
    env = {**os.environ, "MMIMDB2_DATA": str(root / f"data-{tag}"), "MMIMDB2_CACHE": str(root / f"cache-{tag}")}
    subprocess.run([*COMMAND, "--out", str(root / f"runs-{tag}")], env=env, check=True, capture_output=True)


@pytest.mark.benchmark(group="benchmarks.run demo")
def test_cold_run(benchmark, tmp_path):
    counter = itertools.count()
    benchmark.pedantic(lambda: _run(tmp_path, f"cold{next(counter)}"), rounds=3, iterations=1)


@pytest.mark.benchmark(group="benchmarks.run demo")
def test_warm_run(benchmark, tmp_path):
    _run(tmp_path, "warm")
    benchmark.pedantic(lambda: _run(tmp_path, "warm"), rounds=5, iterations=1)
