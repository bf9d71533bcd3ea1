"""benchmarks.board: one command remakes a dataset's leaderboard rows with today's code, replacing
that dataset's files only once every run has finished, and leaves other datasets' rows alone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from benchmarks import board
from benchmarks.board import Board, BoardRun, remake
from leaderboard.splits import add_split

FAST = ["--epochs", "1", "--kg-epochs", "1", "--kg-dim", "8", "--no-progress"]


@pytest.fixture()
def tiny(tmp_path, monkeypatch):
    """A 100-movie demo dataset named ``tinydemo`` with a board of two runs, a private leaderboard holding one stale demo row and one row of another dataset."""
    from mmimdb2 import load
    from mmimdb2.demo.writer import generate

    folder = generate(tmp_path / "tinydemo", n_movies=100, seed=2)
    meta = json.loads((folder / "DATASET.json").read_text())
    (folder / "DATASET.json").write_text(json.dumps({**meta, "name": "tinydemo"}))  # not the registered 3,000-movie demo
    lb = tmp_path / "lb"
    (lb / "submissions").mkdir(parents=True)
    ds = load(folder)
    add_split(ds.name, ds.split.name, ds.split.sha256, lb)
    assert ds.name == "tinydemo"
    monkeypatch.setitem(board.BOARDS._entries, "tinydemo", board.BOARDS.entry("demo").__class__(
        "tinydemo", Board(encoder="weightfree", shipped=str(folder), seeds=(0,), runs=(BoardRun(models=("late-fusion",)),
                      BoardRun(models=("gmu",), drop="kg")), diagnose=(("emap", "--models", "late-fusion"),)),
        kind="leaderboard dataset"))  # fmt: skip
    return folder, lb, ds


def test_remake_replaces_the_datasets_rows_and_renders(tiny, tmp_path):
    folder, lb, ds = tiny
    stale = lb / "submissions" / "tinydemo__old__000000000000.json"
    stale.write_text("{}")  # an old file of the dataset: not a readable result, must not block the remake
    real = next(p for p in sorted(Path("leaderboard/submissions").glob("yts800__gmu__*.json")) if json.loads(p.read_text())["protocol"] == "fixed")
    other = lb / "submissions" / real.name  # another dataset's row stays
    shutil.copy(real, other)
    split = json.loads(real.read_text())["split"]
    add_split("yts800", split["name"], split["sha256"], lb)
    with pytest.raises(ValueError):  # any failure before the replacement leaves the folder as it was
        remake("tinydemo", data=None, out=tmp_path / "runs", leaderboard_dir=lb, extra=[*FAST, "--set", "no_such_setting=1"])
    assert stale.exists()
    written = remake("tinydemo", data=None, out=tmp_path / "runs", leaderboard_dir=lb, extra=FAST)
    names = sorted(p.name for p in (lb / "submissions").glob("*.json"))
    assert len(written) == 2 and not stale.exists() and other.exists()
    assert sorted([other.name, *(p.name for p in written)]) == names
    rows = [json.loads(p.read_text()) for p in written]
    assert {(r["model"]["name"], r["drop"]) for r in rows} == {("late-fusion", None), ("gmu", "kg")}
    assert all(r["spec"]["recipe"] == "tuned" and r["schema_version"] == 2 for r in rows)
    # the board's diagnostics ran on the new rows and were attached to the one they diagnosed
    late, gmu = (next(r for r in rows if r["model"]["name"] == m) for m in ("late-fusion", "gmu"))
    assert late["diagnostics"]["emap"]["method"] == "exact" and "diagnostics" not in gmu
    assert "late-fusion" in (lb / "README.md").read_text()
