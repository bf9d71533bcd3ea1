"""mmimdb2.metrics against F1 scores computed by hand on tiny matrices; torch-free to import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mmimdb2.genres import GENRES
from mmimdb2.metrics import (
    aggregate,
    balanced_pos_weight,
    decisions,
    dev_score,
    evaluate,
    head_tail_genres,
    macro_f1,
    score_decisions,
    select_threshold,
)

ABC = ("A", "B", "C")
# Hand-worked example (threshold 0.5, predictions are prob >= 0.5):
#   y_true rows: {A,C} {B} {A,B} {B,C}      predictions: {A} {A,B,C} {A} {C}
#   A: tp2 fp1 fn0 -> F1 4/5;  B: tp1 fp0 fn2 -> 1/2;  C: tp1 fp1 fn1 -> 1/2
#   micro: tp4 fp2 fn3 -> 8/13;  macro: 0.6;  weighted (support 2,3,2): (1.6+1.5+1.0)/7
#   samples: rows 2/3, 1/2, 2/3, 2/3 -> 0.625
Y_TRUE = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 1, 1]])
Y_PROB = np.array([[0.9, 0.2, 0.4], [0.6, 0.7, 0.55], [0.8, 0.3, 0.2], [0.1, 0.1, 0.5]])


def test_f1_averages_match_hand_computation():
    m = evaluate(Y_TRUE, Y_PROB, genres=ABC, head_tail=1, train_label_counts=[10, 5, 1])
    assert m["micro"] == pytest.approx(8 / 13)
    assert m["macro"] == pytest.approx(0.6)
    assert m["weighted"] == pytest.approx(4.1 / 7)
    assert m["samples"] == pytest.approx(0.625)
    assert m["per_genre"] == pytest.approx({"A": 0.8, "B": 0.5, "C": 0.5})
    assert m["support"] == {"A": 2, "B": 3, "C": 2}


def test_head_and_tail_follow_training_frequency_not_test_frequency():
    most_a = evaluate(Y_TRUE, Y_PROB, genres=ABC, head_tail=1, train_label_counts=[10, 5, 1])
    assert (most_a["head"], most_a["tail"]) == pytest.approx((0.8, 0.5))  # head A, tail C
    most_b = evaluate(Y_TRUE, Y_PROB, genres=ABC, head_tail=1, train_label_counts={"A": 1, "B": 10, "C": 5})
    assert most_b["head"] == pytest.approx(0.5)  # B
    assert most_b["tail"] == pytest.approx(0.8)  # A
    two = evaluate(Y_TRUE, Y_PROB, genres=ABC, head_tail=2, train_label_counts=[10, 5, 1])
    assert two["head"] == pytest.approx((0.8 + 0.5) / 2) and two["tail"] == pytest.approx((0.5 + 0.5) / 2)


def test_head_tail_sets_are_six_and_ties_follow_canonical_order():
    counts = np.zeros(23)
    counts[[3, 7, 1, 20, 5, 11, 0]] = [70, 60, 50, 40, 30, 20, 10]
    sets = head_tail_genres(counts)
    assert sets["k"] == 6
    assert sets["head"] == [GENRES[i] for i in (3, 7, 1, 20, 5, 11)]
    zero = [i for i in range(23) if counts[i] == 0]  # 16 genres tied at 0: canonical order decides
    assert sets["tail"] == [GENRES[i] for i in zero[-6:]]
    labels = np.zeros((4, 23))
    labels[:, 2] = 1
    assert head_tail_genres(labels)["head"][0] == GENRES[2]  # a label matrix is summed over rows


def test_threshold_is_inclusive_and_configurable():
    y = np.array([[1, 0, 0]])
    p = np.array([[0.5, 0.49, 0.0]])
    assert evaluate(y, p, genres=ABC, head_tail=1)["per_genre"]["A"] == 1.0
    assert evaluate(y, p, genres=ABC, head_tail=1, threshold=0.6)["per_genre"]["A"] == 0.0


def test_genre_without_positives_or_predictions_scores_zero_in_macro():
    y = np.array([[1, 0, 0], [1, 0, 0]])
    p = np.array([[0.9, 0.1, 0.1], [0.8, 0.1, 0.1]])
    m = evaluate(y, p, genres=ABC, head_tail=1)
    assert m["per_genre"] == {"A": 1.0, "B": 0.0, "C": 0.0}
    assert m["macro"] == pytest.approx(1 / 3)
    assert m["micro"] == 1.0


def test_macro_and_tail_over_present_genres_leave_out_genres_without_a_test_positive():
    # y_true {A} {A,B}; decisions {A,C} {A}: A tp2 -> F1 1;  B tp0 fn1 -> 0;  C no positive, fp1 -> 0
    y = np.array([[1, 0, 0], [1, 1, 0]])
    p = np.array([[0.9, 0.1, 0.7], [0.8, 0.2, 0.1]])
    # train counts A 1, B 10, C 5 -> head [B, C], tail [C, A] (k = 2)
    m = evaluate(y, p, genres=ABC, head_tail=2, train_label_counts=[1, 10, 5])
    assert m["macro"] == pytest.approx(1 / 3)  # all three genres: (1 + 0 + 0) / 3
    assert m["n_present"] == 2  # A and B have a positive, C has none
    assert m["macro_present"] == pytest.approx(0.5)  # (1 + 0) / 2
    assert m["tail"] == pytest.approx(0.5)  # C 0, A 1
    assert m["tail_present"] == pytest.approx(1.0)  # only A of the tail is present
    assert m["head"] == pytest.approx(0.0)  # B 0, C 0
    none_in_tail = evaluate(y, p, genres=ABC, head_tail=1, train_label_counts=[10, 5, 1])  # tail [C]: not present
    assert none_in_tail["tail_present"] == 0.0 and none_in_tail["tail"] == 0.0


def test_all_genres_present_makes_the_present_scores_the_plain_ones():
    m = evaluate(Y_TRUE, Y_PROB, genres=ABC, head_tail=1, train_label_counts=[10, 5, 1])
    assert m["n_present"] == 3
    assert m["macro_present"] == pytest.approx(m["macro"]) and m["tail_present"] == pytest.approx(m["tail"])


def test_scores_of_decisions_are_the_scores_of_probabilities():
    """The validator recomputes from stored 0/1 decisions: same function, same numbers."""
    sets = head_tail_genres([10, 5, 1], ABC, 1)
    d = decisions(Y_PROB, 0.5, ABC)
    np.testing.assert_array_equal(d, [[1, 0, 0], [1, 1, 1], [1, 0, 0], [0, 0, 1]])  # >= 0.5, inclusive
    assert d.dtype == np.int8
    assert score_decisions(Y_TRUE, d, ABC, sets) == evaluate(Y_TRUE, Y_PROB, genres=ABC, head_tail=1, train_label_counts=[10, 5, 1])
    per_genre = decisions(Y_PROB, [0.95, 0.5, 0.3], ABC)  # one threshold per genre
    np.testing.assert_array_equal(per_genre[:, 0], [0, 0, 0, 0])
    np.testing.assert_array_equal(per_genre[:, 2], [1, 1, 0, 1])
    with pytest.raises(ValueError, match="only 0 and 1"):
        score_decisions(Y_TRUE, d * 2, ABC, sets)
    with pytest.raises(ValueError, match="shape"):
        score_decisions(Y_TRUE, d[:3], ABC, sets)
    with pytest.raises(ValueError, match="threshold"):
        decisions(Y_PROB, 1.0, ABC)


def test_default_genres_are_the_23_canonical_names():
    rng = np.random.default_rng(0)
    y = (rng.random((30, 23)) < 0.3).astype(int)
    m = evaluate(y, rng.random((30, 23)), train_label_counts=y.sum(0))
    assert list(m["per_genre"]) == list(GENRES)
    assert all(0.0 <= v <= 1.0 for v in m["per_genre"].values())


@pytest.mark.parametrize(
    ("y_prob", "message"),
    [
        (Y_PROB * 4 - 2, "apply a sigmoid"),
        (Y_PROB[:, :2], "shape"),
        (Y_PROB[:3], "differ in shape"),
        (np.where(Y_PROB > 0.85, np.nan, Y_PROB), "NaN"),
    ],
)
def test_bad_predictions_are_rejected_with_a_reason(y_prob, message):
    with pytest.raises(ValueError, match=message):
        evaluate(Y_TRUE, y_prob, genres=ABC, head_tail=1)


def test_non_binary_labels_are_rejected():
    with pytest.raises(ValueError, match="only 0 and 1"):
        evaluate(Y_TRUE * 2, Y_PROB, genres=ABC, head_tail=1)


def test_aggregate_mean_and_population_std():
    s0 = {"micro": 0.5, "macro": 0.2, "per_genre": {"A": 0.0, "B": 1.0}, "support": {"A": 1, "B": 2}}
    s1 = {"micro": 0.7, "macro": 0.4, "per_genre": {"A": 0.5, "B": 1.0}, "support": {"A": 1, "B": 2}}
    agg = aggregate([s0, s1])
    assert agg["mean"]["micro"] == pytest.approx(0.6) and agg["std"]["micro"] == pytest.approx(0.1)  # ddof=0
    assert agg["mean"]["per_genre"] == pytest.approx({"A": 0.25, "B": 1.0})
    assert agg["std"]["per_genre"] == pytest.approx({"A": 0.25, "B": 0.0})
    assert "support" not in agg["mean"]
    one = aggregate([{"seed": 3, "metrics": s0, "best_epoch": 1}])  # per-seed entries are accepted too
    assert one["std"]["micro"] == 0.0 and one["mean"]["macro"] == 0.2


def test_aggregate_takes_the_present_scores_only_when_every_seed_has_them():
    s0 = {"micro": 0.5, "macro": 0.2, "macro_present": 0.3, "tail_present": 0.1, "n_present": 21}
    s1 = {"micro": 0.7, "macro": 0.4, "macro_present": 0.5, "tail_present": 0.3, "n_present": 21}
    agg = aggregate([s0, s1])
    assert agg["mean"]["macro_present"] == pytest.approx(0.4) and agg["std"]["macro_present"] == pytest.approx(0.1)
    assert agg["mean"]["tail_present"] == pytest.approx(0.2) and agg["std"]["tail_present"] == pytest.approx(0.1)
    assert agg["mean"]["n_present"] == 21 and agg["std"]["n_present"] == 0.0
    old = {"micro": 0.7, "macro": 0.4}  # a seed scored before the present scores existed
    mixed = aggregate([s0, old])
    assert "macro_present" not in mixed["mean"] and mixed["mean"]["macro"] == pytest.approx(0.3)


def test_aggregate_rejects_inconsistent_seeds():
    with pytest.raises(ValueError, match="at least one"):
        aggregate([])
    with pytest.raises(ValueError, match="lack macro"):
        aggregate([{"micro": 0.1, "macro": 0.2}, {"micro": 0.1}])


def test_importing_the_metrics_loads_neither_torch_nor_sklearn():
    """Every layer (the leaderboard validator too) imports these metrics; scikit-learn comes only when scoring."""
    code = "import sys, mmimdb2.metrics, leaderboard.validate; print(sorted({'torch', 'sklearn'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_dev_helpers_take_tensors_as_well_as_arrays():
    """Labels as a tensor (duck-typed: ``.cpu().numpy()``) give the same decisions as the array."""
    torch = pytest.importorskip("torch")
    y = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 1, 1], [0, 0, 0]])
    p = np.array([[0.9, 0.2, 0.4], [0.6, 0.7, 0.55], [0.8, 0.3, 0.2], [0.1, 0.1, 0.5], [0.3, 0.6, 0.1]])
    t = torch.as_tensor(y, dtype=torch.float32)
    assert macro_f1(t, p) == macro_f1(y, p)
    np.testing.assert_array_equal(select_threshold(t, p, "per-genre"), select_threshold(y, p, "per-genre"))
    assert dev_score(t, p, "ap") == dev_score(y, p, "ap")
    np.testing.assert_array_equal(balanced_pos_weight(t), [1.5, 2 / 3, 1.5])
