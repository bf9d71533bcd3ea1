"""IMDb title pages parsed with BeautifulSoup: the JSON-LD block and the page's embedded JSON.

For users with access to the pages (``IMDB_TITLE_URL``, default https://www.imdb.com/title/{id}/)
and, through :func:`parse_title_page`, for saved pages read by the archive source. IMDb's pages
are behind a firewall since 2026: its challenge (HTTP 202/403/405 from AWS WAF) stops this source
for the run with a message; nothing here tries to get around it.
"""

from __future__ import annotations

import html as html_lib
import json
import re

from bs4 import BeautifulSoup

from mmimdb2.build.sources.base import Record, Source, SourceError
from mmimdb2.schema import Person

DEFAULT_TITLE_URL = "https://www.imdb.com/title/{id}/"
_NM = re.compile(r"/name/(nm\d{7,8})")


def _as_list(v: object) -> list:
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def _people(v: object) -> tuple[Person, ...] | None:
    out = []
    for p in _as_list(v):
        if isinstance(p, dict) and p.get("@type", "Person") == "Person" and isinstance(p.get("name"), str):
            m = _NM.search(str(p.get("url", "")))
            out.append(Person(html_lib.unescape(p["name"]).strip(), m.group(1) if m else None))
        elif isinstance(p, str) and p.strip():
            out.append(Person(p.strip()))
    return tuple(out) or None


def _find_ld(soup: BeautifulSoup) -> dict | None:
    for tag in soup.find_all("script", type="application/ld+json"):
        try:
            data = json.loads(tag.string or "")
        except ValueError:
            continue
        for d in _as_list(data):
            if isinstance(d, dict) and d.get("@type") in ("Movie", "TVMovie", "TVSeries", "VideoGame", "TVEpisode", "CreativeWork"):
                return d
    return None


def _next_plot(soup: BeautifulSoup) -> str | None:
    tag = soup.find("script", id="__NEXT_DATA__")
    if tag is None:
        return None
    try:
        data = json.loads(tag.string or "")
        plot = data["props"]["pageProps"]["aboveTheFoldData"]["plot"]["plotText"]["plainText"]
    except (ValueError, KeyError, TypeError):
        return None
    return plot.strip() if isinstance(plot, str) and plot.strip() else None


def parse_title_page(page: str | bytes) -> Record:
    """A :class:`Record` from an IMDb title page; raise :class:`SourceError` ("parse") if it has no movie data."""
    soup = BeautifulSoup(page, "html.parser")
    ld = _find_ld(soup)
    next_plot = _next_plot(soup)
    if ld is None and next_plot is None:
        raise SourceError("parse", "no JSON-LD movie block and no __NEXT_DATA__ plot in the page")
    ld = ld or {}
    plots = [p for p in (next_plot, ld.get("description")) if isinstance(p, str) and p.strip()]
    plots = list(dict.fromkeys(html_lib.unescape(p).strip() for p in plots))
    date = str(ld.get("datePublished") or "")
    image = ld.get("image")
    if isinstance(image, dict):
        image = image.get("url")
    genres = tuple(html_lib.unescape(g).strip() for g in _as_list(ld.get("genre")) if isinstance(g, str) and g.strip())
    name = ld.get("name")
    return Record(
        title=html_lib.unescape(name).strip() if isinstance(name, str) and name.strip() else None,
        year=int(date[:4]) if date[:4].isdigit() else None,
        genres=genres or None,
        plots=tuple(plots) or None,
        directors=_people(ld.get("director")),
        cast=_people(ld.get("actor")),
        poster_url=image if isinstance(image, str) and image.startswith(("http://", "https://")) else None,
    )


class ImdbHtmlSource(Source):
    """IMDb title pages over HTTP, for users who have access to them."""

    name = "imdb-html"
    licence = "IMDb pages: IMDb's conditions of use apply; data for personal and non-commercial use only."

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.template = ctx.env.get("IMDB_TITLE_URL", DEFAULT_TITLE_URL)

    def headers(self) -> dict[str, str]:
        return {"Accept": "text/html", "Accept-Language": "en-US,en;q=0.8"}

    def fetch(self, imdb_id: str) -> Record:
        r = self.get(self.template.format(id=imdb_id))
        return parse_title_page(r.content)
