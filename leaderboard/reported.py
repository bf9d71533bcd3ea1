"""Published numbers shown beside the reproduced rows: ``leaderboard/reported.json``.

Why a file of its own: the leaderboard is where a reader compares what a paper claimed with what
this project reproduced, yet a published number is not a result. It has no seeds, no stored
predictions, no split hash, and it was made under its own protocol. So it never enters what reads
results (``submissions/``, the validator, the table model, ``to_dataframe()`` and the CSV): the
README and the page show it in a section of its own per dataset, with its source, whether it was
checked against that source, and the flags of its protocol (split, KG leakage, encoder), never
ranked with a reproduced row. :func:`gap_text` says, from the records, how far the reproduced
rows are from a paper's claim and why the two are not comparable.

The file follows ``leaderboard/reported.schema.json``; :func:`load_reported` also checks that
every dataset, source and protocol a row names is defined and that no row is listed twice, and
lists every problem, one line each. A leaderboard folder without its own ``reported.json`` (a
private one, ``--leaderboard-dir``) shows this package's.

    python -m leaderboard.reported                 # check the file, count its rows
    python -m leaderboard.reported --csv FILE      # its rows as CSV (never mixed with the results' CSV)
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from leaderboard.frame import FORMULA_STARTS
from leaderboard.markdown import code, md, table
from leaderboard.results import LEADERBOARD_DIR
from leaderboard.rows import Record
from leaderboard.table_model import Group, TableRow
from leaderboard.table_model import groups as table_groups
from mmimdb2.io import BadJSON, atomic_write_bytes, read_json

REPORTED_FILE = "reported.json"
SCHEMA_FILE = LEADERBOARD_DIR / "reported.schema.json"
#: Largest file read: a row is ~500 bytes, so 256 KiB holds hundreds of published rows.
MAX_REPORTED_BYTES = 256 * 1024
#: The published scores a row may give, in display order (the leaderboard's four averages).
METRICS: tuple[str, ...] = ("micro", "macro", "weighted", "samples")
METRIC_HEADERS: dict[str, str] = {"micro": "Micro-F1", "macro": "Macro-F1", "weighted": "Weighted-F1", "samples": "Samples-F1"}
#: What a row's number is (the schema's ``kind``): the one place these words are written.
KINDS: dict[str, str] = {
    "claim": "the authors' number for their own method",
    "reproduction": "a number for another group's method, run by the citing paper's authors",
    "baseline": "a number for another group's method listed in a comparison (re-run or copied, as its source says)",
}
#: Datasets whose scores show that the code runs, not which model is better (the embedded demo).
SYNTHETIC: frozenset[str] = frozenset({"demo"})
#: Every reported section's heading starts with this, in the README (``### ``) and on the page;
#: the page tells these sections from the groups' by it.
HEADING = "Reported results (not reproduced here)"
#: What the reader must know before reading a reported table (README and page).
NOTE = (
    "Published numbers, copied from their sources: not results of this project, never ranked with its rows, "
    "never in its CSV. F1 × 100 as published; a blank is a score not recorded here. Each row names the "
    "protocol it was made under (split, KG leakage, encoder), which this leaderboard's fixed-split rows do not share; "
    "⚠ marks a protocol that lets test movies' labels into training, and a number not yet checked against its source."
)


class ReportedError(ValueError):
    """``reported.json`` cannot be read or breaks its schema; the message lists every problem."""


@dataclass(frozen=True)
class Source:
    """A publication: a short citation for running text, the full one, and where to read it."""

    key: str
    short: str
    paper: str
    url: str | None = None
    doi: str | None = None

    @property
    def where(self) -> str:
        return self.url or f"https://doi.org/{self.doi}"


@dataclass(frozen=True)
class Protocol:
    """How a published number was made: short flags shown beside each row, and the evidence for them."""

    key: str
    leaky: bool | None
    split: str
    leakage: str
    encoder: str
    evidence: str

    def flag(self, text: str) -> str:
        """A split or leakage flag, marked ⚠ when the protocol lets test labels into training."""
        return f"⚠ {text}" if self.leaky else text


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str
    movies: int


@dataclass(frozen=True)
class Reported:
    """One published row: its dataset, the model as the source names it (``reproduced_as``: this
    project's name for it), the scores it prints (fractions), where and under what it was made."""

    dataset: Dataset
    model: str
    reproduced_as: str | None
    metrics: Mapping[str, float] = field(hash=False)
    source: Source
    table: str
    protocol: Protocol
    kind: str
    verified: bool
    quoted_from: str | None = None


@dataclass(frozen=True)
class ReportedResults:
    """Every published row, in file order (a source's table order: never re-ordered or ranked)."""

    rows: tuple[Reported, ...] = ()
    path: Path | None = None

    def of(self, dataset: str) -> tuple[Reported, ...]:
        return tuple(r for r in self.rows if r.dataset.name == dataset)

    @property
    def datasets(self) -> list[Dataset]:
        """The datasets with at least one row, by name."""
        return sorted({r.dataset for r in self.rows}, key=lambda d: d.name)

    def __bool__(self) -> bool:
        return bool(self.rows)


def reported_path(leaderboard_dir: str | Path | None = None) -> Path:
    """The ``reported.json`` shown for a leaderboard folder: its own, else this package's."""
    own = Path(leaderboard_dir or LEADERBOARD_DIR) / REPORTED_FILE
    return own if own.exists() else LEADERBOARD_DIR / REPORTED_FILE


@lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    import json

    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def problems(data: Any) -> list[str]:
    """Every problem of a parsed ``reported.json``, one line each (``<json path>: <what>``); empty when valid."""
    from jsonschema import Draft202012Validator

    out = []
    for err in Draft202012Validator(load_schema()).iter_errors(data):
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        branches = err.validator_value if err.validator == "anyOf" else None
        if branches and all(set(b) == {"required"} for b in branches):  # e.g. a source needs a url or a doi
            msg = "needs one of " + ", ".join(repr(k) for b in branches for k in b["required"])
        elif err.validator == "not" and set(err.validator_value) == {"required"}:  # quoted_from on a verified row
            msg = f"has {', '.join(map(repr, err.validator_value['required']))}, which only an unverified row may have"
        else:
            msg = err.message if len(err.message) < 200 else err.message[:200] + "…"
        out.append(f"{where}: {msg}")
    if out:
        return sorted(set(out))
    seen: dict[tuple[str, str, str, str], int] = {}
    for i, row in enumerate(data["results"]):
        for kind, key in (("datasets", "dataset"), ("sources", "source"), ("protocols", "protocol")):
            if row[key] not in data[kind]:
                out.append(f"results/{i}/{key}: {row[key]!r} is not defined under {kind!r} (defined: {', '.join(sorted(data[kind]))})")
        ident = (row["dataset"], row["model"], row["source"], row["table"])
        if ident in seen:
            out.append(f"results/{i}: lists {row['model']!r} on {row['dataset']!r} from {row['source']!r} {row['table']} again (as results/{seen[ident]})")
        seen.setdefault(ident, i)
    return out


def parse(data: Mapping[str, Any], path: Path | None = None) -> ReportedResults:
    """The typed rows of a valid file (:func:`problems` empty); raises :class:`ReportedError` otherwise."""
    found = problems(data)
    if found:
        where = f"{path}: " if path else ""
        raise ReportedError(f"{where}does not follow leaderboard/reported.schema.json (python -m leaderboard.reported lists this):\n  "
                            + "\n  ".join(found))  # fmt: skip
    datasets = {k: Dataset(k, v["title"], v["movies"]) for k, v in data["datasets"].items()}
    sources = {k: Source(k, **v) for k, v in data["sources"].items()}
    protocols = {k: Protocol(k, **v) for k, v in data["protocols"].items()}
    rows = tuple(
        Reported(
            dataset=datasets[r["dataset"]], model=r["model"], reproduced_as=r["reproduced_as"],
            metrics={m: float(r["metrics"][m]) for m in METRICS if m in r["metrics"]}, source=sources[r["source"]],
            table=r["table"], protocol=protocols[r["protocol"]], kind=r["kind"], verified=r["verified"],
            quoted_from=r.get("quoted_from"),
        )  # fmt: skip
        for r in data["results"]
    )
    return ReportedResults(rows, path)


def load_reported(leaderboard_dir: str | Path | None = None) -> ReportedResults:
    """The published rows shown for a leaderboard folder (:func:`reported_path`), every one checked."""
    path = reported_path(leaderboard_dir)
    try:
        data = read_json(path, max_bytes=MAX_REPORTED_BYTES, max_depth=8, unique_keys=True)
    except BadJSON as e:
        raise ReportedError(f"{e} (the published results, leaderboard/reported.json)") from None
    return parse(data, path)


# ----------------------------------------------------------------------------- shown


def score_text(value: float | None) -> str:
    """A published fraction as F1 × 100 with the digits it was published with (0.849 -> 84.9, 0.63 -> 63.0)."""
    if value is None:
        return ""
    text = f"{100 * value:.4f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def checked_text(row: Reported) -> str:
    return "yes" if row.verified else "⚠ no (see below)"


def cells(row: Reported) -> list[str]:
    """One row's plain-text cells, in :func:`header` order (escaped by the caller)."""
    return [
        row.model, *(score_text(row.metrics.get(m)) for m in METRICS), row.kind, row.protocol.flag(row.protocol.split),
        row.protocol.flag(row.protocol.leakage), row.protocol.encoder, f"{row.source.short}, {row.table}", checked_text(row),
        row.reproduced_as or "—",
    ]  # fmt: skip


def header() -> list[str]:
    return ["Model (as published)", *(METRIC_HEADERS[m] for m in METRICS), "Kind", "Split", "KG leakage", "Encoder",
            "Source", "Checked against source", "Run here as"]  # fmt: skip


def notes(rows: Sequence[Reported]) -> list[tuple[str, str]]:
    """``(label, text)`` of what the table's rows refer to: kinds, protocols (their evidence),
    sources, and where unverified numbers were read; each once, in first-use order."""
    out: dict[str, str] = {}
    for r in rows:
        out.setdefault(f"Kind {r.kind}", KINDS[r.kind])
    for r in rows:
        out.setdefault(f"Protocol of {', '.join(sorted({x.model for x in rows if x.protocol == r.protocol}))}", r.protocol.evidence)
    for r in rows:
        out.setdefault(f"Source {r.source.short}", f"{r.source.paper}, {r.source.where}")
    quoted = list(dict.fromkeys(r.quoted_from for r in rows if not r.verified))
    if quoted:
        out["Not checked against the source"] = "read from " + "; and from ".join(q for q in quoted if q)
    return list(out.items())


def markdown_section(dataset: Dataset, rows: Sequence[Reported]) -> list[str]:
    """The README's reported section of one dataset: heading, note, table (file order), notes."""
    lines = [f"### {HEADING}: {md(dataset.title)}", "", f"> {md(NOTE)}", ""]
    body = []
    for r in rows:
        *text, here = cells(r)
        body.append([*(md(c) for c in text), here if r.reproduced_as is None else code(here)])
    lines += table(header(), body)
    lines += [f"- *{md(label)}*: {md(text)}" for label, text in notes(rows)]
    return [*lines, ""]


# ----------------------------------------------------------------------------- the gap


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _f1(value: float) -> str:
    return f"{100 * value:.2f}"


def _run_words(group: Group, row: TableRow, name: str) -> str:
    """How one reproduced row was made, for running text: its label when it is not the plain model
    name, the protocol, the split and the recipe."""
    if group.protocol == "fixed":
        words = f"fixed split {group.split_name}"
    else:
        words = "the authors' protocol, train, dev and test re-drawn so they overlap"
    words += f", recipe {group.recipe}" if group.recipe else ""
    return (f"{row.label}: " if row.label != name else "") + words


def reproduced(groups: Sequence[Group], model: str) -> list[tuple[Group, TableRow]]:
    """``(group, row)`` of every full-input run of ``model`` (no modality dropped) among the table
    model's ``groups`` (:func:`leaderboard.table_model.groups`), in their order."""
    return [(g, row) for g in groups for row in g.rows if row.record["model"]["name"] == model and row.record.get("drop") is None]


def gap_text(records: Sequence[Record], reported: ReportedResults, groups: Sequence[Group] | None = None) -> list[str]:
    """One plain-text paragraph per method a source claims and this project runs: the claim, the
    reproduced rows (datasets, scores, from ``records``), and why the two are not comparable.

    ``groups``: the table model's groups of ``records`` when the caller has them (they are not
    made twice: each group's marks cost a bootstrap)."""
    claims: dict[str, list[Reported]] = {}
    for r in reported.rows:
        if r.kind == "claim" and r.reproduced_as:
            claims.setdefault(r.reproduced_as, []).append(r)
    if not claims:
        return []
    if groups is None:
        groups = table_groups(records)
    return [_gap(name, rows, reproduced(groups, name)) for name, rows in claims.items()]


def _gap(name: str, claims: Sequence[Reported], runs: Sequence[tuple[Group, TableRow]]) -> str:
    first = claims[0]
    said = " and ".join(f"{' / '.join(score_text(c.metrics[m]) for m in ('micro', 'macro') if m in c.metrics)} on {c.dataset.title}"
                        for c in claims)  # fmt: skip
    metric_names = " / ".join(m for m in ("micro", "macro") if m in first.metrics)
    checked = "" if all(c.verified for c in claims) else f"; not checked against the paper here, read from {first.quoted_from}"
    out = [f"{first.source.short} ({first.table}) report {first.model} at {metric_names}-F1 × 100 {said}{checked}."]
    on = list(dict.fromkeys(g.dataset for g, _ in runs))
    missing = [c.dataset.title for c in claims if c.dataset.name not in on]
    if not runs:
        out.append(f"No {name} run is on this leaderboard yet.")
    else:
        described = [f"the synthetic {d} (its scores show the code runs, not which model is better)" if d in SYNTHETIC else d for d in on]
        out.append(f"The {name} rows reproduced here are on {_and(described)}" + (f", not on {' or '.join(missing)}." if missing else "."))
    real = [(g, row) for g, row in runs if g.dataset not in SYNTHETIC]
    for d in dict.fromkeys(g.dataset for g, _ in real):
        mine = [(g, row) for g, row in real if g.dataset == d]
        scores = [f"{_f1(row.record['aggregate']['mean']['micro'])} / {_f1(row.record['aggregate']['mean']['macro'])} "
                  f"({_run_words(g, row, name)})" for g, row in mine]  # fmt: skip
        seeds = sorted({len(row.record["seeds"]) for _, row in mine})
        out.append(f"On {d}, {name} scores {_and(scores)}: micro / macro-F1 × 100 over all 23 genres, each the mean "
                   f"of its seeds ({' or '.join(map(str, seeds))}).")  # fmt: skip
    if runs:
        shown = real or list(runs)
        sizes = sorted({(g.dataset, *(row.record["split"]["parts"][p]["size"] for p in ("train", "dev", "test"))) for g, row in shown})
        data_here = "; ".join(f"{d}, {tr:,} / {dv:,} / {te:,} train / dev / test movies" for d, tr, dv, te in sizes)
        encoders = ", ".join(sorted({row.record["encoder"]["name"] for _, row in shown}))
        papers = " and ".join(f"{c.dataset.title} ({c.dataset.movies:,} movies)" for c in claims)
        p = first.protocol
        out.append(
            "They are not comparable. Split: the paper's " + p.split + "; here each split is a fixed, hashed file with "
            "disjoint parts (the authors'-protocol rows re-create the overlap on purpose). KG leakage: the paper's "
            + p.leakage + "; here the KG is built from training movies only. Data: " + papers + " against " + data_here
            + ". Encoder: the paper's " + p.encoder + "; here the encoder these rows name, " + encoders + "."
        )
    return " ".join(out)


# ----------------------------------------------------------------------------- export


CSV_COLUMNS: tuple[str, ...] = (
    "dataset", "dataset_title", "model", "reproduced_as", *METRICS, "kind", "split", "leakage", "encoder", "protocol",
    "leaky", "source", "source_paper", "source_where", "table", "verified", "quoted_from",
)  # fmt: skip


def csv_text(reported: ReportedResults) -> str:
    """The published rows as CSV (scores as published fractions); a text cell a spreadsheet would
    run as a formula gets a leading ``'`` (as :func:`leaderboard.frame.write_csv` does)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in reported.rows:
        leaky = "" if r.protocol.leaky is None else str(r.protocol.leaky).lower()
        row = [r.dataset.name, r.dataset.title, r.model, r.reproduced_as or "", *(r.metrics.get(m, "") for m in METRICS), r.kind,
               r.protocol.split, r.protocol.leakage, r.protocol.encoder, r.protocol.key, leaky, r.source.key, r.source.paper,
               r.source.where, r.table, str(r.verified).lower(), r.quoted_from or ""]  # fmt: skip
        w.writerow([f"'{v}" if isinstance(v, str) and v.startswith(FORMULA_STARTS) else v for v in row])
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m leaderboard.reported", description="Check the published results shown beside the reproduced rows.")
    p.add_argument("--leaderboard-dir", default=None, help="leaderboard folder (default: this package's); without its own reported.json, the package's")
    p.add_argument("--csv", metavar="FILE", default=None, help="also write the published rows as CSV to FILE")
    args = p.parse_args(argv)
    try:
        reported = load_reported(args.leaderboard_dir)
    except ReportedError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.csv is not None:
        try:
            atomic_write_bytes(args.csv, csv_text(reported).encode("utf-8"))
        except OSError as e:
            print(f"error: cannot write {e.filename or args.csv}: {e.strerror or e}", file=sys.stderr)
            return 2
    unchecked = sum(not r.verified for r in reported.rows)
    print(f"ok: {len(reported.rows)} published row(s) on {', '.join(d.name for d in reported.datasets)} in {reported.path}; "
          f"{unchecked} not yet checked against their source" + (f"; wrote {args.csv}" if args.csv else ""))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
