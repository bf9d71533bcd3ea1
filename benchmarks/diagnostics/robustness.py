"""Robustness curves: a row's test macro-F1 at each noise level, summarised as MultiBench does.

MultiBench (Liang et al., NeurIPS 2021 Datasets and Benchmarks, Section 3 and its
``eval_scripts/robustness.py``) scores a model at the noise levels 0, 0.1, ..., 1 of one modality
and summarises the curve f(l_0 = 0), ..., f(l_K) two ways:

- relative robustness: the area under the curve, Σ_k (l_{k+1} − l_k) (f_k + f_{k+1}) / 2 (its
  code: the trapezoid rule with a step of 0.1 over 11 levels);
- effective robustness: the curve against late fusion's, after equalising their clean scores:
  Σ_k (f_k − (r_k + f_0 − r_0)), with r the late-fusion reference under the same noise; above 0, the
  model keeps more of its score than late fusion would from the same start.

MultiBench then min-max normalises both across the methods of its table; here both are reported
raw (a normalised figure would change with whichever rows a run includes). The curve's score is
the leaderboard's: macro-F1 over the genres present, every seed's decisions pooled, at each row's
dev-chosen threshold(s), with its 95% bootstrap interval over test movies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from benchmarks.diagnostics.fitting import FittedRow
from mmimdb2.bootstrap import Interval, bootstrap_macro_f1

#: MultiBench's 11 noise levels.
LEVELS: tuple[float, ...] = tuple(round(0.1 * k, 1) for k in range(11))


def check_levels(levels: Sequence[float]) -> tuple[float, ...]:
    """Levels strictly increasing from 0 (the clean score every summary starts from), within [0, 1]."""
    out = tuple(float(v) for v in levels)
    if len(out) < 2 or out[0] != 0.0 or any(b <= a for a, b in zip(out, out[1:])) or out[-1] > 1.0:
        raise ValueError(f"The noise levels must rise strictly from 0 to at most 1, at least two of them. Got {list(levels)} instead.")
    return out


def relative_robustness(levels: Sequence[float], scores: Sequence[float]) -> float:
    """The area under the score curve over the levels (trapezoid rule): MultiBench's relative robustness."""
    lv, sc = np.asarray(check_levels(levels)), np.asarray(scores, dtype=np.float64)
    if sc.shape != lv.shape:
        raise ValueError(f"one score per level: {len(lv)} levels, {len(sc)} scores")
    return float(np.sum(np.diff(lv) * (sc[1:] + sc[:-1]) / 2))


def effective_robustness(levels: Sequence[float], scores: Sequence[float], reference: Sequence[float]) -> float:
    """Σ_k (f_k − (r_k + f_0 − r_0)) over the levels: MultiBench's effective robustness of the curve
    ``scores`` (f) against the ``reference`` curve (r, late fusion's) under the same noise."""
    lv = check_levels(levels)
    f, r = np.asarray(scores, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    if f.shape != (len(lv),) or r.shape != (len(lv),):
        raise ValueError(f"one score per level: {len(lv)} levels, {f.size} scores and {r.size} reference scores")
    return float(np.sum((f - f[0]) - (r - r[0])))  # = Σ f_k − (r_k + f_0 − r_0), exactly 0 for the reference itself


def row_decisions(rows: Sequence[FittedRow], arrays: Mapping[str, np.ndarray]) -> np.ndarray:
    """(seeds, n, genres) 0/1 decisions of one cell's seeds on ``arrays`` (test inputs, maybe noisy),
    each seed at its own dev-chosen threshold(s)."""
    from mmimdb2.metrics import decisions

    return np.stack([decisions(r.predict_proba(arrays), r.threshold) for r in rows])


def score_decisions(labels: np.ndarray, decided: np.ndarray) -> Interval:
    """Pooled macro-F1 over the genres present, every seed pooled, with its 95% bootstrap interval."""
    return bootstrap_macro_f1(labels, decided)
