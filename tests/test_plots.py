"""The plots people read: the per-genre heatmap, head vs tail (the paper's Fig. 3), the plots a
benchmark run writes, and a private leaderboard folder that needs no copied registry.

The checks read the data a figure draws (its grid, its points, its tick labels and texts), not pixels.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from leaderboard import plots, render, validate
from leaderboard.results import make_result
from leaderboard.rows import labels
from leaderboard.splits import LEADERBOARD_DIR, known_splits, splits_path
from mmimdb2.genres import GENRES
from mmimdb2.metrics import evaluate
from mmimdb2.packing import ordered_ids_sha256
from mmimdb2.splits import Split

IDS = [f"tt{i:07d}" for i in range(10, 30)]
SPLIT = Split("demo", {"train": ("tt0000001", "tt0000002"), "dev": ("tt0000003",), "test": tuple(IDS)})
HEAD_TAIL = {"k": 6, "head": list(GENRES[:6]), "tail": list(GENRES[-6:])}
TRAIN_COUNTS = list(range(23, 0, -1))  # the sets of HEAD_TAIL
CODE = {"git": "v0.1.0", "commit": "a" * 40, "dirty": False, "package": "0.1.0"}
HW = {"device": "cpu", "cpu": "Test CPU (2 cores)", "gpu": None, "torch": "2.14.1"}
#: No test movie is a Western: an absent genre.
ABSENT_GENRE = "Western"


def _labels() -> np.ndarray:
    y = (np.random.default_rng(7).random((len(IDS), 23)) < 0.35).astype(np.int8)
    y[:, 0] = 1
    y[:, GENRES.index(ABSENT_GENRE)] = 0
    return y


def record(model: str, rng_seed: int, seeds=(0, 1), predictions: bool = True) -> dict:
    y = _labels()
    rng = np.random.default_rng(rng_seed)
    per_seed = []
    for s in seeds:
        decided = np.where(rng.random(y.shape) < 0.7, y, 1 - y).astype(np.int8)  # mostly right
        entry = {"seed": s, "metrics": evaluate(y, decided.astype(float), train_label_counts=TRAIN_COUNTS), "best_epoch": 1}
        per_seed.append({**entry, "predictions": decided} if predictions else entry)
    extra = {"test_labels": y, "test_ids_sha256": ordered_ids_sha256(IDS)} if predictions else {}
    return make_result(
        dataset="demo", dataset_version="1", split=SPLIT, model=model, config={"hidden": 64}, encoder="hash:64",
        encoder_version="1", kg=None, per_seed=per_seed, timings={"train": 1.0}, threshold_policy="fixed", head_tail=HEAD_TAIL,
        code=CODE, hardware=HW, created="2026-11-25T12:00:00Z", spec={"recipe": "tuned"}, **extra,
    )  # fmt: skip


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return [record("idkg", 1), record("gmu", 2), record("concat", 3, predictions=False)]


def test_heatmap_has_a_row_per_model_a_column_per_genre_with_support_and_marks_absent_genres(records):
    names = labels(records)
    grid = plots.genre_grid(records, names)
    assert grid.rows == ["idkg", "gmu", "concat"] and grid.f1.shape == (3, 23)
    assert sorted(grid.genres) == sorted(GENRES)
    support = _labels().sum(axis=0)
    want = sorted(GENRES, key=lambda g: (-support[GENRES.index(g)], GENRES.index(g)))
    assert grid.genres == want  # most test positives first
    assert grid.column_labels == [f"{g} (n={support[GENRES.index(g)]})" for g in want]
    for i, r in enumerate(records):
        assert list(grid.f1[i]) == [r["aggregate"]["mean"]["per_genre"][g] for g in grid.genres]
    col = grid.genres.index(ABSENT_GENRE)
    assert grid.absent[:, col].all() and grid.absent.sum() == 3  # only the genre without a test positive
    fig = plots.per_genre_figure(grid, "demo", "mean over 2 seeds")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == grid.rows
    assert [t.get_text() for t in ax.get_xticklabels()] == grid.column_labels
    cells = [t.get_text() for t in ax.texts]
    assert cells.count(plots.ABSENT) == 3 and len(cells) == 3 * 23  # every cell annotated, absent ones marked
    assert "mean over 2 seeds" in ax.get_title(loc="left")


def test_a_record_without_support_leaves_its_cells_unmarked():
    rec = record("gmu", 2)
    for e in rec["per_seed"]:
        del e["metrics"]["support"]
    grid = plots.genre_grid([rec], {id(rec): "gmu"})
    assert not grid.absent.any() and grid.genres == list(GENRES) and grid.column_labels == list(GENRES)


def test_head_tail_values_are_the_records_with_bootstrap_intervals_where_stored(records):
    points = plots.head_tail_points(records, labels(records))
    for p, r in zip(points, records):
        assert (p.head, p.tail) == (r["aggregate"]["mean"]["head"], r["aggregate"]["mean"]["tail"])
    assert points[0].head_ci is not None and points[0].head_ci.low <= points[0].head_ci.high
    assert points[2].head_ci is None and points[2].tail_ci is None  # concat stores no predictions
    fig = plots.head_tail_figure(points, "demo", "mean over 2 seeds", plots.head_tail_sets_text(records))
    drawn = {c.get_label().split()[0]: list(c.lines[0].get_xdata()) for c in fig.axes[0].containers}
    assert drawn == {"head": [100 * p.head for p in points], "tail": [100 * p.tail for p in points]}
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["idkg", "gmu", "concat"]
    assert any(t.get_text() == "head: " + ", ".join(GENRES[:6]) for t in fig.texts)


def test_write_run_plots_writes_one_pair_per_group(records, tmp_path):
    written = plots.write_run_plots(records, tmp_path)
    assert [p.name for p in written] == [f"demo__{SPLIT.sha256[:12]}__fixed__tuned__{k}.png" for k in ("per_genre", "head_tail")]
    assert all(p.parent == tmp_path / "plots" and p.read_bytes().startswith(b"\x89PNG") for p in written)


def test_a_benchmark_run_writes_its_plots_and_prints_where(records, tmp_path, capsys, monkeypatch):
    from benchmarks import harness
    from benchmarks.run import main

    monkeypatch.setattr(harness, "run_benchmark", lambda spec, options: records)  # the training is tested elsewhere
    assert main(["--models", "idkg", "gmu", "concat", "--out", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    pngs = sorted((tmp_path / "plots").glob("*.png"))
    assert len(pngs) == 2 and all(str(p) in out for p in pngs)


def test_a_fresh_private_leaderboard_needs_no_copied_registry(tmp_path, capsys):
    mine = tmp_path / "mine"
    (mine / "submissions").mkdir(parents=True)
    committed = sorted((LEADERBOARD_DIR / "submissions").glob("demo__gmu__*.json"))[0]
    shutil.copy(committed, mine / "submissions" / committed.name)
    assert not splits_path(mine).exists()
    assert known_splits(mine) == known_splits()  # the package's registry
    assert validate.main(["--leaderboard-dir", str(mine)]) == 0
    assert render.main(["--leaderboard-dir", str(mine)]) == 0
    assert (mine / "README.md").is_file() and len(list((mine / "plots").glob("*.png"))) == 2
    assert not splits_path(mine).exists()  # reading wrote nothing
    capsys.readouterr()


def test_adding_a_split_to_a_private_leaderboard_writes_its_own_registry(tmp_path):
    from leaderboard.splits import add_split

    add_split("demo", "mine", SPLIT.sha256, tmp_path)
    own = json.loads(splits_path(tmp_path).read_text())
    assert own["demo"]["mine"] == SPLIT.sha256 and own["yts800"] == json.loads(splits_path(None).read_text())["yts800"]
    assert "mine" not in known_splits()["demo"]  # the package's registry is untouched
