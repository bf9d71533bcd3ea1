"""Result records: build one JSON per run, name it by its identity, merge per-seed cells.

A record follows ``leaderboard/schema.json`` (every key is described there); its typed form and
the converter of older versions are :mod:`leaderboard.record`. Its identity, the experiment it
ran, is (dataset name and version, split, protocol, model name and config, seeds, encoder, KG
model/dim/epochs, drop, and the dataset's content fingerprint when the record has one: records
made before it was stored keep their identity and file name, as converted version-1 records keep
their threshold): :func:`result_key` hashes it, and the file name
``<dataset>__<model>__<key12>.json`` is derived from it, so a rerun of the same cell overwrites the
same file and two files with one key are duplicates. ``suite`` and provenance are not identity.

The recorded ``split.sha256`` is bound to the protocol (:func:`split_sha256_from_parts`): a fixed
row records the split's own hash, an authors-protocol row a hash over its protocol and the same
parts, so relabelling a leaky row "fixed" leaves a hash that no longer fits and the validator says so.
Text that reaches the rendered README is held to the strict patterns below (and escaped there).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from leaderboard.contract import (  # noqa: F401  (re-exported: the names results have always had)
    CONFIG_KEY_PATTERN,
    LEADERBOARD_DIR,
    MAX_RESULT_BYTES,
    MAX_RESULT_DEPTH,
    MAX_RESULT_VALUES,
    MODEL_NAME_PATTERN,
    NAME_PATTERN,
    SCHEMA_FILE,
    SPLIT_NAME_PATTERN,
    TEXT_PATTERN,
    ResultError,
    load_schema,
    read_result,
    schema_errors,
    write_result,
)
from leaderboard.predictions import labels_field, pack_matrix
from leaderboard.provenance import code_version, hardware_info, utc_now
from leaderboard.record import SCHEMA_VERSION, STAGES, StageTime, upgrade
from mmimdb2.genres import GENRES
from mmimdb2.io import digest
from mmimdb2.metrics import aggregate
from mmimdb2.splits import PARTS, Split

PROTOCOLS: tuple[str, ...] = ("fixed", "authors")
#: Split names of authors-protocol rows start with this, so they can never pass for a fixed split.
AUTHORS_PREFIX = "authors"
DROPS: tuple[str | None, ...] = (None, "poster", "plot", "kg")

def to_jsonable(obj: Any) -> Any:
    """Dataclasses, tuples, paths and numpy scalars to plain JSON values; raises on anything else."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    item = getattr(obj, "item", None)  # numpy / torch scalars
    if callable(item):
        return to_jsonable(item())
    raise ResultError(f"cannot store a {type(obj).__name__} in a result record: {obj!r}")


def split_record(split: Split | Mapping[str, Any]) -> dict[str, Any]:
    """``{name, sha256, parts: {train|dev|test: {sha256, size}}}`` of a :class:`Split` (or pass one through)."""
    if isinstance(split, Split):
        return {
            "name": split.name,
            "sha256": split.sha256,
            "parts": {p: {"sha256": split.part_sha256(p), "size": len(split[p])} for p in PARTS},
        }
    return to_jsonable(split)


def split_sha256_from_parts(parts: Mapping[str, Mapping[str, Any]], protocol: str = "fixed") -> str:
    """The split hash a row of ``protocol`` records, from its parts' hashes.

    ``fixed``: the split's own hash, as :attr:`mmimdb2.splits.Split.sha256` computes it (and as
    ``splits.json`` registers it). Any other protocol: the sha256 of a ``protocol:<name>`` line
    followed by the same part lines, so the protocol is bound into the recorded split identity
    and a relabelled row no longer matches.
    """
    text = "".join(f"{p}:{parts[p]['sha256']}\n" for p in PARTS)
    if protocol != "fixed":
        text = f"protocol:{protocol}\n{text}"
    return hashlib.sha256(text.encode()).hexdigest()


def pool_sha256(record: Mapping[str, Any]) -> str:
    """The registered (fixed) split a row ran on, or, for the authors' protocol, drew its parts from."""
    return split_sha256_from_parts(record["split"]["parts"])


