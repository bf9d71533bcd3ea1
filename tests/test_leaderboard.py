"""Result records, their schema, the validator and the renderer (on tmp leaderboards), and the repo's own."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import pytest

from leaderboard import render, validate
from leaderboard.results import (
    LEADERBOARD_DIR,
    ResultError,
    load_schema,
    make_result,
    merge_results,
    pool_sha256,
    read_result,
    result_filename,
    result_key,
    split_sha256_from_parts,
    submit_result,
    write_result,
)
from leaderboard.splits import add_split, known_splits, packaged_entries
from leaderboard.splits import main as splits_main
from mmimdb2.genres import GENRES
from mmimdb2.metrics import aggregate
from mmimdb2.splits import Split

SPLIT = Split("demo", {"train": ("tt0000001", "tt0000002", "tt0000003"), "dev": ("tt0000004",), "test": ("tt0000005", "tt0000006")})
CODE = {"git": "v0.1.0-1-gabcdef0", "commit": "a" * 40, "dirty": False, "package": "0.1.0"}
HW = {"device": "cpu", "cpu": "Test CPU (2 cores)", "gpu": None, "torch": "2.14.1"}


def metrics(value: float, genre_value: float | None = None) -> dict:
    """A full metrics dict: every score ``value``, every per-genre F1 ``genre_value``."""
    g = value if genre_value is None else genre_value
    return {**{k: value for k in ("micro", "macro", "weighted", "samples", "head", "tail")},
            "per_genre": {name: g for name in GENRES}, "support": {name: 1 for name in GENRES}}  # fmt: skip


def record(model: str = "gmu", values=(0.60, 0.62), *, seeds=None, config=None, protocol="fixed", split=SPLIT,
           kg="default", drop=None, created="2026-11-25T12:00:00Z", suite=None, **extra) -> dict:  # fmt: skip
    seeds = list(range(len(values))) if seeds is None else seeds
    return make_result(
        dataset="demo", dataset_version="1", split=split, model=model, config=config or {"hidden": 64, "temperature": 0.1},
        encoder="hash:64", encoder_version="1",
        kg={"model": "RotatE", "dim": 32, "dim_model": 16, "epochs": 5, "optimizer": "SparseAdam", "hits_at_10": 0.4} if kg == "default" else kg,
        per_seed=[{"seed": s, "metrics": metrics(v), "best_epoch": 3} for s, v in zip(seeds, values)],
        timings={"load": {"seconds": 1.0, "shared": True}, "train": 2.5}, threshold_policy="fixed", protocol=protocol, drop=drop, suite=suite,
        head_tail={"k": 6, "head": list(GENRES[:6]), "tail": list(GENRES[-6:])},
        code=CODE, hardware=HW, created=created, **extra,
    )  # fmt: skip


@pytest.fixture
def lb(tmp_path) -> Path:
    """An empty leaderboard folder with the demo split registered."""
    root = tmp_path / "lb"
    (root / "submissions").mkdir(parents=True)
    add_split("demo", "demo", SPLIT.sha256, root)
    return root


def problems_of(rec: dict, **kw) -> list[str]:
    return validate.validate_record(rec, known={"demo": {"demo": SPLIT.sha256}}, **kw)


# ----------------------------------------------------------------------------- records and schema


def test_make_result_builds_a_valid_record():
    rec = record()
    assert problems_of(rec, filename=result_filename(rec)) == []
    assert rec["schema_version"] == 2 and rec["labels"] == list(GENRES) and rec["threshold_policy"] == "fixed"
    assert rec["seeds"] == [0, 1]
    assert rec["aggregate"]["mean"]["micro"] == pytest.approx(0.61)
    assert rec["aggregate"]["std"]["micro"] == pytest.approx(0.01)
    assert rec["split"]["parts"]["test"] == {"sha256": SPLIT.part_sha256("test"), "size": 2}
    assert rec["timings"] == {"load": {"seconds": 1.0, "shared": True}, "train": {"seconds": 2.5, "shared": False}}  # only stages that ran
    assert result_filename(rec) == f"demo__gmu__{result_key(rec)[:12]}.json"


def test_make_result_fills_provenance_from_this_checkout_and_machine():
    rec = make_result(
        dataset="demo", dataset_version="1", split=SPLIT, model="gmu", config={}, encoder="hash:64",
        encoder_version="1", kg=None, per_seed=[{"seed": 0, "metrics": metrics(0.5), "best_epoch": None}],
        timings={}, threshold_policy="fixed", head_tail=None,
    )  # fmt: skip
    assert rec["hardware"]["device"] == "cpu" and rec["hardware"]["torch"]
    assert rec["code_version"]["package"]
    assert rec["created"].endswith("Z")


def test_authors_protocol_rows_are_marked_on_the_fixed_pool_split():
    rec = record(protocol="authors")
    assert rec["split"]["name"] == "authors:demo"
    assert pool_sha256(rec) == SPLIT.sha256 and rec["split"]["parts"] == record()["split"]["parts"]
    assert rec["split"]["sha256"] == split_sha256_from_parts(rec["split"]["parts"], "authors") != SPLIT.sha256
    assert problems_of(rec) == []


def test_make_result_rejects_bad_arguments():
    with pytest.raises(ResultError, match="protocol"):
        record(protocol="leaky")
    with pytest.raises(ResultError, match="micro"):
        record(values=(1.2,))
    with pytest.raises(ResultError, match="drop"):
        record(drop="audio")


def test_schema_pins_the_23_genres_in_order():
    schema = load_schema()
    assert schema["properties"]["labels"]["const"] == list(GENRES)
    assert schema["$defs"]["per_genre_unit"]["required"] == list(GENRES)
    assert schema["properties"]["schema_version"]["const"] == 2


def _set(path: str, value):
    def edit(rec):
        *parents, last = path.split("/")
        node = rec
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        key = int(last) if isinstance(node, list) else last
        if value is KeyError:
            del node[key]
        else:
            node[key] = value(node[key]) if callable(value) else value

    return edit


MALFORMED = {
    "missing field": (_set("encoder", KeyError), "'encoder' is a required property"),
    "wrong type": (_set("threshold_policy", 0.5), "threshold_policy: 0.5 is not one of"),
    "metric above 1": (_set("per_seed/0/metrics/micro", 1.2), "per_seed/0/metrics/micro: 1.2 is greater than the maximum of 1"),
    "negative metric": (_set("per_seed/1/metrics/per_genre/Drama", -0.1), "per_seed/1/metrics/per_genre/Drama: -0.1 is less than"),
    "NaN metric": (_set("per_seed/0/metrics/macro", math.nan), "per_seed/0/metrics/macro: NaN or infinite value"),
    "unknown split hash": (_set("split/sha256", "0" * 64), "split/sha256"),
    "wrong genre order": (_set("labels", lambda g: [g[1], g[0], *g[2:]]), "labels: not the 23 canonical genres in order (position 0: 'Comedy'"),
    "missing genre key": (_set("per_seed/0/metrics/per_genre/Western", KeyError), "per_seed/0/metrics/per_genre: keys must be the 23 canonical genres (missing: ['Western']"),
    "mean not matching": (_set("aggregate/mean/macro", 0.7), "aggregate/mean/macro: 0.7 does not match the per-seed values (0.61)"),
    "std not matching": (_set("aggregate/std/per_genre/Drama", 0.3), "aggregate/std/per_genre/Drama"),
    "seeds not matching": (_set("seeds", [0, 5]), "seeds: [0, 5] do not match the per_seed entries [0, 1]"),
    "malformed model name": (_set("model/name", "my model"), "model/name: 'my model' is not a model name"),
    "authors row on fixed name": (_set("protocol", "authors"), "split/name: protocol 'authors' row claims the fixed split 'demo'"),
    "fixed row on authors name": (_set("split/name", "authors:demo"), "split/name: 'authors:demo' marks an authors-protocol split"),
    "split name not registered": (_set("split/name", "other"), "split/name: 'other' is not the name registered"),
    "parts not matching hash": (_set("split/parts/test/sha256", "1" * 64), "split/sha256: "),
    "unknown dataset": (_set("dataset/name", "mmimdb9"), "no split of dataset 'mmimdb9' is registered"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_validator_rejects_each_malformed_variant(case):
    edit, expected = MALFORMED[case]
    rec = record()
    assert problems_of(rec) == []
    edit(rec)
    problems = problems_of(rec)
    assert any(expected in p for p in problems), problems


def test_model_names_are_data_not_a_registry_lookup(lb, capsys):
    """A user's own model validates whatever the registry holds: only the schema's name pattern applies."""
    rec = record("my-own-model.v2")
    assert problems_of(rec) == []
    path = submit_result(rec, lb)
    assert validate.main([str(path), "--leaderboard-dir", str(lb)]) == 0
    captured = capsys.readouterr()
    assert "ok: 1 submission(s) valid" in captured.out and "warning" not in captured.err


def test_validator_names_file_and_field_and_exits_1(lb, capsys):
    good = submit_result(record("gmu"), lb)
    bad_rec = record("idkg")
    bad_rec["per_seed"][0]["metrics"]["micro"] = 1.2
    bad = lb / "submissions" / result_filename(bad_rec)
    bad.write_text(json.dumps(bad_rec))
    nan_rec = record("idkg-no-kg")
    nan = lb / "submissions" / result_filename(nan_rec)
    nan.write_text(json.dumps(nan_rec).replace('"macro": 0.6,', '"macro": NaN,', 1))
    rc = validate.main(["--leaderboard-dir", str(lb)])
    out = capsys.readouterr().out
    assert rc == 1
    assert f"{bad}: per_seed/0/metrics/micro: 1.2 is greater than the maximum of 1" in out
    assert f"{nan}: per_seed/0/metrics/macro: NaN or infinite value" in out
    assert str(good) not in out
    assert validate.main([str(good), "--leaderboard-dir", str(lb)]) == 0
    assert "ok: 1 submission(s) valid" in capsys.readouterr().out


def test_validator_flags_duplicates_and_misnamed_files(lb):
    first = submit_result(record("gmu", created="2026-01-01T00:00:00Z"), lb)
    copy = lb / "submissions" / "copy.json"
    write_result(record("gmu", created="2026-02-02T00:00:00Z", suite="table2"), copy)  # same cell, other run
    report = validate.validate_files([first, copy], leaderboard_dir=lb)
    assert any("duplicate of" in p and str(copy) in p for p in report[first])
    assert any(p.startswith("(file name): should be demo__gmu__") for p in report[copy])


def test_unreadable_file_is_reported_not_raised(lb):
    broken = lb / "submissions" / "broken.json"
    broken.write_text("{not json")
    report = validate.validate_files([broken], leaderboard_dir=lb)
    assert "cannot read a JSON result" in report[broken][0]


# ----------------------------------------------------------------------------- keys, writing, merging


def test_result_key_is_the_cell_identity():
    base = record()
    assert result_key(record(created="2027-01-01T00:00:00Z", suite="table2")) == result_key(base)
    assert result_key(record(values=(0.1, 0.2))) == result_key(base)  # scores are not identity
    for other in (record(seeds=[0, 2]), record(config={"hidden": 32, "temperature": 0.1}), record(kg=None), record(drop="plot"),
                  record(model="idkg"), record(protocol="authors")):  # fmt: skip
        assert result_key(other) != result_key(base)


def test_the_data_fingerprint_is_identity_only_when_recorded():
    from leaderboard.results import identity, identity_of

    base = record()
    assert "fingerprint" not in base["dataset"] and "fingerprint" not in identity(base)  # old records keep their key and name
    ident = {k: v for k, v in identity(base).items()}
    kw = dict(dataset="demo", dataset_version="1", split_sha256=SPLIT.sha256, protocol="fixed", model="gmu",
              config=base["model"]["config"], seeds=[0, 1], encoder="hash:64", encoder_version="1",
              kg=["RotatE", 32, 5], drop=None)  # fmt: skip
    assert identity_of(**kw) == identity_of(**kw, fingerprint=None) == ident
    a, b = record(dataset_fingerprint="a" * 64), record(dataset_fingerprint="b" * 64)
    assert a["dataset"]["fingerprint"] == "a" * 64 and identity(a) == identity_of(**kw, fingerprint="a" * 64)
    assert len({result_filename(base), result_filename(a), result_filename(b)}) == 3
    assert problems_of(a, filename=result_filename(a)) == []
    a["dataset"]["fingerprint"] = "not a sha256"
    assert any(p.startswith("dataset/fingerprint: 'not a sha256' does not match") for p in problems_of(a))


def test_submit_overwrites_the_same_cell_and_writes_atomically(lb):
    a = submit_result(record(values=(0.5,)), lb)
    b = submit_result(record(values=(0.7,)), lb)
    assert a == b and len(list((lb / "submissions").glob("*"))) == 1
    assert read_result(a)["aggregate"]["mean"]["micro"] == pytest.approx(0.7)


def test_write_result_refuses_nan_and_schema_violations(tmp_path):
    rec = record()
    rec["per_seed"][0]["metrics"]["micro"] = math.nan
    with pytest.raises(ResultError, match="NaN"):
        write_result(rec, tmp_path / "x.json")
    rec = record()
    del rec["hardware"]
    with pytest.raises(ResultError, match="'hardware' is a required property"):
        write_result(rec, tmp_path / "x.json")
    assert not (tmp_path / "x.json").exists()


def test_merge_per_seed_cells_into_one_record():
    a = record(values=(0.6,), seeds=[0], created="2026-01-01T00:00:00Z")
    b = record(values=(0.8,), seeds=[1], created="2026-01-02T00:00:00Z")
    merged = merge_results([b, a])
    assert merged["seeds"] == [0, 1]
    assert merged["aggregate"] == aggregate([a["per_seed"][0], b["per_seed"][0]])
    assert merged["timings"]["train"] == {"seconds": pytest.approx(5.0), "shared": False}  # each seed's own: summed
    assert merged["timings"]["load"] == {"seconds": pytest.approx(1.0), "shared": True}  # one shared computation, once
    assert merged["head_tail"] == a["head_tail"]
    assert merged["created"] == "2026-01-02T00:00:00Z"
    assert problems_of(merged) == []
    redrawn = {**b, "head_tail": {"k": 6, "head": list(GENRES[1:7]), "tail": list(GENRES[-6:])}}
    assert merge_results([a, redrawn])["head_tail"] is None  # seeds trained on different draws
    with pytest.raises(ResultError, match="seed"):
        merge_results([a, a])
    with pytest.raises(ResultError, match="model"):
        merge_results([a, record("idkg", values=(0.5,), seeds=[1])])


# ----------------------------------------------------------------------------- split registry


def test_committed_split_registry_holds_the_packaged_hashes():
    known = known_splits()
    for dataset, entries in packaged_entries().items():
        for name, sha in entries.items():
            assert known[dataset][name] == sha


def test_split_registry_cli_adds_from_a_split_folder(tmp_path, capsys):
    from mmimdb2.splits import write_split_dir

    folder = write_split_dir(SPLIT, tmp_path / "split")
    assert splits_main(["--add", "demo", "--split-dir", str(folder), "--name", "demo", "--leaderboard-dir", str(tmp_path)]) == 0
    assert known_splits(tmp_path) == {**known_splits(), "demo": {**known_splits()["demo"], "demo": SPLIT.sha256}}  # the package's and the new one
    changed = Split("demo", {**SPLIT.parts, "test": ("tt0000005",)})
    with pytest.raises(ValueError, match="already registered"):
        add_split("demo", "demo", changed.sha256, tmp_path)
    assert splits_main(["--add", "demo", "--split-dir", str(tmp_path / "nope"), "--leaderboard-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_committed_split_registry_holds_the_part_sizes():
    from leaderboard.splits import split_sizes
    from mmimdb2.splits import packaged_split

    sizes = split_sizes()
    assert sizes["yts800"][known_splits()["yts800"]["default"]] == {"train": 480, "dev": 80, "test": 240}
    assert sizes["demo"][known_splits()["demo"]["default"]] == {"train": 1800, "dev": 300, "test": 900}
    for dataset, entries in packaged_entries().items():
        for name, sha in entries.items():
            split = packaged_split(name)
            assert sizes[dataset][sha] == {p: len(split[p]) for p in ("train", "dev", "test")}


def test_split_registry_reads_entries_without_sizes_and_adds_sizes(tmp_path, capsys):
    from leaderboard.splits import split_sizes
    from mmimdb2.splits import write_split_dir

    (tmp_path / "splits.json").write_text(json.dumps({"demo": {"demo": SPLIT.sha256}}))  # the format before sizes
    assert known_splits(tmp_path) == {"demo": {"demo": SPLIT.sha256}} and split_sizes(tmp_path) == {}
    add_split("demo", "demo", SPLIT.sha256, tmp_path, sizes={"train": 3, "dev": 1, "test": 2})  # fills the sizes in
    assert known_splits(tmp_path) == {"demo": {"demo": SPLIT.sha256}}
    assert split_sizes(tmp_path) == {"demo": {SPLIT.sha256: {"train": 3, "dev": 1, "test": 2}}}
    with pytest.raises(ValueError, match="already registered with part sizes"):
        add_split("demo", "demo", SPLIT.sha256, tmp_path, sizes={"train": 3, "dev": 1, "test": 200})
    folder = write_split_dir(SPLIT, tmp_path / "split")
    other = tmp_path / "other"
    assert splits_main(["--add", "demo", "--split-dir", str(folder), "--name", "demo", "--leaderboard-dir", str(other)]) == 0
    assert split_sizes(other)["demo"][SPLIT.sha256] == {"train": 3, "dev": 1, "test": 2}
    assert splits_main(["--list", "--leaderboard-dir", str(other)]) == 0
    assert f"demo\tdemo\t{SPLIT.sha256}\ttrain 3, dev 1, test 2" in capsys.readouterr().out


@pytest.mark.parametrize(("sizes", "why"), [
    ({"train": 3, "dev": 1}, "'sizes' of 'demo'/'demo' must be"),
    ({"train": 3, "dev": 1, "test": -2}, "Got {'train': 3, 'dev': 1, 'test': -2} instead"),
    ({"train": 3, "dev": True, "test": 2}, "must be"),
    ({"train": 3, "dev": 1, "test": 2, "extra": 1}, "must be"),
    ("900", "must be"),
])  # fmt: skip
def test_split_registry_refuses_bad_part_sizes(tmp_path, sizes, why):
    with pytest.raises(ValueError, match=re.escape(why)):
        add_split("demo", "demo", SPLIT.sha256, tmp_path, sizes=sizes)
    (tmp_path / "splits.json").write_text(json.dumps({"demo": {"demo": {"sha256": SPLIT.sha256, "sizes": sizes}}}))
    with pytest.raises(ValueError, match=re.escape(why)):
        known_splits(tmp_path)


# ----------------------------------------------------------------------------- renderer


def _fill(lb: Path) -> None:
    """A leaderboard with rows for every table kind."""
    for rec in (
        record("gmu", (0.60, 0.62)),
        record("idkg", (0.70, 0.74)),
        record("idkg-no-kg", (0.65,), kg=None),
        record("idkg-mulcon", (0.66, 0.66)),
        record("idkg", (0.68,), kg={"model": "TransH", "dim": 32, "dim_model": 32, "epochs": 5, "optimizer": "Adam", "hits_at_10": None}),
        record("idkg", (0.71,), config={"hidden": 64, "temperature": 0.3}),
        record("idkg", (0.69,), config={"hidden": 64, "temperature": 0.7}),
        record("idkg", (0.50,), drop="poster"),
        record("idkg", (0.90, 0.94), protocol="authors"),
    ):
        submit_result(rec, lb)


def test_render_tables_and_plots(lb):
    _fill(lb)
    files = render.render(lb)
    readme = files["README.md"].decode()
    # no stored predictions: no interval, no verdict ("—"), and no best mean in bold
    assert "| gmu | — | 61.00 ± 1.00 | 61.00 ± 1.00 | 61.00 ± 1.00 | 61.00 ± 1.00 | 61.00 ± 1.00 | 61.00 ± 1.00 | — | — | 2 | — | — | — | — | — | hash:64 | RotatE (32d, 5 ep) | v0.1.0-1-gabcdef0 | Test CPU (2 cores) | 2026-11-25 |" in readme
    for title in ("Main comparison (Table 2)", "Ablations (Table 3)", "KG embedding models (Table 4)",
                  "Contrastive variants (Table 5)", "Temperature τ (Fig. 4): idkg, config `temperature`",
                  "Missing modalities at test time", "Authors' protocol", "Inflation over the fixed protocol"):  # fmt: skip
        assert title in readme, title
    assert "| TransH | — | 32 | 5 | — |" in readme  # the KG table holds the rows at the usual τ
    assert "| 0.3 | — | 71.00 ± 0.00 |" in readme and "| 0.1 | — | 72.00 ± 2.00 |" in readme
    assert "| idkg | poster | 50.00 ± 0.00 | 50.00 ± 0.00 | 50.00 ± 0.00 | 50.00 ± 0.00 | — | — | -22.00 | 1 |" in readme
    assert "**7" not in readme and "**6" not in readme  # no score is bolded
    assert "| idkg | **inflation** | **+20.00** | **+20.00** | **+20.00** | **+20.00** |  |" in readme
    fixed_at = readme.index("fixed protocol")
    assert readme.index("Authors' protocol") > fixed_at  # authors rows follow their fixed counterpart
    assert "*Per-genre test F1 × 100 of the best-ranked run (by micro-F1) of each model (4 models), each value the mean over its seeds (1–2 seeds)." in readme
    assert "*Head vs tail F1 × 100 (the paper's Fig. 3) of the best-ranked run" in readme
    plots = sorted(k for k in files if k != "README.md")
    assert len(plots) == 5 and any("__tau__idkg__" in p for p in plots)  # heatmap and head/tail (fixed, authors) + τ sweep
    assert sum(p.endswith("__per_genre.png") for p in plots) == sum(p.endswith("__head_tail.png") for p in plots) == 2
    assert all(files[p].startswith(b"\x89PNG") and f"({p})" in readme for p in plots)


def _table_rows(readme: str, title: str) -> list[list[str]]:
    """The body rows (cells split on unescaped pipes) of the first table under ``#### title``."""
    block = readme.split(f"#### {title}\n\n", 1)[1].split("\n\n", 1)[0]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]] for line in block.splitlines()[2:]]


