"""``python -m benchmarks.cv``: compare models by cross-validation on train + dev; test is never read.

A small dev set makes a poor judge of a default: on realdev's 80 dev movies, one model's dev
macro-F1 moves by several points between seeds. This tool pools the split's train and dev movies,
cuts them into K seeded folds and, for each fold, rebuilds the whole pipeline with the other folds
as the training set (train-only KG, its embedding, the people vote), so nothing about a held
movie leaks in. Each held fold is halved: one half picks the checkpoint and the thresholds (the
run's "dev"), the other is scored, and the halves then swap, so every pooled movie is predicted
exactly once per seed. The table is the macro-F1 over all pooled predictions (one per movie),
mean ± std over seeds: K times more movies judge a setting than the dev set alone.

The test part of the split takes no part: its movies are not in any fold, any KG or any score.
"""

from __future__ import annotations

import argparse
import copy
import sys
from dataclasses import replace

import numpy as np

from benchmarks.pipeline import PreparedInputs, Stopwatch
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


def pooled_macro_f1(labels: list[np.ndarray], predictions: list[np.ndarray]) -> float:
    """Macro-F1 over the concatenated rows of every fold (sklearn, genres without positives count 0)."""
    from sklearn.metrics import f1_score

    y, p = np.concatenate(labels).astype(int), np.concatenate(predictions).astype(int)
    return float(f1_score(y, p, average="macro", zero_division=0))


def cross_validate(cs: CellSpec, folds: list[PreparedInputs], seeds: list[int], *, device="cpu") -> list[float]:
    """One pooled macro-F1 per seed for the cell ``cs`` trained on every fold."""
    from benchmarks.harness import fit_and_predict

    scores, memo = [], {}
    for seed in seeds:
        labels, predictions = [], []
        for fold in folds:
            fit = fit_and_predict(cs, fold, seed=seed, device=device, progress=False, memo=memo)
            labels.append(fold.labels[fold.rows["test"]])
            predictions.append(fit["proba"] >= fit["threshold"])
        scores.append(pooled_macro_f1(labels, predictions))
    return scores


def build_parser() -> argparse.ArgumentParser:
    from benchmarks.run import build_parser as run_parser

    p = argparse.ArgumentParser(
        prog="python -m benchmarks.cv", parents=[run_parser()], conflict_handler="resolve",
        description="Cross-validated macro-F1 on a split's train + dev movies (test never read), to choose defaults.",
    )  # fmt: skip
    p.add_argument("--folds", type=int, default=4, help="K folds over train + dev (default 4)")
    p.add_argument("--fold-seed", type=int, default=0, metavar="N",
                   help="seed of the fold draw and of each fold's halving (default 0); another N is another draw of the same K folds")  # fmt: skip
    return p


def main(argv: list[str] | None = None) -> int:
    from benchmarks.run import spec_from_args
    from benchmarks.threads import torch_threads

    args = build_parser().parse_args(argv)
    try:
        spec, options = spec_from_args(args)
        if options.jobs != 1 or options.executor not in (None, "serial"):
            raise ValueError("benchmarks.cv runs its folds in this process: --jobs and --executor are for benchmarks.run")
        with torch_threads(options.threads):
            return _cross_validate_cli(args, spec, options)
    except (ValueError, KeyError, OSError, RuntimeError, ImportError) as exc:
        print(f"error: {exc.args[0] if isinstance(exc, KeyError) and exc.args else exc}", file=sys.stderr)
        return 2


def _cross_validate_cli(args, spec, options) -> int:
    """The folds, each cell's cross-validated scores, and the table (errors are ``main``'s)."""
    from tqdm.auto import tqdm

    import mmimdb2
    from benchmarks.encoders import get_encoder, resolve_device
    from benchmarks.pipeline import prepare_inputs
    from benchmarks.run import encoder_hint

    cells = spec.cells()
    cell_specs = [spec.cell_spec(c) for c in cells]
    kg = cell_specs[0].kg
    other = sorted({cs.kg.embedding.model for cs in cell_specs} - {kg.embedding.model})
    if other:
        raise ValueError(f"benchmarks.cv embeds one KG model per call ({kg.embedding.model}); run {', '.join(other)} with --kg-model")
    dataset = mmimdb2.load(spec.data.dataset, spec.data.split, data_root=options.data_root)
    device = resolve_device(options.device)
    folds: list[PreparedInputs] = []
    with encoder_hint(spec.encoder.name is None):
        encoder = get_encoder(spec.resolved_encoder())
        for k, ds in enumerate(tqdm(list(fold_splits(dataset, args.folds, seed=args.fold_seed)), desc="cv folds", unit="fold", file=sys.stderr, disable=not options.progress)):
            prep = prepare_inputs(ds, encoder=encoder, kg=kg, device=str(device), cache_dir=options.cache_dir,
                                  watch=Stopwatch(), progress=False)  # fmt: skip
            folds += halves(prep, seed=k + args.fold_seed * args.folds)  # fold seed 0: seed k, as before the flag
    rows = []
    for cell, cs in zip(cells, cell_specs):
        scores = cross_validate(cs, folds, list(spec.seeds), device=device)
        rows.append((cell.label, float(np.mean(scores)), float(np.std(scores))))
        print(f"{cell.label}: pooled cv macro-F1 {rows[-1][1]:.4f} ± {rows[-1][2]:.4f}", file=sys.stderr)
    n = sum(len(f.rows["test"]) for f in folds)
    print(f"cross-validated macro-F1 on {dataset.name} train + dev ({args.folds} folds, fold seed {args.fold_seed}, {n} pooled movies, seeds "
          f"{' '.join(map(str, spec.seeds))}; test not used)")  # fmt: skip
    width = max([len("model"), *(len(r[0]) for r in rows)])
    print(f"{'model'.ljust(width)}  macro-F1")
    for label, mean, std in sorted(rows, key=lambda r: -r[1]):
        print(f"{label.ljust(width)}  {mean:.4f} ± {std:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
