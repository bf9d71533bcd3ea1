"""``benchmarks.evaluate(model)``: a model of one's own through the same harness as the built-in ones.

The model becomes its import path (``package.module:Name``, :func:`model_name`), the import path
becomes a one-model :class:`~benchmarks.spec.RunSpec`, and :func:`benchmarks.harness.run_benchmark`
runs it exactly as ``python -m benchmarks.run --models package.module:Name`` would: same features,
KG, trainer, thresholds, metrics, cache and result records. See :mod:`benchmarks.imported` for
what a model must look like.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks.imported import attribute_path, plain
from benchmarks.recipes import DEFAULT_RECIPE
from benchmarks.spec import DataSpec, EncoderSpec, RunOptions, RunSpec


def model_name(model: Any) -> tuple[str, dict[str, Any]]:
    """The name results record for ``model`` and the settings it was given.

    A string is a registered name or an import path; a class or function its import path; an
    estimator instance its class's import path with its ``get_params(deep=False)`` as settings
    (each must be a value a result can record)."""
    if isinstance(model, str):
        return model, {}
    if isinstance(model, type) or callable(model) and hasattr(model, "__qualname__") and not hasattr(model, "fit"):
        return attribute_path(model), {}
    if callable(getattr(model, "fit", None)) and callable(getattr(model, "predict_proba", None)):
        get_params = getattr(model, "get_params", None)
        if not callable(get_params):
            raise ValueError(f"{type(model).__name__} instance has no get_params(), so a result cannot say how it was set: pass its class")
        params = dict(get_params(deep=False))
        if bad := sorted(k for k, v in params.items() if not plain(v)):
            raise ValueError(
                f"the {type(model).__name__}'s parameter(s) {bad} are not values a result can record: make it a module-level "
                "name in a module of your own and pass 'module:name' (the name and its code version then say what it is)"
            )
        return attribute_path(type(model)), {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}
    raise ValueError(
        f"cannot evaluate a {type(model).__name__}: give a torch nn.Module class or factory taking the InputSpec, "
        "a scikit-learn style estimator (class or instance), or an import path 'package.module:Name'"
    )


def evaluate(
    model: Any,
    dataset: str = DataSpec.dataset,
    *,
    split: str = DataSpec.split,
    seeds: Sequence[int] = RunSpec.seeds,
    encoder: str | None = EncoderSpec.name,
    train: Mapping[str, Any] | None = None,
    kg: Mapping[str, Any] | None = None,
    recipe: str = DEFAULT_RECIPE,
    drop: str | None = RunSpec.drop,
    protocol: str = DataSpec.protocol,
    out: str | Path = RunOptions.out,
    cache_dir: str | Path | None = RunOptions.cache_dir,
    data_root: str | Path | None = RunOptions.data_root,
    device: str = RunOptions.device,
    force: bool = RunOptions.force,
    submit: bool = RunOptions.submit,
    progress: bool = RunOptions.progress,
) -> list[dict[str, Any]]:
    """Train and test ``model`` on ``dataset`` for each seed; return its result record(s), as
    :func:`benchmarks.harness.run_benchmark` does (one per protocol), written under ``out``.

    ``model``: an ``nn.Module`` class or factory ``f(spec, **options)`` whose module maps the batch
    dict to (B, 23) logits; a scikit-learn style estimator class or instance (``fit(X, Y)``,
    ``predict_proba(X)``); or a name (registered, or ``package.module:Name``). ``train`` holds
    training settings (:class:`benchmarks.spec.TrainSpec` fields, e.g. ``{"epochs": 5}``), ``kg``
    KG settings; the rest are :class:`~benchmarks.spec.RunSpec` / :class:`~benchmarks.spec.RunOptions`
    fields with their defaults. Bad input is a one-line ValueError before any data is read.
    """
    from benchmarks.harness import run_benchmark

    name, settings = model_name(model)
    spec = RunSpec(
        models=(name,), seeds=tuple(seeds), data=DataSpec(dataset=str(dataset), split=str(split), protocol=protocol),
        encoder=EncoderSpec(encoder), recipe=recipe, train=dict(train or {}), kg=dict(kg or {}), overrides=settings, drop=drop,
    )  # fmt: skip
    options = RunOptions(
        out=Path(out), cache_dir=None if cache_dir is None else Path(cache_dir), data_root=None if data_root is None else Path(data_root),
        device=device, force=force, submit=submit, progress=progress,
    )  # fmt: skip
    return run_benchmark(spec, options)
