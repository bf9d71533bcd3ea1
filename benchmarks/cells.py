"""The per-job result cache under ``<out>/cells/``: one file per (cell, seed), trusted only when whole.

A job's file name carries a key over everything that can change its result, so an edit of any of
them is a cache miss, never a stale result: the result's identity (dataset name and version, split
hash, protocol, model and its resolved config, seed, encoder, KG model/dim/epochs, drop, threshold),
the dataset's *content* fingerprint (the one the feature cache keys on), the encoder's
preprocessing, every trainer and KG-embedding setting (their defaults overlaid with what the run
passes), the torch and PyKEEN versions, and this cache's format. A file that is unreadable, not a
valid result or not the job's result is recomputed with one notice line.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import inspect
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

#: Bump when the meaning of a cell file changes (old files are then simply not found).
CELL_FORMAT = 2

#: Arguments that say how or where a job runs, not what it computes.
RUN_ONLY = frozenset({"seed", "device", "progress", "name", "cache_dir", "eval_batch_size"})


def settings_of(fn: Callable[..., Any], given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``fn``'s keyword defaults (less :data:`RUN_ONLY`), overlaid with the ``given`` values it takes.

    Read from the signature, so a changed default (a learning rate, a weight decay) changes the
    key without anyone remembering to list it here.
    """
    params = inspect.signature(fn).parameters
    out = {
        name: p.default
        for name, p in params.items()
        if p.default is not inspect.Parameter.empty and name not in RUN_ONLY
    }
    out.update({k: v for k, v in (given or {}).items() if k in out})
    return out


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def cell_key(
    probe: Mapping[str, Any],
    *,
    content_sha256: str,
    preprocessing: str,
    trainer: Mapping[str, Any],
    kg_embedding: Mapping[str, Any],
) -> str:
    """sha256 of every input of one job's result (see the module docstring); ``probe`` is the
    job's result record before it ran (its identity fields are what matter)."""
    from leaderboard.results import SCHEMA_VERSION, identity

    fields = {
        "format": CELL_FORMAT,
        "schema_version": SCHEMA_VERSION,
        "identity": identity(probe),
        "content_sha256": content_sha256,
        "preprocessing": preprocessing,
        "trainer": dict(trainer),
        "kg_embedding": dict(kg_embedding),
        "versions": {d: _version(d) for d in ("torch", "pykeen")},
    }
    blob = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def cell_path(out: Path, probe: Mapping[str, Any], key: str) -> Path:
    """``<out>/cells/<dataset>__<model>__seed<S>__<key16>.json``."""
    from leaderboard.results import result_filename

    prefix = result_filename(probe).rsplit("__", 1)[0]  # the record's own file-safe dataset/model names
    return Path(out) / "cells" / f"{prefix}__seed{probe['seeds'][0]}__{key[:16]}.json"


def read_cell(path: Path, probe: Mapping[str, Any]) -> dict[str, Any] | None:
    """The finished job's record at ``path``; None when there is none or it cannot be trusted.

    A file that is not JSON, not a valid result, or the result of another job is reported in one
    line; the caller recomputes the job and the new record overwrites the file atomically.
    """
    from leaderboard.results import identity, read_result, schema_errors

    if not path.exists():
        return None
    try:
        record = read_result(path)
    except ValueError as e:  # ResultError and BadJSON are ValueErrors
        why = str(e).splitlines()[0].removeprefix(f"{path}: ")
        return _damaged(path, why)
    errors = schema_errors(record)
    if errors:
        return _damaged(path, f"not a valid result ({len(errors)} schema error(s), first: {errors[0]})")
    if identity(record) != identity(probe):
        return _damaged(path, "holds the result of another job")
    return record


def _damaged(path: Path, why: str) -> None:
    print(f"cells: {path.name} unusable ({why}); recomputing", file=sys.stderr)
    return None
