"""``python -m benchmarks.robustness``: each model trained once on clean data, then scored on noisy
test posters and plots (:mod:`mmimdb2.noise`, MultiBench's corruptions) re-encoded by the run's
encoder.

Two forms:

- ``--noise poster=0.3 plot=0.2`` (any registered noise ``NAME=LEVEL``, one per modality): each
  model's test macro-F1 clean and under that noise;
- a sweep (the default, or ``--sweep poster plot`` with ``--levels``): for each named modality,
  the noise at each level (MultiBench's 0, 0.1, ..., 1) with the other modality clean; each
  model's curve, its relative robustness and its effective robustness against ``--reference``
  (late fusion, trained too when not among ``--models``).

Writes ``<out>/diagnostics/<dataset>__robustness__<key>.json``, a CSV of every point and a PNG
of the curves; prints a table and the seconds each stage took. docs/diagnostics.md has the formulas.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.diagnostics.robustness import LEVELS, row_decisions, score_decisions

#: The late-fusion row effective robustness is measured against (MultiBench's reference).
REFERENCE = "late-fusion"
#: The modalities a sweep corrupts, one at a time, by default.
SWEEP = ("poster", "plot")


def build_parser() -> argparse.ArgumentParser:
    from benchmarks.diagnostics.session import add_arguments
    from mmimdb2.noise import NOISE

    p = argparse.ArgumentParser(
        prog="python -m benchmarks.robustness",
        description="Test macro-F1 of models trained on clean data, under noisy test posters and plots (MultiBench's corruptions).",
    )  # fmt: skip
    add_arguments(p)
    p.add_argument("--noise", nargs="+", metavar="NAME=LEVEL",
                   help=f"one noise setting to score, e.g. poster=0.3 plot=0.2 (names: {', '.join(NOISE.names())}); "
                        "without it, a sweep")  # fmt: skip
    p.add_argument(
        "--sweep",
        nargs="+",
        metavar="NAME",
        default=None,
        help=f"noises swept one at a time over --levels, the other modality clean (default: {' '.join(SWEEP)})",
    )
    p.add_argument(
        "--levels",
        nargs="+",
        type=float,
        default=list(LEVELS),
        metavar="L",
        help="levels of a sweep, rising from 0 (default: MultiBench's 0 0.1 ... 1)",
    )
    p.add_argument("--noise-seed", type=int, default=0, metavar="N", help="seed of the noise draws (default 0)")
    p.add_argument(
        "--reference",
        default=REFERENCE,
        metavar="M",
        help=f"the row effective robustness is measured against, trained if not in --models (default {REFERENCE})",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    from benchmarks.diagnostics.session import main_guard

    return main_guard(_run, build_parser(), argv)


def _run(args, spec, options) -> int:
    from benchmarks.diagnostics.noisy import NoiseSetting
    from benchmarks.diagnostics.robustness import check_levels
    from benchmarks.diagnostics.session import fit_rows, open_session, provenance, write_outputs

    if args.noise and args.sweep:
        raise ValueError("give --noise (one setting) or --sweep (levels of each noise), not both")
    if args.noise and args.attach:
        raise ValueError("--attach puts robustness curves into the leaderboard: give a sweep (--sweep/--levels), not --noise")
    if args.noise:
        settings = {"clean": NoiseSetting((), args.noise_seed), "noisy": NoiseSetting.parse(args.noise, args.noise_seed)}
        sweep, levels, reference = (), (), None
    else:
        sweep, levels, reference = tuple(args.sweep or SWEEP), check_levels(args.levels), args.reference
        for name in sweep:  # each name is checked (and its levels) before any data is loaded
            NoiseSetting(((name, levels[-1]),), args.noise_seed)
        settings = {}
    t_all = time.perf_counter()
    session = open_session(spec, options, extra_models=(reference,) if reference else ())
    rows = fit_rows(session)
    ref_label = next((lab for lab, cs in zip(session.labels, session.cell_specs) if reference and cs.model == _canonical(reference)), None)
    scorer = _Scorer(session, rows)
    if args.noise:
        points = {name: scorer.score(setting) for name, setting in settings.items()}
        record = {**provenance(session), "noise": settings["noisy"].label(), "noise_seed": args.noise_seed,
                  "rows": [{"label": lab, "clean": points["clean"][lab], "noisy": points["noisy"][lab]} for lab in rows]}  # fmt: skip
        csv_rows = [
            [lab, name, *(f"{p[lab][k]:.6f}" for k in ("estimate", "low", "high", "changed"))] for lab in rows for name, p in points.items()
        ]
        header, png = ["model", "setting", "macro_f1", "ci_low", "ci_high", "decisions_changed"], None
        _print_setting(record)
    else:
        curves = {}
        for name in sweep:
            per_level = [scorer.score(NoiseSetting(((name, lv),), args.noise_seed)) for lv in levels]
            curves[name] = {lab: [pl[lab] for pl in per_level] for lab in rows}
        record = {**provenance(session), "sweep": list(sweep), "levels": list(levels), "noise_seed": args.noise_seed,
                  "reference": ref_label, "curves": _summaries(curves, levels, ref_label)}  # fmt: skip
        csv_rows = [[lab, name, f"{lv:g}", *(f"{p[k]:.6f}" for k in ("estimate", "low", "high", "changed"))]
                    for name, by in curves.items() for lab, pts in by.items() for lv, p in zip(levels, pts)]  # fmt: skip
        header = ["model", "noise", "level", "macro_f1", "ci_low", "ci_high", "decisions_changed"]
        png = curve_plot(record)
        _print_sweep(record)
    record["seconds"] = {"prepare": session.seconds, "fit": {lab: sum(r.train_s for r in rs) for lab, rs in rows.items()},
                         "encode_noisy": scorer.encode_s, "predict": scorer.predict_s, "total": time.perf_counter() - t_all}  # fmt: skip
    paths = write_outputs(Path(options.out), "robustness", record, csv_rows, header, png)
    s = record["seconds"]
    print(f"seconds: noisy features {sum(s['encode_noisy'].values()):.1f} ({', '.join(f'{k} {v:.1f}' for k, v in s['encode_noisy'].items())}), "
          f"predictions {sum(s['predict'].values()):.1f}, model fits {sum(s['fit'].values()):.1f}, whole command {s['total']:.1f} "
          f"(on {session.device})")  # fmt: skip
    print(f"written: {', '.join(map(str, paths))}")
    if not args.attach:
        return 0
    from benchmarks.diagnostics.session import attach_to_rows

    return attach_to_rows(session, rows, "robustness", {lab: _block(record, lab) for lab in rows}, args.leaderboard)


def _block(record: dict, label: str) -> dict:
    """One row's curves as its leaderboard record holds them (``diagnostics.robustness`` in schema.json)."""
    s = record["seconds"]
    curves = {}
    for name, by in record["curves"].items():
        c = by[label]
        points = [{"level": lv, **{k: p[k] for k in ("estimate", "low", "high", "changed")}} for lv, p in zip(record["levels"], c["points"])]
        curves[name] = {"points": points, "relative_robustness": c["relative_robustness"], "effective_robustness": c["effective_robustness"]}
    return {
        "noise_seed": record["noise_seed"], "reference": record["reference"], "curves": curves,
        "seconds": {"fit": s["fit"][label], "predict": s["predict"].get(label, 0.0), "encode_noisy": sum(s["encode_noisy"].values())},
        "code_version": record["code_version"], "created": record["created"],
    }  # fmt: skip


