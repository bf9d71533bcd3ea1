"""Peak resident memory of one stage of work, as the kernel counts it (numpy and torch included).

``tracemalloc`` sees only Python's allocator, not the buffers numpy, torch and PyKEEN allocate in C,
so it misses most of a stage's memory. The kernel's resident-set high-water mark (``VmHWM`` in
``/proc/self/status``, the same counter ``getrusage`` reports as ``ru_maxrss``) counts every page
the process touched, whoever allocated it, and is exact (no sampling to miss a short spike).
Linux lets a process reset it to the current RSS (``echo 5 > /proc/self/clear_refs``), so a fresh
process per stage can load the stage's inputs, reset the mark, run the stage and read the stage's
own peak. Where the reset is not allowed the peak includes the setup's, and says so.
"""

from __future__ import annotations

import resource
import sys
from dataclasses import dataclass
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kb(field: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_mb() -> float:
    """This process's resident memory now (MB); the high-water mark where /proc is missing."""
    kb = _status_kb("VmRSS")
    return (kb if kb is not None else _maxrss_kb(resource.RUSAGE_SELF)) / 1024


def _maxrss_kb(who: int) -> int:
    r = resource.getrusage(who).ru_maxrss
    return r // 1024 if sys.platform == "darwin" else r  # bytes on macOS, KiB on Linux


def reset_peak() -> bool:
    """Reset this process's RSS high-water mark to its current RSS; False where Linux refuses."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def peak_mb() -> float:
    """This process's RSS high-water mark (MB) since start or the last :func:`reset_peak`."""
    kb = _status_kb("VmHWM")
    return (kb if kb is not None else _maxrss_kb(resource.RUSAGE_SELF)) / 1024


def children_peak_mb() -> float:
    """The largest peak RSS (MB) of any child process waited for (e.g. data-loader workers); a
    forked child's RSS counts the pages it shares with its parent, so this is not additive."""
    return _maxrss_kb(resource.RUSAGE_CHILDREN) / 1024


@dataclass(frozen=True)
class PeakWatch:
    """The RSS at the start of a stage and the stage's peak, read after it ran."""

    start_mb: float
    reset: bool
    children_start_mb: float

    @classmethod
    def start(cls) -> PeakWatch:
        ok = reset_peak()
        return cls(rss_mb(), ok, children_peak_mb())

    def read(self) -> dict[str, float | bool]:
        """``peak_mb`` (whole process, during the stage), ``delta_mb`` (peak minus the RSS the
        stage started with: its own memory), ``peak_is_stage_only`` (False: setup's peak included)
        and ``workers_peak_mb``, the largest child's peak when a child of the stage set a new one
        (the children's mark cannot be reset, so None means no child outgrew the earlier ones)."""
        peak, children = peak_mb(), children_peak_mb()
        workers = round(children, 1) if children > self.children_start_mb else None
        return {"peak_mb": round(peak, 1), "start_mb": round(self.start_mb, 1), "delta_mb": round(peak - self.start_mb, 1),
                "peak_is_stage_only": self.reset, "workers_peak_mb": workers}  # fmt: skip
