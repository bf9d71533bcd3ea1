"""The benchmark's stages, each cached by its own module: load -> features -> KG -> embedding -> inputs.

``prepare_inputs`` turns a dataset into the aligned arrays every model consumes (see
:mod:`idkg.inputs`); :mod:`benchmarks.harness` trains and evaluates the models on them.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from benchmarks.protocols import AuthorsDraw, authors_draw
from benchmarks.spec import KGSpec
from idkg.inputs import InputSpec
from mmimdb2.dataset import MovieDataset
from mmimdb2.genres import label_matrix
from mmimdb2.splits import Split

MODALITY_KEYS = {"plot": "text", "poster": "image", "kg": "kg"}


@contextmanager
def timed(seconds: dict[str, float], stage: str):
    """Add the wall seconds of the ``with`` body to ``seconds[stage]``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds[stage] = seconds.get(stage, 0.0) + time.perf_counter() - start


@dataclass
class PreparedInputs:
    """Every row of the dataset's split, aligned: features, KG inputs, labels, and the part rows."""

    ids: tuple[str, ...]
    arrays: dict[str, np.ndarray]
    labels: np.ndarray
    rows: dict[str, np.ndarray]
    spec: InputSpec
    provenance: dict
    #: The run's cache root (``--cache-dir``; None: the project's), where fitted probes are kept too.
    cache_dir: Path | None = None
    #: Wall seconds of each stage these inputs ran (features when they were extracted here, kg,
    #: kg_embedding, kg_inputs): a job's record carries them.
    seconds: dict[str, float] = field(default_factory=dict)
    #: The KG embedding the KG inputs were made from, as trained (:class:`leaderboard.record.KGInfo` fields).
    kg_info: dict | None = None

    @property
    def train_label_counts(self) -> np.ndarray:
        """Positives per genre in the training rows (fixes the head/tail genre sets)."""
        return self.labels[self.rows["train"]].sum(0)


def _kg_dataset(dataset: MovieDataset, train_ids: tuple[str, ...]) -> MovieDataset:
    """The dataset with its train part replaced (for the authors' protocol's separate KG draw)."""
    in_train = set(train_ids)
    rest = tuple(i for i in dataset.split.all_ids if i not in in_train)
    split = Split(dataset.split.name + "+kg-draw", {"train": train_ids, "dev": (), "test": rest})
    return replace(dataset, split=split)


