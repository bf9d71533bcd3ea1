"""Cells in parallel: --jobs N worker processes and a local Ray instance give the serial run's
results, inputs are prepared once in the parent, and an interrupted grid resumes.

"Identical" here: every result file and every cell file has the same name, and the same JSON
content, byte for byte once dumped with sorted keys, after removing what describes the run rather
than the result: ``timings`` and each seed's ``cost`` (seconds, memory), ``created`` (the date) and
``hardware`` (where it ran, with how many threads). Metrics, packed test predictions, thresholds, config, spec, seeds, KG
figures and code version are all compared.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from benchmarks import harness
from benchmarks.executors import ProcessExecutor
from benchmarks.run import main

FAST = ["--epochs", "1", "--kg-epochs", "1", "--kg-dim", "8", "--encoder", "weightfree", "--no-progress"]
RUN_ONLY = ("timings", "created", "hardware")


@pytest.fixture(scope="module")
def tiny_demo(tmp_path_factory) -> Path:
    from mmimdb2.demo.writer import generate

    return generate(tmp_path_factory.mktemp("demo") / "demo", n_movies=160, seed=0)


def _comparable(folder: Path) -> dict[str, str]:
    """Each result and cell file of ``folder``, by relative path: its JSON without the run-only fields."""
    out = {}
    for path in sorted([*(folder / "results").glob("*.json"), *(folder / "jobs").rglob("*.json")]):
        record = {k: v for k, v in json.loads(path.read_text()).items() if k not in RUN_ONLY}
        record["per_seed"] = [{k: v for k, v in s.items() if k != "cost"} for s in record["per_seed"]]
        out[str(path.relative_to(folder))] = json.dumps(record, sort_keys=True)
    return out


def _run(demo: Path, out: Path, *extra: str, suite: str | None = "table2") -> int:
    return main(["--dataset", str(demo), "--out", str(out), *(["--suite", suite] if suite else []), *FAST, *extra])


@pytest.fixture(scope="module")
def serial(tiny_demo, tmp_path_factory) -> Path:
    """The table-2 suite run by the serial executor, through the Python API with two threads (the
    workers below get one each: torch's thread count must not change a number either)."""
    from benchmarks.harness import run_benchmark
    from benchmarks.run import build_parser, spec_from_args

    out = tmp_path_factory.mktemp("serial")
    spec, options = spec_from_args(build_parser().parse_args(["--dataset", str(tiny_demo), "--out", str(out), "--suite", "table2", *FAST]))
    before = torch.get_num_threads()
    records = run_benchmark(spec, dataclasses.replace(options, threads=2))
    assert torch.get_num_threads() == before  # the API's thread count is the run's, then restored
    assert len(records) == 7 and all(r["hardware"]["threads"] == 2 for r in records)
    return out


def test_jobs_2_gives_the_serial_results(serial, tiny_demo, tmp_path, monkeypatch, capsys):
    prepared, real = [], harness.prepare_inputs
    monkeypatch.setattr(harness, "prepare_inputs", lambda *a, **k: prepared.append(k["protocol"]) or real(*a, **k))
    assert _run(tiny_demo, tmp_path, "--jobs", "2", "--threads", "2") == 0
    assert prepared == ["fixed"]  # 7 cells, one KG setting: prepared once in the parent, read by every worker
    assert "7 job(s) run (process, 2 at once), 0 read from" in capsys.readouterr().err
    got, want = _comparable(tmp_path), _comparable(serial)
    assert len(want) == 14 and got == want
    assert {json.loads(p.read_text())["hardware"]["threads"] for p in (tmp_path / "results").glob("*.json")} == {1}  # 2 threads / 2 jobs


def test_one_thread_and_fresh_caches_give_the_two_thread_results(serial, tiny_demo, tmp_path, capsys):
    """The same command at --threads 1, features and KG embedding recomputed in a cache of its own:
    every number of the two-thread run (the probabilities bit for bit: tests/test_thread_independence.py)."""
    assert _run(tiny_demo, tmp_path / "out", "--threads", "1", "--cache-dir", str(tmp_path / "cache")) == 0
    assert "1 torch thread(s)" in capsys.readouterr().err
    assert _comparable(tmp_path / "out") == _comparable(serial)


def test_a_local_ray_instance_gives_the_serial_results(serial, tiny_demo, tmp_path, capsys):
    pytest.importorskip("ray")
    assert _run(tiny_demo, tmp_path, "--executor", "ray", "--address", "local", "--jobs", "2", "--threads", "2") == 0
    assert "7 job(s) run (ray, 2 at once), 0 read from" in capsys.readouterr().err
    assert _comparable(tmp_path) == _comparable(serial)


def test_an_interrupted_grid_runs_only_the_rest(serial, tiny_demo, tmp_path, monkeypatch, capsys):
    real, trained = harness.train_and_evaluate, []

    def stops_at_the_third(*a, **k):
        if len(trained) == 2:
            raise KeyboardInterrupt
        trained.append(a[0].model)
        return real(*a, **k)

    monkeypatch.setattr(harness, "train_and_evaluate", stops_at_the_third)
    assert _run(tiny_demo, tmp_path) == 130
    assert len(list((tmp_path / "jobs").rglob("*.json"))) == 2  # finished cells were written as they finished
    assert not list((tmp_path / "results").glob("*.json"))

    monkeypatch.setattr(harness, "train_and_evaluate", lambda *a, **k: trained.append(a[0].model) or real(*a, **k))
    assert _run(tiny_demo, tmp_path) == 0
    assert len(trained) == 7 and len(set(trained)) == 7  # the rerun trained the 5 others, none twice
    assert "5 job(s) run (serial, 1 at once), 2 read from" in capsys.readouterr().err
    assert _comparable(tmp_path) == _comparable(serial)


def test_a_parallel_rerun_farms_out_only_the_missing_cells(serial, tiny_demo, tmp_path, monkeypatch, capsys):
    import shutil

    shutil.copytree(serial, tmp_path, dirs_exist_ok=True)
    lost = sorted((tmp_path / "jobs").rglob("*.json"))[:3]
    for path in lost:
        path.unlink()
    sent = []
    real = ProcessExecutor.map
    monkeypatch.setattr(ProcessExecutor, "map", lambda self, fn, tasks, shared: sent.extend(t[1].cs.model for t in tasks) or real(self, fn, tasks, shared))
    assert _run(tiny_demo, tmp_path, "--jobs", "2", "--threads", "2") == 0
    assert len(sent) == 3 and all(p.exists() for p in lost)
    assert _comparable(tmp_path) == _comparable(serial)
