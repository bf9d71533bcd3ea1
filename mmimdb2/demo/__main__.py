"""``python -m mmimdb2.demo --out DIR [--limit N] [--seed S] [--check]``: write a demo and summarise it."""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

from mmimdb2.demo.writer import DemoError, ensure_demo
from mmimdb2.genres import GENRES, canonical_genres
from mmimdb2.splits import read_split_dir


def summary(folder: Path) -> str:
    """A few lines: movies per split part, genres per movie, head and tail genre counts, split hash."""
    import json

    split = read_split_dir(folder / "split")
    counts: Counter[str] = Counter()
    n_labels = 0
    for i in split.all_ids:
        genres = canonical_genres(json.loads((folder / "dataset" / f"{i}.json").read_text(encoding="utf-8"))["genres"])
        counts.update(genres)
        n_labels += len(genres)
    n = len(split.all_ids)
    ranked = sorted(GENRES, key=lambda g: -counts[g])
    return "\n".join([
        f"demo: {n} movies in {folder}",
        "split: " + ", ".join(f"{p} {len(split[p])}" for p in split.parts) + f" (sha256 {split.sha256[:12]})",
        f"genres per movie: {n_labels / n:.2f}",
        "most: " + ", ".join(f"{g} {counts[g]}" for g in ranked[:4]),
        "least: " + ", ".join(f"{g} {counts[g]}" for g in ranked[-4:]),
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mmimdb2.demo", description=__doc__)
    ap.add_argument("--out", required=True, type=Path, help="folder to write (created; reused if it holds the same demo)")
    ap.add_argument("--limit", type=int, default=3000, metavar="N", help="number of movies (default 3000)")
    ap.add_argument("--n", dest="limit", type=int, help=argparse.SUPPRESS)  # its name before 2026-12; kept working
    ap.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    ap.add_argument("--check", action="store_true", help="also fit logistic regressions and print test macro-F1 per modality")
    args = ap.parse_args(argv)
    try:
        t0 = time.perf_counter()
        folder = ensure_demo(args.out, n_movies=args.limit, seed=args.seed)
        took = time.perf_counter() - t0
        print(summary(folder))
        print(f"ready in {took:.1f} s")
        if args.check:
            from mmimdb2.demo.check import difficulty

            scores = difficulty(folder)
            print("test macro-F1 (logistic regression): " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items()))
    except (DemoError, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
