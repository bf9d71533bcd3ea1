"""Named suites: the paper's experiments as lists of independent cells.

Each suite is an experiment of :mod:`leaderboard.experiments`, which defines every paper table
once: the cells run here are that table's rows, in its order. A cell is one (model, config
overrides, KG model) combination; seeds, dataset, split, encoder and protocol come from the
command line. Each cell's result file is its own key, so a rerun skips finished cells and cells
can be farmed out independently.
"""

from __future__ import annotations

from leaderboard.experiments import EXPERIMENTS, KG_MODELS, TAUS, Cell, experiment

__all__ = ["KG_MODELS", "SUITES", "TABLE3", "TAUS", "Cell", "suite_cells"]

#: Table 3 as cumulative ablations (see ``leaderboard.experiments``).
TABLE3: list[Cell] = experiment("table3").cells

SUITES: tuple[str, ...] = tuple(EXPERIMENTS.names())


def suite_cells(name: str) -> list[Cell]:
    """The cells of a named suite (paper Tables 2-5 and Fig. 4), as fresh copies in row order."""
    if name not in EXPERIMENTS:
        raise KeyError(f"unknown suite {name!r}; available: {', '.join(SUITES)}")
    return [Cell(c.model, dict(c.config), c.kg_model) for c in experiment(name).cells]
