"""What a job costs where it runs: trainable parameters and the memory it held at its peak.

Seconds are measured by the harness around the fit and the test predictions; this module adds
the two figures a stopwatch cannot give. Memory on a CUDA device is torch's peak of allocated
device memory during the job; on the CPU the process's resident set, sampled by a thread every
``interval`` seconds from ``/proc/self/statm`` (the before-value too, so the job's own share is
the difference), or ``getrusage``'s high-water mark where there is no ``/proc``.
"""

from __future__ import annotations

import os
import resource
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

_STATM = Path("/proc/self/statm")
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def trainable_parameters(model: Any) -> int | None:
    """Trainable parameters of a torch module; an estimator's own count (``n_parameters``) or None."""
    params = getattr(model, "parameters", None)
    if callable(params) and not hasattr(model, "get_params"):
        return int(sum(p.numel() for p in params() if p.requires_grad))
    count = getattr(model, "n_parameters", None)
    return int(count()) if callable(count) else None


def _rss_mb() -> float:
    try:
        return int(_STATM.read_text().split()[1]) * _PAGE / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@dataclass
class MemoryPeak:
    """``memory`` (``rss`` or ``cuda``), MB held when the job started and at its peak."""

    memory: str = "rss"
    before_mb: float = 0.0
    peak_mb: float = 0.0


@contextmanager
def memory_peak(device: Any, interval: float = 0.02) -> Iterator[MemoryPeak]:
    """Measure the peak memory of the ``with`` body on ``device`` (see the module docstring)."""
    import torch

    if getattr(device, "type", str(device)).startswith("cuda") and torch.cuda.is_available():
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        out = MemoryPeak("cuda", torch.cuda.memory_allocated(device) / 2**20)
        try:
            yield out
        finally:
            torch.cuda.synchronize(device)
            out.peak_mb = max(out.before_mb, torch.cuda.max_memory_allocated(device) / 2**20)
        return
    out = MemoryPeak("rss", _rss_mb())
    out.peak_mb = out.before_mb
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(interval):
            out.peak_mb = max(out.peak_mb, _rss_mb())

    thread = threading.Thread(target=sample, name="memory-peak", daemon=True)
    thread.start()
    try:
        yield out
    finally:
        stop.set()
        thread.join()
        out.peak_mb = max(out.peak_mb, _rss_mb())
