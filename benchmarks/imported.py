"""Models of one's own, named by import path (``package.module:Name``), run like registered ones.

A name with a colon is imported (:func:`resolve`) and is one of two kinds:

- **torch**: an ``nn.Module`` subclass or a function, called as ``Name(spec, **options)`` with
  the :class:`idkg.inputs.InputSpec` (feature widths) and returning an ``nn.Module`` whose
  ``forward(batch)`` maps the batch dict (``"text"``, ``"image"``, ``"kg"``, ...) to (B, 23)
  logits. Its options are its keyword parameters with defaults; it is built under the seed (or
  given ``seed=`` when it takes one). Without a ``loss(batch, labels, pos_weight=None)`` of its
  own it is trained on the binary cross-entropy of those logits (:class:`LogitsModel`).
- **estimator**: a scikit-learn style class (or module-level instance) with ``fit(X, Y)`` and
  ``predict_proba(X)`` on the feature matrix of the ``features`` blocks; one-vs-rest per genre
  unless it declares multi-label support (:class:`FeatureMatrixEstimator`). Its options are its
  ``get_params()``; a ``random_state`` left at None gets the run's seed. Its own parameters rule
  its fitting, so of the run's training settings it takes only the threshold policy.

Every option is recorded in the result's config, with ``code_version``: the installed package's
version, or the sha256 of the defining module's source, so an edited model is a new cell rather
than a stale cache hit. Nothing here is registered anywhere: a name is resolved each time it is used.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import re
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn

from idkg.model import bce, seeded

#: ``package.module:Name`` (the attribute may be dotted: ``module:Outer.Inner``).
IMPORT_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_.]*")
#: Feature blocks an estimator may read (the batch keys of :mod:`idkg.inputs`, plus the people vote).
FEATURE_KEYS: tuple[str, ...] = ("text", "image", "kg", "people")
#: Config keys this module adds to an imported model's own options.
ADDED_KEYS: tuple[str, ...] = ("code_version",)
#: What an estimator's ``features`` option defaults to: every block.
ESTIMATOR_FEATURES_KEY = "features"
#: The training settings an imported estimator takes (its own parameters set the rest).
IMPORTED_ESTIMATOR_SETTINGS: tuple[str, ...] = ("threshold",)


def is_import_path(name: str) -> bool:
    """Whether ``name`` names a model by import path rather than by registered name."""
    return ":" in str(name)


@dataclass(frozen=True)
class Imported:
    """A resolved import path: the object, its kind (``torch`` or ``estimator``) and its options."""

    name: str
    obj: Any
    kind: str
    options: Mapping[str, Any]
    code_version: str

    @property
    def estimator(self) -> bool:
        return self.kind == "estimator"


def _load(name: str) -> Any:
    if not IMPORT_PATH.fullmatch(name):
        raise ValueError(f"model {name!r}: an import path must be 'package.module:Name'")
    from benchmarks.executors import describe

    module_name, _, attr = name.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ValueError(f"model {name!r}: cannot import module {module_name!r} ({e})") from None
    except (Exception, SystemExit) as e:  # a syntax error, or anything the module runs when imported
        raise ValueError(f"model {name!r}: importing module {module_name!r} raised {describe(e)}; fix the module (--debug shows where)") from e
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"model {name!r}: module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def _is_estimator(obj: Any) -> bool:
    return callable(getattr(obj, "fit", None)) and callable(getattr(obj, "predict_proba", None))


def _no_predict_proba(name: str, obj: Any) -> str:
    """Why an estimator without ``predict_proba`` cannot run, and what to give instead."""
    short = name.partition(":")[2]
    has = "a decision_function" if callable(getattr(obj, "decision_function", None)) else "predict"
    return (
        f"model {name!r} has fit and {has} but no predict_proba: the harness chooses thresholds on genre probabilities. "
        f"Give an estimator with predict_proba, or calibrate this one in a module of yours "
        f"(mymodels.py: model = sklearn.calibration.CalibratedClassifierCV({short}()); then --models mymodels:model)"
    )


def plain(value: Any) -> bool:
    """A value a result's config can hold as given (JSON: no NaN, no objects)."""
    if value is None or isinstance(value, (bool, int, str)):
        return True
    if isinstance(value, float):
        return value == value and abs(value) != float("inf")
    if isinstance(value, (list, tuple)):
        return all(plain(v) for v in value)
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and plain(v) for k, v in value.items())
    return False


