"""Runs the planned cells of a :class:`benchmarks.spec.RunSpec`: each (cell, seed) is one cached,
idempotent job.

A job's result file under ``<out>/cells/`` is named by a key over everything that changes its
result (its identity, its resolved :class:`~benchmarks.spec.CellSpec`, the data's content
fingerprint; see :mod:`benchmarks.cells`), so a rerun skips finished jobs, recomputes edited or
damaged ones, and jobs can be farmed out independently. Inputs (features, KG, embedding) are
prepared only when a job has to run, and once per KG setting.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.pipeline import PreparedInputs, Stopwatch, drop_modality, prepare_inputs
from benchmarks.spec import CellSpec, KGSpec, RunOptions, RunSpec
from mmimdb2.metrics import SCALAR_METRICS as SCORES


def _tensor_set(prep: PreparedInputs, part: str, drop: str | None = None):
    from benchmarks.trainer import TensorSet

    rows = prep.rows[part]
    return TensorSet.from_arrays(_arrays(prep, part, drop), prep.labels[rows], [prep.ids[i] for i in rows])


#: Model settings that may be given as "auto" and are resolved from the data when the model is
#: built (IDKG's KG dropout: the share of dev movies without an F^K); each seed records the value.
RESOLVED_SETTINGS: tuple[str, ...] = ("kg_dropout",)
#: Bump when what a ``probe-fits`` cache entry holds changes.
PROBE_FITS_FORMAT = 1


def fit_and_predict(
    cs: CellSpec, prep: PreparedInputs, *, seed: int, device, progress: bool, memo: dict | None = None
) -> dict:
    """Train the model of ``cs`` for one seed on ``prep``'s train rows (dev picks checkpoint and
    thresholds); return ``{"proba": test probabilities, "threshold", "best_epoch", "train_s"}``.

    An estimator whose fit ignores the seed (``seed_independent``, e.g. the lbfgs probes) is
    fitted once per (cell spec, inputs) when ``memo`` is given; later seeds reuse it. Estimators
    also get a fit store under the run's cache dir (``probe-fits``), so a probe fitted for one cell
    (``probe-text``) is read back by another that needs the same fit (``late-fusion-probes``), in
    this process or another.
    """
    import time

    from baselines.probes import is_estimator
    from benchmarks.cache import CacheStore
    from benchmarks.registry import build_model
    from benchmarks.spec import TrainSpec
    from benchmarks.trainer import predict_proba, train
    from mmimdb2.io import digest
    from mmimdb2.metrics import select_threshold

    # every factory initialises its parameters from its own ``seed``; the trainer seeds the batch order
    model = build_model(cs.model, prep.spec, **{**cs.config, "seed": seed})
    dev_labels = prep.labels[prep.rows["dev"]]
    key = (digest(cs.to_dict()), id(prep))
    if memo is not None and getattr(model, "seed_independent", False) and key in memo and memo[key][0] is prep:
        return {**memo[key][1], "train_s": 0.0}  # nothing was trained for this seed
    if is_estimator(model):
        t0 = time.perf_counter()
        model.fit(_arrays(prep, "train"), prep.labels[prep.rows["train"]], _arrays(prep, "dev"), dev_labels,
                  cs.train["threshold"], class_weight=cs.train.get("class_weight", "none"),
                  fits=CacheStore(prep.cache_dir, "probe-fits", PROBE_FITS_FORMAT))  # fmt: skip
        best_epoch, seconds = None, time.perf_counter() - t0
        dev_proba, proba = model.predict_proba(_arrays(prep, "dev")), model.predict_proba(_arrays(prep, "test", cs.drop))
    else:
        result = train(model, _tensor_set(prep, "train"), _tensor_set(prep, "dev"), TrainSpec(**cs.train),
                       seed=seed, device=device, progress=progress, name=cs.model)  # fmt: skip
        best_epoch, seconds = result.best_epoch, result.seconds
        dev_proba = predict_proba(model, _tensor_set(prep, "dev").to(device))
        proba = predict_proba(model, _tensor_set(prep, "test", cs.drop).to(device))
    threshold = select_threshold(dev_labels, dev_proba, cs.train["threshold"])
    # a setting the model resolves from the data ("auto") is recorded as the value it used
    resolved = {k: float(getattr(model, k)) for k in RESOLVED_SETTINGS if isinstance(getattr(model, k, None), (int, float))}
    out = {"proba": proba, "threshold": threshold, "best_epoch": best_epoch, "train_s": seconds, "resolved": resolved}
    if memo is not None and getattr(model, "seed_independent", False):
        memo[key] = (prep, out)  # holding prep keeps its id from being reused by other inputs
    return out


def train_and_evaluate(
    cs: CellSpec, prep: PreparedInputs, *, seed: int, device, progress: bool, memo: dict | None = None
) -> dict:
    """Train one model for one seed on ``prep``; return its per-seed entry with test metrics.

    The decision threshold(s) are chosen on dev by the cell's threshold policy and recorded in the
    entry (a float, or ``{genre: threshold}`` for the per-genre policy), with the 0/1 test
    decisions they give (``predictions``, rows in :func:`scored_movies` order).
    """
    from mmimdb2.genres import GENRES
    from mmimdb2.metrics import decisions, evaluate

    fit = fit_and_predict(cs, prep, seed=seed, device=device, progress=progress, memo=memo)
    threshold = fit["threshold"]
    metrics = evaluate(prep.labels[prep.rows["test"]], fit["proba"], threshold=threshold, train_label_counts=prep.train_label_counts)
    recorded = float(threshold) if np.ndim(threshold) == 0 else {g: float(t) for g, t in zip(GENRES, threshold)}
    return {"seed": seed, "metrics": metrics, "best_epoch": fit["best_epoch"], "threshold": recorded, "train_s": fit["train_s"],
            "predictions": decisions(fit["proba"], threshold), "resolved": fit["resolved"]}  # fmt: skip


def scored_movies(prep: PreparedInputs) -> dict:
    """``make_result``'s ``test_labels`` and ``test_ids_sha256``: the test rows' labels and ids, in prediction order."""
    from mmimdb2.packing import ordered_ids_sha256

    rows = prep.rows["test"]
    return {"test_labels": prep.labels[rows], "test_ids_sha256": ordered_ids_sha256(prep.ids[i] for i in rows)}


def _arrays(prep: PreparedInputs, part: str, drop: str | None = None) -> dict[str, np.ndarray]:
    """One part's arrays (for estimators, which take numpy rather than tensors)."""
    return drop_modality({k: v[prep.rows[part]] for k, v in prep.arrays.items()}, drop)


