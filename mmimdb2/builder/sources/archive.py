"""A local folder: the IDKG authors' released MM-IMDb 2.0 (``dataset/tt*.json`` + ``.jpg``) or saved pages.

``--archive DIR`` may be the released folder (with ``dataset/`` inside), its ``dataset/`` folder,
or a folder of saved IMDb title pages (``tt*.html``, parsed like live pages, with a ``tt*.jpg``
beside them or the page's poster URL). The authors' JSON: ``plot`` (str or list), ``director``
(str or list; one string joins several directors with ", "), ``cast`` (list of names), ``genres``
(list), sometimes ``title`` and ``year`` (an int or a string such as "1916").

Every file is opened only as a regular file inside the archive folder: a symlink that leads out of
it (to ``/etc/passwd``, to ``/dev/zero``, to another user's files) is not followed, and a FIFO,
device or folder is never opened; each is recorded with what it is (a movie file as the movie's
failure, a poster as a note, so another source may still give one), never taken for a missing file.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from mmimdb2.builder.http import MAX_BODY_BYTES
from mmimdb2.builder.sources.base import Record, Source, SourceError, Unavailable
from mmimdb2.builder.sources.imdb_html import parse_title_page
from mmimdb2.io import MAX_JSON_BYTES, BadJSON, NotRegularFile, file_kind, parse_json, read_regular_bytes
from mmimdb2.names import split_names
from mmimdb2.schema import Person
from mmimdb2.text import ascii_int, printable

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def _strs(v: object) -> list[str]:
    items = v if isinstance(v, list) else [v]
    out = []
    for x in items:
        if isinstance(x, dict):
            x = x.get("name")
        if isinstance(x, str) and x.strip():
            out.append(x.split("::")[0].strip())
    return out


def _year(v: object) -> int | None:
    """The authors' ``year``: an int or a string of four digits ("1916")."""
    if isinstance(v, int) and not isinstance(v, bool):
        return v  # its range is checked with every source's (Record)
    return ascii_int(v.strip(), max_digits=4) if isinstance(v, str) and len(v.strip()) == 4 else None


def _directors(v: object) -> list[str]:
    """The authors' ``director``: a list, or one string joining several directors with ", ", split by
    the loader's rule (:func:`mmimdb2.names.split_names`); a ``{"name": ...}`` object is one person."""
    out = []
    for x in v if isinstance(v, list) else [v]:
        if isinstance(x, dict):
            out += _strs(x)
        elif isinstance(x, str):
            out += split_names(x.split("::")[0])
    return out


def _read(path: Path, stage: str, name: str, max_bytes: int = MAX_BODY_BYTES) -> bytes:
    """Archive file ``name`` at ``path`` (already resolved by :meth:`ArchiveSource._locate`), read with
    a bound (a page or poster: the same as an answer over HTTP); the open follows no symlink, so a
    link swapped in after the check is refused too."""
    try:
        return read_regular_bytes(path, max_bytes=max_bytes, follow_symlinks=False)
    except NotRegularFile as e:
        raise SourceError(stage, f"{name}: {e.strerror}; not read") from None
    except OSError as e:
        why = e.strerror if e.errno == errno.EFBIG else f"cannot be read ({e.strerror or e})"
        raise SourceError(stage, f"{name}: {why}; not read") from None


class ArchiveSource(Source):
    """Files on disk: no requests, so it is always consulted."""

    name = "archive"
    local = True
    licence = "Local archive: the terms under which its files were obtained apply (MM-IMDb 2.0 as released by the IDKG authors: research use)."
    gives = frozenset({"directors", "cast", "plot", "poster"})

    def prepare(self, ids: list[str]) -> None:
        root = self.ctx.archive
        if root is None:
            raise Unavailable("no --archive folder given")
        root = Path(root)
        if not root.is_dir():
            raise Unavailable(f"--archive {root} is not a folder")
        self.folder = root / "dataset" if (root / "dataset").is_dir() else root
        self._inside = root.resolve()  # where a file, or a symlink's target, may be
        if not self.folder.resolve().is_relative_to(self._inside):
            raise Unavailable(f"--archive {root}: its dataset/ is a symlink out of the archive folder (to {self.folder.resolve()}); "
                              "pass that folder itself as --archive")  # fmt: skip

    def _locate(self, name: str, stage: str) -> Path | None:
        """Archive file ``name``, resolved: ``None`` when there is none. When there is one that is not a
        regular file inside the archive (a symlink out of it or to nowhere, a FIFO, a device, a
        folder), a :class:`SourceError` saying what it is; it is never opened."""
        path = self.folder / name
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return None
        except OSError as e:
            raise SourceError(stage, f"{name}: cannot be read ({e.strerror or e}); not read") from None
        if stat.S_ISLNK(st.st_mode):
            try:
                path = path.resolve(strict=True)
                st = os.lstat(path)
            except (OSError, RuntimeError):
                raise SourceError(stage, f"{name}: a symlink that leads nowhere (broken, or a loop); not followed") from None
            if not path.is_relative_to(self._inside):
                raise SourceError(stage, f"{name}: a symlink to a file outside the archive folder ({printable(str(path))[:200]}); not followed")
        if not stat.S_ISREG(st.st_mode):
            raise SourceError(stage, f"{name}: not a regular file ({file_kind(st.st_mode)}); not read")
        return path

    def _image(self, imdb_id: str) -> tuple[bytes | None, tuple[tuple[str, str], ...]]:
        """The first poster file there is, and a note for each one refused on the way."""
        notes: list[tuple[str, str]] = []
        for suf in IMAGE_SUFFIXES:
            try:
                path = self._locate(f"{imdb_id}{suf}", "poster")
                if path is not None:
                    return _read(path, "poster", f"{imdb_id}{suf}"), tuple(notes)
            except SourceError as e:  # the record stands; another file or source may give the poster
                notes.append((e.stage, e.reason))
        return None, tuple(notes)

    def fetch(self, imdb_id: str) -> Record:
        js_name, page_name = f"{imdb_id}.json", f"{imdb_id}.html"
        js = self._locate(js_name, "fetch")
        page = self._locate(page_name, "fetch") if js is None else None
        if js is not None:
            raw = _read(js, "parse", js_name, max_bytes=MAX_JSON_BYTES)
            try:
                d = parse_json(raw, what=js_name)  # at most 16 MiB, nested at most 64 levels
            except BadJSON as e:
                why = str(e).removeprefix(f"{js_name}: ").replace("not valid JSON", "malformed JSON", 1)  # or too deep
                raise SourceError("parse", f"{js_name}: {why}") from None
            if not isinstance(d, dict):
                raise SourceError("parse", f"{js_name}: not a JSON object")
            rec = Record(
                title=d["title"].strip() if isinstance(d.get("title"), str) and d["title"].strip() else None,
                original_title=d.get("original_title") if isinstance(d.get("original_title"), str) else None,
                year=_year(d.get("year")),
                genres=tuple(_strs(d.get("genres"))) or None,
                plots=tuple(dict.fromkeys(_strs(d.get("plot")))) or None,
                directors=tuple(Person(n) for n in _directors(d.get("director"))) or None,
                cast=tuple(Person(n) for n in _strs(d.get("cast"))) or None,
            )
        elif page is not None:
            rec = parse_title_page(_read(page, "fetch", page_name), imdb_id)
        else:
            raise SourceError("fetch", f"no {js_name} or {page_name} in {self.folder}")
        img, notes = self._image(imdb_id)
        rec.notes = (*rec.notes, *notes)
        if img is not None:
            rec.poster_bytes, rec.poster_url = img, None
        return rec
