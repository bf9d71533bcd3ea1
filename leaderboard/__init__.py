"""The leaderboard: result records (one JSON per run), their schema, the validator and the renderer.

Build a record with :func:`make_result`, write it with :func:`submit_result` (or
:func:`write_result`), check the folder with ``python -m leaderboard.validate`` and regenerate
``leaderboard/README.md`` with ``python -m leaderboard.render``; :func:`to_dataframe` gives every
valid result as one pandas row (``--csv FILE`` writes it, ``--html DIR`` writes a browsable page).
The typed record is :class:`ResultRecord`.

The names are imported on first use, so ``python -m leaderboard.validate`` (or ``.render``) does
not import its own module twice (Python's "found in sys.modules" warning).
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "to_dataframe": "leaderboard.frame",
    "code_version": "leaderboard.provenance",
    "hardware_info": "leaderboard.provenance",
    "ResultRecord": "leaderboard.record",
    **dict.fromkeys(("LEADERBOARD_DIR", "SCHEMA_VERSION", "ResultError", "load_results", "make_result", "merge_results",
                     "read_result", "result_filename", "result_key", "submit_result", "write_result"), "leaderboard.results"),
}  # fmt: skip

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'leaderboard' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
