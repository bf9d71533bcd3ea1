"""Hostile and broken input to the loader, stats and audit (issue 12): deeply nested JSON, FIFOs and
devices, SHA256SUMS entries that try to be paths, ids spelled two ways, and skips that must be named.

Every test that could block on a FIFO runs under :func:`deadline`, so a regression fails the test
instead of hanging the suite (pytest-timeout is not installed).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import resource
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mmimdb2 import DatasetError, ManifestError, SplitError, audit, load, stats
from mmimdb2.layouts import check_poster
from mmimdb2.schema import Movie, normalize_imdb_id
from mmimdb2.splits import Split, ids_sha256, packaged_split, read_split_dir, write_split_dir

DEEP = "[" * 100_000 + "]" * 100_000  # blows json's recursion limit: a RecursionError unless bounded
T1, T2, T3, T4 = "tt0100811", "tt0110892", "tt0103950", "tt8656686"


class Blocked(BaseException):
    """Raised in the main thread when a :func:`deadline` expires."""


@contextlib.contextmanager
def deadline(seconds: float = 5) -> Iterator[None]:
    """Fail (not hang) if the block takes longer than ``seconds``.

    A timer thread sends SIGALRM to the main thread itself (``signal.alarm`` goes to whichever
    thread the kernel picks, e.g. tqdm's monitor, and then a blocked ``open()`` of a FIFO is not
    interrupted); the handler's exception ends the blocked call. It is a :class:`BaseException`
    (not ``TimeoutError``, an ``OSError``) so no ``except OSError`` in the code under test eats it.
    """

    def _expired(signum, frame):
        raise Blocked(f"still blocked after {seconds}s (a FIFO was opened?)")

    old = signal.signal(signal.SIGALRM, _expired)
    main = threading.main_thread().ident
    timer = threading.Timer(seconds, signal.pthread_kill, (main, signal.SIGALRM))
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        signal.signal(signal.SIGALRM, old)


def _movie(d: Path, mid: str, **extra) -> None:
    obj = {"imdb_id": mid, "title": mid, "genres": ["Drama"], "plot": "a plot", **extra}
    (d / f"{mid}.json").write_text(json.dumps(obj))


@pytest.fixture
def ds_dir(tmp_path: Path) -> Path:
    """MM-IMDb 2.0 layout, four movies, split train T1,T2; dev T3; test T4 (no posters: 4 poster skips)."""
    root = tmp_path / "ds"
    (root / "dataset").mkdir(parents=True)
    for mid in (T1, T2, T3, T4):
        _movie(root / "dataset", mid)
    write_split_dir(Split("s", {"train": (T1, T2), "dev": (T3,), "test": (T4,)}), root / "split")
    return root


def _skips(ds, stage: str) -> dict[str, str]:
    return {s.item: s.reason for s in ds.skips if s.stage == stage}


# --------------------------------------------------------------------------- deeply nested JSON


def test_deep_movie_json_is_a_skip_not_a_traceback(ds_dir: Path, capsys):
    (ds_dir / "dataset" / f"{T2}.json").write_text(DEEP)
    ds = load(ds_dir)
    assert T2 not in ds.movies and T2 not in ds.split["train"]
    assert "nested" in _skips(ds, "json")[f"{T2}.json"] and "dropped" in _skips(ds, "json")[f"{T2}.json"]
    assert stats.main([str(ds_dir)]) == 0
    out = capsys.readouterr().out
    assert f"{T2}.json: json: JSON nested too deeply; movie dropped" in out
    assert audit.main([str(ds_dir), "packaged:mmimdb2-idkg"]) in (0, 1)
    assert f"{T2}.json: json: JSON nested" in capsys.readouterr().out


@pytest.mark.parametrize("where", ["DATASET.json", "split.json"])
def test_deep_dataset_or_split_json_is_one_line_error(ds_dir: Path, where: str, capsys):
    if where == "split.json":  # an MM-IMDb archive whose split.json is hostile
        root = ds_dir.parent / "mm"
        (root / "dataset").mkdir(parents=True)
        (root / "dataset" / "0100811.json").write_text(json.dumps({"genres": ["Drama"], "title": "x"}))
        (root / "split.json").write_text(DEEP)
        err_type = SplitError
    else:
        root = ds_dir
        (root / "DATASET.json").write_text(DEEP)
        err_type = DatasetError
    with pytest.raises(err_type, match="nested") as e:
        load(root)
    assert "\n" not in str(e.value) and where in str(e.value)
    assert stats.main([str(root)]) == 2 and audit.main([str(root), str(root)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "nested" in err and "Traceback" not in err


# --------------------------------------------------------------------------- skips are named


def test_stats_names_skipped_files_first_few_or_all(ds_dir: Path, capsys):
    d = ds_dir / "dataset"
    for n in range(7):  # seven files that are not ids: 'file' skips
        (d / f"junk{n}.json").write_text("{}")
    (d / f"{T2}.json").write_text("{truncated")
    assert stats.main([str(ds_dir)]) == 0
    out = capsys.readouterr().out
    assert "junk0.json: file: file name is not an IMDb title id" in out and "junk2.json" in out
    assert "junk3.json" not in out and "junk6.json" not in out  # only the first few of a stage
    assert f"{T2}.json: json: not valid JSON" in out  # a rarer stage is not hidden behind the others
    assert "run with --verbose to list all" in out
    assert stats.main([str(ds_dir), "--verbose"]) == 0
    out = capsys.readouterr().out
    assert all(f"junk{n}.json: file:" in out for n in range(7)) and "--verbose" not in out
    assert stats.main([str(ds_dir), "--json"]) == 0
    st = json.loads(capsys.readouterr().out)
    items = {s["item"] for s in st["skips"]}
    assert {f"junk{n}.json" for n in range(7)} | {f"{T2}.json", T2} <= items
    assert len(st["skips"]) == sum(st["skips_by_stage"].values())


def test_audit_names_what_a_dataset_side_skipped(ds_dir: Path, capsys):
    (ds_dir / "dataset" / f"{T2}.json").write_text("[1]")
    code = audit.main([str(ds_dir), str(ds_dir / "split")])
    out = capsys.readouterr().out
    assert code == 0 and "A: 5 skipped while loading (poster 3, json 1, split 1)" in out
    assert f"{T2}.json: json: JSON is a list, not an object" in out and f"{T2}: split: listed in train" in out
    assert audit.main([str(ds_dir), str(ds_dir / "split"), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert f"{T2}.json" in {s["item"] for s in r["a"]["skips"]} and r["b"]["skips"] == []


def test_a_skipped_file_name_cannot_break_the_report(ds_dir: Path, capsys):
    (ds_dir / "dataset" / "evil\n\x1b[2Jname.json").write_text("{}")
    assert stats.main([str(ds_dir), "--verbose"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "evil\\n\\x1b[2Jname.json: file:" in out


# --------------------------------------------------------------------------- FIFOs, devices, SHA256SUMS paths


def test_fifos_in_dataset_are_skips_not_hangs(ds_dir: Path):
    d = ds_dir / "dataset"
    (d / f"{T2}.json").unlink()
    os.mkfifo(d / f"{T2}.json")  # a movie file that would block any open()
    os.mkfifo(d / f"{T1}.jpg")  # a poster that would block Pillow
    (d / "tt0000042.json").mkdir()  # a folder named like a movie file
    with deadline():
        ds = load(ds_dir)
        assert load(ds_dir, check_posters=False).movies[T1].poster is None
    files = _skips(ds, "file")
    assert "a FIFO, not a regular file" in files[f"{T2}.json"] and T2 not in ds.movies
    assert "a FIFO, not a regular file" in files[f"{T1}.jpg"] and ds.movies[T1].poster is None
    assert "a directory" in files["tt0000042.json"]


def test_poster_and_manifest_checks_refuse_fifos(tmp_path: Path, ds_dir: Path):
    os.mkfifo(tmp_path / "p.jpg")
    with deadline():
        assert "FIFO" in check_poster(tmp_path / "p.jpg")
    os.mkfifo(ds_dir / "dataset" / "extra.bin")
    (ds_dir / "MANIFEST").write_text(f"{hashlib.sha256(b'').hexdigest()}  0  dataset/extra.bin\n")
    with deadline(), pytest.raises(ManifestError, match="extra.bin.*not a regular file"):
        load(ds_dir, verify=True)


def _sums(folder: Path, entries: list[str]) -> None:
    lines = [f"{hashlib.sha256((folder / p).read_bytes()).hexdigest()}  {p}\n" for p in ("train.txt", "dev.txt", "test.txt")]
    (folder / "SHA256SUMS").write_text("".join(lines) + "".join(f"{'0' * 64}  {e}\n" for e in entries))


def _read_split_in_child(folder: Path) -> str:
    """``read_split_dir(folder)`` in a child capped at 1 GiB of memory and 60 s: an entry that
    reads ``/dev/zero`` fails the test instead of exhausting this machine's memory."""

    def _cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    code = (
        "import sys\nfrom mmimdb2.splits import SplitError, read_split_dir\n"
        "try:\n    read_split_dir(sys.argv[1])\nexcept SplitError as e:\n    print(e)\n"
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    p = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True,
                       timeout=60, preexec_fn=_cap, env=env)  # fmt: skip
    assert p.returncode == 0, p.stderr[-500:]
    return p.stdout.strip()


