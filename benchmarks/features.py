"""Frozen features for every movie of a split, extracted once and cached on disk.

The cache key is the sha256 of (dataset name, dataset version, split hash, encoder name, encoder
version, preprocessing): change any of them and the features are recomputed; change none and a
second run reads one uncompressed ``.npz`` (no model is built). Files live in
``<cache_dir>/features/<key>.npz`` with a ``<key>.json`` sidecar saying what the key stands for.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.encoders.base import Encoder, resolve_device
from mmimdb2.paths import cache_root
from mmimdb2.io import BadJSON, atomic_write_json, atomic_writer, read_json

#: Bump when the cache file layout changes (old files are then simply not found).
CACHE_FORMAT = 1


@dataclass(frozen=True)
class Features:
    """Text and image features aligned to ``ids`` (the split's ids, in order train, dev, test).

    ``has_image`` is False where the poster was missing or could not be decoded (that row is
    zero). ``key`` is the cache key; ``meta`` the sidecar's description.
    """

    ids: tuple[str, ...]
    text: np.ndarray
    image: np.ndarray
    has_image: np.ndarray
    key: str
    encoder: str
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    @cached_property
    def index(self) -> dict[str, int]:
        """id -> row."""
        return {i: r for r, i in enumerate(self.ids)}

    def rows(self, ids: Sequence[str]) -> np.ndarray:
        """Row numbers of ``ids``; a KeyError names the first id these features do not cover."""
        idx = self.index
        try:
            return np.fromiter((idx[i] for i in ids), dtype=np.int64, count=len(ids))
        except KeyError as e:
            raise KeyError(f"no features for {e.args[0]} (features cover {len(self.ids)} ids of the split)") from None

    def take(self, ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(text, image) rows for ``ids``, in that order."""
        r = self.rows(ids)
        return self.text[r], self.image[r]


def cache_key(dataset, encoder: Encoder) -> tuple[str, dict[str, str]]:
    """The key and the fields it hashes (what the JSON sidecar records)."""
    fields = {
        "dataset": dataset.name,
        "dataset_version": dataset.version,
        "split_sha256": dataset.split.sha256,
        "content_sha256": dataset.fingerprint,
        "encoder": encoder.name,
        "encoder_version": encoder.version,
        "preprocessing": encoder.preprocessing,
    }
    blob = json.dumps(fields, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest(), fields


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    """Uncompressed npz (fastest to load), written atomically."""
    with atomic_writer(path) as f:
        np.savez(f, **arrays)


def _load_cached(path: Path, ids: tuple[str, ...], encoder: Encoder) -> dict[str, np.ndarray] | None:
    """The cached arrays, or None when the file is absent, unreadable or does not fit (then recompute)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in ("ids", "text", "image", "has_image")}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as e:
        print(f"features: cache file {path} unreadable ({e}); recomputing", file=sys.stderr)
        return None
    n = len(ids)
    ok = (
        tuple(data["ids"].tolist()) == ids
        and data["text"].shape == (n, encoder.text_dim)
        and data["image"].shape == (n, encoder.image_dim)
        and data["has_image"].shape == (n,)
    )
    if not ok:
        print(f"features: cache file {path} does not match the split or encoder; recomputing", file=sys.stderr)
        return None
    return data


def extract_features(
    dataset,
    encoder: Encoder,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    device: Any = "auto",
    batch_size: int = 256,
    num_workers: int | None = None,
    progress: bool = True,
) -> Features:
    """Features of every movie in ``dataset.split`` (train, dev, test order), from cache when possible.

    Plots are ``movie.plot`` (the longest); posters ``movie.poster``. ``num_workers`` defaults to
    the CPU count minus one (at most 16) for JPEG decoding. ``cache_dir`` defaults to the
    project's cache root (``$MMIMDB2_CACHE``, else the XDG cache).
    """
    root = Path(cache_dir).expanduser() if cache_dir is not None else cache_root()
    key, fields = cache_key(dataset, encoder)
    path = root / "features" / f"{key}.npz"
    ids = tuple(dataset.split.all_ids)

    t0 = time.perf_counter()
    cached = _load_cached(path, ids, encoder)
    if cached is not None:
        meta = _read_meta(path.with_suffix(".json"))
        if progress:
            print(f"features: {encoder.name} for {len(ids):,} movies loaded from cache {path} "
                  f"({time.perf_counter() - t0:.2f} s)", file=sys.stderr)  # fmt: skip
        return Features(ids, cached["text"], cached["image"], cached["has_image"], key, encoder.name, meta)

    dev = resolve_device(device)
    if num_workers is None:
        num_workers = max(0, min(16, (os.cpu_count() or 1) - 1))
    movies = [dataset.movies[i] for i in ids]
    texts = [m.plot for m in movies]
    posters = [m.poster for m in movies]

    from tqdm.auto import tqdm

    timings = {}
    with tqdm(total=len(ids), desc=f"{encoder.name} plots", unit="item", disable=not progress) as bar:
        t = time.perf_counter()
        text = encoder.encode_texts(
            texts, batch_size=batch_size, device=dev, num_workers=num_workers, on_batch=bar.update
        )
        timings["text_s"] = time.perf_counter() - t
    with tqdm(total=len(ids), desc=f"{encoder.name} posters", unit="item", disable=not progress) as bar:
        t = time.perf_counter()
        image, has_image = encoder.encode_images(
            posters, batch_size=batch_size, device=dev, num_workers=num_workers, on_batch=bar.update
        )
        timings["image_s"] = time.perf_counter() - t

    no_poster = [i for i, p in zip(ids, posters) if p is None]
    undecodable = [i for i, p, h in zip(ids, posters, has_image) if p is not None and not h]
    _save_npz(
        path,
        ids=np.array(ids, dtype=str),
        text=np.ascontiguousarray(text, dtype=np.float32),
        image=np.ascontiguousarray(image, dtype=np.float32),
        has_image=np.asarray(has_image, dtype=bool),
    )
    meta = {
        **fields,
        "cache_format": CACHE_FORMAT,
        "key": key,
        "n": len(ids),
        "text_dim": int(text.shape[1]),
        "image_dim": int(image.shape[1]),
        "no_poster": len(no_poster),
        "undecodable_posters": undecodable,
        "device": str(dev),
        **{k: round(v, 3) for k, v in timings.items()},
    }
    atomic_write_json(path.with_suffix(".json"), meta)
    if progress:
        rate = len(ids) / max(timings["text_s"] + timings["image_s"], 1e-9)
        print(
            f"features: {encoder.name} for {len(ids):,} movies on {dev}: text {text.shape[1]}-d in "
            f"{timings['text_s']:.1f} s, image {image.shape[1]}-d in {timings['image_s']:.1f} s "
            f"({rate:,.0f} movies/s); {len(no_poster)} without poster, {len(undecodable)} undecodable"
            + (f" (e.g. {', '.join(undecodable[:3])})" if undecodable else "")
            + f"; cached at {path}",
            file=sys.stderr,
        )
    text = text.astype(np.float32, copy=False)
    return Features(ids, text, image, np.asarray(has_image, bool), key, encoder.name, meta)


def _read_meta(path: Path) -> dict[str, Any]:
    """The sidecar's description, or {} when it is missing or damaged (it only informs; the arrays
    were checked against the split and encoder already)."""
    try:
        meta = read_json(path)
    except BadJSON:
        return {}
    return meta if isinstance(meta, dict) else {}
