"""The trainer: seeded and repeatable, dev-selected checkpoint, clear failures, label-free prediction."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmarks.registry import build_model
from benchmarks.trainer import TensorSet, TrainingError, genre_pos_weight, predict_proba, train
from idkg.inputs import InputSpec
from mmimdb2.metrics import macro_f1

C = 23


pytestmark = pytest.mark.usefixtures("one_torch_thread")


SPEC = InputSpec(16, 12, 8, mean_kg_count=2.0, mean_kg_degree=6.0)

#: The plain recipe these hand-computed checks assume: threshold 0.5, checkpoint by dev macro-F1,
#: unweighted BCE, no early stopping (the run's recipe, TrainSpec, differs).
PLAIN = {"threshold": "fixed", "select": "f1", "class_weight": "none", "patience": 0}


def data(n: int, seed: int, signal: float = 2.0) -> TensorSet:
    g = torch.Generator().manual_seed(seed)
    y = (torch.rand(n, C, generator=g) < 0.2).float()
    proto = torch.Generator().manual_seed(99)  # the same genre prototypes in every split
    feats = {
        "text": signal * y @ torch.randn(C, 16, generator=proto) + torch.randn(n, 16, generator=g),
        "image": signal * y @ torch.randn(C, 12, generator=proto) + torch.randn(n, 12, generator=g),
        "kg": torch.randn(n, 8, generator=g),
        "kg_count": torch.randint(0, 5, (n,), generator=g).float(),
        "kg_degree": torch.randint(0, 30, (n,), generator=g).float(),
    }
    return TensorSet(feats, y, [f"tt{i:07d}" for i in range(n)])


def test_training_learns_and_keeps_the_best_dev_epoch():
    tr, dev = data(400, 1), data(150, 2)
    model = build_model("concat", SPEC)
    before = macro_f1(dev.labels, predict_proba(model, dev))
    res = train(model, tr, dev, epochs=6, batch_size=32, lr=1e-2, progress=False, **PLAIN)
    scores = [h["dev_macro_f1"] for h in res.history]
    assert res.best_dev_macro_f1 == max(scores) and scores[res.best_epoch - 1] == max(scores)
    assert res.best_dev_macro_f1 > before + 0.2
    assert macro_f1(dev.labels, predict_proba(model, dev)) == pytest.approx(res.best_dev_macro_f1)  # best state loaded
    assert not model.training and set(res.history[0]) == {"epoch", "total", "bce", "dev_macro_f1", "dev_score"}


def test_select_loss_keeps_the_epoch_with_the_lowest_dev_bce():
    tr, dev = data(400, 1), data(150, 2)
    model = build_model("concat", SPEC)
    res = train(model, tr, dev, epochs=6, batch_size=32, lr=1e-2, progress=False, **{**PLAIN, "select": "loss"})
    scores = [h["dev_score"] for h in res.history]  # minus the dev BCE
    assert scores[res.best_epoch - 1] == max(scores)
    p = np.clip(predict_proba(model, dev), 1e-7, 1 - 1e-7)
    y = dev.labels.numpy()
    assert float(np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))) == pytest.approx(max(scores), abs=1e-5)  # best state loaded
    with pytest.raises(ValueError, match="'select' setting must be one of f1, loss, ap"):
        train(model, tr, dev, epochs=1, progress=False, select="auc")


def test_same_seed_same_run_and_global_rng_untouched():
    tr, dev = data(130, 1), data(40, 2)
    state = torch.random.get_rng_state()
    runs = []
    for _ in range(2):
        model = build_model("idkg", SPEC, proj_dim=16, classifier_hidden=16, dropout=0.2)
        runs.append((train(model, tr, dev, epochs=2, batch_size=32, seed=5, progress=False), model))
    assert torch.equal(torch.random.get_rng_state(), state)
    assert runs[0][0].history == runs[1][0].history
    assert all(torch.equal(a, b) for a, b in zip(runs[0][1].state_dict().values(), runs[1][1].state_dict().values()))
    other = train(build_model("idkg", SPEC, proj_dim=16, classifier_hidden=16, dropout=0.2), tr, dev, epochs=2,
                  batch_size=32, seed=6, progress=False)  # fmt: skip
    assert other.history != runs[0][0].history


class _RowRecorder(torch.nn.Module):
    """Records the rows (the "row" feature) of every training batch it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.batches: list[list[int]] = []

    def forward(self, batch):
        return self.w * batch["text"][:, :1].expand(-1, C)

    def loss(self, batch, labels):
        self.batches.append(batch["row"].long().tolist())
        return {"total": (self.w**2).sum()}


