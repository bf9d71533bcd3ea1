"""The paper's experiments as data: each table is one :class:`Experiment` that both plans the runs
and lays out the rendered table.

``python -m benchmarks.run --suite NAME`` runs the variants of experiment ``NAME`` (through
:meth:`benchmarks.spec.RunSpec.variants`), and ``python -m leaderboard.render`` shows the runs of each
(dataset, split, protocol) group under the experiment's title, one row per row of the
definition, in its order and under its label, with its columns. A run is shown in a row when
:meth:`Variant.matches` it: same model name, a config holding every item of the row's config, and
the row's KG model when the row names one (the most specific row wins; see
:meth:`Experiment.row_of`).

Experiments are registered by name in :data:`EXPERIMENTS`; the names sort in the paper's order.
This module imports nothing beyond :mod:`mmimdb2` and :mod:`leaderboard`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mmimdb2.metrics import SCALAR_METRICS
from mmimdb2.registry import Registry


@dataclass(frozen=True)
class Variant:
    """What an experiment row (or ``--models``) asks to run: a model name, config overrides, a KG
    model (``None``: the run's default). Seeds, dataset, split, encoder and protocol come from the
    run; resolved by :meth:`benchmarks.spec.RunSpec.cell_spec`, a variant becomes a *cell*, the one
    configuration a result row reports over its seeds (a *job* is one cell for one seed)."""

    model: str
    config: dict = field(default_factory=dict, hash=False)
    kg_model: str | None = None

    @property
    def label(self) -> str:
        extra = [f"{k}={v}" for k, v in sorted(self.config.items())]
        if self.kg_model:
            extra.append(f"kg={self.kg_model}")
        return self.model + (f" [{', '.join(extra)}]" if extra else "")

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Whether a result record ran this variant: same model name, every config item of the
        variant in the record's config, and the variant's KG model when it names one."""
        if record["model"]["name"] != self.model:
            return False
        config = record["model"]["config"]
        if any(k not in config or config[k] != v for k, v in self.config.items()):
            return False
        return self.kg_model is None or (record["kg"] is not None and record["kg"]["model"] == self.kg_model)

    @property
    def specificity(self) -> int:
        """How much of a run the variant pins down (config items, plus one for a KG model)."""
        return len(self.config) + (self.kg_model is not None)


@dataclass(frozen=True)
class Row:
    """One row of an experiment's table: the model variant that is run and the label it is shown under."""

    variant: Variant
    label: str


@dataclass(frozen=True)
class Column:
    """A column after the first: ``key`` says what each of its entries shows (see :data:`COLUMN_KEYS`)."""

    key: str
    header: str


#: Column keys of the test part's verdict (:mod:`leaderboard.uncertainty`): the pooled macro-F1
#: over present genres with its 95% bootstrap interval, and the row's paired difference to the
#: table's best row ("best", "≈" tied with best), from the records' stored test predictions.
STAT_KEYS: tuple[str, ...] = ("macro_ci", "vs_best")
#: Column keys beyond the scores (:data:`mmimdb2.metrics.SCALAR_METRICS`, mean ± std over seeds)
#: and the verdict (:data:`STAT_KEYS`): seeds, the run's model name, encoder, KG embedding
#: ("RotatE (200d, 20 ep)"), its dimension, epochs and Hits@10, and the provenance of the result
#: file (code version, hardware, date).
INFO_KEYS: tuple[str, ...] = (
    "recipe", "tuning", "seeds", "model", "encoder", "kg", "kg_dim", "kg_epochs", "hits_at_10", "code", "hardware", "date",
    "train_s", "s_per_epoch", "predict_s_per_1k", "parameters", "peak_memory_mb",
)  # fmt: skip
COLUMN_KEYS: tuple[str, ...] = (*SCALAR_METRICS, *STAT_KEYS, *INFO_KEYS)

SCORES: tuple[Column, ...] = (
    Column("micro", "Micro-F1"), Column("macro", "Macro-F1"), Column("weighted", "Weighted-F1"), Column("samples", "Samples-F1"),
)  # fmt: skip
HEAD_TAIL: tuple[Column, ...] = (Column("head", "Head"), Column("tail", "Tail"))
#: The header of ``macro_ci`` gets the count of genres present (``Macro-F1, 21/23 present [95% CI]``).
STATS: tuple[Column, ...] = (Column("macro_ci", "Macro-F1 present [95% CI]"), Column("vs_best", "vs best: Δ [95% CI]"))
SEEDS = Column("seeds", "Seeds")
#: The named training recipe of the run (``spec.recipe`` of the record; "—" for results made before recipes).
TUNING = Column("tuning", "Tuning")
MODEL = Column("model", "Model")
#: What a row cost, summed over its seeds where it ran (the Hardware column says where).
COST: tuple[Column, ...] = (
    Column("train_s", "Train s"), Column("s_per_epoch", "s / epoch"), Column("predict_s_per_1k", "Predict s / 1k movies"),
    Column("parameters", "Params"), Column("peak_memory_mb", "Peak MB"),
)  # fmt: skip
PROVENANCE: tuple[Column, ...] = (
    Column("encoder", "Encoder"), Column("kg", "KG"), Column("code", "Code"), Column("hardware", "Hardware"), Column("date", "Date"),
)  # fmt: skip


@dataclass(frozen=True)
class Experiment:
    """One paper table: what runs (the rows' variants) and how it is shown.

    ``first_column`` heads the row labels, ``columns`` follow it in order. ``sweep`` names the
    config key the rows vary (τ: ``"temperature"``): the runs that differ only by it form one
    curve, shown as one table and one plot each, and the other tables show the runs at the
    group's most common value of it. ``ranked`` marks the leaderboard table: every run of the
    group is a row, a model outside ``rows`` included, ranked by micro then macro F1 (with a
    per-genre heatmap and a head vs tail plot); otherwise only runs matching a row are shown, in row order.
    """

    name: str
    title: str
    rows: tuple[Row, ...]
    first_column: str = "Model"
    columns: tuple[Column, ...] = (TUNING, *SCORES, *STATS, SEEDS)
    sweep: str | None = None
    ranked: bool = False

    def __post_init__(self) -> None:
        if not self.rows:
            raise ValueError(f"experiment {self.name!r} has no rows")
        unknown = [c.key for c in self.columns if c.key not in COLUMN_KEYS]
        if unknown:
            raise ValueError(f"experiment {self.name!r}: unknown column keys {unknown}; known: {', '.join(COLUMN_KEYS)}")
        keys = [(r.variant.model, sorted(r.variant.config.items()), r.variant.kg_model) for r in self.rows]
        if any(keys.count(k) > 1 for k in keys):
            raise ValueError(f"experiment {self.name!r} lists one variant twice")
        if self.sweep is not None and any(self.sweep not in r.variant.config for r in self.rows):
            raise ValueError(f"experiment {self.name!r}: every row must set its sweep key {self.sweep!r}")

    @property
    def variants(self) -> list[Variant]:
        """The variants to run, in row order."""
        return [r.variant for r in self.rows]

    @property
    def varies_kg(self) -> bool:
        """Whether rows name KG models (then the table is not restricted to the usual KG model)."""
        return any(r.variant.kg_model is not None for r in self.rows)

    def row_of(self, record: Mapping[str, Any]) -> Row | None:
        """The row showing ``record``: the most specific matching row, the first on a tie; ``None`` if none."""
        matching = [r for r in self.rows if r.variant.matches(record)]
        return max(matching, key=lambda r: r.variant.specificity, default=None)


TAUS: tuple[float, ...] = (0.05, 0.1, 0.3, 0.5, 0.7, 0.9)
KG_MODELS: tuple[str, ...] = ("RotatE", "TransH", "TransR", "TransD", "ComplEx", "ConvE")
HITS_AT_10 = "Hits@10 (held-out triples of the train-only movie KG)"

EXPERIMENTS: Registry[Experiment] = Registry("experiment")

for _exp in (
    Experiment(
        "table2", "Main comparison (Table 2)",
        tuple(Row(Variant(m), m) for m in ("late-fusion", "concat", "gmu", "gmu-3", "centralnet", "idkg-gmu", "idkg")),
        columns=(TUNING, *SCORES, *HEAD_TAIL, *STATS, SEEDS, *COST, *PROVENANCE), ranked=True,
    ),
    # Cumulative ablations: each row adds one component to the row above it, in the order the
    # paper's rows remove them: text + image -> + F^K -> + G-CACL (the paper's "- AT" row) ->
    # + attention teacher = IDKG; and for the GMU fusion: GMU -> + F^K = gmu-3 -> + G-CACL =
    # IDKG(GMU) (the teacher supervises IDKG's attention, which GMU has not).
    Experiment(
        "table3", "Ablations (Table 3)",
        (
            Row(Variant("idkg-no-kg", {"use_gcacl": False}), "text + image, attention fusion"),
            Row(Variant("idkg-no-gcacl", {"use_teacher": False}), "+ F^K"),
            Row(Variant("idkg-no-at"), "+ F^K + G-CACL (IDKG − AT)"),
            Row(Variant("idkg"), "+ attention teacher = IDKG"),
            Row(Variant("gmu"), "text + image, GMU fusion"),
            Row(Variant("gmu-3"), "GMU + F^K"),
            Row(Variant("idkg-gmu"), "GMU + F^K + G-CACL = IDKG(GMU)"),
        ),
        first_column="Variant", columns=(MODEL, TUNING, *SCORES, *STATS, SEEDS),
    ),
    Experiment(
        "table4", "KG embedding models (Table 4)",
        tuple(Row(Variant("idkg", kg_model=k), k) for k in KG_MODELS),
        first_column="KG model",
        columns=(TUNING, Column("kg_dim", "Dim"), Column("kg_epochs", "Epochs"), Column("hits_at_10", HITS_AT_10), *SCORES, *STATS, SEEDS),
    ),
    Experiment(
        "table5", "Contrastive variants (Table 5)",
        (
            Row(Variant("idkg"), "G-CACL = IDKG"),
            Row(Variant("idkg-random-anchors"), "G-CACL, random anchors"),
            Row(Variant("idkg-mulcon"), "MulCon"),
            Row(Variant("idkg-mcl"), "MCL"),
            Row(Variant("idkg-mltc"), "MLTC"),
            Row(Variant("idkg-cgmvae"), "C-GMVAE"),
        ),
        first_column="Loss", columns=(MODEL, TUNING, *SCORES, *STATS, SEEDS),
    ),
    Experiment(
        "tau", "Temperature τ (Fig. 4)",
        tuple(Row(Variant("idkg", {"temperature": t}), f"{t:g}") for t in TAUS),
        first_column="τ", sweep="temperature",
    ),
):
    EXPERIMENTS.add(_exp.name, _exp, doc=_exp.title)
del _exp


def experiment(name: str) -> Experiment:
    """The experiment registered as ``name``; an unknown name is a one-line error with suggestions."""
    return EXPERIMENTS.load(name)


def experiments() -> list[Experiment]:
    """Every registered experiment, in the paper's order."""
    return [EXPERIMENTS.load(n) for n in EXPERIMENTS.names()]


def sweep_models() -> dict[str, frozenset[str]]:
    """Each swept config key and the models whose runs its experiment sweeps: another model that
    merely has a key of that name (the as-released model's own ``temperature``) is not swept."""
    out: dict[str, set[str]] = {}
    for e in experiments():
        if e.sweep is not None:
            out.setdefault(e.sweep, set()).update(r.variant.model for r in e.rows)
    return {k: frozenset(v) for k, v in out.items()}


def sweep_keys() -> tuple[str, ...]:
    """The config keys some experiment sweeps (other tables show the group's most common value)."""
    return tuple(dict.fromkeys(e.sweep for e in experiments() if e.sweep is not None))
