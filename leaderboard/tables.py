"""The experiments' tables: each :class:`~leaderboard.experiments.Experiment` laid out on the
runs of one (dataset, split, protocol) group.

A run is shown in the row of the experiment that :meth:`~leaderboard.experiments.Experiment.row_of`
gives it; rows keep the definition's order and labels (a run's label adds what tells it apart
from the other runs of its row: config values, KG embedding, encoder). Every table shows the
runs at the group's most common KG model and most common value of each swept config key, except
on the dimension the experiment itself varies (Table 4's KG models, τ's temperature).

Scores are mean ± std over seeds, never bolded: which rows the test part tells apart is said by
the verdict columns (:mod:`leaderboard.uncertainty`: the pooled macro-F1 over present genres with
its 95% bootstrap interval, the best row and the rows tied with it), "—" for a row without stored
test predictions.

- The ranked experiment (Table 2) shows every run, ranked by micro then macro F1, a per-genre
  F1 heatmap and a head vs tail plot of the best run of each model; it appears when the group has a run.
- A sweep experiment (τ) shows one table and one plot per family of runs that differ only by its
  sweep key, for each family with at least two rows present.
- Any other experiment appears when at least two of its rows have a run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from leaderboard.experiments import STATS, Experiment, Row, sweep_models
from leaderboard.markdown import code, interval_text, md, pm, slug, table, versus_text
from leaderboard.plots import best_per_model, group_plots, seeds_text, sweep_plot
from leaderboard.results import identity
from leaderboard.rows import (
    Record,
    code_text,
    hardware_text,
    ident_digest,
    kg_text,
    labels,
    mode,
    most_seeds,
    sort_by_score,
    tiebreak,
)
from leaderboard.table_model import cost_of, recipe_of, table_rows, tuning_text
from leaderboard.uncertainty import present_label
from mmimdb2.metrics import SCALAR_METRICS

PLOTS = "plots"


def _kg_field(name: str, fmt: str = "{}") -> Callable[[Record], str]:
    return lambda r: "—" if r["kg"] is None or r["kg"][name] is None else fmt.format(r["kg"][name])


#: Text of each non-score column key (:data:`leaderboard.experiments.INFO_KEYS`) for a run.
INFO: dict[str, Callable[[Record], str]] = {
    "recipe": lambda r: md(recipe_of(r) or "—"),
    "tuning": lambda r: md(tuning_text(r)),
    "seeds": lambda r: str(len(r["seeds"])),
    "model": lambda r: md(r["model"]["name"]),
    "encoder": lambda r: md(r["encoder"]["name"]),
    "kg": lambda r: md(kg_text(r)),
    "kg_dim": _kg_field("dim"),
    "kg_epochs": _kg_field("epochs"),
    "hits_at_10": _kg_field("hits_at_10", "{:.3f}"),
    "code": lambda r: md(code_text(r)),
    "hardware": lambda r: md(hardware_text(r)),
    "date": lambda r: md(r["created"][:10]),
    **{key: (lambda r, k=key, f=fmt: _cost_text(r, k, f)) for key, fmt in (
        ("train_s", "{:.1f}"), ("s_per_epoch", "{:.2f}"), ("predict_s_per_1k", "{:.3f}"), ("parameters", "{:,}"), ("peak_memory_mb", "{:,.0f}"))},
}  # fmt: skip


def _cost_text(record: Record, key: str, fmt: str) -> str:
    value = cost_of(record)[key]
    return "—" if value is None else fmt.format(value)


def score_texts(records: Sequence[Record], metrics: Sequence[str]) -> list[list[str]]:
    """Score cells per record: mean ± std over seeds (no best-mean bold: see :func:`stat_texts`)."""
    return [[pm(r, m) for m in metrics] for r in records]


def stat_header() -> str:
    return next(c.header for c in STATS if c.key == "macro_ci")


def stat_texts(records: Sequence[Record]) -> tuple[str, list[dict[str, str]]]:
    """The header of the interval column (with the count of genres present) and, per record, the
    cells of :data:`~leaderboard.experiments.STAT_KEYS`: its interval and its verdict against the best row."""
    present = present_label(records)
    header = stat_header().replace("present", f"present ({present})") if present else stat_header()
    rows = table_rows(records, ranked=False)  # the table model's intervals and marks, in this table's order
    return header, [{"macro_ci": interval_text(row.interval), "vs_best": versus_text(row.mark, row.versus)} for row in rows]


def layout(exp: Experiment, rows: Sequence[Record], names: Mapping[int, str]) -> list[str]:
    """The Markdown table of ``rows`` (in this order, labelled ``names[id(r)]``) with the experiment's columns."""
    metrics = [c.key for c in exp.columns if c.key in SCALAR_METRICS]
    ci_header, stats = stat_texts(rows)
    body = []
    for r, scores, stat in zip(rows, score_texts(rows, metrics), stats):
        by_key = {**dict(zip(metrics, scores)), **stat}
        body.append([md(names[id(r)]), *(by_key[c.key] if c.key in by_key else INFO[c.key](r) for c in exp.columns)])
    headers = [ci_header if c.key == "macro_ci" else c.header for c in exp.columns]
    return table([exp.first_column, *headers], body)


