"""One reader per on-disk layout (MM-IMDb's archive, MM-IMDb 2.0) behind :func:`mmimdb2.load`."""

from mmimdb2.layouts.common import (
    MAX_POSTER_PIXELS,
    DatasetError,
    DatasetNotFound,
    Listing,
    ManifestError,
    build_unfinished,
    check_poster,
    scan_folder,
    verify_manifest,
)
from mmimdb2.layouts.mmimdb import read_split_json
from mmimdb2.layouts.records import LAYOUTS, MMIMDB, MMIMDB2, Layout, parse_movie, read_movies

__all__ = [
    "MAX_POSTER_PIXELS", "DatasetError", "DatasetNotFound", "Listing", "ManifestError", "build_unfinished", "check_poster", "scan_folder",
    "verify_manifest", "read_split_json", "LAYOUTS", "MMIMDB", "MMIMDB2", "Layout", "parse_movie", "read_movies",
]  # fmt: skip
