"""IMDb title pages parsed with BeautifulSoup: the page's ``__NEXT_DATA__`` JSON first, JSON-LD as a fallback.

For users with access to the pages (``IMDB_TITLE_URL``, default https://www.imdb.com/title/{id}/)
and, through :func:`parse_title_page`, for saved pages read by the archive source.

Why ``__NEXT_DATA__``: on the 2024-25 pages the JSON-LD block has name, genre, description, image
and ``datePublished`` but no director and no actor, and ``datePublished`` is the release date (a
year after the title's year for ~1 in 4 films). ``props.pageProps.aboveTheFoldData`` holds what a
movie needs: ``titleText``, ``releaseYear`` (the title's year), ``titleType`` (movie, tvEpisode
...), ``titleGenres``, ``plot``, ``primaryImage`` and ``principalCreditsV2`` (groupings Director /
Writer / Stars with ``nm`` ids).

Bytes are decoded by the charset the page declares (a byte-order mark, else the HTTP
``Content-Type`` header, else a ``<meta charset>`` near the top, else UTF-8), never by a guess for
the whole page: a stray byte that is not valid there becomes U+FFFD with a recorded warning
(stage ``charset``), so one bad byte cannot turn "Amélie" into "AmÃ©lie". A gzip file or UTF-16
text without a byte-order mark is named as such.

A page that is cut short (no closing ``</html>``, or its ``__NEXT_DATA__`` JSON does not parse) is
a failure, never a partial movie; a saved or served firewall challenge is reported as such. IMDb's
pages are behind AWS WAF since 2026: a challenge stops this source for the run with a message;
nothing here tries to get around it.
"""

from __future__ import annotations

import codecs
import html as html_lib
import json
import re

from bs4 import BeautifulSoup, SoupStrainer

from mmimdb2.builder.http import looks_like_challenge
from mmimdb2.builder.sources.base import IncompletePage, Record, Source, SourceError, TypeConflict, check_title_type
from mmimdb2.schema import InvalidId, Person, is_person_id, normalize_imdb_id

DEFAULT_TITLE_URL = "https://www.imdb.com/title/{id}/"
_NM = re.compile(r"/name/(nm[0-9]{7,8})(?![0-9])")
_TITLE_URL = re.compile(r"/title/(tt[0-9]{7,8})(?![0-9])")

#: JSON-LD ``@type`` -> IMDb ``titleType``, for pages without a ``titleType`` (``Movie`` also
#: covers shorts and videos there, so it is only the best guess an old page allows).
_LD_TYPES = {"Movie": "movie", "TVMovie": "tvMovie", "TVSeries": "tvSeries", "TVEpisode": "tvEpisode", "VideoGame": "videoGame"}

#: JSON-LD ``@type`` -> the IMDb ``titleType`` values it can describe. A ``titleType`` outside its
#: JSON-LD type's set (``movie`` beside ``TVEpisode``) is a conflict; values in none of these sets
#: (new IMDb types) cannot be judged and are left to :func:`check_title_type`.
_LD_FAMILIES: dict[str, frozenset[str]] = {
    "Movie": frozenset({"movie", "tvMovie", "short", "video", "tvShort", "tvSpecial", "musicVideo"}),
    "TVMovie": frozenset({"tvMovie", "movie"}),
    "TVSeries": frozenset({"tvSeries", "tvMiniSeries"}),
    "TVEpisode": frozenset({"tvEpisode", "tvPilot"}),
    "VideoGame": frozenset({"videoGame"}),
}
_KNOWN_TITLE_TYPES = frozenset().union(*_LD_FAMILIES.values())

#: How far from the end of a page its closing ``</html>`` may be (browsers add a newline or two).
_TAIL = 2048

