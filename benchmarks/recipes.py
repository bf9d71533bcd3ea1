"""Named training recipes, as data: what ``--recipe NAME`` sets before the caller's own flags.

A recipe overlays the defaults of :class:`benchmarks.spec.TrainSpec` (training),
:class:`idkg.embedding_spec.EmbeddingSpec` (the KG embedding) and the models' configs (a
``model`` setting reaches only the models whose config has that field, so one recipe serves a
table of IDKG, GMU and the scikit-learn probes alike), then per-model departures. The caller's
flags win over the recipe. Every result records the recipe's name and every resolved value.

- ``tuned`` (default): the defaults, chosen by cross-validation on the train + dev movies of
  yts800, 800 real movies (docs/training.md), with late fusion's and the as-released model's own
  departures.
- ``paper``: IDKG's Section 4.1 as published: AdamW at lr 1e-3, batch 64, 15 epochs, the last
  epoch kept (no dev selection, no early stopping), plain BCE, threshold 0.5, no KG dropout (the
  paper has none), and the KG embedding trained by OpenKE's settings: SGD at lr 0.5, "batch 100" read as OpenKE's
  ``nbatches=100`` (100 batches per epoch),
  500 epochs, dimension 200 as OpenKE counts it (complex numbers for RotatE). The paper gives no
  weight decay: 0.01 is AdamW's own default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from mmimdb2.registry import Registry


def _frozen(m: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType({k: (_frozen(v) if isinstance(v, Mapping) else v) for k, v in m.items()})


@dataclass(frozen=True)
class Recipe:
    """One named recipe (see the module docstring); its mappings are read-only."""

    name: str
    description: str
    #: TrainSpec fields.
    train: Mapping[str, Any] = field(default_factory=dict)
    #: EmbeddingSpec fields.
    kg: Mapping[str, Any] = field(default_factory=dict)
    #: Model config fields, applied to each model whose config has the field.
    model: Mapping[str, Any] = field(default_factory=dict)
    #: Model name -> {"train": {...}}: a model's own departures under this recipe.
    per_model: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("train", "kg", "model", "per_model"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))


RECIPES: Registry[Recipe] = Registry("recipe")
RECIPES.add(
    "tuned",
    Recipe(
        "tuned",
        "the defaults, chosen by cross-validation on the train + dev movies of yts800, 800 real movies (docs/training.md)",
        per_model={"late-fusion": {"train": {"weight_decay": 10.0}}, "idkg-as-released": {"train": {"class_weight": "none"}}},
    ),
)
RECIPES.add(
    "paper",
    Recipe(
        "paper",
        "IDKG's Section 4.1: AdamW lr 1e-3, batch 64, 15 epochs, last epoch, threshold 0.5, plain BCE; "
        "KG by OpenKE's SGD lr 0.5, 100 batches per epoch, 500 epochs, dim 200",
        train={"epochs": 15, "batch_size": 64, "lr": 1e-3, "weight_decay": 0.01, "patience": 0, "threshold": "fixed",
               "select": "last", "ema": 0.0, "class_weight": "none"},  # fmt: skip
        kg={"optimizer": "SGD", "lr": 0.5, "epochs": 500, "batches_per_epoch": 100, "dim": 200, "dim_counts": "model", "sparse": True},
        model={"kg_dropout": 0.0},
    ),
)
#: The recipe a run gets when it names none.
DEFAULT_RECIPE = "tuned"


def recipe(name: str) -> Recipe:
    """The recipe registered as ``name``; an unknown name is one line with close names."""
    return RECIPES.load(name)
