"""End-to-end builds against the fake web: complete build, failures, firewall, cache, verify, Ctrl-C."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from test_build_helpers import FAST_RETRY, Resp, json_body, web, world  # noqa: F401

import mmimdb2
from mmimdb2.builder import BuildConfig, build, verify


def run(world, out: Path, sources=("tsv", "tmdb", "omdb", "imdb-html"), cancel=None, **kw):
    logs: list[str] = []
    cfg = BuildConfig(
        out=out, manifest=str(world.manifest), sources=list(sources), tsv_dir=world.tsv_dir, workers=3, rate=1000.0,
        retry=FAST_RETRY, env=dict(world.env), progress=False, log=logs.append, **kw,
    )  # fmt: skip
    return build(cfg, cancel), logs


def failures(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "failures.jsonl").read_text().splitlines()]


def test_complete_build_is_loadable_and_described(world, tmp_path):
    out = tmp_path / "out"
    res, logs = run(world, out)
    assert res.complete and res.exit_code == 0 and res.built == 20
    ds = mmimdb2.load(out, verify=True)
    assert len(ds) == 20 and ds.name == "manifest"  # a custom manifest is named after its folder
    assert [len(ds.split[p]) for p in ("train", "dev", "test")] == [12, 2, 6]
    m = ds.movies["tt0100002"]
    want = world.movies["tt0100002"]
    assert m.title == want["title"] and m.year == want["year"] and m.plot.startswith("Plot of movie 1")
    assert m.raw_genres == tuple(want["genres"]) and m.sources["genres"] == "tsv" and m.sources["plot"] == "tmdb"
    assert [p.imdb_id for p in m.cast] == [nm for nm, _ in want["cast"]]  # nm ids from the TSVs
    assert m.directors[0].imdb_id == want["director"][0]
    assert m.poster is not None and m.poster.read_bytes()[:2] == b"\xff\xd8"
    raw = json.loads((out / "dataset/tt0100001.json").read_text())
    assert raw["genres"] == ["Drama", "News"] and raw["director"] == "Director 0" and raw["sources"]["poster"] == "tmdb"
    # OMDb and IMDb pages were not needed: every field came from TSV + TMDb
    assert world.web.hits("/omdb/tt0100001") == 0 and world.web.hits("/imdb/title/tt0100001/") == 0
    sheet = (out / "DATASHEET.md").read_text()
    assert "| Drama |" in sheet and "4773" in sheet and "personal and non-commercial" in sheet and "2025-11-25" in sheet
    assert "| poster | 20 | 100.0% |" in sheet
    listed = [line.split("  ")[2] for line in (out / "MANIFEST").read_text().splitlines()]
    assert listed == sorted(listed) and "dataset/tt0100001.jpg" in listed and "split/train.txt" in listed
    assert "BUILD_INFO.json" not in listed and not any(p.startswith(".build") for p in listed)
    assert failures(out) == [] and json.loads((out / "DATASET.json").read_text())["complete"] is True
    assert verify(out).ok and "croissant.json" in listed


def test_croissant_of_a_build_reads_back_with_mlcroissant(world, tmp_path):
    """The builder's croissant.json: a valid Croissant file whose records are the built movies."""
    mlc = pytest.importorskip("mlcroissant", reason="mlcroissant (the test extra) is not installed")
    import hashlib

    out = tmp_path / "out"
    res, _ = run(world, out, sources=("tsv", "tmdb"))
    assert res.complete
    meta = json.loads((out / "croissant.json").read_text())
    assert meta["conformsTo"] == "http://mlcommons.org/croissant/1.0" and "non-commercial" in meta["license"] and "MM '23" in meta["citeAs"]
    files = {d["@id"]: d for d in meta["distribution"]}
    for rel in ("split/train.txt", "split/dev.txt", "split/test.txt", "DATASHEET.md"):
        assert files[rel]["sha256"] == hashlib.sha256((out / rel).read_bytes()).hexdigest()
    assert "DATASET.json" not in files  # written last, after MANIFEST (issue 30): its hash cannot be known here
    fields = {f["name"]: f["dataType"] for r in meta["recordSet"] if r["@id"] == "movies" for f in r["field"]}
    assert fields["year"] == "sc:Integer" and fields["genres"] == "sc:Text" and fields["title"] == "sc:Text"
    ds = mlc.Dataset(jsonld=out / "croissant.json")  # raises on an invalid file
    text = lambda v: v.decode() if isinstance(v, bytes) else v  # noqa: E731
    movies = {text(r["movies/imdb_id"]): r for r in ds.records("movies")}
    assert sorted(movies) == sorted(world.ids)
    want = json.loads((out / "dataset/tt0100002.json").read_text())
    got = movies["tt0100002"]
    assert (text(got["movies/title"]), got["movies/year"], [text(g) for g in got["movies/genres"]]) == (want["title"], want["year"], want["genres"])
    assert {(text(r["cast/imdb_id"]), text(r["cast/name"])) for r in ds.records("cast")} == {
        (i, p["name"]) for i in world.ids for p in json.loads((out / f"dataset/{i}.json").read_text())["cast"]}
    parts = {text(r["split/imdb_id"]): text(r["split/part"]) for r in ds.records("split")}
    assert parts == mmimdb2.load(out).split.part_of()
    poster = next(iter(ds.records("posters")))
    assert poster["posters/image"].size[0] > 0
    before = (out / "croissant.json").read_bytes()
    run(world, out, sources=("tsv", "tmdb"))
    assert (out / "croissant.json").read_bytes() == before  # no time stamp: a re-run writes the same bytes


