"""The leaderboard as one self-contained HTML page: sortable, filterable tables and the plots.

One table per group of the table model (dataset, registered split, protocol, recipe; in its
order, :func:`leaderboard.table_model.groups`), one row per result (:func:`leaderboard.frame.row_dict`).
The page needs nothing but itself: CSS and a small vanilla script are inline, the plots are
``data:`` URIs, so it works from a ``file://`` URL with no network. Every text taken from a
submission goes through :func:`html.escape` (attributes too) and the script only reads the DOM
and moves rows, so markup in a submission shows as text and never runs. The page is deterministic
(no clock): the same records and plots give the same bytes.

Published numbers (:mod:`leaderboard.reported`) get a section of their own after each dataset's
groups (a dataset with published numbers and no run gets one too), styled apart, with the
protocol flags of every row: no ``section.group``, so the script never sorts them, never ranks
them and never counts them as results; the dataset and model filters still apply to them. The
header carries the paragraph on the gap between a paper's claim and the reproduced rows.

A dataset with diagnosed rows gets a Diagnostics part after its groups: the table, caption and
robustness plot of :mod:`leaderboard.diagnostics_table` (the README's), sortable like a group's
table and filtered row by row by every filter, never counted as results.

Plots are the PNGs the README render produced; each is shown under the group whose README
section (``### `` heading) references it, captioned with its alt text, and any PNG the README does
not place is shown at the end, so a new plot kind appears without this module knowing its name.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from leaderboard import diagnostics_table
from leaderboard.diagnostics_table import HEADING as DIAGNOSTICS
from leaderboard.experiments import HEAD_TAIL, SCORES, STATS
from leaderboard.frame import row_dict
from leaderboard.prose import GAP_TITLE
from leaderboard.reported import HEADING, NOTE, Dataset, Reported, ReportedResults, gap_text
from leaderboard.reported import cells as reported_cells
from leaderboard.reported import header as reported_header
from leaderboard.reported import notes as reported_notes
from leaderboard.table_model import groups as table_groups

#: A README image line: ``![alt](path)``.
_IMAGE = re.compile(r"^!\[(.*)\]\(([^()\s]+)\)\s*$")
_MD_ESCAPE = re.compile(r"\\(.)")
_NONE = "—"


def esc(value: Any) -> str:
    """Submitted text for HTML text and (double-quoted) attributes: ``& < > " '`` escaped."""
    return html.escape("" if value is None else str(value), quote=True)


def _md_text(text: str) -> str:
    """Plain text of an escaped Markdown snippet (the README's alt texts): backslashes and entities undone."""
    return html.unescape(_MD_ESCAPE.sub(r"\1", text))


def placed_plots(readme: str, plots: Mapping[str, bytes]) -> tuple[list[list[tuple[str, str]]], list[tuple[str, str]]]:
    """``(per README ``### `` section: [(plot, caption)], [(plot, caption) not in any section])``."""
    sections: list[list[tuple[str, str]]] = []
    placed: set[str] = set()
    current: list[tuple[str, str]] | None = None
    for line in readme.splitlines():
        if line == f"### {DIAGNOSTICS}":  # a dataset's diagnostics: its plot is placed by name (_diagnostics_section)
            current = None
        elif line.startswith("### ") and not line.startswith(f"### {HEADING}"):  # a group's section
            sections.append([])
            current = sections[-1]
            continue
        m = _IMAGE.match(line)
        if m and m.group(2) in plots and current is not None and m.group(2) not in placed:
            current.append((m.group(2), _md_text(m.group(1))))
            placed.add(m.group(2))
    rest = [(name, Path(name).stem) for name in sorted(plots) if name not in placed]
    return sections, rest


def _figure(name: str, caption: str, png: bytes) -> str:
    uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return f'<figure><img src="{uri}" alt="{esc(caption)}"><figcaption>{esc(caption)}</figcaption></figure>'


def _score(mean: Any, std: Any) -> tuple[str, str]:
    if mean is None:
        return "", _NONE
    return f"{mean:.6f}", f"{100 * mean:.2f} ± {100 * (std or 0):.2f}"


def _interval(row: Mapping[str, Any]) -> tuple[str, str]:
    e, lo, hi = row["macro_present_estimate"], row["macro_present_ci_low"], row["macro_present_ci_high"]
    if e is None:
        return "", _NONE
    return f"{e:.6f}", f"{100 * e:.2f} [{100 * lo:.2f}, {100 * hi:.2f}]"


