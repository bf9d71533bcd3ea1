"""IDKG: knowledge-graph inputs, the gated fusion model, the Attention Teacher and G-CACL.

Importable on its own by someone who only wants the method. Names are loaded lazily so that
``import idkg.kg`` does not pay for the model code.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "BATCH_KEYS": "idkg.inputs",
    "InputSpec": "idkg.inputs",
    "IDKG": "idkg.model",
    "IDKGConfig": "idkg.model",
    "AttentionFusion": "idkg.model",
    "Aligner": "idkg.model",
    "build_idkg": "idkg.model",
    "GCACL": "idkg.gcacl",
    "genre_centroids": "idkg.gcacl",
    "negative_mask": "idkg.gcacl",
    "masked_mean": "idkg.gcacl",
    "teacher_target": "idkg.teacher",
    "attention_teacher_loss": "idkg.teacher",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'idkg' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
