"""Diagnostics on the leaderboard: each dataset with a diagnosed row gets a Diagnostics table (EMAP's
interaction gain with its verdict, robustness per noise, cost, seconds) and a robustness plot, in
the README, on the page and in the CSV; a dataset without one gets nothing new. Fixtures: copies
of committed yts800 rows with blocks written by hand, as ``--attach`` writes them."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from leaderboard import render
from leaderboard.diagnostics_table import plot_path
from leaderboard.frame import columns, to_dataframe
from leaderboard.results import submit_result
from leaderboard.splits import add_split
from tests.test_leaderboard_html import SPLIT, browser, open_page, run_record  # noqa: F401 (browser: a fixture)

SUBMISSIONS = Path(__file__).resolve().parents[1] / "leaderboard" / "submissions"
#: Committed yts800 rows, all on the fixed split: three of the tuned recipe, one of the paper recipe.
ROWS = {
    "idkg": "yts800__idkg__b2b12df239fd.json",
    "gmu": "yts800__gmu__a87be9e40473.json",
    "late-fusion": "yts800__late-fusion__6edcea60aa78.json",
    "idkg-paper": "yts800__idkg__4e587a1a8632.json",
}
README_PLOT = plot_path("yts800")


def ci(estimate: float, low: float, high: float) -> dict:
    return {"estimate": estimate, "low": low, "high": high}


def emap_block(record: dict, gain: dict, *, method: str = "exact") -> dict:
    sampled = method == "sampled"
    return {"groups": [["plot"], ["poster"], ["people"]], "method": method, "partners": 256 if sampled else None,
            "emap_seed": 0 if sampled else None, "macro_f1": ci(0.4513, 0.4073, 0.4853),
            "emap_macro_f1": ci(0.4513 - gain["estimate"], 0.39, 0.47), "gain": gain, "decisions_changed": 0.031,
            "seconds": {"fit": 13.5, "emap": 63.7}, "code_version": record["code_version"], "created": record["created"]}  # fmt: skip


def curve(start: float, drop: float, relative: float, effective: float | None) -> dict:
    points = [{"level": lv, "estimate": start - drop * lv, "low": start - drop * lv - 0.04, "high": start - drop * lv + 0.04,
               "changed": 0.1 * lv} for lv in (0, 0.5, 1)]  # fmt: skip
    return {"points": points, "relative_robustness": relative, "effective_robustness": effective}


def robustness_block(record: dict, curves: dict, reference: str | None = "late-fusion") -> dict:
    return {"noise_seed": 0, "reference": reference, "curves": curves, "seconds": {"fit": 6.2, "predict": 0.4, "encode_noisy": 300.0},
            "code_version": record["code_version"], "created": record["created"]}  # fmt: skip


def attach(root: Path, name: str, **blocks: dict) -> None:
    path = root / "submissions" / ROWS[name]
    record = json.loads(path.read_text())
    record["diagnostics"] = {kind: make(record) for kind, make in blocks.items()}
    path.write_text(json.dumps(record))


def copy_undiagnosed(name: str, folder: Path) -> None:
    """A committed row as it was before diagnostics were attached to it (the tests attach their own)."""
    record = json.loads((SUBMISSIONS / name).read_text())
    record.pop("diagnostics", None)
    (folder / name).write_text(json.dumps(record, indent=2))


def fill(root: Path, *, diagnosed: bool = True) -> Path:
    """A leaderboard with the four yts800 rows and a demo row. With ``diagnosed``: idkg (tuned) has
    an EMAP gain apart from 0 and poster and plot curves; gmu (tuned) an EMAP tie and no robustness;
    idkg (paper) robustness only, with no reference; late-fusion and demo nothing."""
    (root / "submissions").mkdir(parents=True)
    for name in ROWS.values():
        copy_undiagnosed(name, root / "submissions")
    split = json.loads((SUBMISSIONS / ROWS["idkg"]).read_text())["split"]
    add_split("yts800", split["name"], split["sha256"], root)
    add_split("demo", "demo", SPLIT.sha256, root)
    submit_result(run_record("gmu", 0.7), root)
    if diagnosed:
        curves = {"poster": curve(0.44, 0.06, 0.3951, -0.281), "plot": curve(0.44, 0.11, 0.3873, 0.355)}
        attach(root, "idkg", emap=lambda r: emap_block(r, ci(0.018, 0.0013, 0.0349)), robustness=lambda r: robustness_block(r, curves))
        attach(root, "gmu", emap=lambda r: emap_block(r, ci(-0.0018, -0.015, 0.0136), method="sampled"))
        attach(root, "idkg-paper", robustness=lambda r: robustness_block(r, {"poster": curve(0.42, 0.05, 0.40, None)}, None))
    return root


@pytest.fixture(scope="module")
def board(tmp_path_factory) -> Path:
    return fill(tmp_path_factory.mktemp("diag"))


@pytest.fixture(scope="module")
def files(board) -> dict[str, bytes]:
    return render.render(board)


def section(readme: str) -> str:
    start = readme.index("### Diagnostics")
    end = readme.index("\n## ", start) if "\n## " in readme[start:] else len(readme)
    return readme[start:end]


def table_rows(text: str) -> dict[tuple[str, str], dict[str, str]]:
    """``{(model, tuning): {header: cell}}`` of the first Markdown table in ``text``."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    header = [h.strip() for h in lines[0].strip("|").split(" | ")]
    rows = [dict(zip(header, (c.strip() for c in line.strip("|").split(" | ")))) for line in lines[2:]]
    return {(r["Model"], r["Tuning"]): r for r in rows}


