"""How much a test score would move on other test movies: percentile bootstrap over test movies.

One row of a leaderboard is one model run with S seeds, each predicting the same n test movies
(0/1 decisions per movie and genre). The statistic is the macro-F1 of the **pooled** predictions:
the S x n (movie, genre) decisions of all seeds scored together against the labels repeated S
times. Per genre, with ``t`` the labels and ``p_s`` seed s's decisions::

    TP = sum_s sum_i t_i p_si      FP = sum_s sum_i (1 - t_i) p_si      FN = sum_s sum_i t_i (1 - p_si)
    F1 = 2 TP / (2 TP + FP + FN)   (0 when the denominator is 0, scikit-learn's zero_division=0)

and the macro-F1 averages F1 over the genres **present** (at least one positive among the
movies scored; ``present_only=False``: over all genres). A run without seed variation (a
deterministic probe) has S identical copies, which changes nothing.

A resample draws n movies with replacement (:func:`resample_counts`: how often each movie is
drawn); the **same draw applies to every seed** of the row, and, for a paired comparison, to
both rows. The statistic is recomputed on the resampled movies, the genres present counted
again. :func:`bootstrap_macro_f1` gives the 2.5th and 97.5th percentiles of :data:`RESAMPLES`
resampled statistics (:func:`percentile_interval`: numpy's linear interpolation);
:func:`paired_bootstrap` the same for the difference a - b of two rows on the same movies, with
its bootstrap mean. The draws come from ``numpy.random.default_rng(seed)`` with the fixed
:data:`SEED`, so every interval is deterministic, and two rows on the same number of movies are
resampled identically.

Vectorised: per movie and genre the pooled TP, FP and FN are tallied once; a resample's counts
are then one matrix product (draw counts x per-movie tallies), :data:`CHUNK` resamples at a time.
numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

#: Bootstrap resamples per interval.
RESAMPLES = 1000
#: Seed of the resampling generator: every interval is reproducible.
SEED = 0
#: Coverage of the percentile intervals.
CONFIDENCE = 0.95
#: Resamples drawn and scored per batch (bounds memory on large test parts).
CHUNK = 100


@dataclass(frozen=True)
class Interval:
    """A statistic on the test movies (``estimate``) and its percentile bootstrap interval."""

    estimate: float
    low: float
    high: float


@dataclass(frozen=True)
class Difference:
    """Row a minus row b on the same movies: the difference of the statistics (``estimate``), the
    mean of the resampled differences (``mean``) and their percentile interval."""

    estimate: float
    mean: float
    low: float
    high: float

    @property
    def tied(self) -> bool:
        """Whether the interval contains 0: the data do not tell the two rows apart."""
        return self.low <= 0.0 <= self.high


def _as_seeds(labels: np.ndarray, predictions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``labels`` as (n, G) and ``predictions`` as (S, n, G), both 0/1; a single (n, G) is one seed."""
    t = np.asarray(labels)
    p = np.asarray(predictions)
    if p.ndim == 2:
        p = p[None]
    if t.ndim != 2 or p.ndim != 3 or p.shape[1:] != t.shape or p.shape[0] == 0:
        raise ValueError(f"predictions must be (seeds, n, G) or (n, G) with labels (n, G); got {p.shape} and {t.shape}")
    if t.shape[0] == 0:
        raise ValueError("cannot bootstrap zero movies")
    if not (np.isin(t, (0, 1)).all() and np.isin(p, (0, 1)).all()):
        raise ValueError("labels and predictions must hold only 0 and 1")
    return t.astype(np.float64), p.astype(np.float64)


def tallies(labels: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """Per movie and genre the pooled (TP, FP, FN, positives) over seeds: a (4, n, G) array.

    ``predictions`` is (S, n, G) (or one seed's (n, G)); TP = t * sum_s p_s, FP = (1 - t) *
    sum_s p_s, FN = t * (S - sum_s p_s), positives = t (one copy: whether a genre is present
    does not depend on S).
    """
    t, p = _as_seeds(labels, predictions)
    votes = p.sum(axis=0)
    return np.stack([t * votes, (1 - t) * votes, t * (p.shape[0] - votes), t])


def macro_f1_of_counts(counts: np.ndarray, *, present_only: bool = True) -> np.ndarray:
    """Macro-F1 from summed (TP, FP, FN, positives), shape (4, ..., G): one value per leading index.

    F1 = 2TP / (2TP + FP + FN), 0 when the denominator is 0. ``present_only``: averaged over the
    genres with positives > 0 (0 when there is none); otherwise over all G genres.
    """
    tp, fp, fn, pos = counts
    den = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, den, out=np.zeros_like(den, dtype=np.float64), where=den > 0)
    if not present_only:
        return f1.mean(axis=-1)
    present = pos > 0
    n = present.sum(axis=-1)
    return np.divide((f1 * present).sum(axis=-1), n, out=np.zeros(n.shape), where=n > 0)


