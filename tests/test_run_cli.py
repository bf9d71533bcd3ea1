"""The benchmark CLI end to end on a small demo: table, result files, caching, protocols, drops."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks import harness
from benchmarks.protocols import authors_draw
from benchmarks.run import build_parser, main, spec_from_args
from leaderboard.predictions import read_predictions
from leaderboard.results import read_result, schema_errors
from mmimdb2.metrics import score_decisions

FAST = ["--epochs", "2", "--kg-epochs", "1", "--kg-dim", "16", "--encoder", "weightfree", "--no-progress"]


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory) -> Path:
    from mmimdb2.demo import generate

    return generate(tmp_path_factory.mktemp("demo") / "demo", n_movies=400, seed=0)


def _run(small_demo: Path, out: Path, *extra: str, capsys=None) -> tuple[int, str]:
    rc = main(["--dataset", str(small_demo), "--out", str(out), *FAST, *extra])
    text = capsys.readouterr().out if capsys else ""
    return rc, text


def test_cli_trains_evaluates_and_writes_valid_results(small_demo, tmp_path, capsys):
    rc, text = _run(small_demo, tmp_path, "--models", "idkg", "gmu", capsys=capsys)
    assert rc == 0
    assert "idkg" in text and "gmu" in text and "macro F1" in text
    results = sorted((tmp_path / "results").glob("*.json"))
    assert len(results) == 2
    for path in results:
        record = read_result(path)
        assert schema_errors(record) == []
        assert record["protocol"] == "fixed" and record["seeds"] == [0]
        assert 0.0 <= record["aggregate"]["mean"]["macro"] <= 1.0
        assert record["split"]["sha256"] and record["kg"]["model"] == "RotatE"
        # kg_dropout "auto" is recorded as the value each seed used (the share of dev movies without F^K)
        assert record["model"]["config"]["kg_dropout"] == "auto"
        assert 0.0 <= record["per_seed"][0]["resolved"]["kg_dropout"] <= 0.5
        stored = read_predictions(record)  # each seed's test decisions, the scores recomputable from them
        assert stored.seeds.shape == (1, record["test_labels"]["n_movies"], 23)
        again = score_decisions(stored.labels, stored.seeds[0], head_tail_sets=record["head_tail"])
        assert again == record["per_seed"][0]["metrics"]  # the same function on the same decisions: equal, not close


def test_rerun_skips_finished_cells(small_demo, tmp_path, capsys, monkeypatch):
    assert _run(small_demo, tmp_path, "--models", "late-fusion", capsys=capsys)[0] == 0
    first = read_result(next((tmp_path / "results").glob("*.json")))

    def boom(*a, **k):
        raise AssertionError("a finished cell was trained again")

    monkeypatch.setattr(harness, "train_and_evaluate", boom)
    monkeypatch.setattr(harness, "prepare_inputs", boom)
    rc, _ = _run(small_demo, tmp_path, "--models", "late-fusion", capsys=capsys)
    assert rc == 0
    again = read_result(next((tmp_path / "results").glob("*.json")))
    assert again["aggregate"] == first["aggregate"]


def test_seeds_are_aggregated(small_demo, tmp_path, capsys):
    rc, _ = _run(small_demo, tmp_path, "--models", "concat", "--seeds", "0", "1", capsys=capsys)
    assert rc == 0
    record = read_result(next((tmp_path / "results").glob("*.json")))
    macros = [s["metrics"]["macro"] for s in record["per_seed"]]
    assert record["seeds"] == [0, 1]
    assert record["aggregate"]["mean"]["macro"] == pytest.approx(np.mean(macros))
    assert record["aggregate"]["std"]["macro"] == pytest.approx(np.std(macros))


def test_authors_protocol_is_marked_and_reports_inflation(small_demo, tmp_path, capsys):
    rc, text = _run(small_demo, tmp_path, "--models", "late-fusion", "--protocol", "authors", capsys=capsys)
    assert rc == 0
    records = {r["protocol"]: r for r in map(read_result, (tmp_path / "results").glob("*.json"))}
    assert sorted(records) == ["authors", "fixed"]
    assert "leakage inflation of late-fusion" in text
    # each authors-protocol seed records how much of its test part it had trained on (~60%, as released)
    overlap = records["authors"]["per_seed"][0]["overlap"]
    assert 0.45 < overlap["test_in_train"] < 0.75 and 0.45 < overlap["test_in_kg_train"] < 0.75
    assert all("overlap" not in e for e in records["fixed"]["per_seed"])
    from leaderboard.sections import overlap_cells

    assert overlap_cells(records["authors"]) == [f"{100 * overlap[k]:.0f} %" for k in ("test_in_train", "test_in_kg_train")]


def test_authors_draw_leaks_like_the_released_code():
    draw = authors_draw(10_000, seed=0)
    assert len(draw.train) == 6000 and len(draw.test) == 3000 and len(draw.dev) == 1000
    # independent shuffles: ~60% of the test rows are training rows, as in the released code
    assert 0.55 < draw.overlap("train", "test") < 0.65
    assert 0.55 < draw.overlap("kg_train", "test") < 0.65


def test_drop_modality_zeroes_it_at_test_time(small_demo, tmp_path, capsys):
    rc, _ = _run(small_demo, tmp_path, "--models", "late-fusion", "--drop", "poster", capsys=capsys)
    assert rc == 0
    assert read_result(next((tmp_path / "results").glob("*.json")))["drop"] == "poster"


def _cells(*argv: str):
    return spec_from_args(build_parser().parse_args(list(argv)))[0].variants()


def test_suite_plans_the_papers_cells():
    cells = _cells("--suite", "table4", "--models", "gmu")
    assert [c.kg_model for c in cells[:6]] == ["RotatE", "TransH", "TransR", "TransD", "ComplEx", "ConvE"]
    assert cells[-1].model == "gmu"
    tau = _cells("--suite", "tau")
    assert [c.config["temperature"] for c in tau] == [0.05, 0.1, 0.3, 0.5, 0.7, 0.9]


def test_an_alias_plans_and_records_its_canonical_model_once():
    assert [c.model for c in _cells("--models", "gmu-3", "idkg-gmu-no-gcacl", "idkg-jaccard-supcon")] == ["gmu-3", "idkg-mcl"]


def test_bad_input_is_one_line_error(tmp_path, capsys):
    assert main(["--models", "no-such-model", "--dataset", str(tmp_path / "missing"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err
    assert main(["--out", str(tmp_path)]) == 2
    assert main(["--models", "idkg", "--set", "novalue", "--out", str(tmp_path)]) == 2


def test_unknown_model_suggests_names(small_demo, tmp_path, capsys):
    assert main(["--models", "idgk", "--dataset", str(small_demo), "--out", str(tmp_path), *FAST]) == 2
    assert "Did you mean" in capsys.readouterr().err


def test_device_auto_picks_cuda_when_available(monkeypatch):
    import torch

    from benchmarks.encoders import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert str(resolve_device("auto")).startswith("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert str(resolve_device("auto")) == "cpu"


def test_list_models_and_encoders(capsys):
    assert main(["--list-models"]) == 0
    names = capsys.readouterr().out.split()
    assert {"idkg", "gmu", "centralnet", "late-fusion", "concat"} <= set(names)
    assert main(["--list-encoders"]) == 0
    assert "weightfree" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("flag", "setting", "given"), [("--weight-decay", "weight_decay", "0.5"), ("--class-weight", "class_weight", "none")]
)
def test_a_training_flags_help_names_the_models_a_recipe_gives_their_own_value(flag, setting, given):
    import re

    (help_text,) = [a.help for a in build_parser()._actions if flag in a.option_strings]
    claims = re.findall(r"--recipe (\S+) gives (\S+) ([^,;)]+)", help_text)
    assert "--list-models" not in help_text and claims  # --list-models prints names only

    def resolved(model, *argv):
        spec = spec_from_args(build_parser().parse_args(["--models", model, "idkg", *argv]))[0]
        return [spec.cell_spec(cell).train[setting] for cell in spec.variants()]

    for recipe_name, model, value in claims:
        own, idkg = resolved(model, "--recipe", recipe_name)
        assert str(own) == value and own != idkg  # the model's own value, not the recipe's
        assert resolved(model, "--recipe", recipe_name, flag, given) == [type(own)(given)] * 2  # a given flag is every model's


# -- where results and caches go: one line when they cannot be written ----------------------------
@pytest.mark.parametrize("flag", ["--out", "--cache-dir"])
@pytest.mark.parametrize("how", ["a file", "read-only", "under a file"])
def test_an_unusable_out_or_cache_folder_is_one_line(small_demo, tmp_path, capsys, read_only, flag, how):
    target = tmp_path / "target"
    if how == "a file":
        target.write_text("not a folder")
    elif how == "under a file":
        (tmp_path / "file").write_text("x")
        target = tmp_path / "file" / "sub"
    else:
        read_only(target)
    given = {"--out": tmp_path / "out", "--cache-dir": tmp_path / "cache", flag: target}
    rc = main(["--dataset", str(small_demo), *FAST, "--models", "probe-text", "--out", str(given["--out"]),
               "--cache-dir", str(given["--cache-dir"])])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err[-1].startswith("error: ") and str(target) in err[-1], err
    assert not any("Traceback" in line for line in err)


def test_no_space_left_while_writing_is_one_line_naming_the_file(small_demo, tmp_path, capsys, monkeypatch):
    import errno
    import os

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)  # every atomic write ends in fsync
    rc = main(["--dataset", str(small_demo), "--out", str(tmp_path / "out"), *FAST, "--models", "probe-text",
               "--cache-dir", str(tmp_path / "cache")])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err[-1].startswith("error: ") and "No space left on device" in err[-1], err
    assert str(tmp_path) in err[-1] and ".tmp" not in err[-1]  # the file being written, not its temporary name


def test_a_genre_without_training_positives_is_warned_once(editable_demo, tmp_path, capsys):
    train = (editable_demo / "split" / "train.txt").read_text().split()
    for mid in train:
        path = editable_demo / "dataset" / f"{mid}.json"
        rec = json.loads(path.read_text())
        if "Film-Noir" in rec["genres"]:
            rec["genres"] = [g for g in rec["genres"] if g != "Film-Noir"] or ["Drama"]
            path.write_text(json.dumps(rec))
    rc = main(["--dataset", str(editable_demo), "--out", str(tmp_path), *FAST, "--models", "probe-text", "--seeds", "0", "1"])
    err = capsys.readouterr().err
    assert rc == 0
    warnings = [line for line in err.splitlines() if line.startswith("warning: no train movie has")]
    assert warnings == ["warning: no train movie has Film-Noir: a model learns only 22 of the 23 genres (these score F1 0 in macro averages)"]


def test_a_dataset_with_every_genre_in_train_is_not_warned(small_demo, tmp_path, capsys):
    assert _run(small_demo, tmp_path, "--models", "probe-text", capsys=capsys)[0] == 0
    assert "no train movie has" not in capsys.readouterr().err


# -- the cell cache: keyed on content and settings, damaged files recomputed --------------------
@pytest.fixture
def editable_demo(small_demo, tmp_path) -> Path:
    """A private copy of the small demo, safe to edit."""
    import shutil

    return Path(shutil.copytree(small_demo, tmp_path / "demo"))


def _count_jobs(monkeypatch) -> list[int]:
    """Make ``harness.train_and_evaluate`` count its calls (it still trains)."""
    calls: list[int] = []
    real = harness.train_and_evaluate

    def counting(*a, **k):
        calls.append(k["seed"])
        return real(*a, **k)

    monkeypatch.setattr(harness, "train_and_evaluate", counting)
    return calls


def _edit_first_train_record(root: Path, edit) -> None:
    mid = (root / "split" / "train.txt").read_text().split()[0]
    path = root / "dataset" / f"{mid}.json"
    record = json.loads(path.read_text())
    edit(record)
    path.write_text(json.dumps(record))


def test_edited_data_is_recomputed_unchanged_data_is_served(editable_demo, tmp_path, capsys, monkeypatch):
    calls = _count_jobs(monkeypatch)
    out = tmp_path / "out"
    assert _run(editable_demo, out, "--models", "late-fusion", capsys=capsys)[0] == 0
    assert _run(editable_demo, out, "--models", "late-fusion", capsys=capsys)[0] == 0
    assert len(calls) == 1  # unchanged: served from the cell cache
    _edit_first_train_record(editable_demo, lambda r: r.update(plot="A quite different story about a lost dog."))
    assert _run(editable_demo, out, "--models", "late-fusion", capsys=capsys)[0] == 0
    assert len(calls) == 2  # same name, version and split, other content: recomputed
    _edit_first_train_record(editable_demo, lambda r: r.update(genres=["Western"] if "Western" not in r["genres"] else ["Music"]))
    assert _run(editable_demo, out, "--models", "late-fusion", capsys=capsys)[0] == 0
    assert len(calls) == 3
    assert _run(editable_demo, out, "--models", "late-fusion", capsys=capsys)[0] == 0
    assert len(calls) == 3


def test_a_label_change_writes_a_second_result_file_not_over_the_first(editable_demo, tmp_path, capsys):
    import mmimdb2

    out = tmp_path / "out"
    assert _run(editable_demo, out, "--models", "probe-text", capsys=capsys)[0] == 0
    (first,) = (out / "results").glob("*.json")
    before = read_result(first)
    assert before["dataset"]["fingerprint"] == mmimdb2.load(str(editable_demo)).fingerprint
    _edit_first_train_record(editable_demo, lambda r: r.update(genres=["Western"] if "Western" not in r["genres"] else ["Music"]))
    assert _run(editable_demo, out, "--models", "probe-text", capsys=capsys)[0] == 0
    files = sorted((out / "results").glob("*.json"))
    assert len(files) == 2 and first in files and read_result(first) == before  # the first run's result is kept
    (second,) = [f for f in files if f != first]
    assert read_result(second)["dataset"]["fingerprint"] == mmimdb2.load(str(editable_demo)).fingerprint != before["dataset"]["fingerprint"]


def test_changed_trainer_or_kg_setting_is_recomputed(small_demo, tmp_path, capsys, monkeypatch):
    calls = _count_jobs(monkeypatch)
    assert _run(small_demo, tmp_path, "--models", "late-fusion", capsys=capsys)[0] == 0
    assert _run(small_demo, tmp_path, "--models", "late-fusion", "--batch-size", "32", capsys=capsys)[0] == 0
    assert len(calls) == 2
    # a KG-embedding setting the result's flat config does not name (negatives per positive) still
    # keys the cell: the whole resolved spec does
    spec, options = spec_from_args(build_parser().parse_args(["--dataset", str(small_demo), "--out", str(tmp_path), *FAST, "--models", "late-fusion"]))
    negs = dataclasses.replace(spec, kg={**spec.kg, "num_negs_per_pos": 2})
    harness.run_benchmark(negs, options)
    assert len(calls) == 3
    harness.run_benchmark(spec, options)
    assert len(calls) == 3  # back to the first settings: its cell is still there


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda p: p.write_bytes(b""), id="zero-byte"),
        pytest.param(lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), id="truncated"),
        pytest.param(lambda p: p.write_bytes(b"\x00\xffgarbage"), id="garbage"),
        pytest.param(lambda p: p.write_text("[1, 2, 3]"), id="not-an-object"),
        pytest.param(lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "per_seed": []})), id="invalid-result"),
        pytest.param(lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "seeds": [7]})), id="another-job"),
        pytest.param(lambda p: p.write_text(p.read_text().replace('"macro": 0.', '"macro": 0.9', 1)), id="flipped-score"),
    ],
)
def test_corrupt_cell_is_recomputed_with_one_notice(small_demo, tmp_path, capsys, monkeypatch, damage):
    calls = _count_jobs(monkeypatch)
    assert _run(small_demo, tmp_path, "--models", "late-fusion", capsys=capsys)[0] == 0
    (cell,) = (tmp_path / "jobs").glob("*.json")
    good = read_result(cell)
    damage(cell)
    rc = main(["--dataset", str(small_demo), "--out", str(tmp_path), *FAST, "--models", "late-fusion"])
    err = capsys.readouterr().err
    assert rc == 0 and len(calls) == 2
    notices = [line for line in err.splitlines() if line.startswith("jobs: ")]
    assert len(notices) == 1 and cell.name in notices[0] and notices[0].endswith("recomputing")
    again = read_result(cell)
    assert schema_errors(again) == [] and again["seeds"] == good["seeds"]
    assert _run(small_demo, tmp_path, "--models", "late-fusion", capsys=capsys)[0] == 0
    assert len(calls) == 2  # rewritten whole: served again


# -- movies the split lists but the run cannot use ------------------------------------------------
def _break_records(root: Path) -> dict[str, str]:
    """Damage four listed movies in three ways the loader drops, and strip two kept ones of an input."""
    parts = {p: (root / "split" / f"{p}.txt").read_text().split() for p in ("train", "dev", "test")}
    broken = {"json": parts["train"][0], "genres": parts["dev"][0], "no-file": parts["test"][0], "no-file-2": parts["test"][1]}
    (root / "dataset" / f"{broken['json']}.json").write_text('{"title": "cut off')
    rec = json.loads((root / "dataset" / f"{broken['genres']}.json").read_text())
    (root / "dataset" / f"{broken['genres']}.json").write_text(json.dumps({**rec, "genres": ["News"]}))
    (root / "dataset" / f"{broken['no-file']}.json").unlink()
    (root / "dataset" / f"{broken['no-file-2']}.json").unlink()
    broken["no-poster"] = parts["train"][1]
    (root / "dataset" / f"{broken['no-poster']}.jpg").unlink()
    broken["no-plot"] = parts["train"][2]
    rec = json.loads((root / "dataset" / f"{broken['no-plot']}.json").read_text())
    rec.pop("plot", None), rec.pop("plots", None)
    (root / "dataset" / f"{broken['no-plot']}.json").write_text(json.dumps(rec))
    return broken


def test_dropped_movies_are_counted_in_one_line_and_recorded(editable_demo, tmp_path, capsys):
    broken = _break_records(editable_demo)
    rc, _ = _run(editable_demo, tmp_path, "--models", "late-fusion", capsys=None)
    err = capsys.readouterr().err
    assert rc == 0
    (line,) = [x for x in err.splitlines() if x.startswith("dropped ")]
    assert line.startswith("dropped 4 of 400 listed movies: train 1 (json 1); dev 1 (genres 1); test 2 (no-file 2)")
    assert "kept with zero features for no poster: train 1; no plot: train 1" in line
    assert not any(broken[k] in err for k in ("json", "genres", "no-file"))  # ids only with --verbose
    (record_path,) = (tmp_path / "dropped").glob("*.json")
    assert str(record_path) in line
    record = json.loads(record_path.read_text())
    got = {(d["id"], d["part"], d["reason"]) for d in record["dropped"]}
    assert got == {(broken["json"], "train", "json"), (broken["genres"], "dev", "genres"),
                   (broken["no-file"], "test", "no-file"), (broken["no-file-2"], "test", "no-file")}  # fmt: skip
    assert record["kept_without"] == {"poster": {"train": [broken["no-poster"]]}, "plot": {"train": [broken["no-plot"]]}}
    assert record["used"] == {"train": 239, "dev": 39, "test": 118}


def test_verbose_lists_every_dropped_movie(editable_demo, tmp_path, capsys):
    broken = _break_records(editable_demo)
    assert _run(editable_demo, tmp_path, "--models", "late-fusion", "--verbose", capsys=None)[0] == 0
    err = capsys.readouterr().err.splitlines()
    for key, part in (("json", "train"), ("genres", "dev"), ("no-file", "test"), ("no-file-2", "test")):
        (hit,) = [x for x in err if x.startswith(f"  {broken[key]}: dropped from {part} (")]
        assert "\n" not in hit


def test_clean_dataset_says_nothing_was_dropped(small_demo, tmp_path, capsys):
    assert _run(small_demo, tmp_path, "--models", "late-fusion", capsys=None)[0] == 0
    (line,) = [x for x in capsys.readouterr().err.splitlines() if x.startswith("dropped ")]
    assert line.startswith("dropped 0 of 400 listed movies; ids in ")


def test_seed_independent_probes_are_fitted_once_per_run(small_demo, tmp_path, capsys, monkeypatch):
    from baselines.probes import LogisticProbe

    fits = []
    real = LogisticProbe.fit

    def counting(self, *a, **k):
        fits.append(1)
        return real(self, *a, **k)

    monkeypatch.setattr(LogisticProbe, "fit", counting)
    rc, _ = _run(small_demo, tmp_path, "--models", "probe-text", "--seeds", "0", "1", "2", capsys=capsys)
    assert rc == 0 and len(fits) == 1
    record = read_result(next((tmp_path / "results").glob("*probe-text*.json")))
    macros = [s["metrics"]["macro"] for s in record["per_seed"]]
    assert len(macros) == 3 and macros[0] == macros[1] == macros[2]


def test_a_missing_gpu_is_one_line_without_encoder_advice(tmp_path, capsys, monkeypatch):
    """--device cuda on a CPU machine names the device, not the encoder (the defaulted-CLIP hint
    is for encoders only)."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    rc = main(["--dataset", "demo", "--data-root", str(tmp_path), "--models", "idkg", "--device", "cuda",
               "--out", str(tmp_path / "out"), "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert rc == 2 and err.startswith("error: device 'cuda' requested but torch sees no CUDA GPU")
    assert "--encoder" not in err


