"""The leaderboard's results as data: one pandas row per result, for analysis and ``--csv``.

:func:`to_dataframe` reads and validates a submissions folder; an invalid file is skipped with a
warning naming it and why (also kept in ``DataFrame.attrs["skipped"]``), so one bad file does not
hide the rest from an analysis. Rows are grouped and ordered as in the rendered README: by
dataset, registered split, protocol (fixed before authors) and recipe, best micro-F1 first in a
group. Scores are fractions in [0, 1] (the README shows F1 × 100); the macro-F1 interval is the
pooled one over present genres with its 95% bootstrap interval (:mod:`leaderboard.uncertainty`),
NaN where a result stores no test predictions.
"""

from __future__ import annotations

import json
import warnings
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from leaderboard.results import LEADERBOARD_DIR, pool_sha256, submissions_dir
from leaderboard.rows import Record, code_text, hardware_text, labels, sort_by_score
from leaderboard.uncertainty import row_interval
from leaderboard.validate import list_submissions, validate_and_load
from mmimdb2.io import atomic_writer
from mmimdb2.metrics import SCALAR_METRICS

#: The columns that name a row's group (one table of the README and of the page).
GROUP_COLUMNS: tuple[str, ...] = ("dataset", "version", "split_sha256", "protocol", "recipe")
#: Recipes in the README's order; any other named recipe comes between these and the unnamed one.
RECIPE_ORDER: dict[str, int] = {"tuned": 0, "paper": 1}

GroupKey = tuple[str, str, str, str, str]


def recipe(r: Record) -> str:
    """The named recipe that made a record ("" for results made before recipes were recorded)."""
    return (r.get("spec") or {}).get("recipe") or ""


def group_key(r: Record) -> GroupKey:
    """(dataset, version, registered split, protocol, recipe): the README's grouping; an authors
    row is grouped by the split its parts were drawn from, next to that split's fixed rows."""
    return (r["dataset"]["name"], r["dataset"]["version"], pool_sha256(r), r["protocol"], recipe(r))


def ordered_groups(records: Sequence[Record]) -> list[tuple[GroupKey, list[Record], dict[int, str]]]:
    """``(group, its records, their row labels)`` in the README's order (dataset, split by its
    smallest name, fixed before authors, recipe tuned, paper, others, none), each group best
    micro-F1 first; a label is the model name plus what tells its runs apart (and a dropped modality)."""
    groups: dict[GroupKey, list[Record]] = defaultdict(list)
    for r in records:
        groups[group_key(r)].append(r)
    first_name = {}
    for (name, version, sha, _, _), recs in groups.items():
        low = min(r["split"]["name"] for r in recs)
        first_name[(name, version, sha)] = min(first_name.get((name, version, sha), low), low)

    def order(key: GroupKey) -> tuple:
        name, version, sha, protocol, rec = key
        recipe_rank = RECIPE_ORDER.get(rec, len(RECIPE_ORDER) + (rec == ""))
        return (name, version, first_name[(name, version, sha)], sha, protocol != "fixed", recipe_rank, rec)

    out = []
    for key in sorted(groups, key=order):
        recs = groups[key]
        names = labels(recs, base=lambda r: r["model"]["name"] + ("" if r["drop"] is None else f" (drop {r['drop']})"))
        out.append((key, sort_by_score(recs, names), names))
    return out


