"""Records with per-movie test predictions: scores over present genres, stored decisions, the
validator's recomputation, bootstrap intervals and ties in the rendered tables."""

from __future__ import annotations

import json

import numpy as np
import pytest

from leaderboard import validate
from leaderboard.predictions import read_predictions
from leaderboard.results import MAX_RESULT_BYTES, ResultError, load_schema, make_result, merge_results
from mmimdb2.genres import GENRES
from mmimdb2.metrics import SCALAR_METRICS, evaluate
from mmimdb2.packing import ordered_ids_sha256, pack_bits, packed_length
from mmimdb2.splits import Split

SPLIT = Split("demo", {"train": ("tt0000001", "tt0000002", "tt0000003"), "dev": ("tt0000004",),
                       "test": ("tt0000005", "tt0000006", "tt0000007")})  # the 3 movies of IDS; fmt: skip
#: The split of the two-movie rows of the table tests (a fixed row predicts its whole test part).
TWO_SPLIT = Split("two", {**SPLIT.parts, "test": ("tt0000005", "tt0000006")})
KNOWN = {"demo": {"demo": SPLIT.sha256, "two": TWO_SPLIT.sha256}}
CODE = {"git": "v0.1.0-1-gabcdef0", "commit": "a" * 40, "dirty": False, "package": "0.1.0"}
HW = {"device": "cpu", "cpu": "Test CPU (2 cores)", "gpu": None, "torch": "2.14.1"}
HEAD_TAIL = {"k": 6, "head": list(GENRES[:6]), "tail": list(GENRES[-6:])}
TRAIN_COUNTS = list(range(23, 0, -1))  # Drama most frequent ... Film-Noir least: the sets of HEAD_TAIL


def build(model: str = "gmu", per_seed=(), **kw) -> dict:
    return make_result(
        dataset="demo", dataset_version="1", split=kw.pop("split", SPLIT), model=model, config={"hidden": 64},
        encoder="hash:64", encoder_version="1", kg=None, per_seed=list(per_seed),
        timings={"train": 1.0}, threshold_policy="fixed", head_tail=HEAD_TAIL, code=CODE, hardware=HW, created="2026-11-25T12:00:00Z", **kw,
    )  # fmt: skip


def problems_of(rec: dict) -> list[str]:
    return validate.validate_record(rec, known=KNOWN)


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


# ----------------------------------------------------------------------------- predictions in the record

IDS = ["tt0000005", "tt0000006", "tt0000007"]


def labelled(rng: np.random.Generator, n: int = 3) -> np.ndarray:
    labels = (rng.random((n, 23)) < 0.3).astype(np.int8)
    labels[:, 0] = 1  # every movie has a genre
    return labels


def with_predictions(model: str = "gmu", seeds=(0, 1, 2), *, rng_seed: int = 0, labels=None, ids=IDS, **kw) -> dict:
    """A record whose per-seed metrics are scored from its stored decisions, as the harness writes it."""
    rng = np.random.default_rng(rng_seed)
    labels = labelled(np.random.default_rng(99), len(ids)) if labels is None else labels
    per_seed = []
    for s in seeds:
        decided = (rng.random(labels.shape) < 0.4).astype(np.int8)
        per_seed.append({**scored(labels, decided, s), "predictions": decided})
    return build(model, per_seed, test_labels=labels, test_ids_sha256=ordered_ids_sha256(ids), **kw)


def test_make_result_stores_the_decisions_packed_per_seed_and_the_labels_once():
    rec = with_predictions()
    labels = labelled(np.random.default_rng(99))
    assert rec["test_labels"] == {"n_movies": 3, "ids_sha256": ordered_ids_sha256(IDS), "packed": pack_bits(labels)}
    assert len(rec["test_labels"]["packed"]) == 12  # 3 x 23 = 69 bits -> 9 bytes -> 12 base64 characters
    stored = read_predictions(rec)
    np.testing.assert_array_equal(stored.labels, labels)
    assert stored.seeds.shape == (3, 3, 23) and stored.ids_sha256 == ordered_ids_sha256(IDS)
    assert all(isinstance(e["predictions"], str) and len(e["predictions"]) == 12 for e in rec["per_seed"])
    assert problems_of(rec) == []
    assert "test_labels" not in build(per_seed=[scored(labels, labels)])  # optional: absent without predictions


