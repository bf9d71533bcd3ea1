"""Genre vocabulary, id validation and hashed splits."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from mmimdb2 import GENRES, InvalidId, Movie, Person, Split, SplitError, canonical_genres, multi_hot, normalize_imdb_id
from mmimdb2.splits import ids_sha256, packaged_split, read_split_dir, write_split_dir


def test_genre_order_is_the_23_mmimdb_genres():
    assert len(GENRES) == 23 and len(set(GENRES)) == 23
    assert GENRES[:3] == ("Drama", "Comedy", "Romance") and GENRES[-1] == "Film-Noir"


def test_genres_match_by_name_and_keep_unknown_raw():
    assert canonical_genres(["science fiction", "News", "drama", "Drama", "film noir"]) == ("Drama", "Sci-Fi", "Film-Noir")
    m = Movie("0029442", raw_genres=("Talk-Show", "Comedy"))
    assert m.imdb_id == "tt0029442" and m.genres == ("Comedy",) and m.raw_genres == ("Talk-Show", "Comedy")
    v = multi_hot(["Film-Noir", "Drama"])
    assert v[0] == 1 and v[22] == 1 and v.sum() == 2
    with pytest.raises(ValueError, match="unknown genre"):
        multi_hot(["News"])


@pytest.mark.parametrize("bad", ["../etc/passwd", "tt12", "nm0000001", "tt0000001/../x", "", "tt00000012345"])
def test_bad_ids_are_rejected(bad):
    with pytest.raises(InvalidId):
        normalize_imdb_id(bad)


def test_longest_plot_and_person_key():
    m = Movie("tt0000001", plots=("short", "the longest plot", "mid plot"))
    assert m.plot == "the longest plot"
    assert Person("A  Name").key == "name:a name" and Person("X", "nm0000001").key == "nm0000001"


def test_split_hash_is_order_and_spelling_independent(tmp_path):
    a = Split("a", {"train": ("tt0000002", "tt0000001"), "dev": ("tt0000003",), "test": ("tt0000004",)})
    b = Split("b", {"train": ("tt0000001", "0000002"), "dev": ("tt0000003",), "test": ("tt0000004",)})
    assert a.sha256 == b.sha256
    expected = hashlib.sha256(b"tt0000001\ntt0000002\n").hexdigest()
    assert a.part_sha256("train") == expected == ids_sha256(["tt0000002", "tt0000001"])
    write_split_dir(a, tmp_path / "s")
    back = read_split_dir(tmp_path / "s")
    assert back["train"] == ("tt0000002", "tt0000001") and back.sha256 == a.sha256


def test_overlapping_split_is_refused():
    with pytest.raises(SplitError, match="tt0000001 is in both train and test"):
        Split("x", {"train": ("tt0000001",), "dev": (), "test": ("tt0000001",)})


def test_altered_split_file_is_caught(tmp_path):
    s = Split("a", {"train": ("tt0000001",), "dev": ("tt0000002",), "test": ("tt0000003",)})
    write_split_dir(s, tmp_path / "s")
    (tmp_path / "s" / "test.txt").write_text("tt0000004\n")
    with pytest.raises(SplitError, match="does not match SHA256SUMS"):
        read_split_dir(tmp_path / "s")


def test_packaged_splits_match_the_published_lists():
    s = packaged_split("mmimdb2-idkg")
    assert [len(s[p]) for p in ("train", "dev", "test")] == [20245, 3375, 10122]
    old = packaged_split("mmimdb-idkg")
    assert [len(old[p]) for p in ("train", "dev", "test")] == [15575, 2597, 7787]
    alt = packaged_split("mmimdb2-idkg-alt")
    assert len(set(alt["test"]) & set(s["train"])) == 6066
    assert len(set(s.all_ids) & set(old.all_ids)) > 0
    assert np.isclose(len(set(alt["train"]) & set(s["train"])) / 20245, 0.6, atol=0.02)


def test_a_split_equal_to_a_packaged_one_takes_its_name(tmp_path):
    from mmimdb2.splits import with_packaged_name

    canon = packaged_split("mmimdb2-idkg")
    write_split_dir(Split("whatever", canon.parts), tmp_path / "s")
    assert with_packaged_name(read_split_dir(tmp_path / "s")).name == "mmimdb2-idkg"
    partial = Split("partial", {p: canon[p][:-1] for p in ("train", "dev", "test")})
    assert with_packaged_name(partial).name == "partial"


def test_mmimdb_and_mmimdb2_share_11716_movies():
    a = set(packaged_split("mmimdb2-idkg").all_ids)
    b = set(packaged_split("mmimdb-idkg").all_ids)
    assert len(a & b) == 11716


def test_asdict_of_a_movie_keeps_genres_and_plot():
    import dataclasses

    m = Movie("tt0100811", title="T", raw_genres=("News", "Drama", "Horror"), plots=("short", "the longer plot"),
              directors=(Person("Don Bluth"), Person("Gary Goldman", "nm0326224")))  # fmt: skip
    d = dataclasses.asdict(m)
    assert d["genres"] == ("Drama", "Horror") and d["plot"] == "the longer plot" and d["raw_genres"] == ("News", "Drama", "Horror")
    assert d["directors"][1] == {"name": "Gary Goldman", "imdb_id": "nm0326224"}
    edited = dataclasses.replace(m, plots=("other",), raw_genres=("Western",))  # derived fields follow the edit
    assert (edited.plot, edited.genres) == ("other", ("Western",))
    assert m == Movie("tt0100811", title="T", raw_genres=("News", "Drama", "Horror"), plots=("short", "the longer plot"),
                      directors=(Person("Don Bluth"), Person("Gary Goldman", "nm0326224")))  # fmt: skip
    with pytest.raises(TypeError):
        Movie("tt0100811", genres=("Drama",))  # derived, never given


@pytest.mark.parametrize(
    ("joined", "names"),
    [
        ("Don Bluth, Gary Goldman", ["Don Bluth", "Gary Goldman"]),
        ("Quentin Tarantino, Robert Rodriguez, Frank Miller", ["Quentin Tarantino", "Robert Rodriguez", "Frank Miller"]),
        ("Martin Luther King, Jr.", ["Martin Luther King, Jr."]),
        ("Louis Gossett, Jr., Pete Docter", ["Louis Gossett, Jr.", "Pete Docter"]),
        ("Sammy Davis Jr., Frank Sinatra", ["Sammy Davis Jr.", "Frank Sinatra"]),
        ("John Smith, III", ["John Smith, III"]),
        (" D.W. Griffith ", ["D.W. Griffith"]),
        ("A,B ,, C", ["A", "B", "C"]),
        ("", []),
    ],
)
def test_one_rule_splits_joined_names(joined, names):
    from mmimdb2.names import split_names

    assert split_names(joined) == names
