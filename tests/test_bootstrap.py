"""mmimdb2.bootstrap and mmimdb2.packing against values computed by hand on tiny matrices."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from mmimdb2.bootstrap import (
    RESAMPLES,
    SEED,
    bootstrap_macro_f1,
    macro_f1_of_counts,
    paired_bootstrap,
    percentile_interval,
    pooled_macro_f1,
    resample_counts,
    resampled_macro_f1,
    tallies,
)
from mmimdb2.packing import ordered_ids_sha256, pack_bits, packed_length, unpack_bits

# Two movies, genres (A, B), two seeds:
#   labels   m0 {A}     m1 {A, B}
#   seed 0   m0 {A, B}  m1 {B}
#   seed 1   m0 {A}     m1 {A, B}
# votes (seeds predicting): m0 (2, 1), m1 (1, 2)
# TP = t * votes: m0 (2, 0), m1 (1, 2);  FP = (1 - t) * votes: m0 (0, 1), m1 (0, 0);  FN = t * (2 - votes): m0 (0, 0), m1 (1, 0)
# pooled: A TP3 FP0 FN1 -> F1 6/7;  B TP2 FP1 FN0 -> F1 4/5;  macro (6/7 + 4/5) / 2 = 29/35
LABELS = np.array([[1, 0], [1, 1]])
PREDS = np.array([[[1, 1], [0, 1]], [[1, 0], [1, 1]]])


def test_tallies_pool_the_seeds_per_movie():
    tp, fp, fn, pos = tallies(LABELS, PREDS)
    np.testing.assert_array_equal(tp, [[2, 0], [1, 2]])
    np.testing.assert_array_equal(fp, [[0, 1], [0, 0]])
    np.testing.assert_array_equal(fn, [[0, 0], [1, 0]])
    np.testing.assert_array_equal(pos, LABELS)


def test_pooled_macro_f1_is_the_f1_of_all_seeds_predictions_together():
    assert pooled_macro_f1(LABELS, PREDS) == pytest.approx(29 / 35)
    from sklearn.metrics import f1_score

    stacked = f1_score(np.vstack([LABELS, LABELS]), np.vstack(list(PREDS)), average="macro", zero_division=0)
    assert pooled_macro_f1(LABELS, PREDS, present_only=False) == pytest.approx(stacked)
    assert pooled_macro_f1(LABELS, PREDS[0]) == pytest.approx(2 / 3)  # seed 0 alone: A TP1 FN1 -> 2/3, B TP1 FP1 -> 2/3


def test_macro_over_present_genres_recounts_presence_in_each_resample():
    tally = tallies(LABELS, PREDS)
    # m0 drawn twice: TP (4, 0) FP (0, 2) FN (0, 0), positives (2, 0): A F1 1, B absent (F1 0 over all genres)
    # m1 drawn twice: TP (2, 4) FP (0, 0) FN (2, 0), positives (2, 2): A 4/6, B 1
    counts = np.array([[2.0, 0.0], [0.0, 2.0]])
    np.testing.assert_allclose(resampled_macro_f1(tally, counts), [1.0, (2 / 3 + 1) / 2])
    np.testing.assert_allclose(resampled_macro_f1(tally, counts, present_only=False), [0.5, (2 / 3 + 1) / 2])
    none = np.zeros((4, 1, 2))  # no genre present: 0, not a division by zero
    assert macro_f1_of_counts(none)[0] == 0.0


def test_resample_counts_draw_n_movies_with_replacement_deterministically():
    counts = resample_counts(7)
    assert counts.shape == (RESAMPLES, 7) and (counts.sum(axis=1) == 7).all() and (counts >= 0).all()
    assert not counts.flags.writeable
    np.testing.assert_array_equal(counts, resample_counts(7, RESAMPLES, SEED))
    assert not np.array_equal(counts, resample_counts(7, RESAMPLES, SEED + 1))
    assert 0.3 < (counts[:, 0] == 0).mean() < 0.4  # P(a movie is never drawn) = (6/7)^7 = 0.34
    with pytest.raises(ValueError, match="at least one movie"):
        resample_counts(0)


def test_resampled_statistic_matches_scoring_the_resampled_movies_of_every_seed():
    """Reference: draw the movies, repeat them in every seed, score with scikit-learn."""
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(3)
    labels = (rng.random((12, 4)) < 0.3).astype(int)
    preds = (rng.random((3, 12, 4)) < 0.4).astype(int)
    counts = resample_counts(12)[:20]
    got = resampled_macro_f1(tallies(labels, preds), counts, present_only=False)
    for b, row in enumerate(counts):
        idx = np.repeat(np.arange(12), row.astype(int))
        want = f1_score(np.vstack([labels[idx]] * 3), np.vstack([p[idx] for p in preds]), average="macro", zero_division=0)
        assert got[b] == pytest.approx(want)


def test_percentile_interval_interpolates_linearly():
    # 1..1000: the 2.5% quantile sits at position 999 * 0.025 = 24.975 -> 25 + 0.975; 97.5% at 974.025 -> 975.025
    assert percentile_interval(np.arange(1, 1001)) == pytest.approx((25.975, 975.025))
    assert percentile_interval([0, 10], confidence=0.5) == pytest.approx((2.5, 7.5))
    with pytest.raises(ValueError, match="confidence"):
        percentile_interval([1, 2], confidence=1.0)


# Two movies, genres (A, B): m0 {A}, m1 {B}. Row "half" predicts m0 {A} and m1 nothing.
# A resample is m0 twice (p = 1/4: only A present, F1 1 -> macro 1), m1 twice (1/4: only B, F1 0 -> 0)
# or one of each (1/2: (1 + 0) / 2 = 0.5). On the movies as given: 0.5.
ONE_EACH = np.array([[1, 0], [0, 1]])
HALF = np.array([[1, 0], [0, 0]])


def test_bootstrap_interval_of_a_row_on_hand_enumerated_resamples():
    ci = bootstrap_macro_f1(ONE_EACH, HALF)
    assert (ci.estimate, ci.low, ci.high) == (0.5, 0.0, 1.0)  # ~250 of 1000 resamples at 0 and ~250 at 1
    stats = resampled_macro_f1(tallies(ONE_EACH, HALF), resample_counts(2))
    assert set(np.unique(stats)) == {0.0, 0.5, 1.0}
    assert stats.mean() == pytest.approx(0.5, abs=0.05)
    perfect = bootstrap_macro_f1(ONE_EACH, np.stack([ONE_EACH, ONE_EACH, ONE_EACH]))
    assert (perfect.estimate, perfect.low, perfect.high) == (1.0, 1.0, 1.0)
    assert bootstrap_macro_f1(ONE_EACH, HALF) == ci  # deterministic


def test_paired_bootstrap_applies_one_draw_to_both_rows():
    # half - perfect: 1 - 1 = 0 (p 1/4), 0 - 1 = -1 (1/4), 0.5 - 1 = -0.5 (1/2); on the given movies -0.5
    d = paired_bootstrap(ONE_EACH, HALF, ONE_EACH)
    assert d.estimate == -0.5 and (d.low, d.high) == (-1.0, 0.0)
    assert d.mean == pytest.approx(-0.5, abs=0.05)
    assert d.tied  # the interval reaches 0
    same = paired_bootstrap(LABELS, PREDS, PREDS[::-1])  # the same predictions in another seed order
    assert (same.estimate, same.mean, same.low, same.high) == (0.0, 0.0, 0.0, 0.0) and same.tied
    nothing = np.zeros_like(ONE_EACH)
    apart = paired_bootstrap(ONE_EACH, ONE_EACH, nothing)  # perfect - nothing predicted: 1 in every resample
    assert (apart.estimate, apart.low, apart.high) == (1.0, 1.0, 1.0) and not apart.tied


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="only 0 and 1"):
        tallies(LABELS, PREDS * 2)
    with pytest.raises(ValueError, match="predictions must be"):
        tallies(LABELS, PREDS[:, :1])
    with pytest.raises(ValueError, match="zero movies"):
        tallies(np.zeros((0, 2)), np.zeros((1, 0, 2)))


# ----------------------------------------------------------------------------- packing


def test_pack_bits_writes_rows_as_bits_in_base64():
    m = np.array([[1, 0, 1], [0, 1, 1]])
    # bits 101 011 + two zero padding bits = 0b10101100 = 0xAC; base64 of b"\xac" is "rA=="
    assert pack_bits(m) == "rA=="
    np.testing.assert_array_equal(unpack_bits("rA==", 2, 3), m)
    assert packed_length(2, 3) == 4
    assert packed_length(240, 23) == 920  # 5520 bits = 690 bytes = 230 x 3 bytes -> 920 characters
    rng = np.random.default_rng(0)
    big = (rng.random((240, 23)) < 0.2).astype(np.int8)
    text = pack_bits(big)
    assert len(text) == 920
    np.testing.assert_array_equal(unpack_bits(text, 240, 23), big)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rA", "takes 4"),  # too short
        ("rA==rA==", "takes 4"),  # too long
        ("r!==", "not valid base64"),
        ("rB==", "not canonical"),  # "B" sets unused low bits of the last character
        ("rQ==", "padding bits"),  # 0xAD = 101011 01: a padding bit set
    ],
)
def test_unpack_bits_refuses_all_but_the_one_encoding(text, message):
    with pytest.raises(ValueError, match=message):
        unpack_bits(text, 2, 3)


def test_pack_bits_refuses_non_binary_values():
    with pytest.raises(ValueError, match="only 0 and 1"):
        pack_bits(np.array([[0, 2]]))
    with pytest.raises(ValueError, match="2-D"):
        pack_bits(np.array([0, 1]))


def test_ordered_ids_sha256_keeps_the_order_and_normalises_ids():
    assert ordered_ids_sha256(["tt0000002", "tt0000001"]) == hashlib.sha256(b"tt0000002\ntt0000001\n").hexdigest()
    assert ordered_ids_sha256(["0000002", "tt0000001"]) == ordered_ids_sha256(["tt0000002", "tt0000001"])
    assert ordered_ids_sha256(["tt0000001", "tt0000002"]) != ordered_ids_sha256(["tt0000002", "tt0000001"])