def pooled_macro_f1(labels: np.ndarray, predictions: np.ndarray, *, present_only: bool = True) -> float:
    """The macro-F1 of all seeds' predictions pooled, on the movies as given (no resampling)."""
    return float(macro_f1_of_counts(tallies(labels, predictions).sum(axis=1), present_only=present_only))


@lru_cache(maxsize=4)
def resample_counts(n_movies: int, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """(resamples, n_movies) float64: how often each movie is drawn in each resample of n movies
    drawn with replacement. Deterministic in (n_movies, resamples, seed); cached, read-only."""
    if n_movies < 1 or resamples < 1:
        raise ValueError(f"need at least one movie and one resample; got {n_movies} and {resamples}")
    rng = np.random.default_rng(seed)
    out = np.empty((resamples, n_movies))
    for start in range(0, resamples, CHUNK):
        m = min(CHUNK, resamples - start)
        idx = rng.integers(0, n_movies, size=(m, n_movies))
        flat = (idx + (np.arange(m) * n_movies)[:, None]).ravel()
        out[start : start + m] = np.bincount(flat, minlength=m * n_movies).reshape(m, n_movies)
    out.flags.writeable = False
    return out


def resampled_macro_f1(tally: np.ndarray, counts: np.ndarray, *, present_only: bool = True) -> np.ndarray:
    """The statistic on each resample: ``tally`` from :func:`tallies` (4, n, G), ``counts`` (B, n)
    from :func:`resample_counts`; returns (B,)."""
    out = np.empty(len(counts))
    for start in range(0, len(counts), CHUNK):
        block = counts[start : start + CHUNK]
        summed = block @ tally  # (b, n) @ (4, n, G) -> (4, b, G)
        out[start : start + len(block)] = macro_f1_of_counts(summed, present_only=present_only)
    return out


def percentile_interval(values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The (1 - confidence) / 2 and (1 + confidence) / 2 quantiles of ``values`` (linear interpolation)."""
    if not 0 < confidence < 1:
        raise ValueError(f"The 'confidence' parameter must be in (0, 1). Got {confidence} instead.")
    alpha = (1 - confidence) / 2
    low, high = np.quantile(np.asarray(values, dtype=np.float64), [alpha, 1 - alpha])
    return float(low), float(high)


def bootstrap_macro_f1(
    labels: np.ndarray,
    predictions: np.ndarray,
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    confidence: float = CONFIDENCE,
    present_only: bool = True,
) -> Interval:
    """Pooled macro-F1 of one row (``predictions`` (S, n, G)) and its percentile bootstrap interval
    over the n test movies, each resample applied to every seed alike."""
    tally = tallies(labels, predictions)
    stats = resampled_macro_f1(tally, resample_counts(tally.shape[1], resamples, seed), present_only=present_only)
    low, high = percentile_interval(stats, confidence)
    return Interval(float(macro_f1_of_counts(tally.sum(axis=1), present_only=present_only)), low, high)


def paired_bootstrap(
    labels: np.ndarray,
    predictions_a: np.ndarray,
    predictions_b: np.ndarray,
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    confidence: float = CONFIDENCE,
    present_only: bool = True,
) -> Difference:
    """Pooled macro-F1 of row a minus row b on the same movies (same ``labels``, same order), each
    resample drawing the same movies for both rows (and every seed of each)."""
    ta, tb = tallies(labels, predictions_a), tallies(labels, predictions_b)
    counts = resample_counts(ta.shape[1], resamples, seed)
    diffs = resampled_macro_f1(ta, counts, present_only=present_only) - resampled_macro_f1(tb, counts, present_only=present_only)
    low, high = percentile_interval(diffs, confidence)
    estimate = macro_f1_of_counts(ta.sum(axis=1), present_only=present_only) - macro_f1_of_counts(tb.sum(axis=1), present_only=present_only)
    return Difference(float(estimate), float(diffs.mean()), low, high)
