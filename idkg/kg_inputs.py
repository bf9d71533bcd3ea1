"""Per-movie KG inputs of IDKG: F^K (Eq. 3-4), the attention teacher's N_i and S_i (Eq. 6), and
the genre anchors of G-CACL (Eq. 8-9).

A movie's people are looked up in the train-only KG by :attr:`mmimdb2.schema.Person.key`; people
not in it (e.g. seen only at test time) contribute nothing. Directors and cast are summed as two
sets, as in Eq. 3-4: a person credited twice in the same role counts once, a director who also
acts counts once in each sum (N_d and N_c). All of it is one sparse movie x entity incidence
matrix (:func:`idkg.kg.incidence`), so F^K = A @ E, N = A @ 1 and S = A @ degree, with no per-person
Python loop over vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from idkg.kg import KnowledgeGraph, genre_entity, incidence
from mmimdb2.genres import GENRES
from mmimdb2.schema import Movie


class KGInputsError(ValueError):
    """Embeddings that do not belong to the KG they are used with."""


@dataclass(frozen=True, eq=False)
class KGInputs:
    """KG inputs aligned to ``ids`` (the batch keys ``kg``, ``kg_count``, ``kg_degree``)."""

    ids: tuple[str, ...]
    #: (n, d) float32 F^K; the zero vector for a movie with no person in the KG.
    kg: np.ndarray
    #: (n,) float32 N_i = N_d + N_c found in the KG.
    kg_count: np.ndarray
    #: (n,) float32 S_i = sum of the KG degrees of those people.
    kg_degree: np.ndarray

    @property
    def mean_count(self) -> float:
        """N̄ of Eq. 6 when these are the training movies."""
        return float(self.kg_count.mean()) if len(self.ids) else 0.0

    @property
    def mean_degree(self) -> float:
        """S̄ of Eq. 6 when these are the training movies."""
        return float(self.kg_degree.mean()) if len(self.ids) else 0.0

    @property
    def zero_share(self) -> float:
        """Share of movies whose F^K is the zero vector (no person in the KG)."""
        return float((self.kg_count == 0).mean()) if len(self.ids) else 0.0


def _vectors_in_kg_order(kg: KnowledgeGraph, emb) -> np.ndarray:
    """``emb.vectors`` re-indexed to ``kg.entities`` (they coincide when ``emb`` was trained on ``kg``)."""
    kg_sha = getattr(emb, "kg_sha256", None)
    if kg_sha is not None and kg_sha != kg.sha256:
        raise KGInputsError(f"embeddings were trained on KG {kg_sha[:12]}…, not on this KG {kg.sha256[:12]}…")
    vectors = np.asarray(emb.vectors, dtype=np.float32)
    e2i = emb.entity_to_id
    if len(e2i) == kg.num_entities and all(e2i.get(e) == i for i, e in enumerate(kg.entities)):
        return vectors
    missing = [e for e in kg.entities if e not in e2i]
    if missing:
        raise KGInputsError(f"{len(missing)} KG entities have no embedding, e.g. {missing[0]!r}")
    return vectors[np.fromiter((e2i[e] for e in kg.entities), dtype=np.int64, count=kg.num_entities)]


def movie_kg_inputs(movies: Sequence[Movie], kg: KnowledgeGraph, emb) -> KGInputs:
    """F^K (Eq. 3-4) and the Eq. 6 inputs for ``movies`` from ``kg`` and its embedding ``emb``
    (an :class:`idkg.embedding.KGEmbedding`, or anything with ``entity_to_id`` and ``vectors``)."""
    vectors = _vectors_in_kg_order(kg, emb)
    A = incidence(movies, kg)
    fk = np.asarray(A @ vectors, dtype=np.float32).reshape(len(movies), vectors.shape[1])
    count = np.asarray(A.sum(axis=1), dtype=np.float32).ravel()
    degree = np.asarray(A @ kg.degree.astype(np.float64), dtype=np.float64).ravel().astype(np.float32)
    return KGInputs(ids=tuple(m.imdb_id for m in movies), kg=fk, kg_count=count, kg_degree=degree)


def genre_embeddings(kg: KnowledgeGraph, emb) -> np.ndarray:
    """(23, d) float32 genre entity embeddings in :data:`mmimdb2.genres.GENRES` order (G-CACL anchors)."""
    vectors = _vectors_in_kg_order(kg, emb)
    eid = kg.entity_to_id
    missing = [g for g in GENRES if genre_entity(g) not in eid]
    if missing:
        raise KGInputsError(f"KG has no entity for genre(s) {', '.join(missing)}")
    return vectors[[eid[genre_entity(g)] for g in GENRES]].astype(np.float32, copy=True)
