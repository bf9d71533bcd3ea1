"""Strong simple baselines on the frozen features: scikit-learn probes and the people vote.

- ``probe-text`` / ``probe-image`` / ``probe-all``: one-vs-rest logistic regression on
  standardised features (``StandardScaler``), each feature block then scaled by 1/sqrt(its width)
  so that every block carries the same total variance (without it the 1280-d image block drowns
  the 23-d people vote: realdev dev macro-F1 of probe-all 0.368 plain, 0.404 block-weighted,
  docs/training.md), the regularisation ``C`` chosen from a small grid
  by dev macro-F1 at the run's threshold policy (0.5, or the threshold chosen on dev for each C:
  a small C gives low probabilities, so judging every C at 0.5 favours the least regularised).
  ``probe-all`` uses text + image + the people vote.
- ``people-vote``: the vote itself (:mod:`baselines.people_vote`) read as probabilities; a movie
  that shares nobody with the training set gets the training genre frequencies.

They are not torch modules: the harness fits anything :func:`is_estimator` accepts directly on
the arrays (no epochs, ``best_epoch`` null), then picks thresholds on dev like for every model. Genres with no training positive get a
constant zero probability (``OneVsRestClassifier`` predicts the constant label).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from baselines.fusion import best_weights
from idkg.inputs import InputSpec
from idkg.model import check_param, make_config
from mmimdb2.metrics import check_class_weight, dev_score

#: Batch keys an estimator may read.
FEATURE_KEYS: tuple[str, ...] = ("text", "image", "kg", "people")


class ArrayEstimator(Protocol):
    """What the harness needs from a non-torch model: fit on train (dev for model selection), predict."""

    config: Any

    def fit(
        self, train: Mapping[str, np.ndarray], y_train: np.ndarray, dev: Mapping[str, np.ndarray], y_dev: np.ndarray,
        threshold: str = "fixed", class_weight: str = "none",
    ) -> dict: ...

    def predict_proba(self, arrays: Mapping[str, np.ndarray]) -> np.ndarray: ...


def _dev_macro_f1(y: np.ndarray, proba: np.ndarray, threshold: str) -> float:
    return dev_score(y, proba, "f1", threshold)


def _scale_columns(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``x`` with column j multiplied by ``weights[j]`` (a module function, so a fitted probe pickles)."""
    return x * weights


def _stack(arrays: Mapping[str, np.ndarray], keys: tuple[str, ...]) -> np.ndarray:
    missing = [k for k in keys if k not in arrays]
    if missing:
        raise ValueError(f"probe needs feature(s) {missing}; the inputs have {sorted(arrays)}")
    return np.concatenate([np.asarray(arrays[k], dtype=np.float64) for k in keys], axis=1)


@dataclass(frozen=True)
class ProbeConfig:
    """``features``: batch keys concatenated; ``c_grid``: the C values tried on dev;
    ``block_weights``: scale each standardised block by 1/sqrt(width) (False: plain standardising)."""

    features: tuple[str, ...] = ("text",)
    #: For block-weighted features (C acts on a block of width d like C/d on plain ones); on realdev
    #: dev chose 3-10; plain features want about 100x smaller values (docs/training.md).
    c_grid: tuple[float, ...] = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
    block_weights: bool = True
    max_iter: int = 2000
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", tuple(self.features))
        object.__setattr__(self, "c_grid", tuple(float(c) for c in self.c_grid))
        check_param(
            "ProbeConfig", "features",
            len(self.features) > 0 and len(set(self.features)) == len(self.features) and set(self.features) <= set(FEATURE_KEYS),
            f"a non-empty tuple of distinct names among {FEATURE_KEYS}", self.features,
        )  # fmt: skip
        check_param("ProbeConfig", "c_grid", len(self.c_grid) > 0 and min(self.c_grid) > 0, "a non-empty tuple of C > 0", self.c_grid)
        check_param("ProbeConfig", "max_iter", self.max_iter > 0, "> 0", self.max_iter)


