"""Frozen features for every movie of a split, extracted once and cached on disk.

The cache key (:func:`cache_key`) holds the dataset name, version, split hash and content
fingerprint, and the encoder name, version and preprocessing: change any of them and the features
are recomputed; change none and a second run reads one uncompressed ``.npz`` (no model is built).
Entries live in the :class:`benchmarks.cache.CacheStore` ``<cache_dir>/features/``, with a JSON
sidecar saying what the key stands for and how the features were made.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from benchmarks.cache import CacheStore, Entry
from benchmarks.encoders.base import Encoder, resolve_device
from mmimdb2.cpus import usable_cpus

#: Bump when what a cache entry holds changes (old entries are then simply not found).
CACHE_FORMAT = 1
#: Most poster-decoding workers (beyond this, a GPU is fed anyway and memory grows per worker).
MAX_WORKERS = 16


def default_workers(cpus: int | None = None) -> int:
    """Poster-decoding workers: one per usable CPU (:func:`mmimdb2.cpus.usable_cpus`), at most
    :data:`MAX_WORKERS`; none with a single CPU, where a worker only adds copying.

    Not ``usable - 1``: the main process mostly waits on the workers (weight-free features are
    computed in them; a GPU model runs asynchronously), and on 2 CPUs 2 workers decoded the
    weight-free posters 1.8x faster than 1. A CPU model shares the cores with its workers either
    way, and its forward pass, not decoding, sets its pace.
    """
    n = usable_cpus() if cpus is None else cpus
    return 0 if n <= 1 else min(MAX_WORKERS, n)


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


def cache_key(dataset, encoder: Encoder) -> dict[str, str]:
    """The fields the cache key hashes (the sidecar records them)."""
    return {
        "dataset": dataset.name,
        "dataset_version": dataset.version,
        "split_sha256": dataset.split.sha256,
        "content_sha256": dataset.fingerprint,
        "encoder": encoder.name,
        "encoder_version": encoder.version,
        "preprocessing": encoder.preprocessing,
    }


def _mismatch(entry: Entry, ids: tuple[str, ...], encoder: Encoder) -> str | None:
    """Why cached arrays do not fit the split's ids or the encoder's widths, or None."""
    a, n = entry.arrays, len(ids)
    if tuple(a["ids"].tolist()) != ids:
        return "its ids are not the split's"
    if a["text"].shape != (n, encoder.text_dim) or a["image"].shape != (n, encoder.image_dim) or a["has_image"].shape != (n,):
        return "its shapes do not fit the split and encoder"
    return None


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

    Plots are ``movie.plot`` (the longest); posters ``movie.poster``. ``num_workers`` (JPEG
    decoding) defaults to :func:`default_workers`. ``cache_dir`` defaults to the
    project's cache root (``$MMIMDB2_CACHE``, else the XDG cache).
    """
    store = CacheStore(cache_dir, "features", CACHE_FORMAT)
    fields = cache_key(dataset, encoder)
    path, key = store.path(fields), store.name(fields)
    ids = tuple(dataset.split.all_ids)

    t0 = time.perf_counter()
    hit = store.load(fields, need=("ids", "text", "image", "has_image"), check=lambda e: _mismatch(e, ids, encoder))
    if hit is not None:
        if progress:
            print(f"features: {encoder.name} for {len(ids):,} movies loaded from cache {path} "
                  f"({time.perf_counter() - t0:.2f} s)", file=sys.stderr)  # fmt: skip
        a = hit.arrays
        return Features(ids, a["text"], a["image"], a["has_image"], key, encoder.name, hit.meta)

    dev = resolve_device(device)
    if num_workers is None:
        num_workers = default_workers()
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
    arrays = {  # uncompressed (the store's npz): fastest to load
        "ids": np.array(ids, dtype=str),
        "text": np.ascontiguousarray(text, dtype=np.float32),
        "image": np.ascontiguousarray(image, dtype=np.float32),
        "has_image": np.asarray(has_image, dtype=bool),
    }
    info = {
        "n": len(ids),
        "text_dim": int(text.shape[1]),
        "image_dim": int(image.shape[1]),
        "no_poster": len(no_poster),
        "undecodable_posters": undecodable,
        "device": str(dev),
        **{k: round(v, 3) for k, v in timings.items()},
    }
    meta = store.save(fields, arrays, info).meta
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

