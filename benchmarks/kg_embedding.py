"""The KG embedding, trained once per (KG, settings) and then read from disk.

:func:`idkg.embedding.embed_kg` only trains; this wraps it with the benchmark's
:class:`benchmarks.cache.CacheStore` (``<cache root>/kg-embeddings/``): one ``.npz`` of vectors and
entity labels plus a sidecar per (KG sha256, training config: model, dim, epochs, batch size,
optimizer, lr, negatives, sparse gradients, model kwargs, seed, eval sample, training loop, PyKEEN
version). The settings not given are :class:`idkg.embedding_spec.EmbeddingSpec`'s defaults, so a
changed default is a miss, never a stale hit. The device and other run-only arguments are not part
of the key. The sidecar also says how the gradients went (sparse, or dense and why).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.cache import CacheStore, Entry
from idkg.embedding import KGEmbedding, embed_kg, training_config
from idkg.embedding_spec import EmbeddingSpec
from idkg.kg import KnowledgeGraph

#: Bump when what a cache entry holds changes (old entries are then simply not found).
CACHE_FORMAT = 2  # 2: entries record whether the vectors are complex (a record's KG dim_model)
#: Sidecar fields an entry must have to be served.
_META_FIELDS = ("model", "hits_at_10", "eval_triples", "train_seconds", "seconds_per_epoch")


def cache_key(graph: KnowledgeGraph, spec: EmbeddingSpec, *, model_kwargs: Mapping[str, Any] | None = None, seed: int = 0) -> dict[str, Any]:
    """The key fields of ``graph`` embedded by ``spec``."""
    return {"kg_sha256": graph.sha256, "config": training_config(spec, model_kwargs=model_kwargs, seed=seed)}


def _mismatch(entry: Entry, graph: KnowledgeGraph) -> str | None:
    """Why a cached entry does not fit ``graph``, or None."""
    if missing := [k for k in _META_FIELDS if k not in entry.meta]:
        return f"its sidecar lacks {', '.join(missing)}"
    vectors, entities = entry.arrays["vectors"], entry.arrays["entities"]
    if vectors.ndim != 2 or entities.shape != (vectors.shape[0],) or tuple(entities.tolist()) != graph.entities:
        return "it does not match this knowledge graph"
    return None


def cached_embedding(
    graph: KnowledgeGraph,
    spec: EmbeddingSpec | None = None,
    *,
    cache_dir: str | Path | None = None,
    model_kwargs: Mapping[str, Any] | None = None,
    seed: int = 0,
    device: str = "auto",
    eval_batch_size: int = 64,
    progress: bool = True,
    **settings: Any,
) -> KGEmbedding:
    """``embed_kg(graph, spec, **settings)`` from the cache under ``cache_dir`` (the project's cache
    root when None) when there is a whole entry for it, else trained and cached."""
    spec = replace(spec or EmbeddingSpec(), **settings)
    key = cache_key(graph, spec, model_kwargs=model_kwargs, seed=seed)
    store = CacheStore(cache_dir, "kg-embeddings", CACHE_FORMAT)
    hit = store.load(key, need=("vectors", "entities"), check=lambda e: _mismatch(e, graph))
    if hit is not None:
        m, vectors = hit.meta, hit.arrays["vectors"].astype(np.float32, copy=False)
        if progress:
            print(f"kg embedding: cache hit {hit.path} ({m['model']}, dim {vectors.shape[1]})", file=sys.stderr)
        return KGEmbedding(
            entity_to_id={e: i for i, e in enumerate(hit.arrays["entities"].tolist())},
            vectors=vectors,
            model=m["model"],
            config=key["config"],
            kg_sha256=graph.sha256,
            hits_at_10=m["hits_at_10"],
            eval_triples=m["eval_triples"],
            train_seconds=m["train_seconds"],
            seconds_per_epoch=m["seconds_per_epoch"],
            losses=tuple(m.get("losses", ())),
            device=m.get("device", ""),
            gradients=m.get("gradients", {}),
            complex_valued=bool(m["complex_valued"]),
            cache_path=hit.path,
            from_cache=True,
        )
    emb = embed_kg(graph, spec, model_kwargs=model_kwargs, seed=seed, device=device, eval_batch_size=eval_batch_size, progress=progress)
    meta = {
        "model": emb.model,
        "num_entities": graph.num_entities,
        "num_triples": graph.num_triples,
        "dim": emb.dim,
        "hits_at_10": emb.hits_at_10,
        "hits_at_10_protocol": "filtered, both sides, realistic ranks, held-out sample",
        "eval_triples": emb.eval_triples,
        "train_seconds": emb.train_seconds,
        "seconds_per_epoch": emb.seconds_per_epoch,
        "losses": list(emb.losses),
        "device": emb.device,
        "gradients": emb.gradients,
        "complex_valued": emb.complex_valued,
    }
    saved = store.save(key, {"vectors": emb.vectors, "entities": np.asarray(graph.entities, dtype=str)}, meta)
    return replace(emb, cache_path=saved.path)
