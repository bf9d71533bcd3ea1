"""Bad input to the builder (issue 21): each bad value is a one-line reason or a recorded skip in
failures.jsonl, never a traceback that stops the build and never a silent drop."""

from __future__ import annotations

import json
import re
from pathlib import Path

from test_build_helpers import jpeg, title_page, web, world  # noqa: F401
from test_build_pipeline import failures, run

import mmimdb2


def archive_with(world, folder: Path, files: dict[str, bytes | str]) -> Path:
    """An archive folder holding ``files`` (name -> content) and a poster for each movie named."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        p = folder / name
        p.write_bytes(content) if isinstance(content, bytes) else p.write_text(content)
        p.with_suffix(".jpg").write_bytes(jpeg(len(name)))
    return folder


def page_of(world, tt: str, **change) -> bytes:
    m = {**world.movies[tt], **change}
    return title_page(tt, m["title"], m["year"], m["genres"], m["plot"], m["director"], m["cast"], f"{world.web.url}/imdbimg/{tt}.jpg")


# --------------------------------------------------------------------------- case 2: lone surrogates


def test_a_lone_surrogate_is_replaced_not_a_crash(world, tmp_path):
    authors = {"title": "Am\ud800lie", "genres": ["Drama"], "plot": "A plot \ud800 with \u202e bidi", "cast": ["Na\ud800me"], "director": "D\x1bir"}
    page = page_of(world, "tt0100002").replace(b"Movie 1", b"Movie \\ud800 1").replace(b"Actor 1", b"Actor \\ud800 1")
    arch = archive_with(world, tmp_path / "arch", {"tt0100001.json": json.dumps(authors), "tt0100002.html": page})
    out = tmp_path / "out"
    res, _ = run(world, out, sources=("archive",), archive=arch)
    assert res.built == 2 and (out / "failures.jsonl").is_file()
    one = json.loads((out / "dataset/tt0100001.json").read_text(encoding="utf-8"))
    assert one["title"] == "Am\ufffdlie" and one["plot"] == "A plot \ufffd with bidi" and one["cast"] == [{"name": "Na\ufffdme"}]
    assert one["director"] == "Dir"
    two = json.loads((out / "dataset/tt0100002.json").read_text(encoding="utf-8"))
    assert two["title"] == "Movie \ufffd 1" and "Actor \ufffd 1" in [p["name"] for p in two["cast"]]
    rows = [r for r in failures(out) if r["stage"] == "text"]
    assert {r["id"] for r in rows} == {"tt0100001", "tt0100002"} and not any(r["fatal"] for r in rows)
    assert any(r["reason"].startswith("title: 1 lone surrogate replaced with U+FFFD") for r in rows)
    ds = mmimdb2.load(out, verify=True)
    assert ds.movies["tt0100001"].title == "Am\ufffdlie"


# --------------------------------------------------------------------------- case 3 and 13: how a page is decoded


def unescaped(page: bytes) -> bytes:
    """The page with its JSON's ``\\u00e9`` escapes written as UTF-8, as real pages have them."""
    return page.replace(b"\\u00e9", "é".encode())


def amelie(world, tt: str = "tt0100001") -> bytes:
    return unescaped(page_of(world, tt, title="Amélie", plot="Amélie, a waitress in Montmartre, decides to change lives."))


def test_a_stray_byte_does_not_turn_the_page_into_mojibake():
    from mmimdb2.builder.sources import parse_title_page

    page = unescaped(title_page("tt0100001", "Amélie", 2001, ["Comedy"], "Amélie helps.", ("nm0000001", "D"), [], "https://i/p.jpg"))
    page = page.replace(b"<h1>", b"<h1>\xff", 1)  # one byte that is not UTF-8, outside the data
    r = parse_title_page(page, "tt0100001")
    assert r.title == "Amélie" and r.plots[0].startswith("Amélie")
    assert [stage for stage, _ in r.notes] == ["charset"]
    assert "not valid utf-8 (no charset declared: UTF-8 assumed)" in r.notes[0][1] and "U+FFFD" in r.notes[0][1]


