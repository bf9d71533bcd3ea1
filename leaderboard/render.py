"""Render ``leaderboard/README.md`` and ``leaderboard/plots/*.png`` from the submissions only.

``python -m leaderboard.render`` (re)writes them; ``python -m leaderboard.render --check`` exits 1
when the committed README differs from what would be rendered (or a plot file is missing or
extra). Output is deterministic: records are sorted, nothing depends on the clock, the file
system order or the locale, and PNGs are written by matplotlib's Agg backend with a fixed size,
dpi and no metadata. PNG bytes can still differ between matplotlib/FreeType versions, so
``--check`` compares README bytes and plot file names, and compares PNG bytes only with
``--check-plots``.

Tables, per (dataset, version, split hash, protocol): the main comparison (paper Table 2), the
ablations (Table 3), KG embedding models (Table 4), contrastive variants (Table 5), the
temperature τ (Fig. 4) and missing modalities, each when its rows are present. Tables 2, 3 and 5
show the rows at the group's most common KG model and τ; the KG and τ sweeps have their own. Rows of the
authors' protocol get their own marked section after their fixed counterpart, with the inflation
of every metric.

Every text taken from a submission is escaped where it is written (:func:`_md` for Markdown,
:func:`_code` for code spans, :func:`_plot_text` for matplotlib), and every table cell is kept to
one line with its pipes escaped, so even a value that got past the validator renders inert. A
folder with any invalid submission is refused as a whole: nothing is written, the README that
was there stays.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import sys
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from leaderboard.results import LEADERBOARD_DIR, ResultError, identity, pool_sha256, submissions_dir
from leaderboard.splits import SplitsRegistryError, known_splits
from leaderboard.validate import list_submissions, registered_models, report_lines, validate_and_load
from mmimdb2.genres import GENRES

README = "README.md"
PLOTS = "plots"
METRICS: tuple[tuple[str, str], ...] = (
    ("micro", "Micro-F1"), ("macro", "Macro-F1"), ("weighted", "Weighted-F1"), ("samples", "Samples-F1"),
)  # fmt: skip
HEAD_TAIL: tuple[tuple[str, str], ...] = (("head", "Head"), ("tail", "Tail"))
ABLATIONS: tuple[str, ...] = ("idkg", "idkg-no-at", "idkg-no-gcacl", "idkg-no-kg")
CONTRASTIVE: tuple[str, ...] = ("idkg", "idkg-random-anchors", "idkg-mulcon", "idkg-mcl", "idkg-mltc", "idkg-cgmvae")
#: Config keys holding the contrastive temperature τ (Fig. 4).
TAU_KEYS: tuple[str, ...] = ("temperature", "tau")
FIG_SIZE, FIG_DPI = (12.0, 4.5), 100

Record = dict[str, Any]


class RenderError(RuntimeError):
    """Submissions that cannot be rendered (invalid files); the message lists the problems.

    ``problems`` maps each invalid file to its problems and ``skipped`` lists the non-result files
    with their reasons, for a caller that shortens the lists.
    """

    def __init__(
        self,
        message: str,
        problems: Mapping[Path, Sequence[str]] | None = None,
        skipped: Sequence[tuple[Path, str]] = (),
    ) -> None:
        super().__init__(message)
        self.problems = dict(problems or {})
        self.skipped = list(skipped)


# ----------------------------------------------------------------------------- formatting helpers

#: Line breaks and other control characters (C0, DEL, C1, Unicode line/paragraph separators).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
#: Characters with a meaning in inline Markdown (GitHub's included), backslash-escaped by :func:`_md`.
_MD_PUNCT = re.compile(r"([\\`*_\[\]{}|~!#$])")


def _one_line(text: Any) -> str:
    return _CONTROL.sub(" ", str(text))


def _md(text: Any) -> str:
    """Submitted text as literal inline Markdown: one line, ``& < >`` as HTML entities, Markdown punctuation escaped."""
    one = _one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_PUNCT.sub(r"\\\1", one)


def _code(text: Any) -> str:
    """Submitted text as a code span (shown literally): one line, fenced by more backticks than it holds."""
    one = _one_line(text)
    fence = "`" * (max((len(run) for run in re.findall("`+", one)), default=0) + 1)
    pad = " " if one.startswith(("`", " ")) or one.endswith(("`", " ")) else ""
    return f"{fence}{pad}{one}{pad}{fence}"


def _cell(text: str) -> str:
    """A table cell, the last guard: one line, no raw ``<``/``>``, every unescaped pipe escaped."""
    one = _one_line(text).replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"(?<!\\)\|", r"\\|", one)


def _plot_text(text: Any) -> str:
    """Submitted text for a matplotlib title or legend: one line, ``$`` escaped (no mathtext)."""
    return _one_line(text).replace("$", r"\$")


def _slug(text: str) -> str:
    """A plot file name part: only ``A-Za-z0-9._-`` (a submitted name can never leave ``plots/``)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


