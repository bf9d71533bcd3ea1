"""Poster, plot and genre checks, and the merge rules (first source wins, fatal vs recorded problems)."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from test_build_helpers import jpeg

from mmimdb2.builder.merge import assemble
from mmimdb2.builder.sources.base import Record, Source, SourceError
from mmimdb2.builder.validate import Invalid, PosterPolicy, check_genres, clean_plot, clean_poster
from mmimdb2.schema import Person


def test_poster_is_reencoded_deterministically_as_rgb_jpeg():
    png = jpeg(3, fmt="PNG")
    a, b = clean_poster(png), clean_poster(png)
    assert a == b and a[:2] == b"\xff\xd8"
    img = Image.open(io.BytesIO(a))
    assert img.format == "JPEG" and img.mode == "RGB" and img.size == (60, 90)
    big = clean_poster(jpeg(1, size=(1500, 2000)))
    assert Image.open(io.BytesIO(big)).size == (768, 1024)
    rgba = io.BytesIO()
    Image.new("RGBA", (40, 60), (1, 2, 3, 4)).save(rgba, "PNG")
    assert Image.open(io.BytesIO(clean_poster(rgba.getvalue()))).mode == "RGB"


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "empty"),
        (b"<html>not an image</html>", "not an image"),
        (jpeg(2)[:300], "truncated|does not decode|cannot be opened"),
        (jpeg(2, size=(20, 90)), "smaller than 32"),
        (jpeg(2, size=(40, 400)), "aspect"),
    ],
    ids=["empty", "html", "truncated", "tiny", "strip"],
)
def test_bad_posters_are_refused_with_a_reason(data, why):
    with pytest.raises(Invalid, match=why):
        clean_poster(data)


def test_pixel_limit_is_checked_before_decoding():
    bomb = io.BytesIO()
    Image.new("L", (400, 400)).save(bomb, "PNG")  # compresses to almost nothing
    with pytest.raises(Invalid, match="decompression bomb"):
        clean_poster(bomb.getvalue(), PosterPolicy(max_pixels=100_000))
    assert clean_poster(bomb.getvalue(), PosterPolicy(max_pixels=160_000))


def test_plots_and_genres():
    assert clean_plot("  A  story\n of two. ") == "A story of two."
    for bad in ("", "   ", "N/A", "Add a Plot »", "We don't have an overview translated in English. Help us expand our database by adding one."):
        with pytest.raises(Invalid):
            clean_plot(bad)
    with pytest.raises(Invalid, match="not text"):
        clean_plot(None)
    assert check_genres(("Science Fiction", "News", "drama")) == ("Drama", "Sci-Fi")
    with pytest.raises(Invalid, match="none of the genres"):
        check_genres(("News", "Talk-Show"))


class Fake(Source):
    """A source answering from a dict, counting its calls."""

    def __init__(self, name, records, local=False):
        self.name, self.local, self.records, self.calls = name, local, records, 0
        self._stopped, self.ctx = None, None

    def fetch(self, imdb_id):
        self.calls += 1
        r = self.records.get(imdb_id)
        if r is None:
            raise SourceError("fetch", "not found")
        return r


def test_merge_takes_each_field_from_the_first_source_and_skips_needless_requests():
    tsv = Fake("tsv", {"tt0000001": Record(title="T", year=2001, genres=("News", "Drama"), directors=(Person("D", "nm0000001"),), cast=(Person("Actor A", "nm0000002"),))}, local=True)
    api = Fake("api", {"tt0000001": Record(title="Other", genres=("Comedy",), plots=("Short.", "A longer plot."), cast=(Person("actor a"), Person("B")), poster_bytes=jpeg(1))})
    late = Fake("late", {"tt0000001": Record(plots=("never asked",))})
    res = assemble("tt0000001", [tsv, api, late])
    m = res.movie
    assert m["title"] == "T" and m["genres"] == ["News", "Drama"] and m["plot"] == "A longer plot." and m["plots"] == ["Short.", "A longer plot."]
    assert m["sources"] == {"cast": "tsv", "directors": "tsv", "genres": "tsv", "plot": "api", "poster": "api", "title": "tsv", "year": "tsv"}
    assert m["director"] == "D" and late.calls == 0 and res.problems == []


def test_merge_enriches_names_with_ids_and_reports_fatal_gaps():
    arch = Fake("archive", {"tt0000001": Record(plots=("P",), genres=("Drama",), cast=(Person("Actor  A"),), poster_bytes=jpeg(1))}, local=True)
    pages = Fake("pages", {"tt0000001": Record(title="T", directors=(Person("actor a", "nm0000002"),))}, local=True)
    m = assemble("tt0000001", [arch, pages]).movie
    assert m["cast"] == [{"name": "Actor  A", "imdb_id": "nm0000002"}] and m["sources"]["cast"] == "archive"
    bad = Fake("api", {"tt0000002": Record(title="T", genres=("News",), plots=("N/A",), poster_bytes=b"junk")})
    res = assemble("tt0000002", [bad])
    assert not res.ok
    got = {(p.stage, p.fatal) for p in res.problems}
    assert {("genres", False), ("plot", False), ("poster", False), ("missing", True)} <= got
    assert sorted(p.reason for p in res.problems if p.fatal) == ["no source gave a valid plot", "no source gave a valid poster", "no source gave one of the 23 genres"]


def test_merge_precedence_is_per_field_not_the_order_of_sources():
    """TSV wins year, genres, all directors and the cast order; archive then pages win plot and poster."""
    tsv = Fake("tsv", {"tt0000001": Record(title="T", year=1982, genres=("Drama", "History"),
                                            directors=(Person("D1", "nm0000001"), Person("D2", "nm0000003")),
                                            cast=(Person("B", "nm0000005"), Person("A", "nm0000004")))}, local=True)  # fmt: skip
    page = Fake("imdb-html", {"tt0000001": Record(title="T", year=1983, genres=("Comedy",), plots=("Page plot, longer than the other.",),
                                                  directors=(Person("D1", "nm0000001"),), cast=(Person("A", "nm0000004"), Person("B", "nm0000005")),
                                                  poster_bytes=jpeg(2))}, local=True)  # fmt: skip
    arch = Fake("archive", {"tt0000001": Record(year=1990, genres=("Action",), plots=("Archive plot.",), cast=(Person("A"),), poster_bytes=jpeg(3))}, local=True)
    api = Fake("api", {"tt0000001": Record(plots=("The API's plot, the longest one of them all.",))})
    m = assemble("tt0000001", [api, page, arch, tsv]).movie
    assert m["year"] == 1982 and m["genres"] == ["Drama", "History"]
    assert [d["imdb_id"] for d in m["directors"]] == ["nm0000001", "nm0000003"] and [c["name"] for c in m["cast"]] == ["B", "A"]
    assert m["plot"] == "Archive plot." and m["plots"] == ["Archive plot.", "Page plot, longer than the other.", "The API's plot, the longest one of them all."]
    assert m["sources"] == {"cast": "tsv", "directors": "tsv", "genres": "tsv", "plot": "archive", "poster": "archive", "title": "tsv", "year": "tsv"}
    assert api.calls == 1  # listed first and nothing known yet: asked, as before
    without_archive = assemble("tt0000001", [tsv, page]).movie
    assert without_archive["sources"]["plot"] == "imdb-html" and without_archive["sources"]["poster"] == "imdb-html"


def test_merge_refuses_a_non_movie_and_names_people_missing_from_name_basics():
    from mmimdb2.builder.sources.base import NotAMovie

    class Episode(Fake):
        def fetch(self, imdb_id):
            raise NotAMovie("tvEpisode")

    res = assemble("tt0000001", [Episode("tsv", {}, local=True), Fake("api", {"tt0000001": Record(title="T")})])
    assert not res.ok and "tvEpisode" in res.skipped
    assert [(p.stage, p.fatal) for p in res.problems] == [("skip", True)] and "not a movie" in res.problems[0].reason
    tsv = Fake("tsv", {"tt0000002": Record(title="T", genres=("Drama",), directors=(Person("", "nm0000007"), Person("", "nm0000008")),
                                           notes=(("people", "director nm0000007 is not in name.basics"), ("people", "director nm0000008 is not in name.basics")))},
               local=True)  # fmt: skip
    page = Fake("imdb-html", {"tt0000002": Record(plots=("P",), directors=(Person("Named Here", "nm0000007"),), poster_bytes=jpeg(4))}, local=True)
    res = assemble("tt0000002", [tsv, page])
    assert res.movie["directors"] == [{"name": "Named Here", "imdb_id": "nm0000007"}]
    reasons = [p.reason for p in res.problems]
    assert "director nm0000007 is not in name.basics" in reasons and "director nm0000008 has no name in any source; left out" in reasons
