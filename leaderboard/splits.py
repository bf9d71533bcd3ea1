"""The registry of known split hashes: ``leaderboard/splits.json``, dataset -> split name -> sha256.

A submission is accepted only on a registered split, so every row of a table was tested on the
same movies. The packaged splits (``mmimdb2-idkg``, ``mmimdb2-idkg-alt`` for ``mmimdb2``;
``mmimdb-idkg`` for ``mmimdb``) are computed from :func:`mmimdb2.splits.packaged_split`; other
splits (the demo's, a new dataset's) are added from their split folder::

    python -m leaderboard.splits --refresh                      # recompute the packaged entries
    python -m leaderboard.splits --add demo --split-dir DIR     # DIR holds train.txt, dev.txt, test.txt
    python -m leaderboard.splits --add demo                     # the split of mmimdb2.load("demo")
    python -m leaderboard.splits --add mmimdb --split official  # MM-IMDb's split.json (needs the data)
    python -m leaderboard.splits --list

Names starting with ``authors`` are reserved for rows of the authors' protocol (see the schema).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from leaderboard.results import AUTHORS_PREFIX, NAME_PATTERN, SPLIT_NAME_PATTERN
from mmimdb2.io import BadJSON, atomic_write_json, read_json
from mmimdb2.splits import Split, packaged_split, read_split_dir

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


def known_splits(leaderboard_dir: str | Path | None = None) -> dict[str, dict[str, str]]:
    """``{dataset: {split name: sha256}}`` from ``splits.json`` (empty when the file is absent)."""
    path = splits_path(leaderboard_dir)
    if not path.exists():
        return {}
    try:
        data = read_json(path, max_bytes=MAX_REGISTRY_BYTES, max_depth=2)
    except BadJSON as e:
        raise SplitsRegistryError(str(e)) from None
    ok = isinstance(data, dict) and all(
        isinstance(v, dict) and all(isinstance(n, str) and isinstance(h, str) for n, h in v.items()) for v in data.values()
    )
    if not ok:
        raise SplitsRegistryError(f"{path}: expected {{dataset: {{split name: sha256}}}}")
    for dataset, entries in data.items():
        for name, sha in entries.items():
            problem = entry_problem(dataset, name, sha)
            if problem:
                raise SplitsRegistryError(f"{path}: {problem}")
    return data


def entry_problem(dataset: str, name: str, sha256: str) -> str | None:
    """Why ``dataset/name = sha256`` cannot be a registry entry (one line), or None.

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
    return None


def names_for(known: dict[str, dict[str, str]], dataset: str, sha256: str) -> list[str]:
    """Registered names of ``sha256`` for ``dataset`` (a hash may be registered under several names)."""
    return sorted(n for n, h in known.get(dataset, {}).items() if h == sha256)


def add_split(dataset: str, name: str, sha256: str, leaderboard_dir: str | Path | None = None) -> Path:
    """Register ``sha256`` as split ``name`` of ``dataset``; re-adding the same entry is a no-op."""
    problem = entry_problem(dataset, name, sha256)
    if problem:
        raise SplitsRegistryError(problem)
    known = known_splits(leaderboard_dir)
    old = known.get(dataset, {}).get(name)
    if old is not None and old != sha256:
        raise SplitsRegistryError(
            f"{dataset}/{name} is already registered with hash {old[:12]}…; a changed split needs a new name"
        )
    known.setdefault(dataset, {})[name] = sha256
    return atomic_write_json(splits_path(leaderboard_dir), known)


def packaged_entries() -> dict[str, dict[str, str]]:
    """The registry entries of the packaged splits, recomputed from the manifests."""
    out: dict[str, dict[str, str]] = {}
    for manifest, dataset in PACKAGED.items():
        out.setdefault(dataset, {})[manifest] = packaged_split(manifest).sha256
    return out


def refresh_packaged(leaderboard_dir: str | Path | None = None) -> Path:
    """Write the packaged entries into ``splits.json``, keeping every other entry."""
    for dataset, entries in packaged_entries().items():
        for name, sha in entries.items():
            add_split(dataset, name, sha, leaderboard_dir)
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
            for dataset, entries in sorted(known_splits(args.leaderboard_dir).items()):
                for name, sha in sorted(entries.items()):
                    print(f"{dataset}\t{name}\t{sha}")
            return 0
        if args.refresh:
            path = refresh_packaged(args.leaderboard_dir)
            print(f"refreshed {len(PACKAGED)} packaged splits in {path}")
            return 0
        dataset, split = _split_of(args.add, args.split_dir, args.split)
        name = args.name or split.name
        path = add_split(dataset, name, split.sha256, args.leaderboard_dir)
        sizes = ", ".join(f"{p} {len(split[p])}" for p in split.parts)
        print(f"registered {dataset}/{name} = {split.sha256} ({sizes}) in {path}")
        return 0
    except (ValueError, OSError) as e:  # SplitsRegistryError, SplitError, mmimdb2's DatasetError/DatasetNotFound
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
