"""Strong simple baselines on the frozen features: scikit-learn probes and the people vote.

- ``probe-text`` / ``probe-image`` / ``probe-all``: one-vs-rest logistic regression on
  standardised features (``StandardScaler``), each feature block then scaled by 1/sqrt(its width)
  so that every block carries the same total variance (without it the 1280-d image block drowns
  the 23-d people vote: yts800 dev macro-F1 of probe-all 0.368 plain, 0.404 block-weighted,
  docs/training.md), the regularisation ``C`` chosen from a small grid
  by dev macro-F1 at the run's threshold policy (0.5, or the threshold chosen on dev for each C:
  a small C gives low probabilities, so judging every C at 0.5 favours the least regularised).
  ``probe-all`` uses text + image + the people vote.
- ``people-vote``: the vote itself (:mod:`baselines.people_vote`) read as probabilities; a movie
  that shares nobody with the training set gets the training genre frequencies.

They are not torch modules: the harness fits anything :func:`is_estimator` accepts directly on
the arrays (no epochs, ``best_epoch`` null), then picks thresholds on dev like for every model. Genres with no training positive get a
constant zero probability (``OneVsRestClassifier`` predicts the constant label).

A fitted probe is a few arrays (:class:`ProbeFit`). Given a fit store (the harness passes a
``benchmarks.cache.CacheStore`` under the run's cache dir), a probe is fitted once for its inputs
and settings (:meth:`LogisticProbe.fit_key`) and read back afterwards: ``late-fusion-probes``
reuses the fits of ``probe-text`` and ``probe-image`` (its members are those probes), in this
process or another. Fresh and reused fits predict through the same arrays, so results are identical.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
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


class FitStore(Protocol):
    """Where fitted probes are kept between cells: keyed array entries with a JSON sidecar (the
    interface of ``benchmarks.cache.CacheStore``; ``load`` returns an object with ``arrays`` and
    ``meta``, or None)."""

    def load(self, key: Mapping[str, Any], need: Sequence[str] = (), check: Callable[[Any], str | None] | None = None) -> Any: ...

    def save(self, key: Mapping[str, Any], arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any] | None = None) -> Any: ...


class ArrayEstimator(Protocol):
    """What the harness needs from a non-torch model: fit on train (dev for model selection), predict.
    ``fits``: a :class:`FitStore` a model may read earlier fits from and write its own to."""

    config: Any

    def fit(
        self, train: Mapping[str, np.ndarray], y_train: np.ndarray, dev: Mapping[str, np.ndarray], y_dev: np.ndarray,
        threshold: str, class_weight: str = "none", fits: FitStore | None = None,
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


def arrays_digest(*arrays: np.ndarray) -> str:
    """sha256 over the dtypes, shapes and bytes of ``arrays`` (what a fit key says about its inputs)."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape};".encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()


@dataclass(frozen=True)
class ProbeFit:
    """A fitted probe as plain arrays, what the fit store keeps: the standardiser (``mean``,
    ``scale``), the block weights, one logistic regression per genre (``coef`` row, ``intercept``)
    and ``constant``, the probability of a genre whose training column is constant (NaN elsewhere).
    ``chosen`` is the C picked on dev and every C's dev score."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    constant: np.ndarray
    chosen: dict[str, Any] = field(default_factory=dict, compare=False)

    ARRAYS = ("mean", "scale", "weights", "coef", "intercept", "constant")

    @classmethod
    def from_pipeline(cls, pipeline, chosen: dict[str, Any]) -> ProbeFit:
        """The arrays of a fitted ``StandardScaler -> scale -> OneVsRest(LogisticRegression)`` pipeline."""
        scaler, scale, ovr = pipeline[0], pipeline[1], pipeline[-1]
        g, d = len(ovr.estimators_), scaler.mean_.shape[0]
        coef, intercept, constant = np.zeros((g, d)), np.zeros(g), np.full(g, np.nan)
        for j, est in enumerate(ovr.estimators_):
            if hasattr(est, "coef_"):
                coef[j], intercept[j] = est.coef_[0], est.intercept_[0]
            else:  # sklearn's constant predictor: one class in the training column
                constant[j] = float(np.ravel(est.y_)[0])
        weights = np.asarray(scale.kw_args["weights"], dtype=np.float64)
        return cls(scaler.mean_, scaler.scale_, weights, coef, intercept, constant, chosen)

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Standardised, block-weighted features (what the regressions read)."""
        return (np.asarray(x, dtype=np.float64) - self.mean) / self.scale * self.weights

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """(n, genres) float32: sigmoid of each genre's regression (sklearn's ``predict_proba``)."""
        from scipy.special import expit

        proba = expit(self.transform(x) @ self.coef.T + self.intercept)
        fixed = ~np.isnan(self.constant)
        proba[:, fixed] = self.constant[fixed]
        return proba.astype(np.float32)

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: getattr(self, k) for k in self.ARRAYS}

    def mismatch(self, width: int, genres: int) -> str | None:
        """Why these arrays cannot be a fit on ``width`` features and ``genres`` labels, or None."""
        if self.coef.shape != (genres, width) or any(getattr(self, k).shape != (width,) for k in ("mean", "scale", "weights")):
            return f"its shapes do not fit {width} features and {genres} genres"
        if self.intercept.shape != (genres,) or self.constant.shape != (genres,):
            return f"its shapes do not fit {genres} genres"
        if "C" not in self.chosen:
            return "its sidecar names no chosen C"
        return None


