"""The committed leaderboard's rows as data, and the one command that remakes them with today's code.

``python -m benchmarks.board demo`` (or ``yts800 --data PATH``) runs every row the leaderboard
shows for that dataset (:data:`BOARDS`: its suites and model lists, recipes, protocols, dropped
modalities, seeds and encoder), then replaces that dataset's files under
``leaderboard/submissions/`` with the new results and re-renders the leaderboard. Nothing is
replaced until every run has finished: a failed or interrupted remake leaves the committed rows as
they were (the finished jobs are kept under ``--out`` and a rerun skips them).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.recipes import DEFAULT_RECIPE
from mmimdb2.registry import Registry

#: Every model the 800-movie real set's tables show (Table 2's, the ablations, the contrastive
#: variants, the authors' released model and the scikit-learn baselines).
REAL_MODELS: tuple[str, ...] = (
    "idkg", "idkg-gmu", "gmu", "gmu-3", "centralnet", "concat", "late-fusion", "idkg-no-at", "idkg-no-gcacl", "idkg-no-kg",
    "idkg-gmu-no-kg", "idkg-random-anchors", "idkg-mulcon", "idkg-mcl", "idkg-mltc", "idkg-cgmvae", "idkg-as-released",
    "probe-text", "probe-image", "probe-all", "late-fusion-probes", "people-vote",
)  # fmt: skip

#: The paper's Table 2 models and the scikit-learn baselines beside them: the rows diagnosed.
TABLE2_MODELS: tuple[str, ...] = (
    "idkg", "idkg-gmu", "gmu", "centralnet", "concat", "late-fusion", "probe-text", "probe-all", "late-fusion-probes", "people-vote",
)  # fmt: skip


@dataclass(frozen=True)
class BoardRun:
    """One ``benchmarks.run`` command's worth of rows: a suite or models, by a recipe, under a protocol."""

    models: tuple[str, ...] = ()
    suite: str | None = None
    recipe: str = DEFAULT_RECIPE
    protocol: str = "fixed"
    drop: str | None = None

    def args(self) -> list[str]:
        """The ``benchmarks.run`` flags of this run (without the dataset, seeds and encoder)."""
        out = ["--suite", self.suite] if self.suite else ["--models", *self.models]
        out += ["--recipe", self.recipe, "--protocol", self.protocol]
        return out + (["--drop", self.drop] if self.drop else [])


@dataclass(frozen=True)
class Board:
    """Which rows a dataset's section of the leaderboard holds, and how they are made."""

    encoder: str
    runs: tuple[BoardRun, ...]
    seeds: tuple[int, ...] = (0, 1, 2)
    #: Where the dataset is when no --data is given (None: it is not shipped; --data is needed).
    shipped: str | None = None
    #: ``benchmarks.diagnose`` commands (``("emap", "--models", ...)``) run on the new rows and
    #: attached to them (``--attach``) once they are written, so a remake keeps its diagnostics.
    diagnose: tuple[tuple[str, ...], ...] = ()


BOARDS: Registry[Board] = Registry("leaderboard dataset")
BOARDS.add(
    "demo",
    Board(
        encoder="weightfree", shipped="demo",
        runs=(
            *(BoardRun(suite=s) for s in ("table2", "table3", "table4", "table5", "tau")),
            BoardRun(models=("idkg", "gmu", "late-fusion"), protocol="authors"),
            BoardRun(models=("idkg", "gmu"), drop="kg"),
        ),
    ),  # fmt: skip
    doc="the synthetic demo: the paper's tables, the authors' protocol and IDKG/GMU without F^K at test",
)
BOARDS.add(
    "yts800",
    Board(
        encoder="offline",
        runs=(
            BoardRun(models=REAL_MODELS, recipe="tuned"),
            BoardRun(models=REAL_MODELS, recipe="paper"),
            BoardRun(models=("idkg", "gmu", "probe-text", "probe-all", "late-fusion-probes"), protocol="authors"),
        ),
        diagnose=(("emap", "--models", *TABLE2_MODELS), ("robustness", "--models", *TABLE2_MODELS)),
    ),  # fmt: skip
    doc="800 real movies (not shipped: give --data PATH): every model under both recipes, five under the authors' protocol; "
        "EMAP and robustness curves of the Table 2 models under the tuned recipe",
)


