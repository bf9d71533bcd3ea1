"""Dataset statistics: ``python -m mmimdb2.stats [DATASET] [--split NAME]``.

Prints per-split genre counts in the shape of the IDKG paper's Table 1 (with the paper's counts
beside them for MM-IMDb and MM-IMDb 2.0), plot length, cast size, directors per movie, poster
coverage, skips by stage and the split hashes, so two copies of a dataset can be compared at a glance.
Every skipped file is named with its reason: the first few by default, all with ``--verbose``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import Counter
from collections.abc import Sequence
from typing import Any, NoReturn

from mmimdb2.dataset import MovieDataset
from mmimdb2.genres import GENRES, unknown_genres
from mmimdb2.loaders import load
from mmimdb2.paths import DATA_ROOT_HELP
from mmimdb2.schema import InvalidId, Movie, Skip
from mmimdb2.skip_report import by_stage, format_skips, skips_json
from mmimdb2.splits import PARTS
from mmimdb2.text import printable

#: Whole-dataset genre counts from Table 1 of the IDKG paper (ACM MM '23). They look like counts
#: over a subset: a target shape, not exact totals.
PAPER_TABLE1: dict[str, dict[str, int]] = {
    "mmimdb2": {
        "Drama": 4773, "Comedy": 2861, "Action": 1950, "Adventure": 1673, "Romance": 1364, "Crime": 1298,
        "Horror": 1179, "Thriller": 1096, "Animation": 874, "Biography": 846, "Family": 817, "Mystery": 800,
        "Fantasy": 789, "History": 754, "Music": 752, "Western": 704, "Sci-Fi": 687, "Musical": 603,
        "Sport": 472, "Short": 428, "War": 417, "Documentary": 272, "Film-Noir": 73,
    },
    "mmimdb": {
        "Drama": 4188, "Comedy": 2609, "Action": 1617, "Adventure": 1588, "Romance": 1148, "Crime": 1081,
        "Horror": 835, "Thriller": 823, "Animation": 664, "Family": 646, "Mystery": 591, "Biography": 584,
        "Fantasy": 498, "History": 418, "Music": 415, "Western": 344, "Musical": 292, "Sci-Fi": 280,
        "Sport": 245, "Short": 211, "War": 164, "Documentary": 139, "Film-Noir": 92,
    },
}  # fmt: skip

_PAPER_LABEL = {"mmimdb2": "paper MM-IMDb 2.0", "mmimdb": "paper MM-IMDb"}


class CliParser(argparse.ArgumentParser):
    """argparse with the project's CLI error shape: one line ``error: ...`` on stderr, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message}\n")


def unlearnable_warning(unlearnable: Sequence[str]) -> str:
    """The one warning line for genres no training movie has (``python -m mmimdb2.stats``, ``benchmarks.run``)."""
    return (f"warning: no train movie has {', '.join(unlearnable)}: a model learns only {len(GENRES) - len(unlearnable)} "
            f"of the {len(GENRES)} genres (these score F1 0 in macro averages)")  # fmt: skip


