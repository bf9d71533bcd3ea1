"""Movie JSON records of both layouts -> :class:`~mmimdb2.schema.Movie`, with a skip for every problem.

One reader serves both layouts because their keys overlap; a :class:`Layout` says what differs
(file-name pattern, poster extension, MM-IMDb's ``::author`` plot suffix).

Decisions on bad records (each recorded as a :class:`~mmimdb2.schema.Skip` whose reason says
"dropped" or "kept"):

- corrupt, truncated or non-object JSON, no ``genres`` list, or a JSON ``imdb_id`` that disagrees
  with the file name: the movie is **dropped**;
- no genre among the 23 labels: **dropped** (an all-zero target cannot be scored by samples-F1,
  and MM-IMDb itself keeps only movies with at least one label); the raw strings are in the reason;
- genre strings outside the 23: **kept** in ``raw_genres`` (never labels), one skip per movie;
- missing or undecodable poster: **kept** with ``poster=None`` (the torch view gives a black
  placeholder flagged ``has_image=False``);
- no plot, no title (where the layout has titles), unusable person entries: **kept**.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from mmimdb2.genres import canonical_genres, unknown_genres
from mmimdb2.layouts.common import Listing, check_poster, parse_people, parse_plots, parse_year, read_json_object
from mmimdb2.registry import Registry
from mmimdb2.schema import YEAR_MIN, InvalidId, Movie, Person, Skip, normalize_imdb_id, year_max
from mmimdb2.text import clean_field_report, printable


@dataclass(frozen=True)
class Layout:
    """What distinguishes one on-disk layout's movie files."""

    name: str
    id_pattern: re.Pattern[str]
    poster_exts: tuple[str, ...]
    strip_plot_author: bool
    source_tag: str


#: Arevalo et al.'s archive: ``dataset/0029442.json`` (an IMDbPY dump) + ``.jpeg``.
MMIMDB = Layout("mmimdb", re.compile(r"^[0-9]{7,8}\Z"), (".jpeg", ".jpg", ".png"), True, "mmimdb")
#: MM-IMDb 2.0, as the IDKG authors released it and as this project builds it: ``tt0100811.json`` + ``.jpg``.
MMIMDB2 = Layout("mmimdb2", re.compile(r"^tt[0-9]{7,8}\Z"), (".jpg", ".jpeg", ".png"), False, "mmimdb2")
#: The layouts by name (a :class:`~mmimdb2.registry.Registry`): ``LAYOUTS.load("mmimdb2")`` is
#: :data:`MMIMDB2`; an unknown name is one line with "Did you mean ...? Available: ...".
LAYOUTS: Registry[Layout] = Registry("layout")
LAYOUTS.add(MMIMDB.name, MMIMDB, doc="Arevalo et al.'s MM-IMDb archive: 0029442.json + .jpeg")
LAYOUTS.add(MMIMDB2.name, MMIMDB2, doc="MM-IMDb 2.0: tt0100811.json + .jpg")


def _drop(item: str, stage: str, reason: str) -> tuple[None, list[Skip]]:
    return None, [Skip(item, stage, reason)]


class _Cleaner:
    """Text fields of one record through :func:`~mmimdb2.text.clean_field`; one skip per field it changed."""

    def __init__(self, fname: str, skips: list[Skip]) -> None:
        self.fname, self.skips, self.noted = fname, skips, set()

    def __call__(self, what: str, text: str) -> str:
        cleaned, why = clean_field_report(text)
        if why and what not in self.noted:
            self.noted.add(what)
            self.skips.append(Skip(self.fname, "text", f"{what}: {why}; kept"))
        return cleaned

    def people(self, what: str, people: tuple[Person, ...]) -> tuple[Person, ...]:
        return tuple(Person(self(what, p.name), p.imdb_id) for p in people)


