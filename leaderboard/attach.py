"""Attach a diagnostic (EMAP, robustness) to the leaderboard row whose model it diagnosed.

A diagnostic refits a row's model (:mod:`benchmarks.diagnostics.fitting`) and queries it on
inputs of its own. Its numbers belong to the row only if the refit *is* the row's model, so a
block is attached only when the refit's test decisions equal, bit for bit and seed by seed, the
predictions the row's file stores, on the same movies (same ids hash and labels). Anything else
(a row made by other code, or without stored predictions) is refused in one line, and the file is
left as it was.

Two diagnostics may attach to one row at once (EMAP and robustness in two terminals): each
read-modify-write holds an flock on ``<leaderboard>/.attach.lock`` (:func:`mmimdb2.io.exclusive_lock`),
so neither loses the other's block; the write itself is atomic.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from leaderboard.contract import ResultError, read_result, write_result
from leaderboard.predictions import PredictionsError, read_predictions
from leaderboard.record import ResultRecord
from leaderboard.results import filename_of, identity, submissions_dir
from mmimdb2.io import exclusive_lock

#: The diagnostics a record can carry (``schema.json``'s ``diagnostics`` properties).
KINDS: tuple[str, ...] = ("emap", "robustness")
#: The lock file, in the leaderboard folder beside ``submissions/`` (which holds results only).
LOCK_NAME = ".attach.lock"


def row_path(ident: Mapping[str, Any], leaderboard_dir: str | Path | None = None) -> Path:
    """Where the row of identity ``ident`` lives in the leaderboard (it may not exist)."""
    return submissions_dir(leaderboard_dir) / filename_of(ident)


def attach(
    ident: Mapping[str, Any],
    kind: str,
    block: Mapping[str, Any],
    *,
    decisions: np.ndarray,
    ids_sha256: str,
    leaderboard_dir: str | Path | None = None,
) -> Path:
    """Put ``block`` as ``diagnostics[kind]`` of the row of identity ``ident`` and return its path.

    ``decisions``: the refit model's (seeds, movies, genres) 0/1 test decisions, in the row's seed
    order; ``ids_sha256``: the hash of the test ids in that order. Raises :class:`ResultError`
    (one line naming the file) when there is no such row, it stores no predictions, or the refit
    does not reproduce them.
    """
    if kind not in KINDS:
        raise ResultError(f"unknown diagnostic {kind!r} (known: {', '.join(KINDS)})")
    path = row_path(ident, leaderboard_dir)
    with exclusive_lock(path.parent.parent / LOCK_NAME):
        if not path.is_file():
            raise ResultError(f"no leaderboard row {path.name} for this model, data and seeds: run it with --submit first")
        record = read_result(path)
        if identity(record) != dict(ident):
            raise ResultError(f"{path}: the file's identity is not this row's (renamed by hand?)")
        _check_same_model(record, np.asarray(decisions), ids_sha256, path)
        out = dict(record)
        out["diagnostics"] = {**(record.get("diagnostics") or {}), kind: dict(block)}
        ResultRecord.from_dict(out)  # schema and types, before anything is written
        return write_result(out, path)


def _check_same_model(record: Mapping[str, Any], decisions: np.ndarray, ids_sha256: str, path: Path) -> None:
    try:
        stored = read_predictions(record)
    except PredictionsError as e:
        raise ResultError(f"{path}: {e}") from None
    if stored is None:
        raise ResultError(f"{path}: the row stores no test predictions, so a refit cannot be checked against it; remake the row")
    if stored.ids_sha256 != ids_sha256:
        raise ResultError(f"{path}: the row was scored on other test movies (ids hash differs)")
    if stored.seeds.shape != decisions.shape:
        raise ResultError(f"{path}: the row has {stored.seeds.shape[0]} seed(s) x {stored.seeds.shape[1]} movies, "
                          f"the diagnostic {decisions.shape[0]} x {decisions.shape[1]}")  # fmt: skip
    differ = float(np.mean(stored.seeds != decisions.astype(stored.seeds.dtype)))
    if differ:
        raise ResultError(f"{path}: the refit model is not the row's ({differ:.2%} of the test decisions differ): "
                          "remake the row with this code (python -m benchmarks.board), then diagnose it")  # fmt: skip
