"""Runs the planned cells of a :class:`benchmarks.spec.RunSpec`: each (cell, seed) is one cached,
idempotent job.

A job's result file under ``<out>/jobs/`` is named by a key over everything that changes its
result (its identity, its resolved :class:`~benchmarks.spec.CellSpec`, the data's content
fingerprint; see :mod:`benchmarks.jobs`), so a rerun skips finished jobs, recomputes edited or
damaged ones, and jobs can be farmed out independently. Inputs (features, KG, embedding) are
prepared only when a job has to run, and once per KG setting.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.pipeline import PreparedInputs, drop_modality, prepare_inputs, timed
from benchmarks.spec import CellSpec, RunOptions, RunSpec
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
    thresholds); return ``{"proba": test probabilities, "threshold", "best_epoch", "resolved",
    "cost": SeedCost fields, "model": the fitted model}`` (diagnostics query the model).

    An estimator whose fit ignores the seed (``seed_independent``, e.g. the lbfgs probes) is
    fitted once per (cell spec, inputs) when ``memo`` is given; later seeds reuse it (and cost
    nothing: their cost says 0 s). Estimators also get a fit store under the run's cache dir
    (``probe-fits``), so a probe fitted for one cell (``probe-text``) is read back by another that
    needs the same fit (``late-fusion-probes``), in this process or another.
    """
    import time

    from baselines.probes import is_estimator
    from benchmarks.cache import CacheStore
    from benchmarks.cost import memory_peak, trainable_parameters
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
        reused = memo[key][1]  # nothing was trained for this seed
        return {**reused, "cost": {**reused["cost"], "train_s": 0.0, "predict_s": 0.0}}
    with memory_peak(device) as memory:
        if is_estimator(model):
            t0 = time.perf_counter()
            model.fit(_arrays(prep, "train"), prep.labels[prep.rows["train"]], _arrays(prep, "dev"), dev_labels,
                      cs.train["threshold"], class_weight=cs.train.get("class_weight", "none"),
                      fits=CacheStore(prep.cache_dir, "probe-fits", PROBE_FITS_FORMAT))  # fmt: skip
            best_epoch, epochs, seconds = None, None, time.perf_counter() - t0
            dev_proba = model.predict_proba(_arrays(prep, "dev"))
            t0 = time.perf_counter()
            proba = model.predict_proba(_arrays(prep, "test", cs.drop))
        else:
            result = train(model, _tensor_set(prep, "train"), _tensor_set(prep, "dev"), TrainSpec(**cs.train),
                           seed=seed, device=device, progress=progress, name=cs.model)  # fmt: skip
            best_epoch, epochs, seconds = result.best_epoch, len(result.history), result.seconds
            dev_proba = predict_proba(model, _tensor_set(prep, "dev").to(device))
            t0 = time.perf_counter()
            proba = predict_proba(model, _tensor_set(prep, "test", cs.drop).to(device))
        predict_s = time.perf_counter() - t0
    threshold = select_threshold(dev_labels, dev_proba, cs.train["threshold"])
    # a setting the model resolves from the data ("auto") is recorded as the value it used
    resolved = {k: float(getattr(model, k)) for k in RESOLVED_SETTINGS if isinstance(getattr(model, k, None), (int, float))}
    cost = {"train_s": seconds, "epochs": epochs, "predict_s": predict_s, "n_test": int(len(proba)),
            "parameters": trainable_parameters(model), "memory": memory.memory,
            "memory_before_mb": round(memory.before_mb, 1), "memory_peak_mb": round(memory.peak_mb, 1)}  # fmt: skip
    out = {"proba": proba, "threshold": threshold, "best_epoch": best_epoch, "resolved": resolved, "cost": cost, "model": model}
    if memo is not None and getattr(model, "seed_independent", False):
        memo[key] = (prep, out)  # holding prep keeps its id from being reused by other inputs
    return out


