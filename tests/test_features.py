"""The feature cache: aligned to the split, keyed by dataset/split/encoder, read back on a second run."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks.encoders import get_encoder
from benchmarks.features import Features, cache_key, extract_features
from mmimdb2.dataset import MovieDataset
from mmimdb2.schema import Movie, Person
from mmimdb2.splits import Split

PLOTS = [
    "A detective hunts a killer through the rain.",
    "Two lovers meet in Paris and part in spring.",
    "A ship of explorers lands on a red planet.",
    "A haunted house swallows a family whole.",
    "A boxer fights for one last title.",
    "Cowboys drive cattle across the desert.",
    "A robot learns to paint.",
    "Three friends rob a casino in Las Vegas.",
]
COLOURS = [(200, 20, 20), (240, 180, 200), (20, 30, 160), (10, 10, 10), (200, 120, 20), (190, 150, 90), (80, 200, 220), (30, 160, 40)]  # fmt: skip


def make_dataset(root: Path, *, poster_for=lambda k: True, corrupt: tuple[int, ...] = ()) -> MovieDataset:
    """Eight movies in the MM-IMDb 2.0 layout (dataset/<id>.json + .jpg), split 4/2/2."""
    (root / "dataset").mkdir(parents=True, exist_ok=True)
    movies = {}
    for k, (plot, colour) in enumerate(zip(PLOTS, COLOURS)):
        mid = f"tt{1000000 + k:07d}"
        poster = root / "dataset" / f"{mid}.jpg"
        if k in corrupt:
            poster.write_bytes(b"\xff\xd8\xff broken")
        elif poster_for(k):
            Image.new("RGB", (40, 60), colour).save(poster)
        else:
            poster = None
        record = {"imdb_id": mid, "title": f"Movie {k}", "genres": ["Drama"], "plot": plot, "plots": [plot, plot[:10]],
                  "director": "Ann Director", "cast": [{"name": "Bo Actor", "imdb_id": "nm0000001"}]}  # fmt: skip
        (root / "dataset" / f"{mid}.json").write_text(json.dumps(record))
        movies[mid] = Movie(
            mid, title=f"Movie {k}", raw_genres=("Drama",), plots=(plot[:10], plot),
            directors=(Person("Ann Director"),), cast=(Person("Bo Actor", "nm0000001"),), poster=poster,
        )  # fmt: skip
    ids = list(movies)
    split = Split("tiny", {"train": tuple(ids[:4]), "dev": tuple(ids[4:6]), "test": tuple(ids[6:])})
    return MovieDataset(name="tiny", layout="mmimdb2", root=root, movies=movies, split=split, version="1")


class Counting:
    """Wraps an encoder and counts calls, to prove a cache hit encodes nothing."""

    def __init__(self, inner, **override) -> None:
        self.inner = inner
        self.calls = 0
        for attr in ("name", "version", "text_dim", "image_dim", "preprocessing"):
            setattr(self, attr, override.get(attr, getattr(inner, attr)))

    def encode_texts(self, texts, **kw):
        self.calls += 1
        return self.inner.encode_texts(texts, **kw)

    def encode_images(self, paths, **kw):
        self.calls += 1
        return self.inner.encode_images(paths, **kw)


def run(ds, enc, cache: Path) -> Features:
    return extract_features(ds, enc, cache_dir=cache, device="cpu", batch_size=3, num_workers=0, progress=False)


def test_features_follow_the_split_order_and_use_the_longest_plot(tmp_path):
    ds = make_dataset(tmp_path / "data")
    enc = get_encoder("weightfree")
    f = run(ds, enc, tmp_path / "cache")
    assert f.ids == ds.split.all_ids
    assert f.text.shape == (8, 512) and f.image.shape == (8, 512) and f.has_image.all()
    assert f.text.dtype == np.float32 and f.image.dtype == np.float32
    want = enc.encode_texts([ds.movies[i].plot for i in f.ids], batch_size=8)
    np.testing.assert_array_equal(f.text, want)  # the longest plot, in split order
    ids = [f.ids[5], f.ids[0]]
    text, image = f.take(ids)
    np.testing.assert_array_equal(text, f.text[[5, 0]])
    np.testing.assert_array_equal(image, f.image[[5, 0]])
    with pytest.raises(KeyError, match="no features for tt9999999"):
        f.rows(["tt9999999"])


def test_second_run_hits_the_cache_without_encoding(tmp_path):
    ds = make_dataset(tmp_path / "data")
    enc = Counting(get_encoder("weightfree"))
    first = run(ds, enc, tmp_path / "cache")
    assert enc.calls == 2
    t = time.perf_counter()
    second = run(ds, enc, tmp_path / "cache")
    assert time.perf_counter() - t < 1.0
    assert enc.calls == 2  # nothing encoded again
    assert second.key == first.key and second.ids == first.ids
    np.testing.assert_array_equal(second.text, first.text)
    np.testing.assert_array_equal(second.image, first.image)
    np.testing.assert_array_equal(second.has_image, first.has_image)

    npz = tmp_path / "cache" / "features" / f"{first.key}.npz"
    meta = json.loads(npz.with_suffix(".json").read_text())
    assert npz.is_file()
    assert meta["key_fields"]["split_sha256"] == ds.split.sha256 and meta["key_fields"]["encoder"] == "weightfree"
    assert meta["n"] == 8 and second.meta["key"] == first.meta["key"] == first.key


def test_cache_misses_when_split_or_encoder_changes(tmp_path):
    ds = make_dataset(tmp_path / "data")
    cache = tmp_path / "cache"
    base = Counting(get_encoder("weightfree"))
    k0 = run(ds, base, cache).key

    moved = Split("tiny", {"train": ds.split["train"][:3], "dev": ds.split["train"][3:] + ds.split["dev"],
                           "test": ds.split["test"]})  # fmt: skip
    ds2 = MovieDataset(ds.name, ds.layout, ds.root, ds.movies, moved, version=ds.version)
    enc = Counting(get_encoder("weightfree"))
    f2 = run(ds2, enc, cache)
    assert enc.calls == 2 and f2.key != k0 and f2.ids == moved.all_ids

    for change in ({"version": "2"}, {"preprocessing": "other"}, {"name": "weightfree-b"}):
        enc = Counting(get_encoder("weightfree"), **change)
        assert run(ds, enc, cache).key != k0
        assert enc.calls == 2, change

    ds3 = MovieDataset(ds.name, ds.layout, ds.root, ds.movies, ds.split, version="2")
    assert cache_key(ds3, base) != cache_key(ds, base)


def test_cache_misses_when_the_content_changes_under_the_same_name(tmp_path):
    """A regenerated or rebuilt dataset with the same name, version and split must not reuse features."""
    import dataclasses

    ds = make_dataset(tmp_path / "data")
    k0 = cache_key(ds, get_encoder("weightfree"))
    first = ds.split.all_ids[0]
    edited = dict(ds.movies)
    edited[first] = dataclasses.replace(ds.movies[first], plots=("a different plot",))
    ds2 = MovieDataset(ds.name, ds.layout, ds.root, edited, ds.split, version=ds.version)
    assert cache_key(ds2, get_encoder("weightfree")) != k0
    assert cache_key(MovieDataset(ds.name, ds.layout, ds.root, dict(ds.movies), ds.split, version=ds.version),
                     get_encoder("weightfree")) == k0  # fmt: skip


def test_missing_and_corrupt_posters_are_recorded(tmp_path):
    ds = make_dataset(tmp_path / "data", poster_for=lambda k: k != 2, corrupt=(5,))
    f = run(ds, get_encoder("weightfree"), tmp_path / "cache")
    ids = ds.split.all_ids
    assert f.has_image.tolist() == [k not in (2, 5) for k in range(8)]
    assert not f.image[[2, 5]].any()
    assert f.meta["no_poster"] == 1
    assert f.meta["undecodable_posters"] == [ids[5]]


def test_corrupt_cache_file_is_recomputed(tmp_path, capsys):
    ds = make_dataset(tmp_path / "data")
    enc = Counting(get_encoder("weightfree"))
    first = run(ds, enc, tmp_path / "cache")
    npz = tmp_path / "cache" / "features" / f"{first.key}.npz"
    npz.write_bytes(b"PK\x03\x04 truncated")
    again = run(ds, enc, tmp_path / "cache")
    assert enc.calls == 4
    assert "unreadable" in capsys.readouterr().err
    np.testing.assert_array_equal(again.text, first.text)


@pytest.mark.parametrize("damage", ["zero-byte", "truncated", "tail-cut"])
def test_zero_byte_or_truncated_cache_file_is_recomputed_with_one_line(tmp_path, capsys, damage):
    ds = make_dataset(tmp_path / "data")
    enc = Counting(get_encoder("weightfree"))
    first = run(ds, enc, tmp_path / "cache")
    npz = tmp_path / "cache" / "features" / f"{first.key}.npz"
    data = npz.read_bytes()
    npz.write_bytes({"zero-byte": b"", "truncated": data[: len(data) // 2], "tail-cut": data[:-7]}[damage])
    capsys.readouterr()
    again = run(ds, enc, tmp_path / "cache")
    assert enc.calls == 4
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "unreadable" in err[0] and err[0].endswith("recomputing")
    np.testing.assert_array_equal(again.text, first.text)
    run(ds, enc, tmp_path / "cache")  # rewritten whole: a plain hit now
    assert enc.calls == 4 and capsys.readouterr().err == ""


@pytest.mark.parametrize("content", ["", "[1, 2]", "[" * 100_000, '{"format": 1}'])
def test_damaged_sidecar_is_recomputed_with_one_line(tmp_path, capsys, content):
    ds = make_dataset(tmp_path / "data")
    enc = Counting(get_encoder("weightfree"))
    first = run(ds, enc, tmp_path / "cache")
    side = tmp_path / "cache" / "features" / f"{first.key}.json"
    side.write_text(content)
    capsys.readouterr()
    again = run(ds, enc, tmp_path / "cache")
    assert enc.calls == 4 and again.meta["n"] == 8
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and str(side) in err[0] and err[0].endswith("recomputing")
    np.testing.assert_array_equal(again.image, first.image)
    run(ds, enc, tmp_path / "cache")  # rewritten whole: a plain hit now
    assert enc.calls == 4 and capsys.readouterr().err == ""


def test_arrays_that_do_not_fit_the_split_are_recomputed(tmp_path, capsys):
    from benchmarks.cache import CacheStore
    from benchmarks.features import CACHE_FORMAT

    ds = make_dataset(tmp_path / "data")
    enc = Counting(get_encoder("weightfree"))
    first = run(ds, enc, tmp_path / "cache")
    store = CacheStore(tmp_path / "cache", "features", CACHE_FORMAT)
    entry = store.load(cache_key(ds, enc))
    store.save(cache_key(ds, enc), {**entry.arrays, "ids": entry.arrays["ids"][::-1]}, {"n": 8})
    capsys.readouterr()
    again = run(ds, enc, tmp_path / "cache")
    assert enc.calls == 4 and "its ids are not the split's" in capsys.readouterr().err
    np.testing.assert_array_equal(again.text, first.text)


def test_default_cache_dir_is_the_project_cache_root(tmp_path, monkeypatch):
    monkeypatch.setenv("MMIMDB2_CACHE", str(tmp_path / "root"))
    ds = make_dataset(tmp_path / "data")
    f = extract_features(ds, get_encoder("weightfree"), device="cpu", num_workers=0, progress=True)
    assert (tmp_path / "root" / "features" / f"{f.key}.npz").is_file()


def test_progress_summary_names_counts(tmp_path, capsys):
    ds = make_dataset(tmp_path / "data", poster_for=lambda k: k != 0)
    extract_features(ds, get_encoder("weightfree"), cache_dir=tmp_path / "c", device="cpu", num_workers=0)
    err = capsys.readouterr().err
    assert "weightfree for 8 movies on cpu" in err and "1 without poster, 0 undecodable" in err
    extract_features(ds, get_encoder("weightfree"), cache_dir=tmp_path / "c", device="cpu", num_workers=0)
    assert "loaded from cache" in capsys.readouterr().err


def test_tiny_clip_end_to_end_through_the_cache(tmp_path):
    """open_clip for real: a tiny random model, features cached and read back without a model."""
    import open_clip

    name = "mmimdb2-tiny-clip-feat"
    cfg = {"embed_dim": 32, "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16, "head_width": 16},
           "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}}  # fmt: skip
    (tmp_path / f"{name}.json").write_text(json.dumps(cfg))
    open_clip.add_model_config(tmp_path / f"{name}.json")
    ds = make_dataset(tmp_path / "data", corrupt=(1,))
    enc = Counting(get_encoder(f"clip:{name}:none"))
    f = run(ds, enc, tmp_path / "cache")
    assert f.text.shape == (8, 32) and f.image.shape == (8, 32)
    assert f.has_image.tolist() == [k != 1 for k in range(8)]
    np.testing.assert_allclose(np.linalg.norm(f.text, axis=1), 1.0, rtol=1e-5)
    g = run(ds, enc, tmp_path / "cache")
    assert enc.calls == 2 and g.key == f.key
    np.testing.assert_array_equal(g.image, f.image)


@pytest.mark.parametrize(("cpus", "workers"), [({0}, 0), ({0, 1}, 2), ({2, 5, 7}, 3), (set(range(64)), 16)])
def test_default_workers_follow_the_affinity_mask(tmp_path, monkeypatch, cpus, workers):
    """One decoding worker per CPU this process may use (none on one CPU), whatever the machine has."""
    import os

    from mmimdb2 import cpus as cpus_module

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: cpus, raising=False)
    monkeypatch.setattr(cpus_module, "_cgroup_quota", lambda root: None)
    monkeypatch.setattr(os, "cpu_count", lambda: 128)
    ds = make_dataset(tmp_path / "data")
    seen = []

    class Workers(Counting):  # records the worker count asked for, then decodes in-process
        def encode_images(self, paths, **kw):
            seen.append(kw["num_workers"])
            return super().encode_images(paths, **{**kw, "num_workers": 0})

    enc = Workers(get_encoder("weightfree"))
    extract_features(ds, enc, cache_dir=tmp_path / "c", device="cpu", progress=False)
    assert seen == [workers]
