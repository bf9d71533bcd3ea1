"""Loaders: MM-IMDb and MM-IMDb 2.0 folders written here (with malformed files), every split variant,
hashes, disjointness, MANIFEST verification, skips with reasons, named datasets and the torch view."""

from __future__ import annotations

import hashlib
import json
import struct
import sys
import types
import zlib
from pathlib import Path

import pytest
from PIL import Image

import mmimdb2
from mmimdb2 import DatasetNotFound, ManifestError, SplitError, load
from mmimdb2.layouts import check_poster
from mmimdb2.paths import cache_root, data_root
from mmimdb2.splits import Split, ids_sha256, packaged_split, write_split_dir


def jpeg(path: Path, color=(200, 30, 30), size=(6, 9)) -> Path:
    Image.new("RGB", size, color).save(path, "JPEG")
    return path


def bomb_png(path: Path, w: int, h: int) -> Path:
    """A PNG whose header claims w x h pixels (valid CRCs); the pixel data is never needed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b""))
    return path


def skips_of(ds, stage: str) -> dict[str, str]:
    return {s.item: s.reason for s in ds.skips if s.stage == stage}


# --------------------------------------------------------------------------- MM-IMDb (archive layout)

MM = packaged_split("mmimdb-idkg")
MM_TRAIN = [i[2:] for i in MM["train"][:6]]
MM_DEV = [i[2:] for i in MM["dev"][:2]]
MM_TEST = [i[2:] for i in MM["test"][:3]]


def imdbpy(title, genres, plots, directors=(), cast=(), year=1990) -> dict:
    return {
        "title": title, "year": year, "genres": genres, "plot": plots,
        "director": [{"name": n, "person_id": p} for n, p in directors],
        "cast": [{"name": n, "personID": p} if p else {"name": n} for n, p in cast],
        "kind": "movie", "rating": 7.1,  # keys the loader ignores
    }  # fmt: skip


@pytest.fixture
def mmimdb_dir(tmp_path: Path) -> Path:
    """A small MM-IMDb folder: good movies plus one of each kind of bad input."""
    root = tmp_path / "mmimdb"
    d = root / "dataset"
    d.mkdir(parents=True)
    t0, t1, t2, t3, t4, t5 = MM_TRAIN
    v0, v1 = MM_DEV
    s0, s1, s2 = MM_TEST
    good = {
        t0: imdbpy("Alpha", ["Drama", "Romance"], ["Short plot.::Ann", "A much longer plot about love.::Bob"],
                   [("Dee Rector", "0000123")], [("Cas One", "1234567"), ("Cas Two", None)]),
        t1: imdbpy("Beta", ["Comedy", "News"], ["Funny things happen.::C"]),  # unknown raw genre kept
        v0: imdbpy("Gamma", ["Horror"], ["Scary."], [("Dee Rector", "0000123")]),
        s0: imdbpy("Delta", ["Sci-Fi", "Action"], ["In space.::X"]),
        s1: imdbpy("Eps", ["Western"], ["Cowboys."]),
        v1: imdbpy("NoPoster", ["Drama"], ["No poster here."]),
        s2: imdbpy("BadPoster", ["Drama"], ["Poster is junk."]),
        t5: imdbpy("Trunc", ["Drama"], ["Poster is cut."]),
    }
    for mid, obj in good.items():
        (d / f"{mid}.json").write_text(json.dumps(obj))
        if mid not in (v1, s2, t5):
            jpeg(d / f"{mid}.jpeg")
    (d / f"{s2}.jpeg").write_bytes(b"this is not an image")
    full = (d / "tmp.jpg")
    jpeg(full, size=(64, 64))
    (d / f"{t5}.jpeg").write_bytes(full.read_bytes()[:-40])
    full.unlink()
    (d / f"{t2}.json").write_text('{"title": "Broken", "genres": ["Dra')  # truncated JSON
    (d / f"{t3}.json").write_text('["not", "an", "object"]')
    (d / f"{t4}.json").write_text(json.dumps(imdbpy("Talky", ["Talk-Show"], ["Talk."])))  # no label genre
    (d / "notes.json").write_text("{}")
    (d / "tt0000001.json").write_text("{}")  # tt name inside a bare-id layout
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps(imdbpy("Out", ["Drama"], ["x"])))
    (d / "0000009.json").symlink_to(outside)
    split = {"train": [t0, t1, t2, t3, t4, t5], "dev": [v0, v1], "test": [s0, s1, s2]}
    (root / "split.json").write_text(json.dumps(split))
    return root


def test_mmimdb_official_split_fields_and_every_skip(mmimdb_dir: Path):
    ds = load(mmimdb_dir)
    t0, t1, t2, t3, t4, t5 = (f"tt{i}" for i in MM_TRAIN)
    v0, v1 = (f"tt{i}" for i in MM_DEV)
    s0, s1, s2 = (f"tt{i}" for i in MM_TEST)
    assert (ds.layout, ds.name, ds.split.name, ds.extra["split_source"]) == ("mmimdb", "mmimdb", "official", "split.json")

    alpha = ds.movies[t0]
    assert alpha.title == "Alpha" and alpha.year == 1990 and alpha.genres == ("Drama", "Romance")
    assert alpha.plots == ("Short plot.", "A much longer plot about love.")  # ::author stripped, all kept
    assert alpha.plot == "A much longer plot about love."  # the longest, as GMU did
    assert [(p.name, p.imdb_id) for p in alpha.directors] == [("Dee Rector", "nm0000123")]
    assert [(p.name, p.imdb_id) for p in alpha.cast] == [("Cas One", "nm1234567"), ("Cas Two", None)]
    assert alpha.poster == mmimdb_dir / "dataset" / f"{MM_TRAIN[0]}.jpeg"
    assert ds.movies[t1].raw_genres == ("Comedy", "News") and ds.movies[t1].genres == ("Comedy",)

    # the split keeps file order, restricted to loaded movies, and its hashes are of those ids
    assert ds.split["train"] == (t0, t1, t5)
    assert ds.split["dev"] == (v0, v1) and ds.split["test"] == (s0, s1, s2)
    assert ds.split.part_sha256("train") == ids_sha256([t0, t1, t5])
    assert ds.split.sha256 != ds.extra["split_sha256_listed"]  # three listed ids were lost

    json_skips = skips_of(ds, "json")
    assert "not valid JSON" in json_skips[f"{MM_TRAIN[2]}.json"]  # corrupt or truncated
    assert "not an object" in json_skips[f"{MM_TRAIN[3]}.json"]
    assert "no genre among the 23" in skips_of(ds, "genres")[f"{MM_TRAIN[4]}.json"] and t4 not in ds.movies
    assert "'News'" in skips_of(ds, "unknown-genre")[f"{MM_TRAIN[1]}.json"]
    files = skips_of(ds, "file")
    assert "not an IMDb title id" in files["notes.json"] and "not an IMDb title id" in files["tt0000001.json"]
    assert "symlink leaves the dataset folder" in files["0000009.json"] and "tt0000009" not in ds.movies
    posters = skips_of(ds, "poster")
    assert "no poster file" in posters[f"{MM_DEV[1]}.json"] and ds.movies[v1].poster is None
    assert "not a decodable image" in posters[f"{MM_TEST[2]}.jpeg"] and ds.movies[s2].poster is None
    assert "truncated" in posters[f"{MM_TRAIN[5]}.jpeg"] and ds.movies[t5].poster is None
    lost = skips_of(ds, "split")
    assert set(lost) == {t2, t3, t4} and all("left out of the split" in r for r in lost.values())


def test_dataset_subfolder_path_and_no_poster_check(mmimdb_dir: Path):
    ds = load(mmimdb_dir / "dataset", check_posters=False)
    assert ds.root == mmimdb_dir and ds.split.name == "official"
    assert ds.movies[f"tt{MM_TEST[2]}"].poster is not None  # header check skipped on request
    assert "poster" not in {s.stage for s in ds.skips if "decodable" in s.reason}


def test_mmimdb_idkg_split_variant(mmimdb_dir: Path):
    ds = load(mmimdb_dir, "idkg")
    assert ds.split.name == "mmimdb-idkg" and ds.extra["split_source"] == "packaged:mmimdb-idkg"
    assert ds.extra["split_sha256_listed"] == MM.sha256
    assert ds.split["train"] == tuple(f"tt{i}" for i in (MM_TRAIN[0], MM_TRAIN[1], MM_TRAIN[5]))
    assert ds.split.hashes == MM.restrict(ds.movies).hashes
    # every packaged id without a movie is accounted for
    assert len(skips_of(ds, "split")) == len(MM.all_ids) - len(ds.split.all_ids)


@pytest.mark.parametrize("bad", ["idkg-alt", "nope"])
def test_unknown_split_names_list_the_choices(mmimdb_dir: Path, bad: str):
    with pytest.raises(SplitError, match=rf"unknown split '{bad}'; available for this dataset: default, official, idkg"):
        load(mmimdb_dir, bad)


def test_split_folder_path_and_missing_split_json(mmimdb_dir: Path, tmp_path: Path):
    own = Split("mine", {"train": (f"tt{MM_TRAIN[0]}",), "dev": (f"tt{MM_DEV[0]}",), "test": (f"tt{MM_TEST[0]}",)})
    folder = write_split_dir(own, tmp_path / "mysplit")
    ds = load(mmimdb_dir, str(folder))
    assert ds.split.name == "mysplit" and ds.split.sha256 == own.sha256
    (mmimdb_dir / "split.json").unlink()
    with pytest.raises(SplitError, match="no split.json"):
        load(mmimdb_dir)
    assert load(mmimdb_dir, "idkg").layout == "mmimdb"  # layout still detected from bare-id names


@pytest.mark.parametrize(
    "split, message",
    [
        ({"train": ["../../etc/passwd"], "dev": [], "test": []}, "not an IMDb title id"),
        ({"train": [MM_TRAIN[0]], "dev": [MM_TRAIN[0]], "test": []}, "in both train and dev"),
        ({"train": [MM_TRAIN[0]], "dev": []}, "'test' is missing"),
        ([MM_TRAIN[0]], "expected an object"),
    ],
)
def test_bad_split_json_fails_naming_the_file(mmimdb_dir: Path, split, message: str):
    (mmimdb_dir / "split.json").write_text(json.dumps(split))
    with pytest.raises(SplitError, match=message) as e:
        load(mmimdb_dir)
    assert "split.json" in str(e.value)


def test_split_part_left_empty_is_refused(mmimdb_dir: Path):
    (mmimdb_dir / "split.json").write_text(json.dumps({"train": [MM_TRAIN[2]], "dev": [MM_DEV[0]], "test": [MM_TEST[0]]}))
    with pytest.raises(SplitError, match="keeps no movie in part 'train'"):
        load(mmimdb_dir)


# --------------------------------------------------------------------------- MM-IMDb 2.0

M2 = packaged_split("mmimdb2-idkg")
ALT = packaged_split("mmimdb2-idkg-alt")


def _ids_in_both(n_per_part: int) -> dict[str, list[str]]:
    """tt ids whose part in the canonical split is known and that also lie in each alt part."""
    alt_part = ALT.part_of()
    out = {p: [] for p in ("train", "dev", "test")}
    for p in out:
        seen_alt = set()
        for i in M2[p]:
            if alt_part[i] not in seen_alt or len(out[p]) < n_per_part:
                out[p].append(i)
                seen_alt.add(alt_part[i])
            if len(out[p]) >= n_per_part and len(seen_alt) == 3:
                break
    return out


IDS2 = _ids_in_both(3)


@pytest.fixture
def release_dir(tmp_path: Path) -> Path:
    """MM-IMDb 2.0 as the IDKG authors released it: plot str, director str, cast list of str, no split/."""
    root = tmp_path / "release"
    d = root / "dataset"
    d.mkdir(parents=True)
    for k, i in enumerate(i for p in IDS2.values() for i in p):
        obj = {"genres": ["Drama", "Comedy"] if k % 2 else ["Action"], "plot": f"Plot number {k} here.",
               "director": f"Director {k % 3}", "cast": [f"Actor {k}", f"Actor {k + 1}"]}  # fmt: skip
        (d / f"{i}.json").write_text(json.dumps(obj))
        jpeg(d / f"{i}.jpg")
    (root / "list.txt").write_text("".join(f"dataset/{i}.json\n" for p in IDS2.values() for i in p))
    return root


def test_release_layout_default_is_canonical_idkg(release_dir: Path):
    ds = load(release_dir)
    assert ds.layout == "mmimdb2" and ds.name == "release"
    assert ds.split.name == "mmimdb2-idkg" and ds.extra["split_source"] == "packaged:mmimdb2-idkg"
    assert ds.split.hashes == M2.restrict(ds.movies).hashes
    assert set(ds.split["test"]) == set(IDS2["test"])
    m = ds.movies[IDS2["train"][1]]
    assert m.plot == "Plot number 1 here." and m.genres == ("Drama", "Comedy")
    assert [p.name for p in m.directors] == ["Director 1"] and [p.name for p in m.cast] == ["Actor 1", "Actor 2"]
    assert m.poster.suffix == ".jpg" and m.title == ""
    assert not skips_of(ds, "title")  # the release has no titles: not an error for it
    assert set(skips_of(ds, "split")) == set(M2.all_ids) - set(ds.movies)


def test_release_idkg_alt_and_official(release_dir: Path):
    alt = load(release_dir, "idkg-alt")
    assert alt.split.name == "mmimdb2-idkg-alt" and alt.split.hashes == ALT.restrict(alt.movies).hashes
    canon = load(release_dir, "idkg")
    assert set(alt.split["test"]) & set(canon.split["train"])  # the two permutations disagree
    with pytest.raises(SplitError, match="split 'official' is MM-IMDb's split.json"):
        load(release_dir, "official")


@pytest.fixture
def built_dir(tmp_path: Path) -> Path:
    """MM-IMDb 2.0 as this project writes it: DATASET.json, rich keys, split/ folder, MANIFEST."""
    root = tmp_path / "built"
    d = root / "dataset"
    d.mkdir(parents=True)
    ids = ["tt0100811", "tt0065832", "tt1077368", "tt4789618", "tt0110892", "tt8656686", "tt0103950"]
    genres = [["Drama", "News"], ["Comedy"], ["Drama", "Crime"], ["Action", "Sci-Fi"], ["Drama"], ["Horror"], ["Family"]]
    for k, (i, g) in enumerate(zip(ids, genres)):
        obj = {
            "imdb_id": i, "title": f"Film {k}", "year": 2000 + k, "genres": g,
            "plot": "one two three four" if k else "", "plots": ["one two", "one two three four"] if k else [],
            "director": "First D", "directors": [{"name": "First D", "imdb_id": "nm0000001"}, "Second D"],
            "cast": [{"name": "Star", "imdb_id": "2"}, {"name": "Bit", "id": "nm0000003"}, {"oops": 1}],
            "sources": {"title": "tsv", "plot": "tmdb"},
        }  # fmt: skip
        if k == 6:
            del obj["title"]
        (d / f"{i}.json").write_text(json.dumps(obj))
        jpeg(d / f"{i}.jpg", color=(k * 30, 0, 0))
    (d / "tt9999999.json").write_text(json.dumps({"imdb_id": "tt1234567", "genres": ["Drama"]}))
    (root / "DATASET.json").write_text(json.dumps({"name": "tiny2", "version": "1.0", "created_by": "test"}))
    split = Split("x", {"train": tuple(ids[:4]) + ("tt9999999",), "dev": (ids[4],), "test": tuple(ids[5:])})
    write_split_dir(split, root / "split")
    lines = []
    for p in sorted(d.iterdir()):
        data = p.read_bytes()
        lines.append(f"{hashlib.sha256(data).hexdigest()}  {len(data)}  dataset/{p.name}\n")
    (root / "MANIFEST").write_text("".join(lines))
    return root


def test_built_layout_default_split_and_rich_fields(built_dir: Path):
    ds = load(built_dir, verify=True)
    assert (ds.name, ds.version, ds.layout, ds.split.name, ds.extra["split_source"]) == ("tiny2", "1.0", "mmimdb2", "default", "split/")
    m = ds.movies["tt0065832"]
    assert m.title == "Film 1" and m.year == 2001 and m.sources == {"title": "tsv", "plot": "tmdb"}
    assert m.plots == ("one two", "one two three four") and m.plot == "one two three four"
    assert [(p.name, p.imdb_id) for p in m.directors] == [("First D", "nm0000001"), ("Second D", None)]
    assert [(p.name, p.imdb_id) for p in m.cast] == [("Star", "nm0000002"), ("Bit", "nm0000003")]
    assert "entries without a name" in skips_of(ds, "people")["tt0065832.json"]
    assert "no plot" in skips_of(ds, "plot")["tt0100811.json"] and ds.movies["tt0100811"].plot == ""
    assert "no title" in skips_of(ds, "title")["tt0103950.json"] and ds.movies["tt0103950"].title == ""
    assert "differs from its name" in skips_of(ds, "json")["tt9999999.json"]
    assert skips_of(ds, "split")["tt9999999"].startswith("listed in train of split/, but its movie file was skipped")
    assert ds.split["train"] == ("tt0100811", "tt0065832", "tt1077368", "tt4789618")
    assert ds.labels("test").shape == (2, 23)


def test_manifest_mismatch_and_absence_fail_naming_the_file(built_dir: Path):
    poster = built_dir / "dataset" / "tt0065832.jpg"
    data = bytearray(poster.read_bytes())
    data[20] ^= 0xFF
    poster.write_bytes(bytes(data))
    with pytest.raises(ManifestError, match=r"tt0065832\.jpg: sha256 .* differs from MANIFEST"):
        load(built_dir, verify=True)
    assert load(built_dir).movies["tt0065832"]  # without verify it loads
    poster.write_bytes(bytes(data) + b"x")
    with pytest.raises(ManifestError, match=r"tt0065832\.jpg: size"):
        load(built_dir, verify=True)
    (built_dir / "MANIFEST").write_text("0" * 64 + "  10  ../../etc/passwd\n")
    with pytest.raises(ManifestError, match="leaves the dataset folder"):
        load(built_dir, verify=True)
    (built_dir / "MANIFEST").unlink()
    with pytest.raises(ManifestError, match="no MANIFEST"):
        load(built_dir, verify=True)


def test_split_folder_overlap_traversal_and_tampering(built_dir: Path):
    split = built_dir / "split"
    (split / "SHA256SUMS").unlink()
    (split / "dev.txt").write_text("tt0100811\n")  # also in train
    with pytest.raises(SplitError, match=r"split.*tt0100811 is in both train and dev"):
        load(built_dir)
    (split / "dev.txt").write_text("../tt0100811\n")
    with pytest.raises(SplitError, match=r"dev.txt:1: not an IMDb title id"):
        load(built_dir)
    write_split_dir(Split("y", {"train": ("tt0100811",), "dev": ("tt0110892",), "test": ("tt8656686",)}), split)
    (split / "test.txt").write_text("tt0103950\n")  # edited after SHA256SUMS was written
    with pytest.raises(SplitError, match="does not match SHA256SUMS"):
        load(built_dir)


# --------------------------------------------------------------------------- posters, names, roots


def test_poster_header_checks(tmp_path: Path):
    assert check_poster(jpeg(tmp_path / "ok.jpg")) is None
    assert "decompression bomb" in check_poster(bomb_png(tmp_path / "big.png", 10_000, 10_000))  # 1e8 > limit
    assert "decompression bomb" in check_poster(bomb_png(tmp_path / "huge.png", 30_000, 30_000))  # Pillow refuses
    assert check_poster(bomb_png(tmp_path / "small.png", 50, 50)) is None
    assert "over the 100 limit" in check_poster(jpeg(tmp_path / "lim.jpg", size=(20, 20)), max_pixels=100)


def test_bomb_or_escaping_poster_is_kept_without_poster(built_dir: Path):
    poster = built_dir / "dataset" / "tt1077368.jpg"
    poster.unlink()
    bomb_png(built_dir / "dataset" / "tt1077368.png", 20_000, 20_000)
    outside = jpeg(built_dir.parent / "elsewhere.jpg")
    (built_dir / "dataset" / "tt0065832.jpg").unlink()
    (built_dir / "dataset" / "tt0065832.jpg").symlink_to(outside)
    ds = load(built_dir)
    assert ds.movies["tt1077368"].poster is None
    assert "decompression bomb" in skips_of(ds, "poster")["tt1077368.png"]
    assert "symlink leaves the dataset folder" in skips_of(ds, "file")["tt0065832.jpg"]
    assert ds.movies["tt0065832"].poster is None  # its poster is there but never opened: said so, not "no poster file"
    assert skips_of(ds, "poster")["tt0065832.jpg"].startswith("poster is a symlink that leaves the dataset folder (to ")


def test_named_datasets_resolve_under_the_data_root(built_dir: Path, tmp_path: Path, monkeypatch):
    droot = tmp_path / "root"
    droot.mkdir()
    built_dir.rename(droot / "mmimdb2")
    assert load("mmimdb2", data_root=droot).name == "mmimdb2"
    monkeypatch.setenv("MMIMDB2_DATA", str(droot))
    assert load("mmimdb2").root == droot / "mmimdb2"
    with pytest.raises(DatasetNotFound) as e:
        load("mmimdb")
    msg = str(e.value)
    assert isinstance(e.value, FileNotFoundError) and "\n" not in msg
    for needle in (str(droot / "mmimdb"), "https://archive.org/details/mmimdb", "github.com/aoluming/IDKG", "python -m mmimdb2.build --out"):
        assert needle in msg
    with pytest.raises(DatasetNotFound, match="no movie files"):
        load(tmp_path / "root")  # a folder, but not a dataset


def test_paths_precedence(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("MMIMDB2_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("MMIMDB2_CACHE", str(tmp_path / "cenv"))
    assert data_root(tmp_path / "flag") == tmp_path / "flag" and data_root() == tmp_path / "env"
    assert cache_root(tmp_path / "c") == tmp_path / "c" and cache_root() == tmp_path / "cenv"
    monkeypatch.delenv("MMIMDB2_DATA")
    monkeypatch.delenv("MMIMDB2_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data_root() == tmp_path / "xdg" / "mmimdb2" and cache_root() == tmp_path / "xdg" / "mmimdb2" / "cache"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert data_root() == Path.home() / ".cache" / "mmimdb2"


def _real_demo_available() -> bool:
    try:
        from mmimdb2.demo import ensure_demo  # noqa: F401
    except ImportError:
        return False
    return True


def test_demo_is_the_default_dataset(tmp_path: Path, monkeypatch, built_dir: Path):
    """The real generator when mmimdb2.demo has it (under the session's data root, shared with other
    tests), else a stand-in that copies a built folder."""
    if not _real_demo_available():
        import shutil

        def ensure_demo(folder: Path) -> Path:
            if not folder.is_dir():
                shutil.copytree(built_dir, folder)
            return folder

        monkeypatch.setenv("MMIMDB2_DATA", str(tmp_path / "data"))
        monkeypatch.setitem(sys.modules, "mmimdb2.demo", types.SimpleNamespace(ensure_demo=ensure_demo))
    ds = load()
    assert ds.name == "demo" and ds.layout == "mmimdb2" and ds.root == data_root() / "demo"
    assert all(ds.split[p] for p in ("train", "dev", "test")) and ds.split.name == "default"
    stamp = {p: p.stat().st_mtime_ns for p in sorted((ds.root / "dataset").iterdir())[:20]}
    again = load("demo")  # a second load reads the same files, never regenerates them
    assert {p: p.stat().st_mtime_ns for p in stamp} == stamp
    assert again.split.sha256 == ds.split.sha256 and list(again.movies) == list(ds.movies)


def test_a_folder_in_the_demo_place_that_is_not_a_demo(tmp_path: Path, capsys):
    if not _real_demo_available():
        pytest.skip("mmimdb2.demo not there yet")
    from mmimdb2.stats import main

    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "mine.txt").write_text("user data")
    with pytest.raises(mmimdb2.DatasetError, match="not a complete demo"):
        load("demo", data_root=tmp_path)
    assert main(["--data-root", str(tmp_path)]) == 2 and capsys.readouterr().err.startswith("error: ")
    assert (tmp_path / "demo" / "mine.txt").read_text() == "user data"


def test_torch_view_items(built_dir: Path):
    torch = pytest.importorskip("torch")
    (built_dir / "dataset" / "tt8656686.jpg").unlink()
    ds = load(built_dir)
    view = ds.torch_view("test")
    assert len(view) == 2
    item = view[0]
    assert item["imdb_id"] == "tt8656686" and item["has_image"] is False
    assert item["image"].mode == "RGB" and item["image"].getextrema() == ((0, 0), (0, 0), (0, 0))
    assert item["labels"].dtype == torch.float32 and item["labels"].shape == (23,)
    assert item["labels"][mmimdb2.GENRE_INDEX["Horror"]] == 1 and item["labels"].sum() == 1
    train = ds.torch_view("train", lambda im: torch.tensor(im.size))
    assert [train[k]["imdb_id"] for k in range(len(train))] == list(ds.split["train"])
    assert train[1]["text"] == "one two three four" and train[1]["has_image"] is True
    assert train[1]["image"].tolist() == [6, 9]
    assert train[1]["directors"] == ["First D", "Second D"] and train[1]["cast"] == ["Star", "Bit"]


def test_torch_view_batches_in_a_dataloader_with_collate(built_dir: Path):
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader

    from mmimdb2.torch_dataset import collate

    (built_dir / "dataset" / "tt1077368.jpg").unlink()  # a placeholder inside the batch
    ds = load(built_dir)
    import numpy as np

    to_tensor = lambda im: torch.from_numpy(np.array(im.resize((4, 4)))).permute(2, 0, 1)  # noqa: E731
    batches = list(DataLoader(ds.torch_view("train", to_tensor), batch_size=2, collate_fn=collate))
    assert [len(b["imdb_id"]) for b in batches] == [2, 2]
    first, second = batches
    assert first["image"].shape == (2, 3, 4, 4) and first["image"].dtype == torch.uint8
    assert first["labels"].shape == (2, 23) and first["labels"].dtype == torch.float32
    assert first["imdb_id"] + second["imdb_id"] == list(ds.split["train"])
    assert second["has_image"].tolist() == [False, True] and second["image"][0].sum() == 0
    assert first["directors"] == [["First D", "Second D"]] * 2 and first["cast"][1] == ["Star", "Bit"]
    assert first["text"][1] == "one two three four"
    assert torch.equal(first["labels"][0], torch.from_numpy(ds.movies[first["imdb_id"][0]].labels()))
    with pytest.raises(ValueError, match="needs image tensors, got Image; pass transform="):
        next(iter(DataLoader(ds.torch_view("train"), batch_size=2, collate_fn=collate)))
    with pytest.raises(ValueError, match="images of one shape"):
        collate([ds.torch_view("train", to_tensor)[0], {**ds.torch_view("train", to_tensor)[1], "image": torch.zeros(3, 5, 5)}])


def test_to_pandas_one_row_per_movie(built_dir: Path):
    ds = load(built_dir)
    df = ds.to_pandas()
    assert list(df.columns) == ["imdb_id", "title", "original_title", "year", "plot", "genres", "directors", "cast", "poster", "part"]
    assert len(df) == len(ds) == 7 and list(df["imdb_id"]) == list(ds.split.all_ids)
    row = df.set_index("imdb_id").loc["tt0065832"]
    assert (row["title"], row["year"], row["plot"], row["part"]) == ("Film 1", 2001, "one two three four", "train")
    assert row["genres"] == ["Comedy"] and row["directors"] == ["First D", "Second D"] and row["cast"] == ["Star", "Bit"]
    assert row["poster"] == str(built_dir / "dataset" / "tt0065832.jpg")
    assert str(df["year"].dtype) == "Int64"
    test = ds.to_pandas("test")
    assert list(test["imdb_id"]) == list(ds.split["test"]) and set(test["part"]) == {"test"}
    with pytest.raises(ValueError, match="unknown part 'val'"):
        ds.to_pandas("val")


def test_to_hf_has_image_and_multilabel_features(built_dir: Path):
    datasets = pytest.importorskip("datasets", reason="the hf extra (Hugging Face datasets) is not installed")
    (built_dir / "dataset" / "tt0110892.jpg").unlink()
    ds = load(built_dir)
    hf = ds.to_hf()
    assert list(hf) == ["train", "dev", "test"] and [len(hf[p]) for p in hf] == [len(ds.split[p]) for p in ("train", "dev", "test")]
    feats = hf["train"].features
    assert isinstance(feats["poster"], datasets.Image) and feats["genres"].feature.names == list(mmimdb2.GENRES)
    row = hf["train"][2]  # tt1077368: Drama, Crime
    assert row["imdb_id"] == "tt1077368" and row["genres"] == [mmimdb2.GENRE_INDEX["Drama"], mmimdb2.GENRE_INDEX["Crime"]]
    assert row["poster"].size == (6, 9) and row["directors"] == ["First D", "Second D"] and row["year"] == 2002
    assert hf["dev"][0]["poster"] is None  # its poster file is gone: None, not a broken path


def test_joined_director_string_is_split_by_the_loader(release_dir: Path):
    first = IDS2["train"][0]
    path = release_dir / "dataset" / f"{first}.json"
    obj = json.loads(path.read_text())
    path.write_text(json.dumps({**obj, "director": "Don Bluth, Gary Goldman"}))
    second = IDS2["train"][1]
    path2 = release_dir / "dataset" / f"{second}.json"
    path2.write_text(json.dumps({**json.loads(path2.read_text()), "director": "Martin Luther King, Jr."}))
    ds = load(release_dir)
    assert [p.name for p in ds.movies[first].directors] == ["Don Bluth", "Gary Goldman"]
    assert [p.name for p in ds.movies[second].directors] == ["Martin Luther King, Jr."]


def _realdev() -> Path | None:
    """``../shared/realdev/yts800`` beside the checkout (or a worktree's parent), if this machine has it."""
    root = Path(__file__).resolve().parents[1]
    found = [b / "shared/realdev/yts800" for b in (root.parent, root.parent.parent) if (b / "shared/realdev/yts800/split").is_dir()]
    return found[0] if found else None


REALDEV = _realdev()


@pytest.mark.skipif(REALDEV is None, reason="realdev data (../shared/realdev/yts800) is not on this machine")
def test_realdev_joined_directors_are_split():
    ds = load(REALDEV, check_posters=False)
    joined = [m for m in ds if "," in json.loads((REALDEV / "dataset" / f"{m.imdb_id}.json").read_text())["director"]]
    assert len(joined) == 61 and all(len(m.directors) >= 2 for m in joined)
    assert sum(len(m.directors) > 1 for m in ds) == 61


def test_layouts_registry_and_unknown_layout_is_one_line_with_did_you_mean():
    from mmimdb2.layouts import LAYOUTS, MMIMDB, MMIMDB2
    from mmimdb2.registry import UnknownNameError

    assert LAYOUTS.names() == ["mmimdb", "mmimdb2"]
    assert LAYOUTS.load("mmimdb") is MMIMDB and LAYOUTS.load("mmimdb2") is MMIMDB2
    with pytest.raises(UnknownNameError) as info:
        LAYOUTS.load("mmimbd2")
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("unknown layout 'mmimbd2'.")
    assert "Did you mean 'mmimdb2'" in msg and "Available: mmimdb, mmimdb2" in msg


def test_croissant_of_a_loaded_folder_validates_and_reads_back(built_dir: Path):
    from mmimdb2.croissant import write_croissant

    ds = load(built_dir)
    meta = json.loads(write_croissant(ds).read_text())
    movie_files = next(d for d in meta["distribution"] if d["@id"] == "movie-json")
    assert movie_files["excludes"] == ["dataset/tt9999999.json"]  # the file the loader dropped is not part of it
    fields = {f["name"]: (f["dataType"], f.get("repeated", False)) for f in meta["recordSet"][0]["field"]}
    assert fields["year"] == ("sc:Integer", False) and fields["plots"] == ("sc:Text", True) and "cast" not in fields  # cast entries differ in shape
    split_rs = next(r for r in meta["recordSet"] if r["@id"] == "split")
    assert {(d["split/imdb_id"], d["split/part"]) for d in split_rs["data"]} == set(ds.split.part_of().items())  # listed id dropped: inline
    assert ds.split.sha256 in split_rs["description"]
    mlc = pytest.importorskip("mlcroissant", reason="mlcroissant (the test extra) is not installed")
    (built_dir / "dataset" / "tt9999999.json").unlink()  # mlcroissant 1.1 does not apply `excludes` yet
    (built_dir / "croissant.json").unlink()
    path = write_croissant(load(built_dir))
    reader = mlc.Dataset(jsonld=path)
    text = lambda v: v.decode() if isinstance(v, bytes) else v  # noqa: E731
    movies = {text(r["movies/imdb_id"]): r for r in reader.records("movies")}
    assert sorted(movies) == sorted(ds.movies) and movies["tt0065832"]["movies/year"] == 2001
    assert "movies/title" not in movies["tt0065832"]  # one file has no title: a field every file has, or none
    assert [text(p) for p in movies["tt0065832"]["movies/plots"]] == ["one two", "one two three four"]
    assert {text(r["split/imdb_id"]): text(r["split/part"]) for r in reader.records("split")} == ds.split.part_of()
    assert sum(1 for _ in reader.records("posters")) == 7


def test_croissant_of_an_mmimdb_folder(mmimdb_dir: Path):
    from mmimdb2.croissant import write_croissant

    ds = load(mmimdb_dir)
    meta = json.loads(write_croissant(ds).read_text())
    files = {d["@id"]: d for d in meta["distribution"]}
    assert files["split.json"]["sha256"] == hashlib.sha256((mmimdb_dir / "split.json").read_bytes()).hexdigest()
    assert files["movie-json"]["includes"] == "dataset/[0-9]*.json" and files["poster-files"]["includes"] == "dataset/*.jpeg"
    t2, t3, t4 = MM_TRAIN[2:5]  # truncated, not an object, no label genre: dropped by the loader
    assert files["movie-json"]["excludes"] == sorted(f"dataset/{n}.json" for n in (t2, t3, t4, "0000009"))  # + the escaping symlink
    assert {r["@id"] for r in meta["recordSet"]} >= {"movies", "director", "cast", "posters", "split"}  # IMDbPY people are objects
    assert "Arevalo" in meta["citeAs"] and meta["url"] == "https://archive.org/details/mmimdb"
    mlc = pytest.importorskip("mlcroissant", reason="mlcroissant (the test extra) is not installed")
    mlc.Dataset(jsonld=mmimdb_dir / "croissant.json")  # valid metadata (its dropped files keep records from being read: see excludes)


def test_reading_in_worker_processes_equals_one_process(mmimdb_dir: Path):
    """Large folders are read by several processes; movies and every skip come back in the order,
    and with the content, one process gives (here forced on the folder with each kind of bad input)."""
    from mmimdb2.layouts.common import scan_folder
    from mmimdb2.layouts.records import MMIMDB, read_movies

    listing = scan_folder(mmimdb_dir / "dataset", MMIMDB.id_pattern)
    serial = read_movies(listing, MMIMDB, expect_title=True, workers=1)
    parallel = read_movies(listing, MMIMDB, expect_title=True, workers=2)
    assert list(parallel[0].items()) == list(serial[0].items()) and parallel[1] == serial[1]
    assert len(serial[0]) == 8 and {s.stage for s in serial[1]} >= {"json", "genres", "poster", "file"}
