"""Search spaces of ``benchmarks.tune``, as data: one per registered model, in one registry.

A space maps a setting's name to its domain. The name is one the model already has, spelled as
``--set`` and the result's config spell it:

- a model config key (``dropout``, ``proj_dim``, ``kg_dropout``, ``c_grid``, ``block_weights``);
- a training setting the model takes (``lr``, ``weight_decay``, ``epochs``, ``patience``,
  ``class_weight``, ``threshold``; an estimator takes only ``threshold`` and ``class_weight``);
- a KG-embedding setting as ``kg_<field>`` (``kg_dim``, ``kg_epochs``, ``kg_lr``, ``kg_cross_fit``):
  each value gets its own fold KG embeddings, through the usual embedding cache.

Domains: :class:`LogFloat` (a log scale), :class:`Float`, :class:`Int` and :class:`Choice` (any
JSON values; tuples stay tuples). A space whose every domain is finite and whose settings number
no more than the trials is enumerated once, the default first (:func:`grid`). The JSON form of a
space (:func:`space_to_json`, :func:`space_from_json`) is what a study records and what a user
writes for a model of their own::

    {"lr": {"log": [1e-4, 1e-2]}, "dropout": {"float": [0.0, 0.5]}, "width": {"int": [64, 512], "step": 64},
     "loss": {"choice": ["bce", "focal"]}}

A model of one's own (``package.module:Name``) takes its space from ``--space MODEL=FILE.json``,
``--space MODEL=package.module:attr`` (a mapping, or a function returning one, of domains or
their JSON form), or a ``search_space`` attribute of its class; without any, it is searched over
the training settings it takes (:data:`TORCH_TRAINING`; an imported estimator has none to search).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from mmimdb2.registry import Registry


def _plain(value: Any) -> Any:
    """``value`` as JSON holds it (tuples as lists), the form two values are compared in."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _key(value: Any) -> str:
    return json.dumps(_plain(value), sort_keys=True)


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"search space setting {name!r}: {value!r} is not a finite number")
    return value