def test_a_single_row_last_batch_is_dropped_and_the_next_permutation_covers_it():
    tr = data(65, 1)
    tr = TensorSet(dict(tr.features, row=torch.arange(65.0)), tr.labels, tr.ids)
    rec = _RowRecorder()
    train(rec, tr, data(10, 2), epochs=3, batch_size=64, progress=False, class_weight="none", patience=0)
    assert [len(b) for b in rec.batches] == [64, 64, 64]  # one batch per epoch, the one-row rest dropped
    assert len({r for b in rec.batches for r in b}) == 65  # a dropped row is trained on in another epoch
    # IDKG's BatchNorm cannot train on one row: with the rest kept, this would raise
    res = train(build_model("idkg", SPEC, proj_dim=8), tr, data(10, 2), epochs=1, batch_size=64, progress=False)
    assert len(res.history) == 1 and np.isfinite(res.history[0]["total"])


class _Scripted(torch.nn.Module):
    """Dev predictions that follow a script, one (signal, noise) entry per epoch: logits are
    signal * (2y - 1) + noise * N(0, 1). The epoch count is a buffer, so the kept checkpoint
    carries its own entry. One batch per epoch (batch_size >= rows)."""

    SCRIPT = ((1.0, 2.0), (3.0, 1.5), (0.3, 0.0), (-1.0, 0.5), (0.3, 0.0), (0.2, 1.0))
    #        mediocre     lowest BCE  perfect F1/AP,  inverted     ties epoch 3   last
    #                                 poor BCE

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))  # AdamW needs a parameter
        self.register_buffer("epoch", torch.zeros((), dtype=torch.long))

    def forward(self, batch):
        signal, noise = self.SCRIPT[int(self.epoch) - 1]
        return signal * batch["truth"] + noise * batch["noise"] + self.w

    def loss(self, batch, labels):
        self.epoch += 1
        return {"total": (self.w**2).sum()}


def _scripted_data(n: int, seed: int) -> TensorSet:
    g = torch.Generator().manual_seed(seed)
    y = (torch.rand(n, C, generator=g) < 0.3).float()
    return TensorSet({"truth": 2 * y - 1, "noise": torch.randn(n, C, generator=g)}, y, [f"tt{i:07d}" for i in range(n)])


@pytest.mark.parametrize(
    ("select", "patience", "kept", "ran"),
    [
        ("loss", 0, 2, 6),  # the lowest dev BCE, not the best F1
        ("f1", 0, 3, 6),  # the best dev macro-F1; epoch 5 ties it and the earlier one is kept
        ("ap", 0, 3, 6),
        ("last", 0, 6, 6),
        ("loss", 2, 2, 4),  # two epochs without a lower dev BCE stop the run
        ("f1", 2, 3, 5),  # a tie is no better score
        ("last", 2, 6, 6),  # every epoch beats the one before: never stops early
    ],
)
def test_select_keeps_the_epoch_its_dev_score_picks_and_patience_stops_after_it(select, patience, kept, ran):
    tr, dev = _scripted_data(40, 1), _scripted_data(120, 2)
    model = _Scripted()
    res = train(model, tr, dev, epochs=6, batch_size=64, progress=False, select=select, patience=patience,
                threshold="fixed", class_weight="none")  # fmt: skip
    assert (res.best_epoch, len(res.history)) == (kept, ran)
    assert int(model.epoch) == kept  # the kept epoch's state is loaded, not the last one run
    assert res.best_dev_macro_f1 == res.history[kept - 1]["dev_macro_f1"]
    assert macro_f1(dev.labels, predict_proba(model, dev)) == pytest.approx(res.best_dev_macro_f1)


def test_nan_loss_names_model_and_epoch():
    tr = data(40, 1)
    bad = TensorSet(dict(tr.features, text=torch.full_like(tr.features["text"], float("nan"))), tr.labels, tr.ids)
    with pytest.raises(TrainingError, match=r"model 'gmu' produced a non-finite loss in epoch 1 \(.*total=nan"):
        train(build_model("gmu", SPEC, proj_dim=8), bad, data(10, 2), epochs=2, progress=False, name="gmu")


