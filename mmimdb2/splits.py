"""Fixed, hashed splits: files of ids, never re-drawn, checked disjoint on load.

The hash of a split part is the sha256 of its ids, normalised to the canonical ``tt`` form
(:func:`mmimdb2.schema.normalize_imdb_id`), sorted, one per line with a trailing newline. It identifies *which movies* are in the part, independent of file
order or MM-IMDb's bare-digit spelling. The split's own hash combines its parts' hashes, so one
string names the whole train/dev/test assignment on the leaderboard.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from mmimdb2.io import atomic_write_text, read_regular_bytes
from mmimdb2.schema import InvalidId, normalize_imdb_id

PARTS: tuple[str, ...] = ("train", "dev", "test")

#: Split id lists shipped inside the package, copied byte for byte from the IDKG authors'
#: repository (aoluming/IDKG @ d06a10bf); ``SHA256SUMS`` in each folder pins the files.
MANIFESTS_DIR = Path(__file__).parent / "manifests"

#: Largest split id file or SHA256SUMS read (the packaged lists are ~0.3 MB); a bound, so a huge
#: or endless file fails with one line instead of exhausting memory.
MAX_SPLIT_FILE_BYTES = 64 * 1024 * 1024

_SUMS_LINE = re.compile(r"^([0-9a-fA-F]{64}) [ *](.+)$")


class SplitError(ValueError):
    """A split that cannot be trusted: overlapping parts, bad ids, missing or altered files."""


def ids_sha256(ids: Iterable[str]) -> str:
    """sha256 of the sorted, ``tt``-normalised ids, one per line."""
    text = "".join(i + "\n" for i in sorted(normalize_imdb_id(i) for i in ids))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Split:
    """Named, ordered id lists (``train``, ``dev``, ``test``); order is the file's, never shuffled."""

    name: str
    parts: Mapping[str, tuple[str, ...]]

    def __post_init__(self) -> None:
        missing = [p for p in PARTS if p not in self.parts]
        if missing:
            raise SplitError(f"split {self.name!r} has no {', '.join(missing)} part")
        object.__setattr__(self, "parts", self._canonical_parts())

    def _canonical_parts(self) -> dict[str, tuple[str, ...]]:
        """Parts with every id in canonical form; a bad id, an overlap or a movie listed twice
        (under any spelling) is a :class:`SplitError` naming it."""
        seen: dict[str, tuple[str, str]] = {}  # canonical id -> (part, spelling as listed)
        parts: dict[str, tuple[str, ...]] = {}
        for part, ids in self.parts.items():
            out = []
            for raw in ids:
                try:
                    i = normalize_imdb_id(raw)
                except InvalidId as e:
                    raise SplitError(f"split {self.name!r}: part {part}: {e}") from None
                if i in seen:
                    first_part, first_raw = seen[i]
                    where = "twice in" if first_part == part else f"in both {first_part} and"
                    spelled = f" (listed as {first_raw} and {raw})" if first_raw != raw else ""
                    raise SplitError(f"split {self.name!r}: {i} is {where} {part}{spelled}")
                seen[i] = (part, raw)
                out.append(i)
            parts[part] = tuple(out)
        return parts

    def __getitem__(self, part: str) -> tuple[str, ...]:
        if part not in self.parts:
            raise KeyError(f"split {self.name!r} has no part {part!r}; parts: {', '.join(self.parts)}")
        return self.parts[part]

    def part_sha256(self, part: str) -> str:
        return ids_sha256(self[part])

    @property
    def hashes(self) -> dict[str, str]:
        return {p: self.part_sha256(p) for p in self.parts}

    @property
    def sha256(self) -> str:
        """One hash for the whole assignment of movies to parts."""
        text = "".join(f"{p}:{h}\n" for p, h in self.hashes.items())
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def all_ids(self) -> tuple[str, ...]:
        return tuple(i for p in self.parts for i in self.parts[p])

    def part_of(self) -> dict[str, str]:
        """id -> part name."""
        return {i: p for p, ids in self.parts.items() for i in ids}

    def check_disjoint(self) -> None:
        """Raise :class:`SplitError` naming the first overlap between two parts, or a duplicate
        (construction already checks; kept for callers that re-check)."""
        self._canonical_parts()

    def restrict(self, available: Iterable[str], name: str | None = None) -> Split:
        """The same split keeping only ``available`` ids (file order kept)."""
        keep = set(available)
        return Split(name or self.name, {p: tuple(i for i in ids if i in keep) for p, ids in self.parts.items()})


def _read_bounded(path: Path) -> bytes:
    """A split folder file's bytes: a regular file (never a FIFO or device) of bounded size."""
    try:
        return read_regular_bytes(path, max_bytes=MAX_SPLIT_FILE_BYTES)
    except OSError as e:
        raise SplitError(f"{path}: cannot read split file ({e.strerror or e})") from None


def _read_id_file(path: Path) -> tuple[str, ...]:
    """Ids of one part file, canonical; a bad id, or one movie on two lines (under any spelling),
    is a :class:`SplitError` naming the file and line."""
    try:
        text = _read_bounded(path).decode("utf-8")
    except UnicodeDecodeError as e:
        raise SplitError(f"{path}: not UTF-8 text ({e})") from None
    ids: list[str] = []
    first: dict[str, tuple[int, str]] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            i = normalize_imdb_id(line)
        except InvalidId as e:
            raise SplitError(f"{path}:{lineno}: {e}") from None
        if i in first:
            at, raw = first[i]
            spelled = "" if raw == line else f" (as {raw}; {line} is the same movie)"
            raise SplitError(f"{path}:{lineno}: {i} is already listed on line {at}{spelled}")
        first[i] = (lineno, line)
        ids.append(i)
    return tuple(ids)


