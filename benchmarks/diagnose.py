"""``python -m benchmarks.diagnose emap|robustness``: diagnostics of trained rows on the test part.

``emap``: each model trained once per seed on clean data, then projected onto additive functions
of its modality groups (:mod:`benchmarks.diagnostics.emap`, Hessel & Lee 2020); prints each row's
test macro-F1, its EMAP's and the interaction gain (row − EMAP) with 95% paired bootstrap
intervals, and the seconds the fits and the projection took; writes
``<out>/diagnostics/<dataset>__emap__<key>.json``, a CSV and a PNG.

``robustness``: the same as ``python -m benchmarks.robustness`` (noisy test posters and plots).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.diagnostics.emap import EXACT_MAX_EVALUATIONS, PARTNERS, SEED

COMMANDS = ("emap", "robustness")


def build_emap_parser() -> argparse.ArgumentParser:
    from benchmarks.diagnostics.session import add_arguments

    p = argparse.ArgumentParser(
        prog="python -m benchmarks.diagnose emap",
        description="Each model's test macro-F1 beside its EMAP's (no cross-modal interactions) and the interaction gain.",
    )  # fmt: skip
    add_arguments(p)
    p.add_argument("--groups", nargs="+", default=["plot", "poster", "people"], metavar="G",
                   help="modality groups; '+' joins modalities into one group (default: plot poster people; "
                        "Hessel & Lee's two-group form with people beside the poster: plot poster+people)")  # fmt: skip
    p.add_argument(
        "--exact-max",
        type=int,
        default=EXACT_MAX_EVALUATIONS,
        metavar="N",
        help=f"exact when n^groups model evaluations are at most N, else sampled (default {EXACT_MAX_EVALUATIONS})",
    )
    p.add_argument(
        "--partners",
        type=int,
        default=PARTNERS,
        metavar="K",
        help=f"sampled: partner combinations per movie and group (default {PARTNERS})",
    )
    p.add_argument("--emap-seed", type=int, default=SEED, metavar="N", help=f"seed of the partner draw (default {SEED})")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python -m benchmarks.diagnose {{{','.join(COMMANDS)}}} [flags] (--help after the command lists them)",
              file=sys.stderr)  # fmt: skip
        return 2
    if argv[0] == "robustness":
        from benchmarks.robustness import main as robustness

        return robustness(argv[1:])
    from benchmarks.diagnostics.session import main_guard

    return main_guard(_emap, build_emap_parser(), argv[1:])


def _emap(args, spec, options) -> int:
    from benchmarks.diagnostics.emap import emap, emap_decisions, group_label, interaction_gain, parse_groups
    from benchmarks.diagnostics.fitting import part_arrays, test_decisions
    from benchmarks.diagnostics.session import fit_rows, open_session, provenance, write_outputs

    groups = parse_groups(args.groups)
    if args.exact_max < 0 or args.partners < 1:
        raise ValueError(f"--exact-max must be >= 0 and --partners >= 1. Got {args.exact_max} and {args.partners} instead.")
    t_all = time.perf_counter()
    session = open_session(spec, options)
    fitted = fit_rows(session)
    test, labels = part_arrays(session.prep, "test"), session.test_labels
    out_rows, emap_of = [], []
    for label, rows in fitted.items():
        results = [emap(r.logits(), test, groups, exact_max=args.exact_max, partners=args.partners, seed=args.emap_seed) for r in rows]
        emap_of += results
        own = test_decisions(rows)
        projected = np.stack([emap_decisions(res, r.threshold) for res, r in zip(results, rows)])
        g = interaction_gain(labels, own, projected)
        out_rows.append({
            "label": label, "model": rows[0].cs.model,
            "macro_f1": {"estimate": g.model.estimate, "low": g.model.low, "high": g.model.high},
            "emap_macro_f1": {"estimate": g.emap.estimate, "low": g.emap.low, "high": g.emap.high},
            "gain": {"estimate": g.gain.estimate, "mean": g.gain.mean, "low": g.gain.low, "high": g.gain.high},
            "decisions_changed": float(np.mean(own != projected)), "exact": results[0].exact, "evaluations": sum(r.evaluations for r in results),
            "seconds": {"fit": sum(r.train_s for r in rows), "emap": sum(r.seconds for r in results)},
        })  # fmt: skip
        print(f"{label}: EMAP of {len(rows)} seed(s) in {out_rows[-1]['seconds']['emap']:.1f} s "
              f"({out_rows[-1]['evaluations']:,} model rows)", file=sys.stderr)  # fmt: skip
    n = len(session.prep.rows["test"])
    first = emap_of[0]
    record = {
        **provenance(session), "groups": [list(g) for g in groups], "method": "exact" if first.exact else "sampled",
        "partners": first.partners, "emap_seed": first.seed, "exact_max": args.exact_max,
        "statistics": {"macro_f1": "macro-F1 over the genres present, every seed's decisions pooled, 95% percentile bootstrap over test movies",
                       "gain": "row minus EMAP, paired bootstrap (one draw of movies for both)"},
        "rows": out_rows, "seconds": {"prepare": session.seconds, "total": time.perf_counter() - t_all},
    }  # fmt: skip
    _print(record, group_label(groups), n)
    status = 0
    if args.attach:
        from benchmarks.diagnostics.session import attach_to_rows

        status = attach_to_rows(session, fitted, "emap", {r["label"]: _block(r, record) for r in out_rows}, args.leaderboard)
    csv_rows = [[r["label"], *(f"{r[k][s]:.6f}" for k in ("macro_f1", "emap_macro_f1", "gain") for s in ("estimate", "low", "high")),
                 r["exact"], r["evaluations"], f"{r['seconds']['fit']:.2f}", f"{r['seconds']['emap']:.2f}"] for r in out_rows]  # fmt: skip
    header = ["model", "macro_f1", "ci_low", "ci_high", "emap_macro_f1", "emap_ci_low", "emap_ci_high", "gain", "gain_low", "gain_high",
              "exact", "evaluations", "fit_s", "emap_s"]  # fmt: skip
    paths = write_outputs(Path(options.out), "emap", record, csv_rows, header, gain_plot(record))
    print(f"written: {', '.join(map(str, paths))}")
    return status


def _block(row: dict, record: dict) -> dict:
    """One row's EMAP as its leaderboard record holds it (``diagnostics.emap`` in schema.json)."""
    return {
        "groups": record["groups"], "method": record["method"], "partners": record["partners"], "emap_seed": record["emap_seed"],
        **{k: {s: row[k][s] for s in ("estimate", "low", "high")} for k in ("macro_f1", "emap_macro_f1", "gain")},
        "decisions_changed": row["decisions_changed"], "seconds": row["seconds"],
        "code_version": record["code_version"], "created": record["created"],
    }  # fmt: skip


