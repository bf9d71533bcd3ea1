"""A tuning study on disk: its storage, the recovery of trials a killed process left, and its records.

A study of ``benchmarks.tune`` lives in ``<out>/<study>/``: by default in the Optuna journal file
``journal.log`` there (``--storage URL``: any Optuna storage instead), so a study killed at any
moment resumes from its finished trials, and several processes can work on one study. Beside it,
rewritten (atomically) after every trial, what the study found, laid out as PyKEEN's
``hpo_pipeline`` lays out its own (a study file, a table of trials, the best settings):

- ``study.json``: the model, its resolved default spec, the space, the sampler and its seed, the
  budget (trials x folds x seeds), the default's and the best trial's CV macro-F1, the paired
  difference best - default with its 95% bootstrap interval over the pooled train + dev movies
  (:func:`mmimdb2.bootstrap.paired_bootstrap`), and the study's ``digest``;
- ``trials.csv``: every trial, its state, settings, CV macro-F1 per seed and seconds;
- ``best.json``: the best settings and what ``benchmarks.run --from-study`` needs to run them.

A trial left RUNNING by a process that died (its process is gone from this host, or, from another
host, its heartbeat is older than :data:`STALE_S`) is marked failed and its settings are asked
again once (:func:`recover_stale`).
"""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: Bump when what a study records or how its name is keyed changes.
STUDY_FORMAT = 1
#: Seconds between a running trial's heartbeats.
HEARTBEAT_S = 30.0
#: A running trial of another host whose last heartbeat is older than this is taken for dead.
STALE_S = 10 * HEARTBEAT_S
JOURNAL = "journal.log"
RECORD, TRIALS, BEST = "study.json", "trials.csv", "best.json"
#: What a trial's CV figure is (the objective), in the words the records use.
OBJECTIVE = ("macro-F1 over all 23 genres of each seed's pooled cross-validated predictions on train + dev "
             "(benchmarks.cv), mean over seeds; test not used")  # fmt: skip


def storage(folder: Path, url: str | None = None):
    """The study's storage: ``url`` (any Optuna storage URL) or the journal file in ``folder``."""
    if url:
        return url
    import optuna.storages.journal as journal
    from optuna.storages import JournalStorage

    folder.mkdir(parents=True, exist_ok=True)
    return JournalStorage(journal.JournalFileBackend(str(folder / JOURNAL)))


def _start_time(pid: int) -> str | None:
    """When process ``pid`` started (``/proc/<pid>/stat`` field 22), to tell it from a reused pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def owner() -> dict[str, Any]:
    """This process, as a running trial records its owner."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "start": _start_time(os.getpid())}


def _alive(who: Mapping[str, Any]) -> bool | None:
    """Whether the owner process still runs; None when it ran on another host (unknown here)."""
    if who.get("host") != socket.gethostname():
        return None
    pid = int(who.get("pid", -1))
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    except OSError:
        return False
    return who.get("start") is None or _start_time(pid) == who.get("start")


def is_stale(trial, now: float | None = None) -> bool:
    """Whether a RUNNING trial's process is gone: dead on this host, or silent beyond :data:`STALE_S`."""
    who = trial.user_attrs.get("owner")
    alive = _alive(who) if who else None
    if alive is not None:
        return not alive
    beat = trial.user_attrs.get("heartbeat")
    if beat is None:
        start = trial.datetime_start
        beat = start.timestamp() if start is not None else 0.0
    return (now if now is not None else time.time()) - float(beat) > STALE_S


