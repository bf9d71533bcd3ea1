"""The training recipe: dev-chosen thresholds, early stopping, late fusion's dev weights, the
Eq. 14-15 loss balance, Table 3's cumulative cells, cross-fitted F^K and the encoder default."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from baselines.fusion import simplex_grid
from benchmarks.registry import build_model
from benchmarks.trainer import TensorSet, train
from idkg.inputs import InputSpec
from mmimdb2.genres import GENRES
from mmimdb2.metrics import THRESHOLD_GRID, evaluate, macro_f1, select_threshold

C = len(GENRES)
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _scores(pos: list[float], neg: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Genre 0 only: the given probabilities of positives and negatives; every other genre empty."""
    y = np.zeros((len(pos) + len(neg), C))
    y[: len(pos), 0] = 1
    p = np.zeros_like(y)
    p[:, 0] = pos + neg
    return y, p


def test_global_threshold_is_the_best_grid_value_on_dev():
    y, p = _scores([0.32, 0.35], [0.1, 0.2])  # any threshold in (0.2, 0.32] separates them
    assert select_threshold(y, p, "fixed") == 0.5
    t = select_threshold(y, p, "global")
    assert t == 0.3  # ties (0.25, 0.3) go to the one closest to 0.5
    assert macro_f1(y, p, t) == pytest.approx(1 / C)  # genre 0 perfect, the other 22 score 0


def test_per_genre_thresholds_and_genres_without_dev_positives_keep_the_global_one():
    y, p = _scores([0.32, 0.35], [0.1, 0.2])
    y[:2, 1] = 1
    p[:, 1] = [0.9, 0.8, 0.7, 0.1]  # genre 1: best threshold in (0.7, 0.8]
    t = select_threshold(y, p, "per-genre")
    assert t.shape == (C,) and t[0] == 0.3 and t[1] == 0.75
    glob = select_threshold(y, p, "global")
    assert (t[2:] == glob).all()
    assert set(THRESHOLD_GRID) >= set(t)
    with pytest.raises(ValueError, match="'threshold' policy must be one of fixed, global, per-genre"):
        select_threshold(y, p, "best")


def test_evaluate_takes_one_threshold_per_genre():
    y, p = _scores([0.32, 0.35], [0.1, 0.2])
    thr = np.full(C, 0.5)
    assert evaluate(y, p, threshold=thr)["per_genre"][GENRES[0]] == 0.0
    thr[0] = 0.3
    assert evaluate(y, p, threshold=thr)["per_genre"][GENRES[0]] == 1.0
    with pytest.raises(ValueError, match="one value or one per genre"):
        evaluate(y, p, threshold=np.full(3, 0.5))


SPEC = InputSpec(6, 4, 3, genre_embeddings=torch.randn(C, 3, generator=torch.Generator().manual_seed(0)),
                 mean_kg_count=2.0, mean_kg_degree=6.0)  # fmt: skip


def _data(n: int, seed: int, text_signal: float = 3.0, image_signal: float = 0.0) -> TensorSet:
    g = torch.Generator().manual_seed(seed)
    y = (torch.rand(n, C, generator=g) < 0.3).float()
    proto = torch.Generator().manual_seed(7)
    feats = {
        "text": text_signal * y[:, :6] + torch.randn(n, 6, generator=g),
        "image": image_signal * y[:, :4] @ torch.randn(4, 4, generator=proto) + torch.randn(n, 4, generator=g),
        "kg": torch.randn(n, 3, generator=g),
        "kg_count": torch.randint(0, 5, (n,), generator=g).float(),
        "kg_degree": torch.randint(0, 30, (n,), generator=g).float(),
    }
    return TensorSet(feats, y, [f"tt{i:07d}" for i in range(n)])


def test_early_stopping_stops_after_patience_epochs_without_gain():
    tr, dev = _data(80, 1), _data(40, 2)
    res = train(build_model("concat", SPEC), tr, dev, epochs=40, batch_size=16, lr=0.05, patience=2, progress=False)
    assert len(res.history) == res.best_epoch + 2 < 40  # two epochs past the best, then stop
    full = train(build_model("concat", SPEC), tr, dev, epochs=6, batch_size=16, lr=0.05, patience=0, progress=False)
    assert len(full.history) == 6


def test_simplex_grid_covers_the_weights_summing_to_one():
    assert simplex_grid(2, 0.5) == [(0.0, 1.0), (0.5, 0.5), (1.0, 0.0)]
    assert len(simplex_grid(3, 0.25)) == 15 and all(math.isclose(sum(w), 1.0) for w in simplex_grid(3, 0.25))


