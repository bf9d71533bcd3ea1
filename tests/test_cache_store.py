"""The keyed cache store: round trip, a silent miss for another key or format, one notice line and
a recompute for any damaged entry, atomic writes, and JSON entries with a caller's check."""

from __future__ import annotations

import io
import json
import math
import os

import numpy as np
import pytest

from benchmarks import cache as cache_mod
from benchmarks.cache import CacheStore, digest

KEY = {"dataset": "tiny", "encoder": "weightfree", "dims": (3, 2)}
ARRAYS = {"ids": np.array(["tt1", "tt2", "tt3"]), "x": np.arange(6, dtype=np.float32).reshape(3, 2)}


@pytest.fixture
def store(tmp_path) -> CacheStore:
    return CacheStore(tmp_path, "things", 1)


def notices(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def test_digest_is_canonical_json():
    assert digest({"a": 1, "b": [1, 2]}) == digest({"b": (1, 2), "a": 1})  # key order, tuple vs list
    assert digest({"a": 1}) != digest({"a": 1.5}) and len(digest({})) == 64
    assert digest({"t": "Amélie"}) != digest({"t": "Amelie"})
    with pytest.raises(ValueError):
        digest({"lr": math.nan})  # a NaN key would never match itself
    with pytest.raises(TypeError):
        digest({"f": object()})  # never str()-ed into a key


def test_round_trip_and_silent_miss(store, capsys):
    assert store.load(KEY) is None  # nothing yet: a plain miss, no notice
    saved = store.save(KEY, ARRAYS, {"n": 3})
    path = saved.path
    assert path == store.path(KEY) and path.parent == store.folder == store.folder.parent / "things"
    entry = store.load(KEY, need=("ids", "x"))
    assert entry is not None and entry.path == path
    np.testing.assert_array_equal(entry.arrays["x"], ARRAYS["x"])
    assert entry.arrays["ids"].tolist() == ["tt1", "tt2", "tt3"]
    assert entry.meta["n"] == 3 and entry.meta["format"] == 1 and entry.meta["key"] == path.stem
    assert entry.meta["key_fields"] == {"dataset": "tiny", "encoder": "weightfree", "dims": [3, 2]}
    assert _same_json(saved.meta, entry.meta)  # save returns what load reads back
    assert store.load({**KEY, "encoder": "clip"}) is None  # another key: another name, a silent miss
    assert capsys.readouterr().err == ""


def test_format_bump_is_a_silent_miss(store, tmp_path, capsys):
    store.save(KEY, ARRAYS)
    assert CacheStore(tmp_path, "things", 2).load(KEY) is None
    assert CacheStore(tmp_path, "other", 1).load(KEY) is None
    assert capsys.readouterr().err == ""


def _same_json(a, b) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def _cut(path, n: int) -> None:
    path.write_bytes(path.read_bytes()[:n])


@pytest.mark.parametrize(
    "damage, why",
    [
        pytest.param(lambda p: p.write_bytes(b""), "unreadable: ", id="zero-byte"),
        pytest.param(lambda p: _cut(p, p.stat().st_size // 2), "unreadable: ", id="truncated"),
        pytest.param(lambda p: _cut(p, p.stat().st_size - 7), "unreadable: ", id="tail-cut"),
        pytest.param(lambda p: p.write_bytes(b"PK\x03\x04 garbage"), "unreadable: ", id="garbage"),
        pytest.param(lambda p: p.write_bytes(_npy(np.zeros(3))), "not an .npz", id="a-single-npy"),
        pytest.param(lambda p: p.unlink(), "incomplete", id="missing"),
        pytest.param(lambda p: (p.unlink(), os.mkfifo(p)), "not a regular file", id="fifo"),
    ],
)
def test_damaged_npz_is_one_notice_and_a_miss(store, capsys, damage, why):
    path = store.save(KEY, ARRAYS).path
    damage(path)
    assert store.load(KEY) is None
    (line,) = notices(capsys)
    assert line.startswith(f"things: cache entry {path} unusable (") and why in line and line.endswith("; recomputing")
    store.save(KEY, ARRAYS)  # the recomputed entry overwrites it and is whole again
    assert store.load(KEY) is not None and capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "damage, why",
    [
        pytest.param(lambda p: p.write_text(""), "unreadable: ", id="zero-byte"),
        pytest.param(lambda p: _cut(p, p.stat().st_size // 2), "unreadable: ", id="truncated"),
        pytest.param(lambda p: p.write_text("[" * 100_000), "unreadable: ", id="too-deep"),
        pytest.param(lambda p: p.write_text("[1, 2]"), "not a JSON object", id="not-an-object"),
        pytest.param(lambda p: p.unlink(), "incomplete", id="missing"),
        pytest.param(lambda p: _edit(p, key_fields={**KEY, "encoder": "clip"}), "key fields are not", id="key-mismatch"),
        pytest.param(lambda p: _edit(p, key_fields=None), "key fields are not", id="key-fields-gone"),
        pytest.param(lambda p: _edit(p, format=0), "format 0, expected 1", id="format-mismatch"),
    ],
)
def test_damaged_or_mismatched_sidecar_is_one_notice_and_a_miss(store, capsys, damage, why):
    path = store.save(KEY, ARRAYS).path
    damage(path.with_suffix(".json"))
    assert store.load(KEY) is None
    (line,) = notices(capsys)
    assert why in line and line.endswith("recomputing")
    assert f" {path.with_suffix('.json' if why != 'incomplete' else '.npz')} unusable (" in line


def _edit(side, **fields) -> None:
    side.write_text(json.dumps({**json.loads(side.read_text()), **fields}))


def test_need_and_check_refuse_with_their_reason(store, capsys):
    store.save(KEY, ARRAYS)
    assert store.load(KEY, need=("ids", "vectors")) is None
    assert "the .npz lacks vectors" in notices(capsys)[0]
    assert store.load(KEY, check=lambda e: None if len(e.arrays["ids"]) == 4 else "3 rows, expected 4") is None
    assert "(3 rows, expected 4)" in notices(capsys)[0]


def test_atomic_write_leaves_no_temp_files(store, monkeypatch):
    store.save(KEY, ARRAYS, {"n": 3})
    assert sorted(p.name for p in store.folder.iterdir()) == sorted([store.path(KEY).name, store.path(KEY).stem + ".json"])
    before = store.path(KEY).read_bytes()

    def dies_midway(f, **arrays):
        f.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(cache_mod.np, "savez", dies_midway)
    with pytest.raises(OSError, match="disk full"):
        store.save(KEY, ARRAYS)
    with pytest.raises(OSError, match="disk full"):
        store.save({"other": 1}, ARRAYS)
    assert len(list(store.folder.iterdir())) == 2  # no temp file, no half entry
    assert store.path(KEY).read_bytes() == before  # the old entry is untouched


def test_save_refuses_reserved_fields_and_object_arrays(store):
    with pytest.raises(ValueError, match="key"):
        store.save(KEY, ARRAYS, {"key": "mine"})
    with pytest.raises(ValueError, match="objs"):
        store.save(KEY, {"objs": np.array([{}, None], dtype=object)})


def test_json_entries_with_a_check_and_a_reader(store, tmp_path, capsys):
    assert store.load_json("cell-a") is None and capsys.readouterr().err == ""
    record = {"model": "idkg", "seeds": [0]}
    path = store.save_json("cell-a", record)
    assert path == store.json_path("cell-a") == tmp_path / "things" / "cell-a.json"
    assert [p.name for p in store.folder.iterdir()] == ["cell-a.json"]  # atomic: no temp file left
    def same_job(r):
        return None if r.get("seeds") == [0] else "holds the result of another job"
    assert store.load_json("cell-a", same_job) == record
    store.save_json("cell-a", {**record, "seeds": [7]})
    assert store.load_json("cell-a", same_job) is None
    assert notices(capsys) == [f"things: cache entry {path} unusable (holds the result of another job); recomputing"]
    path.write_text('{"model": ')
    assert store.load_json("cell-a", same_job) is None
    (line,) = notices(capsys)
    assert "not valid JSON" in line and str(path) in line

    def strict(p):
        raise ValueError(f"{p}: more than 20,000 JSON values\nsecond line")

    store.save_json("cell-a", record)
    assert store.load_json("cell-a", read=strict) is None
    assert notices(capsys) == [f"things: cache entry {path} unusable (more than 20,000 JSON values); recomputing"]


def test_default_root_is_the_project_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MMIMDB2_CACHE", str(tmp_path / "c"))
    assert CacheStore(None, "features", 1).folder == tmp_path / "c" / "features"
    assert CacheStore("~/x", "features", 1).folder == CacheStore(os.path.expanduser("~/x"), "features", 1).folder


def test_a_job_record_round_trips_through_the_job_cache(tmp_path, capsys):
    """benchmarks.jobs: a finished job's record comes back whole, and an entry that is not a result,
    not this job's, or whose numbers do not add up is refused with one line each."""
    from benchmarks.jobs import JobCache
    from leaderboard.record import ResultRecord, upgrade
    from leaderboard.results import LEADERBOARD_DIR, identity, read_result

    record = upgrade(read_result(sorted((LEADERBOARD_DIR / "submissions").glob("demo__*.json"))[0]))
    cache, ident = JobCache(tmp_path), identity(record)
    name = cache.name(ident, {}, content_sha256="0" * 64, preprocessing="none")
    cache.write(name, record)
    assert cache.read(name, ident) == ResultRecord.from_dict(record).to_dict()
    path = cache.path(name)
    for damaged in ({**record, "seeds": [7]}, {**record, "per_seed": []}, [1, 2],
                    {**record, "aggregate": {**record["aggregate"], "mean": {**record["aggregate"]["mean"], "macro": 0.97}}}):  # fmt: skip
        path.write_text(json.dumps(damaged))
        assert cache.read(name, ident) is None
    lines = notices(capsys)
    assert [line.split(" unusable (")[1].split(" ")[0] for line in lines] == ["holds", "not", "a", "its"]
    assert all(line.startswith("jobs: cache entry ") and line.endswith("; recomputing") for line in lines)