def _kg(row: Mapping[str, Any]) -> str:
    return _NONE if row["kg_model"] is None else f"{row['kg_model']} ({row['kg_dim']}d, {row['kg_epochs']} ep)"


#: The cost columns (:func:`leaderboard.table_model.cost_of`): header, row key, display format.
_COST: tuple[tuple[str, str, str], ...] = (
    ("Train s", "train_s", "{:.1f}"), ("s / epoch", "s_per_epoch", "{:.2f}"), ("Predict s / 1k", "predict_s_per_1k", "{:.3f}"),
    ("Params", "parameters", "{:,}"), ("Peak MB", "peak_memory_mb", "{:,.0f}"),
)  # fmt: skip


#: (header, kind, cell) of a table's columns; kind "num" sorts numerically (best first on the first click).
def _columns(with_drop: bool) -> list[tuple[str, str, Any]]:
    cols: list[tuple[str, str, Any]] = [("Model", "text", lambda r: (r["label"], r["label"]))]
    if with_drop:
        cols.append(("Dropped at test", "text", lambda r: (r["drop"] or "", r["drop"] or _NONE)))
    for c in (*SCORES[:2], STATS[0], *SCORES[2:], *HEAD_TAIL):
        cell = _interval if c in STATS else (lambda r, k=c.key: _score(r[f"{k}_mean"], r[f"{k}_std"]))
        cols.append((c.header, "num", cell))
    cols.append(("vs best", "text", lambda r: (r["vs_best"], r["vs_best"])))
    for header, key, fmt in _COST:
        cols.append((header, "num", lambda r, k=key, f=fmt: ("", _NONE) if r[k] is None else (f"{r[k]:.6g}", f.format(r[k]))))
    cols += [
        ("Seeds", "num", lambda r: (str(r["seeds"]), str(r["seeds"]))),
        ("Encoder", "text", lambda r: (r["encoder"], r["encoder"])),
        ("KG", "text", lambda r: (_kg(r), _kg(r))),
        ("Code", "text", lambda r: (r["code_version"], r["code_version"])),
        ("Hardware", "text", lambda r: (r["hardware"], r["hardware"])),
        ("Date", "text", lambda r: (r["created"], r["created"][:10])),
        ("File", "text", lambda r: (r["file"] or "", r["file"] or _NONE)),
    ]
    return cols


def _table(group_rows: Sequence[Mapping[str, Any]]) -> str:
    cols = _columns(any(r["drop"] is not None for r in group_rows))
    head = "".join(_th(h, kind) for h, kind, _ in cols)
    body = []
    for r in group_rows:
        cells = []
        for i, (_, kind, cell) in enumerate(cols):
            key, text = cell(r)
            cells.append(_td(kind, key, text, title=r["config"] if i == 0 else None))
        body.append(f'<tr data-model="{esc(r["label"].lower())}">{"".join(cells)}</tr>')
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>\n' + "\n".join(body) + "\n</tbody></table></div>"


def _td(kind: str, key: str, text: str, *, title: str | None = None) -> str:
    """A table cell: its shown text, its sort key (``data-v``) and, for a ``num`` column, its class."""
    cls = ' class="num"' if kind == "num" else ""
    tip = "" if title is None else f' title="{esc(title)}"'
    return f'<td{cls} data-v="{esc(key)}"{tip}>{esc(text)}</td>'


def _th(header: str, kind: str) -> str:
    """A sortable header cell (the script sorts a ``num`` column best first on the first click)."""
    return f'<th data-type="{kind}" tabindex="0" aria-sort="none">{esc(header)}</th>'


