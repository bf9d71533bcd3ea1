"""The leaderboard's plots as PNG bytes: per-genre F1 of the ranked models, and a sweep's curve.

Written by matplotlib's Agg backend with a fixed size, dpi and no metadata, so the bytes depend
only on the records (and the matplotlib/FreeType versions). Submitted text goes through
:func:`leaderboard.markdown.plot_text`.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

from leaderboard.markdown import plot_text
from leaderboard.records import Record
from mmimdb2.genres import GENRES

FIG_SIZE, FIG_DPI = (12.0, 4.5), 100
#: At most this many models side by side in a per-genre plot.
MAX_PLOT_MODELS = 10


def best_per_model(ranked: Sequence[Record]) -> list[Record]:
    """The first (best-ranked) run of each model name, at most :data:`MAX_PLOT_MODELS` of them."""
    seen: set[str] = set()
    out = []
    for r in ranked:
        if r["model"]["name"] not in seen:
            seen.add(r["model"]["name"])
            out.append(r)
    return out[:MAX_PLOT_MODELS]


def _png(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=FIG_DPI, metadata={"Software": None})
    return buf.getvalue()


def per_genre_plot(records: Sequence[Record], labels: Mapping[int, str], title: str) -> bytes:
    """Grouped bars: per-genre F1 (mean ± std over seeds) of each record, labelled ``labels[id(r)]``."""
    import numpy as np
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIG_SIZE, dpi=FIG_DPI)
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(len(GENRES))
    width = 0.8 / max(1, len(records))
    for i, r in enumerate(records):
        mean = [r["aggregate"]["mean"]["per_genre"][g] for g in GENRES]
        std = [r["aggregate"]["std"]["per_genre"][g] for g in GENRES]
        ax.bar(x + (i - (len(records) - 1) / 2) * width, mean, width, yerr=std, label=plot_text(labels[id(r)]), capsize=1.5)
    ax.set_xticks(x)
    ax.set_xticklabels(GENRES, rotation=60, ha="right", fontsize=8)
    ax.set_ylim(0, 1.3)  # headroom above F1 = 1 keeps the legend off the bars
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_ylabel("F1 (mean over seeds)")
    ax.set_title(plot_text(title), fontsize=10)
    ax.legend(fontsize=7, ncol=min(4, len(records)), loc="upper center")
    fig.tight_layout()
    return _png(fig)


def sweep_plot(points: Sequence[tuple[float, Record]], xlabel: str, title: str) -> bytes:
    """Macro- and micro-F1 (mean ± std over seeds) against the swept value."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 4.0), dpi=FIG_DPI)
    ax = fig.add_subplot(1, 1, 1)
    xs = [x for x, _ in points]
    for metric, name in (("macro", "Macro-F1"), ("micro", "Micro-F1")):
        mean = [100 * r["aggregate"]["mean"][metric] for _, r in points]
        std = [100 * r["aggregate"]["std"][metric] for _, r in points]
        ax.errorbar(xs, mean, yerr=std, marker="o", capsize=3, label=name)
    ax.set_xlabel(plot_text(xlabel))
    ax.set_ylabel("F1 × 100")
    ax.set_title(plot_text(title), fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)
