"""Where datasets and caches live: one data root, one cache root, both overridable.

Resolution happens at call time (never at import), so a flag, a test's environment or a user's
shell each take effect without re-importing anything.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable naming the folder that holds ``demo/``, ``mmimdb/`` and ``mmimdb2/``.
DATA_ENV = "MMIMDB2_DATA"
#: Environment variable naming the folder for feature and KG caches.
CACHE_ENV = "MMIMDB2_CACHE"


def _xdg_cache_home() -> Path:
    """``$XDG_CACHE_HOME`` when set and non-empty, else ``~/.cache`` (the XDG default)."""
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return Path(xdg).expanduser() if xdg else Path.home() / ".cache"


#: The ``--data-root`` help of every command, beside the rule it describes.
DATA_ROOT_HELP = f"folder holding the named datasets (default: ${DATA_ENV}, else <user cache>/mmimdb2)"


def data_root(override: str | os.PathLike[str] | None = None) -> Path:
    """The data root: ``override``, else ``$MMIMDB2_DATA``, else ``<XDG cache>/mmimdb2``.

    Dataset names resolve under it: ``demo`` -> ``<root>/demo``, ``mmimdb`` -> ``<root>/mmimdb``,
    ``mmimdb2`` -> ``<root>/mmimdb2``.
    """
    if override is not None and str(override) != "":
        return Path(override).expanduser()
    env = os.environ.get(DATA_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    return _xdg_cache_home() / "mmimdb2"


def cache_root(override: str | os.PathLike[str] | None = None) -> Path:
    """The cache root for derived files (features, KGs): ``override``, else ``$MMIMDB2_CACHE``,
    else ``<XDG cache>/mmimdb2/cache``. Kept apart from the data so it can be wiped safely."""
    if override is not None and str(override) != "":
        return Path(override).expanduser()
    env = os.environ.get(CACHE_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    return _xdg_cache_home() / "mmimdb2" / "cache"
