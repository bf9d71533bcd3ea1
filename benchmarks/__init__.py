"""benchmarks: the harness that trains and scores models on fixed, hashed splits.

``benchmarks.evaluate(model, ...)`` (:func:`benchmarks.own_model.evaluate`) runs a model of one's
own through it; it is imported on first use, so ``import benchmarks.registry`` stays torch-free.
"""

from __future__ import annotations

from typing import Any

__all__ = ["evaluate"]


def __getattr__(name: str) -> Any:
    if name == "evaluate":
        from benchmarks.own_model import evaluate

        return evaluate
    raise AttributeError(f"module 'benchmarks' has no attribute {name!r}")