def parse_movie(
    obj: Mapping[str, Any],
    mid: str,
    fname: str,
    layout: Layout,
    listing: Listing,
    *,
    expect_title: bool,
    check_posters: bool,
) -> tuple[Movie | None, list[Skip]]:
    """One record -> a Movie (or ``None`` when dropped) and the skips it produced."""
    skips: list[Skip] = []
    clean = _Cleaner(fname, skips)
    own_id = obj.get("imdb_id")
    if own_id is not None:
        try:
            if normalize_imdb_id(str(own_id)) != mid:
                return _drop(fname, "json", f"imdb_id {own_id!r} in the file differs from its name; movie dropped")
        except InvalidId:
            return _drop(fname, "json", f"imdb_id {own_id!r} in the file is not an IMDb id; movie dropped")

    raw = obj.get("genres")
    if not isinstance(raw, list) or not all(isinstance(g, str) for g in raw):
        why = "no 'genres'" if raw is None else f"'genres' is not a list of strings ({type(raw).__name__})"
        return _drop(fname, "genres", f"{why}; movie dropped")
    raw_genres = tuple(g for g in (clean("genre", g).strip() for g in raw) if g)
    if not canonical_genres(raw_genres):
        return _drop(fname, "genres", f"no genre among the 23 labels (raw: {list(raw_genres)}); movie dropped")
    unknown = unknown_genres(raw_genres)
    if unknown:
        skips.append(Skip(fname, "unknown-genre", f"raw genre(s) {list(unknown)} name none of the 23 labels; kept in raw_genres"))

    title = obj.get("title")
    if isinstance(title, str):
        title = clean("title", title)
    if not isinstance(title, str) or not title.strip():
        title = ""
        if expect_title:
            skips.append(Skip(fname, "title", "no title; movie kept with title ''"))

    original = obj.get("original_title")  # absent in older builds, MM-IMDb and the authors' release
    original = clean("original title", original).strip() if isinstance(original, str) else ""

    plots: list[str] = []
    for key in ("plots", "plot"):
        got = parse_plots(obj.get(key), strip_author=layout.strip_plot_author)
        if got is None:
            skips.append(Skip(fname, "plot", f"'{key}' is not a string or list of strings; ignored"))
            continue
        for p in got:
            p = clean("plot", p).strip()
            if p and p not in plots:
                plots.append(p)
    if not plots:
        skips.append(Skip(fname, "plot", "no plot; movie kept with empty text"))

    director_value = obj.get("directors") if obj.get("directors") else obj.get("director")
    directors, bad_d = parse_people(director_value, joined=True)
    cast, bad_c = parse_people(obj.get("cast"))
    directors, cast = clean.people("director name", directors), clean.people("cast name", cast)
    if bad_d or bad_c:
        skips.append(Skip(fname, "people", f"{bad_d + bad_c} director/cast entries without a name ignored; movie kept"))

    poster: Path | None = None
    stem = fname[:-5]
    for ext in layout.poster_exts:
        if stem + ext in listing.names:
            poster = listing.folder / (stem + ext)
            break
    if poster is None:
        skips.append(Skip(fname, "poster", f"no poster file {stem}{layout.poster_exts[0]}; movie kept with poster=None"))
    elif check_posters:
        why = check_poster(poster)
        if why:
            skips.append(Skip(poster.name, "poster", f"{why}; movie kept with poster=None"))
            poster = None

    src = obj.get("sources")
    if isinstance(src, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in src.items()):
        sources = dict(src)
    else:
        sources = {"*": layout.source_tag}
    year = parse_year(obj.get("year"))
    if year is None and obj.get("year") not in (None, ""):
        skips.append(Skip(fname, "year", f"'year' {printable(repr(obj.get('year')))[:40]} is not a year in {YEAR_MIN}..{year_max()}; kept with year None"))
    movie = Movie(
        imdb_id=mid,
        title=title.strip(),
        original_title=original,
        year=year,
        raw_genres=raw_genres,
        plots=tuple(plots),
        directors=directors,
        cast=cast,
        poster=poster,
        sources=sources,
    )
    return movie, skips


def read_movies(
    listing: Listing,
    layout: Layout,
    *,
    expect_title: bool,
    check_posters: bool = True,
    progress: bool | None = None,
) -> tuple[dict[str, Movie], list[Skip]]:
    """Read every movie file of a scanned folder, in id order. ``progress=None`` shows a bar only
    for large folders."""
    movies: dict[str, Movie] = {}
    skips: list[Skip] = list(listing.skips)
    items = sorted(listing.json_files.items())
    show = len(items) >= 5000 if progress is None else progress
    for mid, path in tqdm(items, desc=f"load {listing.folder.parent.name}", unit="movie", disable=not show, leave=False):
        obj, err = read_json_object(path)
        if obj is None:
            skips.append(Skip(path.name, "json", err or "unreadable"))
            continue
        movie, got = parse_movie(obj, mid, path.name, layout, listing, expect_title=expect_title, check_posters=check_posters)
        skips.extend(got)
        if movie is not None:
            movies[mid] = movie
    return movies, skips
