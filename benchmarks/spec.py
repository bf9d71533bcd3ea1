"""The run specification: everything that defines a result, typed, with every default written once.

A :class:`RunSpec` (data, encoder, KG, training, models or an experiment, seeds, drop) is built by
the command line and by Python callers alike, and is the only input of the harness besides
:class:`RunOptions` (where and how to run, which never changes a number). Each planned cell
resolves to a :class:`CellSpec`: the model's full config, the training settings it gets after its
own departures, the KG embedding and encoder actually used. The cell spec is stored verbatim in
every result (``record["spec"]``) and keys the cell's cache entry, so nothing that changes a
result can be left out of either.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from benchmarks.protocols import PROTOCOLS
from benchmarks.recipes import DEFAULT_RECIPE, recipe
from idkg.embedding_spec import EmbeddingSpec
from leaderboard.experiments import Variant, experiment
from leaderboard.results import to_jsonable
from mmimdb2.metrics import CLASS_WEIGHTS, SELECTION_METRICS, THRESHOLD_POLICIES
from mmimdb2.typecheck import accepts, describe, field_types

#: What keeps the checkpoint: a dev score (:data:`mmimdb2.metrics.SELECTION_METRICS`), or the last epoch.
CHECKPOINTS: tuple[str, ...] = (*SELECTION_METRICS, "last")

#: Modalities a run can remove at test time.
DROPS: tuple[str, ...] = ("poster", "plot", "kg")
#: The demo's encoder (fast, no weights); every real dataset defaults to the paper's CLIP.
DEMO_ENCODER = "weightfree"
PAPER_ENCODER = "clip"


def _choice(owner: str, name: str, value: Any, choices: Sequence[Any]) -> None:
    if value not in choices:
        raise ValueError(f"The '{name}' {owner} must be one of {', '.join(map(str, choices))}. Got {value!r} instead.")


@dataclass(frozen=True)
class DataSpec:
    """Which movies and which split: a dataset name (``demo``, ``mmimdb``, ``mmimdb2``) or folder,
    a split variant or folder, and the protocol (``fixed``, or ``authors`` to measure its leakage)."""

    dataset: str = "demo"
    split: str = "default"
    protocol: str = "fixed"

    def __post_init__(self) -> None:
        _choice("protocol", "protocol", self.protocol, PROTOCOLS)


@dataclass(frozen=True)
class EncoderSpec:
    """The frozen feature encoder; ``None`` means the dataset's default (:meth:`resolved`)."""

    name: str | None = None

    def resolved(self, dataset: str) -> EncoderSpec:
        """weightfree on the demo (fast, no weights); the paper's CLIP on every real dataset."""
        return self if self.name else EncoderSpec(DEMO_ENCODER if dataset == "demo" else PAPER_ENCODER)


@dataclass(frozen=True)
class KGSpec:
    """The train-only KG's embedding, and K >= 2 for cross-fitted KG inputs of training rows (0: plain)."""

    embedding: EmbeddingSpec = field(default_factory=EmbeddingSpec)
    cross_fit: int = 0

    def __post_init__(self) -> None:
        if self.cross_fit != 0 and self.cross_fit < 2:
            raise ValueError(f"The 'kg_cross_fit' setting must be 0 or >= 2. Got {self.cross_fit!r} instead.")

    def recorded(self) -> dict[str, Any]:
        """What a result's flat config names beyond the KG model, dim and epochs: the changed settings."""
        changed = {k: v for k, v in self.embedding.changed().items() if k not in ("model", "dim", "epochs")}
        out = {f"kg_{k}": v for k, v in changed.items()}
        return out | ({"kg_cross_fit": self.cross_fit} if self.cross_fit else {})


@dataclass(frozen=True)
class TrainSpec:
    """The training recipe of every torch model, chosen on real movies by cross-validation on
    train + dev (yts800: 800 real movies; offline encoders; figures in docs/training.md).

    ``threshold`` is the decision-threshold policy (:data:`mmimdb2.metrics.THRESHOLD_POLICIES`),
    ``select`` what picks the checkpoint (a dev score, or ``last``: the last epoch), ``ema`` the weight-average decay (0: off),
    ``class_weight`` ``balanced`` to weigh each genre's positives by n_negative / n_positive.
    Estimators (the probes) use only :data:`ESTIMATOR_SETTINGS`.
    """

    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.1
    patience: int = 4
    threshold: str = "global"
    select: str = "loss"
    ema: float = 0.0
    class_weight: str = "balanced"

    def __post_init__(self) -> None:
        types = field_types(TrainSpec)  # a bool is no int, an int is a float, floats are finite
        for f in fields(self):
            if not accepts(types[f.name], value := getattr(self, f.name)):
                raise ValueError(f"The '{f.name}' setting must be {describe(types[f.name])}. Got {value!r} instead.")
        _choice("setting", "threshold", self.threshold, THRESHOLD_POLICIES)
        _choice("setting", "select", self.select, CHECKPOINTS)
        _choice("setting", "class_weight", self.class_weight, CLASS_WEIGHTS)
        if self.epochs < 1 or self.batch_size < 2 or self.patience < 0:
            raise ValueError(
                f"The training settings need epochs >= 1, batch_size >= 2 and patience >= 0. "
                f"Got epochs={self.epochs}, batch_size={self.batch_size}, patience={self.patience} instead."
            )
        if not self.lr > 0 or self.weight_decay < 0 or not 0.0 <= self.ema < 1.0:
            raise ValueError(
                f"The training settings need lr > 0, weight_decay >= 0 and ema in [0, 1). "
                f"Got lr={self.lr}, weight_decay={self.weight_decay}, ema={self.ema} instead."
            )


