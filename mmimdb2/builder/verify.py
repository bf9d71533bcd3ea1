"""The ``MANIFEST`` of a build ("sha256  size  relpath" per data file, sorted) and its check.

``MANIFEST`` lists every data file: ``dataset/*``, ``split/*``, ``croissant.json``, ``DATASHEET.md``
and ``failures.jsonl``. Not listed: ``MANIFEST`` itself, ``DATASET.json`` (the completion marker,
written after MANIFEST with MANIFEST's sha256 in it: the chain DATASET.json -> MANIFEST -> files;
builds before issue 30 listed it, and their MANIFEST is checked as it is), ``BUILD_INFO.json`` (run
times and dates, the one file allowed to differ between two builds of the same data) and the work
folder ``.build/`` (journal, HTTP cache).

``--verify`` says whether the build has finished: a ``DATASET.json`` that says ``unfinished`` (or
says complete with no MANIFEST) is named, with or without a MANIFEST to check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mmimdb2.builder.writer import sha256_file
from mmimdb2.io import BadJSON, atomic_write_text, read_json
from mmimdb2.layouts.common import build_unfinished
from mmimdb2.text import ascii_int

MANIFEST = "MANIFEST"
NOT_LISTED = frozenset({MANIFEST, "DATASET.json", "BUILD_INFO.json"})
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


def _build_state(root: Path) -> tuple[str | None, str | None]:
    """(why the build has not finished or ``None``, MANIFEST's sha256 as DATASET.json records it or ``None``)."""
    try:
        meta = read_json(root / "DATASET.json")
    except BadJSON:
        return None, None  # absent or unreadable: nothing it says can be used
    if not isinstance(meta, dict):
        return None, None
    sha = meta.get("manifest_sha256")
    return build_unfinished(root, meta), sha if isinstance(sha, str) else None


def read_manifest(root: Path) -> dict[str, tuple[str, int]]:
    path = root / MANIFEST
    if not path.is_file():
        unfinished, _ = _build_state(root)
        if unfinished:
            raise VerifyError(f"{path}: no MANIFEST yet: {unfinished}; run the build again with the same options to finish it")
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
    #: Why the build has not finished (its DATASET.json says so), else ``None``: then MANIFEST may
    #: describe an earlier state, and the folder does not verify whatever its files say.
    unfinished: str | None = None

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.unlisted or self.unfinished)

    def lines(self) -> list[str]:
        out = [f"changed: {p}" for p in self.changed] + [f"missing: {p}" for p in self.missing] + [f"unlisted: {p}" for p in self.unlisted]
        return out + ([f"not finished: {self.unfinished}; run the build again with the same options to finish it"] if self.unfinished else [])


def verify(root: str | Path) -> VerifyReport:
    """Re-hash every file the MANIFEST lists and name each one that is changed, missing or unlisted."""
    root = Path(root)
    listed = read_manifest(root)
    unfinished, manifest_sha = _build_state(root)
    rep = VerifyReport(unfinished=unfinished)
    if manifest_sha is not None and sha256_file(root / MANIFEST) != manifest_sha:
        rep.changed.append(MANIFEST)  # not the one DATASET.json was written after
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