def bind_split(split: Mapping[str, Any], protocol: str) -> dict[str, Any]:
    """``split`` with its name marked and its sha256 bound to ``protocol`` (computed from its parts)."""
    out = dict(split)
    if protocol == "authors" and not str(out.get("name", "")).startswith(AUTHORS_PREFIX):
        out["name"] = f"{AUTHORS_PREFIX}:{out.get('name', '')}"
    out["sha256"] = split_sha256_from_parts(out["parts"], protocol)
    return out


def make_result(
    *,
    dataset: str,
    dataset_version: str,
    split: Split | Mapping[str, Any],
    model: str,
    config: Any,
    encoder: str,
    encoder_version: str,
    kg: Mapping[str, Any] | None,
    per_seed: Sequence[Mapping[str, Any]],
    timings: Mapping[str, Any],
    threshold_policy: str,
    protocol: str = "fixed",
    head_tail: Mapping[str, Any] | None = None,
    drop: str | None = None,
    suite: str | None = None,
    device: str = "cpu",
    code: Mapping[str, Any] | None = None,
    hardware: Mapping[str, Any] | None = None,
    created: str | None = None,
    spec: Mapping[str, Any] | None = None,
    test_labels: Any = None,
    test_ids_sha256: str | None = None,
    dataset_fingerprint: str | None = None,
    validate: bool = True,
) -> dict[str, Any]:
    """Build one result record (the current schema version) and check it against the schema.

    ``per_seed``: one ``{"seed", "metrics", "best_epoch"}`` per seed, ``metrics`` from
    :func:`mmimdb2.metrics.evaluate`, optionally its ``threshold`` value(s), ``resolved`` settings,
    ``overlap`` and ``cost`` (:class:`leaderboard.record.SeedCost` fields); the aggregate is computed
    here. ``threshold_policy``: how the thresholds were set (``fixed``, ``global``, ``per-genre``).
    ``kg``: the embedding used, ``{"model", "dim", "dim_model", "epochs", "optimizer",
    "hits_at_10"}`` (:class:`leaderboard.record.KGInfo`), or ``None``. ``timings``: per stage of
    :data:`leaderboard.record.STAGES` a :class:`~leaderboard.record.StageTime` (or its dict, or
    plain seconds: not shared). ``head_tail``: from :func:`mmimdb2.metrics.head_tail_genres` of the
    training labels. ``config``: the model's config (a dataclass or a dict). ``code`` /
    ``hardware`` / ``created`` default to this checkout, this machine (with ``device``) and now.
    ``spec``: the run specification that produced the record
    (``benchmarks.spec.CellSpec.to_dict()``), stored verbatim. Test predictions (optional, all or
    none): each ``per_seed`` item's ``"predictions"``, its (n, 23) 0/1 test decisions
    (:func:`mmimdb2.metrics.decisions`), with ``test_labels`` the (n, 23) 0/1 labels of those
    movies and ``test_ids_sha256`` their ids' :func:`mmimdb2.packing.ordered_ids_sha256`; they are
    stored packed (:mod:`leaderboard.predictions`). ``dataset_fingerprint``: the dataset's content
    fingerprint (:attr:`mmimdb2.dataset.MovieDataset.fingerprint`, a sha256 hex), stored as
    ``dataset.fingerprint`` and part of the identity, so a run on changed data (a label edited
    under the same name, version and split) gets its own file. With ``protocol="authors"``, ``split`` is the fixed
    split the authors' draws are made from; its name gets the ``authors:`` mark and its recorded
    sha256 is bound to the protocol (:func:`bind_split`). Raises
    :class:`ResultError` naming every bad field.
    """
    if protocol not in PROTOCOLS:
        raise ResultError(f"The 'protocol' parameter must be one of {', '.join(PROTOCOLS)}. Got {protocol!r} instead.")
    if drop not in DROPS:
        raise ResultError(f"The 'drop' parameter must be null, poster, plot or kg. Got {drop!r} instead.")
    if not per_seed:
        raise ResultError("per_seed is empty: a result needs at least one seed")
    unknown_stages = sorted(set(timings) - set(STAGES))
    if unknown_stages:
        raise ResultError(f"timings has unknown stages {unknown_stages}; stages: {', '.join(STAGES)}")
    times = {s: _stage_time(timings[s]) for s in STAGES if s in timings}

    with_pred = [item.get("predictions") is not None for item in per_seed]
    if any(with_pred) or test_labels is not None or test_ids_sha256 is not None:
        if not (all(with_pred) and test_labels is not None and test_ids_sha256 is not None):
            raise ResultError("test predictions come all or none: 'predictions' in every per_seed item, test_labels and test_ids_sha256")
        try:
            test = labels_field(test_labels, test_ids_sha256)
        except ValueError as e:
            raise ResultError(str(e)) from None

    entries = []
    for item in per_seed:
        metrics = to_jsonable(item["metrics"])
        entry = {"seed": int(item["seed"]), "metrics": metrics, "best_epoch": item.get("best_epoch")}
        if item.get("threshold") is not None:  # the threshold(s) this seed used
            entry["threshold"] = to_jsonable(item["threshold"])
        if item.get("resolved"):  # the values "auto" settings took for this seed
            entry["resolved"] = {str(k): float(v) for k, v in item["resolved"].items()}
        if item.get("overlap") is not None:  # the authors' protocol: how much of test was seen
            entry["overlap"] = {k: float(item["overlap"][k]) for k in ("test_in_train", "test_in_kg_train")}
        if item.get("cost") is not None:
            entry["cost"] = to_jsonable(item["cost"])
        if item.get("predictions") is not None:
            try:
                entry["predictions"] = pack_matrix(item["predictions"], what=f"predictions of seed {entry['seed']}", n_movies=test["n_movies"])
            except ValueError as e:
                raise ResultError(str(e)) from None
        entries.append(entry)
    record: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "dataset": {"name": dataset, "version": str(dataset_version)}
        | ({"fingerprint": dataset_fingerprint} if dataset_fingerprint is not None else {}),
        "split": bind_split(split_record(split), protocol),
        "protocol": protocol,
        "labels": list(GENRES),
        "threshold_policy": threshold_policy,
        "head_tail": to_jsonable(head_tail),
        "model": {"name": model, "config": to_jsonable(config)},
        "encoder": {"name": encoder, "version": str(encoder_version)},
        "kg": to_jsonable(kg),
        "seeds": [e["seed"] for e in entries],
        "per_seed": entries,
        "aggregate": aggregate([e["metrics"] for e in entries]),
        "drop": drop,
        "suite": suite,
        "code_version": to_jsonable(code) if code is not None else code_version(),
        "hardware": to_jsonable(hardware) if hardware is not None else hardware_info(device),
        "created": created or utc_now(),
        "timings": times,
    }
    if spec is not None:
        record["spec"] = to_jsonable(spec)
    if all(with_pred):
        record["test_labels"] = test
    if validate:
        errors = schema_errors(record)
        if errors:
            raise ResultError("result record does not follow leaderboard/schema.json:\n  " + "\n  ".join(errors))
    return record