def _pm(record: Record, metric: str) -> str:
    """``mean ± std`` of one score, as F1 × 100 with two decimals."""
    agg = record["aggregate"]
    return f"{100 * agg['mean'][metric]:.2f} ± {100 * agg['std'][metric]:.2f}"


def _delta(a: float, b: float) -> str:
    return f"{100 * (a - b):+.2f}"


def _value(v: Any) -> str:
    return json.dumps(v, sort_keys=True, ensure_ascii=False)


def _flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in config.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v:
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _kg_text(record: Record) -> str:
    kg = record["kg"]
    return "—" if kg is None else f"{kg['model']} ({kg['dim']}d, {kg['epochs']} ep)"


def _code_text(record: Record) -> str:
    cv = record["code_version"]
    text = cv["git"] or f"v{cv['package']}"
    return text + ("-dirty" if cv["dirty"] else "")


def _hardware_text(record: Record) -> str:
    hw = record["hardware"]
    return hw["gpu"] or hw["cpu"]


def _ident_digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def _labels(records: Sequence[Record], fields: Sequence[str] = ("config", "kg", "encoder")) -> dict[int, str]:
    """Row label per record: the model name, plus what tells same-model rows apart.

    ``fields`` says where to look: config keys (flattened, ``unset`` when a row lacks one), the
    KG embedding and the encoder; only values that differ among rows of one model are shown.
    """
    by_model: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        by_model[r["model"]["name"]].append(r)
    labels: dict[int, str] = {}
    for name, rows in by_model.items():
        described = []
        for r in rows:
            d = {k: _value(v) for k, v in sorted(_flatten(r["model"]["config"]).items())} if "config" in fields else {}
            if "kg" in fields:
                d["kg"] = _kg_text(r)
            if "encoder" in fields:
                d["encoder"] = r["encoder"]["name"]
            described.append(d)
        keys = list(dict.fromkeys(k for d in described for k in d))
        varying = [k for k in keys if len({d.get(k, "unset") for d in described}) > 1]
        for r, d in zip(rows, described):
            extra = ", ".join(f"{k}={d.get(k, 'unset')}" for k in varying)
            labels[id(r)] = name + (f" ({extra})" if extra else "")
    return labels


#: At most this many models side by side in a per-genre plot.
MAX_PLOT_MODELS = 10


def _best_per_model(ranked: Sequence[Record]) -> list[Record]:
    """The first (best-ranked) run of each model name, at most :data:`MAX_PLOT_MODELS` of them."""
    seen: set[str] = set()
    out = []
    for r in ranked:
        if r["model"]["name"] not in seen:
            seen.add(r["model"]["name"])
            out.append(r)
    return out[:MAX_PLOT_MODELS]


def _sort_by_score(records: Sequence[Record], labels: Mapping[int, str]) -> list[Record]:
    return sorted(records, key=lambda r: (-r["aggregate"]["mean"]["micro"], -r["aggregate"]["mean"]["macro"], labels[id(r)], _ident_digest(identity(r))))


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines + [""]