def _summary(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {"mean": 0.0, "median": 0.0}
    return {"mean": round(statistics.fmean(values), 2), "median": float(statistics.median(values))}


def _part_stats(movies: Sequence[Movie]) -> dict[str, Any]:
    n = len(movies)
    return {
        "movies": n,
        "plot_words": _summary([len(m.plot.split()) for m in movies]),
        "cast_size": _summary([len(m.cast) for m in movies]),
        "directors": _summary([len(m.directors) for m in movies]),
        "labels_per_movie": _summary([len(m.genres) for m in movies]),
        "poster_coverage": round(sum(m.poster is not None for m in movies) / n, 4) if n else 0.0,
        "with_unknown_genres": sum(bool(unknown_genres(m.raw_genres)) for m in movies),
    }


def dataset_stats(ds: MovieDataset) -> dict[str, Any]:
    """Everything the CLI prints, as a JSON-serialisable dict."""
    parts = {p: ds.part(p) for p in PARTS}
    parts["total"] = [m for p in PARTS for m in parts[p]]
    genre_counts = {g: {p: 0 for p in parts} for g in GENRES}
    for p, movies in parts.items():
        for m in movies:
            for g in m.genres:
                genre_counts[g][p] += 1
    in_split = set(ds.split.all_ids)
    unknown = Counter(g for m in parts["total"] for g in unknown_genres(m.raw_genres))
    return {
        "dataset": ds.name,
        "layout": ds.layout,
        "root": str(ds.root),
        "split": ds.split.name,
        "split_source": ds.extra.get("split_source", ""),
        "movies_loaded": len(ds.movies),
        "movies_outside_split": sum(1 for i in ds.movies if i not in in_split),
        "genre_counts": genre_counts,
        "paper_reference": PAPER_TABLE1.get(ds.layout),
        "unknown_raw_genres": dict(unknown.most_common()),
        "genres_without_train_movies": [g for g in GENRES if not genre_counts[g]["train"]],
        "parts": {p: _part_stats(ms) for p, ms in parts.items()},
        "skips_by_stage": by_stage(ds.skips),
        "skips": skips_json(ds.skips),
        "split_sha256": {**ds.split.hashes, "split": ds.split.sha256},
        "split_sha256_listed": ds.extra.get("split_sha256_listed", ds.split.sha256),
    }


def format_stats(st: dict[str, Any], *, verbose: bool = False) -> str:
    """A plain-text report: Table 1 shape first, then summaries, skips and hashes. Skipped files
    are named with their reasons: all with ``verbose``, else the first few and how many more."""
    cols = [*PARTS, "total"]
    ref = st["paper_reference"]
    out = [
        f"dataset {st['dataset']} (layout {st['layout']}) at {st['root']}",
        f"split {st['split']} from {st['split_source']}: "
        + ", ".join(f"{p} {st['parts'][p]['movies']:,}" for p in cols)
        + f"; {st['movies_loaded']:,} movies loaded, {st['movies_outside_split']:,} outside the split",
        "",
    ]
    head = f"{'genre':<12}" + "".join(f"{c:>9}" for c in cols)
    if ref:
        head += f"  {_PAPER_LABEL[st['layout']]:>18}"
    out.append(head)
    for g in GENRES:
        row = f"{g:<12}" + "".join(f"{st['genre_counts'][g][c]:>9,}" for c in cols)
        if ref:
            row += f"  {ref[g]:>18,}"
        out.append(row)
    if ref:
        out.append("(paper: Table 1 of the IDKG paper; its counts look like a subset: compare the shape, not totals)")
    unlearnable = st.get("genres_without_train_movies", [])
    if unlearnable and st["parts"]["train"]["movies"]:
        out.append(unlearnable_warning(unlearnable))
    if st["unknown_raw_genres"]:
        out.append("raw genres outside the 23 (kept, not labels): "
                   + ", ".join(f"{g} {n}" for g, n in st["unknown_raw_genres"].items()))
    out += ["", f"{'':<22}" + "".join(f"{c:>10}" for c in cols)]
    rows = [
        ("plot words mean", lambda s: f"{s['plot_words']['mean']:.1f}"),
        ("plot words median", lambda s: f"{s['plot_words']['median']:.0f}"),
        ("cast size mean", lambda s: f"{s['cast_size']['mean']:.1f}"),
        ("cast size median", lambda s: f"{s['cast_size']['median']:.0f}"),
        ("directors per movie", lambda s: f"{s['directors']['mean']:.2f}"),
        ("labels per movie", lambda s: f"{s['labels_per_movie']['mean']:.2f}"),
        ("poster coverage", lambda s: f"{100 * s['poster_coverage']:.1f}%"),
    ]
    for label, fmt in rows:
        out.append(f"{label:<22}" + "".join(f"{fmt(st['parts'][c]):>10}" for c in cols))
    skips = st["skips_by_stage"]
    out += ["", "skips by stage: " + (", ".join(f"{k} {v:,}" for k, v in skips.items()) if skips else "none")]
    out += format_skips([Skip(**x) for x in st.get("skips", [])], verbose=verbose)
    out += ["", "split sha256:"] + [f"  {k:<6} {v}" for k, v in st["split_sha256"].items()]
    if st["split_sha256_listed"] != st["split_sha256"]["split"]:
        out.append(f"  (as listed before restriction to loaded movies: {st['split_sha256_listed']})")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the exit code."""
    ap = CliParser(prog="python -m mmimdb2.stats", description=__doc__.splitlines()[0])
    ap.add_argument("dataset", nargs="?", default="demo", help="demo (default), mmimdb, mmimdb2, or a dataset folder")
    ap.add_argument("--split", default="default", help="default, official, idkg, idkg-alt, a packaged split, or a split folder")
    ap.add_argument("--data-root", default=None, help=DATA_ROOT_HELP)
    ap.add_argument("--verify", action="store_true", help="check every file against <root>/MANIFEST first")
    ap.add_argument("--json", action="store_true", help="print the statistics as JSON (every skip included)")
    ap.add_argument("--verbose", "-v", action="store_true", help="name every skipped file with its reason (default: the first few)")
    args = ap.parse_args(argv)
    try:
        ds = load(args.dataset, args.split, data_root=args.data_root, verify=args.verify)
    except (OSError, ValueError, InvalidId) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    st = dataset_stats(ds)
    text = json.dumps(st, indent=2) if args.json else format_stats(st, verbose=args.verbose)
    print("\n".join(printable(line) for line in text.split("\n")))  # a name from the folder cannot drive the terminal
    return 0


if __name__ == "__main__":
    sys.exit(main())