def _stage_time(value: Any) -> dict[str, Any]:
    """A stage's ``{"seconds", "shared"}`` from a StageTime, its dict, or plain seconds (not shared)."""
    if isinstance(value, StageTime):
        return {"seconds": float(value.seconds), "shared": bool(value.shared)}
    if isinstance(value, Mapping):
        return {"seconds": float(value["seconds"]), "shared": bool(value.get("shared", False))}
    return {"seconds": float(value), "shared": False}


def kg_identity(kg: Mapping[str, Any] | None, config: Mapping[str, Any]) -> list[Any] | None:
    """A record's KG as its identity names it: ``[model, dim as the run asked it, epochs]``.

    The asked ``dim`` counts what the run's ``kg_dim_counts`` says (``model``: the model's own
    units, recorded as ``dim_model``; otherwise real numbers, the stored width ``dim``), so the
    identity made from the spec before a job runs equals the one read back from its record.
    """
    if kg is None:
        return None
    asked = kg.get("dim_model", kg["dim"]) if config.get("kg_dim_counts") == "model" else kg["dim"]
    return [kg["model"], asked, kg["epochs"]]


def identity_of(
    *,
    dataset: str,
    dataset_version: str,
    split_sha256: str,
    protocol: str,
    model: str,
    config: Mapping[str, Any],
    seeds: Sequence[int],
    encoder: str,
    encoder_version: str,
    kg: Sequence[Any] | None,
    drop: str | None,
    fingerprint: str | None = None,
    legacy_threshold: float | None = None,
    study: str | None = None,
) -> dict[str, Any]:
    """The fields that make one experiment: equal identities ran the same thing.

    ``split_sha256`` is the registered split (:func:`pool_sha256` of a record); with ``protocol``
    it determines the protocol-bound hash the record stores. ``kg``: ``[model, dim, epochs]``
    (:func:`kg_identity`) or None. ``fingerprint``, the dataset's content fingerprint, is part of
    the identity only when given (not None), so a record made before it was stored keeps its
    identity, key and file name; ``legacy_threshold`` likewise keeps a converted version-1
    record's. ``study``: the digest of the tuning study that chose the settings (None: a recipe
    chose them), so a study's row never overwrites the recipe's row of the same settings, which
    the leaderboard ranks in another list. The one place an identity is made: :func:`identity` reads it back from a record,
    the harness makes it before a job runs.
    """
    ident = {
        "dataset": [dataset, str(dataset_version)],
        "split": split_sha256,
        "protocol": protocol,
        "model": model,
        "config": to_jsonable(config),
        "seeds": sorted(int(s) for s in seeds),
        "encoder": [encoder, str(encoder_version)],
        "kg": None if kg is None else list(kg),
        "drop": drop,
    }
    if legacy_threshold is not None:
        ident["threshold"] = legacy_threshold
    if fingerprint is not None:
        ident["fingerprint"] = fingerprint
    if study is not None:
        ident["study"] = study
    return ident


