"""Write a movie's two files (poster first, JSON last, each atomically) and tidy the dataset folder.

The JSON is the last file of a movie to appear, so a movie is in the dataset once its JSON is;
both are written with :mod:`mmimdb2.io` (temp file, fsync, rename), so no partial file remains.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from mmimdb2.io import atomic_write_bytes

_DATA_FILE = re.compile(r"tt[0-9]{7,8}\.(json|jpg)")  # fullmatch


def movie_json_bytes(movie: dict) -> bytes:
    """The stored form: keys sorted, UTF-8, 2-space indent, trailing newline (no time stamps)."""
    return (json.dumps(movie, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")


def write_movie(dataset_dir: Path, imdb_id: str, movie: dict, poster: bytes) -> dict[str, int]:
    """Write ``<id>.jpg`` then ``<id>.json``; return their sizes (for the journal's resume check)."""
    body = movie_json_bytes(movie)
    atomic_write_bytes(dataset_dir / f"{imdb_id}.jpg", poster)
    atomic_write_bytes(dataset_dir / f"{imdb_id}.json", body)
    return {"jpg": len(poster), "json": len(body)}


def movie_files_ok(dataset_dir: Path, imdb_id: str, sizes: dict | None) -> bool:
    """True when both files of a journalled movie are there with the sizes the journal recorded."""
    if not sizes:
        return False
    for ext in ("jpg", "json"):
        p = dataset_dir / f"{imdb_id}.{ext}"
        try:
            if p.stat().st_size != sizes.get(ext):
                return False
        except FileNotFoundError:
            return False
    return True


def remove_temp_files(folder: Path) -> list[Path]:
    """Delete temp files an interrupted atomic write left (``.<name>.*.tmp``)."""
    gone = []
    if folder.is_dir():
        for p in folder.glob(".*.tmp"):
            p.unlink(missing_ok=True)
            gone.append(p)
    return gone


def remove_strays(dataset_dir: Path, keep: set[str]) -> list[Path]:
    """Delete movie files of ids outside ``keep`` (built earlier for another manifest or --limit)."""
    gone = []
    if dataset_dir.is_dir():
        for p in dataset_dir.iterdir():
            if _DATA_FILE.fullmatch(p.name) and p.name.split(".")[0] not in keep:
                p.unlink()
                gone.append(p)
    return gone


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()