#: The training settings an estimator (a scikit-learn probe) takes; the rest do not apply to it.
ESTIMATOR_SETTINGS: tuple[str, ...] = ("threshold", "class_weight")
TRAIN_SETTINGS: tuple[str, ...] = tuple(f.name for f in fields(TrainSpec))


def _check_given(given: Mapping[str, Any], known: Sequence[str], what: str, build: Any) -> dict[str, Any]:
    """``given`` settings checked by name, then by value (``build`` makes the typed spec that
    validates them); one line naming the key otherwise."""
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ValueError(f"unknown {what} setting(s) {unknown}; settings are: {', '.join(known)}")
    build(given)
    return dict(given)


def check_train_settings(given: Mapping[str, Any]) -> dict[str, Any]:
    """``given`` training settings (TrainSpec fields) checked by name and value."""
    return _check_given(given, TRAIN_SETTINGS, "training", lambda g: replace(TrainSpec(), **g))


KG_SETTINGS: tuple[str, ...] = (*(f.name for f in fields(EmbeddingSpec)), "cross_fit")


def check_kg_settings(given: Mapping[str, Any]) -> dict[str, Any]:
    """``given`` KG settings (EmbeddingSpec fields and ``cross_fit``) checked by name and value."""
    def build(g: Mapping[str, Any]) -> KGSpec:
        return KGSpec(replace(EmbeddingSpec(), **{k: v for k, v in g.items() if k != "cross_fit"}), g.get("cross_fit", 0))

    return _check_given(given, KG_SETTINGS, "KG", build)