def test_rerun_reads_the_journal_and_cache_not_the_web(world, tmp_path):
    out = tmp_path / "out"
    run(world, out)
    before = len(world.web.log)
    (out / "dataset/tt0100003.json").unlink()  # lost file: rebuilt from the cache
    res, _ = run(world, out)
    assert res.complete and res.this_run == 1 and len(world.web.log) == before
    assert verify(out).ok


def test_failures_are_recorded_and_exit_code_says_incomplete(world, tmp_path):
    w = world.web
    # tt0100001: corrupt TMDb poster, OMDb's is fine -> built, the problem is recorded (not fatal)
    w.routes["/tmdbimg/w500/p0.jpg"] = Resp(200, b"\xff\xd8\xff\xe0garbage")
    # tt0100002: truncated JPEG everywhere and malformed answers elsewhere -> not built
    good = w.routes["/tmdbimg/w500/p1.jpg"].body
    w.routes["/tmdbimg/w500/p1.jpg"] = Resp(200, good[: len(good) // 2])
    w.routes["/omdb/tt0100002"] = Resp(200, b"{not json", {"Content-Type": "application/json"})
    w.routes["/imdb/title/tt0100002/"] = Resp(200, b"<html><body><p>no data here</body></html>")
    # tt0100003: TMDb knows nothing, OMDb gives no plot ("N/A") and the page has no plot -> missing plot
    w.routes["/tmdb/3/find/tt0100003"] = json_body({"movie_results": []})
    w.routes["/omdb/tt0100003"] = json_body({"Title": "Movie 2", "Plot": "N/A", "Poster": "N/A", "Response": "True"})
    w.routes["/imdb/title/tt0100003/"] = Resp(503, b"busy")
    # tt0100004: a 429 with Retry-After once, then fine
    w.routes["/tmdb/3/find/tt0100004"] = [Resp(429, b"", {"Retry-After": "0"}), w.routes["/tmdb/3/find/tt0100004"]]
    out = tmp_path / "out"
    res, _ = run(world, out)
    assert not res.complete and res.exit_code == 1 and res.built == 18 and res.failed == 2
    rows = failures(out)
    fatal = {(r["id"], r["reason"]) for r in rows if r["fatal"]}
    assert fatal == {("tt0100002", "no source gave a valid poster"), ("tt0100003", "no source gave a valid plot"), ("tt0100003", "no source gave a valid poster")}
    by = {(r["id"], r["source"], r["stage"]): r["reason"] for r in rows}
    assert "does not decode" in by[("tt0100001", "tmdb", "poster")] or "cannot" in by[("tt0100001", "tmdb", "poster")]
    assert "truncated" in by[("tt0100002", "tmdb", "poster")].lower()
    assert "malformed JSON" in by[("tt0100002", "omdb", "fetch")]
    assert "no __NEXT_DATA__ title data and no JSON-LD" in by[("tt0100002", "imdb-html", "parse")]
    assert "no TMDb movie" in by[("tt0100003", "tmdb", "find")]
    assert "HTTP 503 after 3 attempts" in by[("tt0100003", "imdb-html", "fetch")]
    assert json.loads((out / "dataset/tt0100001.json").read_text())["sources"]["poster"] == "omdb"
    assert (out / "dataset/tt0100005.json").is_file()
    assert not (out / "dataset/tt0100002.json").exists() and "tt0100002" not in (out / "split/train.txt").read_text()
    meta = json.loads((out / "DATASET.json").read_text())
    assert meta["complete"] is False and meta["status"] == res.status == "INCOMPLETE: 2 of 20 manifest ids not built (failures.jsonl says why; re-run to retry)"
    assert res.summary().splitlines()[-1].endswith(res.status)


def test_firewall_challenge_stops_the_source_with_one_message(world, tmp_path):
    w = world.web
    challenge = Resp(202, b"", {"x-amzn-waf-action": "challenge"})
    for tt in world.ids:
        w.routes[f"/imdb/title/{tt}/"] = challenge
    out = tmp_path / "out"
    res, logs = run(world, out, sources=("tsv", "imdb-html", "omdb"))
    assert res.complete  # OMDb filled in
    stops = [line for line in logs if "firewall" in line]
    assert len(stops) == 1 and "imdb-html" in stops[0] and "--archive" in stops[0] and "OMDB_API_KEY" in stops[0]
    assert sum(w.hits(f"/imdb/title/{tt}/") for tt in world.ids) <= 3  # at most one per worker in flight
    assert res.sources["imdb-html"].startswith("stopped:")
    rows = [r for r in failures(out) if r["source"] == "imdb-html"]
    assert rows and all("source stopped" in r["reason"] for r in rows) and not any(r["fatal"] for r in rows)


def test_missing_keys_skip_sources_with_a_reason(world, tmp_path):
    env = {k: v for k, v in world.env.items() if k not in ("TMDB_API_KEY", "OMDB_API_KEY")}
    world.env.clear()
    world.env.update(env)
    res, logs = run(world, tmp_path / "out", sources=("tsv", "tmdb", "omdb", "imdb-html"))
    assert res.sources["tmdb"].startswith("skipped: no TMDB_API_KEY") and res.sources["omdb"].startswith("skipped: no OMDB_API_KEY")
    assert any(line.startswith("tmdb: skipped") for line in logs) and res.complete  # pages gave the rest
    assert json.loads((tmp_path / "out/dataset/tt0100001.json").read_text())["sources"]["plot"] == "imdb-html"


def test_archive_source_reads_the_authors_release(world, tmp_path):
    arch = tmp_path / "release" / "dataset"
    arch.mkdir(parents=True)
    from test_build_helpers import jpeg

    for k, tt in enumerate(world.ids):
        m = world.movies[tt]
        (arch / f"{tt}.json").write_text(json.dumps({"plot": "Authors' plot " + str(k), "director": m["director"][1], "cast": [a for _, a in m["cast"]], "genres": m["genres"]}))
        (arch / f"{tt}.jpg").write_bytes(jpeg(k + 300))
    res, _ = run(world, tmp_path / "out", sources=("archive", "tsv"), archive=arch.parent)
    assert res.complete and len(world.web.log) == 0
    d = json.loads((tmp_path / "out/dataset/tt0100001.json").read_text())
    # listed first, the archive still gives only what it is authoritative for (plot, poster); the TSV the rest
    assert d["plot"] == "Authors' plot 0" and d["sources"]["plot"] == "archive" and d["sources"]["poster"] == "archive"
    assert d["sources"]["cast"] == "tsv" and d["sources"]["directors"] == "tsv" and d["sources"]["title"] == "tsv"
    assert [p["imdb_id"] for p in d["cast"]] == [nm for nm, _ in world.movies["tt0100001"]["cast"]]


def test_verify_names_a_changed_and_a_missing_file(world, tmp_path):
    out = tmp_path / "out"
    run(world, out)
    p = out / "dataset/tt0100007.json"
    p.write_text(p.read_text().replace("Movie 6", "Movie six"))
    (out / "dataset/tt0100008.jpg").unlink()
    (out / "dataset/tt0199999.json").write_text("{}")
    rep = verify(out)
    assert rep.changed == ["dataset/tt0100007.json"] and rep.missing == ["dataset/tt0100008.jpg"]
    assert rep.unlisted == ["dataset/tt0199999.json"] and not rep.ok


def test_cancel_stops_cleanly_and_a_rerun_finishes(world, tmp_path):
    out = tmp_path / "out"
    cancel = threading.Event()
    world.web.delay = 0.02
    logs: list[str] = []
    cfg = BuildConfig(out=out, manifest=str(world.manifest), sources=["tsv", "tmdb"], tsv_dir=world.tsv_dir, workers=2, rate=1000.0,
                      retry=FAST_RETRY, env=dict(world.env), progress=False, log=logs.append)  # fmt: skip
    timer = threading.Timer(0.2, cancel.set)
    timer.start()
    res = build(cfg, cancel)
    timer.cancel()
    assert res.interrupted and res.exit_code == 130 and 0 < res.built < 20
    assert "re-run" in res.summary() and not (out / "MANIFEST").exists()
    assert not list((out / "dataset").glob(".*.tmp"))
    res2 = build(cfg)
    assert res2.complete and res2.this_run == 20 - res.built
    assert verify(out).ok


def test_an_unreachable_source_is_stopped_after_a_few_failures(world, tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    world.env["OMDB_API_URL"] = dead + "/omdb/"
    res, logs = run(world, tmp_path / "out", sources=("tsv", "omdb", "tmdb"))
    assert res.complete and res.sources["omdb"].startswith("stopped: cannot connect")
    assert len([line for line in logs if "could not connect" in line]) == 1