@dataclass(frozen=True)
class ProbeConfig:
    """``features``: batch keys concatenated; ``c_grid``: the C values tried on dev;
    ``block_weights``: scale each standardised block by 1/sqrt(width) (False: plain standardising)."""

    features: tuple[str, ...] = ("text",)
    #: For block-weighted features (C acts on a block of width d like C/d on plain ones); on yts800
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
    #: Bump when the same inputs and settings would fit differently (the fit store's key holds it).
    FIT_VERSION = 1

    def __init__(self, config: ProbeConfig) -> None:
        self.config = config
        self.fitted: ProbeFit | None = None
        #: whether the last fit was read from the fit store rather than computed
        self.reused = False

    @property
    def chosen(self) -> dict[str, Any]:
        return self.fitted.chosen if self.fitted is not None else {}

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

    def fit_key(
        self, train: Mapping[str, np.ndarray], y_train: np.ndarray, dev: Mapping[str, np.ndarray], y_dev: np.ndarray,
        threshold: str = "fixed", class_weight: str = "none",
    ) -> dict[str, Any]:
        """Everything the fit depends on: the digest of the features it reads and of the labels,
        and the settings (not the seed: lbfgs ignores it, see ``seed_independent``)."""
        import sklearn

        cfg, feats = self.config, self.config.features
        _stack(train, feats), _stack(dev, feats)  # a missing feature is named before anything is hashed
        inputs = arrays_digest(*(train[k] for k in feats), *(dev[k] for k in feats), np.asarray(y_train), np.asarray(y_dev))
        return {
            "probe": "logistic-ovr", "fit_version": self.FIT_VERSION, "sklearn": sklearn.__version__, "inputs": inputs,
            "features": list(feats), "c_grid": list(cfg.c_grid), "block_weights": cfg.block_weights,
            "max_iter": cfg.max_iter, "threshold": threshold, "class_weight": class_weight,
        }  # fmt: skip

    def fit(
        self, train: Mapping[str, np.ndarray], y_train: np.ndarray, dev: Mapping[str, np.ndarray], y_dev: np.ndarray,
        threshold: str, class_weight: str = "none", fits: FitStore | None = None,
    ) -> dict:
        """Fit one pipeline per C of the grid on train, keep the best by dev macro-F1; with
        ``fits``, read the fit of the same inputs and settings instead when there is one, and
        store a new one. ``class_weight="balanced"``: sklearn's class weights in every genre's regression."""
        check_class_weight(class_weight)
        key = self.fit_key(train, y_train, dev, y_dev, threshold, class_weight) if fits is not None else None
        if key is not None:
            width = sum(np.asarray(train[k]).shape[1] for k in self.config.features)
            genres = np.asarray(y_train).shape[1]

            def check(entry) -> str | None:
                return _fit_of(entry).mismatch(width, genres)

            hit = fits.load(key, need=ProbeFit.ARRAYS, check=check)
            if hit is not None:
                self.fitted, self.reused = _fit_of(hit), True
                return self.chosen
        self.fitted, self.reused = self._fit_grid(train, y_train, dev, y_dev, threshold, class_weight), False
        if key is not None:
            fits.save(key, self.fitted.arrays(), {"chosen": self.fitted.chosen})
        return self.chosen

    def _fit_grid(self, train, y_train, dev, y_dev, threshold: str, class_weight: str) -> ProbeFit:
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
        chosen = {"C": best[0], "dev_macro_f1_by_C": {str(c): s for c, s in scores.items()}}
        return ProbeFit.from_pipeline(best[1], chosen)

    def predict_proba(self, arrays: Mapping[str, np.ndarray]) -> np.ndarray:
        if self.fitted is None:
            raise RuntimeError("LogisticProbe.predict_proba called before fit")
        return self.fitted.predict_proba(_stack(arrays, self.config.features))


def _fit_of(entry) -> ProbeFit:
    """A fit store entry as a :class:`ProbeFit`."""
    chosen = entry.meta.get("chosen") if isinstance(entry.meta, dict) else None
    return ProbeFit(*(np.asarray(entry.arrays[k], dtype=np.float64) for k in ProbeFit.ARRAYS), chosen=chosen if isinstance(chosen, dict) else {})


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
        threshold: str, class_weight: str = "none", fits: FitStore | None = None,
    ) -> dict:
        """Fit each modality's probe (or, with ``fits``, reuse ``probe-<modality>``'s fit of the same
        inputs and settings), then choose the weights of their average on dev macro-F1."""
        cfg = self.config
        chosen = {}
        for m in cfg.modalities:
            probe = LogisticProbe(ProbeConfig(features=(m,), c_grid=cfg.c_grid, max_iter=cfg.max_iter, seed=cfg.seed))
            chosen[m] = probe.fit(train, y_train, dev, y_dev, threshold, class_weight, fits=fits)["C"]
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
        threshold: str, class_weight: str = "none", fits: FitStore | None = None,
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
