"""Each job's record says what happened to it: its own stage times (a stage shared with other
jobs marked so), and the KG embedding as trained, whose width is the F^K width the model got."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import harness
from benchmarks.harness import run_benchmark
from benchmarks.run import build_parser, spec_from_args

FAST = ["--epochs", "1", "--kg-epochs", "1", "--kg-dim", "8", "--encoder", "weightfree", "--no-progress"]


@pytest.fixture(scope="module")
def tiny_demo(tmp_path_factory) -> Path:
    from mmimdb2.demo.writer import generate

    return generate(tmp_path_factory.mktemp("demo") / "demo", n_movies=120, seed=1)


def _run(demo: Path, out: Path, *args: str, spy=None, monkeypatch=None) -> list[dict]:
    spec, options = spec_from_args(build_parser().parse_args(["--dataset", str(demo), "--out", str(out), *FAST, *args]))
    return run_benchmark(spec, options)


def test_table4_rows_carry_their_own_kg_embedding_time(tiny_demo, tmp_path):
    records = _run(tiny_demo, tmp_path / "t4", "--suite", "table4")
    kg_models = [r["kg"]["model"] for r in records]
    assert sorted(kg_models) == sorted({"RotatE", "TransH", "TransR", "TransD", "ComplEx", "ConvE"})
    emb = [r["timings"]["kg_embedding"] for r in records]
    assert len({t["seconds"] for t in emb}) == 6  # six embeddings, six times: none charged for the others
    assert not any(t["shared"] for t in emb)  # each embedding served one job (one seed, one model)
    features = {r["timings"]["features"]["seconds"] for r in records}
    assert len(features) == 1 and all(r["timings"]["features"]["shared"] for r in records)  # extracted once for all
    for r in records:
        assert set(r["timings"]) == {"load", "features", "kg", "kg_embedding", "kg_inputs", "train", "evaluate"}
        cost = r["per_seed"][0]["cost"]
        assert cost["train_s"] == r["timings"]["train"]["seconds"] and cost["epochs"] == 1 and cost["parameters"] > 0
        assert cost["n_test"] == r["split"]["parts"]["test"]["size"] and cost["memory_peak_mb"] >= cost["memory_before_mb"] > 0


def test_kg_width_recorded_is_the_width_the_model_received(tiny_demo, tmp_path, monkeypatch):
    widths = []
    fit = harness.fit_and_predict

    def spy(cs, prep, **kw):
        widths.append((cs.model, prep.spec.kg_dim))
        return fit(cs, prep, **kw)

    monkeypatch.setattr(harness, "fit_and_predict", spy)
    (paper,) = _run(tiny_demo, tmp_path / "paper", "--models", "idkg", "--recipe", "paper", "--kg-batches-per-epoch", "2")
    (tuned,) = _run(tiny_demo, tmp_path / "tuned", "--models", "idkg")
    assert widths == [("idkg", 16), ("idkg", 8)]
    # the paper's dim counts RotatE's complex numbers: 8 of them, F^K 16 real numbers wide
    assert paper["kg"]["dim"] == 16 and paper["kg"]["dim_model"] == 8 and paper["kg"]["model"] == "RotatE"
    assert paper["kg"]["optimizer"] == "SGD" and paper["kg"]["epochs"] == 1
    assert tuned["kg"]["dim"] == 8 and tuned["kg"]["dim_model"] == 4 and tuned["kg"]["optimizer"] == "SparseAdam"


def test_a_kg_model_named_in_any_case_is_one_result(tiny_demo, tmp_path):
    (a,) = _run(tiny_demo, tmp_path / "same", "--models", "idkg", "--kg-model", "rotate")
    (b,) = _run(tiny_demo, tmp_path / "same", "--models", "idkg", "--kg-model", "RotatE")
    assert a["kg"]["model"] == b["kg"]["model"] == "RotatE"
    assert a["per_seed"] == b["per_seed"]  # the second run read the first's job: one computation, one result
