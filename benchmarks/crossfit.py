"""Cross-fitted F^K: a training movie's KG feature from a KG that never saw its own genre links.

The plain F^K of a training movie sums the embeddings of its people, which were trained on a KG
holding that very movie's ``title_genre``, ``director_genre`` and ``cast_genre`` triples: its F^K
encodes its own labels, while a test movie's F^K cannot. With ``folds = K``, the training movies
are cut into K seeded folds; fold k's F^K, N_i and S_i come from a KG (and its embedding) built
from the other K-1 folds only, exactly as a test movie's come from the whole training KG. Dev and
test rows keep the plain inputs. This is beyond the paper (its F^K is the plain one).

Each KG embedding starts from its own random point, so two embeddings of overlapping KGs agree
only up to a change of coordinates: summed as they come, a training movie's cross-fitted F^K and
a test movie's plain F^K would live in unrelated spaces. Every fold's embedding is therefore
mapped onto the plain one by the orthogonal map that best matches their shared entities (the
genres, and the people and movies both KGs hold): orthogonal Procrustes, from scipy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import KFold

from idkg.kg import KnowledgeGraph
from idkg.kg_inputs import KGInputs, movie_kg_inputs
from mmimdb2.schema import Movie


@dataclass(frozen=True)
class AlignedEmbedding:
    """A fold KG's entity vectors in the reference embedding's coordinates."""

    entity_to_id: dict[str, int]
    vectors: np.ndarray
    kg_sha256: str | None
    #: How many shared entities fixed the map.
    shared: int


def align_embedding(emb, reference) -> AlignedEmbedding:
    """``emb``'s vectors times the orthogonal R minimising ||V_emb[shared] R - V_ref[shared]|| over
    the entities both embeddings hold (``scipy.linalg.orthogonal_procrustes``)."""
    from scipy.linalg import orthogonal_procrustes

    own, ref = np.asarray(emb.vectors, dtype=np.float64), np.asarray(reference.vectors, dtype=np.float64)
    shared = [e for e in emb.entity_to_id if e in reference.entity_to_id]
    dim = own.shape[1]
    if ref.shape[1] != dim or len(shared) < dim:
        raise ValueError(
            f"cannot align a fold's KG embedding: {len(shared)} shared entities for width {dim} "
            f"(reference width {ref.shape[1]}); use fewer cross-fit folds or a smaller --kg-dim"
        )
    a = own[[emb.entity_to_id[e] for e in shared]]
    b = ref[[reference.entity_to_id[e] for e in shared]]
    rotation, _ = orthogonal_procrustes(a, b)
    vectors = (own @ rotation).astype(np.float32)
    return AlignedEmbedding(emb.entity_to_id, vectors, getattr(emb, "kg_sha256", None), len(shared))


def cross_fit_kg_inputs(
    movies: Sequence[Movie],
    train_rows: np.ndarray,
    plain: KGInputs,
    *,
    folds: int,
    build: Callable[[tuple[str, ...]], KnowledgeGraph],
    embed: Callable[[KnowledgeGraph], object],
    reference,
    seed: int = 0,
) -> KGInputs:
    """``plain`` with the training rows' KG inputs replaced by their out-of-fold values.

    ``build(train_ids)`` returns the train-only KG of those training movies and ``embed(kg)`` its
    embedding (the caller's :func:`benchmarks.kg_embedding.cached_embedding` with the run's settings);
    ``reference`` is the embedding ``plain`` came from, onto which each fold's is aligned.
    """
    train_rows = np.asarray(train_rows, dtype=np.int64)
    if folds < 2 or folds > len(train_rows):
        raise ValueError(f"The 'cross_fit' parameter must be in [2, {len(train_rows)}] (the training rows). Got {folds!r} instead.")
    kg, count, degree = plain.kg.copy(), plain.kg_count.copy(), plain.kg_degree.copy()
    for inner, outer in KFold(n_splits=folds, shuffle=True, random_state=seed).split(train_rows):
        graph = build(tuple(movies[i].imdb_id for i in train_rows[inner]))
        held = [movies[i] for i in train_rows[outer]]
        fold = movie_kg_inputs(held, graph, align_embedding(embed(graph), reference))
        kg[train_rows[outer]] = fold.kg
        count[train_rows[outer]] = fold.kg_count
        degree[train_rows[outer]] = fold.kg_degree
    return KGInputs(ids=plain.ids, kg=kg, kg_count=count, kg_degree=degree)
