"""0/1 matrices as short text, and the identity of an ordered list of movies.

A result record carries each seed's test decisions and the test labels, one bit per (movie,
genre), so that anyone holding only the file can recompute its scores and bootstrap them
(:mod:`mmimdb2.bootstrap`). :func:`pack_bits` writes a (n, genres) 0/1 matrix row by row as bits
(``numpy.packbits``, most significant bit first, the last byte padded with zero bits) and
base64-encodes the bytes: 240 test movies x 23 genres is 690 bytes, 920 characters. It is the
only encoding :func:`unpack_bits` accepts back (exact length, zero padding, canonical base64), so
one matrix has one text.

:func:`ordered_ids_sha256` names the movies those rows are, in order: two records' rows can be
paired movie by movie only when this hash is equal.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable

import numpy as np

from mmimdb2.schema import normalize_imdb_id


def packed_length(n_rows: int, n_cols: int) -> int:
    """Characters of the base64 text of a (n_rows, n_cols) bit matrix: 4 per 3 bytes, padded."""
    n_bytes = -(-n_rows * n_cols // 8)
    return 4 * -(-n_bytes // 3)


def pack_bits(matrix: np.ndarray) -> str:
    """A 2-D 0/1 matrix as base64 of its row-major bits (``numpy.packbits``); raises on other values."""
    arr = np.asarray(matrix)
    if arr.ndim != 2:
        raise ValueError(f"pack_bits takes a 2-D 0/1 matrix; got shape {arr.shape}")
    if not np.isin(arr, (0, 1)).all():
        raise ValueError("pack_bits takes only 0 and 1 values")
    return base64.b64encode(np.packbits(arr.astype(np.uint8).ravel()).tobytes()).decode("ascii")


def unpack_bits(text: str, n_rows: int, n_cols: int) -> np.ndarray:
    """The (n_rows, n_cols) uint8 0/1 matrix :func:`pack_bits` wrote as ``text``.

    Raises ``ValueError`` naming what is wrong: not base64, a length other than
    :func:`packed_length`, or padding bits that are not zero (each matrix has one text).
    """
    if not isinstance(text, str):
        raise ValueError(f"packed bits must be a base64 string, got {type(text).__name__}")
    want = packed_length(n_rows, n_cols)
    if len(text) != want:
        raise ValueError(f"{len(text)} base64 characters; a {n_rows} x {n_cols} bit matrix takes {want}")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValueError("not valid base64 text") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError("not canonical base64 (unused bits of the last character are set)")
    bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8))
    size = n_rows * n_cols
    if len(bits) < size or bits[size:].any():
        raise ValueError("padding bits after the matrix are not zero")
    return bits[:size].reshape(n_rows, n_cols)


def ordered_ids_sha256(ids: Iterable[str]) -> str:
    """sha256 of the ``tt``-normalised ids *in the given order*, one per line.

    Unlike :func:`mmimdb2.splits.ids_sha256` (sorted: a part's identity), the order is kept:
    it identifies the rows of a stored matrix, which are movies in this order.
    """
    text = "".join(normalize_imdb_id(i) + "\n" for i in ids)
    return hashlib.sha256(text.encode()).hexdigest()
