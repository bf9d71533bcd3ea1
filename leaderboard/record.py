"""The typed result record: what a result file holds, read and written in one place.

Like MTEB's ``TaskResult``, a :class:`ResultRecord` is read with :meth:`ResultRecord.from_disk`
(or :meth:`~ResultRecord.from_dict`) and written with :meth:`~ResultRecord.to_disk`. A file of an
older schema version is converted on the way in by :func:`upgrade`, the one place that knows the
older versions (one converter per version, keyed by ``schema_version``), and then checked against
``leaderboard/schema.json``; so every reader (the validator, the renderer, the page, the CSV,
``to_dataframe()``, the harness's job cache) sees the current version only.

Version 2 (this one) differs from version 1 in three places:

- ``threshold`` (a top-level 0.5 that every tuned row contradicted) is gone; ``threshold_policy``
  names the policy and each seed's ``threshold`` holds the values it used. A converted version-1
  record keeps the old field under ``converted_from`` so its identity, and so its file name, stays.
- ``wall_time_s`` (a run's stopwatch, the same for every row of a run) became ``timings``: each
  stage the record's jobs used, with the seconds it took where it ran and whether its output was
  shared with other jobs; ``kg_inputs`` is a stage of its own.
- ``kg`` is read off the embedding that was used: PyKEEN's canonical model name, the width of F^K
  as stored (``dim``) and as the model counts it (``dim_model``), epochs, optimizer, Hits@10.

An optional ``diagnostics`` block (EMAP's interaction gain, robustness curves) is added to a
record after it was made, by the diagnostic commands' ``--attach`` (:mod:`leaderboard.attach`); a
record without one is unchanged, so the block needs no new version.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leaderboard.contract import ResultError, read_result, schema_errors, write_result

SCHEMA_VERSION = 2

#: The stages a record's timings may list, in the order a run goes through them.
STAGES: tuple[str, ...] = ("load", "features", "kg", "kg_embedding", "kg_inputs", "train", "evaluate")
#: Stages prepared once for many jobs (the rest, train and evaluate, are each job's own).
PREPARATION_STAGES: tuple[str, ...] = STAGES[:5]


@dataclass(frozen=True)
class StageTime:
    """Seconds a stage took where it ran; ``shared``: its output served other jobs of the run too."""

    seconds: float
    shared: bool = False


@dataclass(frozen=True)
class KGInfo:
    """The KG embedding a record's model read, as trained (not as asked)."""

    model: str
    #: Width of each movie's F^K as stored (real numbers).
    dim: int
    #: The dimension as the PyKEEN model counts it (complex numbers for RotatE and ComplEx).
    dim_model: int
    epochs: int
    optimizer: str | None
    hits_at_10: float | None


@dataclass(frozen=True)
class SeedCost:
    """What one seed's job cost where it ran (:mod:`benchmarks.cost` measures it)."""

    train_s: float
    epochs: int | None
    predict_s: float
    n_test: int
    parameters: int | None
    memory: str
    memory_before_mb: float
    memory_peak_mb: float


@dataclass(frozen=True)
class SeedResult:
    """One seed's test metrics and what produced them."""

    seed: int
    metrics: Mapping[str, Any]
    best_epoch: int | None
    threshold: float | Mapping[str, float] | None = None
    resolved: Mapping[str, float] | None = None
    overlap: Mapping[str, float] | None = None
    predictions: str | None = None
    cost: SeedCost | None = None


@dataclass(frozen=True)
class Interval:
    """An estimate with its 95% bootstrap interval (a score, or a paired difference of two)."""

    estimate: float
    low: float
    high: float

    def holds(self, value: float) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True)
class EmapDiagnostic:
    """The row's model projected onto additive functions of its modality groups (Hessel & Lee 2020)."""

    groups: tuple[tuple[str, ...], ...]
    method: str
    partners: int | None
    emap_seed: int | None
    macro_f1: Interval
    emap_macro_f1: Interval
    #: model minus EMAP, paired: what the row's score owes to interactions between the groups.
    gain: Interval
    decisions_changed: float
    seconds: Mapping[str, float]
    code_version: Mapping[str, Any]
    created: str


@dataclass(frozen=True)
class NoisePoint:
    level: float
    estimate: float
    low: float
    high: float
    changed: float


@dataclass(frozen=True)
class RobustnessCurve:
    points: tuple[NoisePoint, ...]
    relative_robustness: float
    effective_robustness: float | None


