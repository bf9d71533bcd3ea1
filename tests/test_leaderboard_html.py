"""The results as data (``leaderboard.frame``, ``--csv``) and the web page (``--html``), the page
driven in a real headless Chromium (Debian's ``chromium`` through Playwright; skipped, saying
what is missing, where either is absent)."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from leaderboard import page, render
from leaderboard.frame import columns, frame, to_dataframe
from leaderboard.results import make_result, result_filename, submit_result
from leaderboard.splits import add_split
from mmimdb2.genres import GENRES
from mmimdb2.metrics import evaluate
from mmimdb2.packing import ordered_ids_sha256
from mmimdb2.splits import Split

TEST_IDS = tuple(f"tt{i:07d}" for i in range(11, 41))
SPLIT = Split("demo", {"train": ("tt0000001", "tt0000002"), "dev": ("tt0000003",), "test": TEST_IDS})
CODE = {"git": "v0.1.0-1-gabcdef0", "commit": "a" * 40, "dirty": False, "package": "0.1.0"}
HW = {"device": "cpu", "cpu": "Test CPU (2 cores)", "gpu": None, "torch": "2.14.1"}
HEAD_TAIL = {"k": 6, "head": list(GENRES[:6]), "tail": list(GENRES[-6:])}
MARKUP = "<img src=x onerror=alert(1)>"
#: (model, chance a decision is right, protocol): micro-F1 order idkg > centralnet > gmu > concat.
RUNS = (("gmu", 0.70, "fixed"), ("idkg", 0.90, "fixed"), ("centralnet", 0.80, "fixed"), ("concat", 0.60, "fixed"),
        ("idkg", 0.97, "authors"))  # fmt: skip
CHROMIUM = "/usr/bin/chromium"
#: Chromium flags for a closed network: no first-run, sync or update traffic.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip


def run_record(model: str, right: float, protocol: str = "fixed", **kw) -> dict:
    """A record as the harness writes it: scores computed from stored test decisions on ``TEST_IDS``."""
    labels = (np.random.default_rng(7).random((len(TEST_IDS), 23)) < 0.3).astype(np.int8)
    labels[:, 0] = 1
    per_seed = []
    for seed in (0, 1):
        hit = np.random.default_rng(100 * seed + int(100 * right)).random(labels.shape) < right
        decided = np.where(hit, labels, 1 - labels).astype(np.int8)
        metrics = evaluate(labels, decided.astype(float), train_label_counts=list(range(23, 0, -1)))
        per_seed.append({"seed": seed, "metrics": metrics, "best_epoch": 1, "predictions": decided})
    return make_result(
        dataset="demo", dataset_version="1", split=SPLIT, model=model, config={"hidden": 64}, encoder="hash:64",
        encoder_version="1", kg={"model": "RotatE", "dim": 32, "dim_model": 16, "epochs": 5, "optimizer": "SparseAdam", "hits_at_10": 0.4}, per_seed=per_seed,
        timings={"train": 1.0}, threshold_policy="fixed", protocol=protocol, head_tail=HEAD_TAIL, code=CODE, hardware=HW,
        created="2026-11-25T12:00:00Z", test_labels=labels, test_ids_sha256=ordered_ids_sha256(TEST_IDS), **kw,
    )  # fmt: skip


def fill(root: Path) -> Path:
    """A leaderboard folder with :data:`RUNS` and one invalid submission whose model name is markup."""
    (root / "submissions").mkdir(parents=True)
    add_split("demo", "demo", SPLIT.sha256, root)
    for model, right, protocol in RUNS:
        submit_result(run_record(model, right, protocol), root)
    bad = run_record("gmu", 0.5)
    bad["model"]["name"] = MARKUP
    (root / "submissions" / "demo__bad__000000000000.json").write_text(json.dumps(bad))
    return root


@pytest.fixture(scope="module")
def board(tmp_path_factory) -> Path:
    return fill(tmp_path_factory.mktemp("board"))


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = render.main(list(argv))
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def exported(board, tmp_path_factory) -> tuple[Path, Path, str]:
    """``(page, csv, stderr)`` of ``python -m leaderboard.render --html DIR --csv FILE`` on the board."""
    out = tmp_path_factory.mktemp("out")
    rc, _, err = cli("--leaderboard-dir", str(board), "--html", str(out / "site"), "--csv", str(out / "results.csv"))
    assert rc == 0, err
    return out / "site" / "index.html", out / "results.csv", err


# ----------------------------------------------------------------------------- results as data


def test_dataframe_has_one_row_per_valid_result_and_names_each_skipped_file(board):
    with pytest.warns(UserWarning, match=r"skipped .*demo__bad__000000000000\.json: .*model/name"):
        df = to_dataframe(board / "submissions")
    assert list(df.columns) == columns() and len(df) == len(RUNS)
    assert list(df.attrs["skipped"]) == [str(board / "submissions" / "demo__bad__000000000000.json")]
    # the README's grouping and order: fixed before authors, best micro-F1 first in a group
    assert list(zip(df["protocol"], df["model"])) == [("fixed", "idkg"), ("fixed", "centralnet"), ("fixed", "gmu"),
                                                     ("fixed", "concat"), ("authors", "idkg")]  # fmt: skip
    gmu = df[(df["model"] == "gmu")].iloc[0]
    rec = run_record("gmu", 0.70)
    assert gmu["micro_mean"] == pytest.approx(rec["aggregate"]["mean"]["micro"])
    assert gmu["macro_std"] == pytest.approx(rec["aggregate"]["std"]["macro"])
    assert gmu["split_sha256"] == SPLIT.sha256 and gmu["seeds"] == 2 and gmu["seed_list"] == "0 1"
    assert gmu["kg_model"] == "RotatE" and gmu["encoder"] == "hash:64" and json.loads(gmu["config"]) == {"hidden": 64}
    assert gmu["file"] == result_filename(rec) and gmu["created"] == "2026-11-25T12:00:00Z"
    assert gmu["macro_present_ci_low"] < gmu["macro_present_estimate"] < gmu["macro_present_ci_high"]


def test_results_without_predictions_have_no_interval():
    rec = run_record("gmu", 0.7)
    del rec["test_labels"]
    for entry in rec["per_seed"]:
        del entry["predictions"]
    row = frame([rec]).iloc[0]
    assert np.isnan(row["macro_present_ci_low"]) and np.isnan(row["macro_present_ci_high"]) and row["micro_mean"] > 0


def test_csv_is_the_dataframe_and_invalid_files_are_warned(board, exported):
    import pandas as pd

    _, csv, err = exported
    assert re.search(r"^warning: skipped .*demo__bad__000000000000\.json: model/name: ", err, re.M), err
    with pytest.warns(UserWarning):
        df = to_dataframe(board / "submissions")
    back = pd.read_csv(csv, keep_default_na=False, na_values=[""])
    assert list(back.columns) == columns() and len(back) == len(df)
    assert back["micro_mean"].tolist() == pytest.approx(df["micro_mean"].tolist())
    assert back["label"].tolist() == df["label"].tolist()
    assert not list(csv.parent.glob(".*.tmp"))  # written through a temporary file, nothing left over


def test_export_into_a_read_only_folder_is_one_line(board, tmp_path, read_only):
    folder = read_only(tmp_path / "ro")
    rc, _, err = cli("--leaderboard-dir", str(board), "--csv", str(folder / "r.csv"))
    assert rc == 2 and "Traceback" not in err
    assert err.splitlines()[-1].startswith(f"error: cannot write {folder / 'r.csv'}")
    assert not (folder / "r.csv").exists()


# ----------------------------------------------------------------------------- the page, as text


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parsed(text: str) -> Tags:
    tags = Tags()
    tags.feed(text)
    return tags


def test_page_is_self_contained_and_holds_every_plot_of_the_readme_render(board, exported):
    path, _, _ = exported
    text = path.read_text(encoding="utf-8")
    tags = parsed(text)
    assert not [t for t, a in tags.tags if t in ("link", "iframe", "object", "embed") or (t == "script" and "src" in a)]
    images = [a["src"] for t, a in tags.tags if t == "img"]
    with pytest.warns(UserWarning):
        df = to_dataframe(board / "submissions")
    valid = [json.loads((board / "submissions" / f).read_text()) for f in df["file"]]
    pngs = [k for k in render.render_files(valid, {}) if k.endswith(".png")]
    assert len(images) == len(pngs) >= 2 and all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", text)
    # one table per README group, in its order: fixed split first, then the authors' protocol
    groups = [a for t, a in tags.tags if t == "section" and a.get("class") == "group"]
    assert [g["data-protocol"] for g in groups] == ["fixed", "authors"]
    assert all(g["data-split"] == SPLIT.sha256[:12] for g in groups)


def test_page_lists_the_skipped_file_with_its_markup_as_text(exported):
    path, _, _ = exported
    tags = parsed(path.read_text(encoding="utf-8"))
    assert not [a for t, a in tags.tags if t == "img" and a.get("src") == "x"]
    assert any("demo__bad__000000000000.json" in s for s in tags.text)
    assert any("model/name" in s and "<" in s for s in tags.text)


def hostile_record() -> dict:
    """Markup in every text field, built without validation (what a bypass would hand the page)."""
    rec = make_result(
        dataset='demo"><img src=x onerror=alert(4)>', dataset_version="1'><b>v</b>", split=SPLIT, model=MARKUP,
        config={"hidden": 64, "note": '"><script>alert(3)</script>'}, encoder="<script>alert(2)</script>",
        encoder_version="1", kg={"model": "<b>RotatE</b>", "dim": 32, "dim_model": 32, "epochs": 5, "optimizer": "Adam", "hits_at_10": None},
        per_seed=[{"seed": 0, "metrics": evaluate(np.eye(2, 23), np.eye(2, 23)), "best_epoch": 1}], timings={}, threshold_policy="fixed",
        head_tail=None, code={**CODE, "git": "<i>v1</i>"}, hardware=HW, created="2026-11-25T12:00:00Z",
        spec={"recipe": "<u>tuned</u>"}, validate=False,
    )  # fmt: skip
    rec["split"]["name"] = "<svg onload=alert(5)>"
    return rec


def test_page_escapes_every_submitted_field():
    text = page.html_page([hostile_record()], skipped=[(Path("x<b>.json"), "model/name: '<' not allowed")])
    tags = parsed(text)
    assert {t for t, _ in tags.tags} <= {"html", "head", "meta", "title", "style", "body", "header", "h1", "p", "code", "em",
                                         "nav", "label", "select", "option", "input", "span", "main", "section", "h2", "h3",
                                         "div", "table", "thead", "tr", "th", "tbody", "td", "details", "summary", "ul", "li",
                                         "script"}  # fmt: skip
    assert sum(t == "script" for t, _ in tags.tags) == 1  # the page's own
    assert not any(k.startswith("on") for _, a in tags.tags for k in a)
    shown = "".join(tags.text)
    for field in (MARKUP, "<script>alert(2)</script>", "<b>RotatE</b>", "<i>v1</i>", "<svg onload=alert(5)>", "x<b>.json"):
        assert field in shown, field


# ----------------------------------------------------------------------------- the page, in Chromium


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
    executable = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if executable is None:
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (apt-get install -y chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield b
        b.close()


def open_page(browser, path: Path):
    """A tab on ``file://path``, with the console errors, page errors and dialogs it raises."""
    tab = browser.new_page(viewport={"width": 1400, "height": 900})
    seen: dict[str, list[str]] = {"errors": [], "dialogs": []}
    tab.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: seen["errors"].append(str(e)))
    tab.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    tab.goto(path.resolve().as_uri())
    return tab, seen


