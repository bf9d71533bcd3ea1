"""One registry class for every kind of named thing: models, losses, encoders, builder sources,
layouts, experiments and recipes.

A name maps to an object or to a lazy ``"package.module:attr"`` target (imported only when asked
for, so listing names never imports torch), plus keyword presets that make a variant of another
target (``idkg-no-at`` = ``idkg`` with ``use_teacher=False``). An alias is a second name for one
entry: it resolves to the canonical name, so results record one name and the leaderboard shows
one row. A prefix family (``clip:<model>:<pretrained>``) passes the rest of the name to its target.
An unknown name is one line: "unknown model 'gmv'. Did you mean 'gmu'? Available: ...".
Registered names are referred to by result files: never rename one, add an alias.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError, ValueError):
    """A name that is not registered (a KeyError and a ValueError, so either handler catches it);
    the message suggests close names and lists all."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered name: its object or lazy target, presets, aliases and a one-line description."""

    name: str
    target: Any
    presets: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    aliases: tuple[str, ...] = ()
    doc: str = ""
    #: Extra data of the kind (e.g. a model's config class and whether it is an estimator); read-only.
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    kind: str = ""

    def load(self) -> T:
        """The registered object, importing a lazy ``"module:attr"`` target on first use."""
        if not isinstance(self.target, str):
            return self.target
        module, _, attr = self.target.partition(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ImportError(f"{self.kind} {self.name!r} needs {self.target}, which could not be loaded: {exc}") from exc


def _check_target(kind: str, name: str, target: Any) -> None:
    if isinstance(target, str):
        module, sep, attr = target.partition(":")
        if not (module and sep and attr):
            raise ValueError(f"{kind} {name!r}: target must be 'package.module:attr'; got {target!r}")


class Registry(Generic[T]):
    """Names -> :class:`Entry`, filled once where the kind is defined; a name or alias given twice raises.

    ``error`` is the exception class raised for an unknown name (a subclass of
    :class:`UnknownNameError` by default, so a kind can keep its own error type).
    """

    def __init__(self, kind: str, *, error: type[Exception] = UnknownNameError) -> None:
        self.kind = kind
        self.error = error
        self._entries: dict[str, Entry[T]] = {}
        self._aliases: dict[str, str] = {}
        self._prefixes: dict[str, Entry[T]] = {}

    # -- filling ---------------------------------------------------------------------------
    def add(
        self,
        name: str,
        target: Any,
        *,
        aliases: tuple[str, ...] | list[str] = (),
        doc: str = "",
        extra: Mapping[str, Any] | None = None,
        **presets: Any,
    ) -> Entry[T]:
        """Register ``name`` (and its ``aliases``) for ``target`` with keyword ``presets``."""
        _check_target(self.kind, name, target)
        for n in (name, *aliases):
            if n in self._entries or n in self._aliases:
                raise ValueError(f"{self.kind} {n!r} is already registered")
        entry: Entry[T] = Entry(
            name, target, MappingProxyType(dict(presets)), tuple(aliases), doc, MappingProxyType(dict(extra or {})), self.kind
        )
        self._entries[name] = entry
        self._aliases.update({a: name for a in aliases})
        return entry

    def add_prefix(self, prefix: str, target: Any, *, doc: str = "") -> None:
        """Register a family: ``<prefix><rest>`` calls ``target(rest, ...)`` (see :meth:`build`)."""
        if not prefix.endswith(":"):
            raise ValueError(f"{self.kind} prefix must end with ':'; got {prefix!r}")
        _check_target(self.kind, prefix, target)
        self._prefixes[prefix] = Entry(prefix, target, doc=doc, kind=self.kind)

    # -- reading ---------------------------------------------------------------------------
    def names(self) -> list[str]:
        """Canonical names, sorted (aliases and prefix families not included)."""
        return sorted(self._entries)

    def aliases(self) -> dict[str, str]:
        """alias -> canonical name."""
        return dict(self._aliases)

    def prefixes(self) -> list[str]:
        return sorted(self._prefixes)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self._entries or name in self._aliases or self._prefix_of(name) is not None)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def _prefix_of(self, name: str) -> str | None:
        return next((p for p in self._prefixes if name.startswith(p) and len(name) > len(p)), None)

    def canonical(self, name: str) -> str:
        """The registered name ``name`` stands for (itself, or the entry an alias points to)."""
        if name in self._entries or self._prefix_of(str(name)) is not None:
            return name
        if name in self._aliases:
            return self._aliases[name]
        raise self._unknown(name)

    def entry(self, name: str) -> Entry[T]:
        """The entry of ``name`` or of the entry an alias points to; unknown: one-line error."""
        canonical = self.canonical(name)
        if canonical in self._entries:
            return self._entries[canonical]
        raise self._unknown(name)  # a prefix family has no single entry

    def load(self, name: str) -> T:
        """Import and return the object registered as ``name`` (presets not applied)."""
        return self.entry(name).load()

    def build(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call the target of ``name`` with its presets overlaid by ``kwargs``; a prefix family's
        target gets the rest of the name first."""
        prefix = self._prefix_of(str(name)) if name not in self._entries and name not in self._aliases else None
        if prefix is not None:
            return self._prefixes[prefix].load()(name[len(prefix) :], *args, **kwargs)
        entry = self.entry(name)
        return entry.load()(*args, **{**entry.presets, **kwargs})

    def _unknown(self, name: Any) -> Exception:
        known = [*self._entries, *self._aliases]
        close = difflib.get_close_matches(str(name), known, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        listed = [*self.names(), *(f"{p}<...>" for p in self.prefixes())]
        return self.error(f"unknown {self.kind} {name!r}.{hint} Available: {', '.join(listed)}")