@dataclass(frozen=True)
class RobustnessDiagnostic:
    """Test macro-F1 as noise grows on one modality's raw inputs (MultiBench's protocol)."""

    noise_seed: int
    reference: str | None
    curves: Mapping[str, RobustnessCurve]
    seconds: Mapping[str, float]
    code_version: Mapping[str, Any]
    created: str


@dataclass(frozen=True)
class Diagnostics:
    emap: EmapDiagnostic | None = None
    robustness: RobustnessDiagnostic | None = None


@dataclass(frozen=True)
class ResultRecord:
    """One run of one model configuration on one dataset and split, over one or more seeds."""

    dataset: Mapping[str, Any]
    split: Mapping[str, Any]
    protocol: str
    labels: tuple[str, ...]
    threshold_policy: str
    head_tail: Mapping[str, Any] | None
    model: Mapping[str, Any]
    encoder: Mapping[str, Any]
    kg: KGInfo | None
    seeds: tuple[int, ...]
    per_seed: tuple[SeedResult, ...]
    aggregate: Mapping[str, Any]
    drop: str | None
    suite: str | None
    code_version: Mapping[str, Any]
    hardware: Mapping[str, Any]
    created: str
    timings: Mapping[str, StageTime]
    spec: Mapping[str, Any] | None = None
    test_labels: Mapping[str, Any] | None = None
    #: A record converted from an older version: that version and the fields its identity kept.
    converted_from: Mapping[str, Any] | None = None
    #: Diagnostics attached after the record was made (None: none run).
    diagnostics: Diagnostics | None = None
    schema_version: int = field(default=SCHEMA_VERSION)

    @property
    def recipe(self) -> str | None:
        """The named recipe that made the record (None: made before recipes were recorded)."""
        return (self.spec or {}).get("recipe")

    @property
    def total_seconds(self) -> float:
        """Every stage this record's jobs used (a shared stage at the one computation's time)."""
        return sum(t.seconds for t in self.timings.values())

    @classmethod
    def from_dict(cls, data: Any, *, check: bool = True) -> ResultRecord:
        """A typed record from parsed JSON of any known version (converted, then schema-checked)."""
        current = upgrade(data)
        if check:
            errors = schema_errors(current)
            if errors:
                raise ResultError("result record does not follow leaderboard/schema.json:\n  " + "\n  ".join(errors))
        return _build(current)

    @classmethod
    def from_disk(cls, path: str | Path) -> ResultRecord:
        """Read one result file (bounded, a regular file), convert and check it."""
        path = Path(path)
        try:
            return cls.from_dict(read_result(path))
        except ResultError as e:
            raise ResultError(f"{path}: {e}") from None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of the current schema version (optional blocks left out when absent)."""
        out = _plain(self)
        out["per_seed"] = [{k: v for k, v in s.items() if v is not None or k in ("best_epoch",)} for s in out["per_seed"]]
        for key in ("spec", "test_labels", "converted_from", "diagnostics"):
            if out[key] is None:
                del out[key]
        if out.get("diagnostics") is not None:
            out["diagnostics"] = {k: v for k, v in out["diagnostics"].items() if v is not None}
        return out

    def to_disk(self, path: str | Path) -> Path:
        """Check against the schema (and for NaN) and write atomically."""
        return write_result(self.to_dict(), path)


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def _build(d: Mapping[str, Any]) -> ResultRecord:
    """The typed record of a current-version dict (already schema-checked, or trusted)."""
    kg = d.get("kg")
    seeds = []
    for s in d["per_seed"]:
        cost = s.get("cost")
        seeds.append(SeedResult(
            seed=int(s["seed"]), metrics=s["metrics"], best_epoch=s.get("best_epoch"), threshold=s.get("threshold"),
            resolved=s.get("resolved"), overlap=s.get("overlap"), predictions=s.get("predictions"),
            cost=SeedCost(**cost) if cost is not None else None,
        ))  # fmt: skip
    return ResultRecord(
        dataset=d["dataset"], split=d["split"], protocol=d["protocol"], labels=tuple(d["labels"]),
        threshold_policy=d["threshold_policy"], head_tail=d.get("head_tail"), model=d["model"], encoder=d["encoder"],
        kg=KGInfo(**kg) if kg is not None else None, seeds=tuple(d["seeds"]), per_seed=tuple(seeds),
        aggregate=d["aggregate"], drop=d.get("drop"), suite=d.get("suite"), code_version=d["code_version"],
        hardware=d["hardware"], created=d["created"],
        timings={k: StageTime(**v) for k, v in d["timings"].items()}, spec=d.get("spec"),
        test_labels=d.get("test_labels"), converted_from=d.get("converted_from"),
        diagnostics=diagnostics_of(d),
    )  # fmt: skip


def _interval(d: Mapping[str, Any]) -> Interval:
    return Interval(float(d["estimate"]), float(d["low"]), float(d["high"]))


def diagnostics_of(record: Mapping[str, Any]) -> Diagnostics | None:
    """The typed diagnostics block of a validated record dict (None: none attached); what the
    typed record and the views read."""
    d = record.get("diagnostics")
    if d is None:
        return None
    emap = rob = None
    if (e := d.get("emap")) is not None:
        emap = EmapDiagnostic(
            groups=tuple(tuple(g) for g in e["groups"]), method=e["method"], partners=e["partners"], emap_seed=e["emap_seed"],
            macro_f1=_interval(e["macro_f1"]), emap_macro_f1=_interval(e["emap_macro_f1"]), gain=_interval(e["gain"]),
            decisions_changed=float(e["decisions_changed"]), seconds=dict(e["seconds"]), code_version=e["code_version"], created=e["created"],
        )  # fmt: skip
    if (r := d.get("robustness")) is not None:
        curves = {name: RobustnessCurve(tuple(NoisePoint(**p) for p in c["points"]), c["relative_robustness"], c["effective_robustness"])
                  for name, c in r["curves"].items()}  # fmt: skip
        rob = RobustnessDiagnostic(int(r["noise_seed"]), r["reference"], curves, dict(r["seconds"]), r["code_version"], r["created"])
    return Diagnostics(emap, rob)


# ------------------------------------------------------------------ older versions, in one place


def _from_v1(d: dict[str, Any]) -> dict[str, Any]:
    """Version 1 -> 2: the policy from the recorded spec (fixed 0.5 before policies were recorded),
    the stopwatch's stages as shared preparation plus the jobs' own train/evaluate, and the KG
    block as recorded (its dim was the asked one; optimizer unknown)."""
    out = dict(d)
    threshold = out.pop("threshold", 0.5)
    spec_train = ((out.get("spec") or {}).get("train") or {}) if isinstance(out.get("spec"), Mapping) else {}
    out["threshold_policy"] = spec_train.get("threshold", "fixed")
    if out["threshold_policy"] == "fixed" and isinstance(out.get("per_seed"), list):
        out["per_seed"] = [{**s, "threshold": threshold} if isinstance(s, Mapping) and "threshold" not in s else s for s in out["per_seed"]]
    wall = out.pop("wall_time_s", None) or {}
    timings = {}
    for stage in ("load", "features", "kg", "kg_embedding", "train", "evaluate"):
        if isinstance(wall, Mapping) and stage in wall:
            timings[stage] = {"seconds": wall[stage], "shared": stage in PREPARATION_STAGES}
    out["timings"] = timings
    kg = out.get("kg")
    if isinstance(kg, Mapping):
        out["kg"] = {"model": kg.get("model"), "dim": kg.get("dim"), "dim_model": kg.get("dim"), "epochs": kg.get("epochs"),
                     "optimizer": None, "hits_at_10": kg.get("hits_at_10")}  # fmt: skip
    out["converted_from"] = {"schema_version": 1, "threshold": threshold}
    out["schema_version"] = 2
    return out


#: ``{version: converter to version + 1}``: :func:`upgrade` applies them in turn.
CONVERTERS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _from_v1}


def upgrade(data: Any) -> Any:
    """``data`` converted to the current schema version (a dict of another shape passes through,
    for the schema check to name what is wrong); a version this code does not know is one line."""
    if not isinstance(data, Mapping):
        return data
    out = dict(data)
    version = out.get("schema_version")
    while version != SCHEMA_VERSION:
        if not isinstance(version, int) or isinstance(version, bool) or version not in CONVERTERS:
            known = ", ".join(map(str, [*CONVERTERS, SCHEMA_VERSION]))
            raise ResultError(f"schema_version: {json.dumps(version)} is not a version this code reads ({known})")
        out = CONVERTERS[version](out)
        version = out.get("schema_version")
    return out
