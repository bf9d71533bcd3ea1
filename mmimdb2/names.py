"""One rule for a string that joins several people's names: ``"Don Bluth, Gary Goldman"`` is two.

Why one function: the IDKG authors' release (and ``yts800``'s 800 real movies, 61 of them) stores
several directors as one string joined by ``", "``. The loader (:mod:`mmimdb2.layouts`) and the
builder's archive source both read that field; if only one of them split it, a folder loaded with
:func:`mmimdb2.load` and the same folder rebuilt would give different people, hence a different
knowledge graph. A comma that introduces a name suffix (``"Martin Luther King, Jr."``,
``"Louis Gossett, Jr."``, ``"John Smith, III"``) stays inside the name.
"""

from __future__ import annotations

import re

#: Suffixes that follow a name after a comma and belong to it (compared without case or final dot).
NAME_SUFFIXES: frozenset[str] = frozenset({"jr", "sr", "ii", "iii", "iv", "v", "esq", "phd", "ph.d", "md", "m.d"})

_SEP = re.compile(r"\s*,\s*")


def _is_suffix(part: str) -> bool:
    return part.casefold().rstrip(".") in NAME_SUFFIXES


def split_names(text: str) -> list[str]:
    """The names joined in ``text`` by commas, stripped, empty pieces dropped; a piece that is a
    name suffix (``Jr.``, ``Sr.``, ``III`` ...) is kept with the name before it, after ``", "``."""
    out: list[str] = []
    for part in _SEP.split(text.strip()):
        if not part:
            continue
        if out and _is_suffix(part):
            out[-1] = f"{out[-1]}, {part}"
        else:
            out.append(part)
    return out
