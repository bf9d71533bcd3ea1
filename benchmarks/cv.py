"""``python -m benchmarks.cv``: compare models by cross-validation on train + dev; test is never read.

A small dev set makes a poor judge of a default: on the 80 dev movies of yts800 (800 real
movies), one model's dev macro-F1 moves by several points between seeds. This tool pools the
split's train and dev movies, cuts them into K seeded folds and, for each fold, rebuilds the
whole pipeline with the other folds as the training set (train-only KG, its embedding, the
people vote), so nothing about a held movie leaks in. Each held fold is halved: one half picks the checkpoint and the thresholds (the
run's "dev"), the other is scored, and the halves then swap, so every pooled movie is predicted
exactly once per seed. The table is the macro-F1 over all pooled predictions (one per movie),
mean ± std over seeds: K times more movies judge a setting than the dev set alone, with the
macro-F1 over the genres present of all seeds pooled and its 95% bootstrap interval over movies.
Every per-fold, per-seed and pooled score is written to ``--out`` (``<out>/cv/*.json`` and a CSV).

The test part of the split takes no part: its movies are not in any fold, any KG or any score.
"""

from __future__ import annotations

import argparse
import copy
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from benchmarks.pipeline import PreparedInputs
from benchmarks.spec import CellSpec


def fold_splits(dataset, folds: int, seed: int = 0):
    """The K (train ids, held ids) pairs over the split's train + dev movies (test left out)."""
    from sklearn.model_selection import KFold

    from mmimdb2.splits import Split

    pool = np.array([*dataset.split["train"], *dataset.split["dev"]])
    if folds < 2:
        raise ValueError(f"The 'folds' parameter must be in [2, {max(2, len(pool) // 2)}]. Got {folds!r} instead.")
    if folds > len(pool) // 2:
        raise ValueError(f"too few movies for {folds} folds: train + dev hold {len(pool)}, and each fold needs at least 2 ({2 * folds} in all)")
    for k, (inner, outer) in enumerate(KFold(n_splits=folds, shuffle=True, random_state=seed).split(pool)):
        parts = {"train": tuple(pool[inner]), "dev": tuple(pool[outer]), "test": ()}
        yield replace(dataset, split=Split(f"{dataset.split.name}+cv{k}of{folds}", parts))


