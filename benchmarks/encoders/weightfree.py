"""``weightfree``: deterministic features with no weights, for tests and the demo's fast path.

Text (512-d): the plot is lower-cased and split into ``\\w+`` tokens; one-character tokens and
scikit-learn's fixed English stop-word list are dropped (otherwise "the", "a", "of" dominate every
row); each distinct remaining token gets the sublinear count ``1 + log(tf)`` and is hashed, with a
sign, into 512 buckets (scikit-learn's ``FeatureHasher``: MurmurHash3, seed 0, so the same word
always lands in the same bucket with the same sign on every machine). Rows are L2-normalised; a
plot with no content word gives a zero row.

Image (512-d), from the poster decoded at reduced size (JPEG draft <= 128 px) and resized to
64 x 64 (bilinear):

====================  ====  ===================================================================
block                 dims  what
====================  ====  ===================================================================
RGB histogram           64  joint 4x4x4 colour histogram (square-rooted: Hellinger)
HSV histograms          48  hue 24 bins weighted by saturation, saturation 12, value 12
grey histogram          32  luminance, 32 bins
coarse grid            192  8 x 8 cell means of R, G, B, centred at 0.5 (layout: where it is dark)
gradient orientations  144  4 x 4 cells x 9 unsigned orientations, magnitude-weighted (HOG-like)
edge statistics         32  16-bin gradient-magnitude histogram + edge density of 4 x 4 cells
====================  ====  ===================================================================

Each block is L2-normalised and weighted equally, then the whole row is L2-normalised, so no
block dominates because of its size. It is not CLIP, but colour, layout and texture are what
distinguish a horror poster from a comedy one, and words shared by plots are what group them.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.encoders.base import OnBatch, batched, iter_poster_batches, l2_normalize

TEXT_DIM = 512
IMAGE_DIM = 512
_SIDE = 64
_DRAFT = (128, 128)
_TOKEN = re.compile(r"\w+")
_BLOCKS = (64, 48, 32, 192, 144, 32)


def text_features(texts: Sequence[str]) -> np.ndarray:
    """(n, 512) signed, hashed, sublinear bag of words, rows L2-normalised."""
    from sklearn.feature_extraction import FeatureHasher
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    hasher = FeatureHasher(n_features=TEXT_DIM, input_type="dict", alternate_sign=True)
    bags = (
        {
            tok: 1.0 + math.log(tf)
            for tok, tf in Counter(_TOKEN.findall(t.lower())).items()
            if len(tok) > 1 and tok not in ENGLISH_STOP_WORDS
        }
        for t in texts
    )
    x = hasher.transform(bags).toarray().astype(np.float32)
    return l2_normalize(x)


def _hist(values: np.ndarray, bins: int, weights: np.ndarray | None = None) -> np.ndarray:
    idx = np.minimum((values * bins).astype(np.int64), bins - 1).ravel()
    w = None if weights is None else weights.ravel()
    h = np.bincount(idx, weights=w, minlength=bins).astype(np.float32)
    return np.sqrt(h / max(float(h.sum()), 1e-12))


def _cells(a: np.ndarray, n: int) -> np.ndarray:
    """(H, W, ...) -> (n, n, H/n, W/n, ...) blocks."""
    h, w = a.shape[:2]
    return a.reshape(n, h // n, n, w // n, *a.shape[2:]).swapaxes(1, 2)


def image_features(im) -> np.ndarray:
    """512-d float32 descriptor of an RGB PIL image (see the module docstring)."""
    from PIL import Image

    small = im.resize((_SIDE, _SIDE), Image.BILINEAR)
    rgb = np.asarray(small, dtype=np.float32) / 255.0  # (64, 64, 3)
    hsv = np.asarray(small.convert("HSV"), dtype=np.float32) / 256.0
    grey = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)

    q = np.minimum((rgb * 4).astype(np.int64), 3)
    joint = np.bincount((q[..., 0] * 16 + q[..., 1] * 4 + q[..., 2]).ravel(), minlength=64).astype(np.float32)
    rgb_hist = np.sqrt(joint / joint.sum())
    hsv_hist = np.concatenate(
        [_hist(hsv[..., 0], 24, weights=hsv[..., 1]), _hist(hsv[..., 1], 12), _hist(hsv[..., 2], 12)]
    )
    grey_hist = _hist(grey, 32)
    grid = _cells(rgb, 8).mean(axis=(2, 3)).ravel() - 0.5

    gy, gx = np.gradient(grey)
    mag = np.hypot(gx, gy)
    ang = np.mod(np.arctan2(gy, gx), np.pi) / np.pi  # unsigned orientation in [0, 1)
    obin = np.minimum((ang * 9).astype(np.int64), 8)
    cell = (np.arange(_SIDE) // (_SIDE // 4))
    cell_id = cell[:, None] * 4 + cell[None, :]
    hog = np.bincount((cell_id * 9 + obin).ravel(), weights=mag.ravel(), minlength=144).astype(np.float32)
    hog = np.sqrt(hog)
    mag_hist = _hist(np.clip(mag * 2.0, 0.0, 0.999), 16)  # |grad| of a [0,1] image rarely exceeds 0.5
    density = _cells(mag > 0.05, 4).mean(axis=(2, 3)).ravel().astype(np.float32)
    edges = np.concatenate([mag_hist, density])

    blocks = [rgb_hist, hsv_hist, grey_hist, grid.astype(np.float32), hog, edges]
    out = np.concatenate([b / max(float(np.linalg.norm(b)), 1e-12) for b in blocks])
    return l2_normalize(out[None, :])[0]


def _load_poster(im) -> np.ndarray:
    return image_features(im)


class WeightFreeEncoder:
    """Deterministic, weight-free text and image features (see the module docstring)."""

    name = "weightfree"
    version = "1"
    text_dim = TEXT_DIM
    image_dim = IMAGE_DIM

    def __init__(self) -> None:
        import PIL

        self.preprocessing = (
            "text: lowercase \\w+ tokens, no 1-char or sklearn English stop words, 1+log(tf), "
            "signed MurmurHash3 feature hashing into 512, L2; "
            f"image: JPEG draft {_DRAFT[0]}px, bilinear {_SIDE}x{_SIDE}, blocks {_BLOCKS}, L2; "
            f"pillow {PIL.__version__}"
        )

    def encode_texts(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 1024,
        device: Any = None,
        num_workers: int = 0,
        on_batch: OnBatch | None = None,
    ) -> np.ndarray:
        parts = []
        for chunk in batched(list(texts), batch_size):
            parts.append(text_features(chunk))
            if on_batch:
                on_batch(len(chunk))
        return np.concatenate(parts) if parts else np.zeros((0, TEXT_DIM), np.float32)

    def encode_images(
        self,
        paths: Sequence[Path | None],
        *,
        batch_size: int = 256,
        device: Any = None,
        num_workers: int = 0,
        on_batch: OnBatch | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        out = np.zeros((len(paths), IMAGE_DIM), np.float32)
        has = np.zeros(len(paths), bool)
        fallback = np.zeros(IMAGE_DIM, np.float32)
        for rows, batch, ok in iter_poster_batches(
            paths, _load_poster, fallback, batch_size=batch_size, num_workers=num_workers, draft=_DRAFT
        ):
            ok = ok.numpy()
            out[rows[ok]] = batch.numpy()[ok]
            has[rows] = ok
            if on_batch:
                on_batch(len(rows))
        missing = sum(p is None for p in paths)
        if on_batch and missing:
            on_batch(missing)
        return out, has
