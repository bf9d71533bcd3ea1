"""Escaping and Markdown tables for the rendered leaderboard.

Every text taken from a submission is escaped where it is written (:func:`md` for Markdown,
:func:`code` for code spans, :func:`plot_text` for matplotlib), and every table cell goes
through :func:`cell` (one line, pipes escaped), so even a value that got past the validator
renders inert.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

#: Line breaks and other control characters (C0, DEL, C1, Unicode line/paragraph separators).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
#: Characters with a meaning in inline Markdown (GitHub's included), backslash-escaped by :func:`md`.
_MD_PUNCT = re.compile(r"([\\`*_\[\]{}|~!#$])")


def one_line(text: Any) -> str:
    return _CONTROL.sub(" ", str(text))


def md(text: Any) -> str:
    """Submitted text as literal inline Markdown: one line, ``& < >`` as HTML entities, Markdown punctuation escaped."""
    one = one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_PUNCT.sub(r"\\\1", one)


def code(text: Any) -> str:
    """Submitted text as a code span (shown literally): one line, fenced by more backticks than it holds."""
    one = one_line(text)
    fence = "`" * (max((len(run) for run in re.findall("`+", one)), default=0) + 1)
    pad = " " if one.startswith(("`", " ")) or one.endswith(("`", " ")) else ""
    return f"{fence}{pad}{one}{pad}{fence}"


def cell(text: str) -> str:
    """A table cell, the last guard: one line, no raw ``<``/``>``, every unescaped pipe escaped."""
    one = one_line(text).replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"(?<!\\)\|", r"\\|", one)


def plot_text(text: Any) -> str:
    """Submitted text for a matplotlib title or legend: one line, ``$`` escaped (no mathtext)."""
    return one_line(text).replace("$", r"\$")


def slug(text: str) -> str:
    """A plot file name part: only ``A-Za-z0-9._-`` (a submitted name can never leave ``plots/``)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


def value(v: Any) -> str:
    """A config value as JSON text (``"balanced"``, ``0.001``, ``["text", "image"]``)."""
    return json.dumps(v, sort_keys=True, ensure_ascii=False)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table (its lines and a blank line); every body cell through :func:`cell`."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def pm(record: Mapping[str, Any], metric: str) -> str:
    """``mean ± std`` of one score, as F1 × 100 with two decimals."""
    agg = record["aggregate"]
    return f"{100 * agg['mean'][metric]:.2f} ± {100 * agg['std'][metric]:.2f}"


def delta(a: float, b: float) -> str:
    return f"{100 * (a - b):+.2f}"


def interval_text(ci: Any) -> str:
    """``estimate [low, high]`` of a :class:`mmimdb2.bootstrap.Interval` as F1 × 100, ``—`` for ``None``."""
    return "—" if ci is None else f"{100 * ci.estimate:.2f} [{100 * ci.low:.2f}, {100 * ci.high:.2f}]"


def versus_text(mark: str, d: Any) -> str:
    """A row's verdict against the table's best: ``**best**``, ``≈ Δ [low, high]`` (tied: the
    interval holds 0), ``Δ [low, high]`` (apart) or ``—`` (not compared); Δ is a
    :class:`mmimdb2.bootstrap.Difference`, F1 × 100."""
    if mark == "best":
        return "**best**"
    if d is None:
        return "—"
    text = f"{100 * d.estimate:+.2f} [{100 * d.low:+.2f}, {100 * d.high:+.2f}]"
    return f"{mark} {text}" if mark else text
