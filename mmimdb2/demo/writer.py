"""Write the demo dataset: movies, posters and a fixed split, in the MM-IMDb 2.0 layout.

The demo is the default dataset of every command, so it must be deterministic (same arguments,
byte-identical files) and never half-written: :func:`ensure_demo` builds it in a temporary
sibling folder and renames it into place, and ``DATASET.json`` is always the last file written.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmimdb2.demo import labels as lab
from mmimdb2.demo import people as ppl
from mmimdb2.demo import posters as pst
from mmimdb2.demo import text as txt
from mmimdb2.genres import GENRES
from mmimdb2.io import atomic_write_bytes, atomic_write_json
from mmimdb2.splits import Split, write_split_dir

#: Bumped whenever the generator's output changes for the same arguments.
DEMO_VERSION = "2"
MARKER = "DATASET.json"
SPLIT_SHARES = (0.6, 0.1, 0.3)


class DemoError(RuntimeError):
    """The demo cannot be written where asked (e.g. a folder that holds something else)."""


@dataclass(frozen=True)
class Knobs:
    """How strong each signal is and how much noise there is; calibrated so that each modality
    alone is informative but far from perfect and the people add what plot and poster miss."""

    # labels
    p_drop_label: float = 0.06
    p_add_label: float = 0.05
    p_extra_raw_genre: float = 0.03
    # plots
    p_text_express: float = 0.8
    p_text_distractor: float = 0.25
    p_plot_uninformative: float = 0.10
    p_plot_misleading: float = 0.08
    p_second_plot: float = 0.15
    # posters
    p_poster_show: float = 0.8
    p_poster_uninformative: float = 0.12
    clutter: tuple[int, int] = (0, 3)
    pixel_noise: float = 10.0
    # people
    directors_per_movie: float = 0.2
    actors_per_movie: float = 0.45
    p_director_match: float = 0.9
    p_cast_match: float = 0.8
    person_genres_p: tuple[float, ...] = (0.6, 0.3, 0.1)
    p_no_people: float = 0.04
    p_name_only: float = 0.02
    share_name_collisions: float = 0.01


@dataclass(frozen=True)
class DemoMovie:
    """One generated movie, as written to ``dataset/<imdb_id>.json``."""

    imdb_id: str
    title: str
    year: int
    genres: list[str]
    plots: list[str]
    directors: list[dict[str, str]]
    cast: list[dict[str, str]]

    def to_json(self) -> dict:
        """The movie JSON of docs/formats.md (keys sorted on write)."""
        fields = ("title", "year", "genres", "plot", "director", "cast", "poster")
        out = {
            "imdb_id": self.imdb_id,
            "title": self.title,
            "year": self.year,
            "genres": self.genres,
            "plot": max(self.plots, key=len),
            "plots": self.plots,
            "directors": self.directors,
            "cast": self.cast,
            "sources": {f: "demo" for f in fields},
        }
        if self.directors:  # the authors' single-name key; absent (not "") when nobody is known
            out["director"] = self.directors[0]["name"]
        return out


def _streams(seed: int) -> dict[str, np.random.Generator]:
    """One independent generator per part, so changing one part leaves the others' draws alone."""
    names = ("ids", "genres", "people", "cast", "plots", "posters", "titles", "split")
    children = np.random.SeedSequence(seed).spawn(len(names))
    return {n: np.random.default_rng(c) for n, c in zip(names, children)}


def title_ids(rng: np.random.Generator, n: int) -> list[str]:
    """Distinct ``tt9`` + 7-digit ids: valid 8-digit IMDb ids far above the real ones in use."""
    return [f"tt9{int(x):07d}" for x in rng.choice(10**7, size=n, replace=False)]


def sample_year(rng: np.random.Generator, genres: list[str]) -> int:
    """Mostly recent years, Film-Noir in its 1940-1958 heyday, Westerns skewed older."""
    if "Film-Noir" in genres:
        return int(rng.integers(1940, 1959))
    scale = 30.0 if "Western" in genres else 16.0
    return int(max(1915, 2017 - np.floor(rng.exponential(scale))))


def _plot_genres(rng: np.random.Generator, genres: list[str], knobs: Knobs, weights, affinity) -> list[str]:
    """The genres a plot speaks of: its own, none (uninformative) or other ones (misleading)."""
    u = rng.random()
    if u < knobs.p_plot_uninformative:
        return []
    if u < knobs.p_plot_uninformative + knobs.p_plot_misleading:
        other = lab.sample_genre_sets(rng, 1, weights, affinity)[0]
        return [GENRES[j] for j in np.flatnonzero(other)]
    return genres


