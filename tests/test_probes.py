"""The scikit-learn probes and the people vote: hand-computed votes, C chosen on dev, the harness path."""

from __future__ import annotations

import numpy as np
import pytest

from baselines.people_vote import people_matrix, people_vote
from baselines.probes import (
    LogisticProbe,
    PeopleVote,
    PeopleVoteConfig,
    ProbeConfig,
    ProbeFusionConfig,
    ProbeLateFusion,
    is_estimator,
)
from benchmarks.cache import CacheStore
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
    from sklearn.linear_model import LogisticRegression

    z = balanced.fitted.transform(text)  # the regression of genre 0 is sklearn's, with its balanced weights
    own = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced").fit(z, y[:, 0].astype(int))
    np.testing.assert_allclose(balanced.fitted.coef[0], own.coef_[0], rtol=1e-4, atol=1e-6)
    assert np.abs(plain.fitted.coef[0] - balanced.fitted.coef[0]).max() > 1e-3
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
        LogisticProbe(ProbeConfig(features=("kg",))).fit(train, ytr, train, ytr, "fixed")
    with pytest.raises(ValueError, match="'features' parameter of ProbeConfig"):
        ProbeConfig(features=("plot",))


def test_people_vote_model_falls_back_to_the_training_prior():
    arrays = {"people": np.array([[0.0] * len(GENRES), [1.0] + [0.0] * (len(GENRES) - 1)], dtype=np.float32)}
    y = np.zeros((4, len(GENRES)), dtype=np.float32)
    y[:, 2] = [1, 1, 0, 0]
    model = PeopleVote(PeopleVoteConfig())
    model.fit(arrays, y, arrays, y[:2], "fixed")
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
    probe.fit(train, ytr, train, ytr, "fixed")
    z = probe.fitted.transform(np.concatenate([train["text"], train["image"]], axis=1))
    text_var, image_var = z[:, :10].var(axis=0).sum(), z[:, 10:].var(axis=0).sum()
    # standardised columns have variance 1; scaled by 1/sqrt(width) a block sums to 1, unscaled to its width
    np.testing.assert_allclose([text_var, image_var], [1.0, 1.0] if block_weights else [10.0, 40.0], rtol=1e-4)


# -- fit reuse ------------------------------------------------------------------------------------
def test_probe_fit_arrays_predict_what_the_sklearn_pipeline_predicts():
    train, ytr = _separable(150, 0)
    dev, ydev = _separable(50, 1)
    probe = LogisticProbe(ProbeConfig(features=("text", "image"), c_grid=(0.3, 3.0)))
    probe.fit(train, ytr, dev, ydev, "global")
    x = np.concatenate([dev["text"], dev["image"]], axis=1)
    with pytest.warns(UserWarning, match="present in all training examples"):  # "Short": the constant genre
        pipe = probe._make(probe.chosen["C"], probe._column_weights(train)).fit(
            np.concatenate([train["text"], train["image"]], axis=1), ytr.astype(int)
        )
    np.testing.assert_allclose(probe.predict_proba(dev), pipe.predict_proba(x), rtol=1e-6, atol=1e-7)
    assert np.isnan(probe.fitted.constant).sum() == len(GENRES) - 1  # only "Short" is constant


@pytest.fixture
def count_fits(monkeypatch):
    """How many times a probe's C grid was actually fitted."""
    calls = []
    real = LogisticProbe._fit_grid

    def counted(self, *a, **k):
        calls.append(self.config.features)
        return real(self, *a, **k)

    monkeypatch.setattr(LogisticProbe, "_fit_grid", counted)
    return calls


