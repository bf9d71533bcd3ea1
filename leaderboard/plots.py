"""The leaderboard's plots as PNG bytes: a per-genre F1 heatmap, head vs tail F1 (the paper's
Fig. 3) and a sweep's curve; :func:`write_run_plots` draws the first two for the records of one
``python -m benchmarks.run``.

What is plotted is computed first (:func:`genre_grid`, :func:`head_tail_points`), so tests check
the data rather than pixels. PNGs are written by matplotlib's Agg backend at a fixed dpi with no
metadata, and sized by the number of rows, so the bytes depend only on the records (and the
matplotlib/FreeType versions). Submitted text goes through :func:`leaderboard.markdown.plot_text`.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from leaderboard.markdown import plot_text, slug
from leaderboard.rows import Record, labels, sort_by_score
from leaderboard.uncertainty import subset_interval
from mmimdb2.bootstrap import Interval
from mmimdb2.genres import GENRES

FIG_DPI = 100
#: At most this many models (rows) in a per-genre or head/tail plot.
MAX_PLOT_MODELS = 30
#: Inches per heatmap column / row, and per head/tail row.
CELL_W, CELL_H, DOT_ROW_H = 0.62, 0.36, 0.34
#: Shown in a cell whose genre has no test positive: its F1 is 0 whatever the model predicts.
ABSENT = "absent"
#: Folder (under a run's ``--out``) that :func:`write_run_plots` writes to.
RUN_PLOTS = "plots"


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


def seeds_text(records: Sequence[Record]) -> str:
    """``"3 seeds"`` or ``"1–3 seeds"``: how many seeds each plotted mean is over."""
    counts = sorted({len(r["seeds"]) for r in records})
    n = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
    return f"{n} seed{'' if n == '1' else 's'}"


def _support(record: Record) -> dict[str, float] | None:
    """Test positives per genre, the mean over the record's seeds (equal on a fixed split); ``None`` when not recorded."""
    seeds = [e["metrics"].get("support") for e in record["per_seed"]]
    if not seeds or any(s is None for s in seeds):
        return None
    return {g: sum(s[g] for s in seeds) / len(seeds) for g in GENRES}


@dataclass(frozen=True)
class GenreGrid:
    """A per-genre heatmap's data: ``f1[i, j]`` is row ``rows[i]``'s mean F1 over seeds on genre
    ``genres[j]``; ``absent[i, j]`` says that genre had no test positive for that row;
    ``support[j]`` is the column's test positives (``None`` when no row recorded them), shown in
    its tick label (:attr:`column_labels`)."""

    rows: list[str]
    genres: list[str]
    support: list[str | None]
    f1: np.ndarray
    absent: np.ndarray

    @property
    def column_labels(self) -> list[str]:
        return [g if n is None else f"{g} (n{'' if n.startswith('≈') else '='}{n})" for g, n in zip(self.genres, self.support)]


def _count(values: Sequence[float]) -> str:
    """``"151"``, ``"≈113"`` (a mean over re-drawn test parts) or ``"4–6"`` (rows differ)."""
    low, high = round(min(values)), round(max(values))
    exact = all(float(v).is_integer() for v in values)
    return ("" if exact else "≈") + (f"{low}" if low == high else f"{low}–{high}")


def genre_grid(records: Sequence[Record], names: Mapping[int, str]) -> GenreGrid:
    """Rows in the given order, labelled ``names[id(r)]``; genres by test support, most first
    (canonical order on ties, and when no row recorded support)."""
    supports = [_support(r) for r in records]
    known = [s for s in supports if s is not None]
    most = {g: max((s[g] for s in known), default=0.0) for g in GENRES}
    genres = sorted(GENRES, key=lambda g: (-most[g], GENRES.index(g)))
    f1 = np.array([[r["aggregate"]["mean"]["per_genre"][g] for g in genres] for r in records], dtype=np.float64).reshape(
        len(records), len(genres)
    )
    absent = np.array([[s is not None and s[g] == 0 for g in genres] for s in supports], dtype=bool).reshape(f1.shape)
    support = [_count([s[g] for s in known]) if known else None for g in genres]
    return GenreGrid([names[id(r)] for r in records], genres, support, f1, absent)


