"""One entry point, :func:`load`, for MM-IMDb, MM-IMDb 2.0 and the embedded demo.

A dataset is named (``demo``, ``mmimdb``, ``mmimdb2``: folders under :func:`mmimdb2.paths.data_root`)
or given as a path; its layout is detected from its files. A split is chosen by name and read
from files (never drawn), checked disjoint, hashed, and restricted to the movies that loaded,
with a :class:`~mmimdb2.schema.Skip` for every id it loses.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from mmimdb2.dataset import MovieDataset
from mmimdb2.io import BadJSON, read_json
from mmimdb2.layouts import (
    MMIMDB,
    MMIMDB2,
    DatasetError,
    DatasetNotFound,
    Layout,
    Listing,
    build_unfinished,
    read_movies,
    read_split_json,
    scan_folder,
    verify_manifest,
)
from mmimdb2.paths import data_root as _data_root
from mmimdb2.schema import Skip
from mmimdb2.splits import MANIFESTS_DIR, PARTS, Split, SplitError, packaged_split, read_split_dir, with_packaged_name
from mmimdb2.text import printable

#: Dataset names resolved under the data root.
DATASET_NAMES: tuple[str, ...] = ("demo", "mmimdb", "mmimdb2")

_MMIMDB_SOURCE = (
    "MM-IMDb: the archive of Arevalo et al. at https://archive.org/details/mmimdb (extract it so that "
    "split.json and dataset/ lie in that folder)"
)
_MMIMDB2_SOURCE = (
    "MM-IMDb 2.0: the IDKG authors' release linked from https://github.com/aoluming/IDKG, "
    "or build it instead with `python -m mmimdb2.build --out DIR`"
)


def _not_found(what: str, where: Path, name: str | None) -> DatasetNotFound:
    """One line: where we looked, where the data can be had, how to build it."""
    hint = " (names resolve under --data-root, else $MMIMDB2_DATA, else ~/.cache/mmimdb2)" if name else ""
    return DatasetNotFound(f"{what}: looked in {where}{hint}; get {_MMIMDB_SOURCE}; {_MMIMDB2_SOURCE}")


def _ensure_demo(folder: Path) -> Path:
    """Generate the demo on first use (``mmimdb2.demo``, imported only here); its own refusal
    (e.g. a folder there that is not a demo) becomes a :class:`DatasetError`."""
    err: Exception | None = None
    try:
        demo = importlib.import_module("mmimdb2.demo")
    except ImportError as e:
        demo, err = None, e
    ensure = getattr(demo, "ensure_demo", None)
    if ensure is None:
        if folder.is_dir():
            return folder
        why = err if demo is None else "mmimdb2.demo has no ensure_demo"
        raise _not_found(f"demo dataset missing and its generator cannot be imported ({why})", folder, "demo")
    demo_error = getattr(demo, "DemoError", None)
    try:
        return Path(ensure(folder))
    except Exception as e:
        if isinstance(demo_error, type) and isinstance(e, demo_error):
            raise DatasetError(str(e)) from e
        raise


def _locate(name_or_path: str | os.PathLike[str], data_root: str | os.PathLike[str] | None) -> tuple[str | None, Path]:
    """(dataset name or None for a path, folder)."""
    key = str(name_or_path)
    if key in DATASET_NAMES:
        folder = _data_root(data_root) / key
        if key == "demo":
            folder = _ensure_demo(folder)
        if not folder.is_dir():
            raise _not_found(f"dataset {key!r} not found", folder, key)
        return key, folder
    folder = Path(name_or_path).expanduser()
    if not folder.is_dir():
        raise _not_found(f"no dataset folder {str(folder)!r}", folder.absolute(), None)
    return None, folder


def _folders(folder: Path) -> tuple[Path, Path]:
    """(root, data_dir): accept the dataset folder, its ``dataset/`` subfolder, or a flat folder."""
    if (folder / "dataset").is_dir():
        return folder, folder / "dataset"
    if folder.name == "dataset":
        return folder.parent, folder
    return folder, folder


def detect_layout(root: Path, data_dir: Path) -> Layout:
    """``mmimdb`` when ``split.json`` is there or the movie files are bare 7-digit ids; ``mmimdb2``
    when they are ``tt`` ids. Raises :class:`DatasetNotFound` when there are no movie files."""
    names = [n[:-5] for n in os.listdir(data_dir) if n.endswith(".json")]
    bare = sum(1 for n in names if MMIMDB.id_pattern.match(n))
    tt = sum(1 for n in names if MMIMDB2.id_pattern.match(n))
    if (root / "split.json").is_file() and tt <= bare:
        return MMIMDB
    if bare == 0 and tt == 0:
        raise _not_found("no movie files (dataset/<imdb id>.json)", data_dir, None)
    return MMIMDB if bare > tt else MMIMDB2


def _read_dataset_json(root: Path) -> dict:
    """``DATASET.json`` of ``root`` as it is (``{}`` without one)."""
    path = root / "DATASET.json"
    if not path.exists():
        return {}
    try:
        obj = read_json(path)
    except BadJSON as e:
        raise DatasetError(f"unreadable DATASET.json: {e}") from None
    if not isinstance(obj, dict):
        raise DatasetError(f"{path}: expected a JSON object, got {type(obj).__name__}")
    return obj


def _check_finished(root: Path, raw_meta: dict) -> None:
    """Refuse a folder whose build has not finished (:func:`~mmimdb2.layouts.common.build_unfinished`):
    its files may be half replaced and its split and MANIFEST are not written yet."""
    why = build_unfinished(root, raw_meta)
    if why:
        raise DatasetError(f"{root}: not loaded: {why}; run python -m mmimdb2.build --out {root} again with the same options to finish it")


def split_choices(layout: Layout, root: Path) -> list[str]:
    """The split names :func:`load` accepts for this dataset (besides a split folder path)."""
    names = ["default"]
    if layout is MMIMDB:
        names += ["official", "idkg"] if (root / "split.json").is_file() else ["idkg"]
    else:
        names += ["idkg", "idkg-alt"]
    return names + sorted(p.name for p in MANIFESTS_DIR.iterdir() if p.is_dir())


def _read_folder_split(folder: Path, name: str) -> Split:
    try:
        return read_split_dir(folder, name=name)
    except SplitError as e:
        msg = str(e)
        raise SplitError(msg if str(folder) in msg else f"{folder}: {msg}") from None


def resolve_split(split: str | os.PathLike[str], layout: Layout, root: Path) -> tuple[Split, str]:
    """(split as listed in its files, where it came from). See :func:`load` for the names."""
    key = str(split)
    packaged = {p.name for p in MANIFESTS_DIR.iterdir() if p.is_dir()}
    if key == "default":
        if layout is MMIMDB:
            if (root / "split.json").is_file():
                return read_split_json(root / "split.json", "official"), "split.json"
            raise SplitError(f"{root}: no split.json, so no default split; pass split='idkg' or a split folder")
        if (root / "split" / "train.txt").is_file():
            return _read_folder_split(root / "split", "default"), "split/"
        return packaged_split("mmimdb2-idkg"), "packaged:mmimdb2-idkg"
    if key == "official":
        if layout is MMIMDB and (root / "split.json").is_file():
            return read_split_json(root / "split.json", "official"), "split.json"
        raise SplitError(
            f"split 'official' is MM-IMDb's split.json, which {root} does not have; "
            f"available for this dataset: {', '.join(split_choices(layout, root))}, or a split folder path"
        )
    if key == "idkg":
        name = "mmimdb-idkg" if layout is MMIMDB else "mmimdb2-idkg"
        return packaged_split(name), f"packaged:{name}"
    if key == "idkg-alt" and layout is MMIMDB2:
        return packaged_split("mmimdb2-idkg-alt"), "packaged:mmimdb2-idkg-alt"
    bare = key.removeprefix("packaged:")
    if bare in packaged:
        return packaged_split(bare), f"packaged:{bare}"
    path = Path(key).expanduser()
    if path.is_dir():
        return _read_folder_split(path, path.name), str(path)
    if path.is_file() and path.name.endswith(".json"):
        return read_split_json(path, path.stem), str(path)
    raise SplitError(
        f"unknown split {key!r}; available for this dataset: {', '.join(split_choices(layout, root))}, "
        "or a split folder path (train.txt, dev.txt, test.txt)"
    )


def _why_dropped(ids: tuple[str, ...], file_skips: list[Skip], layout: Layout) -> str:
    """The first reason one of ``ids`` was dropped (``file: stage: reason``), and how many more there are."""
    names = {f"{i[2:] if layout is MMIMDB else i}.json" for i in ids}
    reasons = [printable(str(s)) for s in file_skips if s.item in names and "dropped" in s.reason]
    if not reasons:
        return ""
    more = f"; and {len(reasons) - 1:,} more (python -m mmimdb2.stats --verbose lists them)" if len(reasons) > 1 else ""
    return f" (dropped: {reasons[0]}{more})"


def _restrict(
    listed: Split, source: str, movies: dict, listing: Listing, layout: Layout, file_skips: list[Skip]
) -> tuple[Split, list[Skip]]:
    """Keep the listed ids that loaded; one skip per id dropped (saying whether its file was skipped,
    is there but never opened, or is not there); refuse a part left empty, naming why its files were dropped."""
    skips = []
    for part in PARTS:
        for i in listed[part]:
            if i in movies:
                continue
            stem = i[2:] if layout is MMIMDB else i
            if i in listing.json_files:
                why = "its movie file was skipped (see the skip for that file)"
            elif f"{stem}.json" in listing.refused:
                why = f"dataset/{stem}.json is {listing.refused[f'{stem}.json']}"
            else:
                why = f"there is no dataset/{stem}.json"
            skips.append(Skip(i, "split", f"listed in {part} of {source}, but {why}; left out of the split"))
    kept = listed.restrict(movies)
    for part in PARTS:
        if listed[part] and not kept[part]:
            raise SplitError(
                f"split {listed.name!r} ({source}) keeps no movie in part {part!r}: none of its "
                f"{len(listed[part]):,} ids loaded from this dataset{_why_dropped(listed[part], file_skips, layout)}"
            )
    return kept, skips


def load(
    name_or_path: str | os.PathLike[str] = "demo",
    split: str | os.PathLike[str] = "default",
    *,
    data_root: str | os.PathLike[str] | None = None,
    verify: bool = False,
    check_posters: bool = True,
    progress: bool | None = None,
) -> MovieDataset:
    """Load a dataset in the common schema with one fixed split.

    ``name_or_path``: ``demo`` (generated on first use), ``mmimdb`` or ``mmimdb2`` under the data
    root (``data_root``, else ``$MMIMDB2_DATA``, else ``~/.cache/mmimdb2``), or a path to a dataset
    folder (or its ``dataset/`` subfolder) in either layout.

    ``split``: ``default`` (the folder's own: ``split.json`` for MM-IMDb, ``split/`` for a built
    MM-IMDb 2.0, else the canonical packaged ``mmimdb2-idkg``), ``official`` (MM-IMDb's
    ``split.json``), ``idkg`` (the IDKG authors' lists for that dataset), ``idkg-alt`` (MM-IMDb 2.0:
    the authors' other permutation, for audits), a packaged split name, or a split folder path.

    MM-IMDb plots are IMDbPY strings ``text::author``: the suffix is stripped, every plot is kept
    in ``Movie.plots``, and ``Movie.plot`` is the longest, as GMU (Arevalo et al. 2017) did.
    Posters are checked from their header only (``check_posters``), never decoded here.
    ``verify=True`` first checks every file in ``<root>/MANIFEST`` against its size and sha256 (and
    MANIFEST against the sha256 a build's ``DATASET.json`` records). A folder whose build has not
    finished (``DATASET.json`` says so) is refused with a :class:`DatasetError`.
    What was dropped or kept despite a problem is in ``MovieDataset.skips`` (see
    :mod:`mmimdb2.layouts.records` for the rules).
    """
    name, folder = _locate(name_or_path, data_root)
    root, data_dir = _folders(folder)
    layout = detect_layout(root, data_dir)
    raw_meta = _read_dataset_json(root)
    _check_finished(root, raw_meta)
    meta = {k: str(v) for k, v in raw_meta.items() if isinstance(v, (str, int, float))}
    if verify:
        manifest_sha = raw_meta.get("manifest_sha256")  # a build's DATASET.json names its MANIFEST's hash
        verify_manifest(root, progress=progress is not False, sha256=manifest_sha if isinstance(manifest_sha, str) else None)
    listed, source = resolve_split(split, layout, root)
    listing = scan_folder(data_dir, layout.id_pattern)
    expect_title = layout is MMIMDB or bool(meta)
    movies, skips = read_movies(listing, layout, expect_title=expect_title, check_posters=check_posters, progress=progress)
    kept, split_skips = _restrict(listed, source, movies, listing, layout, skips)
    kept = with_packaged_name(kept)
    extra = {"split_source": source, "split_sha256_listed": listed.sha256, "data_dir": str(data_dir)}
    return MovieDataset(
        name=name or meta.get("name") or root.resolve().name,
        layout=layout.name,
        root=root,
        movies=movies,
        split=kept,
        skips=tuple(skips + split_skips),
        version=meta.get("version", ""),
        extra=extra,
    )
