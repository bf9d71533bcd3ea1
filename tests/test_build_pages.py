"""IMDb title pages in the 2024-25 layout: people, year and type from ``__NEXT_DATA__``; cut pages and challenges refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from test_build_helpers import FAST_RETRY, Resp, title_page, web, world  # noqa: F401

from mmimdb2.builder.fakeweb import challenge_page
from mmimdb2.builder.http import FirewallBlocked, HostRateLimiter, PoliteSession, ResponseCache, is_challenge
from mmimdb2.builder.sources import SourceContext, SourceError, parse_title_page, resolve_source
from mmimdb2.builder.sources.base import MOVIE_TITLE_TYPES, NotAMovie

PAGES = Path(__file__).parent / "fixtures" / "imdb_pages"


def test_people_year_and_genres_come_from_next_data():
    r = parse_title_page((PAGES / "tt0000011.html").read_bytes(), "tt0000011")
    assert r.title == "The Salt Road" and r.year == 1982  # releaseYear, not datePublished (1983)
    assert r.genres == ("Adventure", "Drama")
    assert [(p.imdb_id, p.name) for p in r.directors] == [("nm0000101", "Asha Varma"), ("nm0000102", "Tomas Lind")]
    assert [(p.imdb_id, p.name) for p in r.cast] == [("nm0000104", "Ravi Menon"), ("nm0000105", "Clara Holt"), ("nm0000106", "Idris Farah")]
    assert r.plots == ("A salt merchant's daughter leads a caravan across the desert to free her father.",)
    assert r.poster_url == "https://m.media-amazon.com/images/M/MV5BFakePosterSaltRoad._V1_.jpg"


def test_a_page_of_another_title_is_refused():
    with pytest.raises(SourceError, match="is for tt0000011, not tt0000099"):
        parse_title_page((PAGES / "tt0000011.html").read_bytes(), "tt0000099")


def test_an_episode_page_is_refused_as_not_a_movie():
    with pytest.raises(NotAMovie, match="'tvEpisode' is not a movie") as e:
        parse_title_page((PAGES / "tt0000012.html").read_bytes(), "tt0000012")
    assert e.value.stage == "skip" and MOVIE_TITLE_TYPES == {"movie", "tvMovie"}
    for kind in ("tvSeries", "videoGame", "short"):
        with pytest.raises(NotAMovie, match=kind):
            parse_title_page(title_page("tt0000001", "T", 2000, ["Drama"], "P.", ("nm0000001", "D"), [], "https://i/p.jpg", title_type=kind))
    tv_movie = parse_title_page(title_page("tt0000001", "T", 2000, ["Drama"], "P.", ("nm0000001", "D"), [], "https://i/p.jpg", title_type="tvMovie"))
    assert tv_movie.title == "T" and tv_movie.year == 2000


def test_without_next_data_the_json_ld_type_still_refuses_an_episode():
    page = (PAGES / "tt0000012.html").read_text()
    page = page[: page.index('<script id="__NEXT_DATA__"')] + "</body></html>"
    with pytest.raises(NotAMovie, match="tvEpisode"):
        parse_title_page(page)


def test_truncated_pages_are_failures_not_movies():
    page = (PAGES / "tt0000011.html").read_bytes()
    with pytest.raises(SourceError, match="truncated page: no closing </html>"):
        parse_title_page(page[: len(page) // 2])
    cut = page.index(b'"principalCreditsV2"')  # the JSON cut, then the page closed anyway
    with pytest.raises(SourceError, match="__NEXT_DATA__ JSON is cut or malformed"):
        parse_title_page(page[:cut] + b"</script></body></html>")


def test_a_saved_challenge_page_is_recognised(tmp_path):
    with pytest.raises(SourceError, match="firewall/bot challenge") as e:
        parse_title_page(challenge_page())
    assert e.value.stage == "firewall"
    (tmp_path / "tt0000001.html").write_bytes(challenge_page())
    c = SourceContext(HostRateLimiter(1000.0), None, FAST_RETRY, tmp_path / "work", archive=tmp_path, log=lambda s: None)
    src = resolve_source("archive")(c)
    src.prepare(["tt0000001"])
    with pytest.raises(SourceError, match="challenge"):
        src.fetch("tt0000001")


def test_a_real_page_mentioning_captcha_is_not_a_challenge():
    page = title_page("tt0000001", "Captcha", 2001, ["Drama"], "A plot about a captcha and Access Denied.", ("nm0000001", "D"), [], "https://i/p.jpg")
    assert parse_title_page(page).title == "Captcha"


def test_a_challenge_served_with_http_200_stops_and_is_never_cached(web, tmp_path):
    web.routes["/imdb/title/tt0000001/"] = Resp(200, challenge_page(), {"Content-Type": "text/html"})
    cache = ResponseCache(tmp_path / "cache")
    s = PoliteSession(HostRateLimiter(1000.0), cache, FAST_RETRY)
    with pytest.raises(FirewallBlocked, match="HTTP 200"):
        s.get(f"{web.url}/imdb/title/tt0000001/")
    assert not any((tmp_path / "cache").rglob("*.bin"))
    # a challenge an older version did cache is not served from the cache: the page is asked again
    url = f"{web.url}/imdb/title/tt0000002/"
    cache.put(ResponseCache.key(url), 200, "text/html", challenge_page())
    web.routes["/imdb/title/tt0000002/"] = Resp(200, (PAGES / "tt0000011.html").read_bytes(), {"Content-Type": "text/html"})
    r = s.get(url)
    assert not r.from_cache and web.hits("/imdb/title/tt0000002/") == 1


def test_imdb_html_source_stops_on_a_200_challenge(world, tmp_path):
    world.web.routes["/imdb/title/tt0100001/"] = Resp(200, challenge_page(), {"Content-Type": "text/html"})
    c = SourceContext(HostRateLimiter(1000.0), ResponseCache(tmp_path / "cache"), FAST_RETRY, tmp_path / "work", env=dict(world.env), log=lambda s: None)
    src = resolve_source("imdb-html")(c)
    with pytest.raises(SourceError, match="firewall challenge"):
        src.fetch("tt0100001")
    assert src.stopped and "HTTP 200" in src.stopped


def test_fake_pages_have_the_real_layout():
    """The fake web's pages carry no people in JSON-LD and a release date a year late, as real ones do."""
    page = title_page("tt0000001", "T", 1999, ["Drama"], "Plot.", ("nm0000001", "D"), [("nm0000002", "A")], "https://i/p.jpg").decode()
    ld = json.loads(page.split('<script type="application/ld+json">')[1].split("</script>")[0])
    assert "director" not in ld and "actor" not in ld and ld["datePublished"].startswith("2000")
    r = parse_title_page(page, "tt0000001")
    assert r.year == 1999 and r.directors[0].imdb_id == "nm0000001" and r.cast[0].imdb_id == "nm0000002"


