"""Check submissions before they reach the leaderboard: ``python -m leaderboard.validate [FILES...]``.

Each file is read bounded (a regular file of at most 1 MiB, nested at most 16 levels) and checked
against ``schema.json`` (strict patterns for every text that reaches the README) and then for what
a schema cannot say: no NaN, the split registered for the dataset (``splits.json``) under the name
the file gives, the recorded split hash equal to the hash of its parts bound to its protocol (so a
leaky authors-protocol row relabelled "fixed" fails), the 23 genres in canonical order, seeds
matching the per-seed entries, the aggregate equal to the mean and population std of the per-seed
scores (tolerance 1e-6), each seed's scores equal to those recomputed from its stored test
predictions when the record has them (:mod:`leaderboard.predictions`; a forged score fails),
authors-protocol rows marked as such, the file named by its result key, and no two files with the
same key. Every figure derivable without predictions is recomputed from the record's own per-seed,
per-genre numbers (:func:`_check_derived`): macro, weighted (with support), head and tail (over the
record's ``head_tail`` sets; within the per-genre range without them), the present scores and
their count, micro within the per-genre range and micro / samples above 0 exactly when some genre
F1 is, so a forged score with an aggregate recomputed to match fails too. Support counts stay
within the test part (and are one count on a fixed split), the part sizes are the registered
ones (where ``splits.json`` records them), seeds lie in [0, 2**32) and ``created`` is a real UTC
date-time not in the future. A model name is data: any name the schema's pattern accepts
is valid (no model registry is consulted), so a result of a user's own model validates. Problems
are listed as ``<file>: <field>: <message>`` (the first :data:`SHOWN_PROBLEMS`, all with
``--verbose``); files in ``submissions/`` that are not results are skipped and counted (named with
``--verbose``). Exit status 1 if any file is invalid, else 0 with a one-line summary.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from leaderboard.predictions import PredictionsError, read_predictions
from leaderboard.record import ResultRecord, upgrade
from leaderboard.results import (
    AUTHORS_PREFIX,
    LEADERBOARD_DIR,
    PROTOCOLS,
    ResultError,
    pool_sha256,
    read_result,
    result_filename,
    result_key,
    schema_errors,
    split_sha256_from_parts,
    submissions_dir,
)
from leaderboard.splits import SplitsRegistryError, known_splits, names_for, split_sizes
from mmimdb2.genres import GENRES
from mmimdb2.metrics import PRESENT_METRICS, SCALAR_METRICS, aggregate, score_decisions
from mmimdb2.splits import PARTS

#: Largest allowed difference between a stored aggregate and the one recomputed from per-seed scores.
TOLERANCE = 1e-6
#: Problem lines printed without ``--verbose`` (the rest are counted).
SHOWN_PROBLEMS = 20
#: Files of ``submissions/`` that are not results and are not worth a mention.
PLACEHOLDERS = frozenset({".gitkeep"})
#: How far ahead of this machine's clock a record's ``created`` may lie (another machine's clock skew).
CLOCK_SKEW = timedelta(minutes=10)
_CREATED = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})", re.ASCII)  # 0-9 only


def _non_finite(obj: Any, where: str = "") -> Iterable[str]:
    if isinstance(obj, float) and not math.isfinite(obj):
        yield where or "(top level)"
    elif isinstance(obj, Mapping):
        for k, v in obj.items():
            yield from _non_finite(v, f"{where}/{k}" if where else str(k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _non_finite(v, f"{where}/{i}" if where else str(i))


def _check_split(
    record: Mapping[str, Any], known: Mapping[str, Mapping[str, str]], sizes: Mapping[str, Mapping[str, Mapping[str, int]]]
) -> list[str]:
    """The split: its hash bound to the protocol and equal to its parts', registered, correctly named,
    its part sizes the registered ones (where the registry records them)."""
    problems = []
    dataset = record["dataset"]["name"]
    split = record["split"]
    sha, name, protocol = split["sha256"], split["name"], record["protocol"]
    bound = split_sha256_from_parts(split["parts"], protocol)
    pool = pool_sha256(record)
    if sha != bound:
        other = next((p for p in PROTOCOLS if p != protocol and split_sha256_from_parts(split["parts"], p) == sha), None)
        if other is not None and protocol == "fixed":
            problems.append(
                f"split/sha256: {sha[:12]}… is the {other!r}-protocol hash of these parts but protocol is 'fixed': "
                f"a leaky {other} result relabelled as fixed (a fixed row records {bound[:12]}…); rerun it on the fixed protocol"
            )
        elif other is not None:
            problems.append(
                f"split/sha256: {sha[:12]}… is the {other!r}-protocol hash of these parts; a row of protocol {protocol!r} records the "
                f"protocol-bound hash {bound[:12]}… (a file from before the binding: leaderboard.results.bind_split recomputes it)"
            )
        else:
            problems.append(f"split/sha256: {sha[:12]}… does not match the {protocol!r}-protocol hash of its parts ({bound[:12]}…)")
    if dataset not in known:
        have = ", ".join(sorted(known)) or "none"
        return problems + [
            f"dataset/name: no split of dataset {dataset!r} is registered in splits.json (datasets: {have}); "
            f"register it with python -m leaderboard.splits --add {dataset}"
        ]
    names = names_for(known, dataset, pool)
    registered = sizes.get(dataset, {}).get(pool) if names else None
    for part in PARTS if registered is not None else ():
        got = split["parts"][part]["size"]
        if got != registered[part]:
            problems.append(f"split/parts/{part}/size: {got!r} is not the registered size of this split's {part} part ({registered[part]})")
    fixed_names = [n for n in names if not n.startswith(AUTHORS_PREFIX)]
    if not names:
        return problems + [f"split/parts: the split of these parts ({pool[:12]}…) is not registered for dataset {dataset!r}; registered: "
                           + ", ".join(f"{n} ({h[:12]}…)" for n, h in sorted(known[dataset].items()))]
    if protocol == "fixed":
        if name.startswith(AUTHORS_PREFIX):
            problems.append(f"split/name: {name!r} marks an authors-protocol split but protocol is 'fixed'")
        elif name not in fixed_names:
            problems.append(f"split/name: {name!r} is not the name registered for this hash ({', '.join(names)})")
    elif not name.startswith(AUTHORS_PREFIX):
        problems.append(
            f"split/name: protocol 'authors' row claims the fixed split {name!r}; its split name must start with "
            f"'{AUTHORS_PREFIX}' (e.g. '{AUTHORS_PREFIX}:{fixed_names[0] if fixed_names else name}')"
        )
    return problems


def _check_aggregate(record: Mapping[str, Any]) -> list[str]:
    problems = []
    try:
        expected = aggregate([e["metrics"] for e in record["per_seed"]])
    except (ValueError, KeyError) as e:
        return [f"per_seed: cannot aggregate ({e})"]
    stored = record["aggregate"]
    for stat in ("mean", "std"):
        for k in PRESENT_METRICS:  # optional: stored exactly when every seed has it
            if (k in stored[stat]) != (k in expected[stat]):
                problems.append(f"aggregate/{stat}/{k}: " + ("present but not every seed has it" if k in stored[stat] else "missing though every seed has it"))
        for k in (*SCALAR_METRICS, *(k for k in PRESENT_METRICS if k in stored[stat] and k in expected[stat])):
            got, want = stored[stat][k], expected[stat][k]
            if abs(got - want) > TOLERANCE:
                problems.append(f"aggregate/{stat}/{k}: {got!r} does not match the per-seed values ({want:.6g})")
        for g in GENRES:
            got, want = stored[stat]["per_genre"][g], expected[stat]["per_genre"][g]
            if abs(got - want) > TOLERANCE:
                problems.append(f"aggregate/{stat}/per_genre/{g}: {got!r} does not match the per-seed values ({want:.6g})")
    return problems


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= TOLERANCE


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values) if values else 0.0


def _check_support(record: Mapping[str, Any]) -> list[str]:
    """Support counts: all 23 genres or none, within the test part, and one count on a fixed split.

    The authors' protocol re-draws its test part from the whole pool, so there the bound is the pool.
    """
    parts = record["split"]["parts"]
    fixed = record["protocol"] == "fixed"
    limit = parts["test"]["size"] if fixed else sum(parts[p]["size"] for p in PARTS)
    what = "the test part" if fixed else "the split (the authors' protocol draws its test part from all of it)"
    problems: list[str] = []
    first: tuple[int, Mapping[str, int]] | None = None
    for i, entry in enumerate(record["per_seed"]):
        support = entry["metrics"].get("support")
        if support is None:
            continue
        where = f"per_seed/{i}/metrics/support"
        missing = [g for g in GENRES if g not in support]
        if missing:
            problems.append(f"{where}: must count all 23 genres or be left out (missing: {', '.join(missing)})")
            continue
        problems += [f"{where}/{g}: {support[g]!r} exceeds the {limit} movies of {what}" for g in GENRES if support[g] > limit]
        if first is None:
            first = (i, support)
        elif fixed:
            bad = next((g for g in GENRES if support[g] != first[1][g]), None)
            if bad is not None:
                problems.append(
                    f"{where}/{bad}: {support[bad]!r} differs from seed {record['per_seed'][first[0]]['seed']}'s {first[1][bad]!r}; "
                    "on a fixed split every seed is tested on the same movies"
                )
    test = record.get("test_labels")
    if fixed and test is not None and test["n_movies"] != parts["test"]["size"]:
        problems.append(f"test_labels/n_movies: {test['n_movies']!r} is not the size of the test part ({parts['test']['size']})")
    return problems


def _check_derived(record: Mapping[str, Any]) -> list[str]:
    """Each seed's figures that follow from its own per-genre F1 (and support), recomputed.

    macro: the mean of the 23 per-genre F1; weighted: their support-weighted mean; head / tail:
    the mean over the record's ``head_tail`` sets (without sets, within the per-genre range);
    macro_present / tail_present / n_present: over the genres with test support. Micro-F1 is a
    mean of the per-genre F1 weighted by 2TP+FP+FN, so it lies within their range (its lower end
    only known when every genre has support); and micro and samples are above 0 exactly when some
    genre's F1 is (an F1 above 0 needs a true positive).
    """
    sets = record.get("head_tail")
    problems: list[str] = []
    for i, entry in enumerate(record["per_seed"]):
        m = entry["metrics"]
        where = f"per_seed/{i}/metrics"
        f1 = m["per_genre"]
        values = [f1[g] for g in GENRES]
        want = {"macro": (_mean(values), "the mean of this seed's 23 per-genre F1")}
        support = m.get("support")
        full_support = isinstance(support, Mapping) and all(g in support for g in GENRES)
        if full_support:
            total = sum(support[g] for g in GENRES)
            weighted = math.fsum(f1[g] * support[g] for g in GENRES) / total if total else 0.0
            want["weighted"] = (weighted, "the support-weighted mean of this seed's per-genre F1")
            present = [g for g in GENRES if support[g] > 0]
            want["macro_present"] = (_mean([f1[g] for g in present]), f"the mean F1 of the {len(present)} genres with test support")
            want["n_present"] = (len(present), "the number of genres with test support")
        if sets is not None:
            for side in ("head", "tail"):
                names = ", ".join(sets[side])
                want[side] = (_mean([f1[g] for g in sets[side]]), f"the mean F1 of its {side} genres (head_tail/{side}: {names})")
            if full_support:
                tail = [g for g in sets["tail"] if support[g] > 0]
                want["tail_present"] = (_mean([f1[g] for g in tail]), f"the mean F1 of the {len(tail)} tail genres with test support")
        for k, (value, what) in want.items():
            if k in m and not _close(m[k], value):
                problems.append(f"{where}/{k}: {m[k]!r} is not {what} ({value:.6g})")
        low, high = min(values), max(values)
        if sets is None:
            for side in ("head", "tail"):
                if not low - TOLERANCE <= m[side] <= high + TOLERANCE:
                    problems.append(
                        f"{where}/{side}: {m[side]!r} is outside the range of this seed's per-genre F1 [{low:.6g}, {high:.6g}]; "
                        f"a mean of some genres' F1 cannot be"
                    )
        why = "micro-F1 is a weighted mean of them"
        if m["micro"] > high + TOLERANCE:
            problems.append(f"{where}/micro: {m['micro']!r} is above every per-genre F1 of this seed (at most {high:.6g}); {why}")
        elif full_support and all(support[g] > 0 for g in GENRES) and m["micro"] < low - TOLERANCE:
            problems.append(f"{where}/micro: {m['micro']!r} is below every per-genre F1 of this seed (at least {low:.6g}); {why}")
        hit = next((g for g in GENRES if f1[g] > 0), None)
        for k in ("micro", "samples"):
            if hit is not None and m[k] == 0:
                problems.append(
                    f"{where}/{k}: 0.0, yet per-genre F1 are above 0 ({hit} {f1[hit]:.6g}); an F1 above 0 needs a true positive, "
                    f"which puts {k} above 0"
                )
            elif hit is None and m[k] > 0:
                problems.append(f"{where}/{k}: {m[k]!r}, yet every per-genre F1 is 0 (no true positive), which puts {k} at 0")
    return problems


def _check_created(created: str, now: datetime | None = None) -> list[str]:
    """``created``: a real date-time (the schema checks only its shape), not in the future."""
    m = _CREATED.fullmatch(created)
    try:
        if m is None:
            raise ValueError
        year, month, day, hour, minute, second = (int(x) for x in m.groups()[:6])
        frac, zone = m.group(7), m.group(8)
        offset = timedelta(0) if zone == "Z" else (1 if zone[0] == "+" else -1) * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        when = datetime(year, month, day, hour, minute, second, int((frac or "0")[:6].ljust(6, "0")), tzinfo=timezone(offset))
    except ValueError:
        return [f"created: {created!r} is not a real date-time (ISO 8601 with time zone, e.g. 2026-01-31T12:00:00Z)"]
    now = now or datetime.now(timezone.utc)
    if when > now + CLOCK_SKEW:
        return [f"created: {created!r} is in the future (now: {now:%Y-%m-%dT%H:%M:%SZ}); a record is dated when it is made"]
    return []


def _check_predictions(record: Mapping[str, Any]) -> list[str]:
    """Each seed's stored scores against the scores of its stored decisions (:func:`mmimdb2.metrics.score_decisions`).

    Head / tail need the record's ``head_tail`` sets; without them (null) they are not checked.
    """
    try:
        stored = read_predictions(record)
    except PredictionsError as e:
        return [str(e)]
    if stored is None:
        return []
    sets = record.get("head_tail")
    skip = set() if sets is not None else {"head", "tail", "tail_present"}
    problems = []
    for i, (entry, decided) in enumerate(zip(record["per_seed"], stored.seeds)):
        want = score_decisions(stored.labels, decided, GENRES, sets)
        got = entry["metrics"]
        where = f"per_seed/{i}/metrics"
        for k in (*SCALAR_METRICS, *PRESENT_METRICS):
            if k in got and k not in skip and abs(got[k] - want[k]) > TOLERANCE:
                problems.append(f"{where}/{k}: {got[k]!r} is not the score of this seed's stored predictions ({want[k]:.6g})")
        for g in GENRES:
            if abs(got["per_genre"][g] - want["per_genre"][g]) > TOLERANCE:
                problems.append(f"{where}/per_genre/{g}: {got['per_genre'][g]!r} is not the F1 of this seed's stored predictions ({want['per_genre'][g]:.6g})")
        if "support" in got and got["support"] != want["support"]:
            bad = next(g for g in GENRES if got["support"].get(g) != want["support"][g])
            problems.append(f"{where}/support/{bad}: {got['support'].get(bad)!r} is not the stored test labels' count ({want['support'][bad]})")
    return problems


def _check_genre_keys(record: Mapping[str, Any]) -> list[str]:
    """Name the missing/extra genres explicitly (the schema alone says less)."""
    problems = []
    blocks = [(f"per_seed/{i}/metrics/per_genre", e.get("metrics", {}).get("per_genre")) for i, e in enumerate(record.get("per_seed", []))]
    agg = record.get("aggregate", {})
    blocks += [(f"aggregate/{s}/per_genre", agg.get(s, {}).get("per_genre")) for s in ("mean", "std") if isinstance(agg.get(s), Mapping)]
    for where, block in blocks:
        if not isinstance(block, Mapping):
            continue
        missing = [g for g in GENRES if g not in block]
        extra = sorted(k for k in block if k not in GENRES)
        if missing or extra:
            problems.append(f"{where}: keys must be the 23 canonical genres (missing: {missing or 'none'}; unknown: {extra or 'none'})")
    return problems


def consistency_problems(record: Mapping[str, Any]) -> list[str]:
    """What a schema-valid record's numbers contradict: seeds against their entries, the aggregate
    against the seeds, and each seed's metrics against its stored predictions (or, without them,
    against each other). The job cache trusts a finished job only when this is empty."""
    problems = []
    seeds = [e["seed"] for e in record["per_seed"]]
    if record["seeds"] != seeds:
        problems.append(f"seeds: {record['seeds']} do not match the per_seed entries {seeds}")
    ht = record.get("head_tail")
    if ht is not None:
        for side in ("head", "tail"):
            if len(ht[side]) != ht["k"]:
                problems.append(f"head_tail/{side}: {len(ht[side])} genres, expected k={ht['k']}")
    problems += _check_aggregate(record)
    if "test_labels" not in record:  # with stored predictions every figure is recomputed from them (below)
        problems += _check_derived(record)
    problems += _check_support(record)
    problems += _check_predictions(record)
    return problems


def validate_record(
    record: Mapping[str, Any],
    *,
    known: Mapping[str, Mapping[str, str]],
    filename: str | None = None,
    sizes: Mapping[str, Mapping[str, Mapping[str, int]]] | None = None,
) -> list[str]:
    """Every problem of one record as ``"<field>: <message>"``; empty when it may be submitted.

    ``known`` is the split registry, ``sizes`` its recorded part sizes
    (:func:`leaderboard.splits.split_sizes`; a split without them is not size-checked),
    ``filename`` the file's name (checked against :func:`result_filename`). Model names are data: a user's own model validates when its name
    is well formed (the schema's pattern).
    """
    problems = [f"{w}: NaN or infinite value" for w in _non_finite(record)]
    labels = record.get("labels")
    if isinstance(labels, list) and labels != list(GENRES):
        first = next((i for i, (a, b) in enumerate(zip(labels, GENRES)) if a != b), min(len(labels), len(GENRES)))
        got = labels[first] if first < len(labels) else "(end)"
        problems.append(
            f"labels: not the 23 canonical genres in order (position {first}: {got!r}, expected "
            f"{GENRES[first] if first < len(GENRES) else '(end)'!r})"
        )
    problems += _check_genre_keys(record)
    schema = schema_errors(record)
    explicit = {p.split(": ", 1)[0] for p in problems}  # fields already named more precisely above
    problems += [p for p in schema if p.split(": ", 1)[0] not in explicit]
    if schema:
        return problems
    problems += _check_split(record, known, sizes or {})
    problems += _check_created(record["created"])
    problems += consistency_problems(record)
    if filename is not None:
        want = result_filename(record)
        if filename != want:
            problems.append(f"(file name): should be {want} (derived from its result key); use leaderboard.results.submit_result")
    return problems


def validate_files(
    paths: Sequence[str | Path],
    *,
    leaderboard_dir: str | Path | None = None,
    check_filenames: bool = True,
) -> dict[Path, list[str]]:
    """``{path: problems}`` for every file (empty list = valid), duplicates across files included."""
    return validate_and_load(paths, leaderboard_dir=leaderboard_dir, check_filenames=check_filenames)[0]


def validate_and_load(
    paths: Sequence[str | Path],
    *,
    leaderboard_dir: str | Path | None = None,
    check_filenames: bool = True,
) -> tuple[dict[Path, list[str]], dict[Path, dict[str, Any]]]:
    """:func:`validate_files` and the records it read, so a caller renders exactly what was checked."""
    known, sizes = known_splits(leaderboard_dir), split_sizes(leaderboard_dir)
    report: dict[Path, list[str]] = {}
    records: dict[Path, dict[str, Any]] = {}
    keys: dict[str, list[Path]] = defaultdict(list)
    for raw in paths:
        path = Path(raw)
        try:
            record = upgrade(read_result(path))  # older versions converted in one place (leaderboard.record)
        except ResultError as e:
            report[path] = [str(e).removeprefix(f"{path}: ")]
            continue
        report[path] = validate_record(record, known=known, sizes=sizes, filename=path.name if check_filenames else None)
        records[path] = ResultRecord.from_dict(record, check=False).to_dict() if not report[path] else record
        try:  # any file whose identity can be read takes part in duplicate detection
            keys[result_key(record)].append(path)
        except (KeyError, TypeError, ValueError, AttributeError):
            pass
    for key, same in keys.items():
        if len(same) > 1:
            for p in same:
                others = ", ".join(str(o) for o in same if o != p)
                report[p].append(f"(result key): duplicate of {others} (same cell {key[:12]}…); keep one file")
    return report, records


def list_submissions(folder: str | Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """``(result files, [(skipped file, why)])`` of a submissions folder, both sorted by name.

    Every ``*.json`` entry is a result (a directory or FIFO so named then fails validation); any
    other entry is skipped with its reason, except :data:`PLACEHOLDERS`. Nothing is left out unsaid.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return [], []
    files, skipped = [], []
    for path in sorted(folder.iterdir()):
        if path.name.endswith(".json"):
            files.append(path)
        elif path.name in PLACEHOLDERS:
            continue
        elif path.name.startswith(".") and path.name.endswith(".tmp"):
            skipped.append((path, "temporary file of an unfinished atomic write; delete it"))
        elif path.is_dir():
            skipped.append((path, "a folder; results must lie directly in submissions/"))
        else:
            skipped.append((path, "not a result file (results are named *.json)"))
    return files, skipped


def report_lines(
    problems: Mapping[Path, Sequence[str]], skipped: Sequence[tuple[Path, str]], *, verbose: bool
) -> tuple[list[str], list[str]]:
    """``(stdout lines, stderr lines)``: each problem as ``<file>: <problem>`` (the first
    :data:`SHOWN_PROBLEMS` unless ``verbose``), each skipped file with its reason (``verbose``) or their count."""
    pairs = [(path, prob) for path, probs in problems.items() for prob in probs]
    shown = pairs if verbose else pairs[:SHOWN_PROBLEMS]
    out = [f"{path}: {prob}" for path, prob in shown]
    err = []
    if len(shown) < len(pairs):
        hidden = pairs[len(shown) :]
        files = len({path for path, _ in hidden})
        out.append(f"… and {len(hidden)} more problem(s) in {files} file(s); --verbose lists them all")
    if skipped:
        if verbose:
            err += [f"skipped: {path}: {why}" for path, why in skipped]
        else:
            err.append(f"skipped: {len(skipped)} file(s) that are not results; --verbose names them")
    return out, err


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m leaderboard.validate", description="Validate leaderboard submissions.")
    p.add_argument("files", nargs="*", help="result JSON files (default: every submissions/*.json)")
    p.add_argument("--leaderboard-dir", default=None, help="leaderboard folder (default: this package's)")
    p.add_argument("-v", "--verbose", action="store_true", help="list every problem and every skipped file")
    args = p.parse_args(argv)
    lb = Path(args.leaderboard_dir) if args.leaderboard_dir else LEADERBOARD_DIR
    if not lb.is_dir():
        print(f"error: --leaderboard-dir {lb} is not a folder", file=sys.stderr)
        return 2
    skipped: list[tuple[Path, str]] = []
    if args.files:
        files = [Path(f) for f in args.files]
    else:
        files, skipped = list_submissions(submissions_dir(lb))
    try:
        report, records = validate_and_load(files, leaderboard_dir=lb)
    except SplitsRegistryError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    bad = {path: probs for path, probs in report.items() if probs}
    out, err = report_lines(bad, skipped, verbose=args.verbose)
    for line in out:
        print(line)
    for line in err:
        print(line, file=sys.stderr)
    if bad:
        n = sum(len(v) for v in bad.values())
        print(f"invalid: {len(bad)} of {len(report)} file(s), {n} problem(s)", file=sys.stderr)
        return 1
    datasets = len({r["dataset"]["name"] for r in records.values()})
    print(f"ok: {len(files)} submission(s) valid across {datasets} dataset(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