def _number(record: Record, key: str) -> float | None:
    v = record["model"]["config"].get(key)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def reference_pool(full: Sequence[Record], exp: Experiment) -> list[Record]:
    """The runs at the group's usual KG model and swept values, except where ``exp`` varies them."""
    keep = list(full)
    if not exp.varies_kg:
        kg_mode = mode([r["kg"]["model"] for r in full if r["kg"] is not None])
        keep = [r for r in keep if r["kg"] is None or r["kg"]["model"] == kg_mode]
    for key, models in sweep_models().items():
        if key != exp.sweep:
            usual = mode([v for v in (_number(r, key) for r in full if r["model"]["name"] in models) if v is not None])
            keep = [r for r in keep if r["model"]["name"] not in models or _number(r, key) in (None, usual)]
    return keep


def _rows_of(exp: Experiment, runs: Sequence[Record]) -> dict[Row, list[Record]]:
    by_row: dict[Row, list[Record]] = defaultdict(list)
    for r in runs:
        row = exp.row_of(r)
        if row is not None:
            by_row[row].append(r)
    return by_row


def experiment_tables(exp: Experiment, full: Sequence[Record], group: str, title: str, plots: dict[str, bytes]) -> list[str]:
    """The table(s) of ``exp`` on the full-modality runs ``full`` of one group (plots added to ``plots``;
    ``group`` prefixes their file names, ``title`` names the group in them)."""
    runs = reference_pool(full, exp)
    if exp.ranked:
        return _ranked(exp, runs, group, title, plots)
    if exp.sweep is not None:
        return _sweeps(exp, runs, group, title, plots)
    by_row = _rows_of(exp, runs)
    if len(by_row) < 2:
        return []
    row_of = {id(r): row for row, rs in by_row.items() for r in rs}
    names = labels([r for rs in by_row.values() for r in rs], _fields(exp), base=lambda r: row_of[id(r)].label)
    ordered = [r for row in exp.rows for r in sorted(by_row.get(row, []), key=lambda r: (names[id(r)], tiebreak(r)))]
    return [f"#### {exp.title}", "", *layout(exp, ordered, names)]


def _fields(exp: Experiment) -> tuple[str, ...]:
    """What tells runs of one row apart in their label (the KG is in the columns when rows vary it)."""
    return ("config", "encoder") if exp.varies_kg else ("config", "kg", "encoder")


def _ranked(exp: Experiment, runs: Sequence[Record], group: str, title: str, plots: dict[str, bytes]) -> list[str]:
    if not runs:
        return []

    def base(r: Record) -> str:
        row = exp.row_of(r)
        return r["model"]["name"] if row is None else row.label

    names = labels(runs, _fields(exp), base=base)
    ranked = sort_by_score(runs, names)
    shown = best_per_model(ranked)
    seeds = seeds_text(shown)
    drawn = group_plots(shown, names, title)
    n_models = len({r["model"]["name"] for r in ranked})
    top = f"the top {len(shown)} of {n_models} models" if len(shown) < n_models else f"{n_models} models"
    which = f"the best-ranked run (by micro-F1) of each model ({top}), each value the mean over its seeds ({seeds})"
    out = [f"#### {exp.title}", "", *layout(exp, ranked, names)]
    for kind, alt, caption in (
        ("per_genre", "Per-genre F1 heatmap", f"Per-genre test F1 × 100 of {which}. Genres are ordered by their number of "
         "test positives (n, in the label); a hatched grey cell marked `absent` is a genre with no test positive, "
         "whose F1 is 0 whatever the model predicts."),
        ("head_tail", "Head vs tail F1", f"Head vs tail F1 × 100 (the paper's Fig. 3) of {which}: head = the six most, "
         "tail = the six least frequent genres of the training labels (the `head_tail` of the result files). Whiskers: "
         "95% bootstrap interval over test movies of the seeds' pooled predictions, where the file stores them."),
    ):  # fmt: skip
        plot = f"{PLOTS}/{group}__{kind}.png"
        plots[plot] = drawn[kind]
        out += [f"![{alt}, {md(title)}]({plot})", "", f"*{caption}*", ""]
    return out


def _sweeps(exp: Experiment, runs: Sequence[Record], group: str, title: str, plots: dict[str, bytes]) -> list[str]:
    """One table and plot per family: runs equal but for the sweep key (and seeds); per row the run with most seeds."""
    families: dict[str, list[Record]] = defaultdict(list)
    for r in runs:
        ident: dict[str, Any] = identity(r)
        ident["config"] = {k: v for k, v in r["model"]["config"].items() if k != exp.sweep}
        ident["seeds"] = None
        families[ident_digest(ident)].append(r)
    out: list[str] = []
    for digest, members in sorted(families.items(), key=lambda f: (f[1][0]["model"]["name"], f[0])):
        by_row = _rows_of(exp, members)
        if len(by_row) < 2:
            continue
        points = [(row, most_seeds(by_row[row])) for row in exp.rows if row in by_row]
        model = points[0][1]["model"]["name"]
        names = {id(r): row.label for row, r in points}
        what = exp.first_column
        plot = f"{PLOTS}/{group}__{exp.name}__{slug(model)}__{digest[:8]}.png"
        xs = [(float(row.variant.config[exp.sweep]), r) for row, r in points]
        plots[plot] = sweep_plot(xs, f"{exp.sweep} {what}", f"{what} sweep · {model} · {title}")
        out += [f"#### {exp.title}: {md(model)}, config {code(exp.sweep)}", "", *layout(exp, [r for _, r in points], names)]
        out += [f"![{md(what)} sweep, {md(model)}]({plot})", ""]
    return out
