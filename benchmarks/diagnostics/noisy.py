"""Test features of noisy posters and plots: the raw test part corrupted (:mod:`mmimdb2.noise`),
then encoded by the run's own encoder, cached per modality, noise, level and seed.

Train and dev stay clean (models train on clean data, as in MultiBench); only the test rows get
noisy features, and only in the modality that is noised: the other one is read from the clean
feature cache. A poster is decoded as the encoder decodes it (its JPEG ``draft`` size when it
has one), corrupted, written losslessly (PNG) to a temporary folder and encoded from there by the
encoder's own image path, so the noise falls on the pixels the encoder would have seen. A level
of 0 is the clean features themselves (no re-encoding).

Each modality's entry lives in the :class:`benchmarks.cache.CacheStore` ``noisy-features``,
keyed by the clean features' key (dataset, split hash, content, encoder name, version and
preprocessing), the test ids, the modality, the noise name and level, the seed and
:data:`mmimdb2.noise.VERSION`: a poster sweep and a plot sweep are each encoded once, and a
joint setting (``poster=0.3 plot=0.3``) reads both.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.cache import CacheStore
from benchmarks.features import Features, cache_key
from mmimdb2.noise import VERSION, check_level, corrupt, modality_of

#: Bump when what a ``noisy-features`` entry holds changes.
NOISY_FORMAT = 1
#: Batch key of each noisy modality's features.
FEATURE_KEY = {"poster": "image", "plot": "text"}


@dataclass(frozen=True)
class NoiseSetting:
    """Which noise at which level on each modality, and the seed of its draws. ``noises`` maps a
    registered noise name (:data:`mmimdb2.noise.NOISE`: ``poster``, ``plot`` or one transform) to
    its level; at most one noise per modality."""

    noises: tuple[tuple[str, float], ...]
    seed: int = 0

    def __post_init__(self) -> None:
        checked = tuple((str(n), check_level(v, f"level of noise {n!r}")) for n, v in self.noises)
        modalities = [modality_of(n) for n, _ in checked]  # an unknown name: one line with close names
        if len(set(modalities)) != len(modalities):
            raise ValueError(f"one noise per modality: {', '.join(n for n, _ in checked)} name {', '.join(modalities)}")
        object.__setattr__(self, "noises", checked)

    @classmethod
    def parse(cls, items: Sequence[str], seed: int = 0) -> NoiseSetting:
        """From ``NAME=LEVEL`` words (``poster=0.3 plot=0.2``, ``rotation=0.5``)."""
        pairs = []
        for item in items:
            name, sep, level = item.partition("=")
            if not sep or not name.strip():
                raise ValueError(f"--noise expects NAME=LEVEL (e.g. poster=0.3 plot=0.2), got {item!r}")
            pairs.append((name.strip(), level.strip()))
        return cls(tuple(pairs), seed)

    def by_modality(self) -> dict[str, tuple[str, float]]:
        """modality -> (noise, level), levels of 0 left out (they are the clean features)."""
        return {modality_of(n): (n, v) for n, v in self.noises if v > 0}

    def label(self) -> str:
        """``poster=0.3 plot=0.2`` (``clean`` without noise)."""
        return " ".join(f"{n}={v:g}" for n, v in self.noises) or "clean"


def noisy_key(dataset, encoder, ids: Sequence[str], modality: str, noise: str, level: float, seed: int) -> dict[str, Any]:
    """The cache key of one modality's noisy features (the clean features' key plus the noise)."""
    from mmimdb2.packing import ordered_ids_sha256

    return {**cache_key(dataset, encoder), "ids_sha256": ordered_ids_sha256(ids), "modality": modality, "noise": noise,
            "level": float(level), "seed": int(seed), "noise_version": VERSION}  # fmt: skip


def noisy_part_arrays(
    dataset,
    encoder,
    clean: Features,
    ids: Sequence[str],
    setting: NoiseSetting,
    *,
    cache_dir: str | Path | None = None,
    device: Any = "cpu",
    batch_size: int = 64,
    num_workers: int | None = None,
    progress: bool = False,
    timings: dict[str, float] | None = None,
) -> dict[str, np.ndarray]:
    """``{"text", "image"}`` features of the movies ``ids`` (in that order) under ``setting``: each
    noised modality encoded from corrupted raw data (or read from the cache), the other taken from
    ``clean``. ``timings`` (if given) receives the seconds spent encoding each modality (0 on a hit);
    ``num_workers`` decode posters as :func:`benchmarks.features.extract_features` does (default: one per usable CPU)."""
    from benchmarks.features import default_workers

    num_workers = default_workers() if num_workers is None else num_workers
    rows = clean.rows(ids)
    out = {"text": clean.text[rows], "image": clean.image[rows]}
    store = CacheStore(cache_dir, "noisy-features", NOISY_FORMAT)
    for modality, (noise, level) in setting.by_modality().items():
        key = noisy_key(dataset, encoder, ids, modality, noise, level, setting.seed)
        want = FEATURE_KEY[modality]
        width = clean.text.shape[1] if want == "text" else clean.image.shape[1]

        def check(entry, want=want, width=width) -> str | None:
            a = entry.arrays
            if tuple(a["ids"].tolist()) != tuple(ids):
                return "its ids are not the part's"
            return None if a[want].shape == (len(ids), width) else "its shape does not fit the part and encoder"

        t0 = time.perf_counter()
        hit = store.load(key, need=("ids", want), check=check)
        if hit is not None:
            out[want] = hit.arrays[want]
            seconds = 0.0
        else:
            movies = [dataset.movies[i] for i in ids]
            if modality == "plot":
                texts = [corrupt(m.plot, noise, level, seed=setting.seed, item=m.imdb_id) for m in movies]
                feats = encoder.encode_texts(texts, batch_size=batch_size, device=device, num_workers=num_workers)
                arrays = {"ids": np.array(ids, dtype=str), "text": np.ascontiguousarray(feats, dtype=np.float32)}
                info: dict[str, Any] = {"n": len(ids)}
            else:
                feats, has = _noisy_posters(movies, encoder, noise, level, setting.seed, device=device, batch_size=batch_size,
                                            num_workers=num_workers)  # fmt: skip
                arrays = {"ids": np.array(ids, dtype=str), "image": np.ascontiguousarray(feats, dtype=np.float32), "has_image": has}
                info = {"n": len(ids), "undecodable_or_missing": int((~has).sum())}
            seconds = time.perf_counter() - t0
            store.save(key, arrays, {**info, "seconds": round(seconds, 3)})
            out[want] = arrays[want]
            if progress:
                print(f"noisy features: {modality} {noise}={level:g} (seed {setting.seed}) for {len(ids)} movies "
                      f"encoded in {seconds:.1f} s", file=sys.stderr)  # fmt: skip
        if timings is not None:
            timings[modality] = timings.get(modality, 0.0) + seconds
    return out


def _noisy_posters(movies, encoder, noise: str, level: float, seed: int, **encode: Any) -> tuple[np.ndarray, np.ndarray]:
    """Each movie's poster decoded as ``encoder`` decodes it, corrupted, saved as PNG in a
    temporary folder and encoded by ``encoder.encode_images``; a missing or undecodable poster
    stays missing (a zero row, ``has_image`` False, as in the clean features)."""
    from mmimdb2.images import PosterError, open_poster

    draft = getattr(encoder, "draft", None)
    with tempfile.TemporaryDirectory(prefix="mmimdb2-noisy-posters-") as tmp:
        paths: list[Path | None] = []
        for m in movies:
            if m.poster is None:
                paths.append(None)
                continue
            try:
                img = open_poster(m.poster, draft=draft)
            except PosterError:
                paths.append(Path(tmp) / f"{m.imdb_id}.undecodable")  # not there: the encoder records it as undecodable
                continue
            path = Path(tmp) / f"{m.imdb_id}.png"
            corrupt(img, noise, level, seed=seed, item=m.imdb_id).save(path, format="PNG", compress_level=1)
            paths.append(path)
        return encoder.encode_images(paths, **encode)


def substitute(arrays: Mapping[str, np.ndarray], noisy: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One part's input arrays with the noisy ``text`` / ``image`` blocks in place of the clean ones."""
    return {**arrays, **{k: v for k, v in noisy.items() if k in arrays}}