@dataclass(frozen=True)
class LogFloat:
    """A float drawn on a log scale from [low, high] (learning rates, weight decays, C)."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not 0 < self.low < self.high:
            raise ValueError(f"LogFloat needs 0 < low < high. Got low={self.low!r}, high={self.high!r} instead.")

    def suggest(self, trial, name: str) -> Any:
        return trial.suggest_float(name, self.low, self.high, log=True)

    def contains(self, value: Any) -> bool:
        return not isinstance(value, bool) and isinstance(value, (int, float)) and self.low <= value <= self.high

    def widened(self, value: Any) -> LogFloat:
        return LogFloat(min(self.low, value), max(self.high, value))

    def bounds(self) -> tuple[Any, ...]:
        return (self.low, self.high)

    def values(self) -> None:
        return None

    def to_json(self) -> dict[str, Any]:
        return {"log": [self.low, self.high]}


@dataclass(frozen=True)
class Float:
    """A float drawn uniformly from [low, high], on a grid of ``step`` when given."""

    low: float
    high: float
    step: float | None = None

    def __post_init__(self) -> None:
        if not self.low < self.high or (self.step is not None and not self.step > 0):
            raise ValueError(f"Float needs low < high and step > 0. Got low={self.low!r}, high={self.high!r}, step={self.step!r} instead.")

    def suggest(self, trial, name: str) -> Any:
        return trial.suggest_float(name, self.low, self.high, step=self.step)

    def contains(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not self.low <= value <= self.high:
            return False
        return self.step is None or math.isclose((value - self.low) / self.step, round((value - self.low) / self.step), abs_tol=1e-9)

    def widened(self, value: Any) -> Float:
        at = None if self.step is None else (value - self.low) / self.step
        aligned = at is not None and math.isclose(at, round(at), abs_tol=1e-9)
        return Float(min(self.low, value), max(self.high, value), self.step if aligned else None)  # an off-grid default leaves the grid

    def bounds(self) -> tuple[Any, ...]:
        return (self.low, self.high)

    def values(self) -> list[float] | None:
        if self.step is None:
            return None
        n = int(math.floor((self.high - self.low) / self.step + 1e-9))
        return [round(self.low + i * self.step, 12) for i in range(n + 1)]

    def to_json(self) -> dict[str, Any]:
        return {"float": [self.low, self.high]} | ({"step": self.step} if self.step is not None else {})


@dataclass(frozen=True)
class Int:
    """An integer drawn from [low, high] (every ``step``; on a log scale with ``log``)."""

    low: int
    high: int
    step: int = 1
    log: bool = False

    def __post_init__(self) -> None:
        if not self.low < self.high or self.step < 1 or (self.log and (self.low < 1 or self.step != 1)):
            raise ValueError(f"Int needs low < high, step >= 1, and low >= 1 with step 1 on a log scale. Got {self!r} instead.")

    def suggest(self, trial, name: str) -> Any:
        return trial.suggest_int(name, self.low, self.high, step=self.step, log=self.log)

    def contains(self, value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and self.low <= value <= self.high and (value - self.low) % self.step == 0

    def widened(self, value: Any) -> Int:
        return Int(min(self.low, value), max(self.high, value), 1 if (value - self.low) % self.step else self.step, self.log)

    def bounds(self) -> tuple[Any, ...]:
        return (self.low, self.high)

    def values(self) -> list[int]:
        return list(range(self.low, self.high + 1, self.step))

    def to_json(self) -> dict[str, Any]:
        return {"int": [self.low, self.high]} | ({"step": self.step} if self.step != 1 else {}) | ({"log": True} if self.log else {})


@dataclass(frozen=True)
class Choice:
    """One of ``values`` (any JSON values; a tuple-valued setting such as ``c_grid`` takes tuples).

    Optuna sees each value as its JSON text, so any value can be a choice; :meth:`decode` gives
    the value back."""

    options: tuple[Any, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", tuple(self.options))
        keys = [_key(v) for v in self.options]
        if not keys or len(set(keys)) != len(keys):
            raise ValueError(f"Choice needs distinct values, at least one. Got {list(self.options)!r} instead.")

    def suggest(self, trial, name: str) -> Any:
        return trial.suggest_categorical(name, [_key(v) for v in self.options])

    def encode(self, value: Any) -> str:
        return _key(value)

    def decode(self, text: str) -> Any:
        return {_key(v): v for v in self.options}[text]

    def contains(self, value: Any) -> bool:
        return _key(value) in {_key(v) for v in self.options}

    def widened(self, value: Any) -> Choice:
        return Choice((value, *self.options))

    def bounds(self) -> tuple[Any, ...]:
        return self.options

    def values(self) -> list[Any]:
        return list(self.options)

    def to_json(self) -> dict[str, Any]:
        return {"choice": _plain(list(self.options))}


Domain = LogFloat | Float | Int | Choice
Space = Mapping[str, Domain]


def tuples(value: Any) -> Any:
    """``value`` read back from JSON with its lists as tuples again (a config's tuple settings)."""
    if isinstance(value, list):
        return tuple(tuples(v) for v in value)
    if isinstance(value, Mapping):
        return {k: tuples(v) for k, v in value.items()}
    return value


def same(a: Any, b: Any) -> bool:
    """Whether two settings are equal as JSON holds them (a tuple equals the list it was written as)."""
    return _key(a) == _key(b)


def encode(domain: Domain, value: Any) -> Any:
    """``value`` as Optuna stores it (a choice as its JSON text)."""
    return domain.encode(value) if isinstance(domain, Choice) else value


def decode(domain: Domain, value: Any) -> Any:
    """The setting's value from what Optuna stores."""
    return domain.decode(value) if isinstance(domain, Choice) else value


def suggest(trial, space: Space) -> dict[str, Any]:
    """One value per setting of ``space`` asked of an Optuna trial, decoded."""
    return {name: decode(d, d.suggest(trial, name)) for name, d in space.items()}


def domain_from_json(name: str, spec: Any) -> Domain:
    """A domain from its JSON form (``{"log": [lo, hi]}``, ``{"float": [lo, hi], "step": s}``,
    ``{"int": [lo, hi], "step": s, "log": true}``, ``{"choice": [...]}``) or a domain itself; else one line."""
    if isinstance(spec, (LogFloat, Float, Int, Choice)):
        return spec
    kinds = ("log", "float", "int", "choice")
    if not isinstance(spec, Mapping) or sum(k in spec for k in kinds) != 1:
        raise ValueError(f"search space setting {name!r}: expected one of {{'log': [low, high]}}, {{'float': [low, high]}}, "
                         f"{{'int': [low, high]}} or {{'choice': [values]}}; got {spec!r}")  # fmt: skip
    kind = next(k for k in kinds if k in spec)
    extra = sorted(set(spec) - {kind, "step", "log"})
    if extra or (kind in ("log", "choice") and "step" in spec):
        raise ValueError(f"search space setting {name!r}: unknown key(s) {extra or ['step']} in {spec!r}")
    try:
        if kind == "choice":
            values = spec["choice"]
            if not isinstance(values, list):
                raise ValueError("'choice' takes a list of values")
            return Choice(tuple(tuple(v) if isinstance(v, list) else v for v in values))
        pair = spec[kind]
        if not isinstance(pair, list) or len(pair) != 2:
            raise ValueError(f"{kind!r} takes [low, high]")
        low, high = (_number(name, v) for v in pair)
        if kind == "log":
            return LogFloat(float(low), float(high))
        if kind == "float":
            return Float(float(low), float(high), None if spec.get("step") is None else float(_number(name, spec["step"])))
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (*pair, spec.get("step", 1))):
            raise ValueError("'int' takes whole numbers")
        return Int(low, high, spec.get("step", 1), bool(spec.get("log", False)))
    except ValueError as e:
        raise ValueError(f"search space setting {name!r}: {e}") from None


