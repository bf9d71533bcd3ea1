"""Command line of the builder: ``build`` (the default), ``--verify``, and ``select``.

Exit codes: 0 the build is complete (or verifies), 1 incomplete, a field a selected source should
give at 0% coverage (or files changed), 2 usage or configuration error (a bad option, a TSV that
is not IMDb's, a TSV file the ``tsv`` source needs that is missing or cannot be downloaded, another
build writing into ``--out``: its pid, host and start time are named; a file that cannot be written), 130
interrupted by Ctrl-C (re-run the same command to continue). The summary's ``status`` line is the
``status`` written to ``DATASET.json``, and exit 0 goes with ``"complete": true`` only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mmimdb2.builder.http import RetryPolicy
from mmimdb2.builder.sources import DEFAULT_SOURCES, SOURCES, UnknownSource, parse_sources
from mmimdb2.progress import add_progress_flag, show_progress


def _rate(s: str) -> float:
    """``2``, ``2/s`` or ``0.5/s`` -> requests per second."""
    v = s.strip().removesuffix("/s")
    try:
        r = float(v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a rate: {s!r} (want e.g. 2 or 0.5/s)") from None
    if r <= 0:
        raise argparse.ArgumentTypeError(f"rate must be > 0, got {s!r}")
    return r


def _positive(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {s!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m mmimdb2.build",
        description="Build MM-IMDb 2.0 (or another manifest) into --out, resumably. "
        "Subcommand: 'select' writes a new manifest from IMDb's TSVs (python -m mmimdb2.build select -h).",
    )
    p.add_argument("--out", type=Path, required=True, help="output folder (re-running continues an interrupted build)")
    p.add_argument("--manifest", default="mmimdb2", help="'mmimdb2' (the packaged IDKG split, default) or a folder with train.txt, dev.txt, test.txt")
    p.add_argument("--sources", default=",".join(DEFAULT_SOURCES), help=f"comma-separated, tried in this order; available: {', '.join(SOURCES)} (default {','.join(DEFAULT_SOURCES)})")
    p.add_argument("--tsv-dir", type=Path, help="folder with IMDb's title.basics/title.crew/title.principals/name.basics .tsv.gz (default: downloaded into OUT/.build/tsv)")
    p.add_argument("--archive", type=Path, help="the authors' released MM-IMDb 2.0 folder (or its dataset/), or a folder of saved IMDb pages tt*.html")
    p.add_argument("--limit", type=_positive, help="build only the first N ids, spread over train/dev/test in proportion (default: all)")
    p.add_argument("--workers", type=_positive, default=4, help="parallel movies (default 4)")
    p.add_argument("--rate", type=_rate, default=1.0, help="requests per second per host, shared by all workers (default 1/s)")
    p.add_argument("--attempts", type=_positive, default=4, help="tries per request before giving up (default 4)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for an answer (default 30)")
    p.add_argument("--http-cache", type=Path, help="HTTP response cache (default OUT/.build/http-cache)")
    p.add_argument("--cache-dir", dest="http_cache", type=Path, help=argparse.SUPPRESS)  # its name before 2026-12; kept working
    add_progress_flag(p)
    p.add_argument("--verify", action="store_true", help="only re-check an existing build against its MANIFEST")
    return p


def _verify(out: Path) -> int:
    from mmimdb2.builder.verify import VerifyError, verify

    try:
        rep = verify(out)
    except VerifyError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for line in rep.lines():
        print(line)
    print(f"{'OK' if rep.ok else 'FAILED'}: {rep.checked} files checked, {len(rep.changed)} changed, "
          f"{len(rep.missing)} missing, {len(rep.unlisted)} unlisted" + ("; the build has not finished" if rep.unfinished else ""))  # fmt: skip
    return 0 if rep.ok else 1


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["select"]:
        from mmimdb2.builder.select import main as select_main

        return select_main(argv[1:])
    args = build_parser().parse_args(argv)
    if args.verify:
        return _verify(args.out)
    import os

    from mmimdb2.builder.lock import BuildLocked
    from mmimdb2.builder.pipeline import BuildConfig, ConfigError, build, build_redactor

    red = build_redactor(dict(os.environ))  # the same filter the build uses: no key in what we print
    try:
        sources = parse_sources(args.sources)
        cfg = BuildConfig(
            out=args.out, manifest=args.manifest, sources=sources, tsv_dir=args.tsv_dir, archive=args.archive,
            limit=args.limit, workers=args.workers, rate=args.rate,
            retry=RetryPolicy(attempts=args.attempts, timeout=(min(10.0, args.timeout), args.timeout)),
            cache_dir=args.http_cache, progress=show_progress(args.progress),
        )  # fmt: skip
        result = build(cfg)
    except (ConfigError, UnknownSource, BuildLocked, OSError) as e:
        print(red(f"error: {e}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # before the movie loop (e.g. during the TSV pass): nothing to summarise
        print("interrupted before any movie was processed; re-run the same command to continue", file=sys.stderr)
        return 130
    except Exception as e:  # a bug: one redacted line (a traceback could quote a key), exit 1
        print(red(f"error: unexpected {type(e).__name__}: {e} (please report it)"), file=sys.stderr)
        return 1
    print(red(result.summary()))
    return result.exit_code