def column(tab, group: int, header: str) -> list[str]:
    """The sort keys (``data-v``) of a column of the ``group``-th table, top to bottom, visible rows only."""
    return tab.evaluate(
        """([g, h]) => { const t = document.querySelectorAll("section.group table")[g];
             const i = [...t.tHead.rows[0].cells].findIndex(c => c.textContent === h);
             return [...t.tBodies[0].rows].filter(r => r.offsetParent !== null).map(r => r.cells[i].dataset.v); }""",
        [group, header],
    )


def test_page_in_chromium_sorts_by_a_clicked_header(browser, exported):
    path, _, _ = exported
    tab, seen = open_page(browser, path)
    try:
        fixed = tab.locator("section.group").nth(0)
        assert column(tab, 0, "Model") == ["idkg", "centralnet", "gmu", "concat"]  # the README's ranking
        fixed.locator("th", has_text="Model").click()
        assert column(tab, 0, "Model") == ["centralnet", "concat", "gmu", "idkg"]
        assert fixed.locator("th", has_text="Model").get_attribute("aria-sort") == "ascending"
        macro = fixed.locator("th", has_text=re.compile("^Macro-F1$"))
        macro.click()  # numbers: best first
        values = [float(v) for v in column(tab, 0, "Macro-F1")]
        assert values == sorted(values, reverse=True) and macro.get_attribute("aria-sort") == "descending"
        macro.click()
        values = [float(v) for v in column(tab, 0, "Macro-F1")]
        assert values == sorted(values) and macro.get_attribute("aria-sort") == "ascending"
        assert column(tab, 0, "Model")[0] == "concat"
        # every plot decoded from its data: URI
        assert tab.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
        assert tab.locator("img").count() >= 2
        assert seen == {"errors": [], "dialogs": []}
    finally:
        tab.close()