def _people_entries(rng: np.random.Generator, pool: ppl.PeoplePool, idx: list[int], p_name_only: float) -> list[dict]:
    out = []
    for i in idx:
        entry = {"name": pool.names[i], "imdb_id": pool.imdb_ids[i]}
        if rng.random() < p_name_only:
            del entry["imdb_id"]
        out.append(entry)
    return out


def _cast(
    rng: np.random.Generator, genres: np.ndarray, directors: ppl.PopularitySampler, actors: ppl.PopularitySampler,
    knobs: Knobs,
) -> tuple[list[int], list[int]]:  # fmt: skip
    """Directors (1-2) and cast (2-8) of a movie with latent ``genres``; a few movies have nobody."""
    if rng.random() < knobs.p_no_people:
        return [], []
    k_dir = 1 + int(rng.random() < 0.15)
    k_cast = int(np.clip(rng.poisson(4.2), 2, 8))
    return (ppl.pick_people(rng, directors, genres, k_dir, p_match=knobs.p_director_match),
            ppl.pick_people(rng, actors, genres, k_cast, p_match=knobs.p_cast_match))  # fmt: skip


def _plots(rng: np.random.Generator, genres: list[str], knobs: Knobs, weights, affinity) -> list[str]:
    """One plot (maybe uninformative or misleading), and for some movies a second one."""
    express = {"p_express": knobs.p_text_express, "p_distractor": knobs.p_text_distractor}
    plots = [txt.make_plot(rng, _plot_genres(rng, genres, knobs, weights, affinity), **express)]
    if rng.random() < knobs.p_second_plot:
        second = txt.make_plot(rng, genres, **express)
        if second != plots[0]:
            plots.append(second)
    return plots


def make_movies(n_movies: int, seed: int, knobs: Knobs = Knobs()) -> tuple[list[DemoMovie], np.ndarray, Split]:
    """All demo movies, their (H, W, 3) posters and the split, from ``seed`` alone."""
    rs = _streams(seed)
    affinity = lab.affinity_matrix()
    weights = lab.calibrated_weights(affinity)
    latent = lab.sample_genre_sets(rs["genres"], n_movies, weights, affinity)
    observed = lab.add_label_noise(rs["genres"], latent, weights, p_drop=knobs.p_drop_label, p_add=knobs.p_add_label)
    raw_genres = lab.raw_genre_lists(rs["genres"], observed, p_extra=knobs.p_extra_raw_genre)

    n_dir = max(8, round(n_movies * knobs.directors_per_movie))
    n_act = max(30, round(n_movies * knobs.actors_per_movie))
    names = ppl.synthetic_names(rs["people"], n_dir + n_act, share_collisions=knobs.share_name_collisions)
    nm = ppl.person_ids(rs["people"], n_dir + n_act)
    directors = ppl.make_pool(rs["people"], n_dir, weights, affinity, names=names[:n_dir], ids=nm[:n_dir],
                              k_probs=knobs.person_genres_p)
    actors = ppl.make_pool(rs["people"], n_act, weights, affinity, names=names[n_dir:], ids=nm[n_dir:],
                           k_probs=knobs.person_genres_p)

    dir_sampler, act_sampler = directors.sampler(), actors.sampler()
    ids = title_ids(rs["ids"], n_movies)
    cv = pst.Canvas.make(rs["posters"])
    movies, images = [], np.empty((n_movies, pst.HEIGHT, pst.WIDTH, 3), dtype=np.uint8)
    for i in range(n_movies):
        g_idx = np.flatnonzero(latent[i])
        g_names = [GENRES[j] for j in g_idx]
        dirs, cast = _cast(rs["cast"], g_idx, dir_sampler, act_sampler, knobs)
        plots = _plots(rs["plots"], g_names, knobs, weights, affinity)
        ri = rs["posters"]
        shown = g_names if ri.random() >= knobs.p_poster_uninformative else []
        images[i] = pst.draw_poster(ri, cv, shown, p_show=knobs.p_poster_show, n_clutter=knobs.clutter,
                                    noise=knobs.pixel_noise)  # fmt: skip
        rt = rs["titles"]
        movies.append(DemoMovie(
            imdb_id=ids[i], title=txt.make_title(rt), year=sample_year(rt, g_names), genres=raw_genres[i],
            plots=plots, directors=_people_entries(rs["cast"], directors, dirs, 0.0),
            cast=_people_entries(rs["cast"], actors, cast, knobs.p_name_only),
        ))  # fmt: skip
    return movies, images, make_split(rs["split"], ids)


