"""``python -m mmimdb2.build``: rebuild MM-IMDb 2.0 from its fixed manifest, resumably and politely.

Each movie is assembled from pluggable sources (IMDb's TSV datasets, TMDb, OMDb, IMDb pages, a
local archive), validated, written atomically and journalled; the output folder has the MM-IMDb
2.0 layout of docs/formats.md with a MANIFEST of sha256s, split files and a datasheet.

The package is ``mmimdb2.builder`` (not ``build``: see ``mmimdb2/build.py``, which keeps the
command ``python -m mmimdb2.build`` working).
"""

from __future__ import annotations

from mmimdb2.builder._version import __version__
from mmimdb2.builder.pipeline import BuildConfig, BuildResult, ConfigError, build
from mmimdb2.builder.sources import DEFAULT_SOURCES, SOURCES
from mmimdb2.builder.verify import VerifyReport, verify

__all__ = ["BuildConfig", "BuildResult", "ConfigError", "build", "verify", "VerifyReport", "SOURCES", "DEFAULT_SOURCES", "__version__"]
