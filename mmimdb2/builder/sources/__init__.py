"""The builder's sources, one :class:`~mmimdb2.registry.Registry`: name -> class. Order of use is the
user's ``--sources``."""

from __future__ import annotations

from mmimdb2.builder.sources.archive import ArchiveSource
from mmimdb2.builder.sources.base import FIELDS, Record, Source, SourceContext, SourceError, Unavailable
from mmimdb2.builder.sources.imdb_html import ImdbHtmlSource, parse_title_page
from mmimdb2.builder.sources.omdb import OmdbSource
from mmimdb2.builder.sources.tmdb import TmdbSource
from mmimdb2.builder.sources.tsv import TsvSource
from mmimdb2.registry import Registry, UnknownNameError


class UnknownSource(UnknownNameError):
    """A ``--sources`` name that is not registered, or a ``--sources`` list that cannot be used."""


SOURCES: Registry[type[Source]] = Registry("source", error=UnknownSource)
for _cls in (TsvSource, TmdbSource, OmdbSource, ImdbHtmlSource, ArchiveSource):
    SOURCES.add(_cls.name, _cls, doc=(_cls.__doc__ or "").strip().split("\n")[0])
del _cls

#: Local first (the authors' files, then IMDb's TSVs), then the APIs, then IMDb's pages.
DEFAULT_SOURCES: tuple[str, ...] = ("archive", "tsv", "tmdb", "omdb", "imdb-html")


def resolve_source(name: str) -> type[Source]:
    """The class registered under ``name``; an unknown name gets "Did you mean ...? Available: ..."."""
    return SOURCES.load(name)


def parse_sources(spec: str) -> list[str]:
    """``"tsv,tmdb"`` -> ``["tsv", "tmdb"]``, each checked against the registry, duplicates refused."""
    names = [s.strip() for s in spec.split(",") if s.strip()]
    if not names:
        raise UnknownSource("--sources is empty; available: " + ", ".join(SOURCES))
    names = [SOURCES.canonical(n) for n in names]  # an unknown name: one line with "Did you mean"
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise UnknownSource(f"source named twice in --sources: {', '.join(sorted(dup))}")
    return names


__all__ = [
    "SOURCES", "DEFAULT_SOURCES", "FIELDS", "Record", "Source", "SourceContext", "SourceError",
    "Unavailable", "UnknownSource", "resolve_source", "parse_sources", "parse_title_page",
]  # fmt: skip
