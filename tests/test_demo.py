"""The embedded demo: deterministic, in our MM-IMDb 2.0 layout, realistic and neither trivial nor random."""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmimdb2.demo import DemoError, ensure_demo, generate
from mmimdb2.demo.__main__ import main as demo_main
from mmimdb2.demo.check import difficulty
from mmimdb2.demo.labels import TABLE1_COUNTS
from mmimdb2.demo.writer import DEMO_VERSION
from mmimdb2.genres import GENRES, canonical_genres
from mmimdb2.splits import read_split_dir

N = 1000  # big enough for stable statistics, small enough for a fast test


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("demo") / "demo", n_movies=N, seed=0)


@pytest.fixture(scope="module")
def records(demo) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted((demo / "dataset").glob("*.json"))}


def _file_hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def _labels(rec: dict) -> tuple[str, ...]:
    return canonical_genres(rec["genres"])


# --- determinism -------------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_files_and_another_seed_does_not(tmp_path):
    a = _file_hashes(generate(tmp_path / "a", n_movies=150, seed=7))
    b = _file_hashes(generate(tmp_path / "b", n_movies=150, seed=7))
    c = _file_hashes(generate(tmp_path / "c", n_movies=150, seed=8))
    assert a == b
    assert len(a) == 2 * 150 + 6  # json + jpg per movie, 3 split files + 2 hash files, DATASET.json
    assert set(a) != set(c)  # other ids
    assert a["split/SPLIT_SHA256"] != c["split/SPLIT_SHA256"]


def test_generate_refuses_a_non_empty_folder_and_bad_arguments(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "mine.txt").write_text("keep me")
    with pytest.raises(DemoError, match="not an empty folder"):
        generate(tmp_path / "x", n_movies=50)
    assert (tmp_path / "x" / "mine.txt").read_text() == "keep me"
    with pytest.raises(DemoError, match="n_movies"):
        generate(tmp_path / "y", n_movies=5)
    with pytest.raises(DemoError, match="seed"):
        generate(tmp_path / "y", n_movies=50, seed=-1)


# --- layout ------------------------------------------------------------------------------------


def test_layout_follows_docs_formats(demo, records):
    meta = json.loads((demo / "DATASET.json").read_text())
    assert meta == {"name": "demo", "version": DEMO_VERSION, "created_by": "mmimdb2.demo", "seed": 0, "n_movies": N}
    assert len(records) == N
    for mid, rec in records.items():
        assert re.fullmatch(r"tt9\d{7}", mid) and rec["imdb_id"] == mid
        assert set(rec) - {"director"} == {"imdb_id", "title", "year", "genres", "plot", "plots", "directors", "cast", "sources"}
        assert rec["title"] and 1915 <= rec["year"] <= 2017
        assert rec["plot"] == max(rec["plots"], key=len)
        assert all(30 <= len(p.split()) <= 120 for p in rec["plots"]), mid
        assert rec.get("director") == (rec["directors"][0]["name"] if rec["directors"] else None)
        assert all(re.fullmatch(r"nm9\d{7}", p["imdb_id"]) for p in rec["directors"])
        assert set(rec["sources"].values()) == {"demo"}
        assert (demo / "dataset" / f"{mid}.jpg").is_file()
    with Image.open(demo / "dataset" / f"{mid}.jpg") as im:
        assert im.format == "JPEG" and im.size == (64, 96) and im.mode == "RGB"
    assert sum(len(r["plots"]) == 2 for r in records.values()) > 0.05 * N


def test_people_entries_have_the_documented_variety(records):
    with_people = [r for r in records.values() if r["directors"] or r["cast"]]
    assert 0.9 * N < len(with_people) < N  # some movies have no known people
    assert all(1 <= len(r["directors"]) <= 2 and 2 <= len(r["cast"]) <= 8 for r in with_people)
    cast = [p for r in records.values() for p in r["cast"]]
    name_only = [p for p in cast if "imdb_id" not in p]
    assert 0 < len(name_only) < 0.05 * len(cast)
    ids_by_name: dict[str, set[str]] = {}
    for r in records.values():
        for p in r["directors"] + r["cast"]:
            if "imdb_id" in p:
                ids_by_name.setdefault(p["name"], set()).add(p["imdb_id"])
    assert any(len(ids) > 1 for ids in ids_by_name.values())  # one display name, two people


