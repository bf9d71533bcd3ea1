"""How many CPUs this process may really use: the one answer every worker and thread count reads.

``os.cpu_count()`` counts the machine's CPUs, not this process's: under ``taskset``, a container's
CPU quota or a batch scheduler it overstates them, and torch's threads or a loader's workers then
oversubscribe the cores (a run beside busy processes slows far beyond its fair share).
"""

from __future__ import annotations

import math
import os
from pathlib import Path


def _cgroup_quota(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """CPUs allowed by a cgroup v2 ``cpu.max`` quota (rounded up), or None when unlimited/unknown."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    try:
        return max(1, math.ceil(int(quota) / int(period)))
    except (ValueError, ZeroDivisionError):
        return None


def usable_cpus(*, cgroup_root: Path = Path("/sys/fs/cgroup")) -> int:
    """The CPUs this process may run on (its affinity mask), capped by a cgroup CPU quota; at least 1."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        n = os.cpu_count() or 1
    quota = _cgroup_quota(cgroup_root)
    return max(1, min(n, quota) if quota else n)