def remake(name: str, *, data: str | None, out: Path, leaderboard_dir: Path | None = None, extra: Sequence[str] = ()) -> list[Path]:
    """Run every row of board ``name``, then replace that dataset's submissions with them and
    re-render; return the files written. ``extra``: more ``benchmarks.run`` flags (``--jobs 2``)."""
    from benchmarks.harness import run_benchmark
    from benchmarks.run import build_parser, spec_from_args
    from leaderboard.render import write
    from leaderboard.results import result_filename, submissions_dir, submit_result

    board = BOARDS.load(name)
    dataset = data or board.shipped
    if dataset is None:
        raise ValueError(f"the {name} rows need the dataset: give --data PATH (it is not shipped with the repository)")
    records, start = [], time.perf_counter()
    for i, run in enumerate(board.runs, 1):
        argv = ["--dataset", dataset, "--encoder", board.encoder, "--seeds", *map(str, board.seeds), "--out", str(out), *run.args(), *extra]
        t0 = time.perf_counter()
        spec, options = spec_from_args(build_parser().parse_args(argv))
        got = run_benchmark(spec, options)
        records += got
        print(f"board {name} [{i}/{len(board.runs)}] {' '.join(run.args())}: {len(got)} row(s) in {time.perf_counter() - t0:.0f} s",
              file=sys.stderr)  # fmt: skip
    wrong = sorted({r["dataset"]["name"] for r in records} - {name})
    if wrong:
        raise ValueError(f"the {name} board ran on a dataset named {', '.join(wrong)}: give the {name} folder with --data")
    folder = submissions_dir(leaderboard_dir)
    keep = {result_filename(r) for r in records}
    old = [p for p in sorted(folder.glob(f"{name}__*.json")) if p.name not in keep]  # a result's file name starts with its dataset
    written = [submit_result(r, leaderboard_dir) for r in records]
    for p in old:
        p.unlink()
    write(leaderboard_dir)
    print(f"board {name}: {len(written)} row(s) written, {len(old)} old file(s) removed, leaderboard re-rendered "
          f"({time.perf_counter() - start:.0f} s in all)", file=sys.stderr)  # fmt: skip
    _diagnose(board, dataset, out, leaderboard_dir, extra)
    return written


def _diagnose(board: Board, dataset: str, out: Path, leaderboard_dir: Path | None, extra: Sequence[str]) -> None:
    """Run the board's diagnostics on its new rows and attach them; one line per refusal or failure
    (the rows are written already and stay)."""
    from benchmarks import diagnose

    for argv in board.diagnose:
        t0 = time.perf_counter()
        flags = ["--dataset", dataset, "--encoder", board.encoder, "--seeds", *map(str, board.seeds), "--out", str(out), "--attach", *extra]
        code = diagnose.main([*argv, *flags, *(["--leaderboard", str(leaderboard_dir)] if leaderboard_dir else [])])
        if code:
            raise ValueError(f"the rows are written, but diagnose {argv[0]} ended with status {code} (above): "
                             f"rerun it with python -m benchmarks.diagnose {argv[0]} ... --attach")  # fmt: skip
        print(f"board: diagnose {argv[0]} attached in {time.perf_counter() - t0:.0f} s", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.board", description=__doc__.splitlines()[0])
    p.add_argument("board", choices=BOARDS.names(), help="which dataset's rows to remake")
    p.add_argument("--data", default=None, help="the dataset folder (needed for a dataset that is not shipped)")
    p.add_argument("--out", type=Path, default=Path("runs/board"), help="where the runs' jobs and results go (default runs/board)")
    p.add_argument("--leaderboard-dir", type=Path, default=None, help="leaderboard folder (default: this package's)")
    args, extra = p.parse_known_args(argv)
    from benchmarks.run import cli_errors

    with cli_errors("--debug" in extra, {"--out": args.out},
                    kept="nothing in the leaderboard was replaced; finished jobs are kept and skipped on the next run") as status:  # fmt: skip
        remake(args.board, data=args.data, out=args.out / args.board, leaderboard_dir=args.leaderboard_dir, extra=extra)
    return status.code


if __name__ == "__main__":
    sys.exit(main())
