"""Multi-label genre metrics, computed one way for every model and every layer: F1 scores, mean ±
std over seeds, and the dev-side decisions (threshold, checkpoint score, class-weight names).

Torch-free: numpy at import, scikit-learn imported inside the functions that score, so importing
this module (as the leaderboard validator does) loads neither torch nor scikit-learn. The trainer,
the probes, the fusion baselines, the harness and the leaderboard all score with these functions.
Labels may be numpy arrays or tensors on any device (anything with ``.cpu()`` and ``.numpy()``).

What is measured (scikit-learn's ``f1_score``, ``zero_division=0``, on predictions
``y_prob >= threshold``, the threshold(s) of the run's policy):

- ``micro``, ``macro``, ``weighted``, ``samples``: the four F1 averages of the paper's Table 2.
  Macro averages over all 23 genres, so a genre with no test movie and no prediction scores 0
  (scikit-learn's ``zero_division=0``); the paper does not say how it treats such genres.
- ``macro_present``, ``n_present``: macro F1 over the ``n_present`` genres *present* in the
  evaluated labels (at least one positive). A genre without a test positive has no defined F1
  (its 0 under ``zero_division=0`` says nothing about the model), so on a small test part where
  two genres never occur ``macro`` is capped at 21/23 while ``macro_present`` is not.
- ``per_genre``: F1 of each of the 23 genres, keyed by its canonical name (:data:`mmimdb2.GENRES`).
- ``head`` / ``tail``: macro F1 over the six most / six least frequent genres (the paper's Fig. 3).
  Frequency is counted on the **training** labels (``train_label_counts``), so the head and tail
  sets are fixed per dataset and split and do not move with the test set or the model. Ties are
  broken by the canonical genre order. Without ``train_label_counts`` the evaluated labels are
  counted instead (documented fallback for ad-hoc use; the harness always passes train counts).
  ``tail_present``: the same over the tail genres present in the evaluated labels (0 when none is).
- ``support``: number of evaluated movies carrying each genre (not a score; not aggregated).

Every score is a function of the 0/1 decisions: :func:`evaluate` thresholds the probabilities
(:func:`decisions`) and scores them with :func:`score_decisions`, which the leaderboard validator
calls on a record's stored decisions to recompute its scores.

Over seeds, :func:`aggregate` reports the mean and the **population** standard deviation
(``ddof=0``, numpy's default; 0 for a single seed) of every score and every per-genre F1; the
:data:`PRESENT_METRICS` only when every seed has them (results scored before they existed lack them).

On dev: :func:`select_threshold` picks the decision threshold(s) of a policy
(:data:`THRESHOLD_POLICIES`) on :data:`THRESHOLD_GRID`, :func:`dev_score` scores a checkpoint
(:data:`SELECTION_METRICS`), and :data:`CLASS_WEIGHTS` names the loss weightings
(:func:`balanced_pos_weight`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mmimdb2.genres import GENRES

#: Scalar scores every metrics dict carries, in the order tables show them.
SCALAR_METRICS: tuple[str, ...] = ("micro", "macro", "weighted", "samples", "head", "tail")
#: Scores over the genres present in the evaluated labels, and their count: added after the first
#: results were recorded, so a record may lack them (aggregated only when every seed has them).
PRESENT_METRICS: tuple[str, ...] = ("macro_present", "tail_present", "n_present")
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
    p = decisions(y_prob_f, threshold, genres)
    sets = head_tail_genres(y_true_f if train_label_counts is None else train_label_counts, genres, head_tail)
    return score_decisions(y_true_f, p, genres, sets)


def decisions(y_prob: np.ndarray, threshold: float | Sequence[float] | np.ndarray = 0.5, genres: Sequence[str] = GENRES) -> np.ndarray:
    """The 0/1 decisions ``y_prob >= threshold`` (int8, float64 comparison) that :func:`evaluate` scores.

    ``threshold`` is one value or one per genre (in ``genres`` order), each in (0, 1). The harness
    stores these decisions with a result, so the stored scores can be recomputed from them.
    """
    y_prob_f = np.asarray(y_prob, dtype=np.float64)
    thr = np.asarray(threshold, dtype=np.float64)
    if thr.shape not in ((), (len(genres),)) or not np.all((thr > 0) & (thr < 1)):
        raise ValueError(
            f"The 'threshold' parameter must be one value or one per genre ({len(genres)}), each in (0, 1). Got {threshold} instead."
        )
    return (y_prob_f >= thr).astype(np.int8)


def score_decisions(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    genres: Sequence[str] = GENRES,
    head_tail_sets: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """Every score of :func:`evaluate` from 0/1 labels and 0/1 decisions, both (n, len(genres)).

    ``head_tail_sets`` is ``{"head": [...], "tail": [...]}`` as :func:`head_tail_genres` returns
    it (a record's ``head_tail``); without it the evaluated labels are counted (the fallback of
    :func:`evaluate`). See the module docstring for each key.
    """
    from sklearn.metrics import f1_score  # lazy: keeps scikit-learn out of the import (the leaderboard validator imports this module)

    genres = tuple(genres)
    t = np.asarray(y_true).astype(np.int64)
    p = np.asarray(y_pred).astype(np.int64)
    if t.ndim != 2 or t.shape[1] != len(genres) or t.shape != p.shape:
        raise ValueError(f"y_true and y_pred must both have shape (n, {len(genres)}); got {t.shape} and {p.shape}")
    if not (np.isin(t, (0, 1)).all() and np.isin(p, (0, 1)).all()):
        raise ValueError("y_true and y_pred must hold only 0 and 1")
    out: dict[str, Any] = {avg: float(f1_score(t, p, average=avg, zero_division=0)) for avg in AVERAGES}
    per = f1_score(t, p, average=None, zero_division=0)
    per_genre = {g: float(per[i]) for i, g in enumerate(genres)}
    support = {g: int(t[:, i].sum()) for i, g in enumerate(genres)}

    sets = head_tail_sets if head_tail_sets is not None else head_tail_genres(t, genres)
    out["head"] = float(np.mean([per_genre[g] for g in sets["head"]]))
    out["tail"] = float(np.mean([per_genre[g] for g in sets["tail"]]))
    present = [g for g in genres if support[g] > 0]
    tail_present = [g for g in sets["tail"] if support[g] > 0]
    out["macro_present"] = float(np.mean([per_genre[g] for g in present])) if present else 0.0
    out["tail_present"] = float(np.mean([per_genre[g] for g in tail_present])) if tail_present else 0.0
    out["n_present"] = len(present)
    out["per_genre"] = per_genre
    out["support"] = support
    return out


def _metrics_of(item: Mapping[str, Any]) -> Mapping[str, Any]:
    """Accept either a metrics dict or a per-seed entry ``{"seed", "metrics", ...}``."""
    return item["metrics"] if "metrics" in item and isinstance(item["metrics"], Mapping) else item


def aggregate(per_seed: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Mean and population std (``ddof=0``) over seeds of every scalar score and per-genre F1.

    ``per_seed`` holds one :func:`evaluate` result per seed (or per-seed record entries with a
    ``"metrics"`` key). Returns ``{"mean": {...}, "std": {...}}``, each shaped like a metrics dict
    without ``support``. Every seed must carry the :data:`SCALAR_METRICS` of seed #0 and the same
    genres; each of the :data:`PRESENT_METRICS` is aggregated when every seed carries it.
    """
    items = [_metrics_of(m) for m in per_seed]
    if not items:
        raise ValueError("aggregate needs at least one seed's metrics")
    scalars = [k for k in SCALAR_METRICS if k in items[0]]
    genre_keys = list(items[0].get("per_genre", {}))
    scalars += [k for k in PRESENT_METRICS if all(k in m for m in items)]
    for i, m in enumerate(items):
        missing = [k for k in scalars if k not in m]
        if missing:
            raise ValueError(f"seed #{i} metrics lack {', '.join(missing)} (present in seed #0)")
        if set(m.get("per_genre", {})) != set(genre_keys):
            raise ValueError(f"seed #{i} per-genre keys differ from seed #0's")
    mean: dict[str, Any] = {}
    std: dict[str, Any] = {}
    for k in scalars:
        vals = np.array([float(m[k]) for m in items])
        mean[k], std[k] = float(vals.mean()), float(vals.std(ddof=0))
    if genre_keys:
        mean["per_genre"], std["per_genre"] = {}, {}
        for g in genre_keys:
            vals = np.array([float(m["per_genre"][g]) for m in items])
            mean["per_genre"][g], std["per_genre"][g] = float(vals.mean()), float(vals.std(ddof=0))
    return {"mean": mean, "std": std}


