"""A loaded dataset: movies in the common schema, one fixed split, and the skips met on the way."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from mmimdb2.genres import label_matrix
from mmimdb2.schema import Movie, Skip
from mmimdb2.splits import Split


@dataclass(frozen=True)
class MovieDataset:
    """What :func:`mmimdb2.load` returns.

    ``movies`` maps ``tt`` id -> :class:`Movie`. ``split`` is restricted to the movies that loaded,
    so every id in it has a movie; ids the split names but that failed to load are in ``skips``.
    ``name`` is ``demo``, ``mmimdb``, ``mmimdb2`` or the folder name; ``layout`` is the on-disk
    layout it was read from (``mmimdb`` or ``mmimdb2``).
    """

    name: str
    layout: str
    root: Path
    movies: dict[str, Movie]
    split: Split
    skips: tuple[Skip, ...] = ()
    version: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def part(self, part: str) -> list[Movie]:
        """Movies of one split part, in the split file's order (never shuffled)."""
        return [self.movies[i] for i in self.split[part]]

    def labels(self, part: str) -> np.ndarray:
        """(n, 23) label matrix of a part, columns in :data:`mmimdb2.GENRES` order."""
        return label_matrix(m.genres for m in self.part(part))

    @cached_property
    def fingerprint(self) -> str:
        """sha256 of the split's movie records and poster sizes, in split order.

        Derived caches (features) key on it, so a dataset regenerated or rebuilt with other
        content under the same name, version and split never reuses stale features. Posters enter
        by name and byte size (a stat, not a read), which any re-encode of a JPEG changes.
        """
        h = hashlib.sha256()
        for i in self.split.all_ids:
            m = self.movies[i]
            size = m.poster.stat().st_size if m.poster is not None and m.poster.exists() else -1
            record = [m.imdb_id, m.title, m.year, list(m.raw_genres), list(m.plots),
                      [[p.name, p.imdb_id] for p in m.directors], [[p.name, p.imdb_id] for p in m.cast],
                      m.poster.name if m.poster is not None else None, size]  # fmt: skip
            h.update(json.dumps(record, ensure_ascii=False).encode())
            h.update(b"\n")
        return h.hexdigest()

    def __iter__(self) -> Iterator[Movie]:
        return iter(self.movies.values())

    def __len__(self) -> int:
        return len(self.movies)

    def torch_view(self, part: str, transform=None):
        """A :class:`mmimdb2.torch_dataset.MoviePartDataset` over one part (torch is imported only
        here); batch it with ``DataLoader(..., collate_fn=mmimdb2.torch_dataset.collate)``."""
        from mmimdb2.torch_dataset import MoviePartDataset

        return MoviePartDataset(self.part(part), transform=transform)

    def to_pandas(self, part: str | None = None):
        """One row per movie (id, titles, year, plot, genres, directors, cast, poster path, part):
        see :func:`mmimdb2.export.to_pandas`."""
        from mmimdb2.export import to_pandas

        return to_pandas(self, part)

    def to_hf(self, parts: tuple[str, ...] | None = None):
        """A Hugging Face ``datasets.DatasetDict`` (extra ``hf``): see :func:`mmimdb2.export.to_huggingface`."""
        from mmimdb2.export import to_huggingface

        return to_huggingface(self, parts)