def test_only_a_dataset_with_diagnosed_rows_gets_the_section_with_one_line_per_diagnosed_row(files):
    readme = files["README.md"].decode()
    assert readme.count("### Diagnostics") == 1
    demo, yts = readme.index("## demo"), readme.index("## yts800")
    assert demo < yts < readme.index("### Diagnostics")  # under yts800, after its tables
    assert readme.index("### Diagnostics") > readme.rindex("#### ", 0, readme.index("### Diagnostics"))
    rows = table_rows(section(readme))
    assert set(rows) == {("idkg", "recipe tuned"), ("gmu", "recipe tuned"), ("idkg", "recipe paper")}  # not late-fusion
    assert list(rows) == [("gmu", "recipe tuned"), ("idkg", "recipe tuned"), ("idkg", "recipe paper")]  # the tables' order (by micro-F1)
    assert README_PLOT in files and f"]({README_PLOT})" in readme
    assert [k for k in files if "diagnostics" in k] == [README_PLOT]


def test_values_marks_and_dashes(files):
    from leaderboard.table_model import cost_of

    rows = table_rows(section(files["README.md"].decode()))
    idkg, gmu, paper = rows[("idkg", "recipe tuned")], rows[("gmu", "recipe tuned")], rows[("idkg", "recipe paper")]
    assert idkg["Interaction gain [95% CI]"] == "+1.80 [+0.13, +3.49]" and idkg["Interactions"] == "interactions help"
    assert gmu["Interaction gain [95% CI]"] == "-0.18 [-1.50, +1.36]" and gmu["Interactions"] == "tie: additive"
    assert idkg["Macro-F1 [95% CI]"] == "45.13 [40.73, 48.53]" and idkg["EMAP macro-F1 [95% CI]"] == "43.33 [39.00, 47.00]"
    assert idkg["EMAP moved"] == "3.10%" and idkg["EMAP s"] == "77.2" and idkg["Robustness s"] == "6.6"  # the run's shared encoding is not the row's
    assert "encoded once for every row of a robustness run: 300 s" in section(files["README.md"].decode())
    assert (idkg["poster relative"], idkg["poster effective"], idkg["plot relative"], idkg["plot effective"]) == (
        "0.3951",
        "-0.281",
        "0.3873",
        "+0.355",
    )
    # a row without robustness: a dash in every robustness column; without EMAP: in every EMAP column
    assert [gmu[h] for h in ("poster relative", "poster effective", "plot relative", "plot effective", "Robustness s")] == ["—"] * 5
    assert [paper[h] for h in ("Macro-F1 [95% CI]", "Interaction gain [95% CI]", "Interactions", "EMAP s")] == ["—"] * 4
    assert paper["poster relative"] == "0.4000" and paper["poster effective"] == "—" and paper["plot relative"] == "—"
    # cost as the other tables compute it
    record = json.loads((SUBMISSIONS / ROWS["idkg"]).read_text())
    cost = cost_of(record)
    assert idkg["Params"] == f"{cost['parameters']:,}" and idkg["Train s"] == f"{cost['train_s']:.1f}"


