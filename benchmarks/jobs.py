"""The job cache under ``<out>/jobs/``: one JSON entry of the one cache store
(:class:`benchmarks.cache.CacheStore`) per job (one cell, one seed), trusted only when whole and
consistent.

A job's entry is named by a key over everything that can change its result, so an edit of any of
them is a cache miss, never a stale result: the result's identity, the job's resolved
:class:`benchmarks.spec.CellSpec` (every model, training, KG-embedding and encoder setting,
defaults included), the dataset's *content* fingerprint (the one the feature cache keys on), the
encoder's preprocessing, the torch and PyKEEN versions, and the store's format. An entry that is
unreadable, not a valid result, not the job's result, or whose numbers the validator's
consistency checks contradict (a score that is not the score of its stored predictions) is
recomputed with one notice line.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchmarks.cache import CacheStore
from leaderboard.record import SCHEMA_VERSION, ResultRecord, upgrade
from leaderboard.results import file_stem, identity, read_result, schema_errors
from leaderboard.validate import consistency_problems

#: Bump when the meaning of a job entry changes (old entries are then simply not found).
JOB_FORMAT = 6  # 5: schema version 2 (own timings, the KG as trained, cost); 6: thread-independent training


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


class JobCache:
    """The finished jobs of one ``--out`` folder, each a result record named by its key."""

    def __init__(self, out: str | Path) -> None:
        self.store = CacheStore(Path(out), "jobs", JOB_FORMAT)

    def name(self, ident: Mapping[str, Any], spec: Mapping[str, Any], *, content_sha256: str, preprocessing: str) -> str:
        """``<dataset>__<model>__seed<S>__<key16>``: readable, and keyed by every input of the job."""
        key = {
            "schema_version": SCHEMA_VERSION,
            "identity": dict(ident),
            "spec": dict(spec),
            "content_sha256": content_sha256,
            "preprocessing": preprocessing,
            "versions": {d: _version(d) for d in ("torch", "pykeen")},
        }
        return f"{file_stem(ident)}__seed{ident['seeds'][0]}__{self.store.name(key)[:16]}"

    def path(self, name: str) -> Path:
        return self.store.json_path(name)

    def read(self, name: str, ident: Mapping[str, Any]) -> dict[str, Any] | None:
        """The finished job's record; None when there is none or it cannot be trusted (one line)."""

        def refuse(record: Any) -> str | None:
            errors = schema_errors(record)
            if errors:
                return f"not a valid result ({len(errors)} schema error(s), first: {errors[0]})"
            if identity(record) != dict(ident):
                return "holds the result of another job"
            wrong = consistency_problems(record)
            return f"its numbers do not add up ({len(wrong)} problem(s), first: {wrong[0]})" if wrong else None

        return self.store.load_json(name, refuse, read=lambda p: upgrade(read_result(p)))

    def write(self, name: str, record: Mapping[str, Any]) -> Path:
        """Write a finished job's record atomically (schema-checked)."""
        return ResultRecord.from_dict(record).to_disk(self.path(name))
