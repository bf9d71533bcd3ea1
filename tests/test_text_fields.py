"""Text fields through one normaliser (issue 21): lone surrogates, bidi controls and control
characters never reach a built dataset, a loaded movie, the stats report or the datasheet."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from mmimdb2 import load, stats
from mmimdb2.builder.datasheet import render
from mmimdb2.splits import Split, write_split_dir
from mmimdb2.text import clean_field, clean_field_report

T1, T2 = "tt0100811", "tt0110892"


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("Am\ud800lie", "Am\ufffdlie"),  # a lone surrogate
        ("\udfff end", "\ufffd end"),
        ("\ud83d\ude00", "\U0001f600"),  # a pair spelled as two code points is one character
        ("evil\u202eredivider\u202c", "evilredivider"),  # bidi override and pop
        ("a\u2066b\u2069c", "abc"),  # bidi isolates
        ("bell\x07 esc\x1b[31m del\x7f c1\x85", "bell esc[31m del c1"),
        ("tab\tand\nnewline", "tab\tand\nnewline"),
        ("crlf\r\nend\rx", "crlf\nend\nx"),
        ("Ame\u0301lie", "Amélie"),  # NFC
        ("plain", "plain"),
    ],
)
def test_clean_field(raw, want):
    got = clean_field(raw)
    assert got == want and unicodedata.is_normalized("NFC", got)
    got.encode("utf-8")  # never raises


def test_clean_field_report_says_what_changed():
    assert clean_field_report("plain") == ("plain", None)
    assert clean_field_report("Ame\u0301lie") == ("Amélie", None)  # NFC alone is not worth a warning
    text, why = clean_field_report("A\ud800\u202eB\x1b")
    assert text == "A\ufffdB" and why == "1 lone surrogate replaced with U+FFFD, 1 bidi control removed, 1 control character removed"


def _dataset(tmp_path: Path) -> Path:
    root = tmp_path / "ds"
    (root / "dataset").mkdir(parents=True)
    bad = {
        "imdb_id": T1, "title": "Am\ud800lie", "genres": ["Drama", "Hor\x1b[31mror\x07", "Ev\u202eil"],
        "plot": "A plot \ud800 with \u202e bidi", "cast": [{"name": "Na\ud800me", "imdb_id": "nm0000001"}], "director": "Di\x1brector",
    }  # fmt: skip
    (root / "dataset" / f"{T1}.json").write_text(json.dumps(bad))  # escaped: "\ud800" in the JSON text
    (root / "dataset" / f"{T2}.json").write_text(json.dumps({"imdb_id": T2, "title": "Fine", "genres": ["Comedy"], "plot": "ok"}))
    (root / "DATASET.json").write_text(json.dumps({"name": "na\x1bme\x07", "version": "2.0"}))
    write_split_dir(Split("s", {"train": (T1,), "dev": (), "test": (T2,)}), root / "split")
    return root


def test_loaded_movie_fields_are_clean_and_the_change_is_recorded(tmp_path: Path):
    ds = load(_dataset(tmp_path))
    m = ds.movies[T1]
    assert m.title == "Am\ufffdlie" and m.plot == "A plot \ufffd with  bidi"
    assert m.cast[0].name == "Na\ufffdme" and m.directors[0].name == "Director"
    assert m.raw_genres == ("Drama", "Hor[31mror", "Evil")
    ds.fingerprint  # hashing the records encodes them: no UnicodeEncodeError  # noqa: B018
    why = {s.reason for s in ds.skips if s.item == f"{T1}.json" and s.stage == "text"}
    assert any(r.startswith("title: 1 lone surrogate replaced") and r.endswith("kept") for r in why), why


def test_stats_prints_no_raw_control_characters(tmp_path: Path, capsys):
    root = _dataset(tmp_path)
    assert stats.main([str(root)]) == 0
    out = capsys.readouterr().out
    assert not any(c in out for c in "\x1b\x07\u202e\ud800"), [c for c in out if unicodedata.category(c) in ("Cc", "Cf", "Cs") and c != "\n"]
    assert "Hor[31mror" in out and "na\\x1bme\\x07" in out  # the dataset name, escaped


def test_datasheet_carries_no_bidi_override():
    split = Split("s", {"train": (T1,), "dev": (), "test": ()})
    movies = {T1: {"genres": ["Drama", "Ev\u202eil", "Be\x07ll"], "sources": {}}}
    text = render(name="x", version="2.0", date="2025-01-01", target=split, built=split, movies=movies, failed=[], licences={})
    assert "\u202e" not in text and "\x07" not in text and "Evil (1)" in text
