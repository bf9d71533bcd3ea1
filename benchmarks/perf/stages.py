"""The benchmark's stages as separately measurable units, each run in a fresh worker process.

``python -m benchmarks.perf.stages STAGE --data DIR --cache DIR --scratch DIR [--epochs N]``
prepares the stage's inputs (untimed; read from ``--cache``, computed there on first use), prints
``ready``, waits for a line on stdin, then runs the stage on a reset memory high-water mark
(:mod:`benchmarks.perf.memory`) and prints one JSON line: wall ``seconds``, the stage's figures
(e.g. ``per_epoch_s``) and its peak memory. A fresh process per stage keeps one stage's imports,
caches and freed-but-kept memory out of the next one's figures; the ready/go handshake lets a
caller time only the stage. Every stage calls the project's own public functions (the work a run
does), so a faster or leaner function shows here once merged.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from benchmarks.perf.memory import PeakWatch
from mmimdb2.registry import Registry

#: The encoder of the demo (benchmarks.spec.DEMO_ENCODER): fast, no weights.
ENCODER = "weightfree"
MODELS: tuple[str, ...] = ("idkg", "gmu")


@dataclass(frozen=True)
class Context:
    """Where a stage reads its inputs and writes what it makes."""

    data: Path
    #: Shared by all stages: prerequisites (features, a 1-epoch KG embedding) are computed once.
    cache: Path
    #: This stage's own folder, fresh per round (a stage that writes a cache starts cold).
    scratch: Path
    #: Epochs a per-epoch stage runs (KG embedding, model training); None: the stage's own default.
    epochs: int | None = None


@dataclass(frozen=True)
class Stage:
    """``prepare(ctx)`` builds the inputs (untimed); ``run(state)`` is the measured work and
    returns its figures; ``epochs`` is how many epochs a per-epoch stage runs by default."""

    name: str
    doc: str
    prepare: Callable[[Context], Any]
    run: Callable[[Any], dict[str, Any]]
    epochs: int | None = None


def _load(ctx: Context):
    import mmimdb2

    return mmimdb2.load(ctx.data)


def _prepared(ctx: Context):
    """The arrays every model consumes (features and a 1-epoch KG embedding, cached in ``ctx.cache``)."""
    from benchmarks.encoders import get_encoder
    from benchmarks.pipeline import prepare_inputs
    from benchmarks.spec import KGSpec
    from idkg.embedding_spec import EmbeddingSpec

    kg = KGSpec(EmbeddingSpec(epochs=1, eval_sample=0))
    return prepare_inputs(_load(ctx), encoder=get_encoder(ENCODER), kg=kg, device="cpu", cache_dir=ctx.cache,
                          progress=False)  # fmt: skip


def _cell(ctx: Context, model: str, epochs: int):
    """The harness's resolved cell for ``model`` (default recipe), trained ``epochs`` epochs without early stopping."""
    from benchmarks.spec import DataSpec, EncoderSpec, RunSpec

    spec = RunSpec(models=(model,), data=DataSpec(dataset=str(ctx.data)), encoder=EncoderSpec(ENCODER),
                   train={"epochs": epochs, "patience": 0})  # fmt: skip
    return spec.cell_spec(spec.variants()[0])


def _part(prep, part: str):
    from benchmarks.trainer import TensorSet

    rows = prep.rows[part]
    return TensorSet.from_arrays({k: v[rows] for k, v in prep.arrays.items()}, prep.labels[rows], [prep.ids[i] for i in rows])


# -- load, features, KG --------------------------------------------------------------------------
def _run_load(ctx: Context) -> dict[str, Any]:
    return {"movies": len(_load(ctx))}


def _prep_features(ctx: Context):
    from benchmarks.encoders import get_encoder

    return ctx, _load(ctx), get_encoder(ENCODER)


