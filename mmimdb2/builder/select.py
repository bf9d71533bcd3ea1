"""``python -m mmimdb2.build select``: a new manifest from IMDb's TSVs by genre quotas, seeded and stratified.

The IDKG paper made MM-IMDb 2.0 harder by enlarging the head/tail ratio of its genre counts. This
command draws movies so that each genre reaches a quota (the paper's Table 1 shape by default,
reshaped to ``--head-tail-ratio`` and scaled by ``--scale``, or explicit ``--quota Genre=N``),
rarest genre first, then splits them 60/10/30 with iterative label stratification (Sechidis et
al. 2011): each movie goes to the part that most lacks its rarest label. All randomness comes
from one ``numpy.random.Generator(seed)``, so the same TSVs and flags give the same files;
``SELECTION.json`` beside the split files records the flags, quotas and the counts reached.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from mmimdb2.builder import tsv
from mmimdb2.builder.datasheet import PAPER_TABLE1
from mmimdb2.genres import GENRES, canonical_genre, canonical_genres
from mmimdb2.io import atomic_write_json
from mmimdb2.splits import PARTS, Split, write_split_dir
from mmimdb2.text import ascii_int

FRACTIONS = {"train": 0.6, "dev": 0.1, "test": 0.3}


class SelectError(ValueError):
    """A bad quota, ratio or TSV folder."""


def reshape_quotas(base: dict[str, int], ratio: float | None, scale: float = 1.0) -> dict[str, int]:
    """Power-reshape ``base`` so max/min equals ``ratio`` (keeping the genre ranking), then scale.

    q_g = min * (c_g / min) ** a with a = ln(ratio) / ln(max / min); ratio ``None`` keeps ``base``.
    """
    lo, hi = min(base.values()), max(base.values())
    if ratio is not None:
        if ratio < 1:
            raise SelectError(f"--head-tail-ratio must be >= 1, got {ratio}")
        a = math.log(ratio) / math.log(hi / lo) if hi > lo else 0.0
        base = {g: lo * (c / lo) ** a for g, c in base.items()}
    return {g: max(1, round(c * scale)) for g, c in base.items()}


def read_candidates(tsv_dir: Path, *, min_votes: int = 0, title_types: frozenset[str] = frozenset({"movie"})) -> dict[str, tuple[str, ...]]:
    """tt -> canonical genres of every non-adult title of ``title_types`` with at least one label (and the votes)."""
    votes: dict[str, int] | None = None
    if min_votes > 0:
        ratings = tsv_dir / "title.ratings.tsv.gz"
        if not ratings.is_file():
            raise SelectError(f"--min-votes needs {ratings}")
        tsv.check_header(ratings)
        votes = {r["tconst"]: ascii_int(r["numVotes"]) or 0 for r in tsv.stream_rows(ratings)}
    out = {}
    tsv.check_header(tsv_dir / "title.basics.tsv.gz")
    for r in tsv.stream_rows(tsv_dir / "title.basics.tsv.gz"):
        if r.get("titleType") not in title_types or r.get("isAdult") == "1":
            continue
        if votes is not None and votes.get(r["tconst"], 0) < min_votes:
            continue
        g = canonical_genres(tsv.split_list(r.get("genres")))
        if g:
            out[r["tconst"]] = g
    return out


def select_ids(cands: dict[str, tuple[str, ...]], quotas: dict[str, int], rng: np.random.Generator) -> list[str]:
    """Rarest quota first: add random candidates of that genre until its count (over all chosen) meets the quota."""
    chosen: list[str] = []
    taken: set[str] = set()
    count = {g: 0 for g in quotas}
    by_genre = {g: sorted(i for i, gs in cands.items() if g in gs) for g in quotas}
    for g in sorted(quotas, key=lambda g: (quotas[g], g)):
        pool = by_genre[g]
        for k in rng.permutation(len(pool)):
            if count[g] >= quotas[g]:
                break
            i = pool[k]
            if i in taken:
                continue
            taken.add(i)
            chosen.append(i)
            for h in cands[i]:
                if h in count:
                    count[h] += 1
    return chosen


def stratified_split(ids: list[str], labels: dict[str, tuple[str, ...]], rng: np.random.Generator, fractions: dict[str, float] = FRACTIONS) -> Split:
    """Iterative stratification: rarest label first, each movie to the part (with room left) that most lacks its rarest label."""
    n = len(ids)
    freq = {g: 0 for g in GENRES}
    for i in ids:
        for g in labels[i]:
            freq[g] += 1
    want = {p: {g: freq[g] * f for g in GENRES} for p, f in fractions.items()}
    size = {p: round(n * f) for p, f in fractions.items()}
    size[max(size, key=lambda p: size[p])] += n - sum(size.values())  # exact part sizes, summing to n
    parts: dict[str, list[str]] = {p: [] for p in fractions}
    base = sorted(ids)
    tie = dict(zip(base, rng.permutation(len(base)).tolist()))
    order = sorted(base, key=lambda i: (min((freq[g] for g in labels[i]), default=n), tie[i]))
    for i in order:
        rare = min(labels[i], key=lambda g: (freq[g], g))
        open_parts = [p for p in fractions if size[p] > 0] or list(fractions)
        p = max(open_parts, key=lambda p: (want[p][rare], size[p], -list(fractions).index(p)))
        parts[p].append(i)
        size[p] -= 1
        for g in labels[i]:
            want[p][g] -= 1
    return Split("selected", {p: tuple(sorted(parts[p])) for p in PARTS})


def _quota(s: str) -> tuple[str, int]:
    name, _, n = s.partition("=")
    g = canonical_genre(name)
    count = ascii_int(n.strip())
    if g is None or count is None:
        raise argparse.ArgumentTypeError(f"want Genre=N with one of the 23 genres, got {s!r}")
    return g, count


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m mmimdb2.build select", description=__doc__.split("\n")[0])
    p.add_argument("--tsv-dir", type=Path, required=True, help="folder with title.basics.tsv.gz (and title.ratings.tsv.gz for --min-votes)")
    p.add_argument("--out", type=Path, required=True, help="manifest folder to write (train.txt, dev.txt, test.txt, SHA256SUMS)")
    p.add_argument("--quota", type=_quota, action="append", default=[], help="Genre=N (repeatable); overrides the reshaped Table 1 quota of that genre")
    p.add_argument("--head-tail-ratio", type=float, help="reshape the quotas so the largest/smallest equals R (default: Table 1's own, ~65)")
    p.add_argument("--scale", type=float, default=1.0, help="multiply the Table 1 quotas (default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the draw and of the split (default 0)")
    p.add_argument("--min-votes", type=int, default=0, help="keep titles with at least N votes, needs title.ratings.tsv.gz (default 0: all)")
    a = p.parse_args(argv)
    try:
        quotas = reshape_quotas(PAPER_TABLE1, a.head_tail_ratio, a.scale) | dict(a.quota)
        if not (a.tsv_dir / "title.basics.tsv.gz").is_file():
            raise SelectError(f"{a.tsv_dir} has no title.basics.tsv.gz")
        cands = read_candidates(a.tsv_dir, min_votes=a.min_votes)
        rng = np.random.default_rng(a.seed)
        ids = select_ids(cands, quotas, rng)
        if len(ids) < 3:
            raise SelectError(f"only {len(ids)} titles matched; need at least 3 for a train/dev/test split")
        split = stratified_split(ids, cands, rng)
    except (SelectError, tsv.TsvError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    write_split_dir(split, a.out)
    counts = {g: sum(g in cands[i] for i in ids) for g in GENRES}
    atomic_write_json(a.out / "SELECTION.json", {
        "seed": a.seed, "quotas": quotas, "head_tail_ratio": a.head_tail_ratio, "scale": a.scale, "min_votes": a.min_votes,
        "candidates": len(cands), "selected": len(ids), "genre_counts": counts, "split_sha256": split.sha256,
        "tsv": {p.name: p.stat().st_size for p in sorted(a.tsv_dir.glob("title.*.tsv.gz"))},
    })  # fmt: skip
    short = [g for g in quotas if counts[g] < quotas[g]]
    print(f"wrote {a.out}: " + ", ".join(f"{p} {len(split[p])}" for p in PARTS) + f" (split sha256 {split.sha256[:16]}…)")
    if short:
        print("quota not met (too few candidates): " + ", ".join(short))
    return 0
