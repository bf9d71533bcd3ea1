"""One keyed on-disk cache for every expensive stage (features, KG embeddings, result cells).

An entry is named by :func:`mmimdb2.io.digest` of its key (a dict of everything its content depends on), so
a changed input is a plain miss and never a stale hit. Files are written atomically (temp file,
then rename), so a reader sees an old entry or a new one, never half of one. A damaged entry (a
truncated ``.npz``, a sidecar that is not JSON or names another key, content a caller's check
refuses) costs one stderr line naming the file and why, and a recomputation that overwrites it:
a cache may be lost, but it must never be trusted when it is wrong, nor stop a run.
"""

from __future__ import annotations

import sys
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mmimdb2.io import BadJSON, atomic_write_json, atomic_writer, digest, open_regular, read_json
from mmimdb2.paths import cache_root

#: Sidecar fields the store owns; a caller's ``meta`` may not use them.
RESERVED = ("format", "key", "key_fields")


def _same(a: Any, b: Any) -> bool:
    """Whether two keys are equal as JSON (a tuple and the list it reads back as are)."""
    try:
        return digest(a) == digest(b)
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True)
class Entry:
    """A whole array entry: its arrays, its sidecar (``meta``, including the reserved fields), its ``.npz``."""

    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]
    path: Path


class _Unusable(Exception):
    """An entry that cannot be used: ``(file at fault, why in one line)``."""


class CacheStore:
    """Entries of one ``kind`` under ``<root>/<kind>/`` (root: the project's cache root when None).

    Array entries are ``<name>.npz`` (uncompressed: fastest to load) plus a ``<name>.json`` sidecar
    written last, which records the key fields and ``format`` and whatever the caller adds. JSON
    entries are one caller-named ``.json`` file holding just the caller's value (a cell's file is
    a plain result record), so their name and check carry the key. Bump ``format`` when what a
    kind's files hold changes: it is hashed into every name, so old entries are simply not found.
    """

    def __init__(self, root: str | Path | None, kind: str, format: int) -> None:
        self.kind = kind
        self.format = format
        self.folder = (Path(root).expanduser() if root is not None else cache_root()) / kind

    def name(self, key: Mapping[str, Any]) -> str:
        """The entry name of ``key`` under this store's format (a sha256 hex digest)."""
        return digest({"format": self.format, "key": key})

    def path(self, key: Mapping[str, Any]) -> Path:
        """The ``.npz`` of ``key``'s array entry (its sidecar is the same path with ``.json``)."""
        return self.folder / f"{self.name(key)}.npz"

    def save(self, key: Mapping[str, Any], arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any] | None = None) -> Entry:
        """Write ``arrays`` and a sidecar (``meta`` plus the key) for ``key``; return the entry as
        :meth:`load` would read it back."""
        meta = dict(meta or {})
        if clash := [k for k in RESERVED if k in meta] + [k for k, a in arrays.items() if np.asarray(a).dtype.hasobject]:
            raise ValueError(f"{self.kind} cache: reserved sidecar fields or object arrays: {', '.join(clash)}")
        npz = self.path(key)
        with atomic_writer(npz) as f:
            np.savez(f, **arrays)
        meta.update(format=self.format, key=npz.stem, key_fields=key)
        atomic_write_json(npz.with_suffix(".json"), meta)
        return Entry(dict(arrays), meta, npz)

    def load(
        self, key: Mapping[str, Any], need: Sequence[str] = (), check: Callable[[Entry], str | None] | None = None
    ) -> Entry | None:
        """``key``'s entry when both files are there, whole, for this key, hold the arrays ``need``
        names, and ``check`` (which returns why it refuses an entry, or None) accepts it; else None:
        the caller recomputes.

        No files at all is a silent miss; anything else that is unusable is reported in one line.
        """
        npz = self.path(key)
        side = npz.with_suffix(".json")
        if not npz.exists() and not side.exists():
            return None
        try:
            entry = self._read(npz, side, key)
        except _Unusable as e:
            return self._notice(*e.args)
        if missing := [k for k in need if k not in entry.arrays]:
            return self._notice(npz, f"the .npz lacks {', '.join(missing)}")
        why = check(entry) if check is not None else None
        return entry if why is None else self._notice(npz, why)

    def _read(self, npz: Path, side: Path, key: Mapping[str, Any]) -> Entry:
        if not (npz.exists() and side.exists()):  # a FIFO or folder in their place is refused on reading
            raise _Unusable(npz, f"incomplete: {(side if npz.exists() else npz).name} missing")
        try:
            meta = read_json(side)
        except BadJSON as e:
            raise _Unusable(side, f"unreadable: {str(e).removeprefix(f'{side}: ')}") from None
        if not isinstance(meta, dict):
            raise _Unusable(side, "not a JSON object")
        if meta.get("format") != self.format:
            raise _Unusable(side, f"format {meta.get('format')!r}, expected {self.format}")
        if not _same(meta.get("key_fields"), key):
            raise _Unusable(side, "its key fields are not this entry's key")
        try:
            with open_regular(npz) as f:
                z = np.load(f, allow_pickle=False)
                if not isinstance(z, np.lib.npyio.NpzFile):
                    raise ValueError("a single array, not an .npz archive")
                with z:
                    arrays = {k: z[k] for k in z.files}  # reading each member whole checks its CRC
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
            raise _Unusable(npz, f"unreadable: {type(e).__name__}: {str(e) or 'empty'}") from None
        return Entry(arrays, meta, npz)

    def json_path(self, name: str) -> Path:
        """The file of the JSON entry ``name`` (a file stem the caller derives from its key)."""
        return self.folder / f"{name}.json"

    def save_json(self, name: str, value: Any) -> Path:
        """Write the JSON entry ``name`` atomically."""
        return atomic_write_json(self.json_path(name), value)

    def load_json(
        self,
        name: str,
        check: Callable[[Any], str | None] | None = None,
        *,
        read: Callable[[Path], Any] = read_json,
    ) -> Any | None:
        """The JSON entry ``name`` when it exists, ``read`` parses it and ``check`` (which returns
        why it refuses a value, or None) accepts it; else None, reported in one line unless absent.

        ``read`` may be a stricter reader (a result's size caps); its ``ValueError`` or ``OSError``
        is the reason given.
        """
        path = self.json_path(name)
        if not path.exists():
            return None
        try:
            value = read(path)
        except (ValueError, OSError) as e:  # BadJSON and callers' parse errors are ValueErrors
            return self._notice(path, str(e).splitlines()[0].removeprefix(f"{path}: "))
        why = check(value) if check is not None else None
        return value if why is None else self._notice(path, why)

    def _notice(self, path: Path, why: str) -> None:
        print(f"{self.kind}: cache entry {path} unusable ({why}); recomputing", file=sys.stderr)
        return None
