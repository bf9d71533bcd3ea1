"""Runs the planned cells: each (model config, seed) is one cached, idempotent job.

A job's result file under ``<out>/cells/`` is named by a key over everything that changes its
result (the job's identity, the data's content fingerprint, every trainer and KG-embedding
setting; see :mod:`benchmarks.cells`), so a rerun skips finished jobs, recomputes edited or
damaged ones, and jobs can be farmed out independently. Inputs (features, KG, embedding) are
prepared only when a job has to run, and once per KG setting.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.pipeline import KGSettings, PreparedInputs, Stopwatch, drop_modality, prepare_inputs
from benchmarks.suites import Cell

#: The training recipe of every torch model, chosen on real movies (realdev yts800, offline
#: encoders; figures in docs/training.md). ``threshold`` is the decision-threshold policy
#: (benchmarks.trainer.THRESHOLD_POLICIES); estimators (probes) use only ``threshold``.
TRAIN_DEFAULTS = {"epochs": 30, "batch_size": 64, "lr": 1e-3, "weight_decay": 0.1, "patience": 8, "threshold": "global", "select": "loss", "ema": 0.0, "class_weight": "balanced"}
#: Per-model departures from TRAIN_DEFAULTS, each chosen on that model's own dev figures.
MODEL_TRAIN_DEFAULTS: dict[str, dict] = {"late-fusion": {"weight_decay": 10.0}, "idkg-as-released": {"class_weight": "none"}}
ESTIMATOR_SETTINGS = ("threshold", "class_weight")
SCORES = ("micro", "macro", "weighted", "samples", "head", "tail")


def cell_config(cell: Cell, args: argparse.Namespace) -> dict:
    """The config recorded for a cell: the model's full resolved config and the training settings.

    The model is built once on a tiny placeholder spec just to read its config dataclass, so a
    change of a model default changes the cell's identity and is never served from a stale cache.
    """
    from dataclasses import asdict, is_dataclass

    from benchmarks.registry import MODEL_REGISTRY, build_model
    from idkg.inputs import InputSpec

    from baselines.probes import is_estimator

    presets = {k: v for k, v in MODEL_REGISTRY.entry(cell.model).presets.items()}
    probe = build_model(cell.model, InputSpec(text_dim=4, image_dim=4, kg_dim=4), **cell.config)
    resolved = asdict(probe.config) if is_dataclass(getattr(probe, "config", None)) else {}
    given = {k: getattr(args, k, None) for k in TRAIN_DEFAULTS}
    defaults = {**TRAIN_DEFAULTS, **MODEL_TRAIN_DEFAULTS.get(cell.model, {})}
    train = {k: defaults[k] if v is None else v for k, v in given.items()}
    if is_estimator(probe):
        train = {k: train[k] for k in ESTIMATOR_SETTINGS}
    resolved.pop("seed", None)  # seeds are recorded per seed, not as config
    return {**presets, **cell.config, **resolved, **train}


def _tensor_set(prep: PreparedInputs, part: str, drop: str | None = None):
    from benchmarks.trainer import TensorSet

    rows = prep.rows[part]
    arrays = drop_modality({k: v[rows] for k, v in prep.arrays.items()}, drop)
    return TensorSet.from_arrays(arrays, prep.labels[rows], [prep.ids[i] for i in rows])


def fit_and_predict(
    cell: Cell, config: dict, prep: PreparedInputs, *, seed: int, device, drop, progress, memo: dict | None = None
) -> dict:
    """Train one model for one seed on ``prep``'s train rows (dev picks checkpoint and thresholds);
    return ``{"proba": test probabilities, "threshold", "best_epoch", "train_s"}``.

    An estimator whose fit ignores the seed (``seed_independent``, e.g. the lbfgs probes) is
    fitted once per (model, config, inputs, drop) when ``memo`` is given; later seeds reuse it.
    """
    import time

    from baselines.probes import is_estimator
    from benchmarks.registry import build_model
    from benchmarks.trainer import predict_proba, train
    from mmimdb2.metrics import select_threshold

    # every factory initialises its parameters from its own ``seed``; the trainer seeds the batch order
    model = build_model(cell.model, prep.spec, **{**cell.config, "seed": seed})
    dev_labels = prep.labels[prep.rows["dev"]]
    key = (cell.model, repr(sorted(config.items())), id(prep), drop)
    if memo is not None and getattr(model, "seed_independent", False) and key in memo and memo[key][0] is prep:
        return {**memo[key][1], "train_s": 0.0}  # nothing was trained for this seed
    if is_estimator(model):
        t0 = time.perf_counter()
        model.fit(_arrays(prep, "train"), prep.labels[prep.rows["train"]], _arrays(prep, "dev"), dev_labels,
                  config["threshold"], class_weight=config["class_weight"])  # fmt: skip
        best_epoch, seconds = None, time.perf_counter() - t0
        dev_proba, proba = model.predict_proba(_arrays(prep, "dev")), model.predict_proba(_arrays(prep, "test", drop))
    else:
        result = train(
            model, _tensor_set(prep, "train"), _tensor_set(prep, "dev"),
            epochs=config["epochs"], batch_size=config["batch_size"], lr=config["lr"],
            weight_decay=config["weight_decay"], patience=config["patience"], threshold=config["threshold"],
            select=config["select"], ema=config["ema"], class_weight=config["class_weight"], seed=seed, device=device, progress=progress, name=cell.model,
        )  # fmt: skip
        best_epoch, seconds = result.best_epoch, result.seconds
        dev_proba = predict_proba(model, _tensor_set(prep, "dev").to(device))
        proba = predict_proba(model, _tensor_set(prep, "test", drop).to(device))
    threshold = select_threshold(dev_labels, dev_proba, config["threshold"])
    out = {"proba": proba, "threshold": threshold, "best_epoch": best_epoch, "train_s": seconds}
    if memo is not None and getattr(model, "seed_independent", False):
        memo[key] = (prep, out)  # holding prep keeps its id from being reused by other inputs
    return out


def train_and_evaluate(
    cell: Cell, config: dict, prep: PreparedInputs, *, seed: int, device, drop, progress, memo: dict | None = None
) -> dict:
    """Train one model for one seed on ``prep``; return its per-seed entry with test metrics.

    The decision threshold(s) are chosen on dev by ``config["threshold"]`` and recorded in the
    entry (a float, or ``{genre: threshold}`` for the per-genre policy).
    """
    from mmimdb2.genres import GENRES
    from mmimdb2.metrics import evaluate

    fit = fit_and_predict(cell, config, prep, seed=seed, device=device, drop=drop, progress=progress, memo=memo)
    threshold = fit["threshold"]
    metrics = evaluate(prep.labels[prep.rows["test"]], fit["proba"], threshold=threshold, train_label_counts=prep.train_label_counts)
    recorded = float(threshold) if np.ndim(threshold) == 0 else {g: float(t) for g, t in zip(GENRES, threshold)}
    return {"seed": seed, "metrics": metrics, "best_epoch": fit["best_epoch"], "threshold": recorded, "train_s": fit["train_s"]}


def _arrays(prep: PreparedInputs, part: str, drop: str | None = None) -> dict[str, np.ndarray]:
    """One part's arrays (for estimators, which take numpy rather than tensors)."""
    return drop_modality({k: v[prep.rows[part]] for k, v in prep.arrays.items()}, drop)


