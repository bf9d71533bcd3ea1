"""The paper's experiments as data: one definition plans the runs and lays out the table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.spec import RunSpec
from leaderboard.experiments import (
    EXPERIMENTS,
    Cell,
    Column,
    Experiment,
    Row,
    experiment,
    experiments,
    sweep_keys,
)
from mmimdb2.registry import UnknownNameError


def suite_cells(name: str) -> list:
    """What ``--suite NAME`` plans (aliases resolved, duplicates dropped)."""
    return RunSpec(experiment=name).cells()


def _record(model: str, config: dict | None = None, kg: str | None = "RotatE") -> dict:
    return {"model": {"name": model, "config": config or {}}, "kg": None if kg is None else {"model": kg}}


def test_each_suite_plans_exactly_the_rows_of_its_experiment():
    assert tuple(EXPERIMENTS.names()) == ("table2", "table3", "table4", "table5", "tau") == tuple(e.name for e in experiments())
    for name in EXPERIMENTS.names():
        assert suite_cells(name) == [row.cell for row in experiment(name).rows], name


def test_suites_keep_the_cells_they_had():
    assert [c.model for c in suite_cells("table2")] == ["late-fusion", "concat", "gmu", "gmu-3", "centralnet", "idkg-gmu", "idkg"]
    assert [(c.model, c.config) for c in suite_cells("table3")] == [
        ("idkg-no-kg", {"use_gcacl": False}), ("idkg-no-gcacl", {"use_teacher": False}), ("idkg-no-at", {}),
        ("idkg", {}), ("gmu", {}), ("gmu-3", {}), ("idkg-gmu", {}),
    ]  # fmt: skip
    assert [(c.model, c.kg_model) for c in suite_cells("table4")] == [
        ("idkg", k) for k in ("RotatE", "TransH", "TransR", "TransD", "ComplEx", "ConvE")
    ]
    assert [c.model for c in suite_cells("table5")] == ["idkg", "idkg-random-anchors", "idkg-mulcon", "idkg-mcl", "idkg-mltc", "idkg-cgmvae"]
    assert [c.config for c in suite_cells("tau")] == [{"temperature": t} for t in (0.05, 0.1, 0.3, 0.5, 0.7, 0.9)]


def test_suite_cells_are_copies_and_unknown_suites_are_one_line():
    suite_cells("tau")[0].config["temperature"] = 99.0
    assert experiment("tau").rows[0].cell.config == {"temperature": 0.05}
    with pytest.raises(UnknownNameError, match="unknown experiment 'table9'. Did you mean 'table5'"):
        suite_cells("table9")
    with pytest.raises(UnknownNameError, match="Did you mean 'table4'"):
        experiment("table44")


def test_definitions_say_title_labels_columns_and_sweep():
    t4 = experiment("table4")
    assert (t4.title, t4.first_column, [r.label for r in t4.rows][:2]) == ("KG embedding models (Table 4)", "KG model", ["RotatE", "TransH"])
    assert [c.header for c in t4.columns][:4] == ["Recipe", "Dim", "Epochs", "Hits@10 (held-out triples of the train-only movie KG)"]
    assert [r.label for r in experiment("table3").rows][:2] == ["text + image, attention fusion", "+ F^K"]
    assert experiment("tau").sweep == "temperature" and sweep_keys() == ("temperature",)
    assert experiment("table2").ranked and not any(e.ranked for e in experiments() if e.name != "table2")
    assert EXPERIMENTS.entry("table3").doc == "Ablations (Table 3)"


def test_a_record_goes_to_its_most_specific_matching_row():
    t3 = experiment("table3")
    assert t3.row_of(_record("idkg-no-gcacl", {"use_teacher": False, "hidden": 8})).label == "+ F^K"
    assert t3.row_of(_record("idkg-no-at", {"use_teacher": False})).label == "+ F^K + G-CACL (IDKG − AT)"
    assert t3.row_of(_record("idkg-no-gcacl", {"use_teacher": True})) is None  # a single removal the table does not show
    assert t3.row_of(_record("idkg-no-kg", {"use_gcacl": True})) is None  # the single removal is not a row
    assert t3.row_of(_record("idkg-no-gcacl")) is None  # "- G-CACL" alone is not a row of the paper's Table 3
    t4 = experiment("table4")
    assert t4.row_of(_record("idkg", kg="TransD")).label == "TransD"
    assert t4.row_of(_record("idkg", kg=None)) is None and t4.row_of(_record("gmu", kg="TransD")) is None
    assert experiment("tau").row_of(_record("idkg", {"temperature": 0.3})).label == "0.3"
    assert experiment("tau").row_of(_record("idkg", {"temperature": 0.2})) is None


def test_bad_definitions_are_refused():
    row = Row(Cell("idkg"), "IDKG")
    with pytest.raises(ValueError, match="no rows"):
        Experiment("x", "X", ())
    with pytest.raises(ValueError, match="unknown column keys"):
        Experiment("x", "X", (row,), columns=(Column("nope", "Nope"),))
    with pytest.raises(ValueError, match="one cell twice"):
        Experiment("x", "X", (row, Row(Cell("idkg"), "again")))
    with pytest.raises(ValueError, match="sweep key"):
        Experiment("x", "X", (row,), sweep="temperature")


def test_the_leaderboard_imports_nothing_from_benchmarks_or_the_models():
    code = (
        "import sys, leaderboard, leaderboard.experiments, leaderboard.render, leaderboard.validate, leaderboard.splits\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('benchmarks', 'idkg', 'baselines', 'torch'))\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