def test_page_in_chromium_filters_rows(browser, exported):
    path, _, _ = exported
    tab, seen = open_page(browser, path)
    try:
        assert tab.locator("#shown").text_content() == "5 of 5 results"
        tab.select_option("#f-protocol", "authors")
        assert tab.locator("section.group").nth(0).is_hidden() and tab.locator("section.group").nth(1).is_visible()
        assert tab.locator("#shown").text_content() == "1 of 5 results"
        tab.select_option("#f-protocol", "*")
        tab.fill("#f-model", "CENTRAL")
        assert column(tab, 0, "Model") == ["centralnet"] and tab.locator("section.group").nth(1).is_hidden()
        tab.fill("#f-model", "idkg")
        assert column(tab, 0, "Model") == ["idkg"] and column(tab, 1, "Model") == ["idkg"]
        tab.fill("#f-model", "no such model")
        assert tab.locator("section.dataset").first.is_hidden() and tab.locator("#shown").text_content() == "0 of 5 results"
        assert seen == {"errors": [], "dialogs": []}
    finally:
        tab.close()


def test_page_in_chromium_shows_markup_as_inert_text(browser, tmp_path):
    path = tmp_path / "index.html"
    rec = hostile_record()
    path.write_text(page.html_page([rec, run_record("gmu", 0.7)], skipped=[(Path("x.json"), f"model/name: {MARKUP!r}")]))
    tab, seen = open_page(browser, path)
    try:
        tab.wait_for_timeout(200)  # an injected image's onerror would fire by now
        assert seen == {"errors": [], "dialogs": []}
        injected = "img, svg, b, i, u, main script, [onerror], [onload]"
        assert tab.locator(injected).count() == 0
        first_cells = tab.locator("section.group td:first-child").all_text_contents()
        assert MARKUP in first_cells
        assert tab.locator("td", has_text="<script>alert(2)</script>").count() == 1
        assert MARKUP in tab.locator("details.skipped").text_content()
    finally:
        tab.close()