def test_experiment_tables_show_the_definitions_rows_in_order_under_their_labels():
    from leaderboard.experiments import experiment

    base = {"hidden": 64, "temperature": 0.1}
    runs = [  # scores rise down the definition, so neither score nor name order is the row order
        record("idkg-gmu", (0.70,)), record("gmu-3", (0.69,)), record("gmu", (0.68,)),
        record("idkg", (0.67,)), record("idkg", (0.60,), config={**base, "lr": 0.003}),
        record("idkg-no-gcacl", (0.66,)), record("idkg-no-gcacl", (0.65,), config={**base, "use_teacher": False}),
        record("idkg-no-kg", (0.64,), config={**base, "use_gcacl": False}),
        record("idkg-no-at", (0.71,)),  # the paper's "- AT" row: F^K + G-CACL
        record("idkg-no-kg", (0.72,)),  # a single removal: in Table 2, not a row of the cumulative Table 3
        record("idkg", (0.62,), kg={"model": "ConvE", "dim": 32, "dim_model": 32, "epochs": 5, "optimizer": "Adam", "hits_at_10": 0.25}),
        record("idkg", (0.63,), kg={"model": "TransH", "dim": 32, "dim_model": 32, "epochs": 5, "optimizer": "Adam", "hits_at_10": None}),
        record("idkg-mulcon", (0.5,)),
    ]  # fmt: skip
    readme = render.render_files(runs, {"demo": {"demo": SPLIT.sha256}})["README.md"].decode()
    t3 = experiment("table3")
    labels = [r.label for r in t3.rows]
    rows = _table_rows(readme, t3.title)
    assert [r[0] for r in rows] == [labels[0], labels[1], labels[2], f"{labels[3]} (lr=0.003)", f"{labels[3]} (lr=unset)", *labels[4:]]
    assert [r[1] for r in rows] == ["idkg-no-kg", "idkg-no-gcacl", "idkg-no-at", "idkg", "idkg", "gmu", "gmu-3", "idkg-gmu"]
    assert sum(r[0].startswith("idkg-no-kg") for r in _table_rows(readme, "Main comparison (Table 2)")) == 2  # ranked: every run
    t4 = _table_rows(readme, "KG embedding models (Table 4)")
    assert [(r[0], r[4]) for r in t4] == [  # KG_MODELS order; two RotatE runs told apart by their config
        ("RotatE (lr=0.003)", "0.400"), ("RotatE (lr=unset)", "0.400"), ("TransH", "—"), ("ConvE", "0.250"),
    ]  # fmt: skip
    assert "| KG model | Tuning | Dim | Epochs | Hits@10 (held-out triples of the train-only movie KG) |" in readme
    assert [r[0] for r in _table_rows(readme, "Contrastive variants (Table 5)")] == ["G-CACL = IDKG (lr=0.003)", "G-CACL = IDKG (lr=unset)", "MulCon"]
    without = render.render_files(runs[:4], {"demo": {"demo": SPLIT.sha256}})["README.md"].decode()
    assert "Contrastive variants" not in without and "KG embedding models" not in without  # one row is no table