def test_late_fusion_probes_reuse_the_unimodal_probe_fits(tmp_path, count_fits):
    train, ytr = _separable(150, 0)
    dev, ydev = _separable(50, 1)
    fits = CacheStore(tmp_path, "probe-fits", 1)
    cfg = {"c_grid": (0.3, 3.0)}
    text, image = (LogisticProbe(ProbeConfig(features=(m,), **cfg)) for m in ("text", "image"))
    text.fit(train, ytr, dev, ydev, "global", fits=fits)
    image.fit(train, ytr, dev, ydev, "global", fits=fits)
    assert count_fits == [("text",), ("image",)]

    reused = ProbeLateFusion(ProbeFusionConfig(weight_step=0.25, **cfg))
    chosen = reused.fit(train, ytr, dev, ydev, "global", fits=fits)
    assert len(count_fits) == 2 and all(p.reused for p in reused.members.values())  # the second fit did not run
    fresh = ProbeLateFusion(ProbeFusionConfig(weight_step=0.25, **cfg))
    assert fresh.fit(train, ytr, dev, ydev, "global") == chosen  # no store: refitted
    assert len(count_fits) == 4
    np.testing.assert_array_equal(reused.predict_proba(dev), fresh.predict_proba(dev))
    np.testing.assert_array_equal(reused.members["text"].predict_proba(dev), text.predict_proba(dev))

    # another threshold policy, another C grid or other inputs are other fits
    LogisticProbe(ProbeConfig(features=("text",), **cfg)).fit(train, ytr, dev, ydev, "per-genre", fits=fits)
    LogisticProbe(ProbeConfig(features=("text",), c_grid=(1.0,))).fit(train, ytr, dev, ydev, "global", fits=fits)
    LogisticProbe(ProbeConfig(features=("text",), **cfg)).fit(train, ytr, dev, ydev[::-1].copy(), "global", fits=fits)
    assert len(count_fits) == 7
    # the seed is not part of the key: lbfgs ignores it
    LogisticProbe(ProbeConfig(features=("text",), seed=5, **cfg)).fit(train, ytr, dev, ydev, "global", fits=fits)
    assert len(count_fits) == 7


def test_a_damaged_probe_fit_is_refitted_with_one_line(tmp_path, count_fits, capsys):
    train, ytr = _separable(120, 0)
    fits = CacheStore(tmp_path, "probe-fits", 1)
    probe = LogisticProbe(ProbeConfig(features=("text",), c_grid=(1.0,)))
    probe.fit(train, ytr, train, ytr, "fixed", fits=fits)
    expected = probe.predict_proba(train)
    entry = fits.path(probe.fit_key(train, ytr, train, ytr))
    fits.save(probe.fit_key(train, ytr, train, ytr), {**probe.fitted.arrays(), "coef": np.zeros((3, 3))}, {"chosen": probe.chosen})
    again = LogisticProbe(ProbeConfig(features=("text",), c_grid=(1.0,)))
    again.fit(train, ytr, train, ytr, "fixed", fits=fits)
    assert len(count_fits) == 2 and not again.reused
    assert f"cache entry {entry} unusable (its shapes do not fit 10 features and {len(GENRES)} genres)" in capsys.readouterr().err
    np.testing.assert_array_equal(again.predict_proba(train), expected)


def test_harness_fits_each_probe_once_across_cells(tmp_path, count_fits):
    from benchmarks.run import main
    from leaderboard.results import read_result
    from mmimdb2.demo import generate

    demo = generate(tmp_path / "demo", n_movies=120, seed=0)
    fast = ["--encoder", "weightfree", "--no-progress", "--kg-epochs", "1", "--kg-dim", "16", "--dataset", str(demo)]
    models = ["probe-text", "probe-image", "late-fusion-probes"]
    assert main([*fast, "--out", str(tmp_path / "a"), "--cache-dir", str(tmp_path / "ca"), "--models", *models]) == 0
    assert sorted(count_fits) == [("image",), ("text",)]  # late-fusion-probes read both back
    assert main([*fast, "--out", str(tmp_path / "b"), "--cache-dir", str(tmp_path / "cb"), "--models", "late-fusion-probes"]) == 0
    assert len(count_fits) == 4  # a fresh cache: fitted

    def fusion(out):
        (path,) = [p for p in (out / "results").glob("*.json") if read_result(p)["model"]["name"] == "late-fusion-probes"]
        return read_result(path)["per_seed"][0]

    a, b = fusion(tmp_path / "a"), fusion(tmp_path / "b")
    assert a["predictions"] == b["predictions"] and a["metrics"] == b["metrics"] and a["threshold"] == b["threshold"]