# ----------------------------------------------------------------------------- dev-side decisions


def _label_array(labels: Any) -> np.ndarray:
    """0/1 labels as an int numpy array, from an array or a tensor on any device (duck-typed:
    anything with ``.cpu()`` and ``.numpy()``, so torch is never imported here)."""
    if hasattr(labels, "cpu") and hasattr(labels, "numpy"):
        labels = labels.cpu().numpy()
    return np.asarray(labels).astype(int)


def macro_f1(labels: Any, proba: np.ndarray, threshold: float | np.ndarray = 0.5) -> float:
    """Macro-F1 over genres at ``threshold`` (one value, or one per genre; genres with no positive
    and no prediction count as 0)."""
    from sklearn.metrics import f1_score  # lazy: keeps scikit-learn out of the import

    y = _label_array(labels)
    return float(f1_score(y, (proba >= threshold).astype(int), average="macro", zero_division=0))


#: How the decision threshold is set: a fixed 0.5, one threshold chosen on dev, or one per genre.
THRESHOLD_POLICIES: tuple[str, ...] = ("fixed", "global", "per-genre")
#: Candidate thresholds searched on dev.
THRESHOLD_GRID: np.ndarray = np.round(np.arange(0.05, 0.951, 0.05), 2)


def _best_on_grid(scores: np.ndarray) -> float:
    """The grid threshold with the best score; ties go to the one closest to 0.5."""
    best = scores.max()
    ties = THRESHOLD_GRID[np.isclose(scores, best)]
    return float(ties[np.argmin(np.abs(ties - 0.5))])


