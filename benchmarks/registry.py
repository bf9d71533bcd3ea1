"""Model and contrastive-loss registries: names -> lazily imported "package.module:attr" targets.

A model name is the only way the harness (and the ``--models`` choices of the CLI) reaches a
model. A variant is a name with preset keyword arguments over another target (``idkg-no-at`` =
``idkg`` with ``use_teacher=False``); a ``contrastive`` preset or override names an entry of
:data:`CONTRASTIVE`, which is resolved here and injected into the model, so ``idkg/`` never
imports ``baselines/`` or ``benchmarks/``. Registered names are referred to by result files:
never rename one, add an alias instead.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the registry itself stays torch-free: the CLI and the validator import it
    from torch import nn

    from idkg.inputs import InputSpec


class UnknownNameError(KeyError):
    """A name that is not registered; the message suggests close ones and lists all."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


@dataclass(frozen=True)
class Entry:
    """One registered name: its lazy target and the keyword presets that make it a variant."""

    target: str
    presets: Mapping[str, Any] = field(default_factory=dict)


class Registry:
    """Names -> :class:`Entry`, filled once at import; adding a name twice raises."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry] = {}

    def add(self, name: str, target: str, **presets: Any) -> None:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered (as {self._entries[name].target})")
        module, sep, attr = target.partition(":")
        if not (module and sep and attr):
            raise ValueError(f"{self.kind} {name!r}: target must be 'package.module:attr'; got {target!r}")
        self._entries[name] = Entry(target, MappingProxyType(dict(presets)))

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entry(self, name: str) -> Entry:
        try:
            return self._entries[name]
        except KeyError:
            close = difflib.get_close_matches(str(name), self._entries, n=3, cutoff=0.5)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise UnknownNameError(
                f"unknown {self.kind} {name!r}.{hint} Available: {', '.join(self.names())}"
            ) from None

    def load(self, name: str) -> Any:
        """Import and return the target object of ``name``."""
        target = self.entry(name).target
        module, _, attr = target.partition(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ImportError(f"{self.kind} {name!r} needs {target}, which could not be loaded: {exc}") from exc


def _models() -> Registry:
    r = Registry("model")
    idkg, gmu = "idkg.model:build_idkg", "baselines.gmu:build_gmu"
    r.add("idkg", idkg)
    r.add("idkg-no-at", idkg, use_teacher=False)
    r.add("idkg-no-gcacl", idkg, use_gcacl=False)
    r.add("idkg-no-kg", idkg, use_kg=False)
    r.add("idkg-random-anchors", idkg, anchor_init="random")
    r.add("idkg-mulcon", idkg, contrastive="mulcon")
    r.add("idkg-mcl", idkg, contrastive="mcl")
    r.add("idkg-jaccard-supcon", idkg, contrastive="jaccard-supcon")  # what "mcl" computes (see its module)
    r.add("idkg-mltc", idkg, contrastive="mltc")
    r.add("idkg-cgmvae", idkg, contrastive="cgmvae")
    r.add("idkg-as-released", "baselines.as_released:build")
    r.add("gmu", gmu)
    r.add("gmu-3", gmu, use_kg=True)
    r.add("idkg-gmu", gmu, use_kg=True, use_gcacl=True)
    r.add("idkg-gmu-no-gcacl", gmu, use_kg=True, use_gcacl=False)
    r.add("idkg-gmu-no-kg", gmu, use_kg=False, use_gcacl=True)
    r.add("centralnet", "baselines.centralnet:build_centralnet")
    r.add("late-fusion", "baselines.fusion:build_late_fusion")
    r.add("concat", "baselines.fusion:build_concat")
    probe = "baselines.probes:build_probe"
    r.add("probe-text", probe, features=("text",))
    r.add("probe-image", probe, features=("image",))
    r.add("probe-all", probe, features=("text", "image", "people"))
    r.add("people-vote", "baselines.probes:build_people_vote")
    r.add("late-fusion-probes", "baselines.probes:build_probe_fusion")
    return r


def _contrastive() -> Registry:
    r = Registry("contrastive loss")
    r.add("gcacl", "idkg.gcacl:GCACL")
    r.add("mulcon", "baselines.contrastive.mulcon:MulCon")
    r.add("mcl", "baselines.contrastive.mcl:MCL")
    r.add("jaccard-supcon", "baselines.contrastive.mcl:MCL")
    r.add("mltc", "baselines.contrastive.mltc:MLTC")
    r.add("cgmvae", "baselines.contrastive.cgmvae:CGMVAE")
    return r


MODEL_REGISTRY: Registry = _models()
CONTRASTIVE_REGISTRY: Registry = _contrastive()

#: Read-only views: model name -> "module:factory", and its preset keyword arguments.
MODELS: Mapping[str, str] = MappingProxyType({n: MODEL_REGISTRY.entry(n).target for n in MODEL_REGISTRY.names()})
PRESETS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {n: MODEL_REGISTRY.entry(n).presets for n in MODEL_REGISTRY.names()}
)
#: Contrastive-loss name -> "module:Class" (the interface of :class:`idkg.gcacl.GCACL`).
CONTRASTIVE: Mapping[str, str] = MappingProxyType(
    {n: CONTRASTIVE_REGISTRY.entry(n).target for n in CONTRASTIVE_REGISTRY.names()}
)


def available_models() -> list[str]:
    """Every registered model name, sorted."""
    return MODEL_REGISTRY.names()


def available_contrastive() -> list[str]:
    """Every registered contrastive-loss name, sorted."""
    return CONTRASTIVE_REGISTRY.names()


def get_contrastive(name: str) -> type["nn.Module"]:
    """The contrastive-loss class registered as ``name``."""
    return CONTRASTIVE_REGISTRY.load(name)


def get_model_factory(name: str) -> Callable[..., "nn.Module"]:
    """``factory(spec, **overrides)`` for ``name``: presets applied, overrides win, losses resolved."""
    entry = MODEL_REGISTRY.entry(name)
    target = MODEL_REGISTRY.load(name)

    def factory(spec: "InputSpec", **overrides: Any) -> "nn.Module":
        kwargs = {**entry.presets, **overrides}
        if isinstance(kwargs.get("contrastive"), str):
            kwargs["contrastive"] = get_contrastive(kwargs["contrastive"])
        return target(spec, **kwargs)

    factory.__name__ = f"build_{name.replace('-', '_')}"
    factory.__doc__ = f"Build model {name!r} ({entry.target}, presets {dict(entry.presets)})."
    return factory


def build_model(name: str, spec: "InputSpec", **overrides: Any) -> "nn.Module":
    """Build the registered model ``name`` from an InputSpec; ``overrides`` replace config defaults."""
    return get_model_factory(name)(spec, **overrides)
