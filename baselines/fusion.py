"""Linear-probe baselines: late fusion (one probe per modality, averaged) and early fusion (concat).

Both standardise each frozen feature with BatchNorm before the linear map (the same
:class:`idkg.model.Aligner` IDKG uses), which is what a linear probe on unnormalised CLIP or KG
features needs to train at one learning rate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from idkg.inputs import InputSpec
from idkg.model import Aligner, bce, check_modalities, check_param, make_config, make_head, modality_dim, seeded


@dataclass(frozen=True)
class LateFusionConfig:
    """``combine``: "logits" averages the probes' logits; "probs" averages their probabilities."""

    modalities: tuple[str, ...] = ("text", "image")
    combine: str = "probs"
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "modalities", tuple(self.modalities))
        check_modalities("LateFusionConfig", self.modalities)
        check_param("LateFusionConfig", "combine", self.combine in ("logits", "probs"), "'logits' or 'probs'", self.combine)


class LateFusion(nn.Module):
    """One BN + linear probe per modality, trained side by side, combined at the decision level."""

    def __init__(self, spec: InputSpec, config: LateFusionConfig | None = None) -> None:
        super().__init__()
        self.config = config or LateFusionConfig()
        self.modalities = self.config.modalities
        self.probes = nn.ModuleDict({m: Aligner(modality_dim(spec, m), spec.num_genres) for m in self.modalities})

    def probe_logits(self, batch: Mapping[str, Tensor]) -> dict[str, Tensor]:
        return {m: self.probes[m](batch[m].to(torch.float32)) for m in self.modalities}

    def forward(self, batch: Mapping[str, Tensor]) -> Tensor:
        logits = torch.stack(list(self.probe_logits(batch).values()))
        if self.config.combine == "logits":
            return logits.mean(dim=0)
        p = torch.sigmoid(logits).mean(dim=0).clamp(1e-7, 1 - 1e-7)
        return torch.logit(p)  # logits of the averaged probabilities

    def loss(self, batch: Mapping[str, Tensor], labels: Tensor) -> dict[str, Tensor]:
        """Each probe's own BCE (the probes share nothing, so this trains them independently)."""
        out = {f"bce_{m}": bce(z, labels) for m, z in self.probe_logits(batch).items()}
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

    def loss(self, batch: Mapping[str, Tensor], labels: Tensor) -> dict[str, Tensor]:
        out = {"bce": bce(self(batch), labels)}
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