class LogisticProbe:
    """StandardScaler + one-vs-rest LogisticRegression, C chosen on dev macro-F1."""

    #: lbfgs never draws a random number: every seed gives the same fit, so the harness fits once.
    seed_independent = True

    def __init__(self, config: ProbeConfig) -> None:
        self.config = config
        self.pipeline = None
        self.chosen: dict[str, Any] = {}

    def _make(self, c: float, weights: np.ndarray, class_weight: str = "none"):
        lr = LogisticRegression(C=c, max_iter=self.config.max_iter, random_state=self.config.seed,
                                class_weight=None if class_weight == "none" else class_weight)  # fmt: skip
        scale = FunctionTransformer(_scale_columns, kw_args={"weights": weights})
        return make_pipeline(StandardScaler(), scale, OneVsRestClassifier(lr))

    def _column_weights(self, train: Mapping[str, np.ndarray]) -> np.ndarray:
        """1/sqrt(width) for every column of a block (all ones without block weighting)."""
        widths = [np.asarray(train[k]).shape[1] for k in self.config.features]
        if not self.config.block_weights:
            return np.ones(sum(widths))
        return np.concatenate([np.full(w, 1.0 / np.sqrt(w)) for w in widths])

    def fit(
        self, train: Mapping[str, np.ndarray], y_train: np.ndarray, dev: Mapping[str, np.ndarray], y_dev: np.ndarray,
        threshold: str = "fixed", class_weight: str = "none",
    ) -> dict:
        """Fit one pipeline per C of the grid on train, keep the best by dev macro-F1.
        ``class_weight="balanced"``: sklearn's class weights in every genre's regression."""
        check_class_weight(class_weight)
        x, xd = _stack(train, self.config.features), _stack(dev, self.config.features)
        scores = {}
        best = None
        with warnings.catch_warnings():  # constant genres (no training positive) are expected
            warnings.filterwarnings("ignore", message="Label .* is present in all training examples")
            weights = self._column_weights(train)
            for c in self.config.c_grid:
                pipe = self._make(c, weights, class_weight).fit(x, y_train.astype(int))
                scores[c] = _dev_macro_f1(y_dev, pipe.predict_proba(xd), threshold)
                if best is None or scores[c] > scores[best[0]]:
                    best = (c, pipe)
        self.pipeline = best[1]
        self.chosen = {"C": best[0], "dev_macro_f1_by_C": {str(c): s for c, s in scores.items()}}
        return self.chosen

    def predict_proba(self, arrays: Mapping[str, np.ndarray]) -> np.ndarray:
        if self.pipeline is None:
            raise RuntimeError("LogisticProbe.predict_proba called before fit")
        return np.asarray(self.pipeline.predict_proba(_stack(arrays, self.config.features)), dtype=np.float32)


@dataclass(frozen=True)
class ProbeFusionConfig:
    """Late fusion of probes: one :class:`LogisticProbe` per modality (each with its own C from
    ``c_grid``), their probabilities averaged with weights chosen on dev (step ``weight_step``)."""

    modalities: tuple[str, ...] = ("text", "image")
    c_grid: tuple[float, ...] = ProbeConfig.c_grid
    weight_step: float = 0.1
    max_iter: int = 2000
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "modalities", tuple(self.modalities))
        object.__setattr__(self, "c_grid", tuple(float(c) for c in self.c_grid))
        check_param("ProbeFusionConfig", "modalities", len(self.modalities) >= 2 and len(set(self.modalities)) == len(self.modalities)
                    and set(self.modalities) <= set(FEATURE_KEYS), f"two or more distinct names among {FEATURE_KEYS}", self.modalities)  # fmt: skip
        check_param("ProbeFusionConfig", "weight_step", 0 < self.weight_step <= 1, "in (0, 1]", self.weight_step)


