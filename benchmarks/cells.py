"""The per-job result cache under ``<out>/cells/``: one file per (cell, seed), trusted only when whole.

A job's file name carries a key over everything that can change its result, so an edit of any of
them is a cache miss, never a stale result: the result's identity, the job's resolved
:class:`benchmarks.spec.CellSpec` (every model, training, KG-embedding and encoder setting,
defaults included), the dataset's *content* fingerprint (the one the feature cache keys on), the
encoder's preprocessing, the torch and PyKEEN versions, and this cache's format. A file that is
unreadable, not a valid result or not the job's result is recomputed with one notice line.
"""

from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from leaderboard.results import SCHEMA_VERSION, ResultError, digest, file_stem, identity, read_result, schema_errors

#: Bump when the meaning of a cell file changes (old files are then simply not found).
CELL_FORMAT = 3


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def cell_key(ident: Mapping[str, Any], spec: Mapping[str, Any], *, content_sha256: str, preprocessing: str) -> str:
    """The one digest of every input of one job's result (see the module docstring)."""
    return digest({
        "format": CELL_FORMAT,
        "schema_version": SCHEMA_VERSION,
        "identity": dict(ident),
        "spec": dict(spec),
        "content_sha256": content_sha256,
        "preprocessing": preprocessing,
        "versions": {d: _version(d) for d in ("torch", "pykeen")},
    })  # fmt: skip


def cell_path(out: Path, ident: Mapping[str, Any], key: str) -> Path:
    """``<out>/cells/<dataset>__<model>__seed<S>__<key16>.json``."""
    return Path(out) / "cells" / f"{file_stem(ident)}__seed{ident['seeds'][0]}__{key[:16]}.json"


def read_cell(path: Path, ident: Mapping[str, Any]) -> dict[str, Any] | None:
    """The finished job's record at ``path``; None when there is none or it cannot be trusted.

    A file that is not JSON, not a valid result, or the result of another job is reported in one
    line; the caller recomputes the job and the new record overwrites the file atomically.
    """
    if not path.exists():
        return None
    try:
        record = read_result(path)
    except ResultError as e:
        why = str(e).splitlines()[0].removeprefix(f"{path}: ")
        return _damaged(path, why)
    errors = schema_errors(record)
    if errors:
        return _damaged(path, f"not a valid result ({len(errors)} schema error(s), first: {errors[0]})")
    if identity(record) != dict(ident):
        return _damaged(path, "holds the result of another job")
    return record


def _damaged(path: Path, why: str) -> None:
    print(f"cells: {path.name} unusable ({why}); recomputing", file=sys.stderr)
    return None