def test_late_fusion_weighs_an_uninformative_modality_down_on_dev():
    tr, dev = _data(200, 1), _data(80, 2)  # text carries the labels, the poster is noise
    model = build_model("late-fusion", SPEC)
    train(model, tr, dev, epochs=8, batch_size=32, lr=0.05, threshold="global", progress=False)
    w = dict(zip(model.modalities, model.weights.tolist()))
    assert w["text"] > w["image"]
    equal = build_model("late-fusion", SPEC, dev_weights=False)
    train(equal, tr, dev, epochs=8, batch_size=32, lr=0.05, threshold="global", progress=False)
    assert equal.weights.tolist() == [0.5, 0.5]
    assert "weights" in model.state_dict()  # saved and loaded with the model


def _zero_classifier(model):
    last = model.classifier[-1] if isinstance(model.classifier, torch.nn.Sequential) else model.classifier
    with torch.no_grad():
        last.weight.zero_()
        last.bias.zero_()
    return model


@pytest.mark.parametrize("balance, per_movie", [("paper", C * math.log(2)), ("mean", math.log(2))])
def test_eq14_class_loss_sums_over_genres_and_eq15_adds_the_auxiliary_terms(balance, per_movie):
    batch = _data(8, 3)
    model = _zero_classifier(build_model("idkg", SPEC, proj_dim=8, classifier_hidden=8, loss_balance=balance))
    model.train()
    out = model.loss(batch.features, batch.labels)
    # logits 0: each genre's BCE is ln 2; Eq. 14 sums the 23 of a movie ("paper"), "mean" averages them
    assert out["bce"].item() == pytest.approx(per_movie, rel=1e-5)
    assert out["total"].item() == pytest.approx((out["bce"] + out["atten"] + out["contra"]).item(), rel=1e-6)


def test_eq14_class_loss_with_genre_weights_weighs_each_positive_term():
    batch = _data(8, 3)
    model = _zero_classifier(build_model("idkg", SPEC, proj_dim=8, classifier_hidden=8))
    model.train()
    w = torch.linspace(0.5, 4.0, C)
    out = model.loss(batch.features, batch.labels, pos_weight=w)
    # logits 0: a positive's term is w_g ln 2, a negative's ln 2; Eq. 14 sums them over genres
    y = batch.labels
    want = math.log(2) * (y * w + (1 - y)).sum(1).mean()
    assert out["bce"].item() == pytest.approx(want.item(), rel=1e-5)


@pytest.mark.parametrize("name", ["gmu", "idkg-gmu", "centralnet", "late-fusion", "concat"])
def test_every_torch_baseline_weighs_its_bce_by_the_genre_weights(name):
    batch = _data(8, 3)
    model = build_model(name, SPEC)
    model.eval()  # no dropout: the three calls see the same function
    plain = model.loss(batch.features, batch.labels)
    same = model.loss(batch.features, batch.labels, pos_weight=torch.ones(C))
    heavier = model.loss(batch.features, batch.labels, pos_weight=torch.full((C,), 3.0))
    torch.testing.assert_close(same["total"], plain["total"])
    assert heavier["total"].item() > plain["total"].item()  # every positive term counts 3x


def test_loss_balance_is_checked():
    with pytest.raises(ValueError, match="'loss_balance' parameter of IDKGConfig must be 'paper' or 'mean'"):
        build_model("idkg", SPEC, loss_balance="sum")


def test_table3_adds_fk_then_gcacl_then_the_teacher_as_the_paper_removes_them():
    from benchmarks.spec import RunSpec

    cells = RunSpec(experiment="table3").variants()
    idkg_rows = [build_model(c.model, SPEC, proj_dim=8, classifier_hidden=8, **c.config) for c in cells[:4]]
    parts = [(m.config.use_kg, m.use_teacher, m.contrastive is not None) for m in idkg_rows]
    # (KG, attention teacher, G-CACL): the paper's "- AT" row is F^K + G-CACL
    assert parts == [(False, False, False), (True, False, False), (True, False, True), (True, True, True)]
    assert [c.model for c in cells[4:]] == ["gmu", "gmu-3", "idkg-gmu"]


def test_real_datasets_default_to_clip_and_the_demo_to_weightfree():
    from benchmarks.spec import EncoderSpec

    assert EncoderSpec().resolved("demo").name == "weightfree"
    assert EncoderSpec().resolved("../shared/realdev/yts800").name == "clip"
    assert EncoderSpec("offline").resolved("demo").name == "offline"


