"""What a builder source is: a named class that fetches one id and returns a partial record.

Every source returns a :class:`Record` (some fields filled, the others ``None``) or raises
:class:`SourceError` (a reason recorded in the failures report). A source that cannot work at all
in this run (no API key, no folder) says so once through :class:`Unavailable`; one that meets a
firewall stops itself for the rest of the run (:meth:`Source.stop`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mmimdb2.builder.http import (
    FirewallBlocked,
    HostRateLimiter,
    HttpError,
    NotFound,
    PoliteSession,
    ResponseCache,
    RetryPolicy,
    Unreachable,
)
from mmimdb2.builder.validate import (
    MAX_GENRE_CHARS,
    MAX_GENRES,
    MAX_NAME_CHARS,
    MAX_PEOPLE,
    MAX_PLOT_CHARS,
    MAX_PLOTS,
    MAX_TITLE_CHARS,
)
from mmimdb2.schema import Person, is_person_id, year_problem
from mmimdb2.text import clean_field, clean_field_report

#: Fields a record may carry, in the order the merged movie takes them.
FIELDS: tuple[str, ...] = ("title", "original_title", "year", "genres", "plots", "directors", "cast", "poster")

#: IMDb title types built as movies (``titleType`` in title.basics and on title pages). Explicit on
#: purpose: ``short``, ``video``, ``tvSeries``, ``tvEpisode``, ``tvMiniSeries``, ``tvSpecial``,
#: ``tvShort``, ``videoGame`` ... are refused with a recorded reason, never built as movies.
MOVIE_TITLE_TYPES: frozenset[str] = frozenset({"movie", "tvMovie"})


class SourceError(RuntimeError):
    """One id failed at one stage of one source (not found, malformed answer, ...)."""

    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(f"{stage}: {reason}")
        self.stage, self.reason = stage, reason


class IncompletePage(SourceError):
    """An answer cut short (a page without its end, JSON cut in the middle): never kept in the cache,
    so the next run fetches it again."""


class NotAMovie(SourceError):
    """The id is a title of another kind (episode, series, game ...): the movie is refused, not failed."""

    def __init__(self, title_type: object, where: str = "") -> None:
        kinds = ", ".join(sorted(MOVIE_TITLE_TYPES))
        shown = repr(title_type) if isinstance(title_type, str) else str(title_type)  # a page's odd JSON value too
        where = f"; signals: {where}" if where else ""
        super().__init__("skip", f"titleType {shown[:60]} is not a movie (built: {kinds}){where}")
        self.title_type = title_type


class TypeConflict(SourceError):
    """The answer's own signals disagree on what kind of title it is (a page whose ``titleType`` says
    movie while its JSON-LD says ``TVEpisode``): the movie fails, naming both, and is not built from
    any source, since which signal lies cannot be told."""

    def __init__(self, reason: str) -> None:
        super().__init__("type", reason)


def check_title_type(title_type: object, where: str = "") -> None:
    """Raise :class:`NotAMovie` unless ``title_type`` is unknown (``None``) or one of :data:`MOVIE_TITLE_TYPES`
    (a value of another type, a number or a list, is not a movie type either); ``where`` names the
    answer's type signals, for the reason."""
    if title_type is not None and not (isinstance(title_type, str) and title_type in MOVIE_TITLE_TYPES):
        raise NotAMovie(title_type, where)


class Unavailable(RuntimeError):
    """The source cannot run in this configuration (missing key or folder): one-line reason."""


def check_secret(var: str, value: str) -> None:
    """Refuse (as :class:`Unavailable`, naming only the variable) a key with spaces or control characters inside."""
    if value and any(c.isspace() or not c.isprintable() for c in value):
        raise Unavailable(f"{var} contains whitespace or control characters inside the key; set it to the bare key")


