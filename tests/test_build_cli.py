"""The command line: exit codes, --verify, the summary, the packaged manifest, and ``select``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from test_build_helpers import web, world, write_tsv_gz  # noqa: F401

from mmimdb2.builder import cli
from mmimdb2.builder.manifest import limit_split, resolve_manifest
from mmimdb2.builder.select import reshape_quotas, select_ids, stratified_split
from mmimdb2.genres import GENRES
from mmimdb2.splits import read_split_dir


def test_build_then_verify_catches_a_changed_file(world, tmp_path, monkeypatch, capsys):
    for k, v in world.env.items():
        monkeypatch.setenv(k, v)
    out = tmp_path / "out"
    args = ["--out", str(out), "--manifest", str(world.manifest), "--sources", "tsv,tmdb", "--tsv-dir", str(world.tsv_dir),
            "--rate", "500/s", "--workers", "2", "--attempts", "2", "--no-progress"]  # fmt: skip
    assert cli.main(args) == 0
    summary = capsys.readouterr().out
    assert "status" in summary and "complete" in summary and "field plot" in summary and "tmdb 20" in summary
    assert cli.main(["--out", str(out), "--verify"]) == 0
    p = out / "split/dev.txt"
    p.write_text(p.read_text() + "tt0100099\n")
    capsys.readouterr()
    assert cli.main(["--out", str(out), "--verify"]) == 1
    text = capsys.readouterr().out
    assert "changed: split/dev.txt" in text and text.strip().splitlines()[-1].startswith("FAILED")


def test_usage_and_config_errors_exit_2_with_one_line(tmp_path):
    env = {**os.environ, "TMDB_API_KEY": "", "OMDB_API_KEY": ""}
    r = subprocess.run([sys.executable, "-m", "mmimdb2.build", "--out", str(tmp_path / "o"), "--manifest", str(tmp_path / "nope")],
                       capture_output=True, text=True, env=env, timeout=30)  # fmt: skip
    assert r.returncode == 2 and r.stderr.startswith("error: --manifest") and "Traceback" not in r.stderr
    assert cli.main(["--out", str(tmp_path / "o"), "--sources", "tmdb,omdb", "--no-progress"]) == 2  # no keys in this env
    assert cli.main(["--out", str(tmp_path / "never"), "--verify"]) == 2
    with pytest.raises(SystemExit) as e:
        cli.main(["--out", "x", "--rate", "fast"])
    assert e.value.code == 2


def test_packaged_manifest_and_limit():
    m = resolve_manifest("mmimdb2")
    assert [len(m[p]) for p in ("train", "dev", "test")] == [20245, 3375, 10122]
    small = limit_split(m, 20)
    assert [len(small[p]) for p in ("train", "dev", "test")] == [12, 2, 6] and small["train"] == m["train"][:12]
    assert sum(len(limit_split(m, 2)[p]) for p in ("train", "dev", "test")) == 2


def test_select_quotas_and_stratified_split_are_seeded():
    rng = np.random.default_rng(0)
    cands = {f"tt{i:07d}": tuple(g for j, g in enumerate(GENRES[:6]) if (i >> j) & 1 or j == i % 6) for i in range(1, 400)}
    quotas = {"Drama": 60, "Comedy": 40, "Romance": 30, "Thriller": 20, "Crime": 10, "Action": 5}
    ids = select_ids(cands, quotas, rng)
    counts = {g: sum(g in cands[i] for i in ids) for g in quotas}
    assert all(counts[g] >= quotas[g] for g in quotas) and len(ids) == len(set(ids))
    split = stratified_split(ids, cands, np.random.default_rng(1))
    sizes = [len(split[p]) for p in ("train", "dev", "test")]
    assert sum(sizes) == len(ids) and abs(sizes[0] / len(ids) - 0.6) < 0.05 and abs(sizes[2] / len(ids) - 0.3) < 0.05
    for g in ("Crime", "Drama"):  # each label spread ~60/10/30
        n = counts[g]
        assert abs(sum(g in cands[i] for i in split["train"]) - 0.6 * n) <= max(2, 0.1 * n)
    again = stratified_split(select_ids(cands, quotas, np.random.default_rng(0)), cands, np.random.default_rng(1))
    assert again.sha256 == split.sha256
    q = reshape_quotas({"A": 100, "B": 10, "C": 1}, ratio=10)
    assert q["A"] == 10 and q["C"] == 1 and 2 <= q["B"] <= 4


def test_select_cli_writes_a_manifest_the_builder_reads(tmp_path, capsys):
    d = tmp_path / "tsv"
    d.mkdir()
    rows = []
    for i in range(300):
        genres = ",".join(sorted({GENRES[i % 23], GENRES[(i * 5) % 7]}))
        rows.append([f"tt{i + 1:07d}", "movie" if i % 10 else "tvSeries", f"T{i}", f"T{i}", "0", "2000", "\\N", "90", genres])
    write_tsv_gz(d / "title.basics.tsv.gz", ["tconst", "titleType", "primaryTitle", "originalTitle", "isAdult", "startYear", "endYear", "runtimeMinutes", "genres"], rows)
    write_tsv_gz(d / "title.ratings.tsv.gz", ["tconst", "averageRating", "numVotes"], [[r[0], "7.0", str(i * 10)] for i, r in enumerate(rows)])
    args = ["select", "--tsv-dir", str(d), "--seed", "3", "--head-tail-ratio", "4", "--scale", "0.01", "--quota", "Drama=20", "--min-votes", "50"]
    assert cli.main(args + ["--out", str(tmp_path / "m1")]) == 0
    assert cli.main(args + ["--out", str(tmp_path / "m2")]) == 0
    a, b = read_split_dir(tmp_path / "m1"), read_split_dir(tmp_path / "m2")
    assert a.sha256 == b.sha256 and len(a.all_ids) > 20
    sel = json.loads((tmp_path / "m1/SELECTION.json").read_text())
    assert sel["seed"] == 3 and sel["quotas"]["Drama"] == 20 and sel["genre_counts"]["Drama"] >= 20
    assert all(int(i[2:]) % 10 != 1 and int(i[2:]) > 5 for i in a.all_ids)  # no series, enough votes
    assert cli.main(["select", "--tsv-dir", str(tmp_path), "--out", str(tmp_path / "m3")]) == 2
    assert cli.main(["select", "--tsv-dir", str(d), "--out", str(tmp_path / "m4"), "--head-tail-ratio", "0.5"]) == 2