@dataclass(frozen=True)
class Job:
    """One (cell, seed) to run: all a worker needs besides the prepared inputs (picklable)."""

    cs: CellSpec
    seed: int
    #: make_result's fields every seed of the cell shares (dataset, split, model, config, ...).
    base: dict
    #: The KG embedding's model, dim and epochs (its hits@10 is read from the inputs).
    kg: dict
    #: Seconds the parent spent preparing (load, features, kg, kg_embedding).
    stage_times: dict
    #: RunOptions.device, resolved where the job runs.
    device: str
    progress: bool


def run_job(prep: PreparedInputs, job: Job, memo: dict | None = None) -> dict:
    """Train and evaluate one job on ``prep``; return its result record, whose hardware (and torch
    threads) are those of the process that ran it. Executors call this, here or in a worker."""
    import torch

    from benchmarks.encoders import resolve_device
    from leaderboard.provenance import hardware_info
    from leaderboard.results import make_result
    from mmimdb2.metrics import head_tail_genres

    device = resolve_device(job.device)
    watch = Stopwatch()
    with watch.stage("job"):
        entry = train_and_evaluate(job.cs, prep, seed=job.seed, device=device, progress=job.progress, memo=memo)
    train_s = entry.pop("train_s")
    stage_times = {**job.stage_times, "train": train_s, "evaluate": max(0.0, watch.seconds["job"] - train_s)}
    if "authors_draw" in prep.provenance:
        entry["overlap"] = prep.provenance["authors_draw"]
    return make_result(
        **job.base, kg={**job.kg, "hits_at_10": prep.provenance["kg"]["hits_at_10"]}, per_seed=[entry], wall_time_s=stage_times,
        head_tail=head_tail_genres(prep.train_label_counts), device=str(device),
        hardware=hardware_info(str(device), threads=torch.get_num_threads()), **scored_movies(prep),
    )  # fmt: skip


def run_benchmark(spec: RunSpec, options: RunOptions | None = None, *, watch: Stopwatch | None = None) -> list[dict]:
    """Run every (cell, seed) job of ``spec`` not already done; write merged results; return them.

    The inputs the jobs need are prepared here first, once per (KG setting, protocol, draw), then
    the jobs run on ``options.executor`` (:mod:`benchmarks.executors`); each finished job's cell
    is written as it arrives, so an interrupted grid resumes where it stopped. With
    ``options.threads`` given, torch's threads are set to it for the run and restored after.
    """
    from benchmarks.threads import torch_threads

    options = options or RunOptions()
    with torch_threads(options.threads) as threads:
        return _run_benchmark(spec, options, watch or Stopwatch(), threads)


