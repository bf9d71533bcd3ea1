"""The one table model every view of results reads: groups, rows, labels, recipe, interval, tie mark.

The markdown leaderboard (:mod:`leaderboard.render`), the web page (:mod:`leaderboard.page`), the
CSV and ``to_dataframe()`` (:mod:`leaderboard.frame`), the terminal table of ``benchmarks.run``
and ``benchmarks.cv``'s table all take their grouping, row order, row labels, recipe names, 95%
intervals and tie marks from here, so the five cannot disagree.

A *group* is (dataset, version, registered split, protocol, tuning): rows whose settings were
chosen differently (the ``tuned`` recipe, the ``paper`` recipe, an Optuna study on the dataset
itself) are never ranked as one list, and every row says which in its Tuning column. In a group, rows are ordered best micro-F1 first (then
macro-F1, then label, then a digest of the identity) and each carries its pooled macro-F1 interval
over the genres present and its mark against the group's best row (:mod:`leaderboard.uncertainty`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from leaderboard.results import pool_sha256
from leaderboard.rows import Record, labels, sort_by_score
from leaderboard.uncertainty import RowMark, marks
from mmimdb2.bootstrap import Difference, Interval
from mmimdb2.io import digest

GroupKey = tuple[str, str, str, str, str]
#: Recipes in display order; any other named recipe comes after these, rows of no recipe last.
RECIPE_ORDER: dict[str, int] = {"tuned": 0, "paper": 1}


def recipe_of(r: Record) -> str:
    """The named recipe that made a record ("" for results made before recipes were recorded)."""
    return (r.get("spec") or {}).get("recipe") or ""


def tuning_key(r: Record) -> str:
    """What chose a row's settings, as a group key: the recipe's name (``tuned``, ``paper``), or
    ``study:<key>`` for settings a tuning study chose on the dataset itself ("": not recorded).

    A study's key is its allowance (trials asked, folds, seeds, fold draw) with its tool, not the
    study's own digest: each model has its own study, and the rows whose studies had the same
    budget had the same chance, so they are ranked as one list."""
    tuning = (r.get("spec") or {}).get("tuning")
    if not tuning:
        return recipe_of(r)
    return f"study:{digest(_allowance(tuning))[:12]}"


def _allowance(tuning: Mapping[str, Any]) -> dict[str, Any]:
    """What a study was allowed (tool, trials asked, folds, seeds, fold draw): a model whose whole
    space has fewer settings than the trials asked (enumerated once, by another sampler than TPE)
    had the same chance as one that used them all."""
    budget = dict(tuning.get("budget") or {})
    budget["trials"] = budget.pop("trials_asked", budget.get("trials"))
    return {"tool": tuning.get("tool"), "budget": budget}


def budget_text(budget: Mapping[str, Any], *, trials: int | None = None) -> str:
    """``30 trials x 4-fold CV x 1 seed`` (``trials``: another count than the budget's)."""
    seeds = len(budget["seeds"])
    n = budget["trials"] if trials is None else trials
    return f"{n} trials x {budget['folds']}-fold CV x {seeds} seed{'s' if seeds != 1 else ''}"


def tuning_text(r: Record) -> str:
    """A row's Tuning column: ``recipe tuned``, ``recipe paper``, or the study's budget
    (``Optuna, 30 trials x 4-fold CV x 3 seeds``); "—" when not recorded."""
    tuning = (r.get("spec") or {}).get("tuning")
    if tuning:
        return str(tuning.get("text") or "a tuning study")
    return f"recipe {recipe_of(r)}" if recipe_of(r) else "—"


def group_key(r: Record) -> GroupKey:
    """(dataset, version, registered split, protocol, tuning): an authors row is grouped by the
    split its parts were drawn from, next to that split's fixed rows; rows whose settings were
    chosen differently (a recipe, another recipe, a study) are never ranked as one list."""
    return (r["dataset"]["name"], r["dataset"]["version"], pool_sha256(r), r["protocol"], tuning_key(r))


def base_label(r: Record) -> str:
    """A row's model name, with the modality it was tested without (never to be read as the full model's row)."""
    return r["model"]["name"] + ("" if r.get("drop") is None else f" (drop {r['drop']})")


@dataclass(frozen=True)
class TableRow:
    """One row: its record, its label in this table, its interval and its mark against the best row."""

    record: Record
    label: str
    interval: Interval | None
    mark: str
    versus: Difference | None = None


@dataclass(frozen=True)
class Group:
    """The rows of one (dataset, version, split, protocol, recipe), in display order."""

    key: GroupKey
    rows: tuple[TableRow, ...]

    @property
    def dataset(self) -> str:
        return self.key[0]

    @property
    def version(self) -> str:
        return self.key[1]

    @property
    def split_sha256(self) -> str:
        return self.key[2]

    @property
    def protocol(self) -> str:
        return self.key[3]

    @property
    def recipe(self) -> str:
        """The group's tuning key: a recipe's name, or ``study:<digest>`` (:func:`tuning_key`)."""
        return self.key[4]

    @property
    def tuning(self) -> str:
        """The group's Tuning text: its recipe (:func:`tuning_text`), or what each model's study was
        allowed ("Optuna, up to 30 trials x 4-fold CV x 1 seed per model")."""
        tuning = (self.rows[0].record.get("spec") or {}).get("tuning")
        if not tuning or not isinstance(tuning.get("budget"), Mapping):
            return tuning_text(self.rows[0].record)
        allowed = _allowance(tuning)
        return f"{tuning.get('tool', 'a study').capitalize()}, up to {budget_text(allowed['budget'])} per model"

    @property
    def records(self) -> list[Record]:
        return [row.record for row in self.rows]

    @property
    def split_name(self) -> str:
        return min(r["split"]["name"] for r in self.records)


def table_rows(records: Sequence[Record], base: Callable[[Record], str] = base_label, *, ranked: bool = True) -> list[TableRow]:
    """``records`` as rows: labels that tell them apart, best score first (unless not ``ranked``),
    each with its interval and mark against the best."""
    names = labels(records, base=base)
    ordered = sort_by_score(records, names) if ranked else list(records)
    marked: list[RowMark] = marks(ordered)
    return [TableRow(r, names[id(r)], m.interval, m.mark, m.versus) for r, m in zip(ordered, marked)]


def groups(records: Sequence[Record]) -> list[Group]:
    """Every group of ``records`` in display order (dataset, split by its smallest name, fixed
    before authors, recipe tuned, paper, others, none), each with its :func:`table_rows`."""
    by_key: dict[GroupKey, list[Record]] = defaultdict(list)
    for r in records:
        by_key[group_key(r)].append(r)
    first_name: dict[tuple[str, str, str], str] = {}
    for (name, version, sha, _, _), recs in by_key.items():
        low = min(r["split"]["name"] for r in recs)
        first_name[(name, version, sha)] = min(first_name.get((name, version, sha), low), low)

    def order(key: GroupKey) -> tuple:
        name, version, sha, protocol, rec = key
        rank = RECIPE_ORDER.get(rec, len(RECIPE_ORDER) + (rec == "") + (not rec.startswith("study:")))
        return (name, version, first_name[(name, version, sha)], sha, protocol != "fixed", rank, rec)

    return [Group(key, tuple(table_rows(by_key[key]))) for key in sorted(by_key, key=order)]


def interval_text(row: TableRow, digits: int = 4) -> str:
    """``estimate [low, high]`` of a row's interval ("—" without stored predictions)."""
    ci = row.interval
    return "—" if ci is None else f"{ci.estimate:.{digits}f} [{ci.low:.{digits}f}, {ci.high:.{digits}f}]"


def plain_table(header: Sequence[str], body: Sequence[Sequence[str]]) -> list[str]:
    """Fixed-width text lines of a table (the terminal's and ``benchmarks.cv``'s)."""
    widths = [max(len(h), *(len(row[i]) for row in body)) if body else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip(), "  ".join("-" * w for w in widths)]
    return lines + ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in body]


def cost_of(record: Mapping[str, Any]) -> dict[str, float | int | None]:
    """A row's cost summed over its seeds: training seconds and epochs, seconds per epoch, test
    prediction seconds per 1,000 movies, trainable parameters, peak memory (None where unrecorded)."""
    costs = [s.get("cost") for s in record["per_seed"]]
    if not costs or any(c is None for c in costs):
        return dict.fromkeys(("train_s", "s_per_epoch", "predict_s_per_1k", "parameters", "peak_memory_mb"))
    epochs = [c["epochs"] for c in costs if c["epochs"]]
    train = sum(c["train_s"] for c in costs)
    n_test = sum(c["n_test"] for c in costs)
    return {
        "train_s": train,
        "s_per_epoch": train / sum(epochs) if epochs and len(epochs) == len(costs) else None,
        "predict_s_per_1k": 1000 * sum(c["predict_s"] for c in costs) / n_test if n_test else None,
        "parameters": costs[0]["parameters"],
        "peak_memory_mb": max(c["memory_peak_mb"] for c in costs),
    }
