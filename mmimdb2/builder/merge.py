"""Assemble one movie from the sources: each field from the source that knows it best.

Which source wins a field is fixed per field (:data:`PRECEDENCE`), not by the order of
``--sources``: IMDb's TSVs are authoritative for the year, the genres, every director and the
cast (their order and their ``nm`` ids); the archive (the authors' release or saved pages) and
IMDb's pages for the plot and the poster. Sources a field's list does not name follow in the
user's order. Local sources (TSV, archive) are always read; network sources only while a field is
missing, so a build asks each API no more than it must.

Every problem met on the way is kept (with the source and stage); a movie without a title, a
valid genre, a plot or a valid poster is not written, and the rows that explain why are marked
fatal. A title that is not a movie (episode, series, game ...) is refused as a skip with its reason;
an answer whose own type signals disagree (:class:`~mmimdb2.builder.sources.base.TypeConflict`)
fails the movie, whatever the other sources say.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from mmimdb2.builder.sources.base import NotAMovie, Record, Source, SourceError, TypeConflict
from mmimdb2.builder.validate import DEFAULT_POSTER_POLICY, Invalid, PosterPolicy, check_genres, clean_plot, clean_poster
from mmimdb2.schema import Person, normalize_name
from mmimdb2.text import clean_field

#: Fields a movie must have to be written; directors and cast are kept when known (coverage is reported).
REQUIRED: tuple[str, ...] = ("title", "genres", "plot", "poster")
WANTED: tuple[str, ...] = ("title", "year", "genres", "plot", "directors", "cast", "poster")
#: Fields kept when a source asked for the others gives them; never a reason to ask another source.
OPTIONAL: tuple[str, ...] = ("original_title",)

#: Per field, the sources that win it, best first; any other source follows in ``--sources`` order.
PRECEDENCE: dict[str, tuple[str, ...]] = {
    "title": ("tsv",),
    "original_title": ("tsv",),
    "year": ("tsv", "imdb-html", "archive"),
    "genres": ("tsv",),
    "directors": ("tsv",),
    "cast": ("tsv",),
    "plot": ("archive", "imdb-html"),
    "poster": ("archive", "imdb-html"),
}

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

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", clean_field(self.reason))  # it may quote the bad text it reports

    def as_dict(self) -> dict:
        return {"id": self.id, "stage": self.stage, "source": self.source, "reason": self.reason, "fatal": self.fatal}


@dataclass
class Assembled:
    """A movie's JSON object and poster bytes (``None`` when it failed or was skipped), and its problems."""

    imdb_id: str
    movie: dict | None
    poster: bytes | None
    problems: list[Problem] = field(default_factory=list)
    skipped: str | None = None  # why the title is not built as a movie (NotAMovie), else None

    @property
    def ok(self) -> bool:
        return self.movie is not None


@dataclass
class _Answer:
    """One source's record with its fields already validated."""

    src: Source
    rank_in_order: int
    rec: Record
    genres: tuple[str, ...] | None = None
    plots: list[str] = field(default_factory=list)
    poster: tuple[bytes, str] | None = None
    poster_tried: bool = False

    def value(self, f: str) -> object:
        if f == "genres":
            return self.genres
        if f == "plot":
            return self.plots or None
        if f == "poster":
            return self.poster if self.poster_tried else (self.rec.has("poster") or None)
        return getattr(self.rec, f) if self.rec.has(f) else None

    def try_poster(self, imdb_id: str, policy: PosterPolicy, problems: list[Problem]) -> tuple[bytes, str] | None:
        """Fetch and validate this answer's poster once (a failure is recorded)."""
        if not self.poster_tried:
            self.poster_tried = True
            self.poster = _poster(imdb_id, self.src, self.rec, policy, problems)
        return self.poster


def _ranked(answers: list[_Answer], f: str) -> list[_Answer]:
    """The answers that have field ``f``, best source first (:data:`PRECEDENCE`, then ``--sources`` order)."""
    first = PRECEDENCE.get(f, ())
    have = [a for a in answers if a.value(f) is not None]
    return sorted(have, key=lambda a: (first.index(a.src.name) if a.src.name in first else len(first), a.rank_in_order))


def _people_json(people: tuple[Person, ...]) -> list[dict]:
    return [{"name": p.name, "imdb_id": p.imdb_id} if p.imdb_id else {"name": p.name} for p in people]


def _resolve_people(
    imdb_id: str, role: str, people: tuple[Person, ...], src: str, ids_by_name: dict[str, str], names_by_id: dict[str, str], problems: list[Problem]
) -> tuple[Person, ...]:
    """Fill in what another source knew: the ``nm`` id of a person named without one, the name of an id without a name.

    A person left with no name at all is dropped with a recorded reason, never silently.
    """
    out = []
    for p in people:
        if not p.name:
            name = names_by_id.get(p.imdb_id or "")
            if not name:
                problems.append(Problem(imdb_id, "people", src, f"{role} {p.imdb_id} has no name in any source; left out"))
                continue
            p = Person(name, p.imdb_id)
        elif not p.imdb_id:
            p = Person(p.name, ids_by_name.get(normalize_name(p.name)))
        out.append(p)
    return tuple(out)