def _run_features(state) -> dict[str, Any]:
    from benchmarks.features import extract_features

    ctx, dataset, encoder = state
    feats = extract_features(dataset, encoder, cache_dir=ctx.scratch, device="cpu", progress=False)
    return {"movies": len(feats.ids), "encoder": encoder.name}


def _run_kg(dataset) -> dict[str, Any]:
    from idkg.kg import build_kg

    kg = build_kg(dataset, "train")
    return {"train_movies": kg.num_train_movies, "entities": kg.num_entities, "triples": kg.num_triples}


# -- KG embedding ---------------------------------------------------------------------------------
def _embedding_spec(recipe_name: str | None):
    from idkg.embedding_spec import EmbeddingSpec

    if recipe_name is None:
        return EmbeddingSpec()
    from benchmarks.recipes import recipe

    return EmbeddingSpec(**recipe(recipe_name).kg)


def _prep_embedding(recipe_name: str | None, default_epochs: int):
    def prepare(ctx: Context):
        from idkg.kg import build_kg

        spec = replace(_embedding_spec(recipe_name), epochs=ctx.epochs or default_epochs)
        return build_kg(_load(ctx), "train"), spec

    return prepare


def _run_embedding(state) -> dict[str, Any]:
    import torch

    from idkg.embedding import embed_kg

    graph, spec = state
    emb = embed_kg(graph, spec, device="cpu", progress=False)
    return {"per_epoch_s": round(emb.seconds_per_epoch, 4), "epochs": spec.epochs, "batch_size": spec.batch_size,
            "optimizer": spec.optimizer, "dim": emb.dim, "triples": graph.num_triples, "entities": graph.num_entities,
            "hits_at_10": emb.hits_at_10, "torch_threads": torch.get_num_threads()}  # fmt: skip


def _prep_kg_inputs(ctx: Context):
    from benchmarks.kg_embedding import cached_embedding
    from idkg.embedding_spec import EmbeddingSpec
    from idkg.kg import build_kg

    dataset = _load(ctx)
    graph = build_kg(dataset, "train")
    emb = cached_embedding(graph, EmbeddingSpec(epochs=1, eval_sample=0), cache_dir=ctx.cache, device="cpu", progress=False)
    return [dataset.movies[i] for i in dataset.split.all_ids], graph, emb


def _run_kg_inputs(state) -> dict[str, Any]:
    from idkg.kg_inputs import genre_embeddings, movie_kg_inputs

    movies, graph, emb = state
    kgi = movie_kg_inputs(movies, graph, emb)
    genre_embeddings(graph, emb)
    return {"movies": int(kgi.kg.shape[0])}


# -- training and evaluation ------------------------------------------------------------------------
def _prep_train(model: str, default_epochs: int):
    def prepare(ctx: Context):
        epochs = ctx.epochs or default_epochs
        return _cell(ctx, model, epochs), _prepared(ctx), epochs

    return prepare


def _run_train(state) -> dict[str, Any]:
    import torch

    from benchmarks.harness import fit_and_predict

    cs, prep, epochs = state
    fit = fit_and_predict(cs, prep, seed=0, device="cpu", progress=False)
    return {"per_epoch_s": round(fit["train_s"] / epochs, 4), "epochs": epochs, "train_rows": len(prep.rows["train"]),
            "batch_size": cs.train["batch_size"], "torch_threads": torch.get_num_threads()}  # fmt: skip


def _prep_eval(model: str):
    def prepare(ctx: Context):
        from benchmarks.registry import build_model
        from benchmarks.spec import TrainSpec
        from benchmarks.trainer import train

        cs, prep = _cell(ctx, model, 1), _prepared(ctx)
        net = build_model(cs.model, prep.spec, **{**cs.config, "seed": 0})
        train(net, _part(prep, "train"), _part(prep, "dev"), TrainSpec(**cs.train), device="cpu", progress=False)
        return cs, prep, net

    return prepare


