"""Multi-label genre metrics, computed one way for every model: F1 scores and mean ± std over seeds.

What is measured (scikit-learn's ``f1_score``, ``zero_division=0``, on predictions
``y_prob >= threshold`` with ``threshold = 0.5``):

- ``micro``, ``macro``, ``weighted``, ``samples``: the four F1 averages of the paper's Table 2.
  Macro averages over all 23 genres, so a genre with no test movie and no prediction scores 0
  (scikit-learn's ``zero_division=0``), as in the paper's evaluation code.
- ``per_genre``: F1 of each of the 23 genres, keyed by its canonical name (:data:`mmimdb2.GENRES`).
- ``head`` / ``tail``: macro F1 over the six most / six least frequent genres (the paper's Fig. 3).
  Frequency is counted on the **training** labels (``train_label_counts``), so the head and tail
  sets are fixed per dataset and split and do not move with the test set or the model. Ties are
  broken by the canonical genre order. Without ``train_label_counts`` the evaluated labels are
  counted instead (documented fallback for ad-hoc use; the harness always passes train counts).
- ``support``: number of evaluated movies carrying each genre (not a score; not aggregated).

Over seeds, :func:`aggregate` reports the mean and the **population** standard deviation
(``ddof=0``, numpy's default; 0 for a single seed) of every score and every per-genre F1; it is
defined in :mod:`leaderboard.scores`, next to the record that stores it, and re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from leaderboard.scores import SCALAR_METRICS, aggregate  # noqa: F401  (re-exported: defined with the record)
from mmimdb2.genres import GENRES

#: The four F1 averages of the paper's Table 2.
AVERAGES: tuple[str, ...] = ("micro", "macro", "weighted", "samples")
#: How many genres form the head and the tail (paper's Fig. 3).
HEAD_TAIL = 6


def _as_matrix(name: str, a: Any, n_genres: int) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != n_genres:
        raise ValueError(f"{name} must have shape (n, {n_genres}); got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def head_tail_genres(
    train_label_counts: Sequence[float] | np.ndarray | Mapping[str, float],
    genres: Sequence[str] = GENRES,
    k: int = HEAD_TAIL,
) -> dict[str, Any]:
    """The ``k`` most and ``k`` least frequent genres by training frequency, ties in ``genres`` order.

    ``train_label_counts`` is one count per genre (in ``genres`` order) or a ``{genre: count}``
    mapping; a (n, 23) training label matrix is accepted too and summed over rows. Returns
    ``{"k": k, "head": [...], "tail": [...]}``, each list in descending frequency, ready to store
    in a result record.
    """
    if isinstance(train_label_counts, Mapping):
        unknown = sorted(set(train_label_counts) - set(genres))
        if unknown:
            raise ValueError(f"train_label_counts names unknown genres: {', '.join(unknown)}")
        counts = np.array([float(train_label_counts.get(g, 0)) for g in genres])
    else:
        counts = np.asarray(train_label_counts, dtype=np.float64)
        if counts.ndim == 2:
            counts = counts.sum(axis=0)
    if counts.shape != (len(genres),):
        raise ValueError(f"train_label_counts must have one count per genre ({len(genres)}); got shape {counts.shape}")
    if not 1 <= k <= len(genres):
        raise ValueError(f"The 'head_tail' parameter must be in [1, {len(genres)}]. Got {k} instead.")
    order = sorted(range(len(genres)), key=lambda i: (-counts[i], i))
    return {"k": k, "head": [genres[i] for i in order[:k]], "tail": [genres[i] for i in order[-k:]]}


def evaluate(
    y_true: np.ndarray,
    y_prob: np.ndarray,
    threshold: float | Sequence[float] | np.ndarray = 0.5,
    genres: Sequence[str] = GENRES,
    head_tail: int = HEAD_TAIL,
    train_label_counts: Sequence[float] | np.ndarray | Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Scores of one model on one evaluated part: see the module docstring for each key.

    ``y_true`` is the (n, 23) 0/1 label matrix, ``y_prob`` the (n, 23) predicted probabilities
    (after the sigmoid), both with columns in ``genres`` order. A genre is predicted when its
    probability is ``>= threshold``: one threshold, or one per genre (in ``genres`` order).
    """
    from sklearn.metrics import f1_score  # lazy: the leaderboard validator imports this module

    genres = tuple(genres)
    y_true_f = _as_matrix("y_true", y_true, len(genres))
    y_prob_f = _as_matrix("y_prob", y_prob, len(genres))
    if y_true_f.shape != y_prob_f.shape:
        raise ValueError(f"y_true and y_prob differ in shape: {y_true_f.shape} vs {y_prob_f.shape}")
    if y_true_f.shape[0] == 0:
        raise ValueError("cannot evaluate on zero movies")
    if not np.all((y_true_f == 0) | (y_true_f == 1)):
        raise ValueError("y_true must hold only 0 and 1")
    if y_prob_f.min() < 0 or y_prob_f.max() > 1:
        raise ValueError("y_prob must be probabilities in [0, 1] (apply a sigmoid to logits first)")
    thr = np.asarray(threshold, dtype=np.float64)
    if thr.shape not in ((), (len(genres),)) or not np.all((thr > 0) & (thr < 1)):
        raise ValueError(
            f"The 'threshold' parameter must be one value or one per genre ({len(genres)}), each in (0, 1). Got {threshold} instead."
        )

    t = y_true_f.astype(np.int64)
    p = (y_prob_f >= thr).astype(np.int64)
    out: dict[str, Any] = {avg: float(f1_score(t, p, average=avg, zero_division=0)) for avg in AVERAGES}
    per = f1_score(t, p, average=None, zero_division=0)
    per_genre = {g: float(per[i]) for i, g in enumerate(genres)}

    counts = t.sum(axis=0) if train_label_counts is None else train_label_counts
    sets = head_tail_genres(counts, genres, head_tail)
    out["head"] = float(np.mean([per_genre[g] for g in sets["head"]]))
    out["tail"] = float(np.mean([per_genre[g] for g in sets["tail"]]))
    out["per_genre"] = per_genre
    out["support"] = {g: int(t[:, i].sum()) for i, g in enumerate(genres)}
    return out
