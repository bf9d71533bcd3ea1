"""Poster, plot and genre checks, and the merge rules (first source wins, fatal vs recorded problems)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from mmimdb2.build.merge import assemble
from mmimdb2.build.sources.base import Record, Source, SourceError
from mmimdb2.build.validate import Invalid, PosterPolicy, check_genres, clean_plot, clean_poster
from mmimdb2.schema import Person
from test_build_helpers import jpeg


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
    tsv = Fake("tsv", {"tt0000001": Record(title="T", cast=(Person("actor a", "nm0000002"),))}, local=True)
    m = assemble("tt0000001", [arch, tsv]).movie
    assert m["cast"] == [{"name": "Actor  A", "imdb_id": "nm0000002"}] and m["sources"]["cast"] == "archive"
    bad = Fake("api", {"tt0000002": Record(title="T", genres=("News",), plots=("N/A",), poster_bytes=b"junk")})
    res = assemble("tt0000002", [bad])
    assert not res.ok
    got = {(p.stage, p.fatal) for p in res.problems}
    assert {("genres", False), ("plot", False), ("poster", False), ("missing", True)} <= got
    assert sorted(p.reason for p in res.problems if p.fatal) == ["no source gave a valid plot", "no source gave a valid poster", "no source gave one of the 23 genres"]
