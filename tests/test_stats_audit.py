"""``python -m mmimdb2.stats`` and ``python -m mmimdb2.audit`` on folders written here and on the
packaged IDKG split lists (which need no data)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from mmimdb2 import audit, stats
from mmimdb2.splits import Split, ids_sha256, packaged_split, write_split_dir

MM = packaged_split("mmimdb-idkg")
M2 = packaged_split("mmimdb2-idkg")
# tt ids that are in both MM-IMDb and MM-IMDb 2.0: a..g
A, B, C, D, E, F, G = sorted(set(MM.all_ids) & set(M2.all_ids))[:7]


def _poster(path: Path) -> None:
    Image.new("RGB", (4, 6), (10, 200, 10)).save(path, "JPEG")


@pytest.fixture
def mm_dir(tmp_path: Path) -> Path:
    """MM-IMDb archive layout: bare ids, IMDbPY-style JSON, split.json (train a,b; dev c; test d)."""
    root = tmp_path / "mm"
    (root / "dataset").mkdir(parents=True)
    for i in (A, B, C, D):
        obj = {"title": i, "genres": ["Drama"], "plot": ["x y::who"], "director": [{"name": "D"}], "cast": []}
        (root / "dataset" / f"{i[2:]}.json").write_text(json.dumps(obj))
        _poster(root / "dataset" / f"{i[2:]}.jpeg")
    (root / "split.json").write_text(json.dumps({"train": [A[2:], B[2:]], "dev": [C[2:]], "test": [D[2:]]}))
    return root


@pytest.fixture
def m2_dir(tmp_path: Path) -> Path:
    """MM-IMDb 2.0 built layout with hand-countable statistics (split: train d,e; dev f; test a,g)."""
    root = tmp_path / "m2"
    d = root / "dataset"
    d.mkdir(parents=True)
    rows = {
        D: (["Drama", "Comedy"], "one two three", ["P1", "P2", "P3"], ["Dir1"]),
        E: (["Drama", "News"], "one two three four five", ["P1"], ["Dir1", "Dir2"]),
        F: (["Horror"], "one", [], ["Dir3"]),
        A: (["Comedy", "Romance"], "one two", ["P4", "P5"], []),
        G: (["Drama"], "a b c d e f g", ["P1", "P6"], ["Dir1"]),
    }
    for i, (genres, plot, cast, directors) in rows.items():
        obj = {"imdb_id": i, "title": i, "genres": genres, "plot": plot, "cast": cast, "directors": directors}
        (d / f"{i}.json").write_text(json.dumps(obj))
        if i != G:
            _poster(d / f"{i}.jpg")
    (d / "tt0000000x.json").write_text("{}")  # not an id: one 'file' skip
    (root / "DATASET.json").write_text(json.dumps({"name": "m2test"}))
    write_split_dir(Split("s", {"train": (D, E), "dev": (F,), "test": (A, G)}), root / "split")
    return root


def test_stats_json_matches_hand_counts(m2_dir: Path, capsys):
    assert stats.main([str(m2_dir), "--json"]) == 0
    st = json.loads(capsys.readouterr().out)
    assert st["dataset"] == "m2test" and st["layout"] == "mmimdb2"
    gc = st["genre_counts"]
    assert gc["Drama"] == {"train": 2, "dev": 0, "test": 1, "total": 3}
    assert gc["Comedy"] == {"train": 1, "dev": 0, "test": 1, "total": 2}
    assert gc["Horror"] == {"train": 0, "dev": 1, "test": 0, "total": 1}
    assert gc["Western"]["total"] == 0
    parts = st["parts"]
    assert parts["train"]["plot_words"] == {"mean": 4.0, "median": 4.0}
    assert parts["test"]["plot_words"] == {"mean": 4.5, "median": 4.5}
    assert parts["total"]["cast_size"] == {"mean": 1.6, "median": 2.0}  # 3,1,0,2,2
    assert parts["total"]["directors"]["mean"] == 1.0  # 1,2,1,0,1
    assert parts["test"]["poster_coverage"] == 0.5 and parts["total"]["poster_coverage"] == 0.8
    assert parts["train"]["with_unknown_genres"] == 1 and st["unknown_raw_genres"] == {"News": 1}
    assert st["skips_by_stage"] == {"file": 1, "unknown-genre": 1, "poster": 1}
    assert st["split_sha256"]["test"] == ids_sha256([A, G])
    assert st["paper_reference"]["Drama"] == 4773


def test_stats_text_has_table1_shape_reference_and_hashes(mm_dir: Path, capsys):
    assert stats.main([str(mm_dir)]) == 0
    out = capsys.readouterr().out
    assert "paper MM-IMDb" in out and "paper MM-IMDb 2.0" not in out
    drama = next(line for line in out.splitlines() if line.startswith("Drama"))
    assert drama.split() == ["Drama", "2", "1", "1", "4", "4,188"]
    assert ids_sha256([A, B]) in out and "skips by stage: none" in out
    folder = write_split_dir(Split("x", {"train": (A,), "dev": (C,), "test": (D, B)}), mm_dir.parent / "other")
    assert stats.main([str(mm_dir), "--split", str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"split other from {folder}: train 1, dev 1, test 2, total 4" in out
    assert ids_sha256([D, B]) in out


def _exit_code(main, argv) -> int:
    """A CLI's exit code, whether it returns it or argparse raises SystemExit."""
    try:
        return main(argv)
    except SystemExit as e:
        return e.code


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["mmimdb"], "dataset 'mmimdb' not found"),
        (["{mm}", "--split", "bogus"], "unknown split 'bogus'"),
        (["{mm}", "--split", "idkg-alt"], "unknown split 'idkg-alt'"),
        (["--nope"], "unrecognized arguments"),
    ],
)
def test_stats_errors_are_one_line_exit_2(mm_dir: Path, capsys, argv, needle):
    code = _exit_code(stats.main, [a.replace("{mm}", str(mm_dir)) for a in argv])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and needle in err and err.count("\n") == 1


