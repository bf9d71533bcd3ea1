"""Corruptions of raw posters (PIL images) and plots (plain strings), for robustness tests.

MultiBench (Liang et al., NeurIPS 2021 Datasets and Benchmarks, "MultiBench: Multiscale
Benchmarks for Multimodal Representation Learning") tests MM-IMDb models on posters turned
grayscale, low in contrast, inverted, shifted in white balance, tinted, salted and peppered,
Gaussian-noised, rotated, flipped and cropped, and on plots with adjacent letters swapped, word
middles shuffled, keyboard typos, repeated and dropped letters, each at a noise level in [0, 1].
Its code is a description here, not a dependency: these are written anew on PIL and numpy, with
its two known quirks left out (salt pixels set to 1 instead of 255; a grayscale conversion inside
the salt-and-pepper and Gaussian functions, which turned every noised poster gray) and a third
(plots lowercased and re-tokenised before any noise, so that level 0 was not the plot) avoided:
text outside a corrupted word is kept byte for byte.

Each transform is ``fn(x, level, rng)`` with ``level`` in [0, 1] and ``rng`` a
:class:`numpy.random.Generator`, registered in :data:`NOISE` with the modality it applies to.
Three promises, each tested:

- level 0 returns the input unchanged;
- severity grows with the level *for the same draw*: a transform takes the same random numbers
  whatever the level (coupling), and the level only scales how much of them is used (an angle,
  a share of pixels, a blend weight) or, for the all-or-nothing transforms (inversion, flip),
  whether a drawn u in [0, 1) falls below it, so whatever is corrupted at one level is corrupted
  at every higher one;
- the same seed gives the same output (:func:`item_rng` derives each item's generator from the
  run's seed, the item's id and the transform's name, never from Python's salted ``hash``).

``poster`` and ``plot`` are the modality-wide corruptions MultiBench applies at a level: every
poster transform in turn (its order), each with its own generator; and, for each word of
:data:`MIN_WORD_LETTERS` letters or more, with probability ``level`` one plot transform chosen
at random. This module needs no torch: it works on the raw data, before any encoder, and serves
anyone who loads the dataset (``ds.torch_view("test", transform=...)``) as well as the benchmark.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from PIL import Image

from mmimdb2.registry import Registry

#: Bump when a transform would give another output for the same input, level and seed (noisy
#: feature caches key on it).
VERSION = 1

#: Contrast factor at level 1 (MultiBench's fixed reduction): the factor is 1 - level * this.
MAX_CONTRAST_CUT = 0.5
#: Largest white-balance gain shift at level 1 (red up and blue down by it, or the reverse).
MAX_WHITE_BALANCE = 0.5
#: Blend weight of the tint colour at level 1 (MultiBench's 0.3).
MAX_TINT = 0.3
#: Share of pixels set to salt (255) or pepper (0) at level 1, half each on average.
MAX_SALT_PEPPER = 0.5
#: Standard deviation of the Gaussian noise at level 1, as a share of 255 (ImageNet-C's severity 5, 0.38).
MAX_GAUSSIAN_SIGMA = 0.38
#: Largest rotation at level 1, in degrees either way (MultiBench's +-20).
MAX_ROTATION = 20.0
#: Share of width and height cut away at level 1 before resizing back (MultiBench's 1/5).
MAX_CROP = 0.2
#: A word is a run of letters; only words at least this long are corrupted (MultiBench's five characters).
MIN_WORD_LETTERS = 5

PosterFn = Callable[[Image.Image, float, np.random.Generator], Image.Image]
PlotFn = Callable[[str, float, np.random.Generator], str]


def check_level(level: Any, what: str = "noise level") -> float:
    """``level`` as a float in [0, 1], or a one-line ValueError naming it."""
    try:
        value = float(level)
    except (TypeError, ValueError):
        raise ValueError(f"The {what} must be a number in [0, 1]. Got {level!r} instead.") from None
    if isinstance(level, bool) or not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"The {what} must be a number in [0, 1]. Got {level!r} instead.")
    return value


def item_rng(seed: int, item: str, transform: str) -> np.random.Generator:
    """The generator of one (run seed, item, transform): stable across processes and runs, and
    independent between transforms, so adding or reordering transforms changes no other draw."""
    words = [int(seed) & 0xFFFFFFFF]
    for text in (item, transform):
        words += np.frombuffer(hashlib.sha256(text.encode()).digest()[:8], dtype="<u4").tolist()
    return np.random.default_rng(words)


# -- posters -----------------------------------------------------------------------------------


def _pixels(img: Image.Image) -> np.ndarray:
    """The image as an (h, w, 3) float32 array of 0..255 (any mode converted to RGB first); float32
    holds every 8-bit value and sum exactly and halves the memory traffic of float64."""
    return np.asarray(img.convert("RGB"), dtype=np.float32)


def _image(a: np.ndarray) -> Image.Image:
    """An (h, w, 3) array back to an RGB image: rounded half up, clipped to 0..255 (in place)."""
    a += 0.5
    np.floor(a, out=a)
    np.clip(a, 0, 255, out=a)
    return Image.fromarray(a.astype(np.uint8), "RGB")


_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _luma(a: np.ndarray) -> np.ndarray:
    """ITU-R 601-2 luma (what Pillow's ``convert("L")`` computes), unrounded, (h, w)."""
    return a @ _LUMA


def grayscale(img: Image.Image, level: float, rng: np.random.Generator) -> Image.Image:
    """Blend towards the poster's luma (kept RGB): level 1 is fully gray."""
    if level == 0:
        return img
    a = _pixels(img)
    return _image(a + (_luma(a)[..., None] - a) * np.float32(level))


def contrast(img: Image.Image, level: float, rng: np.random.Generator) -> Image.Image:
    """Pull every pixel towards the mean luma by a factor 1 - level * :data:`MAX_CONTRAST_CUT`."""
    if level == 0:
        return img
    a = _pixels(img)
    mean = np.float32(_luma(a).mean(dtype=np.float64))
    a -= mean
    a *= np.float32(1.0 - level * MAX_CONTRAST_CUT)
    a += mean
    return _image(a)


def inversion(img: Image.Image, level: float, rng: np.random.Generator) -> Image.Image:
    """The negative (255 - x), with probability ``level``."""
    u = rng.random()
    if level == 0 or u >= level:
        return img
    return _image(255.0 - _pixels(img))


def white_balance(img: Image.Image, level: float, rng: np.random.Generator) -> Image.Image:
    """A colour-temperature shift: red gain 1 + s, blue gain 1 - s (warmer) or the reverse (cooler),
    s = level * U[0.5, 1) * :data:`MAX_WHITE_BALANCE`; the direction is drawn with even odds."""
    warmer, strength = rng.random() < 0.5, rng.uniform(0.5, 1.0)
    if level == 0:
        return img
    s = level * strength * MAX_WHITE_BALANCE
    gains = np.array([1 + s, 1.0, 1 - s] if warmer else [1 - s, 1.0, 1 + s], dtype=np.float32)
    a = _pixels(img)
    a *= gains
    return _image(a)


#: The tint colours (pure red, green, blue), one drawn per poster.
TINTS: tuple[tuple[int, int, int], ...] = ((255, 0, 0), (0, 255, 0), (0, 0, 255))


def tint(img: Image.Image, level: float, rng: np.random.Generator) -> Image.Image:
    """Blend with a pure red, green or blue layer (drawn) by weight level * :data:`MAX_TINT`."""
    colour = np.array(TINTS[int(rng.integers(len(TINTS)))], dtype=np.float32)
    if level == 0:
        return img
    a = _pixels(img)
    return _image(a + (colour - a) * np.float32(level * MAX_TINT))


def salt_and_pepper(img: Image.Image, level: float, rng: np.random.Generator) -> Image.Image:
    """Each pixel, with probability level * :data:`MAX_SALT_PEPPER`, turned white (255, 255, 255)
    or black (0, 0, 0) with even odds; the rest kept, in colour."""
    w, h = img.size
    u, salt = rng.random((h, w), dtype=np.float32), rng.random((h, w), dtype=np.float32) < 0.5
    if level == 0:
        return img
    a = _pixels(img)
    hit = u < level * MAX_SALT_PEPPER
    a[hit & salt] = 255.0
    a[hit & ~salt] = 0.0
    return _image(a)


def gaussian(img: Image.Image, level: float, rng: np.random.Generator) -> Image.Image:
    """Add N(0, sigma) per pixel and channel, sigma = level * :data:`MAX_GAUSSIAN_SIGMA` * 255, clipped."""
    w, h = img.size
    z = rng.standard_normal((h, w, 3), dtype=np.float32)
    if level == 0:
        return img
    z *= np.float32(level * MAX_GAUSSIAN_SIGMA * 255.0)
    z += _pixels(img)
    return _image(z)


def rotation(img: Image.Image, level: float, rng: np.random.Generator) -> Image.Image:
    """Rotate by level * U[-1, 1) * :data:`MAX_ROTATION` degrees about the centre (bilinear, same
    size, black corners)."""
    angle = level * rng.uniform(-1.0, 1.0) * MAX_ROTATION
    if level == 0:
        return img
    return img.convert("RGB").rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=(0, 0, 0))