def _run_benchmark(spec: RunSpec, options: RunOptions, watch: Stopwatch, threads: int) -> list[dict]:
    import functools

    from tqdm.auto import tqdm

    import mmimdb2
    from benchmarks.cells import CellCache
    from benchmarks.encoders import get_encoder, resolve_device
    from benchmarks.executors import EXECUTORS, executor_name
    from leaderboard.results import identity_of, merge_results, result_filename, submit_result, write_result
    from mmimdb2.paths import cache_root

    cell_specs = [spec.cell_spec(c) for c in spec.cells()]  # every name and option checked before data is loaded
    usable_folder(Path(options.out), "--out", write=True)  # results are written: refused now, not after training
    usable_folder(Path(options.cache_dir).expanduser() if options.cache_dir is not None else cache_root(), "--cache-dir", write=False)
    device = resolve_device(options.device)
    executor = executor_name(options.executor, options.jobs)
    with watch.stage("load"):
        dataset = mmimdb2.load(spec.data.dataset, spec.data.split, data_root=options.data_root, progress=options.progress)
    encoder = get_encoder(spec.resolved_encoder())
    out = Path(options.out)
    cells = CellCache(out)
    protocols = ["fixed", "authors"] if spec.data.protocol == "authors" else ["fixed"]
    print(
        f"{dataset.name}: {len(dataset)} movies, split {dataset.split.name} "
        f"({', '.join(f'{p} {len(dataset.split[p])}' for p in ('train', 'dev', 'test'))}), "
        f"sha256 {dataset.split.sha256[:12]}; encoder {encoder.name}; device {device}; {threads} torch thread(s)",
        file=sys.stderr,
    )
    report_dropped(dataset, out, verbose=options.verbose)
    warn_unlearnable(dataset)

    prepared: dict[tuple, PreparedInputs] = {}  # once per (KG setting, protocol, draw), before any job runs

    def inputs_for(kg: KGSpec, protocol: str, seed: int) -> tuple:
        key = (kg, protocol, seed if protocol == "authors" else 0)
        if key not in prepared:
            prepared[key] = prepare_inputs(
                dataset, encoder=encoder, kg=kg, device=str(device), cache_dir=options.cache_dir,
                watch=watch, protocol=protocol, protocol_seed=key[2], progress=options.progress,
            )  # fmt: skip
        return key

    # plan: each (protocol, cell) with one slot per seed, filled from <out>/cells/ or by a job
    plan: list[list] = []
    tasks: list[tuple] = []
    names: list[tuple[int, int, str]] = []
    for protocol in protocols:
        for cs in cell_specs:
            emb = cs.kg.embedding
            base = dict(
                dataset=dataset.name, dataset_version=dataset.version or "unversioned", split=dataset.split,
                model=cs.model, config=cs.recorded_config(), encoder=encoder.name, encoder_version=encoder.version,
                protocol=protocol, drop=cs.drop, suite=cs.experiment, spec=cs.to_dict(), dataset_fingerprint=dataset.fingerprint,
            )  # fmt: skip
            slots: list = []
            for seed in spec.seeds:
                kg_info = {"model": emb.model, "dim": emb.dim, "epochs": emb.epochs}
                ident = identity_of(
                    dataset=base["dataset"], dataset_version=base["dataset_version"], split_sha256=dataset.split.sha256,
                    protocol=protocol, model=cs.model, config=base["config"], seeds=[seed], encoder=encoder.name,
                    encoder_version=encoder.version, kg=kg_info, drop=cs.drop, fingerprint=dataset.fingerprint,
                )  # fmt: skip
                name = cells.name(ident, cs.to_dict(), content_sha256=dataset.fingerprint, preprocessing=encoder.preprocessing)
                slots.append(None if options.force else cells.read(name, ident))
                if slots[-1] is None:
                    names.append((len(plan), len(slots) - 1, name))
                    tasks.append((inputs_for(cs.kg, protocol, seed), (cs, seed, base, kg_info)))
            plan.append(slots)

    stage_times = {k: v for k, v in watch.seconds.items() if k in ("load", "features", "kg", "kg_embedding")}
    parallel = executor != "serial"
    jobs = [(key, Job(cs, seed, base, kg_info, stage_times, options.device, options.progress and not parallel))
            for key, (cs, seed, base, kg_info) in tasks]  # fmt: skip
    fn = functools.partial(run_job, memo={}) if not parallel else run_job  # seed-independent fits shared in-process
    if jobs:
        runner = EXECUTORS.load(executor)(jobs=options.jobs, threads=threads, address=options.address, device=options.device)
        bar = tqdm(total=len(jobs), desc=f"jobs ({executor})", unit="job", file=sys.stderr, disable=not (options.progress and parallel))
        try:
            for i, record in runner.map(fn, jobs, prepared):
                p, s, name = names[i]
                cells.write(name, record)
                plan[p][s] = record
                bar.update()
        finally:
            bar.close()
            runner.close()
    print(f"{len(jobs)} job(s) run ({executor}, {options.jobs} at once), "
          f"{sum(map(len, plan)) - len(jobs)} read from {out / 'cells'}", file=sys.stderr)  # fmt: skip

    records = []
    for slots in plan:
        merged = merge_results(slots)
        write_result(merged, out / "results" / result_filename(merged))
        if options.submit:
            submit_result(merged)
        records.append(merged)
    return records


