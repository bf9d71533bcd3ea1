"""``python -m benchmarks.run``: from a dataset to a standardized result table in one command.

load -> frozen features (cached) -> train-only KG -> PyKEEN embedding (cached) -> train each
model for each seed (dev-selected checkpoint) -> test metrics -> table + one result JSON per model.
With no flags beyond ``--models`` it runs on the embedded demo, on the GPU when there is one. The
command line becomes a :class:`benchmarks.spec.RunSpec` here (:func:`spec_from_args`); nothing
below this module sees argparse.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import signal
import sys
import time
import traceback
from pathlib import Path

from benchmarks.encoders.base import EncoderError
from benchmarks.executors import EXECUTORS, JobError, Terminated, check_address, raise_terminated
from benchmarks.protocols import PROTOCOLS
from benchmarks.recipes import DEFAULT_RECIPE, RECIPES, recipe
from benchmarks.spec import CHECKPOINTS, DROPS, DataSpec, EncoderSpec, KGSpec, RunOptions, RunSpec, TrainSpec
from benchmarks.threads import resolve_threads
from idkg.embedding_spec import EmbeddingSpec
from leaderboard.experiments import EXPERIMENTS
from leaderboard.plots import write_run_plots
from mmimdb2.metrics import CLASS_WEIGHTS, THRESHOLD_POLICIES
from mmimdb2.paths import DATA_ROOT_HELP
from mmimdb2.progress import add_progress_flag, show_progress

_TRAIN, _KG, _OPTIONS, _PAPER = TrainSpec(), EmbeddingSpec(), RunOptions(), recipe("paper")


def _own_values(setting: str) -> str:
    """The models a recipe gives their own value of training ``setting`` (its per-model
    departures), for that flag's help; a given flag replaces them."""
    own = [
        f"--recipe {name} gives {model} {departures['train'][setting]}"
        for name in RECIPES.names()
        for model, departures in RECIPES.load(name).per_model.items()
        if setting in departures.get("train", {})
    ]
    return f"; {', '.join(own)}, unless the flag is given" if own else ""


def build_parser() -> argparse.ArgumentParser:
    """The command line; every default shown is read from the spec's dataclasses, never restated."""
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Train and evaluate genre classifiers on fixed, hashed splits; print a table and write results.",
    )
    add_shared_arguments(p)
    p.add_argument("--protocol", default=DataSpec.protocol, choices=PROTOCOLS,
                   help="fixed (ours, default) or authors (the released re-drawn split, to measure its leakage)")  # fmt: skip
    p.add_argument("--drop", choices=DROPS, default=RunSpec.drop, help="remove one modality at test time")
    p.add_argument("--out", type=Path, default=_OPTIONS.out, help=f"where result JSONs and cell results go (default ./{_OPTIONS.out})")
    p.add_argument("--submit", action="store_true", help="also write each result under leaderboard/submissions/")
    p.add_argument("--force", action="store_true", help="recompute cells whose result file exists")
    p.add_argument("--verbose", "-v", action="store_true",
                   help="list every movie the split lists but the run leaves out, with its reason (default: counts)")  # fmt: skip
    p.add_argument("--jobs", type=int, default=_OPTIONS.jobs, metavar="N",
                   help=f"(cell, seed) jobs at once, each with threads / N torch threads (default {_OPTIONS.jobs})")
    p.add_argument("--executor", default=None, choices=EXECUTORS.names(),
                   help="where jobs run: serial (this process), process (--jobs worker processes), ray (a Ray cluster) "
                        "(default: serial for one job at a time, process for more)")  # fmt: skip
    p.add_argument("--address", default=None, help="Ray cluster address for --executor ray (default: a local Ray instance)")
    p.add_argument("--from-study", nargs="+", default=None, metavar="DIR",
                   help="run the best settings of each study in DIR (a benchmarks.tune --out folder, or one study folder) once "
                        "on test with --seeds; the models, data and settings come from the study, which each result records")  # fmt: skip
    p.add_argument("--list-models", action="store_true", help="print the registered model names and exit")
    p.add_argument("--list-encoders", action="store_true", help="print the registered encoder names and exit")
    return p


