"""A model of one's own (torch module or scikit-learn estimator) through the built-in harness:
``benchmarks.evaluate``, ``--models package.module:Name``, the README's example, and what the
result records, validates and renders."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
FAST_KG = {"epochs": 1, "dim": 16}


class TinyNet(nn.Module):
    """A model of one's own: built from the InputSpec, logits from the batch dict."""

    def __init__(self, spec, hidden: int = 8):
        super().__init__()
        self.lin = nn.Sequential(nn.Linear(spec.text_dim + spec.image_dim, hidden), nn.ReLU(), nn.Linear(hidden, spec.num_genres))

    def forward(self, batch):
        return self.lin(torch.cat([batch["text"], batch["image"]], dim=1))


class WrongShape(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.lin = nn.Linear(spec.text_dim, 3)

    def forward(self, batch):
        return self.lin(batch["text"])


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory) -> Path:
    from mmimdb2.demo import generate

    return generate(tmp_path_factory.mktemp("demo") / "demo", n_movies=160, seed=1)


@pytest.fixture(scope="module")
def evaluated(small_demo, tmp_path_factory):
    """One torch module and one estimator instance, each run once by ``benchmarks.evaluate``."""
    from sklearn.neighbors import KNeighborsClassifier

    import benchmarks

    out = tmp_path_factory.mktemp("runs")
    common = dict(dataset=str(small_demo), seeds=[0, 1], encoder="weightfree", kg=FAST_KG, out=out, progress=False)
    torch_records = benchmarks.evaluate(TinyNet, train={"epochs": 2}, **common)
    knn_records = benchmarks.evaluate(KNeighborsClassifier(n_neighbors=3), **common)
    return out, torch_records, knn_records


def test_evaluate_records_the_import_path_parameters_and_code_version(evaluated):
    out, (tiny,), (knn,) = evaluated
    assert tiny["model"]["name"] == "test_own_model:TinyNet"
    assert tiny["model"]["config"]["hidden"] == 8 and tiny["model"]["config"]["epochs"] == 2
    assert re.fullmatch(r"sha256:[0-9a-f]{16}", tiny["model"]["config"]["code_version"])
    assert tiny["seeds"] == [0, 1] and all(e["best_epoch"] in (1, 2) for e in tiny["per_seed"])
    assert knn["model"]["name"] == "sklearn.neighbors:KNeighborsClassifier"  # the shortest importing package
    config = knn["model"]["config"]
    assert config["n_neighbors"] == 3 and config["weights"] == "uniform"  # get_params(), defaults included
    assert config["code_version"].startswith("scikit-learn ") and config["features"] == ["text", "image", "kg", "people"]
    assert knn["spec"]["train"] == {"threshold": "global"}  # its own parameters rule its fitting
    assert knn["spec"]["model"] == knn["model"]["name"] and tiny["spec"]["config"]["hidden"] == 8
    assert knn["code_version"]["package"]  # the project's code version, as for every result
    for r in (tiny, knn):
        assert 0.0 < r["aggregate"]["mean"]["macro"] < 1.0
    # the same harness path: written like a built-in model's result, and a rerun is a cache hit
    assert len(list((out / "results").glob("*.json"))) == 2


def test_evaluated_results_validate_and_render_like_built_in_ones(evaluated, small_demo, tmp_path):
    import mmimdb2
    from leaderboard import render, validate
    from leaderboard.markdown import md
    from leaderboard.results import submit_result

    _, (tiny,), (knn,) = evaluated
    split = mmimdb2.load(small_demo).split
    lb = tmp_path / "lb"
    lb.mkdir()
    (lb / "splits.json").write_text(json.dumps({"demo": {split.name: split.sha256}}))
    for r in (tiny, knn):
        submit_result(r, lb)
    assert validate.main(["--leaderboard-dir", str(lb)]) == 0
    readme = render.render(lb)["README.md"].decode()
    assert md("test_own_model:TinyNet") in readme and md("sklearn.neighbors:KNeighborsClassifier") in readme  # as names are escaped


