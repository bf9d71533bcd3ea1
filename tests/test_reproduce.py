"""``benchmarks.reproduce``: a row re-run from its file alone, old vs new on the same test movies."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks import reproduce
from benchmarks.spec import DataSpec, EncoderSpec, RunOptions, RunSpec

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    """A demo people-vote row and a torch late-fusion row, two seeds each, as files."""
    from benchmarks.harness import run_benchmark
    from mmimdb2.demo import generate

    demo = generate(tmp_path_factory.mktemp("demo") / "demo", n_movies=120, seed=1)
    spec = RunSpec(models=("people-vote", "late-fusion"), seeds=(0, 1), data=DataSpec(str(demo)), encoder=EncoderSpec("weightfree"),
                   kg={"epochs": 1, "dim": 16}, train={"epochs": 2})  # fmt: skip
    out = tmp_path_factory.mktemp("runs")
    run_benchmark(spec, RunOptions(out=out, progress=False, threads=1))
    return demo, {json.loads(p.read_text())["model"]["name"]: p for p in (out / "results").glob("*.json")}


def test_a_row_is_reproduced_from_its_file_alone_and_says_which_hardware_made_each(rows, capsys):
    _, files = rows
    for model in ("people-vote", "late-fusion"):
        assert reproduce.main([str(files[model]), "--no-progress", "--threads", "1"]) == 0
        out = capsys.readouterr().out
        assert out.rstrip().endswith("reproduced within the interval")
        assert "macro present" in out and "+0.0000 [+0.0000, +0.0000] (paired bootstrap over 36 test movies, seeds pooled)" in out
        assert f"\nold: {reproduce.machine(json.loads(files[model].read_text()))}\n" in out and out.count("\nnew: ") == 1
        assert "seeds 0 1" in out and "resolved otherwise now" not in out


def test_a_fixed_row_made_by_an_authors_protocol_run_is_rerun_under_the_fixed_protocol(rows, tmp_path, capsys):
    """``--protocol authors`` makes a fixed row beside each authors row (the committed realdev board
    does): its spec names the authors' protocol, yet the row, and its re-run, are fixed."""
    _, files = rows
    record = json.loads(files["people-vote"].read_text())
    assert record["protocol"] == "fixed"
    record["spec"]["data"]["protocol"] = "authors"
    spec = reproduce.spec_of(record)
    assert spec.data.protocol == "fixed" and reproduce.spec_changes(record, spec) == []
    assert reproduce.main([str(_write(record, tmp_path / "r.json")), "--no-progress", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("reproduced within the interval") and out.count("\nnew: ") == 1


def _write(record: dict, path: Path) -> Path:
    path.write_text(json.dumps(record))
    return path


def test_a_row_whose_predictions_the_new_run_does_not_reach_is_not_reproduced(rows, tmp_path, capsys):
    from mmimdb2.genres import GENRES
    from mmimdb2.packing import pack_bits

    _, files = rows
    record = json.loads(files["people-vote"].read_text())
    n = record["test_labels"]["n_movies"]
    for entry in record["per_seed"]:  # a row that claims every movie has every genre
        entry["predictions"] = pack_bits(np.ones((n, len(GENRES)), dtype=np.uint8))
    assert reproduce.main([str(_write(record, tmp_path / "r.json")), "--no-progress", "--threads", "1"]) == 1
    assert capsys.readouterr().out.rstrip().endswith("NOT reproduced: the paired interval of new - old excludes 0")


def test_bad_rows_and_other_data_are_one_line(rows, tmp_path, capsys):
    from mmimdb2.demo import generate

    _, files = rows
    record = json.loads(files["people-vote"].read_text())
    del record["spec"]
    assert reproduce.main([str(_write(record, tmp_path / "nospec.json"))]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: the file stores no spec (it predates them): it cannot be re-run from the file alone"
    other = generate(tmp_path / "other", n_movies=120, seed=2)
    assert reproduce.main([str(files["people-vote"]), "--dataset", str(other)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: the dataset found as") and "is not the data" in err and "pass --dataset PATH" in err and len(err.splitlines()) == 1
    record = json.loads(files["people-vote"].read_text())
    del record["per_seed"][0]["predictions"], record["per_seed"][1]["predictions"], record["test_labels"]
    assert reproduce.main([str(_write(record, tmp_path / "nopred.json")), "--no-progress", "--threads", "1"]) == 2
    assert "cannot tell whether it reproduced: no paired test predictions" in capsys.readouterr().out


def test_a_committed_realdev_row_resolves_to_its_cell_and_names_what_was_added_since():
    path = next(p for p in sorted((ROOT / "leaderboard" / "submissions").glob("yts800__idkg__*.json"))
                if json.loads(p.read_text()).get("spec", {}).get("data", {}).get("protocol") == "fixed")  # fmt: skip
    record = json.loads(path.read_text())
    spec = reproduce.spec_of(record)
    cell = spec.cell_spec(spec.variants()[0]).to_dict()
    assert cell["config"] == record["spec"]["config"] | {k: v for k, v in cell["config"].items() if k not in record["spec"]["config"]}
    assert cell["train"] == record["spec"]["train"] and spec.seeds == tuple(record["seeds"])
    assert reproduce.spec_changes(record, spec) == []  # the committed rows were made by today's code
    older = json.loads(path.read_text())
    del older["spec"]["kg"]["embedding"]["sparse"]  # a row made before the setting existed
    changes = reproduce.spec_changes(older, reproduce.spec_of(older))
    assert all(c.endswith("now") or "today's default" in c for c in changes)
    assert "kg.embedding.sparse: not in the file, today's default True" in changes
