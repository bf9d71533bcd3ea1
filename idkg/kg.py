"""The domain knowledge graph of IDKG (paper Eq. 1-2), built from training metadata only.

Entities are titles (``title:tt…``), people (:attr:`mmimdb2.schema.Person.key`: the IMDb ``nm`` id
when known, else ``name:<normalised name>``) and the 23 genres (``genre:<Name>``). All 23 genre
entities are always present, even a genre no training movie has (as in the IDKG authors' KG, whose
entity list starts with the 23 genres), so the G-CACL anchors (Eq. 8-9) always exist; such a genre
has no triple, keeps its random initial embedding and is listed in :meth:`KnowledgeGraph.stats`.
Other entities exist only through a triple: a training movie with neither people nor genres adds
nothing. A person who both directs and acts is one entity.

Triples are ``(head, relation, tail)``, de-duplicated, directed as the authors wrote them:

=================  ==========  ========
relation           head        tail
=================  ==========  ========
``title_director``  title       director
``title_cast``      title       cast member
``title_genre``     title       genre
``director_cast``   director    cast member of a film they directed (no self-loop)
``director_genre``  director    genre of a film they directed
``cast_genre``      cast member genre of a film they acted in
=================  ==========  ========

Only the ``train`` part of a split may be used: dev/test titles, and the genres of dev/test movies,
must not reach the KG, or F^K of a test movie would encode its own labels (:class:`LeakageError`).

``python -m idkg.kg [DATASET]`` prints the statistics.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from mmimdb2.dataset import MovieDataset
from mmimdb2.genres import GENRES
from mmimdb2.paths import DATA_ROOT_HELP
from mmimdb2.schema import Movie, Person, normalize_name

#: Relation names, in id order.
RELATIONS: tuple[str, ...] = (
    "title_director", "title_cast", "title_genre", "director_cast", "director_genre", "cast_genre",
)  # fmt: skip

#: The only split part a KG may be built from.
TRAIN_PART = "train"

#: What the IDKG paper reports for its KGs (Sect. 4), for reference next to our statistics.
PAPER_FIGURES: dict[str, dict[str, int]] = {
    "mmimdb": {"triples": 2_231_455, "entities": 264_271},
    "mmimdb2": {"triples": 3_512_803, "entities": 318_299},
}


class LeakageError(ValueError):
    """Building the KG from anything but training metadata."""


class KGError(ValueError):
    """A KG that cannot be built (e.g. no training movies)."""


def title_entity(imdb_id: str) -> str:
    return "title:" + imdb_id


def genre_entity(genre: str) -> str:
    return "genre:" + genre


def entity_kind(label: str) -> str:
    """``title``, ``genre`` or ``person`` for an entity label."""
    if label.startswith("title:"):
        return "title"
    if label.startswith("genre:"):
        return "genre"
    return "person"


@dataclass(frozen=True, eq=False)
class KnowledgeGraph:
    """A de-duplicated triple set with its vocabularies.

    ``entities`` and ``relations`` are the vocabularies (entity ids follow sorted labels, relation
    ids follow :data:`RELATIONS`); ``mapped`` is the (n, 3) int64 ``(head, relation, tail)`` id
    array, sorted. String triples are built on demand (:attr:`triples`) because 3.5M labeled
    triples as a numpy string array take gigabytes.
    """

    entities: tuple[str, ...] = field(repr=False)
    relations: tuple[str, ...] = field(repr=False)
    mapped: np.ndarray = field(repr=False)
    dataset: str = ""
    split: str = ""
    #: sha256 of the training ids the KG was built from (``Split.part_sha256('train')``).
    train_sha256: str = ""
    num_train_movies: int = 0
    #: Distinct people keyed by normalised name (no ``nm`` id known).
    name_keyed_people: int = 0
    #: Normalised name -> the several ``nm`` ids that share it (a possible identity clash).
    name_collisions: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        m = np.asarray(self.mapped, dtype=np.int64).reshape(-1, 3)
        if m.size and (m[:, [0, 2]].min() < 0 or m[:, [0, 2]].max() >= len(self.entities)):
            raise KGError("triple entity id out of range of the entity vocabulary")
        if m.size and (m[:, 1].min() < 0 or m[:, 1].max() >= len(self.relations)):
            raise KGError("triple relation id out of range of the relation vocabulary")
        m.setflags(write=False)
        object.__setattr__(self, "mapped", m)

    @cached_property
    def entity_to_id(self) -> dict[str, int]:
        return {e: i for i, e in enumerate(self.entities)}

    @cached_property
    def relation_to_id(self) -> dict[str, int]:
        return {r: i for i, r in enumerate(self.relations)}

    @property
    def num_entities(self) -> int:
        return len(self.entities)

    @property
    def num_triples(self) -> int:
        return int(self.mapped.shape[0])

    @cached_property
    def triples(self) -> np.ndarray:
        """Labeled triples, (n, 3) numpy ``str`` array, in :attr:`mapped` order."""
        ents = np.asarray(self.entities, dtype=str)
        rels = np.asarray(self.relations, dtype=str)
        if not self.num_triples:
            return np.empty((0, 3), dtype=str)
        cols = [ents[self.mapped[:, 0]], rels[self.mapped[:, 1]], ents[self.mapped[:, 2]]]
        return np.stack(cols, axis=1)

    @cached_property
    def degree(self) -> np.ndarray:
        """(num_entities,) int64: number of triples that touch each entity (as head or tail)."""
        return np.bincount(self.mapped[:, [0, 2]].ravel(), minlength=self.num_entities).astype(np.int64)

    @cached_property
    def sha256(self) -> str:
        """Content hash, the cache key of embeddings: the vocabularies plus the sorted id triples.

        Ids follow sorted labels, so this identifies the sorted labeled triples and the entity set.
        """
        h = hashlib.sha256()
        h.update("\n".join(self.entities).encode())
        h.update(b"\0")
        h.update("\n".join(self.relations).encode())
        h.update(b"\0")
        h.update(np.ascontiguousarray(self.mapped, dtype="<i8").tobytes())
        return h.hexdigest()

    def stats(self) -> dict:
        """Entities per kind, triples per relation, people keyed by name, collisions, idle genres."""
        kinds: dict[str, int] = defaultdict(int)
        for e in self.entities:
            kinds[entity_kind(e)] += 1
        per_rel = np.bincount(self.mapped[:, 1], minlength=len(self.relations))
        deg = self.degree
        idle = [e.removeprefix("genre:") for i, e in enumerate(self.entities) if entity_kind(e) == "genre" and deg[i] == 0]
        return {
            "dataset": self.dataset,
            "split": self.split,
            "train_movies": self.num_train_movies,
            "entities": {"title": kinds["title"], "person": kinds["person"], "genre": kinds["genre"], "total": self.num_entities},
            "triples": {r: int(n) for r, n in zip(self.relations, per_rel)} | {"total": self.num_triples},
            "name_keyed_people": self.name_keyed_people,
            "name_collisions": len(self.name_collisions),
            "genres_without_triples": idle,
            "sha256": self.sha256,
        }


def build_kg(dataset: MovieDataset, part: str = TRAIN_PART) -> KnowledgeGraph:
    """Build the KG of ``dataset`` from the movies of its training part only.

    Any other ``part`` raises :class:`LeakageError`: a dev/test movie's genres in the KG would give
    its F^K its own labels.
    """
    if part != TRAIN_PART:
        raise LeakageError(f"the knowledge graph must be built from training metadata only; got part {part!r}")
    movies = dataset.part(TRAIN_PART)
    if not movies:
        raise KGError(f"dataset {dataset.name!r} (split {dataset.split.name!r}) has no training movies to build a KG from")
    kg = kg_from_movies(movies)
    return KnowledgeGraph(
        entities=kg.entities,
        relations=kg.relations,
        mapped=kg.mapped,
        dataset=dataset.name,
        split=dataset.split.name,
        train_sha256=dataset.split.part_sha256(TRAIN_PART),
        num_train_movies=len(movies),
        name_keyed_people=kg.name_keyed_people,
        name_collisions=kg.name_collisions,
    )


def _unique_keys(people: Iterable[Person]) -> list[str]:
    """Person keys of one role in one movie, repeated credits dropped, first-seen order."""
    return list(dict.fromkeys(p.key for p in people))


def kg_from_movies(movies: Sequence[Movie]) -> KnowledgeGraph:
    """The KG of exactly these movies. Callers must pass training movies only (see :func:`build_kg`)."""
    rel = {r: i for i, r in enumerate(RELATIONS)}
    labels: set[str] = {genre_entity(g) for g in GENRES}
    rows: list[tuple[str, str, str, tuple[str, ...]]] = []
    ids_by_name: dict[str, set[str]] = defaultdict(set)
    name_keyed: set[str] = set()
    for m in movies:
        directors, cast = _unique_keys(m.directors), _unique_keys(m.cast)
        genres = tuple(genre_entity(g) for g in m.genres)
        for p in m.people:
            if p.imdb_id:
                ids_by_name[normalize_name(p.name)].add(p.imdb_id)
            else:
                name_keyed.add(p.key)
        if directors or cast or genres:
            labels.add(title_entity(m.imdb_id))
            labels.update(directors)
            labels.update(cast)
        rows.append((title_entity(m.imdb_id), directors, cast, genres))

    entities = tuple(sorted(labels))
    eid = {e: i for i, e in enumerate(entities)}
    R = len(RELATIONS)
    E = len(entities)
    codes: list[int] = []
    add = codes.append
    for title, directors, cast, genres in rows:
        t = eid.get(title)
        if t is None:
            continue
        d_ids = [eid[k] for k in directors]
        c_ids = [eid[k] for k in cast]
        g_ids = [eid[k] for k in genres]
        base = t * R * E
        for d in d_ids:
            add(base + rel["title_director"] * E + d)
        for c in c_ids:
            add(base + rel["title_cast"] * E + c)
        for g in g_ids:
            add(base + rel["title_genre"] * E + g)
        for d in d_ids:
            dbase = d * R * E
            for c in c_ids:
                if c != d:
                    add(dbase + rel["director_cast"] * E + c)
            for g in g_ids:
                add(dbase + rel["director_genre"] * E + g)
        for c in c_ids:
            cbase = c * R * E
            for g in g_ids:
                add(cbase + rel["cast_genre"] * E + g)
    uniq = np.unique(np.asarray(codes, dtype=np.int64))  # sorted by (head, relation, tail)
    mapped = np.stack([uniq // (R * E), (uniq // E) % R, uniq % E], axis=1)
    collisions = {n: tuple(sorted(ids)) for n, ids in sorted(ids_by_name.items()) if len(ids) > 1}
    return KnowledgeGraph(
        entities=entities,
        relations=RELATIONS,
        mapped=mapped,
        num_train_movies=len(movies),
        name_keyed_people=len(name_keyed),
        name_collisions=collisions,
    )


# ----------------------------------------------------------------------------------------------
# Which of a movie's people the KG holds (the KG inputs' incidence matrix; the CLI's zero shares)


def incidence(movies: Sequence[Movie], kg: KnowledgeGraph) -> sp.csr_matrix:
    """(n_movies, n_entities) float32 CSR: entry (i, e) = how many of movie i's roles (director,
    cast) person e fills, for people found in ``kg``."""
    eid = kg.entity_to_id
    rows: list[int] = []
    cols: list[int] = []
    for i, m in enumerate(movies):
        for role in (m.directors, m.cast):
            for key in dict.fromkeys(p.key for p in role):
                e = eid.get(key)
                if e is not None:
                    rows.append(i)
                    cols.append(e)
    data = np.ones(len(rows), dtype=np.float32)
    # duplicate (i, e) pairs (director who also acts) are summed by the CSR constructor
    return sp.csr_matrix((data, (rows, cols)), shape=(len(movies), kg.num_entities), dtype=np.float32)


def people_found(movies: Sequence[Movie], kg: KnowledgeGraph) -> np.ndarray:
    """(n,) int64: N_d + N_c, the directors and cast of each movie found in ``kg``."""
    return np.asarray(incidence(movies, kg).sum(axis=1)).ravel().astype(np.int64)


# ----------------------------------------------------------------------------------------------
# Command line


def _format_stats(kg: KnowledgeGraph, zero_share: dict[str, tuple[int, int]]) -> str:
    s = kg.stats()
    lines = [
        f"knowledge graph of {s['dataset']} (split {s['split']}): built from {s['train_movies']} training movies only",
        f"  entities: {s['entities']['total']:,} (titles {s['entities']['title']:,}, people {s['entities']['person']:,}, "
        f"genres {s['entities']['genre']})",
        f"  triples:  {s['triples']['total']:,}",
    ]
    lines += [f"    {r:<15} {s['triples'][r]:>12,}" for r in kg.relations]
    lines.append(f"  people keyed by normalised name (no nm id): {s['name_keyed_people']:,}")
    lines.append(f"  name collisions (one normalised name, several nm ids): {s['name_collisions']:,}")
    for name, ids in list(kg.name_collisions.items())[:5]:
        lines.append(f"    {name!r}: {', '.join(ids)}")
    if s["genres_without_triples"]:
        lines.append(f"  genres with no training movie (entity kept, untrained): {', '.join(s['genres_without_triples'])}")
    lines.append("  movies whose F^K is the zero vector (no director or cast member in the KG):")
    for part, (zeros, n) in zero_share.items():
        share = zeros / n if n else 0.0
        lines.append(f"    {part:<6} {zeros:>8,} / {n:<8,} = {share:6.1%}")
    lines.append(f"  sha256 {s['sha256']}")
    lines.append("  paper, for reference (train-only KGs of the IDKG authors):")
    for name, fig in PAPER_FIGURES.items():
        lines.append(f"    {name:<8} {fig['triples']:>12,} triples / {fig['entities']:,} entities")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m idkg.kg [DATASET] [--split NAME] [--data-root DIR] [--part train]``."""
    ap = argparse.ArgumentParser(prog="python -m idkg.kg", description="Build the train-only domain KG and print its statistics.")
    ap.add_argument("dataset", nargs="?", default="demo", help="dataset name (demo, mmimdb, mmimdb2) or folder (default: demo)")
    ap.add_argument("--split", default="default", help="split name (default: the dataset's default split)")
    ap.add_argument("--data-root", default=None, help=DATA_ROOT_HELP)
    ap.add_argument("--part", default=TRAIN_PART, help="split part to build from; only 'train' is allowed (default train)")
    args = ap.parse_args(argv)
    try:
        if args.part != TRAIN_PART:  # fail before loading anything
            raise LeakageError(f"the knowledge graph must be built from training metadata only; got part {args.part!r}")
        import mmimdb2

        load = getattr(mmimdb2, "load", None)
        if load is None:
            raise KGError("mmimdb2.load is not available in this version of the mmimdb2 package")
        ds = load(args.dataset, args.split, data_root=args.data_root)
        kg = build_kg(ds, args.part)
        zero_share = {}
        for part in ds.split.parts:
            found = people_found(ds.part(part), kg)
            zero_share[part] = (int((found == 0).sum()), len(found))
    except (ValueError, OSError, KeyError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(f"error: {msg}", file=sys.stderr)
        return 2
    print(_format_stats(kg, zero_share))
    return 0


if __name__ == "__main__":
    sys.exit(main())