def test_the_caption_is_read_off_the_blocks(files):
    text = section(files["README.md"].decode())
    caption = next(line for line in text.splitlines() if line.startswith("*Diagnostics"))
    assert "plot \\| poster \\| people (exact) or plot \\| poster \\| people (sampled, 256 partners, seed 0)" in caption
    assert "poster at 0, 0.5, 1; plot at 0, 0.5, 1" in caption and "noise seed 0" in caption
    assert "reference row (late-fusion or none)" in caption
    assert caption.index("*Diagnostics") < text.index("| Model")  # above the table


def test_render_is_deterministic_and_check_sees_a_new_block(board, files, tmp_path):
    assert render.render(board) == files
    root = tmp_path / "lb"
    shutil.copytree(board, root)
    render.write(root)
    assert render.check(root) == []
    attach(root, "late-fusion", emap=lambda r: emap_block(r, ci(0.0, 0.0, 0.0)))
    assert render.check(root) == [f"{root / 'README.md'} is stale"]
    render.write(root)
    assert render.check(root) == [] and "late-fusion | recipe tuned" in section((root / "README.md").read_text())


def test_no_diagnostics_no_section_and_the_committed_readme_is_unchanged(tmp_path):
    files = render.render(fill(tmp_path / "lb", diagnosed=False))
    assert b"Diagnostics" not in files["README.md"] and not [k for k in files if "diagnostics" in k]
    assert render.check() == []  # no committed row has diagnostics: the committed README renders as it is


def test_the_plot_draws_each_curve_of_each_row(board, files):
    from leaderboard.diagnostics_table import curve_lines, diagnosed
    from leaderboard.table_model import groups

    assert files[README_PLOT].startswith(b"\x89PNG")
    records = render.collect(board)
    lines = curve_lines(diagnosed(groups(records), "yts800"))
    assert list(lines) == ["poster", "plot"]  # one panel per noise
    # two tunings among the diagnosed rows: the legend says which
    assert [name for name, _ in lines["poster"]] == ["idkg · recipe tuned", "idkg · recipe paper"]
    assert [name for name, _ in lines["plot"]] == ["idkg · recipe tuned"]
    level, estimate, low, high = lines["plot"][0][1][1]
    assert (level, estimate, low, high) == (0.5, pytest.approx(0.385), pytest.approx(0.345), pytest.approx(0.425))
    assert curve_lines(diagnosed(groups(records), "demo")) == {}


def test_dataframe_has_the_diagnostics_columns(board):
    df = to_dataframe(board / "submissions")
    assert list(df.columns) == columns(["poster", "plot"])
    by = {(m, t): row for m, t, row in zip(df["label"], df["tuning"], df.itertuples())}
    idkg, gmu, lf = by[("idkg", "recipe tuned")], by[("gmu", "recipe tuned")], by[("late-fusion", "recipe tuned")]
    assert idkg.interaction_gain == 0.018 and idkg.interaction_gain_low == 0.0013 and idkg.interaction_gain_high == 0.0349
    assert (
        idkg.emap_macro_f1 == pytest.approx(0.4333)
        and idkg.poster_relative_robustness == 0.3951
        and idkg.plot_effective_robustness == 0.355
    )
    assert gmu.interaction_gain == -0.0018 and gmu.poster_relative_robustness != gmu.poster_relative_robustness  # NaN: no curve
    assert all(getattr(lf, c) != getattr(lf, c) for c in ("emap_macro_f1", "interaction_gain", "plot_effective_robustness"))


def test_a_reference_label_is_escaped_in_the_readme(tmp_path):
    root = fill(tmp_path / "lb", diagnosed=False)
    attach(root, "gmu", robustness=lambda r: robustness_block(r, {"plot": curve(0.4, 0.1, 0.35, 0.1)}, reference="late_fusion (x)"))
    text = section(render.render(root)["README.md"].decode())
    assert "reference row (late\\_fusion (x))" in text


# ----------------------------------------------------------------------------- the page