def test_a_page_is_decoded_by_its_declared_charset():
    from mmimdb2.builder.sources import parse_title_page

    utf8 = unescaped(title_page("tt0100001", "Amélie", 2001, ["Comedy"], "Amélie helps.", ("nm0000001", "D"), [], "https://i/p.jpg"))
    text = utf8.decode("utf-8").replace("<head>", '<head><meta charSet="windows-1252"/>')
    r = parse_title_page(text.encode("cp1252"), "tt0100001")
    assert r.title == "Amélie" and r.notes == ()
    latin = utf8.decode("utf-8").encode("latin-1")  # no meta: the HTTP header says which
    assert parse_title_page(latin, "tt0100001", content_type="text/html; charset=ISO-8859-1").title == "Amélie"
    assert parse_title_page(utf8, "tt0100001", content_type="text/html").title == "Amélie"  # none declared: UTF-8
    for bom, enc in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"), (b"\xef\xbb\xbf", "utf-8")):
        assert parse_title_page(bom + utf8.decode("utf-8").encode(enc), "tt0100001").title == "Amélie"


def test_utf16_without_bom_and_gzip_pages_say_what_they_are():
    import gzip

    import pytest

    from mmimdb2.builder.sources import SourceError, parse_title_page

    page = title_page("tt0100001", "T", 2001, ["Comedy"], "P.", ("nm0000001", "D"), [], "https://i/p.jpg")
    with pytest.raises(SourceError, match=r"gzip-compressed \(it starts with 1f 8b\), not HTML; gunzip it") as e:
        parse_title_page(gzip.compress(page), "tt0100001")
    assert "truncated" not in str(e.value)
    with pytest.raises(SourceError, match="UTF-16 text without a byte-order mark") as e:
        parse_title_page(page.decode().encode("utf-16-le"), "tt0100001")
    assert "truncated" not in str(e.value)


def test_imdb_html_uses_the_http_charset_and_records_the_warning(world, tmp_path):
    from test_build_helpers import Resp

    world.web.routes["/imdb/title/tt0100001/"] = Resp(200, amelie(world).decode().encode("latin-1"), {"Content-Type": "text/html; charset=iso-8859-1"})
    world.web.routes["/imdb/title/tt0100002/"] = Resp(200, amelie(world, "tt0100002").replace(b"<h1>", b"<h1>\xfe"), {"Content-Type": "text/html"})
    out = tmp_path / "out"
    run(world, out, sources=("imdb-html",))
    for tt in ("tt0100001", "tt0100002"):
        assert json.loads((out / f"dataset/{tt}.json").read_text(encoding="utf-8"))["title"] == "Amélie"
    rows = [r for r in failures(out) if r["stage"] == "charset"]
    assert [r["id"] for r in rows] == ["tt0100002"] and not rows[0]["fatal"] and rows[0]["source"] == "imdb-html"


# --------------------------------------------------------------------------- case 4: the page must prove its title


def _strip_ids(page: bytes) -> bytes:
    """The page with every place that names its title id removed (ids in URLs and __NEXT_DATA__)."""
    import re

    page = re.sub(rb'"url": "https://www\.imdb\.com/title/tt\d+/", ', b"", page)
    return page.replace(b'"tconst": "tt0100001", ', b"").replace(b'"id": "tt0100001", ', b"")


def test_a_page_that_does_not_name_its_title_is_refused():
    import pytest

    from mmimdb2.builder.sources import SourceError, parse_title_page

    page = title_page("tt0100001", "Other Movie", 2001, ["Comedy"], "P.", ("nm0000001", "D"), [], "https://i/p.jpg")
    bare = _strip_ids(page)
    assert b"tt0100001" not in bare
    ld_only = bare[: bare.index(b'<script id="__NEXT_DATA__"')] + b"</body></html>"
    for p in (bare, ld_only):
        with pytest.raises(SourceError, match="the page does not say which title it is .*; not built as tt0100099") as e:
            parse_title_page(p, "tt0100099")
        assert "\n" not in str(e.value)
    # another title's id in the JSON-LD url alone (no __NEXT_DATA__ id) is enough to refuse it
    ld_other = page[: page.index(b'<script id="__NEXT_DATA__"')] + b"</body></html>"
    with pytest.raises(SourceError, match="the page is for tt0100001, not tt0100099"):
        parse_title_page(ld_other, "tt0100099")
    # one proof is enough: a canonical link or og:url naming the asked id
    for tag in (b'<link rel="canonical" href="https://www.imdb.com/title/tt0100099/"/>', b'<meta property="og:url" content="https://www.imdb.com/title/tt0100099/?ref_=x"/>'):
        assert parse_title_page(bare.replace(b"<head>", b"<head>" + tag), "tt0100099").title == "Other Movie"
    # two titles named: refused, naming both
    two = page.replace(b"<head>", b'<head><link rel="canonical" href="https://www.imdb.com/title/tt0100099/"/>')
    with pytest.raises(SourceError, match="the page names more than one title: tt0100001 .*tt0100099"):
        parse_title_page(two, "tt0100099")


