"""The build: manifest -> sources -> validated movies on disk -> split, failures, datasheet, MANIFEST.

One build at a time writes into a folder (:mod:`mmimdb2.builder.lock`). Resumable by
construction: movies already in the journal (with their files present) are skipped unless a source
is usable now that was not when they were built (they are then re-merged, so the new source's
fields take their place by precedence); the rest are assembled by a bounded pool of threads sharing
one per-host rate limiter and one response cache, and the final files are derived from the dataset
folder and the journal only, so a run that was killed and resumed ends with the same bytes as one
that never stopped.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from mmimdb2 import croissant
from mmimdb2.builder import coverage, datasheet, tsv
from mmimdb2.builder._version import __version__
from mmimdb2.builder.http import HostRateLimiter, ResponseCache, RetryPolicy
from mmimdb2.builder.journal import Journal
from mmimdb2.builder.lock import BuildLock
from mmimdb2.builder.manifest import limit_split, resolve_manifest
from mmimdb2.builder.merge import Assembled, Cancelled, Problem, assemble
from mmimdb2.builder.secrets import Redactor, redactor_for
from mmimdb2.builder.sources import DEFAULT_SOURCES, SOURCES, Source, SourceContext, Unavailable, resolve_source
from mmimdb2.builder.validate import PosterPolicy
from mmimdb2.builder.verify import WORK_DIR, write_manifest
from mmimdb2.builder.writer import movie_files_ok, remove_strays, remove_temp_files, sha256_file, write_movie
from mmimdb2.io import atomic_write_json, atomic_write_text
from mmimdb2.layouts.common import UNFINISHED
from mmimdb2.splits import Split, write_split_dir
from mmimdb2.text import ascii_int

DATASET_VERSION = "2.0"


class ConfigError(ValueError):
    """The build cannot start: a bad option, no usable source, an unreadable manifest."""


@dataclass
class BuildConfig:
    """Every knob of a build; the CLI fills it from its flags, tests pass tiny delays and local URLs."""

    out: Path
    manifest: str = "mmimdb2"
    sources: list[str] = field(default_factory=lambda: list(DEFAULT_SOURCES))
    tsv_dir: Path | None = None
    archive: Path | None = None
    limit: int | None = None
    workers: int = 4
    rate: float = 1.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    poster: PosterPolicy = field(default_factory=PosterPolicy)
    cache_dir: Path | None = None
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    progress: bool = True
    log: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True)

    def redactor(self) -> Redactor:
        """The build's one secret filter: the values of every source's key variables in ``env``."""
        return build_redactor(self.env)


def build_redactor(env: dict[str, str]) -> Redactor:
    """A :class:`Redactor` for the API keys and tokens of all registered sources found in ``env``."""
    return redactor_for(env, [v for name in SOURCES for v in SOURCES.load(name).secret_env])


def build_status(*, target: int, built: int, not_movies: int, interrupted: bool, empty: dict[str, list[str]]) -> tuple[bool, str]:
    """(complete, status): the one rule the summary, the exit code and ``DATASET.json`` share.

    Complete: every manifest id is built or refused as a non-movie (its reason in failures.jsonl),
    and no field a used source should give is at 0%. Status: ``complete``, ``INCOMPLETE: ...``
    (ids failed or not attempted: re-run, or read failures.jsonl), ``FAILED: ...`` (a field at
    0%) or ``interrupted``.
    """
    if interrupted:
        return False, "interrupted: re-run the same command to continue"
    if empty:
        return False, "FAILED: " + "; ".join(f"no built movie has {f} although {', '.join(s)} should give it" for f, s in empty.items())
    left = target - built - not_movies
    if left:
        return False, f"INCOMPLETE: {left} of {target} manifest ids not built (failures.jsonl says why; re-run to retry)"
    return True, "complete"


@dataclass
class BuildResult:
    """What a run did: counts, the sources' states, and whether the build is complete."""

    out: Path
    target: int
    built: int
    failed: int
    pending: int
    this_run: int
    interrupted: bool
    sources: dict[str, str]
    field_sources: dict[str, Counter]
    seconds: float
    skipped: int = 0
    coverage: dict[str, tuple[int, int]] = field(default_factory=dict)
    empty: dict[str, list[str]] = field(default_factory=dict)  # field at 0% -> the sources that should give it

    @property
    def status(self) -> str:
        """The summary's status line, as written to ``DATASET.json`` (:func:`build_status`)."""
        return build_status(target=self.target, built=self.built, not_movies=self.skipped, interrupted=self.interrupted, empty=self.empty)[1]

    @property
    def complete(self) -> bool:
        """Every id built or refused as a non-movie, no field at 0%: ``DATASET.json``'s ``complete``."""
        return build_status(target=self.target, built=self.built, not_movies=self.skipped, interrupted=self.interrupted, empty=self.empty)[0]

    @property
    def exit_code(self) -> int:
        return 130 if self.interrupted else (0 if self.complete else 1)

    def summary(self) -> str:
        rows = [
            ("output", str(self.out)),
            ("movies in manifest", str(self.target)),
            ("built", str(self.built)),
            ("failed (failures.jsonl)", str(self.failed)),
            ("skipped, not movies (failures.jsonl)", str(self.skipped)),
            ("not attempted yet", str(self.pending)),
            ("processed this run", f"{self.this_run} in {self.seconds:.1f} s ({self.this_run / max(self.seconds, 1e-9):.2f}/s)"),
        ]
        rows += [(f"source {n}", s) for n, s in self.sources.items()]
        for f, c in sorted(self.field_sources.items()):
            rows.append((f"field {f}", ", ".join(f"{s} {k}" for s, k in c.most_common())))
        rows += coverage.lines(self.coverage)
        rows.append(("status", self.status))
        w = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{w}}  {v}" for k, v in rows)