@dataclass
class Record:
    """What one source knows about one movie; ``None`` means "this source does not say".

    The poster is either bytes already at hand (``poster_bytes``) or a URL to fetch only when no
    earlier source gave a valid poster (``poster_url``), so a build makes no needless requests.
    """

    title: str | None = None
    #: The title in its original language (IMDb's ``originalTitle``): "Hotaru no haka" for the
    #: ``title`` "Grave of the Fireflies".
    original_title: str | None = None
    year: int | None = None
    genres: tuple[str, ...] | None = None
    plots: tuple[str, ...] | None = None
    directors: tuple[Person, ...] | None = None
    cast: tuple[Person, ...] | None = None
    poster_bytes: bytes | None = None
    poster_url: str | None = None
    #: Non-fatal things the source noticed, ``(stage, reason)``, kept in the failures report.
    notes: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        """The one gate every source's answer passes: each text field through
        :func:`~mmimdb2.text.clean_field` (what it replaced or removed is noted, stage ``text``),
        then the field caps of :mod:`mmimdb2.builder.validate` (a value over its cap is left out,
        a list over its cap keeps its first entries; each noted with its reason)."""
        notes = list(self.notes)

        def text(what: str, value: str, stage: str, cap: int) -> str | None:
            """``value`` cleaned and stripped (maybe ``""``), or ``None`` when over ``cap``."""
            cleaned, why = clean_field_report(value)
            if why:
                notes.append(("text", f"{what}: {why}"))
            cleaned = cleaned.strip()
            if len(cleaned) > cap:
                notes.append((stage, f"{what} is {len(cleaned):,} characters, over the {cap:,} limit; left out"))
                return None
            return cleaned

        def first(what: str, items: tuple, cap: int) -> tuple:
            if len(items) > cap:
                notes.append((what, f"{len(items):,} {what}, over the {cap:,} limit; the first {cap:,} kept"))
                return items[:cap]
            return items

        if self.year is not None and year_problem(self.year):
            notes.append(("year", f"{year_problem(self.year)}; left out"))
            self.year = None
        if isinstance(self.title, str):
            self.title = text("title", self.title, "title", MAX_TITLE_CHARS) or None
        if isinstance(self.original_title, str):
            self.original_title = text("original title", self.original_title, "title", MAX_TITLE_CHARS) or None
        if self.genres is not None:
            genres = (text("genre", g, "genres", MAX_GENRE_CHARS) for g in self.genres if isinstance(g, str))
            self.genres = first("genres", tuple(g for g in genres if g), MAX_GENRES)
        if self.plots is not None:
            plots = (text("plot", p, "plot", MAX_PLOT_CHARS) for p in self.plots if isinstance(p, str))
            self.plots = first("plots", tuple(p or "" for p in plots if p is not None), MAX_PLOTS)  # "" is judged (and recorded) by the merge
        for role, what in (("directors", "director name"), ("cast", "cast name")):
            people = getattr(self, role)
            if people is not None:
                people = first(role, tuple(people), MAX_PEOPLE)
                kept = []
                for p in people:
                    name = text(what, p.name, "people", MAX_NAME_CHARS) if p.name else ""
                    nm = p.imdb_id
                    if nm is not None and not is_person_id(nm):
                        notes.append(("people", f"{what.split()[0]} id {str(nm)[:40]!r} is not an IMDb person id; {'id dropped' if name else 'left out'}"))
                        nm = None
                    if name is not None:  # one without a name is named by another source or left out, with a reason (merge)
                        kept.append(Person(name, nm))
                setattr(self, role, tuple(kept))
        self.notes = tuple((stage, clean_field(reason)) for stage, reason in notes)

    def has(self, name: str) -> bool:
        if name == "poster":
            return self.poster_bytes is not None or bool(self.poster_url)
        v = getattr(self, name)
        return v is not None and v != ()


@dataclass
class SourceContext:
    """What the build hands every source: shared limiter and cache, retry policy, folders, env.

    ``env`` is a plain mapping (normally ``os.environ``) so tests pass keys and base URLs
    explicitly instead of setting process-wide variables.
    """

    limiter: HostRateLimiter
    cache: ResponseCache | None
    retry: RetryPolicy
    work_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    tsv_dir: Path | None = None
    archive: Path | None = None
    log: Callable[[str], None] = print

    def session(self, headers: dict[str, str] | None = None, seed: int = 0) -> PoliteSession:
        return PoliteSession(self.limiter, self.cache, self.retry, headers or {}, seed=seed)


