"""Diagnostics attached to leaderboard rows: ``--attach`` puts a model's EMAP and robustness curves
into the row it diagnosed, only when its refit reproduces the row's stored predictions, without
losing another diagnostic's block, and the leaderboard is re-rendered."""

from __future__ import annotations

import json
import shutil
import threading
import time

import numpy as np
import pytest

from leaderboard.splits import add_split

FLAGS = ["--epochs", "2", "--kg-epochs", "1", "--kg-dim", "16", "--encoder", "weightfree", "--no-progress", "--threads", "1"]


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    """A 160-movie demo dataset named ``attachdemo`` and a private leaderboard holding its
    probe-all and concat rows (seeds 0 1), made by ``benchmarks.run``."""
    from benchmarks import run
    from mmimdb2 import load
    from mmimdb2.demo.writer import generate

    root = tmp_path_factory.mktemp("attach")
    folder = generate(root / "attachdemo", n_movies=160, seed=1)
    meta = json.loads((folder / "DATASET.json").read_text())
    (folder / "DATASET.json").write_text(json.dumps({**meta, "name": "attachdemo"}))
    lb = root / "lb"
    (lb / "submissions").mkdir(parents=True)
    ds = load(folder, progress=False)
    add_split(ds.name, ds.split.name, ds.split.sha256, lb)
    common = ["--dataset", str(folder), *FLAGS, "--cache-dir", str(root / "cache"), "--seeds", "0", "1"]
    assert run.main(["--models", "probe-all", "concat", *common, "--out", str(root / "runs")]) == 0
    for p in (root / "runs" / "results").glob("*.json"):
        shutil.copy(p, lb / "submissions" / p.name)
    return folder, lb, common


def _rows(lb):
    return {json.loads(p.read_text())["model"]["name"]: p for p in (lb / "submissions").glob("*.json")}


def test_emap_and_robustness_attach_to_their_rows_and_reach_the_leaderboard(board, tmp_path, capsys):
    from benchmarks import diagnose, robustness
    from leaderboard.record import ResultRecord

    folder, lb0, common = board
    lb = tmp_path / "lb"
    shutil.copytree(lb0, lb)
    attach = ["--attach", "--leaderboard", str(lb), "--out", str(tmp_path / "out")]
    assert diagnose.main(["emap", "--models", "probe-all", "concat", *common, *attach, "--exact-max", "0", "--partners", "8"]) == 0
    assert "emap attached to 2 leaderboard row(s)" in capsys.readouterr().err
    before = {m: p.read_text() for m, p in _rows(lb).items()}
    assert robustness.main(["--models", "probe-all", *common, *attach, "--sweep", "plot", "--levels", "0", "1", "--reference", "concat"]) == 0
    rows = {m: ResultRecord.from_disk(p) for m, p in _rows(lb).items()}
    probe, concat = rows["probe-all"].diagnostics, rows["concat"].diagnostics
    # an additive model is its own EMAP; the block says how it was computed
    assert probe.emap.gain.estimate == 0 and probe.emap.method == "sampled" and probe.emap.partners == 8
    assert probe.emap.groups == (("plot",), ("poster",), ("people",))
    # the row's own score as the diagnostic measured it is the row's pooled score, from the same predictions
    assert probe.emap.macro_f1.low <= probe.emap.macro_f1.estimate <= probe.emap.macro_f1.high
    # robustness went to probe-all only (concat was the reference, not asked), and kept the EMAP block
    assert probe.robustness is not None and concat.robustness is None and concat.emap is not None
    curve = probe.robustness.curves["plot"]
    assert [p.level for p in curve.points] == [0, 1] and curve.points[0].changed == 0 and probe.robustness.reference == "concat"
    assert before["concat"] == _rows(lb)["concat"].read_text()  # a row not diagnosed again is left byte for byte
    readme = (lb / "README.md").read_text()
    assert "attachdemo" in readme


