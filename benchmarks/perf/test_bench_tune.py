"""How many trials a second a small study runs once its fold inputs are cached.

A study prepares each fold's features, train-only KG and KG embedding once (read back from the
caches here, as on any study after the first) and then runs trial after trial on them: this
measures that loop, an IDKG study of 6 trials over 4 folds of a 300-movie demo (weight-free
features, a 16-d KG embedding, 3 epochs a fit, 8 fits a trial). Run with
``python -m pytest benchmarks/perf/test_bench_tune.py --benchmark-enable``; the trials per second
are in the benchmark's extra info.
"""

from __future__ import annotations

import itertools

import pytest

TRIALS = 6
SPACE = {"lr": {"log": [1e-4, 1e-2]}, "weight_decay": {"log": [1e-3, 10.0]}, "dropout": {"float": [0.0, 0.5]}}


@pytest.mark.benchmark(group="benchmarks.tune")
def test_trials_per_second_of_a_small_idkg_study(benchmark, tmp_path, monkeypatch):
    from benchmarks.spec import DataSpec, EncoderSpec, RunOptions, RunSpec
    from benchmarks.threads import resolve_threads
    from benchmarks.tune import TuneSpec, tune
    from mmimdb2.demo import generate

    monkeypatch.setenv("MMIMDB2_CACHE", str(tmp_path / "cache"))
    demo = generate(tmp_path / "demo", n_movies=300, seed=0)
    spec = RunSpec(models=("idkg",), data=DataSpec(str(demo)), encoder=EncoderSpec("weightfree"), kg={"epochs": 1, "dim": 16},
                   train={"epochs": 3})  # fmt: skip
    settings = TuneSpec(trials=TRIALS, folds=4, spaces={"idkg": SPACE})
    threads = resolve_threads(None)  # as the command line: the usable CPUs idle now (more threads than idle cores stall)
    tune(spec, RunOptions(out=tmp_path / "warm", progress=False, threads=threads), TuneSpec(trials=1, folds=4, spaces={"idkg": SPACE}))
    counter = itertools.count()  # each round a new study on the warm caches

    def study():
        (record,) = tune(spec, RunOptions(out=tmp_path / f"study{next(counter)}", progress=False, threads=threads), settings)
        assert record["trials"]["finished"] == TRIALS

    benchmark.pedantic(study, rounds=3, iterations=1)
    benchmark.extra_info["trials"] = TRIALS
    benchmark.extra_info["threads"] = threads
    benchmark.extra_info["trials_per_s"] = TRIALS / benchmark.stats.stats.median