def flip(img: Image.Image, level: float, rng: np.random.Generator) -> Image.Image:
    """Mirror left to right, with probability ``level``."""
    u = rng.random()
    if level == 0 or u >= level:
        return img
    return img.convert("RGB").transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def crop(img: Image.Image, level: float, rng: np.random.Generator) -> Image.Image:
    """Keep a (1 - level * :data:`MAX_CROP`) share of the width and of the height at a drawn offset,
    then resize it back to the poster's size (bilinear): a zoom into part of the poster."""
    fx, fy = rng.random(), rng.random()
    if level == 0:
        return img
    w, h = img.size
    keep = 1.0 - level * MAX_CROP
    cw, ch = w * keep, h * keep
    left, top = fx * (w - cw), fy * (h - ch)
    box = (left, top, left + cw, top + ch)
    return img.convert("RGB").resize((w, h), resample=Image.Resampling.BILINEAR, box=box)


#: MultiBench's order of the poster transforms (the ``poster`` corruption applies them in turn).
POSTER_TRANSFORMS: tuple[str, ...] = (
    "grayscale", "contrast", "inversion", "white-balance", "tint", "salt-and-pepper", "gaussian", "rotation", "flip", "crop",
)  # fmt: skip


# -- plots -------------------------------------------------------------------------------------