def _diagnostics_section(groups: Sequence[Any], dataset: str, plots: Mapping[str, bytes]) -> str:
    """A dataset's Diagnostics part: :mod:`leaderboard.diagnostics_table`'s caption, table (sortable,
    each row filtered as its group is) and robustness plot; "" without a diagnosed row."""
    rows = diagnostics_table.diagnosed(groups, dataset)
    if not rows:
        return ""
    cols = diagnostics_table.columns(rows)
    body = []
    for r in rows:
        g = r.group
        cells = []
        for c in cols:
            cell = c.cell(r)
            cells.append(_td(c.kind, "" if cell.key is None else (f"{cell.key:.10g}" if c.kind == "num" else str(cell.key)), cell.text))
        attrs = (f'data-model="{esc(r.row.label.lower())}" data-dataset="{esc(g.dataset)}" data-split="{esc(g.split_sha256[:12])}" '
                 f'data-protocol="{esc(g.protocol)}" data-recipe="{esc(g.tuning)}"')  # fmt: skip
        body.append(f'<tr {attrs}>{"".join(cells)}</tr>')
    plot = diagnostics_table.plot_path(dataset)
    fig = _figure(plot, f"Robustness curves, {dataset}", plots[plot]) if plot in plots else ""
    return (f'<section class="diagnostics" data-dataset="{esc(dataset)}"><h3>{esc(DIAGNOSTICS)}</h3>'
            f'<p class="meta">{esc(diagnostics_table.caption(rows))}</p><div class="scroll"><table><thead><tr>'
            + "".join(_th(c.header, c.kind) for c in cols) + "</tr></thead><tbody>\n" + "\n".join(body)
            + "\n</tbody></table></div>" + (f'<div class="plots">{fig}</div>' if fig else "") + "</section>")  # fmt: skip


def _group_section(group: Any, grows: Sequence[Mapping[str, Any]], figures: Sequence[tuple[str, str]],
                   split_names: Mapping[str, Sequence[str]], plots: Mapping[str, bytes]) -> str:  # fmt: skip
    """One group's section: its heading, its note, its sortable table and its plots."""
    (name, _, sha, protocol, recipe), recs = group.key, group.records
    split = _split_label(split_names[sha], sha)
    attrs = f'data-dataset="{esc(name)}" data-split="{esc(sha[:12])}" data-protocol="{esc(protocol)}" data-recipe="{esc(group.tuning)}"'
    recipe_text = (f" · tuned per dataset, each model by its own study with the same budget: {esc(group.tuning)}" if recipe.startswith("study:")
                   else f" · recipe <code>{esc(recipe)}</code>" if recipe else "")  # fmt: skip
    if protocol == "fixed":
        title = f"Split <code>{esc(split)}</code> · fixed protocol{recipe_text}"
        parts = recs[0]["split"]["parts"]
        sizes = " / ".join(f"{parts[p]['size']:,}" for p in ("train", "dev", "test") if p in parts)
        note = f'<p class="meta">Train / dev / test: {esc(sizes)} movies · split sha256 <code>{esc(sha)}</code></p>'
    else:
        title = f"⚠ Authors' protocol on <code>{esc(split)}</code>{recipe_text}: leaky, not comparable"
        note = ('<p class="warn">These rows re-draw train, dev and test independently (they overlap) as the authors\' '
                "released code does. They measure leakage; they are not results on the fixed split.</p>")  # fmt: skip
    fig = "".join(_figure(p, c, plots[p]) for p, c in figures)
    return (f'<section class="group" {attrs}><h3>{title}</h3>{note}{_table(grows)}'
            + (f'<div class="plots">{fig}</div>' if fig else "") + "</section>")  # fmt: skip


def _split_label(names: Sequence[str], sha: str) -> str:
    plain = sorted({n.removeprefix("authors:") for n in names})
    return f"{', '.join(plain)} ({sha[:12]})"