def test_a_refit_that_is_not_the_rows_model_is_refused_and_the_file_kept(board, tmp_path, capsys, monkeypatch):
    from benchmarks import diagnose, harness

    folder, lb0, common = board
    lb = tmp_path / "lb"
    shutil.copytree(lb0, lb)
    before = {m: p.read_bytes() for m, p in _rows(lb).items()}
    attach = ["--attach", "--leaderboard", str(lb), "--out", str(tmp_path / "out"), "--exact-max", "0", "--partners", "4"]
    path = _rows(lb)["concat"]
    tampered = path.read_bytes()
    fit = harness.fit_and_predict

    def code_changed_since(cs, prep, **kw):  # as if the code had changed since the concat row was made
        out = fit(cs, prep, **kw)
        if cs.model == "concat" and kw["seed"] == 1:
            out["proba"] = out["proba"].copy()
            out["proba"][0, 0] = 1.0 - out["proba"][0, 0] + (0.2 if out["proba"][0, 0] == 0.5 else 0.0)
        return out

    monkeypatch.setattr(harness, "fit_and_predict", code_changed_since)
    assert diagnose.main(["emap", "--models", "concat", "probe-all", *common, *attach]) == 1
    err = capsys.readouterr().err
    assert "concat: not attached:" in err and "of the test decisions differ" in err and "1 refused" in err
    assert path.read_bytes() == tampered  # nothing written into the refused row
    assert _rows(lb)["probe-all"].read_bytes() != before["probe-all"]  # the other row still got its block
    # seeds the leaderboard has no row for: one line, exit 1
    monkeypatch.setattr(harness, "fit_and_predict", fit)
    assert diagnose.main(["emap", "--models", "probe-all", *common[:-3], "--seeds", "0", *attach]) == 1
    assert "no leaderboard row" in capsys.readouterr().err
    # a single noise setting is not a curve
    assert __import__("benchmarks.robustness").robustness.main(["--models", "probe-all", *common, *attach[:5], "--noise", "plot=0.5"]) == 2
    assert "give a sweep" in capsys.readouterr().err


def test_two_attaches_at_once_keep_both_blocks(board, tmp_path):
    """attach waits for the lock another writer holds, then reads the file that writer left."""
    from leaderboard.attach import LOCK_NAME, attach
    from leaderboard.predictions import read_predictions
    from leaderboard.results import identity
    from mmimdb2.io import exclusive_lock

    _, lb0, _ = board
    lb = tmp_path / "lb"
    shutil.copytree(lb0, lb)
    path = _rows(lb)["probe-all"]
    record = json.loads(path.read_text())
    stored = read_predictions(record)
    score = {"estimate": 0.5, "low": 0.4, "high": 0.6}
    code = record["code_version"]
    emap_block = {"groups": [["plot"], ["poster"]], "method": "exact", "partners": None, "emap_seed": None, "macro_f1": score,
                  "emap_macro_f1": score, "gain": {"estimate": 0.0, "low": -0.01, "high": 0.01}, "decisions_changed": 0.0,
                  "seconds": {"fit": 1.0, "emap": 2.0}, "code_version": code, "created": record["created"]}  # fmt: skip
    robust_block = {"noise_seed": 0, "reference": None, "seconds": {"fit": 1.0, "predict": 0.1, "encode_noisy": 3.0}, "code_version": code,
                    "created": record["created"], "curves": {"plot": {"points": [{"level": 0, **score, "changed": 0.0},
                    {"level": 1, **score, "changed": 0.2}], "relative_robustness": 0.5, "effective_robustness": None}}}  # fmt: skip
    done = []
    with exclusive_lock(lb / LOCK_NAME):
        worker = threading.Thread(target=lambda: done.append(attach(identity(record), "emap", emap_block, decisions=stored.seeds,
                                                                    ids_sha256=stored.ids_sha256, leaderboard_dir=lb)))  # fmt: skip
        worker.start()
        time.sleep(0.5)
        assert not done  # waiting for the lock
        held = json.loads(path.read_text())  # meanwhile the holder writes its own block
        held["diagnostics"] = {"robustness": robust_block}
        path.write_text(json.dumps(held))
    worker.join(10)
    final = json.loads(path.read_text())["diagnostics"]
    assert set(final) == {"emap", "robustness"} and final["robustness"] == robust_block
    with pytest.raises(ValueError, match="unknown diagnostic"):
        attach(identity(record), "saliency", {}, decisions=stored.seeds, ids_sha256=stored.ids_sha256, leaderboard_dir=lb)
    assert np.array_equal(read_predictions(json.loads(path.read_text())).seeds, stored.seeds)