def recover_stale(study, mine: Iterable[int] = ()) -> list[str]:
    """Mark each RUNNING trial whose process is gone (not one of ``mine``) failed, and ask its
    settings again once (a retry of a retry is not retried). Returns a line per trial recovered."""
    from optuna.trial import TrialState

    lines, mine = [], set(mine)
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if t.number in mine or not is_stale(t):
            continue
        try:
            study.tell(t.number, state=TrialState.FAIL)
        except (ValueError, RuntimeError):  # another process recovered it first
            continue
        if "retry_of" in t.user_attrs:
            lines.append(f"trial {t.number} (a retry of trial {t.user_attrs['retry_of']}) was left running by a process that died: failed, not retried again")
            continue
        attrs = {"retry_of": t.number, **({"role": t.user_attrs["role"]} if "role" in t.user_attrs else {})}
        study.enqueue_trial(dict(t.params), user_attrs=attrs)
        lines.append(f"trial {t.number} was left running by a process that died: failed, its settings asked again")
    return lines


class Heartbeat:
    """A thread that stamps ``heartbeat`` on this process's running trials every ``interval`` s."""

    def __init__(self, interval: float = HEARTBEAT_S) -> None:
        self.interval, self.trials = interval, {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="study-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def add(self, trial) -> None:
        trial.set_user_attr("heartbeat", time.time())
        with self._lock:
            self.trials[trial.number] = trial

    def remove(self, number: int) -> None:
        with self._lock:
            self.trials.pop(number, None)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                running = list(self.trials.values())
            for trial in running:
                try:
                    trial.set_user_attr("heartbeat", time.time())
                except (ValueError, RuntimeError):  # finished meanwhile
                    pass


# -- counting -------------------------------------------------------------------------------------
def finished(trials: Sequence) -> list:
    """The trials that spend the budget: complete (a copied repeat excepted), failed by an error, or
    killed and not retried (a surplus trial, set aside unrun, spends none)."""
    from optuna.trial import TrialState

    retried = {t.user_attrs.get("retry_of") for t in trials if "retry_of" in t.user_attrs}
    return [t for t in trials if (t.state == TrialState.COMPLETE and "duplicate_of" not in t.user_attrs)
            or (t.state == TrialState.FAIL and "surplus" not in t.user_attrs and ("error" in t.user_attrs or t.number not in retried))]  # fmt: skip


# -- records --------------------------------------------------------------------------------------
def _labels_and_decisions(trial) -> tuple[np.ndarray, np.ndarray]:
    from mmimdb2.genres import GENRES
    from mmimdb2.packing import unpack_bits

    n = int(trial.user_attrs["cv_movies"])
    labels = unpack_bits(trial.user_attrs["cv_labels"], n, len(GENRES))
    return labels, np.stack([unpack_bits(p, n, len(GENRES)) for p in trial.user_attrs["cv_decisions"]])


def _best(complete: Sequence):
    """Highest CV macro-F1; on a tie the default, then the earliest trial."""
    return max(complete, key=lambda t: (t.value, t.user_attrs.get("role") == "default", -t.number)) if complete else None


def _settings(trial, space) -> dict[str, Any]:
    from benchmarks.spaces import decode

    return {name: decode(space[name], trial.params[name]) for name in space if name in trial.params}


def comparison(best, default) -> dict[str, Any] | None:
    """Best minus default on CV: the objective's difference, and the paired bootstrap difference of
    the macro-F1 over the genres present of all seeds' pooled predictions, with its 95% interval."""
    from mmimdb2.bootstrap import CONFIDENCE, RESAMPLES, paired_bootstrap

    if best is None or default is None:
        return None
    labels, ours = _labels_and_decisions(best)
    labels_d, theirs = _labels_and_decisions(default)
    if not np.array_equal(labels, labels_d):
        raise ValueError(f"trials {best.number} and {default.number} were scored on other movies: the study's folds changed")
    d = paired_bootstrap(labels, ours, theirs)
    return {
        "objective": best.value - default.value,
        "paired": {"estimate": d.estimate, "low": d.low, "high": d.high, "mean": d.mean, "tied": d.tied, "confidence": CONFIDENCE,
                   "resamples": RESAMPLES, "movies": int(len(labels))},
        "statistic": "best minus default: macro-F1 over the genres present of all seeds' pooled CV predictions, "
                     "paired 95% percentile bootstrap over the pooled train + dev movies (mmimdb2.bootstrap.paired_bootstrap)",
        "note": "the best trial was chosen on these same folds, so this difference is optimistic",
    }  # fmt: skip


def study_record(study, meta: Mapping[str, Any]) -> dict[str, Any]:
    """What the study holds now, JSON-ready: ``meta`` (identity, space, sampler, budget asked),
    the trials' counts, the default and the best, their comparison and the study's digest."""
    from optuna.trial import TrialState

    from leaderboard.provenance import code_version, utc_now
    from mmimdb2.io import digest

    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE and "duplicate_of" not in t.user_attrs]
    default = next((t for t in complete if t.user_attrs.get("role") == "default"), None)
    best = _best(complete)
    space = meta["space_domains"]
    summary = [[t.number, t.state.name, t.params, t.value] for t in sorted(trials, key=lambda t: t.number)]
    body = {k: v for k, v in meta.items() if k != "space_domains"}
    body |= {
        "format": STUDY_FORMAT, "study": study.study_name, "objective": OBJECTIVE, "direction": "maximize",
        "trials": {"finished": len(finished(trials)), "complete": len(complete),
                   "failed": sum(t.state == TrialState.FAIL for t in trials),
                   "repeated": sum("duplicate_of" in t.user_attrs for t in trials), "total": len(trials)},
        "default": None if default is None else {"number": default.number, "value": default.value, "settings": _settings(default, space)},
        "best": None if best is None else {"number": best.number, "value": best.value, "settings": _settings(best, space)},
        "best_vs_default": comparison(best, default),
        "test_used": False,
    }  # fmt: skip
    body["digest"] = digest({"record": body, "trials": summary})
    return body | {"code_version": code_version(), "created": utc_now()}