def test_every_column_key_has_a_renderer():
    from leaderboard.experiments import INFO_KEYS, STAT_KEYS, experiments
    from leaderboard.tables import INFO

    assert set(INFO) == set(INFO_KEYS)
    scores = ("micro", "macro", "weighted", "samples", "head", "tail")
    assert all(c.key in INFO or c.key in scores or c.key in STAT_KEYS for e in experiments() for c in e.columns)


def test_render_is_deterministic(lb, tmp_path):
    _fill(lb)
    other = tmp_path / "lb2"
    shutil.copytree(lb, other)
    render.write(lb)
    render.write(other)
    a = {p.relative_to(lb): p.read_bytes() for p in lb.rglob("*") if p.is_file()}
    b = {p.relative_to(other): p.read_bytes() for p in other.rglob("*") if p.is_file()}
    assert a == b and Path("README.md") in a


def test_check_catches_a_stale_readme_and_plots(lb, capsys):
    submit_result(record("gmu"), lb)
    assert render.main(["--check", "--leaderboard-dir", str(lb)]) == 1  # never rendered
    assert render.main(["--leaderboard-dir", str(lb)]) == 0
    assert render.check(lb, plots=True) == []
    submit_result(record("idkg"), lb)  # a new submission makes the README stale
    assert any("is stale" in p for p in render.check(lb))
    render.write(lb)
    (lb / "plots" / "extra.png").write_bytes(b"x")
    assert render.check(lb) == [f"{lb / 'plots' / 'extra.png'} is no longer rendered"]
    render.write(lb)  # removes the stale plot
    assert render.main(["--check", "--leaderboard-dir", str(lb)]) == 0
    capsys.readouterr()


