"""The shared file helpers: atomic writes keep the umask's mode; JSON reads are bounded."""

from __future__ import annotations

import os
import stat

import pytest

from mmimdb2.io import BadJSON, atomic_write_json, atomic_write_text, parse_json, read_json


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_atomic_write_respects_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        path = atomic_write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert path.read_text() == "x"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]  # no temp file left behind


def test_read_json_round_trip(tmp_path):
    atomic_write_json(tmp_path / "r.json", {"a": [1, {"b": 2}]})
    assert read_json(tmp_path / "r.json") == {"a": [1, {"b": 2}]}


@pytest.mark.parametrize("depth, ok", [(64, True), (65, False), (200_000, False)])
def test_read_json_bounds_nesting(tmp_path, depth, ok):
    (tmp_path / "d.json").write_text("[" * depth + "]" * depth)
    if ok:
        assert read_json(tmp_path / "d.json") is not None
    else:
        with pytest.raises(BadJSON, match="nested") as e:
            read_json(tmp_path / "d.json")
        assert "\n" not in str(e.value) and "d.json" in str(e.value)


def test_read_json_refuses_large_fifo_and_garbage(tmp_path):
    (tmp_path / "big.json").write_text('"' + "x" * 2000 + '"')
    with pytest.raises(BadJSON, match="limit"):
        read_json(tmp_path / "big.json", max_bytes=1000)
    os.mkfifo(tmp_path / "fifo.json")
    with pytest.raises(BadJSON, match="not a regular file"):
        read_json(tmp_path / "fifo.json")  # would block forever if opened
    with pytest.raises(BadJSON, match="cannot read"):
        read_json(tmp_path / "missing.json")
    with pytest.raises(BadJSON, match="not valid JSON"):
        parse_json(b"{nope", what="x")
    with pytest.raises(BadJSON, match="not valid JSON"):
        parse_json(b"\xff\xfe{", what="x")
