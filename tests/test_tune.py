"""``benchmarks.tune``: one budget per model, the default first, test never reached; studies resume
after kill -9 and share one storage between processes; ``benchmarks.run --from-study``."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.spec import DataSpec, EncoderSpec, RunOptions, RunSpec
from benchmarks.tune import TuneSpec, tune

ROOT = Path(__file__).resolve().parents[1]
FAST_KG = {"epochs": 1, "dim": 16}
LATE_SPACE = {"lr": {"log": [1e-4, 1e-2]}, "weight_decay": {"log": [0.01, 100.0]}}


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory) -> Path:
    from mmimdb2.demo import generate

    return generate(tmp_path_factory.mktemp("demo") / "demo", n_movies=120, seed=1)


def _spec(demo: Path, *models: str) -> RunSpec:
    return RunSpec(models=models, data=DataSpec(str(demo)), encoder=EncoderSpec("weightfree"), kg=FAST_KG, train={"epochs": 2})


SETTINGS = TuneSpec(trials=3, folds=2, spaces={"late-fusion": LATE_SPACE})


@pytest.fixture(scope="module")
def tuned(small_demo, tmp_path_factory):
    """Two studies run once, with spies on what the objective's data hold."""
    import benchmarks.cv as cv

    out = tmp_path_factory.mktemp("studies")
    seen = {"fold_ids": [], "pool": [], "calls": 0}
    real_cv, real_prepare = cv.cross_validate, cv.prepare_folds

    def prepare(dataset, **kw):
        seen["pool"].append((set(dataset.movies), set(dataset.split.all_ids)))
        return real_prepare(dataset, **kw)

    def cross_validate(cs, folds, seeds, **kw):
        seen["calls"] += 1
        seen["fold_ids"].append({i for f in folds for i in f.ids})
        return real_cv(cs, folds, seeds, **kw)

    mp = pytest.MonkeyPatch()
    mp.setattr(cv, "prepare_folds", prepare)
    mp.setattr(cv, "cross_validate", cross_validate)
    try:
        records = tune(_spec(small_demo, "people-vote", "late-fusion"), RunOptions(out=out, progress=False, threads=1), SETTINGS)
    finally:
        mp.undo()
    return out, records, seen, (real_cv, real_prepare)


def test_the_test_part_never_reaches_the_objective(tuned, small_demo):
    import mmimdb2

    _, _, seen, _ = tuned
    test = set(mmimdb2.load(small_demo).split["test"])
    assert test and seen["pool"] and seen["fold_ids"]
    assert all(not (movies & test) and not (ids & test) for movies, ids in seen["pool"])  # dropped before any feature or KG
    assert all(not (ids & test) for ids in seen["fold_ids"])
    assert len(seen["pool"]) == 1  # the fold inputs were prepared once, for both studies and all their trials


def test_every_model_gets_the_budget_the_default_first_and_never_a_worse_best(tuned):
    out, (vote, late), seen, _ = tuned
    assert seen["calls"] == 2 + 3  # people-vote's space (2 settings) enumerated once; late fusion 3 trials
    assert vote["sampler"]["name"] == "grid" and vote["trials"]["finished"] == 2 and vote["budget"]["trials"] == 2
    assert late["sampler"] == {"name": "TPESampler", "seed": 0, "multivariate": True, "constant_liar": True, "n_startup_trials": 1,
                               "per_trial_seed": "numpy SeedSequence([seed, trial number])"}  # fmt: skip
    assert late["trials"]["finished"] == 3 and late["budget"]["seeds"] == [0] and late["budget"]["folds"] == 2
    for r in (vote, late):
        assert r["default"]["number"] == 0 and r["best"]["value"] >= r["default"]["value"] and r["test_used"] is False
    assert late["default"]["settings"] == {"lr": 1e-3, "weight_decay": 10.0}  # late fusion's own default, under the tuned recipe
    rows = list(csv.DictReader((out / late["study"] / "trials.csv").open()))
    assert [r["number"] for r in rows] == ["0", "1", "2"] and rows[0]["role"] == "default" and float(rows[0]["weight_decay"]) == 10.0
    assert all(r["state"] == "COMPLETE" and float(r["cv_macro_f1"]) > 0 for r in rows)
    assert max(float(r["cv_macro_f1"]) for r in rows) == pytest.approx(late["best"]["value"], abs=1e-6)


