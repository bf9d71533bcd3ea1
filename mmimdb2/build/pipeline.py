"""The build: manifest -> sources -> validated movies on disk -> split, failures, datasheet, MANIFEST.

Resumable by construction: movies already in the journal (with their files present) are skipped,
the rest are assembled by a bounded pool of threads sharing one per-host rate limiter and one
response cache, and the final files are derived from the dataset folder and the journal only, so a
run that was killed and resumed ends with the same bytes as one that never stopped.
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

from mmimdb2.build import datasheet
from mmimdb2.build._version import __version__
from mmimdb2.build.http import HostRateLimiter, ResponseCache, RetryPolicy
from mmimdb2.build.journal import Journal
from mmimdb2.build.manifest import limit_split, resolve_manifest
from mmimdb2.build.merge import Assembled, Cancelled, assemble
from mmimdb2.build.sources import DEFAULT_SOURCES, Source, SourceContext, Unavailable, resolve_source
from mmimdb2.build.validate import PosterPolicy
from mmimdb2.build.verify import WORK_DIR, write_manifest
from mmimdb2.build.writer import movie_files_ok, remove_strays, remove_temp_files, write_movie
from mmimdb2.io import atomic_write_json, atomic_write_text
from mmimdb2.splits import Split, write_split_dir

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

    @property
    def complete(self) -> bool:
        return not self.interrupted and self.built == self.target

    @property
    def exit_code(self) -> int:
        return 130 if self.interrupted else (0 if self.complete else 1)

    def summary(self) -> str:
        rows = [
            ("output", str(self.out)),
            ("movies in manifest", str(self.target)),
            ("built", str(self.built)),
            ("failed (failures.jsonl)", str(self.failed)),
            ("not attempted yet", str(self.pending)),
            ("processed this run", f"{self.this_run} in {self.seconds:.1f} s ({self.this_run / max(self.seconds, 1e-9):.2f}/s)"),
        ]
        rows += [(f"source {n}", s) for n, s in self.sources.items()]
        for f, c in sorted(self.field_sources.items()):
            rows.append((f"field {f}", ", ".join(f"{s} {k}" for s, k in c.most_common())))
        state = "interrupted: re-run the same command to continue" if self.interrupted else ("complete" if self.complete else "INCOMPLETE")
        rows.append(("status", state))
        w = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{w}}  {v}" for k, v in rows)


def _build_date(cfg: BuildConfig, journal: Journal) -> str:
    """``SOURCE_DATE_EPOCH`` (reproducible builds) if set, else the first run's date from the journal."""
    epoch = cfg.env.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc).date().isoformat()
    runs = journal.runs()
    return runs[0]["started"][:10] if runs else dt.datetime.now(dt.timezone.utc).date().isoformat()


def _open_sources(cfg: BuildConfig, ctx: SourceContext, ids: list[str]) -> tuple[list[Source], dict[str, str]]:
    active, states = [], {}
    for name in cfg.sources:
        src = resolve_source(name)(ctx)
        try:
            src.prepare(ids)
        except Unavailable as e:
            cfg.log(f"{name}: skipped: {e}")
            states[name] = f"skipped: {e}"
            continue
        active.append(src)
        states[name] = "used"
    return active, states


