"""A ``torch.utils.data.Dataset`` over one split part, for training code that reads raw inputs.

Kept apart from the loaders so that loading a dataset never imports torch. Posters are decoded
here, one item at a time; a movie without a usable poster yields a black placeholder flagged
``has_image=False`` so batches keep their shape and models can mask it. Items hold strings and
lists of names that PyTorch's default collate cannot batch, so :func:`collate` is the one to give
a ``DataLoader``::

    view = ds.torch_view("train", transform=torchvision.transforms.Compose([...ToTensor()]))
    loader = DataLoader(view, batch_size=32, shuffle=True, collate_fn=collate)
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch
from PIL import Image
from torch.utils.data import Dataset

from mmimdb2.images import PosterError, open_poster
from mmimdb2.schema import Movie

#: Size of the black placeholder image given for a movie without a poster.
PLACEHOLDER_SIZE: tuple[int, int] = (224, 224)


class MoviePartDataset(Dataset):
    """Items are dicts: ``imdb_id``, ``text`` (longest plot), ``directors`` and ``cast`` (lists of
    names, in the record's order), ``image`` (PIL RGB, or ``transform(image)``), ``has_image``
    (bool) and ``labels`` (float32 tensor of 23, in :data:`mmimdb2.GENRES` order). Order is the
    split file's; shuffling is the DataLoader's job."""

    def __init__(
        self,
        movies: Sequence[Movie],
        transform: Callable[[Image.Image], Any] | None = None,
        *,
        placeholder_size: tuple[int, int] = PLACEHOLDER_SIZE,
    ) -> None:
        self.movies = list(movies)
        self.transform = transform
        self.placeholder_size = placeholder_size

    def __len__(self) -> int:
        return len(self.movies)

    def _image(self, movie: Movie) -> tuple[Image.Image, bool]:
        if movie.poster is not None:
            try:  # only a regular file, its shape checked before decoding, 16-bit scaled to 8
                return open_poster(movie.poster), True
            except PosterError as e:
                warnings.warn(f"{e}; using a black placeholder", stacklevel=3)
        return Image.new("RGB", self.placeholder_size), False

    def __getitem__(self, index: int) -> dict[str, Any]:
        movie = self.movies[index]
        image, has_image = self._image(movie)
        return {
            "imdb_id": movie.imdb_id,
            "text": movie.plot,
            "directors": [p.name for p in movie.directors],
            "cast": [p.name for p in movie.cast],
            "image": self.transform(image) if self.transform is not None else image,
            "has_image": has_image,
            "labels": torch.from_numpy(movie.labels()),
        }


#: Item keys batched as plain lists (strings, lists of names).
LIST_KEYS: tuple[str, ...] = ("imdb_id", "text", "directors", "cast")


def collate(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Batch items of :class:`MoviePartDataset` for ``DataLoader(collate_fn=collate)``.

    ``labels`` -> a (n, 23) float32 matrix, ``has_image`` -> a bool tensor, ``image`` -> the
    transformed images stacked (a transform to tensors of one shape must be given to
    ``torch_view``: a PIL image or mismatched shapes is a one-line ``ValueError``), and
    ``imdb_id``, ``text``, ``directors``, ``cast`` -> lists (a list of name lists for people).
    """
    if not items:
        raise ValueError("collate got an empty batch")
    images = [it["image"] for it in items]
    if not all(isinstance(im, torch.Tensor) for im in images):
        kind = next(type(im).__name__ for im in images if not isinstance(im, torch.Tensor))
        raise ValueError(f"collate needs image tensors, got {kind}; pass transform= to torch_view (e.g. torchvision's Resize, CenterCrop, ToTensor)")
    shapes = {tuple(im.shape) for im in images}
    if len(shapes) > 1:
        raise ValueError(f"collate needs images of one shape, got {sorted(shapes)}; make the transform resize and crop to a fixed size")
    batch: dict[str, Any] = {k: [it[k] for it in items] for k in LIST_KEYS}
    batch["image"] = torch.stack(images)
    batch["has_image"] = torch.tensor([bool(it["has_image"]) for it in items])
    batch["labels"] = torch.stack([it["labels"] for it in items])
    return batch