def test_readme_example_runs_verbatim(small_demo, tmp_path):
    """The README's "Evaluate your own model" code block, run as a script on a 160-movie demo."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Evaluate your own model", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    # the one setting changed: a 160-movie demo folder instead of the 3,000 movies (with the demo's
    # own encoder, which a folder does not default to) and a one-epoch KG embedding
    assert code.count('dataset="demo"') == 1
    small = f'dataset={str(small_demo)!r}, encoder="weightfree", kg={FAST_KG!r}'
    (tmp_path / "example.py").write_text(code.replace('dataset="demo"', small))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    names = [line.split()[0] for line in res.stdout.splitlines()]
    assert names == ["__main__:TinyNet", "sklearn.neighbors:KNeighborsClassifier"]
    assert all(re.search(r"macro-F1 0\.\d{3}$", line) for line in res.stdout.splitlines())
    assert len(list((tmp_path / "runs" / "results").glob("*.json"))) == 2


def test_cli_runs_an_import_path_with_set(small_demo, tmp_path, capsys):
    from benchmarks.run import main
    from leaderboard.results import read_result

    args = ["--dataset", str(small_demo), "--encoder", "weightfree", "--kg-epochs", "1", "--kg-dim", "16", "--no-progress", "--out", str(tmp_path)]
    assert main(["--models", "sklearn.neighbors:KNeighborsClassifier", "--set", "n_neighbors=4", "--drop", "kg", *args]) == 0
    table = capsys.readouterr().out
    assert "sklearn.neighbors:KNeighborsClassifier (drop kg)" in table
    (path,) = (tmp_path / "results").glob("*.json")
    record = read_result(path)
    assert record["model"]["config"]["n_neighbors"] == 4 and record["drop"] == "kg"
    assert ":" not in path.name  # file names stay portable


@pytest.mark.parametrize(
    ("model", "error"),
    [
        ("nosuch_module_x:Model", "error: model 'nosuch_module_x:Model': cannot import module 'nosuch_module_x'"),
        ("sklearn.neighbors:NoSuchThing", "error: model 'sklearn.neighbors:NoSuchThing': module 'sklearn.neighbors' has no attribute 'NoSuchThing'"),
        ("os:sep", "error: model 'os:sep' is a str: give a torch nn.Module class or factory taking the InputSpec"),
        ("sklearn.ensemble:BaggingClassifier", None),  # constructible, every default recordable
        ("a b:c", "error: model 'a b:c': an import path must be 'package.module:Name'"),
    ],
)
def test_cli_refuses_a_bad_import_path_in_one_line_before_reading_data(model, error, tmp_path, capsys):
    from benchmarks.run import main

    assert main(["--models", model, "--dataset", str(tmp_path / "absent"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    if error is None:  # a good name gets past planning: only the missing dataset stops it
        assert not err.startswith("error: model") and "absent" in err
        return
    assert err.startswith(error) and len(err.splitlines()) == 1


def test_list_models_names_only_registered_models(capsys):
    from benchmarks.registry import available_models
    from benchmarks.run import main

    assert main(["--list-models"]) == 0
    assert capsys.readouterr().out.split() == available_models()


def test_what_a_result_cannot_record_is_refused_in_one_line(tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import benchmarks

    class Local(nn.Module):
        pass

    cases = [
        (make_pipeline(StandardScaler(), LogisticRegression()), r"Pipeline's parameter\(s\) \['steps'\] are not values a result can record: make it a module-level name"),
        (Local, "is not defined at module level"),
        (TinyNet(type("S", (), {"text_dim": 2, "image_dim": 2, "num_genres": 23})()), "cannot evaluate a TinyNet"),
    ]
    for model, why in cases:
        with pytest.raises(ValueError, match=why):
            benchmarks.evaluate(model, dataset=str(tmp_path / "absent"), out=tmp_path)
    with pytest.raises(ValueError, match=r"--set width: no planned model \(test_own_model:TinyNet\) has such a setting"):
        from benchmarks.spec import RunSpec

        RunSpec(models=("test_own_model:TinyNet",), overrides={"width": 3}).variants()


def test_logits_of_the_wrong_shape_are_one_line():
    from benchmarks.imported import build
    from idkg.inputs import InputSpec

    model = build("test_own_model:WrongShape", InputSpec(text_dim=4, image_dim=4, kg_dim=4), seed=0)
    batch = {"text": torch.zeros(5, 4)}
    with pytest.raises(ValueError, match=r"returned logits of shape \(5, 3\); expected \(5, 23\)"):
        model.loss(batch, torch.zeros(5, 23))


def test_a_torch_model_is_built_under_its_seed():
    from benchmarks.imported import build
    from idkg.inputs import InputSpec

    spec = InputSpec(text_dim=4, image_dim=4, kg_dim=4)
    a, b, c = (build("test_own_model:TinyNet", spec, seed=s) for s in (0, 0, 1))
    assert torch.equal(a.net.lin[0].weight, b.net.lin[0].weight) and not torch.equal(a.net.lin[0].weight, c.net.lin[0].weight)


def test_the_terminal_table_labels_a_dropped_modality():
    """The terminal table labels rows as the leaderboard does (one table model): a row scored
    without a modality is never to be read as the full model's row."""
    from benchmarks.harness import format_table
    from tests.test_leaderboard import record

    records = [record("idkg", (0.5,)), record("idkg", (0.5,), drop="kg"), record("idkg", (0.5,), drop="poster")]
    rows = format_table(records, dataset_name="demo").splitlines()[3:]
    labels = [re.split(r"\s{2,}", row)[0] for row in rows]
    assert labels == ["idkg", "idkg (drop kg)", "idkg (drop poster)"]
