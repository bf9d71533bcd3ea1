"""How many intra-op threads torch gets: the one place that decides and sets it.

torch starts one intra-op thread per core of the machine. Beside other CPU-bound processes those
threads oversubscribe the cores, and torch's parallel regions wait at each barrier for the thread
that is descheduled: on 2 cores beside 4 busy processes the demo ran 10x slower than idle, against
3.4x with one thread (its fair share). So the default is the CPUs this process may use
(:func:`mmimdb2.cpus.usable_cpus`) that are idle right now, at least one; ``OMP_NUM_THREADS``
and ``--threads`` override it. The setting is process-wide (torch has no other kind):
:func:`torch_threads` sets it for a block and restores the caller's value after. The idle CPUs are
read once, at the start (a load that comes later is not followed), over a tenth of a second of
``/proc/stat`` rather than the load average, which lags by a minute and counts a run that just
ended. Inter-op threads are left alone: nothing here forks torch work (``torch.jit.fork``).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from mmimdb2.cpus import usable_cpus

#: How long :func:`idle_cpus` watches the CPUs: ten scheduler ticks at 100 Hz, short beside a run.
SAMPLE_S = 0.1


def _cpu_times(stat: Path, cpus: set[int]) -> tuple[float, float] | None:
    """(idle, total) jiffies summed over ``cpus`` from ``/proc/stat``; None when unreadable."""
    try:
        lines = stat.read_text().splitlines()
    except OSError:
        return None
    idle = total = 0.0
    seen = 0
    for line in lines:
        name, *fields = line.split()
        if not (name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus):
            continue
        values = [float(v) for v in fields[:8]]  # user nice system idle iowait irq softirq steal
        idle += values[3] + values[4]
        total += sum(values)
        seen += 1
    return (idle, total) if seen else None


def idle_cpus(*, window: float = SAMPLE_S, stat: Path = Path("/proc/stat")) -> float | None:
    """How many of this process's CPUs sat idle over ``window`` seconds (from ``/proc/stat``);
    None where the kernel does not tell (not Linux)."""
    try:
        cpus = os.sched_getaffinity(0)
    except (AttributeError, OSError):
        return None
    before = _cpu_times(stat, cpus)
    if before is None:
        return None
    time.sleep(window)
    after = _cpu_times(stat, cpus)
    if after is None or after[1] <= before[1]:
        return None
    return len(cpus) * (after[0] - before[0]) / (after[1] - before[1])


def parse_threads(value: str | int, source: str) -> int:
    """A thread count of at least 1; anything else is one line naming where it came from."""
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = 0
    if n < 1 or (isinstance(value, str) and not value.strip().isdigit()):
        raise ValueError(f"{source} must be a whole number of threads >= 1. Got {value!r} instead.")
    return n


def default_threads(*, env: Mapping[str, str] | None = None, idle: float | None = None, cpus: int | None = None) -> int:
    """``OMP_NUM_THREADS`` when set; else the usable CPUs that are idle now (at least 1), or all
    usable CPUs where idleness cannot be read. ``idle`` and ``cpus`` default to the measured values."""
    env = os.environ if env is None else env
    if env.get("OMP_NUM_THREADS", "").strip():
        return parse_threads(env["OMP_NUM_THREADS"], "OMP_NUM_THREADS")
    cpus = usable_cpus() if cpus is None else cpus
    idle = idle_cpus() if idle is None else idle
    if idle is None:
        return cpus
    return max(1, min(cpus, round(idle)))


def resolve_threads(requested: int | None) -> int:
    """``requested`` (``--threads``) when given, else :func:`default_threads`."""
    return default_threads() if requested is None else parse_threads(requested, "--threads")


def per_job(threads: int, jobs: int) -> int:
    """Each of ``jobs`` concurrent workers' share of ``threads``, at least 1."""
    return max(1, threads // max(1, jobs))


def set_threads(n: int) -> None:
    """Set torch's intra-op threads for this process (a worker's own count)."""
    import torch

    torch.set_num_threads(int(n))


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[int]:
    """torch's intra-op threads set to ``n`` inside the block and restored after; ``None`` leaves
    the caller's setting alone. Yields the count in force."""
    import torch

    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(int(n))
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
