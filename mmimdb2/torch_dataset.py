"""A ``torch.utils.data.Dataset`` over one split part, for training code that reads raw inputs.

Kept apart from the loaders so that loading a dataset never imports torch. Posters are decoded
here, one item at a time; a movie without a usable poster yields a black placeholder flagged
``has_image=False`` so batches keep their shape and models can mask it.
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
    """Items are dicts: ``imdb_id``, ``text`` (longest plot), ``image`` (PIL RGB, or
    ``transform(image)``), ``has_image`` (bool) and ``labels`` (float32 tensor of 23, in
    :data:`mmimdb2.GENRES` order). Order is the split file's; shuffling is the DataLoader's job."""

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
            "image": self.transform(image) if self.transform is not None else image,
            "has_image": has_image,
            "labels": torch.from_numpy(movie.labels()),
        }