def space_from_json(obj: Any, *, where: str = "search space") -> dict[str, Domain]:
    """A space from its JSON form (or a mapping of domains); one line naming the bad setting otherwise."""
    if not isinstance(obj, Mapping) or not obj:
        raise ValueError(f"{where}: expected a non-empty mapping of setting name -> domain; got {type(obj).__name__}")
    return {str(name): domain_from_json(f"{name}", spec) for name, spec in obj.items()}


def space_to_json(space: Space) -> dict[str, Any]:
    """The JSON form of a space, what a study records."""
    return {name: d.to_json() for name, d in space.items()}


#: The training settings of every torch model (AdamW's lr and weight decay on log scales, the
#: epoch cap, early stopping, the genre weighting): table 2, 4 and 13 of docs/training.md.
TORCH_TRAINING: Space = MappingProxyType({
    "lr": LogFloat(1e-4, 1e-2), "weight_decay": LogFloat(1e-3, 10.0), "epochs": Choice((15, 30, 60)),
    "patience": Int(2, 8), "class_weight": Choice(("balanced", "none")),
})  # fmt: skip
#: Linear members (late fusion's, concat's probe) want far more decay (docs/training.md, table 4).
LINEAR_TRAINING: Space = MappingProxyType({**TORCH_TRAINING, "weight_decay": LogFloat(1e-2, 100.0)})
#: The C of a probe: the dev-chosen default grid, or one C fixed (block-weighted features want
#: 0.1-30, plain ones about 100x less: docs/training.md, tables 5-6).
C_GRIDS = Choice(((0.1, 0.3, 1.0, 3.0, 10.0, 30.0), *((c,) for c in (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0))))
#: The estimators' training settings: the threshold policy and the genre weighting.
ESTIMATOR_TRAINING: Space = MappingProxyType({"threshold": Choice(("global", "per-genre")), "class_weight": Choice(("balanced", "none"))})

