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


def test_the_fold_seed_draws_other_folds_of_the_same_pool(small_demo, capsys):
    import mmimdb2

    ds = mmimdb2.load(small_demo)
    held = {seed: [tuple(sorted(f.split["dev"])) for f in fold_splits(ds, 3, seed=seed)] for seed in (0, 1)}
    assert held[0] != held[1] and sorted(sum(held[0], ())) == sorted(sum(held[1], ()))
    assert held[0] == [tuple(sorted(f.split["dev"])) for f in fold_splits(ds, 3, seed=0)]  # reproducible
    assert cv.main(["--dataset", str(small_demo), "--folds", "2", "--fold-seed", "3", "--models", "probe-text", *FAST]) == 0
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


def test_cv_cli_prints_a_table_and_refuses_bad_input(small_demo, capsys):
    rc = cv.main(["--dataset", str(small_demo), "--folds", "2", "--models", "probe-text", "late-fusion", *FAST])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert "2 folds, fold seed 0" in out.out and "test not used" in out.out
    assert "probe-text" in out.out and "late-fusion" in out.out
    assert cv.main(["--dataset", str(small_demo), "--models", "idgk", *FAST]) == 2
    assert "unknown model 'idgk'" in capsys.readouterr().err


def test_cv_with_a_defaulted_clip_without_weights_names_encoder_offline(small_demo, monkeypatch, capsys):
    import benchmarks.encoders as encoders
    from benchmarks.encoders.base import EncoderError

    asked = []

    def no_weights(name):
        asked.append(name)
        raise EncoderError(f"cannot fetch the weights of {name}: no network or hub access")

    monkeypatch.setattr(encoders, "get_encoder", no_weights)
    args = ["--dataset", str(small_demo), "--folds", "2", "--models", "probe-text", "--no-progress"]
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