def test_a_study_records_space_sampler_budget_best_and_the_paired_difference(tuned):
    from benchmarks.study import _labels_and_decisions
    from mmimdb2.bootstrap import paired_bootstrap

    out, (_, late), _, _ = tuned
    folder = out / late["study"]
    study = json.loads((folder / "study.json").read_text())
    best = json.loads((folder / "best.json").read_text())
    assert study["space"] == LATE_SPACE and study["digest"] == best["digest"] == late["digest"]
    assert best["settings"] == study["best"]["settings"] and best["tuning"]["text"] == "Optuna, 3 trials x 2-fold CV x 1 seed"
    c = study["best_vs_default"]
    assert c["objective"] == pytest.approx(study["best"]["value"] - study["default"]["value"])
    import optuna

    trials = {t.number: t for t in optuna.load_study(study_name=late["study"], storage=_journal(folder)).trials}
    labels, ours = _labels_and_decisions(trials[study["best"]["number"]])
    d = paired_bootstrap(labels, ours, _labels_and_decisions(trials[0])[1])  # the project's paired bootstrap, not another
    assert (c["paired"]["estimate"], c["paired"]["low"], c["paired"]["high"]) == (d.estimate, d.low, d.high)
    assert c["paired"]["movies"] == len(labels) == study["data"]["train_dev_movies"] == 84  # train + dev of the 120-movie demo


def _journal(folder: Path):
    from benchmarks.study import storage

    return storage(folder)


def test_a_rerun_resumes_without_repeating_a_finished_trial_and_more_trials_extend_it(tuned, small_demo, monkeypatch):
    import benchmarks.cv as cv

    out, (vote, late), _, (real_cv, _) = tuned
    calls = []
    monkeypatch.setattr(cv, "cross_validate", lambda *a, **k: calls.append(1) or real_cv(*a, **k))
    again = tune(_spec(small_demo, "people-vote", "late-fusion"), RunOptions(out=out, progress=False, threads=1), SETTINGS)
    assert calls == [] and [r["digest"] for r in again] == [vote["digest"], late["digest"]]
    more = tune(_spec(small_demo, "late-fusion"), RunOptions(out=out, progress=False, threads=1), TuneSpec(trials=4, folds=2, spaces=SETTINGS.spaces))
    assert len(calls) == 1 and more[0]["study"] == late["study"] and more[0]["trials"]["finished"] == 4


def test_a_failing_trial_is_recorded_and_the_study_goes_on(small_demo, tmp_path, monkeypatch):
    import benchmarks.cv as cv

    real = cv.cross_validate
    calls = []

    def second_fails(cs, folds, seeds, **kw):
        calls.append(cs.train["threshold"])
        if len(calls) == 2:
            raise RuntimeError("loss is NaN\nsecond line")
        return real(cs, folds, seeds, **kw)

    monkeypatch.setattr(cv, "cross_validate", second_fails)
    (r,) = tune(_spec(small_demo, "people-vote"), RunOptions(out=tmp_path, progress=False, threads=1), TuneSpec(trials=3, folds=2))
    assert calls == ["global", "per-genre"] and r["trials"] | {"finished": 2, "complete": 1, "failed": 1} == r["trials"]
    rows = list(csv.DictReader((tmp_path / r["study"] / "trials.csv").open()))
    assert rows[1]["state"] == "FAIL" and rows[1]["error"] == "RuntimeError: loss is NaN" and r["best"]["number"] == 0


