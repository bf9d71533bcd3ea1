"""``python -m benchmarks.run``: from a dataset to a standardized result table in one command.

load -> frozen features (cached) -> train-only KG -> PyKEEN embedding (cached) -> train each
model for each seed (dev-selected checkpoint) -> test metrics -> table + one result JSON per model.
With no flags beyond ``--models`` it runs on the embedded demo, on the GPU when there is one.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

from benchmarks.encoders.base import EncoderError
from benchmarks.pipeline import KGSettings, Stopwatch
from benchmarks.protocols import PROTOCOLS
from benchmarks.suites import SUITES, Cell, suite_cells

#: The demo's encoder (fast, no weights); a real dataset defaults to the paper's CLIP.
DEFAULT_ENCODER = "weightfree"
DEFAULT_OUT = Path("runs")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Train and evaluate genre classifiers on fixed, hashed splits; print a table and write results.",
    )
    p.add_argument("--models", nargs="+", metavar="M", help="registered model names (see --list-models)")
    p.add_argument("--suite", choices=SUITES, help="a named experiment of the paper (cells added to --models)")
    p.add_argument("--dataset", default="demo", help="demo (default), mmimdb, mmimdb2, or a dataset folder")
    p.add_argument("--split", default="default", help="split variant (default, official, idkg, idkg-alt) or a split folder")
    p.add_argument("--data-root", type=Path, default=None, help="where dataset names are looked up")
    p.add_argument("--seeds", nargs="+", type=int, default=[0], metavar="S")
    p.add_argument("--encoder", default=None,
                   help="feature encoder: weightfree, offline, clip or clip:<model>:<pretrained> "
                        "(default: weightfree on the demo, the paper's CLIP on a real dataset)")
    p.add_argument("--kg-model", default="RotatE", help="PyKEEN model name for the KG embedding (RotatE, TransH, ...)")
    p.add_argument("--kg-dim", type=int, default=200)
    p.add_argument("--kg-epochs", type=int, default=None, help="KG embedding epochs (default: the embedding's default)")
    p.add_argument("--kg-optimizer", default=None, help="KG embedding optimizer (default Adam; the paper: SGD)")
    p.add_argument("--kg-lr", type=float, default=None, help="KG embedding learning rate (default 0.01; the paper: 0.5)")
    p.add_argument("--kg-batch-size", type=int, default=None, help="KG embedding batch size (default 1024)")
    p.add_argument("--kg-paper-settings", action="store_true",
                   help="the paper's KG embedding training: SGD, lr 0.5, 500 epochs, batch 100 (idkg.embedding.PAPER_SETTINGS)")
    p.add_argument("--kg-cross-fit", type=int, default=0, metavar="K",
                   help="K >= 2: a training movie's F^K from a KG built without its fold (beyond the paper); 0: plain")
    p.add_argument("--epochs", type=int, default=None, help="training epochs per model (default: TRAIN_DEFAULTS, 30, early-stopped on dev)")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: benchmarks.harness.TRAIN_DEFAULTS)")
    p.add_argument("--weight-decay", type=float, default=None, help="AdamW weight decay (default: TRAIN_DEFAULTS)")
    p.add_argument("--patience", type=int, default=None, help="early stopping on dev after P epochs without gain; 0: off")
    p.add_argument("--threshold", default=None, choices=["fixed", "global", "per-genre"],
                   help="decision threshold: fixed 0.5 (the paper), or chosen on dev, globally or per genre "
                        "(default: TRAIN_DEFAULTS)")
    p.add_argument("--select", default=None, choices=["f1", "loss", "ap"],
                   help="what picks the checkpoint on dev: macro-F1, BCE loss or macro average precision "
                        "(default: TRAIN_DEFAULTS)")
    p.add_argument("--ema", type=float, default=None,
                   help="decay per step of the weight average that dev judges and the checkpoint keeps; 0: off "
                        "(default: TRAIN_DEFAULTS)")
    p.add_argument("--class-weight", default=None, choices=["none", "balanced"],
                   help="weigh each genre's positives by n_negative / n_positive in the loss (probes: sklearn's "
                        "class_weight) or not (default: TRAIN_DEFAULTS)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--protocol", default="fixed", choices=PROTOCOLS,
                   help="fixed (ours) or authors (the released re-drawn split, to measure its leakage)")
    p.add_argument("--drop", choices=["poster", "plot", "kg"], default=None, help="remove one modality at test time")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="model config override applied to every model, e.g. --set temperature=0.3")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where result JSONs and cell results go (default ./runs)")
    p.add_argument("--cache-dir", type=Path, default=None, help="feature/KG cache (default $MMIMDB2_CACHE)")
    p.add_argument("--submit", action="store_true", help="also write each result under leaderboard/submissions/")
    p.add_argument("--force", action="store_true", help="recompute cells whose result file exists")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--verbose", "-v", action="store_true",
                   help="list every movie the split lists but the run leaves out, with its reason (default: counts)")
    p.add_argument("--list-models", action="store_true")
    p.add_argument("--list-encoders", action="store_true")
    return p


def _parse_value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def parse_overrides(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        out[key.strip()] = _parse_value(value.strip())
    return out


def plan_cells(args: argparse.Namespace) -> list[Cell]:
    """The cells to run: the suite's, then each --models name, without duplicates."""
    overrides = parse_overrides(args.overrides)
    cells: list[Cell] = []
    if args.suite:
        cells += [Cell(c.model, {**c.config, **overrides}, c.kg_model) for c in suite_cells(args.suite)]
    cells += [Cell(m, dict(overrides)) for m in args.models or []]
    seen, unique = set(), []
    for c in cells:
        key = (c.model, tuple(sorted(c.config.items())), c.kg_model)
        if key not in seen:
            seen.add(key)
            unique.append(c)
    return unique


