"""What every diagnostic command shares: the benchmark's flags, the clean inputs, the rows fitted
once per seed, and the atomic JSON / CSV / PNG outputs under ``--out``."""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.diagnostics.fitting import FittedRow
from benchmarks.pipeline import PreparedInputs
from benchmarks.spec import CellSpec, RunOptions, RunSpec


def add_arguments(p: argparse.ArgumentParser) -> None:
    """``benchmarks.run``'s shared flags (models, data, encoder, KG, training, device, cache) and
    ``--out``; none of the run-only flags (a diagnostic runs the fixed protocol on full inputs)."""
    from benchmarks.run import RUN_ONLY_DEFAULTS, add_shared_arguments

    add_shared_arguments(p)
    p.add_argument("--out", type=Path, default=RunOptions.out,
                   help=f"folder the diagnostics go to, under <out>/diagnostics/ (default ./{RunOptions.out})")  # fmt: skip
    p.add_argument("--attach", action="store_true",
                   help="also put each model's diagnostic into its leaderboard row (made by benchmarks.run --submit with the "
                        "same flags; the refit must reproduce the row's stored predictions) and re-render the leaderboard")  # fmt: skip
    p.add_argument("--leaderboard", type=Path, default=None, metavar="DIR", help="the leaderboard folder --attach writes to "
                   "(default: the repository's leaderboard/)")  # fmt: skip
    p.set_defaults(**RUN_ONLY_DEFAULTS)


@dataclass
class Session:
    """The loaded dataset, its encoder and clean inputs, and the planned cells with their labels."""

    spec: RunSpec
    options: RunOptions
    dataset: Any
    encoder: Any
    prep: PreparedInputs
    labels: list[str]
    cell_specs: list[CellSpec]
    device: Any
    seconds: dict[str, float] = field(default_factory=dict)
    #: The labels of the cells the user asked for (not a reference the diagnostic added).
    asked: list[str] = field(default_factory=list)

    @property
    def test_labels(self):
        return self.prep.labels[self.prep.rows["test"]]


def open_session(spec: RunSpec, options: RunOptions, extra_models: Sequence[str] = ()) -> Session:
    """Load the data and prepare the clean inputs (features, train-only KG, embedding: all cached)
    for the cells of ``spec`` plus ``extra_models`` (a reference the diagnostic needs)."""
    import mmimdb2
    from benchmarks.encoders import get_encoder, resolve_device
    from benchmarks.harness import usable_folder
    from benchmarks.pipeline import prepare_inputs, timed
    from benchmarks.registry import canonical_model
    from benchmarks.run import encoder_hint
    from leaderboard.experiments import Variant

    cells = spec.variants()
    n_asked = len(cells)
    known = {c.model for c in cells}
    cells += [Variant(canonical_model(m)) for m in dict.fromkeys(extra_models) if canonical_model(m) not in known]
    cell_specs = [spec.cell_spec(c) for c in cells]
    if spec.data.protocol != "fixed":
        raise ValueError("diagnostics run on the fixed split; drop --protocol")
    kg = cell_specs[0].kg
    if other := sorted({cs.kg.embedding.model for cs in cell_specs} - {kg.embedding.model}):
        raise ValueError(f"a diagnostic embeds one KG model per call ({kg.embedding.model}); run {', '.join(other)} with --kg-model")
    usable_folder(Path(options.out), "--out", write=True)  # refused now, not after training
    seconds: dict[str, float] = {}
    with timed(seconds, "load"):
        dataset = mmimdb2.load(spec.data.dataset, spec.data.split, data_root=options.data_root, progress=options.progress)
    device = resolve_device(options.device)
    with encoder_hint(spec.encoder.name is None):
        encoder = get_encoder(spec.resolved_encoder())
        prep = prepare_inputs(dataset, encoder=encoder, kg=kg, device=str(device), cache_dir=options.cache_dir,
                              progress=options.progress)  # fmt: skip
    if not len(prep.rows["test"]):
        raise ValueError(f"{dataset.name} has no test movies to diagnose")
    labels = [_label(c) for c in cells]
    return Session(spec, options, dataset, encoder, prep, labels, cell_specs, device, {**seconds, **prep.seconds}, asked=labels[:n_asked])


def _label(cell) -> str:
    config = " ".join(f"{k}={v}" for k, v in sorted(cell.config.items()))
    return " ".join(x for x in (cell.model, config, f"kg={cell.kg_model}" if cell.kg_model else "") if x)


