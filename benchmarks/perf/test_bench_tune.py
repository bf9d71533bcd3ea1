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


#: A dataset folder of real movies (not shipped) for the full-size study below, e.g. yts800.
REAL_DATASET_ENV = "MMIMDB2_BENCH_DATASET"
#: The target a 30-trial IDKG study on 560 train + dev movies is measured against (seconds).
TARGET_S = 600.0


@pytest.mark.benchmark(group="benchmarks.tune")
@pytest.mark.parametrize("jobs", [1, 2])
def test_a_30_trial_idkg_study_on_a_real_dataset(benchmark, tmp_path, jobs):
    """The study a user runs: IDKG's own space, 30 trials x 4 folds on a real dataset's train +
    dev with offline encoders, on the caches as they are (features cached; fold KGs and their
    embeddings made by the first trial), one trial at a time with every idle core, or ``jobs``
    trials at once in worker processes sharing them. Records the study's seconds, its ratio to
    the :data:`TARGET_S` target, the first trial's and the median trial's seconds, and the machine."""
    import os
    import statistics
    import time

    from benchmarks.spec import DataSpec, EncoderSpec, RunOptions, RunSpec
    from benchmarks.threads import resolve_threads
    from benchmarks.tune import TuneSpec, tune
    from leaderboard.provenance import hardware_info

    folder = os.environ.get(REAL_DATASET_ENV)
    if not folder:
        pytest.skip(f"set {REAL_DATASET_ENV}=PATH to a dataset folder of real movies (e.g. yts800) to time a full study")
    threads = resolve_threads(None)
    spec = RunSpec(models=("idkg",), data=DataSpec(folder), encoder=EncoderSpec("offline"))
    out = tmp_path / "study"
    t0 = time.perf_counter()
    (record,) = benchmark.pedantic(lambda: tune(spec, RunOptions(out=out, progress=False, threads=threads, jobs=jobs, executor="process" if jobs > 1 else "serial"),
                                                        TuneSpec(trials=30, folds=4)),
                                   rounds=1, iterations=1)  # fmt: skip
    wall = time.perf_counter() - t0
    assert record["trials"]["finished"] == 30 and not record["test_used"]
    import csv

    trials = list(csv.DictReader((out / record["study"] / "trials.csv").open()))
    seconds = [float(t["seconds"]) for t in trials if t["state"] == "COMPLETE"]
    benchmark.extra_info.update({
        "study_s": wall, "ratio_to_target": wall / TARGET_S, "first_trial_s": seconds[0], "median_trial_s": statistics.median(seconds),
        "trials_per_s": len(seconds) / wall, "threads": threads, "jobs": jobs, "hardware": hardware_info("cpu", threads),
        "load_average_1min": os.getloadavg()[0],
    })  # fmt: skip
