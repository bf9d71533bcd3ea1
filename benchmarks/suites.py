"""Named suites: the paper's experiments as lists of independent cells.

A cell is one (model, config overrides, KG model) combination; seeds, dataset, split, encoder and
protocol come from the command line. Each cell's result file is its own key, so a rerun skips
finished cells and cells can be farmed out independently.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Cell:
    """One model configuration to train and evaluate."""

    model: str
    config: dict = field(default_factory=dict, hash=False)
    kg_model: str | None = None

    @property
    def label(self) -> str:
        extra = [f"{k}={v}" for k, v in sorted(self.config.items())]
        if self.kg_model:
            extra.append(f"kg={self.kg_model}")
        return self.model + (f" [{', '.join(extra)}]" if extra else "")


TAUS: tuple[float, ...] = (0.05, 0.1, 0.3, 0.5, 0.7, 0.9)
KG_MODELS: tuple[str, ...] = ("RotatE", "TransH", "TransR", "TransD", "ComplEx", "ConvE")


#: Table 3 as cumulative ablations: each row adds one component to the row above it, for the
#: attention fusion (text + image -> + F^K -> + Attention Teacher -> + G-CACL = IDKG) and for
#: the GMU fusion (GMU -> + F^K = gmu-3 -> + G-CACL = IDKG(GMU); the teacher supervises IDKG's
#: gate, which GMU has not). The single-removal variants (idkg-no-at, ...) stay registered.
TABLE3: list[Cell] = [
    Cell("idkg-no-kg", {"use_gcacl": False}),
    Cell("idkg-no-gcacl", {"use_teacher": False}),
    Cell("idkg-no-gcacl"),
    Cell("idkg"),
    Cell("gmu"),
    Cell("gmu-3"),
    Cell("idkg-gmu"),
]


def suite_cells(name: str) -> list[Cell]:
    """The cells of a named suite (paper Tables 2-5 and Fig. 4)."""
    suites = {
        "table2": [Cell(m) for m in ("late-fusion", "concat", "gmu", "gmu-3", "centralnet", "idkg-gmu", "idkg")],
        "table3": TABLE3,
        "table4": [Cell("idkg", kg_model=k) for k in KG_MODELS],
        "table5": [Cell(m) for m in ("idkg", "idkg-random-anchors", "idkg-mulcon", "idkg-mcl", "idkg-mltc", "idkg-cgmvae")],
        "tau": [Cell("idkg", {"temperature": t}) for t in TAUS],
    }
    if name not in suites:
        raise KeyError(f"unknown suite {name!r}; available: {', '.join(suites)}")
    return list(suites[name])


SUITES: tuple[str, ...] = ("table2", "table3", "table4", "table5", "tau")
