"""The scikit-learn probes and the people vote: hand-computed votes, C chosen on dev, the harness path."""

from __future__ import annotations

import numpy as np
import pytest

from baselines.people_vote import people_matrix, people_vote
from baselines.probes import LogisticProbe, PeopleVote, PeopleVoteConfig, ProbeConfig, ProbeFusionConfig, ProbeLateFusion, is_estimator
from benchmarks.registry import build_model
from idkg.inputs import InputSpec
from mmimdb2.genres import GENRES, label_matrix
from mmimdb2.schema import Movie, Person

D, C, H = GENRES.index("Drama"), GENRES.index("Comedy"), GENRES.index("Crime")


def _movie(i: int, director: str, cast: tuple[str, ...], genres: tuple[str, ...]) -> Movie:
    return Movie(f"tt{i:07d}", raw_genres=genres, directors=(Person(director),), cast=tuple(Person(c) for c in cast))


#: rows 0-3 train, 4-5 test. Row 4 shares A with 0 and 1 and X with 0 and 2; row 5 and row 3 share nobody.
MOVIES = [
    _movie(0, "A", ("X",), ("Drama",)),
    _movie(1, "A", ("Y",), ("Comedy",)),
    _movie(2, "B", ("X",), ("Drama", "Crime")),
    _movie(3, "C", ("Z",), ("Horror",)),
    _movie(4, "A", ("X",), ("Comedy",)),
    _movie(5, "D", ("W",), ("Drama",)),
]
LABELS = label_matrix(m.genres for m in MOVIES)
TRAIN = np.arange(4)


def test_people_matrix_marks_each_credited_person_once():
    m = people_matrix([_movie(0, "A", ("A", "X", "X"), ("Drama",))])
    assert m.shape == (1, 2) and m.toarray().tolist() == [[1.0, 1.0]]


def test_test_rows_are_voted_for_by_every_sharing_training_movie():
    vote = people_vote(MOVIES, LABELS, TRAIN, folds=4)
    # row 4 shares with rows 0 (A, X), 1 (A), 2 (X): mean of {Drama}, {Comedy}, {Drama, Crime}
    want = np.zeros(len(GENRES), dtype=np.float32)
    want[[D, C, H]] = [2 / 3, 1 / 3, 1 / 3]
    np.testing.assert_allclose(vote[4], want, rtol=1e-6)
    assert not vote[5].any()  # nobody shared: the zero vector


def test_training_rows_are_voted_out_of_fold_never_by_themselves():
    vote = people_vote(MOVIES, LABELS, TRAIN, folds=4)  # 4 folds over 4 rows: leave-one-out
    want = np.zeros((4, len(GENRES)), dtype=np.float32)
    want[0, [D, C, H]] = 0.5  # rows 1 (A) and 2 (X)
    want[1, D] = 1.0  # row 0 (A) only: its own Comedy is not in its vote
    want[2, D] = 1.0  # row 0 (X)
    np.testing.assert_allclose(vote[:4], want, rtol=1e-6)  # row 3 shares nobody: zeros


def test_the_test_rows_labels_are_never_read():
    poisoned = LABELS.copy()
    poisoned[4:] = 1
    np.testing.assert_array_equal(people_vote(MOVIES, poisoned, TRAIN, folds=2), people_vote(MOVIES, LABELS, TRAIN, folds=2))


def test_bad_folds_raise_one_line():
    with pytest.raises(ValueError, match="'folds' parameter of people_vote must be in \\[2, 4\\]"):
        people_vote(MOVIES, LABELS, TRAIN, folds=5)


def _separable(n: int, seed: int) -> tuple[dict, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random((n, len(GENRES))) < 0.3).astype(np.float32)
    y[:, GENRES.index("Short")] = 0  # a genre with no positive anywhere: a constant column
    text = y @ rng.normal(size=(len(GENRES), 10)) + 0.3 * rng.normal(size=(n, 10))
    return {"text": text.astype(np.float32), "image": rng.normal(size=(n, 4)).astype(np.float32), "people": y * 0.0}, y