#: How far into a page its ``<meta charset>`` is looked for (the real pages have it in the first 200 bytes).
_CHARSET_SCAN = 4096
_META_CHARSET = re.compile(rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def _as_list(v: object) -> list:
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def _text(v: object) -> str | None:
    """A non-empty, unescaped, stripped string, or ``None``."""
    return html_lib.unescape(v).strip() or None if isinstance(v, str) else None


def _dig(d: object, *keys: str) -> object:
    """``d[k1][k2]...`` or ``None`` when any step is missing or not a mapping."""
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def _ld_people(v: object) -> tuple[Person, ...] | None:
    out = []
    for p in _as_list(v):
        if isinstance(p, dict) and p.get("@type", "Person") == "Person" and _text(p.get("name")):
            m = _NM.search(str(p.get("url", "")))
            out.append(Person(_text(p["name"]), m.group(1) if m else None))  # type: ignore[arg-type]
        elif _text(p):
            out.append(Person(_text(p)))  # type: ignore[arg-type]
    return tuple(out) or None


def _ld_blocks(soup: BeautifulSoup) -> list[dict]:
    """Every JSON-LD object of the page that describes a title (its ``@type`` one of :data:`_LD_TYPES`
    or ``CreativeWork``), in page order: the first gives the data, all of them their type."""
    out = []
    for tag in soup.find_all("script", type="application/ld+json"):
        try:
            data = json.loads(tag.string or "")
        except ValueError:
            continue
        out += [d for d in _as_list(data) if isinstance(d, dict) and isinstance(d.get("@type"), str) and d["@type"] in (*_LD_TYPES, "CreativeWork")]
    return out


def _page_props(soup: BeautifulSoup) -> dict:
    """``props.pageProps`` of ``__NEXT_DATA__`` (``{}`` without one); a cut or malformed JSON is a failure."""
    tag = soup.find("script", id="__NEXT_DATA__")
    if tag is None:
        return {}
    try:
        data = json.loads(tag.string or "")
    except ValueError as e:
        raise IncompletePage("parse", f"__NEXT_DATA__ JSON is cut or malformed ({e}); the page is incomplete, save or fetch it again") from None
    props = _dig(data, "props", "pageProps")
    return props if isinstance(props, dict) else {}


def _title_ids(soup: BeautifulSoup, props: dict, atf: dict, ld: dict) -> dict[str, list[str]]:
    """Title id -> where the page names it as its own: ``__NEXT_DATA__`` (its ``id`` / ``tconst``),
    the JSON-LD ``url`` / ``@id``, the canonical link, ``og:url``."""
    found: dict[str, list[str]] = {}

    def add(value: object, where: str, *, url: bool) -> None:
        if not isinstance(value, str):
            return
        m = _TITLE_URL.search(value) if url else None
        raw = m.group(1) if m else (value.strip() if not url else None)
        try:
            tt = normalize_imdb_id(raw) if raw else None
        except InvalidId:
            tt = None
        if tt and where not in found.setdefault(tt, []):
            found[tt].append(where)

    add(atf.get("id"), "__NEXT_DATA__", url=False)
    add(props.get("tconst"), "__NEXT_DATA__", url=False)
    add(ld.get("url"), "JSON-LD url", url=True)
    add(ld.get("@id"), "JSON-LD @id", url=True)
    for tag in soup.find_all("link", href=True):
        if "canonical" in [r.lower() for r in _as_list(tag.get("rel"))]:
            add(tag["href"], "canonical link", url=True)
    for tag in soup.find_all("meta", content=True):
        if str(tag.get("property", "")).lower() == "og:url":
            add(tag["content"], "og:url", url=True)
    return found


def _check_identity(found: dict[str, list[str]], imdb_id: str) -> None:
    """The page must name ``imdb_id`` as its own title, and no other one."""
    asked = normalize_imdb_id(imdb_id)
    if not found:
        raise SourceError("parse", f"the page does not say which title it is (no id in __NEXT_DATA__, JSON-LD url/@id, canonical link or og:url); not built as {imdb_id}")
    if asked not in found:
        raise SourceError("parse", f"the page is for {', '.join(found)}, not {imdb_id}")
    if len(found) > 1:
        named = "; ".join(f"{tt} ({', '.join(where)})" for tt, where in found.items())
        raise SourceError("parse", f"the page names more than one title: {named}; not built as {imdb_id}")


def _credits(atf: dict, groupings: tuple[str, ...]) -> tuple[Person, ...] | None:
    """People of the ``principalCreditsV2`` groupings named ``groupings`` (e.g. Director/Directors), in page order."""
    out: list[Person] = []
    for group in _as_list(atf.get("principalCreditsV2")):
        if _text(_dig(group, "grouping", "text")) not in groupings:
            continue
        for c in _as_list(_dig(group, "credits")):
            name, nm = _text(_dig(c, "name", "nameText", "text")), _dig(c, "name", "id")
            if name:
                p = Person(name, nm if is_person_id(nm) else None)  # type: ignore[arg-type]
                if p not in out:
                    out.append(p)
    return tuple(out) or None


def _genres(atf: dict) -> tuple[str, ...]:
    items = [_text(_dig(g, "genre", "text")) for g in _as_list(_dig(atf, "titleGenres", "genres"))]
    if not any(items):
        items = [_text(_dig(g, "text")) for g in _as_list(_dig(atf, "genres", "genres"))]
    return tuple(g for g in items if g)


def decode_page(raw: bytes, content_type: str = "") -> tuple[str, str | None]:
    """``(text, warning)``: ``raw`` decoded by its declared charset (byte-order mark, then the HTTP
    header ``content_type``, then ``<meta charset>``, else UTF-8) with bad bytes replaced by U+FFFD;
    ``warning`` says where the first bad byte was, or is ``None``. A gzip file or UTF-16 without a
    byte-order mark is a :class:`SourceError` saying what it is."""
    if raw[:2] == b"\x1f\x8b":
        raise SourceError("parse", "the page is gzip-compressed (it starts with 1f 8b), not HTML; gunzip it, or save or fetch it again")
    bom = next(((b, c) for b, c in _BOMS if raw.startswith(b)), None)
    if bom is not None:
        raw, charset, why = raw[len(bom[0]) :], bom[1], "byte-order mark"
    else:
        head = raw[:512]
        if head.count(b"\x00") * 4 >= len(head) > 0:
            raise SourceError("parse", "the page looks like UTF-16 text without a byte-order mark, not UTF-8 HTML; save it again as UTF-8")
        header, meta = _HEADER_CHARSET.search(content_type or ""), _META_CHARSET.search(raw[:_CHARSET_SCAN])
        if header:
            charset, why = header.group(1), "HTTP header"
        elif meta:
            charset, why = meta.group(1).decode("ascii"), "meta charset"
        else:
            charset, why = "utf-8", "no charset declared: UTF-8 assumed"
    try:
        codec = codecs.lookup(charset).name
    except LookupError:
        codec, why = "utf-8", f"unknown charset {charset!r} declared: UTF-8 assumed"
    if codec.startswith("utf-16") and why != "byte-order mark":
        codec = "utf-8"  # HTML: a page readable enough to declare UTF-16 in ASCII is not UTF-16
    try:
        return raw.decode(codec), None
    except UnicodeDecodeError as e:
        warning = f"the page is not valid {codec} ({why}) at byte {e.start:,}; bytes replaced with U+FFFD"
        return raw.decode(codec, errors="replace"), warning


def _check_type(atf: dict, blocks: list[dict]) -> None:
    """Refuse a page that is not a movie, or whose type signals disagree.

    The signals: ``aboveTheFoldData.titleType`` (its id, ``{"id": "movie", ...}``, or the value
    itself whatever its JSON type) and the ``@type`` of each JSON-LD block. Both are read, always
    (JSON-LD is not only a fallback for an empty ``aboveTheFoldData``): a ``titleType`` that its
    JSON-LD type cannot describe (``movie`` beside ``TVEpisode``), or JSON-LD blocks of types no one
    title can have, raise :class:`TypeConflict` naming every signal, so the page is not built under
    either reading. Otherwise the ``titleType`` decides, else the JSON-LD type
    (:class:`~mmimdb2.builder.sources.base.NotAMovie` for an episode, series, game ...)."""
    v = atf.get("titleType")
    title_type = v.get("id") if isinstance(v, dict) and "id" in v else v
    ld_types = list(dict.fromkeys(str(b["@type"]) for b in blocks if b["@type"] in _LD_FAMILIES))
    ld_shown = "JSON-LD @type " + ", ".join(repr(t) for t in ld_types)
    allowed = frozenset(_KNOWN_TITLE_TYPES)
    for t in ld_types:
        allowed &= _LD_FAMILIES[t]
    if ld_types and not allowed:
        raise TypeConflict(f"the page's type signals disagree: {ld_shown}; not built as either")
    if title_type is not None:
        shown = repr(title_type) if isinstance(title_type, str) else str(title_type)
        if ld_types and isinstance(title_type, str) and title_type in _KNOWN_TITLE_TYPES and title_type not in allowed:
            raise TypeConflict(f"the page's type signals disagree: aboveTheFoldData.titleType {shown[:60]}, {ld_shown}; not built as either")
        check_title_type(title_type, f"aboveTheFoldData.titleType {shown[:60]}, {ld_shown}" if ld_types else "")
    elif ld_types:
        no_type = "no titleType in aboveTheFoldData" if atf else "no __NEXT_DATA__ title data"
        check_title_type(_LD_TYPES[ld_types[0]], f"{no_type}, {ld_shown}")


def _check_complete(text: str) -> None:
    if looks_like_challenge(text.encode("utf-8", "replace")):
        raise SourceError("firewall", "the page is a firewall/bot challenge (AWS WAF or similar), not a title page; save the title page again from a browser that passed it")
    if "</html>" not in text.rstrip()[-_TAIL:].lower():
        raise IncompletePage("parse", "truncated page: no closing </html>; save or fetch it again")


def parse_title_page(page: str | bytes, imdb_id: str | None = None, *, content_type: str = "") -> Record:
    """A :class:`Record` from an IMDb title page (bytes are decoded by :func:`decode_page`, with the
    HTTP ``content_type`` when the page was fetched).

    Raise :class:`SourceError` for a challenge, a truncated page, a page that does not prove it is
    ``imdb_id`` (one of its ``__NEXT_DATA__`` id, JSON-LD ``url``/``@id``, canonical link or
    ``og:url`` must name it, and none another title) or one without movie data,
    :class:`~mmimdb2.builder.sources.base.NotAMovie` for an episode, series, game ..., and
    :class:`~mmimdb2.builder.sources.base.TypeConflict` for a page whose type signals disagree.
    """
    text, warning = (page, None) if isinstance(page, str) else decode_page(page, content_type)
    _check_complete(text)
    soup = BeautifulSoup(text, "html.parser", parse_only=SoupStrainer(["script", "link", "meta"]))
    props = _page_props(soup)
    atf = props.get("aboveTheFoldData")
    atf = atf if isinstance(atf, dict) else {}
    blocks = _ld_blocks(soup)
    ld = blocks[0] if blocks else {}
    if not atf and not ld:
        raise SourceError("parse", "no __NEXT_DATA__ title data and no JSON-LD movie block in the page")
    if imdb_id:
        _check_identity(_title_ids(soup, props, atf, ld), imdb_id)
    _check_type(atf, blocks)

    plots = [_text(_dig(atf, "plot", "plotText", "plainText")), _text(ld.get("description"))]
    image = _dig(atf, "primaryImage", "url") or ld.get("image")
    if isinstance(image, dict):
        image = image.get("url")
    year = _dig(atf, "releaseYear", "year")  # the title's year; never datePublished (the release date); checked by Record
    genres = _genres(atf) or tuple(g for g in (_text(x) for x in _as_list(ld.get("genre"))) if g)
    return Record(
        # JSON-LD's name is the original title ("Hotaru no haka"); alternateName, when there, the display one
        title=_text(_dig(atf, "titleText", "text")) or _text(ld.get("alternateName")) or _text(ld.get("name")),
        original_title=_text(_dig(atf, "originalTitleText", "text")) or _text(ld.get("name")),
        year=year,
        genres=genres or None,
        plots=tuple(dict.fromkeys(p for p in plots if p)) or None,
        directors=_credits(atf, ("Director", "Directors")) or _ld_people(ld.get("director")),
        cast=_credits(atf, ("Star", "Stars")) or _ld_people(ld.get("actor")),
        poster_url=image if isinstance(image, str) and image.startswith(("http://", "https://")) else None,
        notes=(("charset", warning),) if warning else (),
    )


class ImdbHtmlSource(Source):
    """IMDb title pages over HTTP, for users who have access to them."""

    name = "imdb-html"
    licence = "IMDb pages: IMDb's conditions of use apply; data for personal and non-commercial use only."
    gives = frozenset({"directors", "cast", "plot", "poster", "nm ids"})

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.template = ctx.env.get("IMDB_TITLE_URL", DEFAULT_TITLE_URL).strip()

    def headers(self) -> dict[str, str]:
        return {"Accept": "text/html", "Accept-Language": "en-US,en;q=0.8"}

    def fetch(self, imdb_id: str) -> Record:
        r = self.get(self.template.format(id=imdb_id))
        try:
            return parse_title_page(r.content, imdb_id, content_type=r.content_type)
        except IncompletePage:
            self.session.forget(r.url)  # a cut page served with 200: the next run fetches it again
            raise