def test_make_result_wants_predictions_all_or_none():
    labels = labelled(np.random.default_rng(0))
    entry = {**scored(labels, labels), "predictions": labels}
    with pytest.raises(ResultError, match="all or none"):
        build(per_seed=[entry, scored(labels, labels, 1)], test_labels=labels, test_ids_sha256="0" * 64)
    with pytest.raises(ResultError, match="all or none"):
        build(per_seed=[entry])  # no labels
    with pytest.raises(ResultError, match=r"predictions of seed 0 must have shape \(3, 23\)"):
        build(per_seed=[{**entry, "predictions": labels[:2]}], test_labels=labels, test_ids_sha256="0" * 64)
    with pytest.raises(ResultError, match="only 0 and 1"):
        build(per_seed=[{**entry, "predictions": labels * 2}], test_labels=labels, test_ids_sha256="0" * 64)


def test_old_records_without_predictions_stay_valid():
    schema = load_schema()
    assert "test_labels" not in schema["required"] and "predictions" not in schema["properties"]["per_seed"]["items"]["required"]
    assert "macro_present" not in schema["$defs"]["metrics"]["required"]
    old = build(per_seed=[{"seed": 0, "metrics": {**{k: 0.5 for k in SCALAR_METRICS}, "per_genre": dict.fromkeys(GENRES, 0.5)}, "best_epoch": 1}])
    assert problems_of(old) == []


def test_merge_keeps_each_seeds_predictions_on_the_same_movies():
    cells = [with_predictions(seeds=(s,), rng_seed=s) for s in (2, 0, 1)]
    merged = merge_results(cells)
    assert [e["seed"] for e in merged["per_seed"]] == [0, 1, 2]
    assert merged["test_labels"] == cells[0]["test_labels"]
    assert [e["predictions"] for e in merged["per_seed"]] == [cells[i]["per_seed"][0]["predictions"] for i in (1, 2, 0)]
    assert problems_of(merged) == []


def test_merge_drops_predictions_on_other_movies_or_from_old_cells_and_refuses_other_labels():
    a = with_predictions(seeds=(0,))
    redrawn = with_predictions(seeds=(1,), ids=["tt0000009", "tt0000006", "tt0000005"])  # authors' protocol: another test draw
    merged = merge_results([a, redrawn])
    assert "test_labels" not in merged and not any("predictions" in e for e in merged["per_seed"])
    assert problems_of(merged) == []
    assert "predictions" in a["per_seed"][0]  # the cells themselves are left alone
    labels = labelled(np.random.default_rng(99))
    old = build(per_seed=[scored(labels, labels, 1)])  # a cell cached before predictions were stored
    assert "test_labels" not in merge_results([a, old])
    other_labels = with_predictions(seeds=(1,), labels=1 - labelled(np.random.default_rng(99)))
    with pytest.raises(ResultError, match="different test_labels"):
        merge_results([a, other_labels])


def test_a_record_with_predictions_stays_far_below_the_size_cap():
    """3 seeds on realdev's 240 test movies: ~3.7 KB of predictions; the 10,000-movie estimate: ~153 KB."""
    ids = [f"tt{i:07d}" for i in range(1, 241)]
    rec = with_predictions(ids=ids, labels=labelled(np.random.default_rng(1), 240))
    size = len(json.dumps(rec, indent=2).encode())
    without = len(json.dumps(build(per_seed=[{k: v for k, v in e.items() if k != "predictions"} for e in rec["per_seed"]]), indent=2).encode())
    assert size - without < 4 * (packed_length(240, 23) + 100)  # 3 seeds + labels: 4 x 920 characters and their keys
    assert size < MAX_RESULT_BYTES / 50
    assert 4 * packed_length(10_000, 23) < MAX_RESULT_BYTES / 6  # 10,000 movies: 4 x 38,336 characters


