"""The contract between cached inputs and every model (IDKG and the baselines).

A batch is a ``dict[str, Tensor]`` with these keys (B = batch size):

- ``text``      (B, text_dim)  frozen plot features (e.g. CLIP text tower)
- ``image``     (B, image_dim) frozen poster features (e.g. CLIP image tower)
- ``kg``        (B, kg_dim)    F^K: sum of the KG embeddings of the movie's directors and cast
                               found in the train-only KG, zero when none is (paper Eq. 3-4)
- ``kg_count``  (B,)           N_i = number of those directors + cast found in the KG (Eq. 6)
- ``kg_degree`` (B,)           S_i = sum of their KG degrees (Eq. 6)

Labels are a separate (B, 23) float tensor in :data:`mmimdb2.genres.GENRES` order and are
never part of ``forward``'s input. Models are built from an :class:`InputSpec`, which carries
the dimensions plus what some models need from the training set: the genre entity embeddings
of the KG (G-CACL anchors, Eq. 8-9) and the train means N̄, S̄ of the attention teacher (Eq. 6).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

BATCH_KEYS: tuple[str, ...] = ("text", "image", "kg", "kg_count", "kg_degree")


@dataclass(frozen=True)
class InputSpec:
    """Dimensions and training-set statistics a model is built from."""

    text_dim: int
    image_dim: int
    kg_dim: int
    num_genres: int = 23
    #: (num_genres, kg_dim) genre entity embeddings from the KG, in GENRES order; None if no KG.
    genre_embeddings: torch.Tensor | None = None
    #: N̄: mean over the training movies of ``kg_count``.
    mean_kg_count: float = 1.0
    #: S̄: mean over the training movies of ``kg_degree``.
    mean_kg_degree: float = 1.0
    #: share of the dev movies whose F^K is empty (nobody of theirs in the train-only KG): the
    #: KG dropout of ``kg_dropout="auto"``; None when unknown. Read from dev metadata, not labels.
    empty_kg_share: float | None = None
