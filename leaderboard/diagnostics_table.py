"""The diagnostics table: which rows, which columns, which values; one place for every view.

Per dataset, one line per leaderboard row that carries a ``diagnostics`` block (EMAP's interaction
gain, robustness curves; :mod:`leaderboard.record`), labelled and ordered as the dataset's tables
(:func:`leaderboard.table_model.groups`) with its Tuning, so rows of different recipes are never
shown as one list without saying which. The README (:mod:`leaderboard.render`), the page
(:mod:`leaderboard.page`) and the CSV (:mod:`leaderboard.frame`) read cells, caption and plot data
from here. A cell holds its shown text and its sort key; a column of kind ``"text"`` holds
submitted text, which each view escapes its own way (and the caption, which names the reference row, whole).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from leaderboard.markdown import interval_text, slug
from leaderboard.record import Diagnostics, Interval, diagnostics_of
from leaderboard.table_model import Group, TableRow, cost_of
from leaderboard.tables import PLOTS

#: Curves shown first, in this order (MultiBench's modality mixes); any other noise after, by name.
CURVE_ORDER: tuple[str, ...] = ("poster", "plot")
NONE = "—"
HEADING = "Diagnostics"


@dataclass(frozen=True)
class Cell:
    """A shown text and its sort key (None: nothing to sort by)."""

    text: str
    key: float | str | None


@dataclass(frozen=True)
class DiagRow:
    """A leaderboard row with its diagnostics; ``name`` is its label plus what tells it apart from
    the dataset's other diagnosed rows (Tuning, split and protocol), for a plot's legend."""

    group: Group
    row: TableRow
    diagnostics: Diagnostics
    where: str
    name: str

    @property
    def record(self) -> Mapping[str, Any]:
        return self.row.record


@dataclass(frozen=True)
class Column:
    header: str
    kind: str  # "num" (sorted as a number) or "text" (submitted text: escape it)
    cell: Callable[[DiagRow], Cell]


def _place(g: Group) -> tuple[str, str, str]:
    """Where a group's rows were run, besides its dataset and tuning: version, split, protocol."""
    return (f"version {g.version}" if g.version else "", f"{g.split_name.removeprefix('authors:')} ({g.split_sha256[:12]})", g.protocol)


def diagnosed(groups: Sequence[Group], dataset: str) -> list[DiagRow]:
    """The rows of ``dataset`` that carry diagnostics, in the tables' order (groups, then rank);
    a row's ``where`` names the parts of its group (version, split, protocol) that differ among them."""
    found = [(g, row, d) for g in groups if g.dataset == dataset for row in g.rows if (d := diagnostics_of(row.record)) is not None]
    several_tunings = len({g.tuning for g, _, _ in found}) > 1
    varies = [len({_place(g)[i] for g, _, _ in found}) > 1 for i in range(3)]
    out = []
    for g, row, d in found:
        where = " · ".join(part for part, shown in zip(_place(g), varies) if shown)
        name = " · ".join(x for x in (row.label, g.tuning if several_tunings else "", where) if x)
        out.append(DiagRow(g, row, d, where, name))
    return out


def curve_names(diagnostics: Iterable[Diagnostics | None]) -> list[str]:
    """Every noise name with a curve among ``diagnostics``: :data:`CURVE_ORDER` first, then by name."""
    names = {n for d in diagnostics if d is not None and d.robustness is not None for n in d.robustness.curves}
    return [n for n in CURVE_ORDER if n in names] + sorted(names - set(CURVE_ORDER))


def gain_mark(gain: Interval) -> str:
    """The verdict of an interaction gain: its 95% interval above 0, below 0, or holding 0."""
    if gain.low > 0:
        return "interactions help"
    if gain.high < 0:
        return "interactions hurt"
    return "tie: additive"


def _signed(ci: Interval) -> str:
    return f"{100 * ci.estimate:+.2f} [{100 * ci.low:+.2f}, {100 * ci.high:+.2f}]"


def _number(value: float | int | None, fmt: str) -> Cell:
    return Cell(NONE, None) if value is None else Cell(fmt.format(value), float(value))