def per_genre_heatmap(grid: GenreGrid, title: str, what: str) -> bytes:
    """The PNG of :func:`per_genre_figure`."""
    return _png(per_genre_figure(grid, title, what))


def per_genre_figure(grid: GenreGrid, title: str, what: str):
    """Rows x genres, each cell annotated with F1 × 100; an absent genre's cell hatched grey and
    marked :data:`ABSENT`. ``what`` says what a value is (e.g. "mean over 3 seeds")."""
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    n_rows, n_cols = grid.f1.shape
    label_w = 0.9 + 0.075 * max((len(r) for r in grid.rows), default=4)
    top, bottom, grid_w, grid_h = 0.75, 1.8, CELL_W * n_cols, CELL_H * max(n_rows, 1)
    width, height = label_w + grid_w + 1.1, top + grid_h + bottom
    fig = Figure(figsize=(width, height), dpi=FIG_DPI)
    ax = fig.add_axes((label_w / width, bottom / height, grid_w / width, grid_h / height))
    norm = Normalize(0.0, 1.0)
    shown = np.ma.masked_array(grid.f1, mask=grid.absent)
    cmap = _cmap()
    image = ax.imshow(shown, cmap=cmap, norm=norm, aspect="auto", interpolation="nearest")
    for i in range(n_rows):
        for j in range(n_cols):
            if grid.absent[i, j]:
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="#d9d9d9", edgecolor="#9a9a9a", hatch="///", linewidth=0))
                ax.text(
                    j,
                    i,
                    ABSENT,
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="#333333",
                    bbox={"facecolor": "#d9d9d9", "edgecolor": "none", "pad": 0.5},
                )
                continue
            v = grid.f1[i, j]
            ax.text(j, i, f"{100 * v:.0f}", ha="center", va="center", fontsize=9, color="white" if v < 0.55 else "black")
    ax.set_xticks(range(n_cols))
    ax.set_xticklabels(grid.column_labels, rotation=50, ha="right", rotation_mode="anchor", fontsize=9)
    ax.set_yticks(range(n_rows))
    ax.set_yticklabels([plot_text(r) for r in grid.rows], fontsize=10)
    ax.set_xticks(np.arange(-0.5, n_cols, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, n_rows, 1), minor=True)
    ax.grid(which="minor", color="white", linewidth=1)
    ax.tick_params(which="minor", length=0)
    ax.set_xlabel("genre (n = test positives), most frequent first", fontsize=9)
    ax.set_title(plot_text(title) + "\n" + f"per-genre test F1 × 100, {what}; hatched: no test positive", fontsize=10, loc="left")
    cax = fig.add_axes(((label_w + grid_w + 0.25) / width, bottom / height, 0.18 / width, grid_h / height))
    fig.colorbar(image, cax=cax).set_label("F1", fontsize=9)
    return fig


def _cmap():
    import matplotlib

    return matplotlib.colormaps["viridis"]


@dataclass(frozen=True)
class HeadTailPoint:
    """One model's head and tail F1 (the record's means over seeds) and, when the record stores
    test predictions and its head/tail sets, the 95% bootstrap interval of each (seeds pooled)."""

    label: str
    head: float
    tail: float
    head_ci: Interval | None
    tail_ci: Interval | None


def head_tail_points(records: Sequence[Record], names: Mapping[int, str]) -> list[HeadTailPoint]:
    out = []
    for r in records:
        sets = r.get("head_tail")
        head_ci = tail_ci = None
        if sets is not None:
            head_ci, tail_ci = subset_interval(r, sets["head"]), subset_interval(r, sets["tail"])
        mean = r["aggregate"]["mean"]
        out.append(HeadTailPoint(names[id(r)], mean["head"], mean["tail"], head_ci, tail_ci))
    return out


