"""Scores of a result record: the scalar metrics every metrics dict carries, and their mean and
population standard deviation over seeds (:func:`aggregate`).

They live in the leaderboard because the record stores them and the validator recomputes them;
:mod:`benchmarks.metrics` computes the per-seed scores and re-exports these names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

#: Scalar scores every metrics dict carries, in the order tables show them.
SCALAR_METRICS: tuple[str, ...] = ("micro", "macro", "weighted", "samples", "head", "tail")


def _metrics_of(item: Mapping[str, Any]) -> Mapping[str, Any]:
    """Accept either a metrics dict or a per-seed entry ``{"seed", "metrics", ...}``."""
    return item["metrics"] if "metrics" in item and isinstance(item["metrics"], Mapping) else item


def aggregate(per_seed: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Mean and population std (``ddof=0``) over seeds of every scalar score and per-genre F1.

    ``per_seed`` holds one :func:`benchmarks.metrics.evaluate` result per seed (or per-seed record entries with a
    ``"metrics"`` key). Returns ``{"mean": {...}, "std": {...}}``, each shaped like a metrics dict
    without ``support``. Every seed must carry the same keys and the same genres.
    """
    items = [_metrics_of(m) for m in per_seed]
    if not items:
        raise ValueError("aggregate needs at least one seed's metrics")
    scalars = [k for k in SCALAR_METRICS if k in items[0]]
    genre_keys = list(items[0].get("per_genre", {}))
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
