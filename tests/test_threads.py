"""torch's thread count: from the idle usable CPUs, OMP_NUM_THREADS or --threads; set for a run and restored."""

from __future__ import annotations

import os

import pytest
import torch

from benchmarks import threads
from benchmarks.run import build_parser, main, spec_from_args
from benchmarks.spec import RunOptions


def _stat(path, cpus: dict[int, tuple[int, int]]) -> None:
    """A /proc/stat with ``cpu<N> user 0 0 idle 0 0 0 0`` lines (and the summary line, which is ignored)."""
    lines = ["cpu  999 0 0 999 0 0 0 0 0 0"] + [f"cpu{n} {user} 0 0 {idle} 0 0 0 0 0 0" for n, (user, idle) in cpus.items()]
    path.write_text("\n".join(lines) + "\nintr 1 2 3\n")


def test_idle_cpus_counts_idle_time_of_this_process_cpus_only(tmp_path, monkeypatch):
    stat = tmp_path / "stat"
    _stat(stat, {0: (100, 100), 1: (100, 100), 2: (0, 0)})
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    # over the window cpu0 sits idle, cpu1 is busy, cpu2 (not ours) idles: one of our two CPUs was free
    monkeypatch.setattr(threads.time, "sleep", lambda s: _stat(stat, {0: (100, 200), 1: (200, 100), 2: (0, 500)}))
    assert threads.idle_cpus(stat=stat) == pytest.approx(1.0)


def test_idle_cpus_is_none_where_the_kernel_does_not_tell(tmp_path):
    assert threads.idle_cpus(stat=tmp_path / "missing") is None


def test_idle_cpus_reads_this_machine():
    idle = threads.idle_cpus()
    if idle is None:
        pytest.skip("no /proc/stat here")
    assert 0.0 <= idle <= len(os.sched_getaffinity(0)) + 1e-9


@pytest.mark.parametrize(("idle", "cpus", "expected"), [(0.1, 2, 1), (1.2, 2, 1), (1.8, 2, 2), (7.0, 4, 4), (0.0, 16, 1)])
def test_default_is_the_idle_usable_cpus_at_least_one(idle, cpus, expected):
    assert threads.default_threads(env={}, idle=idle, cpus=cpus) == expected


def test_all_usable_cpus_where_idleness_cannot_be_read(monkeypatch):
    monkeypatch.setattr(threads, "idle_cpus", lambda: None)
    assert threads.default_threads(env={}, cpus=3) == 3


def test_omp_num_threads_wins_over_the_measured_default():
    assert threads.default_threads(env={"OMP_NUM_THREADS": "3"}, idle=0.0, cpus=2) == 3


@pytest.mark.parametrize("value", ["0", "two", "-1", "1.5"])
def test_a_bad_omp_num_threads_is_one_line(value):
    with pytest.raises(ValueError, match=f"OMP_NUM_THREADS must be a whole number of threads >= 1. Got '{value}' instead."):
        threads.default_threads(env={"OMP_NUM_THREADS": value})


def test_the_command_line_resolves_threads_once(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert spec_from_args(build_parser().parse_args(["--models", "gmu"]))[1].threads == 1
    assert spec_from_args(build_parser().parse_args(["--models", "gmu", "--threads", "3"]))[1].threads == 3
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert 1 <= spec_from_args(build_parser().parse_args(["--models", "gmu"]))[1].threads <= len(os.sched_getaffinity(0))


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--threads", "0"], "error: --threads must be a whole number of threads >= 1. Got 0 instead."),
        (["--jobs", "0"], "error: --jobs must be a whole number >= 1. Got 0 instead."),
        (["--address", "10.0.0.1:6379"], "error: --address names a Ray cluster: give it with --executor ray"),
    ],
)
def test_bad_run_options_are_one_line(argv, says, tmp_path, capsys):
    rc = main(["--models", "gmu", "--out", str(tmp_path), "--no-progress", *argv])
    assert rc == 2 and capsys.readouterr().err.strip().splitlines()[-1] == says


def test_an_unknown_executor_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown executor 'slurm'.*Available: process, ray, serial"):
        RunOptions(executor="slurm")


def test_torch_threads_sets_for_the_block_and_restores():
    before = torch.get_num_threads()
    with threads.torch_threads(1) as n:
        assert n == 1 and torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with threads.torch_threads(None) as n:  # the Python API without threads: the caller's setting stays
        assert n == before


def test_workers_share_the_threads():
    assert [threads.per_job(4, j) for j in (1, 2, 3, 4, 8)] == [4, 2, 1, 1, 1]


def test_cv_refuses_jobs_rather_than_ignoring_them(capsys):
    """benchmarks.cv runs its folds in one process: --jobs/--executor/--address are run-only flags."""
    from benchmarks.cv import main as cv_main

    for flag in (["--jobs", "2"], ["--executor", "process"], ["--address", "x:1"]):
        with pytest.raises(SystemExit):
            cv_main(["--models", "gmu", *flag, "--no-progress"])
        assert f"error: unrecognized arguments: {' '.join(flag)}" in capsys.readouterr().err
