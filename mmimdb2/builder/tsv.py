"""Stream IMDb's non-commercial TSV datasets, keeping only the rows of the wanted ids.

The files are gzipped, tab-separated, with a header row and ``\\N`` for null; the big ones hold
tens of millions of rows, so nothing here loads a whole file: each line's key (its first column)
is tested against the wanted set *before* the line is split, and only matching rows become dicts.

Why plain streaming and not cinemagoer: cinemagoer 2026.8.20 reads these files only by importing
whole tables into SQLite (``imdb.parser.s3.importer.import_dir``), which decodes, transforms and
inserts every row (plus soundex columns) before a single title can be looked up. Measured on this
project's 2-core machine on a generated 200,000-row ``title.basics.tsv.gz``: cinemagoer's import
took 6.5 s (~31,000 rows/s) and wrote a 30 MB database; this reader filtered the same file for
34,000 wanted ids in 0.43 s (~470,000 rows/s) at constant memory (benchmarks/perf/test_bench_build.py
measures it on 1,200,000 rows: ~690,000 rows/s, 1.2 MB peak for 250,000 and for 1,200,000 rows; on a
``title.principals``-shaped file cinemagoer's import reached ~75,000 rows/s). A full ``title.principals`` (~90 M rows) would take ~50 min to
import against ~3-4 min to stream, so we stream, keeping cinemagoer's column names and ``\\N``
convention so a cinemagoer database built from the same files agrees with ours.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

NULL = "\\N"

#: The files the builder reads, under their IMDb names: the ``tsv`` source needs all four.
FILES = ("title.basics.tsv.gz", "title.crew.tsv.gz", "title.principals.tsv.gz", "name.basics.tsv.gz")

#: What each file gives a build (the README's table is this one); ``title.ratings`` is optional,
#: read only by ``select --min-votes``.
GIVES: dict[str, str] = {
    "title.basics.tsv.gz": "title, original title, year, genres, title type",
    "title.crew.tsv.gz": "directors (nm ids)",
    "title.principals.tsv.gz": "cast in billing order (nm ids)",
    "name.basics.tsv.gz": "the names of those nm ids",
    "title.ratings.tsv.gz": "vote counts, for `select --min-votes` only",
}

#: Where IMDb publishes them (https://developer.imdb.com/non-commercial-datasets/).
DATASET_HOST = "https://datasets.imdbws.com/"


class TsvMissing(ValueError):
    """A file the ``tsv`` source needs is not there: one line naming it and where to download it."""


def missing_message(folder: Path, missing: list[str]) -> str:
    """One line naming the missing files, what each gives, and their download addresses."""
    what = "; ".join(f"{f} ({GIVES[f]})" for f in missing)
    urls = " ".join(DATASET_HOST + f for f in missing)
    return f"the tsv source needs {what}, which {folder} lacks; download {urls} into {folder}, or leave tsv out of --sources"

#: IMDb's columns of each file (https://developer.imdb.com/non-commercial-datasets/), checked
#: before a file is streamed so a wrong or shifted file fails at once, not as silently empty rows.
COLUMNS: dict[str, tuple[str, ...]] = {
    "title.basics.tsv.gz": ("tconst", "titleType", "primaryTitle", "originalTitle", "isAdult", "startYear", "endYear", "runtimeMinutes", "genres"),
    "title.crew.tsv.gz": ("tconst", "directors", "writers"),
    "title.principals.tsv.gz": ("tconst", "ordering", "nconst", "category", "job", "characters"),
    "name.basics.tsv.gz": ("nconst", "primaryName", "birthYear", "deathYear", "primaryProfession", "knownForTitles"),
    "title.ratings.tsv.gz": ("tconst", "averageRating", "numVotes"),
}

#: Longest line read, in characters. IMDb's longest rows are a few KB; a damaged or foreign file
#: with no newline for hundreds of MB is refused at this length instead of filling memory.
MAX_LINE_CHARS = 1024 * 1024

#: What reading a damaged file can raise: gzip's (not gzip, cut stream, bad CRC) and the OS's.
_READ_ERRORS = (OSError, EOFError, zlib.error)


class TsvError(ValueError):
    """A TSV file that is not what IMDb publishes (no header, missing key column, not gzip)."""


def _open(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        raw = gzip.open(path, "rb")
    else:
        raw = open(path, "rb")  # noqa: SIM115 - closed by the caller's `with`
    return io.TextIOWrapper(io.BufferedReader(raw, 1 << 20), encoding="utf-8", newline="\n", errors="replace")


def _too_long(path: Path, lineno: int, max_chars: int) -> str:
    return f"{path}: line {lineno:,} is longer than {max_chars:,} characters; not an IMDb TSV (damaged?)"


def _lines(path: Path, f: io.TextIOBase, max_chars: int = MAX_LINE_CHARS) -> Iterator[str]:
    """The lines of ``f``, each read with a bound: a line of ``max_chars`` without its newline is a
    :class:`TsvError` naming the file and line, never a read of the whole rest of the file."""
    readline, n = f.readline, 0
    while line := readline(max_chars):
        n += 1
        if len(line) >= max_chars and not line.endswith("\n"):
            raise TsvError(_too_long(path, n, max_chars))
        yield line


def header(path: str | Path) -> list[str]:
    """The column names of a TSV file."""
    path = Path(path)
    try:
        with _open(path) as f:
            line = next(_lines(path, f), "")
    except _READ_ERRORS as e:
        raise TsvError(_read_error(path, e)) from None
    if not line:
        raise TsvError(f"{path}: empty file, expected an IMDb TSV with a header row")
    return line.rstrip("\r\n").split("\t")


def _read_error(path: Path, e: BaseException) -> str:
    if isinstance(e, gzip.BadGzipFile):
        return f"{path}: not a gzip file ({e}); expected IMDb's .tsv.gz as downloaded"
    if isinstance(e, (EOFError, zlib.error)):
        return f"{path}: truncated or corrupt gzip ({e}); download the file again"
    return f"{path}: cannot read ({e}); is the file complete?"


def check_header(path: str | Path, name: str | None = None) -> list[str]:
    """The header of ``path``, checked to hold IMDb's columns of ``name`` (default: the file's name); else :class:`TsvError`."""
    path = Path(path)
    want = COLUMNS.get(name or path.name)
    cols = header(path)
    if want is not None:
        missing = [c for c in want if c not in cols]
        if missing or cols[0] != want[0]:
            raise TsvError(
                f"{path}: not IMDb's {name or path.name} header: missing {', '.join(missing) or want[0] + ' as first column'} "
                f"(found: {', '.join(cols[:10])}{' ...' if len(cols) > 10 else ''})"
            )
    return cols


def stream_rows(
    path: str | Path, wanted: Collection[str] | None = None, *, on_damaged: Callable[[int], None] | None = None
) -> Iterator[dict[str, str | None]]:
    """Yield the rows (column -> value, ``\\N`` -> None) whose first column is in ``wanted``.

    ``wanted=None`` yields every row. Memory stays constant: one line at a time. Wanted rows with
    the wrong number of columns are left out and counted; ``on_damaged(count)`` hears the total.
    """
    path = Path(path)
    try:
        with _open(path) as f:
            lines = _lines(path, f)
            first = next(lines, "")
            if not first:
                raise TsvError(f"{path}: empty file, expected an IMDb TSV with a header row")
            cols = first.rstrip("\r\n").split("\t")
            n, damaged = len(cols), 0
            readline, lineno = f.readline, 1  # the bounded read of _lines, inlined: this loop is the hot one
            while line := readline(MAX_LINE_CHARS):
                lineno += 1
                if len(line) >= MAX_LINE_CHARS and line[-1] != "\n":
                    raise TsvError(_too_long(path, lineno, MAX_LINE_CHARS))
                if wanted is not None:
                    tab = line.find("\t")
                    if line[:tab] not in wanted:
                        continue
                vals = line.rstrip("\r\n").split("\t")
                if len(vals) != n:
                    damaged += 1  # IMDb's files have none; a damaged copy may
                    continue
                yield {c: (None if v == NULL else v) for c, v in zip(cols, vals)}
    except _READ_ERRORS as e:
        raise TsvError(_read_error(path, e)) from None
    if damaged and on_damaged is not None:
        on_damaged(damaged)


def count_matching(path: str | Path, wanted: Collection[str]) -> tuple[int, int]:
    """(rows read, rows matched): the filter pass alone, for benchmarks and progress estimates."""
    rows = matched = 0
    path = Path(path)
    with _open(path) as f:
        lines = _lines(path, f)
        next(lines, "")
        for line in lines:
            rows += 1
            if line[: line.find("\t")] in wanted:
                matched += 1
    return rows, matched


def split_list(value: str | None) -> list[str]:
    """IMDb's comma-separated list columns (genres, directors) as a list; ``None`` -> []."""
    return [v for v in value.split(",") if v] if value else []
