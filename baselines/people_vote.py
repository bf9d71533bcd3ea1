"""The people vote: a movie's genres guessed from the training movies that share one of its people.

For movie i, the vote is the mean genre vector of the **training** movies that share at least
one director or cast member with it (people keyed by :attr:`mmimdb2.schema.Person.key`); a movie
that shares nobody gets the zero vector. Only training labels are read. A training movie must not
vote for itself, so training rows get an out-of-fold vote: the training rows are cut into K
seeded folds (scikit-learn's ``KFold``) and each fold is voted for by the other K-1 folds only.
Dev and test rows are voted for by every training row.

It is a frozen feature like the plot and poster features (batch key ``people``) and, on its own,
the ``people-vote`` baseline: on real movies, who made a film says much about its genres.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.model_selection import KFold
from sklearn.preprocessing import MultiLabelBinarizer

from mmimdb2.schema import Movie

#: Folds of the out-of-fold vote for training rows.
DEFAULT_FOLDS = 5


def people_matrix(movies: Sequence[Movie]) -> sp.csr_matrix:
    """(n_movies, n_people) 0/1 CSR: movie i credits person p as director or cast member."""
    keys = [sorted({p.key for p in (*m.directors, *m.cast)}) for m in movies]
    binarizer = MultiLabelBinarizer(sparse_output=True)
    if not any(keys):
        return sp.csr_matrix((len(movies), 0), dtype=np.float32)
    return binarizer.fit_transform(keys).astype(np.float32).tocsr()


def _vote(people: sp.csr_matrix, labels: np.ndarray, query: np.ndarray, voters: np.ndarray) -> np.ndarray:
    """Mean label vector of the ``voters`` rows that share a person with each ``query`` row."""
    shares = (people[query] @ people[voters].T) > 0  # (|query|, |voters|) bool
    shares = shares.astype(np.float32)
    counts = np.asarray(shares.sum(axis=1)).ravel()
    sums = np.asarray(shares @ labels[voters].astype(np.float32))
    out = np.zeros((len(query), labels.shape[1]), dtype=np.float32)
    has = counts > 0
    out[has] = sums[has] / counts[has, None]
    return out


def people_vote(
    movies: Sequence[Movie],
    labels: np.ndarray,
    train_rows: np.ndarray,
    *,
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
) -> np.ndarray:
    """(n, num_genres) float32 votes for every movie; training rows out-of-fold (see module doc).

    ``labels`` is the (n, num_genres) 0/1 matrix aligned with ``movies``; only its
    ``train_rows`` are read. ``folds`` must be at least 2 and at most the number of training rows.
    """
    labels = np.asarray(labels)
    train_rows = np.asarray(train_rows, dtype=np.int64)
    if labels.ndim != 2 or labels.shape[0] != len(movies):
        raise ValueError(f"people_vote: labels must be ({len(movies)}, num_genres); got {labels.shape}")
    if len(train_rows) < 2 or not 2 <= folds <= len(train_rows):
        raise ValueError(
            f"The 'folds' parameter of people_vote must be in [2, {len(train_rows)}] (the training rows). Got {folds!r} instead."
        )
    people = people_matrix(movies)
    out = np.zeros(labels.shape, dtype=np.float32)
    if people.shape[1] == 0:
        return out
    for inner, outer in KFold(n_splits=folds, shuffle=True, random_state=seed).split(train_rows):
        out[train_rows[outer]] = _vote(people, labels, train_rows[outer], train_rows[inner])
    rest = np.setdiff1d(np.arange(len(movies)), train_rows)
    if len(rest):
        out[rest] = _vote(people, labels, rest, train_rows)
    return out
