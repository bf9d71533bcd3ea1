"""MCL: multi-label supervised contrastive loss with Jaccard-weighted positives (Hassanin et al. 2022)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from baselines.contrastive import check_inputs, check_temperature, weighted_contrast, zero_loss


def jaccard(a: Tensor, b: Tensor) -> Tensor:
    """(n, m) Jaccard index |Y_a ∩ Y_b| / |Y_a ∪ Y_b| of multi-hot rows; 0 where both are empty."""
    inter = a @ b.T
    union = a.sum(1, keepdim=True) + b.sum(1).unsqueeze(0) - inter
    return torch.where(union > 0, inter / union.clamp_min(1.0), torch.zeros_like(inter))


class MCL(nn.Module):
    r"""Multi-label supervised contrastive loss: samples as anchors, positives weighted by Jaccard.

    Paper: Hassanin et al. (2022), "Multi-label contrastive learning" (cited as MCL in
    IDKG's Table 5); the multi-label
    supervised contrastive form implemented is the one that extends SupCon (Khosla et al. 2020)
    by weighting every in-batch pair by the overlap of the two label sets::

        w_ik = |Y_i ∩ Y_k| / |Y_i ∪ Y_k|                     (Jaccard, 0 for the anchor itself)
        L_i  = -1 / sum_k w_ik * sum_{k != i} w_ik * log( exp(s_ik / tau) / sum_{a != i} exp(s_ia / tau) )
        L    = mean of L_i over the anchors with sum_k w_ik > 0

    with s_ik the cosine similarity of the L2-normalised representations. A pair sharing all
    genres is a full positive, one sharing none is a pure negative, partial overlaps count in
    between.

    Adaptation to this interface. The representation of sample i is F^fu_i as given. So that the
    genre anchors take part (label embeddings = projected anchors), the contrast set is the
    batch plus C label prototypes e_j = W anchor_j + b (a Linear anchor_dim -> fused_dim owned
    here); prototype j is treated as a pseudo-sample with label set {j}, so its Jaccard weight
    for sample i is y_ij / |Y_i|. Only samples are anchors. ``label_prototypes=False`` gives the
    batch-only loss (then the anchors get no gradient from this loss).
    """

    def __init__(
        self,
        *,
        fused_dim: int,
        anchor_dim: int,
        num_genres: int,
        temperature: float = 0.1,
        label_prototypes: bool = True,
    ) -> None:
        super().__init__()
        self.fused_dim, self.anchor_dim, self.num_genres = fused_dim, anchor_dim, num_genres
        self.temperature = check_temperature("MCL", temperature)
        self.label_prototypes = label_prototypes
        self.label_proj = nn.Linear(anchor_dim, fused_dim)

    def forward(self, fused: Tensor, labels: Tensor, anchors: Tensor) -> Tensor:
        """Mean Jaccard-weighted contrastive loss over the samples that have a positive."""
        check_inputs("MCL", fused, labels, anchors, self.fused_dim, self.anchor_dim, self.num_genres)
        y = (labels > 0.5).to(fused.dtype)
        items, item_labels = fused, y
        if self.label_prototypes:
            items = torch.cat([fused, self.label_proj(anchors)], dim=0)
            item_labels = torch.cat([y, torch.eye(self.num_genres, dtype=y.dtype, device=y.device)], dim=0)
        z = F.normalize(items, dim=-1)
        logits = z[: fused.shape[0]] @ z.T / self.temperature  # (B, B [+ C])
        weights = jaccard(y, item_labels)
        self_mask = torch.zeros_like(logits, dtype=torch.bool)
        self_mask[:, : fused.shape[0]] = torch.eye(fused.shape[0], dtype=torch.bool, device=fused.device)
        per_anchor, keep = weighted_contrast(logits, weights, self_mask)
        if not bool(keep.any()):
            return zero_loss(self, fused, anchors)
        return per_anchor[keep].mean()