def test_kg_paper_settings_are_one_flag_away_and_given_flags_win():
    from benchmarks.run import build_parser, spec_from_args

    def kg(*argv):
        spec = spec_from_args(build_parser().parse_args(["--models", "idkg", *argv]))[0]
        return spec.cell_spec(spec.variants()[0]).kg

    paper = kg("--kg-paper-settings").embedding
    assert (paper.optimizer, paper.lr, paper.epochs, paper.batches_per_epoch, paper.dim, paper.dim_counts) == ("SGD", 0.5, 500, 100, 200, "model")
    assert kg("--kg-paper-settings").recorded() == {"kg_optimizer": "SGD", "kg_lr": 0.5, "kg_batches_per_epoch": 100, "kg_dim_counts": "model"}
    # a batch size given alone is the one trained with, even under the recipe's batches per epoch
    assert kg("--recipe", "paper", "--kg-batch-size", "512").embedding.batches_per_epoch == 0
    assert kg("--recipe", "paper", "--kg-batch-size", "512").embedding.batch_size == 512
    assert kg("--kg-batches-per-epoch", "50").embedding.batches_per_epoch == 50
    assert kg("--kg-paper-settings", "--kg-lr", "0.1").embedding.lr == 0.1
    assert kg("--recipe", "paper").embedding == paper  # the paper recipe's KG is the same
    plain = kg()
    assert plain.recorded() == {} and plain.embedding.optimizer == "Adam"
    # sparse gradients are the default (Adam as SparseAdam); one flag each way, and a result records a change
    assert plain.embedding.sparse is True and kg("--kg-sparse").recorded() == {}
    assert kg("--no-kg-sparse").embedding.sparse is False and kg("--no-kg-sparse").recorded() == {"kg_sparse": False}
    assert kg("--kg-paper-settings", "--no-kg-sparse").embedding.sparse is False


def test_cross_fitted_fk_never_sees_a_training_movies_own_fold():
    from types import SimpleNamespace

    from benchmarks.crossfit import cross_fit_kg_inputs
    from idkg.kg import kg_from_movies
    from idkg.kg_inputs import movie_kg_inputs
    from mmimdb2.schema import Movie, Person

    def movie(i, people, genres):
        return Movie(f"tt{i:07d}", raw_genres=genres, directors=(Person(people[0]),), cast=tuple(Person(p) for p in people[1:]))

    # rows 0-3 train; "Solo" credits only row 3, "Pat" rows 0-2; row 4 is a test movie
    movies = [movie(0, ("Pat",), ("Drama",)), movie(1, ("Pat",), ("Comedy",)), movie(2, ("Pat",), ("Drama",)),
              movie(3, ("Solo",), ("Horror",)), movie(4, ("Pat",), ("Drama",))]  # fmt: skip
    train_rows = np.arange(4)

    def embed(kg):  # one-hot degree vectors: F^K = sum over the movie's people of their KG degree
        return SimpleNamespace(entity_to_id=kg.entity_to_id, vectors=np.asarray(kg.degree, np.float32)[:, None], kg_sha256=kg.sha256)

    full = kg_from_movies(movies[:4])
    plain = movie_kg_inputs(movies, full, embed(full))
    built: list[tuple[str, ...]] = []

    def build(ids):
        built.append(ids)
        return kg_from_movies([m for m in movies if m.imdb_id in ids])

    out = cross_fit_kg_inputs(movies, train_rows, plain, folds=4, build=build, embed=embed, reference=embed(full))
    assert len(built) == 4 and all(len(ids) == 3 for ids in built)  # leave-one-out KGs of the training rows
    assert plain.kg_count[3] == 1 and out.kg_count[3] == 0 and not out.kg[3].any()  # Solo is only in its own fold
    assert out.kg[0, 0] < plain.kg[0, 0]  # Pat's degree without row 0's links
    np.testing.assert_array_equal(out.kg[4], plain.kg[4])  # test rows keep the plain F^K
    with pytest.raises(ValueError, match="'cross_fit' parameter must be in \\[2, 4\\]"):
        cross_fit_kg_inputs(movies, train_rows, plain, folds=1, build=build, embed=embed, reference=embed(full))


def test_a_fold_embedding_is_rotated_back_onto_the_plain_one():
    from types import SimpleNamespace

    from benchmarks.crossfit import align_embedding

    rng = np.random.default_rng(0)
    names = [f"e{i}" for i in range(12)]
    plain = SimpleNamespace(entity_to_id={n: i for i, n in enumerate(names)}, vectors=rng.normal(size=(12, 3)).astype(np.float32))
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))  # a random orthogonal change of coordinates
    # the fold's KG lacks e0 and e1 (its held movie's people) and lists the rest in another order
    order = names[:1:-1]
    fold_vectors = np.stack([plain.vectors[plain.entity_to_id[n]] for n in order]) @ q.T
    fold = SimpleNamespace(entity_to_id={n: i for i, n in enumerate(order)}, vectors=fold_vectors, kg_sha256="abc")
    out = align_embedding(fold, plain)
    assert out.shared == 10 and out.kg_sha256 == "abc" and out.entity_to_id is fold.entity_to_id
    np.testing.assert_allclose(out.vectors, np.stack([plain.vectors[plain.entity_to_id[n]] for n in order]), atol=1e-5)
    with pytest.raises(ValueError, match="cannot align a fold's KG embedding: 2 shared entities for width 3"):
        align_embedding(SimpleNamespace(entity_to_id={"e0": 0, "e1": 1, "x": 2}, vectors=np.eye(3)), plain)