#: A word: a run of letters (any script; digits, underscores and punctuation end it).
WORD = re.compile(r"[^\W\d_]+")

_KEY_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
#: How far each row of a QWERTY keyboard is shifted right, in keys (the usual stagger).
_ROW_SHIFT = (0.0, 0.25, 0.75)


def _keyboard_neighbours() -> dict[str, str]:
    """Per lowercase letter, the letters on the keys that touch it on a staggered QWERTY keyboard:
    the next key either side on its row, and the keys less than one key-width across on the rows
    above and below."""
    where = {k: (r, c + _ROW_SHIFT[r]) for r, row in enumerate(_KEY_ROWS) for c, k in enumerate(row)}
    out = {}
    for k, (r, x) in where.items():
        near = [
            o for o, (r2, x2) in where.items() if o != k and ((r2 == r and abs(x2 - x) <= 1.0) or (abs(r2 - r) == 1 and abs(x2 - x) < 1.0))
        ]
        out[k] = "".join(sorted(near))
    return out


#: Keyboard neighbours of each lowercase letter a-z (see :func:`_keyboard_neighbours`).
KEYBOARD_NEIGHBOURS: dict[str, str] = _keyboard_neighbours()


def _swap(word: str, rng: np.random.Generator) -> str:
    """Swap two adjacent inner letters (first and last stay), chosen among pairs that differ."""
    pairs = [p for p in range(1, len(word) - 2) if word[p] != word[p + 1]]
    if not pairs:
        return word
    p = pairs[int(rng.integers(len(pairs)))]
    return word[:p] + word[p + 1] + word[p] + word[p + 2 :]


def _shuffle_middle(word: str, rng: np.random.Generator) -> str:
    """Permute the inner letters (first and last stay); a draw that changes nothing is rotated by
    one, so the word changes whenever its inner letters are not all the same."""
    mid = list(word[1:-1])
    new = [mid[i] for i in rng.permutation(len(mid))]
    if new == mid:
        new = mid[1:] + mid[:1]
    return word[0] + "".join(new) + word[-1]


def _typo(word: str, rng: np.random.Generator) -> str:
    """Replace one letter a-z (either case) by a keyboard neighbour, keeping its case."""
    spots = [i for i, ch in enumerate(word) if ch.lower() in KEYBOARD_NEIGHBOURS]
    if not spots:
        return word
    i = spots[int(rng.integers(len(spots)))]
    near = KEYBOARD_NEIGHBOURS[word[i].lower()]
    ch = near[int(rng.integers(len(near)))]
    return word[:i] + (ch.upper() if word[i].isupper() else ch) + word[i + 1 :]


def _repeat(word: str, rng: np.random.Generator) -> str:
    """Type one letter twice (a sticky key)."""
    i = int(rng.integers(len(word)))
    return word[: i + 1] + word[i] + word[i + 1 :]


def _drop(word: str, rng: np.random.Generator) -> str:
    """Leave out one inner letter (first and last stay)."""
    i = 1 + int(rng.integers(len(word) - 2))
    return word[:i] + word[i + 1 :]