@dataclass(frozen=True)
class CellSpec:
    """What one result is: stored verbatim as ``record["spec"]`` and hashed into its cache key."""

    data: DataSpec
    encoder: str
    kg: KGSpec
    #: The resolved training settings this model takes (all of TrainSpec, or ESTIMATOR_SETTINGS; an
    #: imported estimator only the threshold policy, see :mod:`benchmarks.imported`).
    train: Mapping[str, Any]
    model: str
    #: The model's full resolved config (recipe, presets, overrides and its config's defaults).
    config: Mapping[str, Any]
    drop: str | None = None
    experiment: str | None = None
    recipe: str = DEFAULT_RECIPE
    #: The study whose best settings these are (``benchmarks.run --from-study``): its name, digest,
    #: sampler and budget, carried verbatim (and so in the cache key); None: not tuned by a study,
    #: and then left out of :meth:`to_dict`, so untuned cells keep their keys.
    tuning: Mapping[str, Any] | None = None

    def recorded_config(self) -> dict[str, Any]:
        """A result's flat ``model.config``: the model config, its training settings and the KG
        settings that differ from the defaults (what the leaderboard's identity compares)."""
        return {**self.config, **self.train, **self.kg.recorded()}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, as the result record stores it."""
        out = to_jsonable(self)
        if out["tuning"] is None:
            del out["tuning"]
        return out


@dataclass(frozen=True)
class RunSpec:
    """One run: which models (or which paper experiment) on which data, by which recipe.

    ``train`` and ``kg`` hold the settings the caller gives (TrainSpec fields; EmbeddingSpec fields
    and ``cross_fit``); the rest come from the ``recipe`` (:mod:`benchmarks.recipes`) over the
    dataclasses' defaults. ``overrides`` are model config settings (``--set``), each applied to
    the planned models whose config has it (one of them must).
    """

    models: tuple[str, ...] = ()
    experiment: str | None = None
    seeds: tuple[int, ...] = (0,)
    data: DataSpec = field(default_factory=DataSpec)
    encoder: EncoderSpec = field(default_factory=EncoderSpec)
    recipe: str = DEFAULT_RECIPE
    train: Mapping[str, Any] = field(default_factory=dict)
    kg: Mapping[str, Any] = field(default_factory=dict)
    overrides: Mapping[str, Any] = field(default_factory=dict)
    drop: str | None = None
    #: What every cell records as its :attr:`CellSpec.tuning` (the study its settings come from).
    tuning: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "models", tuple(self.models))
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        object.__setattr__(self, "train", MappingProxyType(check_train_settings(self.train)))
        object.__setattr__(self, "kg", MappingProxyType(check_kg_settings(self.kg)))
        object.__setattr__(self, "overrides", MappingProxyType(dict(self.overrides)))
        recipe(self.recipe)  # an unknown recipe is one line here
        if not self.seeds:
            raise ValueError("The 'seeds' of a run must hold at least one seed.")
        bad = [s for s in self.seeds if not 0 <= s < 2**32]
        if bad or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"The 'seeds' must be distinct integers in [0, 2**32). Got {list(self.seeds)} instead.")
        if self.drop is not None:
            _choice("setting", "drop", self.drop, DROPS)

    def resolved_encoder(self) -> str:
        return self.encoder.resolved(self.data.dataset).name  # type: ignore[return-value]

    def variants(self) -> list[Variant]:
        """The model variants to run: the experiment's, then each model, aliases resolved, without duplicates;
        each with the ``overrides`` its model takes.

        An unknown model or experiment name, an override no planned model takes and an empty plan
        are each one line, before any data is loaded.
        """
        from benchmarks.registry import applicable, canonical_model

        planned = [*(experiment(self.experiment).variants if self.experiment else ()), *(Variant(m) for m in self.models)]
        if not planned:
            raise ValueError("nothing to run: give --models M [M ...] or --suite NAME (see --list-models)")
        seen, unique, taken = set(), [], set()
        for c in planned:
            name = canonical_model(c.model)
            mine = applicable(name, self.overrides)
            taken |= set(mine)
            c = Variant(name, {**c.config, **mine}, c.kg_model)
            key = (c.model, tuple(sorted(c.config.items())), c.kg_model)
            if key not in seen:
                seen.add(key)
                unique.append(c)
        if unused := sorted(set(self.overrides) - taken):
            models = ", ".join(sorted({c.model for c in unique}))
            raise ValueError(f"--set {', '.join(unused)}: no planned model ({models}) has such a setting")
        return unique

    def cell_spec(self, cell: Variant) -> CellSpec:
        """The resolved spec of one planned cell (see :class:`CellSpec`)."""
        from benchmarks.registry import applicable, model_config, model_entry
        from idkg.embedding import resolve_model

        entry, r = model_entry(cell.model), recipe(self.recipe)
        layers = {**dataclasses.asdict(TrainSpec()), **r.train, **r.per_model.get(entry.name, {}).get("train", {}), **self.train}
        train = dataclasses.asdict(TrainSpec(**layers))
        if entry.extra.get("estimator"):
            train = {k: train[k] for k in entry.extra.get("train_settings", ESTIMATOR_SETTINGS)}
        given = {k: v for k, v in self.kg.items() if k != "cross_fit"}
        embedding = replace(EmbeddingSpec(), **{**r.kg, **given, **({"model": cell.kg_model} if cell.kg_model else {})})
        embedding = replace(embedding, model=resolve_model(embedding.model).__name__)  # "rotate" and "RotatE": one cell
        return CellSpec(
            data=self.data, encoder=self.resolved_encoder(), kg=KGSpec(embedding, self.kg.get("cross_fit", 0)), train=train,
            model=entry.name, config=model_config(cell.model, cell.config, base=applicable(entry.name, r.model)),
            drop=self.drop, experiment=self.experiment, recipe=r.name, tuning=None if self.tuning is None else dict(self.tuning),
        )  # fmt: skip


@dataclass(frozen=True)
class RunOptions:
    """Where and how a run goes; none of these changes a result.

    ``threads``: torch intra-op threads for the run (None: the calling process's setting, which the
    command line sets from the idle CPUs, :mod:`benchmarks.threads`); ``jobs``: (cell, seed) jobs at
    once, each worker with ``threads // jobs`` threads; ``executor``: ``serial``, ``process`` or
    ``ray`` (None: serial for one job, process for more; :mod:`benchmarks.executors`);
    ``address``: the Ray cluster (None or ``local``: a Ray instance on this machine).
    """

    out: Path = Path("runs")
    cache_dir: Path | None = None
    data_root: Path | None = None
    device: str = "auto"
    force: bool = False
    submit: bool = False
    progress: bool = True
    verbose: bool = False
    threads: int | None = None
    jobs: int = 1
    executor: str | None = None
    address: str | None = None

    def __post_init__(self) -> None:
        from benchmarks.executors import executor_name

        for name in ("threads", "jobs"):
            value = getattr(self, name)
            if not (value is None and name == "threads") and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"--{name} must be a whole number >= 1. Got {value!r} instead.")
        if executor_name(self.executor, self.jobs) != "ray" and self.address is not None:
            raise ValueError("--address names a Ray cluster: give it with --executor ray")