def _run_eval(state) -> dict[str, Any]:
    """What the harness does after training: dev and test probabilities, the dev-chosen threshold,
    the test metrics and decisions."""
    from benchmarks.trainer import predict_proba
    from mmimdb2.metrics import decisions, evaluate, select_threshold

    cs, prep, net = state
    dev, test = _part(prep, "dev"), _part(prep, "test")
    threshold = select_threshold(prep.labels[prep.rows["dev"]], predict_proba(net, dev), cs.train["threshold"])
    proba = predict_proba(net, test)
    evaluate(prep.labels[prep.rows["test"]], proba, threshold=threshold, train_label_counts=prep.train_label_counts)
    decisions(proba, threshold)
    return {"dev_rows": len(dev), "test_rows": len(test)}


def _stages() -> tuple[Stage, ...]:
    stages = [
        Stage("load", "mmimdb2.load of the dataset folder", lambda ctx: ctx, _run_load),
        Stage("features", f"extract_features, {ENCODER} encoder, cold cache", _prep_features, _run_features),
        Stage("kg", "build_kg of the train part", _load, _run_kg),
        Stage("kg_embedding", "embed_kg, EmbeddingSpec defaults", _prep_embedding(None, 2), _run_embedding, 2),
        Stage("kg_embedding_paper", "embed_kg, the paper recipe's KG settings", _prep_embedding("paper", 1), _run_embedding, 1),
        Stage("kg_inputs", "movie_kg_inputs and genre_embeddings of every movie", _prep_kg_inputs, _run_kg_inputs),
    ]
    for m in MODELS:
        stages.append(Stage(f"train_{m}", f"harness.fit_and_predict of {m}, default recipe", _prep_train(m, 2), _run_train, 2))
    for m in MODELS:
        stages.append(Stage(f"eval_{m}", f"test metrics of a trained {m}: predict, threshold, evaluate", _prep_eval(m), _run_eval))
    return tuple(stages)


#: The stages in pipeline order.
STAGES: tuple[Stage, ...] = _stages()
STAGE_REGISTRY: Registry[Stage] = Registry("stage")
for _s in STAGES:
    STAGE_REGISTRY.add(_s.name, _s, doc=_s.doc)


def measure(stage: Stage, ctx: Context, go: Callable[[], None] = lambda: None) -> dict[str, Any]:
    """Prepare ``stage``, call ``go`` (the worker waits for its caller there), run it on a reset
    peak-memory mark; its figures with ``seconds`` and the memory figures."""
    state = stage.prepare(ctx)
    go()
    import gc

    gc.collect()
    watch = PeakWatch.start()
    t0 = time.perf_counter()
    figures = stage.run(state)
    seconds = time.perf_counter() - t0
    return {"stage": stage.name, "seconds": round(seconds, 4), **figures, **watch.read()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.perf.stages", description="Run one stage in this process (a worker of benchmarks.perf.scale).")
    ap.add_argument("stage", choices=[s.name for s in STAGES])
    ap.add_argument("--data", type=Path, required=True, help="a dataset folder (e.g. python -m mmimdb2.demo --out DIR --limit N)")
    ap.add_argument("--cache", type=Path, required=True, help="shared cache of prerequisites")
    ap.add_argument("--scratch", type=Path, required=True, help="this stage's own fresh folder")
    ap.add_argument("--epochs", type=int, default=None, help="epochs of a per-epoch stage (default: the stage's own)")
    ap.add_argument("--wait", action="store_true", help="print 'ready' and wait for a line on stdin before the measured work")
    args = ap.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        ap.error(f"--epochs must be >= 1, got {args.epochs}")
    out = sys.stdout

    def go() -> None:
        if args.wait:
            print("ready", file=out, flush=True)
            sys.stdin.readline()

    ctx = Context(args.data, args.cache, args.scratch, args.epochs)
    with contextlib.redirect_stdout(sys.stderr):  # only the protocol's lines go to stdout
        result = measure(STAGE_REGISTRY.load(args.stage), ctx, go)
    print(json.dumps(result), file=out, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