def test_defaulted_clip_without_weights_is_one_line_naming_encoder_offline(monkeypatch, capsys, tmp_path):
    import benchmarks.harness as harness
    from benchmarks.encoders.base import EncoderError
    from benchmarks.run import main

    seen = {}

    def no_weights(spec, options, **kw):
        seen["encoder"] = spec.resolved_encoder()
        raise EncoderError("cannot fetch the weights of clip:ViT-B-32-quickgelu:laion400m_e32: no network or hub access")

    monkeypatch.setattr(harness, "run_benchmark", no_weights)
    assert main(["--dataset", str(tmp_path), "--models", "idkg", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert seen["encoder"] == "clip" and len(err.splitlines()) == 1
    assert err.startswith("error: cannot fetch the weights") and "pass --encoder offline" in err
    assert main(["--dataset", str(tmp_path), "--models", "idkg", "--encoder", "clip", "--out", str(tmp_path / "o")]) == 2
    assert "pass --encoder offline" not in capsys.readouterr().err  # asked for explicitly: the plain message


def test_dev_score_metrics_against_hand_computed_values():
    from mmimdb2.metrics import dev_score

    y = np.array([[1, 0], [0, 0], [1, 1]])
    p = np.array([[0.8, 0.4], [0.3, 0.2], [0.6, 0.9]])
    # BCE by hand: -(ln .8 + ln .6 + ln .7 + ln .8 + ln .6 + ln .9) / 6, negated so higher is better
    bce = -(math.log(0.8) + math.log(0.6) + math.log(0.7) + math.log(0.8) + math.log(0.6) + math.log(0.9)) / 6
    assert dev_score(y, p, "loss") == pytest.approx(-bce)
    # AP genre 0: ranks .8 (pos), .6 (pos) -> 1.0; genre 1: .9 (pos) first -> 1.0
    assert dev_score(y, p, "ap") == pytest.approx(1.0)
    p2 = np.array([[0.5, 0.4], [0.9, 0.2], [0.6, 0.1]])
    # genre 0: .9 (neg), .6 (pos), .5 (pos) -> (1/2 + 2/3) / 2; genre 1: .1 is last of 3 -> 1/3
    assert dev_score(y, p2, "ap") == pytest.approx(((0.5 + 2 / 3) / 2 + 1 / 3) / 2)
    # a genre without a dev positive is left out of the AP mean
    assert dev_score(np.array([[1, 0], [0, 0]]), np.array([[0.9, 0.5], [0.1, 0.5]]), "ap") == pytest.approx(1.0)
    assert dev_score(y, p, "f1", "fixed") == pytest.approx(macro_f1(y, p, select_threshold(y, p, "fixed")))
    with pytest.raises(ValueError, match="needs the run.s threshold policy"):
        dev_score(y, p, "f1")  # no silent default policy: the run's is the one
    with pytest.raises(ValueError, match="'select' metric must be one of f1, loss, ap"):
        dev_score(y, p, "auc")


def test_class_weight_is_a_recorded_training_setting_of_every_model():
    from benchmarks.spec import RunSpec, TrainSpec
    from leaderboard.experiments import Variant

    def config(model, **train):
        return RunSpec(train=train).cell_spec(Variant(model=model)).recorded_config()

    assert config("idkg")["class_weight"] == TrainSpec.class_weight
    probe = config("probe-text")
    assert probe["class_weight"] == TrainSpec.class_weight and "lr" not in probe  # probes: threshold + weights
    assert config("idkg-as-released")["class_weight"] == "none"  # the released loss, as released
    assert config("gmu", class_weight="none")["class_weight"] == "none"
    assert config("late-fusion")["weight_decay"] == 10.0  # its registered departure
    assert config("late-fusion", weight_decay=0.5)["weight_decay"] == 0.5  # a given setting wins


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ({"epochs": "30"}, "The 'epochs' setting must be an int. Got '30' instead."),
        ({"epochs": True}, "The 'epochs' setting must be an int. Got True instead."),
        ({"lr": float("inf")}, "The 'lr' setting must be a finite number. Got inf instead."),
        ({"threshold": 3}, "The 'threshold' setting must be a string. Got 3 instead."),
    ],
)
def test_training_settings_are_typed_by_the_same_checker_as_model_settings(given, says):
    from benchmarks.spec import TrainSpec

    with pytest.raises(ValueError) as err:
        TrainSpec(**given)
    assert str(err.value) == says
    assert TrainSpec(lr=1).lr == 1  # an int is a number
