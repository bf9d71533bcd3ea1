"""The leaderboard: result records (one JSON per run), their schema, the validator and the renderer.

Build a record with :func:`make_result`, write it with :func:`submit_result` (or
:func:`write_result`), check the folder with ``python -m leaderboard.validate`` and regenerate
``leaderboard/README.md`` with ``python -m leaderboard.render``; :func:`to_dataframe` gives every
valid result as one pandas row (``--csv FILE`` writes it, ``--html DIR`` writes a browsable page).
"""

from leaderboard.frame import to_dataframe
from leaderboard.provenance import code_version, hardware_info
from leaderboard.results import (
    LEADERBOARD_DIR,
    SCHEMA_VERSION,
    ResultError,
    load_results,
    make_result,
    merge_results,
    read_result,
    result_filename,
    result_key,
    submit_result,
    write_result,
)

__all__ = [
    "LEADERBOARD_DIR", "SCHEMA_VERSION", "ResultError", "code_version", "hardware_info", "load_results",
    "make_result", "merge_results", "read_result", "result_filename", "result_key", "submit_result", "to_dataframe",
    "write_result",
]  # fmt: skip