def _canonical(name: str) -> str:
    from benchmarks.registry import canonical_model

    return canonical_model(name)


class _Scorer:
    """Scores every row under one noise setting, the noisy test features encoded once per setting
    (or read from their cache), timing encoding and prediction."""

    def __init__(self, session, rows) -> None:
        from benchmarks.diagnostics.fitting import part_arrays
        from benchmarks.features import extract_features

        self.session, self.rows = session, rows
        self.clean = extract_features(
            session.dataset, session.encoder, cache_dir=session.options.cache_dir, device=session.device, progress=False
        )
        self.test = part_arrays(session.prep, "test")
        self.ids = [session.prep.ids[i] for i in session.prep.rows["test"]]
        self.encode_s: dict[str, float] = {}
        self.predict_s: dict[str, float] = {}
        self.clean_decisions = {label: row_decisions(rows, self.test) for label, rows in rows.items()}

    def score(self, setting) -> dict:
        """label -> the point: pooled macro-F1 with its interval, and the share of test (movie,
        genre, seed) decisions that differ from the clean ones."""
        from benchmarks.diagnostics.noisy import noisy_part_arrays, substitute

        s = self.session
        noisy = noisy_part_arrays(s.dataset, s.encoder, self.clean, self.ids, setting, cache_dir=s.options.cache_dir, device=s.device,
                                  progress=s.options.progress, timings=self.encode_s)  # fmt: skip
        arrays = substitute(self.test, noisy)
        out = {}
        for label, rows in self.rows.items():
            t0 = time.perf_counter()
            decided = row_decisions(rows, arrays)
            self.predict_s[label] = self.predict_s.get(label, 0.0) + time.perf_counter() - t0
            iv = score_decisions(s.test_labels, decided)
            out[label] = {
                "estimate": iv.estimate,
                "low": iv.low,
                "high": iv.high,
                "changed": float(np.mean(decided != self.clean_decisions[label])),
            }
        return out