def identity(record: Mapping[str, Any]) -> dict[str, Any]:
    """The :func:`identity_of` of a record (of any version: older ones are converted first)."""
    record = upgrade(record)
    config = record["model"]["config"]
    return identity_of(
        dataset=record["dataset"]["name"], dataset_version=record["dataset"]["version"],
        split_sha256=pool_sha256(record), protocol=record["protocol"], model=record["model"]["name"],
        config=config, seeds=record["seeds"], encoder=record["encoder"]["name"],
        encoder_version=record["encoder"]["version"], kg=kg_identity(record.get("kg"), config), drop=record.get("drop"),
        fingerprint=record["dataset"].get("fingerprint"), legacy_threshold=(record.get("converted_from") or {}).get("threshold"),
        study=study_digest(record.get("spec")),
    )  # fmt: skip


def study_digest(spec: Mapping[str, Any] | None) -> str | None:
    """The digest of the study a cell spec was tuned by (None: not tuned by a study)."""
    tuning = (spec or {}).get("tuning")
    return str(tuning["digest"]) if isinstance(tuning, Mapping) and tuning.get("digest") else None


def result_key(record: Mapping[str, Any]) -> str:
    """sha256 of the record's :func:`identity` (canonical JSON): names the file, detects duplicates."""
    return digest(identity(record))


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "x"


def file_stem(ident: Mapping[str, Any]) -> str:
    """``<dataset>__<model>`` of an :func:`identity`, made file-safe: every result file name starts so."""
    return f"{_safe(ident['dataset'][0])}__{_safe(ident['model'])}"


def result_filename(record: Mapping[str, Any]) -> str:
    """``<dataset>__<model>__<key12>.json``: the canonical file name of a record."""
    return filename_of(identity(record))


def filename_of(ident: Mapping[str, Any]) -> str:
    """The canonical file name of the record whose :func:`identity` is ``ident``."""
    return f"{file_stem(ident)}__{digest(ident)[:12]}.json"


def submissions_dir(leaderboard_dir: str | Path | None = None) -> Path:
    return Path(leaderboard_dir or LEADERBOARD_DIR) / "submissions"


