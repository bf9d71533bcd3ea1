"""The end-of-build coverage per field, its loud failure at 0%, and re-merging when a source is added."""

from __future__ import annotations

import json
import re
from pathlib import Path

from test_build_helpers import jpeg, title_page, web, world  # noqa: F401
from test_build_pipeline import run

from mmimdb2.builder import cli
from mmimdb2.builder.coverage import coverage, empty_fields


def saved_pages(world, folder: Path, *, people: bool = True) -> Path:
    """Saved title pages with a poster beside each; ``people=False`` drops principalCreditsV2 (a layout change)."""
    folder.mkdir(parents=True)
    for k, tt in enumerate(world.ids):
        m = world.movies[tt]
        page = title_page(tt, m["title"], m["year"], m["genres"], m["plot"], m["director"], m["cast"], "https://img.invalid/p.jpg")
        if not people:
            page = re.sub(rb'"principalCreditsV2": \[.*?\]\}\]', b'"principalCreditsV2": []', page)
        (folder / f"{tt}.html").write_bytes(page)
        (folder / f"{tt}.jpg").write_bytes(jpeg(k + 400))
    return folder


def test_coverage_counts_fields_and_names_empty_ones():
    movies = [{"directors": [{"name": "D", "imdb_id": "nm0000001"}], "cast": [], "plot": "P", "sources": {"poster": "x"}},
              {"directors": [{"name": "E"}], "cast": [{"name": "A"}], "plot": "Q", "sources": {"poster": "x"}}]  # fmt: skip
    cov = coverage(movies)
    assert cov == {"directors": (2, 2), "cast": (1, 2), "plot": (2, 2), "poster": (2, 2), "nm ids": (1, 3)}
    assert empty_fields({**cov, "cast": (0, 2)}, {"tsv": {"cast", "nm ids"}, "tmdb": {"plot"}}, built=2) == {"cast": ["tsv"]}
    assert empty_fields({**cov, "cast": (0, 2)}, {"tsv": {"cast"}}, built=0) == {}


def test_summary_prints_coverage_of_each_field(world, tmp_path):
    res, _ = run(world, tmp_path / "out", sources=("archive", "tsv"), archive=saved_pages(world, tmp_path / "pages"))
    assert res.exit_code == 0 and res.coverage["directors"] == (20, 20) and res.coverage["nm ids"] == (80, 80)
    text = res.summary()
    for f in ("directors", "cast", "plot", "poster", "nm ids"):
        assert re.search(rf"coverage {f} +\d+ of \d+ \(100\.0%\)", text), f
    info = json.loads((tmp_path / "out/BUILD_INFO.json").read_text())
    assert info["coverage"]["directors"] == {"have": 20, "of": 20} and info["empty_fields"] == {}


def test_a_field_at_zero_fails_loudly_naming_it(world, tmp_path, monkeypatch, capsys):
    """Saved pages whose people moved (the 2024 layout change did this to JSON-LD): 'complete' would be a lie."""
    pages = saved_pages(world, tmp_path / "pages", people=False)
    res, logs = run(world, tmp_path / "out", sources=("archive",), archive=pages)
    assert res.built == 20 and not res.complete and res.exit_code == 1  # every id built, but not complete
    meta = json.loads((tmp_path / "out" / "DATASET.json").read_text())
    assert meta["complete"] is False and meta["status"] == res.status and meta["status"].startswith("FAILED: no built movie has directors")
    assert set(res.empty) == {"directors", "cast"} and res.empty["directors"] == ["archive"]
    assert any(line.startswith("error: no built movie has directors, although archive should give it") for line in logs)
    assert "FAILED: no built movie has directors although archive should give it" in res.summary()
    for k, v in world.env.items():
        monkeypatch.setenv(k, v)
    code = cli.main(["--out", str(tmp_path / "out2"), "--manifest", str(world.manifest), "--sources", "archive", "--archive", str(pages), "--no-progress"])
    assert code == 1 and "FAILED: no built movie has directors" in capsys.readouterr().out


def test_adding_a_source_re_merges_finished_movies(world, tmp_path):
    out = tmp_path / "out"
    first, _ = run(world, out, sources=("tsv", "tmdb"))
    assert first.complete and json.loads((out / "dataset/tt0100001.json").read_text())["sources"]["plot"] == "tmdb"
    again, _ = run(world, out, sources=("tsv", "tmdb"))
    assert again.this_run == 0  # nothing new: finished movies are not redone
    tmdb_poster = (out / "dataset/tt0100001.jpg").read_bytes()
    pages = saved_pages(world, tmp_path / "pages")
    added, logs = run(world, out, sources=("tsv", "tmdb", "archive"), archive=pages)
    assert added.complete and added.this_run == 20 and any("re-merging 20 built movie(s)" in line for line in logs)
    d = json.loads((out / "dataset/tt0100001.json").read_text())
    assert d["sources"]["plot"] == "archive" and d["sources"]["poster"] == "archive" and d["sources"]["cast"] == "tsv"
    assert (out / "dataset/tt0100001.jpg").read_bytes() != tmdb_poster
    last, _ = run(world, out, sources=("tsv", "tmdb", "archive"), archive=pages)
    assert last.this_run == 0
