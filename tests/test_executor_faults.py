"""Faults while jobs run in parallel (issue 30, items 5, 6, 11 and 12): workers end with their
parent however it ends, a job that finished is handed out before a sibling's error or an
interrupt is raised, a dead worker is one line, and a Ray address that does not answer is refused
in seconds. Real processes throughout: a parent is killed with kill -9 and its workers are looked
for afterwards. This module imports no torch at the top: spawned workers import it for ``_step``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from benchmarks.executors import JobError, ProcessExecutor, Terminated

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent


def _step(value, item):
    """A task: wait for the file ``wait``, touch ``touch``, then return ``kind``, raise, sleep or die."""
    kind, wait, touch = item
    deadline = time.monotonic() + 120
    while wait and not Path(wait).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(wait)
        time.sleep(0.02)
    if touch:
        Path(touch).touch()
    if kind == "raise":
        raise AssertionError("hidden must be > 0")
    if kind == "exit":
        sys.exit(3)
    if kind == "sleep":
        time.sleep(600)
    if kind == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    return kind


def _wait_for(path: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def _descendants(pid: int) -> set[int]:
    """Every process under ``pid``, from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    out, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - out
        out |= frontier
    return out


def _alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running (a zombie has ended: only its exit status is left)."""
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def _all_end(pids: set[int], within: float) -> set[int]:
    deadline = time.monotonic() + within
    while _alive(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return _alive(pids)


needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")


def test_a_job_that_finished_before_a_siblings_error_is_handed_out_first(tmp_path):
    """Job 2 raises before job 1 finishes, and both are done when the caller asks again (it was
    writing job 0): job 1 comes out, then the error, as one line naming nothing but the job."""
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    tasks = [(0, ("first", None, None)), (0, ("second", b, c)), (0, ("raise", a, b))]
    ex = ProcessExecutor(jobs=3, threads=3)
    got = []
    try:
        results = ex.map(_step, tasks, {0: None})
        got.append(next(results))
        a.touch()  # now job 2 raises, then job 1 finishes
        _wait_for(c)
        time.sleep(1.0)  # job 1's result is on its way back
        with pytest.raises(JobError) as error:
            got.extend(results)
    finally:
        ex.close()
    assert got == [(0, "first"), (1, "second")]
    line = str(error.value)
    assert "\n" not in line and "AssertionError: hidden must be > 0" in line and "rerun the same command to resume" in line
    assert "Traceback" in error.value.detail and "_step" in error.value.detail  # the worker's own, for --debug


@pytest.mark.parametrize(("signum", "raised"), [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, Terminated)])
def test_a_signal_while_a_result_is_written_waits_until_every_finished_job_is_out(signum, raised, tmp_path):
    """Ctrl-C (or SIGTERM) while the caller writes job 0's result: job 1, which finishes meanwhile,
    is still handed out, job 2 is never started, and then the interrupt is raised."""
    a, c, started = tmp_path / "a", tmp_path / "c", tmp_path / "started"
    tasks = [(0, ("first", None, None)), (0, ("second", a, c)), (0, ("third", None, started))]
    ex = ProcessExecutor(jobs=2, threads=2)
    got, interrupted = [], None
    try:
        results = ex.map(_step, tasks, {0: None})
        got.append(next(results))
        os.kill(os.getpid(), signum)  # while "writing" job 0
        a.touch()
        _wait_for(c)
        time.sleep(1.0)
        got.extend(results)
    except KeyboardInterrupt as e:
        interrupted = e
    finally:
        ex.close()
    assert isinstance(interrupted, raised) and got == [(0, "first"), (1, "second")] and not started.exists()


@pytest.mark.parametrize("kind", ["exit", "die"])
def test_a_job_that_exits_or_a_worker_that_dies_is_one_line(kind, tmp_path):
    ex = ProcessExecutor(jobs=1, threads=1)
    try:
        with pytest.raises(JobError) as error:
            list(ex.map(_step, [(0, (kind, None, None))], {0: None}))
    finally:
        ex.close()
    line = str(error.value)
    assert "\n" not in line and line.endswith("finished jobs are kept: rerun the same command to resume")
    assert ("called sys.exit(3)" in line) if kind == "exit" else ("died (killed by SIGKILL)" in line)


_PARENT = """
import sys
sys.path[:0] = {paths!r}
from benchmarks.executors import ProcessExecutor
from test_executor_faults import _step
ex = ProcessExecutor(jobs=2, threads=2)
for _ in ex.map(_step, [(0, ("sleep", None, {m1!r})), (0, ("sleep", None, {m2!r}))], {{0: None}}):
    pass