def submit_result(record: Mapping[str, Any], leaderboard_dir: str | Path | None = None) -> Path:
    """Write ``record`` under ``<leaderboard>/submissions/`` with its canonical file name (a rerun overwrites)."""
    return write_result(record, submissions_dir(leaderboard_dir) / result_filename(record))


def load_results(folder: str | Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every ``*.json`` under ``folder`` (sorted by name) with its parsed record."""
    return [(p, read_result(p)) for p in sorted(Path(folder).glob("*.json"))]


def merge_results(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """One record from per-seed cells of the same experiment (identity equal except for seeds).

    Suites run each seed as its own cell; this joins them: per-seed entries sorted by seed, the
    aggregate recomputed, the timings merged (:func:`merge_timings`); ``code_version``, ``hardware``, ``suite`` and ``created`` come from the most recently
    created record. ``head_tail`` is kept when all cells agree and set to null otherwise (the
    authors' protocol re-draws the training part per seed). Test predictions are kept, per seed,
    when every cell has them on the same movies (``test_labels`` ids hash); a cell without them
    (cached before they were stored) or on other movies (the authors' protocol re-draws the test
    part per seed) drops them from the merged record. Raises :class:`ResultError` when
    identities differ, a seed repeats, or cells on the same movies disagree on their labels.
    """
    recs = [upgrade(dict(r)) for r in records]
    if not recs:
        raise ResultError("merge_results needs at least one record")
    base = {k: v for k, v in identity(recs[0]).items() if k != "seeds"}
    for r in recs[1:]:
        other = {k: v for k, v in identity(r).items() if k != "seeds"}
        diff = sorted(k for k in base if base[k] != other[k])
        if diff:
            raise ResultError(f"cannot merge results that differ in {', '.join(diff)}")
        if r["split"]["name"] != recs[0]["split"]["name"]:
            raise ResultError("cannot merge results that differ in split name")
    entries = sorted((e for r in recs for e in r["per_seed"]), key=lambda e: e["seed"])
    seeds = [e["seed"] for e in entries]
    if len(set(seeds)) != len(seeds):
        dup = sorted({s for s in seeds if seeds.count(s) > 1})
        raise ResultError(f"cannot merge: seed(s) {dup} appear in more than one record")
    latest = max(recs, key=lambda r: r["created"])
    merged = dict(latest)
    merged["per_seed"] = entries
    merged["seeds"] = seeds
    merged["aggregate"] = aggregate([e["metrics"] for e in entries])
    merged["timings"] = merge_timings([r["timings"] for r in recs])
    merged["split"] = bind_split(merged["split"], merged["protocol"])  # cells cached before the binding
    head_tails = [r.get("head_tail") for r in recs]
    merged["head_tail"] = head_tails[0] if all(h == head_tails[0] for h in head_tails) else None
    tests = [r.get("test_labels") for r in recs]
    same_movies = all(t is not None for t in tests) and len({t["ids_sha256"] for t in tests}) == 1
    if same_movies and any(t != tests[0] for t in tests):
        raise ResultError("cannot merge: cells predicted the same test movies (ids_sha256) but store different test_labels")
    if same_movies and all("predictions" in e for e in entries):
        merged["test_labels"] = tests[0]
    else:
        merged.pop("test_labels", None)
        merged["per_seed"] = [{k: v for k, v in e.items() if k != "predictions"} for e in entries]
    return merged



def merge_timings(timings: Sequence[Mapping[str, Mapping[str, Any]]]) -> dict[str, dict[str, Any]]:
    """The stages of several jobs' records as one: a stage shared in any of them was one
    computation (its longest time, shared); a stage each job ran for itself is summed."""
    out: dict[str, dict[str, Any]] = {}
    for stage in STAGES:
        got = [t[stage] for t in timings if stage in t]
        if not got:
            continue
        shared = any(g["shared"] for g in got)
        seconds = max(g["seconds"] for g in got) if shared else sum(g["seconds"] for g in got)
        out[stage] = {"seconds": float(seconds), "shared": bool(shared)}
    return out
