"""The 23 MM-IMDb genres: one canonical order, matched by name everywhere.

Every label tensor in the project takes its column order from :data:`GENRES`; nothing indexes
genres by position without going through :data:`GENRE_INDEX`. Raw genre strings (MM-IMDb has 27,
e.g. ``News``, ``Adult``, ``Talk-Show``, ``Reality-TV``) are kept on each movie; only the ones that
name one of the 23 become labels.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

#: The label set of MM-IMDb (Arevalo et al. 2017) and MM-IMDb 2.0, in the order of MM-IMDb's
#: genre frequency. This tuple is the single source of the column order of every label matrix.
GENRES: tuple[str, ...] = (
    "Drama", "Comedy", "Romance", "Thriller", "Crime", "Action", "Adventure", "Horror",
    "Documentary", "Mystery", "Sci-Fi", "Fantasy", "Family", "Biography", "War", "History",
    "Animation", "Music", "Musical", "Western", "Sport", "Short", "Film-Noir",
)  # fmt: skip

GENRE_INDEX: dict[str, int] = {g: i for i, g in enumerate(GENRES)}


def _fold(name: str) -> str:
    """Case, space, dash and underscore-insensitive key for matching genre spellings."""
    return re.sub(r"[\s_\-]+", "", name.strip().lower())


# Spellings seen in IMDb dumps, TMDb and OMDb that name one of the 23 genres.
_ALIASES: dict[str, str] = {
    _fold(g): g for g in GENRES
} | {
    "sciencefiction": "Sci-Fi",
    "scifi": "Sci-Fi",
    "filmnoir": "Film-Noir",
    "noir": "Film-Noir",
    "biopic": "Biography",
    "musicals": "Musical",
    "sports": "Sport",
    "shortfilm": "Short",
    "animated": "Animation",
    "historical": "History",
}


def canonical_genre(raw: str) -> str | None:
    """Map one raw genre string to its canonical name, or ``None`` if it is not one of the 23."""
    if not isinstance(raw, str):
        return None
    return _ALIASES.get(_fold(raw))


def canonical_genres(raw: Iterable[str]) -> tuple[str, ...]:
    """The canonical genres named by ``raw``, de-duplicated, in :data:`GENRES` order."""
    found = {g for g in (canonical_genre(r) for r in raw) if g is not None}
    return tuple(g for g in GENRES if g in found)


def unknown_genres(raw: Iterable[str]) -> tuple[str, ...]:
    """The raw strings that name none of the 23 genres (kept on the movie, never labels)."""
    return tuple(r for r in raw if canonical_genre(r) is None)


def multi_hot(genres: Iterable[str]) -> np.ndarray:
    """A length-23 float32 vector with 1 at each named genre; raises on an unknown name."""
    row = np.zeros(len(GENRES), dtype=np.float32)
    for g in genres:
        try:
            row[GENRE_INDEX[g]] = 1.0
        except KeyError:
            raise ValueError(f"unknown genre {g!r}; expected one of the 23 in mmimdb2.GENRES") from None
    return row


def label_matrix(genre_lists: Iterable[Iterable[str]]) -> np.ndarray:
    """Stack :func:`multi_hot` rows: shape (n, 23), columns in :data:`GENRES` order."""
    rows = [multi_hot(g) for g in genre_lists]
    return np.stack(rows) if rows else np.zeros((0, len(GENRES)), dtype=np.float32)
