"""Which rows of a table the test part can tell apart: bootstrap intervals and ties from the test
predictions stored in the records (:mod:`leaderboard.predictions`).

The score is the macro-F1 over the genres present in the test labels of every seed's decisions
pooled (:func:`mmimdb2.bootstrap.pooled_macro_f1`), with its 95% percentile bootstrap interval
over test movies (:func:`mmimdb2.bootstrap.bootstrap_macro_f1`). In a table the row with the
highest score is the *best*; every other row gets its paired bootstrap difference to the best
(:func:`mmimdb2.bootstrap.paired_bootstrap`, one draw of movies for both) and is *tied with best*
when that interval contains 0. Rows without stored predictions get no interval and no mark; a
row is compared with the best only when both predicted the same movies (:func:`~leaderboard.predictions.paired`).

Records are validated before they are rendered; results are cached by the stored text, so a row
shown in several tables is bootstrapped once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from leaderboard.predictions import StoredPredictions, paired, read_predictions
from mmimdb2.bootstrap import Difference, Interval, bootstrap_macro_f1, paired_bootstrap
from mmimdb2.genres import GENRES

#: Shown for a row without stored predictions (no interval, no tie).
NONE = "—"
#: Marks the best row of a table, and a row tied with it.
BEST, TIED = "best", "≈"

_Key = tuple[int, str, str, tuple[str, ...]]


def _key(record: Mapping[str, Any]) -> _Key | None:
    test = record.get("test_labels")
    if test is None:
        return None
    return (test["n_movies"], test["ids_sha256"], test["packed"], tuple(e["predictions"] for e in record["per_seed"]))


@lru_cache(maxsize=256)
def _stored(key: _Key) -> StoredPredictions:
    n, ids, packed, seeds = key
    record = {"test_labels": {"n_movies": n, "ids_sha256": ids, "packed": packed}, "per_seed": [{"predictions": p} for p in seeds]}
    stored = read_predictions(record)
    assert stored is not None
    return stored


@lru_cache(maxsize=1024)
def _interval(key: _Key) -> Interval:
    stored = _stored(key)
    return bootstrap_macro_f1(stored.labels, stored.seeds)


@lru_cache(maxsize=4096)
def _difference(a: _Key, b: _Key) -> Difference | None:
    sa, sb = _stored(a), _stored(b)
    return paired_bootstrap(sa.labels, sa.seeds, sb.seeds) if paired(sa, sb) else None


def row_interval(record: Mapping[str, Any]) -> Interval | None:
    """The pooled macro-F1 (present genres) of a row and its 95% bootstrap interval; ``None`` without predictions."""
    key = _key(record)
    return None if key is None else _interval(key)


def difference(a: Mapping[str, Any], b: Mapping[str, Any]) -> Difference | None:
    """Row ``a`` minus row ``b`` with its paired 95% interval; ``None`` unless both have predictions on the same movies."""
    ka, kb = _key(a), _key(b)
    return None if ka is None or kb is None else _difference(ka, kb)


def n_present(record: Mapping[str, Any]) -> int | None:
    """How many genres have a positive among the row's stored test labels; ``None`` without predictions."""
    key = _key(record)
    return None if key is None else int((_stored(key).labels.sum(axis=0) > 0).sum())


@dataclass(frozen=True)
class RowMark:
    """A row's interval (``None`` without predictions), and how it compares with the table's best
    row: ``"best"``, ``"≈"`` (tied), ``""`` (apart) or ``"—"`` (not compared), with the difference."""

    interval: Interval | None
    mark: str
    versus: Difference | None = None


def marks(records: Sequence[Mapping[str, Any]]) -> list[RowMark]:
    """One :class:`RowMark` per record (:func:`mark_rows` on the records' stored predictions); a
    row on other movies than the best's is not compared."""
    return mark_rows([row_interval(r) for r in records], lambda i, best: difference(records[i], records[best]))


def mark_rows(intervals: Sequence[Interval | None], difference_to: Callable[[int, int], Difference | None]) -> list[RowMark]:
    """The best row (highest estimate; the first on a tie) is marked when at least two rows have
    an interval, every other one tied or apart by ``difference_to(row, best)``, its paired
    interval against the best (None: not comparable). Results and cross-validation share it."""
    scored = [i for i, ci in enumerate(intervals) if ci is not None]
    if len(scored) < 2:
        return [RowMark(ci, NONE) for ci in intervals]
    best = max(scored, key=lambda i: (intervals[i].estimate, -i))
    out = []
    for i, ci in enumerate(intervals):
        if i == best:
            out.append(RowMark(ci, BEST))
            continue
        d = None if ci is None else difference_to(i, best)
        out.append(RowMark(ci, NONE) if d is None else RowMark(ci, TIED if d.tied else "", d))
    return out


def present_label(records: Sequence[Mapping[str, Any]]) -> str:
    """``"21/23"``: how many genres the rows' test labels hold (a range if rows differ), ``""`` without predictions."""
    counts = sorted({c for c in (n_present(r) for r in records) if c is not None})
    if not counts:
        return ""
    low, high = counts[0], counts[-1]
    return f"{low}/{len(GENRES)}" if low == high else f"{low}–{high}/{len(GENRES)}"


@lru_cache(maxsize=1024)
def _subset_interval(key: _Key, columns: tuple[int, ...]) -> Interval:
    stored = _stored(key)
    cols = list(columns)
    return bootstrap_macro_f1(stored.labels[:, cols], stored.seeds[:, :, cols], present_only=False)


def subset_interval(record: Mapping[str, Any], genres: Sequence[str]) -> Interval | None:
    """The pooled mean F1 over ``genres`` (absent ones count 0, as a record's head and tail do) and
    its 95% bootstrap interval over test movies; ``None`` without stored predictions."""
    key = _key(record)
    return None if key is None else _subset_interval(key, tuple(GENRES.index(g) for g in genres))