def _reported_section(dataset: Dataset, rows: Sequence[Reported]) -> str:
    """A dataset's published numbers: their own section, table and notes, outside every group
    (no ``section.group``: never sorted, filtered by model or counted with the results)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in reported_header())
    body = []
    for r in rows:
        *text, here = reported_cells(r)
        flags = {6: "split", 7: "leakage", 8: "encoder"}
        tds = [f'<td class="flag {flags[i]}">{esc(c)}</td>' if i in flags else (f'<td class="num">{esc(c)}</td>' if 1 <= i <= 4 else f"<td>{esc(c)}</td>")
               for i, c in enumerate(text)]  # fmt: skip
        tds.append(f"<td><code>{esc(here)}</code></td>" if r.reproduced_as else f"<td>{esc(here)}</td>")
        body.append(f'<tr data-model="{esc(r.model.lower())}" data-kind="{esc(r.kind)}" data-verified="{str(r.verified).lower()}">{"".join(tds)}</tr>')
    items = "".join(f"<li><em>{esc(label)}</em>: {esc(text)}</li>" for label, text in reported_notes(rows))
    return (f'<section class="reported" data-dataset="{esc(dataset.name)}"><h3>{esc(HEADING)}: {esc(dataset.title)}</h3>'
            f'<p class="warn">{esc(NOTE)}</p><div class="scroll"><table class="reported-table"><thead><tr>{head}</tr></thead><tbody>\n'
            + "\n".join(body) + f'\n</tbody></table></div><ul class="notes">{items}</ul></section>')  # fmt: skip


def html_page(records: Sequence[Mapping[str, Any]], files: Sequence[Path | None] | None = None, *, readme: str = "",
              plots: Mapping[str, bytes] | None = None, skipped: Sequence[tuple[Path, str]] = (),
              reported: ReportedResults | None = None) -> str:  # fmt: skip
    """The page's text: the tables of ``records`` (read from ``files``), the ``plots`` placed as
    ``readme`` references them, the ``skipped`` files with why, and the ``reported`` (published)
    numbers of each dataset in a section of their own after its groups."""
    plots = plots or {}
    reported = reported or ReportedResults()
    file_of = {id(r): f for r, f in zip(records, files or [None] * len(records))}
    groups = table_groups(records)
    sections, rest = placed_plots(readme, plots)
    if len(sections) != len(groups):  # the README does not match these groups: show every plot at the end
        sections, rest = [[] for _ in groups], [*((p, c) for s in sections for p, c in s), *rest]
    split_names: dict[str, list[str]] = {}
    for g in groups:
        split_names.setdefault(g.split_sha256, []).extend(r["split"]["name"] for r in g.records)
    grouped = [[row_dict(g, row, file_of.get(id(row.record))) for row in g.rows] for g in groups]
    table_rows = [r for rows in grouped for r in rows]

    body: list[str] = []
    published = {d.name: d for d in reported.datasets}
    placed = list(zip(groups, grouped, sections))
    for dataset in sorted({g.dataset for g in groups} | set(published)):
        mine = [p for p in placed if p[0].dataset == dataset]
        current = None
        for group, grows, figures in mine:
            if (group.dataset, group.version) != current:
                if current is not None:
                    body.append("</section>")
                current = (group.dataset, group.version)
                body.append(f'<section class="dataset" data-dataset="{esc(group.dataset)}"><h2>{esc(group.dataset)}'
                            + (f' <span class="sub">version {esc(group.version)}</span>' if group.version else "") + "</h2>")  # fmt: skip
            body.append(_group_section(group, grows, figures, split_names, plots))
        body.append(_diagnostics_section(groups, dataset, plots))
        if dataset in published:
            if current is None:
                body.append(f'<section class="dataset" data-dataset="{esc(dataset)}"><h2>{esc(dataset)}</h2>'
                            f'<p class="meta">No result on {esc(published[dataset].title)} has been reproduced here yet.</p>')  # fmt: skip
            body.append(_reported_section(published[dataset], reported.of(dataset)))
        if current is not None or dataset in published:
            body.append("</section>")
    if not groups:
        body.append('<p class="empty">No results yet.</p>')
    rest = [(p, c) for p, c in rest if p not in {diagnostics_table.plot_path(g.dataset) for g in groups}]  # placed by name
    if rest:
        body.append('<section class="other"><h2>Other plots</h2><div class="plots">'
                    + "".join(_figure(p, c, plots[p]) for p, c in rest) + "</div></section>")  # fmt: skip
    if skipped:
        items = "".join(f"<li><code>{esc(Path(p).name)}</code>: {esc(why)}</li>" for p, why in skipped)
        body.append(f'<details class="skipped"><summary>{len(skipped)} file(s) skipped (not valid results)</summary><ul>{items}</ul></details>')

    def options(values: Sequence[tuple[str, str]]) -> str:
        return '<option value="*">all</option>' + "".join(f'<option value="{esc(v)}">{esc(t)}</option>' for v, t in values)

    datasets = sorted({(r["dataset"], r["dataset"]) for r in table_rows} | {(d, d) for d in published})
    splits = sorted({(r["split_sha256"][:12], _split_label(split_names[r["split_sha256"]], r["split_sha256"])) for r in table_rows})
    protocols = [(p, p) for p in ("fixed", "authors") if any(r["protocol"] == p for r in table_rows)]
    recipes = sorted({(r["tuning"], r["tuning"] if r["tuning"] != "—" else "none recorded") for r in table_rows})
    filters = (
        f'<label>Dataset <select id="f-dataset" data-key="dataset">{options(datasets)}</select></label>'
        f'<label>Split <select id="f-split" data-key="split">{options(splits)}</select></label>'
        f'<label>Protocol <select id="f-protocol" data-key="protocol">{options(protocols)}</select></label>'
        f'<label>Tuning <select id="f-recipe" data-key="recipe">{options(recipes)}</select></label>'
        '<label>Model <input id="f-model" type="search" placeholder="filter by name" autocomplete="off"></label>'
        f'<span id="shown" aria-live="polite">{len(table_rows)} of {len(table_rows)} results</span>'
    )
    script_hash = base64.b64encode(hashlib.sha256(_JS.encode("utf-8")).digest()).decode("ascii")
    gap = "".join(f'<p class="gap"><em>{esc(GAP_TITLE)}</em> {esc(text)}</p>' for text in gap_text(records, reported, groups))
    parts = {"@CSP@": f"'sha256-{script_hash}'", "@CSS@": _CSS, "@JS@": _JS, "@FILTERS@": filters, "@BODY@": "\n".join(body),
             "@N@": str(len(table_rows)), "@GAP@": gap}  # fmt: skip
    return re.sub("|".join(parts), lambda m: parts[m.group(0)], _TEMPLATE)


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src @CSP@">
<title>Leaderboard: multimodal movie genre classification</title>
<style>@CSS@</style>
</head>
<body>
<header>
<h1>Leaderboard: multimodal movie genre classification</h1>
<p>@N@ results, rendered from the leaderboard's submissions by <code>python -m leaderboard.render --html</code>.
Scores are F1 × 100, mean ± std over seeds. <em>Macro-F1 present [95% CI]</em> is the macro-F1 over the genres present in the
test labels with every seed's decisions pooled, and its 95% bootstrap interval over test movies (— where a result stores no
test predictions): rows whose intervals overlap widely are not told apart by the test part. Click a column header to sort
(numbers best first, click again to reverse); hover a model for its full config. Published numbers (<em>reported results</em>)
are shown apart, after each dataset's results: never sorted or counted with them.</p>
@GAP@
</header>
<nav class="filters">@FILTERS@</nav>
<main>
@BODY@
</main>
<script>@JS@</script>
</body>
</html>
"""