def head_tail_sets_text(records: Sequence[Record]) -> list[str]:
    """Lines naming the head and tail genres when every record has the same sets, else why not."""
    sets = {(tuple(s["head"]), tuple(s["tail"])) for s in (r.get("head_tail") for r in records) if s is not None}
    if len(sets) != 1 or any(r.get("head_tail") is None for r in records):
        return ["head / tail: each seed's own sets (its training part differs)"]
    head, tail = next(iter(sets))
    return [f"head: {', '.join(head)}", f"tail: {', '.join(tail)}"]


def head_tail_plot(points: Sequence[HeadTailPoint], title: str, what: str, sets_text: Sequence[str]) -> bytes:
    """The PNG of :func:`head_tail_figure`."""
    return _png(head_tail_figure(points, title, what, sets_text))


def head_tail_figure(points: Sequence[HeadTailPoint], title: str, what: str, sets_text: Sequence[str]):
    """A dot plot, one row per model: head F1 and tail F1 × 100 joined by a line, with 95%
    bootstrap whiskers where the record stores its predictions."""
    from matplotlib.figure import Figure

    n = len(points)
    label_w = 0.9 + 0.075 * max((len(p.label) for p in points), default=4)
    top, bottom, plot_w, plot_h = 0.65, 1.5, 6.2, DOT_ROW_H * max(n, 2)
    width, height = max(9.0, label_w + plot_w + 0.4), top + plot_h + bottom
    fig = Figure(figsize=(width, height), dpi=FIG_DPI)
    ax = fig.add_axes((label_w / width, bottom / height, plot_w / width, plot_h / height))
    ys = np.arange(n)
    for y, p in zip(ys, points):
        ax.plot([100 * p.tail, 100 * p.head], [y, y], color="#bbbbbb", linewidth=2, zorder=1)
    styles = (("head", "o", "#1f77b4"), ("tail", "s", "#d62728"))
    has_ci = any(p.head_ci is not None for p in points)
    for key, marker, color in styles:
        xs = np.array([100 * getattr(p, key) for p in points])
        cis = [getattr(p, f"{key}_ci") for p in points]
        err = np.array([[max(0.0, x - 100 * c.low), max(0.0, 100 * c.high - x)] if c else [0.0, 0.0] for x, c in zip(xs, cis)]).T.reshape(
            2, n
        )
        ax.errorbar(xs, ys, xerr=err if has_ci else None, fmt=marker, color=color, ecolor=color, elinewidth=1.2, capsize=3,
                    markersize=7, zorder=2, label=f"{key} F1 (6 {'most' if key == 'head' else 'least'} frequent training genres)")  # fmt: skip
    ax.set_yticks(ys)
    ax.set_yticklabels([plot_text(p.label) for p in points], fontsize=10)
    ax.set_ylim(n - 0.5, -0.5)  # best-ranked model on top
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"test F1 × 100 ({what})", fontsize=10)
    ax.grid(axis="x", color="#e5e5e5")
    ax.set_axisbelow(True)
    whiskers = "whiskers: 95% bootstrap interval over test movies, seeds pooled" if has_ci else "no stored predictions: no intervals"
    ax.set_title(plot_text(title) + "\n" + f"head vs tail F1 per model; {whiskers}", fontsize=10, loc="left")
    handles, texts = ax.get_legend_handles_labels()
    fig.legend(handles, texts, fontsize=9, loc="lower left", bbox_to_anchor=(label_w / width, 0.5 / height), ncol=2, frameon=False)
    for k, line in enumerate(reversed(sets_text)):
        fig.text(label_w / width, (0.08 + 0.18 * k) / height, plot_text(line), fontsize=8, va="bottom", ha="left", color="#444444")
    return fig


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
    ax.set_ylabel("F1 × 100 (mean ± std over seeds)")
    ax.set_title(plot_text(title), fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)


