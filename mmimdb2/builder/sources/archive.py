"""A local folder: the IDKG authors' released MM-IMDb 2.0 (``dataset/tt*.json`` + ``.jpg``) or saved pages.

``--archive DIR`` may be the released folder (with ``dataset/`` inside), its ``dataset/`` folder,
or a folder of saved IMDb title pages (``tt*.html``, parsed like live pages, with a ``tt*.jpg``
beside them or the page's poster URL). The authors' JSON: ``plot`` (str or list), ``director``
(str or list; one string joins several directors with ", "), ``cast`` (list of names), ``genres``
(list), sometimes ``title`` and ``year`` (an int or a string such as "1916").
"""

from __future__ import annotations

import errno
from pathlib import Path

from mmimdb2.builder.http import MAX_BODY_BYTES
from mmimdb2.builder.sources.base import Record, Source, SourceError, Unavailable
from mmimdb2.builder.sources.imdb_html import parse_title_page
from mmimdb2.io import BadJSON, read_json, read_regular_bytes
from mmimdb2.names import split_names
from mmimdb2.schema import Person
from mmimdb2.text import ascii_int

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


def _read(path: Path, stage: str, max_bytes: int = MAX_BODY_BYTES) -> bytes:
    """A saved page or poster, read with the same bound as an answer over HTTP."""
    try:
        return read_regular_bytes(path, max_bytes=max_bytes)
    except OSError as e:
        why = e.strerror if e.errno == errno.EFBIG else f"cannot be read ({e.strerror or e})"
        raise SourceError(stage, f"{path.name}: {why}; not read") from None


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

    def _image(self, imdb_id: str) -> bytes | None:
        for suf in IMAGE_SUFFIXES:
            p = self.folder / f"{imdb_id}{suf}"
            if p.is_file():
                return _read(p, "poster")
        return None

    def fetch(self, imdb_id: str) -> Record:
        js, page = self.folder / f"{imdb_id}.json", self.folder / f"{imdb_id}.html"
        if js.is_file():
            try:
                d = read_json(js)  # at most 16 MiB, nested at most 64 levels
            except BadJSON as e:
                why = str(e).removeprefix(f"{js}: ").replace("not valid JSON", "malformed JSON", 1)  # or too large, too deep
                raise SourceError("parse", f"{js.name}: {why}") from None
            if not isinstance(d, dict):
                raise SourceError("parse", f"{js.name}: not a JSON object")
            rec = Record(
                title=d["title"].strip() if isinstance(d.get("title"), str) and d["title"].strip() else None,
                original_title=d.get("original_title") if isinstance(d.get("original_title"), str) else None,
                year=_year(d.get("year")),
                genres=tuple(_strs(d.get("genres"))) or None,
                plots=tuple(dict.fromkeys(_strs(d.get("plot")))) or None,
                directors=tuple(Person(n) for n in _directors(d.get("director"))) or None,
                cast=tuple(Person(n) for n in _strs(d.get("cast"))) or None,
            )
        elif page.is_file():
            rec = parse_title_page(_read(page, "fetch"), imdb_id)
        else:
            raise SourceError("fetch", f"no {imdb_id}.json or {imdb_id}.html in {self.folder}")
        try:
            img = self._image(imdb_id)
        except SourceError as e:  # the record stands; another source may give the poster
            img, rec.notes = None, (*rec.notes, (e.stage, e.reason))
        if img is not None:
            rec.poster_bytes, rec.poster_url = img, None
        return rec
