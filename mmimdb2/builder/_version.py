"""The builder's version: the installed ``mmimdb2`` distribution's, named in the User-Agent and DATASET.json."""

from __future__ import annotations

try:
    from importlib.metadata import version as _version

    __version__ = _version("mmimdb2")
except Exception:  # a checkout that is not installed
    __version__ = "0"