def fit_rows(session: Session) -> dict[str, list[FittedRow]]:
    """Every planned cell fitted once per seed on clean data (label -> rows in seed order), with
    one stderr line per cell."""
    from benchmarks.diagnostics.fitting import fit_row

    out = {}
    for label, cs in zip(session.labels, session.cell_specs):
        t0 = time.perf_counter()
        out[label] = [fit_row(cs, session.prep, seed=s, device=session.device, progress=False) for s in session.spec.seeds]
        print(f"{label}: fitted {len(out[label])} seed(s) in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return out


def provenance(session: Session) -> dict[str, Any]:
    """The data, encoder and seeds a diagnostic record names (and whether test was read: it is)."""
    from leaderboard.provenance import code_version, utc_now

    ds = session.dataset
    return {
        "dataset": {"name": ds.name, "split": ds.split.name, "split_sha256": ds.split.sha256, "fingerprint": ds.fingerprint},
        "encoder": {"name": session.encoder.name, "version": session.encoder.version}, "seeds": list(session.spec.seeds),
        "test_movies": int(len(session.prep.rows["test"])), "device": str(session.device), "code_version": code_version(),
        "created": utc_now(),
    }  # fmt: skip


def attach_to_rows(session: Session, fitted: dict[str, list[FittedRow]], kind: str, blocks: dict[str, dict],
                   leaderboard_dir: Path | None) -> int:
    """Put each asked row's diagnostic ``blocks[label]`` into its leaderboard file
    (:func:`leaderboard.attach.attach`), re-render the leaderboard, and return the exit status:
    0 when every row took its block, 1 when one was refused (each refusal is one stderr line;
    the other rows still get theirs)."""
    from benchmarks.diagnostics.fitting import test_decisions
    from benchmarks.harness import cell_identity, scored_movies
    from leaderboard.attach import attach
    from leaderboard.contract import ResultError
    from leaderboard.render import write

    ids_sha = scored_movies(session.prep)["test_ids_sha256"]  # as the harness hashed the row's test movies
    done, refused = [], 0
    for label, cs in zip(session.labels, session.cell_specs):
        if label not in session.asked:
            continue
        rows = fitted[label]
        ident = cell_identity(cs, session.dataset, session.encoder, [r.seed for r in rows])
        try:
            done.append(attach(ident, kind, blocks[label], decisions=test_decisions(rows), ids_sha256=ids_sha, leaderboard_dir=leaderboard_dir))
        except ResultError as e:
            refused += 1
            print(f"{label}: not attached: {e}", file=sys.stderr)
    if done:
        write(leaderboard_dir)
    print(f"{kind} attached to {len(done)} leaderboard row(s)" + (f"; {refused} refused (above)" if refused else ""), file=sys.stderr)
    return 1 if refused else 0


def write_outputs(out: Path, kind: str, record: dict, rows: list[list[Any]], header: list[str], png: bytes | None) -> list[Path]:
    """``record`` as ``<out>/diagnostics/<dataset>__<kind>__<key12>.json``, ``rows`` as a CSV and the
    plot as a PNG beside it, each written atomically; the key hashes what was diagnosed, so a rerun
    of the same diagnostic overwrites its files."""
    from mmimdb2.io import atomic_write_bytes, atomic_write_json, atomic_write_text, digest

    key = digest({k: v for k, v in record.items() if k not in ("created", "seconds", "rows", "curves", "code_version")})
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", record["dataset"]["name"]).strip("._") or "x"
    stem = out / "diagnostics" / f"{name}__{kind}__{key[:12]}"
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    paths = [atomic_write_json(stem.with_suffix(".json"), record), atomic_write_text(stem.with_suffix(".csv"), buf.getvalue())]
    if png is not None:
        paths.append(atomic_write_bytes(stem.with_suffix(".png"), png))
    return paths


def png_bytes(fig) -> bytes:
    """A matplotlib figure as PNG bytes (Agg, fixed dpi, no metadata: the bytes depend on the data only)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


def main_guard(run, argv_parser, argv) -> int:
    """Parse, run, and turn a bad input into one ``error:`` line and exit 2 (never a traceback)."""
    from benchmarks.run import cli_errors, spec_from_args
    from benchmarks.threads import torch_threads

    args = argv_parser.parse_args(argv)
    with cli_errors(getattr(args, "debug", False), {"--out": args.out, "--cache-dir": args.cache_dir}, kept="cached features are kept") as status:
        spec, options = spec_from_args(args)
        with torch_threads(options.threads):
            return run(args, spec, options)
    return status.code
