"""GMU, the Gated Multimodal Unit (Arevalo et al., ICLR-W 2017), and IDKG(GMU) (paper Table 3).

Each modality is aligned as in IDKG (BatchNorm + Linear, which is also how the authors' MM-IMDb
code projects its inputs), then h_m = tanh(x_m). With two modalities the unit is the paper's
bimodal form: z = σ(W_z [x_1; x_2]), h = z·h_1 + (1 − z)·h_2. With n > 2 modalities it is the
paper's general form: one gate per modality, z_m = σ(W_{z_m} [x_1; …; x_n]), h = Σ_m z_m·h_m
(``gate_activation="softmax"`` normalises the n gates per feature instead). The gate has no bias,
as in the authors' code.

Everything else (classifier, optional G-CACL and Attention Teacher) is IDKG's, so ``gmu`` (text +
image), ``gmu-3`` (+ KG) and ``idkg-gmu`` (+ KG + G-CACL) differ only in their config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from idkg.inputs import InputSpec
from idkg.model import IDKG, IDKGConfig, check_param, make_config, seeded


class GMUFusion(nn.Module):
    """The gated multimodal unit over aligned features; returns (h, {modality: z_m})."""

    def __init__(self, modalities: tuple[str, ...], dim: int, gate_activation: str = "sigmoid") -> None:
        super().__init__()
        check_param("GMUFusion", "modalities", len(modalities) >= 2, "at least two modalities", modalities)
        check_param(
            "GMUFusion", "gate_activation", gate_activation in ("sigmoid", "softmax"), "'sigmoid' or 'softmax'", gate_activation
        )
        self.modalities = tuple(modalities)
        self.dim = dim
        self.gate_activation = gate_activation
        n = len(self.modalities)
        self.bimodal = n == 2
        self.gate = nn.Linear(n * dim, dim if self.bimodal else n * dim, bias=False)

    def forward(self, feats: Mapping[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        xs = [feats[m] for m in self.modalities]
        h = torch.tanh(torch.stack(xs))  # (n, B, D)
        g = self.gate(torch.cat(xs, dim=1))
        if self.bimodal:
            z = torch.sigmoid(g)
            gates = torch.stack([z, 1.0 - z])
        else:
            g = g.view(g.shape[0], len(xs), self.dim).transpose(0, 1)  # (n, B, D)
            gates = torch.softmax(g, dim=0) if self.gate_activation == "softmax" else torch.sigmoid(g)
        fused = (gates * h).sum(dim=0)
        return fused, {m: gates[i] for i, m in enumerate(self.modalities)}


@dataclass(frozen=True)
class GMUConfig(IDKGConfig):
    """IDKG's options with GMU's defaults: text + image, no teacher, no contrastive term."""

    use_kg: bool = False
    use_teacher: bool = False
    use_gcacl: bool = False
    gate_activation: str = "sigmoid"


class GMU(IDKG):
    """IDKG with the attention gate replaced by a GMU (Arevalo et al. 2017)."""

    def __init__(
        self, spec: InputSpec, config: GMUConfig | None = None, *, contrastive: nn.Module | type[nn.Module] | None = None
    ) -> None:
        config = config or GMUConfig()
        modalities = ("text", "image", "kg") if config.use_kg else ("text", "image")
        fusion = GMUFusion(modalities, config.proj_dim, getattr(config, "gate_activation", "sigmoid"))
        super().__init__(spec, config, fusion=fusion, contrastive=contrastive)


def build_gmu(spec: InputSpec, *, contrastive: nn.Module | type[nn.Module] | None = None, **config: Any) -> GMU:
    """Registry factory for ``gmu``, ``gmu-3`` and the ``idkg-gmu`` family."""
    cfg = make_config(GMUConfig, config)
    with seeded(cfg.seed):
        return GMU(spec, cfg, contrastive=contrastive)
