"""Assemble one movie from the sources, in the user's order: each field from the first source that has it.

Local sources (TSV, archive) are always read; network sources only while a field is missing, so a
build asks each API no more than it must. Every problem met on the way is kept (with the source
and stage); a movie without a title, a valid genre, a plot or a valid poster is not written, and
the rows that explain why are marked fatal.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from mmimdb2.build.sources.base import Record, Source, SourceError
from mmimdb2.build.validate import Invalid, PosterPolicy, check_genres, clean_plot, clean_poster
from mmimdb2.schema import Person, normalize_name

#: Fields a movie must have to be written; directors and cast are kept when known (coverage is reported).
REQUIRED: tuple[str, ...] = ("title", "genres", "plot", "poster")
WANTED: tuple[str, ...] = ("title", "year", "genres", "plot", "directors", "cast", "poster")


_WHAT = {"title": "a title", "genres": "one of the 23 genres", "plot": "a valid plot", "poster": "a valid poster"}


class Cancelled(Exception):
    """The build was asked to stop (Ctrl-C) between two sources of one movie."""


@dataclass(frozen=True)
class Problem:
    """One row of the failures report."""

    id: str
    stage: str
    source: str
    reason: str
    fatal: bool = False

    def as_dict(self) -> dict:
        return {"id": self.id, "stage": self.stage, "source": self.source, "reason": self.reason, "fatal": self.fatal}


@dataclass
class Assembled:
    """A movie's JSON object and poster bytes (``None`` when it failed), and its problems."""

    imdb_id: str
    movie: dict | None
    poster: bytes | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.movie is not None


def _people_json(people: tuple[Person, ...]) -> list[dict]:
    return [{"name": p.name, "imdb_id": p.imdb_id} if p.imdb_id else {"name": p.name} for p in people]


def _enrich(people: tuple[Person, ...], known: dict[str, str]) -> tuple[Person, ...]:
    """Give people named without an ``nm`` id the id another source had for the same name."""
    return tuple(p if p.imdb_id else Person(p.name, known.get(normalize_name(p.name))) for p in people)


def assemble(
    imdb_id: str,
    sources: list[Source],
    *,
    policy: PosterPolicy = PosterPolicy(),
    cancel: threading.Event | None = None,
) -> Assembled:
    """Query ``sources`` in order for ``imdb_id`` and merge what they give."""
    got: dict[str, tuple[object, str]] = {}
    plots: list[tuple[str, str]] = []
    poster: tuple[bytes, str] | None = None
    problems: list[Problem] = []
    known_ids: dict[str, str] = {}

    def missing() -> list[str]:
        have = set(got) | ({"plot"} if plots else set()) | ({"poster"} if poster else set())
        return [f for f in WANTED if f not in have]

    for src in sources:
        if cancel is not None and cancel.is_set():
            raise Cancelled
        if not src.local and not missing():
            continue
        try:
            rec = src.fetch(imdb_id)
        except SourceError as e:
            problems.append(Problem(imdb_id, e.stage, src.name, e.reason))
            continue
        except Exception as e:  # a source's parser met an answer it did not expect: record, go on
            problems.append(Problem(imdb_id, "fetch", src.name, f"{type(e).__name__}: {e}"))
            continue
        for f in ("title", "year", "directors", "cast"):
            if f not in got and rec.has(f):
                got[f] = (getattr(rec, f), src.name)
        for p in (rec.directors or ()) + (rec.cast or ()):
            if p.imdb_id:
                known_ids.setdefault(normalize_name(p.name), p.imdb_id)
        if "genres" not in got and rec.has("genres"):
            try:
                check_genres(rec.genres or ())
                got["genres"] = (rec.genres, src.name)
            except Invalid as e:
                problems.append(Problem(imdb_id, "genres", src.name, str(e)))
        for text in rec.plots or ():
            try:
                p = clean_plot(text)
            except Invalid as e:
                problems.append(Problem(imdb_id, "plot", src.name, str(e)))
                continue
            if p not in (q for q, _ in plots):
                plots.append((p, src.name))
        if poster is None and rec.has("poster"):
            poster = _poster(imdb_id, src, rec, policy, problems)

    fatal = [f for f in REQUIRED if f in missing()]
    if fatal:
        for f in fatal:
            problems.append(Problem(imdb_id, "missing", "-", f"no source gave {_WHAT[f]}", fatal=True))
        return Assembled(imdb_id, None, None, problems)

    longest, plot_src = max(plots, key=lambda t: len(t[0]))  # first of the longest on ties
    sources_used = {f: s for f, (_, s) in got.items()}
    sources_used["plot"] = plot_src
    sources_used["poster"] = poster[1]  # type: ignore[index]
    directors = _enrich(got["directors"][0], known_ids) if "directors" in got else ()  # type: ignore[arg-type]
    cast = _enrich(got["cast"][0], known_ids) if "cast" in got else ()  # type: ignore[arg-type]
    movie: dict = {
        "imdb_id": imdb_id,
        "title": got["title"][0],
        "genres": list(got["genres"][0]),  # type: ignore[arg-type]
        "plot": longest,
        "plots": [p for p, _ in plots],
        "directors": _people_json(directors),
        "cast": _people_json(cast),
        "sources": dict(sorted(sources_used.items())),
    }
    if "year" in got:
        movie["year"] = got["year"][0]
    if directors:
        movie["director"] = directors[0].name
    return Assembled(imdb_id, movie, poster[0], problems)  # type: ignore[index]


def _poster(imdb_id: str, src: Source, rec: Record, policy: PosterPolicy, problems: list[Problem]) -> tuple[bytes, str] | None:
    try:
        return clean_poster(src.fetch_poster(rec), policy), src.name
    except SourceError as e:
        problems.append(Problem(imdb_id, "poster", src.name, e.reason))
    except Invalid as e:
        problems.append(Problem(imdb_id, "poster", src.name, str(e)))
    return None
