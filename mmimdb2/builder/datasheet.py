"""``DATASHEET.md``: what a build holds, derived from its data files only (so re-runs match byte for byte).

Counts per genre per split beside the paper's Table 1, coverage of each field, which source gave
each field, the build date (``SOURCE_DATE_EPOCH`` if set, else the day the build was first
started, kept in the journal across resumes) and the licence terms of the sources.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from mmimdb2.genres import GENRES, canonical_genres
from mmimdb2.splits import PARTS, Split
from mmimdb2.text import clean_field

#: MM-IMDb 2.0 genre counts from Table 1 of the IDKG paper (ACM MM '23); the target shape, not exact totals.
PAPER_TABLE1: dict[str, int] = {
    "Drama": 4773, "Comedy": 2861, "Action": 1950, "Adventure": 1673, "Romance": 1364, "Crime": 1298,
    "Horror": 1179, "Thriller": 1096, "Animation": 874, "Biography": 846, "Family": 817, "Mystery": 800,
    "Fantasy": 789, "History": 754, "Music": 752, "Western": 704, "Sci-Fi": 687, "Musical": 603,
    "Sport": 472, "Short": 428, "War": 417, "Documentary": 272, "Film-Noir": 73,
}  # fmt: skip

COVERED = ("title", "original_title", "year", "genres", "plot", "poster", "directors", "cast")

IMDB_TERMS = (
    "IMDb data (TSV datasets, pages): for personal and non-commercial use only, under IMDb's "
    "conditions of use and non-commercial licensing (https://developer.imdb.com/non-commercial-datasets/). "
    "Do not redistribute the data commercially."
)


def _has(m: dict, f: str) -> bool:
    if f == "poster":
        return "poster" in m.get("sources", {})
    v = m.get(f)
    return v is not None and v != [] and v != ""


def render(
    *,
    name: str,
    version: str,
    date: str,
    target: Split,
    built: Split,
    movies: Mapping[str, dict],
    failed: Sequence[str],
    licences: Mapping[str, str],
) -> str:
    """The datasheet text; ``movies`` maps id -> stored JSON object, ``licences`` source name -> terms."""
    n = len(movies)
    out = [f"# Datasheet: {name} {version}", ""]
    out += [
        f"Built by `python -m mmimdb2.build` on {date} from the manifest `{target.name}` "
        f"(split sha256 `{target.sha256[:16]}…`).",
        "",
        f"- movies in the manifest: {len(target.all_ids)}; built: {n}; not built: {len(failed)} (see failures.jsonl)",
        "- " + ", ".join(f"{p}: {len(built[p])} of {len(target[p])}" for p in PARTS),
        f"- built split sha256: `{built.sha256}`",
        "",
        "## Genres per split",
        "",
        "Counts of the 23 labels among built movies, beside Table 1 of the IDKG paper (MM '23), whose",
        "per-genre numbers look like counts over a subset: compare the shape, not the totals.",
        "",
        "| genre | " + " | ".join(PARTS) + " | all | paper Table 1 |",
        "|---|" + "---:|" * (len(PARTS) + 2),
    ]
    counts = {p: Counter(g for i in built[p] for g in canonical_genres(movies[i].get("genres", []))) for p in PARTS}
    for g in sorted(GENRES, key=lambda g: -PAPER_TABLE1[g]):
        row = [counts[p][g] for p in PARTS]
        out.append(f"| {g} | " + " | ".join(str(c) for c in row) + f" | {sum(row)} | {PAPER_TABLE1[g]} |")
    raw = Counter(clean_field(r) for m in movies.values() for r in m.get("genres", []) if not canonical_genres([r]))
    if raw:
        out += ["", "Raw genres kept on the movies but not labels: " + ", ".join(f"{g} ({c})" for g, c in sorted(raw.items()))]
    out += ["", "## Coverage of each field", "", "| field | movies | share |", "|---|---:|---:|"]
    for f in COVERED:
        c = sum(_has(m, f) for m in movies.values())
        out.append(f"| {f} | {c} | {c / n:.1%} |" if n else f"| {f} | 0 | - |")
    people = [p for m in movies.values() for p in m.get("directors", []) + m.get("cast", [])]
    with_id = sum(1 for p in people if isinstance(p, dict) and p.get("imdb_id"))
    if people:
        out.append(f"\nPeople with an IMDb `nm` id: {with_id} of {len(people)} ({with_id / len(people):.1%}).")
    out += ["", "## Sources used", "", "| field | source | movies |", "|---|---|---:|"]
    per = Counter((f, s) for m in movies.values() for f, s in m.get("sources", {}).items())
    for (f, s), c in sorted(per.items()):
        out.append(f"| {f} | {s} | {c} |")
    used = sorted({s for _, s in per})
    out += ["", "## Licence terms", "", f"- {IMDB_TERMS}"]
    for s in used:
        if s in licences:
            out.append(f"- {s}: {licences[s]}")
    out += [
        "",
        "The builder's code is MIT-licensed; the data it assembles stays under its sources' terms.",
        "Every data file is listed with its sha256 in MANIFEST; check it with `python -m mmimdb2.build --out DIR --verify`.",
        "",
    ]
    return "\n".join(out)