def run_benchmark(args: argparse.Namespace, cells: list[Cell], *, kg: KGSettings, watch: Stopwatch) -> str:
    """Run every (cell, seed) job not already done; write merged results; return the table."""
    import mmimdb2
    from benchmarks.encoders import get_encoder, resolve_device
    from mmimdb2.metrics import head_tail_genres
    from benchmarks.cells import cell_key, cell_path, read_cell
    from leaderboard.results import make_result, merge_results, result_filename, submit_result, write_result

    progress = not args.no_progress
    with watch.stage("load"):
        dataset = mmimdb2.load(args.dataset, args.split, data_root=args.data_root)
    device = resolve_device(args.device)
    encoder = get_encoder(args.encoder)
    out = Path(args.out)
    protocols = ["fixed", "authors"] if args.protocol == "authors" else ["fixed"]
    print(
        f"{dataset.name}: {len(dataset)} movies, split {dataset.split.name} "
        f"({', '.join(f'{p} {len(dataset.split[p])}' for p in ('train', 'dev', 'test'))}), "
        f"sha256 {dataset.split.sha256[:12]}; encoder {encoder.name}; device {device}",
        file=sys.stderr,
    )
    report_dropped(dataset, out, verbose=args.verbose)

    prepared: dict[tuple, PreparedInputs] = {}
    fitted: dict = {}  # seed-independent estimators, fitted once per run (see fit_and_predict)

    def inputs_for(kgs: KGSettings, protocol: str, seed: int) -> PreparedInputs:
        key = (kgs, protocol, seed if protocol == "authors" else 0)
        if key not in prepared:
            prepared[key] = prepare_inputs(
                dataset, encoder=encoder, kg=kgs, device=str(device), cache_dir=args.cache_dir,
                watch=watch, protocol=protocol, protocol_seed=key[2], progress=progress,
            )  # fmt: skip
        return prepared[key]

    records = []
    for protocol in protocols:
        for cell in cells:
            kgs = replace(kg, model=cell.kg_model or kg.model, epochs=kg.epochs or default_kg_epochs())
            config = {**cell_config(cell, args), **kgs.recorded()}
            key_inputs = _cell_key_inputs(dataset, encoder, config, kgs)
            per_seed_records = []
            for seed in args.seeds:
                base = dict(
                    dataset=dataset.name, dataset_version=dataset.version or "unversioned", split=dataset.split,
                    model=cell.model, config=config, encoder=encoder.name, encoder_version=encoder.version,
                    protocol=protocol, drop=args.drop, suite=args.suite, device=str(device),
                )  # fmt: skip
                kg_info = {"model": kgs.model, "dim": kgs.dim, "epochs": kgs.epochs, "hits_at_10": None}
                probe = make_result(**base, kg=kg_info, per_seed=[_placeholder(seed)], wall_time_s={},
                                    code={}, hardware={}, created="", validate=False)  # fmt: skip
                path = cell_path(out, probe, cell_key(probe, **key_inputs))
                done = None if args.force else read_cell(path, probe)
                if done is not None:
                    per_seed_records.append(done)
                    continue
                prep = inputs_for(kgs, protocol, seed)
                job = Stopwatch()
                with job.stage("job"):
                    entry = train_and_evaluate(cell, config, prep, seed=seed, device=device, drop=args.drop,
                                               progress=progress, memo=fitted)  # fmt: skip
                train_s = entry.pop("train_s")
                stage_times = {k: v for k, v in watch.seconds.items() if k in ("load", "features", "kg", "kg_embedding")}
                stage_times |= {"train": train_s, "evaluate": max(0.0, job.seconds["job"] - train_s)}
                kg_info["hits_at_10"] = prep.provenance["kg"]["hits_at_10"]
                record = make_result(
                    **base, kg=kg_info, per_seed=[entry], wall_time_s=stage_times,
                    head_tail=head_tail_genres(prep.train_label_counts),
                )  # fmt: skip
                write_result(record, path)
                per_seed_records.append(record)
            merged = merge_results(per_seed_records)
            write_result(merged, out / "results" / result_filename(merged))
            if args.submit:
                submit_result(merged)
            records.append(merged)
    return format_table(records, dataset_name=dataset.name)


