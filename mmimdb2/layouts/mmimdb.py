"""MM-IMDb's own split file: ``split.json`` = ``{"train": [...], "dev": [...], "test": [...]}``.

The ids are bare 7-digit strings; they are normalised to ``tt`` form. This is the official
label-stratified split of Arevalo et al. (15,552 / 2,608 / 7,799), loaded as ``official``.
"""

from __future__ import annotations

from pathlib import Path

from mmimdb2.io import BadJSON, read_json
from mmimdb2.schema import InvalidId, normalize_imdb_id
from mmimdb2.splits import PARTS, Split, SplitError


def read_split_json(path: Path, name: str = "official") -> Split:
    """Read ``split.json``; any bad id, missing part or overlap is a :class:`SplitError` naming the file."""
    try:
        obj = read_json(path)
    except BadJSON as e:
        raise SplitError(f"cannot read split file {e}") from None
    if not isinstance(obj, dict):
        raise SplitError(f"{path}: expected an object with {', '.join(PARTS)} lists, got {type(obj).__name__}")
    parts: dict[str, tuple[str, ...]] = {}
    for part in PARTS:
        ids = obj.get(part)
        if not isinstance(ids, list):
            raise SplitError(f"{path}: part {part!r} is missing or not a list")
        out = []
        for i in ids:
            try:
                out.append(normalize_imdb_id(str(i)))
            except InvalidId as e:
                raise SplitError(f"{path}: part {part!r}: {e}") from None
        parts[part] = tuple(out)
    try:
        return Split(name, parts)
    except SplitError as e:
        raise SplitError(f"{path}: {e}") from None
