"""IDKG *as released*: the model of the authors' public code, for the reproduction audit.

This is not the method of the paper (that is :mod:`idkg.model`); it re-expresses, on this
project's cached inputs, what the public repository ``aoluming/IDKG`` (commit d476389) does,
so that the gap between the paper and the code can be measured. Registered as
``idkg-as-released``. Departures from the paper's Section 3, each with the file it comes from:

1. **Heuristic teacher target** (processor/dataset.py, ``imdbclipdataset.__getitem__``): the
   attention target is ``kgweight = i / (i + 6)`` with i = number of the movie's cast and
   director found in the KG, instead of Eq. 6's (N·S) / ((N + N̄)(S + S̄)): no KG degree S and
   no train-set means. Here ``teacher_offset`` (6) and ``batch["kg_count"]`` give it.
2. **Independent sigmoid gates over tanh features** (model/kglabel.py and model/kggmu.py,
   ``GatedBimodal``): each modality m has its own bias-free D×D matrix W_m (Kaiming-normal,
   fan_out), gate z_m = sigmoid(x_m W_m) and feature tanh(x_m); F^fu = Σ_m z_m ⊙ tanh(x_m).
   The paper's attention is one linear layer shared by the three modalities and weights
   h(F^m) itself, not its tanh. The gates are per-dimension vectors, not scalars.
3. **The module returns z1 + z2 + z3**, the sum of the three gates, not A^K alone
   (model/kglabel.py ``GatedBimodal.forward``). The training script that consumed it
   (``modules/train.py``) is not in the repository, so which gate the teacher supervised
   cannot be read; ``teacher_gate="kg"`` (default) supervises the KG gate as Eq. 7 does,
   ``teacher_gate="sum"`` supervises the mean of the returned sum (then 1 - |·| can reach
   ≤ 0 and is clamped).
4. **Classifier without nonlinearity** (model/kglabel.py ``MLPGenreClassifier``): three
   stacked Linear layers D -> D -> D -> C with nothing between them (a linear map).
5. **Detached genre anchors used as a label-aware scale, not in a contrastive loss**
   (processor/dataset.py builds ``labelem`` from the first 23 rows of the frozen KG embedding
   table and returns it as data; model/kglabel.py ``labelaware``): the anchors receive no
   gradient. Each genre's embedding is averaged over its dimensions, a 1-D convolution
   (kernel 3, padding 1) runs across the 23 genres, and its sigmoid multiplies the logits
   (ECA-style channel attention). The projection of the anchors to D
   (``labelmlp``) is commented out in model/kglabel.py, so G-CACL's Eq. 8-13 cannot run.
6. **Contrastive term is a SupCon over the fused features** (model/losscon.py ``SupConLoss``):
   features L2-normalised, τ = 0.5 (not the paper's 0.1), the loss multiplied by τ
   (``scale_by_temperature``), the denominator summing positives and negatives (``1 - mask``,
   which includes the anchor itself when its mask diagonal is 0), rows without positives
   dropped. The mask for multi-label rows is our reconstruction (the trainer is missing):
   ``contrast_mask="share-any"`` (default) marks pairs sharing at least one genre,
   ``"identical"`` pairs with the same label set. Where the released code would return NaN
   (no row with a positive) this returns an exact 0.
7. **Positional genre anchors** (kgconstruct.py vs processor/dataset.py): entity ids 0-22 are
   the genres in the hard-coded order :data:`RELEASED_KG_GENRE_ORDER`, while label columns are
   the genres by frequency in the loaded data; row j of ``labelem`` is matched to label column j
   by position. Pass ``anchor_order=RELEASED_KG_GENRE_ORDER`` to reproduce that pairing
   (default None: anchors matched by name, as :class:`InputSpec` provides them).
8. Smaller points: BatchNorm then Linear to D = 512 per modality (kept, as Eq. 5); the
   classifier outputs sigmoid probabilities (here logits with BCE-with-logits, the same loss);
   run_imdbclip.sh trains 30 epochs (paper: 15) at batch 64, lr 1e-3, seed 1234, with CLIP
   ViT-B-32-quickgelu ``laion400m_e32`` features; processor/dataset.py draws its own random
   60/30/10 split (``random.seed(10)``) rather than a fixed published one. These belong to the
   harness configuration, not to this module.

Loss weights are not recoverable (trainer missing): ``total = bce + teacher_weight * teacher +
contrastive_weight * contrastive`` with both weights 1 by default, the teacher term the batch
mean of -log(1 - |mean_d(z_i) - t_i|) (Eq. 7's form).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from idkg.inputs import BATCH_KEYS, InputSpec
from mmimdb2.genres import GENRE_INDEX, GENRES

#: Genre order of entity ids 0-22 in the authors' kgconstruct.py (its active ``gens`` table).
RELEASED_KG_GENRE_ORDER: tuple[str, ...] = (
    "Drama", "Comedy", "Action", "Adventure", "Romance", "Crime", "Horror", "Thriller",
    "Biography", "Animation", "Family", "Mystery", "Fantasy", "Music", "History", "Western",
    "Sci-Fi", "Musical", "Sport", "Short", "War", "Documentary", "Film-Noir",
)  # fmt: skip

_EPS = 1e-6


def released_teacher_target(kg_count: Tensor, offset: float = 6.0) -> Tensor:
    """The released attention target count / (count + offset) (processor/dataset.py)."""
    count = kg_count.to(torch.float32).clamp_min(0.0)
    return count / (count + offset)


def released_supcon(features: Tensor, mask: Tensor, temperature: float, scale_by_temperature: bool = True) -> Tensor:
    """model/losscon.py's SupConLoss with an explicit (B, B) mask, re-expressed.

    log p_ij = s_ij - log(sum_k exp(s_ik) * (pos_ik + neg_ik)), pos = mask without the diagonal,
    neg = 1 - mask; loss = -mean over rows with a positive of the positive-averaged log p,
    times τ if ``scale_by_temperature``. Returns None when no row has a positive.
    """
    z = F.normalize(features, dim=1)
    logits = z @ z.T / temperature
    logits = logits - logits.max(dim=1, keepdim=True).values.detach()
    eye = torch.eye(z.shape[0], dtype=z.dtype, device=z.device)
    positives = mask * (1.0 - eye)
    negatives = 1.0 - mask
    denominator = (logits.exp() * (positives + negatives)).sum(dim=1, keepdim=True)
    log_probs = logits - torch.log(denominator)
    n_pos = positives.sum(dim=1)
    keep = n_pos > 0
    if not bool(keep.any()):
        return None
    loss = -(log_probs * positives).sum(dim=1)[keep] / n_pos[keep]
    if scale_by_temperature:
        loss = loss * temperature
    return loss.mean()


class AsReleasedIDKG(nn.Module):
    """IDKG as the authors' public code builds it; see the module docstring for each departure."""

    def __init__(
        self,
        spec: InputSpec,
        *,
        hidden_dim: int = 512,
        teacher_offset: float = 6.0,
        teacher_gate: str = "kg",
        teacher_weight: float = 1.0,
        contrastive_weight: float = 1.0,
        temperature: float = 0.5,
        scale_by_temperature: bool = True,
        contrast_mask: str = "share-any",
        label_aware_kernel: int = 3,
        anchor_order: Sequence[str] | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if teacher_gate not in ("kg", "sum"):
            raise ValueError(f"The 'teacher_gate' parameter of idkg-as-released must be 'kg' or 'sum'. Got {teacher_gate!r} instead.")
        if contrast_mask not in ("share-any", "identical"):
            raise ValueError(
                f"The 'contrast_mask' parameter of idkg-as-released must be 'share-any' or 'identical'. Got {contrast_mask!r} instead."
            )
        if not temperature > 0:
            raise ValueError(f"The 'temperature' parameter of idkg-as-released must be > 0. Got {temperature!r} instead.")
        if not teacher_offset > 0:
            raise ValueError(f"The 'teacher_offset' parameter of idkg-as-released must be > 0. Got {teacher_offset!r} instead.")
        self.spec = spec
        self.teacher_offset, self.teacher_gate = float(teacher_offset), teacher_gate
        self.teacher_weight, self.contrastive_weight = float(teacher_weight), float(contrastive_weight)
        self.temperature, self.scale_by_temperature = float(temperature), scale_by_temperature
        self.contrast_mask = contrast_mask

        def align(dim: int) -> nn.Sequential:
            return nn.Sequential(nn.BatchNorm1d(dim), nn.Linear(dim, hidden_dim))

        self.align = nn.ModuleDict({"text": align(spec.text_dim), "image": align(spec.image_dim), "kg": align(spec.kg_dim)})
        self.gates = nn.ParameterDict({m: nn.Parameter(torch.empty(hidden_dim, hidden_dim)) for m in self.align})
        for w in self.gates.values():
            nn.init.kaiming_normal_(w, mode="fan_out")
        self.classifier = nn.Sequential(
            nn.Linear(hidden_dim, hidden_dim), nn.Linear(hidden_dim, hidden_dim), nn.Linear(hidden_dim, spec.num_genres)
        )
        self.label_aware = nn.Conv1d(1, 1, kernel_size=label_aware_kernel, padding=(label_aware_kernel - 1) // 2)
        # Frozen anchors: a buffer, so they move with .to() and are saved, but never learn.
        self.register_buffer("genre_embeddings", self._anchors(spec, anchor_order, seed))

    @staticmethod
    def _anchors(spec: InputSpec, anchor_order: Sequence[str] | None, seed: int) -> Tensor:
        """(C, kg_dim) frozen genre embeddings, optionally re-paired by position as released."""
        if spec.genre_embeddings is None:
            g = torch.Generator().manual_seed(seed)
            table = torch.randn(spec.num_genres, spec.kg_dim, generator=g)
        else:
            table = spec.genre_embeddings.detach().to(torch.float32).clone()
            if table.shape != (spec.num_genres, spec.kg_dim):
                raise ValueError(
                    f"idkg-as-released: spec.genre_embeddings must be ({spec.num_genres}, {spec.kg_dim}); got {tuple(table.shape)}"
                )
        if anchor_order is not None:
            if spec.num_genres != len(GENRES) or sorted(anchor_order) != sorted(GENRES):
                raise ValueError("idkg-as-released: anchor_order must be a permutation of the 23 GENRES")
            table = table[[GENRE_INDEX[g] for g in anchor_order]]
        return table

    def _encode(self, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        """F^fu = Σ_m sigmoid(x_m W_m) ⊙ tanh(x_m) and the per-modality gates."""
        missing = [k for k in ("text", "image", "kg") if k not in batch]
        if missing:
            raise KeyError(f"idkg-as-released: batch lacks {missing}; expected keys {BATCH_KEYS}")
        fused, gates = 0.0, {}
        for m, layer in self.align.items():
            x = layer(batch[m])
            gates[m] = torch.sigmoid(x @ self.gates[m])
            fused = fused + gates[m] * torch.tanh(x)
        return fused, gates

    def label_scale(self) -> Tensor:
        """(C,) sigmoid(conv1d(mean over dims of each frozen genre embedding)): the label-aware scale."""
        pooled = self.genre_embeddings.mean(dim=1).view(1, 1, -1)
        return torch.sigmoid(self.label_aware(pooled)).view(-1)

    def _logits(self, fused: Tensor) -> Tensor:
        return self.label_scale() * self.classifier(fused)

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        """(B, C) genre logits; needs no labels."""
        fused, _ = self._encode(batch)
        return self._logits(fused)

    def loss(self, batch: dict[str, Tensor], labels: Tensor) -> dict[str, Tensor]:
        """BCE + teacher (count/(count+6) target) + released SupCon on F^fu, and their sum as "total"."""
        fused, gates = self._encode(batch)
        logits = self._logits(fused)
        y = labels.to(logits.dtype)
        bce = F.binary_cross_entropy_with_logits(logits, y)

        target = released_teacher_target(batch["kg_count"], self.teacher_offset).to(logits)
        gate = gates["kg"] if self.teacher_gate == "kg" else sum(gates.values())
        gap = (gate.mean(dim=1) - target).abs()
        teacher = -torch.log((1.0 - gap).clamp_min(_EPS)).mean()

        yb = (y > 0.5).to(fused.dtype)
        if self.contrast_mask == "share-any":
            mask = ((yb @ yb.T) > 0).to(fused.dtype)
        else:
            mask = (yb.unsqueeze(1) == yb.unsqueeze(0)).all(dim=-1).to(fused.dtype)
        contrastive = released_supcon(fused, mask, self.temperature, self.scale_by_temperature)
        if contrastive is None:
            contrastive = fused.sum() * 0.0
        total = bce + self.teacher_weight * teacher + self.contrastive_weight * contrastive
        return {"total": total, "bce": bce, "teacher": teacher, "contrastive": contrastive}


def build(spec: InputSpec, **config: object) -> AsReleasedIDKG:
    """Registry factory for ``idkg-as-released``: the authors' released model on ``spec``."""
    return AsReleasedIDKG(spec, **config)  # type: ignore[arg-type]
