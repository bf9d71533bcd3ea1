"""Whether a value fits a type annotation, and what the annotation accepts, in words.

Settings arrive from the command line, recipes and Python callers; a config dataclass's
annotations say what each accepts. One checker serves every kind of settings (a model's config,
the training recipe), so ``use_kg=maybe`` or ``epochs="30"`` is one line naming the setting,
the value and the type, never a truthy string or a traceback deep inside training.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import math
import sys
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, Union

_SEQUENCES = (tuple, list, collections.abc.Sequence)
_MAPPINGS = (dict, collections.abc.Mapping)
_PLURAL = {bool: "bools", int: "ints", float: "finite numbers", str: "strings"}


def accepts(tp: Any, value: Any) -> bool:
    """Whether ``value`` fits annotation ``tp``: a bool is no int, an int is a float, floats are
    finite, lists stand for tuples; an annotation not understood here is left to the config's checks."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return True
    if origin in (Union, types.UnionType):
        return any(accepts(a, value) for a in args)
    if origin is Literal:
        return any(value == a and type(value) is type(a) for a in args)
    if tp is type(None) or tp is None:
        return value is None
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if tp is str:
        return isinstance(value, str)
    if origin in _SEQUENCES or tp in _SEQUENCES:
        if not isinstance(value, (list, tuple)):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(value) == len(args) and all(accepts(a, v) for a, v in zip(args, value))
        return all(accepts(args[0], v) for v in value) if args else True
    if origin in _MAPPINGS or tp in _MAPPINGS:
        key, val = args if len(args) == 2 else (Any, Any)
        return isinstance(value, Mapping) and all(accepts(key, k) and accepts(val, v) for k, v in value.items())
    return isinstance(value, tp) if isinstance(tp, type) else True


def describe(tp: Any) -> str:
    """What annotation ``tp`` accepts, in words ("a bool", "an int or None", "a list of strings")."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (Union, types.UnionType):
        return " or ".join(describe(a) for a in sorted(args, key=lambda a: a is type(None)))
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    words = {bool: "a bool", int: "an int", float: "a finite number", str: "a string", type(None): "None", None: "None"}
    if tp in words:
        return words[tp]
    if origin in _SEQUENCES or tp in _SEQUENCES:
        item = args[0] if args and (origin is not tuple or args[-1] is Ellipsis) else None
        return f"a list of {_PLURAL[item]}" if item in _PLURAL else "a list"
    if origin in _MAPPINGS or tp in _MAPPINGS:
        return "a mapping with string keys" if args and args[0] is str else "a mapping"
    return f"a {getattr(tp, '__name__', tp)}"


def field_types(target: Any) -> dict[str, Any]:
    """The evaluated annotations of a config dataclass or an options class's ``__init__``; one that
    names something imported only for type checkers is skipped (left to the class's own checks)."""
    owner = target if dataclasses.is_dataclass(target) else getattr(target, "__init__", target)
    try:
        return typing.get_type_hints(owner)
    except (NameError, TypeError, AttributeError):
        namespace = vars(sys.modules[owner.__module__])
        out = {}
        for key, ann in getattr(owner, "__annotations__", {}).items():
            try:
                out[key] = eval(ann, namespace) if isinstance(ann, str) else ann  # the class's own annotation text
            except Exception:  # a name imported only for type checkers: not checked here
                continue
        return out
