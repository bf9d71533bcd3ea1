"""Each source on its own against recorded-shape answers, and the streaming TSV reader."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from test_build_helpers import FAST_RETRY, Resp, json_body, title_page, web, world, write_tsv_gz  # noqa: F401

from mmimdb2.builder import tsv
from mmimdb2.builder.http import HostRateLimiter, ResponseCache
from mmimdb2.builder.sources import SOURCES, SourceContext, SourceError, Unavailable, parse_sources, parse_title_page, resolve_source
from mmimdb2.builder.sources.tsv import build_index


def ctx(world, tmp_path: Path, **kw) -> SourceContext:
    return SourceContext(HostRateLimiter(1000.0), ResponseCache(tmp_path / "cache"), FAST_RETRY, tmp_path / "work",
                         env=dict(world.env), tsv_dir=world.tsv_dir, log=lambda s: None, **kw)  # fmt: skip


def test_registry_names_and_did_you_mean():
    assert set(SOURCES) == {"tsv", "tmdb", "omdb", "imdb-html", "archive"}
    with pytest.raises(ValueError, match="Did you mean 'omdb'"):
        resolve_source("omdbb")
    with pytest.raises(ValueError, match="named twice"):
        parse_sources("tsv,tsv")
    assert parse_sources(" tmdb , tsv ") == ["tmdb", "tsv"]


def test_unknown_source_is_one_line_with_did_you_mean_and_available():
    from mmimdb2.builder.sources import DEFAULT_SOURCES, UnknownSource
    from mmimdb2.registry import UnknownNameError

    for call in (lambda: resolve_source("imdb_html"), lambda: parse_sources("tsv,imdb_html")):
        with pytest.raises(UnknownSource) as info:
            call()
        msg = str(info.value)
        assert isinstance(info.value, UnknownNameError) and isinstance(info.value, ValueError)
        assert "\n" not in msg and msg.startswith("unknown source 'imdb_html'.")
        assert "Did you mean 'imdb-html'?" in msg and "Available: archive, imdb-html, omdb, tmdb, tsv" in msg
    assert all(n in SOURCES for n in DEFAULT_SOURCES)


def test_tsv_source_gives_metadata_with_nm_ids(world, tmp_path):
    src = resolve_source("tsv")(ctx(world, tmp_path))
    src.prepare(world.ids)
    r = src.fetch("tt0100002")
    m = world.movies["tt0100002"]
    assert (r.title, r.year, r.genres) == (m["title"], m["year"], tuple(m["genres"]))
    assert [(p.imdb_id, p.name) for p in r.cast] == m["cast"] and r.directors[0].imdb_id == m["director"][0]
    assert r.plots is None and not r.has("poster")
    with pytest.raises(SourceError, match="not in IMDb"):
        src.fetch("tt9999998")
    saved = list((tmp_path / "work").glob("tsv-index-*.json"))
    assert len(saved) == 1  # a resumed build reads this instead of streaming again
    src2 = resolve_source("tsv")(ctx(world, tmp_path))
    (world.tsv_dir / "name.basics.tsv.gz").rename(world.tsv_dir / "moved.gz")
    with pytest.raises(tsv.TsvMissing) as info:
        src2.prepare(world.ids)
    msg = str(info.value)
    assert "\n" not in msg and "needs name.basics.tsv.gz (the names of those nm ids)" in msg
    assert f"download https://datasets.imdbws.com/name.basics.tsv.gz into {world.tsv_dir}" in msg


def test_tsv_source_downloads_from_the_dataset_host(world, tmp_path):
    for f in tsv.FILES:
        world.web.routes[f"/datasets/{f}"] = Resp(200, (world.tsv_dir / f).read_bytes())
    c = ctx(world, tmp_path)
    c.tsv_dir = None
    src = resolve_source("tsv")(c)
    src.prepare(world.ids)
    assert src.fetch("tt0100001").title == "Movie 0" and (tmp_path / "work/tsv/title.basics.tsv.gz").is_file()
    assert not list((tmp_path / "work/tsv").glob(".*"))  # no partial download left
    c2 = ctx(world, tmp_path / "again")
    c2.tsv_dir = None
    del world.web.routes["/datasets/title.crew.tsv.gz"]  # the host lacks it: an error naming it, not a skip
    with pytest.raises(tsv.TsvMissing, match=r"cannot download \S+/title.crew.tsv.gz .*pass --tsv-dir"):
        resolve_source("tsv")(c2).prepare(world.ids)


def test_tmdb_and_omdb_parse_their_answers_and_need_keys(world, tmp_path):
    c = ctx(world, tmp_path)
    t = resolve_source("tmdb")(c)
    t.prepare(world.ids)
    r = t.fetch("tt0100003")
    assert r.title == "Movie 2" and r.plots[0].startswith("Plot of movie 2") and r.poster_url.endswith("/w500/p2.jpg")
    assert t.fetch_poster(r)[:2] == b"\xff\xd8" and [p.name for p in r.cast] == ["Actor 2", "Actor 3", "Actor 4"]
    assert world.web.log[0][1] == "/tmdb/3/find/tt0100003"
    o = resolve_source("omdb")(c)
    r = o.fetch("tt0100003")
    assert r.plots[0].endswith("(OMDb)") and r.genres == tuple(world.movies["tt0100003"]["genres"]) and r.directors[0].name == "Director 2"
    world.web.routes["/omdb/tt0100004"] = json_body({"Response": "False", "Error": "Incorrect IMDb ID."})
    with pytest.raises(SourceError, match="Incorrect IMDb ID"):
        o.fetch("tt0100004")
    world.web.routes["/tmdb/3/find/tt0100005"] = Resp(200, b"[1, 2]")
    with pytest.raises(SourceError, match="not an object"):
        t.fetch("tt0100005")
    c.env = {}
    for name, key in (("tmdb", "TMDB_API_KEY"), ("omdb", "OMDB_API_KEY")):
        with pytest.raises(Unavailable, match=key):
            resolve_source(name)(c).prepare(world.ids)


def test_tmdb_read_token_goes_in_a_header(world, tmp_path):
    c = ctx(world, tmp_path)
    c.env = {**c.env, "TMDB_READ_TOKEN": "tok"}
    del c.env["TMDB_API_KEY"]
    t = resolve_source("tmdb")(c)
    t.prepare(world.ids)
    t.fetch("tt0100001")
    assert world.web.log[0][2]["Authorization"] == "Bearer tok"


def test_imdb_page_parser_reads_json_ld_and_next_data(world):
    page = title_page("tt0100001", "Tom &amp; Jerry", 1992, ["Comedy", "Family"], "A long embedded plot.", ("nm0000001", "Dir One"),
                      [("nm0000002", "Act Two")], "https://img.example/p.jpg")  # fmt: skip
    r = parse_title_page(page)
    assert r.title == "Tom & Jerry" and r.year == 1992 and r.genres == ("Comedy", "Family")
    assert r.plots == ("A long embedded plot.",) and r.poster_url == "https://img.example/p.jpg"
    assert r.directors[0].imdb_id == "nm0000001" and r.cast[0].imdb_id == "nm0000002"
    broken = b'<html><script type="application/ld+json">{"@type": "Movie", "name": </script></html>'
    with pytest.raises(SourceError, match="no JSON-LD"):
        parse_title_page(broken)
    with pytest.raises(SourceError):
        parse_title_page(b"\x00\xff<<<not html")


def test_archive_reads_release_folders_and_saved_pages(world, tmp_path):
    from test_build_helpers import jpeg

    rel = tmp_path / "rel"
    (rel / "dataset").mkdir(parents=True)
    (rel / "dataset/tt0100001.json").write_text(json.dumps({"plot": ["First.", "Second::someone"], "director": ["A B"], "cast": ["C D"], "genres": ["Drama"]}))
    (rel / "dataset/tt0100001.jpg").write_bytes(jpeg(1))
    (rel / "dataset/tt0100002.json").write_text("{broken")
    m = world.movies["tt0100003"]
    (rel / "dataset/tt0100003.html").write_bytes(title_page("tt0100003", m["title"], m["year"], m["genres"], m["plot"], m["director"], m["cast"], "https://x/p.jpg"))
    for root in (rel, rel / "dataset"):
        a = resolve_source("archive")(ctx(world, tmp_path, archive=root))
        a.prepare(world.ids)
        r = a.fetch("tt0100001")
        assert r.plots == ("First.", "Second") and r.directors[0].name == "A B" and r.poster_bytes == jpeg(1)
    with pytest.raises(SourceError, match="malformed JSON"):
        a.fetch("tt0100002")
    (rel / "dataset/tt0100005.json").write_text(json.dumps({"title": "T", "year": "1916", "director": "Joel Coen, Ethan Coen", "plot": "P", "genres": ["Drama"]}))
    r = a.fetch("tt0100005")  # as the authors' release writes them: year a string, directors joined with ", "
    assert r.year == 1916 and [p.name for p in r.directors] == ["Joel Coen", "Ethan Coen"]
    r = a.fetch("tt0100003")
    assert r.title == m["title"] and r.poster_url == "https://x/p.jpg"
    with pytest.raises(SourceError, match="no tt0100004.json"):
        a.fetch("tt0100004")
    with pytest.raises(Unavailable, match="no --archive"):
        resolve_source("archive")(ctx(world, tmp_path)).prepare([])


def test_stream_rows_filters_before_splitting_and_maps_nulls(tmp_path):
    p = tmp_path / "t.tsv.gz"
    write_tsv_gz(p, ["tconst", "a", "b"], [["tt1", "x", "\\N"], ["tt2", "y", "z"], ["tt3", "only-two"], ["tt4", 'say "hi"', "q"]])
    assert list(tsv.stream_rows(p, {"tt1", "tt4"})) == [{"tconst": "tt1", "a": "x", "b": None}, {"tconst": "tt4", "a": 'say "hi"', "b": "q"}]
    assert len(list(tsv.stream_rows(p))) == 3  # the short row is dropped, quotes are literal
    assert tsv.count_matching(p, {"tt2"}) == (4, 1)
    cut = tmp_path / "cut.tsv.gz"
    cut.write_bytes(p.read_bytes()[:-12])
    with pytest.raises(tsv.TsvError, match="cut.tsv.gz"):
        list(tsv.stream_rows(cut))
    empty = tmp_path / "e.tsv.gz"
    with gzip.open(empty, "wt") as f:
        f.write("")
    with pytest.raises(tsv.TsvError, match="empty file"):
        tsv.header(empty)


def test_index_orders_cast_and_adds_principal_directors(tmp_path):
    d = tmp_path
    write_tsv_gz(d / "title.basics.tsv.gz", ["tconst", "titleType", "primaryTitle", "originalTitle", "isAdult", "startYear", "endYear", "runtimeMinutes", "genres"],
                 [["tt0000001", "movie", "T", "T", "0", "\\N", "\\N", "\\N", "\\N"]])  # fmt: skip
    write_tsv_gz(d / "title.crew.tsv.gz", ["tconst", "directors", "writers"], [["tt0000001", "nm0000009", "\\N"]])
    write_tsv_gz(d / "title.principals.tsv.gz", ["tconst", "ordering", "nconst", "category", "job", "characters"],
                 [["tt0000001", "3", "nm0000003", "actress", "\\N", "\\N"], ["tt0000001", "1", "nm0000001", "actor", "\\N", "\\N"],
                  ["tt0000001", "2", "nm0000008", "director", "\\N", "\\N"], ["tt0000001", "4", "nm0000004", "composer", "\\N", "\\N"]])  # fmt: skip
    write_tsv_gz(d / "name.basics.tsv.gz", ["nconst", "primaryName"], [["nm0000001", "One"], ["nm0000003", "Three"], ["nm0000009", "Nine"]])
    idx = build_index({f: d / f for f in tsv.FILES}, {"tt0000001"})
    row = idx["tt0000001"]
    assert row["year"] is None and row["genres"] == [] and row["cast"] == ["nm0000001", "nm0000003"]
    assert row["directors"] == ["nm0000009", "nm0000008"] and idx["__names__"] == {"nm0000001": "One", "nm0000003": "Three", "nm0000009": "Nine"}


def test_archive_and_loader_split_joined_directors_by_one_rule(world, tmp_path):
    """The builder's archive source and mmimdb2.load read the authors' joined ``director`` alike."""
    from test_build_helpers import jpeg

    import mmimdb2

    rel = tmp_path / "rel"
    (rel / "dataset").mkdir(parents=True)
    joined = {"tt0100001": "Don Bluth, Gary Goldman", "tt0100002": "Martin Luther King, Jr.", "tt0100003": ["A B, C D", {"name": "E, F"}]}
    for tt, director in joined.items():
        (rel / f"dataset/{tt}.json").write_text(json.dumps({"plot": "P.", "director": director, "cast": ["X Y"], "genres": ["Drama"]}))
        (rel / f"dataset/{tt}.jpg").write_bytes(jpeg(1))
    a = resolve_source("archive")(ctx(world, tmp_path, archive=rel))
    a.prepare(world.ids)
    built = {tt: [p.name for p in a.fetch(tt).directors] for tt in joined}
    assert built == {"tt0100001": ["Don Bluth", "Gary Goldman"], "tt0100002": ["Martin Luther King, Jr."], "tt0100003": ["A B", "C D", "E, F"]}
    ds = mmimdb2.load(rel, split=str(write_split(tmp_path / "split", list(joined))))
    assert {tt: [p.name for p in m.directors] for tt, m in ds.movies.items()} == built


def write_split(folder: Path, ids: list[str]) -> Path:
    from mmimdb2.splits import Split, write_split_dir

    return write_split_dir(Split("three", {"train": (ids[0],), "dev": (ids[1],), "test": (ids[2],)}), folder)


def test_omdb_names_follow_the_same_rule():
    from mmimdb2.builder.sources.omdb import _names

    assert [p.name for p in _names("Don Bluth, Gary Goldman (co-director)")] == ["Don Bluth", "Gary Goldman"]
    assert [p.name for p in _names("Martin Luther King, Jr., Ann Other")] == ["Martin Luther King, Jr.", "Ann Other"]
    assert _names("") is None and _names(" , ") is None