def robustness_plot(lines: Mapping[str, Sequence[tuple[str, Sequence[tuple[float, float, float, float]]]]], title: str) -> bytes:
    """Robustness curves: one panel per noise (``lines[noise]``), each row a line of its test
    macro-F1 × 100 against the noise level with its 95% interval shaded; a row keeps its colour
    in every panel. ``lines``: :func:`leaderboard.diagnostics_table.curve_lines`."""
    from matplotlib.figure import Figure

    names = list(dict.fromkeys(name for curves in lines.values() for name, _ in curves))
    styles = {n: _line_style(i) for i, n in enumerate(names)}
    fig = Figure(figsize=(4.6 * max(len(lines), 1) + 0.6, 4.2 + 0.22 * len(names)), dpi=FIG_DPI)
    axes = fig.subplots(1, max(len(lines), 1), sharey=True, squeeze=False)[0]
    for ax, (noise, curves) in zip(axes, lines.items()):
        for name, points in curves:
            level, est, low, high = (np.array(v, dtype=np.float64) * (1 if k == 0 else 100) for k, v in enumerate(zip(*points)))
            color, dash = styles[name]
            ax.fill_between(level, low, high, color=color, alpha=0.18, linewidth=0)
            ax.plot(level, est, marker="o", markersize=3, color=color, linestyle=dash, label=plot_text(name))
        ax.set_title(f"noise: {plot_text(noise)}", fontsize=10)
        ax.set_xlabel("noise level", fontsize=9)
        ax.grid(color="#e5e5e5")
    axes[0].set_ylabel("test macro-F1 × 100 (shaded: 95% interval)", fontsize=9)
    handles, texts = axes[0].get_legend_handles_labels()
    for ax in axes[1:]:  # a row missing from the first panel still gets its legend entry
        for h, t in zip(*ax.get_legend_handles_labels()):
            if t not in texts:
                handles.append(h)
                texts.append(t)
    fig.legend(handles, texts, fontsize=8, loc="lower left", ncol=2, frameon=False)
    fig.suptitle(plot_text(title), fontsize=10, x=0.01, ha="left")
    fig.subplots_adjust(left=0.08, right=0.98, top=0.86, bottom=(1.0 + 0.22 * ((len(names) + 1) // 2)) / (4.2 + 0.22 * len(names)))
    return _png(fig)


def _line_style(i: int) -> tuple[str, str]:
    """The ``i``-th line's colour and dash: ten colours, then the same with another dash."""
    import matplotlib

    return matplotlib.colors.to_hex(matplotlib.colormaps["tab10"](i % 10)), ("-", "--", ":", "-.")[(i // 10) % 4]


def group_plots(shown: Sequence[Record], names: Mapping[int, str], title: str) -> dict[str, bytes]:
    """``{"per_genre": png, "head_tail": png}`` of the records ``shown`` (one row each, in order)."""
    what = f"mean over {seeds_text(shown)}"
    return {
        "per_genre": per_genre_heatmap(genre_grid(shown, names), title, what),
        "head_tail": head_tail_plot(head_tail_points(shown, names), title, what, head_tail_sets_text(shown)),
    }


def write_run_plots(records: Sequence[Record], out: str | Path) -> list[Path]:
    """Draw the plots of one benchmark run's ``records`` under ``out/plots/``, one pair per
    (dataset, split, protocol, recipe, dropped modality) group: the best-ranked run of each model."""
    from mmimdb2.io import atomic_write_bytes

    groups: dict[tuple[str, ...], list[Record]] = defaultdict(list)
    for r in records:
        recipe = (r.get("spec") or {}).get("recipe") or ""
        groups[(r["dataset"]["name"], r["split"]["name"], r["split"]["sha256"][:12], r["protocol"], recipe, r["drop"] or "")].append(r)
    written = []
    for (dataset, split, sha, protocol, recipe, drop), recs in sorted(groups.items()):
        names = labels(recs)
        shown = best_per_model(sort_by_score(recs, names))
        title = " · ".join(x for x in (dataset, f"{split} ({sha})", protocol, recipe, f"drop {drop}" if drop else "") if x)
        stem = slug("__".join(x for x in (dataset, sha, protocol, recipe, f"drop-{drop}" if drop else "") if x))
        for kind, png in group_plots(shown, names, title).items():
            written.append(atomic_write_bytes(Path(out) / RUN_PLOTS / f"{stem}__{kind}.png", png))
    return written
