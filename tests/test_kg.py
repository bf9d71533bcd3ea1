"""The train-only domain KG (Eq. 1-2) and the per-movie KG inputs (Eq. 3-4, 6, 8-9)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import mmimdb2
from idkg import kg as kgmod
from idkg.embedding import KGEmbedding
from idkg.kg import RELATIONS, KnowledgeGraph, LeakageError, build_kg, kg_from_movies, people_found
from idkg.kg_inputs import KGInputsError, genre_embeddings, movie_kg_inputs
from mmimdb2.dataset import MovieDataset
from mmimdb2.genres import GENRES
from mmimdb2.schema import Movie, Person
from mmimdb2.splits import Split

ANN = Person("Ann Lee", "nm0000001")
BOB = Person("Bob", "nm0000002")
CY = Person("Cy  DOE")  # no nm id: keyed by normalised name
DAN = Person("Dan", "nm0000004")
BOB2 = Person("bob", "nm0000009")  # same normalised name as BOB, other id: a collision
EVE = Person("Eve", "nm0000005")  # test only


def toy_dataset() -> MovieDataset:
    movies = [
        Movie("tt0000001", raw_genres=("Drama", "Comedy", "News"), directors=(ANN,), cast=(BOB, CY)),
        # Ann directs and acts; Bob credited twice; Drama again: duplicates must collapse
        Movie("tt0000002", raw_genres=("Drama",), directors=(Person("ann lee", "nm0000001"),), cast=(BOB, BOB, ANN)),
        Movie("tt0000003", raw_genres=("Horror",), directors=(DAN,), cast=(BOB2,)),
        Movie("tt0000004", raw_genres=("Western",), directors=(EVE,), cast=(BOB,)),  # test
        Movie("tt0000005", raw_genres=("War",), directors=(), cast=(CY,)),  # dev
        Movie("tt0000006", raw_genres=("Sport",), directors=(EVE,), cast=(Person("Zed", "nm0000077"),)),  # test
    ]
    split = Split("toy", {"train": ("tt0000001", "tt0000002", "tt0000003"), "dev": ("tt0000005",), "test": ("tt0000004", "tt0000006")})
    return MovieDataset(name="toy", layout="mmimdb2", root=Path("."), movies={m.imdb_id: m for m in movies}, split=split)


T1, T2, T3 = "title:tt0000001", "title:tt0000002", "title:tt0000003"
NM1, NM2, NM4, NM9, CYK = "nm0000001", "nm0000002", "nm0000004", "nm0000009", "name:cy doe"

EXPECTED = {
    (T1, "title_director", NM1), (T2, "title_director", NM1), (T3, "title_director", NM4),
    (T1, "title_cast", NM2), (T1, "title_cast", CYK), (T2, "title_cast", NM2), (T2, "title_cast", NM1),
    (T3, "title_cast", NM9),
    (T1, "title_genre", "genre:Drama"), (T1, "title_genre", "genre:Comedy"), (T2, "title_genre", "genre:Drama"),
    (T3, "title_genre", "genre:Horror"),
    (NM1, "director_cast", NM2), (NM1, "director_cast", CYK), (NM4, "director_cast", NM9),
    (NM1, "director_genre", "genre:Drama"), (NM1, "director_genre", "genre:Comedy"), (NM4, "director_genre", "genre:Horror"),
    (NM2, "cast_genre", "genre:Drama"), (NM2, "cast_genre", "genre:Comedy"), (CYK, "cast_genre", "genre:Drama"),
    (CYK, "cast_genre", "genre:Comedy"), (NM1, "cast_genre", "genre:Drama"), (NM9, "cast_genre", "genre:Horror"),
}  # fmt: skip


@pytest.fixture(scope="module")
def toy_kg() -> KnowledgeGraph:
    return build_kg(toy_dataset())


def test_exact_triples_of_the_toy_case(toy_kg):
    got = {tuple(map(str, row)) for row in toy_kg.triples}
    assert got == EXPECTED
    assert toy_kg.num_triples == len(EXPECTED) == 24  # de-duplicated, no director-cast self-loop
    assert toy_kg.relations == RELATIONS
    people = {e for e in toy_kg.entities if kgmod.entity_kind(e) == "person"}
    assert people == {NM1, NM2, NM4, NM9, CYK}
    assert toy_kg.num_entities == 23 + 3 + 5


def test_stats_count_relations_name_keyed_people_and_collisions(toy_kg):
    s = toy_kg.stats()
    assert s["triples"] == {
        "title_director": 3, "title_cast": 5, "title_genre": 4, "director_cast": 3,
        "director_genre": 3, "cast_genre": 6, "total": 24,
    }  # fmt: skip
    assert s["entities"] == {"title": 3, "person": 5, "genre": 23, "total": 31}
    assert s["name_keyed_people"] == 1
    assert toy_kg.name_collisions == {"bob": (NM2, NM9)}
    assert s["name_collisions"] == 1
    # all 23 genres are entities; those without a training movie are reported
    assert set(s["genres_without_triples"]) == set(GENRES) - {"Drama", "Comedy", "Horror"}


def test_degree_counts_triples_touching_each_entity(toy_kg):
    deg = dict(zip(toy_kg.entities, toy_kg.degree.tolist()))
    assert deg[NM1] == 8 and deg[NM2] == 5 and deg[CYK] == 4 and deg["genre:Drama"] == 6 and deg["genre:War"] == 0
    assert toy_kg.degree.sum() == 2 * toy_kg.num_triples


def test_no_test_title_and_no_test_only_person_genre_edge(toy_kg):
    ents = set(toy_kg.entities)
    assert not {"title:tt0000004", "title:tt0000005", "title:tt0000006"} & ents
    assert EVE.key not in ents and "nm0000077" not in ents  # people only in dev/test movies
    # Bob is in train and test: only his train genres; Cy is in train and dev: no War edge
    tails = {(h, t) for h, r, t in toy_kg.triples.tolist() if r.endswith("_genre")}
    assert {t for h, t in tails if h == NM2} == {"genre:Drama", "genre:Comedy"}
    assert {t for h, t in tails if h == CYK} == {"genre:Drama", "genre:Comedy"}
    assert not any(t in {"genre:Western", "genre:War", "genre:Sport"} for _, t in tails)


@pytest.mark.parametrize("part", ["test", "dev"])
def test_building_from_another_part_raises(part):
    with pytest.raises(LeakageError, match=f"training metadata only; got part '{part}'"):
        build_kg(toy_dataset(), part)
    assert issubclass(LeakageError, ValueError)


def test_hash_is_content_addressed(toy_kg):
    ds = toy_dataset()
    shuffled = kg_from_movies(list(reversed(ds.part("train"))))
    assert shuffled.sha256 == toy_kg.sha256  # order of movies does not matter
    fewer = kg_from_movies(ds.part("train")[:2])
    assert fewer.sha256 != toy_kg.sha256


def hand_embedding(kg: KnowledgeGraph, *, permute: bool = False) -> KGEmbedding:
    """Hand-set 2-d vectors: Ann (1, 2), Bob (10, 20), Cy (100, 200), genre g -> (index, -1)."""
    rng = np.random.default_rng(0)
    table = {e: rng.normal(size=2) * 1e3 for e in kg.entities}
    table |= {NM1: np.array([1.0, 2.0]), NM2: np.array([10.0, 20.0]), CYK: np.array([100.0, 200.0])}
    table |= {f"genre:{g}": np.array([float(i), -1.0]) for i, g in enumerate(GENRES)}
    order = list(kg.entities)[::-1] if permute else list(kg.entities)
    return KGEmbedding(
        entity_to_id={e: i for i, e in enumerate(order)},
        vectors=np.stack([table[e] for e in order]).astype(np.float32),
        model="hand", config={}, kg_sha256=kg.sha256, hits_at_10=None, eval_triples=0,
        train_seconds=0.0, seconds_per_epoch=0.0,
    )  # fmt: skip


@pytest.mark.parametrize("permute", [False, True])
def test_eq3_4_and_eq6_inputs_against_hand_sums(toy_kg, permute):
    ds = toy_dataset()
    movies = [ds.movies[i] for i in ("tt0000001", "tt0000002", "tt0000004", "tt0000006")]
    out = movie_kg_inputs(movies, toy_kg, hand_embedding(toy_kg, permute=permute))
    assert out.ids == ("tt0000001", "tt0000002", "tt0000004", "tt0000006")
    # tt1: Ann + Bob + Cy; tt2: Ann (director) + Bob (once) + Ann (cast); tt4: Eve unknown + Bob; tt6: nobody
    np.testing.assert_allclose(out.kg, [[111, 222], [12, 24], [10, 20], [0, 0]])
    np.testing.assert_array_equal(out.kg_count, [3, 3, 1, 0])
    np.testing.assert_array_equal(out.kg_degree, [8 + 5 + 4, 8 + 5 + 8, 5, 0])
    assert out.kg.dtype == np.float32 and out.kg_count.dtype == np.float32
    assert out.zero_share == 0.25
    assert out.mean_count == pytest.approx(7 / 4) and out.mean_degree == pytest.approx((17 + 21 + 5) / 4)


def test_genre_anchors_in_canonical_order(toy_kg):
    anchors = genre_embeddings(toy_kg, hand_embedding(toy_kg, permute=True))
    assert anchors.shape == (23, 2) and anchors.dtype == np.float32
    np.testing.assert_array_equal(anchors[:, 0], np.arange(23))
    np.testing.assert_array_equal(anchors[:, 1], -np.ones(23))


def test_embedding_of_another_kg_is_refused(toy_kg):
    other = kg_from_movies(toy_dataset().part("train")[:2])
    with pytest.raises(KGInputsError, match="not on this KG"):
        movie_kg_inputs(toy_dataset().part("test"), toy_kg, hand_embedding(other))


def test_people_found_matches_incidence(toy_kg):
    np.testing.assert_array_equal(people_found(toy_dataset().part("test"), toy_kg), [1, 0])


def test_cli_prints_statistics_and_zero_shares(monkeypatch, capsys):
    monkeypatch.setattr(mmimdb2, "load", lambda name, split="default", *, data_root=None: toy_dataset(), raising=False)
    assert kgmod.main(["toy"]) == 0
    out = capsys.readouterr().out
    assert "entities: 31" in out and "triples:  24" in out
    assert "cast_genre" in out and "name collisions (one normalised name, several nm ids): 1" in out
    assert "people keyed by normalised name (no nm id): 1" in out
    assert re.search(r"test\s+1 / 2\s+=\s+50\.0%", out)  # tt0000006 has nobody in the KG
    assert re.search(r"train\s+0 / 3\s+=\s+0\.0%", out)
    assert "3,512,803" in out  # paper figures for reference


def test_cli_refuses_test_part_in_one_line(capsys):
    assert kgmod.main(["toy", "--part", "test"]) == 2
    err = capsys.readouterr().err
    assert err == "error: the knowledge graph must be built from training metadata only; got part 'test'\n"
