"""The tables (and plots) of one (dataset, split, protocol) group of the leaderboard.

First the paper's experiments (:mod:`leaderboard.experiments`, laid out by
:mod:`leaderboard.tables`): the main comparison (Table 2), ablations (Table 3), KG embedding
models (Table 4), contrastive variants (Table 5) and the temperature τ (Fig. 4), each when its
rows are present. Then the runs with a modality dropped at test time and, for a group of the
authors' protocol, the inflation of every metric over the fixed-protocol counterpart.
"""

from __future__ import annotations

from collections.abc import Sequence

from leaderboard.experiments import SCORES, STATS, experiments
from leaderboard.markdown import delta, md, pm, table
from leaderboard.rows import Record, counterpart, labels, tiebreak
from leaderboard.tables import PLOTS, experiment_tables, score_texts, stat_texts

__all__ = ["PLOTS", "group_sections", "inflation", "missing_modalities"]


def group_sections(records: Sequence[Record], group: str, title: str, plots: dict[str, bytes], fixed_pool: Sequence[Record] | None) -> list[str]:
    """The tables (and plots, added to ``plots``) of one group; ``group`` prefixes its plot names.

    ``fixed_pool``: for an authors'-protocol group, the fixed-protocol runs of its split.
    """
    full = [r for r in records if r["drop"] is None]
    out: list[str] = []
    for exp in experiments():
        out += experiment_tables(exp, full, group, title, plots)
    out += missing_modalities(records, full)
    if fixed_pool is not None:
        out += inflation(records, fixed_pool)
    return out


def missing_modalities(records: Sequence[Record], full: Sequence[Record]) -> list[str]:
    """Runs with a modality dropped at test time, with the macro-F1 change from their full run."""
    dropped = [r for r in records if r["drop"] is not None]
    if not dropped:
        return []
    names = labels(dropped)
    dropped.sort(key=lambda r: (names[id(r)], r["drop"], tiebreak(r)))
    ci_header, stats = stat_texts(dropped)
    header = ["Model", "Dropped at test", *(c.header for c in SCORES), ci_header, STATS[1].header, "Δ Macro vs full", "Seeds"]
    body = []
    for r, scores, stat in zip(dropped, score_texts(dropped, [c.key for c in SCORES]), stats):
        ref = counterpart(r, full, drop=None)
        change = "—" if ref is None else delta(r["aggregate"]["mean"]["macro"], ref["aggregate"]["mean"]["macro"])
        body.append([md(names[id(r)]), md(r["drop"]), *scores, stat["macro_ci"], stat["vs_best"], change, str(len(r["seeds"]))])
    return ["#### Missing modalities at test time", "", *table(header, body)]


def overlap_cells(record: Record) -> list[str]:
    """The mean overlap shares of an authors'-protocol record's seeds, as percentages ("—" when not recorded)."""
    seeds = [e["overlap"] for e in record["per_seed"] if "overlap" in e]
    if len(seeds) != len(record["per_seed"]):
        return ["—", "—"]
    return [f"{100 * sum(o[k] for o in seeds) / len(seeds):.0f} %" for k in ("test_in_train", "test_in_kg_train")]


def inflation(authors: Sequence[Record], fixed: Sequence[Record]) -> list[str]:
    """Authors'-protocol runs next to their fixed-protocol counterpart, with the difference."""
    names = labels(authors)
    header = ["Model", "Protocol", *(c.header for c in SCORES), "Seeds", "Test in train", "Test in KG's train"]
    body = []
    for r in sorted(authors, key=lambda r: (names[id(r)], str(r["drop"]), tiebreak(r))):
        name = md(names[id(r)] + ("" if r["drop"] is None else f" (drop {r['drop']})"))
        ref = counterpart(r, fixed, protocol="fixed")
        body.append([name, "authors", *(pm(r, c.key) for c in SCORES), str(len(r["seeds"])), *overlap_cells(r)])
        if ref is None:
            body.append([name, "fixed", *("no fixed run" for _ in SCORES), "—", "0 %", "0 %"])
            continue
        body.append([name, "fixed", *(pm(ref, c.key) for c in SCORES), str(len(ref["seeds"])), "0 %", "0 %"])
        deltas = [delta(r["aggregate"]["mean"][c.key], ref["aggregate"]["mean"][c.key]) for c in SCORES]
        body.append([name, "**inflation**", *(f"**{d}**" for d in deltas), "", "", ""])
    return ["#### Inflation over the fixed protocol", "",
            "Authors-protocol score minus the fixed-protocol score of the same model, config, encoder and KG "
            "(F1 × 100, means over seeds). The last columns give the measured share of the test movies that were "
            "training movies, and that were in the draw the knowledge graph was built from (mean over seeds; "
            "— for results made before it was recorded).", "", *table(header, body)]  # fmt: skip