_NETWORK = {"proj_dim": Choice((128, 256, 512, 1024)), "classifier_hidden": Choice((0, 256, 512, 1024)), "dropout": Float(0.0, 0.6)}
_KG = {"kg_dropout": Choice(("auto", 0.0, 0.05, 0.1, 0.15, 0.2, 0.3))}
_TEACHER = {"weight_atten": LogFloat(0.1, 10.0)}
_CONTRAST = {"temperature": LogFloat(0.03, 1.0), "weight_contra": LogFloat(0.1, 10.0)}


def _spaces() -> Registry:
    r: Registry = Registry("search space")

    def add(name: str, *parts: Mapping[str, Domain]) -> None:
        merged: dict[str, Domain] = {}
        for part in parts:
            merged.update(part)
        r.add(name, MappingProxyType(merged))

    add("idkg", TORCH_TRAINING, _NETWORK, _KG, _TEACHER, _CONTRAST)
    add("idkg-no-at", TORCH_TRAINING, _NETWORK, _KG, _CONTRAST)
    add("idkg-no-gcacl", TORCH_TRAINING, _NETWORK, _KG, _TEACHER)
    add("idkg-no-kg", TORCH_TRAINING, _NETWORK, _TEACHER, _CONTRAST)
    add("idkg-random-anchors", TORCH_TRAINING, _NETWORK, _KG, _TEACHER, _CONTRAST)
    for variant in ("idkg-mulcon", "idkg-mcl", "idkg-mltc", "idkg-cgmvae"):
        add(variant, TORCH_TRAINING, _NETWORK, _KG, _TEACHER, _CONTRAST)
    add("idkg-as-released", TORCH_TRAINING, {
        "hidden_dim": Choice((256, 512, 1024)), "temperature": LogFloat(0.05, 1.0),
        "teacher_weight": LogFloat(0.1, 10.0), "contrastive_weight": LogFloat(0.1, 10.0),
    })  # fmt: skip
    add("gmu", TORCH_TRAINING, _NETWORK)
    add("gmu-3", TORCH_TRAINING, _NETWORK, _KG)
    add("idkg-gmu", TORCH_TRAINING, _NETWORK, _KG, _CONTRAST)
    add("idkg-gmu-no-kg", TORCH_TRAINING, _NETWORK, _CONTRAST)
    add("centralnet", TORCH_TRAINING, {"hidden": Choice((128, 256, 512, 1024)), "depth": Int(1, 3), "dropout": Float(0.0, 0.6),
                                       "unimodal_weight": LogFloat(0.1, 10.0)})  # fmt: skip
    add("late-fusion", LINEAR_TRAINING, {"combine": Choice(("probs", "logits"))})
    add("concat", LINEAR_TRAINING, {"hidden": Choice((0, 256, 512, 1024)), "dropout": Float(0.0, 0.6)})
    for probe in ("probe-text", "probe-image", "probe-all"):
        add(probe, ESTIMATOR_TRAINING, {"c_grid": C_GRIDS, "block_weights": Choice((True, False))})
    add("late-fusion-probes", ESTIMATOR_TRAINING, {"c_grid": C_GRIDS, "weight_step": Choice((0.05, 0.1, 0.2))})
    # the vote has nothing to fit or weigh: its threshold policy is all there is (a grid of 2)
    add("people-vote", {"threshold": ESTIMATOR_TRAINING["threshold"]})
    return r


#: Model name -> its search space (read-only); every registered model has one (tested).
SPACES: Registry = _spaces()


def load_space(source: str) -> dict[str, Domain]:
    """A user's space: a ``.json`` file, or ``package.module:attr`` naming a mapping or a function
    returning one (of domains or their JSON form)."""
    from benchmarks.imported import IMPORT_PATH

    path = Path(source)
    if path.suffix == ".json" or path.is_file():
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except OSError as e:
            raise ValueError(f"--space {source}: cannot read it ({e.strerror or e})") from None
        except json.JSONDecodeError as e:
            raise ValueError(f"--space {source}: not JSON ({e.msg} at line {e.lineno})") from None
        return space_from_json(obj, where=f"--space {source}")
    if not IMPORT_PATH.fullmatch(source):
        raise ValueError(f"--space {source}: give a .json file or package.module:attr")
    import importlib

    module, _, attr = source.partition(":")
    try:
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"--space {source}: cannot import it ({e})") from None
    return space_from_json(obj() if callable(obj) else obj, where=f"--space {source}")


