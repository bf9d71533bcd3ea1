"""Plots, posters and credits from OMDb (``?i=tt...&plot=full&apikey=...``), with the user's key.

Key: ``OMDB_API_KEY``; base URL: ``OMDB_API_URL`` (default https://www.omdbapi.com/).
OMDb spells "unknown" as ``"N/A"``, which this source maps to "does not say".
"""

from __future__ import annotations

import re

from mmimdb2.builder.sources.base import Record, Source, SourceError, Unavailable, check_secret
from mmimdb2.names import split_names
from mmimdb2.schema import Person
from mmimdb2.text import ascii_int

DEFAULT_API = "https://www.omdbapi.com/"


def _field(d: dict, key: str) -> str | None:
    v = d.get(key)
    return v.strip() if isinstance(v, str) and v.strip() and v.strip() != "N/A" else None


def _names(s: str | None) -> tuple[Person, ...] | None:
    """OMDb's ``"Don Bluth, Gary Goldman (co-director)"``: split by the loader's rule
    (:func:`mmimdb2.names.split_names`, so ``", Jr."`` stays in a name), roles in brackets dropped."""
    if not s:
        return None
    names = (re.sub(r"\s*\(.*?\)\s*$", "", n).strip() for n in split_names(s))
    return tuple(Person(n) for n in names if n) or None


class OmdbSource(Source):
    """OMDb's by-id endpoint: one request per movie plus the poster."""

    name = "omdb"
    licence = "OMDb API: data under CC BY-NC 4.0 per OMDb's terms; requires the user's own API key."
    gives = frozenset({"directors", "cast", "plot", "poster"})
    secret_env = ("OMDB_API_KEY",)

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.key = ctx.env.get("OMDB_API_KEY", "").strip()  # a pasted key often ends with a newline
        self.api = ctx.env.get("OMDB_API_URL", DEFAULT_API).strip()

    def prepare(self, ids: list[str]) -> None:
        if not self.key:
            raise Unavailable("no OMDB_API_KEY in the environment")
        check_secret("OMDB_API_KEY", self.key)

    def fetch(self, imdb_id: str) -> Record:
        r = self.get(self.api, {"i": imdb_id, "plot": "full", "apikey": self.key})
        try:
            d = r.json()
        except ValueError:
            raise SourceError("fetch", "malformed JSON from OMDb") from None
        if not isinstance(d, dict):
            raise SourceError("fetch", "unexpected JSON from OMDb (not an object)")
        if d.get("Response") == "False":
            raise SourceError("fetch", f"OMDb: {d.get('Error', 'no result')}")
        year = _field(d, "Year")
        plot = _field(d, "Plot")
        genre = _field(d, "Genre")
        return Record(
            title=_field(d, "Title"),
            year=ascii_int(year[:4]) if year else None,
            genres=tuple(g.strip() for g in genre.split(",") if g.strip()) if genre else None,
            plots=(plot,) if plot else None,
            directors=_names(_field(d, "Director")),
            cast=_names(_field(d, "Actors")),
            poster_url=_field(d, "Poster"),
        )
