"""Demo genre sets: long-tailed, multi-label, with the co-occurrence real movies show.

Each movie gets 1-4 of the 23 genres. The first is drawn from per-genre weights, each further one
from the same weights times an affinity with every genre already chosen (Romance goes with Drama
and Comedy, Animation with Family and Adventure, Documentary with almost nothing). The weights are
calibrated so the marginal genre frequencies follow the shape of the MM-IMDb 2.0 counts in the
IDKG paper's Table 1 (Drama most, Film-Noir least).
"""

from __future__ import annotations

import numpy as np

from mmimdb2.genres import GENRE_INDEX, GENRES

#: MM-IMDb 2.0 genre counts over the whole dataset (IDKG paper, Table 1): the target *shape*.
TABLE1_COUNTS: dict[str, int] = {
    "Drama": 4773, "Comedy": 2861, "Action": 1950, "Adventure": 1673, "Romance": 1364,
    "Crime": 1298, "Horror": 1179, "Thriller": 1096, "Animation": 874, "Biography": 846,
    "Family": 817, "Mystery": 800, "Fantasy": 789, "History": 754, "Music": 752, "Western": 704,
    "Sci-Fi": 687, "Musical": 603, "Sport": 472, "Short": 428, "War": 417, "Documentary": 272,
    "Film-Noir": 73,
}  # fmt: skip

#: P(number of genres = 1, 2, 3, 4); mean 2.31, as in MM-IMDb.
N_GENRES_P: tuple[float, ...] = (0.22, 0.38, 0.27, 0.13)

#: Pairs that co-occur more than chance (factor > 1) or hardly ever (factor < 1).
_AFFINITY: tuple[tuple[str, str, float], ...] = (
    ("Romance", "Drama", 3.0), ("Romance", "Comedy", 3.0), ("Romance", "Musical", 3.0),
    ("Animation", "Family", 12.0), ("Animation", "Adventure", 6.0), ("Animation", "Comedy", 2.5),
    ("Animation", "Short", 4.0), ("Family", "Adventure", 3.0), ("Family", "Comedy", 3.0),
    ("Family", "Fantasy", 3.0), ("Crime", "Thriller", 7.0), ("Crime", "Drama", 2.5),
    ("Crime", "Mystery", 2.5), ("Thriller", "Mystery", 3.5), ("Thriller", "Horror", 3.0),
    ("Horror", "Mystery", 2.0), ("Action", "Adventure", 3.5), ("Action", "Sci-Fi", 3.0),
    ("Action", "Thriller", 2.5), ("Action", "Crime", 2.5), ("Action", "War", 2.0),
    ("Adventure", "Fantasy", 3.0), ("Adventure", "Sci-Fi", 2.0), ("Fantasy", "Sci-Fi", 1.5),
    ("Biography", "Drama", 4.0), ("Biography", "History", 4.0), ("Biography", "Sport", 3.0),
    ("Biography", "Music", 3.0), ("History", "War", 5.0), ("History", "Drama", 2.5),
    ("War", "Drama", 2.5), ("Music", "Drama", 2.0), ("Music", "Musical", 2.0),
    ("Musical", "Comedy", 2.5), ("Western", "Action", 2.0), ("Western", "Adventure", 1.5),
    ("Western", "Drama", 1.5), ("Sport", "Drama", 2.5), ("Sport", "Comedy", 1.5),
    ("Film-Noir", "Crime", 25.0), ("Film-Noir", "Mystery", 8.0), ("Film-Noir", "Thriller", 5.0),
    ("Film-Noir", "Drama", 1.0), ("Documentary", "Biography", 3.0), ("Documentary", "History", 3.0),
    ("Documentary", "Music", 3.0), ("Documentary", "Sport", 2.0), ("Short", "Comedy", 2.0),
    ("Short", "Documentary", 2.0), ("Short", "Drama", 1.2), ("Comedy", "Drama", 1.3),
    # rarely together
    ("Documentary", "Drama", 0.1), ("Documentary", "Comedy", 0.2), ("Documentary", "Romance", 0.05),
    ("Documentary", "Thriller", 0.05), ("Documentary", "Horror", 0.05), ("Documentary", "Crime", 0.3),
    ("Documentary", "Action", 0.05), ("Documentary", "Fantasy", 0.02), ("Documentary", "Sci-Fi", 0.05),
    ("Documentary", "Mystery", 0.1), ("Documentary", "Western", 0.02), ("Documentary", "Musical", 0.1),
    ("Documentary", "Film-Noir", 0.0), ("Documentary", "Animation", 0.2), ("Documentary", "Family", 0.3),
    ("Animation", "Drama", 0.35), ("Documentary", "Adventure", 0.3), ("Animation", "Thriller", 0.2),
    ("Animation", "Horror", 0.2), ("Animation", "Film-Noir", 0.0), ("Animation", "Biography", 0.1),
    ("Animation", "War", 0.2), ("Animation", "Western", 0.3), ("Family", "Horror", 0.05),
    ("Family", "Thriller", 0.1), ("Family", "Crime", 0.2), ("Family", "War", 0.1),
    ("Family", "Film-Noir", 0.0), ("Horror", "Romance", 0.3), ("Horror", "Biography", 0.05),
    ("Horror", "Musical", 0.1), ("Horror", "Western", 0.2), ("Horror", "Sport", 0.05),
    ("Horror", "History", 0.1), ("Film-Noir", "Sci-Fi", 0.0), ("Film-Noir", "Fantasy", 0.05),
    ("Film-Noir", "Comedy", 0.1), ("Film-Noir", "Musical", 0.0), ("Film-Noir", "Western", 0.1),
    ("Film-Noir", "Sport", 0.1), ("Film-Noir", "Short", 0.1), ("Film-Noir", "Adventure", 0.1),
    ("Western", "Sci-Fi", 0.1), ("Western", "Musical", 0.3), ("Sport", "Sci-Fi", 0.1),
    ("Sport", "Fantasy", 0.1), ("Musical", "Thriller", 0.1), ("Musical", "War", 0.2),
)  # fmt: skip

