"""``python -m leaderboard.render --csv FILE`` and ``--html DIR``: the results as a CSV file and as
one self-contained page (``DIR/index.html``), each written atomically.

Unlike the README, which refuses a folder with any invalid submission, an export skips each
invalid file with a warning line naming it and why (listed on the page too), so one bad file does
not hide every other result. The plots are the ones the README render makes: ``render`` is handed
in by :mod:`leaderboard.render` (this module cannot import it back without a cycle).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from leaderboard.frame import frame, load, write_csv
from leaderboard.page import html_page
from leaderboard.reported import ReportedResults
from leaderboard.results import ResultError
from leaderboard.rows import Record
from leaderboard.splits import SplitsRegistryError
from mmimdb2.io import atomic_write_text

#: The page's file name inside the ``--html`` folder (what a static web host serves by default).
PAGE = "index.html"


def split_rendered(files: Mapping[str, bytes]) -> tuple[str, dict[str, bytes]]:
    """``(README text, {plot: PNG bytes})`` of a README render's output (every ``.png`` is a plot)."""
    readme = next((data.decode("utf-8") for name, data in files.items() if name.endswith(".md")), "")
    return readme, {name: data for name, data in files.items() if name.endswith(".png")}


def export(
    leaderboard_dir: str | Path,
    *,
    html_dir: str | Path | None = None,
    csv_path: str | Path | None = None,
    render: Callable[[Sequence[Record]], Mapping[str, bytes]] | None = None,
    reported: ReportedResults | None = None,
) -> int:
    """Write the CSV and/or the page of a leaderboard folder; exit status (2 with one line on an error).

    ``reported``: the published numbers the page shows apart (:mod:`leaderboard.reported`); never in the CSV.
    """
    try:
        records, files, skipped = load(leaderboard_dir)
    except (ResultError, SplitsRegistryError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for path, why in skipped:
        print(f"warning: skipped {path}: {why}", file=sys.stderr)
    written = []
    try:
        if csv_path is not None:
            written.append(write_csv(frame(records, files), csv_path))
        if html_dir is not None:
            readme, plots = split_rendered(render(records) if render is not None else {})
            text = html_page(records, files, readme=readme, plots=plots, skipped=skipped, reported=reported)
            written.append(atomic_write_text(Path(html_dir) / PAGE, text))
    except OSError as e:  # a read-only folder, no space left: the file and why, no traceback
        print(f"error: cannot write {e.filename or csv_path or html_dir}: {e.strerror or e}", file=sys.stderr)
        return 2
    sizes = ", ".join(f"{w} ({w.stat().st_size / 1024:,.0f} KiB)" for w in written)
    print(f"exported {len(records)} result(s), skipped {len(skipped)} file(s): {sizes}")
    return 0
