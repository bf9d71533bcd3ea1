"""Plots, posters, genres and credits from TMDb's API (v3), found by IMDb id.

``GET {api}/find/{tt}?external_source=imdb_id`` gives TMDb's movie id; ``GET {api}/movie/{id}
?append_to_response=credits`` gives the rest; the poster is ``{images}/w500{poster_path}``.
The key is the user's: ``TMDB_API_KEY`` (v3 key, sent as ``api_key``) or ``TMDB_READ_TOKEN``
(v4 read token, sent as a bearer header). Base URLs: ``TMDB_API_URL``, ``TMDB_IMAGE_URL``.
"""

from __future__ import annotations

from mmimdb2.builder.sources.base import Record, Source, SourceError, Unavailable, check_secret
from mmimdb2.schema import Person
from mmimdb2.text import ascii_int

DEFAULT_API = "https://api.themoviedb.org/3"
DEFAULT_IMAGES = "https://image.tmdb.org/t/p"
POSTER_SIZE = "w500"
MAX_CAST = 15


def _year(date: object) -> int | None:
    s = date if isinstance(date, str) else ""
    return ascii_int(s[:4]) if len(s) >= 4 else None


class TmdbSource(Source):
    """TMDb, with the user's own key; needs no IMDb page."""

    name = "tmdb"
    licence = "TMDb API: this product uses the TMDb API but is not endorsed or certified by TMDb; TMDb's terms of use apply (non-commercial use with attribution)."
    gives = frozenset({"directors", "cast", "plot", "poster"})
    secret_env = ("TMDB_API_KEY", "TMDB_READ_TOKEN")

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        env = ctx.env
        self.key = env.get("TMDB_API_KEY", "").strip()  # a pasted key often ends with a newline
        self.token = env.get("TMDB_READ_TOKEN", "").strip()
        self.api = env.get("TMDB_API_URL", DEFAULT_API).strip().rstrip("/")
        self.images = env.get("TMDB_IMAGE_URL", DEFAULT_IMAGES).strip().rstrip("/")

    def prepare(self, ids: list[str]) -> None:
        if not (self.key or self.token):
            raise Unavailable("no TMDB_API_KEY or TMDB_READ_TOKEN in the environment")
        for var, value in (("TMDB_API_KEY", self.key), ("TMDB_READ_TOKEN", self.token)):
            check_secret(var, value)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Accept": "application/json"} if self.token else {"Accept": "application/json"}

    def _json(self, url: str, params: dict[str, str], stage: str) -> dict:
        if self.key and not self.token:
            params = {**params, "api_key": self.key}
        r = self.get(url, params, stage=stage, scope="tmdb-token" if self.token else "")
        try:
            data = r.json()
        except ValueError:
            raise SourceError(stage, f"malformed JSON from {url}") from None
        if not isinstance(data, dict):
            raise SourceError(stage, f"unexpected JSON from {url} (not an object)")
        return data

    def fetch(self, imdb_id: str) -> Record:
        found = self._json(f"{self.api}/find/{imdb_id}", {"external_source": "imdb_id"}, "find")
        results = found.get("movie_results") or []
        if not results or not isinstance(results[0], dict) or "id" not in results[0]:
            raise SourceError("find", "no TMDb movie for this IMDb id")
        movie = self._json(f"{self.api}/movie/{results[0]['id']}", {"append_to_response": "credits"}, "details")
        credits = movie.get("credits") if isinstance(movie.get("credits"), dict) else {}
        crew = credits.get("crew") or []
        cast = sorted((c for c in credits.get("cast") or [] if isinstance(c, dict) and c.get("name")), key=lambda c: c.get("order", 0))
        genres = tuple(g["name"] for g in movie.get("genres") or [] if isinstance(g, dict) and g.get("name"))
        overview = (movie.get("overview") or "").strip()
        poster = movie.get("poster_path")
        return Record(
            title=movie.get("title") or None,
            original_title=movie.get("original_title") or None,
            year=_year(movie.get("release_date")),
            genres=genres or None,
            plots=(overview,) if overview else None,
            directors=tuple(Person(c["name"]) for c in crew if isinstance(c, dict) and c.get("job") == "Director" and c.get("name")) or None,
            cast=tuple(Person(c["name"]) for c in cast[:MAX_CAST]) or None,
            poster_url=f"{self.images}/{POSTER_SIZE}{poster}" if isinstance(poster, str) and poster else None,
        )