def test_empty_leaderboard_says_no_results_and_how_to_submit(lb):
    readme = render.render(lb)["README.md"].decode()
    assert "No results yet" in readme
    assert "## How to submit" in readme and "--submit" in readme and "pull request" in readme


def test_render_refuses_invalid_submissions(lb, capsys):
    rec = record()
    rec["aggregate"]["mean"]["micro"] = 0.9
    (lb / "submissions" / result_filename(rec)).write_text(json.dumps(rec))
    with pytest.raises(render.RenderError, match="aggregate/mean/micro"):
        render.render(lb)
    assert render.main(["--leaderboard-dir", str(lb)]) == 2
    assert "error: invalid submissions" in capsys.readouterr().err


# ----------------------------------------------------------------------------- hostile and broken input (issue 12)

HOSTILE = {  # field path -> (value, character the problem must name)
    "hardware/cpu": ("Xeon <script>alert(1)</script>", "'<'"),
    "hardware/gpu": ("NVIDIA H100\r\n| forged | row |", "'\\r'"),
    "hardware/torch": ("2.4.0\n", "'\\n'"),  # one trailing newline: Python's $ would accept it
    "encoder/name": ("clip:<img src=x onerror=alert(1)>", "'<'"),
    "encoder/version": ("1`rm -rf`", "'`'"),
    "dataset/version": ("2\n## Fake section", "'\\n'"),
    "code_version/git": ("v1 [click](https://evil.example)", "'['"),
    "model/config/temperature": ("0.1 | **fake**", "'|'"),
    "model/config/modalities/0": ("text<b>", "'<'"),
}  # fmt: skip


