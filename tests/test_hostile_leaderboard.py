"""Leaderboard files a hostile or careless submitter could write: each refused in one line before
it reaches a table, a file name, the page or the CSV (issue: reliability round 3)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from leaderboard.frame import frame, write_csv
from leaderboard.results import ResultError, read_result
from tests.test_leaderboard import problems_of, record


@pytest.mark.parametrize(
    "recipe, words",
    [
        (["tuned"], "is not of type 'string'"),
        ({"name": "tuned"}, "is not of type 'string'"),
        (3, "is not of type 'string'"),
        ("x" * 300, "is too long"),
        ("tuned\u202e", "is not a plain name"),
        ("tuned\u2066", "is not a plain name"),
        ("tuned\x1b[31m", "is not a plain name"),
        ("tuned\x07", "is not a plain name"),
    ],
)
def test_a_recipe_that_is_not_a_short_plain_name_is_refused(recipe, words):
    rec = record(spec={"recipe": recipe}, validate=False)
    problems = problems_of(rec)
    assert any(p.startswith("spec/recipe: ") and (words in p or "does not match" in p) for p in problems), problems


def test_csv_cells_a_spreadsheet_would_run_are_neutralised(tmp_path):
    rec = record()
    rec["hardware"]["cpu"] = "=1+2"
    rec["encoder"]["version"] = "@SUM(1+1)"
    assert problems_of(rec) == []  # these characters are allowed text: the CSV is what must not run them
    path = write_csv(frame([rec]), tmp_path / "rows.csv")
    (row,) = list(csv.DictReader(path.open(encoding="utf-8")))
    assert row["hardware"] == "'=1+2" and row["encoder_version"] == "'@SUM(1+1)"
    assert row["macro_mean"] and not row["macro_mean"].startswith("'")  # numbers stay numbers


def test_a_key_given_twice_is_refused_not_last_wins(tmp_path):
    text = json.dumps(record(), indent=1)
    path = tmp_path / "dup.json"
    path.write_text(text.replace('"micro":', '"micro": 0.99, "micro":', 1))
    with pytest.raises(ResultError, match=r"the key 'micro' appears twice in one object"):
        read_result(path)


def test_a_date_in_other_digits_is_refused():
    rec = record(created="٢٠٢٦-١١-٢٥T12:00:00Z", validate=False)  # Arabic-Indic digits: int() would read them
    assert any(p.startswith("created: ") for p in problems_of(rec))


def test_validate_names_a_missing_folder_and_warns_nothing(tmp_path):
    missing = subprocess.run([sys.executable, "-W", "error", "-m", "leaderboard.validate", "--leaderboard-dir", str(tmp_path / "no")],
                             capture_output=True, text=True, cwd=Path(__file__).parents[1])  # fmt: skip
    assert missing.returncode == 2 and missing.stderr.strip() == f"error: --leaderboard-dir {tmp_path / 'no'} is not a folder"
    ok = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-m", "leaderboard.validate"], capture_output=True, text=True,
                        cwd=Path(__file__).parents[1])  # fmt: skip
    assert ok.returncode == 0 and "RuntimeWarning" not in ok.stderr and ok.stdout.startswith("ok: ")