def _member(folder: Path, name: str, where: str) -> Path:
    """``folder / name`` if ``name`` is a plain file name whose file lies inside ``folder``.

    Refused with one line starting ``where``: absolute paths, ``..`` or any separator, a missing
    file, and a symlink whose target lies outside the folder. A name is never a path to follow.
    """
    if os.path.isabs(name) or name.startswith(("/", "\\")):
        raise SplitError(f"{where} is an absolute path; entries must be file names inside {folder}")
    if "/" in name or "\\" in name or name in (".", "..") or "\0" in name:
        raise SplitError(f"{where} is not a plain file name inside {folder} (no '/', '\\' or '..')")
    path = folder / name
    try:
        path.resolve(strict=True).relative_to(folder.resolve())
    except FileNotFoundError:
        raise SplitError(f"{where}: no such file in {folder}") from None
    except (OSError, RuntimeError, ValueError):
        raise SplitError(f"{where} resolves outside {folder} (a symlink leaving the folder)") from None
    return path


def _check_sums(folder: Path) -> None:
    """Check every file ``SHA256SUMS`` lists; each entry must name a regular file in ``folder``."""
    sums = folder / "SHA256SUMS"
    if not sums.exists() and not sums.is_symlink():
        return
    try:
        text = _read_bounded(sums).decode("utf-8")
    except UnicodeDecodeError as e:
        raise SplitError(f"{sums}: not UTF-8 text ({e})") from None
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = _SUMS_LINE.match(line.rstrip("\r"))
        if not m:
            raise SplitError(f"{sums}:{lineno}: expected 'sha256  name' (sha256sum format), got {line[:80]!r}")
        digest, name = m.group(1).lower(), m.group(2).strip()
        path = _member(folder, name, f"{sums}:{lineno}: entry {name!r}")
        got = hashlib.sha256(_read_bounded(path)).hexdigest()
        if got != digest:
            raise SplitError(f"{path}: sha256 {got[:12]}… does not match SHA256SUMS ({digest[:12]}…)")


def read_split_dir(folder: str | Path, name: str | None = None) -> Split:
    """Read ``train.txt``, ``dev.txt``, ``test.txt`` (one IMDb id a line), checking ``SHA256SUMS`` if present."""
    folder = Path(folder)
    missing = [f"{p}.txt" for p in PARTS if not (folder / f"{p}.txt").exists()]
    if missing:
        raise SplitError(f"{folder}: split folder lacks {', '.join(missing)}")
    _check_sums(folder)
    files = {p: _member(folder, f"{p}.txt", f"{folder / p}.txt") for p in PARTS}
    return Split(name or folder.name, {p: _read_id_file(f) for p, f in files.items()})


def write_split_dir(split: Split, folder: str | Path) -> Path:
    """Write one id file per part plus ``SHA256SUMS`` (file hashes) and ``SPLIT_SHA256`` (content hashes)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sums = []
    for p in split.parts:
        text = "".join(i + "\n" for i in split.parts[p])
        atomic_write_text(folder / f"{p}.txt", text)
        sums.append(f"{hashlib.sha256(text.encode()).hexdigest()}  {p}.txt\n")
    atomic_write_text(folder / "SHA256SUMS", "".join(sums))
    lines = [f"{h}  {p}\n" for p, h in split.hashes.items()] + [f"{split.sha256}  split\n"]
    atomic_write_text(folder / "SPLIT_SHA256", "".join(lines))
    return folder


@functools.lru_cache(maxsize=1)
def _packaged_fingerprints() -> dict[tuple[int, ...], list[tuple[str, str]]]:
    """(part sizes) -> [(packaged name, split sha256)], read once per process."""
    out: dict[tuple[int, ...], list[tuple[str, str]]] = {}
    for folder in sorted(p for p in MANIFESTS_DIR.iterdir() if p.is_dir()):
        s = packaged_split(folder.name)
        out.setdefault(tuple(len(s[p]) for p in PARTS), []).append((folder.name, s.sha256))
    return out


def with_packaged_name(split: Split) -> Split:
    """``split`` renamed after the packaged split with the same content hash, if there is one.

    A built MM-IMDb 2.0 whose ``split/`` folder lists exactly the canonical ids then carries the
    canonical name (``mmimdb2-idkg``) on the leaderboard, whatever folder it came from.
    """
    sizes = tuple(len(split.parts.get(p, ())) for p in PARTS)
    for name, sha in _packaged_fingerprints().get(sizes, []):
        if sha == split.sha256:
            return Split(name, split.parts)
    return split


def packaged_split(manifest: str) -> Split:
    """A split shipped in the package: ``mmimdb2-idkg``, ``mmimdb2-idkg-alt`` or ``mmimdb-idkg``."""
    folder = MANIFESTS_DIR / manifest
    if not folder.is_dir():
        have = sorted(p.name for p in MANIFESTS_DIR.iterdir() if p.is_dir())
        raise SplitError(f"no packaged split {manifest!r}; available: {', '.join(have)}")
    return read_split_dir(folder, name=manifest)
