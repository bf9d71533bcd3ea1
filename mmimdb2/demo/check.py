"""How hard the demo is: one-vs-rest logistic regression on simple features of each modality.

This is how the generator is calibrated and what its tests assert: plot words and poster pixels
each beat the trivial baseline but stay far from perfect, and people features built from the train
split only (each person's train-genre rates) add a clear margin on macro-F1, the signal a
knowledge graph of directors and cast carries. It reads the files directly (docs/formats.md), so
it checks what is on disk, not what the generator meant to write.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from mmimdb2.genres import GENRES, canonical_genres, label_matrix
from mmimdb2.splits import read_split_dir


@dataclass(frozen=True)
class Part:
    """The movies of one split part as arrays and lists."""

    ids: list[str]
    labels: np.ndarray  # (n, 23)
    plots: list[str]
    posters: np.ndarray  # (n, H, W, 3) uint8
    people: list[list[tuple[str, str]]]  # (role, key) per movie


def _person_key(entry) -> str:
    if isinstance(entry, dict):
        return entry.get("imdb_id") or "name:" + " ".join(str(entry.get("name", "")).casefold().split())
    return "name:" + " ".join(str(entry).casefold().split())


def read_part(root: str | os.PathLike[str], ids: list[str]) -> Part:
    """Read the JSON and poster of each id under ``root/dataset``."""
    root = Path(root)
    labels, plots, posters, people = [], [], [], []
    for i in ids:
        rec = json.loads((root / "dataset" / f"{i}.json").read_text(encoding="utf-8"))
        labels.append(canonical_genres(rec["genres"]))
        plots.append(rec["plot"])
        with Image.open(root / "dataset" / f"{i}.jpg") as im:
            posters.append(np.asarray(im.convert("RGB")))
        people.append([("d", _person_key(p)) for p in rec.get("directors", [])] + [("c", _person_key(p)) for p in rec.get("cast", [])])
    return Part(list(ids), label_matrix(labels), plots, np.stack(posters), people)


def image_features(posters: np.ndarray) -> np.ndarray:
    """A 4x6 pixel grid (mean colour per cell) and a 4x4x4 colour histogram, in [0, 1]."""
    n, h, w, _ = posters.shape
    grid = posters.reshape(n, 6, h // 6, 4, w // 4, 3).mean(axis=(2, 4)).reshape(n, -1) / 255.0
    q = (posters // 64).reshape(n, -1, 3).astype(np.int64)
    codes = q[..., 0] * 16 + q[..., 1] * 4 + q[..., 2]
    hist = np.stack([np.bincount(c, minlength=64) for c in codes]) / codes.shape[1]
    return np.hstack([grid, hist * 4.0])


def people_features(train: Part, part: Part, *, leave_one_out: bool) -> np.ndarray:
    """Per movie, the mean over its directors (and, separately, its cast) of each person's
    genre rates in the *train* movies, plus how many of them the train split knows.

    For the train movies themselves (``leave_one_out``), the movie's own labels are left out of
    its people's counts, so the features never contain the label they are meant to predict.
    """
    counts: dict[str, np.ndarray] = {}
    n_movies: dict[str, int] = {}
    for y, ppl in zip(train.labels, train.people):
        for _, key in set(ppl):
            counts[key] = counts.get(key, 0) + y
            n_movies[key] = n_movies.get(key, 0) + 1
    out = np.zeros((len(part.ids), 2 * len(GENRES) + 2))
    for row, (y, ppl) in enumerate(zip(part.labels, part.people)):
        for b, role in enumerate(("d", "c")):
            rates = []
            for r, key in set(ppl):
                if r != role or key not in counts:
                    continue
                c, k = counts[key], n_movies[key]
                if leave_one_out:
                    c, k = c - y, k - 1
                if k > 0:
                    rates.append(c / k)
            if rates:
                out[row, b * len(GENRES) : (b + 1) * len(GENRES)] = np.mean(rates, axis=0)
                out[row, -2 + b] = np.log1p(len(rates))
    return out


def trivial_macro_f1(labels: np.ndarray) -> float:
    """Macro-F1 of the best constant predictor (every genre predicted for every movie)."""
    p = labels.mean(0)
    return float(np.mean(2 * p / (1 + p)))


def difficulty(root: str | os.PathLike[str], *, C: float = 4.0) -> dict[str, float]:
    """Test macro-F1 of logistic regression on text, image, text+image and text+image+people
    features of the demo in ``root``, trained on its train split (plus the trivial baseline)."""
    split = read_split_dir(Path(root) / "split")
    return scores(read_part(root, list(split["train"])), read_part(root, list(split["test"])), C=C)


def scores(train: Part, test: Part, *, C: float = 4.0) -> dict[str, float]:
    """Macro-F1 on ``test`` of one-vs-rest logistic regression fitted on ``train``, per feature set."""
    import scipy.sparse.linalg  # noqa: F401  (sparse.linalg.norm)
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.preprocessing import StandardScaler

    vec = TfidfVectorizer(min_df=2, sublinear_tf=True)
    text = {"train": vec.fit_transform(train.plots), "test": vec.transform(test.plots)}
    scaler = StandardScaler().fit(image_features(train.posters))
    image = {p: scaler.transform(image_features(d.posters)) for p, d in (("train", train), ("test", test))}
    people = {"train": people_features(train, train, leave_one_out=True), "test": people_features(train, test, leave_one_out=False)}
    combos = {"text": (text,), "image": (image,), "text+image": (text, image), "text+image+people": (text, image, people)}
    out = {"trivial": trivial_macro_f1(test.labels)}
    for block in (text, image, people):  # each block's rows have mean L2 norm 1 on train
        norm = float(np.mean(sparse.linalg.norm(sparse.csr_matrix(block["train"]), axis=1))) or 1.0
        block.update({p: block[p] / norm for p in block})
    for name, blocks in combos.items():
        x_train = sparse.hstack([sparse.csr_matrix(b["train"]) for b in blocks], format="csr")
        x_test = sparse.hstack([sparse.csr_matrix(b["test"]) for b in blocks], format="csr")
        clf = OneVsRestClassifier(LogisticRegression(C=C, class_weight="balanced", solver="liblinear", random_state=0))
        pred = clf.fit(x_train, train.labels).predict(x_test)
        out[name] = float(f1_score(test.labels, pred, average="macro", zero_division=0))
    return out
