"""The builder's sources, one registry: name -> class. Order of use is the user's ``--sources``."""

from __future__ import annotations

import difflib

from mmimdb2.builder.sources.archive import ArchiveSource
from mmimdb2.builder.sources.base import FIELDS, Record, Source, SourceContext, SourceError, Unavailable
from mmimdb2.builder.sources.imdb_html import ImdbHtmlSource, parse_title_page
from mmimdb2.builder.sources.omdb import OmdbSource
from mmimdb2.builder.sources.tmdb import TmdbSource
from mmimdb2.builder.sources.tsv import TsvSource

SOURCES: dict[str, type[Source]] = {cls.name: cls for cls in (TsvSource, TmdbSource, OmdbSource, ImdbHtmlSource, ArchiveSource)}

#: Local first (the authors' files, then IMDb's TSVs), then the APIs, then IMDb's pages.
DEFAULT_SOURCES: tuple[str, ...] = ("archive", "tsv", "tmdb", "omdb", "imdb-html")


class UnknownSource(ValueError):
    """A ``--sources`` name that is not registered."""


def resolve_source(name: str) -> type[Source]:
    """The class registered under ``name``; an unknown name gets "Did you mean ...? Available: ..."."""
    try:
        return SOURCES[name]
    except KeyError:
        close = difflib.get_close_matches(name, SOURCES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UnknownSource(f"unknown source {name!r}.{hint} Available: {', '.join(SOURCES)}") from None


def parse_sources(spec: str) -> list[str]:
    """``"tsv,tmdb"`` -> ``["tsv", "tmdb"]``, each checked against the registry, duplicates refused."""
    names = [s.strip() for s in spec.split(",") if s.strip()]
    if not names:
        raise UnknownSource("--sources is empty; available: " + ", ".join(SOURCES))
    for n in names:
        resolve_source(n)
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise UnknownSource(f"source named twice in --sources: {', '.join(sorted(dup))}")
    return names


__all__ = [
    "SOURCES", "DEFAULT_SOURCES", "FIELDS", "Record", "Source", "SourceContext", "SourceError",
    "Unavailable", "UnknownSource", "resolve_source", "parse_sources", "parse_title_page",
]  # fmt: skip