def _choose_people(
    imdb_id: str, role: str, f: str, ranked: list[_Answer], ids_by_name: dict[str, str], names_by_id: dict[str, str], problems: list[Problem]
) -> tuple[tuple[Person, ...], str]:
    """The people of field ``f`` (and their source): the best source's, unless it could not name
    some of them and another source names more (an unnamed TSV director must not erase the one
    the archive names); the switch is recorded."""
    first = ranked[0]
    given = getattr(first.rec, f)
    chosen = _resolve_people(imdb_id, role, given, first.src.name, ids_by_name, names_by_id, problems)
    if len(chosen) == len(given):
        return chosen, first.src.name
    best, src = chosen, first.src.name
    for a in ranked[1:]:
        other = _resolve_people(imdb_id, role, getattr(a.rec, f), a.src.name, ids_by_name, names_by_id, [])
        if len(other) > len(best):
            best, src = other, a.src.name
    if src != first.src.name:
        problems.append(Problem(imdb_id, "people", first.src.name,
                                f"{f} from {src} ({len(best)} named) instead of {first.src.name} ({len(chosen)} of {len(given)} named)"))  # fmt: skip
    return best, src


def assemble(
    imdb_id: str,
    sources: list[Source],
    *,
    policy: PosterPolicy = DEFAULT_POSTER_POLICY,
    cancel: threading.Event | None = None,
) -> Assembled:
    """Query ``sources`` (in order, network ones only while a field is missing) for ``imdb_id`` and merge by precedence."""
    problems: list[Problem] = []
    answers: list[_Answer] = []

    def missing() -> list[str]:
        return [f for f in WANTED if not any(a.value(f) is not None for a in answers)]

    def have_poster() -> bool:
        return any(a.poster for a in answers)

    for k, src in enumerate(sources):
        if cancel is not None and cancel.is_set():
            raise Cancelled
        if not src.local and not missing():
            continue
        try:
            rec = src.fetch(imdb_id)
        except NotAMovie as e:
            problems.append(Problem(imdb_id, e.stage, src.name, e.reason, fatal=True))
            return Assembled(imdb_id, None, None, problems, skipped=e.reason)
        except TypeConflict as e:  # neither a movie nor a skip can be trusted: a failure naming both signals
            problems.append(Problem(imdb_id, e.stage, src.name, e.reason, fatal=True))
            return Assembled(imdb_id, None, None, problems)
        except SourceError as e:
            problems.append(Problem(imdb_id, e.stage, src.name, e.reason))
            continue
        except Exception as e:  # a source's parser met an answer it did not expect: record, go on
            problems.append(Problem(imdb_id, "fetch", src.name, f"{type(e).__name__}: {e}"))
            continue
        problems += [Problem(imdb_id, stage, src.name, reason) for stage, reason in rec.notes]
        a = _Answer(src, k, rec)
        if rec.has("genres"):
            try:
                check_genres(rec.genres or ())
                a.genres = rec.genres
            except Invalid as e:
                problems.append(Problem(imdb_id, "genres", src.name, str(e)))
        for text in rec.plots or ():
            try:
                p = clean_plot(text)
            except Invalid as e:
                problems.append(Problem(imdb_id, "plot", src.name, str(e)))
                continue
            if p not in a.plots:
                a.plots.append(p)
        if rec.has("poster") and not have_poster():  # validate now, so a bad poster lets later sources be asked
            a.try_poster(imdb_id, policy, problems)
        answers.append(a)

    best = {f: _ranked(answers, f) for f in WANTED + OPTIONAL}
    poster = None
    for a in best["poster"]:  # best source first; one whose poster fails validation falls to the next
        poster = a.try_poster(imdb_id, policy, problems)
        if poster is not None:
            break
    fatal = [f for f in REQUIRED if not best[f] or (f == "poster" and poster is None)]
    if fatal:
        for f in fatal:
            problems.append(Problem(imdb_id, "missing", "-", f"no source gave {_WHAT[f]}", fatal=True))
        return Assembled(imdb_id, None, None, problems)

    ids_by_name: dict[str, str] = {}
    names_by_id: dict[str, str] = {}
    for a in _ranked(answers, "directors") + _ranked(answers, "cast"):
        for p in (a.rec.directors or ()) + (a.rec.cast or ()):
            if p.imdb_id and p.name:
                ids_by_name.setdefault(normalize_name(p.name), p.imdb_id)
                names_by_id.setdefault(p.imdb_id, p.name)
    used = {f: best[f][0].src.name for f in WANTED + OPTIONAL if best[f] and f != "poster"}
    used["poster"] = poster[1]  # type: ignore[index]
    people = {}
    for role, f in (("director", "directors"), ("cast member", "cast")):
        people[f] = ()
        if best[f]:
            people[f], used[f] = _choose_people(imdb_id, role, f, best[f], ids_by_name, names_by_id, problems)
    plot_src = best["plot"][0]
    all_plots = list(dict.fromkeys(p for a in best["plot"] for p in a.plots))
    movie: dict = {
        "imdb_id": imdb_id,
        "title": best["title"][0].rec.title,
        "genres": list(best["genres"][0].genres),  # type: ignore[arg-type]
        "plot": max(plot_src.plots, key=len),  # the best source's longest (first on ties)
        "plots": all_plots,
        "directors": _people_json(people["directors"]),
        "cast": _people_json(people["cast"]),
        "sources": dict(sorted(used.items())),
    }
    if best["year"]:
        movie["year"] = best["year"][0].rec.year
    if best["original_title"]:  # the TSVs are authoritative for both titles
        movie["original_title"] = best["original_title"][0].rec.original_title
    if people["directors"]:
        movie["director"] = people["directors"][0].name
    return Assembled(imdb_id, movie, poster[0], problems)  # type: ignore[index]


def _poster(imdb_id: str, src: Source, rec: Record, policy: PosterPolicy, problems: list[Problem]) -> tuple[bytes, str] | None:
    try:
        return clean_poster(src.fetch_poster(rec), policy), src.name
    except SourceError as e:
        problems.append(Problem(imdb_id, "poster", src.name, e.reason))
    except Invalid as e:
        problems.append(Problem(imdb_id, "poster", src.name, str(e)))
    return None