def test_bad_training_inputs_are_refused_clearly():
    with pytest.raises(TrainingError, match="dev set is empty"):
        train(build_model("concat", SPEC), data(10, 1), data(0, 2), progress=False)
    with pytest.raises(TrainingError, match="1 row"):
        train(build_model("concat", SPEC), data(1, 1), data(5, 2), progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        train(build_model("concat", SPEC), data(10, 1), data(5, 2), batch_size=1, progress=False)


def test_tensorset_checks_shapes_and_converts_arrays():
    with pytest.raises(ValueError, match="feature 'text' has 3 rows for 2 ids"):
        TensorSet({"text": torch.zeros(3, 4)}, torch.zeros(2, C), ["a", "b"])
    with pytest.raises(ValueError, match="labels must be"):
        TensorSet({}, torch.zeros(2), ["a", "b"])
    ts = TensorSet.from_arrays({"text": np.ones((2, 4), dtype=np.float64)}, np.zeros((2, C), dtype=np.int64), ["a", "b"])
    assert ts.features["text"].dtype == torch.float32 and ts.labels.dtype == torch.float32 and len(ts) == 2
    sub = ts.take(torch.tensor([1]))
    assert sub.ids == ("b",) and sub.features["text"].shape == (1, 4)


def test_predict_proba_restores_mode_and_batches_consistently():
    model = build_model("late-fusion", SPEC)
    model.train()
    d = data(50, 3)
    p_small = predict_proba(model, d, batch_size=7)
    assert model.training
    assert np.allclose(p_small, predict_proba(model, d, batch_size=1000), atol=1e-6)
    assert predict_proba(model, data(0, 1)).shape == (0, C)


class _Linear(torch.nn.Module):
    """A deterministic linear classifier on the text block (no dropout, no BatchNorm)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.fc = torch.nn.Linear(16, C)

    def forward(self, batch):
        return self.fc(batch["text"])

    def loss(self, batch, labels):
        total = torch.nn.functional.binary_cross_entropy_with_logits(self(batch), labels)
        return {"total": total}


def test_ema_keeps_the_moving_average_of_the_weights():
    tr, dev = data(8, 1), data(20, 2)
    decay, lr = 0.6, 0.05
    kept = _Linear()
    train(kept, tr, dev, epochs=1, batch_size=4, lr=lr, weight_decay=0.0, progress=False, ema=decay, class_weight="none")
    # by hand: the same two AdamW steps, then the average (the first update copies the weights)
    raw = _Linear()
    opt = torch.optim.AdamW(raw.parameters(), lr=lr, weight_decay=0.0)
    perm = torch.randperm(8, generator=torch.Generator().manual_seed(0))
    steps = []
    for s in (0, 4):
        rows = perm[s : s + 4]
        opt.zero_grad()
        raw.loss({"text": tr.features["text"][rows]}, tr.labels[rows])["total"].backward()
        opt.step()
        steps.append({k: v.detach().clone() for k, v in raw.state_dict().items()})
    expected = {k: decay * steps[0][k] + (1 - decay) * steps[1][k] for k in steps[0]}
    for k, v in kept.state_dict().items():
        torch.testing.assert_close(v, expected[k])
        assert not torch.allclose(v, steps[1][k])  # not the raw last step
    with pytest.raises(ValueError, match=r"ema in \[0, 1\)"):
        train(_Linear(), tr, dev, epochs=1, progress=False, ema=1.0)


def test_genre_pos_weight_is_negatives_over_positives_per_genre():
    y = np.array([[1, 0, 0, 1], [1, 1, 0, 1], [0, 0, 0, 1], [1, 0, 0, 1]])
    # genre 0: 3 positives, 1 negative; genre 1: 1 and 3; genre 2: no positive; genre 3: no negative
    torch.testing.assert_close(genre_pos_weight(y), torch.tensor([1 / 3, 3.0, 1.0, 1.0]))
    torch.testing.assert_close(genre_pos_weight(torch.as_tensor(y, dtype=torch.float32)), genre_pos_weight(y))


class _Weighable(_Linear):
    def loss(self, batch, labels, pos_weight=None):
        logits = self(batch)
        return {"total": torch.nn.functional.binary_cross_entropy_with_logits(logits, labels, pos_weight=pos_weight)}


def test_balanced_class_weight_trains_on_the_positive_weighted_bce_of_the_training_rows():
    tr, dev = data(8, 1), data(20, 2)
    kept = _Weighable()
    train(kept, tr, dev, epochs=1, batch_size=8, lr=0.05, weight_decay=0.0, progress=False, class_weight="balanced")
    # by hand: one AdamW step on the whole (permuted) training set with pos_weight = neg / pos
    raw = _Weighable()
    opt = torch.optim.AdamW(raw.parameters(), lr=0.05, weight_decay=0.0)
    y = tr.labels
    pos = y.sum(0)
    w = torch.where((pos > 0) & (pos < len(y)), (len(y) - pos) / pos.clamp_min(1), torch.ones_like(pos))
    perm = torch.randperm(8, generator=torch.Generator().manual_seed(0))
    opt.zero_grad()
    raw.loss({"text": tr.features["text"][perm]}, y[perm], pos_weight=w)["total"].backward()
    opt.step()
    for k, v in kept.state_dict().items():
        torch.testing.assert_close(v, raw.state_dict()[k])
    plain = _Weighable()
    train(plain, tr, dev, epochs=1, batch_size=8, lr=0.05, weight_decay=0.0, progress=False, class_weight="none")
    assert not torch.allclose(plain.fc.weight, kept.fc.weight)  # the weights changed the step


def test_class_weight_refuses_unknown_values_and_models_that_take_no_weights():
    tr, dev = data(8, 1), data(20, 2)
    with pytest.raises(ValueError, match="'class_weight' setting must be one of none, balanced"):
        train(_Weighable(), tr, dev, epochs=1, progress=False, class_weight="inverse")
    with pytest.raises(ValueError, match="takes no class weights; run it with --class-weight none"):
        train(_Linear(), tr, dev, epochs=1, progress=False, class_weight="balanced")