def trials_csv(study, space) -> str:
    """One row per trial: number, state, CV macro-F1 (mean and per seed), seconds, role, retry_of,
    each setting (JSON text for lists and strings' own text), and the error of a failed one."""
    from benchmarks.spaces import decode

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    names = list(space)
    w.writerow(["number", "state", "cv_macro_f1", "per_seed", "seconds", "role", "retry_of", "duplicate_of", *names, "error"])
    for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        values = []
        for n in names:
            v = decode(space[n], t.params[n]) if n in t.params else ""
            values.append(json.dumps(list(v) if isinstance(v, tuple) else v) if isinstance(v, (tuple, list, bool)) or v is None else v)
        per_seed = ";".join(f"{v:.6f}" for v in t.user_attrs.get("per_seed", []))
        seconds = t.user_attrs.get("seconds")
        w.writerow([t.number, t.state.name, "" if t.value is None else f"{t.value:.6f}", per_seed,
                    "" if seconds is None else f"{seconds:.1f}", t.user_attrs.get("role", ""), t.user_attrs.get("retry_of", ""),
                    t.user_attrs.get("duplicate_of", ""), *values, t.user_attrs.get("error", "")])  # fmt: skip
    return buf.getvalue()


def write_records(folder: Path, study, meta: Mapping[str, Any]) -> dict[str, Any]:
    """``study.json``, ``trials.csv`` and (once a trial is complete) ``best.json`` in ``folder``, each atomically."""
    from mmimdb2.io import atomic_write_json, atomic_write_text

    record = study_record(study, meta)
    atomic_write_text(folder / TRIALS, trials_csv(study, meta["space_domains"]))
    if record["best"] is not None:
        best = {
            "study": record["study"], "digest": record["digest"], "model": record["model"], "number": record["best"]["number"],
            "cv_macro_f1": record["best"]["value"], "settings": record["best"]["settings"], "base": record["base"],
            "tuning": tuning_field(record),
        }  # fmt: skip
        atomic_write_json(folder / BEST, best)
    atomic_write_json(folder / RECORD, record)
    return record


