"""``python -m benchmarks.tune``: every model tuned with one budget on the dataset at hand; test never read.

One Optuna study per model. A trial is one setting of the model's search space
(:mod:`benchmarks.spaces`) and its score the cross-validated macro-F1 of :mod:`benchmarks.cv` on
the split's train + dev movies (K folds, the run's seeds): the test part is dropped right after the
dataset is loaded, before any feature, KG or score. Every model of a command gets the same
budget, trials x folds x seeds; a space with fewer settings than the trials is enumerated once.
The first trial is always the model's current default (its resolved spec under the run's recipe and
flags), so a study never returns settings that score worse on CV than the default it started from.
The sampler is Optuna's TPE, seeded: trial n draws with a seed made of (``--sampler-seed``, n),
so a resumed study draws what an uninterrupted one would have drawn from the same history.

Trials are cheap after the first: each fold's features, train-only KG and KG embedding are
prepared once per study (per KG setting, when the space holds one) and shared by every trial;
``--jobs N`` runs N trials at once through the run's executors (``--executor process|ray``). The
study lives in ``<out>/<study>/journal.log`` (``--storage URL``: any Optuna storage), so a study
killed at any moment resumes without repeating a finished trial, and two processes can work on
one study. What it finds is written beside it (:mod:`benchmarks.study`); ``python -m
benchmarks.run --from-study <out>`` runs each model's best settings on test.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from benchmarks.spec import CellSpec, RunOptions, RunSpec

#: Trials, folds and seeds when none are given (seeds: the run's default).
DEFAULT_TRIALS, DEFAULT_FOLDS = 30, 4
DEFAULT_OUT = Path("studies")
#: A study stops when its sampler proposes this many settings in a row that were already tried.
MAX_REPEATS = 50


@dataclass(frozen=True)
class TuneSpec:
    """What a tuning command asks beyond the run spec: the budget (``trials``; ``folds`` over the
    run's seeds), the fold draw, the sampler's seed, the storage (None: a journal file per study)
    and spaces of one's own (model name -> space, domains or their JSON form)."""

    trials: int = DEFAULT_TRIALS
    folds: int = DEFAULT_FOLDS
    fold_seed: int = 0
    sampler_seed: int = 0
    storage: str | None = None
    spaces: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, low in (("trials", 1), ("folds", 2), ("fold_seed", 0), ("sampler_seed", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"--{name.replace('_', '-')} must be a whole number >= {low}. Got {value!r} instead.")


@dataclass
class Plan:
    """One model's study, planned before any data is read."""

    variant: Any
    default: CellSpec
    space: dict
    grid: list[dict] | None
    notes: list[str]
    base: dict
    identity: dict
    name: str = ""


def trial_spec(spec: RunSpec, cell, params: Mapping[str, Any]) -> CellSpec:
    """The resolved cell spec of ``cell`` with a trial's ``params`` (model, training and KG settings)
    over the run's; the same spec ``benchmarks.run --from-study`` builds for the best trial."""
    from benchmarks.spaces import split_settings

    base = spec.cell_spec(cell)
    s = split_settings(params, base.config, base.train)
    kg = {**spec.kg, **({"model": cell.kg_model} if cell.kg_model else {}), **s.kg}
    one = replace(spec, models=(cell.model,), experiment=None, overrides={**cell.config, **s.model}, train={**spec.train, **s.train}, kg=kg)
    return one.cell_spec(one.variants()[0])


def plan(spec: RunSpec, cell, settings: TuneSpec) -> Plan:
    """The study of one cell: its default, its checked space (a default the space does not hold
    widens it, with a note), its grid when the space is no larger than the trials."""
    from benchmarks import spaces
    from benchmarks.imported import is_import_path
    from benchmarks.study import STUDY_FORMAT

    given = settings.spaces.get(cell.model)
    imported = is_import_path(cell.model)
    default = trial_spec(spec, cell, {})
    try:
        space = spaces.space_of(cell.model, given)
        notes = []
        for name, domain in list(space.items()):
            value = spaces.default_of(name, default)
            if not domain.contains(value):
                if isinstance(value, (int, float)) != isinstance(domain.bounds()[0], (int, float)) and not isinstance(domain, spaces.Choice):
                    raise ValueError(f"{name!r} defaults to {value!r}, which a {type(domain).__name__} domain cannot hold: make it a choice")
                space[name] = domain = domain.widened(value)
                notes.append(f"{name!r} widened to hold the default {value!r}")
            for bound in () if imported else domain.bounds():  # a model of one's own has no config type to check values against
                try:
                    trial_spec(spec, cell, {name: bound})
                except ValueError as e:
                    raise ValueError(f"{name!r} = {bound!r}: {e}") from None
    except ValueError as e:
        raise ValueError(f"search space of {default.model!r}: {e}") from None
    defaults = {name: spaces.default_of(name, default) for name in space}
    size = spaces.size(space)
    grid = spaces.grid(space, defaults) if size is not None and size <= settings.trials else None
    base = {
        "data": {"dataset": spec.data.dataset, "split": spec.data.split, "protocol": spec.data.protocol}, "encoder": default.encoder,
        "recipe": spec.recipe, "train": dict(spec.train), "kg": {**spec.kg, **({"model": cell.kg_model} if cell.kg_model else {})},
        "overrides": dict(cell.config), "spec": default.to_dict(),
    }  # fmt: skip
    sampler = {"name": "grid", "settings": len(grid)} if grid is not None else {
        "name": "TPESampler", "seed": settings.sampler_seed, "multivariate": True, "constant_liar": True,
        "n_startup_trials": startup_trials(settings.trials), "per_trial_seed": "numpy SeedSequence([seed, trial number])",
    }  # fmt: skip
    identity = {"format": STUDY_FORMAT, "spec": default.to_dict(), "space": spaces.space_to_json(space), "sampler": sampler,
                "folds": settings.folds, "fold_seed": settings.fold_seed, "seeds": list(spec.seeds)}  # fmt: skip
    return Plan(cell, default, space, grid, notes, base, identity)


def startup_trials(trials: int) -> int:
    """TPE's random start: a third of the trials, 1 to 10 (Optuna's default is 10)."""
    return max(1, min(10, trials // 3))


def _sampler(plan: Plan, settings: TuneSpec, number: int):
    import numpy as np
    import optuna

    seed = int(np.random.SeedSequence([settings.sampler_seed, number]).generate_state(1)[0])
    return optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True, n_startup_trials=startup_trials(settings.trials))


def train_dev_only(dataset):
    """``dataset`` without its test part: neither its movies nor its ids (what every study sees)."""
    from mmimdb2.splits import Split

    keep = (*dataset.split["train"], *dataset.split["dev"])
    split = Split(dataset.split.name, {"train": tuple(dataset.split["train"]), "dev": tuple(dataset.split["dev"]), "test": ()})
    return replace(dataset, movies={i: dataset.movies[i] for i in keep}, split=split)


@dataclass(frozen=True)
class TrialTask:
    """One trial for an executor: the cell spec to cross-validate, the seeds, the device."""

    cs: CellSpec
    seeds: tuple[int, ...]
    device: str


def run_trial(folds, task: TrialTask) -> dict:
    """Cross-validate one trial's cell on the shared ``folds``; an error is returned as one line
    (the study records the trial as failed and goes on), never raised."""
    from benchmarks.cv import cross_validate
    from benchmarks.encoders import resolve_device

    start = time.perf_counter()
    try:
        scores = cross_validate(task.cs, folds, list(task.seeds), device=resolve_device(task.device))
    except Exception as e:  # a failing setting (NaN loss, memory) is a failed trial, not a failed study
        return {"error": f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:500], "seconds": time.perf_counter() - start}
    return {"scores": scores, "seconds": time.perf_counter() - start}


def tune(spec: RunSpec, options: RunOptions | None = None, settings: TuneSpec | None = None) -> list[dict]:
    """Run (or resume) one study per planned model of ``spec``; return each study's record
    (:func:`benchmarks.study.study_record`). ``options.out`` holds the studies."""
    from benchmarks.threads import torch_threads

    options, settings = options or RunOptions(out=DEFAULT_OUT), settings or TuneSpec()
    if spec.data.protocol != "fixed" or spec.drop is not None:
        raise ValueError("benchmarks.tune cross-validates on the fixed split's train + dev: no --protocol authors, no --drop")
    with torch_threads(options.threads) as threads:
        return _tune(spec, options, settings, threads)


def _tune(spec: RunSpec, options: RunOptions, settings: TuneSpec, threads: int) -> list[dict]:
    import mmimdb2
    from benchmarks.encoders import get_encoder
    from benchmarks.executors import EXECUTORS, executor_name
    from benchmarks.harness import usable_folder
    from mmimdb2.io import digest
    from mmimdb2.paths import cache_root

    plans = [plan(spec, cell, settings) for cell in spec.variants()]  # every name, space and value checked before data is read
    if unknown := sorted(set(settings.spaces) - {p.variant.model for p in plans} - {p.default.model for p in plans}):
        raise ValueError(f"--space {unknown[0]}: no planned model has that name")
    usable_folder(Path(options.out), "--out", write=True)
    usable_folder(Path(options.cache_dir).expanduser() if options.cache_dir is not None else cache_root(), "--cache-dir", write=False)
    dataset = mmimdb2.load(spec.data.dataset, spec.data.split, data_root=options.data_root, progress=options.progress)
    data = {"name": dataset.name, "split": dataset.split.name, "split_sha256": dataset.split.sha256, "fingerprint": dataset.fingerprint,
            "train_dev_movies": len(dataset.split["train"]) + len(dataset.split["dev"])}  # fmt: skip
    pool = train_dev_only(dataset)
    del dataset  # nothing below may reach the test part
    encoder = get_encoder(spec.resolved_encoder())
    for p in plans:
        p.identity["data"] = data
        p.base["fingerprint"] = data["fingerprint"]
        p.name = f"{_safe(data['name'])}__{_safe(p.default.model)}__{digest(p.identity)[:10]}"
    executor = executor_name(options.executor, options.jobs)
    print(f"tuning {len(plans)} model(s) on {data['name']} train + dev ({data['train_dev_movies']} movies; test not read): "
          f"{settings.trials} trials x {settings.folds}-fold CV x {len(spec.seeds)} seed(s) each; encoder {encoder.name}; "
          f"{threads} torch thread(s), {options.jobs} trial(s) at once ({executor})", file=sys.stderr)  # fmt: skip

    folds: dict = {}

    def inputs(kg) -> Any:
        from benchmarks.cv import prepare_folds
        from benchmarks.encoders import resolve_device

        if kg not in folds:
            folds[kg] = prepare_folds(pool, encoder=encoder, kg=kg, folds=settings.folds, fold_seed=settings.fold_seed,
                                      device=str(resolve_device(options.device)), cache_dir=options.cache_dir, progress=options.progress)  # fmt: skip
        return kg

    runner = EXECUTORS.load(executor)(jobs=options.jobs, threads=threads, address=options.address, device=options.device)
    try:
        records = [run_study(p, spec, options, settings, runner, folds, inputs) for p in plans]
    finally:
        runner.close()
    print(summary(records))
    return records


def _safe(name: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "x"


def run_study(p: Plan, spec: RunSpec, options: RunOptions, settings: TuneSpec, runner, folds: dict, inputs) -> dict:
    """Create or resume ``p``'s study and run trials until the budget is spent."""
    import optuna
    from optuna.trial import TrialState

    from benchmarks import spaces
    from benchmarks.study import Heartbeat, finished, owner, recover_stale, storage, write_records

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    folder = Path(options.out) / p.name
    folder.mkdir(parents=True, exist_ok=True)
    study = optuna.create_study(storage=storage(folder, settings.storage), study_name=p.name, direction="maximize", load_if_exists=True)
    known = study.user_attrs.get("identity")
    if known is None:
        study.set_user_attr("identity", p.identity)
    elif known != p.identity:
        raise ValueError(f"study {p.name} in the storage was made with other settings; use another --out or --storage")
    if not study.trials and not study.user_attrs.get("seeded"):
        first = {n: spaces.default_of(n, p.default) for n in p.space}
        for i, params in enumerate(p.grid or [first]):
            study.enqueue_trial({n: spaces.encode(p.space[n], v) for n, v in params.items()}, user_attrs={"role": "default" if i == 0 else "grid"})
        study.set_user_attr("seeded", True)
    target = len(p.grid) if p.grid is not None else settings.trials
    meta = {"model": p.default.model, "data": p.identity["data"], "base": p.base, "space": spaces.space_to_json(p.space), "space_domains": p.space,
            "space_notes": p.notes, "sampler": p.identity["sampler"],
            "budget": {"trials": target, "trials_asked": settings.trials, "folds": settings.folds, "fold_seed": settings.fold_seed,
                       "seeds": list(spec.seeds), "cv_fits_per_trial": settings.folds * 2 * len(spec.seeds)}}  # fmt: skip
    for note in p.notes:
        print(f"{p.default.model}: search space {note}", file=sys.stderr)
    label = p.default.model
    print(f"{label}: study {p.name} ({target} trials{', the whole grid' if p.grid is not None else ''}) in {folder}", file=sys.stderr)
    running: dict[int, Any] = {}
    repeats = 0  # settings in a row the sampler proposed again
    with Heartbeat() as beat:
        try:
            while True:
                if repeats >= MAX_REPEATS:
                    print(f"{label}: the sampler proposed {repeats} settings in a row that were already tried: the space looks "
                          "exhausted; the study stops short of its budget", file=sys.stderr)  # fmt: skip
                    break
                for line in recover_stale(study, running):
                    print(f"{label}: {line}", file=sys.stderr)
                trials = study.get_trials(deepcopy=False)
                others = [t for t in trials if t.state == TrialState.RUNNING and t.number not in running]
                free = target - len(finished(trials)) - len(others)
                if free <= 0:
                    if not others:
                        break
                    time.sleep(min(5.0, beat.interval))  # another process's trials: wait for them (or for them to go stale)
                    continue
                batch: list = []
                for _ in range(min(free, options.jobs)):
                    study.sampler = _sampler(p, settings, len(study.get_trials(deepcopy=False)))
                    trial = study.ask()
                    params = spaces.suggest(trial, p.space)
                    if _surplus(study, trial, target):
                        break
                    if _copied_duplicate(study, trial):
                        repeats += 1
                        continue
                    repeats = 0
                    trial.set_user_attr("owner", owner())
                    beat.add(trial)
                    running[trial.number] = trial
                    cs = trial_spec(spec, p.variant, params)
                    batch.append((inputs(cs.kg), TrialTask(cs, tuple(spec.seeds), options.device), trial, params))
                if not batch:
                    continue
                for i, result in runner.map(run_trial, [(key, task) for key, task, _, _ in batch], folds):
                    _, _, trial, params = batch[i]
                    _tell(study, trial, result)
                    beat.remove(trial.number)
                    running.pop(trial.number)
                    record = write_records(folder, study, meta)
                    print(progress_line(label, trial.number, result, record, params, target), file=sys.stderr)
        finally:
            for number in list(running):  # interrupted: their settings are asked again next time
                beat.remove(number)
                _requeue(study, number)
    return write_records(folder, study, meta)


def _surplus(study, trial, target: int) -> bool:
    """Whether another process took the budget's last slot between this one's count and its ask
    (trial numbers order the claims): then the trial is set aside unrun, settings it was given
    from the queue go back to it, and it spends no budget."""
    from optuna.trial import TrialState

    from benchmarks.study import finished

    trials = study.get_trials(deepcopy=False)
    ahead = len(finished(trials)) + sum(t.state == TrialState.RUNNING and t.number < trial.number for t in trials)
    if ahead < target:
        return False
    trial.set_user_attr("surplus", True)
    queued = {k: trial.user_attrs[k] for k in ("role", "retry_of") if k in trial.user_attrs}
    if queued:
        study.enqueue_trial(dict(trial.params), user_attrs=queued)
    study.tell(trial, state=TrialState.FAIL)
    return True


def _copied_duplicate(study, trial) -> bool:
    """When the sampler proposes settings a complete trial already has, that trial's result is
    told again (so the sampler learns it is known) without training; the copy spends no budget."""
    from optuna.trial import TrialState

    same = next((t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.params == trial.params), None)
    if same is None:
        return False
    for key in ("per_seed", "per_fold", "cv_movies", "cv_labels", "cv_decisions"):
        trial.set_user_attr(key, same.user_attrs[key])
    trial.set_user_attr("duplicate_of", same.user_attrs.get("duplicate_of", same.number))
    study.tell(trial, same.value)
    return True


def _tell(study, trial, result: Mapping[str, Any]) -> None:
    from optuna.trial import TrialState

    from mmimdb2.packing import pack_bits

    trial.set_user_attr("seconds", float(result["seconds"]))
    if "error" in result:
        trial.set_user_attr("error", result["error"])
        study.tell(trial, state=TrialState.FAIL)
        return
    sc = result["scores"]
    value = float(sum(sc.pooled) / len(sc.pooled))
    if not math.isfinite(value):
        trial.set_user_attr("error", "the CV macro-F1 is not finite")
        study.tell(trial, state=TrialState.FAIL)
        return
    trial.set_user_attr("per_seed", [float(v) for v in sc.pooled])
    trial.set_user_attr("per_fold", [[float(v) for v in f] for f in sc.per_fold])
    trial.set_user_attr("cv_movies", int(len(sc.labels)))
    trial.set_user_attr("cv_labels", pack_bits(sc.labels))
    trial.set_user_attr("cv_decisions", [pack_bits(d) for d in sc.decisions])
    study.tell(trial, value)


def _requeue(study, number: int) -> None:
    """Fail a trial this process started and cannot finish, and ask its settings again."""
    from optuna.trial import TrialState

    frozen = next(t for t in study.get_trials(deepcopy=False) if t.number == number)
    if frozen.state != TrialState.RUNNING:
        return
    study.tell(number, state=TrialState.FAIL)
    attrs = {"retry_of": number, **({"role": frozen.user_attrs["role"]} if "role" in frozen.user_attrs else {})}
    study.enqueue_trial(dict(frozen.params), user_attrs=attrs)


def _short(settings: Mapping[str, Any]) -> str:
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3g}"
        if isinstance(v, tuple):
            return "(" + ",".join(fmt(x) for x in v) + ")"
        return str(v)

    return " ".join(f"{k}={fmt(v)}" for k, v in settings.items())


def progress_line(label: str, number: int, result: Mapping[str, Any], record: Mapping[str, Any], params: Mapping[str, Any], target: int) -> str:
    """``idkg trial 3 (4/30): cv macro-F1 0.3412 (best 0.3501, trial 1); lr=0.0012 ...; 21 s``."""
    done = f"{record['trials']['finished']}/{target}"
    if "error" in result:
        return f"{label} trial {number} ({done}): failed: {result['error']}; {_short(params)}"
    best = record["best"]
    value = sum(result["scores"].pooled) / len(result["scores"].pooled)
    return (f"{label} trial {number} ({done}): cv macro-F1 {value:.4f} (best {best['value']:.4f}, trial {best['number']}); "
            f"{_short(params)}; {result['seconds']:.0f} s")  # fmt: skip


def summary(records: list[dict]) -> str:
    """The table a tuning command ends with: per model the default and best CV macro-F1 and their paired difference."""
    head = ["model", "trials", "default", "best", "best - default [95% CI]", "study"]
    rows = []
    for r in records:
        d, b, c = r["default"], r["best"], r["best_vs_default"]
        diff = "—" if c is None else f"{c['paired']['estimate']:+.4f} [{c['paired']['low']:+.4f}, {c['paired']['high']:+.4f}]"
        rows.append([r["model"], f"{r['trials']['finished']}/{r['budget']['trials']}", "—" if d is None else f"{d['value']:.4f}",
                     "—" if b is None else f"{b['value']:.4f} (#{b['number']})", diff, r["study"]])  # fmt: skip
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(head)]
    lines = ["cross-validated macro-F1 on train + dev (mean over seeds; the interval: macro-F1 over the genres present, seeds pooled, "
             "paired bootstrap over movies; optimistic, the best was chosen on the same folds)"]  # fmt: skip
    lines += ["  ".join(h.ljust(w) for h, w in zip(head, widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """``benchmarks.run``'s model, data, encoder, KG, training, device and cache flags, and the study's own."""
    from benchmarks.executors import EXECUTORS
    from benchmarks.run import RUN_ONLY_DEFAULTS, add_shared_arguments

    p = argparse.ArgumentParser(
        prog="python -m benchmarks.tune",
        description="Tune every model with one budget: an Optuna study per model whose objective is the cross-validated "
                    "macro-F1 on train + dev (test never read); the default is always the first trial.",
    )  # fmt: skip
    add_shared_arguments(p)
    p.add_argument("--trials", type=int, default=DEFAULT_TRIALS, metavar="N",
                   help=f"trials per model, the default first; a space with fewer settings is enumerated once (default {DEFAULT_TRIALS})")  # fmt: skip
    p.add_argument("--folds", type=int, default=DEFAULT_FOLDS, help=f"K folds over train + dev (default {DEFAULT_FOLDS})")
    p.add_argument("--fold-seed", type=int, default=0, metavar="N", help="seed of the fold draw (default 0), as benchmarks.cv")
    p.add_argument("--sampler-seed", type=int, default=0, metavar="N", help="seed of the TPE sampler (default 0)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"folder of the studies, one subfolder each (default ./{DEFAULT_OUT})")
    p.add_argument("--storage", default=None, metavar="URL",
                   help="an Optuna storage URL (e.g. a database for a study spread over machines); default: a journal file per study under --out")  # fmt: skip
    p.add_argument("--space", action="append", default=[], metavar="MODEL=SOURCE",
                   help="a model's search space of one's own: a .json file or package.module:attr (see benchmarks/spaces.py)")  # fmt: skip
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="trials at once, each with threads / N torch threads (default 1)")
    p.add_argument("--executor", default=None, choices=EXECUTORS.names(),
                   help="where trials run: serial, process (--jobs worker processes) or ray (default: serial for one at a time, process for more)")  # fmt: skip
    p.add_argument("--address", default=None, help="Ray cluster address for --executor ray (default: a local Ray instance)")
    p.set_defaults(**{k: v for k, v in RUN_ONLY_DEFAULTS.items() if k not in ("jobs", "executor", "address")})
    return p


def parse_spaces(items: list[str]) -> dict[str, Any]:
    """``--space MODEL=SOURCE`` items -> model -> space."""
    from benchmarks.spaces import load_space

    out = {}
    for item in items:
        model, sep, source = item.partition("=")
        if not sep or not model or not source:
            raise ValueError(f"--space expects MODEL=FILE.json or MODEL=package.module:attr, got {item!r}")
        out[model] = load_space(source)
    return out


def main(argv: list[str] | None = None) -> int:
    from benchmarks.run import cli_errors, encoder_hint, spec_from_args

    args = build_parser().parse_args(argv)
    with cli_errors(getattr(args, "debug", False), {"--out": args.out, "--cache-dir": args.cache_dir},
                    kept="finished trials are kept; the same command resumes the studies") as status:  # fmt: skip
        spec, options = spec_from_args(args)
        settings = TuneSpec(trials=args.trials, folds=args.folds, fold_seed=args.fold_seed, sampler_seed=args.sampler_seed,
                            storage=args.storage, spaces=parse_spaces(args.space))  # fmt: skip
        start = time.perf_counter()
        with encoder_hint(spec.encoder.name is None):
            tune(spec, options, settings)
        print(f"done in {time.perf_counter() - start:.1f} s; studies in {options.out}/ "
              f"(run their best settings on test: python -m benchmarks.run --from-study {options.out})")  # fmt: skip
        return 0
    return status.code


if __name__ == "__main__":
    raise SystemExit(main())