# ----------------------------------------------------------------------------- the validator recomputes the scores


def forged(**changes) -> dict:
    """A record whose seed 0 claims other scores than its stored decisions give, the aggregate made to fit."""
    honest = with_predictions()
    per_seed = []
    for e in honest["per_seed"]:
        stored = read_predictions(honest)
        metrics = dict(e["metrics"])
        if e["seed"] == 0:
            metrics.update(changes)
        per_seed.append({"seed": e["seed"], "metrics": metrics, "best_epoch": 1, "predictions": stored.seeds[e["seed"]]})
    return build(per_seed=per_seed, test_labels=stored.labels, test_ids_sha256=stored.ids_sha256)


def test_validator_recomputes_each_seeds_scores_from_its_predictions():
    honest = with_predictions()
    assert problems_of(honest) == []
    macro = honest["per_seed"][0]["metrics"]["macro"]
    assert problems_of(forged(macro=macro + 0.1)) == [
        f"per_seed/0/metrics/macro: {macro + 0.1!r} is not the score of this seed's stored predictions ({macro:.6g})"
    ]
    assert problems_of(forged(macro=macro + 1e-7)) == []  # within the tolerance
    genre = dict(honest["per_seed"][0]["metrics"]["per_genre"], Drama=1.0)
    assert any(p.startswith("per_seed/0/metrics/per_genre/Drama: 1.0 is not the F1") for p in problems_of(forged(per_genre=genre)))
    support = dict(honest["per_seed"][0]["metrics"]["support"], War=999)
    assert any(p.startswith("per_seed/0/metrics/support/War: 999 is not") for p in problems_of(forged(support=support)))
    for key in ("micro", "weighted", "samples", "head", "tail", "macro_present", "tail_present"):
        value = honest["per_seed"][0]["metrics"][key]
        assert any(p.startswith(f"per_seed/0/metrics/{key}: ") for p in problems_of(forged(**{key: 1.0 if value < 0.5 else 0.0}))), key
    assert any(p.startswith("per_seed/0/metrics/n_present: ") for p in problems_of(forged(n_present=23)))


def test_without_head_tail_sets_head_and_tail_are_not_recomputed():
    rec = forged(head=0.99)
    rec["head_tail"] = None
    assert problems_of(rec) == []


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda r: r["test_labels"].update(packed=r["test_labels"]["packed"][:-4]), "test_labels/packed: 8 base64 characters; a 3 x 23 bit matrix takes 12"),
        (lambda r: r["per_seed"][1].update(predictions="////////////"), "per_seed/1/predictions: padding bits after the matrix are not zero"),
        (lambda r: r["per_seed"][2].pop("predictions"), "per_seed/2/predictions: missing: with test_labels every seed stores its predictions"),
        (lambda r: r.pop("test_labels"), "per_seed/0/predictions: stored without the record's test_labels"),
        (lambda r: r["test_labels"].update(n_movies=4), "test_labels/packed: 12 base64 characters; a 4 x 23 bit matrix takes 16"),
        (lambda r: r["test_labels"].update(packed="<script>"), "test_labels/packed: '<script>' does not match"),
    ],
)
def test_validator_names_unreadable_predictions(edit, expected):
    rec = with_predictions()
    edit(rec)
    problems = problems_of(rec)
    assert any(p.startswith(expected) for p in problems), problems


# ----------------------------------------------------------------------------- intervals and ties in the tables

# Two test movies: m0 {Drama}, m1 {Comedy} (2 of 23 genres present). Rows, three identical seeds each:
#   perfect  m0 {Drama} m1 {Comedy}: macro present 1 in every resample -> 100.00 [100.00, 100.00], the best
#   half     m0 {Drama} m1 {}      : 1 (m0 drawn twice, p 1/4), 0 (m1 twice, 1/4), 0.5 (one each, 1/2)
#                                    -> 50.00 [0.00, 100.00]; minus perfect: 0, -1, -0.5 -> -50.00 [-100.00, +0.00]: tied
#   nothing  no genre predicted    : 0 -> 0.00 [0.00, 0.00]; minus perfect: -1 always -> apart
TWO = np.zeros((2, 23), dtype=np.int8)
TWO[0, 0] = TWO[1, 1] = 1
HALF = TWO.copy()
HALF[1, 1] = 0


