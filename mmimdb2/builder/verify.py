"""The ``MANIFEST`` of a build ("sha256  size  relpath" per data file, sorted) and its check.

``MANIFEST`` lists every data file: ``dataset/*``, ``split/*``, ``DATASET.json``, ``croissant.json``,
``DATASHEET.md`` and ``failures.jsonl``. Not listed: ``MANIFEST`` itself, ``BUILD_INFO.json``
(run times and dates, the one file allowed to differ between two builds of the same data) and the
work folder ``.build/`` (journal, HTTP cache).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mmimdb2.builder.writer import sha256_file
from mmimdb2.io import atomic_write_text
from mmimdb2.text import ascii_int

MANIFEST = "MANIFEST"
NOT_LISTED = frozenset({MANIFEST, "BUILD_INFO.json"})
WORK_DIR = ".build"


class VerifyError(ValueError):
    """No MANIFEST, or a MANIFEST that cannot be read."""


def data_files(root: Path) -> list[str]:
    """Relative paths (POSIX) of every file a MANIFEST lists, sorted."""
    out = []
    for p in root.rglob("*"):
        rel = p.relative_to(root)
        if not p.is_file() or rel.parts[0] == WORK_DIR or rel.as_posix() in NOT_LISTED or p.name.endswith(".tmp"):
            continue
        out.append(rel.as_posix())
    return sorted(out)


def write_manifest(root: Path) -> Path:
    lines = []
    for rel in data_files(root):
        p = root / rel
        lines.append(f"{sha256_file(p)}  {p.stat().st_size}  {rel}\n")
    return atomic_write_text(root / MANIFEST, "".join(lines))


def read_manifest(root: Path) -> dict[str, tuple[str, int]]:
    path = root / MANIFEST
    if not path.is_file():
        raise VerifyError(f"{path}: no MANIFEST; is {root} a folder written by python -m mmimdb2.build?")
    out = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("  ", 2)
        size = ascii_int(parts[1]) if len(parts) == 3 else None
        if len(parts) != 3 or len(parts[0]) != 64 or size is None:
            raise VerifyError(f"{path}:{n}: not a 'sha256  size  path' line")
        out[parts[2]] = (parts[0], size)
    return out


@dataclass
class VerifyReport:
    """Files whose bytes differ, files gone, and data files the MANIFEST does not list."""

    checked: int = 0
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.unlisted)

    def lines(self) -> list[str]:
        return [f"changed: {p}" for p in self.changed] + [f"missing: {p}" for p in self.missing] + [f"unlisted: {p}" for p in self.unlisted]


def verify(root: str | Path) -> VerifyReport:
    """Re-hash every file the MANIFEST lists and name each one that is changed, missing or unlisted."""
    root = Path(root)
    listed = read_manifest(root)
    rep = VerifyReport()
    for rel, (digest, size) in sorted(listed.items()):
        p = root / rel
        if not p.is_file():
            rep.missing.append(rel)
            continue
        rep.checked += 1
        if p.stat().st_size != size or sha256_file(p) != digest:
            rep.changed.append(rel)
    rep.unlisted = [rel for rel in data_files(root) if rel not in listed]
    return rep
