"""Builder performance: titles/s of the full pipeline against a local server, and the TSV pass.

Run: ``pytest benchmarks/perf/test_bench_build.py --benchmark-enable``. Figures go to
``extra_info`` (rows/s, peak memory, titles/s) and are printed. Targets (issue 4): the TSV pass
streams >= 200,000 rows/s on one core, with peak memory that does not grow with the file.
"""

from __future__ import annotations

import gzip
import random
import shutil
import time
import tracemalloc
from pathlib import Path

import pytest

from mmimdb2.builder import BuildConfig, build, tsv
from mmimdb2.builder.fakeweb import FAST_RETRY, FakeWeb, make_world

WANTED = 34_000  # about the size of MM-IMDb 2.0


def write_principals(path: Path, rows: int, seed: int = 0) -> None:
    """An IMDb-shaped ``title.principals.tsv.gz`` of ``rows`` rows (about 6 rows per title)."""
    rng = random.Random(seed)
    cats = ("actor", "actress", "director", "writer", "producer", "self")
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as f:
        f.write("tconst\tordering\tnconst\tcategory\tjob\tcharacters\n")
        chunk = []
        for i in range(rows):
            chunk.append(f"tt{i // 6:07d}\t{i % 6 + 1}\tnm{rng.randrange(10_000_000):07d}\t{cats[i % 6]}\t\\N\t[\"Role {i % 97}\"]\n")
            if len(chunk) == 100_000:
                f.write("".join(chunk))
                chunk = []
        f.write("".join(chunk))


def wanted_ids(rows: int) -> set[str]:
    titles = rows // 6
    rng = random.Random(1)
    return {f"tt{rng.randrange(titles):07d}" for _ in range(WANTED)}


def stream_all(path: Path, wanted: set[str]) -> int:
    n = 0
    for _ in tsv.stream_rows(path, wanted):
        n += 1
    return n


def peak_memory(path: Path, wanted: set[str]) -> int:
    tracemalloc.start()
    stream_all(path, wanted)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


@pytest.fixture(scope="module")
def tsv_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("tsvbench")
    small, big = d / "small.tsv.gz", d / "big.tsv.gz"
    write_principals(small, 250_000)
    write_principals(big, 1_200_000)
    return small, big


def test_tsv_stream_rows_per_second(benchmark, tsv_files):
    _, big = tsv_files
    wanted = wanted_ids(1_200_000)
    matched = benchmark.pedantic(stream_all, args=(big, wanted), rounds=3, iterations=1)
    rate = 1_200_000 / benchmark.stats.stats.mean
    benchmark.extra_info.update(rows=1_200_000, matched=matched, rows_per_s=round(rate))
    print(f"\nTSV stream: 1,200,000 rows, {matched} matched, {rate:,.0f} rows/s (mean of 3)")
    assert rate >= 200_000


def test_tsv_peak_memory_does_not_grow_with_the_file(tsv_files):
    small, big = tsv_files
    # the same wanted set for both, so only the file size differs
    wanted = wanted_ids(250_000)
    p_small, p_big = peak_memory(small, wanted), peak_memory(big, wanted)
    print(f"\nTSV peak traced memory: 250,000 rows {p_small / 1e6:.2f} MB, 1,200,000 rows {p_big / 1e6:.2f} MB (wanted set excluded: built before tracing)")
    assert p_big < 1.2 * p_small + 256_000


def test_cinemagoer_sqlite_import_for_comparison(benchmark, tmp_path):
    """The alternative we measured and did not pick (see mmimdb2/builder/tsv.py)."""
    from imdb.parser.s3.importer import import_dir

    src = tmp_path / "src"
    src.mkdir()
    rows = 200_000
    write_principals(src / "title.principals.tsv.gz", rows)

    def run():
        db = tmp_path / "imdb.db"
        db.unlink(missing_ok=True)
        import_dir(str(src), f"sqlite:///{db}")

    benchmark.pedantic(run, rounds=1, iterations=1)
    t = benchmark.stats.stats.mean
    wanted = wanted_ids(rows)
    t0 = time.perf_counter()
    stream_all(src / "title.principals.tsv.gz", wanted)
    ts = time.perf_counter() - t0
    benchmark.extra_info.update(cinemagoer_rows_per_s=round(rows / t), stream_rows_per_s=round(rows / ts))
    print(f"\ncinemagoer import_dir (SQLite): {rows / t:,.0f} rows/s; streaming filter: {rows / ts:,.0f} rows/s")


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "cached"])
def test_full_pipeline_titles_per_second(benchmark, tmp_path, warm):
    n = 100
    web = FakeWeb()
    try:
        world = make_world(tmp_path / "world", web, n=n)
        cache = tmp_path / "cache"
        counter = iter(range(100))

        def setup():
            out = tmp_path / f"out{next(counter)}"
            if not warm:
                shutil.rmtree(cache, ignore_errors=True)
            cfg = BuildConfig(
                out=out, manifest=str(world.manifest), sources=["tsv", "tmdb", "omdb"], tsv_dir=world.tsv_dir,
                workers=4, rate=10_000.0, retry=FAST_RETRY, env=dict(world.env), progress=False,
                cache_dir=cache, log=lambda s: None,
            )  # fmt: skip
            return (cfg,), {}

        if warm:
            build(setup()[0][0])  # fill the cache
        res = benchmark.pedantic(build, setup=setup, rounds=3, iterations=1)
        assert res.complete
        rate = n / benchmark.stats.stats.mean
        benchmark.extra_info.update(titles=n, titles_per_s=round(rate, 1), cache="warm" if warm else "cold")
        print(f"\nfull pipeline ({'cache' if warm else 'cold, 3 requests/title'}): {rate:,.1f} titles/s (4 workers, local server)")
    finally:
        web.close()
