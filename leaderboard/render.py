"""Render ``leaderboard/README.md`` and ``leaderboard/plots/*.png`` from the submissions only.

``python -m leaderboard.render`` (re)writes them; ``python -m leaderboard.render --check`` exits 1
when the committed README differs from what would be rendered (or a plot file is missing or
extra). Output is deterministic: records are sorted, nothing depends on the clock, the file
system order or the locale, and PNGs are written by matplotlib's Agg backend with a fixed size,
dpi and no metadata. PNG bytes can still differ between matplotlib/FreeType versions, so
``--check`` compares README bytes and plot file names, and compares PNG bytes only with
``--check-plots``.

The document has one section per (dataset, version, split hash, protocol) group; the tables of
a group come from :mod:`leaderboard.sections`. Rows of the authors' protocol get their own
marked section after their fixed counterpart. Published numbers (``leaderboard/reported.json``,
:mod:`leaderboard.reported`) get a section of their own after each dataset's groups, never
ranked with them, and the introduction says how far a paper's claim is from the reproduced rows.
Escaping is :mod:`leaderboard.markdown`'s, plots
are :mod:`leaderboard.plots`', the fixed text is :mod:`leaderboard.prose`'. A folder with any
invalid submission is refused as a whole: nothing is written, the README that was there stays.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from leaderboard import diagnostics_table
from leaderboard.export import export
from leaderboard.markdown import code, md, slug, table
from leaderboard.plots import robustness_plot
from leaderboard.prose import GAP_TITLE, how_to_submit, intro, reading
from leaderboard.reported import ReportedError, ReportedResults, gap_text, load_reported, markdown_section
from leaderboard.results import (
    LEADERBOARD_DIR,
    ResultError,
    submissions_dir,
)
from leaderboard.rows import Record
from leaderboard.sections import PLOTS, group_sections
from leaderboard.splits import SplitsRegistryError, known_splits
from leaderboard.table_model import Group
from leaderboard.table_model import groups as table_groups
from leaderboard.validate import list_submissions, report_lines, validate_and_load

README = "README.md"


class RenderError(RuntimeError):
    """Submissions that cannot be rendered (invalid files); the message lists the problems.

    ``problems`` maps each invalid file to its problems and ``skipped`` lists the non-result files
    with their reasons, for a caller that shortens the lists.
    """

    def __init__(
        self,
        message: str,
        problems: Mapping[Path, Sequence[str]] | None = None,
        skipped: Sequence[tuple[Path, str]] = (),
    ) -> None:
        super().__init__(message)
        self.problems = dict(problems or {})
        self.skipped = list(skipped)


def render_files(
    records: Sequence[Record], known: Mapping[str, Mapping[str, str]], reported: ReportedResults | None = None
) -> dict[str, bytes]:
    """``{relative path: bytes}`` of README.md and every plot, from already validated records.

    ``reported``: published numbers (:mod:`leaderboard.reported`), each dataset's in a section of
    its own after its groups (a dataset with published numbers and no run gets a heading too),
    and the gap between a paper's claim and the reproduced rows after the introduction.
    """
    reported = reported or ReportedResults()
    plots: dict[str, bytes] = {}
    lines = intro()
    all_groups = table_groups(records)
    for paragraph in gap_text(records, reported, all_groups):
        lines += [f"**{GAP_TITLE}** {md(paragraph)}", ""]
    if not records:
        lines += ["**No results yet.** Be the first: see *How to submit* below.", ""]
    published = {d.name: d for d in reported.datasets}
    for dataset in sorted({g.dataset for g in all_groups} | set(published)):
        mine = [g for g in all_groups if g.dataset == dataset]
        current = None
        for g in mine:
            lines += _group_lines(g, all_groups, plots, new_heading=(g.dataset, g.version) != current)
            current = (g.dataset, g.version)
        lines += _diagnostics_lines(all_groups, dataset, plots)
        if dataset in published:
            if not mine:
                lines += [f"## {md(dataset)}", "", f"No result on {md(published[dataset].title)} has been reproduced here yet.", ""]
            lines += markdown_section(published[dataset], reported.of(dataset))
    lines += reading() + how_to_submit(known)
    text = "\n".join(lines).rstrip("\n") + "\n"
    return {README: text.encode("utf-8"), **dict(sorted(plots.items()))}


def _group_lines(g: Group, all_groups: Sequence[Group], plots: dict[str, bytes], *, new_heading: bool) -> list[str]:
    """The README lines of one group (its plots added to ``plots``), after its dataset heading when ``new_heading``."""
    (name, version, sha, protocol, recipe), recs = g.key, g.records
    lines = [f"## {md(name)}" + (f" (version {md(version)})" if version else ""), ""] if new_heading else []
    split_name = g.split_name
    named, study = recipe != "", recipe.startswith("study:")
    title = f"{name} · {split_name} ({sha[:12]}) · {protocol}" + (f" · {g.tuning if study else recipe}" if named else "")
    group = slug("__".join([name, version or "0", sha[:12], protocol, *([recipe.replace(":", "-")] if named else [])]))
    recipe_words = (f", tuned per dataset, each model by its own study with the same budget: {md(g.tuning)}" if study else f", recipe {code(recipe)}") if named else ""
    if protocol == "fixed":
        lines += [f"### Split {code(split_name)} ({code(sha[:12])}), fixed protocol{recipe_words}", ""]
        parts = recs[0]["split"]["parts"]
        lines += ["Train / dev / test: " + " / ".join(f"{parts[p]['size']:,}" for p in ("train", "dev", "test"))
                  + f" movies. Split sha256 {code(sha)}.", ""]  # fmt: skip
        lines += group_sections(recs, group, title, plots, None)
    else:
        lines += [f"### ⚠ Authors' protocol on {code(split_name)} ({code(sha[:12])}){recipe_words}: leaky, not comparable", "",
                  "> These rows re-draw train, dev and test independently (they overlap) as the authors' "
                  "released code does. They measure leakage; they are not results on the fixed split.", ""]  # fmt: skip
        fixed = next((f.records for f in all_groups if f.key == (name, version, sha, "fixed", recipe)), [])
        lines += group_sections(recs, group, title, plots, fixed)
    return lines


def _diagnostics_lines(all_groups: Sequence[Group], dataset: str, plots: dict[str, bytes]) -> list[str]:
    """A dataset's Diagnostics section (its robustness plot added to ``plots``); none without a diagnosed row."""
    rows = diagnostics_table.diagnosed(all_groups, dataset)
    if not rows:
        return []
    cols = diagnostics_table.columns(rows)
    body = [[md(c.cell(r).text) if c.kind == "text" else c.cell(r).text for c in cols] for r in rows]
    lines = [f"### {diagnostics_table.HEADING}", "", f"*{md(diagnostics_table.caption(rows))}*", "", *table([c.header for c in cols], body)]
    curves = diagnostics_table.curve_lines(rows)
    if curves:
        plot = diagnostics_table.plot_path(dataset)
        plots[plot] = robustness_plot(curves, f"{dataset} · robustness to noise on the raw test inputs")
        lines += [f"![Robustness curves, {md(dataset)}]({plot})", "",
                  "*Test macro-F1 × 100 of each row above with a robustness curve, against the noise level; shaded: its 95% "
                  "bootstrap interval over test movies.*", ""]  # fmt: skip
    return lines


