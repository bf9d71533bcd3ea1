"""KG embedding with PyKEEN: train a model on a knowledge graph and return real entity vectors.

Models are PyKEEN's own (``RotatE`` by default, the paper's Table 4 models, or any other), trained
with its sLCWA loop and the model's default loss, and scored by filtered Hits@10 on a held-out
sample. Vectors are real: a complex model's are its real parts, then its imaginary parts. Their
width is ``dim`` under ``dim_counts="real"`` (the default: a complex model gets ``dim // 2``
complex dimensions), and ``2 * dim`` for a complex model under ``dim_counts="model"`` (``dim``
complex dimensions, as OpenKE counts them; see :class:`idkg.embedding_spec.EmbeddingSpec`). docs/training.md ("KG embedding") gives
the measured figures behind the defaults, the width rule and the Hits@10 protocol. This module
only trains and evaluates: caching is the caller's (:mod:`benchmarks.kg_embedding`), so the
method library depends on no benchmark code.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from idkg.embedding_spec import EmbeddingError, EmbeddingSpec
from idkg.interactions import fast_interaction_name, use_fast_interaction
from idkg.kg import KnowledgeGraph
from mmimdb2.paths import cache_root

#: Optimizers (torch class names, lower case) that take sparse gradients as they are.
SPARSE_OPTIMIZERS: frozenset[str] = frozenset({"sgd", "adagrad", "sparseadam"})
#: Optimizers trained as their sparse counterpart when ``sparse=True`` (lazy Adam for Adam).
SPARSE_COUNTERPARTS: Mapping[str, str] = {"adam": "SparseAdam"}
#: Extra memory the Hits@10 check may take for its score slices (bytes), whatever the KG's size.
EVAL_MEMORY_BYTES = 128 * 2**20


@dataclass(frozen=True, eq=False)
class KGEmbedding:
    """Real-valued entity vectors of a KG and how they were made."""

    entity_to_id: dict[str, int]
    #: (n_entities, width) float32, rows in ``entity_to_id`` order; the width (:attr:`dim`) is the
    #: spec's ``dim``, or twice it for a complex model under ``dim_counts="model"``.
    vectors: np.ndarray
    #: PyKEEN's class name of the model (e.g. ``RotatE``).
    model: str
    #: What it was trained with (:func:`training_config`); a cache keys on it.
    config: dict[str, Any]
    kg_sha256: str
    #: Filtered Hits@10 on ``eval_triples`` held-out triples; None when ``eval_sample=0``.
    hits_at_10: float | None
    eval_triples: int
    train_seconds: float
    seconds_per_epoch: float
    losses: tuple[float, ...] = ()
    device: str = ""
    #: How the gradients went (:func:`sparse_plan`): ``{"sparse": bool, "optimizer": the torch
    #: class trained with, "dense_because": why not sparse, or None}``.
    gradients: dict[str, Any] = field(default_factory=dict)
    #: Set by a caching caller (:func:`benchmarks.kg_embedding.cached_embedding`).
    cache_path: Path | None = None
    from_cache: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    #: Whether the model's entity vectors are complex (stored as real parts, then imaginary parts).
    complex_valued: bool = False

    @property
    def dim(self) -> int:
        """The width F^K gets, in real numbers (twice the spec's ``dim`` for a complex model under ``dim_counts="model"``)."""
        return int(self.vectors.shape[1])

    @property
    def dim_model(self) -> int:
        """The dimension as the PyKEEN model counts it (complex numbers for a complex model)."""
        return self.dim // 2 if self.complex_valued else self.dim

    @property
    def optimizer(self) -> str:
        """The torch optimizer class the embedding was trained with (SparseAdam for sparse Adam)."""
        return str(self.gradients.get("optimizer") or self.config.get("optimizer"))


def _pykeen_home_default() -> None:
    """Keep PyKEEN's data folder (created on import) inside our cache unless PYKEEN_HOME is set."""
    os.environ.setdefault("PYKEEN_HOME", str(cache_root() / "pykeen"))


def resolve_model(model: str | type) -> type:
    """PyKEEN's model class for a name (case-insensitive) or class; EmbeddingError listing choices."""
    _pykeen_home_default()
    from pykeen.models import model_resolver

    try:
        return model_resolver.lookup(model)
    except (KeyError, ValueError) as e:
        msg = str(e).strip("\"'")
        raise EmbeddingError(f"unknown KG model {model!r}: {msg}") from None


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when a GPU is visible, else ``cpu``; anything else is passed to torch."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(torch.device(device))


def resolve_optimizer(name: str) -> type:
    """torch's optimizer class for a name (case-insensitive); EmbeddingError listing choices."""
    from class_resolver.contrib.torch import optimizer_resolver

    try:
        return optimizer_resolver.lookup(name)
    except (KeyError, ValueError):
        raise EmbeddingError(f"unknown KG embedding optimizer {name!r}: choose one of {', '.join(sorted(optimizer_resolver.lookup_dict))}") from None


def sparse_plan(model, optimizer: str, sparse: bool) -> tuple[str, str | None]:
    """Switch ``model``'s embedding tables to sparse gradients where ``optimizer`` and the model allow.

    PyKEEN's ``Embedding`` wraps a ``torch.nn.Embedding`` and has no option for it, so torch's own
    ``sparse`` attribute is set on every wrapped table. Returns the optimizer to train with (Adam
    becomes SparseAdam) and why the gradients stay dense (None when they are sparse): a model
    whose regularizers read whole tables every step (TransH) stays dense, as does one with dense
    layers (ConvE) under SparseAdam. An entity constrainer (TransR, TransD) still passes over the
    whole table after each step; the gradients and the optimizer's step stay sparse.
    """
    import torch

    cls = resolve_optimizer(optimizer)
    key = cls.__name__.lower()
    if not sparse:
        return cls.__name__, "sparse=False"
    if key not in SPARSE_OPTIMIZERS and key not in SPARSE_COUNTERPARTS:
        return cls.__name__, f"{cls.__name__} takes no sparse gradients (sparse ones: SGD, Adagrad, Adam as SparseAdam)"
    use = SPARSE_COUNTERPARTS.get(key, cls.__name__)
    if len(getattr(model, "weight_regularizers", ())):
        return cls.__name__, f"{type(model).__name__} regularizes whole tables every step (PyKEEN weight regularizers)"
    tables = [mod for mod in model.modules() if isinstance(mod, torch.nn.Embedding)]
    in_tables = {id(p) for mod in tables for p in mod.parameters()}
    dense = [name for name, p in model.named_parameters() if p.requires_grad and id(p) not in in_tables]
    if dense and use == "SparseAdam":
        return cls.__name__, f"{type(model).__name__} has dense parameters ({', '.join(dense[:3])}{', ...' if len(dense) > 3 else ''}) that SparseAdam cannot train"
    for mod in tables:
        mod.sparse = True
    return use, None


def epoch_batch_size(config: Mapping[str, Any], train_triples: int) -> int:
    """The batch size an epoch trains with: ``batch_size``, or with ``batches_per_epoch`` > 0 the
    size that splits ``train_triples`` into that many batches (OpenKE's ``nbatches``)."""
    per_epoch = int(config.get("batches_per_epoch") or 0)
    if per_epoch <= 0:
        return int(config["batch_size"])
    return max(1, -(-int(train_triples) // per_epoch))


def training_config(spec: EmbeddingSpec, *, model_kwargs: Mapping[str, Any] | None = None, seed: int = 0) -> dict[str, Any]:
    """Everything a run's vectors depend on, checked and resolved (PyKEEN's class name for the
    model, PyKEEN's version): :attr:`KGEmbedding.config`, and what a cache keys on."""
    cls = resolve_model(spec.model)
    resolve_optimizer(spec.optimizer)
    import pykeen

    fast = fast_interaction_name(cls)
    return {
        **asdict(spec),
        "model": cls.__name__,
        "lr": float(spec.lr),
        "model_kwargs": dict(model_kwargs or {}),
        "seed": int(seed),
        "training_loop": "sLCWA",
        "pykeen": pykeen.get_version(),
        **({"interaction": fast} if fast else {}),
    }


def embed_kg(
    kg: KnowledgeGraph,
    spec: EmbeddingSpec | None = None,
    *,
    model_kwargs: Mapping[str, Any] | None = None,
    device: str = "auto",
    seed: int = 0,
    eval_batch_size: int = 64,
    progress: bool = True,
    **settings: Any,
) -> KGEmbedding:
    """Train a PyKEEN embedding of ``kg`` by ``spec`` (default :class:`EmbeddingSpec`, with
    ``settings`` replacing its fields) and score it (no cache: see
    :func:`benchmarks.kg_embedding.cached_embedding`); docs/training.md explains the defaults, what
    ``dim`` counts and the Hits@10 protocol."""
    spec = replace(spec or EmbeddingSpec(), **settings)
    epochs = spec.epochs
    config = training_config(spec, model_kwargs=model_kwargs, seed=seed)
    cls = resolve_model(config["model"])
    dev = resolve_device(device)
    out = _train(kg, cls, config, device=dev, progress=progress, eval_batch_size=eval_batch_size)
    emb = KGEmbedding(
        entity_to_id=dict(kg.entity_to_id),
        vectors=out["vectors"],
        model=cls.__name__,
        config=config,
        kg_sha256=kg.sha256,
        hits_at_10=out["hits_at_10"],
        eval_triples=out["eval_triples"],
        train_seconds=out["train_seconds"],
        seconds_per_epoch=out["train_seconds"] / epochs,
        losses=tuple(out["losses"]),
        device=dev,
        gradients=out["gradients"],
        complex_valued=out["complex_valued"],
    )
    if progress:
        hits = "n/a" if emb.hits_at_10 is None else f"{emb.hits_at_10:.3f} on {emb.eval_triples} held-out triples"
        print(
            f"kg embedding: {emb.model} dim {emb.dim} on {kg.num_triples:,} triples / {kg.num_entities:,} entities, "
            f"{epochs} epochs in {emb.train_seconds:.1f} s ({emb.seconds_per_epoch:.2f} s/epoch, {dev}); "
            f"filtered Hits@10 {hits}; {_gradients_words(emb.gradients)}",
            file=sys.stderr,
        )
    return emb


def _gradients_words(g: Mapping[str, Any]) -> str:
    """How the gradients went, in words, for the summary line."""
    if g.get("sparse"):
        return f"sparse gradients, {g['optimizer']}"
    return f"dense gradients, {g.get('optimizer')} ({g.get('dense_because')})"


def holdout_indices(mapped: np.ndarray, num_entities: int, num_relations: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of up to ``k`` random triples whose removal leaves every entity and relation in at
    least one remaining triple (sorted)."""
    if k <= 0 or len(mapped) == 0:
        return np.empty(0, dtype=np.int64)
    deg = np.bincount(mapped[:, [0, 2]].ravel(), minlength=num_entities)
    rel = np.bincount(mapped[:, 1], minlength=num_relations)
    perm = rng.permutation(len(mapped))
    h, r, t = mapped[perm, 0], mapped[perm, 1], mapped[perm, 2]
    cand = perm[(deg[h] > 1) & (deg[t] > 1) & (rel[r] > 1)]  # cheap pre-filter, same order
    chosen: list[int] = []
    for i in cand:
        hi, ri, ti = mapped[i]
        if deg[hi] > 1 and deg[ti] > 1 and rel[ri] > 1:
            deg[hi] -= 1
            deg[ti] -= 1
            rel[ri] -= 1
            chosen.append(int(i))
            if len(chosen) == k:
                break
    return np.sort(np.asarray(chosen, dtype=np.int64))


def eval_chunks(num_entities: int, width: int, batch_size: int, budget: int = EVAL_MEMORY_BYTES) -> tuple[int, int]:
    """(triples per batch, candidate entities per slice) for the Hits@10 check within ``budget``
    bytes: a batch's filter and score rows (~16 bytes per triple and entity) and its pairwise
    slices (~16 bytes per triple, entity and real number: interaction terms and their gradient-free
    temporaries) both fit, whatever the number of entities."""
    batch = max(1, min(batch_size, budget // (2 * 16 * max(num_entities, 1))))
    slice_size = max(1, min(num_entities, budget // (2 * 16 * batch * max(width, 1))))
    return batch, slice_size


def _width(model) -> int:
    """Real numbers per entity of ``model``'s first entity representation."""
    rep = model.entity_representations[0]
    n = 1
    for d in getattr(rep, "_shape", rep.shape):
        n *= d
    return int(n)


def _real_vectors(rep) -> np.ndarray:
    """Entity representation tensor -> (n, d) float32; complex as [real | imaginary]."""
    import torch

    rep = rep.detach()
    if rep.is_complex():
        rep = torch.cat([rep.real, rep.imag], dim=-1)
    return rep.reshape(rep.shape[0], -1).to("cpu", torch.float32).numpy().copy()


@contextlib.contextmanager
def _gc_frozen() -> Iterator[None]:
    """PyKEEN runs ``gc.collect()`` after every epoch, which walks every Python object the process
    holds: 0.6 s an epoch beside a loaded 33,742-movie dataset. Objects that exist before training
    are moved to the collector's permanent generation for the run (one collection first, so no
    garbage is kept) and given back after it."""
    import gc

    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


#: glibc's ``mallopt`` parameter for the size above which a block is mapped rather than taken from the heap.
_M_MMAP_THRESHOLD = -3


@contextlib.contextmanager
def _large_blocks_mapped(threshold: int = 4 * 2**20, after: int = 32 * 2**20) -> Iterator[None]:
    """Within the block, glibc's malloc maps every allocation over ``threshold`` bytes and gives it
    back when freed; after it, the threshold is ``after`` (32 MiB: the most glibc's own rule would
    raise it to). glibc raises the threshold as large blocks are freed, so the Hits@10 check's
    scoring slices (about 17 MB each at MM-IMDb 2.0's size) came from its heap and fragmented it:
    the check's peak went from +0.1-0.2 GB to +1.9 GB in about one run in three (33,742 demo
    movies); with this, none in 12. Process-wide, as malloc is; a no-op without glibc."""
    import ctypes

    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        yield
        return
    mallopt(_M_MMAP_THRESHOLD, threshold)
    try:
        yield
    finally:
        mallopt(_M_MMAP_THRESHOLD, after)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence two harmless CPU-only notices (pinned memory; torch_max_mem's "safe devices")."""
    log = logging.getLogger("torch_max_mem.api")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*pin_memory.*")
            yield
    finally:
        log.setLevel(level)


def _train(kg: KnowledgeGraph, cls: type, config: Mapping[str, Any], *, device: str, progress: bool, eval_batch_size: int) -> dict:
    """Train one PyKEEN model on ``kg`` (minus the held-out sample) and evaluate it."""
    _pykeen_home_default()
    import torch
    from pykeen.models import ConvE, model_resolver
    from pykeen.training import SLCWATrainingLoop
    from pykeen.triples import TriplesFactory

    from idkg.sparse_adam import IndexedSparseAdam

    if kg.num_triples == 0:
        raise EmbeddingError("the knowledge graph has no triples to train on")
    rng = np.random.default_rng(config["seed"])
    held = holdout_indices(kg.mapped, kg.num_entities, len(kg.relations), config["eval_sample"], rng)
    keep = np.ones(kg.num_triples, dtype=bool)
    keep[held] = False
    train_mapped = torch.as_tensor(kg.mapped[keep], dtype=torch.long)
    test_mapped = torch.as_tensor(kg.mapped[held], dtype=torch.long)
    tf = TriplesFactory(
        mapped_triples=train_mapped,
        entity_to_id=kg.entity_to_id,
        relation_to_id=kg.relation_to_id,
        create_inverse_triples=issubclass(cls, ConvE),  # ConvE is meant to see inverse triples
    )
    dim = config["dim"]
    kwargs = dict(config["model_kwargs"])
    m = model_resolver.make(cls, triples_factory=tf, embedding_dim=dim, random_seed=config["seed"], **kwargs)
    if m.entity_representations[0](indices=torch.arange(1)).is_complex() and config["dim_counts"] == "real":
        if dim % 2:
            raise EmbeddingError(f"{cls.__name__} is complex-valued: dim (the real width) must be even, got {dim}")
        m = model_resolver.make(cls, triples_factory=tf, embedding_dim=dim // 2, random_seed=config["seed"], **kwargs)
    use_fast_interaction(m)  # the same scores, a norm torch computes faster (idkg.interactions)
    m = m.to(device)
    optimizer, dense_because = sparse_plan(m, config["optimizer"], config["sparse"])
    loop = SLCWATrainingLoop(
        model=m,
        triples_factory=tf,
        optimizer=IndexedSparseAdam if optimizer == "SparseAdam" else optimizer,  # torch's numbers, rows by index
        optimizer_kwargs={"lr": config["lr"]},
        negative_sampler_kwargs={"num_negs_per_pos": config["num_negs_per_pos"]},
    )
    with _quiet():
        out = _fit_and_evaluate(m, loop, tf, train_mapped, test_mapped, kg, config, device, progress, eval_batch_size)
    return out | {"gradients": {"sparse": dense_because is None, "optimizer": optimizer, "dense_because": dense_because}}


def _fit_and_evaluate(m, loop, tf, train_mapped, test_mapped, kg, config, device, progress, eval_batch_size) -> dict:
    """The timed training run, filtered Hits@10 on the held-out triples, and the real vectors."""
    import torch
    from pykeen.evaluation import RankBasedEvaluator

    dim = config["dim"]
    t0 = time.perf_counter()
    with _gc_frozen():
        losses = loop.train(
            triples_factory=tf,
            num_epochs=config["epochs"],
            batch_size=epoch_batch_size(config, len(train_mapped)),
            use_tqdm=progress,
            use_tqdm_batch=False,
            pin_memory=device.startswith("cuda"),
        )
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    train_seconds = time.perf_counter() - t0
    hits = None
    if len(test_mapped):
        batch, slice_size = eval_chunks(kg.num_entities, _width(m), eval_batch_size)
        evaluator = RankBasedEvaluator(filtered=True)
        with _large_blocks_mapped():
            res = evaluator.evaluate(
                m,
                test_mapped,
                batch_size=batch,
                slice_size=slice_size,
                use_tqdm=progress,
                additional_filter_triples=[train_mapped],
            )
        hits = float(res.get_metric("both.realistic.hits_at_10"))
    rep = m.entity_representations[0](indices=None)
    vectors = _real_vectors(rep)
    if config["dim_counts"] == "model" and rep.is_complex():
        dim = 2 * dim  # the model counted complex numbers; F^K gets their real and imaginary parts
    if vectors.shape != (kg.num_entities, dim):
        raise EmbeddingError(f"{config['model']}: entity vectors have shape {vectors.shape}, expected {(kg.num_entities, dim)}")
    return {
        "vectors": vectors,
        "hits_at_10": hits,
        "eval_triples": int(len(test_mapped)),
        "train_seconds": train_seconds,
        "losses": [float(x) for x in (losses or [])],
        "complex_valued": bool(rep.is_complex()),
    }

