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


def _nested(kind: str, depth: int) -> str:
    """JSON text nesting ``depth`` lists, or ``depth`` objects."""
    return "[" * depth + "]" * depth if kind == "list" else '{"a":' * (depth - 1) + "{}" + "}" * (depth - 1)


@pytest.mark.parametrize("kind", ["list", "object"])
@pytest.mark.parametrize("depth, ok", [(64, True), (65, False), (200_000, False)])
def test_read_json_bounds_nesting(tmp_path, kind, depth, ok):
    (tmp_path / "d.json").write_text(_nested(kind, depth))
    if ok:
        value, levels = read_json(tmp_path / "d.json"), 1  # read whole: 64 levels down to the empty one
        while value:
            value, levels = (value[0] if kind == "list" else value["a"]), levels + 1
        assert value in ([], {}) and levels == depth
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


@pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="the platform has no posix_fadvise")
def test_prefetch_advises_regular_files_only_and_never_blocks(tmp_path, monkeypatch):
    """Regular files are advised (whole, or head and tail); a FIFO (which would block an open),
    a symlink, a folder and a missing file are left to the reader."""
    from mmimdb2 import io

    small, big = tmp_path / "a.json", tmp_path / "b.jpg"
    small.write_bytes(b"{}")
    big.write_bytes(b"x" * 10_000)
    os.mkfifo(tmp_path / "fifo.json")
    (tmp_path / "link.json").symlink_to(small)
    (tmp_path / "dir.json").mkdir()
    calls = []
    real = os.posix_fadvise
    monkeypatch.setattr(os, "posix_fadvise", lambda fd, offset, length, advice: (calls.append((offset, length)), real(fd, offset, length, advice)))
    names = ["a.json", "fifo.json", "link.json", "dir.json", "missing.json"]
    assert io.prefetch(tmp_path / n for n in names) == 1 and calls == [(0, 0)]
    calls.clear()
    assert io.prefetch([big, small], head=4096, tail=64) == 2
    assert calls == [(0, 4096), (10_000 - 64, 64), (0, 0)]  # the big one's header and end; the small one whole
