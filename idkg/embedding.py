"""KG embedding with PyKEEN (training only; :mod:`benchmarks.kg_embedding` caches it).

Models are PyKEEN's own, resolved by its ``model_resolver`` (``RotatE`` by default; ``TransH``,
``TransR``, ``TransD``, ``ComplEx``, ``ConvE`` as in the paper's Table 4, or any other PyKEEN
model), trained with PyKEEN's sLCWA training loop and PyKEEN's default loss for that model.

Our defaults and why
--------------------
The paper trained with OpenKE: SGD, lr 0.5, 500 epochs, "batch 100" (see :data:`PAPER_SETTINGS`;
pass ``**PAPER_SETTINGS`` to reproduce it, or ``--kg-paper-settings`` to ``python -m benchmarks.run``; ``--kg-optimizer``
and ``--kg-lr`` set one of them. OpenKE's loader takes a *number of batches* per epoch,
so that figure may mean 100 batches rather than 100 triples). With PyKEEN's sLCWA loop, Adam at a
large batch converges in far fewer epochs and keeps a GPU busy, so the defaults are Adam, lr 0.01,
batch 1024, 1 negative per positive and 20 epochs. On a 54k-triple synthetic movie KG (dim 200,
2-core CPU) that reached a held-out filtered Hits@10 of 0.27, against 0.10-0.13 after 2 epochs and
no better with 4 negatives (which cost twice the time per epoch). On the demo's KG (33k triples)
it reaches 0.35, at 0.5-1 s per epoch on an idle 2-core CPU (10-20 s in all). A 500-epoch run
stays a one-argument change (``epochs=500``); on a GPU and a KG of MM-IMDb 2.0's size, pass a
larger ``batch_size`` (8192-32768) to keep the GPU busy.

Width
-----
``dim`` is the width of the *real* vectors every model gets, whatever the KGE model: a complex
model (RotatE, ComplEx) is trained with ``dim // 2`` complex dimensions and its vectors are the
real parts followed by the imaginary parts, so RotatE with ``dim=200`` yields 200 real numbers
per entity, like TransH with ``dim=200`` (the authors' F^K was 200 wide). ``dim`` must be even
for complex models.

Hits@10
-------
Up to ``eval_sample`` triples are drawn at random (``seed``) and held out of training, but only
triples whose head, tail and relation keep at least one other training triple, so no entity is
removed from the KG. Hits@10 is PyKEEN's *filtered* rank-based Hits@10 (both sides, realistic
ranks) over all entities, filtered with every KG triple. Its cost is bounded by ``eval_sample``,
not by the KG size. ``eval_sample=0`` trains on every triple and reports no Hits@10.

Cache
-----
None here (the method library depends on no benchmark code): :func:`benchmarks.kg_embedding.cached_embedding`
keeps one entry per (KG sha256, :func:`training_config`) under ``<cache root>/kg-embeddings``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from idkg.kg import KnowledgeGraph
from mmimdb2.paths import cache_root

#: The IDKG paper's training settings (OpenKE): pass as ``embed_kg(kg, **PAPER_SETTINGS)``.
PAPER_SETTINGS: dict[str, Any] = {"optimizer": "SGD", "lr": 0.5, "epochs": 500, "batch_size": 100}


class EmbeddingError(ValueError):
    """A KG embedding that cannot be trained as asked (unknown model, bad dimension, …)."""


@dataclass(frozen=True, eq=False)
class KGEmbedding:
    """Real-valued entity vectors of a KG and how they were made."""

    entity_to_id: dict[str, int]
    #: (n_entities, dim) float32, rows in ``entity_to_id`` order.
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
    #: Set by a caching caller (:func:`benchmarks.kg_embedding.cached_embedding`).
    cache_path: Path | None = None
    from_cache: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])


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


def training_config(
    *,
    model: str | type,
    dim: int,
    epochs: int,
    batch_size: int,
    optimizer: str,
    lr: float,
    num_negs_per_pos: int,
    model_kwargs: Mapping[str, Any] | None,
    seed: int,
    eval_sample: int,
) -> dict[str, Any]:
    """Everything a run's vectors depend on, checked and resolved (PyKEEN's class name for
    ``model``, PyKEEN's version): :attr:`KGEmbedding.config`, and what a cache keys on."""
    if dim <= 0 or epochs <= 0 or batch_size <= 0 or num_negs_per_pos <= 0 or lr <= 0 or eval_sample < 0:
        raise EmbeddingError(
            f"dim, epochs, batch_size, num_negs_per_pos and lr must be positive and eval_sample >= 0; got "
            f"dim={dim}, epochs={epochs}, batch_size={batch_size}, num_negs_per_pos={num_negs_per_pos}, lr={lr}, "
            f"eval_sample={eval_sample}"
        )
    cls = resolve_model(model)
    import pykeen

    return {
        "model": cls.__name__,
        "dim": int(dim),
        "epochs": int(epochs),
        "batch_size": int(batch_size),
        "optimizer": str(optimizer),
        "lr": float(lr),
        "num_negs_per_pos": int(num_negs_per_pos),
        "model_kwargs": dict(model_kwargs or {}),
        "seed": int(seed),
        "eval_sample": int(eval_sample),
        "training_loop": "sLCWA",
        "pykeen": pykeen.get_version(),
    }


