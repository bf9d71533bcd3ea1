"""Crash safety: a build killed with SIGKILL at random points and resumed ends byte-identical to an
uninterrupted build, with no partial or temp file left; a cut journal line is repaired."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from test_build_helpers import web, world  # noqa: F401

from mmimdb2.builder.journal import Journal

EXCLUDED = {"BUILD_INFO.json"}  # run times: the one file allowed to differ (see mmimdb2.builder.verify)


def snapshot(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.relative_to(out).parts[0] != ".build" and p.name not in EXCLUDED
    }


def cmd(world, out: Path) -> list[str]:
    return [sys.executable, "-m", "mmimdb2.build", "--out", str(out), "--manifest", str(world.manifest),
            "--sources", "tsv,tmdb,omdb", "--tsv-dir", str(world.tsv_dir), "--workers", "3", "--rate", "1000",
            "--attempts", "2", "--timeout", "5", "--no-progress"]  # fmt: skip


def journalled(out: Path) -> int:
    p = out / ".build/journal.jsonl"
    return p.read_bytes().count(b'"kind": "movie"') if p.exists() else 0


def test_sigkill_at_random_points_then_resume_is_byte_identical(world, tmp_path):
    env = {**os.environ, **world.env}
    world.web.delay = 0.03  # stretch the build so kills land mid-work
    ref = tmp_path / "ref"
    done = subprocess.run(cmd(world, ref), env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr

    out = tmp_path / "out"
    rng = random.Random(7)
    kills = 0
    for after in (0, 3, 8, 13, 17):  # kill once this many movies are journalled (+ a random few ms)
        proc = subprocess.Popen(cmd(world, out), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while journalled(out) < after and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.05))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=30)
    assert kills >= 3
    final = subprocess.run(cmd(world, out), env=env, capture_output=True, text=True, timeout=60)
    assert final.returncode == 0, final.stderr
    assert "complete" in final.stdout
    a, b = snapshot(ref), snapshot(out)
    assert sorted(a) == sorted(b)
    assert [k for k in a if a[k] != b[k]] == []
    assert not [p for p in out.rglob("*") if p.name.endswith((".tmp", ".part"))]
    verify = subprocess.run([sys.executable, "-m", "mmimdb2.build", "--out", str(out), "--verify"], capture_output=True, text=True, timeout=30)
    assert verify.returncode == 0 and verify.stdout.startswith("OK")


def test_leftovers_of_a_crash_are_cleaned_and_the_movie_rebuilt(world, tmp_path):
    env = {**os.environ, **world.env}
    out = tmp_path / "out"
    assert subprocess.run(cmd(world, out), env=env, capture_output=True, timeout=60).returncode == 0
    ref = snapshot(out)
    # what a kill -9 can leave: a temp file of an atomic write, a journal line cut short, a movie
    # whose JSON was written but never journalled (its line is the cut one)
    (out / "dataset/.tt0100005.json.abc123.tmp").write_bytes(b'{"imdb_id": "tt01')
    jpath = out / ".build/journal.jsonl"
    lines = jpath.read_bytes().splitlines(keepends=True)
    cut = [ln for ln in lines if b'"tt0100005"' in ln][-1]
    jpath.write_bytes(b"".join(ln for ln in lines if ln != cut) + cut[: len(cut) // 2])
    r = subprocess.run(cmd(world, out), env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert snapshot(out) == ref and not list((out / "dataset").glob(".*.tmp"))
    entries = Journal(jpath).entries()
    assert all(isinstance(e, dict) for e in entries) and jpath.read_bytes().endswith(b"\n")
    assert [e["id"] for e in entries if e.get("kind") == "movie"].count("tt0100005") == 1  # rebuilt once, from cache


def test_ctrl_c_stops_cleanly_with_a_summary_and_exit_130(world, tmp_path):
    env = {**os.environ, **world.env}
    world.web.delay = 0.05
    out = tmp_path / "out"
    # The build starts as from a terminal, with Ctrl-C's default action. A test run launched in the
    # background (`pytest &`, nohup) ignores SIGINT, and a child inherits that: Python then installs
    # no KeyboardInterrupt handler, and the build, rightly, runs on to exit 0.
    proc = subprocess.Popen(cmd(world, out), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    deadline = time.monotonic() + 30
    while journalled(out) < 3 and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert "interrupted: re-run the same command to continue" in stdout and "Traceback" not in stderr
    assert 3 <= journalled(out) < 20 and not list((out / "dataset").glob(".*.tmp"))