#: Flags of ``benchmarks.run`` alone (:func:`build_parser`), and the defaults a parser without them
#: gives :func:`spec_from_args` (``benchmarks.cv`` takes none of them, so it cannot ignore one).
RUN_ONLY_DEFAULTS: dict[str, object] = {
    "protocol": DataSpec.protocol, "drop": RunSpec.drop, "submit": _OPTIONS.submit, "force": _OPTIONS.force, "verbose": _OPTIONS.verbose,
    "jobs": _OPTIONS.jobs, "executor": _OPTIONS.executor, "address": _OPTIONS.address,
}  # fmt: skip


def add_shared_arguments(p: argparse.ArgumentParser) -> None:
    """The flags every benchmark command uses: which models, data, encoder, KG, training, device, cache."""
    p.add_argument("--models", nargs="+", metavar="M",
                   help="registered model names (see --list-models), or import paths package.module:Name of models "
                        "of one's own (a torch nn.Module class taking the InputSpec, or a scikit-learn style estimator)")  # fmt: skip
    p.add_argument("--suite", choices=EXPERIMENTS.names(), help="a paper table (leaderboard/experiments.py) whose rows are run (added to --models)")
    p.add_argument("--dataset", default=DataSpec.dataset, help="demo (default), mmimdb, mmimdb2, or a dataset folder")
    p.add_argument("--split", default=DataSpec.split, help="split variant (default, official, idkg, idkg-alt) or a split folder")
    p.add_argument("--data-root", type=Path, default=None, help=DATA_ROOT_HELP)
    p.add_argument("--seeds", nargs="+", type=int, default=list(RunSpec.seeds), metavar="S",
                   help=f"training seeds (default: {' '.join(map(str, RunSpec.seeds))})")  # fmt: skip
    p.add_argument("--encoder", default=None,
                   help="feature encoder: weightfree, offline, clip or clip:<model>:<pretrained> "
                        "(default: weightfree on the demo, the paper's CLIP on a real dataset)")
    p.add_argument("--recipe", default=DEFAULT_RECIPE, choices=RECIPES.names(),
                   help=f"named settings under the flags below (default {DEFAULT_RECIPE}): "
                        + "; ".join(f"{n}: {RECIPES.load(n).description}" for n in RECIPES.names()))  # fmt: skip
    p.add_argument("--kg-model", default=None, help=f"PyKEEN model name for the KG embedding (default {_KG.model})")
    p.add_argument("--kg-dim", type=int, default=None, help=f"KG embedding dimension (default {_KG.dim}): F^K's width; under the paper's KG settings "
                        "complex numbers, as OpenKE counts them (F^K twice as wide for RotatE and ComplEx)")  # fmt: skip
    p.add_argument("--kg-epochs", type=int, default=None, help=f"KG embedding epochs (default {_KG.epochs})")
    p.add_argument("--kg-optimizer", default=None, help=f"KG embedding optimizer (default {_KG.optimizer}; the paper: {_PAPER.kg['optimizer']})")
    p.add_argument("--kg-lr", type=float, default=None, help=f"KG embedding learning rate (default {_KG.lr}; the paper: {_PAPER.kg['lr']})")
    p.add_argument("--kg-batch-size", type=int, default=None,
                   help=f"KG embedding batch size (default {_KG.batch_size}); given alone, it replaces a recipe's --kg-batches-per-epoch")
    p.add_argument("--kg-batches-per-epoch", type=int, default=None, metavar="N",
                   help=f"N > 0: every KG epoch is N batches of ceil(triples / N), OpenKE's nbatches (the paper recipe: "
                        f"{_PAPER.kg.get('batches_per_epoch')}); 0: --kg-batch-size (default {_KG.batches_per_epoch})")  # fmt: skip
    p.add_argument("--kg-sparse", action=argparse.BooleanOptionalAction, default=None,
                   help=f"sparse entity gradients for the KG embedding (Adam as SparseAdam; default {_KG.sparse})")  # fmt: skip
    p.add_argument("--kg-paper-settings", action="store_true",
                   help="the paper recipe's KG embedding settings alone ("
                        + ", ".join(f"{k} {v}" for k, v in _PAPER.kg.items()) + "; given --kg-* flags still win)")  # fmt: skip
    p.add_argument("--kg-cross-fit", type=int, default=None, metavar="K",
                   help=f"K >= 2: a training movie's F^K from a KG built without its fold (beyond the paper); 0: plain (default {KGSpec.cross_fit})")
    p.add_argument("--epochs", type=int, default=None, help=f"training epochs per model, at most: see --patience (default {_TRAIN.epochs})")
    p.add_argument("--batch-size", type=int, default=None, help=f"training batch size (default {_TRAIN.batch_size})")
    p.add_argument("--lr", type=float, default=None, help=f"AdamW learning rate (default {_TRAIN.lr})")
    p.add_argument("--weight-decay", type=float, default=None,
                   help=f"AdamW weight decay (default {_TRAIN.weight_decay}{_own_values('weight_decay')})")
    p.add_argument("--patience", type=int, default=None,
                   help=f"stop after P epochs without a better dev score of --select; 0: off, and never under --select last "
                        f"(default {_TRAIN.patience})")  # fmt: skip
    p.add_argument("--threshold", default=None, choices=THRESHOLD_POLICIES,
                   help=f"decision threshold: a fixed 0.5 (the paper recipe), or chosen on dev, globally or per genre "
                        f"(default {_TRAIN.threshold})")  # fmt: skip
    p.add_argument("--select", default=None, choices=CHECKPOINTS,
                   help=f"what picks the checkpoint: dev macro-F1, dev BCE loss, dev macro average precision or the last epoch "
                        f"(default {_TRAIN.select})")  # fmt: skip
    p.add_argument("--ema", type=float, default=None,
                   help=f"decay per step of the weight average that dev judges and the checkpoint keeps; 0: off "
                        f"(default {_TRAIN.ema})")  # fmt: skip
    p.add_argument("--class-weight", default=None, choices=CLASS_WEIGHTS,
                   help=f"weigh each genre's positives by n_negative / n_positive in the loss (probes: sklearn's "
                        f"class_weight) or not (default {_TRAIN.class_weight}{_own_values('class_weight')})")  # fmt: skip
    p.add_argument("--device", default=_OPTIONS.device, choices=["auto", "cpu", "cuda"], help="default: auto (a GPU when there is one)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="model config override applied to every model, e.g. --set temperature=0.3")
    p.add_argument("--cache-dir", type=Path, default=None, help="feature/KG cache (default $MMIMDB2_CACHE)")
    add_progress_flag(p)
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="torch intra-op threads in all (default: $OMP_NUM_THREADS, else the usable CPUs idle at the start, at least 1)")
    p.add_argument("--debug", action="store_true", help="with an error's one line, print its traceback (a worker's own, for a failed job)")


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