_CSS = """
:root { --fg: #1d2330; --muted: #5b6475; --line: #d9dee7; --head: #eef1f6; --accent: #2f5fb3; --warn: #9a4a00; --reported: #6b3fa0; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--fg); background: #fafbfc; }
header { background: #fff; padding: 16px 24px 0; }
.filters { position: sticky; top: 0; z-index: 2; background: #fff; border-bottom: 1px solid var(--line); padding: 8px 24px; }
header p { max-width: 110ch; color: var(--muted); margin: 6px 0 10px; }
h1 { font-size: 21px; margin: 0; }
h2 { font-size: 19px; margin: 28px 0 6px; border-bottom: 2px solid var(--line); padding-bottom: 4px; }
h2 .sub { font-size: 14px; font-weight: normal; color: var(--muted); }
h3 { font-size: 16px; margin: 22px 0 4px; }
main { padding: 0 24px 40px; }
code { font: 12.5px ui-monospace, "DejaVu Sans Mono", monospace; background: #f0f2f6; padding: 1px 4px; border-radius: 3px; }
.filters { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; }
.filters label { font-weight: 600; font-size: 13px; }
.filters select, .filters input { margin-left: 4px; font: inherit; padding: 3px 6px; border: 1px solid var(--line); border-radius: 4px; background: #fff; }
#shown { color: var(--muted); margin-left: auto; }
.meta { color: var(--muted); margin: 2px 0 8px; font-size: 12.5px; }
.warn { color: var(--warn); background: #fff6ec; border-left: 3px solid var(--warn); padding: 6px 10px; margin: 4px 0 8px; max-width: 110ch; }
.scroll { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 9px; text-align: left; white-space: nowrap; border-bottom: 1px solid #edf0f4; }
th { background: var(--head); font-size: 12.5px; cursor: pointer; user-select: none; position: relative; padding-right: 18px; }
th[data-type="num"], td.num { text-align: right; }
th:hover { background: #e2e7f0; }
th[aria-sort="ascending"]::after { content: "▲"; position: absolute; right: 5px; font-size: 9px; top: 8px; color: var(--accent); }
th[aria-sort="descending"]::after { content: "▼"; position: absolute; right: 5px; font-size: 9px; top: 8px; color: var(--accent); }
tbody tr:nth-child(even) { background: #f8f9fb; }
tbody tr:hover { background: #eef4ff; }
td:first-child { font-weight: 600; }
.plots { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 12px; }
figure { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px; max-width: 100%; }
figure img { max-width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 12.5px; margin-top: 4px; }
.skipped { margin-top: 28px; color: var(--warn); }
.gap { max-width: 110ch; margin: 6px 0 10px; padding: 6px 10px; border-left: 3px solid var(--reported); background: #f7f3fb; }
section.reported { margin: 22px 0 8px; padding: 4px 12px 8px; border: 2px dashed var(--reported); border-radius: 6px; background: #fbf8fd; }
section.reported h3 { color: var(--reported); }
section.reported th { cursor: default; background: #efe8f5; }
section.reported th:hover { background: #efe8f5; }
section.reported tbody tr:nth-child(even) { background: #f8f4fb; }
section.reported td { font-style: italic; }
section.reported td.flag { color: var(--warn); font-style: normal; white-space: normal; min-width: 16ch; }
section.reported .notes { color: var(--muted); font-size: 12.5px; max-width: 120ch; }
.hidden { display: none; }
"""

