"""Linear-probe baselines: late fusion (one probe per modality, averaged) and early fusion (concat).

Both standardise each frozen feature with BatchNorm before the linear map (the same
:class:`idkg.model.Aligner` IDKG uses), which is what a linear probe on unnormalised CLIP or KG
features needs to train at one learning rate.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from idkg.inputs import InputSpec
from idkg.model import Aligner, bce, check_modalities, check_param, make_config, make_head, modality_dim, seeded
from mmimdb2.metrics import macro_f1, select_threshold


@dataclass(frozen=True)
class LateFusionConfig:
    """``combine``: "logits" averages the probes' logits; "probs" averages their probabilities.

    ``dev_weights``: after training, the modality weights of the average are chosen on dev
    macro-F1 from a grid over the simplex (step ``weight_step``); False keeps equal weights.
    """

    modalities: tuple[str, ...] = ("text", "image")
    combine: str = "probs"
    dev_weights: bool = True
    weight_step: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "modalities", tuple(self.modalities))
        check_modalities("LateFusionConfig", self.modalities)
        check_param("LateFusionConfig", "combine", self.combine in ("logits", "probs"), "'logits' or 'probs'", self.combine)
        check_param("LateFusionConfig", "weight_step", 0 < self.weight_step <= 1, "in (0, 1]", self.weight_step)


def simplex_grid(n: int, step: float) -> list[tuple[float, ...]]:
    """Every weight vector of ``n`` non-negative multiples of ``step`` summing to 1."""
    k = round(1 / step)
    out: list[tuple[float, ...]] = []

    def walk(prefix: tuple[int, ...], left: int) -> None:
        if len(prefix) == n - 1:
            out.append(tuple(c / k for c in (*prefix, left)))
            return
        for c in range(left + 1):
            walk((*prefix, c), left - c)

    walk((), k)
    return out


def best_weights(n: int, step: float, proba_of: Callable[[tuple[float, ...]], np.ndarray], labels, threshold: str) -> tuple[float, ...]:
    """The weights on the simplex grid whose combined dev probabilities ``proba_of(w)`` score the
    best dev macro-F1 at the run's threshold policy; ties keep the weights closest to equal."""
    best = None
    for w in simplex_grid(n, step):
        proba = proba_of(w)
        score = macro_f1(labels, proba, select_threshold(labels, proba, threshold))
        key = (round(score, 10), -sum(abs(x - 1.0 / n) for x in w))
        if best is None or key > best[0]:
            best = (key, w)
    return best[1]


class LateFusion(nn.Module):
    """One BN + linear probe per modality, trained side by side, combined at the decision level."""

    def __init__(self, spec: InputSpec, config: LateFusionConfig | None = None) -> None:
        super().__init__()
        self.config = config or LateFusionConfig()
        self.modalities = self.config.modalities
        self.probes = nn.ModuleDict({m: Aligner(modality_dim(spec, m), spec.num_genres) for m in self.modalities})
        n = len(self.modalities)
        self.register_buffer("weights", torch.full((n,), 1.0 / n))

    def probe_logits(self, batch: Mapping[str, Tensor]) -> dict[str, Tensor]:
        return {m: self.probes[m](batch[m].to(torch.float32)) for m in self.modalities}

    def forward(self, batch: Mapping[str, Tensor]) -> Tensor:
        return self._combine(torch.stack(list(self.probe_logits(batch).values())), self.weights)

    def _combine(self, logits: Tensor, weights: Tensor) -> Tensor:
        w = weights.to(logits.dtype).view(-1, 1, 1)
        if self.config.combine == "logits":
            return (w * logits).sum(dim=0)
        p = (w * torch.sigmoid(logits)).sum(dim=0).clamp(1e-7, 1 - 1e-7)
        return torch.logit(p)  # logits of the averaged probabilities

    @torch.no_grad()
    def tune_on_dev(self, dev, threshold: str) -> None:
        """Choose the modality weights on dev (:func:`best_weights`). Called by
        :func:`benchmarks.trainer.train` after training."""
        if not self.config.dev_weights or len(self.modalities) < 2:
            return
        was = self.training
        self.eval()
        logits = torch.stack(list(self.probe_logits(dev.features).values()))

        def proba(w: tuple[float, ...]) -> np.ndarray:
            return torch.sigmoid(self._combine(logits, torch.tensor(w, device=logits.device))).cpu().numpy()

        self.weights.copy_(torch.tensor(best_weights(len(self.modalities), self.config.weight_step, proba, dev.labels, threshold)))
        self.train(was)

    def loss(self, batch: Mapping[str, Tensor], labels: Tensor, pos_weight: Tensor | None = None) -> dict[str, Tensor]:
        """Each probe's own BCE (the probes share nothing, so this trains them independently)."""
        out = {f"bce_{m}": bce(z, labels, pos_weight) for m, z in self.probe_logits(batch).items()}
        out["total"] = sum(out.values())
        return out


@dataclass(frozen=True)
class ConcatConfig:
    """Early fusion: BN over the concatenated features, then a linear probe (hidden=0) or an MLP."""

    modalities: tuple[str, ...] = ("text", "image")
    hidden: int = 0
    dropout: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "modalities", tuple(self.modalities))
        check_modalities("ConcatConfig", self.modalities)
        check_param("ConcatConfig", "hidden", self.hidden >= 0, ">= 0", self.hidden)
        check_param("ConcatConfig", "dropout", 0.0 <= self.dropout < 1.0, "in [0, 1)", self.dropout)


class ConcatFusion(nn.Module):
    """Concatenate the modalities, standardise, classify."""

    def __init__(self, spec: InputSpec, config: ConcatConfig | None = None) -> None:
        super().__init__()
        self.config = config or ConcatConfig()
        self.modalities = self.config.modalities
        width = sum(modality_dim(spec, m) for m in self.modalities)
        self.norm = nn.BatchNorm1d(width)
        self.head = make_head(width, spec.num_genres, self.config.hidden, self.config.dropout)

    def forward(self, batch: Mapping[str, Tensor]) -> Tensor:
        x = torch.cat([batch[m].to(torch.float32) for m in self.modalities], dim=1)
        return self.head(self.norm(x))

    def loss(self, batch: Mapping[str, Tensor], labels: Tensor, pos_weight: Tensor | None = None) -> dict[str, Tensor]:
        out = {"bce": bce(self(batch), labels, pos_weight)}
        out["total"] = out["bce"]
        return out


def build_late_fusion(spec: InputSpec, **config: Any) -> LateFusion:
    """Registry factory for ``late-fusion``."""
    cfg = make_config(LateFusionConfig, config)
    with seeded(cfg.seed):
        return LateFusion(spec, cfg)


def build_concat(spec: InputSpec, **config: Any) -> ConcatFusion:
    """Registry factory for ``concat``."""
    cfg = make_config(ConcatConfig, config)
    with seeded(cfg.seed):
        return ConcatFusion(spec, cfg)
