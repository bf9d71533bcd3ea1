"""What the rendered tables read off validated result records: row labels, provenance text,
ranking, the group's usual values and a run's counterpart under another setting.

Every choice is deterministic: ties are broken by a digest of the record's identity, never by
file order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from leaderboard.markdown import value
from leaderboard.results import identity
from mmimdb2.io import digest

Record = dict[str, Any]


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested config keys as ``a.b`` paths (an empty mapping stays one value)."""
    out: dict[str, Any] = {}
    for k, v in config.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v:
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def kg_text(record: Record) -> str:
    kg = record["kg"]
    return "—" if kg is None else f"{kg['model']} ({kg['dim']}d, {kg['epochs']} ep)"


def code_text(record: Record) -> str:
    cv = record["code_version"]
    text = cv["git"] or f"v{cv['package']}"
    return text + ("-dirty" if cv["dirty"] else "")


def hardware_text(record: Record) -> str:
    hw = record["hardware"]
    return hw["gpu"] or hw["cpu"]


def ident_digest(obj: Any) -> str:
    """A stable tie-break between rows: the project's one key digest of an identity."""
    return digest(obj)


def tiebreak(record: Record) -> str:
    """The last sort key of every row order: a digest of the record's identity."""
    return ident_digest(identity(record))


def labels(
    records: Sequence[Record],
    fields: Sequence[str] = ("config", "kg", "encoder"),
    base: Callable[[Record], str] = lambda r: r["model"]["name"],
) -> dict[int, str]:
    """Row label per record (keyed by ``id``): its ``base`` (the model name), plus what tells
    records of one base apart.

    ``fields`` says where to look: config keys (flattened, ``unset`` when a row lacks one), the
    KG embedding and the encoder; only values that differ among records of one base are shown.
    """
    by_base: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        by_base[base(r)].append(r)
    out: dict[int, str] = {}
    for name, rows in by_base.items():
        described = []
        for r in rows:
            d = {k: value(v) for k, v in sorted(flatten(r["model"]["config"]).items())} if "config" in fields else {}
            if "kg" in fields:
                d["kg"] = kg_text(r)
            if "encoder" in fields:
                d["encoder"] = r["encoder"]["name"]
            described.append(d)
        keys = list(dict.fromkeys(k for d in described for k in d))
        varying = [k for k in keys if len({d.get(k, "unset") for d in described}) > 1]
        for r, d in zip(rows, described):
            extra = ", ".join(f"{k}={d.get(k, 'unset')}" for k in varying)
            out[id(r)] = name + (f" ({extra})" if extra else "")
    return out


def sort_by_score(records: Sequence[Record], names: Mapping[int, str]) -> list[Record]:
    """Best micro-F1 first, then macro-F1, then the label ``names[id(r)]``."""
    return sorted(records, key=lambda r: (-r["aggregate"]["mean"]["micro"], -r["aggregate"]["mean"]["macro"], names[id(r)], tiebreak(r)))


def most_seeds(records: Sequence[Record]) -> Record:
    """The run with the most seeds (ties by identity digest)."""
    return min(records, key=lambda r: (-len(r["seeds"]), tiebreak(r)))


def mode(values: Sequence[Any]) -> Any:
    """The most common value; ties go to the smallest, so the choice does not depend on file order."""
    counts: dict[Any, int] = defaultdict(int)
    for v in values:
        counts[v] += 1
    return min(counts, key=lambda v: (-counts[v], str(v))) if counts else None


def counterpart(record: Record, pool: Sequence[Record], **override: Any) -> Record | None:
    """The record of ``pool`` with ``record``'s identity changed by ``override`` (seeds may differ)."""
    want = identity(record) | override
    exact = [r for r in pool if identity(r) == want]
    if exact:
        return exact[0]
    want.pop("seeds")
    loose = [r for r in pool if {k: v for k, v in identity(r).items() if k != "seeds"} == want]
    return most_seeds(loose) if loose else None