"""


@needs_proc
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_workers_end_with_a_parent_that_is_killed(signum, tmp_path):
    """kill -9 (or a plain SIGTERM, no handler) of a process whose two workers are mid-job: within
    five seconds neither worker, nor anything else the parent started, is left."""
    m1, m2 = tmp_path / "m1", tmp_path / "m2"
    code = _PARENT.format(paths=[str(HERE), str(ROOT)], m1=str(m1), m2=str(m2))
    parent = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.DEVNULL)
    try:
        _wait_for(m1)
        _wait_for(m2)
        started = _descendants(parent.pid)
        assert len(started) >= 2
        os.kill(parent.pid, signum)
        parent.wait(30)
        assert _all_end(started, within=5) == set()
    finally:
        parent.kill()
        for pid in _alive(_descendants(parent.pid)):
            os.kill(pid, signal.SIGKILL)


def test_a_ray_address_that_does_not_answer_fails_in_seconds_before_any_data_is_read(tmp_path, capsys):
    from benchmarks.run import main

    start = time.monotonic()
    rc = main(["--models", "idkg", "--executor", "ray", "--address", "127.0.0.1:1", "--dataset", str(tmp_path / "absent"), "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and time.monotonic() - start < 10
    assert len(err) == 1 and err[0].startswith("error: --address 127.0.0.1:1: nothing answers at 127.0.0.1:1"), err


def test_a_ray_address_that_is_not_host_port_is_one_line():
    from benchmarks.executors import check_address

    with pytest.raises(ValueError, match=r"must be HOST:PORT or ray://HOST:PORT"):
        check_address("127.0.0.1")
    check_address("local")  # nothing to probe


_RAY_PARENT = """
import sys
sys.path[:0] = {paths!r}
from benchmarks.executors import JobError, RayExecutor
from test_executor_faults import _step
try:
    ex = RayExecutor(jobs=1, threads=1)
except Exception as e:
    print("NORAY", e, flush=True)
    sys.exit(0)
try:
    list(ex.map(_step, [(0, ("die", None, None))], {{0: None}}))
except JobError as e:
    print("LINE", e, flush=True)
for _ in ex.map(_step, [(0, ("sleep", None, {marker!r}))], {{0: None}}):
    pass
"""


@needs_proc
def test_a_crashed_ray_worker_is_one_line_and_a_killed_driver_leaves_no_ray_process(tmp_path):
    """One local Ray instance: a worker that dies is one line (WorkerCrashedError); then kill -9 of
    the driver mid-job leaves none of the processes it started (Ray's agents included)."""
    pytest.importorskip("ray")
    marker = tmp_path / "running"
    code = _RAY_PARENT.format(paths=[str(HERE), str(ROOT)], marker=str(marker))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)])}  # Ray's workers import _step from here
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        first = parent.stdout.readline()
        while first.startswith("\x1b[33m(raylet)"):  # Ray's own note of the dead worker, beside our line
            first = parent.stdout.readline()
        if first.startswith("NORAY") or not first:
            pytest.skip(f"Ray cannot start here: {first.strip()}")
        assert first.startswith("LINE the worker running a job died (Ray: WorkerCrashedError)"), first
        assert first.rstrip().endswith("finished jobs are kept: rerun the same command to resume")
        _wait_for(marker)
        started = _descendants(parent.pid)
        assert any("raylet" in _cmdline(pid) for pid in started)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(30)
        assert {_cmdline(pid) for pid in _all_end(started, within=10)} == set()
    finally:
        parent.kill()
        for pid in _alive(_descendants(parent.pid)):
            os.kill(pid, signal.SIGKILL)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


_SLOW_MODELS = textwrap.dedent(
    """
    import os, time
    import torch
    from torch import nn


    class Quick(nn.Module):
        def __init__(self, spec):
            super().__init__()
            self.lin = nn.Linear(spec.text_dim, spec.num_genres)

        def forward(self, batch):
            return self.lin(batch["text"])


    class Stuck(Quick):
        def __init__(self, spec):
            super().__init__(spec)
            open(os.environ["STUCK_MARKER"], "w").close()
            time.sleep(600)
    """
)


@pytest.fixture(scope="module")
def slow_run(tmp_path_factory):
    """A tiny demo, a warm cache for it, and a module of two models: one quick, one stuck."""
    from mmimdb2.demo.writer import generate

    base = tmp_path_factory.mktemp("slow")
    demo = generate(base / "demo", n_movies=80, seed=0)
    (base / "slowmodels.py").write_text(_SLOW_MODELS)
    return base, demo


@needs_proc
@pytest.mark.parametrize(("signum", "rc", "said"), [(signal.SIGTERM, 143, "terminated (SIGTERM)"), (signal.SIGINT, 130, "interrupted")])
def test_the_cli_under_jobs_2_ends_on_a_signal_in_one_line_keeping_the_finished_cell(signum, rc, said, slow_run, tmp_path):
    base, demo = slow_run
    out, marker = tmp_path / "out", tmp_path / "stuck"
    argv = [sys.executable, "-m", "benchmarks.run", "--models", "slowmodels:Quick", "slowmodels:Stuck", "--jobs", "2", "--threads", "2",
            "--dataset", str(demo), "--out", str(out), "--cache-dir", str(base / "cache"), "--epochs", "1", "--kg-epochs", "1",
            "--kg-dim", "8", "--encoder", "weightfree", "--seeds", "0", "--no-progress"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(base)]), "STUCK_MARKER": str(marker)}
    run = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(marker, timeout=300)
        deadline = time.monotonic() + 120
        while not list((out / "jobs").rglob("*Quick*.json")):
            assert time.monotonic() < deadline and run.poll() is None, "the quick job's cell never appeared"
            time.sleep(0.1)
        started = _descendants(run.pid)
        run.send_signal(signum)
        _, err = run.communicate(timeout=60)
    finally:
        run.kill()
    lines = err.strip().splitlines()
    assert run.returncode == rc, err[-2000:]
    assert lines[-1] == f"{said}: finished cells are kept and will be skipped on the next run", err[-2000:]
    assert "Traceback" not in err and "leaked" not in err
    assert len(list((out / "jobs").rglob("*.json"))) == 1  # the quick job's cell, written as it finished
    assert _all_end(started, within=5) == set()
