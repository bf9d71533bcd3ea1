"""IMDb's TSVs as a user may have them: wrong headers, cut or non-gzip files, other title types, missing names."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from test_build_helpers import web, world, write_tsv_gz  # noqa: F401
from test_build_pipeline import failures, run

from mmimdb2.builder import cli, tsv


def rewrite(path: Path, edit) -> None:
    """Rewrite an IMDb TSV through ``edit(header, rows) -> (header, rows)``."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        lines = [line.rstrip("\n").split("\t") for line in f]
    header, rows = edit(lines[0], lines[1:])
    write_tsv_gz(path, header, rows)


def cli_build(world, out: Path, monkeypatch, *extra: str) -> int:
    for k, v in world.env.items():
        monkeypatch.setenv(k, v)
    return cli.main(["--out", str(out), "--manifest", str(world.manifest), "--sources", "tsv,imdb-html", "--tsv-dir", str(world.tsv_dir),
                     "--rate", "500/s", "--no-progress", *extra])  # fmt: skip


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "Traceback" not in err[0]
    return err[0]


def test_a_header_that_is_not_imdbs_exits_2_naming_the_file(world, tmp_path, monkeypatch, capsys):
    rewrite(world.tsv_dir / "title.crew.tsv.gz", lambda h, rows: (["tconst", "director", "writers"], rows))
    assert cli_build(world, tmp_path / "out", monkeypatch) == 2
    line = one_error_line(capsys)
    assert "title.crew.tsv.gz: not IMDb's title.crew.tsv.gz header: missing directors" in line


def test_a_truncated_gzip_exits_2_naming_the_file(world, tmp_path, monkeypatch, capsys):
    p = world.tsv_dir / "title.principals.tsv.gz"
    p.write_bytes(p.read_bytes()[:-40])
    assert cli_build(world, tmp_path / "out", monkeypatch) == 2
    line = one_error_line(capsys)
    assert "title.principals.tsv.gz: truncated or corrupt gzip" in line


def test_a_file_that_is_not_gzip_exits_2_naming_the_file(world, tmp_path, monkeypatch, capsys):
    p = world.tsv_dir / "name.basics.tsv.gz"
    p.write_bytes(gzip.decompress(p.read_bytes()))  # a user who gunzipped it and kept the name
    assert cli_build(world, tmp_path / "out", monkeypatch) == 2
    line = one_error_line(capsys)
    assert "name.basics.tsv.gz: not a gzip file" in line


def test_check_header_accepts_imdbs_files(world):
    for f in tsv.FILES:
        assert tsv.check_header(world.tsv_dir / f, f)[: len(tsv.COLUMNS[f])] == list(tsv.COLUMNS[f])
    with pytest.raises(tsv.TsvError, match="empty file"):
        (world.tsv_dir / "empty.tsv.gz").write_bytes(gzip.compress(b""))
        tsv.check_header(world.tsv_dir / "empty.tsv.gz", "title.basics.tsv.gz")


def test_other_title_types_are_skipped_with_their_reason(world, tmp_path):
    episode, short = world.ids[0], world.ids[1]
    kinds = {episode: "tvEpisode", short: "short"}
    rewrite(world.tsv_dir / "title.basics.tsv.gz", lambda h, rows: (h, [[r[0], kinds.get(r[0], r[1]), *r[2:]] for r in rows]))
    out = tmp_path / "out"
    res, _ = run(world, out, sources=("tsv", "imdb-html"))
    assert res.built == 18 and res.skipped == 2 and res.failed == 0 and res.complete and res.exit_code == 0
    rows = {r["id"]: r for r in failures(out) if r["stage"] == "skip"}
    assert rows[episode]["reason"].startswith("titleType 'tvEpisode' is not a movie") and rows[episode]["fatal"]
    assert "'short'" in rows[short]["reason"] and not (out / f"dataset/{episode}.json").exists()
    assert "skipped, not movies" in res.summary()
    meta = json.loads((out / "DATASET.json").read_text())  # the summary and DATASET.json say the same
    assert (meta["complete"], meta["status"], meta["built"], meta["not_movies"], meta["manifest_ids"]) == (True, "complete", 18, 2, 20)
    assert res.summary().splitlines()[-1].split()[-1] == "complete"


def test_a_missing_title_crew_is_one_error_line_naming_the_download_exit_2(world, tmp_path, monkeypatch, capsys):
    (world.tsv_dir / "title.crew.tsv.gz").unlink()
    assert cli_build(world, tmp_path / "out", monkeypatch) == 2
    line = one_error_line(capsys)
    assert line.startswith("error: tsv: the tsv source needs title.crew.tsv.gz (directors (nm ids))")
    assert "download https://datasets.imdbws.com/title.crew.tsv.gz into" in line and "leave tsv out of --sources" in line
    assert not (tmp_path / "out" / "DATASET.json").exists()  # never a build that silently lacks every nm id


def test_a_director_missing_from_name_basics_is_recorded(world, tmp_path):
    tt = world.ids[2]
    nm, name = world.movies[tt]["director"]
    rewrite(world.tsv_dir / "name.basics.tsv.gz", lambda h, rows: (h, [r for r in rows if r[0] != nm]))
    out = tmp_path / "out"
    res, _ = run(world, out, sources=("tsv", "imdb-html"))
    assert res.complete
    rows = [r for r in failures(out) if r["id"] == tt and r["stage"] == "people"]
    assert any(r["reason"] == f"director {nm} is not in name.basics" and r["source"] == "tsv" for r in rows)
    d = json.loads((out / f"dataset/{tt}.json").read_text())
    assert d["directors"] == [{"name": name, "imdb_id": nm}]  # named by the page, which has the same nm id


def test_select_refuses_a_wrong_header_in_one_line(tmp_path, capsys):
    write_tsv_gz(tmp_path / "title.basics.tsv.gz", ["tconst", "type", "title"], [["tt0000001", "movie", "T"]])
    assert cli.main(["select", "--tsv-dir", str(tmp_path), "--out", str(tmp_path / "m")]) == 2
    assert "title.basics.tsv.gz: not IMDb's title.basics.tsv.gz header: missing titleType" in one_error_line(capsys)