@pytest.mark.parametrize(
    "entry, needle",
    [
        ("/etc/passwd", "is an absolute path"),
        ("/dev/zero", "is an absolute path"),
        ("../../etc/passwd", "is not a plain file name"),
        ("sub/train.txt", "is not a plain file name"),
        ("..", "is not a plain file name"),
        ("missing.txt", "no such file"),
    ],
)
def test_sha256sums_entries_are_names_inside_the_folder(ds_dir: Path, entry: str, needle: str):
    split = ds_dir / "split"
    _sums(split, [entry])
    msg = _read_split_in_child(split)
    assert needle in msg and repr(entry) in msg and "SHA256SUMS:4" in msg and "\n" not in msg


@pytest.mark.parametrize("target", ["/etc/passwd", "/dev/zero", "fifo"])
def test_sha256sums_symlinks_out_and_special_files_are_refused(ds_dir: Path, target: str, capsys):
    split = ds_dir / "split"
    if target == "fifo":
        os.mkfifo(split / "fifo")
        _sums(split, ["fifo"])
        needle = "not a regular file (a FIFO)"
    else:
        (split / "link").symlink_to(target)
        _sums(split, ["link"])
        needle = "resolves outside"
    msg = _read_split_in_child(split)
    assert needle in msg and "\n" not in msg
    with deadline():
        assert stats.main([str(ds_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and needle in err and "root:" not in err


def test_split_part_file_that_is_a_fifo_or_leaves_the_folder(ds_dir: Path):
    split = ds_dir / "split"
    (split / "SHA256SUMS").unlink()
    (split / "dev.txt").unlink()
    os.mkfifo(split / "dev.txt")
    with deadline(), pytest.raises(SplitError, match=r"dev.txt: cannot read split file \(not a regular file \(a FIFO\)\)"):
        read_split_dir(split)
    (split / "dev.txt").unlink()
    (split / "dev.txt").symlink_to("/etc/passwd")
    with pytest.raises(SplitError, match="resolves outside"):
        read_split_dir(split)


# --------------------------------------------------------------------------- one id per movie


@pytest.mark.parametrize(
    "raw, canonical",
    [("tt00100811", T1), ("tt0100811", T1), ("00100811", T1), ("0100811", T1), ("tt10000000", "tt10000000"),
     ("tt12345678", "tt12345678"), ("00000001", "tt0000001")],
)  # fmt: skip
def test_ids_have_one_canonical_spelling(raw: str, canonical: str):
    assert normalize_imdb_id(raw) == canonical
    assert Movie(raw).imdb_id == canonical


def test_non_ascii_digits_are_not_ids():
    with pytest.raises(ValueError, match="not an IMDb title id"):
        normalize_imdb_id("tt\u0661\u0660\u0660\u0668\u0661\u0661\u0660")


def test_two_spellings_of_one_movie_in_a_split_are_an_error(tmp_path: Path):
    with pytest.raises(SplitError, match=rf"{T1} is in both train and test \(listed as {T1} and tt00100811\)"):
        Split("x", {"train": (T1,), "dev": (), "test": ("tt00100811",)})
    with pytest.raises(SplitError, match=rf"{T1} is twice in train \(listed as tt00100811 and {T1}\)"):
        Split("x", {"train": ("tt00100811", T1), "dev": (), "test": ()})
    folder = tmp_path / "s"
    write_split_dir(Split("x", {"train": (T1, T2), "dev": (T3,), "test": (T4,)}), folder)
    (folder / "SHA256SUMS").unlink()
    (folder / "train.txt").write_text(f"{T1}\n{T2}\ntt00100811\n")
    with pytest.raises(SplitError, match=rf"train.txt:3: {T1} is already listed on line 1 \(as {T1}; tt00100811"):
        read_split_dir(folder)


def test_split_ids_and_hashes_are_canonical():
    odd = Split("x", {"train": ("tt00100811", "0110892"), "dev": ("tt00103950",), "test": (T4,)})
    same = Split("y", {"train": (T1, T2), "dev": (T3,), "test": (T4,)})
    assert odd["train"] == (T1, T2) and odd.sha256 == same.sha256
    assert ids_sha256(["tt00100811"]) == ids_sha256([T1]) == hashlib.sha256(f"{T1}\n".encode()).hexdigest()


def test_packaged_split_hashes_are_unchanged_by_canonical_ids():
    """The packaged lists already use canonical ids (4,604 8-digit ids, none zero-led): the hashes
    the leaderboard registered stay what they were."""
    pinned = {
        "mmimdb-idkg": "7feae6e0cfaf0b7e0a2fe0a42565c0c1d72094e9e0c47c765d8ac050362917d9",
        "mmimdb2-idkg": "b6a28d3b6b9046b2310d359a32b860b0bffa087c7993ccb8481130a1e298fe2d",
        "mmimdb2-idkg-alt": "b8ff904d2e3cd997f69fc2ea6b44b99ceaaf11876a293956fe6af529c29d18a9",
    }
    for name, sha in pinned.items():
        s = packaged_split(name)
        assert s.sha256 == sha
        assert all(normalize_imdb_id(i) == i and not (len(i) == 10 and i[2] == "0") for i in s.all_ids)


def test_two_files_for_one_movie_keep_the_canonical_one_and_name_both(ds_dir: Path):
    d = ds_dir / "dataset"
    _movie(d, "tt00100811", title="the zero-led copy")
    ds = load(ds_dir)
    assert len(ds.movies) == 4 and ds.movies[T1].title == T1  # the file named by the canonical id is read
    why = _skips(ds, "file")["tt00100811.json"]
    assert why == f"a second file for {T1} (read: {T1}.json); ignored"


def test_torch_view_poster_swapped_for_a_fifo_after_load(ds_dir: Path):
    pytest.importorskip("torch")
    from PIL import Image

    poster = ds_dir / "dataset" / f"{T4}.jpg"
    Image.new("RGB", (4, 6), (10, 200, 10)).save(poster, "JPEG")
    view = load(ds_dir).torch_view("test")
    poster.unlink()
    os.mkfifo(poster)
    with deadline(), pytest.warns(UserWarning, match="not a regular file"):
        item = view[0]
    assert item["has_image"] is False and item["imdb_id"] == T4


def test_a_fifo_movie_file_is_not_missing_and_a_poster_to_dev_zero_is_named(ds_dir: Path):
    """Issue 30 item 11: the split's skip for a FIFO ``tt0010323.json`` says what the file is (not
    "there is no dataset/..."), and a poster symlinked to /dev/zero is named as such for its movie
    (not "no poster file"); neither is opened."""
    d = ds_dir / "dataset"
    fifo = "tt0010323"
    write_split_dir(Split("s", {"train": (T1, T2, fifo), "dev": (T3,), "test": (T4,)}), ds_dir / "split")
    os.mkfifo(d / f"{fifo}.json")
    (d / f"{T1}.jpg").symlink_to("/dev/zero")
    os.mkfifo(d / f"{T2}.jpg")
    with deadline():
        ds = load(ds_dir)
    lost = _skips(ds, "split")[fifo]
    assert "there is no" not in lost and f"dataset/{fifo}.json is a FIFO, not a regular file" in lost and "left out of the split" in lost
    posters = _skips(ds, "poster")
    assert f"{T1}.json" not in posters and f"{T2}.json" not in posters  # no "no poster file" for either
    assert posters[f"{T1}.jpg"] == "poster is a symlink that leaves the dataset folder (to /dev/zero, a character device); movie kept with poster=None"
    assert posters[f"{T2}.jpg"] == "poster is a FIFO, not a regular file; movie kept with poster=None"
    assert ds.movies[T1].poster is None and ds.movies[T2].poster is None
    assert "no poster file" in _skips(ds, "poster")[f"{T3}.json"]  # a poster that is really missing is still called so
    from mmimdb2.layouts.common import scan_folder
    from mmimdb2.layouts.records import MMIMDB2, read_movies

    listing = scan_folder(d, MMIMDB2.id_pattern)  # worker processes see the refused posters too
    assert read_movies(listing, MMIMDB2, expect_title=False, workers=2) == read_movies(listing, MMIMDB2, expect_title=False, workers=1)