def space_of(model: str, given: Space | None = None) -> dict[str, Domain]:
    """The space of ``model``: ``given``, else its registered one, else (a model of one's own) its
    class's ``search_space`` or the training settings it takes."""
    from benchmarks.imported import is_import_path, resolve
    from benchmarks.registry import canonical_model

    if given is not None:
        return space_from_json(given, where=f"the search space of {model!r}")
    name = canonical_model(model)
    if name in SPACES:
        return dict(SPACES.load(name))
    if is_import_path(name):
        imported = resolve(name)
        own = getattr(imported.obj, "search_space", None)
        if own is not None:
            return space_from_json(own() if callable(own) else own, where=f"{name}.search_space")
        if imported.estimator:
            raise ValueError(f"model {name!r} is an estimator with no search space: give one with --space {name}=FILE.json "
                             "or a search_space attribute (its own parameters are its settings)")  # fmt: skip
        return dict(TORCH_TRAINING)
    raise ValueError(f"model {name!r} has no search space in benchmarks/spaces.py: add one, or give --space {name}=FILE.json")


KG_PREFIX = "kg_"


@dataclass(frozen=True)
class Settings:
    """A trial's settings sorted by where they go: model config overrides (``--set``), training
    settings and KG settings (EmbeddingSpec fields and ``cross_fit``, without their ``kg_`` prefix)."""

    model: dict[str, Any]
    train: dict[str, Any]
    kg: dict[str, Any]


def where(name: str, config: Mapping[str, Any], train: Mapping[str, Any]) -> str:
    """``model``, ``train`` or ``kg``: where a setting named ``name`` goes for a model whose resolved
    config and training settings are ``config`` and ``train``; one line when it has no such setting."""
    from benchmarks.spec import KG_SETTINGS

    if name in config:
        return "model"
    if name in train:
        return "train"
    if name.startswith(KG_PREFIX) and name[len(KG_PREFIX) :] in KG_SETTINGS:
        return "kg"
    known = [*sorted(config), *sorted(train), *(KG_PREFIX + k for k in KG_SETTINGS)]
    raise ValueError(f"{name!r} is not a setting of the model; its settings are: {', '.join(known)}")


def split_settings(params: Mapping[str, Any], config: Mapping[str, Any], train: Mapping[str, Any]) -> Settings:
    """``params`` (setting -> value) sorted into :class:`Settings`."""
    out: dict[str, dict[str, Any]] = {"model": {}, "train": {}, "kg": {}}
    for name, value in params.items():
        kind = where(name, config, train)
        out[kind][name[len(KG_PREFIX) :] if kind == "kg" else name] = value
    return Settings(**out)


def default_of(name: str, cell_spec) -> Any:
    """The value the setting ``name`` has in a resolved :class:`benchmarks.spec.CellSpec`."""
    kind = where(name, cell_spec.config, cell_spec.train)
    if kind == "model":
        return cell_spec.config[name]
    if kind == "train":
        return cell_spec.train[name]
    field = name[len(KG_PREFIX) :]
    return cell_spec.kg.cross_fit if field == "cross_fit" else getattr(cell_spec.kg.embedding, field)


def size(space: Space) -> int | None:
    """How many settings the space holds; None when a domain is continuous."""
    counts = [d.values() for d in space.values()]
    return None if any(c is None for c in counts) else math.prod(len(c) for c in counts)  # type: ignore[arg-type]


def grid(space: Space, default: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every setting of a finite space, ``default`` first, each once."""
    names = list(space)
    combos = [dict(zip(names, values)) for values in itertools.product(*(space[n].values() for n in names))]  # type: ignore[misc]
    first = _key(default)
    return [dict(default), *(c for c in combos if _key(c) != first)]