class ProbeLateFusion:
    """Late fusion at the decision level of the scikit-learn probes: the classic late-fusion
    baseline, built from the strongest unimodal members (the torch ``late-fusion`` trains BN +
    linear members with AdamW instead). Dev picks each member's C, then the modality weights."""

    seed_independent = True

    def __init__(self, config: ProbeFusionConfig) -> None:
        self.config = config
        self.members: dict[str, LogisticProbe] = {}
        self.weights: tuple[float, ...] | None = None

    def fit(
        self, train: Mapping[str, np.ndarray], y_train: np.ndarray, dev: Mapping[str, np.ndarray], y_dev: np.ndarray,
        threshold: str = "fixed", class_weight: str = "none",
    ) -> dict:
        """Fit each modality's probe, then choose the weights of their average on dev macro-F1."""
        cfg = self.config
        chosen = {}
        for m in cfg.modalities:
            probe = LogisticProbe(ProbeConfig(features=(m,), c_grid=cfg.c_grid, max_iter=cfg.max_iter, seed=cfg.seed))
            chosen[m] = probe.fit(train, y_train, dev, y_dev, threshold, class_weight)["C"]
            self.members[m] = probe
        dev_proba = np.stack([self.members[m].predict_proba(dev) for m in cfg.modalities])
        self.weights = best_weights(len(cfg.modalities), cfg.weight_step, lambda w: np.tensordot(w, dev_proba, axes=1), y_dev, threshold)
        return {"C": chosen, "weights": dict(zip(cfg.modalities, self.weights))}

    def predict_proba(self, arrays: Mapping[str, np.ndarray]) -> np.ndarray:
        if self.weights is None:
            raise RuntimeError("ProbeLateFusion.predict_proba called before fit")
        proba = np.stack([self.members[m].predict_proba(arrays) for m in self.config.modalities])
        return np.tensordot(np.asarray(self.weights, dtype=np.float32), proba, axes=1).astype(np.float32)


@dataclass(frozen=True)
class PeopleVoteConfig:
    """The people vote as a classifier (no trainable parameters)."""

    seed: int = 0


class PeopleVote:
    """Predicts the people vote; the training genre frequencies where the vote is empty."""

    seed_independent = True

    def __init__(self, config: PeopleVoteConfig) -> None:
        self.config = config
        self.prior: np.ndarray | None = None

    def fit(
        self, train: Mapping[str, np.ndarray], y_train: np.ndarray, dev: Mapping[str, np.ndarray], y_dev: np.ndarray,
        threshold: str = "fixed", class_weight: str = "none",
    ) -> dict:
        """Store the training genre frequencies (the vote has nothing to fit or weigh)."""
        self.prior = np.asarray(y_train, dtype=np.float32).mean(axis=0)
        return {}

    def predict_proba(self, arrays: Mapping[str, np.ndarray]) -> np.ndarray:
        if self.prior is None:
            raise RuntimeError("PeopleVote.predict_proba called before fit")
        vote = np.asarray(_stack(arrays, ("people",)), dtype=np.float32)
        empty = vote.sum(axis=1) == 0
        vote[empty] = self.prior
        return np.clip(vote, 0.0, 1.0)


def is_estimator(model: Any) -> bool:
    """True for a non-torch model (``fit`` + ``predict_proba``): the harness fits it on the arrays directly."""
    return callable(getattr(model, "fit", None)) and callable(getattr(model, "predict_proba", None))


def build_probe(spec: InputSpec, **config: Any) -> LogisticProbe:
    """Registry factory for ``probe-text``, ``probe-image`` and ``probe-all``."""
    return LogisticProbe(make_config(ProbeConfig, config))


def build_probe_fusion(spec: InputSpec, **config: Any) -> ProbeLateFusion:
    """Registry factory for ``late-fusion-probes``."""
    return ProbeLateFusion(make_config(ProbeFusionConfig, config))


def build_people_vote(spec: InputSpec, **config: Any) -> PeopleVote:
    """Registry factory for ``people-vote``."""
    return PeopleVote(make_config(PeopleVoteConfig, config))
