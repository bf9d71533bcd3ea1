"""Demo posters: small images whose colours and shapes carry a noisy genre signal.

Each genre has a palette (two background colours and an accent) and a motif (circles, stripes,
a horizon, stars, ...). A poster's background comes from one of the genres it shows, each shown
genre may add its motif in its accent colour, random clutter and a title band are drawn on top,
then pixel noise. Related genres have similar palettes (Horror and Thriller are both dark), some
posters show nothing of their genres, so colour histograms, pixel grids and CLIP see the genres
through noise, never exactly.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from mmimdb2.genres import GENRES

WIDTH, HEIGHT = 64, 96
JPEG_QUALITY = 85

# genre: (background top, background bottom, accent), RGB
PALETTES: dict[str, tuple[tuple[int, int, int], ...]] = {
    "Drama": ((70, 80, 110), (150, 140, 130), (200, 180, 150)),
    "Comedy": ((250, 220, 60), (255, 160, 60), (240, 60, 120)),
    "Romance": ((240, 150, 180), (180, 60, 90), (255, 230, 240)),
    "Thriller": ((20, 30, 50), (60, 70, 90), (200, 40, 40)),
    "Crime": ((30, 30, 30), (90, 80, 60), (220, 200, 60)),
    "Action": ((200, 80, 20), (40, 40, 50), (255, 200, 50)),
    "Adventure": ((60, 140, 80), (200, 170, 100), (250, 230, 150)),
    "Horror": ((10, 5, 5), (90, 10, 10), (180, 220, 180)),
    "Documentary": ((200, 200, 195), (120, 120, 115), (30, 30, 30)),
    "Mystery": ((40, 30, 80), (90, 80, 130), (230, 230, 200)),
    "Sci-Fi": ((5, 20, 60), (20, 120, 160), (100, 255, 240)),
    "Fantasy": ((90, 40, 140), (40, 120, 130), (255, 215, 120)),
    "Family": ((120, 200, 250), (140, 220, 120), (255, 250, 200)),
    "Biography": ((180, 150, 110), (90, 70, 50), (240, 230, 210)),
    "War": ((90, 95, 60), (140, 130, 100), (170, 50, 30)),
    "History": ((140, 100, 50), (70, 50, 30), (210, 180, 90)),
    "Animation": ((60, 170, 255), (255, 120, 200), (255, 240, 0)),
    "Music": ((120, 0, 140), (20, 10, 40), (0, 230, 200)),
    "Musical": ((200, 30, 60), (250, 200, 80), (255, 255, 255)),
    "Western": ((240, 160, 70), (150, 80, 30), (60, 30, 10)),
    "Sport": ((40, 150, 60), (230, 230, 230), (20, 60, 200)),
    "Short": ((230, 230, 230), (180, 200, 210), (90, 90, 90)),
    "Film-Noir": ((15, 15, 15), (110, 110, 110), (235, 235, 235)),
}  # fmt: skip

MOTIFS: dict[str, str] = {
    "Drama": "portrait", "Comedy": "dots", "Romance": "heart", "Thriller": "diagonal",
    "Crime": "bars", "Action": "burst", "Adventure": "horizon", "Horror": "eyes",
    "Documentary": "frame", "Mystery": "ring", "Sci-Fi": "planet", "Fantasy": "stars",
    "Family": "sun", "Biography": "portrait", "War": "horizon", "History": "frame",
    "Animation": "dots", "Music": "bars", "Musical": "stars", "Western": "sun",
    "Sport": "ring", "Short": "frame", "Film-Noir": "diagonal",
}  # fmt: skip

_KINDS = ("disc", "box", "stripe", "ring")


@dataclass(frozen=True)
class Canvas:
    """Pixel coordinates, normalised to [0, 1], shared by every shape drawn."""

    y: np.ndarray
    x: np.ndarray
    #: Unit Gaussian pixel noise, twice the poster size; each poster takes a random window of it
    #: (drawing fresh noise per poster would be most of the generator's run time).
    noise: np.ndarray

    @classmethod
    def make(cls, rng: np.random.Generator, height: int = HEIGHT, width: int = WIDTH) -> Canvas:
        y, x = np.mgrid[0:height, 0:width].astype(np.float32)
        noise = rng.standard_normal((2 * height, 2 * width, 3), dtype=np.float32)
        return cls(y / (height - 1), x / (width - 1), noise)

    def noise_window(self, rng: np.random.Generator) -> np.ndarray:
        h, w = self.y.shape
        dy, dx = int(rng.integers(h)), int(rng.integers(w))
        return self.noise[dy : dy + h, dx : dx + w]


def _jitter(rng: np.random.Generator, colour, amount: float) -> np.ndarray:
    return np.clip(np.asarray(colour, dtype=np.float32) + rng.normal(0, amount, 3), 0, 255)


def _motif_mask(rng: np.random.Generator, cv: Canvas, motif: str) -> np.ndarray:
    """Boolean mask of one motif at a random place and size."""
    cy, cx = rng.uniform(0.25, 0.75), rng.uniform(0.25, 0.75)
    r = rng.uniform(0.12, 0.25)
    dy, dx = (cv.y - cy) * 1.5, cv.x - cx  # posters are 2:3; make circles round
    d = np.hypot(dy, dx)
    if motif == "portrait":
        return (np.hypot((cv.y - 0.4) * 1.5, cv.x - cx) < r * 0.8) | ((cv.y > 0.55) & (np.abs(cv.x - cx) < r * 1.3) & (cv.y < 0.9))
    if motif == "dots":
        period = rng.uniform(0.12, 0.2)
        return (np.hypot(((cv.y * 1.5) % period) - period / 2, (cv.x % period) - period / 2) < period / 4)
    if motif == "heart":
        return (np.hypot(dy + r * 0.2, dx - r * 0.5) < r * 0.6) | (np.hypot(dy + r * 0.2, dx + r * 0.5) < r * 0.6) | (
            (dy > -r * 0.2) & (np.abs(dx) < (r * 1.1 - dy * 1.1)) & (dy < r))
    if motif == "diagonal":
        period = rng.uniform(0.15, 0.3)
        return ((cv.x + cv.y * 1.5) % period) < period * 0.35
    if motif == "bars":
        period = rng.uniform(0.1, 0.2)
        return (cv.x % period) < period * 0.4
    if motif == "burst":
        ang = np.arctan2(dy, dx)
        return (np.cos(ang * 8) > 0.6) & (d < r * 2.5) | (d < r * 0.5)
    if motif == "horizon":
        h = rng.uniform(0.5, 0.75)
        return cv.y > h + 0.05 * np.sin(cv.x * rng.uniform(4, 12))
    if motif == "eyes":
        return (np.hypot(dy, dx - 0.15) < 0.06) | (np.hypot(dy, dx + 0.15) < 0.06)
    if motif == "frame":
        m = rng.uniform(0.06, 0.12)
        return (cv.x < m) | (cv.x > 1 - m) | (cv.y < m * 0.67) | (cv.y > 1 - m * 0.67)
    if motif == "ring":
        return np.abs(d - r) < 0.04
    if motif == "planet":
        return (d < r) | (np.abs(dy * 3 + dx * 0.5) < 0.05) & (d < r * 1.9)
    if motif == "stars":
        return rng.random(cv.x.shape) < 0.05
    if motif == "sun":
        return d < r * 0.9
    raise ValueError(f"unknown motif {motif!r}")


def _clutter_mask(rng: np.random.Generator, cv: Canvas) -> np.ndarray:
    """A random shape that says nothing about the genres."""
    kind = _KINDS[int(rng.integers(len(_KINDS)))]
    cy, cx, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.05, 0.25)
    if kind == "disc":
        return np.hypot((cv.y - cy) * 1.5, cv.x - cx) < r
    if kind == "box":
        return (np.abs(cv.y - cy) < r * 0.7) & (np.abs(cv.x - cx) < r)
    if kind == "stripe":
        return np.abs(cv.y - cy) < r * 0.2
    return np.abs(np.hypot((cv.y - cy) * 1.5, cv.x - cx) - r) < 0.03


def draw_poster(
    rng: np.random.Generator, cv: Canvas, genres: list[str], *, p_show: float, n_clutter: tuple[int, int],
    noise: float,
) -> np.ndarray:  # fmt: skip
    """(H, W, 3) uint8 poster for a movie showing ``genres``: each shown with probability ``p_show``."""
    shown = [g for g in genres if rng.random() < p_show]
    bg_genre = shown[int(rng.integers(len(shown)))] if shown else GENRES[int(rng.integers(len(GENRES)))]
    top, bottom, _ = PALETTES[bg_genre]
    t = cv.y[:, :1]  # (H, 1): a vertical gradient, one colour per row
    img = np.repeat(((1 - t) * _jitter(rng, top, 25) + t * _jitter(rng, bottom, 25))[:, None, :], cv.y.shape[1], axis=1)
    for g in shown:
        colour = _jitter(rng, PALETTES[g][2], 20)
        img[_motif_mask(rng, cv, MOTIFS[g])] = colour
    for _ in range(int(rng.integers(n_clutter[0], n_clutter[1] + 1))):
        img[_clutter_mask(rng, cv)] = rng.uniform(0, 255, 3)
    band_y = rng.uniform(0.02, 0.85)
    band = (cv.y > band_y) & (cv.y < band_y + 0.1)
    img[band] = img[band] * 0.3 + (255.0 if rng.random() < 0.5 else 0.0) * 0.7
    img *= rng.uniform(0.8, 1.15)
    img += noise * cv.noise_window(rng)
    return np.clip(img, 0, 255).astype(np.uint8)


def jpeg_bytes(pixels: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    """Encode with fixed settings (no metadata), so the same pixels give the same bytes."""
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", quality=quality, optimize=False)
    return buf.getvalue()