def gather(leaderboard_dir: str | Path | None = None) -> tuple[list[Record], list[tuple[Path, str]]]:
    """``(validated submissions, [(skipped file, why)])`` of a leaderboard folder.

    Raises :class:`RenderError` listing every problem when any submission is invalid: rendering a
    folder minus its bad files would silently drop rows from the README. Model names are data: any
    well-formed name renders.
    """
    files, skipped = list_submissions(submissions_dir(leaderboard_dir))
    report, records = validate_and_load(files, leaderboard_dir=leaderboard_dir or LEADERBOARD_DIR)
    bad = {p: probs for p, probs in report.items() if probs}
    if bad:
        lines = [f"{p}: {prob}" for p, probs in bad.items() for prob in probs]
        raise RenderError("invalid submissions (run python -m leaderboard.validate):\n  " + "\n  ".join(lines), bad, skipped)
    return [records[p] for p in files], skipped


def collect(leaderboard_dir: str | Path | None = None) -> list[Record]:
    """The validated submissions of a leaderboard folder; raises :class:`RenderError` on any invalid one."""
    return gather(leaderboard_dir)[0]


def render(leaderboard_dir: str | Path | None = None) -> dict[str, bytes]:
    """Everything the leaderboard folder should contain, rendered from its submissions."""
    return render_files(collect(leaderboard_dir), known_splits(leaderboard_dir), load_reported(leaderboard_dir))


