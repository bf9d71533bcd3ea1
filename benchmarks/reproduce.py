"""``python -m benchmarks.reproduce FILE.json``: re-run a leaderboard row from its file alone, and say
whether the new run reproduces it.

A result stores its cell's resolved spec (``record["spec"]``: data, encoder, KG embedding, training
settings, the model's full config, the recipe, the study it was tuned by) and its seeds; that is
all this needs. The dataset is found by the name or path the spec records (``--data-root`` for a
name, ``--dataset PATH`` where the data now live elsewhere) and must be the data the row was made
on (its content fingerprint). The row is then run again, from scratch (no cached cell is read),
and the two are printed side by side per metric, with the hardware, threads and code that made
each. The verdict comes from the test predictions both records store: the paired bootstrap
difference new - old of the macro-F1 over the genres present, every seed pooled, over the same
test movies (:func:`mmimdb2.bootstrap.paired_bootstrap`): "reproduced within the interval" when
its 95% interval holds 0. Exit status: 0 reproduced, 1 not reproduced, 2 cannot tell (bad input,
a row without stored predictions).
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchmarks.spec import DataSpec, EncoderSpec, RunSpec


def spec_of(record: Mapping[str, Any], *, dataset: str | None = None) -> RunSpec:
    """The one-model :class:`RunSpec` whose cell is the record's stored spec (``dataset``: the
    data's path now, when it moved). One line when the record has no spec, or this checkout
    cannot take a setting it names."""
    from benchmarks.imported import ADDED_KEYS, is_import_path
    from benchmarks.recipes import recipe
    from benchmarks.registry import applicable, model_config
    from benchmarks.spaces import same, tuples

    s = record.get("spec")
    if not isinstance(s, Mapping):
        raise ValueError("the file stores no spec (it predates them): it cannot be re-run from the file alone")
    try:
        model = s["model"]
        defaults = model_config(model, base=applicable(model, recipe(s.get("recipe", "tuned")).model))
        # the settings that differ from the model's defaults under its recipe reproduce its config
        config = {k: tuples(v) for k, v in s["config"].items()
                  if not (is_import_path(model) and k in ADDED_KEYS) and not (k in defaults and same(defaults[k], v))}  # fmt: skip
        kg = {**s["kg"]["embedding"], "cross_fit": s["kg"].get("cross_fit", 0)}
        data = dict(s["data"]) | ({"dataset": dataset} if dataset is not None else {})
        # a run under the authors' protocol makes a fixed row too (the same jobs as a fixed run's):
        # such a row is re-run under its own protocol only
        data["protocol"] = record.get("protocol", data.get("protocol"))
        return RunSpec(
            models=(model,), seeds=tuple(record["seeds"]), data=DataSpec(**data), encoder=EncoderSpec(s["encoder"]),
            recipe=s.get("recipe", "tuned"), train=s["train"], kg=kg, overrides=config, drop=s.get("drop"), tuning=s.get("tuning"),
        )  # fmt: skip
    except (KeyError, TypeError) as e:
        raise ValueError(f"the file's spec is incomplete ({e})") from None
    except ValueError as e:
        raise ValueError(f"this checkout cannot take the file's spec: {e}") from None


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, Mapping):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out |= _flat(v, f"{prefix}{k}.")
        return out
    return {prefix[:-1]: d}


def spec_changes(record: Mapping[str, Any], spec: RunSpec) -> list[str]:
    """Where this checkout resolves the record's cell otherwise than the file says: settings the
    file does not name (added since; today's defaults apply) or resolves to another value."""
    new = _flat(spec.cell_spec(spec.variants()[0]).to_dict())
    old = _flat(record["spec"])
    out = []
    for key in sorted(set(new) | set(old)):
        if key in ("experiment", "data.dataset", "data.protocol"):  # the protocol re-run is the row's (spec_of)
            continue
        if key not in old:
            out.append(f"{key}: not in the file, today's default {new[key]!r}")
        elif key not in new:
            out.append(f"{key}: {old[key]!r} in the file, no such setting now")
        elif old[key] != new[key] and not (isinstance(old[key], list) and list(new[key] or []) == old[key]):
            out.append(f"{key}: {old[key]!r} in the file, {new[key]!r} now")
    return out


def machine(record: Mapping[str, Any]) -> str:
    """``AMD EPYC (2 cores), cpu, 1 thread(s), torch 2.x, code 331bac4``: what made a record."""
    h, c = record.get("hardware", {}), record.get("code_version") or {}
    parts = [h.get("cpu", "unknown CPU"), h.get("gpu") or h.get("device", "?")]
    if h.get("threads") is not None:
        parts.append(f"{h['threads']} thread(s)")
    parts.append(f"torch {h.get('torch', '?')}")
    parts.append(f"code {c.get('git') or 'unknown'}{' (dirty)' if c.get('dirty') else ''}")
    return ", ".join(str(p) for p in parts) + f"; made {record.get('created', '?')}"


def compare(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[list[str], bool | None]:
    """Lines old vs new per metric and the paired verdict; the verdict is None when the records
    do not both store predictions on the same test movies."""
    from leaderboard.predictions import paired, read_predictions
    from mmimdb2.bootstrap import bootstrap_macro_f1, paired_bootstrap
    from mmimdb2.metrics import SCALAR_METRICS

    lines = [f"{'metric':<16}{'old (mean ± std)':<26}{'new (mean ± std)':<26}new - old"]
    for m in SCALAR_METRICS:
        o, n = old["aggregate"]["mean"].get(m), new["aggregate"]["mean"].get(m)
        if o is None or n is None:
            continue
        os_, ns = old["aggregate"]["std"].get(m, 0.0), new["aggregate"]["std"].get(m, 0.0)
        lines.append(f"{m + ' F1':<16}{f'{o:.4f} ± {os_:.4f}':<26}{f'{n:.4f} ± {ns:.4f}':<26}{n - o:+.4f}")
    a, b = read_predictions(old), read_predictions(new)
    if a is None or b is None or not paired(a, b):
        why = "the file stores no test predictions" if a is None else "the new run predicted other test movies"
        return [*lines, f"no paired comparison: {why}"], None
    ia, ib = bootstrap_macro_f1(a.labels, a.seeds), bootstrap_macro_f1(b.labels, b.seeds)
    d = paired_bootstrap(a.labels, b.seeds, a.seeds)
    lines.append(f"{'macro present':<16}{f'{ia.estimate:.4f} [{ia.low:.4f}, {ia.high:.4f}]':<26}"
                 f"{f'{ib.estimate:.4f} [{ib.low:.4f}, {ib.high:.4f}]':<26}{d.estimate:+.4f} [{d.low:+.4f}, {d.high:+.4f}] "
                 f"(paired bootstrap over {len(a.labels)} test movies, seeds pooled)")  # fmt: skip
    return lines, d.tied


def build_parser() -> argparse.ArgumentParser:
    from mmimdb2.paths import DATA_ROOT_HELP
    from mmimdb2.progress import add_progress_flag

    p = argparse.ArgumentParser(prog="python -m benchmarks.reproduce",
                                description="Re-run a result row from its file alone and compare old vs new on the same test movies.")  # fmt: skip
    p.add_argument("file", type=Path, help="a result JSON (leaderboard/submissions/*.json, or a run's results/*.json)")
    p.add_argument("--data-root", type=Path, default=None, help=DATA_ROOT_HELP)
    p.add_argument("--dataset", default=None, metavar="PATH", help="where the row's dataset is now, when not where its spec says")
    p.add_argument("--out", type=Path, default=None, help="where the new run's files go (default: a temporary folder, removed after)")
    p.add_argument("--cache-dir", type=Path, default=None, help="feature/KG cache (default $MMIMDB2_CACHE)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="default: auto (a GPU when there is one)")
    p.add_argument("--threads", type=int, default=None, metavar="N", help="torch intra-op threads (default: the idle usable CPUs)")
    add_progress_flag(p)
    return p


def main(argv: list[str] | None = None) -> int:
    from benchmarks.run import cli_errors

    args = build_parser().parse_args(argv)
    with cli_errors(getattr(args, "debug", False), {"--out": args.out, "--cache-dir": args.cache_dir}, kept="the row's file is unchanged") as status:
        return _reproduce(args)
    return status.code


def _reproduce(args: argparse.Namespace) -> int:
    import mmimdb2
    from benchmarks.harness import run_benchmark
    from benchmarks.spec import RunOptions
    from benchmarks.threads import resolve_threads
    from leaderboard.record import ResultRecord
    from mmimdb2.progress import show_progress

    old = ResultRecord.from_disk(args.file).to_dict()  # any schema version, converted and checked
    spec = spec_of(old, dataset=args.dataset)
    changes = spec_changes(old, spec)
    dataset = mmimdb2.load(spec.data.dataset, spec.data.split, data_root=args.data_root, progress=False)
    want = old["dataset"].get("fingerprint")
    if want is not None and dataset.fingerprint != want:
        raise ValueError(f"the dataset found as {spec.data.dataset!r} is not the data {args.file.name} was made on (its content "
                         "fingerprint differs); pass --dataset PATH to where that data is")  # fmt: skip
    print(f"reproducing {args.file.name}: {old['model']['name']} on {old['dataset']['name']} ({spec.data.dataset}), seeds "
          f"{' '.join(map(str, spec.seeds))}, recipe {spec.recipe}" + (f", tuned by study {spec.tuning.get('study')}" if spec.tuning else ""))  # fmt: skip
    for line in changes:
        print(f"  resolved otherwise now: {line}")
    with tempfile.TemporaryDirectory(prefix="reproduce-") as tmp:
        options = RunOptions(out=args.out or Path(tmp), cache_dir=args.cache_dir, data_root=args.data_root, device=args.device, force=True,
                             progress=show_progress(args.progress), threads=resolve_threads(args.threads))  # fmt: skip
        new = next(r for r in run_benchmark(spec, options) if r["protocol"] == old["protocol"])
    print(f"old: {machine(old)}")
    print(f"new: {machine(new)}")
    lines, tied = compare(old, new)
    print("\n".join(lines))
    if tied is None:
        print("cannot tell whether it reproduced: no paired test predictions")
        return 2
    print("reproduced within the interval" if tied else "NOT reproduced: the paired interval of new - old excludes 0")
    return 0 if tied else 1


if __name__ == "__main__":
    raise SystemExit(main())
