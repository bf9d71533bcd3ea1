"""Leaderboard validation cost: why a result is capped at 20,000 JSON values as well as 1 MiB.

Run: ``pytest benchmarks/perf/test_bench_leaderboard.py --benchmark-enable``. Figures (values,
bytes, seconds per value) go to ``extra_info``. The schema check costs tens of microseconds a
value, so 1 MiB of small values would take many seconds; the value cap (checked before the
schema) bounds a hostile file's cost, and the byte cap refuses a 50 MB file before parsing it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leaderboard import validate
from leaderboard.results import MAX_RESULT_BYTES, MAX_RESULT_VALUES, _count_values, make_result, read_result
from mmimdb2.genres import GENRES
from mmimdb2.splits import Split

SPLIT = Split("demo", {"train": ("tt0000001", "tt0000002"), "dev": ("tt0000003",), "test": ("tt0000004",)})
KNOWN = {"demo": {"demo": SPLIT.sha256}}


def _record(seeds: int, pad: int = 0) -> dict:
    metrics = {**{k: 0.5 for k in ("micro", "macro", "weighted", "samples", "head", "tail")},
               "per_genre": {g: 0.5 for g in GENRES}, "support": {g: 1 for g in GENRES}}  # fmt: skip
    config = {"hidden": 64, **({"pad": [0] * pad} if pad else {})}
    return make_result(
        dataset="demo", dataset_version="1", split=SPLIT, model="gmu", config=config, encoder="hash:64",
        encoder_version="1", kg=None, per_seed=[{"seed": s, "metrics": metrics, "best_epoch": 1} for s in range(seeds)],
        timings={}, threshold_policy="fixed", code={"git": None, "commit": None, "dirty": None, "package": "0"},
        hardware={"device": "cpu", "cpu": "x", "gpu": None, "torch": "0"}, created="2026-01-01T00:00:00Z", validate=False,
    )  # fmt: skip


@pytest.mark.parametrize(("seeds", "pad"), [(3, 0), (3, MAX_RESULT_VALUES - 400)], ids=["honest-3-seeds", "at-value-cap"])
def test_bench_validate_record(benchmark, seeds: int, pad: int):
    rec = _record(seeds, pad)
    values = _count_values(rec, 10**9)
    assert values <= MAX_RESULT_VALUES
    problems = benchmark(validate.validate_record, rec, known=KNOWN, models=None)
    assert problems == []
    if benchmark.stats:
        mean = benchmark.stats.stats.mean
        benchmark.extra_info.update(values=values, bytes=len(json.dumps(rec)), us_per_value=round(1e6 * mean / values, 2))
        print(f"\n{values} values, {len(json.dumps(rec)):,} bytes: {mean:.3f} s, {1e6 * mean / values:.1f} µs/value")


def test_bench_refuse_oversized_file(benchmark, tmp_path: Path):
    path = tmp_path / "big.json"
    path.write_text(json.dumps(_record(3)) + " " * (50 * 1024 * 1024))

    def refuse() -> str:
        try:
            read_result(path)
        except ValueError as e:
            return str(e)
        return ""

    assert f"{MAX_RESULT_BYTES:,}-byte limit" in benchmark(refuse)
