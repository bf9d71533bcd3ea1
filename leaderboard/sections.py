"""The tables (and plots) of one (dataset, split, protocol) group of the leaderboard.

The main comparison (paper Table 2), the ablations (Table 3), KG embedding models (Table 4),
contrastive variants (Table 5), the temperature τ (Fig. 4) and missing modalities, each when
its rows are present. Tables 2, 3 and 5 show the rows at the group's most common KG model and
τ; the KG and τ sweeps have their own. Rows of the authors' protocol get the inflation of every
metric over their fixed counterpart.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from leaderboard.markdown import code, delta, md, pm, slug, table
from leaderboard.plots import best_per_model, per_genre_plot, sweep_plot
from leaderboard.records import (
    Record,
    code_text,
    counterpart,
    hardware_text,
    ident_digest,
    kg_text,
    mode,
    most_seeds,
    sort_by_score,
    tiebreak,
)
from leaderboard.records import labels as _labels
from leaderboard.results import identity

PLOTS = "plots"
METRICS: tuple[tuple[str, str], ...] = (
    ("micro", "Micro-F1"), ("macro", "Macro-F1"), ("weighted", "Weighted-F1"), ("samples", "Samples-F1"),
)  # fmt: skip
HEAD_TAIL: tuple[tuple[str, str], ...] = (("head", "Head"), ("tail", "Tail"))
ABLATIONS: tuple[str, ...] = ("idkg", "idkg-no-at", "idkg-no-gcacl", "idkg-no-kg")
CONTRASTIVE: tuple[str, ...] = ("idkg", "idkg-random-anchors", "idkg-mulcon", "idkg-mcl", "idkg-mltc", "idkg-cgmvae")
#: Config keys holding the contrastive temperature τ (Fig. 4).
TAU_KEYS: tuple[str, ...] = ("temperature", "tau")


def _score_cells(records: Sequence[Record], metrics: Sequence[tuple[str, str]]) -> list[list[str]]:
    """Score cells per record, the best mean of each column in bold (when more than one row)."""
    best = {m: max(r["aggregate"]["mean"][m] for r in records) for m, _ in metrics}
    out = []
    for r in records:
        cells = []
        for m, _ in metrics:
            text = pm(r, m)
            cells.append(f"**{text}**" if len(records) > 1 and r["aggregate"]["mean"][m] == best[m] else text)
        out.append(cells)
    return out


def _main_table(records: Sequence[Record]) -> list[str]:
    labels = _labels(records)
    rows = sort_by_score(records, labels)
    header = ["Model", *(h for _, h in METRICS), *(h for _, h in HEAD_TAIL), "Seeds", "Encoder", "KG", "Code", "Hardware", "Date"]
    body = []
    for r, scores in zip(rows, _score_cells(rows, METRICS + HEAD_TAIL)):
        body.append([md(labels[id(r)]), *scores, str(len(r["seeds"])), md(r["encoder"]["name"]), md(kg_text(r)),
                     md(code_text(r)), md(hardware_text(r)), md(r["created"][:10])])  # fmt: skip
    return table(header, body)


def _short_table(records: Sequence[Record], first: str, first_cell) -> list[str]:
    header = [first, *(h for _, h in METRICS), "Seeds"]
    body = [[md(first_cell(r)), *scores, str(len(r["seeds"]))] for r, scores in zip(records, _score_cells(records, METRICS))]
    return table(header, body)


def _tau_of(record: Record) -> tuple[str, float] | None:
    config = record["model"]["config"]
    for k in TAU_KEYS:
        if isinstance(config.get(k), (int, float)) and not isinstance(config.get(k), bool):
            return k, float(config[k])
    return None


def _tau_families(records: Sequence[Record]) -> list[tuple[str, list[tuple[float, Record]]]]:
    """Runs that differ only by the temperature in their config (and seeds), with two τ values or more.

    Per τ value the run with the most seeds is kept.
    """
    fams: dict[str, dict[float, list[Record]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        tau = _tau_of(r)
        if tau is None:
            continue
        ident = identity(r)
        ident["config"] = {k: v for k, v in r["model"]["config"].items() if k != tau[0]}
        ident["seeds"] = None
        fams[ident_digest(ident)][tau[1]].append(r)
    out = []
    for digest, by_tau in fams.items():
        if len(by_tau) > 1:
            out.append((digest, [(t, most_seeds(rs)) for t, rs in sorted(by_tau.items())]))
    return sorted(out, key=lambda f: (f[1][0][1]["model"]["name"], f[0]))


def _reference_rows(records: Sequence[Record]) -> list[Record]:
    """Rows at the group's usual KG model and temperature: the sweeps get their own tables (4, Fig. 4)."""
    kg_mode = mode([r["kg"]["model"] for r in records if r["kg"] is not None])
    tau_mode = mode([t[1] for t in map(_tau_of, records) if t is not None])
    return [
        r for r in records
        if (r["kg"] is None or r["kg"]["model"] == kg_mode) and (_tau_of(r) is None or _tau_of(r)[1] == tau_mode)
    ]  # fmt: skip