def embed_kg(
    kg: KnowledgeGraph,
    *,
    model: str = "RotatE",
    dim: int = 200,
    epochs: int = 20,
    batch_size: int = 1024,
    optimizer: str = "Adam",
    lr: float = 0.01,
    num_negs_per_pos: int = 1,
    model_kwargs: Mapping[str, Any] | None = None,
    device: str = "auto",
    seed: int = 0,
    eval_sample: int = 200,
    eval_batch_size: int = 64,
    progress: bool = True,
) -> KGEmbedding:
    """Train a PyKEEN embedding of ``kg`` and score it (no cache: see
    :func:`benchmarks.kg_embedding.cached_embedding`); see the module docstring for the defaults,
    the real width ``dim`` and the Hits@10 protocol."""
    config = training_config(
        model=model, dim=dim, epochs=epochs, batch_size=batch_size, optimizer=optimizer, lr=lr,
        num_negs_per_pos=num_negs_per_pos, model_kwargs=model_kwargs, seed=seed, eval_sample=eval_sample,
    )  # fmt: skip
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
    )
    if progress:
        hits = "n/a" if emb.hits_at_10 is None else f"{emb.hits_at_10:.3f} on {emb.eval_triples} held-out triples"
        print(
            f"kg embedding: {emb.model} dim {emb.dim} on {kg.num_triples:,} triples / {kg.num_entities:,} entities, "
            f"{epochs} epochs in {emb.train_seconds:.1f} s ({emb.seconds_per_epoch:.2f} s/epoch, {dev}); "
            f"filtered Hits@10 {hits}",
            file=sys.stderr,
        )
    return emb


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


def _real_vectors(rep) -> np.ndarray:
    """Entity representation tensor -> (n, d) float32; complex as [real | imaginary]."""
    import torch

    rep = rep.detach()
    if rep.is_complex():
        rep = torch.cat([rep.real, rep.imag], dim=-1)
    return rep.reshape(rep.shape[0], -1).to("cpu", torch.float32).numpy().copy()


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
    if m.entity_representations[0](indices=torch.arange(1)).is_complex():
        if dim % 2:
            raise EmbeddingError(f"{cls.__name__} is complex-valued: dim (the real width) must be even, got {dim}")
        m = model_resolver.make(cls, triples_factory=tf, embedding_dim=dim // 2, random_seed=config["seed"], **kwargs)
    m = m.to(device)
    loop = SLCWATrainingLoop(
        model=m,
        triples_factory=tf,
        optimizer=config["optimizer"],
        optimizer_kwargs={"lr": config["lr"]},
        negative_sampler_kwargs={"num_negs_per_pos": config["num_negs_per_pos"]},
    )
    with _quiet():
        return _fit_and_evaluate(m, loop, tf, train_mapped, test_mapped, kg, config, device, progress, eval_batch_size)


def _fit_and_evaluate(m, loop, tf, train_mapped, test_mapped, kg, config, device, progress, eval_batch_size) -> dict:
    """The timed training run, filtered Hits@10 on the held-out triples, and the real vectors."""
    import torch
    from pykeen.evaluation import RankBasedEvaluator

    dim = config["dim"]
    t0 = time.perf_counter()
    losses = loop.train(
        triples_factory=tf,
        num_epochs=config["epochs"],
        batch_size=config["batch_size"],
        use_tqdm=progress,
        use_tqdm_batch=False,
        pin_memory=device.startswith("cuda"),
    )
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    train_seconds = time.perf_counter() - t0
    hits = None
    if len(test_mapped):
        evaluator = RankBasedEvaluator(filtered=True)
        res = evaluator.evaluate(
            m,
            test_mapped,
            batch_size=eval_batch_size,
            use_tqdm=progress,
            additional_filter_triples=[train_mapped],
        )
        hits = float(res.get_metric("both.realistic.hits_at_10"))
    vectors = _real_vectors(m.entity_representations[0](indices=None))
    if vectors.shape != (kg.num_entities, dim):
        raise EmbeddingError(f"{config['model']}: entity vectors have shape {vectors.shape}, expected {(kg.num_entities, dim)}")
    return {
        "vectors": vectors,
        "hits_at_10": hits,
        "eval_triples": int(len(test_mapped)),
        "train_seconds": train_seconds,
        "losses": [float(x) for x in (losses or [])],
    }

