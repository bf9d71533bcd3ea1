"""The typed result record: every committed file reads through it, version 1 converts in one place
and keeps its file name, and a record round-trips through disk unchanged."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from leaderboard.record import SCHEMA_VERSION, KGInfo, ResultError, ResultRecord, StageTime, upgrade
from leaderboard.results import identity, result_filename, submissions_dir
from tests.test_leaderboard import record as make_record

SUBMISSIONS = sorted(submissions_dir().glob("*.json"))


def _v1(rec: dict) -> dict:
    """A version-1 file as the code before schema version 2 wrote it (from a current record)."""
    old = copy.deepcopy(rec)
    old["schema_version"] = 1
    old["threshold"] = 0.5
    del old["threshold_policy"]
    old["wall_time_s"] = {"load": 1.0, "features": 2.0, "kg": 0.5, "kg_embedding": 3.0, "train": 2.5, "evaluate": 0.5, "total": 9.5}
    del old["timings"]
    old["kg"] = {"model": "RotatE", "dim": 32, "epochs": 5, "hits_at_10": 0.4}
    for seed in old["per_seed"]:
        seed.pop("threshold", None)
    return old


def test_every_committed_submission_reads_through_the_typed_record():
    assert SUBMISSIONS
    for path in SUBMISSIONS:
        rec = ResultRecord.from_disk(path)
        assert rec.schema_version == SCHEMA_VERSION and isinstance(rec.per_seed[0].seed, int)
        assert result_filename(rec.to_dict()) == path.name  # converted or not, the file keeps its name
        assert ResultRecord.from_dict(rec.to_dict()) == rec


def test_version_1_converts_in_one_place_and_keeps_its_identity():
    old = _v1(make_record())
    new = upgrade(old)
    assert new["schema_version"] == 2 and "threshold" not in new and "wall_time_s" not in new
    assert new["threshold_policy"] == "fixed" and all(s["threshold"] == 0.5 for s in new["per_seed"])
    assert new["converted_from"] == {"schema_version": 1, "threshold": 0.5}
    assert new["timings"]["kg_embedding"] == {"seconds": 3.0, "shared": True}  # the run's stopwatch: shared
    assert new["timings"]["train"] == {"seconds": 2.5, "shared": False} and "kg_inputs" not in new["timings"]
    assert new["kg"] == {"model": "RotatE", "dim": 32, "dim_model": 32, "epochs": 5, "optimizer": None, "hits_at_10": 0.4}
    ident = identity(old)
    assert ident["threshold"] == 0.5  # the version-1 identity, so its file name, is kept
    assert identity(ResultRecord.from_dict(old).to_dict()) == ident  # also once written as version 2
    assert "threshold" not in identity(make_record())  # a current record's identity has no threshold


def test_a_tuned_version_1_record_takes_its_policy_from_its_spec():
    old = _v1(make_record(spec={"recipe": "tuned", "train": {"threshold": "per-genre"}}))
    old["per_seed"][0]["threshold"] = {"Drama": 0.3}
    new = upgrade(old)
    assert new["threshold_policy"] == "per-genre" and new["per_seed"][0]["threshold"] == {"Drama": 0.3}
    assert "threshold" not in new["per_seed"][1]  # values are never invented for a dev-chosen policy


@pytest.mark.parametrize("version", [0, 3, "1", None, True])
def test_an_unknown_version_is_one_line(version):
    rec = make_record()
    rec["schema_version"] = version
    with pytest.raises(ResultError, match=r"^schema_version: .* is not a version this code reads \(1, 2\)$"):
        ResultRecord.from_dict(rec)


def test_typed_blocks_and_disk_round_trip(tmp_path: Path):
    rec = ResultRecord.from_dict(make_record())
    assert isinstance(rec.kg, KGInfo) and rec.kg.dim == 32 and rec.kg.dim_model == 16 and rec.kg.optimizer == "SparseAdam"
    assert rec.timings["load"] == StageTime(1.0, True) and rec.total_seconds == pytest.approx(3.5)
    path = rec.to_disk(tmp_path / "r.json")
    assert ResultRecord.from_disk(path) == rec
    assert json.loads(path.read_text())["schema_version"] == 2


def test_a_record_that_breaks_the_schema_is_refused_naming_the_field(tmp_path: Path):
    bad = make_record()
    bad["threshold_policy"] = "sometimes"
    with pytest.raises(ResultError, match="threshold_policy"):
        ResultRecord.from_dict(bad)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(ResultError, match=rf"^{path}: result record does not follow"):
        ResultRecord.from_disk(path)