def report_dropped(dataset, out: Path, *, verbose: bool) -> Path:
    """Say which listed movies this run cannot use: one line of counts per part and reason, every
    drop with ``verbose``; all of them recorded under ``<out>/dropped/``."""
    from benchmarks.dropped import drop_lines, dropped_movies, missing_inputs, summary_line, write_record

    drops, missing = dropped_movies(dataset), missing_inputs(dataset)
    path = write_record(out / "dropped", dataset, drops, missing)
    print(summary_line(dataset, drops, missing, path), file=sys.stderr)
    if verbose and drops:
        print("\n".join(drop_lines(drops)), file=sys.stderr)
    return path


def _cell_key_inputs(dataset, encoder, config: dict, kgs: KGSettings) -> dict:
    """What a cell's file key hashes beyond the result's identity (see :mod:`benchmarks.cells`):
    the data's content fingerprint, the encoder's preprocessing, and every trainer and KG-embedding
    setting, defaults included."""
    from benchmarks.cells import settings_of
    from benchmarks.trainer import train
    from idkg.embedding import embed_kg

    return {
        "content_sha256": dataset.fingerprint,
        "preprocessing": encoder.preprocessing,
        "trainer": settings_of(train, config),
        "kg_embedding": settings_of(embed_kg, kgs.embed_kwargs()),
    }