def spec_from_args(args: argparse.Namespace) -> tuple[RunSpec, RunOptions]:
    """The :class:`RunSpec` and :class:`RunOptions` of a parsed command line: the only place a
    Namespace is read. Unset flags keep the spec's defaults; the thread count is resolved here,
    once per command (:func:`benchmarks.threads.resolve_threads`)."""
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainSpec) if getattr(args, f.name, None) is not None}
    kg = dict(_PAPER.kg) if args.kg_paper_settings else {}
    kg |= {k: getattr(args, f"kg_{k}") for k in ("model", "dim", "epochs", "optimizer", "lr", "batch_size", "batches_per_epoch", "sparse", "cross_fit")
           if getattr(args, f"kg_{k}") is not None}  # fmt: skip
    if args.kg_batch_size is not None and args.kg_batches_per_epoch is None:
        kg["batches_per_epoch"] = 0  # a batch size asked for is the one trained with, whatever the recipe
    spec = RunSpec(
        models=tuple(args.models or ()), experiment=args.suite, seeds=tuple(args.seeds),
        data=DataSpec(dataset=args.dataset, split=args.split, protocol=args.protocol), encoder=EncoderSpec(args.encoder),
        recipe=args.recipe, train=given, kg=kg, overrides=parse_overrides(args.overrides), drop=args.drop,
    )  # fmt: skip
    options = RunOptions(
        out=args.out, cache_dir=args.cache_dir, data_root=args.data_root, device=args.device, force=args.force,
        submit=args.submit, progress=show_progress(args.progress), verbose=args.verbose, threads=resolve_threads(args.threads),
        jobs=args.jobs, executor=args.executor, address=args.address,
    )  # fmt: skip
    return spec, options


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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with cli_errors(args.debug, {"--out": args.out, "--cache-dir": args.cache_dir}) as status:
        from benchmarks.harness import format_table, run_benchmark

        if args.list_models:
            from benchmarks.registry import available_models

            print("\n".join(available_models()))
            return 0
        if args.list_encoders:
            from benchmarks.encoders import available_encoders

            print("\n".join(available_encoders()))
            return 0
        spec, options = spec_from_args(args)
        if options.executor and EXECUTORS.canonical(options.executor) == "ray":
            check_address(options.address)  # an address nothing answers at: seconds, before any data is read
        specs = from_study(args) if args.from_study else [spec]
        start = time.perf_counter()
        with encoder_hint(spec.encoder.name is None):
            records = [r for s in specs for r in run_benchmark(s, options)]
        print(format_table(records, dataset_name=records[0]["dataset"]["name"] if records else spec.data.dataset))
        plots = write_run_plots(records, options.out)
        print(f"done in {time.perf_counter() - start:.1f} s; results in {options.out}/" + (f"; plots: {', '.join(map(str, plots))}" if plots else ""))
        return 0
    return status.code