@pytest.mark.parametrize("field", sorted(HOSTILE))
def test_validator_refuses_markup_and_line_breaks_in_text_fields(field):
    value, char = HOSTILE[field]
    rec = record(config={"hidden": 64, "temperature": 0.1, "modalities": ["text", "image"]})
    assert problems_of(rec) == []
    _set(field, value)(rec)
    problems = problems_of(rec)
    named = [p for p in problems if p.startswith(f"{field}: ")]
    assert named and "not allowed in this field" in named[0] and char in named[0], problems
    assert all("\n" not in p and "\r" not in p for p in problems)


@pytest.mark.parametrize(("field", "value"), [("split/name", "demo\n"), ("suite", "table2\n"), ("model/name", "gmu\n"),
                                              ("kg/model", "RotatE<"), ("model/config", {"bad key": 1})])  # fmt: skip
def test_validator_refuses_bad_names_and_config_keys(field, value):
    rec = record()
    if field == "model/config":
        rec["model"]["config"].update(value)
    else:
        _set(field, value)(rec)
    problems = problems_of(rec)
    assert any(p.startswith(f"{field}: ") for p in problems), problems


def test_machine_reported_names_are_cleaned_not_refused():
    from leaderboard.provenance import clean_text

    assert clean_text("Intel(R) Xeon(R) CPU @ 2.20GHz\n") == "Intel(R) Xeon(R) CPU @ 2.20GHz"
    assert clean_text("GPU™ <x>\t| y") == "GPU x y"


def _hostile_record() -> dict:
    """A record full of markup and line breaks, built without validation (what a bypass would hand the renderer)."""
    rec = make_result(
        dataset="demo", dataset_version="2\n# Fake heading", split=SPLIT, model="gmu<script>x</script>",
        config={"hidden": 64, "note": "a|b\r\nc $x^$ `code`"}, encoder="enc<img src=x onerror=alert(1)>",
        encoder_version="1", kg={"model": "RotatE|x", "dim": 32, "dim_model": 32, "epochs": 5, "optimizer": "Adam", "hits_at_10": None},
        per_seed=[{"seed": 0, "metrics": metrics(0.5), "best_epoch": 1}], timings={}, threshold_policy="fixed",
        head_tail=None, code={**CODE, "git": "v1\n<script>alert(2)</script>"},
        hardware={**HW, "cpu": "x\r\n| forged | row |", "gpu": "[click](https://evil.example)"},
        created="2026-11-25T12:00:00Z", validate=False,
    )  # fmt: skip
    rec["split"]["name"] = "de`mo\n"
    return rec


def test_renderer_escapes_what_slips_past_the_validator():
    hostile = _hostile_record()
    second = {**hostile, "model": {"name": "idkg", "config": {"hidden": 64, "note": "<b>bold</b>"}}}
    files = render.render_files([hostile, second], {"demo": {"de|mo\n<x>": SPLIT.sha256}})
    readme = files["README.md"].decode()
    body = readme.split("\n", 3)[3].split("## Reading the tables")[0]  # the submitted part
    assert "<" not in body and ">" not in body.replace("&gt;", "")
    assert "\r" not in readme and not re.search(r"(?<!\\)\]\(https", readme)  # the link stays escaped text
    for block in readme.split("\n\n"):
        rows = [line for line in block.splitlines() if line.startswith("|")]
        if rows:  # every row of a table has as many unescaped cell separators as its header
            counts = {len(re.findall(r"(?<!\\)\|", row)) for row in rows}
            assert len(counts) == 1, rows
    assert not any(line.startswith("# Fake") or line.startswith("## Fake") for line in readme.splitlines())
    assert all(p.startswith("plots/") and re.fullmatch(r"plots/[A-Za-z0-9._-]+\.png", p) for p in files if p != "README.md")


