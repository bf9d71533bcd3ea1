"""A loaded dataset in the tables people use: a pandas ``DataFrame`` and a Hugging Face ``datasets`` object.

Why here and not in user code: every export must say the same thing about a movie (the 23 labels
in :data:`mmimdb2.GENRES` order, directors split by one rule, the split part it belongs to), so
it is written once. pandas comes with the project's dependencies (PyKEEN needs it);
``datasets`` is the optional extra ``hf`` and is imported only by :func:`to_huggingface`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mmimdb2.genres import GENRES
from mmimdb2.splits import PARTS

if TYPE_CHECKING:
    from mmimdb2.schema import Movie

#: ``ds`` below is a :class:`mmimdb2.MovieDataset` (not imported: it imports this module).
MovieDataset = Any

#: Columns of :func:`to_pandas` and of each Hugging Face split, in this order.
COLUMNS: tuple[str, ...] = ("imdb_id", "title", "original_title", "year", "plot", "genres", "directors", "cast", "poster", "part")


def _row(movie: Movie, part: str | None) -> dict[str, Any]:
    return {
        "imdb_id": movie.imdb_id,
        "title": movie.title,
        "original_title": movie.original_title,
        "year": movie.year,
        "plot": movie.plot,
        "genres": list(movie.genres),
        "directors": [p.name for p in movie.directors],
        "cast": [p.name for p in movie.cast],
        "poster": str(movie.poster) if movie.poster is not None else None,
        "part": part,
    }


def _check_part(ds: MovieDataset, part: str) -> None:
    if part not in ds.split.parts:
        raise ValueError(f"unknown part {part!r}; this split has {', '.join(ds.split.parts)}")


def rows(ds: MovieDataset, part: str | None = None) -> list[dict[str, Any]]:
    """One dict per movie (see :data:`COLUMNS`): the part's movies in split order, or with
    ``part=None`` every loaded movie (those of the split by part, then any outside it, ``part`` None)."""
    if part is not None:
        _check_part(ds, part)
        return [_row(m, part) for m in ds.part(part)]
    out = [_row(ds.movies[i], p) for p in ds.split.parts for i in ds.split[p]]
    listed = set(ds.split.all_ids)
    return out + [_row(m, None) for i, m in ds.movies.items() if i not in listed]


def to_pandas(ds: MovieDataset, part: str | None = None):
    """A ``pandas.DataFrame``, one row per movie, columns :data:`COLUMNS`; ``year`` is a nullable
    ``Int64``, ``genres`` / ``directors`` / ``cast`` lists of strings, ``poster`` a path or None."""
    import pandas as pd

    df = pd.DataFrame(rows(ds, part), columns=list(COLUMNS))
    df["year"] = df["year"].astype("Int64")
    return df


def hf_features():
    """The ``datasets.Features`` of an export: the poster an ``Image()``, the genres a multi-label
    list of ``ClassLabel`` over the 23 genres (their ids are :data:`mmimdb2.GENRE_INDEX`)."""
    import datasets

    seq = getattr(datasets, "List", None) or datasets.Sequence  # List since datasets 4; Sequence before
    text = datasets.Value("string")
    return datasets.Features({
        "imdb_id": text, "title": text, "original_title": text, "year": datasets.Value("int32"), "plot": text,
        "genres": seq(datasets.ClassLabel(names=list(GENRES))), "directors": seq(text), "cast": seq(text),
        "poster": datasets.Image(),
    })  # fmt: skip


def to_huggingface(ds: MovieDataset, parts: tuple[str, ...] | None = None):
    """A ``datasets.DatasetDict`` with one ``Dataset`` per split part (``train``, ``dev``, ``test``,
    in split order). Posters are referenced by path and decoded on access; a movie without a
    usable poster has ``poster`` None. Needs the ``hf`` extra: ``pip install "mmimdb2[hf]"``."""
    try:
        import datasets
    except ImportError:
        raise ImportError('to_huggingface needs the Hugging Face datasets package: pip install "mmimdb2[hf]"') from None
    features = hf_features()
    out = {}
    for part in parts or PARTS:
        _check_part(ds, part)
        table = {c: [r[c] for r in rows(ds, part)] for c in features}
        out[part] = datasets.Dataset.from_dict(table, features=features, split=datasets.NamedSplit(part))
    return datasets.DatasetDict(out)
