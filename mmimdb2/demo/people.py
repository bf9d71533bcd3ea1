"""Demo people: directors and actors who recur across movies and prefer some genres.

These are the "group relations" a knowledge graph can exploit: a director of noir films makes
more of them. Each person has a preferred genre set and a popularity (long-tailed, so a few work
a lot and many appear once, some only in dev/test movies). A movie's people are drawn mostly from
those preferring one of its genres, partly from anyone. Names are synthetic; a few people share a
display name (distinct ``nm`` ids), and a few cast entries are written with a name only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmimdb2.demo.labels import sample_genre_sets
from mmimdb2.genres import GENRES

FIRST_NAMES: tuple[str, ...] = (
    "Ada", "Alma", "Anton", "Aria", "Bruno", "Carla", "Cyril", "Dalia", "Dario", "Edith", "Elias",
    "Enzo", "Esme", "Felix", "Flora", "Gideon", "Greta", "Hana", "Hugo", "Ilse", "Ingrid", "Ivo",
    "Jonas", "Julia", "Kai", "Kira", "Lars", "Lena", "Lionel", "Lucia", "Magnus", "Mara", "Milo",
    "Nadia", "Nico", "Nora", "Oskar", "Otto", "Pia", "Quentin", "Rafael", "Rhea", "Rosa", "Rufus",
    "Selma", "Silas", "Sonia", "Tessa", "Theo", "Ugo", "Vera", "Viktor", "Wanda", "Wes", "Yara",
    "Yuri", "Zelda", "Zoran", "Amara", "Basil", "Celeste", "Dmitri", "Elena", "Farid", "Gemma",
)  # fmt: skip

_SURNAME_HEADS: tuple[str, ...] = (
    "Ash", "Bel", "Cal", "Dor", "Ell", "Fen", "Gar", "Hal", "Ives", "Jar", "Kel", "Lan", "Mar",
    "Nor", "Ost", "Pem", "Quin", "Ros", "Sal", "Tam", "Ul", "Van", "Wex", "Yar", "Zell", "Brin",
    "Cor", "Drum", "Har", "Lind",
)  # fmt: skip
_SURNAME_TAILS: tuple[str, ...] = (
    "ford", "wick", "ton", "ley", "mere", "stead", "by", "croft", "dale", "worth", "ridge", "holm",
    "sley", "mont", "vale", "berg", "ova", "elli", "ard",
)  # fmt: skip
SURNAMES: tuple[str, ...] = tuple(h + t for h in _SURNAME_HEADS for t in _SURNAME_TAILS)


@dataclass(frozen=True)
class PeoplePool:
    """Directors or actors: names, ``nm`` ids, preferred genres and popularity, index-aligned."""

    names: tuple[str, ...]
    imdb_ids: tuple[str, ...]
    prefers: np.ndarray  # (n, 23) bool
    popularity: np.ndarray  # (n,) positive weights

    def __len__(self) -> int:
        return len(self.names)

    def specialists(self, genre: int) -> np.ndarray:
        """Indices of the people who prefer ``genre``."""
        return np.flatnonzero(self.prefers[:, genre])

    def sampler(self) -> PopularitySampler:
        """Draws people by popularity, from anyone or from one genre's specialists."""
        groups = [np.arange(len(self))] + [self.specialists(g) for g in range(len(GENRES))]
        return PopularitySampler(tuple(groups), tuple(np.cumsum(self.popularity[g]) for g in groups))


@dataclass(frozen=True)
class PopularitySampler:
    """Cumulative popularity of everyone (group 0) and of each genre's specialists (group 1 + genre)."""

    groups: tuple[np.ndarray, ...]
    cumulative: tuple[np.ndarray, ...]

    def draw(self, rng: np.random.Generator, genre: int | None) -> int:
        g = 0 if genre is None or not len(self.groups[1 + genre]) else 1 + genre
        cum = self.cumulative[g]
        return int(self.groups[g][np.searchsorted(cum, rng.random() * cum[-1])])


def synthetic_names(rng: np.random.Generator, n: int, *, share_collisions: float) -> list[str]:
    """``n`` distinct "First Last" names (a middle initial when the pool is large), then about
    ``share_collisions`` of them replaced by another's name: same display name, different person."""
    space = len(FIRST_NAMES) * len(SURNAMES)
    initials = [""] + [f" {c}." for c in "ABCDEFGHJKLMNPRSTW"]
    per_initial = 1 if n <= space // 2 else len(initials)
    codes = rng.choice(space * per_initial, size=n, replace=False)
    names = []
    for c in codes:
        c = int(c)
        first, rest = FIRST_NAMES[c % len(FIRST_NAMES)], c // len(FIRST_NAMES)
        last, init = SURNAMES[rest % len(SURNAMES)], rest // len(SURNAMES)
        names.append(f"{first}{initials[init] if per_initial > 1 else ''} {last}")
    n_coll = int(round(share_collisions * n))
    if n_coll and n > 1:
        victims = rng.choice(n, size=n_coll, replace=False)
        for v in victims:
            names[v] = names[int((v + 1 + rng.integers(n - 1)) % n)]
    return names


def person_ids(rng: np.random.Generator, n: int) -> list[str]:
    """Distinct ``nm9`` + 7-digit ids: valid IMDb person ids far above the real ones in use."""
    return [f"nm9{int(x):07d}" for x in rng.choice(10**7, size=n, replace=False)]


def make_pool(
    rng: np.random.Generator, n: int, genre_weights: np.ndarray, affinity: np.ndarray, *,
    names: list[str], ids: list[str], k_probs: tuple[float, ...] = (0.45, 0.4, 0.15),
) -> PeoplePool:  # fmt: skip
    """A pool whose preferences (1, 2, 3... genres with ``k_probs``) cover every genre, rare ones included (weights flattened by ^0.5),
    with lognormal popularity so appearance counts are long-tailed."""
    flat = genre_weights**0.5
    prefers = sample_genre_sets(rng, n, flat / flat.sum(), affinity, k_probs=k_probs)
    popularity = rng.lognormal(0.0, 1.0, size=n)
    return PeoplePool(tuple(names), tuple(ids), prefers, popularity)


def pick_people(
    rng: np.random.Generator, sampler: PopularitySampler, genres: np.ndarray, k: int, *, p_match: float
) -> list[int]:
    """``k`` distinct people for a movie with latent ``genres`` (indices): each slot, with
    probability ``p_match``, from the specialists of one of its genres, else from anyone; always
    weighted by popularity."""
    picked: list[int] = []
    for _ in range(k * 4):
        if len(picked) == k:
            return picked
        genre = int(genres[int(rng.random() * len(genres))]) if len(genres) and rng.random() < p_match else None
        who = sampler.draw(rng, genre)
        if who not in picked:
            picked.append(who)
    while len(picked) < k:  # a small specialist pool kept giving the same people: fill from anyone
        who = sampler.draw(rng, None)
        if who not in picked:
            picked.append(who)
    return picked
