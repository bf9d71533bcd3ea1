"""``python -m benchmarks.perf.scale --limit N --out DIR``: seconds and peak memory per stage at N movies.

Generates the demo at N movies under ``DIR`` (3,000 is the embedded demo; 33,742 is MM-IMDb 2.0's
size), runs each stage of :mod:`benchmarks.perf.stages` in a fresh worker process for ``--rounds``
rounds, then the whole ``python -m benchmarks.run --models idkg gmu`` once from cold caches, and
prints a table (mean seconds, seconds per epoch, peak RSS) and writes it to ``DIR/scale-N.json``.
Peak memory is the kernel's RSS high-water mark (:mod:`benchmarks.perf.memory`): of the stage
alone in its worker, and of the whole run (``os.wait4``'s ``ru_maxrss``, as ``/usr/bin/time -v``
reports it). ``benchmarks/perf/test_bench_scale.py`` runs the same through pytest-benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.perf.stages import STAGE_REGISTRY, STAGES, Stage
from mmimdb2.io import atomic_write_json

#: MM-IMDb 2.0's size in movies.
FULL = 33_742
RUN_COMMAND = ("-m", "benchmarks.run", "--models", "idkg", "gmu", "--encoder", "weightfree", "--no-progress")
REPO = Path(__file__).resolve().parents[2]


def worker_env(cache: Path) -> dict[str, str]:
    """The environment of a worker or run: every cache (ours, PyKEEN's) under ``cache``."""
    return {**os.environ, "MMIMDB2_CACHE": str(cache), "PYKEEN_HOME": str(cache / "pykeen"), "PYTHONUNBUFFERED": "1"}


class Worker:
    """One stage in a fresh ``python -m benchmarks.perf.stages`` process: :meth:`start` returns once
    its inputs are prepared, :meth:`go` runs the stage and returns its figures."""

    def __init__(self, stage: Stage, data: Path, work: Path, round_: int, epochs: int | None = None) -> None:
        self.stage = stage
        self.scratch = work / "scratch" / f"{stage.name}-{round_}"
        shutil.rmtree(self.scratch, ignore_errors=True)
        self.scratch.mkdir(parents=True)
        self.log = self.scratch / "worker.log"
        cmd = [sys.executable, "-m", "benchmarks.perf.stages", stage.name, "--data", str(data), "--cache", str(work / "cache"),
               "--scratch", str(self.scratch), "--wait", *(["--epochs", str(epochs)] if epochs else [])]  # fmt: skip
        self._err = self.log.open("w")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err, text=True,
                                     env=worker_env(work / "cache"), cwd=REPO)  # fmt: skip

    def _line(self) -> str:
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line:
            self.close(check=False)
            tail = self.log.read_text(errors="replace").strip().splitlines()[-5:]
            raise RuntimeError(f"stage {self.stage.name}: worker exited ({self.proc.returncode}): " + " | ".join(tail))
        return line.strip()

    def start(self) -> Worker:
        if (line := self._line()) != "ready":
            raise RuntimeError(f"stage {self.stage.name}: expected 'ready' from the worker, got {line!r}")
        return self

    def go(self) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        return json.loads(self._line())

    def close(self, check: bool = True) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        rc = self.proc.wait()
        self._err.close()
        if check and rc != 0:
            raise RuntimeError(f"stage {self.stage.name}: worker exited with {rc} (log {self.log})")


def measure_stage(stage: Stage, data: Path, work: Path, *, rounds: int = 1, epochs: int | None = None) -> dict[str, Any]:
    """``rounds`` fresh workers of ``stage``; their figures summarised (:func:`summarise`)."""
    runs = []
    for r in range(rounds):
        w = Worker(stage, data, work, r, epochs).start()
        try:
            runs.append(w.go())
        finally:
            w.close()
    return summarise(runs)


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean seconds (and seconds per epoch), the largest peak over the rounds, every round's seconds."""
    last = dict(runs[-1])
    out = {**last, "rounds": len(runs), "seconds": round(statistics.fmean(r["seconds"] for r in runs), 4),
           "seconds_each": [r["seconds"] for r in runs],
           "peak_mb": max(r["peak_mb"] for r in runs), "delta_mb": max(r["delta_mb"] for r in runs)}  # fmt: skip
    if "per_epoch_s" in last:
        out["per_epoch_s"] = round(statistics.fmean(r["per_epoch_s"] for r in runs), 4)
    return out


