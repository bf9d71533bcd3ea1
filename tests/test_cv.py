"""Cross-validation on train + dev: folds never touch test, every pooled movie is scored once per seed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks import cv
from benchmarks.cv import fold_splits, halves, pooled_macro_f1

FAST = ["--epochs", "2", "--kg-epochs", "1", "--kg-dim", "16", "--encoder", "weightfree", "--no-progress"]


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory) -> Path:
    from mmimdb2.demo import generate

    return generate(tmp_path_factory.mktemp("demo") / "demo", n_movies=160, seed=1)


def test_folds_cover_train_and_dev_once_and_never_hold_a_test_movie(small_demo):
    import mmimdb2

    ds = mmimdb2.load(small_demo)
    pool = set(ds.split["train"]) | set(ds.split["dev"])
    held_all = []
    for fold in fold_splits(ds, 3):
        train, held = set(fold.split["train"]), set(fold.split["dev"])
        assert not train & held and train | held == pool
        assert fold.split["test"] == () and not (train | held) & set(ds.split["test"])
        held_all += fold.split["dev"]
    assert sorted(held_all) == sorted(pool)
    with pytest.raises(ValueError, match="'folds' parameter must be in"):
        list(fold_splits(ds, 1))


def test_the_fold_seed_draws_other_folds_of_the_same_pool(small_demo, tmp_path, capsys):
    import mmimdb2

    ds = mmimdb2.load(small_demo)
    held = {seed: [tuple(sorted(f.split["dev"])) for f in fold_splits(ds, 3, seed=seed)] for seed in (0, 1)}
    assert held[0] != held[1] and sorted(sum(held[0], ())) == sorted(sum(held[1], ()))
    assert held[0] == [tuple(sorted(f.split["dev"])) for f in fold_splits(ds, 3, seed=0)]  # reproducible
    assert cv.main(["--dataset", str(small_demo), "--folds", "2", "--fold-seed", "3", "--models", "probe-text", *FAST, "--out", str(tmp_path)]) == 0
    assert "fold seed 3" in capsys.readouterr().out


def test_halves_score_every_held_row_exactly_once_with_the_other_half_as_dev():
    from benchmarks.pipeline import PreparedInputs

    prep = PreparedInputs(ids=(), arrays={}, labels=np.zeros((10, 2)), rows={"train": np.arange(3), "dev": np.arange(3, 10), "test": np.array([], int)}, spec=None, provenance={})
    a, b = halves(prep)
    assert sorted([*a.rows["test"], *b.rows["test"]]) == list(range(3, 10))
    assert list(a.rows["dev"]) == list(b.rows["test"]) and list(b.rows["dev"]) == list(a.rows["test"])
    assert list(prep.rows["dev"]) == list(range(3, 10))  # the shared inputs are not modified


def test_pooled_macro_f1_is_computed_over_the_concatenated_rows():
    y1, p1 = np.array([[1, 0]]), np.array([[True, False]])
    y2, p2 = np.array([[1, 1], [0, 1]]), np.array([[False, True], [False, False]])
    # genre 0: tp 1, fn 1 -> F1 2/3; genre 1: tp 1, fn 1 -> 2/3 (per fold, fold 1's genre 1 would be 0)
    assert pooled_macro_f1([y1, y2], [p1, p2]) == pytest.approx(2 / 3)


def test_cv_cli_prints_a_table_writes_every_score_and_refuses_bad_input(small_demo, tmp_path, capsys):
    import csv
    import json

    args = ["--dataset", str(small_demo), "--folds", "2", "--seeds", "0", "1", "--models", "people-vote", "late-fusion", *FAST]
    rc = cv.main([*args, "--out", str(tmp_path)])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert "2 folds, fold seed 0" in out.out and "test not used" in out.out
    assert "people-vote" in out.out and "late-fusion" in out.out and "[95% CI]" in out.out
    (json_path,) = (tmp_path / "cv").glob("*.json")
    (csv_path,) = (tmp_path / "cv").glob("*.csv")
    assert json_path.stem == csv_path.stem and str(json_path) in out.out and not list((tmp_path / "cv").glob(".*"))  # no temp file left
    record = json.loads(json_path.read_text())
    assert record["folds"] == 2 and record["seeds"] == [0, 1] and record["test_used"] is False
    by = {m["label"]: m for m in record["models"]}
    assert set(by) == {"people-vote", "late-fusion"}
    for m in by.values():
        per_seed = m["macro_f1"]["per_seed"]
        assert [s["seed"] for s in per_seed] == [0, 1] and all(len(s["folds"]) == 2 for s in per_seed)
        assert m["macro_f1"]["mean"] == pytest.approx(np.mean([s["pooled"] for s in per_seed]))
        ci = m["macro_present"]
        assert ci["low"] <= ci["estimate"] <= ci["high"] and ci["confidence"] == 0.95
        assert f"{m['macro_f1']['mean']:.4f} ± {m['macro_f1']['std']:.4f}" in out.out
        assert m["spec"]["model"] == m["model"]
    rows = list(csv.DictReader(csv_path.open()))
    late = [r for r in rows if r["model"] == "late-fusion"]
    assert [(r["seed"], r["fold"]) for r in late] == [("0", "0"), ("0", "1"), ("0", "pooled"), ("1", "0"), ("1", "1"), ("1", "pooled"), ("mean", "pooled")]
    assert float(late[2]["macro_f1"]) == pytest.approx(by["late-fusion"]["macro_f1"]["per_seed"][0]["pooled"], abs=1e-6)
    assert float(late[-1]["ci_low"]) == pytest.approx(by["late-fusion"]["macro_present"]["low"], abs=1e-6)
    assert cv.main(["--dataset", str(small_demo), "--models", "idgk", *FAST, "--out", str(tmp_path)]) == 2
    assert "unknown model 'idgk'" in capsys.readouterr().err
    (tmp_path / "file").write_text("")
    assert cv.main([*args, "--out", str(tmp_path / "file")]) == 2  # refused before any fold is trained
    assert capsys.readouterr().err.strip() == f"error: --out {tmp_path / 'file'} is a file, not a folder"


@pytest.mark.parametrize("flag", [["--drop", "kg"], ["--protocol", "authors"], ["--submit"], ["--force"], ["--verbose"], ["--list-models"]])
def test_cv_refuses_the_run_only_flags_it_would_ignore(flag, capsys):
    with pytest.raises(SystemExit) as exit_:
        cv.main(["--models", "probe-text", *flag])
    assert exit_.value.code == 2
    assert f"error: unrecognized arguments: {' '.join(flag)}" in capsys.readouterr().err


def test_cv_and_run_share_their_model_data_and_training_flags():
    from benchmarks.run import build_parser as run_parser

    def flags(p):
        return {s for a in p._actions for s in a.option_strings}

    shared = flags(run_parser()) & flags(cv.build_parser())
    assert {"--models", "--dataset", "--seeds", "--epochs", "--kg-dim", "--set", "--cache-dir", "--out"} <= shared
    assert flags(cv.build_parser()) - flags(run_parser()) == {"--folds", "--fold-seed"}


def test_cv_with_a_defaulted_clip_without_weights_names_encoder_offline(small_demo, monkeypatch, capsys, tmp_path):
    import benchmarks.encoders as encoders
    from benchmarks.encoders.base import EncoderError

    asked = []

    def no_weights(name):
        asked.append(name)
        raise EncoderError(f"cannot fetch the weights of {name}: no network or hub access")

    monkeypatch.setattr(encoders, "get_encoder", no_weights)
    args = ["--dataset", str(small_demo), "--folds", "2", "--models", "probe-text", "--no-progress", "--out", str(tmp_path)]
    assert cv.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert asked == ["clip"] and len(err.splitlines()) == 1 and "pass --encoder offline" in err
    assert cv.main([*args, "--encoder", "clip"]) == 2
    assert "pass --encoder offline" not in capsys.readouterr().err  # asked for by name: its own message


def test_too_few_movies_for_k_folds_says_so(small_demo):
    """One train movie used to say "folds ... must be in [2, 0]" (issue 21, case 13)."""
    from dataclasses import replace

    import mmimdb2
    from mmimdb2.splits import Split

    ds = mmimdb2.load(small_demo)
    one = replace(ds, split=Split("one", {"train": ds.split["train"][:1], "dev": (), "test": ds.split["test"]}))
    with pytest.raises(ValueError, match=r"^too few movies for 2 folds: train \+ dev hold 1, and each fold needs at least 2 \(4 in all\)$"):
        list(fold_splits(one, 2))
    five = replace(ds, split=Split("five", {"train": ds.split["train"][:5], "dev": (), "test": ()}))
    with pytest.raises(ValueError, match=r"too few movies for 3 folds: train \+ dev hold 5"):
        list(fold_splits(five, 3))
    assert len(list(fold_splits(five, 2))) == 2