class Source:
    """Base class: subclasses set ``name`` and implement :meth:`fetch` (and maybe :meth:`prepare`).

    ``local`` sources (TSV, archive) cost no requests, so the merger always consults them (their
    ``nm`` ids enrich people named by other sources); network sources are asked only while a
    field is still missing.
    """

    name: str = ""
    local: bool = False
    licence: str = ""
    #: Coverage fields (see :data:`mmimdb2.builder.coverage.FIELDS`) this source should fill for most
    #: movies; a build where one of them ends at 0% fails loudly.
    gives: frozenset[str] = frozenset()
    #: Environment variables holding this source's secrets (API keys, tokens), redacted from all output.
    secret_env: tuple[str, ...] = ()

    def __init__(self, ctx: SourceContext) -> None:
        self.ctx = ctx
        self._stopped: str | None = None
        self._stop_lock = threading.Lock()
        self._unreachable = 0  # consecutive requests that could not connect at all

    def prepare(self, ids: list[str]) -> None:
        """One-time work before fetching (e.g. the TSV pass); raise :class:`Unavailable` to opt out."""

    def fetch(self, imdb_id: str) -> Record:
        raise NotImplementedError

    def fetch_poster(self, record: Record) -> bytes:
        """The poster bytes of ``record`` (downloaded from ``poster_url`` when needed)."""
        if record.poster_bytes is not None:
            return record.poster_bytes
        if not record.poster_url:
            raise SourceError("poster", "no poster")
        return self.get(record.poster_url, stage="poster").content

    # -- shared plumbing -------------------------------------------------------------------
    @property
    def stopped(self) -> str | None:
        """Why the source was stopped for the rest of the run, or ``None``."""
        return self._stopped

    def stop(self, reason: str) -> bool:
        """Stop the source; True only for the call that stopped it (so the message prints once)."""
        with self._stop_lock:
            if self._stopped is not None:
                return False
            self._stopped = reason
            return True

    def get(self, url: str, params: dict[str, str] | None = None, *, stage: str = "fetch", scope: str = ""):
        """GET through this source's polite session, turning HTTP outcomes into :class:`SourceError`."""
        if self._stopped:
            raise SourceError(stage, f"source stopped: {self._stopped}")
        try:
            r = self.session.get(url, params, cache_scope=scope)
            self._unreachable = 0
            return r
        except Unreachable as e:
            self._unreachable += 1
            if self._unreachable >= self.max_unreachable and self.stop(f"cannot connect ({e})"):
                self.ctx.log(f"{self.name}: {self._unreachable} requests in a row could not connect; stopped this source for the rest of the run (re-run later to retry the failed movies)")
            raise SourceError(stage, str(e)) from None
        except FirewallBlocked as e:
            if self.stop(str(e)):
                self.ctx.log(f"{self.name}: {e}; stopped this source for the rest of the run. {self.firewall_advice}")
            raise SourceError(stage, f"source stopped: {e}") from None
        except NotFound as e:
            raise SourceError(stage, f"not found ({e})") from None
        except HttpError as e:
            raise SourceError(stage, str(e)) from None

    #: After this many requests in a row that could not connect, the source stops for the run.
    max_unreachable = 3

    firewall_advice = (
        "Instead, use saved pages or the authors' released folder with --archive DIR, "
        "or TMDb/OMDb with your own key (TMDB_API_KEY / OMDB_API_KEY)."
    )

    @property
    def session(self) -> PoliteSession:
        with self._stop_lock:  # workers share one session (and its per-thread requests.Session)
            s = getattr(self, "_session", None)
            if s is None:
                s = self._session = self.ctx.session(self.headers())
            return s

    def headers(self) -> dict[str, str]:
        return {}