def usable_folder(path: Path, flag: str, *, write: bool) -> None:
    """Refuse, in one line and before any data is read, a folder that is a file or lies under one,
    and with ``write`` one that cannot be made or written (it is made here). A cache folder is not
    probed for writing: a shared read-only cache serves its hits, and a miss names the file it
    cannot write."""
    for at in (path, *path.parents):
        if at.exists():
            if not at.is_dir():
                raise ValueError(f"{flag} {path} is {'a file' if at == path else f'under the file {at}'}, not a folder")
            break
    if not write:
        return
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".write-check.", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise ValueError(f"{flag} {path} is not a writable folder ({e.strerror or e})") from None


def warn_unlearnable(dataset) -> None:
    """One stderr line when some genre has no training positive (a model then learns fewer than 23)."""
    from mmimdb2.genres import GENRES
    from mmimdb2.stats import unlearnable_warning

    if not len(dataset.split["train"]):
        return
    unlearnable = [g for g, n in zip(GENRES, dataset.labels("train").sum(0)) if n == 0]
    if unlearnable:
        print(unlearnable_warning(unlearnable), file=sys.stderr)


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


def _fmt(mean: float, std: float) -> str:
    return f"{mean:.4f} ± {std:.4f}"


def _macro_present_ci(record: dict) -> str:
    """Pooled macro-F1 over the genres present, its 95% bootstrap CI and the count; "—" without predictions."""
    from leaderboard.uncertainty import n_present, row_interval
    from mmimdb2.genres import GENRES

    ci = row_interval(record)
    return "—" if ci is None else f"{ci.estimate:.4f} [{ci.low:.4f}, {ci.high:.4f}] ({n_present(record)}/{len(GENRES)})"


def format_table(records: list[dict], *, dataset_name: str) -> str:
    """A plain-text table: one row per result, test F1 scores as mean ± std over seeds, and for a
    result with stored test predictions the macro-F1 over the genres present with its 95% bootstrap CI."""
    header = ["model", "protocol", *(f"{s} F1" for s in SCORES), "macro present [95% CI]", "seeds"]
    rows = []
    for r in records:
        mean, std = r["aggregate"]["mean"], r["aggregate"]["std"]
        rows.append([_row_label(r, records), r["protocol"], *(_fmt(mean[s], std[s]) for s in SCORES), _macro_present_ci(r), str(len(r["seeds"]))])
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(header)]
    lines = [f"test scores on {dataset_name} (thresholds chosen on dev by each row's policy, dev-selected checkpoint)"]
    lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows]
    lines += _inflation_lines(records)
    return "\n".join(lines)


def _row_label(record: dict, records: list[dict]) -> str:
    """The model name, plus the config keys and KG model that tell apart its rows in this table, and
    the modality a row was tested without (``idkg [kg dropped]``)."""
    same = [r for r in records if r["model"]["name"] == record["model"]["name"]]
    config = record["model"]["config"]
    differing = sorted(k for k in config if any(r["model"]["config"].get(k) != config[k] for r in same))
    label = " ".join([record["model"]["name"], *(f"{k}={config[k]}" for k in differing)])
    if record.get("kg") and any(r["kg"]["model"] != record["kg"]["model"] for r in same if r.get("kg")):
        label += f" kg={record['kg']['model']}"
    if record.get("drop"):  # scored without one modality: never to be read as the full model's row
        label += f" [{record['drop']} dropped]"
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