_JS = """
(function () {
  "use strict";
  var selects = Array.prototype.slice.call(document.querySelectorAll(".filters select"));
  var text = document.getElementById("f-model");
  var shown = document.getElementById("shown");
  function apply() {
    var want = {}, needle = text.value.trim().toLowerCase(), total = 0, visible = 0;
    selects.forEach(function (s) { want[s.dataset.key] = s.value; });
    document.querySelectorAll("section.group").forEach(function (g) {
      var match = Object.keys(want).every(function (k) { return want[k] === "*" || g.dataset[k] === want[k]; });
      var rowsShown = 0;
      g.querySelectorAll("tbody tr").forEach(function (tr) {
        total += 1;
        var on = match && tr.dataset.model.indexOf(needle) !== -1;
        tr.classList.toggle("hidden", !on);
        if (on) { rowsShown += 1; }
      });
      visible += rowsShown;
      g.classList.toggle("hidden", rowsShown === 0);
    });
    document.querySelectorAll("section.reported").forEach(function (s) {
      var match = Object.keys(want).every(function (k) { return want[k] === "*" || (k === "dataset" && s.dataset.dataset === want[k]); });
      var rowsShown = 0;
      s.querySelectorAll("tbody tr").forEach(function (tr) {
        var on = match && tr.dataset.model.indexOf(needle) !== -1;
        tr.classList.toggle("hidden", !on);
        if (on) { rowsShown += 1; }
      });
      s.classList.toggle("hidden", rowsShown === 0);
    });
    document.querySelectorAll("section.diagnostics").forEach(function (s) {
      var rowsShown = 0;
      s.querySelectorAll("tbody tr").forEach(function (tr) {
        var on = Object.keys(want).every(function (k) { return want[k] === "*" || tr.dataset[k] === want[k]; })
          && tr.dataset.model.indexOf(needle) !== -1;
        tr.classList.toggle("hidden", !on);
        if (on) { rowsShown += 1; }
      });
      s.classList.toggle("hidden", rowsShown === 0);
    });
    document.querySelectorAll("section.dataset").forEach(function (d) {
      d.classList.toggle("hidden", d.querySelector("section.group:not(.hidden), section.reported:not(.hidden), section.diagnostics:not(.hidden)") === null);
    });
    shown.textContent = visible + " of " + total + " results";
  }
  function sortBy(th) {
    var table = th.closest("table"), tbody = table.tBodies[0], col = th.cellIndex, num = th.dataset.type === "num";
    var dir = th.getAttribute("aria-sort") === (num ? "descending" : "ascending") ? (num ? 1 : -1) : (num ? -1 : 1);
    var rows = Array.prototype.slice.call(tbody.rows);
    rows.forEach(function (tr, i) { tr._i = i; });
    rows.sort(function (a, b) {
      var x = a.cells[col].dataset.v, y = b.cells[col].dataset.v;
      if (x === "" || y === "") { return (x === "") - (y === "") || a._i - b._i; }
      var c = num ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
      return c * dir || a._i - b._i;
    });
    rows.forEach(function (tr) { tbody.appendChild(tr); });
    table.querySelectorAll("th").forEach(function (h) { h.setAttribute("aria-sort", "none"); });
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
  }
  document.querySelectorAll("section.group th, section.diagnostics th").forEach(function (th) {
    th.addEventListener("click", function () { sortBy(th); });
    th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(th); } });
  });
  selects.forEach(function (s) { s.addEventListener("change", apply); });
  text.addEventListener("input", apply);
  apply();
}());
"""