def write(leaderboard_dir: str | Path | None = None) -> list[Path]:
    """Render and write README.md and plots/ atomically; delete plots no longer produced."""
    root = Path(leaderboard_dir or LEADERBOARD_DIR)
    return write_files(root, render(root))


def write_files(root: Path, files: Mapping[str, bytes]) -> list[Path]:
    """Write rendered ``files`` under ``root`` (each atomically, all rendered before the first write)."""
    from mmimdb2.io import atomic_write_bytes

    written = [atomic_write_bytes(root / rel, data) for rel, data in files.items()]
    for stale in sorted((root / PLOTS).glob("*.png")):
        if f"{PLOTS}/{stale.name}" not in files:
            stale.unlink()
    return written


def check(leaderboard_dir: str | Path | None = None, *, plots: bool = False) -> list[str]:
    """What is stale in the leaderboard folder (empty when up to date)."""
    root = Path(leaderboard_dir or LEADERBOARD_DIR)
    return check_files(root, render(root), plots=plots)


def check_files(root: Path, files: Mapping[str, bytes], *, plots: bool = False) -> list[str]:
    """What in ``root`` differs from the rendered ``files`` (empty when up to date)."""
    problems = []
    readme = root / README
    if not readme.is_file():
        problems.append(f"{readme} is missing")
    elif readme.read_bytes() != files[README]:
        problems.append(f"{readme} is stale")
    want = {rel for rel in files if rel != README}
    have = {f"{PLOTS}/{p.name}" for p in (root / PLOTS).glob("*.png")}
    problems += [f"{root / rel} is missing" for rel in sorted(want - have)]
    problems += [f"{root / rel} is no longer rendered" for rel in sorted(have - want)]
    if plots:
        problems += [f"{root / rel} differs" for rel in sorted(want & have) if (root / rel).read_bytes() != files[rel]]
    return problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m leaderboard.render", description="Render leaderboard/README.md and plots.")
    p.add_argument("--check", action="store_true", help="exit 1 if README.md (or the plot set) is stale; write nothing")
    p.add_argument("--check-plots", action="store_true", help="with --check: compare PNG bytes too")
    p.add_argument("--leaderboard-dir", default=None, help="leaderboard folder (default: this package's)")
    p.add_argument("-v", "--verbose", action="store_true", help="list every problem and every skipped file")
    p.add_argument("--csv", metavar="FILE", default=None, help="instead: write every valid result as one CSV row to FILE")
    p.add_argument("--html", metavar="DIR", default=None, help="instead: write the self-contained page DIR/index.html")
    args = p.parse_args(argv)
    root = Path(args.leaderboard_dir or LEADERBOARD_DIR)
    try:
        reported = load_reported(root)
    except ReportedError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.csv is not None or args.html is not None:  # exports skip invalid files with a warning (leaderboard.export)
        return export(root, html_dir=args.html, csv_path=args.csv, reported=reported,
                      render=lambda records: render_files(records, known_splits(root), reported))  # fmt: skip
    try:
        records, skipped = gather(root)
        files = render_files(records, known_splits(root), reported)
    except RenderError as e:
        out, skipped_lines = report_lines(e.problems, e.skipped, verbose=args.verbose)
        print(f"error: invalid submissions in {submissions_dir(root)}; nothing written (python -m leaderboard.validate lists them):", file=sys.stderr)
        for line in out:
            print(f"  {line}", file=sys.stderr)
        for line in skipped_lines:
            print(line, file=sys.stderr)
        return 2
    except (ResultError, SplitsRegistryError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for line in report_lines({}, skipped, verbose=args.verbose)[1]:
        print(line, file=sys.stderr)
    if args.check:
        problems = check_files(root, files, plots=args.check_plots)
        for prob in problems:
            print(prob)
        if problems:
            print("stale: run python -m leaderboard.render", file=sys.stderr)
            return 1
        print("ok: leaderboard README is up to date")
        return 0
    try:
        written = write_files(root, files)
    except OSError as e:  # a read-only folder, no space left: the file and why, no traceback
        print(f"error: cannot write {e.filename or root}: {e.strerror or e}", file=sys.stderr)
        return 2
    print(f"wrote {len(written)} file(s): {', '.join(str(w) for w in written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