def group_sections(records: Sequence[Record], group: str, title: str, plots: dict[str, bytes], fixed_pool: Sequence[Record] | None) -> list[str]:
    """The tables (and plots, added to ``plots``) of one group; ``group`` prefixes its plot names.

    ``fixed_pool``: for an authors'-protocol group, the fixed-protocol runs of its split.
    """
    out: list[str] = []
    full = [r for r in records if r["drop"] is None]
    reference = _reference_rows(full)
    names = {r["model"]["name"] for r in full}
    if full:
        labels = _labels(reference)
        out += ["#### Main comparison (Table 2)", "", *_main_table(reference)]
        plot = f"{PLOTS}/{group}__per_genre.png"
        shown = best_per_model(sort_by_score(reference, labels))
        plots[plot] = per_genre_plot(shown, labels, f"Per-genre F1 · {title}")
        out += [f"![Per-genre F1, {md(title)}]({plot})", "",
                f"*Per-genre F1 of the best run of each model (top {len(shown)} by micro-F1).*", ""]  # fmt: skip
    ablation = [r for r in reference if r["model"]["name"] in ABLATIONS or r["model"]["name"].startswith("idkg-gmu")]
    if any(r["model"]["name"] != "idkg" for r in ablation):
        order = {n: i for i, n in enumerate(ABLATIONS)}
        labels = _labels(ablation)
        ablation.sort(key=lambda r: (order.get(r["model"]["name"], len(order)), labels[id(r)], tiebreak(r)))
        out += ["#### Ablations (Table 3)", "", *_short_table(ablation, "Variant", lambda r: labels[id(r)])]
    tau_mode = mode([t[1] for t in map(_tau_of, full) if t is not None])
    kg_rows = [r for r in full if r["model"]["name"] == "idkg" and r["kg"] is not None
               and (_tau_of(r) is None or _tau_of(r)[1] == tau_mode)]  # fmt: skip
    if len({r["kg"]["model"] for r in kg_rows}) > 1:
        labels = _labels(kg_rows, ("config", "encoder"))
        kg_rows.sort(key=lambda r: (r["kg"]["model"], r["kg"]["dim"], r["kg"]["epochs"], labels[id(r)], tiebreak(r)))
        header = ["KG model", "Dim", "Epochs", "Hits@10", *(h for _, h in METRICS), "Seeds"]
        body = []
        for r, scores in zip(kg_rows, _score_cells(kg_rows, METRICS)):
            kg = r["kg"]
            hits = "—" if kg["hits_at_10"] is None else f"{kg['hits_at_10']:.3f}"
            label = kg["model"] + (labels[id(r)][len("idkg"):] if labels[id(r)] != "idkg" else "")
            body.append([md(label), str(kg["dim"]), str(kg["epochs"]), hits, *scores, str(len(r["seeds"]))])
        out += ["#### KG embedding models (Table 4)", "", *table(header, body)]
    contrastive = [r for r in reference if r["model"]["name"] in CONTRASTIVE]
    if names & set(CONTRASTIVE[1:]):
        order = {n: i for i, n in enumerate(CONTRASTIVE)}
        labels = _labels(contrastive)
        contrastive.sort(key=lambda r: (order[r["model"]["name"]], labels[id(r)], tiebreak(r)))
        out += ["#### Contrastive variants (Table 5)", "", *_short_table(contrastive, "Loss", lambda r: labels[id(r)])]
    for digest, points in _tau_families(full):
        model = points[0][1]["model"]["name"]
        key = _tau_of(points[0][1])[0]
        out += [f"#### Temperature τ (Fig. 4): {md(model)}, config {code(key)}", ""]
        out += _short_table([r for _, r in points], "τ", lambda r: f"{_tau_of(r)[1]:g}")
        plot = f"{PLOTS}/{group}__tau__{slug(model)}__{digest[:8]}.png"
        plots[plot] = sweep_plot(points, "temperature τ", f"τ sweep · {model} · {title}")
        out += [f"![τ sweep, {md(model)}]({plot})", ""]
    out += missing_modalities(records, full)
    if fixed_pool is not None:
        out += inflation(records, fixed_pool)
    return out


def missing_modalities(records: Sequence[Record], full: Sequence[Record]) -> list[str]:
    """Runs with a modality dropped at test time, with the macro-F1 change from their full run."""
    dropped = [r for r in records if r["drop"] is not None]
    if not dropped:
        return []
    labels = _labels(dropped)
    dropped.sort(key=lambda r: (labels[id(r)], r["drop"], tiebreak(r)))
    header = ["Model", "Dropped at test", *(h for _, h in METRICS), "Δ Macro vs full", "Seeds"]
    body = []
    for r, scores in zip(dropped, _score_cells(dropped, METRICS)):
        ref = counterpart(r, full, drop=None)
        change = "—" if ref is None else delta(r["aggregate"]["mean"]["macro"], ref["aggregate"]["mean"]["macro"])
        body.append([md(labels[id(r)]), md(r["drop"]), *scores, change, str(len(r["seeds"]))])
    return ["#### Missing modalities at test time", "", *table(header, body)]


def inflation(authors: Sequence[Record], fixed: Sequence[Record]) -> list[str]:
    """Authors'-protocol runs next to their fixed-protocol counterpart, with the difference."""
    labels = _labels(authors)
    header = ["Model", "Protocol", *(h for _, h in METRICS), "Seeds"]
    body = []
    for r in sorted(authors, key=lambda r: (labels[id(r)], str(r["drop"]), tiebreak(r))):
        name = md(labels[id(r)] + ("" if r["drop"] is None else f" (drop {r['drop']})"))
        ref = counterpart(r, fixed, protocol="fixed")
        body.append([name, "authors", *(pm(r, m) for m, _ in METRICS), str(len(r["seeds"]))])
        if ref is None:
            body.append([name, "fixed", *("no fixed run" for _ in METRICS), "—"])
            continue
        body.append([name, "fixed", *(pm(ref, m) for m, _ in METRICS), str(len(ref["seeds"]))])
        deltas = [delta(r["aggregate"]["mean"][m], ref["aggregate"]["mean"][m]) for m, _ in METRICS]
        body.append([name, "**inflation**", *(f"**{d}**" for d in deltas), ""])
    return ["#### Inflation over the fixed protocol", "",
            "Authors-protocol score minus the fixed-protocol score of the same model, config, encoder and KG "
            "(F1 × 100, means over seeds).", "", *table(header, body)]  # fmt: skip