def test_an_archive_page_of_another_movie_is_a_one_line_failure(world, tmp_path):
    other = page_of(world, "tt0100003")
    ld_only = other[: other.index(b'<script id="__NEXT_DATA__"')] + b"</body></html>"
    arch = archive_with(world, tmp_path / "arch", {"tt0100001.html": _strip_ids(page_of(world, "tt0100001")), "tt0100002.html": ld_only})
    out = tmp_path / "out"
    res, _ = run(world, out, sources=("archive",), archive=arch)
    assert res.built == 0
    why = {r["id"]: r["reason"] for r in failures(out) if r["source"] == "archive"}
    assert why["tt0100001"].startswith("the page does not say which title it is")
    assert why["tt0100002"] == "the page is for tt0100003, not tt0100002"


# --------------------------------------------------------------------------- case 5: a truncated page is not cached


def test_a_truncated_page_served_with_200_is_fetched_again_next_run(world, tmp_path):
    from test_build_helpers import Resp

    good = page_of(world, "tt0100001")
    key = "/imdb/title/tt0100001/"
    world.web.routes[key] = [Resp(200, good[: len(good) // 2], {"Content-Type": "text/html"}), Resp(200, good, {"Content-Type": "text/html"})]
    out = tmp_path / "out"
    run(world, out, sources=("imdb-html",))
    assert any("truncated page" in r["reason"] for r in failures(out) if r["id"] == "tt0100001")
    res, _ = run(world, out, sources=("imdb-html",))
    assert world.web.hits(key) == 2 and (out / "dataset/tt0100001.json").is_file()
    assert res.complete and not [r for r in failures(out) if r["id"] == "tt0100001"]
    run(world, out, sources=("imdb-html",))  # the good page is cached as before
    assert world.web.hits(key) == 2


# --------------------------------------------------------------------------- case 6: every input read has a size bound


def test_an_http_body_is_capped_after_decompression(web, tmp_path):
    import gzip

    import pytest
    from test_build_helpers import FAST_RETRY, Resp

    from mmimdb2.builder.http import HostRateLimiter, HttpError, PoliteSession, ResponseCache

    bomb = gzip.compress(b"\0" * (8 << 20))  # 8 MiB of zeros in ~8 KB
    web.routes["/bomb"] = Resp(200, bomb, {"Content-Type": "application/json", "Content-Encoding": "gzip"})
    web.routes["/big"] = Resp(200, b"x" * (2 << 20), {"Content-Type": "text/html"})
    web.routes["/ok"] = Resp(200, b"y" * (1 << 19), {"Content-Type": "text/html"})
    s = PoliteSession(HostRateLimiter(1000.0), ResponseCache(tmp_path / "cache"), FAST_RETRY, max_body=1 << 20)
    for path in ("/bomb", "/big"):
        with pytest.raises(HttpError, match=r"answer over 1,048,576 bytes \(after decompression\); refused") as e:
            s.get(web.url + path)
        assert "\n" not in str(e.value) and web.hits(path) == 1  # not retried
    assert not list((tmp_path / "cache").rglob("*.bin"))  # nothing cached
    assert len(s.get(web.url + "/ok").content) == 1 << 19


def test_a_tsv_line_over_the_limit_exits_2_naming_the_file(world, tmp_path, monkeypatch, capsys):
    from test_build_tsv_checks import cli_build, one_error_line, rewrite

    rewrite(world.tsv_dir / "title.basics.tsv.gz", lambda h, rows: (h, [rows[0], [*rows[1][:2], "x" * (2 << 20), *rows[1][3:]], *rows[2:]]))
    assert cli_build(world, tmp_path / "out", monkeypatch) == 2
    line = one_error_line(capsys)
    assert "title.basics.tsv.gz: line 3 is longer than 1,048,576 characters; not an IMDb TSV (damaged?)" in line


def test_archive_files_are_read_with_a_bound(world, tmp_path):
    big = json.dumps({"title": "T", "genres": ["Drama"], "plot": "p" * (17 << 20)})
    arch = archive_with(world, tmp_path / "arch", {"tt0100001.json": big})
    out = tmp_path / "out"
    run(world, out, sources=("archive",), archive=arch)
    why = [r["reason"] for r in failures(out) if r["id"] == "tt0100001" and r["source"] == "archive"]
    assert why and why[0].startswith("tt0100001.json: ") and "over the 16,777,216-byte limit" in why[0]


def _png(path: Path, size: tuple[int, int], mode: str = "RGB") -> Path:
    from PIL import Image

    Image.new(mode, size).save(path, format="PNG")
    return path


def test_a_poster_of_absurd_shape_is_refused_before_it_is_decoded(tmp_path):
    import pytest

    from benchmarks.encoders import get_encoder
    from mmimdb2.builder.validate import Invalid, clean_poster
    from mmimdb2.images import PosterError, open_poster
    from mmimdb2.layouts import check_poster
    from mmimdb2.schema import Movie
    from mmimdb2.torch_dataset import MoviePartDataset

    strip = _png(tmp_path / "strip.png", (65000, 1))
    assert strip.stat().st_size < 1000
    assert check_poster(strip) == "poster is 65000x1, an aspect ratio over 20:1 (not a poster)"
    with pytest.raises(PosterError, match=r"strip\.png: poster is 65000x1, an aspect ratio over 20:1"):
        open_poster(strip)
    with pytest.raises(Invalid, match="65000x1"):
        clean_poster(strip.read_bytes())
    ok = _png(tmp_path / "ok.png", (60, 90))
    _, has = get_encoder("weightfree").encode_images([strip, ok], batch_size=2, num_workers=0)
    assert has.tolist() == [False, True]
    with pytest.warns(UserWarning, match="aspect ratio over 20:1"):
        item = MoviePartDataset([Movie("tt0100001", raw_genres=("Drama",), poster=strip)])[0]
    assert item["has_image"] is False and item["image"].size == (224, 224)


# --------------------------------------------------------------------------- case 13: 16-bit posters


def test_16_bit_grayscale_posters_are_scaled_not_clipped(tmp_path):
    import io

    import numpy as np
    from PIL import Image

    from mmimdb2.builder.validate import clean_poster
    from mmimdb2.images import open_poster

    ramp = (np.arange(64 * 96, dtype=np.uint32).reshape(96, 64) * 65535 // (64 * 96 - 1)).astype(np.uint16)
    path = tmp_path / "p16.png"
    Image.fromarray(ramp).save(path, format="PNG")
    assert Image.open(path).mode == "I;16"
    rgb = np.asarray(open_poster(path))
    assert rgb.shape == (96, 64, 3) and (rgb == 255).mean() < 0.01 and abs(rgb.mean() - 127.5) < 2
    built = np.asarray(Image.open(io.BytesIO(clean_poster(path.read_bytes()))))
    assert (built >= 250).mean() < 0.05 and abs(built.mean() - 127.5) < 4
    Image.fromarray(ramp.astype(np.int32)).save(tmp_path / "p32.tiff")  # mode I with 16-bit values
    assert abs(np.asarray(open_poster(tmp_path / "p32.tiff")).mean() - 127.5) < 2


# --------------------------------------------------------------------------- case 7: oversized fields


def test_oversized_fields_are_refused_at_build_time_with_a_reason(world, tmp_path):
    from mmimdb2.builder.validate import MAX_NAME_CHARS, MAX_PLOT_CHARS, MAX_TITLE_CHARS

    assert (MAX_TITLE_CHARS, MAX_PLOT_CHARS, MAX_NAME_CHARS) == (1_000, 20_000, 300)
    huge_title = {"title": "T" * 5000, "genres": ["Drama"], "plot": "A plot."}
    huge_plot = {"title": "Fine", "genres": ["Drama"], "plot": ["p" * 30_000, "A short plot."], "cast": ["N" * 400, "Ok Name"]}
    arch = archive_with(world, tmp_path / "arch", {"tt0100001.json": json.dumps(huge_title), "tt0100002.json": json.dumps(huge_plot)})
    out = tmp_path / "out"
    res, _ = run(world, out, sources=("archive",), archive=arch)
    rows = {(r["id"], r["stage"]): r for r in failures(out)}
    assert rows[("tt0100001", "title")]["reason"] == "title is 5,000 characters, over the 1,000 limit; left out"
    assert rows[("tt0100001", "missing")]["fatal"] and not (out / "dataset/tt0100001.json").exists()
    two = json.loads((out / "dataset/tt0100002.json").read_text())
    assert two["plots"] == ["A short plot."] and two["cast"] == [{"name": "Ok Name"}]
    assert rows[("tt0100002", "plot")]["reason"] == "plot is 30,000 characters, over the 20,000 limit; left out"
    assert rows[("tt0100002", "people")]["reason"] == "cast name is 400 characters, over the 300 limit; left out"


def test_the_loader_names_the_file_and_reason_when_a_part_is_left_empty(tmp_path, capsys):
    import pytest

    from mmimdb2 import SplitError, load, stats
    from mmimdb2.splits import Split, write_split_dir

    root = tmp_path / "ds"
    (root / "dataset").mkdir(parents=True)
    for tt in ("tt0100001", "tt0100002"):
        (root / "dataset" / f"{tt}.json").write_text(json.dumps({"title": "x", "genres": ["Drama"], "plot": "p"}))
    (root / "dataset/tt0100003.json").write_text(json.dumps({"title": "x" * (17 << 20), "genres": ["Drama"]}))
    write_split_dir(Split("s", {"train": ("tt0100001",), "dev": ("tt0100002",), "test": ("tt0100003",)}), root / "split")
    with pytest.raises(SplitError) as e:
        load(root)
    msg = str(e.value)
    assert "keeps no movie in part 'test'" in msg and "tt0100003.json: json: " in msg and "over the 16,777,216-byte limit" in msg
    assert stats.main([str(root)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "tt0100003.json" in err


# --------------------------------------------------------------------------- case 8: numbers are ASCII digits


def test_ascii_int_takes_ascii_digits_only():
    from mmimdb2.text import ascii_int

    assert ascii_int("1990") == 1990 and ascii_int("0") == 0
    for bad in ("19²²", "¹", "١٩٩٠", "-5", " 7", "", "1e3", None, 7, "9" * 5000):
        assert ascii_int(bad) is None, bad


def test_unicode_digits_in_the_tsvs_exit_2_naming_the_file(world, tmp_path, monkeypatch, capsys):
    from test_build_tsv_checks import cli_build, one_error_line, rewrite

    rewrite(world.tsv_dir / "title.basics.tsv.gz", lambda h, rows: (h, [[*r[:5], "19²²", *r[6:]] if r[0] == "tt0100002" else r for r in rows]))
    assert cli_build(world, tmp_path / "out", monkeypatch) == 2
    line = one_error_line(capsys)
    assert "title.basics.tsv.gz: tt0100002 has startYear '19²²', not a number in ASCII digits; the file is damaged" in line
    rewrite(world.tsv_dir / "title.basics.tsv.gz", lambda h, rows: (h, [[*r[:5], "1999", *r[6:]] if r[0] == "tt0100002" else r for r in rows]))
    rewrite(world.tsv_dir / "title.principals.tsv.gz", lambda h, rows: (h, [[r[0], "¹", *r[2:]] if r[0] == "tt0100003" else r for r in rows]))
    assert cli_build(world, tmp_path / "out2", monkeypatch) == 2
    line = one_error_line(capsys)
    assert "title.principals.tsv.gz: tt0100003 has ordering '¹', not a number in ASCII digits; the file is damaged" in line


def test_unicode_digits_from_json_sources_are_not_years(world, tmp_path):
    from test_build_helpers import json_body

    arch = archive_with(world, tmp_path / "arch", {"tt0100001.json": json.dumps({"title": "T", "year": "19²²", "genres": ["Drama"], "plot": "P."})})
    find = world.web.routes["/tmdb/3/find/tt0100002"]
    world.web.routes["/tmdb/3/movie/501"] = json_body({**json.loads(world.web.routes["/tmdb/3/movie/501"].body), "release_date": "19²²-01-01"})
    assert find
    out = tmp_path / "out"
    run(world, out, sources=("archive", "tmdb"), archive=arch)
    one, two = (json.loads((out / f"dataset/{tt}.json").read_text()) for tt in ("tt0100001", "tt0100002"))
    assert one["year"] == world.movies["tt0100001"]["year"] and one["sources"]["plot"] == "archive"  # TMDb's year; the archive's plot
    assert "year" not in two
    assert not [r for r in failures(out) if "ValueError" in r["reason"]]


# --------------------------------------------------------------------------- case 12: odd values


def test_ids_are_checked_whole():
    from mmimdb2.layouts.common import parse_people
    from mmimdb2.schema import is_person_id

    assert is_person_id("nm0000277") and is_person_id("nm10000277")
    for bad in ("nm0000277\n", "nm0000277 ", "../../etc/passwd", "nm١٢٣٤٥٦٧", "nm000027", None):
        assert not is_person_id(bad), bad
    people, _ = parse_people([{"name": "A", "imdb_id": "nm0000277\n"}, {"name": "B", "person_id": "١٢٣٤٥٦٧"}])
    assert [p.imdb_id for p in people] == ["nm0000277", None]  # whitespace around an id is trimmed; other digits are not ids


def test_odd_ids_years_and_title_types_are_refused(world, tmp_path):
    from test_build_tsv_checks import rewrite

    rewrite(world.tsv_dir / "title.crew.tsv.gz", lambda h, rows: (h, [[r[0], r[1] + ",../../etc/passwd", r[2]] if r[0] == "tt0100001" else r for r in rows]))
    rewrite(world.tsv_dir / "title.principals.tsv.gz", lambda h, rows: (h, [r for r in rows if not (r[0] == "tt0100001" and r[3] == "director")]))
    nm_nl = page_of(world, "tt0100002").replace(b'"id": "nm8000001"', b'"id": "nm8000001\\n"')
    episode = page_of(world, "tt0100003").replace(b'"titleType": {"text": "movie", "id": "movie", "isSeries": false, "isEpisode": false}', b'"titleType": "tvEpisode"')
    episode = episode.replace(b'"@type": "Movie"', b'"@type": "TVEpisode"')  # its JSON-LD agrees (issue 30: else a type conflict)
    assert b'"titleType": "tvEpisode"' in episode
    files = {"tt0100001.json": json.dumps({"title": "T", "genres": ["Drama"], "plot": "P."}), "tt0100002.html": nm_nl, "tt0100003.html": episode}
    for tt, year in (("tt0100004", 99999), ("tt0100005", -5), ("tt0100006", 10**400)):
        files[f"{tt}.json"] = json.dumps({"title": "T", "year": year, "genres": ["Drama"], "plot": "P."})
    arch = archive_with(world, tmp_path / "arch", files)
    out = tmp_path / "out"
    run(world, out, sources=("archive", "tsv"), archive=arch)
    rows = failures(out)
    one = json.loads((out / "dataset/tt0100001.json").read_text())
    assert [p.get("imdb_id") for p in one["directors"]] == ["nm9000000"]
    assert any(r["id"] == "tt0100001" and "'../../etc/passwd' is not an IMDb person id" in r["reason"] for r in rows)
    two = json.loads((out / "dataset/tt0100002.json").read_text())  # the TSV's cast wins; the page's odd id never enters
    assert all(p.get("imdb_id") != "nm8000001\n" for p in two["cast"] + two["directors"])
    assert not (out / "dataset/tt0100003.json").exists()
    assert any(r["id"] == "tt0100003" and r["stage"] == "skip" and "'tvEpisode' is not a movie" in r["reason"] for r in rows)
    for tt in ("tt0100004", "tt0100005", "tt0100006"):
        m = json.loads((out / f"dataset/{tt}.json").read_text())
        assert m["year"] == world.movies[tt]["year"], tt  # the TSV's year; the archive's odd one is refused
        assert any(r["id"] == tt and r["stage"] == "year" and "not a year in 1870.." in r["reason"] for r in rows), tt


def test_page_values_are_checked_whatever_their_json_type():
    import pytest

    from mmimdb2.builder.sources import parse_title_page
    from mmimdb2.builder.sources.base import NotAMovie
    from mmimdb2.schema import year_max

    page = title_page("tt0100001", "T", 2001, ["Drama"], "P.", ("nm0000001", "D"), [("nm0000002", "A")], "https://i/p.jpg")
    for tt_json, shown in ((b'"tvEpisode"', "'tvEpisode'"), (b"5", "5"), (b'["movie"]', "['movie']"), (b'{"id": 7}', "7")):
        odd = page.replace(b'{"text": "movie", "id": "movie", "isSeries": false, "isEpisode": false}', tt_json)
        odd = odd.replace(b'"@type": "Movie"', b'"@type": "TVEpisode"') if tt_json == b'"tvEpisode"' else odd  # JSON-LD agreeing
        with pytest.raises(NotAMovie, match=f"titleType {re.escape(shown)} is not a movie"):
            parse_title_page(odd, "tt0100001")
    r = parse_title_page(page.replace(b'"year": 2001', b'"year": 99999').replace(b'"id": "nm0000002"', b'"id": "nm0000002\\n"'), "tt0100001")
    assert r.year is None and r.cast[0].imdb_id is None
    assert ("year", f"year 99999 is not a year in 1870..{year_max()}; left out") in r.notes


def test_the_loader_keeps_odd_years_out(tmp_path):
    from mmimdb2 import load
    from mmimdb2.splits import Split, write_split_dir

    root = tmp_path / "ds"
    (root / "dataset").mkdir(parents=True)
    years = {"tt0100001": 99999, "tt0100002": -5, "tt0100003": "19²²", "tt0100004": "١٩٩٠", "tt0100005": "1990-05-01", "tt0100006": 1869}
    for tt, y in years.items():
        (root / "dataset" / f"{tt}.json").write_text(json.dumps({"title": "x", "year": y, "genres": ["Drama"], "plot": "p"}))
    write_split_dir(Split("s", {"train": tuple(years), "dev": (), "test": ()}), root / "split")
    ds = load(root)
    assert {tt: m.year for tt, m in ds.movies.items()} == {**dict.fromkeys(years), "tt0100005": 1990}
    odd = {s.item for s in ds.skips if s.stage == "year"}
    assert odd == {f"{tt}.json" for tt in years if tt != "tt0100005"}


# --------------------------------------------------------------------------- case 11: duplicate rows, unnamed directors


def test_duplicate_tsv_rows_are_reported_and_the_first_is_used(world, tmp_path):
    from test_build_tsv_checks import rewrite

    def dup(key: str, change):
        return lambda h, rows: (h, [r for row in rows for r in ([row, change(row)] if row[0] == key else [row])])

    rewrite(world.tsv_dir / "title.basics.tsv.gz", dup("tt0100001", lambda r: [r[0], r[1], "Second Title", *r[3:]]))
    rewrite(world.tsv_dir / "title.crew.tsv.gz", dup("tt0100002", lambda r: [r[0], "nm9000005", r[2]]))
    rewrite(world.tsv_dir / "name.basics.tsv.gz", dup("nm9000000", lambda r: [r[0], "Another Name", *r[2:]]))
    arch = archive_with(world, tmp_path / "arch", {f"{tt}.json": json.dumps({"genres": ["Drama"], "plot": "P."}) for tt in world.ids[:7]})
    out = tmp_path / "out"
    res, logs = run(world, out, sources=("archive", "tsv"), archive=arch)
    m1, m2 = (json.loads((out / f"dataset/{tt}.json").read_text()) for tt in ("tt0100001", "tt0100002"))
    assert m1["title"] == "Movie 0" and m1["directors"] == [{"name": "Director 0", "imdb_id": "nm9000000"}]
    assert m2["directors"][0]["imdb_id"] == "nm9000001"
    rows = [(r["id"], r["reason"]) for r in failures(out) if r["stage"] == "duplicate"]
    assert ("tt0100001", "title.basics.tsv.gz has 2 rows for tt0100001; the first is used") in rows
    assert ("tt0100002", "title.crew.tsv.gz has 2 rows for tt0100002; the first is used") in rows
    assert ("tt0100007", "name.basics.tsv.gz has 2 rows for nm9000000 (director); the first name is used") in rows  # k % 6 == 0
    assert any(line.startswith("tsv: duplicate rows (the first of each is used; see failures.jsonl): ") and "name.basics.tsv.gz 1" in line for line in logs)


def test_a_director_the_tsvs_cannot_name_does_not_erase_the_archives(world, tmp_path):
    from test_build_tsv_checks import rewrite

    rewrite(world.tsv_dir / "name.basics.tsv.gz", lambda h, rows: (h, [r for r in rows if r[0] != "nm9000001"]))  # tt0100002's director
    authors = {"genres": ["Drama"], "plot": "P.", "director": "Named By Archive"}
    arch = archive_with(world, tmp_path / "arch", {"tt0100002.json": json.dumps(authors)})
    out = tmp_path / "out"
    run(world, out, sources=("archive", "tsv"), archive=arch)
    m = json.loads((out / "dataset/tt0100002.json").read_text())
    assert m["directors"] == [{"name": "Named By Archive"}] and m["director"] == "Named By Archive" and m["sources"]["directors"] == "archive"
    why = [r["reason"] for r in failures(out) if r["id"] == "tt0100002" and r["stage"] == "people"]
    assert "director nm9000001 is not in name.basics" in why
    assert "directors from archive (1 named) instead of tsv (0 of 1 named)" in why


# --------------------------------------------------------------------------- case 14: the original title


def _grave(world) -> bytes:
    page = page_of(world, "tt0100001", title="Grave of the Fireflies")
    return page.replace(b'"originalTitleText": {"text": "Grave of the Fireflies"}', b'"originalTitleText": {"text": "Hotaru no haka"}')


def test_a_page_keeps_both_titles(world):
    from mmimdb2.builder.sources import parse_title_page

    r = parse_title_page(_grave(world), "tt0100001")
    assert r.title == "Grave of the Fireflies" and r.original_title == "Hotaru no haka"
    ld_only = _grave(world)
    ld_only = ld_only[: ld_only.index(b'<script id="__NEXT_DATA__"')] + b"</body></html>"
    ld_only = ld_only.replace(b'"name": "Grave of the Fireflies"', b'"name": "Hotaru no haka", "alternateName": "Grave of the Fireflies"')
    r = parse_title_page(ld_only, "tt0100001")  # JSON-LD: name is the original title, alternateName the English one
    assert r.title == "Grave of the Fireflies" and r.original_title == "Hotaru no haka"


def test_the_original_title_is_built_with_the_tsv_authoritative_and_loaded(world, tmp_path):
    from test_build_tsv_checks import rewrite

    import mmimdb2

    world.web.routes["/imdb/title/tt0100001/"].body = _grave(world)
    out = tmp_path / "pages"
    run(world, out, sources=("imdb-html",))
    m = json.loads((out / "dataset/tt0100001.json").read_text())
    assert (m["title"], m["original_title"], m["sources"]["original_title"]) == ("Grave of the Fireflies", "Hotaru no haka", "imdb-html")
    rewrite(world.tsv_dir / "title.basics.tsv.gz", lambda h, rows: (h, [[r[0], r[1], "Grave of the Fireflies (TSV)", "Hotaru no haka (TSV)", *r[4:]] if r[0] == "tt0100001" else r for r in rows]))
    out = tmp_path / "both"
    run(world, out, sources=("tsv", "imdb-html"))
    m = json.loads((out / "dataset/tt0100001.json").read_text())
    assert (m["title"], m["original_title"]) == ("Grave of the Fireflies (TSV)", "Hotaru no haka (TSV)")
    assert m["sources"]["title"] == m["sources"]["original_title"] == "tsv"
    ds = mmimdb2.load(out)
    assert ds.movies["tt0100001"].original_title == "Hotaru no haka (TSV)" and ds.movies["tt0100001"].title == "Grave of the Fireflies (TSV)"
    old = out / "dataset/tt0100002.json"  # a dataset built before original_title existed still loads
    old.write_text(json.dumps({k: v for k, v in json.loads(old.read_text()).items() if k != "original_title"}))
    assert mmimdb2.load(out).movies["tt0100002"].original_title == ""
