"""Bad input to the builder (issue 21): each bad value is a one-line reason or a recorded skip in
failures.jsonl, never a traceback that stops the build and never a silent drop."""

from __future__ import annotations

import json
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
    return title_page(tt, m["title"], m["year"], m["genres"], m["plot"], m["director"], m["cast"], "https://img.invalid/p.jpg")


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