def test_a_streamed_download_is_not_read_into_memory_to_look_for_a_challenge():
    class Streamed(requests.Response):
        @property
        def content(self):  # what a 200 check must not touch on a download
            raise AssertionError("the body of a streamed download was read")

    r = Streamed()
    r.status_code, r.headers["Content-Type"] = 200, "application/octet-stream"
    assert not is_challenge(r, peek=False) and not is_challenge(r)
    r.headers["Content-Type"] = "text/html"
    assert not is_challenge(r, peek=False)


def _realdev_pages() -> Path | None:
    """``../shared/realdev/imdb_pages`` beside the checkout (or a worktree's parent), if this machine has it."""
    root = Path(__file__).resolve().parents[1]
    for base in (root.parent, root.parent.parent):
        p = base / "shared" / "realdev" / "imdb_pages"
        if (p / "expected.json").is_file():
            return p
    return None


@pytest.mark.skipif(_realdev_pages() is None, reason="the real saved pages (../shared/realdev) are not on this machine")
def test_real_saved_pages_parse_as_their_own_title():
    folder = _realdev_pages()
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    for tt, want in expected.items():
        r = parse_title_page((folder / f"{tt}.html").read_bytes(), tt)
        assert r.title == want["title"] and r.year == want["year"] and list(r.genres) == want["genres"], tt
        assert [[p.imdb_id, p.name] for p in r.directors] == want["directors"], tt
        assert [[p.imdb_id, p.name] for p in r.cast] == want["stars"] and r.notes == (), tt
