"""One record for a movie of MM-IMDb or MM-IMDb 2.0, whatever layout it was read from.

IDs are normalised to IMDb's one canonical ``tt`` form: MM-IMDb's 7-digit file names (``0029442``)
become ``tt0029442``, and a spelling with extra leading zeros (``tt00100811``) becomes the 7-digit
``tt0100811`` IMDb uses (8 digits only for numbers that need them), so one movie has one id.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mmimdb2.genres import canonical_genres, multi_hot

_TT = re.compile(r"^tt([0-9]{7,8})\Z")
_BARE = re.compile(r"^([0-9]{7,8})\Z")
_NM = re.compile(r"nm[0-9]{7,8}")  # matched whole (fullmatch): "nm0000277\n" is not an id

#: Earliest year a movie may have (the first films are from the late 1880s).
YEAR_MIN = 1870


def year_max() -> int:
    """Latest year a movie may have: five years from now (announced titles have a year already)."""
    return datetime.date.today().year + 5


def _shown(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**12:
        return f"a {len(str(abs(value)))}-digit number"
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "…"


def year_problem(value: object) -> str | None:
    """Why ``value`` is not a movie's year (an int in ``YEAR_MIN..year_max()``), or ``None``."""
    if isinstance(value, int) and not isinstance(value, bool) and YEAR_MIN <= value <= year_max():
        return None
    return f"year {_shown(value)} is not a year in {YEAR_MIN}..{year_max()}"


class InvalidId(ValueError):
    """A string that is not an IMDb title id (or tries to be a path)."""


def normalize_imdb_id(raw: str) -> str:
    """Return the canonical ``tt`` id for a ``tt`` id or a bare MM-IMDb id; raise :class:`InvalidId`.

    Canonical is IMDb's spelling: ``tt`` + the number zero-padded to 7 digits, 8 only when the
    number needs them (``tt00100811`` and ``0100811`` -> ``tt0100811``; ``tt10000000`` stays).
    Anything else (path separators, ``..``, spaces, other prefixes) is rejected, so an id can be
    used safely as a file name.
    """
    s = raw.strip() if isinstance(raw, str) else ""
    if s[:2] == "tt" and s.isascii() and s[2:].isdigit() and (len(s) == 9 or (len(s) == 10 and s[2] != "0")):
        return s  # already canonical: the common case, kept cheap (splits hold ~34k ids)
    m = _TT.match(s) or _BARE.match(s)
    if not m:
        shown = raw if not isinstance(raw, str) or len(raw) <= 40 else raw[:40] + "…"
        raise InvalidId(f"not an IMDb title id (want 'tt' + 7-8 digits or 7-8 digits): {shown!r}")
    return f"tt{int(m.group(1)):07d}"


def is_person_id(raw: str | None) -> bool:
    """True for an IMDb person id (``nm`` + 7-8 digits)."""
    return isinstance(raw, str) and _NM.fullmatch(raw) is not None


def normalize_name(name: str) -> str:
    """Key for matching people by name when no ``nm`` id is known: NFKC, casefold, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


@dataclass(frozen=True)
class Person:
    """A director or cast member: a display name and, when known, the IMDb ``nm`` id."""

    name: str
    imdb_id: str | None = None

    @property
    def key(self) -> str:
        """Stable identity for the knowledge graph: the ``nm`` id when known, else the normalised name."""
        return self.imdb_id if self.imdb_id else "name:" + normalize_name(self.name)


@dataclass(frozen=True)
class Movie:
    """One movie in the common schema.

    ``raw_genres`` keeps the strings exactly as the source gave them; ``genres`` is the subset
    that names one of the 23 labels, in canonical order. ``plots`` keeps every plot the source had
    (MM-IMDb has several); :attr:`plot` picks the longest, as GMU (Arevalo et al. 2017) did.
    ``sources`` maps a field name to the source that supplied it.

    ``genres`` and ``plot`` are derived once at construction and stored as fields (not
    properties), so ``dataclasses.asdict(movie)`` and ``repr`` carry them; they take no part in
    equality (they follow from ``raw_genres`` and ``plots``) and cannot be passed to the constructor.
    """

    imdb_id: str
    title: str = ""
    year: int | None = None
    #: The title in its original language ("Hotaru no haka" for "Grave of the Fireflies"); ``""``
    #: when the dataset does not say (datasets built before it was kept, MM-IMDb, the authors' release).
    original_title: str = field(default="", kw_only=True)
    raw_genres: tuple[str, ...] = ()
    plots: tuple[str, ...] = ()
    directors: tuple[Person, ...] = ()
    cast: tuple[Person, ...] = ()
    poster: Path | None = None
    sources: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    #: Canonical genres (a subset of the 23, in :data:`mmimdb2.genres.GENRES` order), from ``raw_genres``.
    genres: tuple[str, ...] = field(init=False, compare=False, hash=False)
    #: The longest plot, or ``""`` when there is none.
    plot: str = field(init=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "imdb_id", normalize_imdb_id(self.imdb_id))
        object.__setattr__(self, "genres", canonical_genres(self.raw_genres))
        object.__setattr__(self, "plot", max(self.plots, key=len, default=""))

    @property
    def people(self) -> tuple[Person, ...]:
        """Directors then cast."""
        return self.directors + self.cast

    def labels(self) -> np.ndarray:
        """Length-23 multi-hot label vector."""
        return multi_hot(self.genres)


@dataclass(frozen=True)
class Skip:
    """A record left out while loading or building, and why: never a silent drop."""

    item: str
    stage: str
    reason: str

    def __str__(self) -> str:
        return f"{self.item}: {self.stage}: {self.reason}"
