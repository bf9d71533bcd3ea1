"""The leaderboard's results as data: one pandas row per result, for analysis and ``--csv``.

:func:`to_dataframe` reads and validates a submissions folder; an invalid file is skipped with a
warning naming it and why (also kept in ``DataFrame.attrs["skipped"]``), so one bad file does not
hide the rest from an analysis. Rows are grouped, ordered, labelled and marked by the one table
model (:mod:`leaderboard.table_model`), as in the rendered README: by dataset, registered split,
protocol (fixed before authors) and recipe, best micro-F1 first in a group; each row's cost
columns sum its seeds' recorded costs (empty for a result made before costs were recorded). Scores are fractions in [0, 1] (the README shows F1 × 100); the macro-F1 interval is the
pooled one over present genres with its 95% bootstrap interval (:mod:`leaderboard.uncertainty`),
NaN where a result stores no test predictions. A row's diagnostics (:mod:`leaderboard.diagnostics_table`:
EMAP macro-F1 and interaction gain with their intervals, relative and effective robustness per
noise, poster and plot always and any other noise a row has) are NaN where none is attached.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from leaderboard.diagnostics_table import CURVE_ORDER, curve_names, record_values, value_columns
from leaderboard.record import diagnostics_of
from leaderboard.results import LEADERBOARD_DIR, submissions_dir
from leaderboard.rows import Record, code_text, hardware_text
from leaderboard.table_model import Group, TableRow, cost_of, groups, recipe_of, tuning_text
from leaderboard.validate import list_submissions, validate_and_load
from mmimdb2.io import atomic_writer
from mmimdb2.metrics import SCALAR_METRICS

#: The columns that name a row's group (one table of the README and of the page).
GROUP_COLUMNS: tuple[str, ...] = ("dataset", "version", "split_sha256", "protocol", "recipe")
#: A row's cost (:func:`leaderboard.table_model.cost_of`), empty where its record has none.
COST_COLUMNS: tuple[str, ...] = ("train_s", "s_per_epoch", "predict_s_per_1k", "parameters", "peak_memory_mb")
#: Text a spreadsheet would run as a formula when a cell starts with it (OWASP's list).
FORMULA_STARTS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def rows(records: Sequence[Record], files: Sequence[Path | None] | None = None,
         noises: Sequence[str] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """One flat dict per record (the DataFrame's rows), in the table model's order
    (:func:`leaderboard.table_model.groups`), with its label, interval, mark and cost.

    ``files``: the file each record was read from (parallel to ``records``), shown by name;
    ``noises``: the curves with robustness columns (None: :func:`noise_names` of ``records``).
    """
    file_of = {id(r): f for r, f in zip(records, files or [None] * len(records))}
    names = noise_names(records) if noises is None else noises
    return [row_dict(g, row, file_of.get(id(row.record)), names) for g in groups(records) for row in g.rows]


def noise_names(records: Sequence[Record]) -> list[str]:
    """The curves with robustness columns: poster and plot always, then any other noise a record has."""
    found = curve_names(diagnostics_of(r) for r in records)
    return [*CURVE_ORDER, *(n for n in found if n not in CURVE_ORDER)]


def row_dict(group: Group, row: TableRow, file: Path | None = None, noises: Sequence[str] = CURVE_ORDER) -> dict[str, Any]:
    """One table row as the DataFrame's, the CSV's and the page's flat dict (``noises``: the curves
    with robustness columns)."""
    r, ci = row.record, row.interval
    kg = r["kg"] or {}
    out: dict[str, Any] = {
        "dataset": group.dataset, "version": group.version, "split": r["split"]["name"], "split_sha256": group.split_sha256,
        "protocol": group.protocol, "recipe": recipe_of(r), "tuning": tuning_text(r), "model": r["model"]["name"], "label": row.label,
        "config": json.dumps(r["model"]["config"], sort_keys=True, ensure_ascii=False, separators=(",", ":")),
        "encoder": r["encoder"]["name"], "encoder_version": r["encoder"]["version"],
        "kg_model": kg.get("model"), "kg_dim": kg.get("dim"), "kg_epochs": kg.get("epochs"),
        "kg_hits_at_10": kg.get("hits_at_10"), "drop": r["drop"], "suite": r.get("suite"),
        "seeds": len(r["seeds"]), "seed_list": " ".join(str(s) for s in r["seeds"]),
    }  # fmt: skip
    for m in SCALAR_METRICS:
        out[f"{m}_mean"] = r["aggregate"]["mean"].get(m)
        out[f"{m}_std"] = r["aggregate"]["std"].get(m)
    out["macro_present_estimate"] = None if ci is None else ci.estimate
    out["macro_present_ci_low"] = None if ci is None else ci.low
    out["macro_present_ci_high"] = None if ci is None else ci.high
    out["vs_best"] = row.mark
    out |= cost_of(r)
    out |= record_values(r, noises)
    out |= {"code_version": code_text(r), "commit": r["code_version"]["commit"], "hardware": hardware_text(r),
            "created": r["created"], "file": None if file is None else Path(file).name}  # fmt: skip
    return out


def frame(records: Sequence[Record], files: Sequence[Path | None] | None = None):
    """:func:`rows` as a pandas DataFrame: scores as floats (NaN where missing), counts as nullable
    integers, text as objects (``None`` where missing)."""
    import pandas as pd

    names = noise_names(records)
    df = pd.DataFrame(rows(records, files, names), columns=columns(names))
    floats = [c for c in df.columns if c.endswith(("_mean", "_std")) or c.startswith("macro_present_") or c == "kg_hits_at_10"]
    floats += ["train_s", "s_per_epoch", "predict_s_per_1k", "peak_memory_mb", *value_columns(names)]
    return df.astype({**dict.fromkeys(floats, "float64"), **dict.fromkeys(("kg_dim", "kg_epochs", "seeds", "parameters"), "Int64")})


def columns(noises: Sequence[str] = CURVE_ORDER) -> list[str]:
    """The DataFrame's columns, in order (also the CSV header); ``noises``: the curves with
    robustness columns (:func:`noise_names`: poster and plot, and any other a record has)."""
    return [
        "dataset", "version", "split", "split_sha256", "protocol", "recipe", "tuning", "model", "label", "config", "encoder",
        "encoder_version", "kg_model", "kg_dim", "kg_epochs", "kg_hits_at_10", "drop", "suite", "seeds", "seed_list",
        *(f"{m}_{s}" for m in SCALAR_METRICS for s in ("mean", "std")),
        "macro_present_estimate", "macro_present_ci_low", "macro_present_ci_high", "vs_best", *COST_COLUMNS,
        *value_columns(noises), "code_version", "commit", "hardware", "created", "file",
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
    """Write ``df`` as CSV (UTF-8, no index) atomically: the file appears whole or not at all.

    A text cell that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``,
    ``@``, tab or carriage return) is written with a leading ``'``, so it shows as text.
    """
    safe = df.copy()
    for col in safe.select_dtypes(include="object").columns:
        safe[col] = safe[col].map(lambda v: f"'{v}" if isinstance(v, str) and v.startswith(FORMULA_STARTS) else v)
    with atomic_writer(path) as f:
        f.write(safe.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    return Path(path)