def _emap(get: Callable[[Any], Cell]) -> Callable[[DiagRow], Cell]:
    return lambda r: Cell(NONE, None) if r.diagnostics.emap is None else get(r.diagnostics.emap)


def _curve(name: str, field: str, fmt: str) -> Callable[[DiagRow], Cell]:
    def cell(r: DiagRow) -> Cell:
        rob = r.diagnostics.robustness
        curve = None if rob is None else rob.curves.get(name)
        return _number(None if curve is None else getattr(curve, field), fmt)

    return cell


#: Seconds a block records for work shared by every row of its run (not the row's own).
SHARED_SECONDS = frozenset({"encode_noisy"})


def _seconds(kind: str) -> Callable[[DiagRow], Cell]:
    """The row's own seconds of a diagnostic (refit, projection or predictions), without the work
    its run shared among rows (the noisy test inputs' encoding, given once in the caption)."""

    def cell(r: DiagRow) -> Cell:
        block = getattr(r.diagnostics, kind)
        own = None if block is None else sum(v for k, v in block.seconds.items() if k not in SHARED_SECONDS)
        return _number(own, "{:.1f}")

    return cell


def columns(rows: Sequence[DiagRow]) -> list[Column]:
    """The table's columns: the row, EMAP's, each curve's present in ``rows``, cost and seconds."""
    cols = [
        Column("Model", "text", lambda r: Cell(r.row.label, r.row.label)),
        Column("Tuning", "text", lambda r: Cell(r.group.tuning, r.group.tuning)),
    ]
    if any(r.where for r in rows):
        cols.append(Column("Split · protocol", "text", lambda r: Cell(r.where, r.where)))
    cols += [
        Column("Macro-F1 [95% CI]", "num", _emap(lambda e: Cell(interval_text(e.macro_f1), e.macro_f1.estimate))),
        Column("EMAP macro-F1 [95% CI]", "num", _emap(lambda e: Cell(interval_text(e.emap_macro_f1), e.emap_macro_f1.estimate))),
        Column("Interaction gain [95% CI]", "num", _emap(lambda e: Cell(_signed(e.gain), e.gain.estimate))),
        Column("Interactions", "text", _emap(lambda e: Cell(gain_mark(e.gain), gain_mark(e.gain)))),
        Column("EMAP moved", "num", _emap(lambda e: Cell(f"{100 * e.decisions_changed:.2f}%", e.decisions_changed))),
    ]
    for name in curve_names(r.diagnostics for r in rows):
        cols.append(Column(f"{name} relative", "num", _curve(name, "relative_robustness", "{:.4f}")))
        cols.append(Column(f"{name} effective", "num", _curve(name, "effective_robustness", "{:+.3f}")))
    cols += [
        Column("Params", "num", lambda r: _number(cost_of(r.record)["parameters"], "{:,}")),
        Column("Train s", "num", lambda r: _number(cost_of(r.record)["train_s"], "{:.1f}")),
        Column("EMAP s", "num", _seconds("emap")),
        Column("Robustness s", "num", _seconds("robustness")),
    ]
    return cols


def _distinct(values: Iterable[str]) -> str:
    return " or ".join(sorted(set(values))) or NONE


def _method(e: Any) -> str:
    groups = " | ".join("+".join(g) for g in e.groups)
    how = "exact" if e.method == "exact" else f"sampled, {e.partners} partners, seed {e.emap_seed}"
    return f"{groups} ({how})"


def _levels(points: Sequence[Any]) -> str:
    return ", ".join(f"{p.level:g}" for p in points)