def tuning_field(record: Mapping[str, Any]) -> dict[str, Any]:
    """What a run of the study's best settings records as its spec's ``tuning``."""
    from leaderboard.table_model import budget_text

    budget = {**record["budget"], "trials": record["trials"]["finished"]}
    return {"tool": "optuna", "study": record["study"], "digest": record["digest"], "sampler": record["sampler"]["name"],
            "sampler_seed": record["sampler"].get("seed"), "budget": budget, "text": f"Optuna, {budget_text(budget)}",
            "best_trial": record["best"]["number"], "cv_macro_f1": record["best"]["value"]}  # fmt: skip


# -- reading studies back -------------------------------------------------------------------------
def study_folders(paths: Sequence[str | Path]) -> list[Path]:
    """The study folders ``paths`` name: a study folder itself (it holds ``best.json``), or a
    ``benchmarks.tune --out`` folder (every study in it); one line when one holds none."""
    out: list[Path] = []
    for p in map(Path, paths):
        if (p / BEST).is_file():
            out.append(p)
            continue
        found = sorted(q.parent for q in p.glob(f"*/{BEST}")) if p.is_dir() else []
        if not found:
            why = "does not exist" if not p.exists() else "holds no finished study (no best.json in it or its subfolders)"
            raise ValueError(f"--from-study {p} {why}; give a benchmarks.tune --out folder or one study folder in it")
        out += found
    return out


def read_best(folder: Path) -> dict[str, Any]:
    """A study's ``best.json``, checked to hold what a run needs; one line otherwise."""
    from mmimdb2.io import BadJSON, read_json

    path = folder / BEST
    try:
        best = read_json(path)
    except (OSError, BadJSON) as e:
        raise ValueError(f"{path}: cannot read it ({e})") from None
    missing = [k for k in ("study", "digest", "model", "settings", "base", "tuning") if not isinstance(best, dict) or k not in best]
    if missing:
        raise ValueError(f"{path}: not a study's best settings (missing {', '.join(missing)})")
    return best


def run_spec(best: Mapping[str, Any], seeds: Sequence[int]):
    """The :class:`benchmarks.spec.RunSpec` that runs a study's best settings on test with ``seeds``."""
    from benchmarks.spaces import split_settings, tuples
    from benchmarks.spec import DataSpec, EncoderSpec, RunSpec

    base = best["base"]
    s = split_settings(tuples(best["settings"]), base["spec"]["config"], base["spec"]["train"])
    return RunSpec(
        models=(best["model"],), seeds=tuple(seeds), data=DataSpec(**base["data"]), encoder=EncoderSpec(base["encoder"]),
        recipe=base["recipe"], train={**base["train"], **s.train}, kg={**base["kg"], **s.kg},
        overrides={**tuples(base["overrides"]), **s.model}, tuning=best["tuning"],
    )  # fmt: skip


def study_specs(paths: Sequence[str | Path], *, seeds: Sequence[int], data_root: Path | None = None) -> list:
    """The run specs of the studies ``paths`` name (:func:`study_folders`), each checked to find
    the data its study was made on (the dataset's content fingerprint); one line otherwise."""
    import mmimdb2

    specs, fingerprints = [], {}
    for folder in study_folders(paths):
        best = read_best(folder)
        spec = run_spec(best, seeds)
        where = (spec.data.dataset, spec.data.split)
        if where not in fingerprints:
            fingerprints[where] = mmimdb2.load(spec.data.dataset, spec.data.split, data_root=data_root, progress=False).fingerprint
        if fingerprints[where] != best["base"].get("fingerprint"):
            raise ValueError(f"{folder}: the dataset {spec.data.dataset!r} (split {spec.data.split}) found here is not the one the study "
                             "was made on (its content fingerprint differs)")  # fmt: skip
        specs.append(spec)
    return specs
