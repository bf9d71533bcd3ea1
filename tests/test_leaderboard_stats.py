"""Records with per-movie test predictions: scores over present genres, stored decisions, the
validator's recomputation, bootstrap intervals and ties in the rendered tables."""

from __future__ import annotations

import numpy as np
import pytest

from leaderboard import validate
from leaderboard.results import make_result
from mmimdb2.genres import GENRES
from mmimdb2.metrics import evaluate
from mmimdb2.splits import Split

SPLIT = Split("demo", {"train": ("tt0000001", "tt0000002", "tt0000003"), "dev": ("tt0000004",), "test": ("tt0000005", "tt0000006")})
CODE = {"git": "v0.1.0-1-gabcdef0", "commit": "a" * 40, "dirty": False, "package": "0.1.0"}
HW = {"device": "cpu", "cpu": "Test CPU (2 cores)", "gpu": None, "torch": "2.14.1"}
HEAD_TAIL = {"k": 6, "head": list(GENRES[:6]), "tail": list(GENRES[-6:])}
TRAIN_COUNTS = list(range(23, 0, -1))  # Drama most frequent ... Film-Noir least: the sets of HEAD_TAIL


def build(model: str = "gmu", per_seed=(), **kw) -> dict:
    return make_result(
        dataset="demo", dataset_version="1", split=SPLIT, model=model, config={"hidden": 64},
        encoder="hash:64", encoder_version="1", kg=None, per_seed=list(per_seed),
        wall_time_s={"train": 1.0}, head_tail=HEAD_TAIL, code=CODE, hardware=HW, created="2026-11-25T12:00:00Z", **kw,
    )  # fmt: skip


def problems_of(rec: dict) -> list[str]:
    return validate.validate_record(rec, known={"demo": {"demo": SPLIT.sha256}})


def scored(labels: np.ndarray, decisions: np.ndarray, seed: int = 0) -> dict:
    """A per-seed entry scored as the harness scores it."""
    return {"seed": seed, "metrics": evaluate(labels, decisions.astype(float), train_label_counts=TRAIN_COUNTS), "best_epoch": 1}


# ----------------------------------------------------------------------------- scores over present genres


def test_present_scores_are_stored_aggregated_and_checked():
    labels = np.zeros((2, 23), dtype=int)
    labels[0, [0, 22]] = 1  # Drama and Film-Noir present: 2 of 23
    labels[1, 0] = 1
    first = labels.copy()
    first[1, 0] = 0  # misses one Drama: F1 2/3
    rec = build(per_seed=[scored(labels, first, 0), scored(labels, labels, 1)])
    assert problems_of(rec) == []
    seed0 = rec["per_seed"][0]["metrics"]
    assert seed0["n_present"] == 2 and seed0["macro_present"] == pytest.approx((2 / 3 + 1) / 2)
    assert seed0["macro"] == pytest.approx((2 / 3 + 1) / 23)
    assert seed0["tail_present"] == pytest.approx(1.0) and seed0["tail"] == pytest.approx(1 / 6)  # Film-Noir of 6 tail genres
    assert rec["aggregate"]["mean"]["macro_present"] == pytest.approx(((5 / 6) + 1) / 2)
    assert rec["aggregate"]["mean"]["n_present"] == 2 and rec["aggregate"]["std"]["n_present"] == 0
    rec["aggregate"]["mean"]["macro_present"] = 0.99
    assert any(p.startswith("aggregate/mean/macro_present: 0.99 does not match") for p in problems_of(rec))
    del rec["aggregate"]["mean"]["macro_present"]
    assert "aggregate/mean/macro_present: missing though every seed has it" in problems_of(rec)
    del rec["per_seed"][0]["metrics"]["macro_present"]  # one seed scored before the present scores: none aggregated
    assert "aggregate/std/macro_present: present but not every seed has it" in problems_of(rec)