def halves(prep: PreparedInputs, seed: int = 0) -> list[PreparedInputs]:
    """The held rows (``prep.rows["dev"]``) cut in two seeded halves, each scored once with the other
    as dev: two shallow copies of ``prep`` with rows ``train`` / ``dev`` (selection) / ``test`` (scored)."""
    held = prep.rows["dev"]
    perm = np.random.default_rng(seed).permutation(len(held))
    a, b = np.sort(held[perm[: len(held) // 2]]), np.sort(held[perm[len(held) // 2 :]])
    out = []
    for dev, scored in ((a, b), (b, a)):
        q = copy.copy(prep)
        q.rows = {"train": prep.rows["train"], "dev": dev, "test": scored}
        out.append(q)
    return out


def prepare_folds(dataset, *, encoder, kg, folds: int, fold_seed: int = 0, device: str = "cpu", cache_dir=None, progress: bool = False) -> list[PreparedInputs]:
    """Every fold's inputs (features, the fold's train-only KG and its embedding, the people vote),
    each cut into its two :func:`halves`: halves 2k and 2k + 1 score fold k (what
    :func:`cross_validate` takes). Prepared once, they serve any number of cells on the same KG setting."""
    from tqdm.auto import tqdm

    from benchmarks.pipeline import prepare_inputs

    out: list[PreparedInputs] = []
    splits = list(fold_splits(dataset, folds, seed=fold_seed))
    for k, ds in enumerate(tqdm(splits, desc="cv folds", unit="fold", file=sys.stderr, disable=not progress)):
        prep = prepare_inputs(ds, encoder=encoder, kg=kg, device=device, cache_dir=cache_dir, progress=False)
        out += halves(prep, seed=k + fold_seed * folds)  # fold seed 0: seed k, as before the flag
    return out


def pooled_macro_f1(labels: list[np.ndarray], predictions: list[np.ndarray]) -> float:
    """Macro-F1 over the concatenated rows of every fold (sklearn, genres without positives count 0)."""
    from sklearn.metrics import f1_score

    y, p = np.concatenate(labels).astype(int), np.concatenate(predictions).astype(int)
    return float(f1_score(y, p, average="macro", zero_division=0))


@dataclass
class CVScores:
    """One cell's cross-validated predictions and scores: per seed the pooled macro-F1 and each
    fold's; the pooled labels (n, G) and each seed's decisions (S, n, G), rows in fold order."""

    seeds: list[int]
    pooled: list[float]
    per_fold: list[list[float]]
    labels: np.ndarray
    decisions: np.ndarray

    def interval(self):
        """Macro-F1 over the genres present of every seed's decisions pooled, with its 95% percentile
        bootstrap interval over the pooled movies (:func:`mmimdb2.bootstrap.bootstrap_macro_f1`)."""
        from mmimdb2.bootstrap import bootstrap_macro_f1

        return bootstrap_macro_f1(self.labels, self.decisions)


def cross_validate(cs: CellSpec, folds: list[PreparedInputs], seeds: list[int], *, device="cpu") -> CVScores:
    """The cell ``cs`` trained on every fold half for each seed. ``folds`` are :func:`halves` in
    pairs: halves 2k and 2k + 1 together score fold k."""
    import traceback

    from benchmarks.executors import Where, describe, job_failed
    from benchmarks.harness import fit_and_predict

    pooled, per_fold, decisions, labels, memo = [], [], [], None, {}
    for seed in seeds:
        ys, ps = [], []
        for k, fold in enumerate(folds):
            try:
                fit = fit_and_predict(cs, fold, seed=seed, device=device, progress=False, memo=memo)
            except (Exception, SystemExit) as e:  # a model's error, assert or sys.exit(): one line naming it
                where = Where(cs.model, seed, k // 2)
                raise job_failed(where, describe(e), traceback.format_exc(), then="no scores were written") from e
            ys.append(fold.labels[fold.rows["test"]])
            ps.append(fit["proba"] >= fit["threshold"])
        pooled.append(pooled_macro_f1(ys, ps))
        per_fold.append([pooled_macro_f1(ys[k : k + 2], ps[k : k + 2]) for k in range(0, len(ys), 2)])
        labels = np.concatenate(ys).astype(np.uint8)
        decisions.append(np.concatenate(ps).astype(np.uint8))
    return CVScores(list(seeds), pooled, per_fold, labels, np.stack(decisions))


def build_parser() -> argparse.ArgumentParser:
    """``benchmarks.run``'s shared flags (models, data, encoder, KG, training, device, cache), ``--out``
    and the folds; none of the run-only flags (protocol, drop, submit, force, verbose), which
    cross-validation would not use."""
    from benchmarks.run import RUN_ONLY_DEFAULTS, add_shared_arguments
    from benchmarks.spec import RunOptions

    p = argparse.ArgumentParser(
        prog="python -m benchmarks.cv",
        description="Cross-validated macro-F1 on a split's train + dev movies (test never read), to choose defaults.",
    )  # fmt: skip
    add_shared_arguments(p)
    p.add_argument("--out", type=Path, default=RunOptions.out,
                   help=f"folder the scores go to, as <out>/cv/<dataset>__cv__<key>.json and .csv (default ./{RunOptions.out})")  # fmt: skip
    p.add_argument("--folds", type=int, default=4, help="K folds over train + dev (default 4)")
    p.add_argument("--fold-seed", type=int, default=0, metavar="N",
                   help="seed of the fold draw and of each fold's halving (default 0); another N is another draw of the same K folds")  # fmt: skip
    p.set_defaults(**RUN_ONLY_DEFAULTS)
    return p


def cv_record(dataset, encoder: str, args: argparse.Namespace, cells: list, cell_specs: list[CellSpec], scores: list[CVScores]) -> dict:
    """What a cross-validation found, JSON-ready: the data, folds and seeds, and per model its spec,
    per-seed pooled and per-fold macro-F1, their mean and std, and the pooled figure with its 95% CI."""
    from leaderboard.provenance import code_version, utc_now
    from leaderboard.uncertainty import mark_rows
    from mmimdb2.bootstrap import paired_bootstrap

    intervals = [sc.interval() for sc in scores]
    marks = mark_rows(intervals, lambda i, b: paired_bootstrap(scores[i].labels, scores[i].decisions, scores[b].decisions))
    models = []
    for cell, cs, sc, ci, mark in zip(cells, cell_specs, scores, intervals, marks):
        models.append({
            "label": cell.label, "model": cs.model, "spec": cs.to_dict(),
            "macro_f1": {"mean": float(np.mean(sc.pooled)), "std": float(np.std(sc.pooled)),
                         "per_seed": [{"seed": s, "pooled": p, "folds": f} for s, p, f in zip(sc.seeds, sc.pooled, sc.per_fold)]},
            "macro_present": {"estimate": ci.estimate, "low": ci.low, "high": ci.high, "confidence": 0.95,
                              "genres_present": int((sc.labels.sum(0) > 0).sum())},
            "vs_best": {"mark": mark.mark, **({"difference": mark.versus.estimate, "low": mark.versus.low, "high": mark.versus.high}
                                               if mark.versus is not None else {})},
        })  # fmt: skip
    return {
        "dataset": {"name": dataset.name, "split": dataset.split.name, "split_sha256": dataset.split.sha256, "fingerprint": dataset.fingerprint},
        "encoder": encoder, "folds": args.folds, "fold_seed": args.fold_seed, "seeds": [int(s) for s in scores[0].seeds] if scores else [],
        "pooled_movies": int(len(scores[0].labels)) if scores else 0, "test_used": False,
        "statistics": {"macro_f1": "sklearn macro-F1 over all 23 genres of one seed's pooled predictions (absent genres count 0)",
                       "macro_present": "macro-F1 over the genres present of all seeds' pooled predictions, 95% percentile bootstrap over movies"},
        "models": models, "code_version": code_version(), "created": utc_now(),
    }  # fmt: skip


def cv_table(record: dict) -> list[str]:
    """The terminal table of a cross-validation, through the table model: best pooled figure first,
    each with its 95% interval and its mark against the best (``best``; ``≈``: a paired bootstrap
    difference whose interval holds 0)."""
    from leaderboard.table_model import TableRow, interval_text, plain_table
    from mmimdb2.bootstrap import Interval

    models = sorted(record["models"], key=lambda m: -m["macro_present"]["estimate"])
    rows = [TableRow(m, m["label"], Interval(m["macro_present"]["estimate"], m["macro_present"]["low"], m["macro_present"]["high"]),
                     m["vs_best"]["mark"]) for m in models]  # fmt: skip
    head = "macro-F1 (mean ± std over seeds)"
    body = [[row.label, f"{row.record['macro_f1']['mean']:.4f} ± {row.record['macro_f1']['std']:.4f}", interval_text(row), row.mark]
            for row in rows]  # fmt: skip
    return plain_table(["model", head, "macro present, seeds pooled [95% CI]", "vs best"], body)


def write_cv(record: dict, out: Path) -> tuple[Path, Path]:
    """``record`` as ``<out>/cv/<dataset>__cv__<key12>.json`` and a CSV of its scores beside it, each
    written atomically; the key hashes what was compared (specs, folds, seeds, data), so a rerun overwrites."""
    import csv
    import io
    import re

    from mmimdb2.io import atomic_write_json, atomic_write_text, digest

    key = digest({"specs": [m["spec"] for m in record["models"]], "data": record["dataset"], "folds": record["folds"],
                  "fold_seed": record["fold_seed"], "seeds": record["seeds"], "encoder": record["encoder"]})  # fmt: skip
    stem = out / "cv" / f"{re.sub(r'[^A-Za-z0-9._-]+', '_', record['dataset']['name']).strip('._') or 'x'}__cv__{key[:12]}"
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["model", "seed", "fold", "macro_f1", "macro_present", "ci_low", "ci_high"])
    for m in record["models"]:
        for s in m["macro_f1"]["per_seed"]:
            w.writerows([m["label"], s["seed"], k, f"{v:.6f}", "", "", ""] for k, v in enumerate(s["folds"]))
            w.writerow([m["label"], s["seed"], "pooled", f"{s['pooled']:.6f}", "", "", ""])
        ci = m["macro_present"]
        w.writerow([m["label"], "mean", "pooled", f"{m['macro_f1']['mean']:.6f}", f"{ci['estimate']:.6f}", f"{ci['low']:.6f}", f"{ci['high']:.6f}"])
    return atomic_write_json(stem.with_suffix(".json"), record), atomic_write_text(stem.with_suffix(".csv"), buf.getvalue())


def main(argv: list[str] | None = None) -> int:
    from benchmarks.run import cli_errors, spec_from_args
    from benchmarks.threads import torch_threads

    args = build_parser().parse_args(argv)
    with cli_errors(args.debug, {"--out": args.out, "--cache-dir": args.cache_dir}, kept="no scores were written") as status:
        spec, options = spec_from_args(args)
        with torch_threads(options.threads):
            return _cross_validate_cli(args, spec, options)
    return status.code


def _cross_validate_cli(args, spec, options) -> int:
    """The folds, each cell's cross-validated scores, and the table (errors are ``main``'s)."""
    import mmimdb2
    from benchmarks.encoders import get_encoder, resolve_device
    from benchmarks.harness import usable_folder
    from benchmarks.run import encoder_hint

    cells = spec.variants()
    cell_specs = [spec.cell_spec(c) for c in cells]
    kg = cell_specs[0].kg
    other = sorted({cs.kg.embedding.model for cs in cell_specs} - {kg.embedding.model})
    if other:
        raise ValueError(f"benchmarks.cv embeds one KG model per call ({kg.embedding.model}); run {', '.join(other)} with --kg-model")
    usable_folder(Path(options.out), "--out", write=True)  # scores are written: refused now, not after training
    dataset = mmimdb2.load(spec.data.dataset, spec.data.split, data_root=options.data_root, progress=options.progress)
    device = resolve_device(options.device)
    with encoder_hint(spec.encoder.name is None):
        encoder = get_encoder(spec.resolved_encoder())
        folds = prepare_folds(dataset, encoder=encoder, kg=kg, folds=args.folds, fold_seed=args.fold_seed, device=str(device),
                              cache_dir=options.cache_dir, progress=options.progress)  # fmt: skip
    scores = []
    for cell, cs in zip(cells, cell_specs):
        scores.append(cross_validate(cs, folds, list(spec.seeds), device=device))
        print(f"{cell.label}: pooled cv macro-F1 {np.mean(scores[-1].pooled):.4f} ± {np.std(scores[-1].pooled):.4f}", file=sys.stderr)
    record = cv_record(dataset, encoder.name, args, cells, cell_specs, scores)
    json_path, csv_path = write_cv(record, Path(options.out))
    print(f"cross-validated macro-F1 on {dataset.name} train + dev ({args.folds} folds, fold seed {args.fold_seed}, "
          f"{record['pooled_movies']} pooled movies, seeds {' '.join(map(str, spec.seeds))}; test not used)")  # fmt: skip
    for line in cv_table(record):
        print(line)
    print(f"scores in {json_path} and {csv_path.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
