"""EMAP: a trained model projected onto additive functions of its modality groups, and the
interaction gain (how much of the model's macro-F1 the projection loses).

Hessel & Lee (EMNLP 2020, "Does my multimodal model learn cross-modal interactions? It's harder
to tell than you might think!") define the empirical multimodally-additive function projection of
a model f over a text modality t and an image modality v on the n evaluation pairs (t_i, v_i)::

    f̂(t_i, v_i) = 1/n Σ_j f(t_i, v_j) + 1/n Σ_j f(t_j, v_i) − 1/n² Σ_j Σ_k f(t_j, v_k)

computed on the logits: the additive function closest to f (in squared error) under the product
of the two empirical marginals, so whatever f̂ scores, f scores without cross-modal interactions.
Here the modality groups are feature blocks of the batch dict (:data:`GROUP_KEYS`): ``plot``
(the text features: their t), ``poster`` (the image features: their v) and ``people`` (the
train-only KG inputs ``kg``, ``kg_count``, ``kg_degree`` and the people vote ``people``).

With M groups the same projection is the functional ANOVA's main effects (Hooker, KDD 2004,
"Discovering additive structure in black box functions"; Stone, Ann. Statist. 1994), over the
product of the M empirical marginals::

    f̂(x_i) = Σ_m E[f | x_m = x_{m,i}] − (M − 1) E[f]

where E[f | x_m = x_{m,i}] averages f over every combination of the other groups' rows with
group m fixed at row i (n^(M−1) terms) and E[f] over all n^M combinations; M = 2 is Hessel and
Lee's formula. A model that ignores a group gets the projection it would get without that group,
so the default three groups (plot, poster, people; docs/diagnostics.md says why) agree with the
two-group EMAP for models that read no people features.

Exact: all n^M combinations are scored, in batches, when n^M <= ``exact_max``
(:data:`EXACT_MAX_EVALUATIONS`) or when that costs no more than the sample. Sampled otherwise:
for each group m, one set of ``partners`` (:data:`PARTNERS`, at most n) combinations of the other
groups' rows, each group's rows drawn without replacement by ``numpy.random.default_rng((seed,
m))`` and the groups paired at random, is scored with group m at every movie's row (n·M·partners
rows in all). Each estimated main effect is centred over the movies and an estimate of E[f]
added back::

    f̂(x_i) = Σ_m (Ê_m(i) − 1/n Σ_j Ê_m(j)) + Ê[f]

which is the formula above when Ê is exact (each centre is then E[f]). Ê[f] is each group's block
mean less the centred main effects of the partner rows it drew, averaged over the groups (a
control variate: what the draw's luck adds through additive parts is known, row by row). Sharing
the partners across movies and this correction make the sample exact for any f that is additive
across the groups, whatever ``partners``; with partners = n every row of each other group is used
once and, with two groups, the projection is exact. What is left is the sample's share of the
interactions, which adds noise to the EMAP and so, on average, to the gain: docs/diagnostics.md
gives its measured size. Only the model's head runs: the features are the cached ones, recombined.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from mmimdb2.bootstrap import Difference, Interval, bootstrap_macro_f1, paired_bootstrap

#: Batch keys of each modality group; every input array belongs to exactly one group.
GROUP_KEYS: dict[str, tuple[str, ...]] = {
    "plot": ("text",),
    "poster": ("image",),
    "people": ("kg", "kg_count", "kg_degree", "people"),
}
#: The default grouping: plot, poster and people as three groups (docs/diagnostics.md).
DEFAULT_GROUPS: tuple[tuple[str, ...], ...] = (("plot",), ("poster",), ("people",))
#: Most model evaluations (n^M combinations) computed exactly: with three groups up to n = 64 movies,
#: with two up to n = 512; 29-59 s per seed for a Table 2 head on this project's busy 2-core CPU
#: (docs/diagnostics.md).
EXACT_MAX_EVALUATIONS = 2**18
#: Partner combinations per movie and group when sampled (at most n): on realdev's 240 test movies
#: every row of each other group (docs/diagnostics.md measures what fewer would cost in accuracy).
PARTNERS = 256
#: Seed of the partner draw when sampled.
SEED = 0
#: Rows per batch of recombined inputs (bounds memory: rows x feature width floats).
BATCH_ROWS = 8192

LogitFn = Callable[[Mapping[str, np.ndarray]], np.ndarray]


def parse_groups(items: Sequence[str]) -> tuple[tuple[str, ...], ...]:
    """Groups from words like ``plot poster people`` or ``plot poster+people`` (``+`` joins modalities
    into one group); every modality of :data:`GROUP_KEYS` exactly once, at least two groups."""
    groups = tuple(tuple(p.strip() for p in item.split("+")) for item in items)
    names = [m for g in groups for m in g]
    if unknown := sorted(set(names) - set(GROUP_KEYS)):
        raise ValueError(f"unknown modality {', '.join(unknown)} in the EMAP groups; modalities: {', '.join(GROUP_KEYS)}")
    if len(names) != len(set(names)) or set(names) != set(GROUP_KEYS) or len(groups) < 2:
        raise ValueError(f"The EMAP groups must name each of {', '.join(GROUP_KEYS)} once, in at least two groups "
                         f"(e.g. 'plot poster people' or 'plot poster+people'). Got {' '.join(items)!r} instead.")  # fmt: skip
    return groups


def group_label(groups: Sequence[Sequence[str]]) -> str:
    """``plot | poster | people``: a grouping as tables and records show it."""
    return " | ".join("+".join(g) for g in groups)


def _group_of_keys(arrays: Mapping[str, np.ndarray], groups: Sequence[Sequence[str]]) -> dict[str, int]:
    """Batch key -> index of its group; a key no modality claims is one line."""
    owner = {k: gi for gi, g in enumerate(groups) for m in g for k in GROUP_KEYS[m]}
    if stray := sorted(set(arrays) - set(owner)):
        raise ValueError(f"input block(s) {', '.join(stray)} belong to no EMAP group; add them to benchmarks.diagnostics.emap.GROUP_KEYS")
    return {k: owner[k] for k in arrays}


@dataclass(frozen=True)
class EmapResult:
    """The projected logits (n, genres), how they were computed, and the seconds it took."""

    logits: np.ndarray
    groups: tuple[tuple[str, ...], ...]
    exact: bool
    #: Partner combinations per movie and group (None when exact) and the draw's seed.
    partners: int | None
    seed: int | None
    #: Rows the model scored.
    evaluations: int
    seconds: float


def emap(
    f: LogitFn,
    arrays: Mapping[str, np.ndarray],
    groups: Sequence[Sequence[str]] = DEFAULT_GROUPS,
    *,
    exact_max: int = EXACT_MAX_EVALUATIONS,
    partners: int = PARTNERS,
    seed: int = SEED,
    batch_rows: int = BATCH_ROWS,
) -> EmapResult:
    """The EMAP of ``f`` (a batch of arrays -> (rows, genres) logits) on the n movies of ``arrays``
    (one part's inputs, rows aligned), over ``groups``: exact when n^M <= ``exact_max``, else with
    ``partners`` seeded partner combinations per movie and group (see the module docstring)."""
    groups = tuple(tuple(g) for g in groups)
    owner = _group_of_keys(arrays, groups)
    n, m = len(next(iter(arrays.values()))), len(groups)
    if n < 1:
        raise ValueError("EMAP needs at least one movie")
    if partners < 1 or batch_rows < 1:
        raise ValueError(f"The EMAP 'partners' and 'batch_rows' must be >= 1. Got {partners} and {batch_rows} instead.")
    t0 = time.perf_counter()
    partners = min(partners, n)
    exact = n**m <= max(exact_max, m * n * partners)  # exact whenever it costs no more than the sample
    drawn = None if exact else draw_partners(n, m, partners, seed)
    sums: list[np.ndarray] = []
    counts = [np.zeros(n) for _ in range(m)]
    block_totals = [0.0] * m
    total, count = 0.0, 0
    for block, idx in _exact_indices(n, m, batch_rows) if exact else _sampled_indices(n, drawn, batch_rows):
        batch = {k: np.asarray(v)[idx[owner[k]]] for k, v in arrays.items()}
        out = np.asarray(f(batch), dtype=np.float64)
        if out.ndim != 2 or out.shape[0] != len(idx[0]):
            raise ValueError(f"the model returned logits of shape {out.shape} for {len(idx[0])} rows; expected (rows, genres)")
        if not sums:
            sums = [np.zeros((n, out.shape[1])) for _ in range(m)]
        for g in range(m) if block is None else (block,):
            np.add.at(sums[g], idx[g], out)
            counts[g] += np.bincount(idx[g], minlength=n)
        total = total + out.sum(axis=0)
        count += len(out)
        if block is not None:
            block_totals[block] = block_totals[block] + out.sum(axis=0)
    # E[f | group g at row i]: the mean over the combinations scored with group g at row i (all
    # n^(M-1) when exact; the shared partners when sampled), centred; plus E[f]. Exact, each centre
    # is E[f] itself and this is the formula above; sampled, the centring removes what the shared
    # partners add to every movie alike.
    centred = [mg - mg.mean(axis=0) for mg in (s / c[:, None] for s, c in zip(sums, counts))]
    if exact:
        grand = total / count
    else:
        # each block's mean, less the centred main effects of the partner rows it drew (known for every
        # row, so their draw's luck is taken out), averaged over the blocks
        grand = sum(block_totals[g] / (n * partners) - sum(centred[h][rows].mean(axis=0) for h, rows in drawn[g].items())
                    for g in range(m)) / m  # fmt: skip
    projected = sum(centred) + grand
    return EmapResult(projected, groups, exact, None if exact else partners, None if exact else seed, count, time.perf_counter() - t0)


def _exact_indices(n: int, m: int, batch_rows: int):
    """Every combination of m row indices in [0, n), as m index arrays per batch (row-major), each
    batch counting for every group (``None``)."""
    total = n**m
    for start in range(0, total, batch_rows):
        flat = np.arange(start, min(start + batch_rows, total), dtype=np.int64)
        yield None, np.unravel_index(flat, (n,) * m)


def draw_partners(n: int, m: int, partners: int, seed: int) -> list[dict[int, np.ndarray]]:
    """Per group g, the partner rows of each other group h: ``partners`` rows of [0, n) drawn
    without replacement by ``numpy.random.default_rng((seed, g))`` (the draw depends only on n, m,
    partners and seed); the k-th partner combination of g takes the k-th row of every h."""
    out = []
    for g in range(m):
        rng = np.random.default_rng([seed, g])
        out.append({h: rng.permutation(n)[:partners] for h in range(m) if h != g})
    return out


def _sampled_indices(n: int, drawn: list[dict[int, np.ndarray]], batch_rows: int):
    """For each group g in turn, its partner combinations (the same for every movie) scored with g at
    every row; batches of (g, index arrays): a batch counts for group g only."""
    m = len(drawn)
    partners = len(next(iter(drawn[0].values())))
    chunk = max(1, batch_rows // partners)
    for g in range(m):
        for start in range(0, n, chunk):
            rows = np.arange(start, min(start + chunk, n), dtype=np.int64)
            yield g, tuple(np.repeat(rows, partners) if h == g else np.tile(drawn[g][h], len(rows)) for h in range(m))


def emap_decisions(result: EmapResult, threshold: float | np.ndarray) -> np.ndarray:
    """The 0/1 decisions of the projected logits at the row's own dev-chosen threshold(s)
    (:func:`mmimdb2.metrics.decisions` on their sigmoid)."""
    from scipy.special import expit

    from mmimdb2.metrics import decisions

    return decisions(expit(result.logits), threshold)


@dataclass(frozen=True)
class InteractionGain:
    """A row's pooled macro-F1 (genres present, every seed pooled), its EMAP's, each with its 95%
    bootstrap interval over test movies, and the paired difference row - EMAP (the interaction gain)."""

    model: Interval
    emap: Interval
    gain: Difference


def interaction_gain(labels: np.ndarray, model_decisions: np.ndarray, projected_decisions: np.ndarray) -> InteractionGain:
    """The row's and its EMAP's scores and the gain, from (seeds, n, genres) decisions on the same
    movies: :func:`mmimdb2.bootstrap.bootstrap_macro_f1` for each and
    :func:`mmimdb2.bootstrap.paired_bootstrap` for the difference (the statistic and resampling the
    leaderboard's intervals and ties use, one draw of movies for both)."""
    return InteractionGain(
        bootstrap_macro_f1(labels, model_decisions), bootstrap_macro_f1(labels, projected_decisions),
        paired_bootstrap(labels, model_decisions, projected_decisions),
    )  # fmt: skip
