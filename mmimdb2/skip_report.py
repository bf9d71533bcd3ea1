"""How a CLI names the records it skipped: never a bare count.

With ``--verbose`` every skip is listed with its reason; otherwise the first few of each stage are
(so a dropped movie is not hidden behind a hundred missing posters), followed by how many more
there are and how to see them all. Names come from a dataset folder, so they are
printed with control characters escaped: one skip is always one line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from mmimdb2.schema import Skip
from mmimdb2.text import printable

#: How many skips of each stage a report names when not ``--verbose``.
SHOWN_BY_DEFAULT = 3


def skip_line(s: Skip) -> str:
    """One skip as ``item: stage: reason``, on one line whatever the file name holds."""
    return printable(str(s))


def by_stage(skips: Sequence[Skip]) -> dict[str, int]:
    """Skip counts per stage, most frequent first."""
    return dict(Counter(s.stage for s in skips).most_common())


def format_skips(skips: Sequence[Skip], *, verbose: bool, indent: str = "  ", first: int = SHOWN_BY_DEFAULT) -> list[str]:
    """Lines naming the skips: all of them when ``verbose``, else the first ``first`` of each stage
    (in their order) and a line saying how many more there are and that ``--verbose`` lists them."""
    if verbose:
        shown = list(skips)
    else:
        seen: Counter[str] = Counter()
        shown = []
        for s in skips:
            seen[s.stage] += 1
            if seen[s.stage] <= first:
                shown.append(s)
    lines = [indent + skip_line(s) for s in shown]
    if len(shown) < len(skips):
        lines.append(f"{indent}… {len(skips) - len(shown):,} more not shown; run with --verbose to list all {len(skips):,}")
    return lines


def skips_json(skips: Sequence[Skip]) -> list[dict[str, Any]]:
    """Every skip as ``{"item", "stage", "reason"}`` (JSON output lists all, whatever ``--verbose``)."""
    return [{"item": s.item, "stage": s.stage, "reason": s.reason} for s in skips]