def build(cfg: BuildConfig, cancel: threading.Event | None = None) -> BuildResult:
    """Run (or resume) a build; raise :class:`ConfigError` when it cannot start."""
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
    out = Path(cfg.out)
    dataset_dir, work = out / "dataset", out / WORK_DIR
    dataset_dir.mkdir(parents=True, exist_ok=True)
    journal = Journal(work / "journal.jsonl")
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    journal.append({"kind": "run", "started": started, "manifest": target.name, "split_sha256": target.sha256, "sources": cfg.sources})
    remove_temp_files(dataset_dir)
    for leftover in [*work.rglob(".*.tmp"), *work.rglob(".*.part")]:  # cache entries / downloads cut by a kill
        leftover.unlink(missing_ok=True)

    ids = list(target.all_ids)
    entries = journal.movies()
    done = {i for i in ids if entries.get(i, {}).get("status") == "done" and movie_files_ok(dataset_dir, i, entries[i].get("sizes"))}
    pending = [i for i in ids if i not in done]

    ctx = SourceContext(
        limiter=HostRateLimiter(cfg.rate),
        cache=ResponseCache(cfg.cache_dir or work / "http-cache"),
        retry=cfg.retry,
        work_dir=work,
        env=cfg.env,
        tsv_dir=cfg.tsv_dir,
        archive=cfg.archive,
        log=cfg.log,
    )
    sources, states = _open_sources(cfg, ctx, ids)
    if not sources:
        raise ConfigError("no usable source: " + "; ".join(f"{n} {s}" for n, s in states.items()))

    this_run, interrupted = 0, False

    def work_one(imdb_id: str) -> Assembled:
        res = assemble(imdb_id, sources, policy=cfg.poster, cancel=cancel)
        entry: dict = {"kind": "movie", "id": imdb_id, "problems": [p.as_dict() for p in res.problems]}
        if res.ok:
            entry["status"] = "done"
            entry["sizes"] = write_movie(dataset_dir, imdb_id, res.movie, res.poster)  # type: ignore[arg-type]
        else:
            entry["status"] = "failed"
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
        cfg.log("interrupted: finishing the movies in progress (press Ctrl-C again to abort)")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
    for src in sources:
        if src.stopped:
            states[src.name] = f"stopped: {src.stopped}"

    entries = journal.movies()
    built_ids = {i for i in ids if entries.get(i, {}).get("status") == "done" and movie_files_ok(dataset_dir, i, entries[i].get("sizes"))}
    failed_ids = [i for i in ids if entries.get(i, {}).get("status") == "failed"]
    field_sources: dict[str, Counter] = {}
    if not interrupted:
        field_sources = finalize(cfg, out, target, built_ids, entries, journal, {s.name: s.licence for s in sources})
        atomic_write_json(out / "BUILD_INFO.json", {
            "runs": journal.runs(), "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "sources": states, "built": len(built_ids), "target": len(ids),
        })  # fmt: skip
    return BuildResult(
        out=out, target=len(ids), built=len(built_ids), failed=len(failed_ids),
        pending=len(ids) - len(built_ids) - len(failed_ids), this_run=this_run, interrupted=interrupted,
        sources=states, field_sources=field_sources, seconds=time.monotonic() - t0,
    )  # fmt: skip


def finalize(
    cfg: BuildConfig, out: Path, target: Split, built_ids: set[str], entries: dict[str, dict], journal: Journal, licences: dict[str, str]
) -> dict[str, Counter]:
    """Write split/, failures.jsonl, DATASET.json, DATASHEET.md and MANIFEST from the data on disk."""
    dataset_dir = out / "dataset"
    remove_strays(dataset_dir, built_ids)
    remove_temp_files(dataset_dir)
    built = target.restrict(built_ids)
    write_split_dir(built, out / "split")
    rows = []
    for i in target.all_ids:
        for p in entries.get(i, {}).get("problems", []):
            rows.append(json.dumps(p, ensure_ascii=False, sort_keys=True) + "\n")
        if i not in entries:
            rows.append(json.dumps({"fatal": True, "id": i, "reason": "not attempted", "source": "-", "stage": "missing"}, sort_keys=True) + "\n")
    atomic_write_text(out / "failures.jsonl", "".join(rows))
    movies = {i: json.loads((dataset_dir / f"{i}.json").read_text(encoding="utf-8")) for i in built.all_ids}
    name = "mmimdb2" if cfg.manifest in ("mmimdb2", "mmimdb2-idkg") else target.name
    atomic_write_json(out / "DATASET.json", {
        "name": name, "version": DATASET_VERSION, "created_by": f"mmimdb2.build {__version__}",
        "manifest": target.name, "manifest_split_sha256": target.sha256, "split_sha256": built.sha256,
        "complete": len(built_ids) == len(target.all_ids),
    })  # fmt: skip
    failed = [i for i in target.all_ids if i not in built_ids]
    text = datasheet.render(
        name=name, version=DATASET_VERSION, date=_build_date(cfg, journal), target=target, built=built,
        movies=movies, failed=failed, licences=licences,
    )  # fmt: skip
    atomic_write_text(out / "DATASHEET.md", text)
    write_manifest(out)
    per: dict[str, Counter] = {}
    for m in movies.values():
        for f, s in m.get("sources", {}).items():
            per.setdefault(f, Counter())[s] += 1
    return per