def make_split(rng: np.random.Generator, ids: list[str], shares=SPLIT_SHARES) -> Split:
    """A fixed seeded 60/10/30 train/dev/test split; each part's ids sorted."""
    order = rng.permutation(len(ids))
    n_train, n_dev = int(round(shares[0] * len(ids))), int(round(shares[1] * len(ids)))
    cuts = {"train": order[:n_train], "dev": order[n_train : n_train + n_dev], "test": order[n_train + n_dev :]}
    return Split("demo", {p: tuple(sorted(ids[i] for i in idx)) for p, idx in cuts.items()})


def manifest(n_movies: int, seed: int) -> dict:
    """The content of ``DATASET.json``: the completion marker and what produced the folder."""
    return {"name": "demo", "version": DEMO_VERSION, "created_by": "mmimdb2.demo", "seed": seed, "n_movies": n_movies}


def _check_args(n_movies: int, seed: int) -> None:
    if isinstance(n_movies, bool) or not isinstance(n_movies, int) or n_movies < 20:
        raise DemoError(f"n_movies must be an integer >= 20 (so every split part has movies); got {n_movies!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise DemoError(f"seed must be a non-negative integer; got {seed!r}")


def generate(folder: str | os.PathLike[str], *, n_movies: int = 3000, seed: int = 0) -> Path:
    """Write a demo dataset of ``n_movies`` movies into ``folder`` (absent or empty) and return it.

    Same arguments give byte-identical files. ``DATASET.json`` is written last, so a folder
    without it is incomplete. Prefer :func:`ensure_demo`, which also survives crashes and races.
    """
    _check_args(n_movies, seed)
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise DemoError(f"{folder}: not an empty folder; the demo is written only into a new or empty one")
    movies, images, split = make_movies(n_movies, seed)
    data = folder / "dataset"
    data.mkdir(parents=True, exist_ok=True)

    def write_one(i: int) -> None:
        atomic_write_json(data / f"{movies[i].imdb_id}.json", movies[i].to_json())
        atomic_write_bytes(data / f"{movies[i].imdb_id}.jpg", pst.jpeg_bytes(images[i]))

    # Each atomic write waits on fsync; threads overlap those waits (file contents do not depend on order).
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write_one, range(len(movies))))
    write_split_dir(split, folder / "split")
    atomic_write_json(folder / MARKER, manifest(n_movies, seed))
    return folder


def read_manifest(folder: str | os.PathLike[str]) -> dict | None:
    """``DATASET.json`` of ``folder`` if it is a complete demo written by this module, else ``None``."""
    try:
        meta = json.loads((Path(folder) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and meta.get("created_by") == "mmimdb2.demo" else None


def ensure_demo(folder: str | os.PathLike[str], *, n_movies: int = 3000, seed: int = 0) -> Path:
    """Return ``folder`` holding a complete demo with these arguments, generating it if needed.

    It is built in a temporary sibling folder and renamed into place, so a crash never leaves a
    folder that looks complete, and two processes racing both end with the same, whole demo. A
    demo from another generator version or with other arguments is replaced; a folder that holds
    anything else is left alone (:class:`DemoError`).
    """
    _check_args(n_movies, seed)
    folder = Path(folder)
    want = manifest(n_movies, seed)
    have = read_manifest(folder)
    if have == want:
        return folder
    if folder.exists() and have is None and (not folder.is_dir() or any(folder.iterdir())):
        raise DemoError(f"{folder}: exists but is not a complete demo (no {MARKER} from mmimdb2.demo); "
                        "remove it or choose another folder")  # fmt: skip
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.tmp-"))
    try:
        generate(tmp, n_movies=n_movies, seed=seed)
        _move_into_place(tmp, folder, want)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _move_into_place(tmp: Path, folder: Path, want: dict) -> None:
    """Rename ``tmp`` to ``folder``; a stale demo there is renamed aside first and then removed.
    If another process put the same demo there first, keep theirs."""
    for _ in range(5):
        try:
            os.rename(tmp, folder)  # atomic; replaces an empty folder, fails on a non-empty one
            return
        except OSError:
            have = read_manifest(folder)
            if have == want:
                return
            if have is None and folder.exists():
                raise DemoError(f"{folder}: another process left something that is not a demo there") from None
            old = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.old-"))
            try:
                os.rename(folder, old / "demo")
            except FileNotFoundError:
                pass
            finally:
                shutil.rmtree(old, ignore_errors=True)
    raise DemoError(f"{folder}: could not move the new demo into place")
