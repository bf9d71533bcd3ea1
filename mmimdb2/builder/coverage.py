"""Coverage of the people, plot and poster fields over the built movies, and which selected source left one empty.

Why: a build can finish "complete" while a source silently gives nothing for a field (the 2024
page layout moved directors and cast out of JSON-LD, and every movie came out without them). So
the end of a build counts each field and fails, naming the field, when one that a selected
source should give (:attr:`mmimdb2.builder.sources.base.Source.gives`) is at 0%.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

#: The fields counted; "nm ids" is the share of people (directors and cast) with an IMDb ``nm`` id.
FIELDS: tuple[str, ...] = ("directors", "cast", "plot", "poster", "nm ids")


def coverage(movies: Iterable[dict]) -> dict[str, tuple[int, int]]:
    """field -> (have, out of): movies with the field, or for "nm ids" people with an id."""
    movies = list(movies)
    n = len(movies)
    out = {
        "directors": (sum(bool(m.get("directors")) for m in movies), n),
        "cast": (sum(bool(m.get("cast")) for m in movies), n),
        "plot": (sum(bool(m.get("plot")) for m in movies), n),
        "poster": (sum("poster" in m.get("sources", {}) for m in movies), n),
    }
    people = [p for m in movies for p in m.get("directors", []) + m.get("cast", []) if isinstance(p, dict)]
    out["nm ids"] = (sum(bool(p.get("imdb_id")) for p in people), len(people))
    return out


def empty_fields(cov: Mapping[str, tuple[int, int]], gives: Mapping[str, Iterable[str]], built: int) -> dict[str, list[str]]:
    """field -> the used sources that should give it, for each field at 0% (nothing when no movie was built)."""
    if built == 0:
        return {}
    out: dict[str, list[str]] = {}
    for f in FIELDS:
        have, _ = cov.get(f, (0, 0))
        expected = sorted(s for s, fields in gives.items() if f in fields)
        if have == 0 and expected:
            out[f] = expected
    return out


def lines(cov: Mapping[str, tuple[int, int]]) -> list[tuple[str, str]]:
    """Summary rows ``("coverage directors", "17 of 20 (85.0%)")``."""
    return [(f"coverage {f}", f"{k} of {n} ({k / n:.1%})" if n else "0 of 0 (-)") for f, (k, n) in cov.items()]