@pytest.fixture(scope="module")
def site(board, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    assert render.main(["--leaderboard-dir", str(board), "--html", str(out)]) == 0
    return out / "index.html"


def test_page_has_one_diagnostics_part_with_the_readmes_table_and_plot(site, files):
    from tests.test_leaderboard_html import parsed

    text = site.read_text(encoding="utf-8")
    tags = parsed(text)
    parts = [a for t, a in tags.tags if t == "section" and a.get("class") == "diagnostics"]
    assert [a["data-dataset"] for a in parts] == ["yts800"]
    block = text[text.index('<section class="diagnostics"') :]
    block = block[: block.index("</section>")]
    readme_rows = table_rows(section(files["README.md"].decode()))
    assert re.findall(r'<tr data-model="([^"]+)"[^>]* data-recipe="([^"]+)"', block) == [(m, t) for m, t in readme_rows]
    assert ">+1.80 [+0.13, +3.49]</td>" in block and ">interactions help</td>" in block and ">tie: additive</td>" in block
    assert block.count("data:image/png;base64,") == 1  # the robustness plot, here and not under 'Other plots'
    assert "Other plots" not in text
    # every README plot on the page exactly once
    assert len([a for t, a in tags.tags if t == "img"]) == len([k for k in files if k.endswith(".png")])


def test_page_in_chromium_sorts_and_filters_the_diagnostics_table(browser, site):
    tab, seen = open_page(browser, site)
    try:
        part = tab.locator("section.diagnostics")

        def col(header: str) -> list[str]:
            return tab.evaluate(
                """(h) => { const t = document.querySelector("section.diagnostics table");
                     const i = [...t.tHead.rows[0].cells].findIndex(c => c.textContent === h);
                     return [...t.tBodies[0].rows].filter(r => r.offsetParent !== null).map(r => r.cells[i].dataset.v); }""",
                header,
            )

        assert part.is_visible() and col("Model") == ["gmu", "idkg", "idkg"]
        gain = part.locator("th", has_text="Interaction gain")
        gain.click()  # numbers best first; a row without EMAP last
        assert col("Interaction gain [95% CI]") == ["0.018", "-0.0018", ""] and gain.get_attribute("aria-sort") == "descending"
        gain.click()
        assert col("Interaction gain [95% CI]") == ["-0.0018", "0.018", ""] and gain.get_attribute("aria-sort") == "ascending"
        part.locator("th", has_text="poster relative").click()
        assert col("poster relative") == ["0.4", "0.3951", ""]
        tab.select_option("#f-recipe", "recipe paper")
        assert col("Model") == ["idkg"] and part.is_visible()
        tab.select_option("#f-recipe", "*")
        tab.fill("#f-model", "late")
        assert part.is_hidden()  # late-fusion has no diagnostics
        assert seen == {"errors": [], "dialogs": []}
    finally:
        tab.close()


def test_rows_of_two_protocols_say_which_and_another_noise_gets_its_own_columns(tmp_path):
    root = fill(tmp_path / "lb", diagnosed=False)
    authors_file = "yts800__gmu__0c389e0004fa.json"  # gmu, tuned, the authors' protocol
    copy_undiagnosed(authors_file, root / "submissions")
    record = json.loads((root / "submissions" / authors_file).read_text())
    record["diagnostics"] = {"robustness": robustness_block(record, {"gaussian": curve(0.5, 0.2, 0.4, -0.1)})}
    (root / "submissions" / authors_file).write_text(json.dumps(record))
    attach(root, "gmu", emap=lambda r: emap_block(r, ci(-0.02, -0.03, -0.01)))
    text = section(render.render(root)["README.md"].decode())
    lines = [line for line in text.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split(" | ")]
    assert header[:3] == ["Model", "Tuning", "Split · protocol"] and "gaussian relative" in header
    places = [line.strip("|").split(" | ")[2].strip() for line in lines[2:]]
    assert places == ["fixed", "authors"]  # only what differs between the rows
    assert "| interactions hurt |" in lines[2]
    df = to_dataframe(root / "submissions")
    assert list(df.columns) == columns(["poster", "plot", "gaussian"])
    authors = df[df["protocol"] == "authors"].iloc[0]
    assert authors["gaussian_relative_robustness"] == 0.4 and authors["gaussian_effective_robustness"] == -0.1