def whole_run(data: Path, work: Path) -> dict[str, Any]:
    """``python -m benchmarks.run --models idkg gmu`` on ``data`` from cold caches: wall seconds and
    the peak RSS of the run and the processes it waited for (``os.wait4``, as ``time -v``)."""
    run_dir = work / "whole-run"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    cmd = [sys.executable, *RUN_COMMAND, "--dataset", str(data), "--out", str(run_dir / "runs"), "--cache-dir", str(run_dir / "cache")]
    with (run_dir / "run.log").open("w") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=worker_env(run_dir / "cache"), cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = (run_dir / "run.log").read_text(errors="replace").strip().splitlines()[-5:]
        raise RuntimeError(f"benchmarks.run exited with {proc.returncode}: " + " | ".join(tail))
    peak_kb = usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss
    return {"stage": "benchmarks.run", "seconds": round(seconds, 2), "peak_mb": round(peak_kb / 1024, 1), "rounds": 1,
            "command": "python " + " ".join(RUN_COMMAND)}  # fmt: skip


def format_table(n: int, results: list[dict[str, Any]]) -> str:
    """One line per stage: mean seconds over the rounds, seconds per epoch, peak and own RSS (MB)."""
    head = f"{'stage':<20} {'rounds':>6} {'seconds':>9} {'s/epoch':>9} {'peak MB':>9} {'own MB':>8}"
    lines = [f"per-stage figures at {n:,} movies (fresh process per stage; peak = RSS high-water mark)", head, "-" * len(head)]
    for r in results:
        per_epoch = f"{r['per_epoch_s']:.3f}" if "per_epoch_s" in r else ""
        own = f"{r['delta_mb']:.0f}" if "delta_mb" in r else ""
        lines.append(f"{r['stage']:<20} {r['rounds']:>6} {r['seconds']:>9.2f} {per_epoch:>9} {r['peak_mb']:>9.0f} {own:>8}")
    return "\n".join(lines)


def ensure_data(n: int, folder: Path) -> Path:
    """The demo at ``n`` movies in ``folder`` (generated once, reused)."""
    from mmimdb2.demo import ensure_demo

    return ensure_demo(folder, n_movies=n, seed=0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.perf.scale", description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=3000, metavar="N", help=f"movies in the generated demo (default 3000; MM-IMDb 2.0: {FULL})")
    ap.add_argument("--out", type=Path, required=True, help="folder for the demo, caches and scale-N.json (outside the project)")
    ap.add_argument("--rounds", type=int, default=1, help="fresh-process rounds per stage (default 1)")
    ap.add_argument("--stages", nargs="+", metavar="S", default=None, help=f"stages to run (default all: {' '.join(s.name for s in STAGES)})")
    ap.add_argument("--no-run", action="store_true", help="skip the whole benchmarks.run measurement")
    args = ap.parse_args(argv)
    out = args.out.resolve()
    if args.limit < 1 or args.rounds < 1:
        ap.error(f"--limit and --rounds must be >= 1, got --limit {args.limit} --rounds {args.rounds}")
    if out == REPO or REPO in out.parents:
        ap.error(f"--out {args.out} lies inside the project's checkout; give a folder outside it (e.g. under /tmp)")
    try:
        stages = [STAGE_REGISTRY.load(s) for s in args.stages] if args.stages else list(STAGES)
    except KeyError as e:
        ap.error(str(e))
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    data = ensure_data(args.limit, out / f"demo-{args.limit}")
    work = out / f"work-{args.limit}"
    results, path, load = [], out / f"scale-{args.limit}.json", os.getloadavg()
    try:
        for stage in tqdm(stages, desc=f"stages at {args.limit:,} movies", unit="stage"):
            results.append(measure_stage(stage, data, work, rounds=args.rounds))
            atomic_write_json(path, {"movies": args.limit, "stages": results, "loadavg": os.getloadavg()})  # kept if a later stage fails
        if not args.no_run:
            results.append(whole_run(data, work))
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    load = os.getloadavg()
    atomic_write_json(path, {"movies": args.limit, "stages": results, "loadavg": load})
    print(format_table(args.limit, results))
    print(f"done in {time.perf_counter() - t0:.0f} s; load average at the end {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; figures in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
