"""Metadata from IMDb's TSV datasets: title, year, genres, directors and principal cast with ``nm`` ids.

The files come from ``--tsv-dir`` or, when none is given, are downloaded once from IMDb's dataset
host (``MMIMDB2_TSV_URL``, default https://datasets.imdbws.com/) into the build's work folder.
One streaming pass per file keeps only the manifest's rows; the result is saved in the work folder
so a resumed build does not stream again.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

from mmimdb2.builder import tsv
from mmimdb2.builder.http import HttpError
from mmimdb2.builder.sources.base import MOVIE_TITLE_TYPES, NotAMovie, Record, Source, SourceError
from mmimdb2.io import atomic_write_json
from mmimdb2.schema import Person
from mmimdb2.text import ascii_int

DEFAULT_TSV_URL = "https://datasets.imdbws.com/"
CAST_CATEGORIES = frozenset({"actor", "actress", "self"})

#: Bumped when the saved index's content changes, so an index written by an older version is not reused.
INDEX_VERSION = 4


class TsvSource(Source):
    """IMDb's non-commercial datasets, streamed and filtered by the manifest's ids."""

    name = "tsv"
    local = True
    licence = "IMDb non-commercial datasets: personal and non-commercial use only (https://developer.imdb.com/non-commercial-datasets/)."
    gives = frozenset({"directors", "cast", "nm ids"})

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.index: dict[str, dict] = {}

    def _files(self) -> dict[str, Path]:
        if self.ctx.tsv_dir is not None:
            folder = Path(self.ctx.tsv_dir)
            missing = [f for f in tsv.FILES if not (folder / f).is_file()]
            if missing:  # a selected source that cannot give what it must stops the build (never a silent skip)
                raise tsv.TsvMissing(tsv.missing_message(folder, missing))
            return {f: folder / f for f in tsv.FILES}
        base = self.ctx.env.get("MMIMDB2_TSV_URL", DEFAULT_TSV_URL).rstrip("/") + "/"
        folder = self.ctx.work_dir / "tsv"
        out = {}
        for f in tsv.FILES:
            dest = folder / f
            if not dest.is_file():
                self.ctx.log(f"tsv: downloading {base}{f} (once; kept in {folder})")
                try:
                    self.session.download(base + f, dest)
                except HttpError as e:
                    raise tsv.TsvMissing(f"cannot download {base}{f} ({e}); download IMDb's {', '.join(tsv.FILES)} from "
                                         f"{tsv.DATASET_HOST} into a folder and pass --tsv-dir, or leave tsv out of --sources") from None
            out[f] = dest
        return out

    def prepare(self, ids: list[str]) -> None:
        """Check the four files are there and their headers (a missing one is
        :class:`~mmimdb2.builder.tsv.TsvMissing`, a wrong one :class:`~mmimdb2.builder.tsv.TsvError`:
        the build stops, exit 2), then index."""
        files = self._files()
        for f, p in files.items():
            tsv.check_header(p, f)
        stamp = hashlib.sha256(f"index v{INDEX_VERSION}\n".encode())
        for i in sorted(ids):
            stamp.update(i.encode() + b"\n")
        for f, p in sorted(files.items()):
            st = p.stat()
            stamp.update(f"{f}:{st.st_size}:{st.st_mtime_ns}\n".encode())
        saved = self.ctx.work_dir / f"tsv-index-{stamp.hexdigest()[:16]}.json"
        if saved.is_file():
            self.index = json.loads(saved.read_text(encoding="utf-8"))
            return
        self.index = build_index(files, set(ids), log=self.ctx.log)
        atomic_write_json(saved, self.index, indent=None)
        dups = Counter(f for k, r in self.index.items() if not k.startswith("__") for f in r.get("dups", {}))
        if self.index.get("__name_dups__"):
            dups["name.basics.tsv.gz"] = len(self.index["__name_dups__"])
        if dups:
            self.ctx.log("tsv: duplicate rows (the first of each is used; see failures.jsonl): " + ", ".join(f"{f} {n}" for f, n in sorted(dups.items())))

    def fetch(self, imdb_id: str) -> Record:
        row = self.index.get(imdb_id)
        if row is None:
            raise SourceError("fetch", "not in IMDb's title.basics")
        if row.get("type") not in MOVIE_TITLE_TYPES:
            raise NotAMovie(str(row.get("type")))
        people = self.index.get("__names__", {})
        name_dups = self.index.get("__name_dups__", {})
        notes: list[tuple[str, str]] = [
            ("duplicate", f"{f} has {n} rows for {imdb_id}; the first is used") for f, n in sorted(row.get("dups", {}).items())
        ]

        def persons(role: str, nms: list[str]) -> tuple[Person, ...]:
            """People with their names; one missing from name.basics keeps its id, an empty name and a note."""
            out = []
            for nm in nms:
                name = people.get(nm)
                if not name:
                    notes.append(("people", f"{role} {nm} is not in name.basics"))
                if nm in name_dups:
                    notes.append(("duplicate", f"name.basics.tsv.gz has {name_dups[nm]} rows for {nm} ({role}); the first name is used"))
                out.append(Person(name or "", nm))
            return tuple(out)

        directors, cast = persons("director", row["directors"]), persons("cast member", row["cast"])
        return Record(
            title=row["title"] or None,
            original_title=row.get("original_title") or None,
            year=row["year"],
            genres=tuple(row["genres"]) or None,
            directors=directors or None,
            cast=cast or None,
            notes=tuple(notes),
        )


def build_index(files: dict[str, Path], wanted: set[str], log=None) -> dict[str, dict]:
    """One pass per file: {tt: {type, title, year, genres, directors, cast, dups}} plus ``__names__``
    {nm: name} and ``__name_dups__`` {nm: rows}.

    Titles of every type are indexed (a non-movie is refused at fetch time with its type as the
    reason); damaged rows are counted and reported through ``log``. A title or person with more
    than one row keeps its first and counts the rows (``dups`` {file: rows}, ``__name_dups__``),
    so each movie concerned gets a note instead of the last row winning silently.
    """

    def damaged(name: str):
        return lambda n: log and log(f"tsv: {n} damaged row(s) of wanted ids left out of {name} (wrong number of columns)")

    def number(name: str, row: dict, column: str) -> int | None:
        """A column of ASCII digits (``\\N``: None); anything else means the file is damaged (exit 2)."""
        value = row.get(column)
        if value is None:
            return None
        n = ascii_int(value)
        if n is None:
            raise tsv.TsvError(f"{files[name]}: {row.get('tconst')} has {column} {value[:40]!r}, not a number in ASCII digits; the file is damaged")
        return n

    def duplicate(tt: str, name: str) -> bool:
        dups = index[tt].setdefault("dups", {})
        dups[name] = dups.get(name, 1) + 1
        return True

    index: dict[str, dict] = {}
    for row in tsv.stream_rows(files["title.basics.tsv.gz"], wanted, on_damaged=damaged("title.basics.tsv.gz")):
        if row["tconst"] in index and duplicate(row["tconst"], "title.basics.tsv.gz"):
            continue
        index[row["tconst"]] = {
            "type": row.get("titleType"),
            "title": row.get("primaryTitle") or "",
            "original_title": row.get("originalTitle") or "",
            "year": number("title.basics.tsv.gz", row, "startYear"),
            "genres": tsv.split_list(row.get("genres")),
            "directors": [],
            "cast": [],
        }
    crew_seen: set[str] = set()
    for row in tsv.stream_rows(files["title.crew.tsv.gz"], index.keys(), on_damaged=damaged("title.crew.tsv.gz")):
        if row["tconst"] in crew_seen and duplicate(row["tconst"], "title.crew.tsv.gz"):
            continue
        crew_seen.add(row["tconst"])
        index[row["tconst"]]["directors"] = tsv.split_list(row.get("directors"))
    cast: dict[str, list[tuple[int, str]]] = {}
    for row in tsv.stream_rows(files["title.principals.tsv.gz"], index.keys(), on_damaged=damaged("title.principals.tsv.gz")):
        cat, nm = row.get("category"), row.get("nconst")
        if nm and cat in CAST_CATEGORIES:
            order = number("title.principals.tsv.gz", row, "ordering") or 0
            cast.setdefault(row["tconst"], []).append((order, nm))
        elif nm and cat == "director" and nm not in index[row["tconst"]]["directors"]:
            index[row["tconst"]]["directors"].append(nm)
    for tt, rows in cast.items():
        seen: list[str] = []
        for _, nm in sorted(rows):
            if nm not in seen:
                seen.append(nm)
        index[tt]["cast"] = seen
    nms = {nm for r in index.values() for nm in r["directors"] + r["cast"]}
    names: dict[str, str] = {}
    name_rows: Counter[str] = Counter()
    for row in tsv.stream_rows(files["name.basics.tsv.gz"], nms, on_damaged=damaged("name.basics.tsv.gz")):
        name_rows[row["nconst"]] += 1
        if row.get("primaryName") and row["nconst"] not in names and name_rows[row["nconst"]] == 1:
            names[row["nconst"]] = row["primaryName"]
    index["__names__"] = names  # type: ignore[assignment]
    index["__name_dups__"] = {nm: n for nm, n in sorted(name_rows.items()) if n > 1}
    return index