def test_probe_picks_c_on_dev_and_predicts_probabilities():
    train, ytr = _separable(200, 0)
    dev, ydev = _separable(60, 1)
    probe = LogisticProbe(ProbeConfig(features=("text",), c_grid=(1e-4, 1.0)))
    chosen = probe.fit(train, ytr, dev, ydev, "fixed")
    scores = chosen["dev_macro_f1_by_C"]
    assert set(scores) == {"0.0001", "1.0"} and chosen["C"] == 1.0 and scores["1.0"] > scores["0.0001"]
    proba = probe.predict_proba(dev)
    assert proba.shape == (60, len(GENRES)) and ((proba >= 0) & (proba <= 1)).all()
    assert (proba[:, GENRES.index("Short")] == 0).all()  # no training positive: never predicted


def test_balanced_probe_uses_sklearns_class_weights_and_lifts_rare_genres():
    rng = np.random.default_rng(0)
    n = 300
    y = np.zeros((n, len(GENRES)), dtype=np.float32)
    y[:, 0] = rng.random(n) < 0.05  # a rare genre, weakly visible in the features
    text = (0.8 * y[:, :1] + rng.normal(size=(n, 6))).astype(np.float32)
    arrays = {"text": text}
    plain, balanced = (LogisticProbe(ProbeConfig(features=("text",), c_grid=(1.0,))) for _ in range(2))
    plain.fit(arrays, y, arrays, y, "global")
    balanced.fit(arrays, y, arrays, y, "global", class_weight="balanced")
    fitted = balanced.pipeline[-1].estimators_[0]
    assert fitted.class_weight == "balanced" and plain.pipeline[-1].estimators_[0].class_weight is None
    # each class weighs the same in total: the rare genre's probabilities rise well above its 5 % rate
    rate, lifted, kept = y[:, 0].mean(), balanced.predict_proba(arrays)[:, 0].mean(), plain.predict_proba(arrays)[:, 0].mean()
    assert kept == pytest.approx(rate, abs=0.01) and lifted > 3 * rate
    with pytest.raises(ValueError, match="'class_weight' must be one of none, balanced"):
        plain.fit(arrays, y, arrays, y, "global", class_weight="auto")


def test_probe_late_fusion_weighs_the_informative_modality_and_averages_member_probabilities():
    proto = np.random.default_rng(7).normal(size=(len(GENRES), 10))  # one text prototype for both parts

    def part(n, seed):  # text carries the labels, the image is noise
        rng = np.random.default_rng(seed)
        y = (rng.random((n, len(GENRES))) < 0.3).astype(np.float32)
        return {"text": (y @ proto + 0.5 * rng.normal(size=(n, 10))).astype(np.float32), "image": rng.normal(size=(n, 4))}, y

    (train, ytr), (dev, ydev) = part(200, 0), part(60, 1)
    fused = ProbeLateFusion(ProbeFusionConfig(c_grid=(1.0,), weight_step=0.25))
    chosen = fused.fit(train, ytr, dev, ydev, "global")
    w = chosen["weights"]
    assert w["text"] > w["image"] and sum(w.values()) == pytest.approx(1.0)
    text, image = (fused.members[m].predict_proba(dev) for m in ("text", "image"))
    np.testing.assert_allclose(fused.predict_proba(dev), w["text"] * text + w["image"] * image, rtol=1e-5)
    with pytest.raises(ValueError, match="'modalities' parameter of ProbeFusionConfig"):
        ProbeFusionConfig(modalities=("text",))
    with pytest.raises(RuntimeError, match="before fit"):
        ProbeLateFusion(ProbeFusionConfig()).predict_proba(dev)