def _build_date(cfg: BuildConfig, journal: Journal) -> str:
    """``SOURCE_DATE_EPOCH`` (reproducible builds) if set, else the first run's date from the journal."""
    epoch = ascii_int(cfg.env.get("SOURCE_DATE_EPOCH"), max_digits=11)
    if epoch is not None:
        return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).date().isoformat()
    runs = journal.runs()
    return runs[0]["started"][:10] if runs else dt.datetime.now(dt.timezone.utc).date().isoformat()


def _open_sources(cfg: BuildConfig, ctx: SourceContext, ids: list[str]) -> tuple[list[Source], dict[str, str]]:
    """Prepare each selected source: one that cannot run is skipped with its reason; a damaged TSV stops the build."""
    active, states = [], {}
    for name in cfg.sources:
        src = resolve_source(name)(ctx)
        try:
            src.prepare(ids)
        except Unavailable as e:
            ctx.log(f"{name}: skipped: {e}")
            states[name] = f"skipped: {e}"
            continue
        except (tsv.TsvError, tsv.TsvMissing) as e:
            raise ConfigError(f"{name}: {e}") from None
        active.append(src)
        states[name] = "used"
    return active, states


def build(cfg: BuildConfig, cancel: threading.Event | None = None) -> BuildResult:
    """Run (or resume) a build; raise :class:`ConfigError` when it cannot start, and
    :class:`~mmimdb2.builder.lock.BuildLocked` (naming the holder) while another build writes into ``cfg.out``."""
    t0 = time.monotonic()
    cancel = cancel or threading.Event()
    if cfg.workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {cfg.workers}")
    if cfg.rate <= 0:
        raise ConfigError(f"--rate must be > 0 requests per second, got {cfg.rate}")
    try:
        manifest = resolve_manifest(cfg.manifest)
        target = limit_split(manifest, cfg.limit)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    red = cfg.redactor()
    log = lambda s: cfg.log(red(s))  # noqa: E731 - every message of the build passes the redactor
    with BuildLock(cfg.out, log=log):  # before anything is read or written there: one build per folder
        return _build_locked(cfg, cancel, target, red, log, t0)


