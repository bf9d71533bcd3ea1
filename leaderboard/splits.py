"""The registry of known split hashes: ``leaderboard/splits.json``, dataset -> split name -> entry.

An entry is the split's sha256, or ``{"sha256": ..., "sizes": {"train": n, "dev": n, "test": n}}``
with its part sizes (entries written before sizes were recorded are plain hashes and still read).
A submission is accepted only on a registered split, so every row of a table was tested on the
same movies, and its part sizes must be the registered ones where they are known. The packaged splits (``mmimdb2-idkg``, ``mmimdb2-idkg-alt`` for ``mmimdb2``;
``mmimdb-idkg`` for ``mmimdb``) are computed from :func:`mmimdb2.splits.packaged_split`; other
splits (the demo's, a new dataset's) are added from their split folder::

    python -m leaderboard.splits --refresh                      # recompute the packaged entries
    python -m leaderboard.splits --add demo --split-dir DIR     # DIR holds train.txt, dev.txt, test.txt
    python -m leaderboard.splits --add demo                     # the split of mmimdb2.load("demo")
    python -m leaderboard.splits --add mmimdb --split official  # MM-IMDb's split.json (needs the data)
    python -m leaderboard.splits --list

Names starting with ``authors`` are reserved for rows of the authors' protocol (see the schema).
A leaderboard folder without its own ``splits.json`` (a private one, ``--leaderboard-dir``) reads
this package's; ``--add`` with ``--leaderboard-dir`` then writes the folder its own copy.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from leaderboard.results import AUTHORS_PREFIX, NAME_PATTERN, SPLIT_NAME_PATTERN
from mmimdb2.io import BadJSON, atomic_write_json, read_json
from mmimdb2.splits import PARTS, Split, packaged_split, read_split_dir

#: The leaderboard folder of this package (submissions, schema, splits registry, README).
LEADERBOARD_DIR = Path(__file__).parent
SPLITS_FILE = "splits.json"
#: Largest registry read: an entry is ~100 bytes, so 1 MiB is thousands of splits.
MAX_REGISTRY_BYTES = 1024 * 1024

#: Packaged split manifests and the dataset each belongs to.
PACKAGED: dict[str, str] = {"mmimdb2-idkg": "mmimdb2", "mmimdb2-idkg-alt": "mmimdb2", "mmimdb-idkg": "mmimdb"}


class SplitsRegistryError(ValueError):
    """The splits registry cannot be read, or an entry cannot be added."""


def splits_path(leaderboard_dir: str | Path | None = None) -> Path:
    return Path(leaderboard_dir or LEADERBOARD_DIR) / SPLITS_FILE


def registry_path(leaderboard_dir: str | Path | None = None) -> Path:
    """The ``splits.json`` read for a leaderboard folder: its own, else this package's, so a fresh
    private leaderboard (``--leaderboard-dir``) accepts the registered splits without a copy; the
    first split added there writes the folder its own file (the package's entries and the new one)."""
    own = splits_path(leaderboard_dir)
    return own if own.exists() else splits_path(LEADERBOARD_DIR)


def _read_registry(leaderboard_dir: str | Path | None) -> dict[str, dict[str, tuple[str, dict[str, int] | None]]]:
    """``{dataset: {split name: (sha256, sizes or None)}}`` of the folder's registry (:func:`registry_path`), every entry checked."""
    path = registry_path(leaderboard_dir)
    if not path.exists():
        return {}
    try:
        data = read_json(path, max_bytes=MAX_REGISTRY_BYTES, max_depth=4)
    except BadJSON as e:
        raise SplitsRegistryError(str(e)) from None
    shape = f"{path}: expected {{dataset: {{split name: sha256 or {{\"sha256\": ..., \"sizes\": {{...}}}}}}}}"
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise SplitsRegistryError(shape)
    out: dict[str, dict[str, tuple[str, dict[str, int] | None]]] = {}
    seen: dict[tuple[str, str], tuple[str, dict[str, int]]] = {}
    for dataset, entries in data.items():
        for name, entry in entries.items():
            if isinstance(entry, str):
                sha, sizes = entry, None
            elif isinstance(entry, dict) and set(entry) <= {"sha256", "sizes"} and isinstance(entry.get("sha256"), str):
                sha, sizes = entry["sha256"], entry.get("sizes")
            else:
                raise SplitsRegistryError(f"{shape}; {dataset!r}/{name!r} is {str(entry)[:80]!r}")
            problem = entry_problem(dataset, name, sha, sizes)
            if problem:
                raise SplitsRegistryError(f"{path}: {problem}")
            if sizes is not None:
                other = seen.setdefault((dataset, sha), (name, sizes))
                if other[1] != sizes:
                    raise SplitsRegistryError(
                        f"{path}: {dataset!r}/{name!r} and {dataset!r}/{other[0]!r} register hash {sha[:12]}… with different part sizes"
                    )
            out.setdefault(dataset, {})[name] = (sha, sizes)
    return out


def known_splits(leaderboard_dir: str | Path | None = None) -> dict[str, dict[str, str]]:
    """``{dataset: {split name: sha256}}`` from the folder's registry (empty when neither it nor the package has one)."""
    return {d: {n: sha for n, (sha, _) in entries.items()} for d, entries in _read_registry(leaderboard_dir).items()}


def split_sizes(leaderboard_dir: str | Path | None = None) -> dict[str, dict[str, dict[str, int]]]:
    """``{dataset: {split sha256: {train|dev|test: size}}}`` of the entries that record their part sizes."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for dataset, entries in _read_registry(leaderboard_dir).items():
        for sha, sizes in entries.values():
            if sizes is not None:
                out.setdefault(dataset, {})[sha] = dict(sizes)
    return out


def sizes_problem(where: str, sizes: Any) -> str | None:
    """Why ``sizes`` are not the part sizes of a split (one line), or None."""
    ok = (
        isinstance(sizes, Mapping) and set(sizes) == set(PARTS)
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in sizes.values())
    )  # fmt: skip
    if ok:
        return None
    return f"The 'sizes' of {where} must be {{'train': n, 'dev': n, 'test': n}} with each n an integer >= 0. Got {sizes!r} instead."


def entry_problem(dataset: str, name: str, sha256: str, sizes: Any = None) -> str | None:
    """Why ``dataset/name = sha256`` (with part ``sizes``, optional) cannot be a registry entry (one line), or None.

    The names must be ones a result can carry (the schema's patterns), so a registered split is
    never one that no submission could validate against.
    """
    where = f"{dataset!r}/{name!r}"
    if not re.search(NAME_PATTERN, dataset):
        return f"{where}: dataset name must be letters, digits and ._- (starting with a letter or digit)"
    if not re.search(SPLIT_NAME_PATTERN, name) or name.startswith(AUTHORS_PREFIX):
        return f"{where}: split name must be letters, digits and ._:- and not start with {AUTHORS_PREFIX!r} (reserved)"
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        return f"{where}: split hash is not a sha256 hex digest: {sha256[:70]!r}"
    return None if sizes is None else sizes_problem(where, sizes)


def names_for(known: dict[str, dict[str, str]], dataset: str, sha256: str) -> list[str]:
    """Registered names of ``sha256`` for ``dataset`` (a hash may be registered under several names)."""
    return sorted(n for n, h in known.get(dataset, {}).items() if h == sha256)


def add_split(
    dataset: str, name: str, sha256: str, leaderboard_dir: str | Path | None = None, *, sizes: Mapping[str, int] | None = None
) -> Path:
    """Register ``sha256`` as split ``name`` of ``dataset``, with its part ``sizes`` when given.

    Re-adding the same entry is a no-op; re-adding it with sizes fills in the sizes of an entry
    registered without them. Other sizes for a registered hash, or another hash under a registered
    name, are refused (one line).
    """
    if isinstance(sizes, Mapping):
        sizes = dict(sizes)
    problem = entry_problem(dataset, name, sha256, sizes)
    if problem:
        raise SplitsRegistryError(problem)
    registry = _read_registry(leaderboard_dir)
    old, old_sizes = registry.get(dataset, {}).get(name, (None, None))
    if old is not None and old != sha256:
        raise SplitsRegistryError(
            f"{dataset}/{name} is already registered with hash {old[:12]}…; a changed split needs a new name"
        )
    for other, (sha, have) in registry.get(dataset, {}).items():
        if sha == sha256 and have is not None and sizes is not None and have != sizes:
            raise SplitsRegistryError(f"{dataset}/{other} is already registered with part sizes {have}, not {sizes}")
    registry.setdefault(dataset, {})[name] = (sha256, sizes if sizes is not None else old_sizes)
    if sizes is not None:  # one hash, one set of sizes: fill in its other names too
        for other, (sha, have) in registry[dataset].items():
            if sha == sha256 and have is None:
                registry[dataset][other] = (sha, sizes)
    out = {d: {n: sha if sz is None else {"sha256": sha, "sizes": sz} for n, (sha, sz) in e.items()} for d, e in registry.items()}
    return atomic_write_json(splits_path(leaderboard_dir), out)


def packaged_entries() -> dict[str, dict[str, str]]:
    """The registry entries of the packaged splits, recomputed from the manifests."""
    out: dict[str, dict[str, str]] = {}
    for manifest, dataset in PACKAGED.items():
        out.setdefault(dataset, {})[manifest] = packaged_split(manifest).sha256
    return out


def part_sizes(split: Split) -> dict[str, int]:
    """``{train|dev|test: size}`` of a split, as the registry records them."""
    return {p: len(split[p]) for p in PARTS}


def refresh_packaged(leaderboard_dir: str | Path | None = None) -> Path:
    """Write the packaged entries (hash and part sizes) into ``splits.json``, keeping every other entry."""
    for manifest, dataset in PACKAGED.items():
        split = packaged_split(manifest)
        add_split(dataset, manifest, split.sha256, leaderboard_dir, sizes=part_sizes(split))
    return splits_path(leaderboard_dir)


def _split_of(dataset: str, split_dir: str | None, split: str) -> tuple[str, Split]:
    """(dataset name as results record it, split) from a split folder or from the loaded dataset."""
    if split_dir:
        return dataset, read_split_dir(split_dir)
    import mmimdb2

    load = getattr(mmimdb2, "load", None)
    if load is None:
        raise SplitsRegistryError("mmimdb2.load is not available here; pass --split-dir DIR")
    loaded = load(dataset, split)
    return loaded.name, loaded.split


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m leaderboard.splits", description="Show or extend leaderboard/splits.json.")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--add", metavar="DATASET", help="register the split of DATASET")
    g.add_argument("--refresh", action="store_true", help="recompute the packaged splits' entries")
    g.add_argument("--list", action="store_true", help="print the registry")
    p.add_argument("--split-dir", help="with --add: a folder with train.txt, dev.txt, test.txt (default: the loaded dataset's split)")
    p.add_argument("--split", default="default", help="with --add and no --split-dir: the split variant to load (default, official, idkg, ...)")
    p.add_argument("--name", help="with --add: split name to register (default: the split's own name)")
    p.add_argument("--leaderboard-dir", default=None, help="leaderboard folder (default: this package's)")
    args = p.parse_args(argv)
    try:
        if args.list:
            for dataset, entries in sorted(_read_registry(args.leaderboard_dir).items()):
                for name, (sha, sizes) in sorted(entries.items()):
                    shown = ", ".join(f"{p} {sizes[p]}" for p in PARTS) if sizes else "part sizes not recorded"
                    print(f"{dataset}\t{name}\t{sha}\t{shown}")
            return 0
        if args.refresh:
            path = refresh_packaged(args.leaderboard_dir)
            print(f"refreshed {len(PACKAGED)} packaged splits in {path}")
            return 0
        dataset, split = _split_of(args.add, args.split_dir, args.split)
        name = args.name or split.name
        path = add_split(dataset, name, split.sha256, args.leaderboard_dir, sizes=part_sizes(split))
        sizes = ", ".join(f"{p} {len(split[p])}" for p in split.parts)
        print(f"registered {dataset}/{name} = {split.sha256} ({sizes}) in {path}")
        return 0
    except (ValueError, OSError) as e:  # SplitsRegistryError, SplitError, mmimdb2's DatasetError/DatasetNotFound
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
