"""Opening a poster safely: its size and shape are checked from the header before any pixel is
decoded, and 16-bit images are scaled (not clipped) to 8 bits on their way to RGB.

Why: a 268-byte PNG can declare 65000x1 pixels; decoding it is cheap, but an encoder that scales
its short side to 224 then asks for a 14-million-pixel-wide image (18 GB). A poster is never 20
times wider than high. Pillow's ``convert("RGB")`` clips a 16-bit grayscale image (``I;16``,
``I``) at 255, which turns almost every pixel white; :func:`to_rgb` scales it instead. The loader's
header check (:func:`mmimdb2.layouts.check_poster`), the builder's poster check and the
encoders' poster opening share these limits.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from mmimdb2.io import NotRegularFile, open_regular

#: Largest poster accepted, in pixels (Pillow's own default limit): a guard against decompression
#: bombs, checked from the header without decoding any pixel.
MAX_POSTER_PIXELS = 89_478_485

#: Most elongated poster accepted (long side / short side). Real posters are about 1.5:1; banners
#: and strips beyond 20:1 are not posters and would blow up a resize to a fixed short side.
MAX_ASPECT = 20.0


class PosterError(ValueError):
    """A poster that cannot be used: one line naming the file and why."""


def shape_problem(width: int, height: int, *, max_pixels: int = MAX_POSTER_PIXELS, max_aspect: float = MAX_ASPECT) -> str | None:
    """Why a ``width`` x ``height`` image is not a usable poster (empty, too many pixels, absurd
    aspect ratio), or ``None``; decided from the header alone."""
    if width <= 0 or height <= 0:
        return f"poster has an empty size {width}x{height}"
    if width * height > max_pixels:
        return f"poster is {width}x{height} = {width * height:,} pixels, over the {max_pixels:,} limit (decompression bomb guard)"
    if max(width, height) > max_aspect * min(width, height):
        return f"poster is {width}x{height}, an aspect ratio over {max_aspect:g}:1 (not a poster)"
    return None


def _to_8bit(a: np.ndarray, mode: str) -> np.ndarray:
    """One grayscale channel of a 16-bit, 32-bit or float image as uint8, scaled over its range."""
    a = a.astype(np.float64)
    if mode.startswith("I;16"):
        a = a / 257.0  # 0..65535 -> 0..255
    elif a.size:
        lo, hi = float(a.min()), float(a.max())
        if mode == "F" and lo >= 0.0 and hi <= 1.0:
            a = a * 255.0
        elif lo >= 0 and hi <= 255:
            pass  # already 8-bit values in a wider mode
        elif lo >= 0 and hi <= 65535:
            a = a / 257.0  # a 16-bit image that Pillow opened as 32-bit "I"
        else:
            a = (a - lo) * (255.0 / (hi - lo))
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def to_rgb(im: Image.Image) -> Image.Image:
    """``im`` as an 8-bit RGB image; 16-bit, 32-bit and float grayscale are scaled to 0..255
    (Pillow's own conversion clips them at 255)."""
    if im.mode.startswith("I") or im.mode == "F":
        return Image.fromarray(_to_8bit(np.asarray(im), im.mode), mode="L").convert("RGB")
    return im.convert("RGB")


def open_poster(
    path: str | Path, *, draft: tuple[int, int] | None = None, max_pixels: int = MAX_POSTER_PIXELS, max_aspect: float = MAX_ASPECT
) -> Image.Image:
    """The poster at ``path`` as a decoded RGB image, or :class:`PosterError` naming the file.

    Only a regular file is opened (a FIFO cannot hang a worker); the size and aspect ratio are
    checked from the header before any pixel is decoded; ``draft`` lets a JPEG decode at a reduced
    scale (at least that size)."""
    try:
        with open_regular(path) as f, warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(f) as im:
                why = shape_problem(*im.size, max_pixels=max_pixels, max_aspect=max_aspect)
                if why:
                    raise PosterError(f"{path}: {why}")
                if draft is not None:
                    im.draft("RGB", draft)
                im.load()
                return to_rgb(im)
    except NotRegularFile as e:
        raise PosterError(f"{path}: poster is {e.strerror}; never read") from None
    except Image.DecompressionBombError as e:
        raise PosterError(f"{path}: poster refused as a decompression bomb ({e})") from None
    except PosterError:
        raise
    except (OSError, SyntaxError, ValueError) as e:
        raise PosterError(f"{path}: poster cannot be decoded ({type(e).__name__}: {e})") from None