def _build_locked(cfg: BuildConfig, cancel: threading.Event, target: Split, red: Redactor, log: Callable[[str], None], t0: float) -> BuildResult:
    """:func:`build` once it holds the lock on ``cfg.out``."""
    out = Path(cfg.out)
    dataset_dir, work = out / "dataset", out / WORK_DIR
    dataset_dir.mkdir(parents=True, exist_ok=True)
    journal = Journal(work / "journal.jsonl", redact=red.obj)
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    journal.append({"kind": "run", "started": started, "manifest": target.name, "split_sha256": target.sha256, "sources": cfg.sources})
    remove_temp_files(dataset_dir)
    for leftover in [*work.rglob(".*.tmp"), *work.rglob(".*.part")]:  # cache entries / downloads cut by a kill
        leftover.unlink(missing_ok=True)

    ids = list(target.all_ids)
    ctx = SourceContext(
        limiter=HostRateLimiter(cfg.rate),
        cache=ResponseCache(cfg.cache_dir or work / "http-cache"),
        retry=cfg.retry,
        work_dir=work,
        env=cfg.env,
        tsv_dir=cfg.tsv_dir,
        archive=cfg.archive,
        log=log,
    )
    sources, states = _open_sources(cfg, ctx, ids)
    if not sources:
        raise ConfigError("no usable source: " + "; ".join(f"{n} {s}" for n, s in states.items()))
    active = sorted(s.name for s in sources)
    # before any data file changes: this folder no longer holds a finished build until finalize says so
    atomic_write_json(out / "DATASET.json", {**_dataset_meta(cfg, target), "complete": False, "status": (
        f"{UNFINISHED}: the build started {started} has not finished (it is running, or it stopped before the end); "
        "run the same command again to finish it")})  # fmt: skip
    entries = journal.movies()
    done = {i for i in ids if _finished(entries.get(i), active) and movie_files_ok(dataset_dir, i, entries[i].get("sizes"))}
    remerge = sum(1 for i in ids if entries.get(i, {}).get("status") == "done" and not _finished(entries[i], active))
    if remerge:
        log(f"re-merging {remerge} built movie(s): source(s) used now that were not when they were built")
    pending = [i for i in ids if i not in done]

    this_run, interrupted = 0, False

    def work_one(imdb_id: str) -> Assembled:
        res = assemble(imdb_id, sources, policy=cfg.poster, cancel=cancel)
        # the sources this run could use (a firewalled one counts: re-asking it each resume would redo every movie)
        entry: dict = {"kind": "movie", "id": imdb_id, "problems": [p.as_dict() for p in res.problems], "sources": active}
        if res.ok:
            try:
                entry["sizes"] = write_movie(dataset_dir, imdb_id, res.movie, res.poster)  # type: ignore[arg-type]
                entry["status"] = "done"
            except ValueError as e:  # a value the normalisers missed: this movie fails, the build goes on
                bug = Problem(imdb_id, "write", "-", f"unexpected {type(e).__name__}: {e} (please report it)", fatal=True)
                entry["problems"].append(bug.as_dict())
                entry["status"] = "failed"
        else:
            entry["status"] = "skipped" if res.skipped else "failed"
        journal.append(entry)
        return res

    bar = tqdm(total=len(ids), initial=len(done), unit="title", desc="build", disable=not cfg.progress, dynamic_ncols=True)
    pool = ThreadPoolExecutor(max_workers=cfg.workers, thread_name_prefix="mmimdb2-build")
    todo = iter(pending)
    running: set[Future] = set()
    try:
        for imdb_id in todo:  # keep at most 2 x workers queued so Ctrl-C leaves little to cancel
            running.add(pool.submit(work_one, imdb_id))
            if len(running) >= 2 * cfg.workers:
                break
        while running:
            finished, running = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
            for fut in finished:
                try:
                    fut.result()
                except Cancelled:
                    continue
                this_run += 1
                bar.update(1)
            if cancel.is_set():
                interrupted = True
                break
            for imdb_id in todo:
                running.add(pool.submit(work_one, imdb_id))
                if len(running) >= 2 * cfg.workers:
                    break
    except KeyboardInterrupt:
        interrupted = True
        cancel.set()
        log("interrupted: finishing the movies in progress (press Ctrl-C again to abort)")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
    for src in sources:
        if src.stopped:
            states[src.name] = f"stopped: {src.stopped}"

    entries = journal.movies()
    built_ids = {i for i in ids if entries.get(i, {}).get("status") == "done" and movie_files_ok(dataset_dir, i, entries[i].get("sizes"))}
    failed_ids = [i for i in ids if entries.get(i, {}).get("status") == "failed"]
    skipped_ids = [i for i in ids if entries.get(i, {}).get("status") == "skipped"]
    field_sources: dict[str, Counter] = {}
    cov: dict[str, tuple[int, int]] = {}
    empty: dict[str, list[str]] = {}
    if not interrupted:
        field_sources, cov, empty = finalize(cfg, out, target, built_ids, entries, journal, sources)
        for f, names in empty.items():
            log(f"error: no built movie has {f}, although {', '.join(names)} should give it; see failures.jsonl")
        atomic_write_json(out / "BUILD_INFO.json", red.obj({
            "runs": journal.runs(), "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "sources": states, "built": len(built_ids), "skipped": len(skipped_ids), "target": len(ids),
            "coverage": {f: {"have": k, "of": n} for f, (k, n) in cov.items()}, "empty_fields": empty,
        }))  # fmt: skip
    return BuildResult(
        out=out, target=len(ids), built=len(built_ids), failed=len(failed_ids),
        pending=len(ids) - len(built_ids) - len(failed_ids) - len(skipped_ids), this_run=this_run, interrupted=interrupted,
        sources={n: red(s) for n, s in states.items()}, field_sources=field_sources, seconds=time.monotonic() - t0,
        skipped=len(skipped_ids), coverage=cov, empty=empty,
    )  # fmt: skip


