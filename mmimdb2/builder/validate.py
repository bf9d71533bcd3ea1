"""Checks a field must pass before it enters the dataset: posters, plots, genres.

Posters are decoded by Pillow after a pixel-count check on the header alone (a decompression bomb
is refused before any pixel is decoded; no global Pillow setting is changed), must have a sane
size, and are re-encoded as baseline RGB JPEG with fixed settings, so the same input always gives
the same bytes (re-runs and resumed runs are byte-identical).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from mmimdb2.genres import canonical_genres
from mmimdb2.images import to_rgb

#: Longest field a source may give, in characters. The longest real IMDb title is ~200 characters
#: and a long synopsis a few thousand; a longer value is a broken or hostile answer. Such a title or
#: plot is left out with its reason (the next source's may take its place; a movie left without one
#: fails as "no source gave a title"), a person's name too; lists longer than their cap keep their
#: first entries, with a warning.
MAX_TITLE_CHARS = 1_000
MAX_PLOT_CHARS = 20_000
MAX_NAME_CHARS = 300
MAX_GENRE_CHARS = 100
#: Most entries kept per list: plots of one source, genres, directors, cast members.
MAX_PLOTS = 20
MAX_GENRES = 50
MAX_PEOPLE = 500


class Invalid(ValueError):
    """A field that fails its check; the message is the reason in the failures report."""


@dataclass(frozen=True)
class PosterPolicy:
    """Size limits and the fixed encoding of stored posters."""

    min_side: int = 32
    max_pixels: int = 40_000_000
    max_aspect: float = 8.0
    max_side: int = 1024  # larger posters are scaled down (LANCZOS) to this longest side
    quality: int = 90


#: The policy of a build that sets none (a frozen value, shared safely).
DEFAULT_POSTER_POLICY = PosterPolicy()


def clean_poster(data: bytes, policy: PosterPolicy = DEFAULT_POSTER_POLICY) -> bytes:
    """Decoded, checked and re-encoded JPEG bytes; raise :class:`Invalid` naming what is wrong."""
    if not data:
        raise Invalid("empty poster file")
    try:
        img = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise Invalid("poster is not an image Pillow can read") from None
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise Invalid(f"poster cannot be opened ({e})") from None
    w, h = img.size
    if w * h > policy.max_pixels:
        raise Invalid(f"poster has {w}x{h} pixels, over the limit of {policy.max_pixels} (decompression bomb?)")
    if min(w, h) < policy.min_side:
        raise Invalid(f"poster is {w}x{h}, smaller than {policy.min_side} px on a side")
    if max(w, h) / min(w, h) > policy.max_aspect:
        raise Invalid(f"poster is {w}x{h}, not a poster's shape (aspect over {policy.max_aspect})")
    try:
        img.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise Invalid(f"poster does not decode ({e})") from None
    img = to_rgb(img)  # 16-bit grayscale scaled to 8 bits, not clipped
    if max(w, h) > policy.max_side:
        s = policy.max_side / max(w, h)
        img = img.resize((max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=policy.quality, optimize=False, progressive=False, subsampling=2)
    return out.getvalue()


# Placeholders that sources put where a plot should be.
_NO_PLOT = re.compile(r"^(n/?a|none|null|add a plot.*|we don't have an overview.*|plot (is )?unknown\.?|no (plot|overview).*)$", re.I)


def clean_plot(text: object) -> str:
    """A plot with outer whitespace stripped and inner runs collapsed; raise :class:`Invalid` if empty or a placeholder."""
    if not isinstance(text, str):
        raise Invalid(f"plot is not text ({type(text).__name__})")
    s = " ".join(text.split())
    if not s:
        raise Invalid("plot is empty")
    if _NO_PLOT.match(s):
        raise Invalid(f"plot is a placeholder ({s[:40]!r})")
    return s


def check_genres(raw: tuple[str, ...]) -> tuple[str, ...]:
    """The canonical genres of ``raw``; raise :class:`Invalid` if none of the 23 is named."""
    canon = canonical_genres(raw)
    if not canon:
        raise Invalid(f"none of the genres {list(raw)} is one of the 23 labels")
    return canon