def _code_version(obj: Any) -> str:
    """``<distribution> <version>`` for installed code, else ``sha256:<16 hex>`` of the module's source."""
    from importlib.metadata import PackageNotFoundError, packages_distributions, version

    module = inspect.getmodule(obj if isinstance(obj, type) or inspect.isfunction(obj) else type(obj))
    top = (module.__name__ if module else "").partition(".")[0]
    for dist in packages_distributions().get(top, []):
        try:
            return f"{dist} {version(dist)}"
        except PackageNotFoundError:
            continue
    try:
        source = inspect.getsource(module) if module is not None else ""
    except (OSError, TypeError):  # defined where no source is kept (an interactive session)
        source = ""
    return "sha256:" + hashlib.sha256(source.encode()).hexdigest()[:16] if source else "unknown"


def _torch_options(name: str, obj: Any) -> dict[str, Any]:
    """Keyword parameters with defaults after the InputSpec; required ones beyond it are one line."""
    try:
        params = list(inspect.signature(obj).parameters.values())
    except (TypeError, ValueError):
        raise ValueError(f"model {name!r}: cannot read the parameters of {obj!r}") from None
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if not positional:
        raise ValueError(f"model {name!r} must take the InputSpec (feature widths) as its first argument")
    rest = [p for p in params if p is not positional[0] and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    required = [p.name for p in rest if p.default is p.empty]
    if required:
        raise ValueError(f"model {name!r}: give its parameter(s) {required} defaults; it is built as {name.partition(':')[2]}(spec, **options)")
    return {p.name: p.default for p in rest if p.name != "seed"}


def _estimator_options(name: str, obj: Any) -> dict[str, Any]:
    """``get_params(deep=False)`` of the instance (or of the class built without arguments)."""
    from benchmarks.executors import describe

    if isinstance(obj, type):
        try:
            obj = obj()
        except TypeError as e:
            raise ValueError(f"model {name!r} cannot be built without arguments ({e})") from None
        except (Exception, SystemExit) as e:
            raise ValueError(f"model {name!r} could not be built: {describe(e)}; fix its __init__ (--debug shows where)") from e
    get_params = getattr(obj, "get_params", None)
    if callable(get_params):
        try:
            return dict(get_params(deep=False))
        except (Exception, SystemExit) as e:
            raise ValueError(f"model {name!r}: its get_params(deep=False) raised {describe(e)}") from e
    try:
        return {p.name: p.default for p in inspect.signature(type(obj)).parameters.values() if p.default is not p.empty}
    except (TypeError, ValueError):
        return {}


def resolve(name: str) -> Imported:
    """Import ``name`` and classify it; a missing module or attribute, or an object of neither kind, is one line."""
    obj = _load(name)
    if _is_estimator(obj):
        options = _estimator_options(name, obj)
        if ESTIMATOR_FEATURES_KEY in options:
            raise ValueError(f"model {name!r} has a parameter named {ESTIMATOR_FEATURES_KEY!r}, which the harness uses for the feature blocks")
        if not isinstance(obj, type):  # a module-level instance: the name pins its unrecordable parameters
            options = {k: v for k, v in options.items() if plain(v)}
        options[ESTIMATOR_FEATURES_KEY] = FEATURE_KEYS
        kind = "estimator"
    elif callable(getattr(obj, "fit", None)):  # an estimator, but not one that gives probabilities
        raise ValueError(_no_predict_proba(name, obj))
    elif inspect.isclass(obj) or inspect.isfunction(obj):
        options, kind = _torch_options(name, obj), "torch"
    else:
        raise ValueError(
            f"model {name!r} is a {type(obj).__name__}: give a torch nn.Module class or factory taking the InputSpec, "
            "or a scikit-learn style estimator (fit + predict_proba)"
        )
    unrecordable = sorted(k for k, v in options.items() if not plain(v))
    if unrecordable:
        raise ValueError(
            f"model {name!r}: parameter(s) {unrecordable} default to values a result cannot record "
            "(use None, numbers, strings, booleans or lists of them)"
        )
    clash = sorted(set(options) & set(ADDED_KEYS))
    if clash:
        raise ValueError(f"model {name!r} has a parameter named {clash[0]!r}, which results use for its code version")
    return Imported(name, obj, kind, options, _code_version(obj))


def config(imported: Imported, given: Mapping[str, Any]) -> dict[str, Any]:
    """The full config of an imported model: its options' defaults, ``given`` over them, and its code version."""
    unknown = sorted(set(given) - set(imported.options))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for model {imported.name!r}; options are: {', '.join(sorted(imported.options))}")
    out = {**imported.options, **given, "code_version": imported.code_version}
    if ESTIMATOR_FEATURES_KEY in out:
        features = tuple(out[ESTIMATOR_FEATURES_KEY])
        if not features or len(set(features)) != len(features) or not set(features) <= set(FEATURE_KEYS):
            raise ValueError(f"The 'features' option of model {imported.name!r} must be distinct names among {FEATURE_KEYS}. Got {features!r} instead.")
        out[ESTIMATOR_FEATURES_KEY] = features
    bad = sorted(k for k, v in out.items() if not plain(v))
    if bad:
        raise ValueError(f"model {imported.name!r}: option(s) {bad} are not values a result can record")
    return out


def build(name: str, spec: Any, *, seed: int = 0, **settings: Any) -> Any:
    """The model ``name`` for one seed, ready for the harness: an ``nn.Module`` with ``loss``, or an array estimator."""
    imported = resolve(name)
    settings = {k: v for k, v in settings.items() if k not in ADDED_KEYS}
    if imported.estimator:
        features = tuple(settings.pop(ESTIMATOR_FEATURES_KEY, FEATURE_KEYS))
        return FeatureMatrixEstimator(_estimator(imported, settings, seed), features, name)
    return _torch_model(imported, spec, settings, seed)


def _estimator(imported: Imported, settings: Mapping[str, Any], seed: int) -> Any:
    from benchmarks.executors import describe

    obj = imported.obj
    try:
        if isinstance(obj, type):
            est = obj(**settings)
        else:
            est = _copy(obj)
            if settings and hasattr(est, "set_params"):
                est.set_params(**settings)
        if hasattr(est, "get_params") and "random_state" in est.get_params(deep=False) and est.get_params(deep=False)["random_state"] is None:
            est.set_params(random_state=seed)
    except (Exception, SystemExit) as e:
        raise ValueError(f"model {imported.name!r} could not be built: {describe(e)}; fix its __init__ or the settings given (--debug shows where)") from e
    return est


def _copy(est: Any) -> Any:
    """An unfitted copy of ``est``: scikit-learn's clone, its class rebuilt from ``get_params()`` for
    an estimator of one's own that has them, else a deep copy."""
    import copy

    if _is_sklearn(est):
        from sklearn.base import clone

        return clone(est)
    if callable(getattr(est, "get_params", None)):
        return type(est)(**est.get_params(deep=False))
    return copy.deepcopy(est)


def _torch_model(imported: Imported, spec: Any, settings: Mapping[str, Any], seed: int) -> nn.Module:
    from benchmarks.executors import describe

    takes_seed = "seed" in inspect.signature(imported.obj).parameters
    try:
        with seeded(seed):
            model = imported.obj(spec, **settings, **({"seed": seed} if takes_seed else {}))
    except (Exception, SystemExit) as e:  # an assert in __init__, a missing feature width, ...
        raise ValueError(
            f"model {imported.name!r} could not be built: {describe(e)}; it is built as "
            f"{imported.name.partition(':')[2]}(spec, **options): fix it or the settings given (--debug shows where)"
        ) from e
    if not isinstance(model, nn.Module):
        raise ValueError(f"model {imported.name!r} returned a {type(model).__name__}, not a torch nn.Module")
    return model if callable(getattr(model, "loss", None)) else LogitsModel(model, imported.name)


class LogitsModel(nn.Module):
    """A module of one's own that returns logits, with the ``loss`` the trainer calls: their binary
    cross-entropy (``pos_weight``: the run's class weights); logits of the wrong shape are one line."""

    def __init__(self, net: nn.Module, name: str) -> None:
        super().__init__()
        self.net = net
        self.name = name

    def forward(self, batch: Mapping[str, Tensor]) -> Tensor:
        try:
            return self.net(batch)
        except KeyError as e:  # batch["txt"]: say which keys there are
            key = e.args[0] if len(e.args) == 1 else None
            if isinstance(key, str) and key not in batch:
                raise ValueError(f"model {self.name!r} asked the batch for {key!r}; its keys are {', '.join(sorted(batch))}") from e
            raise

    def loss(self, batch: Mapping[str, Tensor], labels: Tensor, pos_weight: Tensor | None = None) -> dict[str, Tensor]:
        logits = self(batch)
        if tuple(logits.shape) != tuple(labels.shape):
            raise ValueError(f"model {self.name!r} returned logits of shape {tuple(logits.shape)}; expected {tuple(labels.shape)} (batch, genres)")
        return {"total": bce(logits, labels, pos_weight)}


class FeatureMatrixEstimator:
    """A scikit-learn style estimator on the concatenated ``features`` blocks, as the harness's array
    estimator (:class:`baselines.probes.ArrayEstimator`): one-vs-rest per genre unless the estimator
    declares multi-label support; a genre without a training positive gets probability 0."""

    def __init__(self, estimator: Any, features: tuple[str, ...], name: str) -> None:
        self.estimator, self.features, self.name = estimator, features, name
        self.config = {"features": features}
        self.fitted: Any = None

    def _matrix(self, arrays: Mapping[str, Any]):
        import numpy as np

        missing = [k for k in self.features if k not in arrays]
        if missing:
            raise ValueError(f"model {self.name!r} needs feature(s) {missing}; the inputs have {sorted(arrays)}")
        return np.concatenate([np.asarray(arrays[k], dtype=np.float64) for k in self.features], axis=1)

    def fit(self, train, y_train, dev, y_dev, threshold: str, class_weight: str = "none", fits=None) -> dict:
        """Fit on the training rows (dev is the harness's, for the thresholds; the estimator does not see it).
        ``fits`` (the probes' fit cache) is not used: nothing says an estimator of one's own depends
        only on what a cache key could name, so it is fitted every time."""
        if _multilabel(self.estimator):
            est = self.estimator
        elif _is_sklearn(self.estimator):
            est = _one_vs_rest(self.estimator)
        else:  # scikit-learn's OneVsRestClassifier needs scikit-learn's estimator tags
            est = OwnOneVsRest(self.estimator)
        self.genres = int(y_train.shape[1])
        with warnings.catch_warnings():  # constant genres (no training positive) are expected
            warnings.filterwarnings("ignore", message="Label .* is present in all training examples")
            self.fitted = est.fit(self._matrix(train), (y_train > 0).astype(int)) or est
        return {}

    def predict_proba(self, arrays: Mapping[str, Any]):
        import numpy as np

        if self.fitted is None:
            raise RuntimeError(f"model {self.name!r}: predict_proba called before fit")
        proba = self.fitted.predict_proba(self._matrix(arrays))
        if isinstance(proba, list):  # multi-output classifiers: one (N, 2) array per genre
            proba = np.stack([p[:, -1] if p.shape[1] > 1 else np.zeros(len(p)) for p in proba], axis=1)
        try:
            proba = np.asarray(proba, dtype=np.float32)
        except (TypeError, ValueError) as e:
            raise ValueError(f"model {self.name!r}: predict_proba returned {type(proba).__name__}, not a (movies, genres) array ({e})") from None
        rows = len(next(iter(arrays.values())))
        expected = (rows, getattr(self, "genres", proba.shape[-1] if proba.ndim else 0))
        if proba.shape != expected:
            raise ValueError(
                f"model {self.name!r}: predict_proba returned shape {proba.shape}; expected {expected} "
                "(one probability per movie and genre; a multi-output estimator may return a list of (movies, 2) arrays)"
            )
        bad = ~np.isfinite(proba) | (proba < 0) | (proba > 1)
        if bad.any():
            movies = int(bad.any(axis=1).sum())
            raise ValueError(f"model {self.name!r}: predict_proba gave values outside [0, 1] (NaN or inf included) for {movies} of {rows} movies")
        return proba


def _multilabel(est: Any) -> bool:
    """Whether ``est`` says it fits a (N, genres) 0/1 matrix itself (scikit-learn's tags); other
    estimators are fitted one genre at a time."""
    if not hasattr(est, "get_params"):  # not scikit-learn: its fit takes (X, Y) as the contract says
        return True
    try:
        from sklearn.utils import get_tags  # scikit-learn >= 1.6
    except ImportError:
        old = getattr(est, "_get_tags", None)
        return bool(callable(old) and old().get("multilabel", False))
    try:
        tags = get_tags(est)
    except (AttributeError, TypeError, ValueError):  # tags that cannot be read: one genre at a time
        return False
    return bool(tags.classifier_tags is not None and tags.classifier_tags.multi_label)


def _is_sklearn(est: Any) -> bool:
    """Whether ``est`` is a scikit-learn estimator (its base class: clone and estimator tags work)."""
    from sklearn.base import BaseEstimator

    return isinstance(est, BaseEstimator)


def _one_vs_rest(est: Any) -> Any:
    from sklearn.multiclass import OneVsRestClassifier

    return OneVsRestClassifier(est)


class OwnOneVsRest:
    """One copy of an estimator of one's own per genre (fit on that genre's 0/1 column), for one
    that is not scikit-learn's: :class:`sklearn.multiclass.OneVsRestClassifier` reads estimator
    tags it does not have. A genre with one class in training gets that class's probability."""

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator
        self.fitted: list[Any] = []

    def fit(self, X, Y) -> OwnOneVsRest:
        self.fitted = []
        for g in range(Y.shape[1]):
            y = Y[:, g]
            if y.min() == y.max():
                self.fitted.append(float(y[0]))
            else:
                est = _copy(self.estimator)
                self.fitted.append(est.fit(X, y) or est)
        return self

    def predict_proba(self, X):
        import numpy as np

        n = np.asarray(X).shape[0]
        columns = []
        for est in self.fitted:
            if isinstance(est, float):
                columns.append(np.full(n, est))
                continue
            p = np.asarray(est.predict_proba(X), dtype=np.float64)
            classes = list(getattr(est, "classes_", [0, 1]))
            columns.append(p[:, classes.index(1)] if p.ndim == 2 and 1 in classes and p.shape[1] == len(classes) else p.reshape(n, -1)[:, -1])
        return np.stack(columns, axis=1)


def attribute_path(obj: Any) -> str:
    """The ``package.module:Name`` of a class or function, by its shortest importing package
    (``sklearn.linear_model:LogisticRegression``); one line when it cannot be imported back."""
    qualname = getattr(obj, "__qualname__", "")
    module = getattr(obj, "__module__", None)
    if not module or not qualname or "<locals>" in qualname or "<lambda>" in qualname:
        raise ValueError(f"{obj!r} is not defined at module level, so results cannot name it: define it at the top of a module")
    parts = module.split(".")
    for i in range(1, len(parts) + 1):
        candidate = ".".join(parts[:i])
        mod = sys.modules.get(candidate)
        if mod is not None and "." not in qualname and getattr(mod, qualname, None) is obj:
            return f"{candidate}:{qualname}"
    path = f"{module}:{qualname}"
    if _load(path) is not obj:
        raise ValueError(f"{path} names another object than the one given (was its module reloaded?)")
    return path