def _finished(entry: dict | None, active: list[str]) -> bool:
    """A journalled movie that needs no work: built, by every source used now (a new source means a re-merge)."""
    if not entry or entry.get("status") != "done":
        return False
    return set(active) <= set(entry.get("sources", active))


def _dataset_meta(cfg: BuildConfig, target: Split) -> dict:
    """What ``DATASET.json`` says of every build into ``cfg.out``, finished or not."""
    name = "mmimdb2" if cfg.manifest in ("mmimdb2", "mmimdb2-idkg") else target.name
    return {"name": name, "version": DATASET_VERSION, "created_by": f"mmimdb2.build {__version__}",
            "manifest": target.name, "manifest_split_sha256": target.sha256}  # fmt: skip


def finalize(
    cfg: BuildConfig, out: Path, target: Split, built_ids: set[str], entries: dict[str, dict], journal: Journal, sources: list[Source]
) -> tuple[dict[str, Counter], dict[str, tuple[int, int]], dict[str, list[str]]]:
    """Write split/, failures.jsonl, DATASHEET.md, croissant.json (Croissant 1.0), MANIFEST and, last,
    DATASET.json from the data on disk; return field sources, coverage and the fields left at 0%.

    ``DATASET.json`` is the build's completion marker: until this point it says ``unfinished``, and
    it says ``complete`` (or why not) only once ``MANIFEST`` is on disk, with MANIFEST's sha256 in
    it. So MANIFEST does not list it and croissant.json does not hash it (each would need the other
    first); a disk that fills while MANIFEST is written leaves it ``unfinished``."""
    licences = {s.name: s.licence for s in sources}
    red = cfg.redactor()
    dataset_dir = out / "dataset"
    remove_strays(dataset_dir, built_ids)
    remove_temp_files(dataset_dir)
    built = target.restrict(built_ids)
    write_split_dir(built, out / "split")
    rows = []
    for i in target.all_ids:
        for p in entries.get(i, {}).get("problems", []):
            rows.append(json.dumps(red.obj(p), ensure_ascii=False, sort_keys=True) + "\n")
        if i not in entries:
            rows.append(json.dumps({"fatal": True, "id": i, "reason": "not attempted", "source": "-", "stage": "missing"}, sort_keys=True) + "\n")
    atomic_write_text(out / "failures.jsonl", "".join(rows))
    movies = {i: json.loads((dataset_dir / f"{i}.json").read_text(encoding="utf-8")) for i in built.all_ids}
    cov = coverage.coverage(movies.values())
    empty = coverage.empty_fields(cov, {s.name: s.gives for s in sources}, len(built_ids))
    not_movies = sum(1 for i in target.all_ids if entries.get(i, {}).get("status") == "skipped")
    complete, status = build_status(target=len(target.all_ids), built=len(built_ids), not_movies=not_movies, interrupted=False, empty=empty)
    meta = _dataset_meta(cfg, target)
    name = meta["name"]
    failed = [i for i in target.all_ids if i not in built_ids]
    text = datasheet.render(
        name=name, version=DATASET_VERSION, date=_build_date(cfg, journal), target=target, built=built,
        movies=movies, failed=failed, licences=licences,
    )  # fmt: skip
    atomic_write_text(out / "DATASHEET.md", text)
    croissant.write(out, croissant.describe(
        out, name=name, version=croissant.semver(DATASET_VERSION), layout="mmimdb2", movies=movies, split=built,
        split_in_folder=True, poster_exts=(".jpg",), date=_build_date(cfg, journal), leave_out=("DATASET.json",),
        description=f"{name} {DATASET_VERSION}, built by mmimdb2.build from the manifest {target.name}: {len(built_ids)} movies "
        "(poster, plot, directors and cast with IMDb nm ids, 23 genres). Every file's sha256 is in MANIFEST; DATASHEET.md describes the build.",
    ))  # fmt: skip
    manifest = write_manifest(out)
    atomic_write_json(out / "DATASET.json", {
        **meta, "split_sha256": built.sha256, "manifest_ids": len(target.all_ids), "built": len(built_ids), "not_movies": not_movies,
        "complete": complete, "status": status, "manifest_sha256": sha256_file(manifest),
    })  # fmt: skip
    per: dict[str, Counter] = {}
    for m in movies.values():
        for f, s in m.get("sources", {}).items():
            per.setdefault(f, Counter())[s] += 1
    return per, cov, empty