def test_page_is_deterministic_whatever_the_order_of_the_files():
    records = [run_record(model, right, protocol) for model, right, protocol in RUNS]
    text = page.html_page(records)
    assert page.html_page(records[::-1]) == text
    tags = parsed(text)
    assert [a["data-protocol"] for t, a in tags.tags if t == "section" and a.get("class") == "group"] == ["fixed", "authors"]
    assert "Train / dev / test: 2 / 1 / 30 movies" in text and "leaky, not comparable" in text


# ----------------------------------------------------------------------------- published numbers on the page


def test_page_shows_each_datasets_published_numbers_apart_with_their_flags(exported):
    from leaderboard.reported import load_reported

    path, _, _ = exported
    text = path.read_text(encoding="utf-8")
    tags = parsed(text)
    reported = [a for t, a in tags.tags if t == "section" and a.get("class") == "reported"]
    assert [a["data-dataset"] for a in reported] == ["mmimdb", "mmimdb2"]  # after demo's groups, by name
    # never a group: the results' count, the sorting and the ranking do not reach them
    assert [a["data-protocol"] for t, a in tags.tags if t == "section" and a.get("class") == "group"] == ["fixed", "authors"]
    assert f"{len(RUNS)} of {len(RUNS)} results" in text
    block = text[text.index('<section class="reported" data-dataset="mmimdb">') :]
    block = block[: block.index("</section>")]
    assert "Reported results (not reproduced here): MM-IMDb" in block and "vs best" not in block and "data-type" not in block
    rows = re.findall(r'<tr data-model="([^"]+)" data-kind="([^"]+)" data-verified="([^"]+)">', block)
    assert rows == [(r.model.lower(), r.kind, str(r.verified).lower()) for r in load_reported().of("mmimdb")]
    assert '<td class="flag split">⚠ re-drawn 60/10/30 split' in block and '<td class="flag leakage">⚠ KG built from another draw' in block
    assert "ViT-B-32-quickgelu" in block and "https://arxiv.org/abs/2310.08032" in block and "⚠ no (see below)" in block
    assert re.search(r'<p class="gap"><em>Published claims and the rows reproduced here\.</em> [^<]*84\.9 / 83\.2 on MM-IMDb', text)


