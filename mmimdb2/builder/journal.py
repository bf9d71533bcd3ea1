"""An append-only journal of the build: one fsync'd JSON line per finished movie (or run start).

A movie's files are written (atomically) *before* its line is appended, so a line always means
"these files are complete". After a ``kill -9`` the last line may be cut short; opening the journal
drops that fragment, and the movie it described is simply built again (with the same bytes).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path


class Journal:
    """Thread-safe appender and reader of ``journal.jsonl``."""

    def __init__(self, path: str | Path, redact: Callable[[object], object] | None = None) -> None:
        self.path = Path(path)
        self._redact = redact  # the build's secret filter: no key reaches the journal
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._repair()

    def _repair(self) -> None:
        """Cut a partial last line left by a crash mid-append."""
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            keep = data.rfind(b"\n") + 1
            with open(self.path, "r+b") as f:
                f.truncate(keep)
                f.flush()
                os.fsync(f.fileno())

    def append(self, entry: dict) -> None:
        """Write one line and fsync it before returning."""
        if self._redact is not None:
            entry = self._redact(entry)  # type: ignore[assignment]
        # backslashreplace: a lone surrogate that got this far is written as its JSON escape, never a crash
        line = (json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8", "backslashreplace")
        with self._lock, open(self.path, "ab") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def entries(self) -> list[dict]:
        """Every complete line, in order (a damaged line is skipped)."""
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if isinstance(e, dict):
                out.append(e)
        return out

    def movies(self) -> dict[str, dict]:
        """id -> the last movie entry for it (``status`` ``done`` or ``failed``)."""
        return {e["id"]: e for e in self.entries() if e.get("kind") == "movie" and "id" in e}

    def runs(self) -> list[dict]:
        return [e for e in self.entries() if e.get("kind") == "run"]
