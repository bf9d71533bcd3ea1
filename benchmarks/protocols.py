"""Evaluation protocols: our fixed split, and the IDKG authors' released protocol, on purpose.

``fixed``: train, dev and test are the dataset's hashed split files, disjoint by construction, and
the knowledge graph is built from the training part only.

``authors``: what the authors' released loader does (``processor/dataset.py`` of aoluming/IDKG):
every time a dataset object is built it shuffles all movies anew and cuts 60% / 30% / 10% for
train / test / dev. Train, dev and test objects are built separately, so each part comes from an
independent shuffle, and the knowledge graph was built from yet another draw. About 59% of such
test movies are training movies, and the graph holds genres of test movies. We reproduce it only
to measure the inflation it causes; its rows are marked and never mixed with fixed-split rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PROTOCOLS: tuple[str, ...] = ("fixed", "authors")


@dataclass(frozen=True)
class AuthorsDraw:
    """Row indices of one authors-protocol run: possibly overlapping parts, and the KG's train rows."""

    train: np.ndarray
    dev: np.ndarray
    test: np.ndarray
    kg_train: np.ndarray

    def overlap(self, a: str, b: str) -> float:
        """Share of part ``b``'s rows that are also in part ``a``."""
        rows_b = getattr(self, b)
        return float(np.isin(rows_b, getattr(self, a)).mean()) if len(rows_b) else 0.0


def _cut(perm: np.ndarray, part: str) -> np.ndarray:
    """The authors' cut of one shuffle: train = first 60%, test = next 30%, dev = the rest."""
    n = len(perm)
    n_train, n_test = int(n * 0.6), int(n * 0.3)
    if part == "train":
        return perm[:n_train]
    if part == "test":
        return perm[n_train : n_train + n_test]
    return perm[n_train + n_test :]


def authors_draw(n_movies: int, seed: int) -> AuthorsDraw:
    """Four independent shuffles of ``n_movies`` rows, as four dataset objects in the authors' code."""
    rng = np.random.default_rng(seed)
    perms = [rng.permutation(n_movies) for _ in range(4)]
    return AuthorsDraw(
        train=np.sort(_cut(perms[0], "train")),
        dev=np.sort(_cut(perms[1], "dev")),
        test=np.sort(_cut(perms[2], "test")),
        kg_train=np.sort(_cut(perms[3], "train")),
    )