def _score_cells(records: Sequence[Record], metrics: Sequence[tuple[str, str]]) -> list[list[str]]:
    """Score cells per record, the best mean of each column in bold (when more than one row)."""
    best = {m: max(r["aggregate"]["mean"][m] for r in records) for m, _ in metrics}
    out = []
    for r in records:
        cells = []
        for m, _ in metrics:
            text = _pm(r, m)
            cells.append(f"**{text}**" if len(records) > 1 and r["aggregate"]["mean"][m] == best[m] else text)
        out.append(cells)
    return out


def _main_table(records: Sequence[Record]) -> list[str]:
    labels = _labels(records)
    rows = _sort_by_score(records, labels)
    header = ["Model", *(h for _, h in METRICS), *(h for _, h in HEAD_TAIL), "Seeds", "Encoder", "KG", "Code", "Hardware", "Date"]
    body = []
    for r, scores in zip(rows, _score_cells(rows, METRICS + HEAD_TAIL)):
        body.append([_md(labels[id(r)]), *scores, str(len(r["seeds"])), _md(r["encoder"]["name"]), _md(_kg_text(r)),
                     _md(_code_text(r)), _md(_hardware_text(r)), _md(r["created"][:10])])  # fmt: skip
    return _table(header, body)


def _short_table(records: Sequence[Record], first: str, first_cell) -> list[str]:
    header = [first, *(h for _, h in METRICS), "Seeds"]
    body = [[_md(first_cell(r)), *scores, str(len(r["seeds"]))] for r, scores in zip(records, _score_cells(records, METRICS))]
    return _table(header, body)


# ----------------------------------------------------------------------------- plots


def _png(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=FIG_DPI, metadata={"Software": None})
    return buf.getvalue()


def _per_genre_plot(records: Sequence[Record], labels: Mapping[int, str], title: str) -> bytes:
    import numpy as np
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIG_SIZE, dpi=FIG_DPI)
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(len(GENRES))
    width = 0.8 / max(1, len(records))
    for i, r in enumerate(records):
        mean = [r["aggregate"]["mean"]["per_genre"][g] for g in GENRES]
        std = [r["aggregate"]["std"]["per_genre"][g] for g in GENRES]
        ax.bar(x + (i - (len(records) - 1) / 2) * width, mean, width, yerr=std, label=_plot_text(labels[id(r)]), capsize=1.5)
    ax.set_xticks(x)
    ax.set_xticklabels(GENRES, rotation=60, ha="right", fontsize=8)
    ax.set_ylim(0, 1.3)  # headroom above F1 = 1 keeps the legend off the bars
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_ylabel("F1 (mean over seeds)")
    ax.set_title(_plot_text(title), fontsize=10)
    ax.legend(fontsize=7, ncol=min(4, len(records)), loc="upper center")
    fig.tight_layout()
    return _png(fig)


def _tau_plot(points: Sequence[tuple[float, Record]], title: str) -> bytes:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 4.0), dpi=FIG_DPI)
    ax = fig.add_subplot(1, 1, 1)
    taus = [t for t, _ in points]
    for metric, name in (("macro", "Macro-F1"), ("micro", "Micro-F1")):
        mean = [100 * r["aggregate"]["mean"][metric] for _, r in points]
        std = [100 * r["aggregate"]["std"][metric] for _, r in points]
        ax.errorbar(taus, mean, yerr=std, marker="o", capsize=3, label=name)
    ax.set_xlabel("temperature τ")
    ax.set_ylabel("F1 × 100")
    ax.set_title(_plot_text(title), fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)


# ----------------------------------------------------------------------------- sections


def _tau_of(record: Record) -> tuple[str, float] | None:
    config = record["model"]["config"]
    for k in TAU_KEYS:
        if isinstance(config.get(k), (int, float)) and not isinstance(config.get(k), bool):
            return k, float(config[k])
    return None