# --- split -------------------------------------------------------------------------------------


def test_split_is_60_10_30_disjoint_and_hashed(demo, records):
    split = read_split_dir(demo / "split")  # checks SHA256SUMS and disjointness
    assert [len(split[p]) for p in ("train", "dev", "test")] == [600, 100, 300]
    assert set(split.all_ids) == set(records)
    sums = (demo / "split" / "SHA256SUMS").read_text().split()
    assert sums[1::2] == ["train.txt", "dev.txt", "test.txt"]
    assert (demo / "split" / "SPLIT_SHA256").read_text().splitlines()[-1] == f"{split.sha256}  split"


# --- genres ------------------------------------------------------------------------------------


def test_genres_are_long_tailed_multi_label_and_co_occur_realistically(records):
    labels = [_labels(r) for r in records.values()]
    assert all(1 <= len(g) <= 5 for g in labels)  # 1-4 genres, plus at most one label-noise genre
    assert 2.0 < np.mean([len(g) for g in labels]) < 2.6
    counts = Counter(g for gs in labels for g in gs)
    ranked = sorted(GENRES, key=lambda g: -counts[g])
    assert ranked[0] == "Drama" and "Film-Noir" in ranked[-3:]
    assert counts["Drama"] > 15 * counts["Film-Noir"] > 0
    table = np.array([TABLE1_COUNTS[g] for g in GENRES]).argsort().argsort()
    ours = np.array([counts[g] for g in GENRES]).argsort().argsort()
    assert np.corrcoef(table, ours)[0, 1] > 0.85  # rank correlation with the paper's Table 1

    def p(genre, given=None):
        rows = [g for g in labels if given is None or given in g]
        return sum(genre in g for g in rows) / len(rows)

    assert p("Family", "Animation") > 3 * p("Family")
    assert p("Thriller", "Crime") > 1.5 * p("Thriller")
    assert p("Comedy", "Romance") > p("Comedy") and p("Drama", "Romance") > p("Drama")
    raw_extra = Counter(g for r in records.values() for g in r["genres"] if g not in GENRES)
    assert set(raw_extra) <= {"News", "Talk-Show", "Reality-TV", "Adult"} and sum(raw_extra.values()) > 0


# --- people ------------------------------------------------------------------------------------


def _top_genre_share(rows: list[tuple[str, ...]]) -> float:
    """Share of the movies that have the group's most frequent genre."""
    return Counter(g for r in rows for g in r).most_common(1)[0][1] / len(rows)


def test_directors_recur_with_genre_preferences(records):
    movies_of: dict[str, list[tuple[str, ...]]] = {}
    for r in records.values():
        for d in r["directors"]:
            movies_of.setdefault(d["imdb_id"], []).append(_labels(r))
    regulars = [rows for rows in movies_of.values() if len(rows) >= 5]
    assert len(regulars) >= 20
    everyone = [_labels(r) for r in records.values()]
    rng = np.random.default_rng(0)
    directors = np.mean([_top_genre_share(rows) for rows in regulars])
    chance = np.mean([_top_genre_share([everyone[i] for i in rng.choice(N, len(rows), replace=False)]) for rows in regulars])
    assert directors > chance + 0.15, (directors, chance)  # measured 0.78 vs 0.50 at seed 0


def test_some_test_people_never_occur_in_train(demo, records):
    split = read_split_dir(demo / "split")

    def people(part):
        return {p.get("imdb_id", p["name"]) for i in split[part] for p in records[i]["directors"] + records[i]["cast"]}

    unseen = people("test") - people("train")
    assert 0.05 * len(people("test")) < len(unseen) < 0.8 * len(people("test"))


# --- difficulty --------------------------------------------------------------------------------


def test_each_modality_helps_but_none_solves_it_and_people_add_a_clear_margin(demo):
    s = difficulty(demo)
    assert 0.12 < s["trivial"] < 0.25
    for single in ("text", "image"):
        assert s["trivial"] + 0.08 < s[single] < 0.7, s
    assert s["text+image"] > max(s["text"], s["image"]) + 0.03, s
    assert s["text+image+people"] > s["text+image"] + 0.05, s  # the signal a KG of people carries
    assert s["text+image+people"] < 0.85, s  # and still not trivial


