"""The ``real-pages`` check: build the real saved IMDb pages of ../shared/realdev and compare with expected.json.

The project's fake pages were once written to the parser's expectations, and a build reported
"complete" with no director and no cast from any real page. This check builds the 4 real pages
(2024-25 layout) through the archive source, fetches them once more through the ``imdb-html``
source from a local server, and compares title, year, genres, director and star ids, plot and
poster URL with values extracted independently of this project. Skipped when the folder is
absent (a user's clone does not have it); never copies the pages into the repository.

Run: ``pytest benchmarks/perf/test_real_pages.py --benchmark-enable`` (per-field accuracy is
printed and kept in the benchmark's ``extra_info``; parse time per page is the benchmark).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmimdb2.builder import BuildConfig, build
from mmimdb2.builder.fakeweb import FAST_RETRY, FakeWeb, Resp, jpeg
from mmimdb2.builder.http import HostRateLimiter, ResponseCache
from mmimdb2.builder.sources import SourceContext, parse_title_page, resolve_source

PAGES = Path(__file__).resolve().parents[2].parent / "shared" / "realdev" / "imdb_pages"
FIELDS = ("title", "year", "genres", "directors", "stars", "plot", "poster_url")

pytestmark = pytest.mark.skipif(not (PAGES / "expected.json").is_file(), reason="../shared/realdev/imdb_pages is absent")


@pytest.fixture(scope="module")
def expected() -> dict[str, dict]:
    return json.loads((PAGES / "expected.json").read_text(encoding="utf-8"))


def _accuracy(got: dict[str, dict], expected: dict[str, dict]) -> dict[str, float]:
    return {f: sum(got[tt].get(f) == e[f] for tt, e in expected.items()) / len(expected) for f in FIELDS}


def _row(movie: dict, poster_url: str | None) -> dict:
    return {
        "title": movie.get("title"), "year": movie.get("year"), "genres": movie.get("genres"), "plot": movie.get("plot"),
        "directors": [[p.get("imdb_id"), p["name"]] for p in movie.get("directors", [])],
        "stars": [[p.get("imdb_id"), p["name"]] for p in movie.get("cast", [])][:3], "poster_url": poster_url,
    }  # fmt: skip


def test_real_pages_build_matches_expected(benchmark, expected, tmp_path):
    archive, manifest = tmp_path / "pages", tmp_path / "manifest"
    archive.mkdir()
    manifest.mkdir()
    ids = sorted(expected)
    for k, tt in enumerate(ids):
        (archive / f"{tt}.html").symlink_to(PAGES / f"{tt}.html")
        (archive / f"{tt}.jpg").write_bytes(jpeg(k))  # the pages' image host cannot be reached here
    for part, sl in (("train", ids[:2]), ("dev", ids[2:3]), ("test", ids[3:])):
        (manifest / f"{part}.txt").write_text("".join(i + "\n" for i in sl))
    out = tmp_path / "out"
    res = build(BuildConfig(out=out, manifest=str(manifest), sources=["archive"], archive=archive, workers=2, env={}, progress=False, log=lambda s: None))
    assert res.complete and res.exit_code == 0 and res.built == len(ids), res.summary()

    page0 = (PAGES / f"{ids[0]}.html").read_bytes()
    benchmark(parse_title_page, page0, ids[0])
    got = {}
    for tt in ids:
        movie = json.loads((out / "dataset" / f"{tt}.json").read_text(encoding="utf-8"))
        got[tt] = _row(movie, parse_title_page((PAGES / f"{tt}.html").read_bytes(), tt).poster_url)
    acc = _accuracy(got, expected)
    benchmark.extra_info.update({f"accuracy_{f}": a for f, a in acc.items()})
    print("\nreal-pages accuracy per field: " + ", ".join(f"{f} {a:.0%}" for f, a in acc.items()))
    wrong = {tt: {f: (got[tt][f], e[f]) for f in FIELDS if got[tt][f] != e[f]} for tt, e in expected.items()}
    assert all(a == 1.0 for a in acc.values()), {tt: w for tt, w in wrong.items() if w}


def test_real_pages_over_http_are_not_taken_for_challenges(expected, tmp_path):
    """Served with HTTP 200 by a local server, the real pages parse the same as saved, and are cached."""
    web = FakeWeb()
    try:
        for tt in expected:
            web.routes[f"/title/{tt}/"] = Resp(200, (PAGES / f"{tt}.html").read_bytes(), {"Content-Type": "text/html"})
        ctx = SourceContext(HostRateLimiter(1000.0), ResponseCache(tmp_path / "cache"), FAST_RETRY, tmp_path / "work",
                            env={"IMDB_TITLE_URL": f"{web.url}/title/{{id}}/"}, log=lambda s: None)  # fmt: skip
        src = resolve_source("imdb-html")(ctx)
        for tt, e in expected.items():
            r = src.fetch(tt)
            assert (r.title, r.year, list(r.genres)) == (e["title"], e["year"], e["genres"])
            assert [[p.imdb_id, p.name] for p in r.directors] == e["directors"] and [[p.imdb_id, p.name] for p in r.cast] == e["stars"]
        assert src.stopped is None and len(list((tmp_path / "cache").rglob("*.bin"))) == len(expected)
    finally:
        web.close()