def train_and_evaluate(
    cs: CellSpec, prep: PreparedInputs, *, seed: int, device, progress: bool, memo: dict | None = None
) -> dict:
    """Train one model for one seed on ``prep``; return its per-seed entry with test metrics.

    The decision threshold(s) are chosen on dev by the cell's threshold policy and recorded in the
    entry (a float, or ``{genre: threshold}`` for the per-genre policy), with the 0/1 test
    decisions they give (``predictions``, rows in :func:`scored_movies` order) and the job's cost.
    """
    from mmimdb2.genres import GENRES
    from mmimdb2.metrics import decisions, evaluate

    fit = fit_and_predict(cs, prep, seed=seed, device=device, progress=progress, memo=memo)
    threshold = fit["threshold"]
    metrics = evaluate(prep.labels[prep.rows["test"]], fit["proba"], threshold=threshold, train_label_counts=prep.train_label_counts)
    recorded = float(threshold) if np.ndim(threshold) == 0 else {g: float(t) for g, t in zip(GENRES, threshold)}
    return {"seed": seed, "metrics": metrics, "best_epoch": fit["best_epoch"], "threshold": recorded, "cost": fit["cost"],
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
    """One cell for one seed: all a worker needs besides the prepared inputs (picklable)."""

    cs: CellSpec
    seed: int
    #: make_result's fields every seed of the cell shares (dataset, split, model, config, ...).
    base: dict
    #: The identity its record must have (the job cache's lookup was made with it).
    ident: dict
    #: The preparation stages these inputs went through, each with its time and whether it was shared.
    timings: dict
    #: RunOptions.device, resolved where the job runs.
    device: str
    progress: bool


def run_job(prep: PreparedInputs, job: Job, memo: dict | None = None) -> dict:
    """Train and evaluate one job on ``prep``; return its result record, whose hardware (and torch
    threads) are those of the process that ran it. Executors call this, here or in a worker."""
    import time

    import torch

    from benchmarks.encoders import resolve_device
    from leaderboard.provenance import hardware_info
    from leaderboard.results import identity, make_result
    from mmimdb2.metrics import head_tail_genres

    device = resolve_device(job.device)
    t0 = time.perf_counter()
    entry = train_and_evaluate(job.cs, prep, seed=job.seed, device=device, progress=job.progress, memo=memo)
    train_s = entry["cost"]["train_s"]
    timings = {**job.timings, "train": {"seconds": train_s, "shared": False},
               "evaluate": {"seconds": max(0.0, time.perf_counter() - t0 - train_s), "shared": False}}  # fmt: skip
    if "authors_draw" in prep.provenance:
        entry["overlap"] = prep.provenance["authors_draw"]
    record = make_result(
        **job.base, kg=prep.kg_info, per_seed=[entry], timings=timings,
        head_tail=head_tail_genres(prep.train_label_counts), device=str(device),
        hardware=hardware_info(str(device), threads=torch.get_num_threads()), **scored_movies(prep),
    )  # fmt: skip
    if identity(record) != job.ident:  # the cache looked it up by the identity the spec promised
        diff = sorted(k for k in job.ident if identity(record).get(k) != job.ident[k])
        raise RuntimeError(f"{job.cs.model}: the record's identity differs from the planned one in {', '.join(diff)}")
    return record


@dataclass
class PlannedJob:
    """A job of the plan: its cell, seed, cache name, the inputs it needs, and its record once known."""

    job: Job
    name: str
    inputs: tuple
    record: dict | None = None


def run_benchmark(spec: RunSpec, options: RunOptions | None = None) -> list[dict]:
    """Run every job (cell, seed) of ``spec`` not already done; write merged results; return them.

    Plan (every job named and looked up in ``<out>/jobs/``), prepare the inputs the missing jobs
    need (once per KG setting, protocol and draw; features once), run them on
    ``options.executor`` (:mod:`benchmarks.executors`), each finished job written as it arrives so
    an interrupted grid resumes, then write one merged result per cell. With ``options.threads``
    given, torch's threads are set to it for the run and restored after.
    """
    from benchmarks.threads import torch_threads

    options = options or RunOptions()
    with torch_threads(options.threads) as threads:
        return _run_benchmark(spec, options, threads)


def _run_benchmark(spec: RunSpec, options: RunOptions, threads: int) -> list[dict]:
    import mmimdb2
    from benchmarks.encoders import get_encoder, resolve_device
    from benchmarks.executors import check_address, executor_name
    from benchmarks.jobs import JobCache
    from mmimdb2.paths import cache_root

    cell_specs = [spec.cell_spec(c) for c in spec.variants()]  # every name and option checked before data is loaded
    usable_folder(Path(options.out), "--out", write=True)  # results are written: refused now, not after training
    usable_folder(Path(options.cache_dir).expanduser() if options.cache_dir is not None else cache_root(), "--cache-dir", write=False)
    device = resolve_device(options.device)
    executor = executor_name(options.executor, options.jobs)
    if executor == "ray":
        check_address(options.address)  # an address nothing answers at: seconds, before any data is read
    seconds: dict[str, float] = {}
    with timed(seconds, "load"):
        dataset = mmimdb2.load(spec.data.dataset, spec.data.split, data_root=options.data_root, progress=options.progress)
    encoder = get_encoder(spec.resolved_encoder())
    out, cache = Path(options.out), JobCache(options.out)
    print(
        f"{dataset.name}: {len(dataset)} movies, split {dataset.split.name} "
        f"({', '.join(f'{p} {len(dataset.split[p])}' for p in ('train', 'dev', 'test'))}), "
        f"sha256 {dataset.split.sha256[:12]}; encoder {encoder.name}; device {device}; {threads} torch thread(s)",
        file=sys.stderr,
    )
    report_dropped(dataset, out, verbose=options.verbose)
    warn_unlearnable(dataset)

    cells = _plan(spec, cell_specs, dataset, encoder, cache, options)
    todo = [p for jobs in cells.values() for p in jobs if p.record is None]
    prepared = _prepare(todo, dataset, encoder, device, options, seconds["load"])
    _run_jobs(todo, prepared, cache, options, threads, executor)
    print(f"{len(todo)} job(s) run ({executor}, {options.jobs} at once), "
          f"{sum(map(len, cells.values())) - len(todo)} read from {out / 'jobs'}", file=sys.stderr)  # fmt: skip
    return _write_results(cells, out, submit=options.submit)


def cell_identity(cs: CellSpec, dataset, encoder, seeds, *, protocol: str = "fixed") -> dict:
    """The identity (:func:`leaderboard.results.identity_of`) of the row ``cs`` makes over ``seeds``:
    one seed's is its job's, all seeds' the merged row's, so also the name of its leaderboard file."""
    from leaderboard.results import identity_of, study_digest

    emb = cs.kg.embedding
    return identity_of(
        dataset=dataset.name, dataset_version=dataset.version or "unversioned", split_sha256=dataset.split.sha256,
        protocol=protocol, model=cs.model, config=cs.recorded_config(), seeds=list(seeds), encoder=encoder.name,
        encoder_version=encoder.version, kg=[emb.model, emb.dim, emb.epochs], drop=cs.drop, fingerprint=dataset.fingerprint,
        study=study_digest(cs.to_dict()),
    )  # fmt: skip


def _plan(spec: RunSpec, cell_specs, dataset, encoder, cache, options: RunOptions) -> dict[tuple, list[PlannedJob]]:
    """``{(protocol, cell index): its jobs, one per seed}``, each looked up in the job cache."""
    protocols = ["fixed", "authors"] if spec.data.protocol == "authors" else ["fixed"]
    cells: dict[tuple, list[PlannedJob]] = {}
    for protocol in protocols:
        for index, cs in enumerate(cell_specs):
            base = dict(
                dataset=dataset.name, dataset_version=dataset.version or "unversioned", split=dataset.split,
                model=cs.model, config=cs.recorded_config(), encoder=encoder.name, encoder_version=encoder.version,
                protocol=protocol, drop=cs.drop, suite=cs.experiment, spec=cs.to_dict(), dataset_fingerprint=dataset.fingerprint,
                threshold_policy=cs.train["threshold"],
            )  # fmt: skip
            jobs = []
            for seed in spec.seeds:
                ident = cell_identity(cs, dataset, encoder, [seed], protocol=protocol)
                name = cache.name(ident, cs.to_dict(), content_sha256=dataset.fingerprint, preprocessing=encoder.preprocessing)
                job = Job(cs, seed, base, ident, {}, options.device, options.progress)
                inputs = (cs.kg, protocol, seed if protocol == "authors" else 0)
                jobs.append(PlannedJob(job, name, inputs, None if options.force else cache.read(name, ident)))
            cells[(protocol, index)] = jobs
    return cells


def _prepare(todo: list[PlannedJob], dataset, encoder, device, options: RunOptions, load_s: float) -> dict[tuple, PreparedInputs]:
    """The inputs the jobs to run need, once per (KG setting, protocol, draw), the features once;
    each job gets the times of the stages its inputs went through, shared ones marked."""
    from collections import Counter

    from benchmarks.features import extract_features

    if not todo:
        return {}
    seconds: dict[str, float] = {}
    with timed(seconds, "features"):
        feats = extract_features(dataset, encoder, cache_dir=options.cache_dir, device=str(device), progress=options.progress)
    users = Counter(p.inputs for p in todo)
    prepared = {}
    for key in users:
        kg, protocol, draw = key
        prepared[key] = prepare_inputs(
            dataset, encoder=encoder, kg=kg, device=str(device), cache_dir=options.cache_dir,
            protocol=protocol, protocol_seed=draw, progress=options.progress, features=feats,
        )  # fmt: skip
    run_wide = {"load": load_s, "features": seconds["features"]}
    for p in todo:
        own = prepared[p.inputs].seconds
        timings = {k: {"seconds": v, "shared": len(todo) > 1} for k, v in run_wide.items()}
        timings |= {k: {"seconds": v, "shared": users[p.inputs] > 1} for k, v in own.items()}
        p.job = dataclasses.replace(p.job, timings=timings)
    return prepared


def _run_jobs(todo: list[PlannedJob], prepared: dict, cache, options: RunOptions, threads: int, executor: str) -> None:
    """Run the jobs on the executor; write each finished job's record as it arrives."""
    import functools

    from tqdm.auto import tqdm

    from benchmarks.executors import EXECUTORS

    if not todo:
        return
    parallel = executor != "serial"
    tasks = [(p.inputs, dataclasses.replace(p.job, progress=options.progress and not parallel)) for p in todo]
    fn = functools.partial(run_job, memo={}) if not parallel else run_job  # seed-independent fits shared in-process
    runner = EXECUTORS.load(executor)(jobs=options.jobs, threads=threads, address=options.address, device=options.device)
    bar = tqdm(total=len(tasks), desc=f"jobs ({executor})", unit="job", file=sys.stderr, disable=not (options.progress and parallel))
    try:
        for i, record in runner.map(fn, tasks, prepared):
            cache.write(todo[i].name, record)
            todo[i].record = record
            bar.update()
    finally:
        bar.close()
        runner.close()


def _write_results(cells: dict[tuple, list[PlannedJob]], out: Path, *, submit: bool) -> list[dict]:
    """One merged result per cell under ``<out>/results/`` (and the leaderboard's with ``submit``)."""
    from leaderboard.results import merge_results, result_filename, submit_result, write_result

    records = []
    for jobs in cells.values():
        merged = merge_results([p.record for p in jobs])
        write_result(merged, out / "results" / result_filename(merged))
        if submit:
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


def format_table(records: list[dict], *, dataset_name: str) -> str:
    """A plain-text table of the table model's rows (:mod:`leaderboard.table_model`): test F1
    scores as mean ± std over seeds, the pooled macro-F1 over the genres present with its 95%
    bootstrap interval, and each row's paired difference to the best with its interval (``best``;
    ``≈``: tied with it, the interval holds 0)."""
    from leaderboard.table_model import interval_text, plain_table, table_rows
    from leaderboard.uncertainty import n_present

    rows = table_rows(records, ranked=False)  # in the order they ran
    header = ["model", "protocol", *(f"{s} F1" for s in SCORES), "macro present [95% CI]", "vs best", "seeds"]
    body = []
    for row in rows:
        r = row.record
        mean, std = r["aggregate"]["mean"], r["aggregate"]["std"]
        ci = interval_text(row) + ("" if row.interval is None else f" ({n_present(r)}/23)")
        body.append([row.label, r["protocol"], *(f"{mean[s]:.4f} ± {std[s]:.4f}" for s in SCORES), ci, _versus(row), str(len(r["seeds"]))])
    lines = [f"test scores on {dataset_name} (each row's checkpoint and threshold by its recipe: {_recipes_text(records)})"]
    return "\n".join(lines + plain_table(header, body) + _inflation_lines(rows))


def _versus(row) -> str:
    """``best``; the paired difference to the best row with its 95% interval, ``≈`` when it holds 0; "—" when not comparable."""
    d = row.versus
    if d is None:
        return row.mark
    return f"{row.mark + ' ' if row.mark else ''}{d.estimate:+.4f} [{d.low:+.4f}, {d.high:+.4f}]"


def _recipes_text(records: list[dict]) -> str:
    """What chose each row's checkpoint and thresholds, in words (one clause per distinct setting)."""
    words = {"fixed": "threshold 0.5", "global": "one threshold chosen on dev", "per-genre": "per-genre thresholds chosen on dev"}
    seen = []
    for r in records:
        train = (r.get("spec") or {}).get("train") or {}
        select = train.get("select")
        checkpoint = "last epoch" if select == "last" else f"checkpoint by dev {select}" if select else "no epochs"
        text = f"{checkpoint}, {words.get(r['threshold_policy'], r['threshold_policy'])}"
        if text not in seen:
            seen.append(text)
    return "; ".join(seen)


def _inflation_lines(rows) -> list[str]:
    """For each authors-protocol row with a fixed-split counterpart of the same identity (model,
    config, KG, drop, ...): its score minus the fixed-split one."""
    from leaderboard.results import identity

    def key(r: dict) -> str:
        return json.dumps({k: v for k, v in identity(r).items() if k not in ("protocol", "split")}, sort_keys=True)

    fixed = {key(row.record): row.record for row in rows if row.record["protocol"] == "fixed"}
    out = []
    for row in rows:
        r = row.record
        twin = fixed.get(key(r)) if r["protocol"] == "authors" else None
        if twin is None:
            continue
        diffs = [f"{s} {r['aggregate']['mean'][s] - twin['aggregate']['mean'][s]:+.4f}" for s in SCORES]
        out.append(f"leakage inflation of {row.label} (authors protocol - fixed split): " + ", ".join(diffs))
    return ([""] + out) if out else []
