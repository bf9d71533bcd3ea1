"""The per-stage scale benchmark's measuring parts: peak memory, the worker handshake, the CLI."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from benchmarks.perf import memory
from benchmarks.perf.scale import REPO, main, measure_stage, summarise
from benchmarks.perf.stages import STAGE_REGISTRY, STAGES
from mmimdb2.demo import ensure_demo

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self")


@linux_only
def test_peak_watch_counts_numpy_buffers_and_forgets_earlier_peaks():
    big = np.ones(40_000_000, dtype=np.float64)  # 320 MB touched, then freed: an earlier peak
    del big
    watch = memory.PeakWatch.start()
    if not watch.reset:
        pytest.skip("this kernel does not let a process reset its RSS high-water mark")
    a = np.ones(20_000_000, dtype=np.float64)  # 160 MB, allocated by numpy in C (tracemalloc-blind)
    figures = watch.read()
    del a
    assert 150 <= figures["delta_mb"] < 300, figures  # the stage's own 160 MB, not the earlier 320 MB
    assert figures["peak_mb"] >= figures["start_mb"] + 150


def test_summarise_means_seconds_and_keeps_the_largest_peak():
    runs = [{"stage": "kg", "seconds": 1.0, "per_epoch_s": 0.5, "peak_mb": 100.0, "delta_mb": 10.0},
            {"stage": "kg", "seconds": 3.0, "per_epoch_s": 1.5, "peak_mb": 90.0, "delta_mb": 20.0}]  # fmt: skip
    s = summarise(runs)
    assert (s["seconds"], s["per_epoch_s"], s["peak_mb"], s["delta_mb"], s["rounds"]) == (2.0, 1.0, 100.0, 20.0, 2)
    assert s["seconds_each"] == [1.0, 3.0]


def test_stages_cover_the_pipeline_in_order():
    names = [s.name for s in STAGES]
    assert names[:3] == ["load", "features", "kg"]
    assert {"kg_embedding", "kg_embedding_paper", "train_idkg", "train_gmu", "eval_idkg", "eval_gmu"} <= set(names)
    assert STAGE_REGISTRY.load("kg_embedding_paper").epochs == 1


def test_a_stage_runs_in_a_worker_on_the_data_it_is_given(tmp_path):
    data = ensure_demo(tmp_path / "demo", n_movies=40)
    res = measure_stage(STAGE_REGISTRY.load("kg"), data, tmp_path / "work")
    assert res["stage"] == "kg" and res["train_movies"] == 24 and res["triples"] > 0
    assert res["seconds"] > 0 and res["peak_mb"] >= res["start_mb"] > 0


def test_the_cli_refuses_an_out_folder_inside_the_checkout(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--limit", "40", "--out", str(REPO / "scale-out"), "--no-run"])
    assert e.value.code == 2
    assert "inside the project's checkout" in capsys.readouterr().err
    assert not (REPO / "scale-out").exists()


def test_the_cli_refuses_an_unknown_stage(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["--limit", "40", "--out", str(tmp_path), "--stages", "lod", "--no-run"])
    assert e.value.code == 2
    assert "lod" in capsys.readouterr().err