def test_page_with_published_numbers_keeps_to_the_safe_tags():
    from leaderboard.reported import load_reported

    text = page.html_page([run_record("gmu", 0.7)], reported=load_reported())
    tags = parsed(text)
    assert {t for t, _ in tags.tags} <= {"html", "head", "meta", "title", "style", "body", "header", "h1", "p", "code", "em",
                                         "nav", "label", "select", "option", "input", "span", "main", "section", "h2", "h3",
                                         "div", "table", "thead", "tr", "th", "tbody", "td", "details", "summary", "ul", "li",
                                         "script"}  # fmt: skip
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", text)  # a source's URL is text, never a link
    assert [a["value"] for t, a in tags.tags if t == "option" and a["value"] in ("mmimdb", "mmimdb2")] == ["mmimdb", "mmimdb2"]


def test_page_in_chromium_never_sorts_or_counts_published_rows_and_filters_them_by_dataset(browser, exported):
    path, _, _ = exported
    tab, seen = open_page(browser, path)
    try:
        mm = tab.locator('section.reported[data-dataset="mmimdb"]')
        assert mm.is_visible() and tab.locator('section.dataset[data-dataset="mmimdb"]').is_visible()
        order = mm.locator("tbody tr td:first-child").all_text_contents()
        assert order == ["IDKG", "GMU", "CentralNet"]
        mm.locator("th", has_text="Micro-F1").click()  # a published table has no sortable header
        assert mm.locator("tbody tr td:first-child").all_text_contents() == order
        assert tab.locator("#shown").text_content() == f"{len(RUNS)} of {len(RUNS)} results"
        tab.fill("#f-model", "gmu")  # the model filter reaches published rows too, without counting them
        assert mm.locator("tbody tr:not(.hidden) td:first-child").all_text_contents() == ["GMU"]
        assert tab.locator("#shown").text_content() == f"1 of {len(RUNS)} results"
        tab.fill("#f-model", "")
        tab.select_option("#f-dataset", "demo")
        assert mm.is_hidden() and tab.locator('section.dataset[data-dataset="mmimdb"]').is_hidden()
        tab.select_option("#f-dataset", "mmimdb")
        assert mm.is_visible() and tab.locator('section.reported[data-dataset="mmimdb2"]').is_hidden()
        assert tab.locator('section.dataset[data-dataset="demo"]').is_hidden() and tab.locator("#shown").text_content() == f"0 of {len(RUNS)} results"
        tab.select_option("#f-dataset", "*")
        tab.select_option("#f-protocol", "authors")  # published rows have no protocol of this leaderboard's: hidden
        assert mm.is_hidden()
        assert seen == {"errors": [], "dialogs": []}
    finally:
        tab.close()