def row(model: str, decided: np.ndarray, ids=IDS[:2], **kw) -> dict:
    per_seed = [{**scored(TWO, decided, s), "predictions": decided} for s in (0, 1, 2)]
    return build(model, per_seed, test_labels=TWO, test_ids_sha256=ordered_ids_sha256(ids), split=TWO_SPLIT, **kw)


def test_row_intervals_and_verdicts_on_hand_enumerated_resamples():
    from leaderboard.uncertainty import BEST, NONE, TIED, marks, present_label, row_interval

    perfect, half, nothing = row("gmu", TWO), row("idkg", HALF), row("concat", np.zeros_like(TWO))
    old = build("late-fusion", [scored(TWO, TWO)])  # no stored predictions
    assert (row_interval(half).estimate, row_interval(half).low, row_interval(half).high) == (0.5, 0.0, 1.0)
    m = marks([half, old, perfect, nothing])
    assert [x.mark for x in m] == [TIED, NONE, BEST, ""]
    assert (m[0].versus.estimate, m[0].versus.low, m[0].versus.high) == (-0.5, -1.0, 0.0)
    assert (m[3].versus.low, m[3].versus.high) == (-1.0, -1.0)
    assert m[1].interval is None and m[1].versus is None
    assert present_label([half, old]) == "2/23" and present_label([old]) == ""
    alone = marks([half, old])  # one row with predictions: nothing to compare it with
    assert [x.mark for x in alone] == [NONE, NONE] and alone[0].interval == row_interval(half)
    elsewhere = row("idkg", HALF, ids=["tt0000009", "tt0000005"])  # other test movies: not paired with the best
    assert [x.mark for x in marks([perfect, elsewhere])] == [BEST, NONE]


def test_tables_show_the_interval_the_best_row_and_ties_instead_of_bold():
    from leaderboard import render

    old = build("late-fusion", [scored(TWO, HALF)], split=TWO_SPLIT)  # no stored predictions
    records = [row("gmu", TWO), row("idkg", HALF), row("concat", np.zeros_like(TWO)), old]
    assert all(problems_of(r) == [] for r in records)
    readme = render.render_files(records, KNOWN)["README.md"].decode()
    table = readme.split("#### Main comparison (Table 2)\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert table[0].startswith("| Model | Tuning | Micro-F1 | Macro-F1 | Weighted-F1 | Samples-F1 | Head | Tail | Macro-F1 present (2/23) [95% CI] | vs best: Δ [95% CI] | Seeds |")
    cells = {line.split(" | ")[0][2:]: line.split(" | ")[8:10] for line in table[2:]}
    assert cells == {
        "gmu": ["100.00 [100.00, 100.00]", "**best**"],
        "idkg": ["50.00 [0.00, 100.00]", "≈ -50.00 [-100.00, +0.00]"],
        "late-fusion": ["—", "—"],
        "concat": ["0.00 [0.00, 0.00]", "-100.00 [-100.00, -100.00]"],
    }
    assert "**" not in "".join(line.split(" | ", 7)[0] + "".join(line.split(" | ")[1:7]) for line in table[2:])  # no score bolded
    reading = readme.split("## Reading the tables", 1)[1]
    for words in ("genres present in the test part", "1,000 resamples", "95% percentile bootstrap", "tied with best", "≈", "counts 0"):
        assert words in reading, words


def test_the_harness_table_shows_macro_present_with_its_interval():
    from benchmarks.harness import format_table

    text = format_table([row("idkg", HALF), build("late-fusion", [scored(TWO, HALF)])], dataset_name="demo")
    header, rule, half, old = text.splitlines()[1:5]
    assert "macro present [95% CI]" in header
    start = header.index("macro present [95% CI]")
    assert half[start:].startswith("0.5000 [0.0000, 1.0000] (2/23)")  # the hand-enumerated interval above
    assert old[start:].startswith("— ")