def test_run_from_study_runs_the_best_settings_and_records_the_study(tuned, tmp_path, capsys):
    from benchmarks import run
    from benchmarks.spaces import tuples
    from benchmarks.tune import trial_spec

    out, records, _, _ = tuned
    assert run.main(["--from-study", str(out), "--out", str(tmp_path), "--seeds", "0", "1", "--no-progress", "--threads", "1"]) == 0
    made = {json.loads(p.read_text())["model"]["name"]: json.loads(p.read_text()) for p in (tmp_path / "results").glob("*.json")}
    assert set(made) == {"people-vote", "late-fusion"}
    for r in records:
        best = json.loads((out / r["study"] / "best.json").read_text())
        record = made[r["model"]]
        assert record["seeds"] == [0, 1] and record["spec"]["tuning"] == best["tuning"]
        study = json.loads((out / r["study"] / "study.json").read_text())  # (another test may have extended it)
        assert best["tuning"]["digest"] == study["digest"] and best["tuning"]["budget"]["folds"] == 2
        spec = RunSpec(models=(r["model"],), data=DataSpec(best["base"]["data"]["dataset"]), encoder=EncoderSpec("weightfree"),
                       kg=FAST_KG, train={"epochs": 2})  # fmt: skip
        trial = trial_spec(spec, spec.variants()[0], tuples(best["settings"])).to_dict()
        assert {k: v for k, v in record["spec"].items() if k != "tuning"} == trial  # the very cell the study scored
    # rows of studies with one budget are ranked as one list; another budget is another list
    from leaderboard.table_model import group_key, tuning_text

    late, vote = made["late-fusion"], made["people-vote"]
    # people-vote's whole space (2 settings) is enumerated in fewer trials than asked: the same chance
    allowed = [{k: v for k, v in r["spec"]["tuning"]["budget"].items() if k != "trials"} for r in (late, vote)]
    assert vote["spec"]["tuning"]["budget"]["trials"] == 2 < vote["spec"]["tuning"]["budget"]["trials_asked"]
    assert (group_key(late) == group_key(vote)) == (allowed[0] == allowed[1]) and group_key(late)[-1].startswith("study:")
    assert tuning_text(vote) == "Optuna, 2 trials x 2-fold CV x 1 seed"
    other = {**late, "spec": {**late["spec"], "tuning": {**late["spec"]["tuning"], "digest": "0" * 64, "study": "another"}}}
    assert group_key(other) == group_key(late)  # the study's own digest does not split the list
    # a study's row and the recipe's row of the same settings are two files, each in its own list
    from leaderboard.results import result_filename

    by_recipe = {**vote, "spec": {k: v for k, v in vote["spec"].items() if k != "tuning"}}
    assert result_filename(by_recipe) != result_filename(vote) and group_key(by_recipe) != group_key(vote)
    capsys.readouterr()
    assert run.main(["--from-study", str(out), "--models", "idkg", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == "error: --from-study takes the models, data and settings from the study: leave out --models"
    assert run.main(["--from-study", str(tmp_path / "none"), "--out", str(tmp_path)]) == 2
    assert "does not exist; give a benchmarks.tune --out folder" in capsys.readouterr().err


def test_a_copied_repeat_spends_no_budget():
    import optuna

    from benchmarks.study import finished
    from benchmarks.tune import _copied_duplicate

    study = optuna.create_study(direction="maximize")
    first = study.ask()
    first.suggest_float("lr", 1e-4, 1e-2, log=True)
    for key, value in {"per_seed": [0.3], "per_fold": [[0.3]], "cv_movies": 1, "cv_labels": "", "cv_decisions": []}.items():
        first.set_user_attr(key, value)
    study.tell(first, 0.3)
    study.enqueue_trial({"lr": first.params["lr"]})
    again = study.ask()
    again.suggest_float("lr", 1e-4, 1e-2, log=True)
    assert _copied_duplicate(study, again)
    assert study.trials[1].value == 0.3 and study.trials[1].user_attrs["duplicate_of"] == 0 and len(finished(study.trials)) == 1


def _cmd(demo: Path, out: Path, space: Path) -> list[str]:
    return [sys.executable, "-m", "benchmarks.tune", "--dataset", str(demo), "--models", "late-fusion", "--trials", "4", "--folds", "2",
            "--epochs", "2", "--kg-epochs", "1", "--kg-dim", "16", "--encoder", "weightfree", "--no-progress", "--threads", "1",
            "--out", str(out), "--space", f"late-fusion={space}"]  # fmt: skip


def test_a_study_killed_with_sigkill_resumes_in_two_processes_without_repeating_a_trial(small_demo, tmp_path):
    """A real process killed mid-trial; two processes then share the study: the finished trial is
    kept, the killed one's settings run once more, and the budget is spent exactly."""
    import optuna
    from optuna.trial import TrialState

    space = tmp_path / "space.json"
    space.write_text(json.dumps(LATE_SPACE))
    out, env = tmp_path / "out", {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.Popen(_cmd(small_demo, out, space), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    killed, deadline = None, time.monotonic() + 240
    while killed is None and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.2)
        journals = list(out.glob("*/journal.log"))
        if not journals:
            continue
        trials = optuna.load_study(study_name=journals[0].parent.name, storage=_journal(journals[0].parent)).trials
        running = [t for t in trials if t.state == TrialState.RUNNING and t.number >= 1]
        if running and any(t.state == TrialState.COMPLETE for t in trials):
            first.send_signal(signal.SIGKILL)
            killed = (running[0].number, {t.number: t.value for t in trials if t.state == TrialState.COMPLETE})
    first.wait(timeout=30)
    assert killed is not None, first.stderr.read().decode()[-2000:]
    number, done = killed
    both = [subprocess.Popen(_cmd(small_demo, out, space), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    logs = [p.communicate(timeout=400)[1].decode() for p in both]
    assert [p.returncode for p in both] == [0, 0], logs
    folder = journals[0].parent
    trials = optuna.load_study(study_name=folder.name, storage=_journal(folder)).trials
    by = {t.number: t for t in trials}
    assert all(by[n].state == TrialState.COMPLETE and by[n].value == v for n, v in done.items())  # kept, not rerun
    assert by[number].state == TrialState.FAIL
    (retry,) = [t for t in trials if t.user_attrs.get("retry_of") == number]
    assert retry.state == TrialState.COMPLETE and retry.params == by[number].params
    ran = [line.split()[2] for log in logs for line in log.splitlines() if line.startswith("late-fusion trial ")]
    assert sorted(ran) == sorted(set(ran)) and not set(map(int, ran)) & set(done)  # each trial run by one process, none again
    record = json.loads((folder / "study.json").read_text())
    assert record["trials"]["finished"] == 4 and record["trials"]["complete"] == 4
    assert sum("left running by a process that died" in log for log in logs) == 1


def test_the_tuning_field_is_carried_verbatim_keys_the_cache_and_is_absent_when_untuned():
    from dataclasses import replace

    from mmimdb2.io import digest

    plain = RunSpec(models=("idkg",))
    tuned = replace(plain, tuning={"study": "s", "digest": "d", "budget": {"trials": 30}})
    a, b = (s.cell_spec(s.variants()[0]).to_dict() for s in (plain, tuned))
    assert "tuning" not in a  # an untuned cell keeps the spec, and so the cache key, it had before the field
    assert b["tuning"] == {"study": "s", "digest": "d", "budget": {"trials": 30}} and {k: v for k, v in b.items() if k != "tuning"} == a
    assert digest(a) != digest(b)


def test_a_kg_setting_in_the_space_gets_its_own_fold_inputs(small_demo, tmp_path, monkeypatch):
    import benchmarks.cv as cv

    kgs = []
    real = cv.prepare_folds
    monkeypatch.setattr(cv, "prepare_folds", lambda dataset, **kw: kgs.append(kw["kg"].embedding.dim) or real(dataset, **kw))
    settings = TuneSpec(trials=2, folds=2, spaces={"people-vote": {"kg_dim": {"choice": [8, 16]}}})
    (r,) = tune(_spec(small_demo, "people-vote"), RunOptions(out=tmp_path, progress=False, threads=1), settings)
    assert kgs == [16, 8] and r["trials"]["finished"] == 2 and r["default"]["settings"] == {"kg_dim": 16}


def test_trials_run_in_parallel_worker_processes_give_the_serial_results(tuned, small_demo, tmp_path):
    out, (vote, _), _, _ = tuned
    (par,) = tune(_spec(small_demo, "people-vote"), RunOptions(out=tmp_path, progress=False, threads=2, jobs=2), TuneSpec(trials=3, folds=2))
    assert par["study"] == vote["study"] and par["trials"]["finished"] == 2
    assert [par["default"]["value"], par["best"]["value"]] == [vote["default"]["value"], vote["best"]["value"]]


def test_a_storage_url_holds_the_study_instead_of_the_journal_file(small_demo, tmp_path):
    import optuna

    url = f"sqlite:///{tmp_path / 'studies.db'}"
    (r,) = tune(_spec(small_demo, "people-vote"), RunOptions(out=tmp_path / "out", progress=False, threads=1),
                TuneSpec(trials=3, folds=2, storage=url))  # fmt: skip
    assert not list((tmp_path / "out").glob("*/journal.log")) and (tmp_path / "out" / r["study"] / "best.json").is_file()
    assert [t.state.name for t in optuna.load_study(study_name=r["study"], storage=url).trials] == ["COMPLETE", "COMPLETE"]
