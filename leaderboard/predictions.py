"""The per-movie test predictions a result record may carry, so that its scores can be recomputed
and bootstrapped from the file alone.

Two optional fields (``schema.json``), present together or not at all:

- ``per_seed[i].predictions``: seed i's 0/1 test decisions, one bit per (movie, genre) in the
  order of ``test_labels`` and the 23 genres of ``labels``, packed by
  :func:`mmimdb2.packing.pack_bits` (``numpy.packbits`` + base64);
- ``test_labels``: ``{"n_movies", "ids_sha256", "packed"}``: how many test movies were
  predicted, the sha256 of their ids in that order (:func:`mmimdb2.packing.ordered_ids_sha256`)
  and their 0/1 labels packed the same way.

Two records are *paired* (scored on the same movies, row by row) when both hash and labels are
equal (:func:`paired`). A 3-seed record on 240 test movies gains 4 x 920 characters (~3.7 KB).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mmimdb2.genres import GENRES
from mmimdb2.packing import pack_bits, unpack_bits


class PredictionsError(ValueError):
    """Stored predictions that cannot be read; ``field`` is the record path of the bad value."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class StoredPredictions:
    """A record's test movies (``ids_sha256``), their (n, 23) labels and every seed's (S, n, 23) decisions."""

    ids_sha256: str
    labels: np.ndarray
    seeds: np.ndarray


def pack_matrix(matrix: Any, *, what: str, n_movies: int | None = None) -> str:
    """A (n, 23) 0/1 matrix packed for a record; ``ValueError`` naming ``what`` when it is not one."""
    arr = np.asarray(matrix)
    if arr.ndim != 2 or arr.shape[1] != len(GENRES) or (n_movies is not None and arr.shape[0] != n_movies):
        want = f"({n_movies if n_movies is not None else 'n'}, {len(GENRES)})"
        raise ValueError(f"{what} must have shape {want}; got {arr.shape}")
    try:
        return pack_bits(arr)
    except ValueError as e:
        raise ValueError(f"{what}: {e}") from None


def labels_field(labels: Any, ids_sha256: str) -> dict[str, Any]:
    """The ``test_labels`` field of a record: ``{"n_movies", "ids_sha256", "packed"}``."""
    arr = np.asarray(labels)
    return {"n_movies": int(arr.shape[0]) if arr.ndim else 0, "ids_sha256": ids_sha256, "packed": pack_matrix(arr, what="test_labels")}



def has_predictions(record: Mapping[str, Any]) -> bool:
    """Whether ``record`` carries test predictions (its ``test_labels``; the validator checks the rest)."""
    return record.get("test_labels") is not None


def read_predictions(record: Mapping[str, Any]) -> StoredPredictions | None:
    """The decoded predictions of a record, ``None`` when it has none.

    Raises :class:`PredictionsError` when they are inconsistent: ``test_labels`` without
    predictions in every seed (or the reverse), or packed bits that are not a
    (n_movies, 23) matrix.
    """
    entries: Sequence[Mapping[str, Any]] = record.get("per_seed", [])
    with_pred = [i for i, e in enumerate(entries) if "predictions" in e]
    test = record.get("test_labels")
    if test is None:
        if with_pred:
            raise PredictionsError(f"per_seed/{with_pred[0]}/predictions", "stored without the record's test_labels")
        return None
    missing = [i for i in range(len(entries)) if i not in with_pred]
    if missing:
        raise PredictionsError(f"per_seed/{missing[0]}/predictions", "missing: with test_labels every seed stores its predictions")
    n = test["n_movies"]
    try:
        labels = unpack_bits(test["packed"], n, len(GENRES))
    except ValueError as e:
        raise PredictionsError("test_labels/packed", str(e)) from None
    seeds = []
    for i, e in enumerate(entries):
        try:
            seeds.append(unpack_bits(e["predictions"], n, len(GENRES)))
        except ValueError as err:
            raise PredictionsError(f"per_seed/{i}/predictions", str(err)) from None
    return StoredPredictions(test["ids_sha256"], labels, np.stack(seeds))


def paired(a: StoredPredictions, b: StoredPredictions) -> bool:
    """Whether two rows predicted the same movies in the same order (ids hash and labels equal)."""
    return a.ids_sha256 == b.ids_sha256 and np.array_equal(a.labels, b.labels)
