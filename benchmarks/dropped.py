"""Which movies the split lists but a run cannot use, and why: never a silent drop.

The loader leaves a listed movie out of the split when its file is missing, unreadable, or has no
usable genre, and records that as skips (:attr:`mmimdb2.MovieDataset.skips`): one ``split`` skip
per lost id (naming its part) and one per bad file (naming the cause). This module joins the two
into one drop per movie with its part and reason, and counts the movies that are kept but miss
an input (no poster, no plot: their features are zero rows). ``benchmarks.run`` prints the counts
in one line, every drop with ``--verbose``, and writes them all to ``<out>/dropped/``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mmimdb2.dataset import MovieDataset
from mmimdb2.io import atomic_write_json
from mmimdb2.schema import InvalidId, Skip, normalize_imdb_id
from mmimdb2.splits import PARTS

#: The loader's wording of a split skip: "listed in <part> of <source>, but ...".
_LISTED_IN = re.compile(r"^listed in (train|dev|test) of ")
#: Skip stages of a kept movie that lacks an input the models read.
MISSING_INPUTS = ("poster", "plot")


@dataclass(frozen=True)
class Drop:
    """One listed movie left out: its id, split part, reason (the cause's skip stage, or
    ``no-file`` when the dataset has no file for it) and the loader's full explanation."""

    id: str
    part: str
    reason: str
    detail: str


def _skip_id(item: str) -> str | None:
    """The movie id a skip's item (a file name such as ``tt0100811.json`` or ``0029442.jpeg``) names."""
    try:
        return normalize_imdb_id(Path(item).stem)
    except InvalidId:
        return None


def dropped_movies(dataset: MovieDataset) -> list[Drop]:
    """Every listed movie the split lost, in the loader's order, with its part and cause."""
    causes: dict[str, Skip] = {}  # the last problem met per id: file-level skips come before the record's
    for s in dataset.skips:
        mid = _skip_id(s.item) if s.stage != "split" else None
        if mid is not None and "kept" not in s.reason:
            causes[mid] = s
    out = []
    for s in dataset.skips:
        listed = _LISTED_IN.match(s.reason) if s.stage == "split" else None
        if listed is None:
            continue
        cause = causes.get(s.item)
        reason, detail = (cause.stage, f"{cause.item}: {cause.reason}") if cause else ("no-file", s.reason)
        out.append(Drop(s.item, listed.group(1), reason, detail))
    return out


def missing_inputs(dataset: MovieDataset) -> dict[str, dict[str, list[str]]]:
    """``{input: {part: [ids]}}`` of kept movies without a poster or a plot."""
    part_of = {i: p for p in PARTS for i in dataset.split[p]}
    out: dict[str, dict[str, list[str]]] = {k: {} for k in MISSING_INPUTS}
    for s in dataset.skips:
        mid = _skip_id(s.item)
        if s.stage in MISSING_INPUTS and mid in part_of and "kept" in s.reason:
            ids = out[s.stage].setdefault(part_of[mid], [])
            if mid not in ids:
                ids.append(mid)
    return out


def _per_part(counts: Counter) -> str:
    return ", ".join(f"{p} {counts[p]:,}" for p in PARTS if counts[p])


def summary_line(dataset: MovieDataset, drops: list[Drop], missing: dict[str, dict[str, list[str]]], record: Path) -> str:
    """One line: drops per part and reason, kept movies without each input, where the ids are."""
    listed = sum(len(dataset.split[p]) for p in PARTS) + len(drops)
    parts = []
    for p in PARTS:
        reasons = Counter(d.reason for d in drops if d.part == p)
        if reasons:
            parts.append(f"{p} {sum(reasons.values()):,} ({', '.join(f'{r} {n:,}' for r, n in reasons.most_common())})")
    line = f"dropped {len(drops):,} of {listed:,} listed movies" + (f": {'; '.join(parts)}" if parts else "")
    kept = [f"no {k}: {_per_part(Counter({p: len(v) for p, v in by.items()}))}" for k, by in missing.items() if by]
    if kept:
        line += f"; kept with zero features for {'; '.join(kept)}"
    return line + f"; ids in {record}" + (" (--verbose lists the drops)" if drops else "")


def drop_lines(drops: list[Drop]) -> list[str]:
    """One line per drop (``--verbose``), with control characters of file names escaped."""
    from mmimdb2.skip_report import skip_line

    return ["  " + skip_line(Skip(d.id, f"dropped from {d.part} ({d.reason})", d.detail)) for d in drops]


def write_record(folder: Path, dataset: MovieDataset, drops: list[Drop], missing: dict[str, dict[str, list[str]]]) -> Path:
    """``<folder>/<listed split sha16>.json``: every drop and every kept movie without an input."""
    listed_sha = dataset.extra.get("split_sha256_listed", dataset.split.sha256)
    record: dict[str, Any] = {
        "dataset": dataset.name,
        "split": dataset.split.name,
        "split_sha256_listed": listed_sha,
        "split_sha256": dataset.split.sha256,
        "used": {p: len(dataset.split[p]) for p in PARTS},
        "dropped": [asdict(d) for d in drops],
        "kept_without": missing,
    }
    return atomic_write_json(Path(folder) / f"{listed_sha[:16]}.json", record)