def _summaries(curves: dict, levels, ref_label: str | None) -> dict:
    """Per noise and row: the curve (each point with its interval), relative robustness and, with a
    reference row, effective robustness against it."""
    from benchmarks.diagnostics.robustness import effective_robustness, relative_robustness

    out = {}
    for name, by in curves.items():
        ref = [p["estimate"] for p in by[ref_label]] if ref_label else None
        out[name] = {}
        for label, pts in by.items():
            est = [p["estimate"] for p in pts]
            out[name][label] = {
                "points": pts, "relative_robustness": relative_robustness(levels, est),
                "effective_robustness": effective_robustness(levels, est, ref) if ref is not None else None,
            }  # fmt: skip
    return out


def _print_setting(record: dict) -> None:
    print(f"test macro-F1 (genres present, seeds pooled) clean and under {record['noise']} (noise seed {record['noise_seed']})")
    width = max(len("model"), *(len(r["label"]) for r in record["rows"]))
    print(f"{'model'.ljust(width)}  clean [95% CI]            noisy [95% CI]")
    for r in record["rows"]:
        c, n = r["clean"], r["noisy"]
        print(
            f"{r['label'].ljust(width)}  {c['estimate']:.4f} [{c['low']:.4f}, {c['high']:.4f}]  {n['estimate']:.4f} [{n['low']:.4f}, {n['high']:.4f}]"
        )


def _print_sweep(record: dict) -> None:
    levels = record["levels"]
    print(f"test macro-F1 (genres present, seeds pooled) per noise level {' '.join(f'{v:g}' for v in levels)}; "
          f"relative robustness = area under the curve, effective = against {record['reference'] or '(no reference)'}")  # fmt: skip
    for name, by in record["curves"].items():
        width = max(len("model"), *(len(lab) for lab in by))
        print(f"\nnoise {name}")
        print(f"{'model'.ljust(width)}  {'  '.join(f'{v:<5g}' for v in levels)}  relative  effective")
        for label, c in by.items():
            eff = c["effective_robustness"]
            pts = "  ".join(f"{p['estimate']:.3f}" for p in c["points"])
            print(f"{label.ljust(width)}  {pts}  {c['relative_robustness']:.4f}    {'' if eff is None else f'{eff:+.4f}'}")


def curve_plot(record: dict) -> bytes:
    """One panel per swept noise: each row's macro-F1 against the level, its 95% interval shaded."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    from benchmarks.diagnostics.session import png_bytes

    curves, levels = record["curves"], np.asarray(record["levels"])
    fig = Figure(figsize=(5.2 * len(curves), 4.2))
    axes = fig.subplots(1, len(curves), squeeze=False)[0]
    for ax, (name, by) in zip(axes, curves.items()):
        for label, c in by.items():
            est = np.array([p["estimate"] for p in c["points"]])
            line = ax.plot(levels, est, marker="o", markersize=3, label=label, linewidth=2.2 if label == record["reference"] else 1.4)[0]
            ax.fill_between(levels, [p["low"] for p in c["points"]], [p["high"] for p in c["points"]], color=line.get_color(), alpha=0.12)
        ax.set_title(f"{record['dataset']['name']}: {name} noise (seed {record['noise_seed']})", fontsize=10)
        ax.set_xlabel("noise level")
        ax.set_ylabel("test macro-F1 (genres present, seeds pooled)")
        ax.grid(alpha=0.3)
    axes[-1].legend(fontsize=7, loc="best")
    fig.tight_layout()
    return png_bytes(fig)


if __name__ == "__main__":
    sys.exit(main())
