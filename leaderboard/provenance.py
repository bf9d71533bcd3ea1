"""Provenance of a result: which code, which machine, when.

Recorded in every result (``code_version``, ``hardware``, ``created``) and shown by the
leaderboard; never part of a result's identity. Machine-reported text is reduced to the
characters the schema allows, so an odd CPU name cannot make a good run unwritable.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

#: Allowed characters of the free-text provenance fields that reach the README (hardware, encoder,
#: dataset and code versions, config strings): no markup (``< > & ` * [ ] | \ $``), quotes or
#: control characters (CR/LF). The schema holds the same patterns.
TEXT_CHARS = r"A-Za-z0-9 _.,:;=+~@%()/-"


def _repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=_repo_root(), capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def code_version() -> dict[str, Any]:
    """git describe, commit and dirty flag of this checkout (null outside git), plus the package version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        package = version("mmimdb2")
    except PackageNotFoundError:
        package = "unknown"
    commit = _git("rev-parse", "HEAD")
    if not commit or not re.fullmatch(r"[0-9a-f]{40}", commit):
        return {"git": None, "commit": None, "dirty": None, "package": package}
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "git": _git("describe", "--always", "--tags"),
        "commit": commit,
        "dirty": None if status is None else bool(status),
        "package": package,
    }


def clean_text(text: str, max_len: int = 200) -> str:
    """Machine-reported text (CPU or GPU name) reduced to :data:`TEXT_CHARS`, one line, at most ``max_len``.

    Those names come from the OS and drivers, not the user; an odd character in them must not make
    an otherwise good run unwritable.
    """
    return " ".join(re.sub(f"[^{TEXT_CHARS}]", " ", str(text)).split())[:max_len]


def _cpu_name() -> str:
    name = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    name = clean_text(name or platform.processor() or platform.machine()) or "unknown"
    return f"{name} ({os.cpu_count() or '?'} cores)"


def hardware_info(device: str = "cpu", threads: int | None = None) -> dict[str, Any]:
    """Device, CPU, GPU name (when ``device`` is CUDA) and torch version of this machine, and
    ``threads``, torch's intra-op threads for the run, when given (a run beside busy processes is
    slower with more threads than idle cores, so a timing means little without it)."""
    import torch

    gpu = None
    if str(device).startswith("cuda") and torch.cuda.is_available():
        gpu = clean_text(torch.cuda.get_device_name(torch.device(device))) or "unknown GPU"
    info = {
        "device": str(device),
        "cpu": _cpu_name(),
        "gpu": gpu,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    return info | ({"threads": int(threads)} if threads is not None else {})


def utc_now() -> str:
    """Current time, ISO 8601, UTC, to the second."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
