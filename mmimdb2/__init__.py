"""MM-IMDb and MM-IMDb 2.0 in one schema, with fixed, hashed splits."""

from mmimdb2.dataset import MovieDataset
from mmimdb2.genres import GENRE_INDEX, GENRES, canonical_genre, canonical_genres, label_matrix, multi_hot
from mmimdb2.layouts import DatasetError, DatasetNotFound, ManifestError
from mmimdb2.loaders import DATASET_NAMES, load
from mmimdb2.paths import cache_root, data_root
from mmimdb2.schema import InvalidId, Movie, Person, Skip, normalize_imdb_id
from mmimdb2.splits import Split, SplitError, packaged_split, read_split_dir, write_split_dir

__all__ = [
    "GENRES", "GENRE_INDEX", "canonical_genre", "canonical_genres", "label_matrix", "multi_hot",
    "InvalidId", "Movie", "Person", "Skip", "normalize_imdb_id",
    "Split", "SplitError", "packaged_split", "read_split_dir", "write_split_dir",
    "MovieDataset", "load", "DATASET_NAMES", "DatasetNotFound", "DatasetError", "ManifestError",
    "data_root", "cache_root",
]  # fmt: skip