def test_audit_packaged_splits_need_no_data(capsys):
    assert audit.main(["packaged:mmimdb2-idkg", "packaged:mmimdb-idkg", "--json"]) == 1
    r = json.loads(capsys.readouterr().out)
    assert r["shared"] == 11_716  # MM-IMDb and MM-IMDb 2.0, 7-digit ids matched to tt ids
    assert r["matrix"]["train/test"] == 2_108 and {"a": "train", "b": "test", "movies": 2_108} in r["leaks"]
    assert audit.main(["mmimdb2-idkg", "packaged:mmimdb2-idkg-alt"]) == 1
    out = capsys.readouterr().out
    assert "shared movies: 33,742" in out
    assert "LEAK: A train and B test share 6,066 movies" in out  # the alt test list vs canonical train
    assert "LEAK: A test and B train share 6,079 movies" in out
    assert audit.main(["packaged:mmimdb-idkg", "packaged:mmimdb-idkg"]) == 0
    assert "no leak" in capsys.readouterr().out


def test_audit_datasets_across_layouts(mm_dir: Path, m2_dir: Path, capsys):
    assert audit.main([str(mm_dir), str(m2_dir), "--json"]) == 1
    r = json.loads(capsys.readouterr().out)
    assert r["shared"] == 2  # a (A train, B test) and d (A test, B train): bare ids matched to tt
    assert r["matrix"]["train/test"] == 1 and r["matrix"]["test/train"] == 1 and r["matrix"]["dev/dev"] == 0
    assert [(x["a"], x["b"]) for x in r["leaks"]] == [("train", "test"), ("test", "train")]
    # the same dataset under two splits; and a bare split folder as a side
    assert audit.main([str(mm_dir), str(mm_dir), "--split-a", "official", "--split-b", "official"]) == 0
    capsys.readouterr()
    assert audit.main([str(m2_dir / "split"), str(m2_dir)]) == 0
    assert "A: " + str(m2_dir / "split") in capsys.readouterr().out


def test_audit_split_options_reach_the_loader(m2_dir: Path, capsys):
    other = write_split_dir(Split("o", {"train": (D, E, F), "dev": (G,), "test": (A,)}), m2_dir.parent / "other")
    code = audit.main([str(m2_dir), str(m2_dir), "--split-a", str(other), "--json"])
    r = json.loads(capsys.readouterr().out)
    assert r["a"]["label"].startswith(f"{m2_dir} [other") and r["b"]["label"].startswith(f"{m2_dir} [default")
    assert r["shared"] == 5 and r["leaks"] == [{"a": "train", "b": "dev", "movies": 1}] and code == 1
    assert audit.main([str(m2_dir), str(m2_dir), "--split-b", str(other)]) == 1
    assert "LEAK: A dev and B train share 1 movie (" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["packaged:nope", "packaged:mmimdb-idkg"], ["/no/such/dataset", "mmimdb"], ["onlyone"]])
def test_audit_errors_exit_2_one_line(argv, capsys):
    code = _exit_code(audit.main, argv)
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1


def test_clis_run_as_modules():
    run = [sys.executable, "-m", "mmimdb2.audit", "packaged:mmimdb2-idkg", "packaged:mmimdb-idkg"]
    p = subprocess.run(run, capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "shared movies: 11,716" in p.stdout and "LEAK" in p.stdout
    h = subprocess.run([sys.executable, "-m", "mmimdb2.stats", "--help"], capture_output=True, text=True, timeout=60)
    assert h.returncode == 0 and "--split" in h.stdout and "--data-root" in h.stdout


def test_stats_warns_once_about_genres_no_train_movie_has(m2_dir: Path, capsys):
    """Train holds Drama and Comedy only (issue 21, case 13): the 21 other genres cannot be learned."""
    assert stats.main([str(m2_dir)]) == 0
    out = capsys.readouterr().out
    warn = [line for line in out.splitlines() if line.startswith("warning: no train movie has")]
    assert len(warn) == 1 and "Horror" in warn[0] and "Romance" in warn[0] and "Drama" not in warn[0]
    assert "a model learns only 2 of the 23 genres" in warn[0]
    assert stats.main([str(m2_dir), "--json"]) == 0
    st = json.loads(capsys.readouterr().out)
    assert "Horror" in st["genres_without_train_movies"] and "Comedy" not in st["genres_without_train_movies"]