def _print(record: dict, groups: str, n: int) -> None:
    how = (
        "exact"
        if record["method"] == "exact"
        else f"sampled, {record['partners']} partners per movie and group, seed {record['emap_seed']}"
    )
    print(f"EMAP over {groups} on {record['dataset']['name']}'s {n} test movies ({how}); macro-F1 over the genres present, "
          f"seeds {' '.join(map(str, record['seeds']))} pooled, with 95% bootstrap intervals; gain = row − EMAP (paired)")  # fmt: skip
    width = max(len("model"), *(len(r["label"]) for r in record["rows"]))
    head = ["macro-F1 [95% CI]", "EMAP macro-F1 [95% CI]", "gain [95% CI]"]
    print(f"{'model'.ljust(width)}  {head[0]:<25}  {head[1]:<25}  {head[2]:<27}  fit s  EMAP s")
    for r in record["rows"]:
        a, b, g = r["macro_f1"], r["emap_macro_f1"], r["gain"]
        cells = [f"{a['estimate']:.4f} [{a['low']:.4f}, {a['high']:.4f}]", f"{b['estimate']:.4f} [{b['low']:.4f}, {b['high']:.4f}]",
                 f"{g['estimate']:+.4f} [{g['low']:+.4f}, {g['high']:+.4f}]"]  # fmt: skip
        print(
            f"{r['label'].ljust(width)}  {cells[0]:<25}  {cells[1]:<25}  {cells[2]:<27}  {r['seconds']['fit']:5.1f}  {r['seconds']['emap']:6.1f}"
        )


def gain_plot(record: dict) -> bytes:
    """Each row's macro-F1 and its EMAP's (with 95% intervals), and the gain with its paired interval."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    from benchmarks.diagnostics.session import png_bytes

    rows = record["rows"]
    y = np.arange(len(rows))[::-1]
    fig = Figure(figsize=(10, 1.2 + 0.42 * len(rows)))
    left, right = fig.subplots(1, 2, sharey=True)
    for key, dy, name in (("macro_f1", 0.12, "model"), ("emap_macro_f1", -0.12, "EMAP")):
        est = np.array([r[key]["estimate"] for r in rows])
        err = np.array([[r[key]["estimate"] - r[key]["low"], r[key]["high"] - r[key]["estimate"]] for r in rows]).T
        left.errorbar(est, y + dy, xerr=err, fmt="o", capsize=3, label=name)
    left.set_yticks(y, [r["label"] for r in rows], fontsize=8)
    left.set_xlabel("test macro-F1 (genres present, seeds pooled)")
    left.legend(fontsize=8)
    est = np.array([r["gain"]["estimate"] for r in rows])
    err = np.array([[r["gain"]["estimate"] - r["gain"]["low"], r["gain"]["high"] - r["gain"]["estimate"]] for r in rows]).T
    right.errorbar(est, y, xerr=err, fmt="o", color="black", capsize=3)
    right.axvline(0, color="grey", linewidth=1)
    right.set_xlabel("interaction gain: model − EMAP (paired 95% CI)")
    groups = " | ".join("+".join(g) for g in record["groups"])
    how = (
        record["method"]
        if record["method"] == "exact"
        else f"sampled, {record['partners']} partners per movie and group, seed {record['emap_seed']}"
    )
    fig.suptitle(f"{record['dataset']['name']}: EMAP over {groups} ({how}); {len(record['seeds'])} seed(s) pooled", fontsize=10)
    for ax in (left, right):
        ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    return png_bytes(fig)


if __name__ == "__main__":
    sys.exit(main())