#: Raw genre strings MM-IMDb has beyond the 23 labels; a few demo movies carry one.
EXTRA_RAW_GENRES: tuple[str, ...] = ("News", "Talk-Show", "Reality-TV", "Adult")
_EXTRA_P = (0.45, 0.2, 0.2, 0.15)


def affinity_matrix() -> np.ndarray:
    """(23, 23) symmetric co-occurrence factors, 1 where nothing is known."""
    a = np.ones((len(GENRES), len(GENRES)))
    for g, h, f in _AFFINITY:
        a[GENRE_INDEX[g], GENRE_INDEX[h]] = a[GENRE_INDEX[h], GENRE_INDEX[g]] = f
    np.fill_diagonal(a, 0.0)
    return a


def target_frequencies(mean_genres: float = float(np.dot(N_GENRES_P, range(1, 5)))) -> np.ndarray:
    """Per-genre share of movies the demo aims at: Table 1's shape scaled to ``mean_genres`` a movie."""
    counts = np.array([TABLE1_COUNTS[g] for g in GENRES], dtype=float)
    return counts / counts.sum() * mean_genres


def sample_genre_sets(
    rng: np.random.Generator, n: int, weights: np.ndarray, affinity: np.ndarray, k_probs=N_GENRES_P
) -> np.ndarray:
    """(n, 23) boolean: for each row, ``k ~ k_probs`` genres drawn one after another.

    The j-th genre is drawn with probability proportional to ``weights`` times the product of the
    affinities with the genres already drawn; sampling is vectorised over rows.
    """
    k = rng.choice(len(k_probs), size=n, p=np.asarray(k_probs) / np.sum(k_probs)) + 1
    chosen = np.zeros((n, len(GENRES)), dtype=bool)
    score = np.tile(weights, (n, 1))
    rows = np.arange(n)
    for step in range(len(k_probs)):
        masked = np.where(chosen, 0.0, score)
        active = (k > step) & (masked.sum(1) > 0)
        p = masked[active]
        cdf = np.cumsum(p, axis=1)
        u = rng.random(len(p)) * cdf[:, -1]
        pick = np.minimum((cdf < u[:, None]).sum(1), len(GENRES) - 1)
        idx = rows[active]
        chosen[idx, pick] = True
        score[idx] *= affinity[pick]
    return chosen


def calibrated_weights(affinity: np.ndarray, *, iterations: int = 8, n_sim: int = 20_000) -> np.ndarray:
    """Per-genre weights whose sampled marginals match :func:`target_frequencies`.

    A fixed internal seed makes this a pure function of the constants above, so every demo seed
    shares the same genre distribution.
    """
    target = target_frequencies()
    w = target.copy()
    for _ in range(iterations):
        sim = sample_genre_sets(np.random.default_rng(12345), n_sim, w, affinity)
        observed = sim.mean(0) + 1e-6
        w = w * (target / observed) ** 0.8
        w /= w.sum()
    return w


def add_label_noise(rng: np.random.Generator, latent: np.ndarray, weights: np.ndarray, *, p_drop: float,
                    p_add: float) -> np.ndarray:  # fmt: skip
    """Observed labels: the latent genres with one dropped (if more than one) or one random one added.

    The signals (plot, poster, people) follow the latent genres, so this is label noise as annotators
    make it: a genre missing from a list, or one that the content does not show.
    """
    labels = latent.copy()
    for i in range(len(labels)):
        have = np.flatnonzero(labels[i])
        if len(have) > 1 and rng.random() < p_drop:
            labels[i, rng.choice(have)] = False
        if rng.random() < p_add:
            free = np.flatnonzero(~labels[i])
            p = weights[free] / weights[free].sum()
            labels[i, rng.choice(free, p=p)] = True
    return labels


def raw_genre_lists(rng: np.random.Generator, labels: np.ndarray, *, p_extra: float) -> list[list[str]]:
    """The genre strings written to each movie's JSON: its labels plus, rarely, a non-label string
    (News, Talk-Show, Reality-TV, Adult), sorted alphabetically as IMDb lists them."""
    out = []
    for row in labels:
        names = [GENRES[j] for j in np.flatnonzero(row)]
        if rng.random() < p_extra:
            names.append(str(rng.choice(EXTRA_RAW_GENRES, p=_EXTRA_P)))
        out.append(sorted(names))
    return out