#: Plot transform name -> what it does to one word.
_WORD_FNS: dict[str, Callable[[str, np.random.Generator], str]] = {
    "swap-letters": _swap, "shuffle-middle": _shuffle_middle, "keyboard-typo": _typo,
    "repeat-letter": _repeat, "drop-letter": _drop,
}  # fmt: skip
#: MultiBench's plot transforms; the ``plot`` corruption picks one of them per corrupted word.
PLOT_TRANSFORMS: tuple[str, ...] = tuple(_WORD_FNS)


def _per_word(text: str, level: float, rng: np.random.Generator, names: Sequence[str]) -> str:
    """Each word of :data:`MIN_WORD_LETTERS` letters or more, with probability ``level``, through one
    of ``names`` (drawn); everything else kept as it is. Every word takes three draws whatever the
    level (u, the transform, a seed for the word's own draws), so raising the level only adds words."""
    parts, end = [], 0
    for m in WORD.finditer(text):
        word = m.group()
        if len(word) < MIN_WORD_LETTERS:
            continue
        u, k, word_seed = rng.random(), int(rng.integers(len(names))), int(rng.integers(2**63))
        if u < level:
            parts += [text[end : m.start()], _WORD_FNS[names[k]](word, np.random.default_rng(word_seed))]
            end = m.end()
    return "".join(parts) + text[end:] if parts else text


def _word_transform(name: str) -> PlotFn:
    def fn(text: str, level: float, rng: np.random.Generator) -> str:
        return text if level == 0 else _per_word(text, level, rng, (name,))

    fn.__name__ = name.replace("-", "_")
    fn.__doc__ = f"Each word of {MIN_WORD_LETTERS}+ letters, with probability ``level``: {_WORD_FNS[name].__doc__}"
    return fn


def plot_noise(text: str, level: float, rng: np.random.Generator) -> str:
    """MultiBench's plot corruption: each word of :data:`MIN_WORD_LETTERS`+ letters, with probability
    ``level``, through one of :data:`PLOT_TRANSFORMS` drawn at random."""
    return text if level == 0 else _per_word(text, level, rng, PLOT_TRANSFORMS)


def poster_noise(img: Image.Image, level: float, rng: np.random.Generator) -> Image.Image:
    """MultiBench's poster corruption: every one of :data:`POSTER_TRANSFORMS` in turn at ``level``,
    each with a generator seeded from ``rng``."""
    out = img
    for name in POSTER_TRANSFORMS:
        out = NOISE.load(name)(out, level, np.random.default_rng(int(rng.integers(2**63))))
    return out


def corrupt(x: Any, noise: str, level: float, *, seed: int, item: str) -> Any:
    """A poster (PIL image) or plot (str) through the registered noise ``noise`` at ``level``, with
    the :func:`item_rng` of (seed, item, noise): the one entry point the feature builder uses."""
    level = check_level(level)
    modality = modality_of(noise)
    if modality == "poster" and not isinstance(x, Image.Image):
        raise TypeError(f"noise {noise!r} corrupts posters (PIL images); got {type(x).__name__}")
    if modality == "plot" and not isinstance(x, str):
        raise TypeError(f"noise {noise!r} corrupts plots (str); got {type(x).__name__}")
    return NOISE.load(noise)(x, level, item_rng(seed, item, noise))


def _registry() -> Registry:
    r: Registry = Registry("noise")
    poster = {
        "grayscale": grayscale, "contrast": contrast, "inversion": inversion, "white-balance": white_balance, "tint": tint,
        "salt-and-pepper": salt_and_pepper, "gaussian": gaussian, "rotation": rotation, "flip": flip, "crop": crop,
    }  # fmt: skip
    for name in POSTER_TRANSFORMS:
        fn = poster[name]
        r.add(name, fn, doc=(fn.__doc__ or "").split("\n")[0], extra={"modality": "poster"})
    r.add("poster", poster_noise, doc="every poster transform in turn at the level (MultiBench)", extra={"modality": "poster"})
    for name in PLOT_TRANSFORMS:
        r.add(name, _word_transform(name), doc=(_WORD_FNS[name].__doc__ or "").split("\n")[0], extra={"modality": "plot"})
    r.add("plot", plot_noise, doc="one plot transform per corrupted word (MultiBench)", extra={"modality": "plot"})
    return r


#: Every corruption by name: the poster and plot transforms, and the ``poster`` and ``plot`` mixes.
NOISE: Registry = _registry()


def modality_of(name: str) -> str:
    """``"poster"`` or ``"plot"``: what the noise ``name`` corrupts (an unknown name: one line with close names)."""
    return NOISE.entry(name).extra["modality"]