def test_probe_names_missing_features():
    train, ytr = _separable(50, 0)
    with pytest.raises(ValueError, match="probe needs feature\\(s\\) \\['kg'\\]"):
        LogisticProbe(ProbeConfig(features=("kg",))).fit(train, ytr, train, ytr)
    with pytest.raises(ValueError, match="'features' parameter of ProbeConfig"):
        ProbeConfig(features=("plot",))


def test_people_vote_model_falls_back_to_the_training_prior():
    arrays = {"people": np.array([[0.0] * len(GENRES), [1.0] + [0.0] * (len(GENRES) - 1)], dtype=np.float32)}
    y = np.zeros((4, len(GENRES)), dtype=np.float32)
    y[:, 2] = [1, 1, 0, 0]
    model = PeopleVote(PeopleVoteConfig())
    model.fit(arrays, y, arrays, y[:2])
    proba = model.predict_proba(arrays)
    assert proba[0, 2] == 0.5 and proba[0].sum() == 0.5  # empty vote -> training genre frequency
    assert proba[1, 0] == 1.0 and proba[1].sum() == 1.0


@pytest.mark.parametrize("name", ["probe-text", "probe-image", "probe-all", "people-vote", "late-fusion-probes"])
def test_registered_probes_are_estimators_with_recorded_features(name):
    model = build_model(name, InputSpec(text_dim=4, image_dim=4, kg_dim=4))
    assert is_estimator(model)
    if name == "probe-all":
        assert model.config.features == ("text", "image", "people")


def test_harness_fits_estimators_and_records_dev_thresholds(tmp_path, capsys):
    from benchmarks.run import main
    from leaderboard.results import read_result, schema_errors
    from mmimdb2.demo import generate

    demo = generate(tmp_path / "demo", n_movies=120, seed=0)
    fast = ["--epochs", "2", "--kg-epochs", "1", "--kg-dim", "16", "--encoder", "weightfree", "--no-progress"]
    out = tmp_path / "out"
    args = ["--dataset", str(demo), "--out", str(out), *fast, "--models", "probe-text", "people-vote", "late-fusion"]
    assert main([*args, "--threshold", "per-genre"]) == 0
    assert main([*args[:-3], "probe-all"]) == 0  # default policy: one global threshold
    records = {(r["model"]["name"], r["model"]["config"]["threshold"]): r
               for r in map(read_result, (out / "results").glob("*.json"))}  # fmt: skip
    assert set(records) == {("probe-text", "per-genre"), ("people-vote", "per-genre"), ("late-fusion", "per-genre"),
                            ("probe-all", "global")}  # fmt: skip
    for (name, policy), r in records.items():
        assert schema_errors(r) == []
        entry = r["per_seed"][0]
        if policy == "per-genre":
            assert set(entry["threshold"]) == set(GENRES)
        else:
            assert 0 < entry["threshold"] < 1
        assert (entry["best_epoch"] is None) == (name != "late-fusion")
    assert "epochs" not in records[("probe-all", "global")]["model"]["config"]  # estimators have no epochs
    assert "probe-text" in capsys.readouterr().out


@pytest.mark.parametrize("block_weights", [True, False])
def test_probe_gives_every_block_the_same_total_variance(block_weights):
    train, ytr = _separable(120, 0)
    train["image"] = np.random.default_rng(3).normal(scale=50.0, size=(120, 40)).astype(np.float32)  # wide, loud noise
    probe = LogisticProbe(ProbeConfig(features=("text", "image"), c_grid=(1.0,), block_weights=block_weights))
    probe.fit(train, ytr, train, ytr)
    z = probe.pipeline[:-1].transform(np.concatenate([train["text"], train["image"]], axis=1))
    text_var, image_var = z[:, :10].var(axis=0).sum(), z[:, 10:].var(axis=0).sum()
    # standardised columns have variance 1; scaled by 1/sqrt(width) a block sums to 1, unscaled to its width
    np.testing.assert_allclose([text_var, image_var], [1.0, 1.0] if block_weights else [10.0, 40.0], rtol=1e-4)
