"""Issue 30, the data side: pages whose type signals disagree, DATASET.json's "complete" only after
MANIFEST, one build at a time per --out (a lock), and archive files opened only as regular files
inside the archive. Each test failed before its fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_build_bad_input import archive_with, page_of
from test_build_helpers import title_page, web, world  # noqa: F401
from test_build_pipeline import failures, run

from mmimdb2.builder.sources import SourceError, parse_title_page
from mmimdb2.builder.sources.base import NotAMovie, TypeConflict

# --------------------------------------------------------------------------- item 8: type signals that disagree


def _with_ld_type(page: bytes, ld_type: str) -> bytes:
    """``page`` with its JSON-LD ``@type`` replaced (the fake pages write ``"@type": "Movie"``)."""
    assert b'"@type": "Movie"' in page
    return page.replace(b'"@type": "Movie"', f'"@type": "{ld_type}"'.encode(), 1)


def _without_title_type(page: bytes) -> bytes:
    """``page`` whose ``aboveTheFoldData`` has no ``titleType`` (its other data kept)."""
    start = page.index(b'"titleType": {')
    end = page.index(b"}", start) + 1
    return page[:start] + page[end + 2 :]  # the object and its ", "


def _page(title_type: str = "movie") -> bytes:
    return title_page("tt0100001", "T", 2000, ["Drama"], "A plot.", ("nm0000001", "D"), [], "https://i/p.jpg", title_type=title_type)


def test_a_movie_title_type_with_an_episode_json_ld_is_a_conflict_naming_both():
    page = _with_ld_type(_page(), "TVEpisode")
    with pytest.raises(TypeConflict) as e:
        parse_title_page(page, "tt0100001")
    assert e.value.stage == "type" and isinstance(e.value, SourceError) and not isinstance(e.value, NotAMovie)
    assert "aboveTheFoldData.titleType 'movie'" in e.value.reason and "JSON-LD @type 'TVEpisode'" in e.value.reason
    for ld in ("TVSeries", "VideoGame"):  # every non-movie JSON-LD type against a movie titleType
        with pytest.raises(TypeConflict, match=ld):
            parse_title_page(_with_ld_type(_page(), ld), "tt0100001")
    with pytest.raises(TypeConflict, match="'tvEpisode'.*'Movie'"):  # and the other way round
        parse_title_page(_page("tvEpisode").replace(b'"@type": "TVEpisode"', b'"@type": "Movie"'), "tt0100001")


def test_two_json_ld_blocks_that_disagree_are_a_conflict():
    page = _page()
    extra = b'<script type="application/ld+json">{"@type": "TVEpisode", "url": "https://www.imdb.com/title/tt0100001/"}</script>'
    with pytest.raises(TypeConflict, match="JSON-LD @type 'Movie', 'TVEpisode'"):
        parse_title_page(page.replace(b"</head>", extra + b"</head>"), "tt0100001")


def test_no_title_type_and_an_episode_json_ld_is_not_a_movie_naming_both():
    page = _with_ld_type(_without_title_type(_page()), "TVEpisode")
    assert b"titleType" not in page and b'"aboveTheFoldData"' in page
    with pytest.raises(NotAMovie) as e:
        parse_title_page(page, "tt0100001")
    assert "'tvEpisode'" in e.value.reason and "JSON-LD @type 'TVEpisode'" in e.value.reason
    assert "no titleType in aboveTheFoldData" in e.value.reason


def test_agreeing_signals_still_build():
    assert parse_title_page(_page(), "tt0100001").title == "T"  # movie + Movie
    tv_movie = _with_ld_type(_page("tvMovie"), "TVMovie")
    assert parse_title_page(tv_movie, "tt0100001").title == "T"  # tvMovie + TVMovie
    assert parse_title_page(_without_title_type(_page()), "tt0100001").title == "T"  # no titleType, Movie JSON-LD
    with pytest.raises(NotAMovie, match="'short'"):  # IMDb's JSON-LD calls shorts Movie: a skip by titleType, no conflict
        parse_title_page(_page("short").replace(b'"@type": "CreativeWork"', b'"@type": "Movie"'), "tt0100001")


def test_archive_pages_whose_types_disagree_are_not_built_and_are_recorded(world, tmp_path):
    conflict = _with_ld_type(page_of(world, "tt0100001"), "TVEpisode")
    no_type = _with_ld_type(_without_title_type(page_of(world, "tt0100002")), "TVEpisode")
    arch = archive_with(world, tmp_path / "arch", {"tt0100001.html": conflict, "tt0100002.html": no_type, "tt0100003.html": page_of(world, "tt0100003")})
    out = tmp_path / "out"
    res, _ = run(world, out, sources=("archive",), archive=arch)
    assert not (out / "dataset/tt0100001.json").exists() and not (out / "dataset/tt0100002.json").exists()
    assert (out / "dataset/tt0100003.json").is_file() and res.skipped == 1
    rows = {r["id"]: r for r in failures(out) if r["source"] == "archive"}
    one, two = rows["tt0100001"], rows["tt0100002"]
    assert one["stage"] == "type" and one["fatal"] and "aboveTheFoldData.titleType 'movie'" in one["reason"] and "JSON-LD @type 'TVEpisode'" in one["reason"]
    assert two["stage"] == "skip" and two["fatal"] and "JSON-LD @type 'TVEpisode'" in two["reason"] and "no titleType" in two["reason"]
    journal = [json.loads(line) for line in (out / ".build/journal.jsonl").read_text().splitlines()]
    status = {e["id"]: e["status"] for e in journal if e.get("kind") == "movie"}
    assert status["tt0100001"] == "failed" and status["tt0100002"] == "skipped"


# --------------------------------------------------------------------------- items 11 and 13: archive files are regular files inside the archive


def _archive_source(folder: Path):
    from test_build_helpers import FAST_RETRY

    from mmimdb2.builder.http import HostRateLimiter
    from mmimdb2.builder.sources import SourceContext, resolve_source

    ctx = SourceContext(HostRateLimiter(1000.0), None, FAST_RETRY, folder.parent / "work", archive=folder, log=lambda s: None)
    src = resolve_source("archive")(ctx)
    src.prepare([])
    return src


def _movie_json(world, tt: str) -> str:
    m = world.movies[tt]
    return json.dumps({"title": m["title"], "genres": m["genres"], "plot": m["plot"], "director": m["director"][1], "cast": [n for _, n in m["cast"]]})


def test_archive_files_symlinked_out_of_the_archive_are_not_followed(world, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "tt0100001.json").write_text(_movie_json(world, "tt0100001"))
    (outside / "tt0100002.html").write_bytes(page_of(world, "tt0100002"))
    arch = archive_with(world, tmp_path / "arch", {"tt0100003.json": _movie_json(world, "tt0100003")})
    (arch / "tt0100001.json").symlink_to(outside / "tt0100001.json")
    (arch / "tt0100002.html").symlink_to(outside / "tt0100002.html")
    for tt in ("tt0100001", "tt0100002"):
        (arch / f"{tt}.jpg").write_bytes((arch / "tt0100003.jpg").read_bytes())
    (arch / "sub").mkdir()
    (arch / "sub" / "real.json").write_text(_movie_json(world, "tt0100004"))
    (arch / "tt0100004.json").symlink_to(Path("sub") / "real.json")  # a link that stays inside is read
    (arch / "tt0100004.jpg").write_bytes((arch / "tt0100003.jpg").read_bytes())
    out = tmp_path / "out"
    run(world, out, sources=("archive",), archive=arch)
    assert not (out / "dataset/tt0100001.json").exists() and not (out / "dataset/tt0100002.json").exists()
    assert (out / "dataset/tt0100003.json").is_file() and (out / "dataset/tt0100004.json").is_file()
    why = {r["id"]: r["reason"] for r in failures(out) if r["source"] == "archive"}
    assert why["tt0100001"].startswith("tt0100001.json: a symlink to a file outside the archive folder") and "not followed" in why["tt0100001"]
    assert why["tt0100002"].startswith("tt0100002.html: a symlink to a file outside the archive folder")


def test_an_archive_whose_dataset_folder_links_out_is_refused(tmp_path):
    from mmimdb2.builder.sources.base import Unavailable

    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "arch").mkdir()
    (tmp_path / "arch" / "dataset").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(Unavailable, match="its dataset/ is a symlink out of the archive folder"):
        _archive_source(tmp_path / "arch")
    inside = tmp_path / "arch2"
    (inside / "real").mkdir(parents=True)
    (inside / "dataset").symlink_to("real")  # a link that stays inside is fine
    assert _archive_source(inside).folder == inside / "dataset"


def test_an_archive_fifo_is_not_a_regular_file_not_missing(world, tmp_path):
    import os

    from test_hostile_input import deadline

    arch = tmp_path / "arch"
    arch.mkdir()
    os.mkfifo(arch / "tt0010323.json")
    os.mkfifo(arch / "tt0100002.html")
    src = _archive_source(arch)
    with deadline():
        for tt, name in (("tt0010323", "tt0010323.json"), ("tt0100002", "tt0100002.html")):
            with pytest.raises(SourceError) as e:
                src.fetch(tt)
            assert e.value.reason == f"{name}: not a regular file (a FIFO); not read", e.value.reason


def test_archive_posters_that_are_not_regular_files_inside_are_recorded(world, tmp_path):
    import os

    from test_hostile_input import deadline

    arch = tmp_path / "arch"
    arch.mkdir()
    for tt in ("tt0100001", "tt0100002", "tt0100003"):
        (arch / f"{tt}.json").write_text(_movie_json(world, tt))
    (arch / "tt0100001.jpg").symlink_to("/dev/zero")
    os.mkfifo(arch / "tt0100002.jpg")
    (arch / "tt0100003.jpg").mkdir()
    src = _archive_source(arch)
    with deadline():
        notes = {tt: dict(src.fetch(tt).notes) for tt in ("tt0100001", "tt0100002", "tt0100003")}
    assert notes["tt0100001"]["poster"] == "tt0100001.jpg: a symlink to a file outside the archive folder (/dev/zero); not followed"
    assert notes["tt0100002"]["poster"] == "tt0100002.jpg: not a regular file (a FIFO); not read"
    assert notes["tt0100003"]["poster"] == "tt0100003.jpg: not a regular file (a directory); not read"
    out = tmp_path / "out"
    with deadline(30):
        run(world, out, sources=("archive",), archive=arch)
    rows = {(r["id"], r["stage"]): r for r in failures(out) if r["id"] in ("tt0100001", "tt0100002")}
    assert "/dev/zero" in rows[("tt0100001", "poster")]["reason"] and "FIFO" in rows[("tt0100002", "poster")]["reason"]
    assert rows[("tt0100001", "missing")]["reason"] == "no source gave a valid poster"


# --------------------------------------------------------------------------- item 9: "complete" only after MANIFEST is on disk


def _full_archive(world, folder: Path) -> Path:
    return archive_with(world, folder, {f"{tt}.json": _movie_json(world, tt) for tt in world.ids})


def _cli(world, out: Path, arch: Path, *extra: str) -> int:
    from mmimdb2.builder import cli

    return cli.main(["--out", str(out), "--manifest", str(world.manifest), "--sources", "archive", "--archive", str(arch),
                     "--rate", "500/s", "--no-progress", *extra])  # fmt: skip


def _disk_fills_at_manifest(monkeypatch) -> list[str]:
    """Every atomic write of a file named MANIFEST fails as on a full disk (ENOSPC); returns the paths it refused."""
    import contextlib
    import errno
    import os

    import mmimdb2.io as io

    real, refused = io.atomic_writer, []

    @contextlib.contextmanager
    def writer(path):
        if Path(path).name == "MANIFEST":
            refused.append(str(path))
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        with real(path) as f:
            yield f

    monkeypatch.setattr(io, "atomic_writer", writer)
    return refused


def _meta(out: Path) -> dict:
    return json.loads((out / "DATASET.json").read_text())


def test_a_disk_full_at_manifest_leaves_the_build_unfinished_not_complete(world, tmp_path, monkeypatch, capsys):
    import mmimdb2
    from mmimdb2 import DatasetError

    arch, out = _full_archive(world, tmp_path / "arch"), tmp_path / "out"
    refused = _disk_fills_at_manifest(monkeypatch)
    assert _cli(world, out, arch) == 2 and refused == [str(out / "MANIFEST")]
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "No space left on device" in err[0] and "MANIFEST" in err[0]
    assert not (out / "MANIFEST").exists()
    meta = _meta(out)
    assert meta["complete"] is False and meta["status"].startswith("unfinished: ") and "run the same command again" in meta["status"]
    with pytest.raises(DatasetError, match="has not finished"):
        mmimdb2.load(out)
    assert _cli(world, out, arch, "--verify") == 2
    said = capsys.readouterr().err
    assert "no MANIFEST" in said and "has not finished" in said and "is " + str(out) + " a folder written" not in said
    monkeypatch.undo()  # the disk has room again: the same command finishes the build
    assert _cli(world, out, arch) == 0 and _meta(out)["complete"] is True
    assert len(mmimdb2.load(out, verify=True)) == 20 and _cli(world, out, arch, "--verify") == 0


def test_a_rebuild_that_cannot_write_manifest_takes_back_complete(world, tmp_path, monkeypatch, capsys):
    import mmimdb2
    from mmimdb2 import DatasetError

    arch, out = _full_archive(world, tmp_path / "arch"), tmp_path / "out"
    assert _cli(world, out, arch) == 0 and _meta(out)["complete"] is True
    (arch / "tt0100001.json").write_text(_movie_json(world, "tt0100001").replace("Plot of", "A new plot of"))
    (out / ".build" / "journal.jsonl").unlink()  # every movie is merged again, with the new plot
    _disk_fills_at_manifest(monkeypatch)
    assert _cli(world, out, arch) == 2
    assert _meta(out)["complete"] is False and "A new plot of" in (out / "dataset/tt0100001.json").read_text()
    with pytest.raises(DatasetError, match="has not finished"):
        mmimdb2.load(out)
    capsys.readouterr()
    assert _cli(world, out, arch, "--verify") == 1  # the old MANIFEST is there: it is checked, and the verdict says why it cannot hold
    said = capsys.readouterr().out
    assert "changed: dataset/tt0100001.json" in said and "FAILED" in said and "has not finished" in said


def test_dataset_json_is_written_after_manifest_and_names_its_hash(world, tmp_path, capsys):
    import hashlib

    import mmimdb2
    from mmimdb2 import ManifestError

    arch, out = _full_archive(world, tmp_path / "arch"), tmp_path / "out"
    assert _cli(world, out, arch) == 0
    manifest = (out / "MANIFEST").read_bytes()
    assert _meta(out)["manifest_sha256"] == hashlib.sha256(manifest).hexdigest()
    assert b"  DATASET.json\n" not in manifest  # the marker is written after MANIFEST, so MANIFEST cannot hash it
    assert (out / "DATASET.json").stat().st_mtime_ns >= (out / "MANIFEST").stat().st_mtime_ns
    (out / "MANIFEST").write_bytes(b"".join(line for line in manifest.splitlines(keepends=True) if b"tt0100001.json" not in line))
    capsys.readouterr()
    assert _cli(world, out, arch, "--verify") == 1
    said = capsys.readouterr().out
    assert "changed: MANIFEST" in said and "unlisted: dataset/tt0100001.json" in said
    with pytest.raises(ManifestError, match="MANIFEST.*differs from the manifest_sha256 in DATASET.json"):
        mmimdb2.load(out, verify=True)


# --------------------------------------------------------------------------- item 10: one build at a time per --out


def _build_cmd(world, out: Path, *extra: str) -> list[str]:
    import sys

    return [sys.executable, "-m", "mmimdb2.build", "--out", str(out), "--manifest", str(world.manifest), "--sources", "imdb-html",
            "--rate", "500/s", "--workers", "1", "--attempts", "1", "--no-progress", *extra]  # fmt: skip


def _env(world) -> dict[str, str]:
    import os

    return {**os.environ, **world.env, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}


def _wait_for(pred, seconds: float = 60.0) -> None:
    import time

    end = time.monotonic() + seconds
    while not pred():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def test_a_second_build_into_one_folder_names_the_holder_and_a_dead_ones_lock_is_taken_over(world, tmp_path):
    """Two real builds: while one runs, the other exits 2 naming it (pid, host, start time) and
    touches nothing; after the first is killed (-9), the next build takes its lock over with one
    line, and the journal holds each movie once."""
    import socket
    import subprocess

    out, env = tmp_path / "out", _env(world)
    world.web.delay = 0.5  # the first build stays busy for 20 s (40 requests), far longer than the second needs
    first = subprocess.Popen(_build_cmd(world, out), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: (out / ".build" / "journal.jsonl").is_file())  # under way (the lock is taken before the journal opens)
        second = subprocess.run(_build_cmd(world, out), env=env, capture_output=True, text=True, timeout=120)
        assert first.poll() is None  # the first was running all along
        assert second.returncode == 2, second.stderr
        (line,) = second.stderr.strip().splitlines()
        assert line.startswith(f"error: another build is writing into {out}: process {first.pid} on {socket.gethostname()}, started ")
        runs = [e for e in map(json.loads, (out / ".build/journal.jsonl").read_text().splitlines()) if e["kind"] == "run"]
        assert len(runs) == 1  # the refused build wrote nothing, not even its run line
    finally:
        first.kill()  # kill -9: the kernel drops its lock; its name stays in the file
        first.wait()
    world.web.delay = 0.0
    third = subprocess.run(_build_cmd(world, out), env=env, capture_output=True, text=True, timeout=120)
    assert third.returncode == 0, third.stderr
    took = [x for x in third.stderr.splitlines() if "took over" in x]
    assert len(took) == 1 and took[0].startswith(f"{out}: took over the stale lock of process {first.pid} on {socket.gethostname()}, started ")
    assert (out / ".build" / "lock").read_text() == ""  # released: the next build takes it silently
    movies = [e["id"] for e in map(json.loads, (out / ".build/journal.jsonl").read_text().splitlines()) if e["kind"] == "movie"]
    assert sorted(movies) == sorted(set(movies)) and set(movies) == set(world.ids)  # each movie once


def test_two_locks_on_one_folder_in_one_process(tmp_path):
    import os

    from mmimdb2.builder.lock import BuildLock, BuildLocked

    with BuildLock(tmp_path / "out"):
        with pytest.raises(BuildLocked, match=f"process {os.getpid()} on "):
            BuildLock(tmp_path / "out").acquire()
    logs: list[str] = []
    with BuildLock(tmp_path / "out", log=logs.append):  # released on exit, so not taken over as stale
        pass
    assert logs == [] and (tmp_path / "out" / ".build" / "lock").read_text() == ""
