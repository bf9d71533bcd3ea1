"""Models and contrastive losses: names -> lazily imported ``"package.module:attr"`` factories.

A model name is the only way the harness (and the ``--models`` choices) reaches a model. A variant
is a name with preset keyword arguments over another factory (``idkg-no-at`` = ``idkg`` with
``use_teacher=False``); an alias is a second name of one entry (``idkg-gmu-no-gcacl`` is
``gmu-3``), recorded and rendered under the canonical name. Each entry names its config dataclass
(``extra["config"]``, or ``extra["options"]``: a class whose keyword arguments are its options)
and whether it is a scikit-learn style estimator; a model's departures from a training recipe
live in the recipe (:mod:`benchmarks.recipes`). A
``contrastive`` preset or override names an entry of :data:`CONTRASTIVE_REGISTRY`, resolved here
and injected into the model, so ``idkg/`` never imports ``baselines/`` or ``benchmarks/``.
Registered names are referred to by result files: never rename one, add an alias instead.
A name with a colon (``package.module:Name``) is a model of one's own, imported when used
(:mod:`benchmarks.imported`); it gets an :class:`Entry` made on the fly, never a registration.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mmimdb2.registry import Entry, Registry, UnknownNameError
from mmimdb2.typecheck import accepts, describe, field_types

if TYPE_CHECKING:  # the registry itself stays torch-free: the CLI imports it
    from torch import nn

    from idkg.inputs import InputSpec

__all__ = [
    "CONTRASTIVE_REGISTRY", "MODEL_REGISTRY", "UnknownNameError", "available_contrastive", "available_models",
    "applicable", "build_model", "canonical_model", "get_contrastive", "model_config", "model_entry", "model_options",
]  # fmt: skip


def _models() -> Registry:
    r: Registry = Registry("model")
    idkg = dict(target="idkg.model:build_idkg", extra={"config": "idkg.model:IDKGConfig"})
    gmu = dict(target="baselines.gmu:build_gmu", extra={"config": "baselines.gmu:GMUConfig"})
    r.add("idkg", **idkg)
    r.add("idkg-no-at", **idkg, use_teacher=False)
    r.add("idkg-no-gcacl", **idkg, use_gcacl=False)
    r.add("idkg-no-kg", **idkg, use_kg=False)
    r.add("idkg-random-anchors", **idkg, anchor_init="random")
    r.add("idkg-mulcon", **idkg, contrastive="mulcon")
    # Jaccard-weighted SupCon, the stand-in for Table 5's MCL row (see baselines/contrastive/mcl.py)
    r.add("idkg-mcl", **idkg, aliases=("idkg-jaccard-supcon",), contrastive="mcl")
    r.add("idkg-mltc", **idkg, contrastive="mltc")
    r.add("idkg-cgmvae", **idkg, contrastive="cgmvae")
    r.add("idkg-as-released", "baselines.as_released:build", extra={"options": "baselines.as_released:AsReleasedIDKG"})
    r.add("gmu", **gmu)
    r.add("gmu-3", **gmu, aliases=("idkg-gmu-no-gcacl",), use_kg=True)
    r.add("idkg-gmu", **gmu, use_kg=True, use_gcacl=True)
    r.add("idkg-gmu-no-kg", **gmu, use_kg=False, use_gcacl=True)
    r.add("centralnet", "baselines.centralnet:build_centralnet", extra={"config": "baselines.centralnet:CentralNetConfig"})
    r.add("late-fusion", "baselines.fusion:build_late_fusion", extra={"config": "baselines.fusion:LateFusionConfig"})
    r.add("concat", "baselines.fusion:build_concat", extra={"config": "baselines.fusion:ConcatConfig"})
    probe = dict(target="baselines.probes:build_probe", extra={"config": "baselines.probes:ProbeConfig", "estimator": True})
    r.add("probe-text", **probe, features=("text",))
    r.add("probe-image", **probe, features=("image",))
    r.add("probe-all", **probe, features=("text", "image", "people"))
    r.add("people-vote", "baselines.probes:build_people_vote",
          extra={"config": "baselines.probes:PeopleVoteConfig", "estimator": True})  # fmt: skip
    r.add("late-fusion-probes", "baselines.probes:build_probe_fusion",
          extra={"config": "baselines.probes:ProbeFusionConfig", "estimator": True})  # fmt: skip
    return r


def _contrastive() -> Registry:
    r: Registry = Registry("contrastive loss")
    r.add("gcacl", "idkg.gcacl:GCACL")
    r.add("mulcon", "baselines.contrastive.mulcon:MulCon")
    r.add("mcl", "baselines.contrastive.mcl:MCL", aliases=("jaccard-supcon",))
    r.add("mltc", "baselines.contrastive.mltc:MLTC")
    r.add("cgmvae", "baselines.contrastive.cgmvae:CGMVAE")
    return r


MODEL_REGISTRY: Registry = _models()
CONTRASTIVE_REGISTRY: Registry = _contrastive()


def available_models() -> list[str]:
    """Every registered model name, sorted (aliases resolve to these)."""
    return MODEL_REGISTRY.names()


def available_contrastive() -> list[str]:
    return CONTRASTIVE_REGISTRY.names()


def model_entry(name: str) -> Entry:
    """The registry entry of ``name`` (an alias gives its canonical entry); unknown: one line.
    An import path gets an entry of its own (``extra["imported"]``), after its object is imported and checked."""
    from benchmarks.imported import IMPORTED_ESTIMATOR_SETTINGS, is_import_path, resolve

    if is_import_path(name):
        imported = resolve(name)
        extra = {"imported": True, "estimator": imported.estimator}
        if imported.estimator:
            extra["train_settings"] = IMPORTED_ESTIMATOR_SETTINGS
        return Entry(name, name, extra=extra, kind="model")
    return MODEL_REGISTRY.entry(name)


def canonical_model(name: str) -> str:
    """The name results record for ``name``: the canonical registered name, or the import path as given."""
    from benchmarks.imported import is_import_path, resolve

    if is_import_path(name):
        return resolve(name).name  # a missing module or attribute is one line here, before any data is read
    return MODEL_REGISTRY.canonical(name)


def get_contrastive(name: str) -> type[nn.Module]:
    """The contrastive-loss class registered as ``name``."""
    return CONTRASTIVE_REGISTRY.load(name)


def _kwargs(name: str, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Presets overlaid by ``overrides``, a contrastive loss named by its canonical name."""
    kwargs = {**model_entry(name).presets, **overrides}
    if isinstance(kwargs.get("contrastive"), str):
        kwargs["contrastive"] = CONTRASTIVE_REGISTRY.canonical(kwargs["contrastive"])
    return kwargs