def default_kg_epochs() -> int:
    """The KG embedding's own default number of epochs (recorded explicitly in results)."""
    import inspect

    from idkg.embedding import embed_kg

    return int(inspect.signature(embed_kg).parameters["epochs"].default)


def _placeholder(seed: int) -> dict:
    """A per-seed entry used only to compute a job's file name before it has run."""
    from mmimdb2.genres import GENRES

    zero = {s: 0.0 for s in SCORES}
    return {"seed": seed, "metrics": {**zero, "per_genre": {g: 0.0 for g in GENRES}, "support": {g: 0 for g in GENRES}}}


def _fmt(mean: float, std: float) -> str:
    return f"{mean:.4f} ± {std:.4f}"


def format_table(records: list[dict], *, dataset_name: str) -> str:
    """A plain-text table: one row per result, test F1 scores as mean ± std over seeds."""
    header = ["model", "protocol", *(f"{s} F1" for s in SCORES), "seeds"]
    rows = []
    for r in records:
        mean, std = r["aggregate"]["mean"], r["aggregate"]["std"]
        rows.append([_row_label(r, records), r["protocol"], *(_fmt(mean[s], std[s]) for s in SCORES), str(len(r["seeds"]))])
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(header)]
    lines = [f"test scores on {dataset_name} (thresholds chosen on dev by each row's policy, dev-selected checkpoint)"]
    lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows]
    lines += _inflation_lines(records)
    return "\n".join(lines)


def _row_label(record: dict, records: list[dict]) -> str:
    """The model name, plus the config keys and KG model that tell apart its rows in this table."""
    same = [r for r in records if r["model"]["name"] == record["model"]["name"]]
    config = record["model"]["config"]
    differing = sorted(k for k in config if any(r["model"]["config"].get(k) != config[k] for r in same))
    label = " ".join([record["model"]["name"], *(f"{k}={config[k]}" for k in differing)])
    if record.get("kg") and any(r["kg"]["model"] != record["kg"]["model"] for r in same if r.get("kg")):
        label += f" kg={record['kg']['model']}"
    return label


def _inflation_lines(records: list[dict]) -> list[str]:
    """For each model run under both protocols: authors-protocol score minus fixed-split score."""
    by = {(r["model"]["name"], r["protocol"]): r for r in records}
    out = []
    for (model, protocol), r in by.items():
        fixed = by.get((model, "fixed"))
        if protocol != "authors" or fixed is None:
            continue
        diffs = [
            f"{s} {r['aggregate']['mean'][s] - fixed['aggregate']['mean'][s]:+.4f}" for s in SCORES
        ]
        out.append(f"leakage inflation of {model} (authors protocol - fixed split): " + ", ".join(diffs))
    return ([""] + out) if out else []