def prepare_inputs(
    dataset: MovieDataset,
    *,
    encoder,
    kg: KGSpec,
    device: str,
    cache_dir: Path | None,
    protocol: str = "fixed",
    protocol_seed: int = 0,
    progress: bool = True,
    features=None,
) -> PreparedInputs:
    """Features, train-only KG and its embedding, per-movie KG inputs, labels and part rows.

    ``features``: the dataset's :func:`~benchmarks.features.extract_features` when the caller has
    them already (a run extracts them once for all its inputs); extracted here otherwise. Each
    stage's seconds are in the result's ``seconds``, the embedding used in its ``kg_info``.
    """
    from benchmarks.features import extract_features
    from benchmarks.kg_embedding import cached_embedding
    from idkg.kg import build_kg
    from idkg.kg_inputs import genre_embeddings, movie_kg_inputs

    ids = dataset.split.all_ids
    seconds: dict[str, float] = {}
    feats = features
    if feats is None:
        with timed(seconds, "features"):
            feats = extract_features(dataset, encoder, cache_dir=cache_dir, device=device, progress=progress)
    assert feats.ids == ids, "feature rows must follow the split's id order"

    draw: AuthorsDraw | None = None
    if protocol == "fixed":
        offsets = np.cumsum([0] + [len(dataset.split[p]) for p in ("train", "dev", "test")])
        rows = {p: np.arange(offsets[i], offsets[i + 1]) for i, p in enumerate(("train", "dev", "test"))}
        kg_source = dataset
    elif protocol == "authors":
        draw = authors_draw(len(ids), protocol_seed)
        rows = {"train": draw.train, "dev": draw.dev, "test": draw.test}
        kg_source = _kg_dataset(dataset, tuple(ids[i] for i in draw.kg_train))
    else:
        raise ValueError(f"unknown protocol {protocol!r}; expected fixed or authors")

    with timed(seconds, "kg"):
        graph = build_kg(kg_source, "train")
    with timed(seconds, "kg_embedding"):
        kw = {"device": device, "cache_dir": cache_dir, "progress": progress}
        emb = cached_embedding(graph, kg.embedding, **kw)
    labels = label_matrix(dataset.movies[i].genres for i in ids)
    with timed(seconds, "kg_inputs"):
        movies = [dataset.movies[i] for i in ids]
        kgi = movie_kg_inputs(movies, graph, emb)
        anchors = genre_embeddings(graph, emb)
        if kg.cross_fit:
            from benchmarks.crossfit import cross_fit_kg_inputs

            kgi = cross_fit_kg_inputs(
                movies, rows["train"], kgi, folds=kg.cross_fit,
                build=lambda train_ids: build_kg(_kg_dataset(kg_source, train_ids), "train"),
                embed=lambda g: cached_embedding(g, kg.embedding, **kw), reference=emb,
            )  # fmt: skip
    from baselines.people_vote import people_vote

    people = people_vote(movies, labels, rows["train"])

    arrays = {
        "text": np.asarray(feats.text, dtype=np.float32),
        "image": np.asarray(feats.image, dtype=np.float32),
        "kg": np.asarray(kgi.kg, dtype=np.float32),
        "kg_count": np.asarray(kgi.kg_count, dtype=np.float32),
        "kg_degree": np.asarray(kgi.kg_degree, dtype=np.float32),
        "people": people,
    }
    train = rows["train"]
    empty_kg = np.abs(arrays["kg"]).sum(1) == 0  # nobody of the movie's people in the train-only KG
    spec = InputSpec(
        text_dim=arrays["text"].shape[1],
        image_dim=arrays["image"].shape[1],
        kg_dim=arrays["kg"].shape[1],
        genre_embeddings=torch.as_tensor(np.asarray(anchors, dtype=np.float32)),
        mean_kg_count=float(arrays["kg_count"][train].mean()),
        mean_kg_degree=float(arrays["kg_degree"][train].mean()),
        empty_kg_share=float(empty_kg[rows["dev"]].mean()) if len(rows["dev"]) else None,
    )
    if arrays["kg"].shape[1] != emb.dim:
        raise RuntimeError(f"F^K is {arrays['kg'].shape[1]} wide but the {emb.model} embedding {emb.dim}")
    kg_info = {"model": emb.model, "dim": emb.dim, "dim_model": emb.dim_model, "epochs": int(emb.config["epochs"]),
               "optimizer": emb.optimizer, "hits_at_10": emb.hits_at_10}  # fmt: skip
    provenance = {
        "encoder": {"name": encoder.name, "version": encoder.version},
        "kg_stats": graph.stats(),
        "zero_kg_share": {p: float(empty_kg[r].mean()) for p, r in rows.items() if len(r)},
    }
    if draw is not None:
        provenance["authors_draw"] = {
            "test_in_train": draw.overlap("train", "test"),
            "test_in_kg_train": draw.overlap("kg_train", "test"),
        }
    return PreparedInputs(ids=ids, arrays=arrays, labels=labels, rows=rows, spec=spec, provenance=provenance, cache_dir=cache_dir,
                          seconds=seconds, kg_info=kg_info)  # fmt: skip


def drop_modality(arrays: dict[str, np.ndarray], drop: str | None) -> dict[str, np.ndarray]:
    """Arrays with one modality zeroed (a missing poster, plot or KG at test time)."""
    if drop is None:
        return arrays
    key = MODALITY_KEYS[drop]
    out = dict(arrays)
    out[key] = np.zeros_like(arrays[key])
    if key == "kg":  # the people vote reads the same metadata as the KG
        out["kg_count"] = np.zeros_like(arrays["kg_count"])
        out["kg_degree"] = np.zeros_like(arrays["kg_degree"])
        if "people" in arrays:
            out["people"] = np.zeros_like(arrays["people"])
    return out
