"""When progress bars are shown: one rule for every command line of the project.

A bar redrawn with ``\\r`` is useful on a terminal and noise in a redirected log (every frame is
kept), so ``--progress`` / ``--no-progress`` force it either way and, given neither, a bar is
shown only when stderr (where tqdm draws) is a terminal.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO


def show_progress(requested: bool | None = None, stream: TextIO | None = None) -> bool:
    """``requested`` when given (a flag), else whether ``stream`` (default stderr) is a terminal."""
    if requested is not None:
        return bool(requested)
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


def add_progress_flag(parser: argparse.ArgumentParser) -> None:
    """``--progress`` / ``--no-progress`` (dest ``progress``: True, False, or None for the rule above)."""
    parser.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None,
        help="show progress bars (default: only when stderr is a terminal, so redirected logs hold no bar frames)",
    )  # fmt: skip