@dataclasses.dataclass
class ExitStatus:
    """The exit code :func:`cli_errors` settled on (0 until an error is caught)."""

    code: int = 0


#: What Ctrl-C or SIGTERM of ``benchmarks.run`` says of the work done.
KEPT = "finished cells are kept and will be skipped on the next run"


@contextlib.contextmanager
def cli_errors(debug: bool, folders: dict[str, Path | None], *, kept: str = KEPT):
    """A benchmark command's errors as one line on stderr and its exit code: 2 for bad input, a
    failed job (:class:`benchmarks.executors.JobError`) or a file that cannot be written; 130 for
    Ctrl-C and 143 for SIGTERM, each followed by ``kept`` (what happened to the work done).
    ``debug`` adds the traceback (a worker's own for a failed job). SIGTERM is handled like Ctrl-C
    while inside."""
    status = ExitStatus()
    main_thread = _main_thread()
    previous = signal.getsignal(signal.SIGTERM) if main_thread else None
    if main_thread:
        signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield status
    except KeyboardInterrupt as e:
        name, status.code = ("terminated (SIGTERM)", 143) if isinstance(e, Terminated) else ("interrupted", 130)
        print(f"\n{name}: {kept}", file=sys.stderr)
    except (ValueError, KeyError, RuntimeError, ImportError, OSError) as e:
        if debug:
            print(e.detail if isinstance(e, JobError) and e.detail else traceback.format_exc(), file=sys.stderr, end="")
        if isinstance(e, OSError):  # a folder that cannot be written, no space left, ...: the path and why
            line = os_error_line(e, folders)
        else:
            line = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"error: {line}", file=sys.stderr)
        status.code = 2
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


#: Flags that say where and how a run goes, which --from-study keeps; every other flag is the study's to set.
_NOT_THE_STUDYS = {"seeds", "out", "submit", "force", "verbose", "jobs", "executor", "address", "device", "cache_dir", "data_root",
                   "progress", "threads", "from_study", "list_models", "list_encoders"}  # fmt: skip


def from_study(args: argparse.Namespace) -> list[RunSpec]:
    """One spec per study named by ``--from-study`` (:func:`benchmarks.study.study_specs`); a flag
    that would change what the study chose is refused in one line."""
    from benchmarks.study import study_specs

    defaults = vars(build_parser().parse_args([]))
    if given := [d for d in defaults if d not in _NOT_THE_STUDYS and getattr(args, d) != defaults[d]]:
        raise ValueError(f"--from-study takes the models, data and settings from the study: leave out --{given[0].replace('_', '-')}")
    return study_specs(args.from_study, seeds=args.seeds, data_root=args.data_root)


def os_error_line(e: OSError, folders: dict[str, Path | None]) -> str:
    """``<path>: <why>`` of an OS error, and which of ``folders`` (flag -> folder) the path lies in."""
    if e.filename is None:
        return str(e)
    path = Path(str(e.filename))
    line = f"{path}: {e.strerror or e}"
    for flag, folder in folders.items():
        if folder is not None and (path == Path(folder) or Path(folder) in path.parents):
            return f"{line} (under {flag} {folder})"
    return line


if __name__ == "__main__":
    sys.exit(main())