def test_relabelled_authors_result_fails_validation_and_render(lb, capsys):
    leaky = record("idkg", (0.90, 0.94), protocol="authors")
    assert problems_of(leaky) == []
    relabelled = {**leaky, "protocol": "fixed", "split": {**leaky["split"], "name": "demo"}}
    problems = problems_of(relabelled, filename=result_filename(relabelled))  # renamed to match, too
    assert any(p.startswith("split/sha256: ") and "relabelled as fixed" in p for p in problems), problems
    submit_result(record("idkg", (0.70, 0.74)), lb)
    path = lb / "submissions" / result_filename(relabelled)
    path.write_text(json.dumps(relabelled))
    with pytest.raises(render.RenderError, match="relabelled as fixed"):
        render.render(lb)
    assert validate.main(["--leaderboard-dir", str(lb)]) == 1
    assert "relabelled as fixed" in capsys.readouterr().out


def test_fixed_split_hash_is_unchanged_by_the_protocol_binding():
    rec = record()
    assert rec["split"]["sha256"] == SPLIT.sha256 == split_sha256_from_parts(rec["split"]["parts"])
    # authors rows keep their result key (identity names the registered split, not the bound hash)
    old_style = record(protocol="authors")
    old_style["split"]["sha256"] = SPLIT.sha256
    assert result_key(old_style) == result_key(record(protocol="authors"))
    assert any("a row of protocol 'authors' records the protocol-bound hash" in p for p in problems_of(old_style))


def test_merge_rebinds_cells_cached_before_the_binding():
    a = record(values=(0.6,), seeds=[0], protocol="authors")
    b = record(values=(0.8,), seeds=[1], protocol="authors")
    b["split"]["sha256"] = SPLIT.sha256  # a cell written by the older code
    merged = merge_results([a, b])
    assert merged["split"]["sha256"] == a["split"]["sha256"] and problems_of(merged) == []


@pytest.mark.parametrize("depth", [100_000, 40])
def test_deeply_nested_json_is_one_line_not_a_traceback(lb, capsys, depth):
    nested = lb / "submissions" / "nested.json"
    nested.write_text('{"a": ' * depth + "1" + "}" * depth)
    report = validate.validate_files([nested], leaderboard_dir=lb)
    assert len(report[nested]) == 1 and "nested" in report[nested][0] and "\n" not in report[nested][0]
    assert validate.main(["--leaderboard-dir", str(lb)]) == 1
    assert render.main(["--leaderboard-dir", str(lb)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "nested" in err


def test_oversized_submission_is_refused(lb):
    path = submit_result(record("gmu"), lb)
    assert validate.validate_files([path], leaderboard_dir=lb)[path] == []
    path.write_text(path.read_text() + " " * (50 * 1024 * 1024))  # still the same valid record, now 50 MB
    report = validate.validate_files([path], leaderboard_dir=lb)
    assert report[path] == [f"cannot read a JSON result ({path.stat().st_size:,} bytes, over the 1,048,576-byte limit for a JSON file)"]


def test_result_with_too_many_values_is_refused_before_the_slow_schema_check(lb):
    big = record(config={"hidden": 64, "temperature": 0.1, "pad": [0] * 20_000})
    path = lb / "submissions" / result_filename(big)
    path.write_text(json.dumps(big))  # a few hundred KB: under the byte limit
    report = validate.validate_files([path], leaderboard_dir=lb)
    assert report[path] == ["more than 20,000 JSON values; a 3-seed result holds ~350"]


def test_fifo_named_json_is_invalid_not_a_hang(lb):
    import os
    import threading

    fifo = lb / "submissions" / "fifo.json"
    os.mkfifo(fifo)

    def feed():  # should a regression open the FIFO, it reads "{}" instead of hanging the suite
        try:
            with open(fifo, "w") as f:
                f.write("{}")
        except BrokenPipeError:  # released below without a read: the fix never opened it
            pass

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        report = validate.validate_files([fifo], leaderboard_dir=lb)
    finally:
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))  # release the feeder if nothing read
        feeder.join(5)
    assert len(report[fifo]) == 1 and report[fifo][0].startswith("cannot read a JSON result (not a regular file"), report[fifo]


def test_cli_names_skipped_files_with_verbose_and_counts_them_otherwise(lb, capsys):
    submit_result(record("gmu"), lb)
    (lb / "submissions" / "notes.txt").write_text("x")
    (lb / "submissions" / ".demo__gmu__x.json.abc.tmp").write_text("{")
    (lb / "submissions" / ".gitkeep").write_text("")
    assert validate.main(["--leaderboard-dir", str(lb)]) == 0
    err = capsys.readouterr().err
    assert "skipped: 2 file(s) that are not results; --verbose names them" in err
    assert validate.main(["--leaderboard-dir", str(lb), "--verbose"]) == 0
    err = capsys.readouterr().err
    assert f"skipped: {lb / 'submissions' / 'notes.txt'}: not a result file" in err
    assert "temporary file of an unfinished atomic write" in err and ".gitkeep" not in err
    assert render.main(["--leaderboard-dir", str(lb)]) == 0
    assert "skipped: 2 file(s)" in capsys.readouterr().err


def test_cli_shows_a_bounded_list_of_problems_unless_verbose(lb, capsys):
    for i in range(30):
        rec = record("gmu", seeds=[i, i + 100])
        rec["aggregate"]["mean"]["micro"] = 0.99
        (lb / "submissions" / result_filename(rec)).write_text(json.dumps(rec))
    assert validate.main(["--leaderboard-dir", str(lb)]) == 1
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert len(lines) == validate.SHOWN_PROBLEMS + 1 and "more problem(s) in" in lines[-1] and "--verbose" in lines[-1]
    assert "invalid: 30 of 30 file(s)" in out.err
    assert validate.main(["--leaderboard-dir", str(lb), "--verbose"]) == 1
    assert len(capsys.readouterr().out.splitlines()) == 30