def select_threshold(labels: Any, proba: np.ndarray, policy: str) -> float | np.ndarray:
    """The decision threshold(s) of ``policy`` chosen on dev ``labels`` / ``proba``.

    The policy has no default here: the run's (``benchmarks.spec.TrainSpec.threshold``) is the one.
    ``fixed``: 0.5. ``global``: the grid value with the best dev macro-F1. ``per-genre``: for each
    genre the grid value with the best dev F1 of that genre; a genre without a dev positive keeps
    the global threshold (its F1 is 0 whatever the threshold). Returns a float, or a (C,) array.
    """
    if policy not in THRESHOLD_POLICIES:
        raise ValueError(f"The 'threshold' policy must be one of {', '.join(THRESHOLD_POLICIES)}. Got {policy!r} instead.")
    if policy == "fixed":
        return 0.5
    from sklearn.metrics import f1_score  # lazy: keeps scikit-learn out of the import

    y = _label_array(labels)
    proba = np.asarray(proba)
    best_global = _best_on_grid(np.array([macro_f1(y, proba, t) for t in THRESHOLD_GRID]))
    if policy == "global":
        return best_global
    out = np.full(y.shape[1], best_global)
    for g in np.flatnonzero(y.sum(axis=0) > 0):
        per = [f1_score(y[:, g], (proba[:, g] >= t).astype(int), zero_division=0) for t in THRESHOLD_GRID]
        out[g] = _best_on_grid(np.array(per))
    return out


#: What picks the checkpoint (and drives early stopping) on dev: macro-F1 at the run's threshold
#: policy, the dev binary cross-entropy (lower is better), or the macro average precision.
SELECTION_METRICS: tuple[str, ...] = ("f1", "loss", "ap")


def dev_score(labels: Any, proba: np.ndarray, metric: str, threshold: str | None = None) -> float:
    """The checkpoint score of ``metric`` on dev (higher is better; ``loss`` is negated BCE).

    ``ap`` averages sklearn's ``average_precision_score`` over the genres with a dev positive
    (a genre without one has no defined AP).
    """
    y = _label_array(labels)
    if metric == "f1":  # at the probabilities' own precision, as every threshold is compared
        if threshold is None:
            raise ValueError("dev_score(metric='f1') needs the run's threshold policy")
        return macro_f1(y, proba, select_threshold(y, proba, threshold))
    proba = np.asarray(proba, dtype=np.float64)
    if metric == "loss":
        p = np.clip(proba, 1e-7, 1 - 1e-7)
        return float(np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    if metric == "ap":
        from sklearn.metrics import average_precision_score

        cols = np.flatnonzero(y.sum(axis=0) > 0)
        return float(average_precision_score(y[:, cols], proba[:, cols], average="macro")) if len(cols) else 0.0
    raise ValueError(f"The 'select' metric must be one of {', '.join(SELECTION_METRICS)}. Got {metric!r} instead.")


#: How each genre's positive terms are weighted in the training loss: plain BCE (``none``), or
#: ``balanced``: by n_negative / n_positive over the training rows (:func:`balanced_pos_weight`).
CLASS_WEIGHTS: tuple[str, ...] = ("none", "balanced")


def check_class_weight(class_weight: str) -> None:
    """The one-line error for an unknown ``class_weight`` (the trainer's and the probes')."""
    if class_weight not in CLASS_WEIGHTS:
        raise ValueError(f"The 'class_weight' must be one of {', '.join(CLASS_WEIGHTS)}. Got {class_weight!r} instead.")


def balanced_pos_weight(labels: Any) -> np.ndarray:
    """Per genre, n_negative / n_positive over the training rows, as float64: the ``pos_weight`` of
    ``class_weight="balanced"`` (the ratio of sklearn's "balanced" class weights). A genre without
    a positive or without a negative gets 1 (there is nothing to balance)."""
    y = _label_array(labels)
    pos = y.sum(axis=0).astype(np.float64)
    neg = len(y) - pos
    return np.divide(neg, pos, out=np.ones_like(pos), where=(pos > 0) & (neg > 0))
