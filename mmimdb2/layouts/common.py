"""What every on-disk layout shares: safe file listing, JSON records, people, posters, MANIFEST.

Each check here turns bad input into either a :class:`~mmimdb2.schema.Skip` (the loader goes on)
or an exception with a one-line message naming the file (continuing would be wrong).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from mmimdb2.images import MAX_ASPECT, MAX_POSTER_PIXELS, shape_problem
from mmimdb2.io import BadJSON, NotRegularFile, file_kind, open_regular, read_json, read_regular_bytes
from mmimdb2.names import split_names
from mmimdb2.schema import InvalidId, Person, Skip, is_person_id, normalize_imdb_id, year_problem
from mmimdb2.text import ascii_int, printable


class DatasetNotFound(FileNotFoundError):
    """No dataset where one was asked for; the message says where to get or how to build it."""


class DatasetError(ValueError):
    """A dataset folder that cannot be read as a whole (unknown layout, no movies, bad DATASET.json)."""


class ManifestError(ValueError):
    """A file listed in MANIFEST is missing or differs from its recorded size or sha256."""



#: Largest MANIFEST read (a full MM-IMDb 2.0 build lists ~68k files in ~7 MB).
MAX_MANIFEST_BYTES = 256 * 1024 * 1024

#: How the ``status`` in ``DATASET.json`` of a build that has not finished begins: the builder
#: writes it before it changes any file, and replaces it only after ``MANIFEST`` is on disk.
UNFINISHED = "unfinished"

_JPEG_EOI = b"\xff\xd9"
#: Bytes at the end of a JPEG that :func:`check_poster` reads for the end-of-image marker.
JPEG_TAIL_BYTES = 64


@dataclass(frozen=True)
class Listing:
    """One scan of a ``dataset/`` folder: the JSON files by id, the other file names, and skips.

    ``refused``: entries that are there but are never opened (a symlink out of the folder, a FIFO,
    a device, a folder), name -> what it is ("a FIFO, not a regular file"), so a movie file or a
    poster refused is reported as what it is, never as missing."""

    folder: Path
    json_files: dict[str, Path]
    names: frozenset[str]
    skips: tuple[Skip, ...]
    refused: dict[str, str] = field(default_factory=dict)


def _inside(path: Path, folder_resolved: Path) -> bool:
    try:
        path.resolve().relative_to(folder_resolved)
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def _not_regular(entry: os.DirEntry[str]) -> str | None:
    """What a directory entry is when it cannot be a movie or poster file ("a FIFO, not a regular
    file"), else ``None``. Checked before anything is opened: opening a FIFO would block the
    loader forever."""
    try:
        mode = entry.stat().st_mode  # follows a symlink, which has already been found to stay inside
    except OSError as e:
        return f"unreadable (cannot stat: {e.strerror or e})"
    if stat.S_ISREG(mode):
        return None
    return f"{file_kind(mode)}, not a regular file"


def _link_target(path: Path) -> str:
    """Where a symlink leads, for a message: the resolved path, with what it is when it is not a
    plain file ("/dev/zero, a character device"); stat only, nothing is opened."""
    target = path.resolve()
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return f"{printable(str(target))[:200]}, which does not exist"
    kind = "" if stat.S_ISREG(mode) else f", {file_kind(mode)}"
    return f"{printable(str(target))[:200]}{kind}"


def scan_folder(folder: Path, id_pattern: re.Pattern[str]) -> Listing:
    """List ``folder`` once. Each entry that cannot be a movie file is skipped with its reason and
    never opened: JSON names that are not an IMDb id of this layout, symlinks that leave the
    folder, FIFOs and devices (which would hang or flood a read), and a second file for a movie
    already listed under another spelling of its id (``tt00100811`` beside ``tt0100811``; the
    file named by the canonical id is the one read). Plain subfolders are not files and are
    passed over, unless named like a movie file (``*.json``)."""
    resolved = folder.resolve()
    json_files: dict[str, Path] = {}
    names: set[str] = set()
    skips: list[Skip] = []
    refused: dict[str, str] = {}
    with os.scandir(folder) as it:
        entries = sorted(it, key=lambda e: e.name)
    candidates: dict[str, list[os.DirEntry[str]]] = {}
    for e in entries:
        if e.is_symlink() and not _inside(Path(e.path), resolved):
            target = _link_target(Path(e.path))
            refused[e.name] = f"a symlink that leaves the dataset folder (to {target})"
            skips.append(Skip(e.name, "file", f"symlink leaves the dataset folder (to {target}); ignored (never opened)"))
            continue
        what = _not_regular(e)
        if what is not None:
            refused[e.name] = what
            if not e.is_dir() or e.name.endswith(".json"):
                skips.append(Skip(e.name, "file", f"{what}; ignored (never opened)"))
            continue
        if not e.name.endswith(".json"):
            names.add(e.name)
            continue
        stem = e.name[:-5]
        if not id_pattern.match(stem):
            skips.append(Skip(e.name, "file", "file name is not an IMDb title id of this layout; ignored"))
            continue
        try:
            mid = normalize_imdb_id(stem)
        except InvalidId as err:  # pragma: no cover - id_pattern is stricter
            skips.append(Skip(e.name, "file", str(err)))
            continue
        candidates.setdefault(mid, []).append(e)
    for mid, found in candidates.items():
        # the file whose name is the canonical spelling (or, for MM-IMDb, its bare digits) wins
        found.sort(key=lambda e: (e.name[:-5] not in (mid, mid[2:]), e.name))
        json_files[mid] = Path(found[0].path)
        for other in found[1:]:
            skips.append(Skip(other.name, "file", f"a second file for {mid} (read: {found[0].name}); ignored"))
    return Listing(folder, dict(sorted(json_files.items())), frozenset(names), tuple(skips), refused)


def read_json_object(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """Parse one movie file: the object, or ``None`` and why (unreadable, not a regular file, too
    large, corrupt, nested too deeply, not an object). Never raises for bad content."""
    try:
        obj = read_json(path)
    except BadJSON as e:
        why = str(e).removeprefix(f"{path}: ")
        return None, f"{why}; movie dropped"
    if not isinstance(obj, dict):
        return None, f"JSON is a {type(obj).__name__}, not an object; movie dropped"
    return obj, None


def _person_id(raw: Any) -> str | None:
    """``nm`` id from an ``nm…`` string or bare digits (IMDbPY's ``person_id``); else ``None``."""
    if isinstance(raw, int) and raw >= 0:
        raw = str(raw)
    if not isinstance(raw, str):
        return None
    s = raw.strip()
    if ascii_int(s, max_digits=8) is not None:
        s = "nm" + s.zfill(7)
    return s if is_person_id(s) else None


def parse_people(value: Any, *, joined: bool = False) -> tuple[tuple[Person, ...], int]:
    """People from a string, a list of strings, or a list of dicts with ``name`` and an optional
    ``imdb_id`` / ``person_id`` / ``personID`` / ``id``. Returns the people and how many entries
    were unusable (no name), which the caller records. With ``joined`` (directors), a string may
    join several names (``"Don Bluth, Gary Goldman"``) and is split by
    :func:`mmimdb2.names.split_names`, the rule the builder uses too; a dict names one person."""
    if value is None:
        return (), 0
    items = [value] if isinstance(value, (str, dict)) else value if isinstance(value, list) else None
    if items is None:
        return (), 1
    people: list[Person] = []
    bad = 0
    for it in items:
        if isinstance(it, str) and joined:
            names = split_names(it)
            if not names:
                bad += 1
            people.extend(Person(n) for n in names)
            continue
        if isinstance(it, str):
            name, pid = it.strip(), None
        elif isinstance(it, dict):
            name = it.get("name")
            name = name.strip() if isinstance(name, str) else ""
            pid = None
            for key in ("imdb_id", "person_id", "personID", "id"):
                pid = _person_id(it.get(key))
                if pid:
                    break
        else:
            bad += 1
            continue
        if not name:
            bad += 1
            continue
        people.append(Person(name, pid))
    return tuple(people), bad


def parse_plots(value: Any, *, strip_author: bool) -> tuple[str, ...] | None:
    """All plots as a tuple of non-empty strings (``None`` if the value has the wrong type).

    MM-IMDb's IMDbPY plots end in ``::author``; with ``strip_author`` that suffix is removed.
    """
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value if isinstance(value, list) else None
    if items is None or not all(isinstance(p, str) for p in items):
        return None
    out = []
    for p in items:
        if strip_author and "::" in p:
            p = p.rsplit("::", 1)[0]
        p = p.strip()
        if p:
            out.append(p)
    return tuple(out)


def parse_year(value: Any) -> int | None:
    """A year from an int or a string starting with 4 ASCII digits (``"1990"``, ``"1990-05-01"``),
    if it lies in ``YEAR_MIN..year_max()`` (:func:`mmimdb2.schema.year_problem`); else ``None``."""
    if isinstance(value, str):
        m = re.match(r"\s*([0-9]{4})(?![0-9])", value)
        value = int(m.group(1)) if m else None
    return value if value is not None and year_problem(value) is None else None


def check_poster(path: Path, *, max_pixels: int = MAX_POSTER_PIXELS, max_aspect: float = MAX_ASPECT) -> str | None:
    """``None`` if ``path`` looks like a usable image, else why not.

    Cheap by design: Pillow reads only the header (size, mode, format); no pixel is decoded.
    Images larger than ``max_pixels`` (decompression bombs) or more elongated than ``max_aspect``
    (a 65000x1 strip is no poster, and would blow up an encoder's resize) are refused, and a JPEG
    without its end-of-image marker near the end of the file is reported as truncated.
    """
    try:
        with open_regular(path) as f, warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(f) as im:
                w, h = im.size
                fmt = im.format
            if fmt == "JPEG":
                f.seek(-min(JPEG_TAIL_BYTES, f.seek(0, os.SEEK_END)), os.SEEK_END)
                tail = f.read()
    except NotRegularFile as e:
        return f"poster is {e.strerror}; never read"
    except Image.DecompressionBombError as e:
        return f"poster refused as a decompression bomb ({e})"
    except UnidentifiedImageError:  # its message names the open file object (an fd number), not the file
        return "poster is not a decodable image (UnidentifiedImageError: no image format Pillow knows)"
    except (OSError, SyntaxError, ValueError) as e:
        return f"poster is not a decodable image ({type(e).__name__}: {e})"
    why = shape_problem(w, h, max_pixels=max_pixels, max_aspect=max_aspect)
    if why:
        return why
    if fmt == "JPEG" and _JPEG_EOI not in tail:
        return "poster JPEG is truncated (no end-of-image marker)"
    return None


def build_unfinished(root: Path, meta: Mapping[str, Any]) -> str | None:
    """Why the build in ``root`` is not finished, from its ``DATASET.json`` (``meta``), or ``None``
    (finished, or not a folder the builder wrote). Not finished: its status says so
    (:data:`UNFINISHED`), or it says complete with no ``MANIFEST`` beside it (what a builder before
    issue 30 left when the disk filled while ``MANIFEST`` was written)."""
    if not str(meta.get("created_by", "")).startswith("mmimdb2.build"):
        return None
    status = meta.get("status")
    if meta.get("complete") is not True and isinstance(status, str) and status.startswith(UNFINISHED):
        return f"the build has not finished (DATASET.json: {printable(status)[:300]})"
    if meta.get("complete") is True and not (root / "MANIFEST").is_file():
        return "DATASET.json says complete, but there is no MANIFEST: the build has not finished writing it"
    return None


def read_manifest(root: Path, *, sha256: str | None = None) -> list[tuple[str, int, str]]:
    """Parse ``<root>/MANIFEST`` lines ``sha256  size  relpath``; a malformed line is an error, and so
    is a MANIFEST whose own sha256 is not ``sha256`` (the one ``DATASET.json`` records)."""
    path = root / "MANIFEST"
    if not path.exists():
        raise ManifestError(f"{path}: no MANIFEST to verify against (only built datasets carry one)")
    try:
        raw = read_regular_bytes(path, max_bytes=MAX_MANIFEST_BYTES)
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ManifestError(f"{path}: cannot read ({getattr(e, 'strerror', None) or e})") from None
    got = hashlib.sha256(raw).hexdigest()
    if sha256 is not None and got != sha256:
        raise ManifestError(f"{path}: sha256 {got[:12]}… differs from the manifest_sha256 in DATASET.json ({printable(sha256)[:12]}…): MANIFEST was changed")
    entries = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]{64}", parts[0]) or ascii_int(parts[1]) is None:
            raise ManifestError(f"{path}:{lineno}: expected 'sha256  size  relpath', got {line!r}")
        rel = parts[2].strip()
        if rel.startswith(("/", "\\")) or ".." in Path(rel).parts:
            raise ManifestError(f"{path}:{lineno}: path {rel!r} leaves the dataset folder")
        entries.append((parts[0], int(parts[1]), rel))
    return entries


def verify_manifest(root: Path, *, progress: bool = True, sha256: str | None = None) -> int:
    """Check every file listed in MANIFEST (size, then sha256; MANIFEST's own sha256 against
    ``sha256`` when given); raise :class:`ManifestError` at the first mismatch, naming the file.
    Returns the number of files checked."""
    from tqdm import tqdm

    entries = read_manifest(root, sha256=sha256)
    resolved = root.resolve()
    for digest, size, rel in tqdm(entries, desc="verify MANIFEST", unit="file", disable=not progress, leave=False):
        path = root / rel
        if not _inside(path, resolved):
            raise ManifestError(f"{path}: listed in MANIFEST but resolves outside the dataset folder")
        try:
            got_size = path.stat().st_size
        except OSError:
            raise ManifestError(f"{path}: listed in MANIFEST but missing") from None
        if got_size != size:
            raise ManifestError(f"{path}: size {got_size} differs from MANIFEST ({size})")
        h = hashlib.sha256()
        try:
            with open_regular(path) as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
        except OSError as e:
            raise ManifestError(f"{path}: listed in MANIFEST but cannot be read ({e.strerror or e})") from None
        if h.hexdigest() != digest:
            raise ManifestError(f"{path}: sha256 {h.hexdigest()[:12]}… differs from MANIFEST ({digest[:12]}…)")
    return len(entries)