def checked_cells(args: argparse.Namespace) -> list[Cell]:
    """:func:`plan_cells`, refusing an empty plan or a misspelt model name before any data is loaded."""
    from benchmarks.registry import MODEL_REGISTRY

    cells = plan_cells(args)
    if not cells:
        raise ValueError("nothing to run: give --models M [M ...] or --suite NAME (see --list-models)")
    for cell in cells:
        MODEL_REGISTRY.entry(cell.model)
    return cells


def default_encoder(dataset: str) -> str:
    """weightfree for the demo (fast, no weights); the paper's CLIP for every real dataset."""
    return DEFAULT_ENCODER if dataset == "demo" else "clip"


@contextlib.contextmanager
def encoder_hint(defaulted: bool):
    """Where the encoder was defaulted (the paper's CLIP for a real dataset) and cannot load, say
    how to run without its weights; an encoder asked for by name keeps its own message."""
    try:
        yield
    except EncoderError as e:
        if not defaulted:
            raise
        raise EncoderError(
            f"{e}. The default encoder of a real dataset is the paper's CLIP; pass --encoder offline to run without its weights"
        ) from None


def kg_settings(args: argparse.Namespace) -> KGSettings:
    """The KG embedding settings of the command line; --kg-paper-settings fills the unset ones."""
    from idkg.embedding import PAPER_SETTINGS

    paper = PAPER_SETTINGS if args.kg_paper_settings else {}
    return KGSettings(
        model=args.kg_model,
        dim=args.kg_dim,
        epochs=args.kg_epochs or paper.get("epochs"),
        optimizer=args.kg_optimizer or paper.get("optimizer"),
        lr=args.kg_lr or paper.get("lr"),
        batch_size=args.kg_batch_size or paper.get("batch_size"),
        cross_fit=args.kg_cross_fit,
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from benchmarks.harness import run_benchmark

        if args.list_models:
            from benchmarks.registry import available_models

            print("\n".join(available_models()))
            return 0
        if args.list_encoders:
            from benchmarks.encoders import available_encoders

            print("\n".join(available_encoders()))
            return 0
        cells = checked_cells(args)
        defaulted = args.encoder is None
        args.encoder = args.encoder or default_encoder(args.dataset)
        start = time.perf_counter()
        with encoder_hint(defaulted):
            table = run_benchmark(args, cells, kg=kg_settings(args), watch=Stopwatch())
        print(table)
        print(f"done in {time.perf_counter() - start:.1f} s; results in {args.out}/")
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted: finished cells are kept and will be skipped on the next run", file=sys.stderr)
        return 130
    except (ValueError, KeyError, FileNotFoundError, RuntimeError, ImportError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
