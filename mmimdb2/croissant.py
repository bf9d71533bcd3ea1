"""``croissant.json``: a dataset folder described in Croissant 1.0 (MLCommons' metadata for ML datasets).

Why: Croissant is what dataset hubs and loaders (``mlcroissant``, TFDS, Hugging Face) read to
know a dataset's files, record fields, types, splits, licence and citation without this project's
code. The builder writes it beside ``DATASET.json`` (so ``MANIFEST`` lists and hashes it), and
:func:`write_croissant` writes one for any folder :func:`mmimdb2.load` reads.

What it says: the small files (split lists, ``DATASET.json``, ``DATASHEET.md``, ...) as
``FileObject`` with their sha256 (a build's ``DATASET.json`` is left out: it is written last,
after ``MANIFEST``, and records MANIFEST's sha256); the movie JSON files and the posters as ``FileSet`` (their
hashes are in ``MANIFEST`` where the folder has one); record sets ``movies`` (one record per
movie file, the fields that every file has, typed from their values), ``directors`` and ``cast``
(one record per person, where the files hold people as ``{"name": ...}`` objects), ``posters``
and ``split`` (each movie's part). The output has no date or absolute path, so two writes of the
same folder are byte-identical.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mmimdb2.io import atomic_write_json, read_json
from mmimdb2.splits import PARTS, Split

FILE_NAME = "croissant.json"
CONFORMS_TO = "http://mlcommons.org/croissant/1.0"

#: The JSON-LD context of Croissant 1.0 (as the spec and ``mlcroissant`` write it).
CONTEXT: dict[str, Any] = {
    "@language": "en", "@vocab": "https://schema.org/", "citeAs": "cr:citeAs", "column": "cr:column",
    "conformsTo": "dct:conformsTo", "cr": "http://mlcommons.org/croissant/", "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"}, "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/", "examples": {"@id": "cr:examples", "@type": "@json"}, "extract": "cr:extract",
    "field": "cr:field", "fileProperty": "cr:fileProperty", "fileObject": "cr:fileObject", "fileSet": "cr:fileSet",
    "format": "cr:format", "includes": "cr:includes", "isLiveDataset": "cr:isLiveDataset", "jsonPath": "cr:jsonPath",
    "key": "cr:key", "md5": "cr:md5", "parentField": "cr:parentField", "path": "cr:path", "recordSet": "cr:recordSet",
    "references": "cr:references", "regex": "cr:regex", "repeated": "cr:repeated", "replace": "cr:replace",
    "sc": "https://schema.org/", "separator": "cr:separator", "source": "cr:source", "subField": "cr:subField",
    "transform": "cr:transform", "samplingRate": "cr:samplingRate", "equivalentProperty": "cr:equivalentProperty",
}  # fmt: skip

IMDB_LICENCE = "https://developer.imdb.com/non-commercial-datasets/"

#: Per layout: where the data comes from, its licence terms and what to cite.
ORIGIN: dict[str, dict[str, str]] = {
    "mmimdb2": {
        "url": "https://github.com/aoluming/IDKG",
        "licence_note": "IMDb data: personal and non-commercial use only, under IMDb's conditions; other sources' terms are in DATASHEET.md.",
        "cite": "@inproceedings{li2023idkg, title={Incorporating Domain Knowledge Graph into Multimodal Movie Genre Classification "
        "with Self-Supervised Attention and Contrastive Learning}, author={Li, Jiaqi and others}, booktitle={Proceedings of the "
        "31st ACM International Conference on Multimedia (MM '23)}, year={2023}}",
    },
    "mmimdb": {
        "url": "https://archive.org/details/mmimdb",
        "licence_note": "IMDb data: personal and non-commercial use only, under IMDb's conditions.",
        "cite": "@article{arevalo2017gated, title={Gated Multimodal Units for Information Fusion}, author={Arevalo, John and "
        "Solorio, Thamar and Montes-y-G{\\'o}mez, Manuel and Gonz{\\'a}lez, Fabio A.}, journal={arXiv preprint arXiv:1702.01992}, year={2017}}",
    },
}

#: Movie JSON keys described as fields of ``movies``, with what they hold; any other key is left out.
KNOWN_KEYS: dict[str, str] = {
    "imdb_id": "IMDb title id as stored in the file",
    "title": "primary title",
    "original_title": "title in its original language",
    "year": "the title's year",
    "genres": "genre strings as the source gave them (the 23 labels are those in mmimdb2.GENRES)",
    "plot": "the plot used as text (the longest)",
    "plots": "every plot the sources gave",
    "director": "director as stored: one string that may join several names with ', ' (mmimdb2.load splits it, keeping 'Jr.' suffixes)",
    "directors": "directors' names",
    "cast": "principal cast, in billing order",
}

#: Files of a folder described as FileObject (with sha256) when present.
SMALL_FILES: tuple[tuple[str, str], ...] = (
    ("DATASET.json", "application/json"), ("DATASHEET.md", "text/markdown"), ("failures.jsonl", "application/jsonlines"),
    ("split.json", "application/json"),
)  # fmt: skip


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _file_object(root: Path, rel: str, fmt: str) -> dict[str, Any]:
    p = root / rel
    return {"@type": "cr:FileObject", "@id": rel, "name": rel, "contentUrl": rel, "encodingFormat": fmt,
            "contentSize": f"{p.stat().st_size} B", "sha256": _sha256(p)}  # fmt: skip


def _kind(values: list[Any]) -> str | None:
    """How a key's values (one per file) can be typed: text, integer, a list of text, a list of
    people objects; ``None`` when the files disagree (then the key is not described)."""
    if all(isinstance(v, str) for v in values):
        return "integer" if values and all(v.isascii() and v.isdigit() for v in values) else "text"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "integer"
    if all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in values):
        return "texts"
    if all(isinstance(v, list) and all(isinstance(x, dict) and isinstance(x.get("name"), str) for x in v) for v in values):
        return "people"
    return None


def _field(rs: str, name: str, desc: str, dtype: str, source: dict[str, Any], *, repeated: bool = False) -> dict[str, Any]:
    f = {"@type": "cr:Field", "@id": f"{rs}/{name}", "name": name, "description": desc, "dataType": dtype, "source": source}
    if repeated:
        f["repeated"] = True
    return f


def _id_field(rs: str, file_set: str, ext_regex: str, desc: str) -> dict[str, Any]:
    return _field(rs, "imdb_id", desc, "sc:Text", {
        "fileSet": {"@id": file_set}, "extract": {"fileProperty": "filename"}, "transform": {"regex": f"^(.+?){ext_regex}$"},
    })  # fmt: skip


def describe(
    root: Path,
    *,
    name: str,
    version: str,
    layout: str,
    movies: Mapping[str, Mapping[str, Any]],
    split: Split,
    split_in_folder: bool,
    data_dir: str = "dataset",
    poster_exts: Iterable[str] = (".jpg",),
    description: str = "",
    date: str | None = None,
    excluded: Iterable[str] = (),
    leave_out: Iterable[str] = (),
) -> dict[str, Any]:
    """The Croissant JSON-LD of a dataset folder. ``movies`` maps id -> the stored JSON object
    of each movie file described; ``split_in_folder``: the split is ``split/{train,dev,test}.txt``
    of the folder (else its ids are written inline); ``excluded``: movie files in the folder that
    are not part of the dataset (the loader dropped them), listed as the file set's ``excludes``;
    ``leave_out``: small files not to describe (the builder's ``DATASET.json``, written after this
    file as the build's completion marker, so its sha256 is not known yet)."""
    origin = ORIGIN.get(layout, ORIGIN["mmimdb2"])
    json_glob = f"{data_dir}/tt*.json" if layout == "mmimdb2" else f"{data_dir}/[0-9]*.json"
    skip = set(leave_out)
    dist: list[dict[str, Any]] = [_file_object(root, rel, fmt) for rel, fmt in SMALL_FILES if rel not in skip and (root / rel).is_file()]
    if split_in_folder:
        dist += [_file_object(root, f"split/{p}.txt", "text/plain") for p in PARTS]
        dist.append({"@type": "cr:FileSet", "@id": "split-files", "name": "split-files", "encodingFormat": "text/plain",
                     "includes": "split/*.txt", "description": "one IMDb id a line, one file per part"})  # fmt: skip
    movie_files = {"@type": "cr:FileSet", "@id": "movie-json", "name": "movie-json", "encodingFormat": "application/json",
                   "includes": json_glob, "description": "one JSON object per movie, named by its IMDb id"}  # fmt: skip
    excluded = sorted(excluded)
    if excluded:
        movie_files["excludes"] = [f"{data_dir}/{n}" for n in excluded]
    dist.append(movie_files)
    exts = sorted(set(poster_exts))
    dist.append({"@type": "cr:FileSet", "@id": "poster-files", "name": "poster-files", "encodingFormat": "image/jpeg",
                 "includes": [f"{data_dir}/*{e}" for e in exts] if len(exts) > 1 else f"{data_dir}/*{exts[0]}",
                 "description": "one poster per movie, named by its IMDb id"})  # fmt: skip

    objs = list(movies.values())
    id_desc = "IMDb title id (tt + 7-8 digits)" if layout == "mmimdb2" else "MM-IMDb id: the IMDb title number without 'tt'"
    fields = [_id_field("movies", "movie-json", r"\.json", id_desc)]
    people_sets = []
    for key, desc in KNOWN_KEYS.items():
        if key == "imdb_id" or not objs or not all(key in o for o in objs):
            continue
        kind = _kind([o[key] for o in objs])
        src = {"fileSet": {"@id": "movie-json"}, "extract": {"jsonPath": f"$.{key}"}}
        if kind == "people":
            people_sets.append((key, desc))
        elif kind is not None:
            dtype = "sc:Integer" if kind == "integer" else "sc:Text"
            fields.append(_field("movies", key, desc, dtype, src, repeated=kind == "texts"))
    record_sets = [{"@type": "cr:RecordSet", "@id": "movies", "name": "movies", "key": {"@id": "movies/imdb_id"},
                    "description": "one record per movie file", "field": fields}]  # fmt: skip
    for key, desc in people_sets:  # a file set of their own: a reader reads one set in one shape (one row per person here)
        dist.append({**movie_files, "@id": f"movie-json-{key}", "name": f"movie-json-{key}", "description": f"the movie files again, read for {key}"})
        record_sets.append({"@type": "cr:RecordSet", "@id": key, "name": key, "description": f"{desc}: one record per person of a movie", "field": [
            _id_field(key, f"movie-json-{key}", r"\.json", id_desc),
            _field(key, "name", "the person's name", "sc:Text", {"fileSet": {"@id": f"movie-json-{key}"}, "extract": {"jsonPath": f"$.{key}[*].name"}}),
        ]})  # fmt: skip
    ext_re = "(?:" + "|".join(e.replace(".", r"\.") for e in exts) + ")"
    record_sets.append({"@type": "cr:RecordSet", "@id": "posters", "name": "posters", "key": {"@id": "posters/imdb_id"},
                        "description": "each movie's poster", "field": [
        _id_field("posters", "poster-files", ext_re, id_desc),
        _field("posters", "image", "the poster", "sc:ImageObject", {"fileSet": {"@id": "poster-files"}, "extract": {"fileProperty": "content"}}),
    ]})  # fmt: skip
    split_rs: dict[str, Any] = {"@type": "cr:RecordSet", "@id": "split", "name": "split", "key": {"@id": "split/imdb_id"},
                                "description": f"the fixed split '{split.name}' (sha256 {split.sha256}): each movie's part, one of {', '.join(PARTS)}"}  # fmt: skip
    if split_in_folder:
        split_rs["field"] = [
            _field("split", "imdb_id", "IMDb title id", "sc:Text", {"fileSet": {"@id": "split-files"}, "extract": {"fileProperty": "lines"}}),
            _field("split", "part", "train, dev or test", "sc:Text", {
                "fileSet": {"@id": "split-files"}, "extract": {"fileProperty": "filename"}, "transform": {"regex": r"^(.+)\.txt$"},
            }),
        ]  # fmt: skip
    else:
        split_rs["field"] = [
            {"@type": "cr:Field", "@id": "split/imdb_id", "name": "imdb_id", "description": "IMDb title id", "dataType": "sc:Text"},
            {"@type": "cr:Field", "@id": "split/part", "name": "part", "description": "train, dev or test", "dataType": "sc:Text"},
        ]  # fmt: skip
        split_rs["data"] = [{"split/imdb_id": i, "split/part": p} for p in PARTS for i in split[p]]
    record_sets.append(split_rs)
    context = {**CONTEXT, "excludes": "cr:excludes"} if excluded else CONTEXT
    dated = {"datePublished": date} if date else {}
    return {
        "@context": context, "@type": "sc:Dataset", "conformsTo": CONFORMS_TO, "name": name,
        "description": description or f"{name}: multimodal movie-genre classification (poster, plot, directors, cast; 23 genres), "
        f"{len(objs)} movies in the {layout} layout, read with mmimdb2.load.",
        "version": version or "0.0.0", "url": origin["url"], "license": IMDB_LICENCE, "citeAs": origin["cite"],
        "creditText": origin["licence_note"], "isAccessibleForFree": True,
        **dated, "distribution": dist, "recordSet": record_sets,
    }  # fmt: skip


def semver(version: str) -> str:
    """Croissant wants MAJOR.MINOR.PATCH: ``2.0`` -> ``2.0.0``."""
    parts = version.split(".") if version else []
    return ".".join((parts + ["0", "0", "0"])[:3]) if all(p.isdigit() for p in parts) and len(parts) <= 3 else version


def write(root: Path, metadata: Mapping[str, Any]) -> Path:
    """Write ``root/croissant.json`` atomically."""
    return atomic_write_json(Path(root) / FILE_NAME, dict(metadata))


def write_croissant(ds, path: str | os.PathLike[str] | None = None) -> Path:
    """Write a Croissant file for a dataset loaded by :func:`mmimdb2.load` (default
    ``<root>/croissant.json``). It describes the loaded movies' files; their raw JSON is read again
    to type each field."""
    root = Path(ds.root)
    data_dir = Path(ds.extra.get("data_dir", root / "dataset"))
    rel_data = Path(os.path.relpath(data_dir, root)).as_posix()  # lexical: dataset/ may be a link
    stem = (lambda i: i[2:]) if ds.layout == "mmimdb" else (lambda i: i)
    movies = {i: read_json(data_dir / f"{stem(i)}.json") for i in ds.movies}
    exts = {m.poster.suffix for m in ds.movies.values() if m.poster is not None} or {".jpg"}
    in_folder = ds.extra.get("split_source") == "split/" and ds.split.all_ids == read_split_ids(root)
    pattern = re.compile(r"tt[0-9]{7,8}\.json" if ds.layout == "mmimdb2" else r"[0-9].*\.json")
    loaded = {f"{stem(i)}.json" for i in ds.movies}
    dropped = [n for n in os.listdir(data_dir) if pattern.fullmatch(n) and n not in loaded]
    meta = describe(root, name=ds.name, version=semver(ds.version), layout=ds.layout, movies=movies, split=ds.split,
                    split_in_folder=in_folder, data_dir=rel_data, poster_exts=exts, excluded=dropped)  # fmt: skip
    out = Path(path) if path is not None else root / FILE_NAME
    return atomic_write_json(out, meta)


def read_split_ids(root: Path) -> tuple[str, ...] | None:
    """The ids of ``root/split`` in part order, or ``None`` when the folder has no split files."""
    from mmimdb2.splits import read_split_dir

    try:
        return read_split_dir(root / "split").all_ids
    except (ValueError, OSError):
        return None