def test_python_callers_and_the_cli_build_the_same_spec():
    from benchmarks.spec import DataSpec, EncoderSpec, RunSpec

    by_hand = RunSpec(
        models=("idkg", "gmu"), seeds=(0, 1), data=DataSpec("demo", "default", "fixed"), encoder=EncoderSpec("offline"),
        kg={"model": "TransH", "dim": 64}, train={"lr": 0.003, "class_weight": "none"}, overrides={"temperature": 0.3},
    )  # fmt: skip
    argv = ["--models", "idkg", "gmu", "--seeds", "0", "1", "--encoder", "offline", "--kg-model", "TransH", "--kg-dim", "64",
            "--lr", "0.003", "--class-weight", "none", "--set", "temperature=0.3"]  # fmt: skip
    assert spec_from_args(build_parser().parse_args(argv))[0] == by_hand
    cs = by_hand.cell_spec(by_hand.variants()[0])
    assert (cs.model, cs.encoder, cs.kg.embedding.model, cs.train["lr"], cs.config["temperature"]) == ("idkg", "offline", "TransH", 0.003, 0.3)
    assert cs.train["epochs"] == 30 and cs.train["weight_decay"] == 0.1  # the recipe fills what was not given


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--lr", "-1"], "lr > 0"),
        (["--seeds", "0", "0"], "'seeds' must be distinct"),
        (["--kg-dim", "0"], "must be positive"),
        (["--kg-cross-fit", "1"], "'kg_cross_fit' setting must be 0 or >= 2"),
        (["--kg-epochs", "0"], "Got epochs=0 instead"),
        (["--seeds", "-1"], "The 'seeds' must be distinct integers in [0, 2**32). Got [-1] instead."),
        (["--set", "use_kg=maybe"], "error: The 'use_kg' setting of model 'idkg' must be a bool. Got 'maybe' instead."),
        (["--set", "dropout=abc"], "error: The 'dropout' setting of model 'idkg' must be a finite number. Got 'abc' instead."),
        (["--set", "proj_dim=1e400"], "error: The 'proj_dim' setting of model 'idkg' must be an int. Got inf instead."),
        (["--set", "=1"], "--set expects KEY=VALUE, got '=1'"),
    ],
)
def test_a_bad_setting_is_one_line_before_any_data_is_read(argv, says, tmp_path, capsys):
    assert main(["--models", "idkg", "--dataset", str(tmp_path / "nowhere"), "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and says in err


def test_set_on_nothing_to_run_is_one_line(tmp_path, capsys):
    assert main(["--set", "temperature=0.3", "--dataset", str(tmp_path / "nowhere"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: nothing to run") and "\n" not in err


def test_the_paper_recipe_runs_a_mixed_table_in_one_command(small_demo, tmp_path, capsys):
    """--recipe paper sets Section 4.1 for every model it applies to; kg_dropout reaches IDKG and
    GMU and is ignored for the probe, so one command makes the table."""
    rc, text = _run(small_demo, tmp_path, "--recipe", "paper", "--models", "idkg", "gmu", "probe-text", capsys=capsys)
    assert rc == 0 and "probe-text" in text
    by_model = {r["model"]["name"]: r for r in map(read_result, (tmp_path / "results").glob("*.json"))}
    idkg = by_model["idkg"]
    assert idkg["spec"]["recipe"] == "paper" and idkg["model"]["config"]["kg_dropout"] == 0.0
    train = idkg["spec"]["train"]
    # FAST's --epochs 2 wins over the recipe's 15; the rest is the paper's
    assert (train["epochs"], train["lr"], train["batch_size"], train["select"], train["threshold"], train["class_weight"],
            train["patience"]) == (2, 1e-3, 64, "last", "fixed", "none", 0)  # fmt: skip
    assert idkg["per_seed"][0]["best_epoch"] == 2 and idkg["per_seed"][0]["threshold"] == 0.5  # the last epoch, 0.5
    assert idkg["per_seed"][0]["resolved"] == {"kg_dropout": 0.0}
    kg = idkg["spec"]["kg"]["embedding"]
    assert (kg["optimizer"], kg["lr"], kg["batches_per_epoch"], kg["dim_counts"]) == ("SGD", 0.5, 100, "model")
    assert by_model["gmu"]["model"]["config"]["kg_dropout"] == 0.0
    probe = by_model["probe-text"]
    assert "kg_dropout" not in probe["model"]["config"] and probe["spec"]["train"] == {"threshold": "fixed", "class_weight": "none"}


def test_a_set_key_no_planned_model_takes_is_one_line(tmp_path, capsys):
    assert main(["--models", "probe-text", "--set", "kg_dropout=0", "--out", str(tmp_path), "--dataset", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: --set kg_dropout: no planned model (probe-text) has such a setting"
    assert _cells("--models", "idkg", "probe-text", "--set", "kg_dropout=0")[1].config == {}  # taken where it applies