def _load(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def model_options(name: str) -> dict[str, Any]:
    """Every option model ``name`` takes, with its default: its config dataclass's fields (or the
    keyword arguments of its ``options`` class) and its factory's own keywords (``contrastive``)."""
    from benchmarks.imported import is_import_path, resolve

    if is_import_path(name):
        return dict(resolve(name).options)
    entry = model_entry(name)
    out: dict[str, Any] = {}
    if "config" in entry.extra:
        for f in dataclasses.fields(_load(entry.extra["config"])):
            has_factory = f.default_factory is not dataclasses.MISSING  # type: ignore[misc]
            out[f.name] = f.default_factory() if has_factory else f.default  # type: ignore[misc]
    for target in (entry.extra.get("options"), entry.target):
        if target is None:
            continue
        for p in inspect.signature(_load(target)).parameters.values():
            if p.kind is p.KEYWORD_ONLY:
                out.setdefault(p.name, None if p.default is p.empty else p.default)
    out.pop("seed", None)
    return out


def check_setting_types(name: str, settings: Mapping[str, Any]) -> None:
    """Each of ``settings`` against the type annotation of model ``name``'s config field (or option):
    a value of another type is one line naming the setting, the value and the type it must have
    (``--set`` values arrive as int, float, bool or str, so ``use_kg=maybe`` is a string, not truthy)."""
    entry = model_entry(name)
    target = entry.extra.get("config") or entry.extra.get("options")  # an imported model has neither
    if target is None:
        return
    fields = field_types(_load(target))
    for key, value in settings.items():
        if key in fields and key != "seed" and not accepts(fields[key], value):
            shown = repr(value)
            shown = shown if len(shown) <= 80 else shown[:77] + "..."
            raise ValueError(f"The {key!r} setting of model {entry.name!r} must be {describe(fields[key])}. Got {shown} instead.")


def applicable(name: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The ``settings`` model ``name`` takes (a recipe's or ``--set``'s; the rest do not apply to it)."""
    options = model_options(name)
    return {k: v for k, v in settings.items() if k in options}


def model_config(name: str, overrides: Mapping[str, Any] | None = None, *, base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The full resolved config of model ``name``: ``base`` (a recipe's model settings), then its
    presets, then ``overrides``, over every option's default (``seed`` left out: seeds are recorded
    per seed). An unknown option, or a value not of its field's type (:func:`check_setting_types`),
    is one line. Builds no model."""
    from benchmarks.imported import config, is_import_path, resolve
    from idkg.model import make_config

    if is_import_path(name):
        return config(resolve(name), {**(base or {}), **(overrides or {})})
    kwargs = {**(base or {}), **_kwargs(name, overrides or {})}
    entry = model_entry(name)
    check_setting_types(name, kwargs)
    if "config" not in entry.extra:
        options = model_options(name)
        if unknown := sorted(set(kwargs) - set(options)):
            raise ValueError(f"unknown option(s) {unknown} for model {name!r}; options are: {', '.join(sorted(options))}")
        return {**options, **kwargs}
    resolved = dataclasses.asdict(make_config(_load(entry.extra["config"]), {k: v for k, v in kwargs.items() if k != "contrastive"}))
    resolved.pop("seed", None)
    return {**kwargs, **resolved}


def build_model(name: str, spec: InputSpec, **overrides: Any) -> nn.Module:
    """Build the registered model ``name`` (or the one its import path names) from an InputSpec;
    ``overrides`` replace config defaults. Its parameters are drawn under its ``seed`` (default 0),
    never from the caller's RNG state, so a job's numbers do not depend on what ran before it in
    the same process."""
    from benchmarks.imported import build, is_import_path
    from idkg.model import seeded

    if is_import_path(name):
        return build(name, spec, **overrides)
    kwargs = _kwargs(name, overrides)
    if isinstance(kwargs.get("contrastive"), str):
        kwargs["contrastive"] = get_contrastive(kwargs["contrastive"])
    with seeded(int(kwargs.get("seed", 0))):  # parameters drawn from the seed, whatever the caller's RNG (a factory may seed too)
        return model_entry(name).load()(spec, **kwargs)