# --- ensure_demo and the CLI -------------------------------------------------------------------


def _ensure(folder: str) -> str:
    return str(ensure_demo(folder, n_movies=60, seed=3))


def test_ensure_demo_is_idempotent_atomic_and_leaves_no_temp(tmp_path):
    folder = tmp_path / "demo"
    assert ensure_demo(folder, n_movies=60, seed=3) == folder
    before = _file_hashes(folder)
    stamp = (folder / "DATASET.json").stat().st_mtime_ns
    assert ensure_demo(folder, n_movies=60, seed=3) == folder
    assert (folder / "DATASET.json").stat().st_mtime_ns == stamp and _file_hashes(folder) == before
    ensure_demo(folder, n_movies=60, seed=4)  # another demo replaces the old one
    assert json.loads((folder / "DATASET.json").read_text())["seed"] == 4
    assert [p.name for p in tmp_path.iterdir()] == ["demo"]


def test_ensure_demo_survives_two_processes_racing(tmp_path):
    folder = str(tmp_path / "demo")
    with mp.get_context("spawn").Pool(2) as pool:
        assert pool.map(_ensure, [folder, folder]) == [folder, folder]
    assert json.loads((tmp_path / "demo" / "DATASET.json").read_text())["seed"] == 3
    assert len(list((tmp_path / "demo" / "dataset").glob("*.json"))) == 60
    assert [p.name for p in tmp_path.iterdir()] == ["demo"]


def test_ensure_demo_leaves_foreign_or_half_written_folders_alone(tmp_path):
    half = tmp_path / "half"
    (half / "dataset").mkdir(parents=True)
    (half / "dataset" / "tt90000001.json").write_text("{}")
    with pytest.raises(DemoError, match="not a complete demo"):
        ensure_demo(half, n_movies=60)
    assert (half / "dataset" / "tt90000001.json").read_text() == "{}"


def test_cli_writes_and_summarises(tmp_path, capsys):
    assert demo_main(["--out", str(tmp_path / "d"), "--limit", "80", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "demo: 80 movies" in out and "train 48, dev 8, test 24" in out
    assert demo_main(["--out", str(tmp_path / "e"), "--n", "3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "n_movies" in err and len(err.strip().splitlines()) == 1


def test_loader_reads_the_demo_without_dropping_anything(demo):
    import mmimdb2

    if not hasattr(mmimdb2, "load"):
        pytest.skip("mmimdb2.load is not available yet")
    ds = mmimdb2.load(demo)
    assert len(ds.movies) == N
    assert [len(ds.split[p]) for p in ("train", "dev", "test")] == [600, 100, 300]
    assert not [s for s in ds.skips if "dropped" in s.reason]
    assert {s.stage for s in ds.skips} <= {"unknown-genre"}  # News, Talk-Show, ... kept as raw strings
    assert {g for m in ds.movies.values() for g in m.raw_genres if g not in GENRES} == {"News", "Talk-Show", "Reality-TV", "Adult"}
    name_only = [p for m in ds.movies.values() for p in m.cast if p.imdb_id is None]
    assert name_only and all(p.key.startswith("name:") for p in name_only)
    m = ds.movies[ds.split["train"][0]]
    assert m.genres and m.plot and m.poster is not None


def test_generator_output_is_pinned_to_its_version():
    """Caches and results name the demo by its version: a changed output needs a new DEMO_VERSION."""
    import hashlib
    import tempfile

    from mmimdb2.demo import generate
    from mmimdb2.demo.writer import DEMO_VERSION

    folder = Path(tempfile.mkdtemp()) / "d"
    generate(folder, n_movies=60, seed=0)
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(folder)).encode() + b"\0" + p.read_bytes())
    pinned = {"2": "d11123a7bb4378ed68c5b788e5dccddd22f2378c387947192f8f1a469ed5974c"}
    assert h.hexdigest() == pinned.get(DEMO_VERSION), (
        "the demo generator's output changed: bump DEMO_VERSION in mmimdb2/demo/writer.py and pin the new hash here"
    )