def _tau_families(records: Sequence[Record]) -> list[tuple[str, list[tuple[float, Record]]]]:
    """Runs that differ only by the temperature in their config (and seeds), with two τ values or more.

    Per τ value the run with the most seeds is kept.
    """
    fams: dict[str, dict[float, list[Record]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        tau = _tau_of(r)
        if tau is None:
            continue
        ident = identity(r)
        ident["config"] = {k: v for k, v in r["model"]["config"].items() if k != tau[0]}
        ident["seeds"] = None
        fams[_ident_digest(ident)][tau[1]].append(r)
    out = []
    for digest, by_tau in fams.items():
        if len(by_tau) > 1:
            pts = [(t, sorted(rs, key=lambda r: (-len(r["seeds"]), _ident_digest(identity(r))))[0]) for t, rs in sorted(by_tau.items())]
            out.append((digest, pts))
    return sorted(out, key=lambda f: (f[1][0][1]["model"]["name"], f[0]))


def _counterpart(record: Record, pool: Sequence[Record], **override: Any) -> Record | None:
    """The record of ``pool`` with ``record``'s identity changed by ``override`` (seeds may differ)."""
    want = identity(record) | override
    exact = [r for r in pool if identity(r) == want]
    if exact:
        return exact[0]
    want.pop("seeds")
    loose = [r for r in pool if {k: v for k, v in identity(r).items() if k != "seeds"} == want]
    return sorted(loose, key=lambda r: (-len(r["seeds"]), _ident_digest(identity(r))))[0] if loose else None


def _mode(values: Sequence[Any]) -> Any:
    """The most common value; ties go to the smallest, so the choice does not depend on file order."""
    counts: dict[Any, int] = defaultdict(int)
    for v in values:
        counts[v] += 1
    return min(counts, key=lambda v: (-counts[v], str(v))) if counts else None


def _reference_rows(records: Sequence[Record]) -> list[Record]:
    """Rows at the group's usual KG model and temperature: the sweeps get their own tables (4, Fig. 4)."""
    kg_mode = _mode([r["kg"]["model"] for r in records if r["kg"] is not None])
    tau_mode = _mode([t[1] for t in map(_tau_of, records) if t is not None])
    return [
        r for r in records
        if (r["kg"] is None or r["kg"]["model"] == kg_mode) and (_tau_of(r) is None or _tau_of(r)[1] == tau_mode)
    ]  # fmt: skip


def _group_sections(
    records: Sequence[Record], slug: str, title: str, plots: dict[str, bytes], fixed_pool: Sequence[Record] | None
) -> list[str]:
    """The tables (and plots) of one (dataset, split, protocol) group."""
    out: list[str] = []
    full = [r for r in records if r["drop"] is None]
    reference = _reference_rows(full)
    names = {r["model"]["name"] for r in full}
    if full:
        labels = _labels(reference)
        out += ["#### Main comparison (Table 2)", "", *_main_table(reference)]
        plot = f"{PLOTS}/{slug}__per_genre.png"
        shown = _best_per_model(_sort_by_score(reference, labels))
        plots[plot] = _per_genre_plot(shown, labels, f"Per-genre F1 · {title}")
        out += [f"![Per-genre F1, {_md(title)}]({plot})", "",
                f"*Per-genre F1 of the best run of each model (top {len(shown)} by micro-F1).*", ""]  # fmt: skip
    ablation = [r for r in reference if r["model"]["name"] in ABLATIONS or r["model"]["name"].startswith("idkg-gmu")]
    if any(r["model"]["name"] != "idkg" for r in ablation):
        order = {n: i for i, n in enumerate(ABLATIONS)}
        labels = _labels(ablation)
        ablation.sort(key=lambda r: (order.get(r["model"]["name"], len(order)), labels[id(r)], _ident_digest(identity(r))))
        out += ["#### Ablations (Table 3)", "", *_short_table(ablation, "Variant", lambda r: labels[id(r)])]
    tau_mode = _mode([t[1] for t in map(_tau_of, full) if t is not None])
    kg_rows = [r for r in full if r["model"]["name"] == "idkg" and r["kg"] is not None
               and (_tau_of(r) is None or _tau_of(r)[1] == tau_mode)]  # fmt: skip
    if len({r["kg"]["model"] for r in kg_rows}) > 1:
        labels = _labels(kg_rows, ("config", "encoder"))
        kg_rows.sort(key=lambda r: (r["kg"]["model"], r["kg"]["dim"], r["kg"]["epochs"], labels[id(r)], _ident_digest(identity(r))))
        header = ["KG model", "Dim", "Epochs", "Hits@10", *(h for _, h in METRICS), "Seeds"]
        body = []
        for r, scores in zip(kg_rows, _score_cells(kg_rows, METRICS)):
            kg = r["kg"]
            hits = "—" if kg["hits_at_10"] is None else f"{kg['hits_at_10']:.3f}"
            label = kg["model"] + (labels[id(r)][len("idkg"):] if labels[id(r)] != "idkg" else "")
            body.append([_md(label), str(kg["dim"]), str(kg["epochs"]), hits, *scores, str(len(r["seeds"]))])
        out += ["#### KG embedding models (Table 4)", "", *_table(header, body)]
    contrastive = [r for r in reference if r["model"]["name"] in CONTRASTIVE]
    if names & set(CONTRASTIVE[1:]):
        order = {n: i for i, n in enumerate(CONTRASTIVE)}
        labels = _labels(contrastive)
        contrastive.sort(key=lambda r: (order[r["model"]["name"]], labels[id(r)], _ident_digest(identity(r))))
        out += ["#### Contrastive variants (Table 5)", "", *_short_table(contrastive, "Loss", lambda r: labels[id(r)])]
    for digest, points in _tau_families(full):
        model = points[0][1]["model"]["name"]
        key = _tau_of(points[0][1])[0]
        out += [f"#### Temperature τ (Fig. 4): {_md(model)}, config {_code(key)}", ""]
        out += _short_table([r for _, r in points], "τ", lambda r: f"{_tau_of(r)[1]:g}")
        plot = f"{PLOTS}/{slug}__tau__{_slug(model)}__{digest[:8]}.png"
        plots[plot] = _tau_plot(points, f"τ sweep · {model} · {title}")
        out += [f"![τ sweep, {_md(model)}]({plot})", ""]
    dropped = [r for r in records if r["drop"] is not None]
    if dropped:
        labels = _labels(dropped)
        dropped.sort(key=lambda r: (labels[id(r)], r["drop"], _ident_digest(identity(r))))
        header = ["Model", "Dropped at test", *(h for _, h in METRICS), "Δ Macro vs full", "Seeds"]
        body = []
        for r, scores in zip(dropped, _score_cells(dropped, METRICS)):
            ref = _counterpart(r, full, drop=None)
            delta = "—" if ref is None else _delta(r["aggregate"]["mean"]["macro"], ref["aggregate"]["mean"]["macro"])
            body.append([_md(labels[id(r)]), _md(r["drop"]), *scores, delta, str(len(r["seeds"]))])
        out += ["#### Missing modalities at test time", "", *_table(header, body)]
    if fixed_pool is not None:
        out += _inflation(records, fixed_pool)
    return out


def _inflation(authors: Sequence[Record], fixed: Sequence[Record]) -> list[str]:
    labels = _labels(authors)
    header = ["Model", "Protocol", *(h for _, h in METRICS), "Seeds"]
    body = []
    for r in sorted(authors, key=lambda r: (labels[id(r)], str(r["drop"]), _ident_digest(identity(r)))):
        name = _md(labels[id(r)] + ("" if r["drop"] is None else f" (drop {r['drop']})"))
        ref = _counterpart(r, fixed, protocol="fixed")
        body.append([name, "authors", *(_pm(r, m) for m, _ in METRICS), str(len(r["seeds"]))])
        if ref is None:
            body.append([name, "fixed", *("no fixed run" for _ in METRICS), "—"])
            continue
        body.append([name, "fixed", *(_pm(ref, m) for m, _ in METRICS), str(len(ref["seeds"]))])
        deltas = [_delta(r["aggregate"]["mean"][m], ref["aggregate"]["mean"][m]) for m, _ in METRICS]
        body.append([name, "**inflation**", *(f"**{d}**" for d in deltas), ""])
    return ["#### Inflation over the fixed protocol", "",
            "Authors-protocol score minus the fixed-protocol score of the same model, config, encoder and KG "
            "(F1 × 100, means over seeds).", "", *_table(header, body)]  # fmt: skip


# ----------------------------------------------------------------------------- document


def _intro() -> list[str]:
    return [
        "# Leaderboard: multimodal movie genre classification",
        "",
        "<!-- Generated by `python -m leaderboard.render` from leaderboard/submissions/*.json. Do not edit by hand. -->",
        "",
        "Scores on MM-IMDb, MM-IMDb 2.0 and the embedded demo, on fixed, hashed splits. Every number "
        "below comes from a result file in [`submissions/`](submissions/) that passed "
        "`python -m leaderboard.validate`.",
        "",
    ]


def _reading() -> list[str]:
    return [
        "## Reading the tables",
        "",
        "- Scores are F1 × 100 on the test part, at the checkpoint selected on dev, shown as mean ± "
        "population standard deviation (ddof = 0) over the seeds; **bold** marks the best mean of a column.",
        "- A genre is predicted when its probability is ≥ the threshold (0.5). Micro, macro, weighted and "
        "samples F1 are scikit-learn's averages with `zero_division=0`; macro averages all 23 genres.",
        "- Head / Tail: macro F1 over the six most / six least frequent genres of the training labels "
        "(the paper's Fig. 3); the sets are stored in each result's `head_tail`.",
        "- One section per dataset version, split hash and protocol: rows of different splits are never compared.",
        "- *Authors' protocol* rows reproduce the IDKG authors' released evaluation (train, dev and test re-drawn "
        "independently, so they overlap; the KG built from another draw). They are shown only next to their "
        "fixed-split counterpart, with the inflation this leakage causes.",
        "- Code, hardware and date are the provenance of each result file.",
        "",
    ]


def _how_to_submit(known: Mapping[str, Mapping[str, str]]) -> list[str]:
    lines = [
        "## How to submit",
        "",
        "1. Run the benchmark on a registered split and let it write the result files:",
        "",
        "   ```bash",
        "   python -m benchmarks.run --models idkg gmu --dataset mmimdb2 --seeds 0 1 2 --submit",
        "   ```",
        "",
        "   Each model's result goes to `leaderboard/submissions/<dataset>__<model>__<key>.json`; the key "
        "is a hash of the cell (dataset, split hash, protocol, model and config, seeds, encoder, KG, "
        "dropped modality, threshold), so rerunning the same cell overwrites its file.",
        "2. Check the files: `python -m leaderboard.validate` lists the problems (all of them with `--verbose`: "
        "schema, markup or line breaks in a text field, unknown split hash, a split hash not bound to the "
        "row's protocol, unregistered model name, scores outside [0, 1] or NaN, aggregate not matching the "
        "per-seed scores, wrong genre order, duplicates, files over 1 MiB) and exits 1 until none is left.",
        "3. Re-render this page: `python -m leaderboard.render` (writes `leaderboard/README.md` and "
        "`leaderboard/plots/`).",
        "4. Open a pull request with the new JSON file(s), the re-rendered `README.md` and `plots/`. The test "
        "suite (`pytest tests/test_leaderboard.py`) fails on an invalid submission or a stale README.",
        "",
        "A new split must first be registered (`python -m leaderboard.splits --add DATASET --split-dir DIR`), "
        "and a new model added to `benchmarks/registry.py`. Registered splits:",
        "",
    ]
    rows = [[_md(d), _md(n), _code(h)] for d in sorted(known) for n, h in sorted(known[d].items())]
    return lines + _table(["Dataset", "Split", "sha256"], rows)


def _group_key(r: Record) -> tuple[str, str, str, str]:
    """(dataset, version, registered split, protocol): an authors row's recorded hash is bound to its
    protocol, so it is grouped by the split it drew from, next to that split's fixed rows."""
    return (r["dataset"]["name"], r["dataset"]["version"], pool_sha256(r), r["protocol"])


def render_files(records: Sequence[Record], known: Mapping[str, Mapping[str, str]]) -> dict[str, bytes]:
    """``{relative path: bytes}`` of README.md and every plot, from already validated records."""
    plots: dict[str, bytes] = {}
    lines = _intro()
    if not records:
        lines += ["**No results yet.** Be the first: see *How to submit* below.", ""]
    groups: dict[tuple[str, str, str, str], list[Record]] = defaultdict(list)
    for r in records:
        groups[_group_key(r)].append(r)
    datasets = sorted({(k[0], k[1]) for k in groups})
    for name, version in datasets:
        lines += [f"## {_md(name)}" + (f" (version {_md(version)})" if version else ""), ""]
        keys = [k for k in groups if k[:2] == (name, version)]
        split_names = {k: groups[k][0]["split"]["name"] for k in keys}
        shas = sorted({k[2] for k in keys}, key=lambda s: (min(split_names[k] for k in keys if k[2] == s), s))
        for sha in shas:
            for protocol in ("fixed", "authors"):
                key = (name, version, sha, protocol)
                if key not in groups:
                    continue
                recs = groups[key]
                split_name = sorted({r["split"]["name"] for r in recs})[0]
                title = f"{name} · {split_name} ({sha[:12]}) · {protocol}"
                slug = _slug("__".join([name, version or "0", sha[:12], protocol]))
                if protocol == "fixed":
                    lines += [f"### Split {_code(split_name)} ({_code(sha[:12])}), fixed protocol", ""]
                    parts = recs[0]["split"]["parts"]
                    lines += ["Train / dev / test: " + " / ".join(f"{parts[p]['size']:,}" for p in ("train", "dev", "test"))
                              + f" movies. Split sha256 {_code(sha)}.", ""]  # fmt: skip
                    lines += _group_sections(recs, slug, title, plots, None)
                else:
                    lines += [f"### ⚠ Authors' protocol on {_code(split_name)} ({_code(sha[:12])}): leaky, not comparable", "",
                              "> These rows re-draw train, dev and test independently (they overlap) as the authors' "
                              "released code does. They measure leakage; they are not results on the fixed split.", ""]  # fmt: skip
                    lines += _group_sections(recs, slug, title, plots, groups.get((name, version, sha, "fixed"), []))
    lines += _reading() + _how_to_submit(known)
    text = "\n".join(lines).rstrip("\n") + "\n"
    return {README: text.encode("utf-8"), **dict(sorted(plots.items()))}


def gather(leaderboard_dir: str | Path | None = None, models: set[str] | None = None) -> tuple[list[Record], list[tuple[Path, str]]]:
    """``(validated submissions, [(skipped file, why)])`` of a leaderboard folder.

    Raises :class:`RenderError` listing every problem when any submission is invalid: rendering a
    folder minus its bad files would silently drop rows from the README.
    """
    files, skipped = list_submissions(submissions_dir(leaderboard_dir))
    report, records = validate_and_load(files, leaderboard_dir=leaderboard_dir or LEADERBOARD_DIR, models=models)
    bad = {p: probs for p, probs in report.items() if probs}
    if bad:
        lines = [f"{p}: {prob}" for p, probs in bad.items() for prob in probs]
        raise RenderError("invalid submissions (run python -m leaderboard.validate):\n  " + "\n  ".join(lines), bad, skipped)
    return [records[p] for p in files], skipped


def collect(leaderboard_dir: str | Path | None = None, models: set[str] | None = None) -> list[Record]:
    """The validated submissions of a leaderboard folder; raises :class:`RenderError` on any invalid one."""
    return gather(leaderboard_dir, models)[0]


def render(leaderboard_dir: str | Path | None = None, models: set[str] | None = None) -> dict[str, bytes]:
    """Everything the leaderboard folder should contain, rendered from its submissions."""
    return render_files(collect(leaderboard_dir, models), known_splits(leaderboard_dir))


def write(leaderboard_dir: str | Path | None = None, models: set[str] | None = None) -> list[Path]:
    """Render and write README.md and plots/ atomically; delete plots no longer produced."""
    root = Path(leaderboard_dir or LEADERBOARD_DIR)
    return write_files(root, render(root, models))


def write_files(root: Path, files: Mapping[str, bytes]) -> list[Path]:
    """Write rendered ``files`` under ``root`` (each atomically, all rendered before the first write)."""
    from mmimdb2.io import atomic_write_bytes

    written = [atomic_write_bytes(root / rel, data) for rel, data in files.items()]
    for stale in sorted((root / PLOTS).glob("*.png")):
        if f"{PLOTS}/{stale.name}" not in files:
            stale.unlink()
    return written


def check(leaderboard_dir: str | Path | None = None, models: set[str] | None = None, *, plots: bool = False) -> list[str]:
    """What is stale in the leaderboard folder (empty when up to date)."""
    root = Path(leaderboard_dir or LEADERBOARD_DIR)
    return check_files(root, render(root, models), plots=plots)


def check_files(root: Path, files: Mapping[str, bytes], *, plots: bool = False) -> list[str]:
    """What in ``root`` differs from the rendered ``files`` (empty when up to date)."""
    problems = []
    readme = root / README
    if not readme.is_file():
        problems.append(f"{readme} is missing")
    elif readme.read_bytes() != files[README]:
        problems.append(f"{readme} is stale")
    want = {rel for rel in files if rel != README}
    have = {f"{PLOTS}/{p.name}" for p in (root / PLOTS).glob("*.png")}
    problems += [f"{root / rel} is missing" for rel in sorted(want - have)]
    problems += [f"{root / rel} is no longer rendered" for rel in sorted(have - want)]
    if plots:
        problems += [f"{root / rel} differs" for rel in sorted(want & have) if (root / rel).read_bytes() != files[rel]]
    return problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m leaderboard.render", description="Render leaderboard/README.md and plots.")
    p.add_argument("--check", action="store_true", help="exit 1 if README.md (or the plot set) is stale; write nothing")
    p.add_argument("--check-plots", action="store_true", help="with --check: compare PNG bytes too")
    p.add_argument("--leaderboard-dir", default=None, help="leaderboard folder (default: this package's)")
    p.add_argument("-v", "--verbose", action="store_true", help="list every problem and every skipped file")
    args = p.parse_args(argv)
    root = Path(args.leaderboard_dir or LEADERBOARD_DIR)
    models, warning = registered_models()
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    try:
        records, skipped = gather(root, models)
        files = render_files(records, known_splits(root))
    except RenderError as e:
        out, skipped_lines = report_lines(e.problems, e.skipped, verbose=args.verbose)
        print(f"error: invalid submissions in {submissions_dir(root)}; nothing written (python -m leaderboard.validate lists them):", file=sys.stderr)
        for line in out:
            print(f"  {line}", file=sys.stderr)
        for line in skipped_lines:
            print(line, file=sys.stderr)
        return 2
    except (ResultError, SplitsRegistryError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for line in report_lines({}, skipped, verbose=args.verbose)[1]:
        print(line, file=sys.stderr)
    if args.check:
        problems = check_files(root, files, plots=args.check_plots)
        for prob in problems:
            print(prob)
        if problems:
            print("stale: run python -m leaderboard.render", file=sys.stderr)
            return 1
        print("ok: leaderboard README is up to date")
        return 0
    written = write_files(root, files)
    print(f"wrote {len(written)} file(s): {', '.join(str(w) for w in written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
