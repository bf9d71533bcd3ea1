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
- missing or undecodable poster, or one never opened (a FIFO, a symlink out of the folder: the
  skip says which): **kept** with ``poster=None`` (the torch view gives a black placeholder
  flagged ``has_image=False``);
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
from mmimdb2.io import prefetch
from mmimdb2.layouts.common import JPEG_TAIL_BYTES, Listing, check_poster, parse_people, parse_plots, parse_year, read_json_object
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
    refused = next((stem + ext for ext in layout.poster_exts if stem + ext in listing.refused), None)
    for ext in layout.poster_exts:
        if stem + ext in listing.names:
            poster = listing.folder / (stem + ext)
            break
    if poster is None and refused is not None:  # there, but never opened: say what it is, not "no poster"
        skips.append(Skip(refused, "poster", f"poster is {listing.refused[refused]}; movie kept with poster=None"))
    elif poster is None:
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


#: Below this many movie files one process reads them (starting workers would cost more).
PARALLEL_MIN_FILES = 4000
#: Chunks per worker: enough for a steady progress bar and an even share of slow files.
CHUNKS_PER_WORKER = 4
#: What of a poster the loader's header check reads first: Pillow's header parse (its end marker
#: is the last :data:`~mmimdb2.layouts.common.JPEG_TAIL_BYTES`).
POSTER_HEAD_BYTES = 64 * 1024


def _poster_names(items: list[tuple[str, Path]], layout: Layout, names: frozenset[str]) -> set[str]:
    """The poster file names ``parse_movie`` may look for beside ``items``' movie files, among ``names``."""
    return {path.name[:-5] + ext for _, path in items for ext in layout.poster_exts} & names


def _read_chunk(
    items: list[tuple[str, Path]], layout: Layout, listing: Listing, expect_title: bool, check_posters: bool
) -> tuple[list[tuple[str, Movie]], list[Skip]]:
    """Read and parse consecutive movie files: the movies kept, in order, and every skip. The
    chunk's files (and its posters' headers) are prefetched first (:func:`mmimdb2.io.prefetch`)."""
    prefetch(path for _, path in items)
    if check_posters:
        posters = sorted(_poster_names(items, layout, listing.names))
        prefetch((listing.folder / name for name in posters), head=POSTER_HEAD_BYTES, tail=JPEG_TAIL_BYTES)
    movies: list[tuple[str, Movie]] = []
    skips: list[Skip] = []
    for mid, path in items:
        obj, err = read_json_object(path)
        if obj is None:
            skips.append(Skip(path.name, "json", err or "unreadable"))
            continue
        movie, got = parse_movie(obj, mid, path.name, layout, listing, expect_title=expect_title, check_posters=check_posters)
        skips.extend(got)
        if movie is not None:
            movies.append((mid, movie))
    return movies, skips


def read_movies(
    listing: Listing,
    layout: Layout,
    *,
    expect_title: bool,
    check_posters: bool = True,
    progress: bool | None = None,
    workers: int | None = None,
) -> tuple[dict[str, Movie], list[Skip]]:
    """Read every movie file of a scanned folder, in id order. ``progress=None`` shows a bar only
    for large folders.

    Parsing a file and reading its poster's header is Python work (about 0.4 ms a movie), so a
    large folder is read by ``workers`` processes (default: one per usable CPU,
    :func:`mmimdb2.cpus.usable_cpus`; 1: this process), each taking consecutive files; their
    movies and skips are joined in id order, so the result equals one process's exactly. The
    workers are forked (they do not re-run the caller's script, so a script needs no ``__main__``
    guard); where the platform cannot fork, one process reads.
    """
    from mmimdb2.cpus import usable_cpus

    items = sorted(listing.json_files.items())
    show = len(items) >= 5000 if progress is None else progress
    if workers is None:
        workers = usable_cpus() if len(items) >= PARALLEL_MIN_FILES else 1
    n_chunks = 1 if workers <= 1 else min(len(items), workers * CHUNKS_PER_WORKER)
    size = max(1, -(-len(items) // max(1, n_chunks)))
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    movies: dict[str, Movie] = {}
    skips: list[Skip] = list(listing.skips)
    tasks = [(chunk, _chunk_listing(listing, chunk, layout) if len(chunks) > 1 else listing) for chunk in chunks]
    with tqdm(total=len(items), desc=f"load {listing.folder.parent.name}", unit="movie", disable=not show, leave=False) as bar:
        for chunk, (got, got_skips) in zip(chunks, _map_chunks(tasks, workers, layout, expect_title, check_posters)):
            movies.update(got)
            skips.extend(got_skips)
            bar.update(len(chunk))
    return movies, skips


def _chunk_listing(listing: Listing, chunk: list[tuple[str, Path]], layout: Layout) -> Listing:
    """What ``parse_movie`` reads of the listing for ``chunk`` (its folder and poster names), so a
    worker is sent its own few file names rather than the whole folder's."""
    refused = _poster_names(chunk, layout, frozenset(listing.refused))
    return Listing(listing.folder, {}, frozenset(_poster_names(chunk, layout, listing.names)), (), {n: listing.refused[n] for n in sorted(refused)})


def _map_chunks(tasks: list, workers: int, layout: Layout, expect_title: bool, check_posters: bool):
    """``_read_chunk`` over ``(chunk, listing)`` tasks, results in order: here, or in ``workers``
    forked processes."""
    import multiprocessing

    if workers <= 1 or len(tasks) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        yield from (_read_chunk(chunk, layout, listing, expect_title, check_posters) for chunk, listing in tasks)
        return
    import warnings
    from concurrent.futures import ProcessPoolExecutor

    n = len(tasks)
    with warnings.catch_warnings():  # the children only read files: no lock of another thread is theirs to take
        warnings.filterwarnings("ignore", message=r".*use of fork\(\) may lead to deadlocks", category=DeprecationWarning)
        with ProcessPoolExecutor(max_workers=min(workers, n), mp_context=multiprocessing.get_context("fork")) as pool:
            yield from pool.map(_read_chunk, [c for c, _ in tasks], [layout] * n, [li for _, li in tasks], [expect_title] * n, [check_posters] * n)
