"""The paper's experiments as data: one definition plans the runs and lays out the table."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from benchmarks.spec import RunSpec
from idkg.inputs import InputSpec
from leaderboard.experiments import (
    EXPERIMENTS,
    Column,
    Experiment,
    Row,
    Variant,
    experiment,
    experiments,
    sweep_keys,
)
from mmimdb2.registry import UnknownNameError


def suite_cells(name: str) -> list:
    """What ``--suite NAME`` plans (aliases resolved, duplicates dropped)."""
    return RunSpec(experiment=name).variants()


def _record(model: str, config: dict | None = None, kg: str | None = "RotatE") -> dict:
    return {"model": {"name": model, "config": config or {}}, "kg": None if kg is None else {"model": kg}}


def test_each_suite_plans_exactly_the_rows_of_its_experiment():
    assert tuple(EXPERIMENTS.names()) == ("table2", "table3", "table4", "table5", "tau") == tuple(e.name for e in experiments())
    for name in EXPERIMENTS.names():
        assert suite_cells(name) == [row.variant for row in experiment(name).rows], name


#: Feature widths to build the planned models from; the genre entities' vectors tell KG-initialised anchors apart.
INPUTS = InputSpec(16, 12, 8, genre_embeddings=torch.randn(23, 8, generator=torch.Generator().manual_seed(0)),
                   mean_kg_count=2.0, mean_kg_degree=6.0)  # fmt: skip


def planned(name: str) -> list[tuple[str, dict]]:
    """(row label, resolved cell spec) for each cell ``--suite NAME`` plans, in row order."""
    spec = RunSpec(experiment=name)
    return [(row.label, spec.cell_spec(cell)) for row, cell in zip(experiment(name).rows, spec.variants(), strict=True)]


def parts(cell_spec) -> set[str]:
    """The paper's components of the model a planned cell trains, read off the built model."""
    from baselines.gmu import GMUFusion
    from benchmarks.registry import build_model

    model = build_model(cell_spec.model, INPUTS, **cell_spec.config)
    out = {"GMU" if isinstance(model.fusion, GMUFusion) else "attention"}
    out |= {"F^K"} if "kg" in model.modalities else set()
    out |= {type(model.contrastive).__name__} if model.contrastive is not None else set()
    out |= {"teacher"} if model.use_teacher else set()
    kg_anchors = model.genre_anchors is not None and torch.equal(model.genre_anchors.detach(), INPUTS.genre_embeddings)
    return out | ({"KG anchors"} if kg_anchors else set())


def as_run_alone(name: str, cell_spec) -> bool:
    """Whether a suite's cell is what ``--models NAME`` runs (its spec and cache key, but for the suite's name)."""
    alone = RunSpec(models=(name,))
    return dataclasses.replace(cell_spec, experiment=None) == alone.cell_spec(alone.variants()[0])


def test_table3_adds_one_component_per_row_as_the_built_models_show():
    """The paper's ablations, cumulative: text + image, then + F^K, + G-CACL, + the attention
    teacher (IDKG), for attention fusion; GMU, + F^K, + G-CACL for GMU fusion."""
    rows = [parts(cs) for _, cs in planned("table3")]
    attention, gmu = rows[:4], rows[4:]
    assert attention[0] == {"attention"} and gmu[0] == {"GMU"}
    assert [b - a for a, b in zip(attention, attention[1:])] == [{"F^K"}, {"GCACL", "KG anchors"}, {"teacher"}]
    assert [b - a for a, b in zip(gmu, gmu[1:])] == [{"F^K"}, {"GCACL", "KG anchors"}]
    assert all(a <= b for chain in (attention, gmu) for a, b in zip(chain, chain[1:]))  # nothing is taken away
    assert attention[-1] == parts(planned("table5")[0][1])  # the chain ends at IDKG itself


def test_table4_trains_idkg_on_each_of_the_papers_kg_models_and_nothing_else_differs():
    rows = planned("table4")
    assert [cs.kg.embedding.model for _, cs in rows] == [label for label, _ in rows]
    assert {cs.kg.embedding.model for _, cs in rows} == {"RotatE", "TransH", "TransR", "TransD", "ComplEx", "ConvE"}
    rest = [dataclasses.replace(cs, kg=dataclasses.replace(cs.kg, embedding=dataclasses.replace(cs.kg.embedding, model="x")))
            for _, cs in rows]  # fmt: skip
    assert all(r == rest[0] for r in rest) and rows[0][1].model == "idkg"


def test_table5_swaps_only_the_contrastive_loss_or_its_anchors_of_idkg():
    rows = [parts(cs) for _, cs in planned("table5")]
    idkg = rows[0]
    assert idkg == {"attention", "F^K", "GCACL", "KG anchors", "teacher"}
    assert [row ^ idkg for row in rows[1:]] == [
        {"KG anchors"}, {"GCACL", "MulCon"}, {"GCACL", "MCL"}, {"GCACL", "MLTC"}, {"GCACL", "CGMVAE"},
    ]  # fmt: skip


def test_tau_sweeps_the_contrastive_temperature_of_idkg_alone():
    rows = planned("tau")
    temperatures = [cs.config["temperature"] for _, cs in rows]
    assert temperatures == [float(label) for label, _ in rows] == sorted(set(temperatures))
    idkg = {**planned("table5")[0][1].config, "temperature": None}
    assert all(cs.model == "idkg" and {**cs.config, "temperature": None} == idkg for _, cs in rows)


def test_table2_runs_each_model_as_models_runs_it():
    rows = planned("table2")
    assert len({cs.model for _, cs in rows}) == len(rows)
    assert all(as_run_alone(label, cs) for label, cs in rows)  # so a suite reuses the cells --models made


def test_suite_cells_are_copies_and_unknown_suites_are_one_line():
    suite_cells("tau")[0].config["temperature"] = 99.0
    assert experiment("tau").rows[0].variant.config == {"temperature": 0.05}
    with pytest.raises(UnknownNameError, match="unknown experiment 'table9'. Did you mean 'table5'"):
        suite_cells("table9")
    with pytest.raises(UnknownNameError, match="Did you mean 'table4'"):
        experiment("table44")


def test_definitions_say_title_labels_columns_and_sweep():
    t4 = experiment("table4")
    assert (t4.title, t4.first_column, [r.label for r in t4.rows][:2]) == ("KG embedding models (Table 4)", "KG model", ["RotatE", "TransH"])
    assert [c.header for c in t4.columns][:4] == ["Tuning", "Dim", "Epochs", "Hits@10 (held-out triples of the train-only movie KG)"]
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
    row = Row(Variant("idkg"), "IDKG")
    with pytest.raises(ValueError, match="no rows"):
        Experiment("x", "X", ())
    with pytest.raises(ValueError, match="unknown column keys"):
        Experiment("x", "X", (row,), columns=(Column("nope", "Nope"),))
    with pytest.raises(ValueError, match="one variant twice"):
        Experiment("x", "X", (row, Row(Variant("idkg"), "again")))
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