def caption(rows: Sequence[DiagRow]) -> str:
    """What each column means, with the EMAP groups and method and the robustness reference,
    noise seed and levels read off the blocks: plain text (it holds submitted text), each view escapes it."""
    emaps = [r.diagnostics.emap for r in rows if r.diagnostics.emap is not None]
    robs = [r.diagnostics.robustness for r in rows if r.diagnostics.robustness is not None]
    text = (
        "Diagnostics attached to this dataset's rows (docs/diagnostics.md), on the test part. Scores are macro-F1 × 100 "
        "over the genres present, every seed's decisions pooled, with 95% bootstrap intervals over test movies. "
    )
    if emaps:
        text += ("Macro-F1: the row's model as EMAP measured it; EMAP macro-F1: its additive projection (Hessel & Lee 2020) "
                 f"over the groups {_distinct(_method(e) for e in emaps)}; interaction gain: model minus EMAP, paired interval; "
                 "Interactions: 'interactions help' (or 'hurt') when that interval excludes 0, else 'tie: additive'; "
                 "EMAP moved: share of the (seed, movie, genre) decisions EMAP changes. ")  # fmt: skip
    if robs:
        refs = _distinct("none" if b.reference is None else b.reference for b in robs)
        levels = "; ".join(f"{n} at {_distinct(_levels(b.curves[n].points) for b in robs if n in b.curves)}"
                           for n in curve_names(r.diagnostics for r in rows))  # fmt: skip
        text += ("Robustness (MultiBench), noise on the raw test inputs " + levels
                 + f", noise seed {_distinct(str(b.noise_seed) for b in robs)}: relative is the area under the macro-F1 "
                 "curve (raw, not normalised), effective the score kept, summed over the levels, beyond what the "
                 f"reference row ({refs}) keeps from the same clean start. ")  # fmt: skip
    shared = ""
    if robs:
        encode = _distinct(f"{b.seconds.get('encode_noisy', 0.0):.0f} s" for b in robs)
        shared = f" The noisy test inputs were encoded once for every row of a robustness run: {encode}."
    return text + ("Params, Train s: the row's cost, as in its tables. EMAP s, Robustness s: the row's own seconds of each "
                   f"diagnostic, all seeds (refit and projection; refit and predictions at every level).{shared} "
                   f"{NONE}: no such diagnostic.")  # fmt: skip


def plot_path(dataset: str) -> str:
    """The file (relative to the leaderboard folder) of a dataset's robustness curves."""
    return f"{PLOTS}/{slug(dataset)}__diagnostics__robustness.png"


def curve_lines(rows: Sequence[DiagRow]) -> dict[str, list[tuple[str, list[tuple[float, float, float, float]]]]]:
    """``{noise: [(row name, [(level, estimate, low, high)])]}`` of the rows with that curve (what the plot draws)."""
    out: dict[str, list[tuple[str, list[tuple[float, float, float, float]]]]] = {}
    for name in curve_names(r.diagnostics for r in rows):
        for r in rows:
            rob = r.diagnostics.robustness
            if rob is not None and name in rob.curves:
                pts = [(p.level, p.estimate, p.low, p.high) for p in rob.curves[name].points]
                out.setdefault(name, []).append((r.name, pts))
    return out


def record_values(record: Mapping[str, Any], names: Sequence[str]) -> dict[str, float | None]:
    """A record's diagnostics as flat values (the CSV's columns), None where absent; ``names``: the curves."""
    d = diagnostics_of(record)
    e = None if d is None else d.emap
    rob = None if d is None else d.robustness
    out: dict[str, float | None] = {}
    for key, ci in (("emap_macro_f1", None if e is None else e.emap_macro_f1), ("interaction_gain", None if e is None else e.gain)):
        out |= {
            key: None if ci is None else ci.estimate,
            f"{key}_low": None if ci is None else ci.low,
            f"{key}_high": None if ci is None else ci.high,
        }
    for name in names:
        curve = None if rob is None else rob.curves.get(name)
        out[f"{name}_relative_robustness"] = None if curve is None else curve.relative_robustness
        out[f"{name}_effective_robustness"] = None if curve is None else curve.effective_robustness
    return out


def value_columns(names: Sequence[str]) -> list[str]:
    """The keys of :func:`record_values`, in order."""
    emap = [f"{k}{s}" for k in ("emap_macro_f1", "interaction_gain") for s in ("", "_low", "_high")]
    return emap + [f"{n}_{kind}_robustness" for n in names for kind in ("relative", "effective")]
