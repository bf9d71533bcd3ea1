"""Which movies to build: the packaged MM-IMDb 2.0 manifest, or a folder of split files.

``mmimdb2`` names the IDKG authors' fixed split shipped in the package
(``mmimdb2/manifests/mmimdb2-idkg``: 20,245 / 3,375 / 10,122 ids, pinned by ``SHA256SUMS``);
any other value is a folder with ``train.txt``, ``dev.txt``, ``test.txt`` (what ``select`` writes).
"""

from __future__ import annotations

import math
from pathlib import Path

from mmimdb2.splits import PARTS, Split, SplitError, packaged_split, read_split_dir

PACKAGED = {"mmimdb2": "mmimdb2-idkg", "mmimdb2-idkg": "mmimdb2-idkg", "mmimdb2-idkg-alt": "mmimdb2-idkg-alt"}


def resolve_manifest(spec: str) -> Split:
    """The split named by ``--manifest``; raise :class:`SplitError` with a one-line reason."""
    if spec in PACKAGED:
        return packaged_split(PACKAGED[spec])
    path = Path(spec)
    if not path.is_dir():
        raise SplitError(f"--manifest {spec!r} is neither a packaged manifest ({', '.join(PACKAGED)}) nor a folder")
    return read_split_dir(path)


def limit_split(split: Split, limit: int | None) -> Split:
    """The first ids of each part, ``limit`` in all, in proportion to the part sizes (largest remainders; each part keeps one id when ``limit`` >= 3)."""
    total = sum(len(split[p]) for p in PARTS)
    if limit is None or limit >= total:
        return split
    if limit < 1:
        raise SplitError(f"The 'limit' parameter must be >= 1. Got {limit} instead.")
    exact = {p: limit * len(split[p]) / total for p in PARTS}
    take = {p: math.floor(exact[p]) for p in PARTS}
    for p in sorted(PARTS, key=lambda p: -(exact[p] - take[p]))[: limit - sum(take.values())]:
        take[p] += 1  # largest remainders first
    for p in PARTS:  # every non-empty part keeps at least one id, taken from the largest part
        if split[p] and take[p] == 0 and limit >= len(PARTS):
            take[p] = 1
            take[max(PARTS, key=lambda q: take[q])] -= 1
    return Split(split.name, {p: split[p][: take[p]] for p in PARTS})