def rows(records: Sequence[Record], files: Sequence[Path | None] | None = None) -> list[dict[str, Any]]:
    """One flat dict per record (the DataFrame's rows), in :func:`ordered_groups` order.

    ``files``: the file each record was read from (parallel to ``records``), shown by name.
    """
    file_of = {id(r): f for r, f in zip(records, files or [None] * len(records))}
    out = []
    for (name, version, sha, protocol, rec), recs, names in ordered_groups(records):
        for r in recs:
            ci = row_interval(r)
            kg = r["kg"] or {}
            row: dict[str, Any] = {
                "dataset": name, "version": version, "split": r["split"]["name"], "split_sha256": sha,
                "protocol": protocol, "recipe": rec, "model": r["model"]["name"], "label": names[id(r)],
                "config": json.dumps(r["model"]["config"], sort_keys=True, ensure_ascii=False, separators=(",", ":")),
                "encoder": r["encoder"]["name"], "encoder_version": r["encoder"]["version"],
                "kg_model": kg.get("model"), "kg_dim": kg.get("dim"), "kg_epochs": kg.get("epochs"),
                "kg_hits_at_10": kg.get("hits_at_10"), "drop": r["drop"], "suite": r.get("suite"),
                "seeds": len(r["seeds"]), "seed_list": " ".join(str(s) for s in r["seeds"]),
            }  # fmt: skip
            for m in SCALAR_METRICS:
                row[f"{m}_mean"] = r["aggregate"]["mean"].get(m)
                row[f"{m}_std"] = r["aggregate"]["std"].get(m)
            row["macro_present_estimate"] = None if ci is None else ci.estimate
            row["macro_present_ci_low"] = None if ci is None else ci.low
            row["macro_present_ci_high"] = None if ci is None else ci.high
            row |= {"code_version": code_text(r), "commit": r["code_version"]["commit"], "hardware": hardware_text(r),
                    "created": r["created"], "file": None if file_of[id(r)] is None else Path(file_of[id(r)]).name}  # fmt: skip
            out.append(row)
    return out


def frame(records: Sequence[Record], files: Sequence[Path | None] | None = None):
    """:func:`rows` as a pandas DataFrame: scores as floats (NaN where missing), counts as nullable
    integers, text as objects (``None`` where missing)."""
    import pandas as pd

    df = pd.DataFrame(rows(records, files), columns=columns())
    floats = [c for c in df.columns if c.endswith(("_mean", "_std")) or c.startswith("macro_present_") or c == "kg_hits_at_10"]
    return df.astype({**dict.fromkeys(floats, "float64"), **dict.fromkeys(("kg_dim", "kg_epochs", "seeds"), "Int64")})


def columns() -> list[str]:
    """The DataFrame's columns, in order (also the CSV header)."""
    return [
        "dataset", "version", "split", "split_sha256", "protocol", "recipe", "model", "label", "config", "encoder",
        "encoder_version", "kg_model", "kg_dim", "kg_epochs", "kg_hits_at_10", "drop", "suite", "seeds", "seed_list",
        *(f"{m}_{s}" for m in SCALAR_METRICS for s in ("mean", "std")),
        "macro_present_estimate", "macro_present_ci_low", "macro_present_ci_high",
        "code_version", "commit", "hardware", "created", "file",
    ]  # fmt: skip


def load(leaderboard_dir: str | Path | None = None, *, submissions: str | Path | None = None):
    """``(valid records, their files, [(skipped file, why)])``: invalid files and non-results are
    skipped with their reasons (every problem of a file on one line) instead of failing the folder."""
    root = Path(leaderboard_dir or LEADERBOARD_DIR)
    files, skipped = list_submissions(Path(submissions) if submissions else submissions_dir(root))
    report, loaded = validate_and_load(files, leaderboard_dir=root)
    good = [p for p in files if not report[p]]
    skipped = sorted([*skipped, *((p, "; ".join(report[p])) for p in files if report[p])])
    return [loaded[p] for p in good], good, skipped


def to_dataframe(submissions_dir: str | Path | None = None, *, leaderboard_dir: str | Path | None = None):
    """A DataFrame of every valid result in ``submissions_dir`` (default: the leaderboard's own).

    The split registry is read from ``leaderboard_dir`` (default: the parent of ``submissions_dir``,
    or this package's leaderboard). Each skipped file raises a :class:`UserWarning` naming it and
    why, and is listed in ``attrs["skipped"]`` as ``{file: why}``.
    """
    if leaderboard_dir is None and submissions_dir is not None:
        leaderboard_dir = Path(submissions_dir).parent
    records, files, skipped = load(leaderboard_dir, submissions=submissions_dir)
    for path, why in skipped:
        warnings.warn(f"skipped {path}: {why}", UserWarning, stacklevel=2)
    df = frame(records, files)
    df.attrs["skipped"] = {str(p): why for p, why in skipped}
    return df


def write_csv(df, path: str | Path) -> Path:
    """Write ``df`` as CSV (UTF-8, no index) atomically: the file appears whole or not at all."""
    with atomic_writer(path) as f:
        f.write(df.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    return Path(path)
