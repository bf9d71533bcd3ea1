"""CentralNet (Vielzeuf et al., ECCV-W 2018) on frozen features.

One MLP branch per modality and a central branch. The input of central layer k mixes the
previous central hidden state with the unimodal hidden states of level k through learned
scalars: z^k = α_c^k·c^{k-1} + Σ_m α_m^k·u_m^k (the first level has no c^0), c^k = f^k(z^k).
Every branch has its own genre head; the loss is the multi-objective one of the paper,
L = BCE(central) + Σ_m w·BCE(unimodal m). ``forward`` returns the central logits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from idkg.inputs import InputSpec
from idkg.model import Aligner, bce, check_modalities, check_param, make_config, modality_dim, seeded


@dataclass(frozen=True)
class CentralNetConfig:
    """Widths and weights of CentralNet; text + image by default, as in the paper's MM-IMDb runs."""

    modalities: tuple[str, ...] = ("text", "image")
    hidden: int = 512
    depth: int = 2
    dropout: float = 0.1
    unimodal_weight: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "modalities", tuple(self.modalities))
        check_modalities("CentralNetConfig", self.modalities)
        check_param("CentralNetConfig", "hidden", self.hidden > 0, "> 0", self.hidden)
        check_param("CentralNetConfig", "depth", self.depth >= 1, ">= 1", self.depth)
        check_param("CentralNetConfig", "dropout", 0.0 <= self.dropout < 1.0, "in [0, 1)", self.dropout)
        check_param("CentralNetConfig", "unimodal_weight", self.unimodal_weight >= 0, ">= 0", self.unimodal_weight)


def _layer(first: nn.Module, dropout: float) -> nn.Sequential:
    return nn.Sequential(first, nn.ReLU(), nn.Dropout(dropout))


class CentralNet(nn.Module):
    """Unimodal MLPs, a central MLP fed by α-weighted sums at every level, a head per branch."""

    def __init__(self, spec: InputSpec, config: CentralNetConfig | None = None) -> None:
        super().__init__()
        cfg = config or CentralNetConfig()
        self.config = cfg
        self.modalities = cfg.modalities
        h = cfg.hidden
        self.branches = nn.ModuleDict(
            {
                m: nn.ModuleList(
                    [_layer(Aligner(modality_dim(spec, m), h), cfg.dropout)]
                    + [_layer(nn.Linear(h, h), cfg.dropout) for _ in range(cfg.depth - 1)]
                )
                for m in self.modalities
            }
        )
        self.central = nn.ModuleList([_layer(nn.Linear(h, h), cfg.dropout) for _ in range(cfg.depth)])
        #: α_m^k, one scalar per (level, modality); α_c^k for levels 2..depth.
        self.alpha_modal = nn.Parameter(torch.ones(cfg.depth, len(self.modalities)))
        self.alpha_central = nn.Parameter(torch.ones(cfg.depth - 1))
        self.heads = nn.ModuleDict({m: nn.Linear(h, spec.num_genres) for m in self.modalities})
        self.central_head = nn.Linear(h, spec.num_genres)

    def mix(self, level: int, central: Tensor | None, unimodal: list[Tensor]) -> Tensor:
        """z^k = α_c^k·c^{k-1} + Σ_m α_m^k·u_m^k (0-based ``level``; no central term at level 0)."""
        z = sum(self.alpha_modal[level, i] * u for i, u in enumerate(unimodal))
        if central is not None:
            z = z + self.alpha_central[level - 1] * central
        return z

    def branch_logits(self, batch: Mapping[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        """Central logits and each unimodal head's logits."""
        u = [batch[m].to(torch.float32) for m in self.modalities]
        central: Tensor | None = None
        for k in range(self.config.depth):
            u = [self.branches[m][k](x) for m, x in zip(self.modalities, u)]
            central = self.central[k](self.mix(k, central, u))
        unimodal = {m: self.heads[m](x) for m, x in zip(self.modalities, u)}
        return self.central_head(central), unimodal

    def forward(self, batch: Mapping[str, Tensor]) -> Tensor:
        return self.branch_logits(batch)[0]

    def loss(self, batch: Mapping[str, Tensor], labels: Tensor, pos_weight: Tensor | None = None) -> dict[str, Tensor]:
        """BCE of the central head plus w times each unimodal head's BCE (``pos_weight``: :func:`bce`)."""
        central, unimodal = self.branch_logits(batch)
        out = {"bce": bce(central, labels, pos_weight)}
        total = out["bce"]
        for m, logits in unimodal.items():
            out[f"bce_{m}"] = bce(logits, labels, pos_weight)
            total = total + self.config.unimodal_weight * out[f"bce_{m}"]
        out["total"] = total
        return out


def build_centralnet(spec: InputSpec, **config: Any) -> CentralNet:
    """Registry factory for ``centralnet``."""
    cfg = make_config(CentralNetConfig, config)
    with seeded(cfg.seed):
        return CentralNet(spec, cfg)