def test_failed_render_keeps_what_was_written(lb, capsys):
    submit_result(record("gmu"), lb)
    assert render.main(["--leaderboard-dir", str(lb)]) == 0
    before = {p: p.read_bytes() for p in lb.rglob("*") if p.is_file() and "submissions" not in p.parts}
    bad = record("idkg")
    bad["hardware"]["cpu"] = "<script>"
    (lb / "submissions" / result_filename(bad)).write_text(json.dumps(bad))
    assert render.main(["--leaderboard-dir", str(lb)]) == 2
    err = capsys.readouterr().err
    assert "nothing written" in err and "hardware/cpu" in err
    assert {p: p.read_bytes() for p in lb.rglob("*") if p.is_file() and "submissions" not in p.parts} == before


def test_render_into_a_read_only_folder_is_one_line(lb, capsys, read_only):
    submit_result(record("gmu"), lb)
    read_only(lb)
    assert render.main(["--leaderboard-dir", str(lb)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: cannot write {lb / 'README.md'}: ") and "\n" not in err, err


def test_broken_split_registry_is_one_line(lb, capsys):
    submit_result(record("gmu"), lb)
    (lb / "splits.json").write_text("[" * 100_000)
    assert validate.main(["--leaderboard-dir", str(lb)]) == 2
    assert render.main(["--leaderboard-dir", str(lb)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("error: ") == 2


@pytest.mark.parametrize(("dataset", "name", "sha", "why"), [
    ("demo", "de|mo", SPLIT.sha256, "split name must be"), ("demo", "authors:demo", SPLIT.sha256, "reserved"),
    ("de mo", "demo", SPLIT.sha256, "dataset name must be"), ("demo", "demo", "0" * 63 + "\n", "not a sha256"),
])  # fmt: skip
def test_split_registry_refuses_names_no_result_could_carry(tmp_path, dataset, name, sha, why):
    with pytest.raises(ValueError, match=why):
        add_split(dataset, name, sha, tmp_path)
    (tmp_path / "splits.json").write_text(json.dumps({dataset: {name: sha}}))
    with pytest.raises(ValueError, match=why):
        known_splits(tmp_path)


def test_schema_text_patterns_match_the_code():
    from leaderboard import results

    schema = load_schema()
    assert schema["$defs"]["text"]["pattern"] == results.TEXT_PATTERN
    assert schema["properties"]["split"]["properties"]["name"]["pattern"] == results.SPLIT_NAME_PATTERN
    assert schema["properties"]["model"]["properties"]["name"]["pattern"] == results.MODEL_NAME_PATTERN
    assert schema["properties"]["model"]["properties"]["config"]["propertyNames"]["pattern"] == results.CONFIG_KEY_PATTERN


# ----------------------------------------------------------------------------- figures derived from a record's own numbers

BIG = Split("big", {"train": tuple(f"tt{i:07d}" for i in range(1, 61)), "dev": tuple(f"tt{i:07d}" for i in range(61, 71)),
                     "test": tuple(f"tt{i:07d}" for i in range(71, 101))})  # fmt: skip
BIG_SIZES = {"train": 60, "dev": 10, "test": 30}
HEAD_TAIL = {"k": 6, "head": list(GENRES[:6]), "tail": list(GENRES[-6:])}


def scored(seed: int) -> dict:
    """Honest scores of one seed on BIG's 30 test movies (Film-Noir has no test positive)."""
    import numpy as np

    from mmimdb2.metrics import score_decisions

    labels = (np.random.default_rng(99).random((30, 23)) < 0.3).astype(int)
    labels[:, -1] = 0
    right = np.random.default_rng(seed).random((30, 23)) < 0.75
    return score_decisions(labels, np.where(right, labels, 1 - labels), GENRES, HEAD_TAIL)


def big_record(seeds=(0, 1), **kw) -> dict:
    return make_result(
        dataset="demo", dataset_version="1", split=BIG, model="gmu", config={"hidden": 64}, encoder="hash:64",
        encoder_version="1", kg=None, per_seed=[{"seed": s, "metrics": scored(s), "best_epoch": 3} for s in seeds],
        timings={"train": 1.0}, threshold_policy="fixed", head_tail=HEAD_TAIL, code=CODE, hardware=HW, created="2026-11-25T12:00:00Z", **kw,
    )  # fmt: skip


def big_problems(rec: dict) -> list[str]:
    return validate.validate_record(rec, known={"demo": {"big": BIG.sha256}}, sizes={"demo": {BIG.sha256: BIG_SIZES}})


def forged(rec: dict, **metrics) -> dict:
    """``rec`` with seed #0's scores replaced and the aggregate recomputed to match (a careful forger)."""
    rec["per_seed"][0]["metrics"].update(metrics)
    rec["aggregate"] = aggregate([e["metrics"] for e in rec["per_seed"]])
    return rec


def test_honest_records_pass_the_derived_checks():
    assert big_problems(big_record()) == []
    assert big_problems(big_record(protocol="authors")) == []
    no_sets = big_record()
    no_sets["head_tail"] = None  # the authors' protocol re-draws the training part: no sets to check against
    assert big_problems(no_sets) == []


def test_a_forged_score_with_a_matching_aggregate_fails_the_cli(lb, capsys):
    rec = forged(big_record(), macro=0.99, micro=0.99, head=0.99)
    genre_mean = sum(rec["per_seed"][0]["metrics"]["per_genre"].values()) / 23
    add_split("demo", "big", BIG.sha256, lb, sizes=BIG_SIZES)
    path = lb / "submissions" / result_filename(rec)
    path.write_text(json.dumps(rec))
    assert validate.main([str(path), "--leaderboard-dir", str(lb)]) == 1
    out = capsys.readouterr().out
    assert f"per_seed/0/metrics/macro: 0.99 is not the mean of this seed's 23 per-genre F1 ({genre_mean:.6g})" in out
    assert "per_seed/0/metrics/head: 0.99 is not the mean F1 of its head genres (head_tail/head: " in out
    assert "per_seed/0/metrics/micro: 0.99 is above every per-genre F1 of this seed (at most " in out
    assert all(line.count(": ") >= 1 and "Traceback" not in line for line in out.splitlines())


def _support(seed_index: int, genre: str, value: int):
    def edit(rec):
        rec["per_seed"][seed_index]["metrics"]["support"][genre] = value

    return edit


DERIVED = {
    "weighted": (lambda r: forged(r, weighted=0.99), "per_seed/0/metrics/weighted: 0.99 is not the support-weighted mean of this seed's per-genre F1 ("),
    "tail": (lambda r: forged(r, tail=0.999), "per_seed/0/metrics/tail: 0.999 is not the mean F1 of its tail genres (head_tail/tail: "),
    "macro_present": (lambda r: forged(r, macro_present=0.99), "per_seed/0/metrics/macro_present: 0.99 is not the mean F1 of the 22 genres with test support ("),
    "tail_present": (lambda r: forged(r, tail_present=0.99), "per_seed/0/metrics/tail_present: 0.99 is not the mean F1 of the 5 tail genres with test support ("),
    "n_present": (lambda r: forged(r, n_present=23), "per_seed/0/metrics/n_present: 23 is not the number of genres with test support (22)"),
    "tail 0.999 with samples 0.0": (lambda r: forged(r, tail=0.999, samples=0.0),
                                    "per_seed/0/metrics/samples: 0.0, yet per-genre F1 are above 0"),
    "support over the test part": (_support(0, "Drama", 31), "per_seed/0/metrics/support/Drama: 31 exceeds the 30 movies of the test part"),
    "support differing over seeds": (_support(1, "Drama", 0), "per_seed/1/metrics/support/Drama: 0 differs from seed 0's 9; on a fixed split"),
    "support of some genres only": (lambda r: r["per_seed"][0]["metrics"]["support"].pop("War"),
                                    "per_seed/0/metrics/support: must count all 23 genres or be left out (missing: War)"),
    "negative seed": (_set("per_seed/0/seed", -1), "per_seed/0/seed: -1 is less than the minimum of 0"),
    "seed of 2**32": (_set("seeds/1", 2**32), "seeds/1: 4294967296 is greater than the maximum of 4294967295"),
    "impossible date": (_set("created", "9999-99-99T00:00:00Z"), "created: '9999-99-99T00:00:00Z' is not a real date-time"),
    "future date": (_set("created", "2999-01-01T00:00:00Z"), "created: '2999-01-01T00:00:00Z' is in the future"),
    "test part of 9 movies": (_set("split/parts/test/size", 9), "split/parts/test/size: 9 is not the registered size of this split's test part (30)"),
    "train part of 0 movies": (_set("split/parts/train/size", 0), "split/parts/train/size: 0 is not the registered size of this split's train part (60)"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(DERIVED))
def test_each_derived_figure_is_checked(case):
    edit, expected = DERIVED[case]
    rec = big_record()
    assert big_problems(rec) == []
    edit(rec)
    problems = big_problems(rec)
    assert any(expected in p for p in problems), problems
    assert all("\n" not in p for p in problems)


def test_head_and_tail_without_sets_stay_within_the_per_genre_range():
    rec = big_record()
    rec["head_tail"] = None
    top = max(rec["per_seed"][0]["metrics"]["per_genre"].values())
    forged(rec, tail=min(1.0, top + 0.01))
    assert any(p.startswith("per_seed/0/metrics/tail: ") and "outside the range of this seed's per-genre F1" in p for p in big_problems(rec))


def test_part_sizes_are_not_checked_where_the_registry_has_none():
    rec = big_record()
    rec["split"]["parts"]["test"]["size"] = 31  # the parts' hashes are not the ids; only a registered size says it is wrong
    assert validate.validate_record(rec, known={"demo": {"big": BIG.sha256}}) == []


# ----------------------------------------------------------------------------- the repo's own leaderboard


def test_committed_submissions_are_valid():
    files = sorted((LEADERBOARD_DIR / "submissions").glob("*.json"))
    report = validate.validate_files(files)
    assert {str(p): probs for p, probs in report.items() if probs} == {}


def test_committed_readme_is_not_stale():
    assert render.check() == [], "run python -m leaderboard.render and commit leaderboard/README.md"


def test_each_recipe_gets_its_own_section_and_rows_are_never_ranked_across_recipes():
    tuned, paper = record("idkg", (0.60,)), record("gmu", (0.30,), config={"hidden": 64, "lr": 0.001})
    tuned["spec"], paper["spec"] = {"recipe": "tuned"}, {"recipe": "paper"}
    readme = render.render_files([tuned, paper], {"demo": {"demo": SPLIT.sha256}})["README.md"].decode()
    sections = [line for line in readme.splitlines() if line.startswith("### ")]
    assert [s.rsplit(", ", 1)[1] for s in sections] == ["recipe `tuned`", "recipe `paper`"]  # tuned first
    tuned_part = readme.split("recipe `tuned`")[1].split("recipe `paper`")[0]
    assert "| idkg | recipe tuned |" in tuned_part and "| gmu |" not in tuned_part


def test_rows_tuned_by_a_study_get_their_own_section_and_say_their_budget():
    by_recipe, by_study = record("idkg", (0.60,)), record("gmu", (0.70,), config={"hidden": 64, "lr": 0.001})
    by_recipe["spec"] = {"recipe": "tuned"}
    by_study["spec"] = {"recipe": "tuned", "tuning": {"digest": "ab" * 32, "text": "Optuna, 30 trials x 4-fold CV x 3 seeds"}}
    readme = render.render_files([by_recipe, by_study], {"demo": {"demo": SPLIT.sha256}})["README.md"].decode()
    sections = [line for line in readme.splitlines() if line.startswith("### ")]
    assert [s.split("fixed protocol, ", 1)[1] for s in sections] == [
        "recipe `tuned`", "tuned per dataset, each model by its own study with the same budget: "
        "Optuna, 30 trials x 4-fold CV x 3 seeds"]  # never one ranked list
    study_part = readme.split("fixed protocol, tuned per dataset, each model by its own study")[1]
    assert "| gmu | Optuna, 30 trials x 4-fold CV x 3 seeds |" in study_part and "| idkg |" not in study_part


def test_a_model_with_its_own_temperature_is_not_hidden_as_part_of_the_tau_sweep():
    from leaderboard.experiments import sweep_models

    assert sweep_models() == {"temperature": frozenset({"idkg"})}
    runs = [record("idkg", (0.6,), config={"temperature": 0.1}), record("idkg", (0.5,), config={"temperature": 0.3}),
            record("idkg", (0.55,), config={"temperature": 0.1, "lr": 0.003}),
            record("idkg-as-released", (0.4,), config={"temperature": 0.5})]  # fmt: skip
    readme = render.render_files(runs, {"demo": {"demo": SPLIT.sha256}})["README.md"].decode()
    assert "idkg-as-released" in [r[0] for r in _table_rows(readme, "Main comparison (Table 2)")]
