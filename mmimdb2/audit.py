"""Split audit: ``python -m mmimdb2.audit A B`` reports which movies two datasets/splits share.

MM-IMDb's 7-digit ids and MM-IMDb 2.0's ``tt`` ids are compared after normalisation to ``tt``
form (:func:`mmimdb2.schema.normalize_imdb_id`), so MM-IMDb and MM-IMDb 2.0 can be checked
against each other. A movie in one side's train part and the other side's dev or test part is a
LEAK: a model trained on one and evaluated on the other has seen it. Exit code 1 on a leak.

A side is a dataset (``demo``, ``mmimdb``, ``mmimdb2`` or a folder, with ``--split-a/-b``), a
packaged split (``packaged:mmimdb2-idkg``, works with no data downloaded) or a split folder.
Movies a dataset side skipped while loading are named with their reasons (the first few, all
with ``--verbose``): a movie the audit cannot see is never silently out of the comparison.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmimdb2.loaders import DATASET_NAMES, load
from mmimdb2.paths import DATA_ROOT_HELP
from mmimdb2.schema import InvalidId, Skip
from mmimdb2.skip_report import by_stage, format_skips, skips_json
from mmimdb2.splits import MANIFESTS_DIR, PARTS, Split, packaged_split, read_split_dir
from mmimdb2.stats import CliParser

#: (part of one side, part of the other) pairs whose overlap is a leak, in both directions.
LEAK_PAIRS: tuple[tuple[str, str], ...] = (("train", "test"), ("train", "dev"), ("test", "train"), ("dev", "train"))


@dataclass(frozen=True)
class Side:
    """One side of an audit: a label for the report, its split (ids already in ``tt`` form) and
    what loading it skipped (a dataset side only)."""

    label: str
    split: Split
    skips: tuple[Skip, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class AuditResult:
    """Overlap counts between two splits: ``matrix[(part_a, part_b)]``, totals and the leaks found."""

    a: Side
    b: Side
    matrix: dict[tuple[str, str], int]
    shared: int
    leaks: tuple[tuple[str, str, int], ...]

    @property
    def leaked(self) -> bool:
        return bool(self.leaks)


def resolve_side(spec: str, split: str = "default", data_root: str | None = None) -> Side:
    """Turn a CLI argument into a :class:`Side` (see the module docstring for the forms)."""
    packaged = {p.name for p in MANIFESTS_DIR.iterdir() if p.is_dir()}
    bare = spec.removeprefix("packaged:")
    if spec.startswith("packaged:") or (bare in packaged and spec not in DATASET_NAMES and not Path(spec).exists()):
        return Side(f"packaged:{bare}", packaged_split(bare))
    path = Path(spec).expanduser()
    if spec not in DATASET_NAMES and (path / "train.txt").is_file() and not (path / "dataset").is_dir():
        return Side(str(path), read_split_dir(path))
    ds = load(spec, split, data_root=data_root, check_posters=False)
    return Side(f"{spec} [{ds.split.name}, {ds.extra.get('split_source', '')}]", ds.split, ds.skips)


def audit(a: Side, b: Side) -> AuditResult:
    """Count the ids each part of ``a`` shares with each part of ``b`` and flag the leaks."""
    sa = {p: set(a.split[p]) for p in PARTS}
    sb = {p: set(b.split[p]) for p in PARTS}
    matrix = {(pa, pb): len(sa[pa] & sb[pb]) for pa in PARTS for pb in PARTS}
    shared = len(set(a.split.all_ids) & set(b.split.all_ids))
    leaks = tuple((pa, pb, matrix[(pa, pb)]) for pa, pb in LEAK_PAIRS if matrix[(pa, pb)])
    return AuditResult(a, b, matrix, shared, leaks)


def _side_skips(tag: str, side: Side, verbose: bool) -> list[str]:
    if not side.skips:
        return []
    stages = ", ".join(f"{k} {v:,}" for k, v in by_stage(side.skips).items())
    return [f"{tag}: {len(side.skips):,} skipped while loading ({stages}):"] + format_skips(side.skips, verbose=verbose)


def format_audit(r: AuditResult, *, verbose: bool = False) -> str:
    """Plain-text report: both sides, what each skipped, shared movies, the part x part matrix,
    one line per leak."""
    na, nb = len(r.a.split.all_ids), len(r.b.split.all_ids)
    out = [
        f"A: {r.a.label}: " + ", ".join(f"{p} {len(r.a.split[p]):,}" for p in PARTS) + f" (sha256 {r.a.split.sha256[:16]}…)",
        f"B: {r.b.label}: " + ", ".join(f"{p} {len(r.b.split[p]):,}" for p in PARTS) + f" (sha256 {r.b.split.sha256[:16]}…)",
        *_side_skips("A", r.a, verbose),
        *_side_skips("B", r.b, verbose),
        f"shared movies: {r.shared:,} ({100 * r.shared / max(na, 1):.1f}% of A, {100 * r.shared / max(nb, 1):.1f}% of B)",
        "",
        "A \\ B".ljust(10) + "".join(f"{p:>10}" for p in PARTS),
    ]
    for pa in PARTS:
        out.append(f"{pa:<10}" + "".join(f"{r.matrix[(pa, pb)]:>10,}" for pb in PARTS))
    out.append("")
    for pa, pb, n in r.leaks:
        movies = "movie" if n == 1 else "movies"
        out.append(f"LEAK: A {pa} and B {pb} share {n:,} {movies} (training on one and evaluating on the other sees them)")
    if not r.leaks:
        out.append("no leak: no train part shares a movie with the other side's dev or test part")
    return "\n".join(out)


def audit_json(r: AuditResult) -> dict[str, Any]:
    return {
        "a": {"label": r.a.label, "sha256": r.a.split.sha256, "sizes": {p: len(r.a.split[p]) for p in PARTS},
              "skips": skips_json(r.a.skips)},
        "b": {"label": r.b.label, "sha256": r.b.split.sha256, "sizes": {p: len(r.b.split[p]) for p in PARTS},
              "skips": skips_json(r.b.skips)},
        "shared": r.shared,
        "matrix": {f"{pa}/{pb}": n for (pa, pb), n in r.matrix.items()},
        "leaks": [{"a": pa, "b": pb, "movies": n} for pa, pb, n in r.leaks],
    }


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point: 0 without a leak, 1 with one, 2 on an error."""
    ap = CliParser(prog="python -m mmimdb2.audit", description=__doc__.splitlines()[0])
    ap.add_argument("a", help="dataset name/folder, packaged:NAME, or a split folder")
    ap.add_argument("b", help="dataset name/folder, packaged:NAME, or a split folder")
    ap.add_argument("--split-a", default="default", help="split of A when A is a dataset (default: its own)")
    ap.add_argument("--split-b", default="default", help="split of B when B is a dataset (default: its own)")
    ap.add_argument("--data-root", default=None, help=DATA_ROOT_HELP)
    ap.add_argument("--json", action="store_true", help="print the result as JSON (every skip included)")
    ap.add_argument("--verbose", "-v", action="store_true", help="name every file a dataset side skipped (default: the first few)")
    args = ap.parse_args(argv)
    try:
        a = resolve_side(args.a, args.split_a, args.data_root)
        b = resolve_side(args.b, args.split_b, args.data_root)
    except (OSError, ValueError, InvalidId) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    r = audit(a, b)
    print(json.dumps(audit_json(r), indent=2) if args.json else format_audit(r, verbose=args.verbose))
    return 1 if r.leaked else 0


if __name__ == "__main__":
    sys.exit(main())
