"""The KG embedding's settings, typed, with every default written once.

Read by :func:`idkg.embedding.embed_kg`, by the run specification of the benchmark and by the
cache key of an embedding, so a changed default changes all three together.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

#: What an embedding's ``dim`` may count (see :attr:`EmbeddingSpec.dim_counts`).
DIM_COUNTS: tuple[str, ...] = ("real", "model")


class EmbeddingError(ValueError):
    """A KG embedding that cannot be trained as asked (unknown model, bad dimension, …)."""


@dataclass(frozen=True)
class EmbeddingSpec:
    """How the train-only KG is embedded with PyKEEN (sLCWA training, one seed per embedding).

    Defaults: RotatE with F^K 200 real numbers wide (100 complex dimensions), Adam at lr 0.01 for
    10 epochs of batch 1024 with sparse gradients, so Adam trains as SparseAdam (optimizer,
    schedule, epochs and sparse gradients chosen on real movies by cross-validation on train +
    dev, where sparse and dense tied while sparse ran 2-3x faster per epoch at MM-IMDb 2.0's size,
    and 10 epochs tied with 20 at half the cost, docs/training.md). The paper's RotatE at
    dimension 200 counts complex numbers as OpenKE does (F^K 400 wide); the ``paper`` recipe
    (:mod:`benchmarks.recipes`) holds it and the paper's other KG settings.
    """

    #: PyKEEN model name (``RotatE``, ``TransH``, ...), resolved by PyKEEN itself.
    model: str = "RotatE"
    #: Embedding dimension, counted as ``dim_counts`` says: by default the width of the real
    #: vectors F^K gets, whatever the model.
    dim: int = 200
    epochs: int = 10
    batch_size: int = 1024
    #: OpenKE's ``nbatches``: when > 0, every epoch is this many batches of
    #: ceil(training triples / batches_per_epoch) triples and ``batch_size`` is not used
    #: (:func:`idkg.embedding.epoch_batch_size`). The paper's "batch 100" is read this way.
    batches_per_epoch: int = 0
    optimizer: str = "Adam"
    lr: float = 0.01
    num_negs_per_pos: int = 1
    #: Held-out triples the Hits@10 check ranks (0: no check).
    eval_sample: int = 200
    #: What ``dim`` counts: ``real`` numbers (F^K is ``dim`` wide; a complex model, RotatE or
    #: ComplEx, holds ``dim // 2`` complex numbers, so ``dim`` must be even) or the ``model``'s own
    #: units, PyKEEN's ``embedding_dim`` as OpenKE, the paper's toolkit, counts it (a complex
    #: model holds ``dim`` complex numbers and F^K is ``2 * dim`` wide; a real model's F^K is
    #: ``dim`` wide either way). F^K holds the real parts, then the imaginary parts.
    dim_counts: str = "real"
    #: Sparse entity and relation gradients: a step then costs the batch's rows, not the whole
    #: entity table. SGD and Adagrad take them as they are; Adam is trained as torch's SparseAdam
    #: (lazy moments: only the rows a batch touches move). An optimizer that takes no sparse
    #: gradients, or SparseAdam on a model with dense layers (ConvE), trains dense and the
    #: embedding records why in its ``gradients`` field (:class:`idkg.embedding.KGEmbedding`).
    sparse: bool = True

    def __post_init__(self) -> None:
        checks = {
            "dim": self.dim >= 1, "epochs": self.epochs >= 1, "batch_size": self.batch_size >= 1,
            "lr": self.lr > 0, "num_negs_per_pos": self.num_negs_per_pos >= 1, "eval_sample": self.eval_sample >= 0,
            "batches_per_epoch": self.batches_per_epoch >= 0,
        }  # fmt: skip
        bad = [f"{name}={getattr(self, name)!r}" for name, ok in checks.items() if not ok]
        if bad:
            raise EmbeddingError(
                f"The KG embedding's dim, epochs, batch_size, num_negs_per_pos and lr must be positive, "
                f"eval_sample and batches_per_epoch >= 0. Got {', '.join(bad)} instead."
            )
        if self.dim_counts not in DIM_COUNTS:
            raise EmbeddingError(f"The KG embedding's 'dim_counts' must be one of {', '.join(DIM_COUNTS)}. Got {self.dim_counts!r} instead.")
        if not isinstance(self.sparse, bool):
            raise EmbeddingError(f"The KG embedding's 'sparse' must be a bool. Got {self.sparse!r} instead.")
        if not isinstance(self.model, str) or not self.model:
            raise EmbeddingError(f"The KG embedding's 'model' must be a PyKEEN model name. Got {self.model!r} instead.")

    def changed(self) -> dict[str, Any]:
        """The settings that differ from the defaults (what a result's config names explicitly)."""
        default = EmbeddingSpec()
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != getattr(default, f.name)}
