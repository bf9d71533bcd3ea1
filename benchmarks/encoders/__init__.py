"""Encoders behind one registry: ``clip:<model>:<pretrained>``, ``offline``, ``weightfree``.

Names map to ``"module:attr"`` strings, imported only when asked for, so listing encoders or
loading a cached feature file never imports open_clip or sentence-transformers.
"""

from __future__ import annotations

import difflib
import importlib
from typing import Any

from benchmarks.encoders.base import Encoder, EncoderError, l2_normalize, resolve_device

#: The default encoder: what the IDKG authors used.
DEFAULT_ENCODER = "clip:ViT-B-32-quickgelu:laion400m_e32"

#: name -> "module:factory". A name ending in ":" is a prefix; the rest of the name is passed
#: to the factory as its first argument (``clip:ViT-B-32:none`` -> ``clip_encoder("ViT-B-32:none")``).
_REGISTRY: dict[str, str] = {
    "clip:": "benchmarks.encoders.clip:clip_encoder",
    "offline": "benchmarks.encoders.offline:OfflineEncoder",
    "weightfree": "benchmarks.encoders.weightfree:WeightFreeEncoder",
}


def available_encoders() -> list[str]:
    """Registered names; ``clip:<model>:<pretrained>`` stands for the open_clip family."""
    return [("clip:<model>:<pretrained>" if k == "clip:" else k) for k in _REGISTRY]


def _resolve(target: str):
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def get_encoder(name: str, **kwargs: Any) -> Encoder:
    """Build the encoder called ``name``; keyword arguments go to its factory.

    ``clip`` alone means :data:`DEFAULT_ENCODER`. An unknown name raises :class:`EncoderError`
    with close matches and the list of names.
    """
    name = name.strip()
    if name == "clip":
        name = DEFAULT_ENCODER
    if name in _REGISTRY and not name.endswith(":"):
        return _resolve(_REGISTRY[name])(**kwargs)
    for prefix, target in _REGISTRY.items():
        if prefix.endswith(":") and name.startswith(prefix):
            return _resolve(target)(name[len(prefix) :], **kwargs)
    close = difflib.get_close_matches(name, [*_REGISTRY, DEFAULT_ENCODER, "clip"], n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise EncoderError(f"unknown encoder {name!r}.{hint} Available: {', '.join(available_encoders())}")


__all__ = [
    "DEFAULT_ENCODER", "Encoder", "EncoderError", "available_encoders", "get_encoder", "l2_normalize",
    "resolve_device",
]  # fmt: skip
